"""A transaction whose BEGIN fails leaves nothing behind: not in its task, not in the pool.

Tortoise 1.1's pooled transactions (PostgreSQL) set the task's current transaction and take a pool
connection before BEGIN; when BEGIN failed (the connection had died with a database restart), the
task kept that dead transaction as its current one, so every later `in_transaction()` in it became a
savepoint on a closed connection, and the connection never went back to the pool. The alert
scheduler, one long-lived task, then failed every tick until the process restarted (bench/soak.py,
pg-restart).

Transactions never hold the whole pool: writers queued on the event counter's lock held every
connection, and live delivery's reads waited behind them (seconds late, bench/soak.py).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from models.event import EventCounter
from models.operation import Callback
from realtime.alerts import AlertScheduler
from realtime.due import DUE_SOURCES
from realtime.hub import current_cursor
from tests.conftest import PG_ADMIN_URL
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="pooled transactions: the PostgreSQL pass")


def end_sessions_behind_this_loops_back(database_url: str) -> None:
    """End every other session on the database, from a thread with its own loop, while this loop is
    blocked: the pool's idle connection is closed by the server before asyncpg can notice."""

    async def end_them() -> None:
        connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            pids = [row["pid"] for row in await connection.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
            await connection.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
            while await connection.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", pids):
                await asyncio.sleep(0.01)
        finally:
            await connection.close()

    thread = threading.Thread(target=lambda: asyncio.run(end_them()))
    thread.start()
    thread.join()


async def test_a_transaction_whose_begin_fails_leaves_the_task_and_the_pool_as_they_were(
    db: None, pg_database: str
) -> None:
    # given: the pool's one connection was ended by the server, and this loop has not seen it yet
    client = connections.get("default")
    await client.execute_query("SELECT 1")
    pool = client._pool
    end_sessions_behind_this_loops_back(pg_database)

    # when: a transaction is begun on it
    with pytest.raises(Exception):  # noqa: B017 - asyncpg says "connection closed" in several ways
        async with in_transaction():
            pass

    # then: the task's next transaction is a transaction of its own, on a live connection
    async with in_transaction() as connection:
        assert await connection.execute_query_dict("SELECT 1 AS one") == [{"one": 1}]
    assert pool.get_idle_size() == pool.get_size()  # no connection left checked out


async def test_the_alert_scheduler_alerts_again_after_a_tick_whose_begin_failed(
    factory: Factory, pg_database: str
) -> None:
    # given: a callback due, and the pool's connection ended by the server before the scheduler starts
    outbound = Outbound(factory, Clock())
    campaign = await outbound.campaign()
    member = await outbound.member(campaign)
    callback = await Callback.create(member=member, campaign=campaign, due_at=datetime.now(UTC) - timedelta(seconds=1))
    end_sessions_behind_this_loops_back(pg_database)
    scheduler = AlertScheduler(DUE_SOURCES, None, interval=0.05)

    # when: its first tick begins a transaction on the dead connection
    await scheduler.start()
    try:
        # then: a later tick alerts the callback (read on a connection of its own, outside the pool)
        reader = await asyncpg.connect(pg_database.replace("postgres://", "postgresql://", 1))
        try:
            alerted = None
            for _ in range(200):
                alerted = await reader.fetchval("SELECT alerted_at FROM callback WHERE id = $1", callback.pk)
                if alerted is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            await reader.close()
        assert alerted is not None
    finally:
        await scheduler.stop()


async def test_a_read_finds_a_connection_while_every_writer_waits_for_the_event_counter(
    db: None, pg_database: str
) -> None:
    # given: the event counter's row locked from outside the pool, and as many writing transactions
    # as the pool has connections, each queued on that lock (as writers are, behind one that commits)
    client = connections.get("default")
    await EventCounter.get_or_create(id=1, defaults={"value": 0})
    outside = await asyncpg.connect(pg_database.replace("postgres://", "postgresql://", 1))
    locked = outside.transaction()
    await locked.start()
    await outside.execute("SELECT value FROM event_counter WHERE id = 1 FOR UPDATE")

    async def write() -> None:
        async with in_transaction():
            await EventCounter.filter(id=1).select_for_update().first()

    writers = [asyncio.create_task(write()) for _ in range(client.pool_maxsize)]
    try:
        while await outside.fetchval(
            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> pg_backend_pid()"
        ) < 1:
            await asyncio.sleep(0.01)

        # when: a plain read, as live delivery makes for each event
        read = asyncio.create_task(current_cursor())
        done, _ = await asyncio.wait([read], timeout=30)  # a hang, not a speed: it never ends without the fix

        # then: it got a connection while the writers still wait
        assert read in done, "the read waited for a writer to give back a pool connection"
        assert await read == 0
        assert not any(writer.done() for writer in writers)
    finally:
        await locked.rollback()
        await outside.close()
        await asyncio.gather(*writers)
