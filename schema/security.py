"""Schema extensions: authentication on every operation but login, limits, error masking."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator

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
