from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.servers import LiveServer, unique_database_name


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server per test module, on PostgreSQL when the run is configured for it."""
    directory: Path = tmp_path_factory.mktemp("live")
    env: dict[str, str] = {
        "ALLOWED_ORIGINS": "https://wallboard.example",
        "WS_INIT_TIMEOUT_SECONDS": "1",
        "WS_MAX_SUBSCRIPTIONS": "2",
    }
    with live_database() as database:
        server = LiveServer(directory, {**env, **database})
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextlib.contextmanager
def live_database() -> Iterator[dict[str, str]]:
    """The environment that gives a live server a database of its own: a new PostgreSQL database
    when the run is on PostgreSQL (dropped afterwards), else nothing (its data directory's SQLite)."""
    if not PG_ADMIN_URL:
        yield {}
        return
    database = unique_database_name()
    create_migrated_database(database)
    try:
        yield {"DATABASE_URL": _pg_url(database)}
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
