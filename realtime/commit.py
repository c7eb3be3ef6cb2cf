"""Work that must wait for the surrounding transaction to commit.

The use cases publish their events and wake the mail sender after their own transaction block has
exited, which is after the commit, unless that block was a savepoint of a longer transaction: a
mutation sent with an idempotency key runs entirely in one transaction (resolvers/idempotency.py).
There, what they hand over here is kept and done once that transaction commits, or dropped when it
rolls back, so that no subscriber hears of a change it cannot yet read, or one that never happened.
What they hand to `undo_on_rollback` is the opposite: done only if that transaction rolls back (a file
staged for a row that never came to be).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

logger = logging.getLogger("contato.realtime")

Deferred = Callable[[], Awaitable[None]]

_pending: ContextVar[list[Deferred] | None] = ContextVar("contato_after_commit", default=None)
_undo: ContextVar[list[Callable[[], None]] | None] = ContextVar("contato_on_rollback", default=None)


def defer(work: Deferred) -> bool:
    """Keep `work` for after the surrounding transaction commits; False when there is none to wait for."""
    pending = _pending.get()
    if pending is None:
        return False
    pending.append(work)
    return True


def undo_on_rollback(work: Callable[[], None]) -> None:
    """Do `work` if the surrounding longer transaction rolls back (nothing to do without one: the
    caller's own block has committed by the time it could roll back)."""
    undo = _undo.get()
    if undo is not None:
        undo.append(work)


@contextlib.contextmanager
def collecting() -> Iterator[list[Deferred]]:
    """Within this block (and the tasks it starts), `defer` keeps work in the list it yields. Leaving
    the block by an exception, or after `rolled_back()`, does what `undo_on_rollback` was handed."""
    pending: list[Deferred] = []
    undo: list[Callable[[], None]] = []
    token, undo_token = _pending.set(pending), _undo.set(undo)
    try:
        yield pending
    except BaseException:
        _undo_all(undo)
        raise
    finally:
        _pending.reset(token)
        _undo.reset(undo_token)


def rolled_back() -> None:
    """Within `collecting()`: the transaction rolled back although no exception leaves the block."""
    undo = _undo.get()
    if undo is not None:
        _undo_all(undo)


def _undo_all(undo: list[Callable[[], None]]) -> None:
    while undo:
        work = undo.pop()
        try:
            work()
        except Exception:  # noqa: BLE001 - the rollback stands; a leftover is only a leftover
            logger.exception("work undone on rollback failed")


async def run(pending: list[Deferred]) -> None:
    """Do the kept work, after the commit, each on its own: one failing does not stop the others."""
    for work in pending:
        try:
            await work()
        except Exception:  # noqa: BLE001 - the commit stands; live delivery replays from the database
            logger.exception("work deferred until commit failed")
