"""Schedulers split the due items between them: the candidate scan locks what it lists (PostgreSQL).

Tortoise's `values_list()` drops `select_for_update()`, so the scan used to lock nothing: every
scheduler queued on the same rows, and a scheduler that had already recorded one alert (holding the
event counter's row lock) then waited for a callback that `operationRecord` had just closed, while
`operationRecord` waited for the counter: a deadlock, answered with "Unexpected error." (found by
bench/soak.py, with no fault injected).
"""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from models.operation import Callback
from realtime.due import DUE_SOURCES
from tests.conftest import PG_ADMIN_URL
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="SKIP LOCKED: the PostgreSQL pass")

CALLBACK_DUE = next(source for source in DUE_SOURCES if source.name == "callback due")


async def scan(now: datetime) -> list[int]:
    async with in_transaction() as connection:
        return list(await CALLBACK_DUE.candidates(connection, now, 200))


def another_scheduler(outside: contextvars.Context, now: datetime) -> asyncio.Task[list[int]]:
    """A scan in a transaction of its own: a task started from a context outside the first one's."""
    return asyncio.create_task(scan(now), context=outside.copy())


async def test_callbacks_one_scheduler_scanned_are_skipped_by_another_until_it_commits(factory: Factory) -> None:
    # given: three callbacks due
    outbound = Outbound(factory, Clock())
    campaign = await outbound.campaign()
    due_at = datetime.now(UTC) - timedelta(seconds=5)
    ids = [(await Callback.create(member=await outbound.member(campaign), campaign=campaign, due_at=due_at)).pk
           for _ in range(3)]
    now = datetime.now(UTC)
    outside = contextvars.copy_context()

    # when: one scheduler has scanned them, in its open transaction, and another scans
    async with in_transaction() as connection:
        first = list(await CALLBACK_DUE.candidates(connection, now, 200))
        second = await another_scheduler(outside, now)

    # then: the second finds them locked and leaves them; once the first is done, they are there again
    assert sorted(first) == sorted(ids)
    assert second == []
    assert sorted(await another_scheduler(outside, now)) == sorted(ids)
