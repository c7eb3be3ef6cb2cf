"""Hostile input through the wire (issue 11): real uvicorn, HTTP and graphql-transport-ws, on a server
whose schema is private (INTROSPECTION=false), so that suggestions must stay hidden as well.

The in-process tests (test_hostile_*.py) cover each field; these check that what they hold is what a
client on a socket sees: a typed refusal and an open connection, never a 500 or a dropped socket.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from resolvers.bounds import LATEST_YEAR
from tests.app.hostile import LONE
from tests.conftest import live_database
from tests.servers import LiveServer

PROTOCOL = "graphql-transport-ws"
PERSONS = "query($t: String) { persons(filter: {text: $t}) { edges { node { id } } } }"


@pytest.fixture(scope="module")
def private_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    env = {"INTROSPECTION": "false", "MUTATIONS_PER_MINUTE": "0"}
    with live_database() as database:
        server = LiveServer(directory, {**env, **database})
        server.start()
        try:
            yield server
        finally:
            server.stop()


def _post(server: LiveServer, body: dict[str, Any], token: str | None) -> httpx.Response:
    # json.dumps writes a lone surrogate as the escape \ud800, as a hostile client would send it
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(f"{server.url}/graphql", content=json.dumps(body), headers=headers, timeout=10)


def test_hostile_input_over_http(private_server: LiveServer) -> None:
    token = private_server.login("admin@contato.dev")
    # an attachment id no database integer holds is not found, never a fault
    for attachment_id in ("99999999999999999999", "2147483648", "0"):
        response = httpx.get(
            f"{private_server.url}/attachments/{attachment_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert response.status_code == 404, (attachment_id, response.status_code, response.text)
    refused = [
        ({"query": PERSONS, "variables": {"t": LONE}}, token, "BAD_USER_INPUT"),
        ({"query": 'mutation($e: String!) { login(email: $e, password: "p") { __typename } }', "variables": {"e": LONE}},
         None, "BAD_USER_INPUT"),
        ({"query": "query($d: DateTime) { pendingCallbacks(dueBefore: $d) { __typename } }",
          "variables": {"d": "0001-01-01T00:00:00+14:00"}}, token, "BAD_USER_INPUT"),
        ({"query": PERSONS, "variables": {"t": "%" * 100_000}}, token, "BAD_USER_INPUT"),
        ({"query": "query($f: PersonFilter) { persons(filter: $f) { edges { node { id } } } }",
          "variables": {"f": {"txt": "a"}}}, token, None),
        ({"query": "query($r: Role) { users(role: $r) { edges { node { id } } } }", "variables": {"r": "ADMN"}}, token, None),
    ]
    for body, bearer, code in refused:
        response = _post(private_server, body, bearer)
        assert response.status_code == 200, response.text[:500]
        errors = response.json()["errors"]
        assert "Unexpected error." not in response.text and "Did you mean" not in response.text, errors
        assert errors[0].get("extensions", {}).get("code") == code, errors
    inline = _post(private_server, {"query": f'{{ persons(filter: {{text: "{LONE}"}}) {{ edges {{ node {{ id }} }} }} }}'}, token)
    assert inline.status_code == 200 and "Syntax Error" in inline.text, inline.text


async def _reply(socket: websockets.ClientConnection, operation_id: str) -> dict[str, Any]:
    """The first `next` or `error` message for `operation_id` (a `complete` may come in between)."""
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
        if message.get("id") == operation_id and message["type"] in ("next", "error"):
            return message


async def test_hostile_input_over_websocket(private_server: LiveServer) -> None:
    # a token a JWT can never be (a lone surrogate) closes the socket as any bad token does
    async with websockets.connect(private_server.ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": LONE}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    token = private_server.login("supervisor@contato.dev")
    async with websockets.connect(private_server.ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        attempts = [
            (PERSONS, {"t": LONE}, "surrogate"),
            ("subscription($t: ID) { ticketUpdates(ticketId: $t) { __typename } }", {"t": LONE}, "surrogate"),
            ("query($r: Role) { users(role: $r) { edges { node { id } } } }", {"r": "ADMN"}, "ADMN"),
            ("query($d: DateTime) { pendingCallbacks(dueBefore: $d) { __typename } }",
             {"d": "9999-12-31T23:59:59-14:00"}, str(LATEST_YEAR)),
            (PERSONS, {"t": "%" * 10_000}, "BAD_USER_INPUT"),
        ]
        for number, (query, variables, expected) in enumerate(attempts, start=1):
            await socket.send(json.dumps(
                {"id": str(number), "type": "subscribe", "payload": {"query": query, "variables": variables}}
            ))
            reply = await _reply(socket, str(number))
            text = json.dumps(reply)
            assert expected in text, reply
            assert "Unexpected error." not in text and "Did you mean" not in text, reply
        # the socket is still open and answers
        await socket.send(json.dumps({"id": "ok", "type": "subscribe", "payload": {"query": "{ me { role } }"}}))
        assert (await _reply(socket, "ok"))["payload"] == {"data": {"me": {"role": "SUPERVISOR"}}}


async def _acknowledged(server: LiveServer) -> websockets.ClientConnection:
    socket = await websockets.connect(server.ws_url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": server.login("agent@contato.dev")}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def _close_code(socket: websockets.ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), timeout=10)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.mark.parametrize("name", ["Missing", LONE])
async def test_an_unknown_operation_name_over_websocket_closes_with_4400(private_server: LiveServer, name: str) -> None:
    # It was "Unexpected error." (a masked, logged fault) for any name: the masking hid the error
    # Strawberry closes the socket for, as graphql-transport-ws asks of an invalid subscribe message.
    socket = await _acknowledged(private_server)
    await socket.send(json.dumps(
        {"id": "1", "type": "subscribe", "payload": {"query": "{ me { id } }", "operationName": name}}
    ))
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=10))
            assert "Unexpected error." not in json.dumps(message), message
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4400
    assert closed.value.rcvd.reason == f'Unknown operation named "{name}".'.encode(errors="backslashreplace").decode()


async def test_close_reasons_quoting_a_surrogate_still_close_cleanly(private_server: LiveServer) -> None:
    # the reason quotes the client's operation id or message type; encoding it failed and dropped the
    # socket without a close frame (1006)
    subscription = {"query": "subscription { ticketUpdates { __typename } }"}
    socket = await _acknowledged(private_server)
    for _ in range(2):
        await socket.send(json.dumps({"id": LONE, "type": "subscribe", "payload": subscription}))
    assert await _close_code(socket) == 4409
    socket = await _acknowledged(private_server)
    await socket.send(json.dumps({"id": "1", "type": LONE}))
    assert await _close_code(socket) == 4400
