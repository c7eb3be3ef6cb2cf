"""Live streams executed once for all the subscribers who ask the same thing.

Strawberry runs a subscription's selection set once per subscriber for every event: a thousand
wallboards on the same ticket cost a thousand executions and a thousand JSON encodings. Here the
graphql-transport-ws subscriptions that ask the same thing — same document, operation name and
variables, no resume cursor, and the same access scope (`resolvers.realtime.share_scope`: role, a
rep's company, an agent's own id) — join one group. The group runs the stream once, in a context
of its own whose user stands for the scope, encodes each result once, and every member sends those
bytes under its own operation id.

What stays per member, checked before each item it is sent: its token's expiry, and its user,
re-read when any process reported a change to them (USER_CHANGED, which the hub has dispatched
before any later event reaches the group). A member whose access changed ends alone, with the
StreamError its own document selects, then `complete`; the others go on. A member that falls more
than LOG_LIMIT items behind ends with TOO_SLOW and resumes with its last cursor, as on the
unshared path. Everything else (a resume cursor, queries and mutations over the socket, other
streams) runs on Strawberry's own path.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, replace
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    NullValueNode,
    OperationDefinitionNode,
    VariableNode,
    Visitor,
    get_operation_ast,
    parse,
    visit,
)
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution import Executor, execute_subscription_event
from starlette.websockets import WebSocketDisconnect
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.utils.aio import aclosing

from realtime.hub import is_interruption
from resolvers.context import Context
from resolvers.realtime import StreamEnded, StreamErrorCode, Viewer, interrupted, share_scope
from schema import metrics
from schema.realtime import StreamError

logger = logging.getLogger("contato.realtime")

SHAREABLE_FIELDS = frozenset({"ticketUpdates", "ticketReturnDue", "callbackDue", "ticketCountsUpdates"})
# Streams of snapshots (each item is the whole state): a member who joins a running group gets its
# latest item first, as the first member got the first one.
SNAPSHOT_FIELDS = frozenset({"ticketCountsUpdates"})
# Fields whose value is made for the viewer (a link signed for them): a stream selecting one runs alone.
VIEWER_BOUND_FIELDS = frozenset({"downloadUrl"})
LOG_LIMIT = 1000  # items that may queue behind a member still sending an earlier one
MAX_TOKENS = 10_000  # documents longer than this are not parsed here (Strawberry's path refuses them)


@dataclass(frozen=True)
class StreamKey:
    query: str
    operation_name: str | None
    variables: bytes
    scope: tuple[object, ...]
    field: str


@functools.lru_cache(maxsize=256)
def _document(query: str) -> DocumentNode | None:
    try:
        return parse(query, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return None


@functools.lru_cache(maxsize=256)
def _selects_viewer_bound_field(query: str) -> bool:
    document = _document(query)
    found = False

    class Finder(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            nonlocal found
            found = found or node.name.value in VIEWER_BOUND_FIELDS

    if document is not None:
        visit(document, Finder())
    return found


def share_key(query: object, variables: object, operation_name: object, ctx: Context) -> StreamKey | None:
    """The group a subscription may join, or None when it must run on its own."""
    if ctx.user is None or not isinstance(query, str) or not isinstance(operation_name, (str, type(None))):
        return None
    if variables is not None and not isinstance(variables, dict):
        return None
    document = _document(query)
    if document is None:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation.value != "subscription":
        return None
    selections = operation.selection_set.selections
    if len(selections) != 1 or not isinstance(selections[0], FieldNode) or selections[0].directives:
        return None
    field = selections[0]
    if field.name.value not in SHAREABLE_FIELDS or _resumes(field, operation, variables or {}):
        return None
    if _selects_viewer_bound_field(query):
        return None
    try:
        encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return StreamKey(query, operation_name, encoded, share_scope(ctx.user), field.name.value)


def _resumes(field: FieldNode, operation: OperationDefinitionNode, variables: dict[str, Any]) -> bool:
    """Whether the subscription replays from a cursor: a late joiner to a group would miss that."""
    for argument in field.arguments or ():
        if argument.name.value != "after":
            continue
        value = argument.value
        if isinstance(value, NullValueNode):
            return False
        if not isinstance(value, VariableNode):
            return True
        name = value.name.value
        if name in variables:
            return variables[name] is not None
        for definition in operation.variable_definitions or ():
            if definition.variable.name.value == name:
                return definition.default_value is not None and not isinstance(
                    definition.default_value, NullValueNode
                )
    return False


@dataclass
class _End:
    """How a group's stream ended: `pre_error` before it started, `error` (the members' last item)
    when it failed, else `complete`."""

    pre_error: PreExecutionError | None = None
    error: StreamEnded | None = None


class StreamGroup:
    """One execution of a stream and the members it is sent to."""

    def __init__(self, registry: SharedStreams, key: StreamKey, context: Context) -> None:
        self.registry = registry
        self.key = key
        self.context = context
        self.members: set[Member] = set()
        self.end: _End | None = None
        self._errors: dict[tuple[str, str, str | None], str] = {}
        self.latest: str | None = None
        self.delivered = metrics.EVENTS_DELIVERED.labels(key.field)
        self.task = asyncio.create_task(self._run(), name=f"shared-stream-{key.field}")
        metrics.SHARED_STREAMS.inc()

    async def _run(self) -> None:
        variables = orjson.loads(self.key.variables)
        try:
            source = await self.registry.schema.stream(
                self.key.query,
                variable_values=variables,
                context_value=self.context,
                operation_name=self.key.operation_name,
            )
            async with aclosing(source):
                first = True
                async for result in source:
                    if first and isinstance(result, PreExecutionError):
                        self._finish(_End(pre_error=result))
                        return
                    first = False
                    if isinstance(result, ExecutionResult):
                        payload = encode_payload(result)
                        if self.key.field in SNAPSHOT_FIELDS:
                            self.latest = payload
                        for member in list(self.members):
                            member.offer(payload)
        except asyncio.CancelledError as cancelled:
            if not is_interruption(cancelled):
                raise  # the last member left
            logger.error("shared %s stream was interrupted: %r", self.key.field, cancelled)
            self._finish(_End(error=interrupted()))
            return
        except Exception:  # end the members' streams rather than leave them waiting
            logger.exception("shared %s stream failed", self.key.field)
            self._finish(_End(error=interrupted()))
            return
        self._finish(_End())

    def _finish(self, end: _End) -> None:
        """Every member gets the end: the error as its last item, if any, then `complete`."""
        self.end = end
        self.registry.forget(self)
        payload = None
        if end.error is not None:
            try:
                payload = self.render_error(end.error)
            except Exception:  # noqa: BLE001 - the members still complete
                logger.exception("could not render the end of a shared %s stream", self.key.field)
        for member in list(self.members):
            if payload is not None:
                member.offer(payload)
            member.close()

    def render_error(self, ended: StreamEnded) -> str:
        """The `next` payload of a StreamError for this group's document (rendered once per error)."""
        key = (str(ended.code), ended.message, ended.field)
        if key not in self._errors:
            self._errors[key] = render_error(self.registry.schema, self.key, self.context, ended)
        return self._errors[key]

    async def serve(self, member: Member) -> None:
        """Send the member every item from now on (a snapshot stream's latest first), then the end."""
        self.members.add(member)
        if self.latest is not None:
            member.offer(self.latest)
        try:
            await member.done
        finally:
            self.members.discard(member)
            member.cancel()
            if not self.members and self.end is None:
                self.registry.forget(self)
                self.task.cancel()


class Member:
    """One subscriber of a group: its connection, operation id and its own checks.

    The group hands it each item in order (`offer`). Delivery runs at once, inside the group's task,
    as a raw broadcast would: no task switch per subscriber. Only when it has to wait (a socket whose
    buffer is full, a re-read of the user) does it go on in a task of its own, and the items that
    arrive meanwhile queue behind it, up to LOG_LIMIT (then the member ends with TOO_SLOW).
    """

    def __init__(self, group: StreamGroup | None, viewer: Viewer | None, operation_id: str,
                 send: Callable[[str], Awaitable[None]]) -> None:
        self.group = group
        self.viewer = viewer
        self.send = send
        self.prefix = '{"id":' + orjson.dumps(operation_id).decode() + ',"type":"next","payload":'
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.backlog: deque[str] = deque()
        self.busy: asyncio.Future[Any] | None = None
        self.closing = self.overflow = False

    def offer(self, payload: str) -> None:
        if self.done.done():
            return
        if self.busy is not None:
            if len(self.backlog) >= LOG_LIMIT:
                self.overflow = True
                self.backlog.clear()
            elif not self.overflow:
                self.backlog.append(payload)
            return
        assert self.viewer is not None
        try:
            current = self.viewer.check_now()
        except StreamEnded:
            current = False  # _deliver ends it, in a task: sending the error may wait
        if current:
            # The common case: only the send may wait, and it touches no task-bound state.
            waiting = run_eagerly(self._send_counted(payload))
        else:
            waiting = asyncio.ensure_future(self._deliver(payload))
        if waiting is not None:
            self.busy = asyncio.ensure_future(self._continue(waiting))

    def close(self) -> None:
        """The group's stream ended: finish once what was offered is sent."""
        self.closing = True
        if self.busy is None:
            self._resolve()

    def cancel(self) -> None:
        if self.busy is not None:
            self.busy.cancel()
        self._resolve()

    def _resolve(self) -> None:
        if not self.done.done():
            self.done.set_result(None)

    async def _continue(self, rest: Awaitable[None]) -> None:
        try:
            await rest
            while self.backlog and not self.done.done():
                await self._deliver(self.backlog.popleft())
            if self.overflow and not self.done.done():
                await self._end(StreamEnded(
                    StreamErrorCode.TOO_SLOW, "Too far behind: reconnect with your last cursor to catch up."
                ))
        finally:
            self.busy = None
            if self.closing:
                self._resolve()

    async def _deliver(self, payload: str) -> None:
        assert self.viewer is not None and self.group is not None
        try:
            await self.viewer.check()
            if share_scope(self.viewer.user) != self.group.key.scope:
                raise StreamEnded(StreamErrorCode.ACCESS_REVOKED, "Your access changed: subscribe again.")
        except StreamEnded as ended:
            await self._end(ended)
            return
        await self._send_counted(payload)

    async def _send_counted(self, payload: str) -> None:
        assert self.group is not None
        if await self._send(payload):
            self.group.delivered.inc()

    async def _end(self, ended: StreamEnded) -> None:
        assert self.group is not None
        await self._send(self.group.render_error(ended))
        self._resolve()

    async def _send(self, payload: str) -> bool:
        try:
            await self.send(self.prefix + payload + "}")
        except (WebSocketDisconnect, WebSocketDisconnected, RuntimeError, OSError):
            self._resolve()  # the connection is gone; its handler cleans the operation up
            return False
        return True


def run_eagerly(coroutine: Coroutine[Any, Any, None]) -> asyncio.Future[None] | None:
    """Run `coroutine` in the current task until it first waits: None if it finished by then, else
    a task that finishes it (what Python 3.12's eager tasks do, for one delivery)."""
    try:
        waiting_on = coroutine.send(None)
    except StopIteration:
        return None
    except BaseException:
        logger.exception("a shared stream delivery failed")
        return None
    return asyncio.ensure_future(_finish_later(coroutine, waiting_on))


async def _finish_later(coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    await _Resumed(coroutine, waiting_on)


class _Resumed:
    """Awaits what a half-run coroutine waits on, then drives it to its end (as `yield from` would)."""

    __slots__ = ("coroutine", "waiting_on")

    def __init__(self, coroutine: Coroutine[Any, Any, None], waiting_on: Any) -> None:
        self.coroutine, self.waiting_on = coroutine, waiting_on

    def __await__(self) -> Generator[Any, Any, None]:
        coroutine, waiting_on = self.coroutine, self.waiting_on
        while True:
            try:
                value = yield waiting_on
            except GeneratorExit:
                coroutine.close()
                raise
            except BaseException as error:  # noqa: BLE001 - cancellation included: hand it on
                try:
                    waiting_on = coroutine.throw(error)
                except StopIteration:
                    return
            else:
                try:
                    waiting_on = coroutine.send(value)
                except StopIteration:
                    return


def render_error(schema: Any, key: StreamKey, context: Context, ended: StreamEnded) -> str:
    """The `next` payload the document selects from a StreamError: the subscription field resolves
    to its event, so the event's type decides the fragment, as for every other item."""
    document = _document(key.query)
    assert document is not None  # the key was made from it
    executor = Executor.build(
        schema._schema,
        document,
        context_value=context,
        raw_variable_values=orjson.loads(key.variables),
        operation_name=key.operation_name,
    )
    if isinstance(executor, list):
        raise TypeError(f"cannot render a StreamError: {executor}")
    item = StreamError(code=ended.code, message=ended.message, field=ended.field)
    result = execute_subscription_event(executor.build_per_event_executor(item))
    if not isinstance(result, GraphQLExecutionResult):
        raise TypeError("a StreamError renders synchronously")
    return encode_payload(ExecutionResult(data=result.data, errors=result.errors))


def encode_payload(result: ExecutionResult) -> str:
    payload: dict[str, Any] = {"data": result.data}
    if result.errors:
        payload["errors"] = [error.formatted for error in result.errors]
    if result.extensions:
        payload["extensions"] = result.extensions
    return orjson.dumps(payload).decode()


class SharedStreams:
    """The process's groups, by key."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.groups: dict[StreamKey, StreamGroup] = {}

    def forget(self, group: StreamGroup) -> None:
        if self.groups.get(group.key) is group:
            del self.groups[group.key]
            metrics.SHARED_STREAMS.dec()

    def group(self, key: StreamKey, connection: Context) -> StreamGroup:
        group = self.groups.get(key)
        if group is None:
            # The member's user at this moment stands for the scope; the group's stream reloads it
            # once and then no longer checks it (`shared_stream`): each member is checked instead.
            context = replace(
                connection,
                token_expires_at=None,
                request=None,
                response=None,
                connection_params=None,
                request_loaders_=None,
                shared_stream=True,
            )
            group = self.groups[key] = StreamGroup(self, key, context)
        return group

    async def serve(
        self,
        key: StreamKey,
        connection: Context,
        operation_id: str,
        send: Callable[[str], Awaitable[None]],
        pre_error: Callable[[PreExecutionError], Awaitable[None]],
    ) -> None:
        """Run one subscription as a member of its group until the group's stream or the member ends."""
        metrics.subscription_started(key.operation_name, key.field)
        try:
            try:
                viewer = await Viewer.start(connection)
            except StreamEnded as ended:
                member = Member(None, None, operation_id, send)
                await member._send(render_error(self.schema, key, connection, ended))
                return
            key = replace(key, scope=share_scope(viewer.user))  # as of now, not as of the connection
            group = self.group(key, connection)  # no await between this and joining it
            await group.serve(Member(group, viewer, operation_id, send))
            if group.end is not None and group.end.pre_error is not None:
                await pre_error(group.end.pre_error)
        finally:
            metrics.subscription_ended()


__all__ = ["SHAREABLE_FIELDS", "SharedStreams", "StreamKey", "share_key"]
