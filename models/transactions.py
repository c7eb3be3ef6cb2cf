"""Pooled transactions (PostgreSQL): one whose BEGIN fails leaves nothing behind, and they never
take the last connections of the pool.

Tortoise 1.1's `TransactionContextPooled.__aenter__` (PostgreSQL) takes a pool connection and makes
the transaction the task's current one before it sends BEGIN. When BEGIN fails (the connection died
with a database restart and the pool handed it out before noticing), `__aexit__` never runs: the
task keeps the dead transaction as its current one, so each later `in_transaction()` in that task
becomes a savepoint on a closed connection and fails, and the connection is never given back to the
pool. A long-lived task (the alert scheduler) then failed every tick until the process restarted.

`guard_pooled_transactions()` wraps that `__aenter__`: on any failure it resets the task's current
transaction and gives the connection back, then raises as before. Installed once, on import of
`models` (every process that touches the database imports it).

`READS_RESERVED` connections of each pool are kept from transactions: every writing transaction
bumps the one event counter, so under load most of them hold a pool connection while they queue on
that row's lock. With the whole pool held that way, a plain read waited for one of them to commit,
and live delivery (the hub's catch-up, each event's loads) fell seconds behind the writes, 16 s at
20 agents on two workers (bench/soak.py). A transaction now first takes one of the pool's
`maxsize - READS_RESERVED` places (at least one), so reads always find a connection. Nested
transactions (savepoints) use their parent's connection and take no place.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from typing import Any

from tortoise.backends.base.client import TransactionContextPooled
from tortoise.connection import get_connections

_MARK = "_contato_releases_on_failed_begin"
READS_RESERVED = 2
_PLACES = "_contato_transaction_places"


def transaction_places(parent: Any) -> asyncio.Semaphore:
    """The places for transactions on a pooled client, in the running loop (made on first use)."""
    per_loop = getattr(parent, _PLACES, None)
    if per_loop is None:
        per_loop = weakref.WeakKeyDictionary()
        setattr(parent, _PLACES, per_loop)
    loop = asyncio.get_running_loop()
    places = per_loop.get(loop)
    if places is None:
        maxsize = int(getattr(parent, "pool_maxsize", 0) or 0)
        places = per_loop[loop] = asyncio.Semaphore(max(1, maxsize - READS_RESERVED))
    return places


def guard_pooled_transactions() -> None:
    enter, leave = TransactionContextPooled.__aenter__, TransactionContextPooled.__aexit__
    if getattr(enter, _MARK, False):
        return

    @functools.wraps(enter)
    async def __aenter__(self: TransactionContextPooled) -> Any:  # noqa: N807 - the method it replaces
        places = transaction_places(self.client._parent)
        await places.acquire()
        try:
            return await enter(self)
        except BaseException:
            places.release()
            token = getattr(self, "token", None)  # set once the connection was taken
            if token is not None:
                get_connections().reset(token)
            connection, pool = self.client._connection, self.client._parent._pool
            if token is not None and connection is not None and pool is not None:
                with contextlib.suppress(Exception):  # a dead connection: the pool replaces it
                    await pool.release(connection)
            raise

    @functools.wraps(leave)
    async def __aexit__(self: TransactionContextPooled, *exc: Any) -> None:  # noqa: N807 - the method it replaces
        try:
            await leave(self, *exc)
        finally:
            transaction_places(self.client._parent).release()

    setattr(__aenter__, _MARK, True)
    TransactionContextPooled.__aenter__ = __aenter__  # type: ignore[method-assign]
    TransactionContextPooled.__aexit__ = __aexit__  # type: ignore[method-assign]
