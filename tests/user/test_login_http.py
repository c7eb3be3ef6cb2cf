"""Logins and the mutation rate limit through real uvicorn: client addresses as the connection
gives them (or a trusted proxy's header), one login per request, mutations over the WebSocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from tests.conftest import served
from tests.servers import LiveServer

PROTOCOL = "graphql-transport-ws"
LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { __typename ... on LoginError { code retryAfterSeconds } } }"


def _server(tmp_path_factory: pytest.TempPathFactory, env: dict[str, str]) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("logins"), env) as server:
        yield server


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Behind a proxy on 127.0.0.1 (TRUSTED_PROXIES): each test speaks for its own client addresses."""
    yield from _server(
        tmp_path_factory,
        {"TRUSTED_PROXIES": "127.0.0.1", "LOGIN_MAX_FAILURES_PER_ADDRESS": "3", "MUTATIONS_PER_MINUTE": "5"},
    )


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """No trusted proxy (the default): the connection's address is the client's."""
    yield from _server(tmp_path_factory, {"LOGIN_MAX_FAILURES_PER_ADDRESS": "3"})


def _login(server: LiveServer, email: str, password: str, forwarded_for: str | None = None) -> dict[str, Any]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": LOGIN, "variables": {"e": email, "p": password}},
        headers=headers,
        timeout=10,
    )
    return dict(response.json()["data"]["login"])


def test_forwarded_for_is_ignored_without_a_trusted_proxy(direct: LiveServer) -> None:
    # given: three failures, each on another account and each claiming another forwarded address
    for index in range(3):
        failed = _login(direct, f"nobody{index}@contato.dev", "wrong", forwarded_for=f"198.51.100.{index}")
        assert failed["code"] == "INVALID_CREDENTIALS"
    # when: a fourth, with a new account and a new claimed address, even with the right password
    refused = _login(direct, "agent@contato.dev", "contato-demo", forwarded_for="198.51.100.99")
    # then: the connection's address is locked, whatever the header says
    assert refused["code"] == "TOO_MANY_ATTEMPTS"
    assert 0 < refused["retryAfterSeconds"] <= 301


def test_a_trusted_proxy_names_the_client_by_its_right_most_untrusted_hop(proxied: LiveServer) -> None:
    # given: three failures from 203.0.113.7 on three accounts; the client forged a left-most hop each time
    for index in range(3):
        chain = f"10.9.9.{index}, 203.0.113.7"
        assert _login(proxied, f"nobody{index}@contato.dev", "wrong", forwarded_for=chain)["code"] == "INVALID_CREDENTIALS"
    # when
    locked = _login(proxied, "agent@contato.dev", "contato-demo", forwarded_for="10.9.9.200, 203.0.113.7")
    other = _login(proxied, "agent@contato.dev", "contato-demo", forwarded_for="203.0.113.8")
    # then: the address is locked like an account, with the time to wait; another address is not
    assert locked["code"] == "TOO_MANY_ATTEMPTS" and locked["retryAfterSeconds"] > 0
    assert other["__typename"] == "LoginPayload"


def test_a_right_password_does_not_clear_its_address_failures(proxied: LiveServer) -> None:
    # given: two failures from one address on other accounts
    for index in range(2):
        assert _login(proxied, f"x{index}@contato.dev", "wrong", forwarded_for="203.0.113.20")["code"] == "INVALID_CREDENTIALS"
    # when: a right password from there, then one more wrong
    assert _login(proxied, "agent2@contato.dev", "contato-demo", forwarded_for="203.0.113.20")["__typename"] == "LoginPayload"
    assert _login(proxied, "x9@contato.dev", "wrong", forwarded_for="203.0.113.20")["code"] == "INVALID_CREDENTIALS"
    # then: three failures: the address is locked
    assert _login(proxied, "agent2@contato.dev", "contato-demo", forwarded_for="203.0.113.20")["code"] == "TOO_MANY_ATTEMPTS"


SIX_UPDATES = "mutation {" + " ".join(
    f'u{index}: personUpdate(id: "999999", input: {{name: "N"}}) {{ __typename }}' for index in range(6)
) + "}"


async def test_mutations_over_the_websocket_count_by_field(proxied: LiveServer) -> None:
    # given: five changes a minute (MUTATIONS_PER_MINUTE=5), and an open socket
    token = proxied.login("supervisor@contato.dev")
    async with websockets.connect(proxied.ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5))["type"] == "connection_ack"
        # when: one operation of six updates
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SIX_UPDATES}}))
        answer = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    # then: refused before it runs
    assert answer["type"] in ("next", "error"), answer
    errors = answer["payload"]["errors"] if answer["type"] == "next" else answer["payload"]
    assert errors[0]["extensions"]["code"] == "RATE_LIMITED", answer


def test_batched_requests_are_refused(proxied: LiveServer) -> None:
    # A batch would carry one login per operation past the one-login rule: batching stays off.
    body = [{"query": LOGIN, "variables": {"e": "agent@contato.dev", "p": f"guess{index}"}} for index in range(3)]
    response = httpx.post(f"{proxied.url}/graphql", json=body, timeout=10)
    assert response.status_code == 400
    assert "data" not in response.json()
