"""What can fall due: the sources the alert scheduler claims from.

Each source lists candidates (locked with SKIP LOCKED on PostgreSQL, so two schedulers split the
work) and claims one with a conditional UPDATE that only the first process can win, so an item is
alerted once whatever the number of schedulers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from models.operation import Callback, CallbackStatus
from models.ticket import Ticket, TicketState
from realtime.alerts import DueSource, supports_skip_locked
from realtime.events import EventSpec

CALLBACK_DUE = "CALLBACK_DUE"
CALLBACK_OPENED = "CALLBACK_OPENED"
TICKET_RETURN_DUE = "TICKET_RETURN_DUE"


def _locked(queryset, connection: BaseDBAsyncClient, table: str):  # type: ignore[no-untyped-def]
    if supports_skip_locked(connection):
        queryset = queryset.select_for_update(skip_locked=True, of=(table,))
    return queryset.using_db(connection)


async def _due_callbacks(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
    queryset = Callback.filter(status=CallbackStatus.PENDING, alerted_at__isnull=True, due_at__lte=now)
    return await _locked(queryset.order_by("due_at", "id").limit(limit), connection, "callback").values_list(
        "id", flat=True
    )


async def _claim_due_callback(connection: BaseDBAsyncClient, callback_id: int, now: datetime) -> EventSpec | None:
    won = await Callback.filter(
        id=callback_id, status=CallbackStatus.PENDING, alerted_at__isnull=True, due_at__lte=now
    ).using_db(connection).update(alerted_at=now)
    if not won:
        return None
    callback = await Callback.get(id=callback_id).using_db(connection)
    return EventSpec(
        kind=CALLBACK_DUE,
        entity="callback",
        entity_id=callback.pk,
        campaign_id=callback.campaign_id,
        agent_id=callback.agent_id,
        data={"member_id": callback.member_id, "due_at": callback.due_at.isoformat()},
    )


async def _opened_callbacks(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
    queryset = Callback.filter(status=CallbackStatus.PENDING, opened_alerted_at__isnull=True, opens_at__lte=now)
    return await _locked(queryset.order_by("opens_at", "id").limit(limit), connection, "callback").values_list(
        "id", flat=True
    )


async def _claim_opened_callback(connection: BaseDBAsyncClient, callback_id: int, now: datetime) -> EventSpec | None:
    won = await Callback.filter(
        id=callback_id, status=CallbackStatus.PENDING, opened_alerted_at__isnull=True, opens_at__lte=now
    ).using_db(connection).update(opened_alerted_at=now)
    if not won:
        return None
    callback = await Callback.get(id=callback_id).using_db(connection)
    # Opened to anyone on the campaign: no agent on the event, the owner in the data.
    return EventSpec(
        kind=CALLBACK_OPENED,
        entity="callback",
        entity_id=callback.pk,
        campaign_id=callback.campaign_id,
        agent_id=None,
        data={"member_id": callback.member_id, "owner_id": callback.agent_id, "due_at": callback.due_at.isoformat()},
    )


async def _due_returns(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
    queryset = Ticket.filter(state=TicketState.OPEN, return_alerted_at__isnull=True, return_due_at__lte=now)
    return await _locked(queryset.order_by("return_due_at", "id").limit(limit), connection, "ticket").values_list(
        "id", flat=True
    )


async def _claim_due_return(connection: BaseDBAsyncClient, ticket_id: int, now: datetime) -> EventSpec | None:
    won = await Ticket.filter(
        id=ticket_id, state=TicketState.OPEN, return_alerted_at__isnull=True, return_due_at__lte=now
    ).using_db(connection).update(return_alerted_at=now)
    if not won:
        return None
    ticket = await Ticket.get(id=ticket_id).using_db(connection)
    return EventSpec(
        kind=TICKET_RETURN_DUE,
        entity="ticket",
        entity_id=ticket.pk,
        company_id=ticket.company_id,
        agent_id=ticket.assignee_id,
        data={"return_due_at": ticket.return_due_at.isoformat() if ticket.return_due_at else None},
    )


DUE_SOURCES: list[DueSource] = [
    DueSource("callback due", _due_callbacks, _claim_due_callback),
    DueSource("callback opened", _opened_callbacks, _claim_opened_callback),
    DueSource("ticket return", _due_returns, _claim_due_return),
]

__all__ = ["CALLBACK_DUE", "CALLBACK_OPENED", "DUE_SOURCES", "TICKET_RETURN_DUE"]
