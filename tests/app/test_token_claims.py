"""Token claims out of range, through real uvicorn: "The token is not valid.", never a fault.

A token is signed, so only someone who holds SECRET_KEY (or a dev server's published default) can
make one; what it says is still checked for type and range before it reaches the database."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from contato.settings import DEV_SECRET_KEY
from tests.servers import LiveServer

PROTOCOL = "graphql-transport-ws"
ME = "query { me { email } }"


def _forged(**claims: Any) -> str:
    payload = {"sub": "1", "ver": 0, "exp": datetime.now(UTC) + timedelta(hours=1), **claims}
    return jwt.encode(payload, DEV_SECRET_KEY, algorithm="HS256")


FORGED = {
    "sub of 30 digits": {"sub": "9" * 30},
    "sub past the integer column": {"sub": str(2**31)},
    "sub not a number": {"sub": "1.5"},
    "ver a string": {"ver": "0"},
    "ver a float": {"ver": 0.0},
    "exp past year 9999": {"exp": 10**13},
}


@pytest.mark.parametrize("claims", FORGED.values(), ids=FORGED.keys())
def test_a_token_with_claims_out_of_range_is_not_valid_over_http(live_server: LiveServer, claims: dict[str, Any]) -> None:
    # when
    response = httpx.post(
        f"{live_server.url}/graphql",
        json={"query": ME},
        headers={"Authorization": f"Bearer {_forged(**claims)}", "Accept": "application/graphql-response+json"},
        timeout=10,
    )
    # then
    assert response.status_code == 401, response.text
    error = response.json()["errors"][0]
    assert (error["message"], error["extensions"]["code"]) == ("The token is not valid.", "UNAUTHENTICATED")


@pytest.mark.parametrize("claims", FORGED.values(), ids=FORGED.keys())
async def test_a_token_with_claims_out_of_range_closes_the_websocket_with_4403(
    live_server: LiveServer, claims: dict[str, Any]
) -> None:
    async with websockets.connect(live_server.ws_url, subprotocols=[PROTOCOL]) as socket:  # type: ignore[list-item]
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": _forged(**claims)}}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
