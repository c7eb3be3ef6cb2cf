"""Date and DateTime as Strawberry's own, held to the years resolvers/bounds.py allows.

Strawberry parses "0001-01-01T00:00:00+14:00" into a datetime that overflows the moment anything
moves it to UTC, and "9999-12-31" into a date one day short of overflowing. Refusing such values where
every Date and DateTime argument and input field is coerced (variables and literals alike) means no
resolver meets one. A refusal is a GraphQL error with code BAD_USER_INPUT, as for any value of the
wrong shape.
"""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any

from graphql import GraphQLError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from resolvers.bounds import EARLIEST_YEAR, LATEST_YEAR, in_supported_years

BAD_USER_INPUT = {"code": "BAD_USER_INPUT"}


def _bounded(definition: ScalarDefinition, what: str) -> ScalarDefinition:
    parse = definition.parse_value
    assert parse is not None

    def parse_value(value: Any) -> date:
        try:
            parsed = parse(value)
        except GraphQLError as error:  # Strawberry's own refusal (not ISO 8601, not a string)
            raise GraphQLError(error.message, extensions=BAD_USER_INPUT) from None
        if not in_supported_years(parsed):
            raise GraphQLError(
                f"Value cannot represent a {definition.name}: {value!r}. "
                f"{what} must be between {EARLIEST_YEAR} and {LATEST_YEAR}.",
                extensions=BAD_USER_INPUT,
            )
        return parsed

    return dataclasses.replace(
        definition,
        description=f"{definition.description}, years {EARLIEST_YEAR} to {LATEST_YEAR}",
        parse_value=parse_value,
        implementation=None,
    )


SCALAR_OVERRIDES: dict[object, ScalarDefinition] = {
    datetime: _bounded(DateTimeDefinition, "Times"),
    date: _bounded(DateDefinition, "Dates"),
}
