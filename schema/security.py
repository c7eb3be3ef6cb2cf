"""Schema extensions: authentication on every operation but login, limits, error masking."""

from __future__ import annotations

import logging
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
            self.execution_context.result = ExecutionResult(
                data=None, errors=[public_error(error.message, "UNAUTHENTICATED")]
            )
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


PUBLIC_EXCEPTIONS = (NotAuthenticated, BadUserInput)


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


_VALIDATED: DocumentCache[list[GraphQLError]] = DocumentCache(maxsize=512)
_NUL_CHECKED: DocumentCache[bool] = DocumentCache(maxsize=512)


def _validate(schema: GraphQLSchema, document: DocumentNode, rules: _Rules, hide_suggestions: bool) -> list[GraphQLError]:
    return _VALIDATED.get(document, (schema, rules, hide_suggestions), lambda: validate(
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
            context.result = ExecutionResult(
                data=None,
                errors=[public_error(f"One login per request: this operation asks for {logins}.", "BAD_USER_INPUT")],
            )
        yield


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


class RejectNulCharacters(SchemaExtension):
    """No text in Contato may hold a NUL character (PostgreSQL cannot store one): refuse any
    request that carries one, in its variables or in the document, with BAD_USER_INPUT."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if context.result is None and (_holds_nul(context.variables) or _document_holds_nul(context.graphql_document)):
            context.result = ExecutionResult(
                data=None, errors=[public_error("Text may not contain NUL characters (\\u0000).", "BAD_USER_INPUT")]
            )
        yield


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


def _document_holds_nul(document: DocumentNode | None) -> bool:
    if document is None or document.loc is None:
        return False
    return _NUL_CHECKED.get(document, None, lambda: _parsed_document_holds_nul(document))


def _parsed_document_holds_nul(document: DocumentNode) -> bool:
    # A NUL can only reach a string literal through the \u0000 escape; the parsed values tell.
    found = False

    class Finder(Visitor):
        def enter_string_value(self, node: StringValueNode, *_: object) -> None:
            nonlocal found
            found = found or "\x00" in node.value

    visit(document, Finder())
    return found
