"""The rules of a ticket's life: classification schemes, allowed statuses, returns, e-mail, numbers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.ticket import NumberCounter, Ticket
from models.ticket_catalog import (
    ContactSubtype,
    ContactType,
    ContactTypeStatus,
    TicketClassification,
    TicketStatus,
)
from models.user import Role, User
from resolvers.errors import TicketError, TicketErrorCode

if TYPE_CHECKING:
    from contato.settings import Settings


def today(settings: Settings) -> date:
    return datetime.now(settings.zone).date()


async def classify(
    settings: Settings,
    classification_id: int | None,
    subclassification_id: int | None,
    contact_type_id: int | None,
    contact_subtype_id: int | None,
) -> dict[str, int | None]:
    """Check the classification fields against the configured scheme; returns the ticket's columns."""
    if settings.ticket_scheme.value == "CLASSIFICATION":
        if contact_type_id is not None or contact_subtype_id is not None:
            raise TicketError(
                TicketErrorCode.WRONG_SCHEME,
                "Tickets are classified by classification and sub-classification here, not by contact type.",
                "contactTypeId",
            )
        if classification_id is None:
            raise TicketError(
                TicketErrorCode.CLASSIFICATION_REQUIRED,
                "Choose a classification.",
                "classificationId",
            )
        classification = await TicketClassification.get_or_none(id=classification_id, active=True)
        if classification is None or classification.parent_id is not None:
            raise TicketError(
                TicketErrorCode.UNKNOWN_CLASSIFICATION,
                "No such active classification.",
                "classificationId",
            )
        if subclassification_id is None:
            # The Central form requires a sub-classification ("é necessário"); a classification
            # without active sub-classifications leaves nothing to choose, so it needs none.
            if await TicketClassification.filter(parent_id=classification.pk, active=True).exists():
                raise TicketError(
                    TicketErrorCode.SUBCLASSIFICATION_REQUIRED,
                    "Choose a sub-classification of the classification.",
                    "subclassificationId",
                )
        else:
            sub = await TicketClassification.get_or_none(id=subclassification_id, active=True)
            if sub is None or sub.parent_id != classification.pk:
                raise TicketError(
                    TicketErrorCode.SUBCLASSIFICATION_MISMATCH,
                    "The sub-classification does not belong to the classification.",
                    "subclassificationId",
                )
        return {
            "classification_id": classification_id,
            "subclassification_id": subclassification_id,
        }
    if classification_id is not None or subclassification_id is not None:
        raise TicketError(
            TicketErrorCode.WRONG_SCHEME,
            "Tickets are classified by contact type and subtype here, not by classification.",
            "classificationId",
        )
    if contact_type_id is None:
        raise TicketError(
            TicketErrorCode.CONTACT_TYPE_REQUIRED, "Choose a contact type.", "contactTypeId"
        )
    contact_type = await ContactType.get_or_none(id=contact_type_id)
    if contact_type is None:
        raise TicketError(
            TicketErrorCode.UNKNOWN_CONTACT_TYPE, "No such contact type.", "contactTypeId"
        )
    if not contact_type.active:
        raise TicketError(
            TicketErrorCode.CONTACT_TYPE_INACTIVE, "This contact type is inactive.", "contactTypeId"
        )
    day = today(settings)
    if (contact_type.valid_from is not None and day < contact_type.valid_from) or (
        contact_type.valid_to is not None and day > contact_type.valid_to
    ):
        raise TicketError(
            TicketErrorCode.CONTACT_TYPE_NOT_VALID,
            f"This contact type is not valid today ({day.isoformat()}).",
            "contactTypeId",
        )
    if contact_subtype_id is not None:
        subtype = await ContactSubtype.get_or_none(id=contact_subtype_id, active=True)
        if subtype is None or subtype.contact_type_id != contact_type.pk:
            raise TicketError(
                TicketErrorCode.SUBTYPE_MISMATCH,
                "The subtype does not belong to the contact type (or is inactive).",
                "contactSubtypeId",
            )
    return {"contact_type_id": contact_type_id, "contact_subtype_id": contact_subtype_id}


async def allowed_status_ids(contact_type_id: int | None) -> set[int]:
    """Statuses a ticket of this contact type may take; empty means any."""
    if contact_type_id is None:
        return set()
    return set(
        await ContactTypeStatus.filter(contact_type_id=contact_type_id).values_list(
            "status_id", flat=True
        )
    )


async def status_to_enter(
    status_id: int, contact_type_id: int | None, field: str = "statusId"
) -> TicketStatus:
    status = await TicketStatus.get_or_none(id=status_id, active=True)
    if status is None:
        raise TicketError(TicketErrorCode.UNKNOWN_STATUS, "No such active status.", field)
    allowed = await allowed_status_ids(contact_type_id)
    if allowed and status.pk not in allowed:
        raise TicketError(
            TicketErrorCode.STATUS_NOT_ALLOWED,
            f"Status {status.name!r} is not allowed for this contact type.",
            field,
        )
    return status


async def initial_status(contact_type_id: int | None) -> TicketStatus:
    candidates = TicketStatus.filter(initial=True, active=True).order_by("id")
    allowed = await allowed_status_ids(contact_type_id)
    if allowed:
        candidates = candidates.filter(id__in=allowed)
    status = await candidates.first()
    if status is None:
        raise TicketError(
            TicketErrorCode.NO_INITIAL_STATUS,
            "No active initial status (allowed for this contact type) is configured.",
            "contactTypeId" if allowed else None,
        )
    return status


def enter_status(ticket: Ticket, status: TicketStatus, now: datetime, settings: Settings) -> None:
    """The status, and its return date: N days after the ticket's opening ("após a abertura",
    TICKET_RETURN_FROM=OPENING) or after entering the status (STATUS_ENTRY). A new ticket opens now."""
    ticket.status_id = status.pk
    start = now
    if settings.ticket_return_from.value == "OPENING" and ticket.created_at is not None:
        start = ticket.created_at
    ticket.return_due_at = (
        start + timedelta(days=status.return_after_days) if status.return_after_days else None
    )
    ticket.return_alerted_at = None


def customer_mail(
    current: TicketStatus | None,
    entering: TicketStatus | None,
    notify: bool | None,
    actor: User,
) -> bool:
    """Whether to e-mail the customer; raises CONFIRMATION_REQUIRED when the operator must say.

    Entering an `emailOnEnter` status (a new ticket has no `current` status, so it enters its
    first one), or any change to a ticket in an `emailOnChange` status, e-mails the customer once
    the operator confirms with notifyCustomer: true (false declines). Every use case that changes
    a ticket asks here, before it writes anything.
    Company reps are the customer: their own changes never ask and never e-mail.
    """
    if actor.role == Role.COMPANY_REP:
        return False
    enters = (
        entering is not None
        and entering.email_on_enter
        and (current is None or entering.pk != current.pk)
    )
    on_change = current is not None and current.email_on_change
    if not enters and not on_change:
        return False
    if notify is None:
        if enters and entering is not None:
            reason = f"entering {entering.name!r} e-mails the customer"
        else:
            assert current is not None
            reason = f"a change to a ticket in {current.name!r} e-mails the customer"
        raise TicketError(
            TicketErrorCode.CONFIRMATION_REQUIRED,
            f"Confirm: {reason}. Send again with notifyCustomer true (send) or false (do not send).",
            "notifyCustomer",
        )
    return notify


async def ensure_counter(scope: str, year: int) -> None:
    """Create the year's counter row outside the writing transaction (a race is settled by the unique key)."""
    if await NumberCounter.filter(scope=scope, year=year).exists():
        return
    try:
        # A savepoint when a longer transaction surrounds the use case (an idempotency key's): the
        # conflict must not abort it on PostgreSQL.
        async with in_transaction():
            await NumberCounter.create(scope=scope, year=year, value=0)
    except IntegrityError:
        pass


async def next_number(connection: BaseDBAsyncClient, scope: str, prefix: str, year: int) -> str:
    """The next number of the year's sequence. The UPDATE locks the counter row until commit."""
    await (
        NumberCounter.filter(scope=scope, year=year)
        .using_db(connection)
        .update(value=F("value") + 1)
    )
    counter = await NumberCounter.get(scope=scope, year=year).using_db(connection)
    return f"{prefix}{year}-{counter.value:06d}"


def utcnow() -> datetime:
    return datetime.now(UTC)
