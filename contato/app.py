"""The app factory and the lifespan that owns the database and the broadcast."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from contato.graphql_view import ContatoGraphQL
from contato.settings import Settings
from models import tortoise_config
from realtime.alerts import AlertScheduler
from realtime.broadcast import create_broadcast
from realtime.hub import EventHub
from realtime.queue_monitor import QueueMonitor
from resolvers.auth import TokenRejected, authenticate_token, bearer_token
from resolvers.context import Context
from resolvers.errors import AttachmentNotFound
from resolvers.mail import MailSender
from resolvers.ticket import open_attachment
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
    queue_monitor = QueueMonitor()
    hub.add_listener(queue_monitor.on_event)
    scheduler = alert_scheduler(settings, broadcast) if settings.alerts_in_server else None
    mail_sender = MailSender(settings) if settings.mail_in_server else None
    graphql = ContatoGraphQL(build_schema(settings), settings, broadcast, hub, queue_monitor)

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

    async def attachment_download(request: Request) -> Response:
        """A ticket attachment, for a caller who may see the ticket (and the note the file is on)."""
        token = bearer_token(request.headers.get("authorization"))
        if not token:
            return JSONResponse({"error": "Authentication required: send a valid Bearer token."}, status_code=401)
        try:
            user = await authenticate_token(token, settings)
        except TokenRejected as rejected:
            return JSONResponse({"error": str(rejected)}, status_code=401)
        try:
            attachment, path = await open_attachment(
                Context(settings=settings, user=user), int(request.path_params["attachment_id"])
            )
        except AttachmentNotFound:
            return JSONResponse({"error": "No such attachment."}, status_code=404)
        return FileResponse(
            path,
            media_type=attachment.content_type,
            filename=attachment.file_name,
            content_disposition_type="attachment",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings.effective_database_url)):
            await broadcast.connect()
            await hub.start()
            await queue_monitor.start()
            if scheduler is not None:
                await scheduler.start()
            if mail_sender is not None:
                await mail_sender.start()
            try:
                yield
            finally:
                if mail_sender is not None:
                    await mail_sender.stop()
                if scheduler is not None:
                    await scheduler.stop()
                await queue_monitor.stop()
                await hub.stop()
                await broadcast.disconnect()

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/attachments/{attachment_id:int}", attachment_download),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.broadcast = broadcast
    app.state.hub = hub
    app.state.queue_monitor = queue_monitor
    app.add_middleware(RequestIdMiddleware)
    return app
