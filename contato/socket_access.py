"""An open WebSocket holds no rights of its own: its user is as the database says, now.

Strawberry authenticates a graphql-transport-ws connection once, at `connection_init`, and keeps
that user in the connection's context for as long as the socket is open. Here:

- every operation the client sends (query, mutation or subscription) re-reads the user first,
  as an HTTP request does with its token: a deactivated user, a changed password (the token's
  version) or an expired token closes the socket with 4403 and a reason the client can act on;
  a changed role or company runs the operation with the rights the user has now;
- the token's expiry closes the socket at that moment (4403 `TOKEN_EXPIRED`), not at the next
  message;
- a change to a user (USER_CHANGED, which every process receives through the broadcast) makes
  every process re-check that user's open sockets at once: revoked, each of the socket's live
  streams ends with its StreamError `ACCESS_REVOKED`, then the socket closes with 4403; a role or
  company change ends the streams (their scope is gone) and keeps the socket, now with the new
  rights.

A live stream also checks its user before each item it sends (resolvers/realtime.py,
contato/shared_streams.py); this module is what reaches the streams and sockets that are idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from models.user import User
from realtime.events import USER_CHANGED
from realtime.hub import LiveEvent
from resolvers.context import Context
from resolvers.realtime import StreamEnded, StreamErrorCode

logger = logging.getLogger("contato.realtime")

WS_FORBIDDEN = 4403  # graphql-transport-ws: the connection is not (or no longer) authorized
REVOKED = StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Your access was revoked: log in again.")
EXPIRED = StreamEnded(StreamErrorCode.TOKEN_EXPIRED, "Your token has expired: log in and subscribe again.")
CHANGED = StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Your access changed: subscribe again.")
# How long an ended stream's task may take to finish before its error is sent anyway.
STREAM_END_WAIT_SECONDS = 5.0


class SocketHandler(Protocol):
    """What this module needs of a connection's handler (contato/graphql_view.py's)."""

    context: Context
    websocket: Any

    async def end_subscriptions(self, ended: StreamEnded, wait: float) -> None: ...


class SocketRegistry:
    """The process's authenticated connections, by user id."""

    def __init__(self) -> None:
        self._by_user: dict[int, set[ConnectionAccess]] = {}

    def add(self, access: ConnectionAccess) -> None:
        self._by_user.setdefault(access.user_id, set()).add(access)

    def discard(self, access: ConnectionAccess) -> None:
        connections = self._by_user.get(access.user_id)
        if connections is not None:
            connections.discard(access)
            if not connections:
                del self._by_user[access.user_id]

    def connections_of(self, user_id: int) -> frozenset[ConnectionAccess]:
        return frozenset(self._by_user.get(user_id, ()))

    def on_event(self, event: LiveEvent) -> None:
        """A hub listener (called in cursor order in every process): USER_CHANGED re-checks that
        user's sockets here, each in a task of its own so that the hub never waits on a socket."""
        if event.kind != USER_CHANGED:
            return
        for access in self.connections_of(event.entity_id):
            access.recheck_soon()


class ConnectionAccess:
    """One authenticated connection's user, kept as the database has it."""

    def __init__(self, handler: SocketHandler, registry: SocketRegistry) -> None:
        self.handler = handler
        self.registry = registry
        user = handler.context.require_user()
        self.user_id = user.pk
        self.token_version = user.token_version  # the token's `ver`: a password change bumps it
        self.closed = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        registry.add(self)
        expires_at = handler.context.token_expires_at
        if expires_at is not None:
            self._spawn(self._expire_at(expires_at))

    def stop(self) -> None:
        """The connection is gone: forget it and its timers."""
        self.closed = True
        self.registry.discard(self)
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()

    def recheck_soon(self) -> None:
        if not self.closed:
            self._spawn(self.recheck())

    async def authorize(self) -> bool:
        """Before an operation runs: the user as of now in the context; False (and the socket
        closing) when the user may no longer use it."""
        expires_at = self.handler.context.token_expires_at
        if expires_at is not None and datetime.now(UTC) >= expires_at:
            await self.end(EXPIRED, close=True)
            return False
        return await self.recheck()

    async def recheck(self) -> bool:
        """Re-read the user; end what they lost. True while the connection may go on."""
        async with self._lock:  # one re-check at a time, in the order they were asked for
            if self.closed:
                return False
            fresh = await User.get_or_none(id=self.user_id)
            if fresh is None or not fresh.active or fresh.token_version != self.token_version:
                await self.end(REVOKED, close=True)
                return False
            context = self.handler.context
            before = context.user
            context.user = fresh
            if before is not None and (before.role, before.company_id) != (fresh.role, fresh.company_id):
                await self.end(CHANGED, close=False)  # the streams' scope is gone; the socket stays
            return True

    async def _expire_at(self, expires_at: datetime) -> None:
        delay = (expires_at - datetime.now(UTC)).total_seconds()
        await asyncio.sleep(max(delay, 0.0))
        await self.end(EXPIRED, close=True)

    async def end(self, ended: StreamEnded, close: bool) -> None:
        """End every live stream of the connection with `ended` as its last item; with `close`,
        then close the socket with 4403 and the code as the reason."""
        if self.closed:
            return
        if close:
            self.stop()
        await self.handler.end_subscriptions(ended, STREAM_END_WAIT_SECONDS)
        if close:
            reason = f"{ended.code.value}: {ended.message}"
            with contextlib.suppress(Exception):  # the client may be gone already
                await self.handler.websocket.close(WS_FORBIDDEN, reason)

    def _spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(_logged(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _logged(work: Awaitable[Any]) -> None:
    try:
        await work
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("re-checking a WebSocket's user failed")


def next_message(operation_id: str, payload: str) -> dict[str, Any]:
    """A graphql-transport-ws `next` message carrying an already encoded payload."""
    return {"id": operation_id, "type": "next", "payload": orjson.loads(payload)}


__all__ = ["ConnectionAccess", "SocketRegistry", "next_message"]
