"""The app factory and the lifespan that owns the database and the broadcast."""

from __future__ import annotations

import contextlib
import logging
import uuid
from datetime import timedelta
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from contato.graphql_view import ContatoGraphQL
from contato.settings import Settings
from models import tortoise_config
from realtime.broadcast import create_broadcast
from realtime.alerts import AlertScheduler
from realtime.hub import EventHub
from schema import build_schema

logger = logging.getLogger("contato")


class RequestIdMiddleware:
    """Give every request an id (or keep the caller's), echo it back, and log with it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if given.isalnum() and len(given) <= 64 else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)


def alert_scheduler(settings: Settings, broadcast: Any) -> AlertScheduler:
    from realtime.due import DUE_SOURCES

    return AlertScheduler(DUE_SOURCES, broadcast, retention=timedelta(hours=settings.event_retention_hours))


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    broadcast = create_broadcast(settings.broadcast_url)
    hub = EventHub(broadcast)
    scheduler = alert_scheduler(settings, broadcast) if settings.alerts_in_server else None
    graphql = ContatoGraphQL(build_schema(settings), settings, broadcast, hub)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {}
        try:
            await connections.get("default").execute_query("SELECT 1")
            checks["database"] = "ok"
        except Exception as error:  # noqa: BLE001 - readiness reports, never raises
            logger.warning("readiness: database unreachable: %s", type(error).__name__)
            checks["database"] = "unreachable"
        checks["broadcast"] = "ok" if await broadcast.ping() else f"unreachable ({broadcast.state})"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", **checks}, status_code=200 if ready else 503)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.effective_database_url)):
            await broadcast.connect()
            await hub.start()
            if scheduler is not None:
                await scheduler.start()
            try:
                yield
            finally:
                if scheduler is not None:
                    await scheduler.stop()
                await hub.stop()
                await broadcast.disconnect()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.broadcast = broadcast
    app.state.hub = hub
    app.add_middleware(RequestIdMiddleware)
    return app
