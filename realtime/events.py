"""Events: written in the transaction that caused them, published after it commits.

The cursor comes from a counter row bumped in that transaction, so cursors are handed out in
commit order: a client that resumes `after` a cursor never skips an event committed late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client import Counter
from tortoise.backends.base.client import BaseDBAsyncClient

from models.event import Event
from realtime import commit

logger = logging.getLogger("contato.realtime")

EVENTS_PUBLISHED = Counter("contato_events_published_total", "Events published to the broadcast, by kind.", ["kind"])
EVENTS_PUBLISH_FAILED = Counter(
    "contato_events_publish_failures_total", "Events the broadcast refused (hubs replay them from the database)."
)

COUNTER_ID = 1
_BUMP_SQL = (
    f"INSERT INTO event_counter (id, value) VALUES ({COUNTER_ID}, 1) "
    "ON CONFLICT (id) DO UPDATE SET value = event_counter.value + 1 RETURNING value"
)


@dataclass(frozen=True)
class EventSpec:
    kind: str
    entity: str
    entity_id: int
    company_id: int | None = None
    campaign_id: int | None = None
    agent_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


# A user's role, company, activation or password changed: live streams re-check that user.
USER_CHANGED = "USER_CHANGED"

# One channel for every event: each process's hub sees the dense cursor sequence and can
# tell a gap (an event published late or lost in an outage) from an event of another kind.
EVENTS_CHANNEL = "contato.events"


async def record(connection: BaseDBAsyncClient, spec: EventSpec) -> Event:
    """Write the event inside the caller's transaction (`connection` from `in_transaction()`)."""
    # One statement that creates the row or bumps it: two first writers at once cannot both
    # insert, and the row lock it takes orders cursors by commit (same SQL on SQLite and PostgreSQL).
    rows = await connection.execute_query_dict(_BUMP_SQL)
    return await Event.create(
        cursor=rows[0]["value"],
        kind=spec.kind,
        entity=spec.entity,
        entity_id=spec.entity_id,
        company_id=spec.company_id,
        campaign_id=spec.campaign_id,
        agent_id=spec.agent_id,
        data=spec.data,
        using_db=connection,
    )


def encode(event: Event) -> str:
    return orjson.dumps(
        {
            "cursor": event.cursor,
            "kind": event.kind,
            "entity": event.entity,
            "entity_id": event.entity_id,
            "company_id": event.company_id,
            "campaign_id": event.campaign_id,
            "agent_id": event.agent_id,
            "data": event.data,
        }
    ).decode()


async def publish(broadcast: Any, events: list[Event]) -> None:
    """Call after the transaction commits. A broadcast outage loses nothing: clients replay by cursor.

    Within a longer transaction (realtime/commit.py) the events are published once that one commits."""
    if broadcast is None or not events:
        return
    if commit.defer(lambda: _publish_now(broadcast, events)):
        return
    await _publish_now(broadcast, events)


async def _publish_now(broadcast: Any, events: list[Event]) -> None:
    for event in events:
        try:
            await broadcast.publish(EVENTS_CHANNEL, encode(event))
        except Exception:  # noqa: BLE001 - the database has the event; live delivery is best effort
            EVENTS_PUBLISH_FAILED.inc()
            logger.warning("could not publish event %s (%s); hubs will replay it", event.cursor, event.kind)
        else:
            EVENTS_PUBLISHED.labels(event.kind).inc()
