"""Redis pub/sub backend for broadcaster, written for redis-py 8.

broadcaster 0.3.1 ships a Redis backend that starts reading before its SUBSCRIBE is
registered (so with redis-py 8 it delivers nothing) and never reconnects. This one owns a
single reader task that is the only consumer of the pub/sub connection: it subscribes every
held channel before it reads, and on any connection failure it reconnects with capped
exponential backoff and subscribes them all again. Messages published while Redis is
unreachable are lost; callers that need them replay from their own store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Literal

from broadcaster import BroadcastBackend, Event
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

__all__ = ["BroadcastState", "BroadcastUnavailable", "RedisBackend"]

log = logging.getLogger(__name__)

BroadcastState = Literal["connected", "reconnecting", "disconnected"]


class BroadcastUnavailable(Exception):
    """The broadcast backend did not take a message in time.

    Redis may still run a PUBLISH that timed out once it recovers, so the message is
    undelivered as far as the caller knows, not guaranteed undelivered.
    """


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class RedisBackend(BroadcastBackend):
    """broadcaster backend over Redis PUBLISH/SUBSCRIBE that survives Redis restarts.

    ``subscribe()`` returns once Redis has confirmed the subscription, so a message
    published afterwards (from any connection) is delivered. While Redis is unreachable it
    returns at once and the channel is subscribed on reconnect. ``publish()`` and ``ping()``
    are bounded by ``timeout``; ``publish()`` raises :class:`BroadcastUnavailable`.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 2.0,
        keepalive: float = 10.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        self._url = url
        self._timeout = timeout
        self._keepalive = keepalive
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._channels: set[str] = set()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._state: BroadcastState = "disconnected"
        self._publisher: Redis | None = None
        self._subscriber: Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def state(self) -> BroadcastState:
        return self._state

    async def connect(self) -> None:
        """Start the reader and wait for its first connection attempt.

        Does not raise when Redis is down: the backend stays "reconnecting" and keeps
        retrying, which ``state`` and ``ping()`` report.
        """
        if self._reader is not None:
            raise RuntimeError("RedisBackend is already connected")
        common: dict[str, Any] = {
            "socket_connect_timeout": self._timeout,
            "socket_timeout": self._timeout,
        }
        # One immediate retry lets a publish after a Redis restart replace its stale
        # pooled connection instead of failing.
        self._publisher = Redis.from_url(self._url, retry=Retry(NoBackoff(), 1), **common)
        # No retries at all: redis-py would otherwise reconnect the pub/sub connection
        # behind the reader's back; the reader owns reconnection.
        self._subscriber = Redis.from_url(
            self._url, retry=Retry(NoBackoff(), 0, supported_errors=()), **common
        )
        self._events = asyncio.Queue()
        attempted = asyncio.Event()
        self._reader = asyncio.create_task(self._run(attempted), name="redis-broadcast-reader")
        await attempted.wait()

    async def disconnect(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            await asyncio.wait([reader])
        for client in (self._publisher, self._subscriber):
            if client is not None:
                await client.aclose()
        self._publisher = self._subscriber = None
        self._channels.clear()
        self._state = "disconnected"

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)
        pubsub = self._pubsub
        if pubsub is None or not _is_open(pubsub):
            return
        confirmed = asyncio.get_running_loop().create_future()
        waiters = self._confirmations.setdefault(channel, [])
        waiters.append(confirmed)
        try:
            await pubsub.subscribe(channel)
            async with asyncio.timeout(self._timeout):
                await confirmed
        except (RedisError, OSError) as exc:
            log.warning("SUBSCRIBE %r not confirmed yet (%s)", channel, _describe(exc))
        finally:
            waiters.remove(confirmed)
            if not waiters and self._confirmations.get(channel) is waiters:
                del self._confirmations[channel]

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)
        pubsub = self._pubsub
        if pubsub is None or not _is_open(pubsub):
            return
        try:
            await pubsub.unsubscribe(channel)
        except (RedisError, OSError) as exc:
            log.warning("UNSUBSCRIBE %r failed (%s); reconnect drops it", channel, _describe(exc))

    async def publish(self, channel: str, message: Any) -> None:
        """Publish ``message``; raise :class:`BroadcastUnavailable` if Redis does not take it
        within ``timeout`` seconds."""
        if self._publisher is None:
            raise BroadcastUnavailable("Redis broadcast backend is not connected")
        try:
            async with asyncio.timeout(self._timeout):
                await self._publisher.publish(channel, message)
        except (RedisError, OSError) as exc:
            raise BroadcastUnavailable(
                f"could not publish to Redis channel {channel!r}: {_describe(exc)}"
            ) from exc

    async def next_published(self) -> Event:
        return await self._events.get()

    async def ping(self) -> bool:
        """True when Redis answers PING on the publishing connection within ``timeout``."""
        if self._publisher is None:
            return False
        try:
            async with asyncio.timeout(self._timeout):
                return bool(await self._publisher.ping())
        except (RedisError, OSError):
            return False

    async def _run(self, attempted: asyncio.Event) -> None:
        assert self._subscriber is not None
        delay = self._backoff_initial
        while True:
            pubsub = self._subscriber.pubsub()
            try:
                await pubsub.connect()
                # Publish the pubsub before snapshotting channels: a concurrent subscribe()
                # either lands in the snapshot or sends its own SUBSCRIBE on this connection.
                self._pubsub = pubsub
                pending = set(self._channels)
                if pending:
                    await pubsub.subscribe(*pending)
                else:
                    self._mark_connected(attempted)
                delay = self._backoff_initial
                await self._read(pubsub, pending, attempted)
            except (RedisError, OSError) as exc:
                # Once per outage; retries while down would repeat it every few seconds.
                level = logging.DEBUG if self._state == "reconnecting" else logging.WARNING
                log.log(level, "Redis pub/sub unavailable (%s); reconnecting", _describe(exc))
            except Exception:
                log.exception("Redis pub/sub reader failed; reconnecting")
            finally:
                self._pubsub = None
                self._release_confirmations()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            self._state = "reconnecting"
            attempted.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def _read(self, pubsub: PubSub, pending: set[str], attempted: asyncio.Event) -> None:
        ping_sent = False
        while True:
            if not _is_open(pubsub):
                raise RedisConnectionError("pub/sub connection closed")
            message = await pubsub.get_message(timeout=self._keepalive)
            if message is None:
                # A half-open TCP connection never errors on read; an unanswered PING
                # is how a silently dead server is noticed.
                if ping_sent:
                    raise RedisConnectionError(f"no reply to PING in {self._keepalive}s")
                await pubsub.ping()
                ping_sent = True
                continue
            ping_sent = False
            kind = message["type"]
            if kind == "message":
                channel = _text(message["channel"])
                self._events.put_nowait(Event(channel, _text(message["data"])))
            elif kind == "subscribe":
                channel = _text(message["channel"])
                for waiter in self._confirmations.get(channel, ()):
                    if not waiter.done():
                        waiter.set_result(None)
                if pending:
                    pending.discard(channel)
                    if not pending:
                        self._mark_connected(attempted)

    def _mark_connected(self, attempted: asyncio.Event) -> None:
        if self._state != "connected":
            log.info("Redis pub/sub connected (%d channels)", len(self._channels))
        self._state = "connected"
        attempted.set()

    def _release_confirmations(self) -> None:
        for waiters in self._confirmations.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)


def _is_open(pubsub: PubSub) -> bool:
    return pubsub.connection is not None and pubsub.connection.is_connected
