"""The GraphQL endpoint: HTTP and graphql-transport-ws on one path, with token authentication.

HTTP follows the GraphQL-over-HTTP spec (checked by graphql-http's audits, tests/conformance/):
the response is `application/graphql-response+json` when the client prefers it, else
`application/json`; with the former, a request error (no `data`: syntax, validation, variables,
authentication, limits) gets a 4xx status, with the latter 200 as before.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, GraphQLSyntaxError, get_operation_ast, parse
from graphql import OperationType as AstOperation
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.parse_content_type import parse_content_type
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message as WSMessage
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from contato.idempotent import (
    IDEMPOTENCY_EXTENSION,
    IDEMPOTENCY_HEADER,
    AnsweredResult,
    execute_over_http,
    run_over_websocket,
)
from contato.persisted import PersistedDocumentError, PersistedDocuments
from contato.presence import Presence
from contato.settings import Settings
from contato.shared_streams import SharedStreams, StreamKey, render_error, share_key
from contato.socket_access import ConnectionAccess, SocketRegistry, next_message
from models.availability import RETRY_AFTER_SECONDS, database_unreachable
from realtime.hub import is_interruption
from resolvers.auth import TokenRejected, authenticate, bearer_token
from resolvers.context import Context
from resolvers.idempotency import KEY_IN_PROGRESS, KEY_REUSED
from resolvers.realtime import StreamEnded, interrupted
from schema import ContatoSchema
from schema.security import SERVICE_UNAVAILABLE, unavailable_error

logger = logging.getLogger("contato.graphql")

# GraphiQL's page and the assets it loads, served by Contato itself (no CDN: README.md there).
GRAPHIQL_DIRECTORY = Path(__file__).parent / "static" / "graphiql"


@functools.cache
def graphiql_page() -> str:
    return (GRAPHIQL_DIRECTORY / "index.html").read_text(encoding="utf-8")


# A multipart POST is a "simple" request a foreign page can send with the user's cookies or
# through a form; demanding one of these headers forces a CORS preflight, which such pages fail.
PREFLIGHT_HEADERS = ("graphql-require-preflight", "apollo-require-preflight", "x-apollo-operation-name")

# A JSON operation gets the 1 MiB Starlette allows the operations part of a multipart request.
JSON_MAX_BYTES = 1024 * 1024


GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
# What an Accept entry asks for, as one of the two media types served; `*/*` and a missing
# Accept mean application/json, which every client before graphql-response+json understands.
_OFFERED = {
    GRAPHQL_RESPONSE_JSON: GRAPHQL_RESPONSE_JSON,
    JSON: JSON,
    "application/*": JSON,
    "*/*": JSON,
}

# MaskErrors' message (schema/__init__.py): a fault of ours, not of the request.
_MASKED_MESSAGE = "Unexpected error."


def _encode(data: object) -> bytes:
    """orjson: 0.07 ms against the standard encoder's 1.8 for 50 tickets of 10 messages. It refuses what
    UTF-8 cannot carry (a lone surrogate sent in as "\\ud800" and echoed in an error message): those
    few take the standard encoder, which escapes them."""
    try:
        return orjson.dumps(data)
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(data, separators=(",", ":")).encode()


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in: the acceptable one with the highest q (the first on a tie)."""
    if accept is None or not accept.strip():
        return JSON
    chosen, chosen_q = None, 0.0
    for entry in accept.split(","):
        media_type, _, parameters = entry.partition(";")
        q = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        offered = _OFFERED.get(media_type.strip().lower())
        if offered is not None and q > chosen_q:
            chosen, chosen_q = offered, q
    return chosen


def _header(scope: Scope, wanted: bytes) -> bytes | None:
    for name, value in scope.get("headers") or []:
        if name == wanted:
            return bytes(value)
    return None


def _request_error_status(errors: list[Any]) -> tuple[int, dict[str, str]]:
    """Status and headers for a response without `data`: 401 and 429 for those refusals, 500 for
    our own faults, 400 for the rest (syntax, validation, variables, limits)."""
    for error in errors:
        extensions = error.get("extensions") or {}
        code = extensions.get("code")
        if code == "UNAUTHENTICATED":
            return 401, {"WWW-Authenticate": "Bearer"}
        if code in ("RATE_LIMITED", KEY_IN_PROGRESS):
            retry_after = extensions.get("retryAfterSeconds")
            status = 429 if code == "RATE_LIMITED" else 409
            return status, {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}
        if code == KEY_REUSED:
            return 422, {}
        if code is None and error.get("message") == _MASKED_MESSAGE:
            return 500, {}
    return 400, {}


def _unavailable(response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse]) -> int | None:
    """`retryAfterSeconds` of a SERVICE_UNAVAILABLE error in the response, if there is one."""
    for response in response_data if isinstance(response_data, list) else [response_data]:
        for error in response.get("errors") or []:
            extensions = error.get("extensions") or {}
            if extensions.get("code") == SERVICE_UNAVAILABLE:
                retry_after = extensions.get("retryAfterSeconds")
                return retry_after if isinstance(retry_after, int) else RETRY_AFTER_SECONDS
    return None


def _is_request_error(response: GraphQLHTTPResponse) -> bool:
    """Refused before execution: no data and no error at a path (a failed non-null root field
    also leaves `data` null, but it ran, and its errors have a path)."""
    errors = response.get("errors") or []
    executed = any(isinstance(error, dict) and error.get("path") for error in errors)
    return response.get("data") is None and bool(errors) and not executed


def _refusal(refused: HTTPException, media_type: str) -> Response:
    """An HTTP-level refusal, as a GraphQL response without `data`."""
    headers = dict(refused.headers) if isinstance(refused, Refused) else {}
    if refused.status_code == 405:
        headers.setdefault("Allow", "GET, POST")  # Strawberry's own 405 (HEAD, say) names none
    # _encode, as for every GraphQL response: the reason can echo the client's own text ("Unknown
    # operation named …"), a lone surrogate included, which JSONResponse's UTF-8 cannot encode (a 500).
    return Response(
        _encode({"errors": [{"message": refused.reason}]}),
        status_code=refused.status_code,
        media_type=media_type,
        headers=headers,
    )


class PartTooLarge(Exception):
    """A multipart part that is not a file (operations, map) over Starlette's 1 MiB for one part."""


# Starlette's cap on a multipart part that is not a file: the JSON body's cap too.
MULTIPART_FIELD_MAX_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    """The request body passed its cap while it was being read."""


class Refused(HTTPException):
    """An HTTPException that also sets response headers (`Allow` on a 405)."""

    def __init__(self, status_code: int, reason: str, headers: dict[str, str]) -> None:
        super().__init__(status_code, reason)
        self.headers = headers


class SubResponse(Response):
    """Strawberry's per-request response stub; carries the negotiated media type to create_response."""

    negotiated: str | None = None


def _is_multipart(scope: Scope) -> bool:
    value = _header(scope, b"content-type")
    return value is not None and value.split(b";", 1)[0].strip().lower() == b"multipart/form-data"


def _declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
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


def _too_large(limit: int, multipart: bool, media_type: str) -> Response:
    what = (
        "The multipart request (all files together) is larger than the "
        f"{limit} bytes allowed (UPLOAD_MAX_REQUEST_BYTES): send fewer or smaller files."
        if multipart
        else f"The request body is larger than the {limit} bytes allowed."
    )
    return _payload_too_large(what, limit, media_type)


def _part_too_large(media_type: str) -> Response:
    limit = MULTIPART_FIELD_MAX_BYTES
    what = f"A multipart part that is not a file (operations, map) is larger than the {limit} bytes allowed."
    return _payload_too_large(what, limit, media_type)


def _payload_too_large(message: str, limit: int, media_type: str) -> Response:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "REQUEST_TOO_LARGE", "maxBytes": limit}}]},
        status_code=413,
        media_type=media_type,
        # The rest of the body is not read: the connection cannot carry another request.
        headers={"Connection": "close"},
    )


# graphql-transport-ws close codes (github.com/enisdenjo/graphql-ws, PROTOCOL.md).
WS_BAD_REQUEST = 4400
# RFC 6455's "Try Again Later": graphql-ws clients reconnect on it (1011 and 4500 are fatal to them).
WS_TRY_AGAIN_LATER = 1013
WS_INTERNAL_ERROR = 4500
# RFC 6455: a close frame's reason is at most 123 bytes of UTF-8.
WS_CLOSE_REASON_MAX_BYTES = 123


def protocol_violation(message: object) -> str | None:
    """Why a client message breaks graphql-transport-ws (the server then closes with 4400), or None.

    Strawberry checks the message type and the keys it reads, not their JSON types: a message
    that is not an object, a payload that is not one, or a numeric id would raise inside the
    handler and drop the connection without a close code (1006)."""
    if not isinstance(message, dict):
        return "A message must be a JSON object."
    kind = message.get("type")
    if kind in ("connection_init", "ping", "pong"):
        if message.get("payload") is not None and not isinstance(message["payload"], dict):
            return f"The {kind} payload must be an object or null."
    elif kind in ("subscribe", "complete"):
        if not isinstance(message.get("id"), str) or not message["id"]:
            return f"A {kind} message needs a non-empty string id."
        payload = message.get("payload")
        if kind == "subscribe":
            if not isinstance(payload, dict):
                return "The subscribe payload must be an object."
            if not isinstance(payload.get("query"), str):
                return "The subscribe payload needs a query string."
            for name, expected, what in (
                ("variables", dict, "an object"),
                ("operationName", str, "a string"),
                ("extensions", dict, "an object"),
            ):
                if payload.get(name) is not None and not isinstance(payload[name], expected):
                    return f"The subscribe payload's {name} must be {what} or null."
    return None


class MutationsInFlight:
    """Mutations sent over a WebSocket and still running. A stopping server lets them finish and
    answer before it closes the sockets (contato/app.py), as uvicorn does for HTTP requests:
    cancelled, they would roll back and the client would never learn whether they happened."""

    def __init__(self) -> None:
        self._running = 0
        self._none = asyncio.Event()
        self._none.set()

    def __len__(self) -> int:
        return self._running

    @contextmanager
    def running(self) -> Iterator[None]:
        self._running += 1
        self._none.clear()
        try:
            yield
        finally:
            self._running -= 1
            if not self._running:
                self._none.set()

    async def finished(self, timeout: float) -> bool:
        """True when none runs any more, within `timeout` seconds."""
        with suppress(TimeoutError):
            await asyncio.wait_for(self._none.wait(), timeout)
        return self._none.is_set()


@functools.lru_cache(maxsize=256)
def operation_kind(query: str, operation_name: str | None) -> AstOperation | None:
    try:
        operation = get_operation_ast(parse(query), operation_name)
    except GraphQLError:
        return None  # Strawberry answers it as the error it is
    return operation.operation if operation is not None else None


def is_mutation(query: str, operation_name: str | None) -> bool:
    return operation_kind(query, operation_name) == AstOperation.MUTATION


class ContatoTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler: it closes with 4400 on every malformed message,
    holds its user to what the database says now (contato/socket_access.py), and runs a mutation
    that carries an idempotency key (`extensions.idempotencyKey`) once."""

    access: ConnectionAccess | None = None
    presence_id: int | None = None  # the agent's socket row (contato/presence.py)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idempotency_keys: dict[str, object] = {}

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self.access is None and self.context.user is not None:
            view = cast("ContatoGraphQL", self.view)
            self.access = ConnectionAccess(self, view.socket_registry)
            if view.presence is not None:
                self.presence_id = await view.presence.opened(self.context.user)

    async def shutdown(self) -> None:
        if self.access is not None:
            self.access.stop()
        presence = cast("ContatoGraphQL", self.view).presence
        if presence is not None and self.presence_id is not None:
            await presence.closed(self.presence_id)
            self.presence_id = None
        await super().shutdown()

    async def end_subscriptions(self, ended: StreamEnded, wait: float) -> None:
        """End every live stream of the connection: its task stops, then the client gets the
        StreamError its document selects as the last item, then `complete`."""
        subscriptions = [
            operation
            for operation in list(self.operations.values())
            if operation_kind(operation.query, operation.operation_name) == AstOperation.SUBSCRIPTION
        ]
        tasks = {operation.task for operation in subscriptions if operation.task is not None}
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=wait)
        schema = self.view.schema
        for operation in subscriptions:
            if operation.completed:
                continue
            key = StreamKey(operation.query, operation.operation_name, orjson.dumps(operation.variables or {}), (), "")
            with suppress(WebSocketDisconnected):
                try:
                    payload = render_error(schema, key, self.context, ended)
                except Exception as error:  # noqa: BLE001 - the client still gets `complete`
                    await self.handle_task_exception(error)
                else:
                    await operation.send_operation_message(next_message(operation.id, payload))  # type: ignore[arg-type]
                await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def handle_task_exception(self, error: Exception) -> None:
        if isinstance(error, WebSocketDisconnected):
            # The client left while its stream was sending (an app closing, a reconnect): Strawberry
            # logs that as an ERROR with a traceback; nothing failed here.
            logger.debug("websocket: the client left while its stream was sending")
            return
        await super().handle_task_exception(error)

    async def handle_message(self, message: WSMessage) -> None:
        if (
            isinstance(message, dict)  # anything else is protocol_violation's to refuse
            and message.get("type") == "subscribe"
            and self.connection_acknowledged  # else Strawberry closes with 4401
            and isinstance(message.get("payload"), dict)
        ):
            message = await self._persisted_subscribe(message)  # type: ignore[arg-type]
            if message is None:
                return
        problem = protocol_violation(message)
        if problem is not None:
            await self.handle_invalid_message(problem)
            return
        if message.get("type") == "connection_init" and message.get("payload") is None:
            # The protocol allows a null payload; Strawberry takes only an absent one for "none".
            message = {"type": "connection_init", "payload": {}}
        try:
            await super().handle_message(message)
        except WebSocketDisconnected:
            raise  # the client left: Strawberry's handle() ends the connection
        except Exception as error:  # noqa: BLE001 - answered with a close code, and logged
            await self._close_on_fault(error)

    async def _close_on_fault(self, error: Exception) -> None:
        """A fault while handling a message (authenticating `connection_init`, say) closes the socket
        with a code instead of dropping it (1006): 1013, "try again later", when the database cannot
        be reached, else 4500."""
        if database_unreachable(error):
            logger.warning("websocket: database unreachable: %s: %s", type(error).__name__, error)
            await self.websocket.close(WS_TRY_AGAIN_LATER, "The database cannot be reached; try again later.")
        else:
            logger.error("websocket message failed", exc_info=error)
            await self.websocket.close(WS_INTERNAL_ERROR, "Internal server error.")

    async def _persisted_subscribe(self, message: dict[str, Any]) -> WSMessage | None:
        """The subscribe message with the text of its persisted document (contato/persisted.py);
        None when that was refused, with an `error` message for the operation."""
        payload = message["payload"]
        try:
            query = cast("ContatoGraphQL", self.view).persisted.resolve(payload.get("query"), payload.get("extensions"))
        except PersistedDocumentError as refused:
            if not isinstance(message.get("id"), str) or not message["id"]:
                await self.handle_invalid_message("A subscribe message needs a non-empty string id.")
                return None
            await self.send_message({"id": message["id"], "type": "error", "payload": [refused.as_error()]})
            return None
        if query is payload.get("query"):
            return cast("WSMessage", message)
        return cast("WSMessage", {**message, "payload": {**payload, "query": query}})

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # Every operation runs with the user as of now, as an HTTP request does.
        new = self.connection_acknowledged and message["id"] not in self.operations
        if new and self.access is not None:
            try:
                allowed = await self.access.authorize()
            except Exception as error:
                if not database_unreachable(error):
                    raise
                # As for an operation that meets the fault while it runs: a typed error to retry on,
                # and the socket (with its other streams) stays open.
                await self._answer_unavailable(message["id"])
                return
            if not allowed:
                return
        # Strawberry means to close with 4400 on a syntax error, but with the ParserCache extension
        # the error escapes its stream and the client only gets `complete`: parse here first.
        if self.connection_acknowledged and message["id"] not in self.operations:
            settings = cast("ContatoGraphQL", self.view).settings
            try:
                parse(message["payload"]["query"], max_tokens=settings.max_tokens)
            except GraphQLSyntaxError as error:
                await self.websocket.close(WS_BAD_REQUEST, error.message)
                return
        extensions = message["payload"].get("extensions") or {}
        if IDEMPOTENCY_EXTENSION in extensions:
            self._idempotency_keys[message["id"]] = extensions[IDEMPOTENCY_EXTENSION]
        await super().handle_subscribe(message)
        if message["id"] not in self.operations:  # refused (limit, not acknowledged)
            self._idempotency_keys.pop(message["id"], None)

    async def _answer_unavailable(self, operation_id: str) -> None:
        logger.warning("websocket: database unreachable while re-reading the user")
        error = unavailable_error().formatted
        await self.send_message({"id": operation_id, "type": "next", "payload": {"data": None, "errors": [error]}})
        await self.send_message({"id": operation_id, "type": "complete"})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """Subscriptions that others in this process ask too join their shared stream; mutations are
        counted while they run, so that a stopping server waits for their answer."""
        view = cast("ContatoGraphQL", self.view)
        if is_mutation(operation.query, operation.operation_name):
            key = self._idempotency_keys.pop(operation.id, None)
            with view.mutations.running():
                if key is not None and self.context.user is not None:
                    await run_over_websocket(self, operation, key, view.settings)
                else:
                    await super().run_operation(operation)
            return
        streams = view.streams
        key = None
        if streams is not None:
            try:
                key = share_key(operation.query, operation.variables, operation.operation_name, self.context)
            except Exception as error:  # noqa: BLE001 - a fault here must not cost the subscription
                await self.handle_task_exception(error)
        if key is None or streams is None:
            try:
                await super().run_operation(operation)
            except asyncio.CancelledError as cancelled:
                if not is_interruption(cancelled):
                    raise  # the client completed the operation or left
                await self._interrupted(operation)
            return
        try:
            await streams.serve(
                key,
                self.context,
                operation.id,
                self.websocket.ws.send_text,  # type: ignore[attr-defined]  # ContatoWebSocketAdapter's
                lambda error: self._handle_pre_execution_error(operation, error),
            )
            with suppress(WebSocketDisconnected):  # the client left: nothing to complete
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except _OperationStreamClosed:
            return
        except Exception as error:
            # As Strawberry's own path: logged (its task callback drops exceptions), then complete.
            await self.handle_task_exception(error)
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            raise


    async def _interrupted(self, operation: Operation[Context, None]) -> None:
        """A stream stopped by a fault outside its resolver (the hub's watchdog, say): its last item
        is the StreamError INTERRUPTED its document selects, then `complete`."""
        key = StreamKey(
            operation.query, operation.operation_name, orjson.dumps(operation.variables or {}), (), ""
        )
        with suppress(WebSocketDisconnected):
            try:
                payload = render_error(self.view.schema, key, self.context, interrupted())
            except Exception as error:  # noqa: BLE001 - the client still gets `complete`
                await self.handle_task_exception(error)
            else:
                await self.websocket.ws.send_text(  # type: ignore[attr-defined]
                    '{"id":' + orjson.dumps(operation.id).decode() + ',"type":"next","payload":' + payload + "}"
                )
            await operation.send_operation_message({"id": operation.id, "type": "complete"})


class ContatoWebSocketAdapter(ASGIWebSocketAdapter):
    async def close(self, code: int, reason: str) -> None:
        # Reasons quote the client (a message type, an operation id): keep the frame valid, a lone
        # surrogate among them written as its escape (UTF-8 cannot carry it).
        clipped = reason.encode(errors="backslashreplace")[:WS_CLOSE_REASON_MAX_BYTES].decode(errors="ignore")
        await super().close(code, clipped)


class ContatoGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = ContatoTransportWSHandler
    websocket_adapter_class = ContatoWebSocketAdapter  # type: ignore[assignment]  # as Strawberry's own

    def __init__(
        self,
        schema: ContatoSchema,
        settings: Settings,
        broadcast: Any,
        hub: Any,
        queue_monitor: Any = None,
        persisted: PersistedDocuments | None = None,
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
        self.streams = SharedStreams(schema) if settings.ws_shared_streams else None
        self.socket_registry = SocketRegistry()
        self.presence: Presence | None = None  # set by create_app
        self.viewing: Any = None  # realtime/viewing.py's TicketViewing, set by create_app
        self.mutations = MutationsInFlight()
        self.persisted = persisted or PersistedDocuments(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's ASGI entry for HTTP, with refusals (400, 405, 406, 415) as GraphQL responses
        and the body capped before parsing: by its declared length at once, else while it streams."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        multipart = _is_multipart(scope)
        limit = self.settings.effective_upload_max_request_bytes if multipart else JSON_MAX_BYTES
        accept = _header(scope, b"accept")
        media_type = negotiate(accept.decode("latin-1") if accept is not None else None) or JSON
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, multipart, media_type)(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, _capped(receive, limit)))
        except BodyTooLarge:
            response = _too_large(limit, multipart, media_type)
        except PartTooLarge:
            response = _part_too_large(media_type)
        except HTTPException as refused:
            # Strawberry would answer in text/plain; a GraphQL client reads `errors`.
            response = _refusal(refused, media_type)
        await response(scope, receive, send)

    def encode_json(self, data: object) -> str:
        """Text, as Strawberry's WebSocket adapter and multipart streams expect it."""
        return _encode(data).decode()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = SubResponse()
        sub_response.status_code = None  # type: ignore[assignment]  # Strawberry's "not set"
        del sub_response.headers["content-length"]
        sub_response.negotiated = negotiate(request.headers.get("accept"))
        return sub_response

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        if negotiate(request.headers.get("accept")) is None:
            raise HTTPException(406, f"Accept must allow {GRAPHQL_RESPONSE_JSON} or {JSON}.")
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            multipart = self.multipart_uploads_enabled and content_type == "multipart/form-data"
            if content_type != JSON and not multipart:
                sent = f"not {content_type}" if content_type else "with a Content-Type header"
                raise HTTPException(
                    415, f"Send the operation as {JSON} (files: multipart/form-data), {sent}."
                )
        data = await super().parse_http_body(request)
        for operation in data if isinstance(data, list) else [data]:
            # Strawberry checks query, variables and extensions, but passes any operationName on.
            if not isinstance(operation.operation_name, (str, type(None))):
                raise HTTPException(
                    400, "The GraphQL operation's `operationName` must be a string or null, if provided."
                )
        return data

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if (
            key is not None
            and context.user is not None
            and isinstance(request_data.query, str)
            and is_mutation(request_data.query, request_data.operation_name)
        ):
            return await self._execute_once(
                key, request, request_adapter, sub_response, context, root_value, request_data
            )
        return await self._execute_single(request, request_adapter, sub_response, context, root_value, request_data)

    async def _execute_once(
        self,
        key: str,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        assert context.user is not None and request_data.query is not None

        async def execute() -> ExecutionResult:
            return await self._execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )

        async def to_body(result: ExecutionResult) -> dict[str, Any]:
            return cast("dict[str, Any]", await self.process_result(request, result))

        query = (request_data.query, request_data.operation_name, request_data.variables)
        return await execute_over_http(key, context.user.pk, query, self.settings, execute, to_body, sub_response)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        if isinstance(result, AnsweredResult) and result.body is not None:
            return result.body
        return await super().process_result(request, result)

    async def _execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        try:
            request_data = self.persisted_request(request_data)
        except PersistedDocumentError as refused:
            return ExecutionResult(data=None, errors=[GraphQLError(refused.message, extensions={"code": refused.code})])
        try:
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        except HTTPException as refused:
            cause = refused.__cause__
            if (
                request_adapter.method == "GET"
                and isinstance(cause, InvalidOperationTypeError)
                and cause.operation_type == OperationType.MUTATION
            ):
                raise Refused(405, "Mutations must be sent with POST.", {"Allow": "POST"}) from cause
            raise

    def persisted_request(self, request_data: GraphQLRequestData) -> GraphQLRequestData:
        """The request with the text of its persisted document, if it names one (contato/persisted.py)."""
        query = self.persisted.resolve(request_data.query, request_data.extensions)
        if query is request_data.query:
            return request_data
        return dataclasses.replace(request_data, query=cast("str", query))

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_page()

    def should_render_graphql_ide(self, request: Any) -> bool:
        # A hashed GET (APQ) has no `query` either, and browsers' fetch accepts */*.
        return super().should_render_graphql_ide(request) and "extensions" not in request.query_params

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        body: object = response_data
        media_type, status, headers = JSON, 200, dict[str, str]()
        if isinstance(sub_response, SubResponse) and sub_response.negotiated == GRAPHQL_RESPONSE_JSON:
            media_type = GRAPHQL_RESPONSE_JSON
            if isinstance(response_data, dict) and _is_request_error(response_data):
                # The operation never ran: no `data` entry, and a status that says why.
                body = {key: value for key, value in response_data.items() if key != "data"}
                status, headers = _request_error_status(response_data.get("errors") or [])
        retry_after = _unavailable(response_data)
        if retry_after is not None:
            # Whatever the media type: the database could not be reached, and a retry may succeed.
            status, headers = 503, {"Retry-After": str(retry_after)}
        response = Response(
            _encode(body), status_code=status, media_type=media_type, headers=headers
        )
        response.headers.raw.extend(sub_response.headers.raw)
        if sub_response.background:
            response.background = sub_response.background
        if sub_response.status_code:
            response.status_code = sub_response.status_code
        return response

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, str]:
        if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
            raise HTTPException(
                400, "Multipart requests must carry a GraphQL-Require-Preflight header (CSRF protection)."
            )
        try:
            return await super().parse_multipart(request)
        except StarletteHTTPException as refused:
            # Starlette's form parser refuses in plain text; a GraphQL client reads `errors`.
            if "exceeded maximum size" in str(refused.detail):
                raise PartTooLarge from None
            # The parser stopped part-way: the rest of the body is not read.
            raise Refused(
                400, f"The multipart request is not valid: {refused.detail}", {"Connection": "close"}
            ) from None

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context = Context(
            settings=self.settings, request=request, response=response, broadcast=self.broadcast, hub=self.hub,
            queue_monitor=self.queue_monitor, viewing=self.viewing,
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
        context.user, context.token_expires_at = await authenticate(token, context.settings)
    except TokenRejected as rejected:
        context.auth_error = str(rejected)
