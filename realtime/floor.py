"""Agent states: the one place that changes them, and the floor's sweeper sources.

Every change goes through `change_state`, inside the caller's transaction: it locks the agent's
state row, writes the new state and an `AgentStateChange` row, and returns the event to record.
The use cases (resolvers/floor.py, the claim, operationRecord, release) decide whether a change is
allowed; the sweeper sources below make the changes nobody asks for, as the due alerts do
(realtime/due.py): candidates locked with SKIP LOCKED, each claimed with a conditional UPDATE, so a
change happens once however many processes sweep.

- WRAP_UP ended: the agent becomes READY when `wrap_up_until` has passed.
- Presence lost: an agent whose every socket row (models/floor.py) has been dead for the grace
  period goes OFFLINE; the rows are then removed. Agents who never opened a socket are not tracked.
- Pause over its maximum: supervisors are alerted once (AGENT_PAUSE_EXCEEDED).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from models.floor import AgentSocket, AgentState, AgentStateChange, AgentStateKind, StateChangeCause
from realtime.alerts import DueSource, supports_skip_locked
from realtime.events import EventSpec

AGENT_STATE_CHANGED = "AGENT_STATE_CHANGED"
AGENT_PAUSE_EXCEEDED = "AGENT_PAUSE_EXCEEDED"
FLOOR_KINDS = (AGENT_STATE_CHANGED, AGENT_PAUSE_EXCEEDED)


@dataclass(frozen=True)
class Change:
    to: AgentStateKind
    cause: StateChangeCause
    actor_id: int | None = None
    pause_reason_id: int | None = None
    pause_max_minutes: int | None = None
    campaign_id: int | None = None
    wrap_up_until: datetime | None = None


async def locked_state(connection: BaseDBAsyncClient, user_id: int, now: datetime) -> AgentState:
    """The agent's state row, created OFFLINE when missing, locked for this transaction."""
    await AgentState.bulk_create(
        [AgentState(user_id=user_id, state=AgentStateKind.OFFLINE, since=now)],
        ignore_conflicts=True,
        using_db=connection,
    )
    query = AgentState.filter(user_id=user_id)
    if supports_skip_locked(connection):
        query = query.select_for_update(of=("agent_state",))
    return await query.using_db(connection).get()


async def change_state(
    connection: BaseDBAsyncClient, row: AgentState, change: Change, now: datetime
) -> EventSpec:
    """Move a locked state row (`locked_state`) to `change.to`; history row written, event returned."""
    before = row.state
    deadline = None
    if change.to == AgentStateKind.PAUSED and change.pause_max_minutes is not None:
        deadline = now + timedelta(minutes=change.pause_max_minutes)
    values = {
        "state": change.to,
        "since": now,
        "pause_reason_id": change.pause_reason_id if change.to == AgentStateKind.PAUSED else None,
        "campaign_id": change.campaign_id if change.to in (AgentStateKind.ON_CALL, AgentStateKind.WRAP_UP) else None,
        "wrap_up_until": change.wrap_up_until if change.to == AgentStateKind.WRAP_UP else None,
        "pause_deadline": deadline,
        "pause_alerted_at": None,
    }
    await AgentState.filter(id=row.pk).using_db(connection).update(**values)
    row.update_from_dict(values)
    await AgentStateChange.create(
        user_id=row.user_id, from_state=before, to_state=change.to, pause_reason_id=values["pause_reason_id"],
        cause=change.cause, actor_id=change.actor_id, campaign_id=change.campaign_id, at=now, using_db=connection,
    )
    return state_event(row, before, change.cause)


def state_event(row: AgentState, before: AgentStateKind, cause: StateChangeCause) -> EventSpec:
    return EventSpec(
        kind=AGENT_STATE_CHANGED,
        entity="agent",
        entity_id=row.user_id,
        campaign_id=row.campaign_id,
        agent_id=row.user_id,
        data={"from": before.value, "to": row.state.value, "cause": cause.value},
    )


async def _locked_ids(connection: BaseDBAsyncClient, query: object, limit: int) -> list[int]:
    """Ids of matching state rows, locked with SKIP LOCKED where the database can (as due.py: a
    scan that locks nothing could deadlock with a writer holding a row and waiting for the event
    counter)."""
    queryset = query.order_by("id").limit(limit)  # type: ignore[attr-defined]
    if supports_skip_locked(connection):
        queryset = queryset.select_for_update(skip_locked=True, of=("agent_state",))
    return [row.pk for row in await queryset.only("id").using_db(connection)]


def _wrap_up_source() -> DueSource:
    async def candidates(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
        query = AgentState.filter(state=AgentStateKind.WRAP_UP, wrap_up_until__lte=now)
        return await _locked_ids(connection, query, limit)

    async def claim(connection: BaseDBAsyncClient, item_id: int, now: datetime) -> EventSpec | None:
        row = await AgentState.get_or_none(id=item_id).using_db(connection)
        if row is None or row.state != AgentStateKind.WRAP_UP or row.wrap_up_until is None or row.wrap_up_until > now:
            return None
        return await change_state(
            connection, row, Change(AgentStateKind.READY, StateChangeCause.WRAP_UP_ENDED), now
        )

    return DueSource("wrap-up ended", candidates, claim)


async def stale_agents(connection: BaseDBAsyncClient, cutoff: datetime) -> set[int]:
    """Agents with socket rows, none of them alive since `cutoff`."""
    stale = set(
        await AgentSocket.filter(alive_until__lte=cutoff).using_db(connection).distinct().values_list("user_id", flat=True)
    )
    if not stale:
        return stale
    alive = await AgentSocket.filter(user_id__in=stale, alive_until__gt=cutoff).using_db(connection).distinct().values_list(
        "user_id", flat=True
    )
    return stale - set(alive)


def _presence_source(grace: timedelta) -> DueSource:
    async def candidates(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
        cutoff = now - grace
        stale = await stale_agents(connection, cutoff)
        if not stale:
            return []
        online = AgentState.filter(user_id__in=stale).exclude(state=AgentStateKind.OFFLINE)
        tracked = set(await online.using_db(connection).values_list("user_id", flat=True))
        # Agents already OFFLINE (or never given a state) only lose their dead rows.
        if stale - tracked:
            await AgentSocket.filter(user_id__in=stale - tracked, alive_until__lte=cutoff).using_db(connection).delete()
        return await _locked_ids(connection, online, limit)

    async def claim(connection: BaseDBAsyncClient, item_id: int, now: datetime) -> EventSpec | None:
        row = await AgentState.get_or_none(id=item_id).using_db(connection)
        if row is None or row.state == AgentStateKind.OFFLINE:
            return None
        cutoff = now - grace
        if await AgentSocket.filter(user_id=row.user_id, alive_until__gt=cutoff).using_db(connection).exists():
            return None  # the agent came back within the grace
        await AgentSocket.filter(user_id=row.user_id).using_db(connection).delete()
        return await change_state(
            connection, row, Change(AgentStateKind.OFFLINE, StateChangeCause.PRESENCE_LOST), now
        )

    return DueSource("presence lost", candidates, claim)


def _pause_source() -> DueSource:
    async def candidates(connection: BaseDBAsyncClient, now: datetime, limit: int) -> Sequence[int]:
        query = AgentState.filter(
            state=AgentStateKind.PAUSED, pause_alerted_at__isnull=True, pause_deadline__lte=now
        )
        return await _locked_ids(connection, query, limit)

    async def claim(connection: BaseDBAsyncClient, item_id: int, now: datetime) -> EventSpec | None:
        won = await AgentState.filter(
            id=item_id, state=AgentStateKind.PAUSED, pause_alerted_at__isnull=True, pause_deadline__lte=now
        ).using_db(connection).update(pause_alerted_at=now)
        if not won:
            return None
        row = await AgentState.get(id=item_id).using_db(connection)
        return EventSpec(
            kind=AGENT_PAUSE_EXCEEDED,
            entity="agent",
            entity_id=row.user_id,
            agent_id=row.user_id,
            data={"pause_reason_id": row.pause_reason_id, "since": row.since.isoformat()},
        )

    return DueSource("pause exceeded", candidates, claim)


def floor_sources(presence_grace_seconds: int) -> list[DueSource]:
    return [
        _wrap_up_source(),
        _presence_source(timedelta(seconds=presence_grace_seconds)),
        _pause_source(),
    ]


__all__ = [
    "AGENT_PAUSE_EXCEEDED",
    "AGENT_STATE_CHANGED",
    "FLOOR_KINDS",
    "Change",
    "change_state",
    "floor_sources",
    "locked_state",
]
