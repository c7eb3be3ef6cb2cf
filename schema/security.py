"""Schema extensions: authentication on every operation but login, limits, error masking."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    validate,
)
from graphql.language import FieldNode
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from models.user import MutationWindow
from resolvers.errors import BadUserInput, NotAuthenticated

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


@functools.lru_cache(maxsize=512)
def _validate(
    schema: GraphQLSchema, document: DocumentNode, rules: tuple[type[ASTValidationRule], ...], hide_suggestions: bool
) -> list[GraphQLError]:
    return validate(
        schema,
        document,
        (*rules, MaybeNullValidationRule, OneOfInputValidationRule),
        max_errors=MAX_VALIDATION_ERRORS,
        hide_suggestions=hide_suggestions,
    )


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
                context.schema._schema, context.graphql_document, tuple(context.validation_rules), self.hide_suggestions
            )
        yield


class MutationRateLimit(SchemaExtension):
    """At most `per_minute` mutations per user per minute, counted in the database so that every
    server process shares the count. Over the limit: RATE_LIMITED, before anything runs."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute

    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context
        user = getattr(context.context, "user", None)
        if (
            self.per_minute > 0
            and user is not None
            and context.result is None
            and context.operation_type == OperationType.MUTATION
        ):
            count, retry_after = await count_mutation(user.pk)
            if count > self.per_minute:
                error = public_error(
                    f"Too many changes: at most {self.per_minute} a minute. Try again in {retry_after} s.",
                    "RATE_LIMITED",
                )
                error.extensions = {**(error.extensions or {}), "retryAfterSeconds": retry_after}
                context.result = ExecutionResult(data=None, errors=[error])
        yield


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def count_mutation(user_id: int) -> tuple[int, int]:
    """Counts one mutation in the user's current minute; returns the count and seconds left in it."""
    now = utc_now()
    window = now.replace(second=0, microsecond=0)
    scope = MutationWindow.filter(user_id=user_id, window_start=window)
    if not await scope.update(count=F("count") + 1):
        try:
            await MutationWindow.create(user_id=user_id, window_start=window, count=1)
        except IntegrityError:  # another process opened the window first
            await scope.update(count=F("count") + 1)
    count = await scope.values_list("count", flat=True)
    return (max(count) if count else 1), 60 - now.second
