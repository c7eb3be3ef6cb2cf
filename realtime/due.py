"""What can fall due: the sources the alert scheduler claims from.

Each source lists candidates (locked with SKIP LOCKED on PostgreSQL, so two schedulers split the
work) and claims one with a conditional UPDATE that only the first process can win, so an item is
alerted once whatever the number of schedulers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from models.operation import Callback, CallbackStatus
from models.ticket import Ticket, TicketState
from realtime.alerts import ALERT_LATENESS, DueSource, supports_skip_locked
from realtime.events import EventSpec

CALLBACK_DUE = "CALLBACK_DUE"
CALLBACK_OPENED = "CALLBACK_OPENED"
TICKET_RETURN_DUE = "TICKET_RETURN_DUE"


def _source(
    name: str,
    model: type[Model],
    due: Callable[[datetime], dict[str, Any]],
    order: str,
    mark: str,
    event: Callable[[Any], EventSpec],
) -> DueSource:
    """A source whose items are rows of `model` matching `due(now)` (due at `order`), claimed by setting `mark`."""
    lateness = ALERT_LATENESS.labels(name.replace(" ", "_"))

    async def candidates(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
        queryset = model.filter(**due(now)).order_by(order, "id").limit(limit)
        if supports_skip_locked(connection):
            queryset = queryset.select_for_update(skip_locked=True, of=(model._meta.db_table,))
        # Rows with only their id, not values_list(): Tortoise drops FOR UPDATE from values queries,
        # and a scan that locks nothing lets a scheduler holding the event counter wait on a row that
        # operationRecord holds while it waits for the counter (a deadlock).
        return [row.pk for row in await queryset.only("id").using_db(connection)]

    async def claim(connection: BaseDBAsyncClient, item_id: int, now: datetime) -> EventSpec | None:
        # Conditional: of two processes racing for one row, only one updates it.
        won = await model.filter(id=item_id, **due(now)).using_db(connection).update(**{mark: now})
        if not won:
            return None
        row = await model.get(id=item_id).using_db(connection)
        lateness.observe(max((datetime.now(UTC) - getattr(row, order)).total_seconds(), 0.0))
        return event(row)

    return DueSource(name, candidates, claim)


def _callback_due(callback: Callback) -> EventSpec:
    return EventSpec(
        kind=CALLBACK_DUE,
        entity="callback",
        entity_id=callback.pk,
        campaign_id=callback.campaign_id,
        agent_id=callback.agent_id,
        data={"member_id": callback.member_id, "due_at": callback.due_at.isoformat()},
    )


def _callback_opened(callback: Callback) -> EventSpec:
    # Opened to anyone on the campaign: no agent on the event, the owner in the data.
    return EventSpec(
        kind=CALLBACK_OPENED,
        entity="callback",
        entity_id=callback.pk,
        campaign_id=callback.campaign_id,
        agent_id=None,
        data={"member_id": callback.member_id, "owner_id": callback.agent_id, "due_at": callback.due_at.isoformat()},
    )


def _return_due(ticket: Ticket) -> EventSpec:
    return EventSpec(
        kind=TICKET_RETURN_DUE,
        entity="ticket",
        entity_id=ticket.pk,
        company_id=ticket.company_id,
        agent_id=ticket.assignee_id,
        data={"return_due_at": ticket.return_due_at.isoformat() if ticket.return_due_at else None},
    )


DUE_SOURCES: list[DueSource] = [
    _source(
        "callback due", Callback,
        lambda now: {"status": CallbackStatus.PENDING, "alerted_at__isnull": True, "due_at__lte": now},
        "due_at", "alerted_at", _callback_due,
    ),
    _source(
        "callback opened", Callback,
        lambda now: {"status": CallbackStatus.PENDING, "opened_alerted_at__isnull": True, "opens_at__lte": now},
        "opens_at", "opened_alerted_at", _callback_opened,
    ),
    _source(
        "ticket return", Ticket,
        lambda now: {"state": TicketState.OPEN, "return_alerted_at__isnull": True, "return_due_at__lte": now},
        "return_due_at", "return_alerted_at", _return_due,
    ),
]

__all__ = ["CALLBACK_DUE", "CALLBACK_OPENED", "DUE_SOURCES", "TICKET_RETURN_DUE"]
