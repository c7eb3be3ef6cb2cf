"""A small graphql-transport-ws client on the `websockets` library, for tests against live servers."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from typing import Any

import websockets
from websockets.exceptions import ConnectionClosed

PROTOCOL = "graphql-transport-ws"


class WsClient:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self._socket: Any = None
        self._queues: dict[str, asyncio.Queue[dict[str, Any] | None]] = defaultdict(asyncio.Queue)
        self._reader: asyncio.Task[None] | None = None
        self._ids = 0

    async def __aenter__(self) -> WsClient:
        self._socket = await websockets.connect(self.url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
        await self._socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": self.token}}))
        ack = json.loads(await asyncio.wait_for(self._socket.recv(), 5))
        assert ack["type"] == "connection_ack", ack
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._socket.close()

    async def _read(self) -> None:
        try:
            async for raw in self._socket:
                message = json.loads(raw)
                if message["type"] == "ping":
                    await self._socket.send(json.dumps({"type": "pong"}))
                elif message["type"] == "next":
                    self._queues[message["id"]].put_nowait(message["payload"])
                elif message["type"] in ("complete", "error"):
                    self._queues[message["id"]].put_nowait(None)
        except ConnectionClosed:
            pass

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        self._ids += 1
        operation_id = str(self._ids)
        await self._socket.send(
            json.dumps({"id": operation_id, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})
        )
        return operation_id

    async def next(self, operation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        payload = await asyncio.wait_for(self._queues[operation_id].get(), timeout)
        assert payload is not None, "the subscription completed"
        assert "errors" not in payload, payload
        return payload["data"]

    async def quiet(self, operation_id: str, wait: float = 1.5) -> list[dict[str, Any]]:
        await asyncio.sleep(wait)
        extra = []
        queue = self._queues[operation_id]
        while not queue.empty():
            extra.append(queue.get_nowait())
        return extra
