"""Editing a ticket after it was opened (ticketUpdate). A change like the others: it asks
`notifyCustomer` in an `emailOnChange` status, and it is recorded and published as TICKET_UPDATED."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Subquery
from tortoise.transactions import in_transaction

from models.mail_template import MailEvent
from models.ticket import NonConformity, Ticket, TicketAction, TicketActionStatus
from models.ticket_catalog import TicketStatus
from models.user import Role, User
from realtime.events import record
from resolvers import history
from resolvers.context import Context
from resolvers.documents import is_valid_email, normalize_phone
from resolvers.errors import TicketError, TicketErrorCode
from resolvers.mail_templates import mail_customer
from resolvers.pagination import Ordering, Page, PageArgs, cursor_day, paginate
from resolvers.ticket.access import search_text, visible_tickets
from resolvers.ticket.entries import FORM_ENTRIES, edited_entries
from resolvers.ticket.rules import allowed_status_ids, classify, customer_mail, utcnow
from resolvers.ticket.writes import (
    MAX_BODY,
    TICKET_UPDATED,
    _event,
    _finish,
    _locked_ticket,
    _operator,
    _require_open,
    _text,
)

# Ticket column -> the input's GraphQL name (what TICKET_UPDATED lists as changed).
EDITABLE = {
    "subject": "subject",
    "product": "product",
    "occurrence": "occurrence",
    "classification_id": "classificationId",
    "subclassification_id": "subclassificationId",
    "contact_type_id": "contactTypeId",
    "contact_subtype_id": "contactSubtypeId",
    "contact_name": "contactName",
    "contact_phone": "contactPhone",
    "contact_email": "contactEmail",
    "subject_entry_id": "subjectId",
    "product_entry_id": "productId",
    "occurrence_entry_id": "occurrenceId",
}
ENTRIES = ("subject_entry_id", "product_entry_id", "occurrence_entry_id")
CLASSIFYING = ("classification_id", "subclassification_id", "contact_type_id", "contact_subtype_id")


@dataclass(frozen=True)
class TicketUpdateInput:
    """What to change: `values` by ticket column (None: leave it); `clear`: columns set to null."""

    values: dict[str, Any] = field(default_factory=dict)
    clear: frozenset[str] = field(default_factory=frozenset)
    notify_customer: bool | None = None


def _checked(column: str, value: Any) -> Any:
    if column == "subject":
        return _text(value, "subject", "The subject", 200)
    if column == "contact_name":
        return _text(value, "contactName", "The contact name", 200)
    if column == "product":
        return _text(value, "product", "The product", 200, required=False)
    if column == "occurrence":
        return _text(value, "occurrence", "The occurrence", MAX_BODY, required=False)
    if column == "contact_phone":
        phone = normalize_phone(value or "")
        if phone is None:
            raise TicketError(
                TicketErrorCode.INVALID_PHONE, "The contact phone is not a phone number.", "contactPhone"
            )
        return phone
    if column == "contact_email":
        email = (value or "").strip()
        if not is_valid_email(email) or "\x00" in email:
            raise TicketError(
                TicketErrorCode.INVALID_EMAIL, "The contact e-mail is not valid.", "contactEmail"
            )
        return email
    return value


async def update_ticket(ctx: Context, ticket_id: int, data: TicketUpdateInput) -> Ticket:
    user = _operator(ctx)
    wanted: dict[str, Any] = {
        column: _checked(column, value)
        for column, value in data.values.items()
        if value is not None and column in EDITABLE
    }
    wanted.update({column: None for column in data.clear if column in EDITABLE})
    # The form's catalogs: ids as ticketOpen takes them (resolvers/ticket/entries.py).
    wanted.update(
        await edited_entries(
            {column.removesuffix("_entry_id"): data.values[column] for column in ENTRIES
             if data.values.get(column) is not None},
            {column: wanted[column] for column in FORM_ENTRIES if wanted.get(column) is not None},
            {column.removesuffix("_entry_id") for column in ENTRIES if column in data.clear}
            | {column for column in FORM_ENTRIES if column in data.clear},
        )
    )
    mailed = False
    events = []
    async with in_transaction() as connection:
        ticket = await _locked_ticket(ctx, connection, ticket_id)
        _require_open(ticket, user)
        changed = [column for column, value in wanted.items() if getattr(ticket, column) != value]
        if not changed:
            return ticket
        if any(column in wanted for column in CLASSIFYING):
            merged = {column: wanted.get(column, getattr(ticket, column)) for column in CLASSIFYING}
            wanted.update(await classify(ctx.settings, *merged.values()))
            if merged["contact_type_id"] != ticket.contact_type_id:
                allowed = await allowed_status_ids(merged["contact_type_id"])
                if allowed and ticket.status_id not in allowed:
                    raise TicketError(
                        TicketErrorCode.STATUS_NOT_ALLOWED,
                        "The ticket's status is not allowed for this contact type: change it first.",
                        "contactTypeId",
                    )
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        mailed = customer_mail(current, None, data.notify_customer, user)
        for column, value in wanted.items():
            setattr(ticket, column, value)
        ticket.search_text = search_text(
            ticket.number, ticket.subject, ticket.contact_name, ticket.contact_email, ticket.product
        )
        ticket.updated_at = utcnow()
        await ticket.save(using_db=connection)
        names = sorted(EDITABLE[column] for column in changed)
        if mailed:
            await mail_customer(
                connection, ctx.settings, ticket, MailEvent.TICKET_UPDATED,
                changed={column: str(getattr(ticket, column) or "") for column in changed
                         if column not in CLASSIFYING and column not in ENTRIES},
            )
        if any(column in CLASSIFYING for column in changed):
            await history.ticket_reclassified(connection, ticket, user, mailed)
        else:  # the other fields are the ticket's text: no entry, but the mail it sent
            await history.ticket_entry(connection, ticket, user, None, mailed)
        events.append(await record(connection, _event(TICKET_UPDATED, ticket, changed=names)))
    await _finish(ctx, events, mailed)
    return ticket


@dataclass(frozen=True)
class ActionUpdateInput:
    """What to change on an action; None leaves it; `clear` holds "due_date" / "responsible_id" to null."""

    status: TicketActionStatus | None = None
    responsible_id: int | None = None
    due_date: date | None = None
    notes: str | None = None
    clear: frozenset[str] = field(default_factory=frozenset)
    notify_customer: bool | None = None


ACTION_FIELDS = {"status": "status", "responsible_id": "responsibleId", "due_date": "dueDate", "notes": "notes"}


async def update_action(ctx: Context, action_id: int, data: ActionUpdateInput) -> TicketAction:
    """An action's status (pending -> done, or back), responsible, due date, notes: a change to its
    ticket like the others (asks notifyCustomer in an emailOnChange status, TICKET_UPDATED)."""
    user = _operator(ctx)
    wanted: dict[str, Any] = {}
    if data.status is not None:
        wanted["status"] = data.status
    if data.due_date is not None:
        wanted["due_date"] = data.due_date
    if data.notes is not None:
        wanted["notes"] = _text(data.notes, "notes", "The notes", MAX_BODY, required=False) or ""
    if data.responsible_id is not None:
        responsible = await User.get_or_none(id=data.responsible_id, active=True)
        if responsible is None or responsible.role == Role.COMPANY_REP:
            raise TicketError(
                TicketErrorCode.INVALID_RESPONSIBLE,
                "The responsible must be an active operator.",
                "responsibleId",
            )
        wanted["responsible_id"] = responsible.pk
    wanted.update({column: None for column in data.clear if column in ("due_date", "responsible_id")})
    mailed = False
    events = []
    async with in_transaction() as connection:
        action = await TicketAction.filter(id=action_id).using_db(connection).get_or_none()
        if action is None:
            raise TicketError(TicketErrorCode.NOT_FOUND, "No such action.", "actionId")
        try:
            ticket = await _locked_ticket(ctx, connection, action.ticket_id)
        except TicketError as error:
            raise TicketError(TicketErrorCode.NOT_FOUND, "No such action.", "actionId") from error
        _require_open(ticket, user)
        changed = sorted(column for column, value in wanted.items() if getattr(action, column) != value)
        if not changed:
            return action
        current = await TicketStatus.get(id=ticket.status_id).using_db(connection)
        mailed = customer_mail(current, None, data.notify_customer, user)
        for column in changed:
            setattr(action, column, wanted[column])
        await action.save(using_db=connection)
        ticket.updated_at = utcnow()
        await ticket.save(using_db=connection, update_fields=["updated_at"])
        if mailed:
            definition = await action.definition.using_db(connection)  # type: ignore[attr-defined]
            await mail_customer(
                connection, ctx.settings, ticket, MailEvent.ACTION_UPDATED,
                action_name=definition.name, action_status=TicketActionStatus(action.status).value,
            )
        names = sorted(ACTION_FIELDS[column] for column in changed)
        await history.ticket_entry(connection, ticket, user, None, mailed)
        events.append(
            await record(connection, _event(TICKET_UPDATED, ticket, action_id=action.pk, changed=names))
        )
    await _finish(ctx, events, mailed)
    return action


PENDING_ACTIONS_ORDER = Ordering("pending_action", "due_date", nullable=True, parse=cursor_day)


async def my_pending_actions(ctx: Context, page: PageArgs) -> Page[TicketAction]:
    """The caller's pending actions ("status da ação" pending, they are the responsible) on tickets they
    may still see, by due date (the soonest first, undated ones last) then id, keyset-paged on that order.
    A company rep is never responsible: theirs is empty."""
    user = ctx.require_user()

    pending = TicketAction.filter(
        responsible_id=user.pk,
        status=TicketActionStatus.PENDING,
        ticket_id__in=Subquery(visible_tickets(ctx).values("id")),
    )
    return await paginate(pending, PENDING_ACTIONS_ORDER, page, ctx.settings.max_page_size)


@dataclass(frozen=True)
class RecordFilter:
    """Service orders and non-conformities: of one ticket, by number text, created in a period (dates
    in the operation's zone, both included)."""

    ticket_id: int | None = None
    number: str | None = None
    created_from: date | None = None
    created_to: date | None = None


def _records(ctx: Context, queryset: Any, number_column: str, data: RecordFilter) -> Any:
    """Rows on tickets the caller may see; none for a company rep (actions are the operator's)."""
    if ctx.scope.is_rep:
        return queryset.filter(id__in=[])
    queryset = queryset.filter(ticket_id__in=Subquery(visible_tickets(ctx).values("id")))
    if data.ticket_id is not None:
        queryset = queryset.filter(ticket_id=data.ticket_id)
    if data.number:
        queryset = queryset.filter(**{f"{number_column}__icontains": data.number.strip()[:20]})
    zone = ctx.settings.zone
    if data.created_from is not None:
        start = datetime.combine(data.created_from, time.min, zone)
        queryset = queryset.filter(created_at__gte=start)
    if data.created_to is not None:
        end = datetime.combine(data.created_to + timedelta(days=1), time.min, zone)
        queryset = queryset.filter(created_at__lt=end)
    return queryset


async def list_service_orders(ctx: Context, data: RecordFilter, page: PageArgs) -> Page[TicketAction]:
    """The actions that opened a service order ("Num OS")."""
    queryset = _records(ctx, TicketAction.filter(service_order_number__isnull=False), "service_order_number", data)
    return await paginate(queryset, "service_order", page, ctx.settings.max_page_size)


async def list_non_conformities(ctx: Context, data: RecordFilter, page: PageArgs) -> Page[NonConformity]:
    queryset = _records(ctx, NonConformity.all(), "number", data)
    return await paginate(queryset, "non_conformity", page, ctx.settings.max_page_size)
