"""Live queue figures per campaign, computed once per tick per campaign for all its watchers.

A supervisor wallboard subscribes to a campaign; the monitor recomputes a campaign's snapshot
at most once per tick, and only when an event of that campaign arrived (or the snapshot is old
enough for the "last hour" window and claim leases to have moved), then hands the same snapshot
to every watcher of that campaign in this process. Watchers never trigger queries of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.functions import Count

from models.campaign import CampaignMember, QueueStatus
from models.operation import Operation, OperationOutcome
from realtime.events import USER_CHANGED
from realtime.hub import LiveEvent
from realtime.periodic import Periodic

logger = logging.getLogger("contato.realtime")

RESULT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class AgentActivity:
    agent_id: int
    claims_in_progress: int = 0
    operations_last_hour: int = 0
    successes_last_hour: int = 0


@dataclass(frozen=True)
class QueueSnapshot:
    campaign_id: int
    at: datetime
    by_status: dict[QueueStatus, int]  # every status, in the enum's order
    claims_in_progress: int
    results_last_hour: dict[OperationOutcome, int]  # every outcome, in the enum's order
    agents: tuple[AgentActivity, ...]


async def compute_snapshot(campaign_id: int, now: datetime) -> QueueSnapshot:
    return (await compute_snapshots([campaign_id], now))[campaign_id]


async def compute_snapshots(campaign_ids: Collection[int], now: datetime) -> dict[int, QueueSnapshot]:
    """Three grouped queries, whatever the size of the campaigns, their number or the watchers'."""
    ids = set(campaign_ids)
    statuses = await (
        CampaignMember.filter(campaign_id__in=ids)
        .annotate(count=Count("id"))
        .group_by("campaign_id", "status")
        .values("campaign_id", "status", "count")
    )
    claims = await (
        CampaignMember.filter(campaign_id__in=ids, claimed_by_id__isnull=False, claim_expires_at__gt=now)
        .annotate(count=Count("id"))
        .group_by("campaign_id", "claimed_by_id")
        .values("campaign_id", "claimed_by_id", "count")
    )
    results = await (
        Operation.filter(campaign_id__in=ids, created_at__gte=now - RESULT_WINDOW)
        .annotate(count=Count("id"))
        .group_by("campaign_id", "agent_id", "result_kind")
        .values("campaign_id", "agent_id", "result_kind", "count")
    )
    return {
        campaign_id: _snapshot(
            campaign_id, now,
            [row for row in statuses if row["campaign_id"] == campaign_id],
            [row for row in claims if row["campaign_id"] == campaign_id],
            [row for row in results if row["campaign_id"] == campaign_id],
        )
        for campaign_id in campaign_ids
    }


def _snapshot(
    campaign_id: int, now: datetime, statuses: list[dict[str, Any]], claims: list[dict[str, Any]],
    results: list[dict[str, Any]],
) -> QueueSnapshot:
    by_status = dict.fromkeys(QueueStatus, 0)
    for row in statuses:
        by_status[QueueStatus(row["status"])] = row["count"]
    per_agent: dict[int, dict[str, int]] = {}
    for row in claims:
        per_agent.setdefault(row["claimed_by_id"], {})["claims"] = row["count"]
    results_last_hour = dict.fromkeys(OperationOutcome, 0)
    for row in results:
        outcome = OperationOutcome.of(row["result_kind"])
        results_last_hour[outcome] += row["count"]
        figures = per_agent.setdefault(row["agent_id"], {})
        figures["operations"] = figures.get("operations", 0) + row["count"]
        if outcome == OperationOutcome.SUCCESS:
            figures["successes"] = figures.get("successes", 0) + row["count"]
    agents = tuple(
        AgentActivity(
            agent_id=agent_id,
            claims_in_progress=figures.get("claims", 0),
            operations_last_hour=figures.get("operations", 0),
            successes_last_hour=figures.get("successes", 0),
        )
        for agent_id, figures in sorted(per_agent.items())
    )
    return QueueSnapshot(
        campaign_id=campaign_id,
        at=now,
        by_status=by_status,
        claims_in_progress=sum(row["count"] for row in claims),
        results_last_hour=results_last_hour,
        agents=agents,
    )


class Recheck:
    """Put in a watcher's queue when its user changed: the stream re-checks access at once."""


RECHECK = Recheck()


@dataclass(eq=False)
class _Watcher:
    campaign_id: int
    user_id: int
    queue: asyncio.Queue[QueueSnapshot | Recheck] = field(default_factory=lambda: asyncio.Queue(maxsize=2))

    def offer(self, item: QueueSnapshot | Recheck) -> None:
        # Only the newest snapshot matters: drop an older one a slow client has not taken yet.
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()


class Inbox:
    """What a stream following several campaigns has not taken yet: the newest snapshot of each (a
    slow client skips older ones, as a single watcher's queue does) and at most one recheck, in the
    order they came."""

    def __init__(self) -> None:
        self._pending: dict[int, QueueSnapshot | Recheck] = {}
        self._ready = asyncio.Event()

    def put(self, key: int, item: QueueSnapshot | Recheck) -> None:
        self._pending.pop(key, None)
        self._pending[key] = item
        self._ready.set()

    async def get(self) -> QueueSnapshot | Recheck:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        key = next(iter(self._pending))
        return self._pending.pop(key)


@dataclass(eq=False)
class _BoardWatcher(_Watcher):
    inbox: Inbox = field(default_factory=Inbox)

    def offer(self, item: QueueSnapshot | Recheck) -> None:
        self.inbox.put(0 if isinstance(item, Recheck) else self.campaign_id, item)


class QueueMonitor:
    def __init__(self, tick: float = 1.0, max_age: float = 30.0) -> None:
        self.tick = tick
        self.max_age = max_age
        self.computations = 0
        self._watchers: dict[int, set[_Watcher]] = {}
        self._latest: dict[int, QueueSnapshot] = {}
        self._dirty: set[int] = set()
        self._computed_at: dict[int, float] = {}
        self._periodic = Periodic("queue-monitor", self._tick, tick, wait_first=True)

    async def start(self) -> None:
        self._periodic.start()

    async def stop(self) -> None:
        await self._periodic.stop()

    def on_event(self, event: LiveEvent) -> None:
        """Hub listener: marks campaigns dirty, wakes the watchers of a changed user."""
        if event.campaign_id is not None and event.campaign_id in self._watchers:
            self._dirty.add(event.campaign_id)
        if event.kind == USER_CHANGED:
            for watchers in self._watchers.values():
                for watcher in watchers:
                    if watcher.user_id == event.entity_id:
                        watcher.offer(RECHECK)

    @contextlib.asynccontextmanager
    async def watch(self, campaign_id: int, user_id: int) -> AsyncIterator[asyncio.Queue[QueueSnapshot | Recheck]]:
        watcher = _Watcher(campaign_id, user_id)
        async with self._joined(watcher):
            yield watcher.queue

    @contextlib.asynccontextmanager
    async def watch_many(self, campaign_ids: Collection[int], user_id: int) -> AsyncIterator[Inbox]:
        """A wallboard of several campaigns: one watcher per campaign (each campaign still computed
        once per tick for all its watchers), their snapshots in one inbox."""
        inbox = Inbox()
        async with contextlib.AsyncExitStack() as stack:
            for campaign_id in campaign_ids:
                await stack.enter_async_context(self._joined(_BoardWatcher(campaign_id, user_id, inbox=inbox)))
            yield inbox

    @contextlib.asynccontextmanager
    async def _joined(self, watcher: _Watcher) -> AsyncIterator[None]:
        campaign_id = watcher.campaign_id
        self._watchers.setdefault(campaign_id, set()).add(watcher)
        try:
            latest = self._latest.get(campaign_id)
            if latest is None or campaign_id in self._dirty:
                latest = await self._compute(campaign_id)
            watcher.offer(latest)
            yield
        finally:
            watchers = self._watchers.get(campaign_id)
            if watchers is not None:
                watchers.discard(watcher)
                if not watchers:
                    del self._watchers[campaign_id]
                    self._latest.pop(campaign_id, None)
                    self._computed_at.pop(campaign_id, None)
                    self._dirty.discard(campaign_id)

    async def _compute(self, campaign_id: int) -> QueueSnapshot:
        self._dirty.discard(campaign_id)
        snapshot = await compute_snapshot(campaign_id, datetime.now(UTC))
        self.computations += 1
        self._latest[campaign_id] = snapshot
        self._computed_at[campaign_id] = asyncio.get_running_loop().time()
        return snapshot

    def _due(self) -> Iterator[int]:
        now = asyncio.get_running_loop().time()
        for campaign_id in list(self._watchers):
            stale = now - self._computed_at.get(campaign_id, 0.0) >= self.max_age
            if campaign_id in self._dirty or stale:
                yield campaign_id

    async def _tick(self) -> None:
        for campaign_id in list(self._due()):
            try:
                snapshot = await self._compute(campaign_id)
            except Exception:  # noqa: BLE001 - the next tick tries again
                logger.warning("queue snapshot of campaign %s failed", campaign_id, exc_info=True)
                continue
            for watcher in list(self._watchers.get(campaign_id, ())):
                watcher.offer(snapshot)
