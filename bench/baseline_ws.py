"""The baseline of bench/fanout.py: a raw WebSocket broadcast (not the product).

What a hand-written server does to push one message to N sockets: it speaks just enough
graphql-transport-ws for the benchmark's client (connection_init → connection_ack, subscribe, ping,
complete), and `POST /publish {"body": …}` encodes the same `next` payload Contato sends for a new
ticket message once, then sends it to every subscriber under its own operation id, one after the
other. No database, no authentication, no GraphQL. Served by uvicorn with `contato serve`'s WebSocket
settings (ping every 20 s, 1 MiB frames, permessage-deflate as negotiated).

With `--workers N --redis URL` (bench/fanout.py --workers N), the worker that takes the POST publishes
the encoded payload on a Redis channel once, and every worker sends it to its own subscribers: the
least a multi-process broadcast does.

    .venv/bin/python bench/baseline_ws.py --port 8002
    .venv/bin/python bench/baseline_ws.py --port 8002 --workers 2 --redis redis://127.0.0.1:6379
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

PROTOCOL = "graphql-transport-ws"
CHANNEL = "baseline-fanout"
REDIS_ENV = "BASELINE_WS_REDIS_URL"  # how `--redis` reaches uvicorn's workers


class Broadcast:
    def __init__(self, redis_url: str | None = None) -> None:
        self.subscribers: dict[tuple[int, str], tuple[WebSocket, str]] = {}
        self.cursors = itertools.count(1)
        self.connections = itertools.count(1)
        self.redis_url = redis_url
        self.redis: Any = None

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        if self.redis_url is None:
            yield
            return
        import redis.asyncio

        self.redis = redis.asyncio.Redis.from_url(self.redis_url)
        pubsub = self.redis.pubsub()
        await pubsub.subscribe(CHANNEL)
        listener = asyncio.create_task(self.listen(pubsub))
        try:
            yield
        finally:
            listener.cancel()
            await pubsub.aclose()
            await self.redis.aclose()

    async def listen(self, pubsub: Any) -> None:
        async for message in pubsub.listen():
            if message["type"] == "message":
                await self.send_all(message["data"].decode())

    async def socket(self, websocket: WebSocket) -> None:
        await websocket.accept(subprotocol=PROTOCOL)
        connection = next(self.connections)
        mine: set[tuple[int, str]] = set()
        try:
            while True:
                message = orjson.loads(await websocket.receive_text())
                kind = message.get("type")
                if kind == "connection_init":
                    await websocket.send_text('{"type":"connection_ack"}')
                elif kind == "ping":
                    await websocket.send_text('{"type":"pong"}')
                elif kind == "subscribe":
                    key = (connection, str(message["id"]))
                    prefix = '{"id":' + orjson.dumps(key[1]).decode() + ',"type":"next","payload":'
                    self.subscribers[key] = (websocket, prefix)
                    mine.add(key)
                elif kind == "complete":
                    key = (connection, str(message.get("id")))
                    self.subscribers.pop(key, None)
                    mine.discard(key)
        except WebSocketDisconnect:
            pass
        finally:
            for key in mine:
                self.subscribers.pop(key, None)

    async def publish(self, request: Request) -> Response:
        body = orjson.loads(await request.body())["body"]
        payload = orjson.dumps({"data": {"ticketUpdates": {
            "__typename": "TicketEvent", "cursor": str(next(self.cursors)), "kind": "MESSAGE_ADDED",
            "newMessage": {"body": body},
        }}}).decode()
        if self.redis is not None:
            await self.redis.publish(CHANNEL, payload)
            return Response(status_code=202)
        return Response(status_code=202, background=BackgroundTask(self.send_all, payload))

    async def send_all(self, payload: str) -> None:
        for websocket, prefix in list(self.subscribers.values()):
            try:
                await websocket.send_text(prefix + payload + "}")
            except (WebSocketDisconnect, RuntimeError, OSError):
                continue

    async def healthz(self, request: Request) -> Response:
        return Response("ok")


def create_app() -> Starlette:
    broadcast = Broadcast(os.environ.get(REDIS_ENV) or None)
    return Starlette(routes=[
        WebSocketRoute("/graphql", broadcast.socket),
        Route("/publish", broadcast.publish, methods=["POST"]),
        Route("/healthz", broadcast.healthz),
    ], lifespan=broadcast.lifespan)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis", metavar="URL", help="share each message with every worker through Redis")
    args = parser.parse_args()
    if args.workers > 1 and not args.redis:
        parser.error("--workers above 1 needs --redis")
    if args.redis:
        os.environ[REDIS_ENV] = args.redis
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # workers import this file by name
    uvicorn.run(
        "baseline_ws:create_app", factory=True, host=args.host, port=args.port, log_level="warning",
        workers=args.workers, ws_ping_interval=20.0, ws_ping_timeout=20.0, ws_max_size=1024 * 1024,
    )


if __name__ == "__main__":
    main()
