"""The GraphQL endpoint: HTTP and graphql-transport-ws on one path, with token authentication."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import Response
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
