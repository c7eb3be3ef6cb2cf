"""A background task that runs a tick every few seconds, and stops between ticks.

The server's periodic work (due-callback alerts, the mail outbox, presence heartbeats, queue
snapshots) writes in transactions. Cancelling a tick in the middle of one leaves asyncpg resetting a
connection with an open transaction (logged as an error on every shutdown that lands there); a stop
here lets the tick in progress finish, and cancels it only when it outlasts `grace` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger("contato.periodic")


class Periodic:
    """`tick()` every `interval` seconds (first at once, or after one interval when `wait_first`);
    `wake()` runs the next tick now. A tick's exception is logged and the next tick tries again."""

    def __init__(
        self,
        name: str,
        tick: Callable[[], Awaitable[object]],
        interval: float,
        *,
        wait_first: bool = False,
        grace: float = 5.0,
    ) -> None:
        self.name = name
        self.tick = tick
        self.interval = interval
        self.wait_first = wait_first
        self.grace = grace
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()

    def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=self.name)

    def wake(self) -> None:
        self._wakeup.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wakeup.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.grace)
        except TimeoutError:
            logger.warning("%s: a tick outlasted %s s at stop; cancelled", self.name, self.grace)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        if self.wait_first:
            await self._pause()
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:  # noqa: BLE001 - the next tick tries again
                logger.exception("%s: tick failed", self.name)
            await self._pause()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), self.interval)
        self._wakeup.clear()
