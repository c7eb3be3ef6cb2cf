"""Editing a ticket after it was opened (ticketUpdate). A change like the others: it asks
`notifyCustomer` in an `emailOnChange` status, and it is recorded and published as TICKET_UPDATED."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from models.ticket import Ticket
from models.ticket_catalog import TicketStatus
from realtime.events import record
from resolvers.context import Context
from resolvers.documents import is_valid_email, normalize_phone
from resolvers.errors import TicketError, TicketErrorCode
from resolvers.ticket.access import search_text
from resolvers.ticket.rules import allowed_status_ids, classify, customer_mail, utcnow
from resolvers.ticket.writes import (
    MAX_BODY,
    TICKET_UPDATED,
    _event,
    _finish,
    _locked_ticket,
    _mail_customer,
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
}
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
            await _mail_customer(
                connection,
                ticket,
                "Your ticket was updated."
                + "".join(f"\n{EDITABLE[column]}: {getattr(ticket, column) or ''}" for column in changed
                          if column not in CLASSIFYING),
            )
        events.append(await record(connection, _event(TICKET_UPDATED, ticket, changed=names)))
    await _finish(ctx, events, mailed)
    return ticket
