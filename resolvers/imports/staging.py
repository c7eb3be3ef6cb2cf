"""PostgreSQL's write path for imports: a batch's checked rows go by COPY into a temporary staging
table, and one statement per batch moves them into the real table (an upsert, or a data-modifying
`WITH` that inserts the new rows and updates the ones the plan matched by id).

COPY sends the rows as one binary stream instead of a statement (or a bind) per row; the statement
that follows reads them set-wise. The staging tables are the session's own (`TEMP`) and empty at
every commit (`ON COMMIT DELETE ROWS`), so a pooled connection reuses them, and a batch that rolls
back leaves nothing staged. SQLite has no COPY and keeps the ORM's bulk insert.

The statements go past the ORM (asyncpg's connection of the batch's transaction), so they are logged
on Tortoise's own `tortoise.db_client` logger as it logs its queries: the suite's statement counters
see them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient


def is_postgres(connection: BaseDBAsyncClient) -> bool:
    return bool(connection.capabilities.dialect == "postgres")


async def copy_rows(
    connection: BaseDBAsyncClient, raw: Any, table: str, definition: str, columns: Sequence[str],
    records: Iterable[tuple[Any, ...]],
) -> None:
    """Create the session's staging `table` (once per session) and COPY `records` into it."""
    create = f"CREATE TEMP TABLE IF NOT EXISTS {table} ({definition}) ON COMMIT DELETE ROWS"
    connection.log.debug(create)
    await raw.execute(create)
    records = list(records)
    connection.log.debug("COPY %s (%s) FROM STDIN: %d rows", table, ", ".join(columns), len(records))
    await raw.copy_records_to_table(table, records=records, columns=list(columns))


async def fetch(connection: BaseDBAsyncClient, raw: Any, sql: str, *args: Any) -> list[Any]:
    connection.log.debug("%s: %s", sql, args)
    return list(await raw.fetch(sql, *args))
