"""Schema extensions: authentication on every operation but login, limits, error masking."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    get_operation_ast,
    validate,
    visit,
)
from graphql.language import FieldNode
from graphql.validation import ASTValidationRule
from strawberry.extensions import MaskErrors, SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.availability import RETRY_AFTER_SECONDS, database_unreachable
from models.user import MutationWindow
from resolvers.errors import BadUserInput, NotAuthenticated
from schema.documents import DocumentCache

logger = logging.getLogger("contato.graphql")

MAX_VALIDATION_ERRORS = 20
ANONYMOUS_FIELDS = frozenset({"login", "__typename", "__schema", "__type"})


class RequireAuthentication(SchemaExtension):
    """Refuse, before execution, any operation that selects more than `login` and introspection."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context.context
        if getattr(context, "user", None) is None and not self._anonymous_allowed():
            error = NotAuthenticated(
                getattr(context, "auth_error", None) or "Authentication required: send a valid Bearer token."
            )
            refuse(self.execution_context, public_error(error.message, "UNAUTHENTICATED"))
        yield

    def _anonymous_allowed(self) -> bool:
        document = self.execution_context.graphql_document
        if document is None:
            return False
        name = self.execution_context.operation_name
        operations = [
            node
            for node in document.definitions
            if isinstance(node, OperationDefinitionNode) and (name is None or (node.name and node.name.value == name))
        ]
        if len(operations) != 1:
            return False
        return all(
            isinstance(selection, FieldNode) and selection.name.value in ANONYMOUS_FIELDS
            for selection in operations[0].selection_set.selections
        )


def public_error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


# A document and operation name that do not agree ("Unknown operation named …"), or an operation type
# the transport does not take: the client's mistake, as Strawberry words it, not a fault of ours.
PUBLIC_EXCEPTIONS = (NotAuthenticated, BadUserInput, CannotGetOperationTypeError, InvalidOperationTypeError)


def refuse(context: ExecutionContext, error: GraphQLError) -> None:
    """Answer the operation with `error` instead of running it. Strawberry ignores a result set
    before a subscription starts (it subscribes anyway), so a subscription's refusal is raised: it
    becomes the stream's one error and ends the stream before anything listens."""
    if context.operation_type == OperationType.SUBSCRIPTION:
        raise error
    context.result = ExecutionResult(data=None, errors=[error])


def error_code(exception: BaseException | None) -> str:
    if isinstance(exception, NotAuthenticated):
        return "UNAUTHENTICATED"
    return "BAD_USER_INPUT"


def should_mask(error: GraphQLError) -> bool:
    """Mask what we did not expect; keep GraphQL's own (syntax, validation) and our public errors."""
    original = error.original_error
    return original is not None and not isinstance(original, (*PUBLIC_EXCEPTIONS, GraphQLError))


SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
UNAVAILABLE_MESSAGE = "The database cannot be reached right now; try again shortly."


def unavailable_error(error: GraphQLError | None = None) -> GraphQLError:
    """The public face of a database that cannot be reached: a typed code and when to retry."""
    extensions = {"code": SERVICE_UNAVAILABLE, "retryAfterSeconds": RETRY_AFTER_SECONDS}
    if error is None:
        return GraphQLError(UNAVAILABLE_MESSAGE, extensions=extensions)
    return GraphQLError(
        UNAVAILABLE_MESSAGE,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )


class MaskFaults(MaskErrors):
    """MaskErrors, except that a database that cannot be reached is said so (SERVICE_UNAVAILABLE,
    with `retryAfterSeconds`): the client should retry, not report a bug."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if database_unreachable(error.original_error):
            return unavailable_error(error)
        return super().anonymise_error(error)


class _Rules:
    """Validation rules keyed by name. Strawberry's depth and alias limiters make a new rule class
    for every request; keyed by the classes themselves the cache never hit. For one schema (whose
    limits are fixed by its settings) rules of the same name check the same thing."""

    def __init__(self, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.rules = rules
        self.names = tuple(f"{rule.__module__}.{rule.__qualname__}" for rule in rules)

    def __hash__(self) -> int:
        return hash(self.names)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Rules) and other.names == self.names


def validated(schema: GraphQLSchema) -> DocumentCache[list[GraphQLError]]:
    """The validation results of `schema`, kept on the schema so that they live as long as it does
    (in one process-wide cache keyed by schema, up to 512 schemas stayed alive: a test suite builds
    hundreds)."""
    cache: DocumentCache[list[GraphQLError]] | None = schema.__dict__.get("_contato_validated")
    if cache is None:
        cache = schema.__dict__["_contato_validated"] = DocumentCache(maxsize=512)
    return cache

_TEXT_CHECKED: DocumentCache[str | None] = DocumentCache(maxsize=512)


def _validate(schema: GraphQLSchema, document: DocumentNode, rules: _Rules, hide_suggestions: bool) -> list[GraphQLError]:
    return validated(schema).get(document, (rules, hide_suggestions), lambda: validate(
        schema,
        document,
        (*rules.rules, MaybeNullValidationRule, OneOfInputValidationRule),
        max_errors=MAX_VALIDATION_ERRORS,
        hide_suggestions=hide_suggestions,
    ))


class CachedValidation(SchemaExtension):
    """Strawberry's validation, cached per document, with at most MAX_VALIDATION_ERRORS errors and,
    where the schema is not public (introspection off), without "Did you mean …?" hints that
    would spell it out field by field."""

    def __init__(self, hide_suggestions: bool) -> None:
        self.hide_suggestions = hide_suggestions

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.graphql_document is not None:
            context.pre_execution_errors = _validate(
                context.schema._schema, context.graphql_document, _Rules(tuple(context.validation_rules)),
                self.hide_suggestions,
            )
        yield


def root_fields(
    document: DocumentNode | None, operation_name: str | None, variables: dict[str, Any] | None
) -> dict[str, str]:
    """What the operation will execute at its root: field name by response key, with fragments
    expanded and @skip / @include honoured, as graphql-core collects them (fields under one
    response key are merged into one execution). A directive whose condition cannot be read here
    (a variable of the wrong type, which execution then refuses) counts its fields in."""
    if document is None:
        return {}
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return {}
    fragments = {node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)}
    defaults = {
        definition.variable.name.value: definition.default_value.value
        for definition in operation.variable_definitions or ()
        if isinstance(definition.default_value, BooleanValueNode)
    }
    values = {**defaults, **(variables or {})}

    def condition(directive: DirectiveNode) -> bool | None:
        argument = next((arg.value for arg in directive.arguments or () if arg.name.value == "if"), None)
        if isinstance(argument, BooleanValueNode):
            return argument.value
        if isinstance(argument, VariableNode) and isinstance(values.get(argument.name.value), bool):
            return bool(values[argument.name.value])
        return None

    def included(node: SelectionNode) -> bool:
        for directive in node.directives or ():
            if directive.name.value == "skip" and condition(directive) is True:
                return False
            if directive.name.value == "include" and condition(directive) is False:
                return False
        return True

    fields: dict[str, str] = {}
    visited: set[str] = set()

    def collect(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if not included(selection):
                continue
            if isinstance(selection, FieldNode):
                fields.setdefault((selection.alias or selection.name).value, selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                collect(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode) and selection.name.value not in visited:
                visited.add(selection.name.value)
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    collect(fragment.selection_set)

    collect(operation.selection_set)
    return fields


def _mutation_fields(context: ExecutionContext) -> dict[str, str]:
    if context.result is not None or context.operation_type != OperationType.MUTATION:
        return {}
    return root_fields(context.graphql_document, context.operation_name, context.variables)


class OneLoginPerRequest(SchemaExtension):
    """Each `login` checks a password with argon2 (slow on purpose): a request may ask for one.
    More (aliases, fragments) are refused before any password is checked or counted."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        logins = sum(1 for name in _mutation_fields(context).values() if name == "login")
        if logins > 1:
            refuse(context, public_error(f"One login per request: this operation asks for {logins}.", "BAD_USER_INPUT"))
        yield


class SuggestionFreeExecutor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, built with graphql-core's `hide_suggestions` for every operation
    (queries, mutations, subscriptions, over HTTP and WebSocket). CachedValidation hides the hints
    validation gives; this hides those of variable coercion ("not to include unknown field 'txt'.
    Did you mean 'text'?", an enum value "ADMN" → 'ADMIN'), which would spell out a private schema
    one guess at a time. For schemas with introspection off only."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


class MutationRateLimit(SchemaExtension):
    """At most `per_minute` mutations per user per minute, counted in the database so that every
    server process shares the count. Each root field of a mutation operation is one mutation
    (15 aliased updates in one request are 15). Over the limit: RATE_LIMITED, before anything runs."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        user = getattr(context.context, "user", None)
        if self.per_minute > 0 and user is not None:
            changes = sum(1 for name in _mutation_fields(context).values() if name != "__typename")
            if changes:
                count, retry_after = await count_mutations(user.pk, changes)
                if count > self.per_minute:
                    error = public_error(
                        f"Too many changes: at most {self.per_minute} a minute. Try again in {retry_after} s.",
                        "RATE_LIMITED",
                    )
                    error.extensions = {**(error.extensions or {}), "retryAfterSeconds": retry_after}
                    context.result = ExecutionResult(data=None, errors=[error])
        yield


def utc_now() -> datetime:
    return datetime.now(UTC)


async def count_mutations(user_id: int, changes: int) -> tuple[int, int]:
    """Counts `changes` mutations in the user's current minute; returns the count and seconds left in it."""
    now = utc_now()
    window = now.replace(second=0, microsecond=0)
    scope = MutationWindow.filter(user_id=user_id, window_start=window)
    if not await scope.update(count=F("count") + changes):
        try:
            # A savepoint when the mutation runs in a transaction (an idempotency key's): the
            # conflict must not abort it on PostgreSQL.
            async with in_transaction():
                await MutationWindow.create(user_id=user_id, window_start=window, count=changes)
        except IntegrityError:  # another process opened the window first
            await scope.update(count=F("count") + changes)
    count = await scope.values_list("count", flat=True)
    return (max(count) if count else changes), 60 - now.second


class RejectUnstorableText(SchemaExtension):
    """No text in Contato may hold a NUL character (PostgreSQL cannot store one) or a lone surrogate
    (half of a UTF-16 pair, which JSON can spell as "\\ud800" but UTF-8, and so neither database
    nor any driver, can encode): refuse any request that carries one, in its variables (keys too)
    or in the document, with BAD_USER_INPUT, before anything reads it.

    At validation, after CachedValidation, rather than at execution: Strawberry runs a subscription
    without looking at a result an extension set in on_execute, but it stops every operation,
    subscriptions included, on errors found at validation."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            found = _unstorable(context.variables) or _document_unstorable(context.graphql_document)
            if found:
                # A new list: the one CachedValidation set is its cache's.
                context.pre_execution_errors = [public_error(_REFUSALS[found], "BAD_USER_INPUT")]
        yield


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
NUL, SURROGATE = "nul", "surrogate"
_REFUSALS = {
    NUL: "Text may not contain NUL characters (\\u0000).",
    SURROGATE: "Text may not contain a lone surrogate (\\ud800 to \\udfff): UTF-8 cannot encode it.",
}


def _kind(text: str) -> str | None:
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    return NUL if match.group() == "\x00" else SURROGATE


def _unstorable(value: object) -> str | None:
    if isinstance(value, str):
        return _kind(value)
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable(key) or _unstorable(item)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for item in value:
            found = _unstorable(item)
            if found:
                return found
    return None


def _document_unstorable(document: DocumentNode | None) -> str | None:
    if document is None or document.loc is None:
        return None
    return _TEXT_CHECKED.get(document, None, lambda: _parsed_document_unstorable(document))


def _parsed_document_unstorable(document: DocumentNode) -> str | None:
    # Only escapes reach a string literal: \u0000 does; graphql-core's lexer already refuses a
    # surrogate, escaped or raw, so this is the NUL check with the surrogate one for good measure.
    found: str | None = None

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: object) -> None:
            nonlocal found
            found = found or _kind(node.value)

    visit(document, Finder())
    return found
