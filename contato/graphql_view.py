"""The GraphQL endpoint: HTTP and graphql-transport-ws on one path, with token authentication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from contato.settings import Settings
from resolvers.auth import TokenRejected, authenticate_token, bearer_token, token_expiry
from resolvers.context import Context
from schema import ContatoSchema

# A multipart POST is a "simple" request a foreign page can send with the user's cookies or
# through a form; demanding one of these headers forces a CORS preflight, which such pages fail.
PREFLIGHT_HEADERS = ("graphql-require-preflight", "apollo-require-preflight", "x-apollo-operation-name")

# A JSON operation gets the 1 MiB Starlette allows the operations part of a multipart request.
JSON_MAX_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The request body passed its cap while it was being read."""


def _is_multipart(scope: Scope) -> bool:
    for name, value in scope.get("headers") or []:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"multipart/form-data"
    return False


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or []:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, limit: int) -> Receive:
    """`receive` that counts body bytes and raises BodyTooLarge once they pass `limit`."""
    received = 0

    async def capped_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge()
        return message

    return capped_receive


def _too_large(limit: int, multipart: bool) -> Response:
    what = (
        "The multipart request (all files together) is larger than the "
        f"{limit} bytes allowed (UPLOAD_MAX_REQUEST_BYTES): send fewer or smaller files."
        if multipart
        else f"The request body is larger than the {limit} bytes allowed."
    )
    return JSONResponse(
        {"errors": [{"message": what, "extensions": {"code": "REQUEST_TOO_LARGE", "maxBytes": limit}}]},
        status_code=413,
        # The rest of the body is not read: the connection cannot carry another request.
        headers={"Connection": "close"},
    )


class ContatoGraphQL(GraphQL[Context, None]):
    def __init__(
        self, schema: ContatoSchema, settings: Settings, broadcast: Any, hub: Any, queue_monitor: Any = None
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql else None,
            allow_queries_via_get=True,
            keep_alive=True,
            keep_alive_interval=15,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=settings.ws_init_timeout_seconds),
            multipart_uploads_enabled=True,
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            allowed_origins=settings.allowed_origins,
        )
        self.settings = settings
        self.broadcast = broadcast
        self.hub = hub
        self.queue_monitor = queue_monitor

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Cap the HTTP body before parsing: by its declared length at once, else while it streams."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        multipart = _is_multipart(scope)
        limit = self.settings.effective_upload_max_request_bytes if multipart else JSON_MAX_BYTES
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, multipart)(scope, receive, send)
            return
        try:
            await super().__call__(scope, _capped(receive, limit), send)
        except BodyTooLarge:
            await _too_large(limit, multipart)(scope, receive, send)

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
            raise HTTPException(
                400, "Multipart requests must carry a GraphQL-Require-Preflight header (CSRF protection)."
            )
        return await super().parse_multipart(request)

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context = Context(
            settings=self.settings, request=request, response=response, broadcast=self.broadcast, hub=self.hub,
            queue_monitor=self.queue_monitor,
        )
        request_id = request.scope.get("state", {}).get("request_id")
        if request_id:
            context.request_id = request_id
        if isinstance(request, Request):
            token = bearer_token(request.headers.get("authorization"))
            if token is not None:
                await _authenticate(context, token)
        return context

    async def on_ws_connect(self, context: Context) -> Any:
        params = context.connection_params if isinstance(context.connection_params, dict) else {}
        token = params.get("authToken")
        if not isinstance(token, str) or not token:
            raise ConnectionRejectionError()
        await _authenticate(context, token)
        if context.user is None:
            raise ConnectionRejectionError()
        return None


async def _authenticate(context: Context, token: str) -> None:
    if not token:
        context.auth_error = "The Authorization header must be `Bearer <token>`."
        return
    try:
        context.user = await authenticate_token(token, context.settings)
        context.token_expires_at = token_expiry(token)
    except TokenRejected as rejected:
        context.auth_error = str(rejected)
