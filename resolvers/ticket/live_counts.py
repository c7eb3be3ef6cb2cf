"""Live ticket counts (issue 15): `ticketCounts` pushed again when a ticket changes, computed once per
change per visibility scope, not once per subscriber.

Every subscriber with the same visibility (a rep's company; an agent's own tickets; staff's all:
`count_scope`) and the same groupBy and filter sees the same counts, so the GROUP BY an event calls
for runs once for all of them in a process: the first one there starts it in the event's shared
state (`LiveEvent.shared`, per event and process) and the others await the same future. Beside that,
subscribers with the same document also share one execution and encoding of the stream
(contato/shared_streams.py), which keeps each group's latest counts for those who join later.

A stream sends the counts at once, then after each ticket event the viewer's scope may be touched
by (reps: their company's tickets, never an internal note), and only when they changed. The viewer
is checked on every event as in every stream (resolvers/realtime.py): a deactivated user, a changed
password or role, ends it with ACCESS_REVOKED.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

from prometheus_client import Counter
from tortoise.expressions import Q

from realtime.due import TICKET_RETURN_DUE
from realtime.hub import LiveEvent, current_cursor
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.realtime import TICKET_KINDS, StreamEnded, StreamErrorCode, Viewer, viewer_events
from resolvers.scope import Scope
from resolvers.ticket.counts import TicketCountDimension, TicketCountGroup, ticket_counts
from resolvers.ticket.inputs import TicketFilter

COMPUTED = Counter(
    "contato_ticket_counts_computed",
    "GROUP BY computations of live ticket counts (one per ticket event, visibility scope and arguments).",
)


@dataclass(frozen=True)
class TicketCountsUpdate:
    """The counts as of `cursor` (the event that changed them; None: as the stream started)."""

    cursor: int | None
    groups: list[TicketCountGroup]


def count_scope(scope: Scope) -> tuple[object, ...]:
    """Who sees the same tickets: a rep's company, an agent alone, or all of staff."""
    if scope.is_rep:
        return ("company", scope.company_id)
    if scope.is_staff:
        return ("all",)
    return ("user", scope.user_id)


async def _counts(ctx: Context, group_by: list[TicketCountDimension], where: TicketFilter) -> list[TicketCountGroup]:
    COMPUTED.inc()
    return await ticket_counts(ctx, group_by, where)


async def _shared_counts(
    ctx: Context, event: LiveEvent, group_by: list[TicketCountDimension], where: TicketFilter
) -> list[TicketCountGroup]:
    key = ("ticket_counts", count_scope(ctx.scope), tuple(group_by), where)
    computing = event.shared.get(key)
    if computing is None:
        computing = event.shared[key] = asyncio.ensure_future(_counts(ctx, group_by, where))
    return await asyncio.shield(computing)


async def ticket_counts_updates(
    ctx: Context, group_by: list[TicketCountDimension], where: TicketFilter
) -> AsyncIterator[TicketCountsUpdate]:
    viewer = await Viewer.start(ctx)
    # The cursor before the first counts: no change committed after them can be missed.
    after = await current_cursor()
    try:
        counts = await _counts(ctx, group_by, where)
    except BadUserInput as refused:
        raise StreamEnded(StreamErrorCode.INVALID, refused.message, "filter") from None  # a text past its cap
    yield TicketCountsUpdate(None, counts)
    kinds = set(TICKET_KINDS)
    if TicketCountDimension.AWAITING_RETURN in group_by or where.awaiting_return is not None:
        kinds.add(TICKET_RETURN_DUE)  # a return falling due moves a ticket between those groups
    rep_company = viewer.user.company_id if ctx.scope.is_rep else None
    started_as = count_scope(ctx.scope)

    def accepts(event: LiveEvent) -> bool:
        if event.entity != "ticket" or event.kind not in kinds:
            return False
        return rep_company is None or event.company_id == rep_company

    replay = Q(entity="ticket", kind__in=sorted(kinds))
    async for event in viewer_events(ctx, viewer, after, replay, accepts):
        if count_scope(Scope.of(viewer.user)) != started_as:
            raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Your access changed: subscribe again.")
        if event.data.get("internal") and not ctx.scope.sees_operator_records:
            continue  # an internal note changes no count a rep sees
        fresh = await _shared_counts(ctx, event, group_by, where)
        if fresh != counts:
            counts = fresh
            yield TicketCountsUpdate(event.cursor, counts)
