"""One timeline per person (issue 15): what happened with them, newest first, across sources.

Six sources, each a table with a time and an id: the person's operations, the tickets opened for
them, the messages and the status changes (ticket history: STATUS_CHANGED, CLOSED, REOPENED) of
those tickets, the callbacks of their memberships, and their suspect -> prospect conversions.

The order is (time, kind, id), descending: the time first, the kind's rank (KINDS' order) and the
row's id break ties, so the order is total and stable. A cursor names an entry's place in it, and a
page is read by keyset over the merge, never by OFFSET: each source reads the rows after the cursor
(`(at, kind, id) < cursor`, which for one source, whose kind is fixed, is one range of its
(time, id) order) with LIMIT size + 1, in one statement, and the merge of those few rows in Python
keeps the first size + 1. So a page costs one statement per source asked, whatever its size and
depth. `last` / `before` read the same ranges the other way.

What each viewer sees is decided in each source's queryset, by the rules the other lists use:
- operations and callbacks: agents, those of the campaigns they are assigned to; staff, all; reps, none;
- tickets, their messages and status changes: what `tickets` shows the viewer (visible_tickets);
  internal notes only to the operator's people;
- conversions: the operator's people (reps cannot convert, and do not see outbound work).
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from models.campaign import CampaignAgent, CampaignMember
from models.history import TicketHistoryEntry, TicketHistoryKind
from models.operation import Callback, Operation
from models.person import PersonConversion
from models.ticket import TicketMessage
from resolvers.bounds import MAX_ROW_ID
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.pagination import Counter, PageArgs, TotalCount, capped_count, cursor_moment
from resolvers.ticket import sees_internal_notes, visible_tickets

CURSOR_KIND = "personTimeline"


class TimelineKind(str, Enum):
    OPERATION = "OPERATION"
    TICKET_OPENED = "TICKET_OPENED"
    TICKET_MESSAGE = "TICKET_MESSAGE"
    TICKET_STATUS = "TICKET_STATUS"
    CALLBACK = "CALLBACK"
    CONVERSION = "CONVERSION"


KINDS = list(TimelineKind)
RANK = {kind: rank for rank, kind in enumerate(KINDS)}
STATUS_KINDS = (TicketHistoryKind.STATUS_CHANGED, TicketHistoryKind.CLOSED, TicketHistoryKind.REOPENED)


@dataclass(frozen=True)
class TimelineEntry:
    kind: TimelineKind
    at: datetime
    row: Any

    @property
    def key(self) -> tuple[datetime, int, int]:
        return self.at, RANK[self.kind], int(self.row.pk)


Position = tuple[datetime, int, int]


def entry_cursor(entry: TimelineEntry) -> str:
    text = json.dumps([entry.at.isoformat(), entry.kind.value, int(entry.row.pk)])
    return base64.urlsafe_b64encode(f"{CURSOR_KIND}:{text}".encode()).decode()


def read_position(cursor: str) -> Position:
    """The (time, kind rank, id) a cursor names; BAD_USER_INPUT for anything else."""
    try:
        prefix, _, rest = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != CURSOR_KIND:
            raise ValueError(prefix)
        at, kind, row_id = json.loads(rest)
        if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id <= MAX_ROW_ID:
            raise ValueError(rest)
        return cursor_moment(at), RANK[TimelineKind(kind)], row_id
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeError, RecursionError):
        raise BadUserInput(f"The cursor {cursor!r} is not a valid cursor of this timeline.") from None


@dataclass(frozen=True)
class TimelinePage:
    rows: list[TimelineEntry]
    has_next_page: bool
    has_previous_page: bool
    counter: Counter

    def cursor(self, entry: TimelineEntry) -> str:
        return entry_cursor(entry)


def _agent_campaigns(user_id: int) -> Subquery:
    return Subquery(CampaignAgent.filter(agent_id=user_id).values("campaign_id"))


def sources(ctx: Context, person_id: int, kinds: Iterable[TimelineKind]) -> dict[TimelineKind, QuerySet[Any]]:
    """Each asked source's rows the viewer may see, unordered; a source the viewer sees nothing of
    is left out (no statement)."""
    user = ctx.require_user()
    operator = ctx.scope.sees_operator_records
    tickets = Subquery(visible_tickets(ctx).filter(person_id=person_id).values("id"))
    found: dict[TimelineKind, QuerySet[Any]] = {}
    for kind in kinds:
        if kind == TimelineKind.OPERATION and operator:
            operations = Operation.filter(person_id=person_id)
            found[kind] = operations if ctx.scope.is_staff else operations.filter(campaign_id__in=_agent_campaigns(user.pk))
        elif kind == TimelineKind.CALLBACK and operator:
            callbacks = Callback.filter(member_id__in=Subquery(CampaignMember.filter(person_id=person_id).values("id")))
            found[kind] = callbacks if ctx.scope.is_staff else callbacks.filter(campaign_id__in=_agent_campaigns(user.pk))
        elif kind == TimelineKind.TICKET_OPENED:
            found[kind] = visible_tickets(ctx).filter(person_id=person_id)
        elif kind == TimelineKind.TICKET_MESSAGE:
            messages = TicketMessage.filter(ticket_id__in=tickets).select_related("ticket")
            found[kind] = messages if sees_internal_notes(user) else messages.filter(internal=False)
        elif kind == TimelineKind.TICKET_STATUS:
            found[kind] = TicketHistoryEntry.filter(ticket_id__in=tickets, kind__in=STATUS_KINDS).select_related("ticket")
        elif kind == TimelineKind.CONVERSION and operator:
            found[kind] = PersonConversion.filter(Q(prospect_id=person_id) | Q(suspect_id=person_id))
    return found


def _following(rank: int, position: Position, backward: bool) -> Q:
    """The rows of a source of `rank` after `position` in the timeline's order (newest first), or
    before it when `backward`: `(at, rank, id) < position` (`>`), one range of (created_at, id)."""
    at, cursor_rank, row_id = position
    later = "gt" if backward else "lt"
    if rank == cursor_rank:
        return Q(**{f"created_at__{later}e": at}) & (Q(**{f"created_at__{later}": at}) | Q(**{f"id__{later}": row_id}))
    before_in_ties = rank > cursor_rank if backward else rank < cursor_rank
    return Q(**{f"created_at__{later}e" if before_in_ties else f"created_at__{later}": at})


async def person_timeline(
    ctx: Context, person_id: int, page: PageArgs, kinds: list[TimelineKind] | None = None
) -> TimelinePage:
    ctx.require_user()
    size = page.size(ctx.settings.max_page_size)  # a bad argument costs no statement
    position = read_position(page.cursor) if page.cursor is not None else None
    asked = KINDS if kinds is None else [kind for kind in KINDS if kind in set(kinds)]
    querysets = sources(ctx, person_id, asked)
    order = ("created_at", "id") if page.backward else ("-created_at", "-id")
    read: list[list[TimelineEntry]] = []
    for kind, queryset in querysets.items():
        if position is not None:
            queryset = queryset.filter(_following(RANK[kind], position, page.backward))
        rows = await queryset.order_by(*order).limit(size + 1)
        read.append([TimelineEntry(kind, row.created_at, row) for row in rows])
    key: Callable[[TimelineEntry], tuple[datetime, int, int]] = lambda entry: entry.key  # noqa: E731
    merged = list(heapq.merge(*read, key=key, reverse=not page.backward))[: size + 1]
    more = len(merged) > size
    entries = merged[:size]
    if page.backward:
        entries, has_next, has_previous = entries[::-1], page.before is not None, more
    else:
        has_next, has_previous = more, page.after is not None

    async def count(limit: int) -> TotalCount:
        total, exact = 0, True
        for queryset in querysets.values():
            counted = await capped_count(queryset, limit)
            total, exact = total + counted.value, exact and counted.exact
        if limit > 0 and total > limit:
            return TotalCount(limit, exact=False)
        return TotalCount(total, exact)

    return TimelinePage(entries, has_next, has_previous, count)


__all__ = ["KINDS", "TimelineEntry", "TimelineKind", "TimelinePage", "person_timeline"]
