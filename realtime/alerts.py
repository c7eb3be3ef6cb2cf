"""Due alerts (callbacks, ticket returns): claimed atomically, recorded once, published after commit.

Any number of processes may run the loop. A claim is a conditional UPDATE (`... WHERE alerted_at
IS NULL`): of two processes racing for one item, the database lets exactly one update the row,
and only that one records the alert event, in the same transaction. On PostgreSQL the candidate
scan uses `FOR UPDATE SKIP LOCKED` so processes split the work instead of queueing on rows.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Histogram
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.event import Event
from models.idempotency import IdempotencyKey
from models.user import MutationWindow
from realtime.events import EventSpec, publish, record
from realtime.periodic import Periodic

logger = logging.getLogger("contato.alerts")

BATCH = 200

ALERT_LATENESS = Histogram(
    "contato_alert_lateness_seconds",
    "Time from an item falling due (callback due or open, ticket return) to its alert being claimed.",
    ["source"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)


@dataclass(frozen=True)
class DueSource:
    """One kind of due item.

    `candidates(connection, now, limit)` lists ids that look due (locked with SKIP LOCKED where the
    database can); `claim(connection, item_id, now)` marks one alerted with a conditional update and
    returns the alert event, or None when another process got it first.
    """

    name: str
    candidates: Callable[[BaseDBAsyncClient, datetime, int], Awaitable[Sequence[int]]]
    claim: Callable[[BaseDBAsyncClient, int, datetime], Awaitable[EventSpec | None]]


def supports_skip_locked(connection: BaseDBAsyncClient) -> bool:
    return connection.capabilities.dialect == "postgres"


async def run_once(sources: Sequence[DueSource], broadcast: Any, now: datetime | None = None) -> int:
    """Claim and alert every due item once; returns how many this process alerted."""
    now = now or datetime.now(UTC)
    alerted = 0
    for source in sources:
        while True:
            async with in_transaction() as connection:
                ids = await source.candidates(connection, now, BATCH)
                events = []
                for item_id in ids:
                    spec = await source.claim(connection, item_id, now)
                    if spec is not None:
                        events.append(await record(connection, spec))
            await publish(broadcast, events)
            alerted += len(events)
            if len(ids) < BATCH:
                break
    return alerted


async def prune_events(
    retention: timedelta, now: datetime | None = None, idempotency_keys: timedelta = timedelta(hours=24)
) -> int:
    now = now or datetime.now(UTC)
    # Housekeeping rides along: rate-limit windows are only read for the current minute, and
    # idempotency keys are honoured for `idempotency_keys` (IDEMPOTENCY_KEY_HOURS).
    await MutationWindow.filter(window_start__lt=now - timedelta(minutes=5)).delete()
    await IdempotencyKey.filter(created_at__lt=now - idempotency_keys).delete()
    return await Event.filter(created_at__lt=now - retention).delete()


class AlertScheduler:
    def __init__(
        self,
        sources: Sequence[DueSource],
        broadcast: Any,
        interval: float = 0.25,
        retention: timedelta = timedelta(hours=72),
        idempotency_keys: timedelta = timedelta(hours=24),
    ) -> None:
        self.sources = list(sources)
        self.broadcast = broadcast
        self.interval = interval
        self.retention = retention
        self.idempotency_keys = idempotency_keys
        self._periodic = Periodic("alert-scheduler", self.tick, interval)
        self._next_prune = 0.0

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    async def run(self) -> None:
        """Ticks until cancelled (`contato alerts`, its own process), then stops between ticks."""
        self._periodic.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self._periodic.stop()

    async def tick(self) -> None:
        await run_once(self.sources, self.broadcast)
        now = asyncio.get_running_loop().time()
        if now >= self._next_prune:
            pruned = await prune_events(self.retention, idempotency_keys=self.idempotency_keys)
            if pruned:
                logger.info("pruned %s events older than %s", pruned, self.retention)
            self._next_prune = now + 60
