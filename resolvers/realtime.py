"""What each live stream delivers, to whom, re-checked for every event.

A subscription's context is built once per WebSocket connection, so nothing in it is trusted for
long: every event re-checks the token's expiry, re-reads the user when any process reported a
change to them (USER_CHANGED, in cursor order with everything else), and re-reads the object the
event is about with loaders built for that event alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from tortoise.expressions import Q

from models.floor import AgentState
from models.operation import Callback
from models.ticket import Ticket, TicketMessage
from models.user import Role, User
from realtime.due import CALLBACK_DUE, CALLBACK_OPENED, TICKET_RETURN_DUE
from realtime.events import USER_CHANGED
from realtime.floor import AGENT_PAUSE_EXCEEDED, FLOOR_KINDS
from realtime.hub import CursorExpired, LiveEvent, SubscriberOverflow, current_cursor, stream
from realtime.queue_monitor import QueueSnapshot, Recheck
from resolvers.bounds import MAX_EVENT_CURSOR, ascii_integer
from resolvers.campaign.board import MAX_BOARD, board_ids
from resolvers.context import Context, fresh_loaders, use_loaders
from resolvers.errors import AgentStateError, DomainError, TicketError, TicketErrorCode
from resolvers.floor import floor, offline
from resolvers.loaders import RowLoaders
from resolvers.ticket.access import can_see, sees_internal_notes

TICKET_KINDS = (
    "TICKET_OPENED",
    "TICKET_MESSAGE_ADDED",
    "TICKET_STATUS_CHANGED",
    "TICKET_ASSIGNED",
    "TICKET_CLOSED",
    "TICKET_REOPENED",
    "TICKET_UPDATED",
)


class StreamErrorCode(str, Enum):
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    INVALID_CURSOR = "INVALID_CURSOR"
    CURSOR_EXPIRED = "CURSOR_EXPIRED"
    ACCESS_REVOKED = "ACCESS_REVOKED"
    TOKEN_EXPIRED = "TOKEN_EXPIRED"
    TOO_SLOW = "TOO_SLOW"
    INTERRUPTED = "INTERRUPTED"


class StreamEnded(DomainError):
    """Ends a stream with a typed error as its last item."""


def interrupted() -> StreamEnded:
    """How a stream that failed on the server ends: the client resumes from its last cursor."""
    return StreamEnded(
        StreamErrorCode.INTERRUPTED, "The live stream was interrupted: subscribe again with your last cursor."
    )


@dataclass(frozen=True)
class TicketUpdate:
    cursor: int
    kind: str
    ticket: Ticket
    message: TicketMessage | None


@dataclass(frozen=True)
class CallbackAlert:
    cursor: int
    kind: str
    callback: Callback


@dataclass(frozen=True)
class TicketReturnAlert:
    cursor: int
    ticket: Ticket


def parse_cursor(after: str | None) -> int | None:
    if after is None:
        return None
    cursor = ascii_integer(after.strip())
    if cursor is None or not 0 <= cursor <= MAX_EVENT_CURSOR:
        raise StreamEnded(StreamErrorCode.INVALID_CURSOR, "A cursor is the string of a previous event's cursor.", "after")
    return cursor


class Viewer:
    """The subscriber, kept current for the life of the stream."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.user = ctx.require_user()
        self._token_version = self.user.token_version
        self._seen = ctx.hub.user_version(self.user.pk)

    @classmethod
    async def start(cls, ctx: Context) -> Viewer:
        viewer = cls(ctx)
        await viewer._reload()  # the connection may have been opened long before this subscription
        return viewer

    async def check(self) -> None:
        if not self.check_now():
            self._seen = self.ctx.hub.user_version(self.user.pk)
            await self._reload()

    def check_now(self) -> bool:
        """The checks that need no database: StreamEnded when the token has expired; False when a
        process reported a change to the user, who must be re-read (`check` does)."""
        if self.ctx.shared_stream:
            return True  # a shared stream's members are checked one by one (contato/shared_streams.py)
        expires_at = self.ctx.token_expires_at
        if expires_at is not None and datetime.now(UTC) >= expires_at:
            raise StreamEnded(StreamErrorCode.TOKEN_EXPIRED, "Your token has expired: log in and subscribe again.")
        return self.ctx.hub.user_version(self.user.pk) == self._seen

    async def _reload(self) -> None:
        user = await User.get_or_none(id=self.user.pk)
        if user is None or not user.active or user.token_version != self._token_version:
            raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Your access was revoked: log in again.")
        self.user = user
        self.ctx.user = user

    @property
    def is_staff(self) -> bool:
        return self.user.role in (Role.SUPERVISOR, Role.ADMIN)


def share_scope(user: User) -> tuple[object, ...]:
    """Everything besides the document that decides what a live stream shows this user: the
    access rules above (`can_see`, `sees_internal_notes`, whose callbacks) and every field
    resolver depend on the role, a rep's company and an agent's own id, nothing else. Subscribers
    with the same document, variables and scope may share one execution of their stream."""
    if user.role == Role.COMPANY_REP:
        return (user.role.value, user.company_id)
    if user.role == Role.AGENT:
        return (user.role.value, user.pk)
    return (user.role.value,)


async def viewer_events(
    ctx: Context, viewer: Viewer, after: int | None, replay: Q, accepts: Callable[[LiveEvent], bool]
) -> AsyncIterator[LiveEvent]:
    """Matching events after `after`, then live; the viewer's own changes are seen in order too."""
    user_id = viewer.user.pk
    mine = Q(kind=USER_CHANGED, entity="user", entity_id=user_id)

    def accepted(event: LiveEvent) -> bool:
        return (event.kind == USER_CHANGED and event.entity_id == user_id) or accepts(event)

    try:
        async for event in stream(ctx.hub, after, replay | mine, accepted):
            await viewer.check()
            if event.kind == USER_CHANGED:
                continue
            use_loaders(_shared_loaders(event))
            yield event
    except CursorExpired as expired:
        raise StreamEnded(StreamErrorCode.CURSOR_EXPIRED, str(expired), "after") from None
    except SubscriberOverflow as overflow:
        raise StreamEnded(StreamErrorCode.TOO_SLOW, str(overflow)) from None


def _shared_loaders(event: LiveEvent) -> RowLoaders:
    """One set of loaders per event per process, shared by every subscriber it reaches: their
    loads batch into one query, and the rows are as fresh as the event. Row loaders hold rows,
    never decisions: each subscriber's access is checked on its own, and each reads them through
    its own scope (`Context.loaders`)."""
    loaders = event.shared.get("loaders")
    if loaders is None:
        loaders = event.shared["loaders"] = RowLoaders(shared=True)
    return loaders


async def ticket_updates(ctx: Context, ticket_id: int | None, after: str | None) -> AsyncIterator[TicketUpdate]:
    """One ticket's changes, or those of every ticket the caller may see (reps: their company's)."""
    position = parse_cursor(after)
    viewer = await Viewer.start(ctx)
    user = viewer.user
    replay = Q(entity="ticket", kind__in=TICKET_KINDS)
    if ticket_id is not None:
        ticket = await Ticket.get_or_none(id=ticket_id)
        if ticket is None or not can_see(user, ticket):
            raise StreamEnded(StreamErrorCode.NOT_FOUND, "No such ticket.", "ticketId")
        replay &= Q(entity_id=ticket_id)
    elif user.role == Role.COMPANY_REP:
        replay &= Q(company_id=user.company_id)

    def accepts(event: LiveEvent) -> bool:
        if event.entity != "ticket" or event.kind not in TICKET_KINDS:
            return False
        if ticket_id is not None:
            return event.entity_id == ticket_id
        return viewer.user.role != Role.COMPANY_REP or event.company_id == viewer.user.company_id

    async for event in viewer_events(ctx, viewer, position, replay, accepts):
        if event.data.get("internal") and not sees_internal_notes(viewer.user):
            continue
        ticket = await ctx.loaders.ticket_by_id.load(event.entity_id)
        if ticket is None or not can_see(viewer.user, ticket):
            if ticket_id is not None:
                raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "You no longer have access to this ticket.", "ticketId")
            continue
        message = None
        message_id = event.data.get("message_id")
        if isinstance(message_id, int):
            message = await _message(event, message_id)
            if message is not None and message.internal and not sees_internal_notes(viewer.user):
                message = None
        yield TicketUpdate(cursor=event.cursor, kind=event.kind, ticket=ticket, message=message)


async def _message(event: LiveEvent, message_id: int) -> TicketMessage | None:
    """The message an event added, read once per event per process."""
    if "message" not in event.shared:
        event.shared["message"] = asyncio.ensure_future(TicketMessage.get_or_none(id=message_id))
    return await asyncio.shield(event.shared["message"])


async def ticket_return_due(ctx: Context, after: str | None) -> AsyncIterator[TicketReturnAlert]:
    """Tickets whose return date has come ("aguarda retorno"): the operator's reminders."""
    position = parse_cursor(after)
    viewer = await Viewer.start(ctx)
    if viewer.user.role == Role.COMPANY_REP:
        raise StreamEnded(StreamErrorCode.FORBIDDEN, "Return reminders are for the operator.")
    replay = Q(entity="ticket", kind=TICKET_RETURN_DUE)
    async for event in viewer_events(ctx, viewer, position, replay, lambda event: event.kind == TICKET_RETURN_DUE):
        if viewer.user.role == Role.COMPANY_REP:
            raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Return reminders are for the operator.")
        ticket = await ctx.loaders.ticket_by_id.load(event.entity_id)
        if ticket is not None and can_see(viewer.user, ticket):
            yield TicketReturnAlert(cursor=event.cursor, ticket=ticket)


async def callback_due(ctx: Context, agent_id: int | None, after: str | None) -> AsyncIterator[CallbackAlert]:
    """An agent's callbacks as they fall due, those open to anyone on their campaigns, and other
    agents' USER_ONLY callbacks when they open to anyone. Supervisors may follow one agent's own
    callbacks (`agent_id`, as `pendingCallbacks(agentId)` lists them) or, without it, every alert."""
    position = parse_cursor(after)
    viewer = await Viewer.start(ctx)
    if agent_id is not None and agent_id != viewer.user.pk and not viewer.is_staff:
        raise StreamEnded(StreamErrorCode.FORBIDDEN, "Only supervisors follow another agent's callbacks.", "agentId")
    if viewer.user.role == Role.COMPANY_REP:
        raise StreamEnded(StreamErrorCode.FORBIDDEN, "Callbacks are for the operator.")
    if agent_id is None and not viewer.is_staff:
        agent_id = viewer.user.pk
    if agent_id is not None and not await User.filter(id=agent_id).exists():
        raise StreamEnded(StreamErrorCode.NOT_FOUND, "No such agent.", "agentId")
    # A supervisor following an agent sees that agent's own callbacks fall due, nothing else.
    own_only = agent_id is not None and agent_id != viewer.user.pk
    replay = Q(entity="callback", kind__in=(CALLBACK_DUE, CALLBACK_OPENED))
    if own_only:
        replay = Q(entity="callback", kind=CALLBACK_DUE, agent_id=agent_id)
    elif agent_id is not None:
        replay &= Q(agent_id=agent_id) | Q(agent_id__isnull=True)

    def accepts(event: LiveEvent) -> bool:
        if event.entity != "callback" or event.kind not in (CALLBACK_DUE, CALLBACK_OPENED):
            return False
        if own_only:
            return event.kind == CALLBACK_DUE and event.agent_id == agent_id
        return agent_id is None or event.agent_id in (agent_id, None)

    async for event in viewer_events(ctx, viewer, position, replay, accepts):
        if agent_id is not None:
            if agent_id != viewer.user.pk and not viewer.is_staff:
                raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "You no longer follow this agent.", "agentId")
            if event.kind == CALLBACK_OPENED and event.data.get("owner_id") == agent_id:
                continue  # the owner had the due alert; "opened" tells the others
            if event.agent_id is None and not await _works_campaign(ctx, agent_id, event.campaign_id):
                continue
        callback = await ctx.loaders.callback_by_id.load(event.entity_id)
        if callback is not None:
            yield CallbackAlert(cursor=event.cursor, kind=event.kind, callback=callback)


async def _works_campaign(ctx: Context, agent_id: int, campaign_id: int | None) -> bool:
    """Through the event's shared loaders: one query for every subscriber the event reaches."""
    if campaign_id is None:
        return False
    links = await ctx.loaders.agent_links_by_campaign.load(campaign_id)
    return any(link.agent_id == agent_id for link in links)


async def queue_updates(
    ctx: Context, campaign_id: int | None, campaign_ids: list[int] | None = None
) -> AsyncIterator[QueueSnapshot]:
    """Campaigns' live figures for supervisors: each campaign's first snapshot at once, then each as
    its queue moves. One campaign (`campaign_id`), or a wallboard of several (`campaign_ids`)."""
    field = "campaignId" if campaign_ids is None else "campaignIds"
    viewer = await Viewer.start(ctx)
    if not viewer.is_staff:
        raise StreamEnded(StreamErrorCode.FORBIDDEN, "Queue monitoring is for supervisors.", field)
    if (campaign_id is None) == (campaign_ids is None):
        raise StreamEnded(StreamErrorCode.INVALID, "Give campaignId or campaignIds, not both.", field)
    wanted = board_ids([campaign_id] if campaign_id is not None else campaign_ids or [])
    if not wanted or len(wanted) > MAX_BOARD:
        raise StreamEnded(StreamErrorCode.INVALID, f"Follow 1 to {MAX_BOARD} campaigns.", field)
    found = await ctx.loaders.campaign_by_id.load_many(wanted)
    for wanted_id, campaign in zip(wanted, found, strict=True):
        if campaign is None:
            raise StreamEnded(StreamErrorCode.NOT_FOUND, f"No campaign {wanted_id}.", field)
    if ctx.queue_monitor is None:
        raise RuntimeError("the queue monitor is not running in this process")
    async with ctx.queue_monitor.watch_many(wanted, viewer.user.pk) as snapshots:
        while True:
            item = await snapshots.get()
            await viewer.check()
            if not viewer.is_staff:
                raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Queue monitoring is for supervisors.")
            if isinstance(item, Recheck):
                continue
            fresh_loaders()
            yield item


async def import_progress(ctx: Context, import_id: int) -> AsyncIterator[Any]:
    """An import as it is now, then after every batch it commits, until it ends (staff only)."""
    from models.data_import import Import, ImportStatus
    from resolvers.imports import TERMINAL

    viewer = await Viewer.start(ctx)
    if not viewer.is_staff:
        raise StreamEnded(StreamErrorCode.FORBIDDEN, "Imports are for supervisors and admins.", "importId")
    # The cursor before the row is read: no batch committed after the read can be missed.
    after = await current_cursor()
    job = await Import.get_or_none(id=import_id)
    if job is None:
        raise StreamEnded(StreamErrorCode.NOT_FOUND, "No such import.", "importId")
    yield job
    if job.status in TERMINAL:
        return

    def accepts(event: LiveEvent) -> bool:
        return event.entity == "import" and event.entity_id == import_id

    async for event in viewer_events(ctx, viewer, after, Q(entity="import", entity_id=import_id), accepts):
        if not viewer.is_staff:
            raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Imports are for supervisors and admins.")
        # The import as that batch left it (the event carries it): each batch is seen, even late.
        job.update_from_dict(event.data)
        job.status = ImportStatus(job.status)
        yield job
        if job.status in TERMINAL:
            return


@dataclass(frozen=True)
class FloorUpdate:
    cursor: int
    kind: str
    state: AgentState


async def agent_state_updates(ctx: Context, campaign_id: int, after: str | None) -> AsyncIterator[FloorUpdate]:
    """The campaign's agents as their states change (an agent: their own), and for supervisors the
    pauses that went over their reason's maximum. Each event re-checks the viewer (role, assignment)
    and re-reads the state as it is now."""
    position = parse_cursor(after)
    viewer = await Viewer.start(ctx)
    try:
        await floor(ctx, campaign_id)  # the same refusals as agentStates
    except AgentStateError as refused:
        raise StreamEnded(_stream_code(refused), refused.message, "campaignId") from None
    replay = Q(entity="agent", kind__in=FLOOR_KINDS)
    if not viewer.is_staff:
        replay &= Q(entity_id=viewer.user.pk)

    def accepts(event: LiveEvent) -> bool:
        if event.entity != "agent" or event.kind not in FLOOR_KINDS:
            return False
        return viewer.is_staff or event.entity_id == viewer.user.pk

    async for event in viewer_events(ctx, viewer, position, replay, accepts):
        if not viewer.is_staff:
            if viewer.user.role != Role.AGENT:
                raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "The floor is for the operator.", "campaignId")
            if event.entity_id != viewer.user.pk or event.kind == AGENT_PAUSE_EXCEEDED:
                continue
        links = await ctx.loaders.agent_links_by_campaign.load(campaign_id)
        assigned = {link.agent_id for link in links}
        if not viewer.is_staff and viewer.user.pk not in assigned:
            raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "You are no longer on this campaign.", "campaignId")
        if event.entity_id not in assigned:
            continue
        state = await _agent_state(event)
        yield FloorUpdate(cursor=event.cursor, kind=event.kind, state=state or offline(event.entity_id))


def _stream_code(refused: AgentStateError) -> StreamErrorCode:
    return StreamErrorCode.NOT_FOUND if refused.code.value == "NOT_FOUND" else StreamErrorCode.FORBIDDEN


async def _agent_state(event: LiveEvent) -> AgentState | None:
    """The agent's state as of this event, read once per event per process."""
    if "agent_state" not in event.shared:
        event.shared["agent_state"] = asyncio.ensure_future(AgentState.get_or_none(user_id=event.entity_id))
    return await asyncio.shield(event.shared["agent_state"])


@dataclass(frozen=True)
class TicketViewers:
    ticket: Ticket
    viewers: list[Any]


async def ticket_viewing(ctx: Context, ticket_id: int) -> AsyncIterator[TicketViewers]:
    """Be seen on a ticket while subscribed, and see who else is there and who is typing: at once,
    then at every change. Reps see operators only when TICKET_VIEWING_REPS_SEE_OPERATORS allows."""
    viewer = await Viewer.start(ctx)
    if ctx.viewing is None:
        raise RuntimeError("ticket viewing is not running in this process")
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None or not can_see(viewer.user, ticket):
        raise StreamEnded(StreamErrorCode.NOT_FOUND, "No such ticket.", "ticketId")
    user = viewer.user
    async with ctx.viewing.join(ticket.pk, user.pk, user.role.value) as changed:
        while True:
            changed.clear()
            await viewer.check()
            ticket = await Ticket.get_or_none(id=ticket_id)
            if ticket is None or not can_see(viewer.user, ticket):
                raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "You no longer have access to this ticket.", "ticketId")
            fresh_loaders()
            yield TicketViewers(ticket, _visible_viewers(ctx, viewer.user, ctx.viewing.viewers(ticket.pk)))
            await changed.wait()


def _visible_viewers(ctx: Context, user: User, viewers: list[Any]) -> list[Any]:
    if user.role != Role.COMPANY_REP or ctx.settings.ticket_viewing_reps_see_operators:
        return viewers
    return [seen for seen in viewers if seen.role == Role.COMPANY_REP.value]


async def ticket_typing(ctx: Context, ticket_id: int, typing: bool) -> Ticket:
    """Say that the caller is (or stopped) typing on a ticket they may see; renew while typing."""
    user = ctx.require_user()
    ticket = await Ticket.get_or_none(id=ticket_id)
    if ticket is None or not can_see(user, ticket):
        raise TicketError(TicketErrorCode.NOT_FOUND, "No such ticket.", "ticketId")
    if ctx.viewing is not None:
        await ctx.viewing.typing(ticket.pk, user.pk, user.role.value, typing)
    return ticket
