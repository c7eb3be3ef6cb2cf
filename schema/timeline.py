"""`Person.timeline`: one connection of a union of entries, newest first (resolvers/person_timeline.py
says how the sources are merged and paged, and what each viewer sees). Each entry carries its time
and the row it is about, as the type the rest of the API shows it with (Operation, Ticket,
TicketMessage, TicketHistoryEntry, Callback); nested rows load through the scoped loaders."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.history import TicketHistoryEntry
from models.operation import Callback, Operation
from models.person import PersonConversion
from models.ticket import Ticket, TicketMessage
from resolvers import person_timeline as use_cases
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.history import TicketHistoryEntryType
from schema.operation import CallbackType, OperationType
from schema.pagination import Connection
from schema.person import PersonType
from schema.ticket.types import TicketMessageType, TicketType
from schema.user import UserType

TimelineKind = strawberry.enum(
    use_cases.TimelineKind,
    name="TimelineKind",
    description="The sources of a person's timeline; also the order of entries of the same time.",
)


async def _person(info: Info, person_id: int) -> PersonType | None:
    row = await info.context.loaders.person_by_id.load(person_id)
    return PersonType.from_row(row) if row else None


@strawberry.type(description="An outbound contact attempt with the person.")
class OperationEntry:
    at: datetime
    operation: OperationType


@strawberry.type(description="A ticket opened for the person.")
class TicketOpenedEntry:
    at: datetime
    ticket: TicketType


@strawberry.type(description="A message on one of the person's tickets (internal notes: the operator only).")
class TicketMessageEntry:
    at: datetime
    message: TicketMessageType
    ticket: TicketType


@strawberry.type(description="A status change, closing or reopening of one of the person's tickets.")
class TicketStatusEntry:
    at: datetime
    entry: TicketHistoryEntryType
    ticket: TicketType


@strawberry.type(description="A callback scheduled with the person (its due time and status as they are now).")
class CallbackEntry:
    at: datetime
    callback: CallbackType


@strawberry.type(description="The person converted from suspect to prospect.")
class ConversionEntry:
    at: datetime
    suspect_deleted: bool
    row: strawberry.Private[PersonConversion]

    @strawberry.field(description="The suspect; null once deleted by the conversion.")
    async def suspect(self, info: Info) -> PersonType | None:
        return await _person(info, self.row.suspect_id)

    @strawberry.field
    async def prospect(self, info: Info) -> PersonType | None:
        return await _person(info, self.row.prospect_id)

    @strawberry.field(description="Who converted (null for a conversion made otherwise).")
    async def actor(self, info: Info) -> UserType | None:
        if self.row.actor_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.row.actor_id)
        return UserType.from_row(row) if row else None


TimelineEntry = Annotated[
    OperationEntry | TicketOpenedEntry | TicketMessageEntry | TicketStatusEntry | CallbackEntry | ConversionEntry,
    strawberry.union("TimelineEntry"),
]


def to_entry(entry: use_cases.TimelineEntry) -> TimelineEntry:
    row, at = entry.row, entry.at
    kind = use_cases.TimelineKind
    if entry.kind == kind.OPERATION:
        assert isinstance(row, Operation)
        return OperationEntry(at=at, operation=OperationType.from_row(row))
    if entry.kind == kind.TICKET_OPENED:
        assert isinstance(row, Ticket)
        return TicketOpenedEntry(at=at, ticket=TicketType.from_row(row))
    if entry.kind == kind.TICKET_MESSAGE:
        assert isinstance(row, TicketMessage)
        return TicketMessageEntry(at=at, message=TicketMessageType.from_row(row), ticket=TicketType.from_row(row.ticket))
    if entry.kind == kind.TICKET_STATUS:
        assert isinstance(row, TicketHistoryEntry)
        return TicketStatusEntry(at=at, entry=TicketHistoryEntryType.from_row(row), ticket=TicketType.from_row(row.ticket))
    if entry.kind == kind.CALLBACK:
        assert isinstance(row, Callback)
        return CallbackEntry(at=at, callback=CallbackType.from_row(row))
    assert isinstance(row, PersonConversion)
    return ConversionEntry(at=at, suspect_deleted=row.suspect_deleted, row=row)


@strawberry.type(name="TimelineEntryConnection")
class PersonTimelineConnection(Connection[TimelineEntry]):
    pass


async def person_timeline(
    info: Info, person_id: int, page: PageArgs, kinds: list[use_cases.TimelineKind] | None
) -> PersonTimelineConnection:
    timeline = await use_cases.person_timeline(info.context, person_id, page, kinds)
    return PersonTimelineConnection.from_page(timeline, to_entry)
