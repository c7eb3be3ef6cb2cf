"""Login throttling raced across two uvicorn workers on PostgreSQL: attempts sent together."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url
from tests.servers import LiveServer, RedisServer, redis_binary, unique_database_name

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="several workers need PostgreSQL (the PostgreSQL pass)")

LIMIT = 4
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename ... on LoginError { code } } }"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail("no redis-server binary")
        pytest.skip("no redis-server binary")
    directory: Path = tmp_path_factory.mktemp("login-cluster")
    redis = RedisServer(binary, directory)
    redis.start()
    database = unique_database_name()
    asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
    # Behind a "proxy" on 127.0.0.1, so that each test is its own client address.
    env = {
        "DATABASE_URL": _pg_url(database), "BROADCAST_URL": redis.url,
        "LOGIN_MAX_FAILURES": str(LIMIT), "TRUSTED_PROXIES": "127.0.0.1",
    }
    server = LiveServer(directory, env)
    try:
        server.start("--workers", "2", timeout=120)
        yield server
    finally:
        server.stop()
        redis.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def _together(server: LiveServer, passwords: list[str], email: str, address: str) -> list[str]:
    """Every login at once, each on its own connection; the codes (or __typename) in order."""

    async def one(password: str) -> str:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{server.url}/graphql",
                json={"query": LOGIN, "variables": {"e": email, "p": password}},
                headers={"X-Forwarded-For": address},
            )
        login = response.json()["data"]["login"]
        return str(login.get("code") or login["__typename"])

    return list(await asyncio.gather(*(one(password) for password in passwords)))


async def test_concurrent_wrong_passwords_on_two_workers_get_no_more_guesses_than_the_limit(cluster: LiveServer) -> None:
    # when: 12 wrong passwords for one account at once, spread over both workers
    codes = await _together(cluster, ["wrong"] * 12, "agent@contato.dev", "203.0.113.31")
    # then
    assert sorted(codes) == ["INVALID_CREDENTIALS"] * LIMIT + ["TOO_MANY_ATTEMPTS"] * (12 - LIMIT)


async def test_a_right_password_sent_among_guesses_on_two_workers_does_not_unlock_the_account(cluster: LiveServer) -> None:
    # when: 9 wrong and the right one (sent last) at once
    codes = await _together(cluster, ["wrong"] * 9 + ["contato-demo"], "agent2@contato.dev", "203.0.113.32")
    # then: at most LIMIT passwords were checked, and the account stays locked
    assert codes.count("INVALID_CREDENTIALS") + codes.count("LoginPayload") <= LIMIT, codes
    after = await _together(cluster, ["contato-demo"], "agent2@contato.dev", "203.0.113.33")
    assert after == ["TOO_MANY_ATTEMPTS"]
