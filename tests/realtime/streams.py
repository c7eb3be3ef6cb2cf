"""Running subscriptions in-process: the real schema, hub and queue monitor, no transport."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from contato.settings import Settings
from models.user import User
from realtime.hub import EventHub
from realtime.queue_monitor import QueueMonitor
from resolvers.context import Context
from schema import ContatoSchema

_END = object()


class Stream:
    """One subscription, pumped in its own task (as the WebSocket handler does) into a queue."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._items: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.create_task(self._pump())
        self.ended = False

    async def _pump(self) -> None:
        try:
            async for result in self._source:
                self._items.put_nowait(AssertionError(result.errors) if result.errors else result.data)
        except Exception as error:  # noqa: BLE001 - surfaced by next()
            self._items.put_nowait(AssertionError(repr(error)))
        finally:
            self._items.put_nowait(_END)

    async def live(self, registered: Any, timeout: float = 5.0) -> None:
        """Wait until the resolver listens (it runs lazily, in the pump task), has yielded, or ended:
        an event published before that would be missed, as it is for a client not yet subscribed."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not (registered() or not self._items.empty() or self._task.done()):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the subscription never started listening")
            await asyncio.sleep(0.005)

    async def next(self, timeout: float = 5.0) -> dict[str, Any]:
        item = await asyncio.wait_for(self._items.get(), timeout)
        if item is _END:
            self.ended = True
            raise AssertionError("the stream ended")
        if isinstance(item, AssertionError):
            raise item
        return item

    async def take(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """`count` items, each within `timeout`; a shortfall names what did arrive."""
        items: list[dict[str, Any]] = []
        for _ in range(count):
            try:
                items.append(await self.next(timeout))
            except (TimeoutError, AssertionError) as error:
                raise AssertionError(f"got {len(items)} of {count} items ({error!r}): {items}") from error
        return items

    async def quiet(self, wait: float = 0.4) -> list[dict[str, Any]]:
        """What else arrives within `wait` seconds (the hub polls every 0.05 s)."""
        await asyncio.sleep(wait)
        extra = []
        while not self._items.empty():
            item = self._items.get_nowait()
            if item is _END:
                self.ended = True
                break
            extra.append(item)
        return extra

    async def finished(self, timeout: float = 5.0) -> bool:
        """True when the stream ends (after any remaining items) within the timeout."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._task, timeout)
        return self._task.done()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        with contextlib.suppress(Exception):
            await self._source.aclose()


class LiveSchema:
    def __init__(self, schema: ContatoSchema, settings: Settings, hub: EventHub, monitor: QueueMonitor) -> None:
        self.schema = schema
        self.settings = settings
        self.hub = hub
        self.monitor = monitor
        self.streams: list[Stream] = []

    async def subscribe(
        self, document: str, variables: dict[str, Any] | None, user: User, token_expires_at: datetime | None = None
    ) -> Stream:
        context = Context(
            settings=self.settings, user=user, hub=self.hub, queue_monitor=self.monitor,
            token_expires_at=token_expires_at,
        )
        source = await self.schema.subscribe(document, variable_values=variables, context_value=context)
        before = self.hub.listening
        stream = Stream(source)
        self.streams.append(stream)
        await stream.live(lambda: self.hub.listening > before)
        return stream

    async def close(self) -> None:
        for stream in self.streams:
            await stream.close()
