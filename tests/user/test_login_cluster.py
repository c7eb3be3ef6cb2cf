"""Login throttling raced across two uvicorn workers on PostgreSQL: attempts sent together."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
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
    create_migrated_database(database)
    # Behind a "proxy" on 127.0.0.1, so that each test is its own client address.
    env = {
        "DATABASE_URL": _pg_url(database) + "?maxsize=16", "BROADCAST_URL": redis.url,
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


async def _throttled(database: str, key: str) -> int:
    connection = await asyncpg.connect(_pg_url(database).replace("postgres://", "postgresql://", 1))
    try:
        value = await connection.fetchval('SELECT "failures" FROM "login_throttle" WHERE "key" = $1', key)
    finally:
        await connection.close()
    return int(value or 0)


async def _until(condition: Callable[[], Awaitable[bool]], timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "the attempts never reached the database"
        await asyncio.sleep(0.02)


async def test_a_right_password_holding_a_place_while_guesses_come_in_does_not_unlock_the_account(
    cluster: LiveServer,
) -> None:
    # given: the accounts table locked, so that every attempt takes its place in the window (the
    # throttle row) and then waits before its password is checked: the arrival order is the test's
    email, database = "agent2@contato.dev", cluster.env["DATABASE_URL"].rsplit("/", 1)[1].split("?")[0]
    holder = await asyncpg.connect(_pg_url(database).replace("postgres://", "postgresql://", 1))
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute('LOCK TABLE "app_user" IN ACCESS EXCLUSIVE MODE')
        # when: the right password takes the first place, then 9 wrong ones come in while it waits
        right = asyncio.create_task(_together(cluster, ["contato-demo"], email, "203.0.113.32"))
        await _until(lambda: _reached(database, email, 1))
        wrong = asyncio.create_task(_together(cluster, ["wrong"] * 9, email, "203.0.113.32"))
        await _until(lambda: _reached(database, email, 10))
        await transaction.rollback()
    finally:
        await holder.close()
    codes = await right + await wrong
    # then: exactly LIMIT passwords were checked (the right one and three guesses), the rest refused
    assert codes[0] == "LoginPayload", codes
    assert sorted(codes[1:]) == ["INVALID_CREDENTIALS"] * (LIMIT - 1) + ["TOO_MANY_ATTEMPTS"] * (10 - LIMIT), codes
    # and the success forgave nothing (guesses came in after it): the account stays locked
    after = await _together(cluster, ["contato-demo"], email, "203.0.113.33")
    assert after == ["TOO_MANY_ATTEMPTS"]


async def _reached(database: str, email: str, count: int) -> bool:
    return await _throttled(database, email) >= count
