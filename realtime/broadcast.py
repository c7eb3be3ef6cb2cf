"""Process-wide event fan-out for live GraphQL subscriptions.

Keeps broadcaster's ``Broadcast`` API (connect/disconnect/publish, ``subscribe()`` as an
async context manager yielding a ``Subscriber``) and fixes what 0.3.1 gets wrong: concurrent
first subscribers to a channel race and one is lost, its Redis backend delivers nothing with
redis-py 8, and nothing survives a Redis restart (see ``realtime.redis_backend``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from broadcaster import Broadcast as _StockBroadcast
from broadcaster import BroadcastBackend, Event
from broadcaster._backends.memory import MemoryBackend
from broadcaster._base import Subscriber

from .redis_backend import BroadcastState, BroadcastUnavailable, RedisBackend

__all__ = [
    "Broadcast",
    "BroadcastState",
    "BroadcastUnavailable",
    "Event",
    "Subscriber",
    "create_broadcast",
]


@runtime_checkable
class _HealthReporting(Protocol):
    @property
    def state(self) -> BroadcastState: ...

    async def ping(self) -> bool: ...


@dataclass
class _ChannelLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


def _backend_for(url: str) -> BroadcastBackend:
    scheme = urlsplit(url).scheme
    if scheme == "memory":
        return MemoryBackend(url)
    if scheme in ("redis", "rediss"):
        return RedisBackend(url)
    # The URL itself is left out of the message: it may carry a password.
    raise ValueError(
        f"unsupported broadcast URL scheme {scheme!r}: use memory://, redis:// or rediss://"
    )


def create_broadcast(url: str) -> Broadcast:
    """``memory://`` for a single process, ``redis://`` / ``rediss://`` to share events
    between processes; anything else raises ``ValueError``."""
    return Broadcast(backend=_backend_for(url))


class Broadcast(_StockBroadcast):
    """broadcaster's ``Broadcast`` with race-free subscribe/unsubscribe and readiness.

    A subscriber's queue is registered before anything is awaited, and the backend is
    subscribed to a channel at most once, under a per-channel lock, so concurrent first
    subscribers share one backend SUBSCRIBE and a last unsubscribe cannot overtake a new
    subscriber's SUBSCRIBE. Once ``subscribe()`` has been entered, events published after
    it are delivered to that subscriber (for Redis: as long as Redis is reachable).
    """

    def __init__(self, url: str | None = None, *, backend: BroadcastBackend | None = None) -> None:
        super().__init__(url, backend=backend)
        self._listening: asyncio.Task[None] | None = None
        self._backend_channels: set[str] = set()
        self._channel_locks: dict[str, _ChannelLock] = {}

    def _create_backend(self, url: str) -> BroadcastBackend:
        return _backend_for(url)

    @property
    def state(self) -> BroadcastState:
        """One of "connected", "reconnecting" (Redis down, retrying) or "disconnected"."""
        if self._listening is None:
            return "disconnected"
        if isinstance(self._backend, _HealthReporting):
            return self._backend.state
        return "connected"

    async def ping(self) -> bool:
        """Whether the backend is reachable right now; always true for ``memory://``."""
        if isinstance(self._backend, _HealthReporting):
            return await self._backend.ping()
        return True

    async def connect(self) -> None:
        await self._backend.connect()
        self._listening = asyncio.create_task(self._listener(), name="broadcast-listener")

    async def disconnect(self) -> None:
        task, self._listening = self._listening, None
        if task is not None:
            task.cancel()
            await asyncio.wait([task])
        await self._backend.disconnect()
        self._backend_channels.clear()
        if task is not None and not task.cancelled() and (exc := task.exception()) is not None:
            raise exc

    async def publish(self, channel: str, message: Any) -> None:
        """Publish ``message`` on ``channel``.

        Raises ``BroadcastUnavailable`` when the backend does not take the message within
        its bounded timeout (Redis down or unresponsive) rather than waiting for it to come
        back. Subscribers then most likely miss it; the caller decides whether that matters
        (live subscribers catch up from the database by cursor).
        """
        await self._backend.publish(channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.setdefault(channel, set()).add(queue)
        try:
            await self._sync_backend(channel)
            yield Subscriber(queue)
        finally:
            queues = self._subscribers.get(channel)
            if queues is not None:
                queues.discard(queue)
                if not queues:
                    del self._subscribers[channel]
            queue.put_nowait(None)
            await self._sync_backend(channel)

    async def _sync_backend(self, channel: str) -> None:
        async with self._channel_lock(channel):
            wanted = channel in self._subscribers
            if wanted and channel not in self._backend_channels:
                # Marked before the await: if this is cancelled mid-SUBSCRIBE the backend
                # may be subscribed, and the last subscriber's exit must still unsubscribe.
                self._backend_channels.add(channel)
                try:
                    await self._backend.subscribe(channel)
                except Exception:
                    self._backend_channels.discard(channel)
                    raise
            elif not wanted and channel in self._backend_channels:
                self._backend_channels.discard(channel)
                await self._backend.unsubscribe(channel)

    @asynccontextmanager
    async def _channel_lock(self, channel: str) -> AsyncIterator[None]:
        entry = self._channel_locks.setdefault(channel, _ChannelLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if not entry.users:
                del self._channel_locks[channel]
