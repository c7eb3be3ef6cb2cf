"""Mutations with an idempotency key, through real uvicorn (PostgreSQL in the PostgreSQL pass): a retry
replays the first answer and writes nothing; another request with the key is refused; concurrent
requests with one key write once; a worker killed before or after the commit leaves a state the
retry completes without writing twice."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets

from contato.settings import Settings
from models.idempotency import IdempotencyKey
from models.user import Role
from realtime.alerts import prune_events
from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.factories import Factory
from tests.servers import LiveServer, unique_database_name

ADD = """
mutation Add($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) {
    __typename ... on TicketMessage { id body } ... on TicketError { code message }
  }
}
"""
MESSAGES = "query($id: ID!) { ticket(id: $id) { messages(first: 100) { edges { node { body } } } } }"
TICKETS = "{ tickets(first: 1, filter: {state: OPEN}) { edges { node { id } } } }"
GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture(scope="module")
def database() -> Iterator[str | None]:
    """The server's database: a PostgreSQL one in the PostgreSQL pass, else its SQLite file."""
    if not PG_ADMIN_URL:
        yield None
        return
    name = unique_database_name()
    create_migrated_database(name)
    try:
        yield _pg_url(name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _environment(database: str | None) -> dict[str, str]:
    env = {"MUTATIONS_PER_MINUTE": "0", "IDEMPOTENCY_WAIT_SECONDS": "1", "MAIL_IN_SERVER": "false"}
    if database:
        env["DATABASE_URL"] = database
    return env


@pytest.fixture(scope="module")
def server(database: str | None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("idempotency"), _environment(database))
    live.start(timeout=120)
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def token(server: LiveServer) -> str:
    return server.login("supervisor@contato.dev")


@pytest.fixture(scope="module")
def ticket_id(server: LiveServer, token: str) -> str:
    return str(server.graphql(TICKETS, token=token).json()["data"]["tickets"]["edges"][0]["node"]["id"])


def _add(
    server: LiveServer, token: str, ticket_id: str, body: str, key: str | None, accept: str = "application/json"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Accept": accept}
    if key is not None:
        headers["Idempotency-Key"] = key
    variables = {"input": {"ticketId": ticket_id, "body": body, "notifyCustomer": False}}
    return httpx.post(
        f"{server.url}/graphql", json={"query": ADD, "variables": variables}, headers=headers, timeout=30
    )


def _stored(server: LiveServer, token: str, ticket_id: str, body: str) -> int:
    edges = server.graphql(MESSAGES, {"id": ticket_id}, token=token).json()["data"]["ticket"]["messages"]["edges"]
    return sum(1 for edge in edges if edge["node"]["body"] == body)


def test_a_retry_with_the_key_replays_the_first_answer_and_writes_nothing(
    server: LiveServer, token: str, ticket_id: str
) -> None:
    # given: a message added with a key
    key, body = str(uuid.uuid4()), f"once {uuid.uuid4()}"
    first = _add(server, token, ticket_id, body, key)
    assert first.json()["data"]["ticketMessageAdd"]["__typename"] == "TicketMessage", first.text
    assert "idempotent-replayed" not in first.headers
    # when: the client retries with the same key
    retry = _add(server, token, ticket_id, body, key)
    # then: the same answer, marked as replayed, and one message
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.headers["idempotent-replayed"] == "true"
    assert _stored(server, token, ticket_id, body) == 1
    # and without a key, the same request writes again (nothing changes for clients that send none)
    _add(server, token, ticket_id, body, None)
    assert _stored(server, token, ticket_id, body) == 2


def test_the_key_of_another_request_is_refused(server: LiveServer, token: str, ticket_id: str) -> None:
    # given
    key, body = str(uuid.uuid4()), f"first {uuid.uuid4()}"
    _add(server, token, ticket_id, body, key)
    # when: the key comes back with other variables
    other = _add(server, token, ticket_id, f"other {uuid.uuid4()}", key, accept=GRAPHQL_RESPONSE)
    # then
    assert other.status_code == 422, other.text
    assert [error["extensions"]["code"] for error in other.json()["errors"]] == ["IDEMPOTENCY_KEY_REUSED"]
    assert "data" not in other.json()
    assert _stored(server, token, ticket_id, body) == 1


def test_keys_belong_to_their_user(server: LiveServer, token: str, ticket_id: str) -> None:
    # given: a key used by the supervisor
    key, body = str(uuid.uuid4()), f"mine {uuid.uuid4()}"
    _add(server, token, ticket_id, body, key)
    # when: an admin sends the same request with the same key
    admin = server.login("admin@contato.dev")
    answer = _add(server, admin, ticket_id, body, key)
    # then: it is the admin's own request, and runs
    assert "idempotent-replayed" not in answer.headers
    assert _stored(server, token, ticket_id, body) == 2


def test_an_invalid_key_is_refused(server: LiveServer, token: str, ticket_id: str) -> None:
    body = f"bad key {uuid.uuid4()}"
    for key in ("", "x" * 256, "with space"):
        answer = _add(server, token, ticket_id, body, key, accept=GRAPHQL_RESPONSE)
        assert answer.status_code == 400, answer.text
        assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert _stored(server, token, ticket_id, body) == 0


async def test_concurrent_requests_with_one_key_write_once(server: LiveServer, token: str, ticket_id: str) -> None:
    # given
    key, body = str(uuid.uuid4()), f"together {uuid.uuid4()}"
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    variables = {"input": {"ticketId": ticket_id, "body": body, "notifyCustomer": False}}
    # when: six requests with the key at once
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        answers = await asyncio.gather(
            *(http.post("/graphql", json={"query": ADD, "variables": variables}, headers=headers) for _ in range(6))
        )
    # then: one ran; the others waited for it and got its answer, or were told it is still running
    in_progress = [answer for answer in answers if answer.json().get("errors")]
    assert all(answer.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS" for answer in in_progress)
    answered = [answer for answer in answers if answer not in in_progress]
    assert len([answer for answer in answered if "idempotent-replayed" not in answer.headers]) == 1
    assert len({json.dumps(answer.json(), sort_keys=True) for answer in answered}) == 1
    assert _stored(server, token, ticket_id, body) == 1


async def _ws_mutation(server: LiveServer, token: str, variables: dict, key: object) -> dict:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "connection_ack"
        payload = {"query": ADD, "variables": variables, "extensions": {"idempotencyKey": key}}
        await socket.send(json.dumps({"id": "m1", "type": "subscribe", "payload": payload}))
        message = json.loads(await asyncio.wait_for(socket.recv(), 30))
        if message["type"] == "next":
            assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "complete"
        return message  # type: ignore[no-any-return]


async def test_over_a_websocket_the_key_rides_in_the_subscribe_extensions(
    server: LiveServer, token: str, ticket_id: str
) -> None:
    # given: a mutation sent over a WebSocket with a key
    key, body = str(uuid.uuid4()), f"socket {uuid.uuid4()}"
    variables = {"input": {"ticketId": ticket_id, "body": body, "notifyCustomer": False}}
    first = await _ws_mutation(server, token, variables, key)
    assert first["type"] == "next" and first["payload"]["data"]["ticketMessageAdd"]["__typename"] == "TicketMessage"
    # when: it is retried over a new socket, and over HTTP
    again = await _ws_mutation(server, token, variables, key)
    over_http = await asyncio.to_thread(_add, server, token, ticket_id, body, key)
    # then: both get the first answer; one message
    assert again["payload"] == first["payload"]
    assert over_http.json() == first["payload"]
    assert await asyncio.to_thread(_stored, server, token, ticket_id, body) == 1
    # and a key that is not a string is refused
    refused = await _ws_mutation(server, token, variables, 42)
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_expired_keys_are_pruned(factory: Factory) -> None:
    # given: a key from two days ago and one from now
    user = await factory.user(Role.AGENT)
    old = await IdempotencyKey.create(user_id=user.pk, key="old", fingerprint="f", response="{}")
    await IdempotencyKey.filter(id=old.pk).update(created_at=datetime.now(UTC) - timedelta(days=2))
    await IdempotencyKey.create(user_id=user.pk, key="new", fingerprint="f", response="{}")
    # when
    await prune_events(timedelta(hours=72), idempotency_keys=timedelta(hours=Settings().idempotency_key_hours))
    # then
    assert await IdempotencyKey.all().values_list("key", flat=True) == ["new"]


# A worker killed mid-request (PostgreSQL: the test watches the server's transaction from outside)


def _server_process(server: LiveServer) -> subprocess.Popen[bytes]:
    assert server._process is not None
    return server._process


def _send_without_reading(server: LiveServer, token: str, ticket_id: str, body: str, key: str) -> object:
    """Send the mutation on a raw socket and never read the answer: the client sees no response."""
    import socket

    variables = {"input": {"ticketId": ticket_id, "body": body, "notifyCustomer": False}}
    payload = json.dumps({"query": ADD, "variables": variables}).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {token}\r\nIdempotency-Key: {key}\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode()
    connection = socket.create_connection(("127.0.0.1", server.port))
    connection.sendall(head + payload)
    return connection


async def _wait_for(condition: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture
def killable(database: str | None, tmp_path: Path) -> Iterator[LiveServer]:
    if database is None:
        pytest.skip("watches the server's transaction from outside: the PostgreSQL pass")
    # No alert scheduler: the only writer is the request under test.
    live = LiveServer(tmp_path, {**_environment(database), "ALERTS_IN_SERVER": "false"})
    live.start(timeout=120)
    try:
        yield live
    finally:
        live.stop()


def _kill_and_restart(server: LiveServer) -> None:
    process = _server_process(server)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    server.start(timeout=120)


async def test_a_worker_killed_after_the_commit_leaves_an_answer_to_replay(
    killable: LiveServer, database: str
) -> None:
    server = killable
    token = server.login("supervisor@contato.dev")
    ticket_id = str(server.graphql(TICKETS, token=token).json()["data"]["tickets"]["edges"][0]["node"]["id"])
    key, body = str(uuid.uuid4()), f"killed after commit {uuid.uuid4()}"
    watcher = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        # given: the mutation is sent, and the client never reads its answer
        connection = _send_without_reading(server, token, ticket_id, body, key)

        async def committed() -> bool:
            return bool(await watcher.fetchval("SELECT count(*) FROM idempotency_key WHERE key = $1", key))

        # when: the worker is killed as soon as the transaction has committed
        await _wait_for(committed)
        await asyncio.to_thread(_kill_and_restart, server)
        connection.close()  # type: ignore[attr-defined]
        # then: the retry replays the committed answer, and the message is there once
        retry = await asyncio.to_thread(_add, server, token, ticket_id, body, key)
        assert retry.headers.get("idempotent-replayed") == "true", retry.text
        stored = await watcher.fetchval("SELECT response FROM idempotency_key WHERE key = $1", key)
        assert retry.json() == json.loads(stored)
        assert retry.json()["data"]["ticketMessageAdd"]["body"] == body
        assert await watcher.fetchval("SELECT count(*) FROM ticket_message WHERE body = $1", body) == 1
    finally:
        await watcher.close()


async def test_a_worker_killed_before_the_commit_leaves_nothing_and_the_retry_writes_once(
    killable: LiveServer, database: str
) -> None:
    server = killable
    token = server.login("supervisor@contato.dev")
    ticket_id = str(server.graphql(TICKETS, token=token).json()["data"]["tickets"]["edges"][0]["node"]["id"])
    key, body = str(uuid.uuid4()), f"killed before commit {uuid.uuid4()}"
    watcher = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    blocker = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        # given: the event counter row is locked, so the mutation stops inside its transaction
        blocker_transaction = blocker.transaction()
        await blocker_transaction.start()
        await blocker.execute("INSERT INTO event_counter (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING")
        await blocker.execute("SELECT value FROM event_counter WHERE id = 1 FOR UPDATE")
        connection = _send_without_reading(server, token, ticket_id, body, key)

        async def waiting_for_the_lock() -> bool:
            return bool(await watcher.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> $1",
                blocker.get_server_pid(),
            ))

        await _wait_for(waiting_for_the_lock)
        # when: the worker is killed mid-transaction, then the lock goes
        await asyncio.to_thread(_kill_and_restart, server)
        connection.close()  # type: ignore[attr-defined]
        await blocker_transaction.rollback()
        # then: nothing of it was kept, and the retry runs and writes once
        assert await watcher.fetchval("SELECT count(*) FROM idempotency_key WHERE key = $1", key) == 0
        assert await watcher.fetchval("SELECT count(*) FROM ticket_message WHERE body = $1", body) == 0
        retry = await asyncio.to_thread(_add, server, token, ticket_id, body, key)
        assert "idempotent-replayed" not in retry.headers
        assert retry.json()["data"]["ticketMessageAdd"]["body"] == body
        again = await asyncio.to_thread(_add, server, token, ticket_id, body, key)
        assert again.headers.get("idempotent-replayed") == "true"
        assert await watcher.fetchval("SELECT count(*) FROM ticket_message WHERE body = $1", body) == 1
    finally:
        await blocker.close()
        await watcher.close()


async def test_a_request_waiting_too_long_for_its_key_is_told_it_is_in_progress(
    killable: LiveServer, database: str
) -> None:
    server = killable
    token = server.login("supervisor@contato.dev")
    ticket_id = str(server.graphql(TICKETS, token=token).json()["data"]["tickets"]["edges"][0]["node"]["id"])
    key, body = str(uuid.uuid4()), f"in progress {uuid.uuid4()}"
    user_id = int(server.graphql("{ me { id } }", token=token).json()["data"]["me"]["id"])
    holder = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        # given: another request holds the key (its row not committed yet)
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute(
            "INSERT INTO idempotency_key (user_id, key, fingerprint, created_at) VALUES ($1, $2, 'x', now())",
            user_id, key,
        )
        # when: a request with the key waits longer than IDEMPOTENCY_WAIT_SECONDS (1 s here)
        answer = await asyncio.to_thread(_add, server, token, ticket_id, body, key, GRAPHQL_RESPONSE)
        # then
        assert answer.status_code == 409, answer.text
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["errors"][0]["extensions"]["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"
        await transaction.rollback()
        # and once the other one is gone (rolled back), the request runs
        retry = await asyncio.to_thread(_add, server, token, ticket_id, body, key)
        assert retry.json()["data"]["ticketMessageAdd"]["body"] == body
    finally:
        await holder.close()
