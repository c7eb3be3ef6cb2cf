"""GraphQL metrics: operations by name, type and outcome, their latency, live subscriptions, deliveries.

Outcomes: `ok` (executed, no error in the result; typed errors such as `PersonError` are data, so
they are ok too), `error` (executed, with errors in the result, e.g. a masked fault), `refused`
(stopped before execution: syntax, validation, depth/alias/token/cost limits, authentication, rate
limit). Queries and mutations are counted and timed when they answer; a subscription is counted when
it starts (or is refused) and is then a live subscription until it ends.

Operation names come from clients, so the label is bounded: an unnamed operation is `anonymous`, and
a name becomes a label value only if it is a valid GraphQL name of an operation an authenticated
caller had executed while fewer than MAX_OPERATION_NAMES were known in this process (so neither a
stranger's `login` nor a refused request can fill the table); anything else is `other`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from graphql import FieldNode, OperationDefinitionNode
from prometheus_client import Counter, Gauge, Histogram
from strawberry.extensions import SchemaExtension
from strawberry.types import StreamExecutionResult
from strawberry.types.graphql import OperationType

MAX_OPERATION_NAMES = 200
_GRAPHQL_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,99}")

OK = "ok"
ERROR = "error"
REFUSED = "refused"

GRAPHQL_REQUESTS = Counter(
    "contato_graphql_requests_total",
    "GraphQL operations by operation name, type and outcome (ok, error, refused); "
    "subscriptions are counted when they start.",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "contato_graphql_request_duration_seconds",
    "Time from receiving a GraphQL query or mutation to its result (parse, validation, execution).",
    ["operation", "type", "outcome"],
)
SUBSCRIPTIONS_ACTIVE = Gauge(
    "contato_graphql_subscriptions_active",
    "Subscriptions streaming to a client.",
    multiprocess_mode="livesum",
)
SHARED_STREAMS = Gauge(
    "contato_shared_streams_active",
    "Live streams executed once for all the subscribers who ask the same (contato/shared_streams.py).",
    multiprocess_mode="livesum",
)
EVENTS_DELIVERED = Counter(
    "contato_events_delivered_total",
    "Items subscriptions sent to their subscribers, by subscription field.",
    ["subscription"],
)

_operation_names: set[str] = set()


def operation_label(name: str | None, *, admit: bool) -> str:
    """The metric label for an operation name (see the module docstring)."""
    if not name:
        return "anonymous"
    if name in _operation_names:
        return name
    if admit and len(_operation_names) < MAX_OPERATION_NAMES and _GRAPHQL_NAME.fullmatch(name):
        _operation_names.add(name)
        return name
    return "other"


class OperationMetrics(SchemaExtension):
    """Register it after the extensions that refuse operations before execution (they set a result in
    `on_execute`), so that it sees their refusals."""

    def on_operation(self) -> Iterator[None]:
        self._delivered: Counter | None = None
        self._executed = self._streaming = False
        self._shared = bool(getattr(self.execution_context.context, "shared_stream", False))
        if self._shared:
            # A stream run once for many subscribers: each is counted by the transport
            # (subscription_started, subscription_ended and its deliveries).
            yield
            return
        started = time.perf_counter()
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            self._record(time.perf_counter() - started, failed)

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if self._shared:
            pass
        elif self._type() == OperationType.SUBSCRIPTION.value:
            # Strawberry subscribes whatever the other hooks set: reaching here means it streams.
            self._executed = self._streaming = True
            self._count(OK)
            SUBSCRIPTIONS_ACTIVE.inc()
            self._delivered = EVENTS_DELIVERED.labels(_root_field(context) or "unknown")
        else:
            self._executed = context.result is None
        yield

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        if self._delivered is not None and getattr(result, "data", None) is not None:
            self._delivered.inc()
        yield

    def _record(self, elapsed: float, failed: bool) -> None:
        if self._streaming:
            SUBSCRIPTIONS_ACTIVE.dec()
            return
        if not self._executed:
            outcome = REFUSED
        elif failed or self.execution_context.pre_execution_errors or _has_errors(self.execution_context.result):
            outcome = ERROR
        else:
            outcome = OK
        operation_type = self._type()
        self._count(outcome)
        if operation_type != OperationType.SUBSCRIPTION.value:
            GRAPHQL_DURATION.labels(self._label(), operation_type, outcome).observe(elapsed)

    def _count(self, outcome: str) -> None:
        GRAPHQL_REQUESTS.labels(self._label(), self._type(), outcome).inc()

    def _label(self) -> str:
        context = self.execution_context
        trusted = self._executed and getattr(context.context, "user", None) is not None
        return operation_label(context.operation_name, admit=trusted)

    def _type(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except Exception:  # noqa: BLE001 - no document (syntax error) or no such operation
            return "unknown"


def subscription_started(operation_name: str | None, field: str) -> None:
    """A subscriber joined a shared stream (contato/shared_streams.py): counted as it would be alone."""
    GRAPHQL_REQUESTS.labels(operation_label(operation_name, admit=True), OperationType.SUBSCRIPTION.value, OK).inc()
    SUBSCRIPTIONS_ACTIVE.inc()


def subscription_ended() -> None:
    SUBSCRIPTIONS_ACTIVE.dec()


def _has_errors(result: object) -> bool:
    return bool(getattr(result, "errors", None))


def _root_field(context: object) -> str | None:
    """The subscription's field (a subscription selects exactly one), bounded by the schema."""
    document = getattr(context, "graphql_document", None)
    name = getattr(context, "operation_name", None)
    for node in getattr(document, "definitions", ()):
        if isinstance(node, OperationDefinitionNode) and (name is None or (node.name and node.name.value == name)):
            for selection in node.selection_set.selections:
                if isinstance(selection, FieldNode):
                    return selection.name.value
    return None
