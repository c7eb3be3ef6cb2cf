"""graphql-transport-ws through real uvicorn with a real WebSocket client."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.servers import LiveServer

PROTOCOL = "graphql-transport-ws"


async def _init(server: LiveServer, payload: dict | None, origin: str | None = None) -> tuple[str, int | None]:
    async with websockets.connect(
        server.ws_url, subprotocols=[PROTOCOL], origin=origin  # type: ignore[arg-type]
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload or {}}))
        try:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
            return message["type"], None
        except ConnectionClosed as closed:
            return "closed", closed.rcvd.code if closed.rcvd else None


async def test_valid_token_is_acknowledged(live_server: LiveServer) -> None:
    token = live_server.login("supervisor@contato.dev")
    assert await _init(live_server, {"authToken": token}) == ("connection_ack", None)


async def test_missing_or_bad_token_closes_with_4403(live_server: LiveServer) -> None:
    assert await _init(live_server, {}) == ("closed", 4403)
    assert await _init(live_server, {"authToken": "garbage"}) == ("closed", 4403)


async def test_cross_origin_handshake_needs_an_allowed_origin(live_server: LiveServer) -> None:
    token = live_server.login("supervisor@contato.dev")
    allowed = await _init(live_server, {"authToken": token}, origin="https://wallboard.example")
    assert allowed == ("connection_ack", None)
    with pytest.raises(InvalidStatus) as refused:
        await _init(live_server, {"authToken": token}, origin="https://evil.example")
    assert refused.value.response.status_code == 403


async def test_legacy_graphql_ws_protocol_is_not_offered(live_server: LiveServer) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-ws"]) as socket:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_no_connection_init_closes_with_4408(live_server: LiveServer) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


async def _acknowledged(server: LiveServer) -> websockets.ClientConnection:
    socket = await websockets.connect(server.ws_url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    token = server.login("supervisor@contato.dev")
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
    assert json.loads(await asyncio.wait_for(socket.recv(), timeout=5))["type"] == "connection_ack"
    return socket


async def test_subscriptions_per_connection_are_capped(live_server: LiveServer) -> None:
    # given: a server that allows two subscriptions per connection (WS_MAX_SUBSCRIPTIONS=2)
    socket = await _acknowledged(live_server)
    query = "subscription { ticketUpdates { __typename } }"
    try:
        # when
        for operation_id in ("1", "2", "3"):
            await socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query}}))
        answer = json.loads(await asyncio.wait_for(socket.recv(), timeout=5))
    finally:
        await socket.close()
    # then: the third is refused, the connection stays
    assert answer["id"] == "3" and answer["type"] == "error"
    assert answer["payload"][0]["message"] == "Subscription limit reached"


async def test_oversized_messages_close_the_connection(live_server: LiveServer) -> None:
    socket = await _acknowledged(live_server)
    huge = json.dumps({"id": "1", "type": "subscribe", "payload": {"query": "#" + "x" * (2 * 1024 * 1024)}})
    with pytest.raises(ConnectionClosed) as closed:
        await socket.send(huge)
        await asyncio.wait_for(socket.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


async def _extensions(server: LiveServer) -> str | None:
    async with websockets.connect(server.ws_url, subprotocols=[PROTOCOL], compression="deflate") as socket:
        return socket.response.headers.get("Sec-WebSocket-Extensions")


async def test_compression_is_negotiated_unless_turned_off(live_server: LiveServer, tmp_path) -> None:
    assert "permessage-deflate" in (await _extensions(live_server) or "")
    plain = LiveServer(tmp_path, {"WS_COMPRESSION": "false"})
    plain.start()
    try:
        assert await _extensions(plain) is None
        token = plain.login("supervisor@contato.dev")
        assert await _init(plain, {"authToken": token}) == ("connection_ack", None)
    finally:
        plain.stop()
