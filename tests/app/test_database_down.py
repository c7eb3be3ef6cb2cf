"""A database that cannot be reached: every answer is JSON with the request id, 503 with a typed code
and `Retry-After`, wherever the fault happens; once the database is back, requests succeed again.

Through real uvicorn on a PostgreSQL server of the test's own, stopped and started again."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.servers import LiveServer, PostgresServer

ME = "query { me { id email } }"
LOGIN = (
    "mutation($e: String!, $p: String!) { login(email: $e, password: $p) "
    "{ __typename ... on LoginPayload { token } ... on LoginError { code } } }"
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    reason = PostgresServer.unavailable_reason()
    if reason is not None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = PostgresServer()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def server(postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer(tmp_path_factory.mktemp("database-down"), {"DATABASE_URL": postgres.url})
    # Its own cluster, so every migration is applied at start (15 s of CPU on a quiet core; CI's load
    # has taken it past two minutes).
    live.start(timeout=300)
    try:
        yield live
    finally:
        live.stop()


def _post(server: LiveServer, query: str, variables: dict | None = None, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers, timeout=30
    )


def _assert_unavailable(response: httpx.Response, request_id: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith(("application/json", "application/graphql-response+json"))
    assert response.headers["x-request-id"] == request_id
    assert int(response.headers["retry-after"]) >= 1
    errors = response.json()["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["SERVICE_UNAVAILABLE"], errors
    assert errors[0]["extensions"]["retryAfterSeconds"] >= 1
    assert "Connect call failed" not in response.text and "Errno" not in response.text


async def _init_close_code(server: LiveServer, token: str) -> int | None:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        try:
            message = await asyncio.wait_for(socket.recv(), 30)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        return json.loads(message)["type"]  # type: ignore[no-any-return]


def test_a_database_that_cannot_be_reached_answers_503_with_the_request_id_then_recovers(
    postgres: PostgresServer, server: LiveServer
) -> None:
    # given: a logged-in supervisor, and an attachment link to ask for
    token = server.login("supervisor@contato.dev")
    assert _post(server, ME, Authorization=f"Bearer {token}").json()["data"]["me"]["email"] == "supervisor@contato.dev"

    # when: the database goes away
    postgres.stop()
    try:
        # then: the token check (before any resolver) answers 503 in JSON, with the request id
        _assert_unavailable(_post(server, ME, Authorization=f"Bearer {token}", **{"X-Request-ID": "auth1"}), "auth1")
        # the same for a client that asked for graphql-response+json
        _assert_unavailable(
            _post(
                server, ME, Authorization=f"Bearer {token}", Accept="application/graphql-response+json",
                **{"X-Request-ID": "auth2"},
            ),
            "auth2",
        )
        # a resolver's fault (login reads the throttle) is not masked as "Unexpected error."
        _assert_unavailable(
            _post(server, LOGIN, {"e": "agent@contato.dev", "p": "contato-demo"}, **{"X-Request-ID": "resolver1"}),
            "resolver1",
        )
        # a route of our own
        download = httpx.get(
            f"{server.url}/attachments/1",
            headers={"Authorization": f"Bearer {token}", "X-Request-ID": "download1"},
            timeout=30,
        )
        _assert_unavailable(download, "download1")
        # and the export and import-report routes, by token and by signed link alike
        for index, path in enumerate(("/exports/1.csv", "/imports/1/errors.csv")):
            request_id = f"data{index}"
            response = httpx.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {token}",
                                                                 "X-Request-ID": request_id}, timeout=30)
            _assert_unavailable(response, request_id)
            signed = httpx.get(f"{server.url}{path}?user=1&expires=9999999999&signature=00",
                               headers={"X-Request-ID": f"{request_id}s"}, timeout=30)
            _assert_unavailable(signed, f"{request_id}s")
        # a WebSocket whose connection_init cannot be checked closes with "try again later"
        assert asyncio.run(_init_close_code(server, token)) == 1013
    finally:
        # when: the database comes back
        postgres.start()

    # then: the next requests succeed (the pool reconnects)
    response = _post(server, ME, Authorization=f"Bearer {token}")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["me"]["email"] == "supervisor@contato.dev"
    assert _post(server, LOGIN, {"e": "agent@contato.dev", "p": "contato-demo"}).json()["data"]["login"][
        "__typename"
    ] == "LoginPayload"
    assert asyncio.run(_init_close_code(server, token)) == "connection_ack"


async def test_an_open_websocket_gets_a_typed_error_while_the_database_is_away(
    postgres: PostgresServer, server: LiveServer
) -> None:
    # given: a WebSocket acknowledged while the database was up
    token = server.login("supervisor@contato.dev")
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 30))["type"] == "connection_ack"
        # when: the database goes away and the client queries over the socket
        await asyncio.to_thread(postgres.stop)
        try:
            query = {"query": "{ persons(first: 1) { edges { node { id } } } }"}
            await socket.send(json.dumps({"id": "q1", "type": "subscribe", "payload": query}))
            message = json.loads(await asyncio.wait_for(socket.recv(), 30))
        finally:
            await asyncio.to_thread(postgres.start)
        # then: a typed error the client can retry on, not "Unexpected error."
        assert message["type"] == "next", message
        errors = message["payload"]["errors"]
        assert [error["extensions"]["code"] for error in errors] == ["SERVICE_UNAVAILABLE"], errors
        # and once it is back, the same socket answers
        await socket.send(json.dumps({"id": "q2", "type": "subscribe", "payload": query}))
        while (message := json.loads(await asyncio.wait_for(socket.recv(), 30)))["id"] != "q2":
            pass
        assert "errors" not in message["payload"], message
