"""Ticket use cases that write. Each is one transaction: the rows, the outbox mail and the events
commit together or not at all; events are published, and the mail sender woken, after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.catalog import ContactChannel
from models.company import Company
from models.event import Event
from models.mail_template import MailEvent
from models.person import Person
from models.ticket import (
    Attachment,
    NonConformity,
    Ticket,
    TicketAction,
    TicketMessage,
    TicketState,
)
from models.ticket_catalog import ActionDefinition, ClosureReason, TicketStatus
from models.user import Role, User
from realtime.events import EventSpec, publish, record
from resolvers import history
from resolvers.attachment import StagedFile, Upload, discard, stage_uploads, store
from resolvers.context import Context
from resolvers.documents import is_valid_email, normalize_phone
from resolvers.errors import TicketError, TicketErrorCode
from resolvers.mail import wake_senders
from resolvers.mail_templates import mail_customer
from resolvers.ticket.access import search_text, visible_tickets
from resolvers.ticket.entries import form_entries
from resolvers.ticket.inputs import ActionPerformInput, ChildCreateInput, TicketOpenInput
from resolvers.ticket.rules import (
    classify,
    customer_mail,
    ensure_counter,
    enter_status,
    initial_status,
    next_number,
    status_to_enter,
    utcnow,
)
from resolvers.ticket.summary import count_message

MAX_BODY = 20_000

TICKET_OPENED = "TICKET_OPENED"
TICKET_MESSAGE_ADDED = "TICKET_MESSAGE_ADDED"
TICKET_STATUS_CHANGED = "TICKET_STATUS_CHANGED"
TICKET_ASSIGNED = "TICKET_ASSIGNED"
TICKET_CLOSED = "TICKET_CLOSED"
TICKET_REOPENED = "TICKET_REOPENED"
TICKET_UPDATED = "TICKET_UPDATED"


def _event(kind: str, ticket: Ticket, **data: Any) -> EventSpec:
    return EventSpec(
        kind=kind,
        entity="ticket",
        entity_id=ticket.pk,
        company_id=ticket.company_id,
        agent_id=ticket.assignee_id,
        data=data,
    )


def _operator(ctx: Context) -> User:
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        raise TicketError(
            TicketErrorCode.FORBIDDEN, "Company reps open tickets and add messages only."
        )
    return user


def _text(
    value: str | None, field: str, label: str, maximum: int, required: bool = True
) -> str | None:
    cleaned = (value or "").strip()
    if not cleaned:
        if required:
            raise TicketError(TicketErrorCode.INVALID, f"{label} is required.", field)
        return None
    if len(cleaned) > maximum:
        raise TicketError(
            TicketErrorCode.INVALID, f"{label} must have at most {maximum} characters.", field
        )
    if "\x00" in cleaned:
        # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
        raise TicketError(TicketErrorCode.INVALID, f"{label} contains a NUL character.", field)
    return cleaned


def _body(value: str) -> str:
    return _text(value, "body", "The message", MAX_BODY) or ""


async def _locked_ticket(ctx: Context, connection: BaseDBAsyncClient, ticket_id: int) -> Ticket:
    ticket = (
        await visible_tickets(ctx)
        .using_db(connection)
        .select_for_update()
        .get_or_none(id=ticket_id)
    )
    if ticket is None:
        raise TicketError(TicketErrorCode.NOT_FOUND, "No such ticket.", "ticketId")
    return ticket


def _require_open(ticket: Ticket, user: User) -> None:
    if ticket.state == TicketState.CLOSED:
        # Reps cannot reopen: tell them what they can do instead.
        what = (
            "open a new ticket, or ask the operator to reopen it"
            if user.role == Role.COMPANY_REP
            else "reopen it first"
        )
        raise TicketError(
            TicketErrorCode.TICKET_CLOSED, f"Ticket {ticket.number} is closed: {what}.", "ticketId"
        )


async def _assignee(user: User, assignee_id: int | None, field: str = "assigneeId") -> int | None:
    if assignee_id is None:
        return None
    if user.role == Role.AGENT and assignee_id != user.pk:
        raise TicketError(
            TicketErrorCode.FORBIDDEN,
            "Agents take tickets for themselves; supervisors assign others.",
            field,
        )
    target = await User.get_or_none(id=assignee_id, active=True)
    if target is None or target.role == Role.COMPANY_REP:
        raise TicketError(
            TicketErrorCode.INVALID_ASSIGNEE,
            "Assign to an active agent, supervisor or admin.",
            field,
        )
    return target.pk


async def _add_message(
    connection: BaseDBAsyncClient,
    ticket: Ticket,
    author: User,
    body: str,
    internal: bool,
    staged: list[StagedFile],
    **ticket_changes: object,
) -> TicketMessage:
    """The message, its files, and the ticket's thread summary (with `ticket_changes`, in the same UPDATE)."""
    message = await TicketMessage.create(
        ticket_id=ticket.pk, author_id=author.pk, body=body, internal=internal, using_db=connection
    )
    await count_message(connection, message, ticket, **ticket_changes)
    if staged:
        await Attachment.bulk_create(
            [
                Attachment(
                    message_id=message.pk,
                    ticket_id=ticket.pk,
                    file_name=item.file_name,
                    content_type=item.content_type,
                    size=item.size,
                    sha256=item.sha256,
                    uploaded_by_id=author.pk,
                )
                for item in staged
            ],
            using_db=connection,
        )
    return message


def status_event(entering: TicketStatus) -> MailEvent:
    """A status with "Agenda retorno" tells the customer when to expect the return."""
    return MailEvent.AWAITING_RETURN if entering.return_after_days else MailEvent.STATUS_CHANGED


async def _finish(ctx: Context, events: list[Event], mailed: bool) -> None:
    await publish(ctx.broadcast, events)
    if mailed:
        wake_senders()


def _year(ctx: Context, now: datetime) -> int:
    return now.astimezone(ctx.settings.zone).year


async def _open_values(ctx: Context, user: User, data: TicketOpenInput) -> dict[str, Any]:
    entries = await form_entries(
        {"subject": data.subject_id, "product": data.product_id, "occurrence": data.occurrence_id},
        {"subject": data.subject, "product": data.product, "occurrence": data.occurrence},
    )
    values: dict[str, Any] = {
        "subject": _text(data.subject, "subject", "The subject", 200, required="subject" not in entries),
        "contact_name": _text(data.contact_name, "contactName", "The contact name", 200),
        "product": _text(data.product, "product", "The product", 200, required=False),
        "occurrence": _text(
            data.occurrence, "occurrence", "The occurrence", MAX_BODY, required=False
        ),
    }
    phone = normalize_phone(data.contact_phone or "")
    if phone is None:
        raise TicketError(
            TicketErrorCode.INVALID_PHONE,
            "The contact phone is not a phone number.",
            "contactPhone",
        )
    email = (data.contact_email or "").strip()
    if not is_valid_email(email) or "\x00" in email:
        raise TicketError(
            TicketErrorCode.INVALID_EMAIL, "The contact e-mail is not valid.", "contactEmail"
        )
    values.update(contact_phone=phone, contact_email=email)
    values.update(entries)
    company_id = data.company_id
    if user.role == Role.COMPANY_REP:
        if company_id is not None and company_id != user.company_id:
            raise TicketError(
                TicketErrorCode.FORBIDDEN,
                "Company reps open tickets for their company.",
                "companyId",
            )
        company_id = user.company_id
    elif company_id is not None and not await Company.filter(id=company_id).exists():
        raise TicketError(TicketErrorCode.UNKNOWN_COMPANY, "No such company.", "companyId")
    if data.person_id is not None:
        person = await Person.get_or_none(id=data.person_id)
        if person is None or (
            user.role == Role.COMPANY_REP and person.company_id != user.company_id
        ):
            raise TicketError(TicketErrorCode.UNKNOWN_PERSON, "No such person.", "personId")
        if company_id is None:
            company_id = person.company_id
        elif person.company_id is not None and person.company_id != company_id:
            raise TicketError(
                TicketErrorCode.PERSON_NOT_IN_COMPANY,
                "The person belongs to another company than the ticket's.",
                "personId",
            )
    values.update(company_id=company_id, person_id=data.person_id)
    if (
        data.channel_id is not None
        and not await ContactChannel.filter(id=data.channel_id, active=True).exists()
    ):
        raise TicketError(
            TicketErrorCode.UNKNOWN_CHANNEL, "No such active contact channel.", "channelId"
        )
    values["channel_id"] = data.channel_id
    values.update(
        await classify(
            ctx.settings,
            data.classification_id,
            data.subclassification_id,
            data.contact_type_id,
            data.contact_subtype_id,
        )
    )
    if data.channel_id is None and ctx.settings.ticket_scheme.value == "CONTACT_TYPE":
        # The CRM form asks for the contact channel ("forma de contato"); the Central form does not.
        raise TicketError(
            TicketErrorCode.CHANNEL_REQUIRED, "Choose the contact channel.", "channelId"
        )
    return values


async def open_ticket(ctx: Context, data: TicketOpenInput) -> Ticket:
    user = ctx.require_user()
    values = await _open_values(ctx, user, data)
    body = _body(data.body)
    status = await initial_status(values.get("contact_type_id"))
    # Asked before the files are read: a confirmation round trip stages nothing.
    mailed = customer_mail(None, status, data.notify_customer, user)
    staged = await stage_uploads(ctx.settings, list(data.files))
    try:
        now = utcnow()
        year = _year(ctx, now)
        await ensure_counter("ticket", year)
        async with in_transaction() as connection:
            ticket = Ticket(**values, opened_by_id=user.pk, state=TicketState.OPEN)
            enter_status(ticket, status, now, ctx.settings)
            ticket.number = await next_number(connection, "ticket", "", year)
            ticket.search_text = search_text(
                ticket.number,
                ticket.subject,
                ticket.contact_name,
                ticket.contact_email,
                ticket.product,
            )
            await ticket.save(using_db=connection)
            message = await _add_message(connection, ticket, user, body, False, staged)
            store(ctx.settings, staged)
            await history.ticket_opened(connection, ticket, user, mailed)
            if mailed:
                await mail_customer(connection, ctx.settings, ticket, MailEvent.OPENED)
            events = [
                await record(connection, _event(TICKET_OPENED, ticket, message_id=message.pk))
            ]
    finally:
        discard(staged)
    await _finish(ctx, events, mailed)
    return ticket


async def add_message(
    ctx: Context,
    ticket_id: int,
    body: str,
    internal: bool = False,
    files: Sequence[Upload] = (),
    notify_customer: bool | None = None,
) -> TicketMessage:
    user = ctx.require_user()
    if internal and user.role == Role.COMPANY_REP:
        raise TicketError(
            TicketErrorCode.FORBIDDEN, "Company reps cannot write internal notes.", "internal"
        )
    text = _body(body)
    staged = await stage_uploads(ctx.settings, list(files))
    mailed = False
    try:
        async with in_transaction() as connection:
            ticket = await _locked_ticket(ctx, connection, ticket_id)
            _require_open(ticket, user)
            current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
            mailed = not internal and customer_mail(current, None, notify_customer, user)
            message = await _add_message(connection, ticket, user, text, internal, staged, updated_at=utcnow())
            store(ctx.settings, staged)
            await history.ticket_entry(connection, ticket, user, None, mailed)
            if mailed:
                await mail_customer(
                    connection, ctx.settings, ticket, MailEvent.MESSAGE_ADDED, message_body=text
                )
            events = [
                await record(
                    connection,
                    _event(TICKET_MESSAGE_ADDED, ticket, message_id=message.pk, internal=internal),
                )
            ]
    finally:
        discard(staged)
    await _finish(ctx, events, mailed)
    return message


async def change_status(
    ctx: Context, ticket_id: int, status_id: int, notify_customer: bool | None
) -> Ticket:
    user = _operator(ctx)
    async with in_transaction() as connection:
        ticket = await _locked_ticket(ctx, connection, ticket_id)
        _require_open(ticket, user)
        entering = await status_to_enter(status_id, ticket.contact_type_id)
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        if entering.pk == current.pk:
            return ticket
        mailed = customer_mail(current, entering, notify_customer, user)
        enter_status(ticket, entering, utcnow(), ctx.settings)
        await ticket.save(using_db=connection)
        await history.ticket_status_changed(connection, ticket, user, current.pk, mailed)
        if mailed:
            await mail_customer(
                connection, ctx.settings, ticket, status_event(entering), ticket_previousStatus=current.name
            )
        events = [
            await record(
                connection,
                _event(
                    TICKET_STATUS_CHANGED, ticket, from_status_id=current.pk, status_id=entering.pk
                ),
            )
        ]
    await _finish(ctx, events, mailed)
    return ticket


async def assign_ticket(
    ctx: Context, ticket_id: int, assignee_id: int | None, notify_customer: bool | None = None
) -> Ticket:
    user = _operator(ctx)
    target = await _assignee(user, assignee_id)
    async with in_transaction() as connection:
        ticket = await _locked_ticket(ctx, connection, ticket_id)
        _require_open(ticket, user)
        if ticket.assignee_id == target:
            return ticket
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        mailed = customer_mail(current, None, notify_customer, user)
        previous = ticket.assignee_id
        ticket.assignee_id = target
        await ticket.save(using_db=connection)
        await history.ticket_assigned(connection, ticket, user, previous, mailed)
        if mailed:
            if target is not None:
                attendant = await User.get(id=target).using_db(connection)
                await mail_customer(
                    connection, ctx.settings, ticket, MailEvent.ASSIGNED, attendant_name=attendant.name
                )
            else:
                await mail_customer(connection, ctx.settings, ticket, MailEvent.UNASSIGNED)
        events = [
            await record(connection, _event(TICKET_ASSIGNED, ticket, previous_assignee_id=previous))
        ]
    await _finish(ctx, events, mailed)
    return ticket


async def close_ticket(
    ctx: Context, ticket_id: int, closure_reason_id: int | None, notify_customer: bool | None = None
) -> Ticket:
    user = _operator(ctx)
    if closure_reason_id is None:
        raise TicketError(
            TicketErrorCode.CLOSURE_REASON_REQUIRED, "Say why the ticket closes.", "closureReasonId"
        )
    reason = await ClosureReason.get_or_none(id=closure_reason_id, active=True)
    if reason is None:
        raise TicketError(
            TicketErrorCode.UNKNOWN_CLOSURE_REASON,
            "No such active closure reason.",
            "closureReasonId",
        )
    async with in_transaction() as connection:
        ticket = await _locked_ticket(ctx, connection, ticket_id)
        _require_open(ticket, user)
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        if not current.allows_closing:
            raise TicketError(
                TicketErrorCode.CLOSING_NOT_ALLOWED,
                f"A ticket in status {current.name!r} cannot be closed: move it to a closing status first.",
                "ticketId",
            )
        open_children = await _open_children(ctx, connection, ticket)
        mailed = customer_mail(current, None, notify_customer, user)
        ticket.state = TicketState.CLOSED
        ticket.closed_at = utcnow()
        ticket.closure_reason_id = reason.pk
        ticket.return_due_at = None
        ticket.return_alerted_at = None
        await ticket.save(using_db=connection)
        await history.ticket_closed(connection, ticket, user, mailed)
        if mailed:
            await mail_customer(
                connection, ctx.settings, ticket, MailEvent.CLOSED, closure_reason=reason.name
            )
        events = [
            await record(connection, _event(TICKET_CLOSED, ticket, closure_reason_id=reason.pk))
        ]
        for child in open_children:
            child.state, child.closed_at, child.closure_reason_id = (
                TicketState.CLOSED, ticket.closed_at, reason.pk
            )
            child.return_due_at = child.return_alerted_at = None
            await child.save(using_db=connection)
            events.append(
                await record(
                    connection,
                    _event(TICKET_CLOSED, child, closure_reason_id=reason.pk, with_parent_id=ticket.pk),
                )
            )
    await _finish(ctx, events, mailed)
    return ticket


async def _open_children(ctx: Context, connection: BaseDBAsyncClient, ticket: Ticket) -> list[Ticket]:
    """A parent's open children: refused (TICKET_CLOSE_OPEN_CHILDREN=REFUSE), or returned locked, to close
    with it (CLOSE). Every child counts, seen by the caller or not."""
    children = (
        Ticket.filter(parent_id=ticket.pk, state=TicketState.OPEN).using_db(connection).select_for_update()
    )
    if ctx.settings.ticket_close_open_children.value == "REFUSE":
        numbers = await children.values_list("number", flat=True)
        if numbers:
            raise TicketError(
                TicketErrorCode.CHILDREN_OPEN,
                f"Close its open child tickets first: {', '.join(sorted(numbers)[:10])}.",
                "ticketId",
            )
        return []
    return list(await children)


async def reopen_ticket(
    ctx: Context, ticket_id: int, notify_customer: bool | None = None
) -> Ticket:
    """Back to the initial status (its return date anew), OPEN, without closing date and reason."""
    user = _operator(ctx)
    async with in_transaction() as connection:
        ticket = await _locked_ticket(ctx, connection, ticket_id)
        if ticket.state != TicketState.CLOSED:
            raise TicketError(
                TicketErrorCode.TICKET_NOT_CLOSED,
                "Only a closed ticket can be reopened.",
                "ticketId",
            )
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        status = await initial_status(ticket.contact_type_id)
        mailed = customer_mail(current, status, notify_customer, user)
        await history.ticket_reopened(connection, ticket, user, status.pk, mailed)
        ticket.state = TicketState.OPEN
        ticket.closed_at = None
        ticket.closure_reason_id = None
        enter_status(ticket, status, utcnow(), ctx.settings)
        await ticket.save(using_db=connection)
        if mailed:
            await mail_customer(connection, ctx.settings, ticket, MailEvent.REOPENED)
        events = [
            await record(
                connection,
                _event(TICKET_REOPENED, ticket, from_status_id=current.pk, status_id=status.pk),
            )
        ]
    await _finish(ctx, events, mailed)
    return ticket


async def create_child(ctx: Context, parent_id: int, data: ChildCreateInput) -> Ticket:
    """A child ticket: the parent's customer and classification, its own subject, status and thread."""
    user = _operator(ctx)
    body = _body(data.body)
    subject = _text(data.subject, "subject", "The subject", 200, required=False)
    product = _text(data.product, "product", "The product", 200, required=False)
    occurrence = _text(data.occurrence, "occurrence", "The occurrence", MAX_BODY, required=False)
    assignee_id = await _assignee(user, data.assignee_id)
    now = utcnow()
    year = _year(ctx, now)
    await ensure_counter("ticket", year)
    async with in_transaction() as connection:
        parent = await _locked_ticket(ctx, connection, parent_id)
        _require_open(parent, user)
        status = await initial_status(parent.contact_type_id)
        # The child is a new ticket of the same customer: only its first status can ask.
        mailed = customer_mail(None, status, data.notify_customer, user)
        child = Ticket(
            parent_id=parent.pk,
            company_id=parent.company_id,
            person_id=parent.person_id,
            opened_by_id=user.pk,
            contact_name=parent.contact_name,
            contact_phone=parent.contact_phone,
            contact_email=parent.contact_email,
            channel_id=parent.channel_id,
            classification_id=parent.classification_id,
            subclassification_id=parent.subclassification_id,
            contact_type_id=parent.contact_type_id,
            contact_subtype_id=parent.contact_subtype_id,
            subject=subject or parent.subject,
            product=product or parent.product,
            subject_entry_id=None if subject else parent.subject_entry_id,
            product_entry_id=None if product else parent.product_entry_id,
            occurrence=occurrence,
            assignee_id=assignee_id,
            state=TicketState.OPEN,
        )
        enter_status(child, status, now, ctx.settings)
        child.number = await next_number(connection, "ticket", "", year)
        child.search_text = search_text(
            child.number, child.subject, child.contact_name, child.contact_email, child.product
        )
        await child.save(using_db=connection)
        message = await _add_message(connection, child, user, body, False, [])
        await history.ticket_opened(connection, child, user, mailed)
        if mailed:
            await mail_customer(
                connection, ctx.settings, child, MailEvent.CHILD_OPENED, parent_number=parent.number
            )
        events = [
            await record(
                connection, _event(TICKET_OPENED, child, message_id=message.pk, parent_id=parent.pk)
            ),
            await record(connection, _event(TICKET_UPDATED, parent, child_id=child.pk)),
        ]
    await _finish(ctx, events, mailed)
    return child


async def perform_action(ctx: Context, data: ActionPerformInput) -> TicketAction:
    """Record an action on a ticket and move that ticket (never its parent) to the action's status."""
    user = _operator(ctx)
    definition = await ActionDefinition.get_or_none(id=data.definition_id, active=True)
    if definition is None:
        raise TicketError(TicketErrorCode.UNKNOWN_ACTION, "No such active action.", "definitionId")
    if data.responsible_id is not None:
        responsible = await User.get_or_none(id=data.responsible_id, active=True)
        if responsible is None or responsible.role == Role.COMPANY_REP:
            raise TicketError(
                TicketErrorCode.INVALID_RESPONSIBLE,
                "The responsible must be an active operator.",
                "responsibleId",
            )
    notes = _text(data.notes, "notes", "The notes", MAX_BODY, required=False) or ""
    now = utcnow()
    year = _year(ctx, now)
    if definition.opens_service_order:
        await ensure_counter("service_order", year)
    # The integration's switch (MV_QLYXCAL): off, no action raises a non-conformity.
    raises = definition.raises_non_conformity and ctx.settings.non_conformity_integration
    if raises:
        await ensure_counter("non_conformity", year)
    mailed = False
    async with in_transaction() as connection:
        ticket = await _locked_ticket(ctx, connection, data.ticket_id)
        _require_open(ticket, user)
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        entering = None
        if definition.sets_ticket_status_id is not None:
            entering = await status_to_enter(
                definition.sets_ticket_status_id, ticket.contact_type_id, "definitionId"
            )
        mailed = customer_mail(current, entering, data.notify_customer, user)
        moved = entering is not None and entering.pk != current.pk
        if moved and entering is not None:
            enter_status(ticket, entering, now, ctx.settings)
            await ticket.save(using_db=connection)
        await history.ticket_status_changed(connection, ticket, user, current.pk, mailed, moved=moved)
        non_conformity = None
        if raises:
            non_conformity = await NonConformity.create(
                number=await next_number(connection, "non_conformity", "NC-", year),
                ticket_id=ticket.pk,
                description=notes or f"{definition.name} on ticket {ticket.number}",
                raised_by_id=user.pk,
                using_db=connection,
            )
        action = await TicketAction.create(
            ticket_id=ticket.pk,
            definition_id=definition.pk,
            responsible_id=data.responsible_id,
            due_date=data.due_date,
            status=data.status,
            notes=notes,
            service_order_number=(
                await next_number(connection, "service_order", "OS-", year)
                if definition.opens_service_order
                else None
            ),
            non_conformity_id=non_conformity.pk if non_conformity else None,
            performed_by_id=user.pk,
            using_db=connection,
        )
        if mailed:
            if moved and entering is not None:
                await mail_customer(
                    connection, ctx.settings, ticket, status_event(entering), ticket_previousStatus=current.name
                )
            else:
                await mail_customer(
                    connection, ctx.settings, ticket, MailEvent.ACTION_PERFORMED,
                    action_name=definition.name, action_status=action.status.value,
                )
        if moved and entering is not None:
            spec = _event(
                TICKET_STATUS_CHANGED,
                ticket,
                from_status_id=current.pk,
                status_id=entering.pk,
                action_id=action.pk,
            )
        else:
            spec = _event(TICKET_UPDATED, ticket, action_id=action.pk)
        events = [await record(connection, spec)]
    await _finish(ctx, events, mailed)
    return action
