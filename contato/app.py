"""The app factory and the lifespan that owns the database and the broadcast.

Also the operations side of the process: `/metrics`, the request id every log line carries, and
the WebSockets a stopping server closes as "going away" (1001).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import hmac
import logging
import os
import re
import signal
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from types import FrameType
from typing import Any

import uvicorn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Gauge,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from contato.cors import CrossOrigin
from contato.graphql_view import GRAPHIQL_DIRECTORY, ContatoGraphQL, MutationsInFlight, negotiate
from contato.logging_config import REQUEST_ID
from contato.persisted import PersistedDocuments
from contato.presence import Presence
from contato.settings import Settings
from models import tortoise_config
from models.availability import RETRY_AFTER_SECONDS, database_unreachable
from models.user import User
from realtime.alerts import AlertScheduler
from realtime.broadcast import create_broadcast
from realtime.hub import EventHub
from realtime.queue_monitor import QueueMonitor
from realtime.viewing import TicketViewing
from resolvers import exports, imports, xlsx
from resolvers.auth import TokenRejected, authenticate_token, bearer_token
from resolvers.bounds import row_id
from resolvers.context import Context
from resolvers.errors import AttachmentNotFound, DataImportError, ExportError, ExportErrorCode
from resolvers.mail import MailSender, pending_count
from resolvers.signed_links import (
    EXPORT,
    IMPORT_ERRORS,
    PURPOSE,
    LinkRejected,
    is_signed,
    link_viewer,
)
from resolvers.ticket import open_attachment
from schema import build_schema
from schema.security import unavailable_error

logger = logging.getLogger("contato")

WEBSOCKETS_OPEN = Gauge(
    "contato_websocket_connections", "Accepted WebSocket connections open.", multiprocess_mode="livesum"
)
OUTBOX_PENDING = Gauge(
    "contato_outbox_pending_mails",
    "Mails waiting in the outbox (read from the database when /metrics is scraped).",
    multiprocess_mode="livemostrecent",
)

GOING_AWAY = 1001
# How long a stopping server waits for the WebSockets it closed to finish before uvicorn takes over.
CLOSE_WAIT_SECONDS = 5.0
# Uvicorn's --workers share one port, so a scrape reaches any one of them: with several workers,
# `contato serve` sets this directory and every worker's /metrics answers for all of them.
MULTIPROCESS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Production without METRICS_TOKEN: the figures are nobody's business unless the operator says so.
METRICS_CLOSED = (
    "Metrics are closed in production: set METRICS_TOKEN (and give Prometheus the bearer token), "
    "or METRICS_PUBLIC=true to serve them without one."
)


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

        # Every log line of the request (and of the tasks it starts) carries the id.
        token = REQUEST_ID.set(request_id)
        try:
            # A WebSocket's frames pass this send thousands of times: only HTTP needs the header.
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            REQUEST_ID.reset(token)


class FaultAnswers:
    """Whatever fails outside the GraphQL execution (authenticating the token, a route of our own)
    answers as the API does, in JSON: 503 `SERVICE_UNAVAILABLE` with `Retry-After` when the database
    cannot be reached, else 500 "Unexpected error." (logged with the request id). Starlette's last
    resort would answer a plain-text 500 outside RequestIdMiddleware, without the request id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            if started:
                raise  # too late to answer: uvicorn closes the connection
            await fault_response(scope, error)(scope, receive, send)


def fault_response(scope: Scope, error: BaseException) -> Response:
    request_id = scope.get("state", {}).get("request_id", "-")
    accept = dict(scope.get("headers") or []).get(b"accept")
    media_type = negotiate(accept.decode("latin-1") if accept is not None else None) or "application/json"
    if database_unreachable(error):
        logger.warning(
            "database unreachable (request %s, %s): %s: %s", request_id, scope.get("path"), type(error).__name__, error
        )
        body = {"errors": [unavailable_error().formatted]}
        return JSONResponse(
            body, status_code=503, media_type=media_type, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
        )
    logger.error("unexpected error (request %s, %s)", request_id, scope.get("path"), exc_info=error)
    return JSONResponse({"errors": [{"message": "Unexpected error."}]}, status_code=500, media_type=media_type)


class OpenWebSockets:
    """The WebSocket connections of this process, so that a stopping server can close them as going
    away (1001) instead of letting them drop: clients then reconnect (to another process) at once."""

    def __init__(self, mutations: MutationsInFlight | None = None, mutation_wait: float = 0.0) -> None:
        self.closing = False
        self.mutations = mutations
        self.mutation_wait = mutation_wait
        self._connections: set[_TrackedWebSocket] = set()
        self._none_left = asyncio.Event()
        self._none_left.set()

    def __len__(self) -> int:
        return len(self._connections)

    async def serve(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        connection = _TrackedWebSocket(self, send)
        self._connections.add(connection)
        self._none_left.clear()
        try:
            await app(scope, receive, connection.send)
        finally:
            self._connections.discard(connection)
            if connection.accepted:
                WEBSOCKETS_OPEN.dec()
            if not self._connections:
                self._none_left.set()

    async def close_all(self, reason: str = "server shutting down", wait: float = CLOSE_WAIT_SECONDS) -> None:
        """Refuse new connections; let the mutations running on the open ones answer (for at most
        `mutation_wait` seconds); close every accepted connection with 1001; wait (a bounded time)
        for their handlers to finish."""
        self.closing = True
        if self.mutations is not None and len(self.mutations):
            await self.mutations.finished(self.mutation_wait)
        for connection in list(self._connections):
            await connection.go_away(reason)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_left.wait(), wait)


class _TrackedWebSocket:
    def __init__(self, sockets: OpenWebSockets, send: Send) -> None:
        self.sockets = sockets
        self._send = send
        self.accepted = False
        self.closed = False  # by the handler or the client
        self.went_away = False  # closed by us, as the server stops

    async def send(self, message: Message) -> None:
        if self.went_away:
            return  # the handler's late messages have nowhere to go
        kind = message["type"]
        if kind == "websocket.accept" and self.sockets.closing:
            self.went_away = True
            message = {"type": "websocket.close", "code": GOING_AWAY}  # refuses the handshake
        try:
            await self._send(message)
        except Exception:
            if self.went_away and kind != "websocket.accept":
                return  # raced with our close
            raise
        if kind == "websocket.close":
            self.closed = True
        elif kind == "websocket.accept" and not self.went_away:
            self.accepted = True
            WEBSOCKETS_OPEN.inc()

    async def go_away(self, reason: str) -> None:
        if not self.accepted or self.closed or self.went_away:
            return
        self.went_away = True
        # The server hands the handler a disconnect: it cleans up as for a client that left.
        with contextlib.suppress(Exception):
            await self._send({"type": "websocket.close", "code": GOING_AWAY, "reason": reason})


class WebSocketTracking:
    """Counts WebSocket connections (the `contato_websocket_connections` gauge) in `OpenWebSockets`."""

    def __init__(self, app: ASGIApp, sockets: OpenWebSockets) -> None:
        self.app = app
        self.sockets = sockets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        await self.sockets.serve(self.app, scope, receive, send)


@contextlib.contextmanager
def close_websockets_on_stop_signal(sockets: OpenWebSockets) -> Iterator[None]:
    """Under uvicorn, SIGTERM and SIGINT first close the WebSockets as going away, then start
    uvicorn's shutdown, which would otherwise cut them with 1012 before the lifespan ends. Elsewhere
    (another server, in-process tests) nothing changes and the lifespan's end closes them."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    loop = asyncio.get_running_loop()
    replaced: dict[signal.Signals, Callable[[int, FrameType | None], Any]] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        handler = signal.getsignal(signum)
        if callable(handler) and isinstance(getattr(handler, "__self__", None), uvicorn.Server):
            replaced[signum] = handler
            signal.signal(signum, _GoingAwayFirst(loop, sockets, handler))
    try:
        yield
    finally:
        for signum, handler in replaced.items():
            signal.signal(signum, handler)


class _GoingAwayFirst:
    """A stop-signal handler in front of uvicorn's: close the WebSockets, then hand the signal over."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        sockets: OpenWebSockets,
        uvicorn_handler: Callable[[int, FrameType | None], Any],
    ) -> None:
        self.loop = loop
        self.sockets = sockets
        self.uvicorn_handler = uvicorn_handler
        self._handed_over = False
        self._task: asyncio.Task[None] | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.sockets.closing or not len(self.sockets):
            # Nothing to close, or a second signal while closing: uvicorn's handling as usual.
            self._hand_over(signum, frame)
            return
        self.sockets.closing = True
        self.loop.call_soon_threadsafe(self._start, signum)

    def _start(self, signum: int) -> None:
        self._task = self.loop.create_task(self._close_then_hand_over(signum), name="websockets-going-away")

    async def _close_then_hand_over(self, signum: int) -> None:
        try:
            await self.sockets.close_all()
        finally:
            if not self._handed_over:
                self._hand_over(signum, None)

    def _hand_over(self, signum: int, frame: FrameType | None) -> None:
        self._handed_over = True
        self.uvicorn_handler(signum, frame)


def multiprocess_directory() -> str | None:
    path = os.environ.get(MULTIPROCESS_DIR_ENV)
    return path if path and os.path.isdir(path) else None


def _forget_gone_workers(path: str) -> None:
    """Live gauges of workers that died without a clean shutdown would count forever: drop them."""
    pids = set()
    for file in glob.glob(os.path.join(path, "gauge_live*_*.db")):
        match = re.search(r"_(\d+)\.db$", file)
        if match:
            pids.add(int(match.group(1)))
    for pid in pids - {os.getpid()}:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            prometheus_multiprocess.mark_process_dead(pid, path)
        except PermissionError:
            pass


def alert_scheduler(settings: Settings, broadcast: Any) -> AlertScheduler:
    from realtime.due import DUE_SOURCES
    from realtime.floor import floor_sources

    return AlertScheduler(
        [*DUE_SOURCES, *floor_sources(settings.presence_grace_seconds)],
        broadcast,
        retention=timedelta(hours=settings.event_retention_hours),
        idempotency_keys=timedelta(hours=settings.idempotency_key_hours),
    )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    broadcast = create_broadcast(settings.broadcast_url)
    hub = EventHub(broadcast, stall_seconds=settings.stream_stall_seconds)
    queue_monitor = QueueMonitor()
    hub.add_listener(queue_monitor.on_event)
    scheduler = alert_scheduler(settings, broadcast) if settings.alerts_in_server else None
    mail_sender = MailSender(settings) if settings.mail_in_server else None
    persisted = PersistedDocuments.from_settings(settings)
    graphql = ContatoGraphQL(build_schema(settings), settings, broadcast, hub, queue_monitor, persisted)
    viewing = graphql.viewing = TicketViewing(broadcast)
    presence = graphql.presence = Presence(settings.presence_heartbeat_seconds, settings.presence_ttl_seconds)
    hub.add_listener(graphql.socket_registry.on_event)  # a changed user's open sockets, at once
    open_websockets = OpenWebSockets(graphql.mutations, mutation_wait=settings.shutdown_grace_seconds)

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

    async def downloader(request: Request, row: int, purpose: bytes) -> User | Response:
        """Who asks for a file: the viewer a signed link names (for <img> and <a>), or the Bearer
        token's user; or the refusal to answer (403 for a bad link, 401 without a valid token)."""
        if is_signed(request.query_params):
            try:
                return await link_viewer(settings, row, request.query_params, purpose=purpose)
            except LinkRejected as rejected:
                return JSONResponse({"error": str(rejected)}, status_code=403)
        token = bearer_token(request.headers.get("authorization"))
        if not token:
            return JSONResponse({"error": "Authentication required: send a valid Bearer token."}, status_code=401)
        try:
            return await authenticate_token(token, settings)
        except TokenRejected as rejected:
            return JSONResponse({"error": str(rejected)}, status_code=401)

    async def attachment_download(request: Request) -> Response:
        """A ticket attachment, for a caller who may see the ticket (and the note the file is on):
        by a signed link (`downloadUrl`, for <img> and <a>) or with the Bearer token."""
        # An id past any row's (resolvers/bounds.py) names no attachment: never sent to the database.
        attachment_id = row_id(request.path_params["attachment_id"])
        if attachment_id is None:
            return JSONResponse({"error": "No such attachment."}, status_code=404)
        user = await downloader(request, attachment_id, PURPOSE)
        if isinstance(user, Response):
            return user
        try:
            attachment, path = await open_attachment(Context(settings=settings, user=user), attachment_id)
        except AttachmentNotFound:
            return JSONResponse({"error": "No such attachment."}, status_code=404)
        return FileResponse(
            path,
            media_type=attachment.content_type,
            filename=attachment.file_name,
            content_disposition_type="attachment",
            headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store"},
        )

    async def import_errors(request: Request) -> Response:
        """An import's refused rows as CSV (row, column, code, message), streamed page by page: by a
        signed link (`Import.errorReportUrl`) or with the Bearer token; staff only, like the import."""
        import_id = row_id(request.path_params["import_id"])  # past any row's: never sent to the database
        if import_id is None:
            return JSONResponse({"error": "No such import."}, status_code=404)
        user = await downloader(request, import_id, IMPORT_ERRORS)
        if isinstance(user, Response):
            return user
        try:
            await imports.visible_import(Context(settings=settings, user=user), import_id)
        except DataImportError:
            return JSONResponse({"error": "No such import."}, status_code=404)
        return StreamingResponse(
            imports.error_report_csv(import_id),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="import-{import_id}-errors.csv"',
                "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
            },
        )

    async def export_download(request: Request) -> Response:
        """An export, streamed as it is read: by its signed link (`exportCreate`'s url) or with the
        Bearer token of the user who asked for it; rows as that user may see them now."""
        export_id = row_id(request.path_params["export_id"])  # past any row's: never sent to the database
        if export_id is None:
            return JSONResponse({"error": "No such export."}, status_code=404)
        user = await downloader(request, export_id, EXPORT)
        if isinstance(user, Response):
            return user
        ctx = Context(settings=settings, user=user)
        try:
            export = await exports.get_export(ctx, export_id)
        except ExportError:
            return JSONResponse({"error": "No such export."}, status_code=404)
        spreadsheet = request.url.path.endswith(".xlsx")
        body = (exports.export_xlsx if spreadsheet else exports.export_csv)(ctx, export)
        try:
            # The header (a report: the header after the figures) before the response starts, so a
            # refusal, or a database that cannot be reached, is an answer rather than a cut download.
            first = await anext(body)
        except ExportError as refused:
            return JSONResponse({"error": refused.message, "code": refused.code.value},
                                status_code=403 if refused.code == ExportErrorCode.FORBIDDEN else 404)

        async def chunks() -> AsyncIterator[bytes]:
            yield first
            async for chunk in body:
                yield chunk

        return StreamingResponse(
            chunks(),
            media_type=xlsx.MEDIA_TYPE if spreadsheet else "text/csv; charset=utf-8",
            headers={
                "Content-Disposition":
                    f'attachment; filename="{export.kind.value.lower()}-{export_id}.{"xlsx" if spreadsheet else "csv"}"',
                "X-Content-Type-Options": "nosniff", "Cache-Control": "private, no-store",
            },
        )

    async def metrics(request: Request) -> Response:
        """Prometheus text format; for the monitoring network, never the public (see README)."""
        if settings.metrics_token and not _bearer_matches(request, settings.metrics_token):
            return Response("Send the metrics token: Authorization: Bearer <METRICS_TOKEN>.\n", 401)
        if not settings.metrics_token and settings.is_production and not settings.metrics_public:
            return Response(METRICS_CLOSED + "\n", 403)
        try:
            OUTBOX_PENDING.set(await pending_count())
        except Exception as error:  # noqa: BLE001 - the other metrics still answer
            logger.warning("metrics: outbox backlog unreadable: %s", type(error).__name__)
            OUTBOX_PENDING.set(float("nan"))
        registry = REGISTRY
        directory = multiprocess_directory()
        if directory is not None:
            registry = CollectorRegistry()
            prometheus_multiprocess.MultiProcessCollector(registry, path=directory)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        directory = multiprocess_directory()
        if directory is not None:
            _forget_gone_workers(directory)
        async with RegisterTortoise(app, config=tortoise_config(settings.effective_database_url)):
            if persisted.trusted is not None:
                await persisted.trusted.prepare(graphql.schema, settings)
            await broadcast.connect()
            await hub.start()
            await queue_monitor.start()
            await presence.start()
            await viewing.start()
            if scheduler is not None:
                await scheduler.start()
            if mail_sender is not None:
                await mail_sender.start()
            try:
                with close_websockets_on_stop_signal(open_websockets):
                    yield
            finally:
                # Already done under uvicorn (on the signal); here for any other way of stopping.
                await open_websockets.close_all()
                if directory is not None:
                    prometheus_multiprocess.mark_process_dead(os.getpid(), directory)
                if mail_sender is not None:
                    await mail_sender.stop()
                if scheduler is not None:
                    await scheduler.stop()
                await presence.stop()
                await viewing.stop()
                await queue_monitor.stop()
                await hub.stop()
                await broadcast.disconnect()

    routes = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        Route("/attachments/{attachment_id:int}", attachment_download),
        Route("/imports/{import_id:int}/errors.csv", import_errors),
        Route("/exports/{export_id:int}.csv", export_download),
        Route("/exports/{export_id:int}.xlsx", export_download),
    ]
    if settings.metrics_enabled:
        routes.append(Route("/metrics", metrics))
    if settings.graphiql:
        routes.append(Mount("/graphiql", StaticFiles(directory=GRAPHIQL_DIRECTORY), name="graphiql"))
        if not settings.metrics_token and settings.is_production and not settings.metrics_public:
            logger.warning("/metrics answers 403: %s", METRICS_CLOSED)
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.broadcast = broadcast
    app.state.hub = hub
    app.state.queue_monitor = queue_monitor
    app.state.open_websockets = open_websockets
    app.add_middleware(WebSocketTracking, sockets=open_websockets)
    app.add_middleware(FaultAnswers)  # inside RequestIdMiddleware: its answers carry the request id
    app.add_middleware(RequestIdMiddleware)
    if settings.allowed_origins:
        app.add_middleware(CrossOrigin, allowed_origins=settings.allowed_origins)
    return app


def _bearer_matches(request: Request, token: str) -> bool:
    given = bearer_token(request.headers.get("authorization")) or ""
    return hmac.compare_digest(given.encode(), token.encode())
