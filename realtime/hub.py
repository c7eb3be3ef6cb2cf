"""The process's event hub: one broadcast subscription, the dense cursor sequence, local fan-out.

Cursors are dense (one counter, bumped in the writing transaction), so a hub that has dispatched
cursor N knows that N + 1 comes next. An event that arrives early (another process published
late) or never (Redis was down) leaves a hole; the hub fills it from the database before going
on, and a short poll catches up when nothing arrives at all. Subscribers therefore see every
event once, in cursor order, whatever the broadcast did.

A watchdog makes sure no stream can fall silent: a stream that has events waiting for it and
has taken none of them for `stall_seconds` is unregistered and its task is cancelled with
STALLED, which the stream's owner turns into a typed StreamError (`is_interruption`); the
client resumes with its last cursor. A stream is never that slow by design (a slow client
overflows its queue first, TOO_SLOW), so this only ever catches a bug.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
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
STALL_SECONDS = 10.0
# The message of the CancelledError with which the watchdog interrupts a stalled stream's task.
STALLED = "contato: the live stream stalled"


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


class Listener:
    """One stream's registration: its queue, the task that consumes it, and its progress."""

    __slots__ = ("queue", "since", "taken", "task", "watched")

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=QUEUE_LIMIT)
        self.task = asyncio.current_task()
        self.taken = 0  # items handed to the stream (replayed or live): its progress
        self.watched = -1  # `taken` when the watchdog last saw the stream with events waiting
        self.since = 0.0

    def took(self) -> None:
        self.taken += 1


def is_interruption(error: asyncio.CancelledError) -> bool:
    """Whether a CancelledError caught in a stream means "end this stream with a typed error"
    rather than "this task is being cancelled": the watchdog's STALLED (then the task is
    uncancelled), or a CancelledError the current task was never asked for (leaked from a future
    that another task cancelled)."""
    task = asyncio.current_task()
    if task is None:
        return False
    if error.args == (STALLED,) and task.cancelling():
        return task.uncancel() == 0
    return task.cancelling() == 0


class EventHub:
    def __init__(self, broadcast: Any, poll_interval: float = 1.0, stall_seconds: float = STALL_SECONDS) -> None:
        self.broadcast = broadcast
        self.poll_interval = poll_interval
        self.stall_seconds = stall_seconds
        self.stalled = 0  # streams the watchdog has ended, since start
        self.last_cursor = 0
        self._streams: set[Listener] = set()
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
            asyncio.create_task(self._watch(), name="event-hub-watchdog"),
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
        return len(self._streams)

    def user_version(self, user_id: int) -> int:
        """Bumped when this process sees a USER_CHANGED event: streams of that user re-check it."""
        return self._user_versions.get(user_id, 0)

    def add_listener(self, listener: Callable[[LiveEvent], Awaitable[None] | None]) -> None:
        """A process-level consumer (e.g. the queue monitor) called for every event in order."""
        self._listeners.append(listener)

    @contextlib.contextmanager
    def listen(self) -> Any:
        """A queue of every event dispatched from now on, in a Listener whose progress the current
        task reports (`took`); registration and position are atomic."""
        listener = Listener()
        self._streams.add(listener)
        try:
            yield listener, self.last_cursor
        finally:
            self._streams.discard(listener)

    async def _watch(self) -> None:
        interval = min(1.0, self.stall_seconds / 4)
        while True:
            await asyncio.sleep(interval)
            self.check_stalls(time.monotonic())

    def check_stalls(self, now: float) -> None:
        """End every stream that has had events waiting, and taken none, for `stall_seconds`."""
        for listener in list(self._streams):
            if listener.queue.empty() or listener.taken != listener.watched:
                listener.watched, listener.since = listener.taken, now
                continue
            if now - listener.since < self.stall_seconds:
                continue
            self._streams.discard(listener)
            self.stalled += 1
            task = listener.task
            logger.error(
                "live stream stalled with %s events waiting for %.1f s (task %s): ending it",
                listener.queue.qsize(), now - listener.since, task.get_name() if task else None,
            )
            if task is not None and not task.done():
                task.cancel(STALLED)

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
        for listener in list(self._streams):
            queue = listener.queue
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                self._streams.discard(listener)
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
    with hub.listen() as (listener, position):
        queue = listener.queue
        last = position
        if after is not None:
            await _check_retained(after)
            last = after
            while True:
                rows = await Event.filter(replay_filter, cursor__gt=last).order_by("cursor").limit(REPLAY_PAGE)
                for row in rows:
                    last = row.cursor
                    listener.took()
                    yield LiveEvent.from_row(row)
                if len(rows) < REPLAY_PAGE:
                    break
        while True:
            event = await queue.get()
            listener.took()
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


__all__ = [
    "STALLED",
    "CursorExpired",
    "EventHub",
    "LiveEvent",
    "SubscriberOverflow",
    "current_cursor",
    "is_interruption",
    "stream",
]
