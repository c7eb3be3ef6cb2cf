"""A pooled transaction whose BEGIN fails leaves nothing behind.

Tortoise 1.1's `TransactionContextPooled.__aenter__` (PostgreSQL) takes a pool connection and makes
the transaction the task's current one before it sends BEGIN. When BEGIN fails (the connection died
with a database restart and the pool handed it out before noticing), `__aexit__` never runs: the
task keeps the dead transaction as its current one, so each later `in_transaction()` in that task
becomes a savepoint on a closed connection and fails, and the connection is never given back to the
pool. A long-lived task (the alert scheduler) then failed every tick until the process restarted.

`release_on_failed_begin()` wraps that `__aenter__`: on any failure it resets the task's current
transaction and gives the connection back, then raises as before. Installed once, on import of
`models` (every process that touches the database imports it).
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

from tortoise.backends.base.client import TransactionContextPooled
from tortoise.connection import get_connections

_MARK = "_contato_releases_on_failed_begin"


def release_on_failed_begin() -> None:
    enter = TransactionContextPooled.__aenter__
    if getattr(enter, _MARK, False):
        return

    @functools.wraps(enter)
    async def __aenter__(self: TransactionContextPooled) -> Any:  # noqa: N807 - the method it replaces
        try:
            return await enter(self)
        except BaseException:
            token = getattr(self, "token", None)  # set once the connection was taken
            if token is not None:
                get_connections().reset(token)
            connection, pool = self.client._connection, self.client._parent._pool
            if token is not None and connection is not None and pool is not None:
                with contextlib.suppress(Exception):  # a dead connection: the pool replaces it
                    await pool.release(connection)
            raise

    setattr(__aenter__, _MARK, True)
    TransactionContextPooled.__aenter__ = __aenter__  # type: ignore[method-assign]
