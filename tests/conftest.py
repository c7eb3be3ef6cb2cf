"""Fixtures: a real database per test (SQLite in memory, or PostgreSQL when configured).

CONTATO_TEST_DATABASE_URL=postgres://user@127.0.0.1:PORT/postgres switches the whole run to
PostgreSQL: one database per run, built by the committed migrations, emptied between tests.
Run that pass in its own pytest process (Tortoise caches dialect SQL per process).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.context import TortoiseContext, tortoise_test_context

from contato.settings import Settings
from models import MODEL_MODULES, tortoise_config
from models.search import create_message_search
from tests.factories import Factory

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


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    """One migrated PostgreSQL database for the whole run (None on SQLite)."""
    if not PG_ADMIN_URL:
        yield None
        return
    import asyncio

    from contato.db import migrate

    name = f"contato_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(migrate(Settings(database_url=_pg_url(name))))
    yield _pg_url(name)
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(pg_database: str | None) -> AsyncIterator[None]:
    if pg_database is None:
        async with tortoise_test_context(MODEL_MODULES):
            # What the migrations make beside the models' tables (PostgreSQL's test database is migrated).
            await create_message_search(connections.get("default"))
            yield
        return
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(pg_database))
        try:
            yield
        finally:
            tables = ", ".join(f'"{model._meta.db_table}"' for model in _models(ctx))
            await connections.get("default").execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


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


@pytest.fixture
def sql_statements() -> Iterator[StatementCounter]:
    logger = logging.getLogger("tortoise.db_client")
    counter = StatementCounter()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(counter)
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        logger.setLevel(previous)


def with_settings(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **changes)
