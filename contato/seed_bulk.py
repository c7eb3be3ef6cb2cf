"""Bulk writes for `contato seed --size`: ids chosen up front, rows sent with COPY (PostgreSQL) or executemany.

The generated data set is built in Python, one chunk of persons at a time, so that PostgreSQL and SQLite
get the same rows from the same code. Rows carry their ids: a member can then be written in its final
state (last operation, next callback) before its operations, instead of being updated afterwards, which on
PostgreSQL would write every member twice.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

from tortoise.backends.base.client import BaseDBAsyncClient

SQLITE_BATCH = 500  # under SQLite's limit on bound parameters


def mix(value: int, salt: int) -> int:
    """A cheap, well-spread 32-bit hash: the generated data depends on indexes only, never on run order."""
    x = (value * 0x9E3779B1 + salt * 0x85EBCA6B + 0x165667B1) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    return x ^ (x >> 16)


async def flat_ints(query: Any) -> list[int]:
    """An awaited `values_list(column, flat=True)` as ints (Tortoise types those lists as tuples)."""
    return [int(value) for value in await query]


class BulkWriter:
    """Writes inside one transaction (`connection` comes from `in_transaction()`)."""

    def __init__(self, connection: BaseDBAsyncClient) -> None:
        self.connection = connection
        self.postgres = connection.capabilities.dialect == "postgres"
        self._reserved: dict[str, int] = {}  # table -> the id after the last block reserved (SQLite)

    async def reserve_ids(self, table: str, count: int) -> int:
        """The first of `count` consecutive ids nobody else will take; the caller inserts them explicitly.

        On PostgreSQL the table is locked against other writers until the transaction ends (an INSERT
        takes its lock before it draws from the sequence), then the sequence is moved past the block.
        """
        if count <= 0:
            return 0
        if self.postgres:
            async with self.connection.acquire_connection() as raw:
                await raw.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
                sequence = await raw.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
                first = int(await raw.fetchval(
                    f'SELECT GREATEST(nextval($1::regclass), (SELECT COALESCE(MAX(id), 0) + 1 FROM "{table}"))',
                    sequence,
                ))
                await raw.execute(f"SELECT setval('{sequence}'::regclass, {first + count - 1})")
                return first
        # SQLite: one writer at a time; blocks reserved earlier in this transaction may not be written yet.
        rows = await self.connection.execute_query_dict(f'SELECT COALESCE(MAX(id), 0) AS top FROM "{table}"')
        first = max(int(rows[0]["top"]) + 1, self._reserved.get(table, 0))
        self._reserved[table] = first + count
        return first

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            async with self.connection.acquire_connection() as raw:
                await raw.copy_records_to_table(table, records=rows, columns=list(columns))
            return
        names = ", ".join(f'"{column}"' for column in columns)
        marks = ", ".join("?" for _ in columns)
        await self.connection.execute_many(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks})', cast(list[list[Any]], list(rows))
        )

    async def suspend_checks(self, tables: Sequence[str]) -> list[str]:
        """Drop the foreign keys and non-unique indexes of `tables` for a bulk load (PostgreSQL only).

        Checking a foreign key row by row costs a few µs per key and row, and inserting rows in random
        order into indexes larger than shared_buffers a few more: most of a large load's time. Building
        the indexes afterwards is a sort, and checking the keys when they are added back is one join each.
        The drop and the re-creation commit together or not at all (DDL is transactional), and the tables
        stay locked against other sessions in between. Unique indexes and primary keys stay: the load
        looks rows up through them. Returns the statements that restore what was dropped, in order.
        """
        if not self.postgres:
            return []
        async with self.connection.acquire_connection() as raw:
            keys = await raw.fetch(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = ANY($1::text[]::regclass[]) ORDER BY 1, 2",
                list(tables),
            )
            indexes = await raw.fetch(
                "SELECT indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index "
                "WHERE indrelid = ANY($1::text[]::regclass[]) AND NOT indisunique AND NOT indisprimary ORDER BY 1",
                list(tables),
            )
            for table, name, _ in keys:
                await raw.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ in indexes:
                await raw.execute(f"DROP INDEX {name}")
        by_table: dict[str, list[str]] = {}
        for table, name, definition in keys:
            by_table.setdefault(table, []).append(f'ADD CONSTRAINT "{name}" {definition}')
        return [definition for _, definition in indexes] + [
            f"ALTER TABLE {table} {', '.join(additions)}" for table, additions in by_table.items()
        ]

    async def restore_checks(self, statements: Sequence[str], show: Callable[[int], None] | None = None) -> None:
        if not statements:
            return
        async with self.connection.acquire_connection() as raw:
            # Index sorts and the validating joins in memory.
            await raw.execute("SET LOCAL maintenance_work_mem = '512MB'")
            await raw.execute("SET LOCAL work_mem = '256MB'")
            for done, statement in enumerate(statements, start=1):
                await raw.execute(statement)
                if show is not None:
                    show(done)

    async def existing(self, table: str, column: str, values: Iterable[str]) -> set[str]:
        """Which of `values` the column already holds (the seed's idempotence check)."""
        wanted = list(values)
        if not wanted:
            return set()
        if self.postgres:
            async with self.connection.acquire_connection() as raw:
                rows = await raw.fetch(f'SELECT "{column}" FROM "{table}" WHERE "{column}" = ANY($1::text[])', wanted)
            return {row[0] for row in rows}
        found: set[str] = set()
        for start in range(0, len(wanted), SQLITE_BATCH):
            batch = wanted[start:start + SQLITE_BATCH]
            marks = ", ".join("?" for _ in batch)
            rows = await self.connection.execute_query_dict(
                f'SELECT "{column}" AS value FROM "{table}" WHERE "{column}" IN ({marks})', batch
            )
            found.update(row["value"] for row in rows)
        return found


def progress_bar(total: int, label: str) -> Callable[[int], None]:
    def show(done: int) -> None:
        width = 40
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show
