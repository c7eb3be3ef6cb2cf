"""Several uvicorn workers on PostgreSQL and Redis: only DATABASE_URL and BROADCAST_URL change."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.servers import LiveServer, RedisServer, redis_binary, unique_database_name

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="several workers need PostgreSQL (the PostgreSQL pass)")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail("no redis-server binary")
        pytest.skip("no redis-server binary")
    directory: Path = tmp_path_factory.mktemp("cluster")
    redis = RedisServer(binary, directory)
    redis.start()
    database = unique_database_name()
    create_migrated_database(database)
    server = LiveServer(
        directory,
        {"DATABASE_URL": _pg_url(database), "BROADCAST_URL": redis.url, "LOGIN_MAX_FAILURES": "4"},
    )
    try:
        server.start("--workers", "2")
        yield server
    finally:
        server.stop()
        redis.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def test_every_worker_is_ready_on_postgres_and_redis(cluster: LiveServer) -> None:
    answers = [httpx.get(f"{cluster.url}/readyz").json() for _ in range(10)]
    assert all(answer == {"status": "ready", "database": "ok", "broadcast": "ok"} for answer in answers)
    assert "Started parent process" in cluster.log()


def test_login_throttle_is_shared_by_the_workers(cluster: LiveServer) -> None:
    query = 'mutation { login(email: "agent2@contato.dev", password: "wrong") { ... on LoginError { code } } }'
    codes = [cluster.graphql(query).json()["data"]["login"]["code"] for _ in range(6)]
    assert codes == ["INVALID_CREDENTIALS"] * 4 + ["TOO_MANY_ATTEMPTS"] * 2
