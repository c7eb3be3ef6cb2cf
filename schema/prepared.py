"""Documents prepared once, at start: the trusted documents (contato/persisted.py).

A trusted document is parsed, validated and planned by the compiled path when the server starts,
through the schema's own extensions (the same token, depth, alias and introspection rules as any
request), so that a bad manifest stops the start with its hash and error, and a request for a
listed document finds its parse, validation and plan done. `PinnedParserCache` is Strawberry's
ParserCache with the prepared documents first: their nodes are never evicted, and the validation
and plan caches, keyed by node identity (schema/documents.py), keep hitting.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, OperationType, parse
from strawberry.extensions import ParserCache
from strawberry.schema.schema import _parse_operation_document, _run_validation
from strawberry.types.graphql import OperationType as StrawberryOperationType

from schema.compiled import plans_for
from schema.metrics import OperationMetrics

if TYPE_CHECKING:
    import strawberry


class PinnedDocuments:
    """Parsed documents by their text, kept for the life of the process (a bounded, trusted set)."""

    def __init__(self) -> None:
        self.by_text: dict[str, DocumentNode] = {}

    def __len__(self) -> int:
        return len(self.by_text)


class PinnedParserCache(ParserCache):
    def __init__(self, pinned: PinnedDocuments, maxsize: int) -> None:
        super().__init__(maxsize=maxsize)
        self.pinned = pinned

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        document = self.pinned.by_text.get(context.query or "") if self.pinned.by_text else None
        if document is None:
            yield from super().on_parse()
            return
        context.graphql_document = document
        yield


class DocumentRefused(Exception):
    """A document that does not parse or validate against the schema; the message says which and why."""


@dataclass(frozen=True)
class Prepared:
    document: DocumentNode
    planned: int  # query operations the compiled path has a plan for


async def prepare_document(
    schema: strawberry.Schema, pinned: PinnedDocuments, text: str, max_tokens: int, *, plan: bool = True
) -> Prepared:
    """Parse, validate (the schema's own rules, cached as for a request) and plan one document.
    Planning needs the ORM's models initialised (the compiled path checks its columns against them)."""
    try:
        document = parse(text, max_tokens=max_tokens)
    except GraphQLError as error:
        raise DocumentRefused(error.message) from None
    pinned.by_text[text] = document
    allowed = {StrawberryOperationType.QUERY, StrawberryOperationType.MUTATION, StrawberryOperationType.SUBSCRIPTION}
    context = schema._create_execution_context(query=text, allowed_operation_types=allowed)
    # Every extension but the metrics, which would count this as a refused request.
    extensions = [e for e in schema.get_extensions() if not isinstance(e, OperationMetrics)]
    for extension in extensions:
        extension.execution_context = context
    runner = schema.create_extensions_runner(context, extensions)
    async with runner.operation():
        async with runner.parsing():
            _parse_operation_document(context)
        async with runner.validation():
            _run_validation(context)
    if context.pre_execution_errors:
        del pinned.by_text[text]
        raise DocumentRefused("; ".join(error.message for error in context.pre_execution_errors))
    planned = 0
    if not plan:
        return Prepared(document, planned)
    plans = plans_for(schema._schema)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode) or definition.operation != OperationType.QUERY:
            continue
        # A request names its operation or, in a one-operation document, may leave the name out.
        names = {definition.name.value if definition.name else None}
        if len([d for d in document.definitions if isinstance(d, OperationDefinitionNode)]) == 1:
            names.add(None)
        for name in names:
            entry = plans.document(document, name)
            # Plans for @skip / @include outcomes wait for the variables of a request.
            if entry is not None and not entry.directive_variables and plans.plan(entry, {}) is not None:
                planned += 1
    return Prepared(document, planned)
