"""What the ticket use cases take (plain dataclasses: the schema maps GraphQL inputs to them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import Enum

from models.ticket import TicketActionStatus
from resolvers.attachment import Upload


class StateFilter(str, Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    ALL = "ALL"


class TicketOrderField(str, Enum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    LAST_MESSAGE_AT = "LAST_MESSAGE_AT"
    RETURN_DUE_AT = "RETURN_DUE_AT"
    NUMBER = "NUMBER"


@dataclass(frozen=True)
class TicketOrder:
    field: TicketOrderField
    descending: bool = False


@dataclass(frozen=True)
class TicketFilter:
    state: StateFilter = StateFilter.ALL
    company_id: int | None = None
    status_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    classification_id: int | None = None
    contact_type_id: int | None = None
    awaiting_return: bool | None = None
    text: str | None = None


@dataclass(frozen=True)
class TicketOpenInput:
    subject: str | None
    body: str
    contact_name: str
    contact_phone: str
    contact_email: str
    company_id: int | None = None
    person_id: int | None = None
    channel_id: int | None = None
    classification_id: int | None = None
    subclassification_id: int | None = None
    contact_type_id: int | None = None
    contact_subtype_id: int | None = None
    product: str | None = None
    occurrence: str | None = None
    subject_id: int | None = None
    product_id: int | None = None
    occurrence_id: int | None = None
    files: Sequence[Upload] = field(default_factory=tuple)
    notify_customer: bool | None = None


@dataclass(frozen=True)
class ChildCreateInput:
    body: str
    subject: str | None = None
    product: str | None = None
    occurrence: str | None = None
    assignee_id: int | None = None
    notify_customer: bool | None = None


@dataclass(frozen=True)
class ActionPerformInput:
    ticket_id: int
    definition_id: int
    responsible_id: int | None = None
    due_date: date | None = None
    status: TicketActionStatus = TicketActionStatus.DONE
    notes: str = ""
    notify_customer: bool | None = None
