"""Fixtures: a real database per test (SQLite in memory, or PostgreSQL when configured).

CONTATO_TEST_DATABASE_URL=postgres://user@127.0.0.1:PORT/postgres switches the whole run to
PostgreSQL: one database per run, built by the committed migrations, emptied between tests.
Run that pass in its own pytest process (Tortoise caches dialect SQL per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.config_generator import generate_config
from tortoise.context import TortoiseContext
from tortoise.utils import get_schema_sql

from contato.settings import Settings
from models import MODEL_MODULES, tortoise_config
from models.search import create_message_search
from tests.factories import Factory
from tests.servers import LiveServer, unique_database_name

PG_ADMIN_URL = os.environ.get("CONTATO_TEST_DATABASE_URL", "")


def pytest_report_header(config: pytest.Config) -> str:
    return f"contato database: {'PostgreSQL ' + PG_ADMIN_URL if PG_ADMIN_URL else 'SQLite (in memory)'}"


@pytest.fixture
def settings() -> Settings:
    return Settings(environment="test", password_hash_profile="CHEAPEST", login_max_failures=3)


def _pg_url(database: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    connection = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


_PG_TEMPLATE: list[str] = []


def create_migrated_database(name: str) -> None:
    """A new PostgreSQL database with every committed migration applied, copied from a template
    migrated once per run (a copy takes a fraction of a second; applying the migrations, seconds of
    CPU). A live server started on it finds nothing to apply."""
    if not _PG_TEMPLATE:
        from contato.db import migrate

        template = f"contato_template_{uuid.uuid4().hex[:12]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{template}"'))
        asyncio.run(migrate(Settings(database_url=_pg_url(template))))
        _PG_TEMPLATE.append(template)
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_PG_TEMPLATE[0]}"'))


@pytest.fixture(scope="session", autouse=True)
def _drop_pg_template() -> Iterator[None]:
    yield
    if _PG_TEMPLATE:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{_PG_TEMPLATE.pop()}" WITH (FORCE)'))


@contextlib.contextmanager
def live_database() -> Iterator[dict[str, str]]:
    """The environment that gives a live server a database of its own: a new migrated PostgreSQL
    database when the run is on PostgreSQL (dropped afterwards), else nothing (its data directory's
    SQLite, copied from the migrated template)."""
    if not PG_ADMIN_URL:
        yield {}
        return
    database = unique_database_name()
    create_migrated_database(database)
    try:
        yield {"DATABASE_URL": _pg_url(database)}
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@contextlib.contextmanager
def served(directory: Path, env: dict[str, str], *args: str, timeout: float = 120.0) -> Iterator[LiveServer]:
    """`contato serve --demo` with `env` on a database of its own (live_database), stopped after."""
    with live_database() as database:
        server = LiveServer(directory, {**env, **database})
        server.start(*args, timeout=timeout)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """One migrated PostgreSQL database for the whole run (None on SQLite)."""
    if not PG_ADMIN_URL:
        yield None
        return
    name = f"contato_test_{uuid.uuid4().hex[:12]}"
    create_migrated_database(name)
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(pg_database: str | None) -> AsyncIterator[None]:
    if pg_database is None:
        # tortoise_test_context's steps, with the schema's SQL generated once per process (0.3 s a
        # test under load otherwise): a fresh in-memory database per test.
        async with TortoiseContext() as ctx:
            config = generate_config("sqlite://:memory:", app_modules={"models": MODEL_MODULES}, testing=True)
            await ctx.init(config=config, _create_db=True, use_tz=True, timezone="UTC")
            connection = connections.get("default")
            await connection.execute_script(_sqlite_schema(connection))
            # What the migrations make beside the models' tables (PostgreSQL's test database is migrated).
            await create_message_search(connection)
            yield
        return
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(pg_database))
        try:
            yield
        finally:
            connection = connections.get("default")
            await connection.execute_script(await _pg_emptying(connection, ctx))


_PG_EMPTYING: list[str] = []


async def _pg_emptying(connection: Any, ctx: TortoiseContext) -> str:
    """Every table emptied and every sequence back at 1, as TRUNCATE … RESTART IDENTITY would, in
    about 15 ms instead of TRUNCATE's 1 s under load (it makes new files for 50 tables and their
    indexes). Foreign keys are not checked while deleting (replica mode: the test user is a superuser,
    as CREATE DATABASE needs)."""
    if not _PG_EMPTYING:
        _, rows = await connection.execute_query("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
        deletes = " ".join(f'DELETE FROM "{model._meta.db_table}";' for model in _models(ctx))
        restarts = " ".join(f"SELECT setval('\"{row['sequencename']}\"', 1, false);" for row in rows)
        _PG_EMPTYING.append(
            f"SET session_replication_role = replica; {deletes} SET session_replication_role = DEFAULT; {restarts}"
        )
    return _PG_EMPTYING[0]


_SQLITE_SCHEMA: list[str] = []


def _sqlite_schema(connection: Any) -> str:
    if not _SQLITE_SCHEMA:
        _SQLITE_SCHEMA.append(get_schema_sql(connection, safe=False))
    return _SQLITE_SCHEMA[0]


def _models(ctx: TortoiseContext) -> list[Any]:
    assert ctx.apps is not None
    return list(ctx.apps.get_models_iterable())


@pytest.fixture
async def factory(db: None, settings: Settings) -> Factory:
    return Factory(settings)


class StatementCounter(logging.Handler):
    """Counts SQL statements Tortoise sends, from its db_client debug log."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.lstrip().split(" ", 1)[0].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH"):
            self.statements.append(message)


@contextlib.contextmanager
def listening_to_sql(handler: logging.Handler) -> Iterator[None]:
    """`handler` receives every statement Tortoise's db_client logs while the block runs."""
    logger = logging.getLogger("tortoise.db_client")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@pytest.fixture
def sql_statements() -> Iterator[StatementCounter]:
    counter = StatementCounter()
    with listening_to_sql(counter):
        yield counter


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **changes)
