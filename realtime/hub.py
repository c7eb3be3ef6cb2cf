"""The process's event hub: one broadcast subscription, the dense cursor sequence, local fan-out.

Cursors are dense (one counter, bumped in the writing transaction), so a hub that has dispatched
cursor N knows that N + 1 comes next. An event that arrives early (another process published
late) or never (Redis was down) leaves a hole; the hub fills it from the database before going
on, and a short poll catches up when nothing arrives at all. Subscribers therefore see every
event once, in cursor order, whatever the broadcast did.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from tortoise.expressions import Q

from models.event import Event, EventCounter
from realtime.events import EVENTS_CHANNEL, USER_CHANGED

logger = logging.getLogger("contato.realtime")

QUEUE_LIMIT = 10_000
REPLAY_PAGE = 500


class CursorExpired(Exception):
    """The client's cursor is older than the retained events: it must reload, then resume."""


class SubscriberOverflow(Exception):
    """A subscriber fell too far behind; it reconnects with its last cursor and replays."""


@dataclass(frozen=True)
class LiveEvent:
    cursor: int
    kind: str
    entity: str
    entity_id: int
    company_id: int | None = None
    campaign_id: int | None = None
    agent_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Per-process scratch space shared by every subscriber handed this event (e.g. its loaders).
    shared: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_row(cls, row: Event) -> LiveEvent:
        return cls(
            cursor=row.cursor,
            kind=row.kind,
            entity=row.entity,
            entity_id=row.entity_id,
            company_id=row.company_id,
            campaign_id=row.campaign_id,
            agent_id=row.agent_id,
            data=dict(row.data or {}),
        )

    @classmethod
    def decode(cls, message: str) -> LiveEvent:
        return cls(**orjson.loads(message))


_OVERFLOW = object()


class EventHub:
    def __init__(self, broadcast: Any, poll_interval: float = 1.0) -> None:
        self.broadcast = broadcast
        self.poll_interval = poll_interval
        self.last_cursor = 0
        self._queues: set[asyncio.Queue[Any]] = set()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._listeners: list[Callable[[LiveEvent], Awaitable[None] | None]] = []
        self._user_versions: dict[int, int] = {}

    async def start(self) -> None:
        self.last_cursor = await current_cursor()
        self._tasks = [
            asyncio.create_task(self._listen(), name="event-hub-listen"),
            asyncio.create_task(self._poll(), name="event-hub-poll"),
        ]
        await self._subscribed.wait()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    @property
    def listening(self) -> int:
        """How many streams are registered for live events in this process right now."""
        return len(self._queues)

    def user_version(self, user_id: int) -> int:
        """Bumped when this process sees a USER_CHANGED event: streams of that user re-check it."""
        return self._user_versions.get(user_id, 0)

    def add_listener(self, listener: Callable[[LiveEvent], Awaitable[None] | None]) -> None:
        """A process-level consumer (e.g. the queue monitor) called for every event in order."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def listen(self) -> Any:
        """A queue of every event dispatched from now on; registration and position are atomic."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self._queues.add(queue)
        try:
            yield queue, self.last_cursor
        finally:
            self._queues.discard(queue)

    async def _listen(self) -> None:
        while True:
            try:
                async with self.broadcast.subscribe(EVENTS_CHANNEL) as subscriber:
                    self._subscribed.set()
                    async for message in subscriber:  # type: ignore[union-attr]
                        await self._receive(LiveEvent.decode(message.message))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep the hub alive; the poll covers the gap
                logger.exception("event hub listener failed; resubscribing")
                self._subscribed.set()
                await asyncio.sleep(self.poll_interval)

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                newest = await current_cursor()
                if newest > self.last_cursor:
                    async with self._lock:
                        await self._catch_up(newest)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database blip must not end live delivery
                logger.warning("event hub poll failed", exc_info=True)

    async def _receive(self, event: LiveEvent) -> None:
        async with self._lock:
            if event.cursor <= self.last_cursor:
                return
            if event.cursor > self.last_cursor + 1:
                await self._catch_up(event.cursor - 1)
            await self._dispatch(event)

    async def _catch_up(self, through: int) -> None:
        while self.last_cursor < through:
            rows = await Event.filter(cursor__gt=self.last_cursor, cursor__lte=through).order_by("cursor").limit(
                REPLAY_PAGE
            )
            if not rows:
                # Pruned, or never existed: move on rather than wait forever for it.
                self.last_cursor = through
                return
            for row in rows:
                await self._dispatch(LiveEvent.from_row(row))

    async def _dispatch(self, event: LiveEvent) -> None:
        self.last_cursor = event.cursor
        if event.kind == USER_CHANGED:
            self._user_versions[event.entity_id] = self._user_versions.get(event.entity_id, 0) + 1
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                queue.get_nowait()
                queue.put_nowait(_OVERFLOW)
        for listener in self._listeners:
            try:
                result = listener(event)
                if result is not None:
                    await result
            except Exception:  # noqa: BLE001 - one listener's fault must not stop delivery
                logger.exception("event listener failed on cursor %s", event.cursor)


async def current_cursor() -> int:
    counter = await EventCounter.get_or_none(id=1)
    return counter.value if counter else 0


async def stream(
    hub: EventHub,
    after: int | None,
    replay_filter: Q,
    accepts: Callable[[LiveEvent], bool],
) -> AsyncIterator[LiveEvent]:
    """Events matching the subscription: first those after `after` from the database, then live.

    `replay_filter` and `accepts` must describe the same events (one as SQL, one in Python).
    """
    with hub.listen() as (queue, position):
        last = position
        if after is not None:
            await _check_retained(after)
            last = after
            while True:
                rows = await Event.filter(replay_filter, cursor__gt=last).order_by("cursor").limit(REPLAY_PAGE)
                for row in rows:
                    last = row.cursor
                    yield LiveEvent.from_row(row)
                if len(rows) < REPLAY_PAGE:
                    break
        while True:
            event = await queue.get()
            if event is _OVERFLOW:
                raise SubscriberOverflow("Too far behind: reconnect with your last cursor to catch up.")
            if event.cursor <= last:
                continue
            last = event.cursor
            if accepts(event):
                yield event


async def _check_retained(after: int) -> None:
    if after <= 0:
        return
    oldest_row = await Event.all().order_by("cursor").first()
    newest = await current_cursor()
    if after > newest:
        raise CursorExpired(f"Cursor {after} is ahead of the newest event ({newest}).")
    # Pruning removes the oldest events, so the retained ones start right after what was pruned.
    retained_from = oldest_row.cursor if oldest_row else newest + 1
    if after < retained_from - 1:
        raise CursorExpired(f"Cursor {after} is older than the retained events: reload, then subscribe.")


__all__ = ["CursorExpired", "EventHub", "LiveEvent", "SubscriberOverflow", "current_cursor", "stream"]
