"""Compiled execution of hot queries: the same answer as graphql-core's, without its per-field work.

`CompiledQueries` is the last schema extension: by the time its `on_execute` runs, parsing, the
validation cache and every other extension (authentication, depth / alias / token / cost limits,
NUL check, metrics) have run as for any operation, and any of them may have refused it. A query
whose every selected field is in types.py is then compiled once per document (plan.py) into a tree
of per-type plans, and each request runs that plan (run.py): the root field's use case (the same
access rules as its resolver), then one query per table and level for the related rows, then plain
dicts. Anything else (an unknown field, type, directive, a mutation) takes the normal path; so does
any request during which the plan meets an exception (a bad cursor, a domain error, a missing
non-null row): graphql-core then answers it, errors and all, as it always has.

`STATS` counts what happened (`compiled`, `fallback`, `uncovered`), and so does the Prometheus
counter `contato_graphql_compiled_total`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode, get_operation_ast
from graphql import ExecutionResult as GraphQLExecutionResult
from graphql.execution.values import get_variable_values
from prometheus_client import Counter
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from resolvers.errors import BadUserInput, DomainError, NotAuthenticated
from schema.compiled.plan import (
    Compiler,
    NullInNonNull,
    OperationPlan,
    Registry,
    Uncovered,
    directive_variables,
)
from schema.compiled.run import Runner
from schema.compiled.types import FAST_TYPES, ROOT_FIELDS
from schema.documents import DocumentCache

logger = logging.getLogger("contato.graphql.compiled")

COMPILED = "compiled"
FALLBACK = "fallback"
UNCOVERED = "uncovered"
MAX_DOCUMENTS = 256
MAX_VARIANTS = 16  # @skip / @include outcomes per document

# Expected on the way: the normal path turns them into the same errors (or typed errors) as always.
EXPECTED = (DomainError, BadUserInput, NotAuthenticated, NullInNonNull)

COMPILED_QUERIES = Counter(
    "contato_graphql_compiled_total",
    "Queries by how they ran: compiled (answered by a compiled plan), fallback (a plan gave way to "
    "the normal path), uncovered (no plan for the document: the normal path).",
    ["outcome"],
)


@dataclass
class Stats:
    compiled: int = 0
    fallback: int = 0
    uncovered: int = 0

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        COMPILED_QUERIES.labels(outcome).inc()


STATS = Stats()


@dataclass(eq=False)
class _Document:
    document: DocumentNode
    operation: OperationDefinitionNode
    directive_variables: tuple[str, ...]
    plans: dict[tuple[Any, ...], OperationPlan | None] = field(default_factory=dict)


class Plans:
    """Plans by document (ParserCache hands out the same DocumentNode for the same text), operation
    and @skip / @include outcome; for one schema."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.registry = Registry(schema, FAST_TYPES, ROOT_FIELDS)
        self.documents: DocumentCache[_Document | None] = DocumentCache(MAX_DOCUMENTS)

    def document(self, document: DocumentNode, operation_name: str | None) -> _Document | None:
        def entry() -> _Document | None:
            operation = get_operation_ast(document, operation_name)
            if operation is None:
                return None
            return _Document(document, operation, directive_variables(document, operation))

        return self.documents.get(document, operation_name, entry)

    def plan(self, entry: _Document, variables: dict[str, Any]) -> OperationPlan | None:
        outcome = tuple(variables.get(name) for name in entry.directive_variables)
        if outcome in entry.plans:
            return entry.plans[outcome]
        try:
            plan: OperationPlan | None = Compiler(
                self.registry, entry.document, entry.operation, dict(zip(entry.directive_variables, outcome))
            ).compile()
        except Uncovered as uncovered:
            logger.debug("not compiled (%s): %s", uncovered, _name(entry.operation))
            plan = None
        except Exception:
            logger.warning("compiling %s failed; the normal path answers it", _name(entry.operation), exc_info=True)
            plan = None
        if len(entry.plans) < MAX_VARIANTS:
            entry.plans[outcome] = plan
        return plan


def _name(operation: OperationDefinitionNode) -> str:
    return operation.name.value if operation.name else "an anonymous operation"


def plans_for(schema: GraphQLSchema) -> Plans:
    """The plans of `schema`, kept on the schema itself: they refer to it (through their registry),
    so in a WeakKeyDictionary keyed by it they kept every schema ever built alive."""
    plans: Plans | None = schema.__dict__.get("_contato_plans")
    if plans is None:
        plans = schema.__dict__["_contato_plans"] = Plans(schema)
    return plans


class CompiledQueries(SchemaExtension):
    """Register it last: it answers a query only when no extension before it has."""

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        if context.result is None and context.graphql_document is not None:
            data = await self._answer()
            if data is not None:
                context.result = GraphQLExecutionResult(data=data)
        yield

    async def _answer(self) -> dict[str, Any] | None:
        context = self.execution_context
        if context.operation_type != OperationType.QUERY:
            return None
        assert context.graphql_document is not None
        plans = plans_for(context.schema._schema)
        entry = plans.document(context.graphql_document, context.operation_name)
        if entry is None or (not entry.directive_variables and () in entry.plans and entry.plans[()] is None):
            STATS.count(UNCOVERED)  # known without coercing the variables
            return None
        variables = get_variable_values(
            plans.registry.schema, entry.operation.variable_definitions or (), context.variables or {}
        )
        if isinstance(variables, list):  # the normal path reports them
            STATS.count(FALLBACK)
            return None
        plan = plans.plan(entry, variables.coerced)
        if plan is None:
            STATS.count(UNCOVERED)
            return None
        try:
            data = await Runner(plan, context.context, context.schema, variables).data()
        except EXPECTED as expected:
            logger.debug("compiled plan gave way to the normal path: %r", expected)
            STATS.count(FALLBACK)
            return None
        except Exception:
            logger.warning("compiled plan failed; the normal path answers instead", exc_info=True)
            STATS.count(FALLBACK)
            return None
        STATS.count(COMPILED)
        return data


__all__ = ["STATS", "CompiledQueries", "Plans", "plans_for"]
