"""A column's way into the answer: the conversion Tortoise would apply to the database's value
(resolvers/rows.py's decoder; not needed for rows the ORM fetched), then the GraphQL type's own
output coercion (`coerce_output_value`: ISO dates, enum names), which is what graphql-core applies to
what Strawberry's types hold."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson
from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLScalarType

from resolvers.rows import decoder
from schema.compiled.emit import CONVERT, PLAIN, PLAIN_NON_NULL, NullInNonNull
from schema.compiled.spec import FastType

# Where an object plan's rows come from: the ORM (values already converted) or the driver (raw).
ORM = "orm"
RAW = "raw"


class Uncovered(Exception):
    """The operation selects something the compiled path does not serve."""


Convert = Callable[[Any], Any]


def scalar_output(fast_type: FastType, column: str, graphql_type: Any, source: str) -> tuple[int, Convert | None]:
    """The output kind and conversion of one column for a field of `graphql_type`."""
    non_null = isinstance(graphql_type, GraphQLNonNull)
    inner = graphql_type.of_type if non_null else graphql_type
    decode = decoder(fast_type.model, column) if source == RAW else None
    encode = _encoder(inner)
    if decode is None and encode is None:
        return (PLAIN_NON_NULL if non_null else PLAIN), None
    return CONVERT, _compose(decode, encode, non_null)


def _encoder(graphql_type: Any) -> Convert | None:
    """GraphQL output coercion of a Python value, None where it is the value itself."""
    if isinstance(graphql_type, GraphQLList):
        item = graphql_type.of_type
        item = item.of_type if isinstance(item, GraphQLNonNull) else item
        encode_item = _encoder(item)
        if encode_item is None:
            return lambda values: list(values or ())
        return lambda values: [encode_item(value) for value in values or ()]
    if isinstance(graphql_type, GraphQLEnumType):
        # By stored value (raw rows) and by member (the ORM's rows); an unknown value is a fault of
        # the data, a KeyError the normal path then reports as graphql-core always has.
        names: dict[Any, str] = {value.value: name for name, value in graphql_type.values.items()}
        for member in getattr(graphql_type, "wrapped_cls", None) or ():
            if isinstance(member, Enum) and member.value in names:
                names.setdefault(member, names[member.value])
        return names.__getitem__
    if isinstance(graphql_type, GraphQLScalarType):
        if graphql_type.name == "ID":
            return str
        if graphql_type.name in ("String", "Int", "Boolean"):
            # graphql-core returns strings, ints and booleans as they are.
            return None
        if graphql_type.name == "DateTime":
            return _datetime_text(graphql_type.coerce_output_value)
        return graphql_type.coerce_output_value
    raise Uncovered(f"{graphql_type} is not a scalar")


def _datetime_text(serialize: Convert) -> Convert:
    """Strawberry's DateTime output (`isoformat()`), the same text for an aware UTC datetime (what
    PostgreSQL's rows hold) from orjson's C formatter: a quarter of the time, and a page of 50
    tickets with 10 messages has 500 of them. Anything else goes through the scalar's own."""

    def text(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is UTC:
            return orjson.dumps(value)[1:-1].decode()
        return serialize(value)

    return text


def _compose(decode: Convert | None, encode: Convert | None, non_null: bool) -> Convert:
    if decode is not None and encode is not None:
        def convert(value: Any) -> Any:
            return encode(decode(value)) if value is not None else _null(non_null)
    else:
        single = decode or encode
        assert single is not None

        def convert(value: Any) -> Any:
            return single(value) if value is not None else _null(non_null)

    return convert


def _null(non_null: bool) -> None:
    if non_null:
        raise NullInNonNull("a non-null column is null")
