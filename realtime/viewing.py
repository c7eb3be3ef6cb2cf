"""Who is viewing, and who is typing on, a ticket: presence kept in memory, shared by broadcast.

Nothing here is written to the database: a viewer is only worth knowing while they are there. Each
process announces its own viewers on the `contato.viewing` channel when they come, every
HEARTBEAT_SECONDS while they stay, and when they leave; every process (itself included) keeps what
it hears for TTL_SECONDS. So a viewer whose socket closes is gone at once, and one whose process
died is gone within the TTL, on every process. Typing is an entry of its own that the client renews
while the user types (`ticketTyping`), gone TYPING_SECONDS after the last renewal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

logger = logging.getLogger("contato.realtime")

VIEWING_CHANNEL = "contato.viewing"
HEARTBEAT_SECONDS = 2.0
TTL_SECONDS = 6.0
TYPING_SECONDS = 5.0


@dataclass(frozen=True)
class Presence:
    ticket_id: int
    user_id: int
    role: str
    typing: bool
    expires: float


@dataclass(frozen=True)
class TicketViewer:
    user_id: int
    role: str
    typing: bool


class TicketViewing:
    def __init__(self, broadcast: Any, heartbeat: float = HEARTBEAT_SECONDS, ttl: float = TTL_SECONDS) -> None:
        self.broadcast = broadcast
        self.heartbeat = heartbeat
        self.ttl = ttl
        self._entries: dict[str, Presence] = {}
        self._own: dict[str, tuple[int, int, str]] = {}  # this process's viewers: key -> (ticket, user, role)
        self._changed: dict[int, asyncio.Event] = {}
        self._watchers: dict[int, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.listening = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="ticket-viewing-listener"),
            asyncio.create_task(self._beat(), name="ticket-viewing-heartbeat"),
        ]

    async def stop(self, *, announce: bool = True) -> None:
        """`announce=False` stops as a crash would: the others forget these viewers by the TTL."""
        if announce:
            for key, (ticket_id, user_id, role) in list(self._own.items()):
                await self._send(key, ticket_id, user_id, role, False, 0.0)
        self._own.clear()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def viewers(self, ticket_id: int) -> list[TicketViewer]:
        """Who is on the ticket now, one entry per user, typing when any of their entries says so."""
        now = time.monotonic()
        users: dict[int, TicketViewer] = {}
        for entry in self._entries.values():
            if entry.ticket_id != ticket_id or entry.expires <= now:
                continue
            seen = users.get(entry.user_id)
            typing = entry.typing or (seen is not None and seen.typing)
            users[entry.user_id] = TicketViewer(entry.user_id, entry.role, typing)
        # Typing without viewing is not presence: the typist must be viewing too.
        viewing = {
            entry.user_id for entry in self._entries.values()
            if entry.ticket_id == ticket_id and not entry.typing and entry.expires > now
        }
        return [users[user_id] for user_id in sorted(users) if user_id in viewing]

    @contextlib.asynccontextmanager
    async def join(self, ticket_id: int, user_id: int, role: str) -> AsyncIterator[asyncio.Event]:
        """Be seen on the ticket while inside; yields the event set whenever its viewers change."""
        key = uuid.uuid4().hex
        changed = self._changed.setdefault(ticket_id, asyncio.Event())
        self._watchers[ticket_id] = self._watchers.get(ticket_id, 0) + 1
        self._own[key] = (ticket_id, user_id, role)
        try:
            await self._send(key, ticket_id, user_id, role, False, self.ttl)
            yield changed
        finally:
            self._own.pop(key, None)
            self._watchers[ticket_id] -= 1
            if not self._watchers[ticket_id]:
                del self._watchers[ticket_id]
                self._changed.pop(ticket_id, None)
            with contextlib.suppress(Exception):  # the others forget it by the TTL
                await self._send(key, ticket_id, user_id, role, False, 0.0)

    async def typing(self, ticket_id: int, user_id: int, role: str, typing: bool) -> None:
        await self._send(f"typing:{user_id}:{ticket_id}", ticket_id, user_id, role, True, TYPING_SECONDS if typing else 0.0)

    async def _send(self, key: str, ticket_id: int, user_id: int, role: str, typing: bool, ttl: float) -> None:
        message = {"k": key, "t": ticket_id, "u": user_id, "r": role, "y": typing, "ttl": ttl}
        self._apply(message)  # at once here; the broadcast tells the other processes
        try:
            await self.broadcast.publish(VIEWING_CHANNEL, orjson.dumps(message).decode())
        except Exception:  # noqa: BLE001 - the heartbeat says it again
            logger.warning("could not publish ticket viewing for ticket %s", ticket_id)

    def _apply(self, message: dict[str, Any]) -> None:
        key, ticket_id = str(message["k"]), int(message["t"])
        before = self._entries.get(key)
        if float(message["ttl"]) <= 0:
            self._entries.pop(key, None)
        else:
            self._entries[key] = Presence(
                ticket_id, int(message["u"]), str(message["r"]), bool(message["y"]),
                time.monotonic() + float(message["ttl"]),
            )
        after = self._entries.get(key)
        if (before is None) != (after is None) or (before and after and before.typing != after.typing):
            self._notify(ticket_id)

    def _notify(self, ticket_id: int) -> None:
        changed = self._changed.get(ticket_id)
        if changed is not None:
            changed.set()

    async def _listen(self) -> None:
        while True:
            try:
                async with self.broadcast.subscribe(VIEWING_CHANNEL) as subscriber:
                    self.listening.set()
                    async for message in subscriber:  # type: ignore[union-attr]
                        self._apply(orjson.loads(message.message))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the heartbeats fill in what was missed
                logger.exception("ticket viewing listener failed; resubscribing")
                await asyncio.sleep(self.heartbeat)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                for key, (ticket_id, user_id, role) in list(self._own.items()):
                    await self._send(key, ticket_id, user_id, role, False, self.ttl)
                now = time.monotonic()
                for key, entry in list(self._entries.items()):
                    if entry.expires <= now:
                        del self._entries[key]
                        self._notify(entry.ticket_id)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                logger.exception("ticket viewing heartbeat failed")
