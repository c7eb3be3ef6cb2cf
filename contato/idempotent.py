"""Idempotency keys at the transports: where a mutation's key is read (the `Idempotency-Key` header,
the subscribe message's `extensions.idempotencyKey`) and how the answer is sent or replayed. What a
key guarantees, and how, is in resolvers/idempotency.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from graphql import GraphQLError
from starlette.responses import Response
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
    _OperationStreamClosed,
)
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError

from models.availability import database_unreachable
from resolvers.context import Context
from resolvers.idempotency import (
    INVALID_KEY_MESSAGE,
    IdempotencyRefused,
    fingerprint,
    once,
    valid_key,
)
from schema.security import unavailable_error

if TYPE_CHECKING:
    from contato.settings import Settings

IDEMPOTENCY_HEADER = "idempotency-key"
IDEMPOTENCY_EXTENSION = "idempotencyKey"
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass
class AnsweredResult(ExecutionResult):
    """An answer already in its JSON form: replayed for an idempotency key, or this request's own as
    it was kept. The view's `process_result` hands it over as it is."""

    body: GraphQLHTTPResponse | None = None


def idempotency_refusal(refused: IdempotencyRefused) -> GraphQLError:
    extensions: dict[str, object] = {"code": refused.code}
    if refused.retry_after_seconds is not None:
        extensions["retryAfterSeconds"] = refused.retry_after_seconds
    return GraphQLError(refused.message, extensions=extensions)


def invalid_key_error() -> GraphQLError:
    return GraphQLError(INVALID_KEY_MESSAGE, extensions={"code": "BAD_USER_INPUT"})


async def execute_over_http(
    key: str,
    user_id: int,
    query: tuple[str, str | None, object],
    settings: Settings,
    execute: Callable[[], Awaitable[ExecutionResult]],
    to_body: Callable[[ExecutionResult], Awaitable[dict[str, Any]]],
    sub_response: Response,
) -> ExecutionResult:
    """A mutation sent over HTTP with `Idempotency-Key`: its own answer, or for a retry the kept one
    (with `Idempotent-Replayed: true`). `query` is the document, operation name and variables."""
    if not valid_key(key):
        return ExecutionResult(data=None, errors=[invalid_key_error()])
    try:
        answer = await once(user_id, key, fingerprint(*query), settings, execute, to_body)
    except IdempotencyRefused as refused:
        return ExecutionResult(data=None, errors=[idempotency_refusal(refused)])
    if answer.replayed:
        sub_response.headers[REPLAYED_HEADER] = "true"
    return AnsweredResult(data=None, errors=None, body=cast("GraphQLHTTPResponse", answer.body))


async def run_over_websocket(
    handler: BaseGraphQLTransportWSHandler[Context, None],
    operation: Operation[Context, None],
    key: object,
    settings: Settings,
) -> None:
    """A mutation sent over a WebSocket with `extensions.idempotencyKey`: its answer is sent as `next`
    (then `complete`), or, for a retry, the answer kept for the key."""
    user = handler.context.user
    assert user is not None
    try:
        if not isinstance(key, str) or not valid_key(key):
            await operation.send_initial_errors([invalid_key_error()])
            return

        async def execute() -> ExecutionResult:
            return await handler.schema.execute(
                operation.query,
                variable_values=operation.variables,
                context_value=handler.context,
                root_value=handler.root_value,
                operation_name=operation.operation_name,
            )

        async def to_body(result: ExecutionResult) -> dict[str, Any]:
            return cast("dict[str, Any]", process_result(result))

        request = fingerprint(operation.query, operation.operation_name, operation.variables)
        try:
            answer = await once(user.pk, key, request, settings, execute, to_body)
        except IdempotencyRefused as refused:
            await operation.send_initial_errors([idempotency_refusal(refused)])
            return
        if isinstance(answer.result, PreExecutionError):
            await handler._handle_pre_execution_error(operation, answer.result)
            return
        await operation.send_operation_message({"id": operation.id, "type": "next", "payload": answer.body})  # type: ignore[typeddict-item]
        await operation.send_operation_message({"id": operation.id, "type": "complete"})
    except _OperationStreamClosed:
        return
    except Exception as error:
        if database_unreachable(error):  # the commit itself could not reach the database
            payload = {"data": None, "errors": [unavailable_error().formatted]}
            with suppress(Exception):
                await operation.send_operation_message({"id": operation.id, "type": "next", "payload": payload})  # type: ignore[typeddict-item]
                await operation.send_operation_message({"id": operation.id, "type": "complete"})
            return
        await handler.handle_task_exception(error)
        with suppress(Exception):
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        handler.operations.pop(operation.id, None)
        raise


