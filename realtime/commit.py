"""Work that must wait for the surrounding transaction to commit.

The use cases publish their events and wake the mail sender after their own transaction block has
exited, which is after the commit, unless that block was a savepoint of a longer transaction: a
mutation sent with an idempotency key runs entirely in one transaction (resolvers/idempotency.py).
There, what they hand over here is kept and done once that transaction commits, or dropped when it
rolls back, so that no subscriber hears of a change it cannot yet read, or one that never happened.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

logger = logging.getLogger("contato.realtime")

Deferred = Callable[[], Awaitable[None]]

_pending: ContextVar[list[Deferred] | None] = ContextVar("contato_after_commit", default=None)


def defer(work: Deferred) -> bool:
    """Keep `work` for after the surrounding transaction commits; False when there is none to wait for."""
    pending = _pending.get()
    if pending is None:
        return False
    pending.append(work)
    return True


@contextlib.contextmanager
def collecting() -> Iterator[list[Deferred]]:
    """Within this block (and the tasks it starts), `defer` keeps work in the list it yields."""
    pending: list[Deferred] = []
    token = _pending.set(pending)
    try:
        yield pending
    finally:
        _pending.reset(token)


async def run(pending: list[Deferred]) -> None:
    """Do the kept work, after the commit, each on its own: one failing does not stop the others."""
    for work in pending:
        try:
            await work()
        except Exception:  # noqa: BLE001 - the commit stands; live delivery replays from the database
            logger.exception("work deferred until commit failed")
