"""Subscriptions: live streams over graphql-transport-ws, each resumable from an event cursor."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from realtime.hub import is_interruption
from realtime.queue_monitor import QueueSnapshot
from resolvers import realtime
from resolvers.campaign import board
from resolvers.context import Context
from resolvers.ticket import TicketCountDimension as CountDimension
from resolvers.ticket import live_counts
from schema.campaign import CampaignError, CampaignType, QueueStatusCount
from schema.errors import Error
from schema.floor import AgentStatusType
from schema.ids import to_pk
from schema.imports import ImportType
from schema.operation import CallbackType, ResultKindCount
from schema.ticket import TicketMessageType, TicketType
from schema.ticket.operations import (
    TicketCountDimension,
    TicketCountGroup,
    TicketFilter,
    ticket_filter,
)
from schema.user import UserType

logger = logging.getLogger("contato.realtime")

StreamErrorCode = strawberry.enum(realtime.StreamErrorCode, name="StreamErrorCode")


@strawberry.type(description="Why a stream ended. It is the stream's last item.")
class StreamError(Error):
    code: StreamErrorCode  # type: ignore[valid-type]


@strawberry.enum(description="What happened to the ticket.")
class TicketEventKind(Enum):
    OPENED = "TICKET_OPENED"
    MESSAGE_ADDED = "TICKET_MESSAGE_ADDED"
    STATUS_CHANGED = "TICKET_STATUS_CHANGED"
    ASSIGNED = "TICKET_ASSIGNED"
    CLOSED = "TICKET_CLOSED"
    REOPENED = "TICKET_REOPENED"
    UPDATED = "TICKET_UPDATED"


@strawberry.type(description="A change to a ticket; `message` is the message it added, if any.")
class TicketEvent:
    cursor: str = strawberry.field(description="Pass it as `after` when resubscribing to miss nothing.")
    kind: TicketEventKind
    ticket: TicketType
    ticket_message: TicketMessageType | None = strawberry.field(name="newMessage", description="The message the event added, if any (internal notes only for the operator).")


@strawberry.type(description='A ticket whose return date has come ("aguarda retorno").')
class TicketReturnAlert:
    cursor: str
    ticket: TicketType


@strawberry.enum
class CallbackAlertKind(Enum):
    DUE = "CALLBACK_DUE"
    OPENED = "CALLBACK_OPENED"


@strawberry.type(description="A callback that fell due, or an agent's callback that opened to anyone.")
class CallbackAlert:
    cursor: str
    kind: CallbackAlertKind
    callback: CallbackType


@strawberry.type
class AgentQueueActivity:
    claims_in_progress: int
    operations_last_hour: int
    successes_last_hour: int
    agent_id: strawberry.Private[int]

    @strawberry.field
    async def agent(self, info: Info[Context, None]) -> UserType | None:
        row = await info.context.loaders.user_by_id.load(self.agent_id)
        return UserType.from_row(row) if row else None


@strawberry.type(name="QueueSnapshot", description="A campaign's queue right now, for supervisors' wallboards.")
class QueueSnapshotType:
    at: datetime
    members_by_status: list[QueueStatusCount]
    claims_in_progress: int
    results_last_hour: list[ResultKindCount]
    agents: list[AgentQueueActivity]
    campaign_id: strawberry.Private[int]

    @classmethod
    def from_snapshot(cls, snapshot: QueueSnapshot) -> QueueSnapshotType:
        return cls(
            at=snapshot.at,
            members_by_status=[QueueStatusCount(status=key, count=value) for key, value in snapshot.by_status.items()],
            claims_in_progress=snapshot.claims_in_progress,
            results_last_hour=[
                ResultKindCount(kind=key, count=value) for key, value in snapshot.results_last_hour.items()
            ],
            agents=[
                AgentQueueActivity(
                    agent_id=agent.agent_id,
                    claims_in_progress=agent.claims_in_progress,
                    operations_last_hour=agent.operations_last_hour,
                    successes_last_hour=agent.successes_last_hour,
                )
                for agent in snapshot.agents
            ],
            campaign_id=snapshot.campaign_id,
        )

    @strawberry.field
    async def campaign(self, info: Info[Context, None]) -> CampaignType:
        return CampaignType.from_row(await info.context.loaders.campaign_by_id.load(self.campaign_id))


@strawberry.type(description="A wallboard's campaigns, each with its queue figures now, in the order asked.")
class QueueBoard:
    snapshots: list[QueueSnapshotType]


QueueSnapshotResult = Annotated[QueueBoard | CampaignError, strawberry.union("QueueSnapshotResult")]


@strawberry.type
class QueueQuery:
    @strawberry.field(
        description="Supervisors and admins: the queue figures of up to 50 campaigns now, as queueUpdates sends "
        "them (the first render of a wallboard). FORBIDDEN for anyone else; an unknown id is NOT_FOUND."
    )
    async def queue_snapshot(self, info: Info[Context, None], campaign_ids: list[strawberry.ID]) -> QueueSnapshotResult:
        snapshots = await board.queue_snapshots(info.context, [to_pk(value) for value in campaign_ids])
        return QueueBoard(snapshots=[QueueSnapshotType.from_snapshot(snapshot) for snapshot in snapshots])


@strawberry.enum(description="What happened on the floor.")
class AgentStateEventKind(Enum):
    CHANGED = "AGENT_STATE_CHANGED"
    PAUSE_EXCEEDED = "AGENT_PAUSE_EXCEEDED"


@strawberry.type(description="An agent's state changed, or (supervisors) a pause went over its reason's maximum.")
class AgentStateEvent:
    cursor: str
    kind: AgentStateEventKind
    status: AgentStatusType


def _floor_event(item: realtime.FloorUpdate) -> AgentStateEvent:
    return AgentStateEvent(
        cursor=str(item.cursor), kind=AgentStateEventKind(item.kind), status=AgentStatusType.from_row(item.state)
    )


@strawberry.type(description="Someone on the ticket now.")
class TicketViewer:
    typing: bool = strawberry.field(description="Typing a message (renewed by `ticketTyping`).")
    user_id: strawberry.Private[int]

    @strawberry.field
    async def user(self, info: Info[Context, None]) -> UserType | None:
        row = await info.context.loaders.user_by_id.load(self.user_id)
        return UserType.from_row(row) if row else None


@strawberry.type(description="Who is viewing the ticket, and who is typing, as of this item.")
class TicketViewers:
    ticket: TicketType
    viewers: list[TicketViewer]


def _viewers(item: realtime.TicketViewers) -> TicketViewers:
    return TicketViewers(
        ticket=TicketType.from_row(item.ticket),
        viewers=[TicketViewer(typing=seen.typing, user_id=seen.user_id) for seen in item.viewers],
    )


@strawberry.type(description="The counts `ticketCounts` answers for the same groupBy and filter, as of `cursor`.")
class TicketCounts:
    cursor: str | None = strawberry.field(
        description="The event that changed them; null for the counts as the stream started."
    )
    groups: list[TicketCountGroup]


def _counts(update: live_counts.TicketCountsUpdate) -> TicketCounts:
    return TicketCounts(
        cursor=None if update.cursor is None else str(update.cursor),
        groups=[TicketCountGroup.from_group(group) for group in update.groups],
    )


TicketCountsUpdatesItem = Annotated[TicketCounts | StreamError, strawberry.union("TicketCountsUpdatesItem")]
TicketViewingItem = Annotated[TicketViewers | StreamError, strawberry.union("TicketViewingItem")]
AgentStateUpdatesItem = Annotated[AgentStateEvent | StreamError, strawberry.union("AgentStateUpdatesItem")]
TicketUpdatesItem = Annotated[TicketEvent | StreamError, strawberry.union("TicketUpdatesItem")]
TicketReturnDueItem = Annotated[TicketReturnAlert | StreamError, strawberry.union("TicketReturnDueItem")]
CallbackDueItem = Annotated[CallbackAlert | StreamError, strawberry.union("CallbackDueItem")]
QueueUpdatesItem = Annotated[QueueSnapshotType | StreamError, strawberry.union("QueueUpdatesItem")]
ImportProgressItem = Annotated[ImportType | StreamError, strawberry.union("ImportProgressItem")]

T = TypeVar("T")


async def _typed(source: AsyncIterator[T], convert: Callable[[T], Any]) -> AsyncGenerator[Any, None]:
    """Items converted to schema types; a StreamEnded becomes a StreamError, the last item, and so
    does any failure (INTERRUPTED): a stream never just stops."""
    try:
        async for item in source:
            yield convert(item)
    except realtime.StreamEnded as ended:
        yield _error(ended)
    except asyncio.CancelledError as cancelled:
        if not is_interruption(cancelled):
            raise  # the subscriber left
        logger.error("a live stream was interrupted: %r", cancelled)
        yield _error(realtime.interrupted())
    except Exception:
        logger.exception("a live stream failed")
        yield _error(realtime.interrupted())
    finally:
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()


def _error(ended: realtime.StreamEnded) -> StreamError:
    return StreamError(code=ended.code, message=ended.message, field=ended.field)


def _ticket_event(item: realtime.TicketUpdate) -> TicketEvent:
    return TicketEvent(
        cursor=str(item.cursor),
        kind=TicketEventKind(item.kind),
        ticket=TicketType.from_row(item.ticket),
        ticket_message=TicketMessageType.from_row(item.message) if item.message else None,
    )


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes to one ticket, or without `ticketId` to every ticket you may see. "
        "Resubscribe with `after` set to the last cursor you received to get what you missed first."
    )
    async def ticket_updates(
        self, info: Info[Context, None], ticket_id: strawberry.ID | None = None, after: str | None = None
    ) -> AsyncGenerator[TicketUpdatesItem, None]:
        source = realtime.ticket_updates(info.context, to_pk(ticket_id) if ticket_id is not None else None, after)
        async for item in _typed(source, _ticket_event):
            yield item

    @strawberry.subscription(
        description="`ticketCounts(groupBy, filter)` live: the counts at once, then again whenever a ticket change "
        "moves them (only when they changed), over the tickets you may see (reps: their company's). Computed "
        "once per change for everyone who sees the same tickets."
    )
    async def ticket_counts_updates(
        self, info: Info[Context, None], group_by: list[TicketCountDimension],  # type: ignore[valid-type]
        filter: TicketFilter | None = None,
    ) -> AsyncGenerator[TicketCountsUpdatesItem, None]:
        dimensions = [CountDimension(value) for value in group_by]
        source = live_counts.ticket_counts_updates(info.context, dimensions, ticket_filter(filter))
        async for item in _typed(source, _counts):
            yield item

    @strawberry.subscription(description="Tickets whose return date has come, for the operator.")
    async def ticket_return_due(
        self, info: Info[Context, None], after: str | None = None
    ) -> AsyncGenerator[TicketReturnDueItem, None]:
        source = realtime.ticket_return_due(info.context, after)
        async for item in _typed(
            source, lambda alert: TicketReturnAlert(cursor=str(alert.cursor), ticket=TicketType.from_row(alert.ticket))
        ):
            yield item

    @strawberry.subscription(
        description="Your callbacks as they fall due, and other agents' that opened to anyone on your campaigns. "
        "Supervisors may follow one agent (`agentId`) or, without it, every alert."
    )
    async def callback_due(
        self, info: Info[Context, None], agent_id: strawberry.ID | None = None, after: str | None = None
    ) -> AsyncGenerator[CallbackDueItem, None]:
        source = realtime.callback_due(info.context, to_pk(agent_id) if agent_id is not None else None, after)
        async for item in _typed(
            source,
            lambda alert: CallbackAlert(
                cursor=str(alert.cursor), kind=CallbackAlertKind(alert.kind), callback=CallbackType.from_row(alert.callback)
            ),
        ):
            yield item

    @strawberry.subscription(
        description="An import (supervisors and admins): as it is now, then after each batch it commits, until it "
        "ends (DONE, FAILED or CANCELLED)."
    )
    async def import_progress(
        self, info: Info[Context, None], import_id: strawberry.ID
    ) -> AsyncGenerator[ImportProgressItem, None]:
        source = realtime.import_progress(info.context, to_pk(import_id))
        async for item in _typed(source, ImportType.from_row):
            yield item

    @strawberry.subscription(
        description="The campaign's agents as their states change (supervisors; an agent gets their own), and "
        "pauses over their reason's maximum (supervisors, once). Resubscribe with `after` to miss nothing."
    )
    async def agent_state_updates(
        self, info: Info[Context, None], campaign_id: strawberry.ID, after: str | None = None
    ) -> AsyncGenerator[AgentStateUpdatesItem, None]:
        source = realtime.agent_state_updates(info.context, to_pk(campaign_id), after)
        async for item in _typed(source, _floor_event):
            yield item

    @strawberry.subscription(
        description="Be seen on a ticket while subscribed, and see who else is on it and who is typing: at once, "
        "then at every change, across server processes (company reps see only reps unless the operator allows it)."
    )
    async def ticket_viewing(
        self, info: Info[Context, None], ticket_id: strawberry.ID
    ) -> AsyncGenerator[TicketViewingItem, None]:
        source = realtime.ticket_viewing(info.context, to_pk(ticket_id))
        async for item in _typed(source, _viewers):
            yield item

    @strawberry.subscription(
        description="Queue figures for supervisors: of one campaign (`campaignId`) or of a wallboard of up to 50 "
        "(`campaignIds`): each campaign's now, then each as it changes (`campaign` says whose)."
    )
    async def queue_updates(
        self, info: Info[Context, None], campaign_id: strawberry.ID | None = None,
        campaign_ids: list[strawberry.ID] | None = None,
    ) -> AsyncGenerator[QueueUpdatesItem, None]:
        source = realtime.queue_updates(
            info.context, None if campaign_id is None else to_pk(campaign_id),
            None if campaign_ids is None else [to_pk(value) for value in campaign_ids],
        )
        async for item in _typed(source, QueueSnapshotType.from_snapshot):
            yield item
