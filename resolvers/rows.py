"""Rows without model instances, for the compiled execution of hot queries (schema/compiled/).

The statements are the DataLoaders' (one `id IN (…)` per relation, the windowed message pages of
resolvers/loaders.py), but a row comes back as the database driver's record of just the columns
asked for: building Tortoise models, and validating every value on the way, is most of what a
page of fifty rows costs. `decoder` then gives the conversion Tortoise's `to_python_value` would
apply to one column, for what the driver returns raw (SQLite's text dates and 0/1 booleans, JSON).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Hashable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar, cast

from tortoise import fields
from tortoise.fields.data import CharEnumFieldInstance
from tortoise.models import Model
from tortoise.queryset import AwaitableQuery
from tortoise.timezone import get_default_timezone

from models.ticket import TicketMessage
from resolvers.loaders import MESSAGE_PAGE_COLUMNS, message_pages_sql

Row = Sequence[Any]
Decoder = Callable[[Any], Any]
M = TypeVar("M", bound=Model)


class UnsupportedDatabase(Exception):
    """Raw rows are fetched for PostgreSQL and SQLite only."""


@functools.lru_cache(maxsize=512)
def _by_id_sql(dialect: str, table: str, columns: tuple[str, ...], count: int) -> str:
    selected = ",".join(f'"{column}"' for column in columns)
    if dialect == "postgres":
        # One statement text whatever the number of ids: asyncpg prepares it once per connection.
        return f'SELECT {selected} FROM "{table}" WHERE "id"=ANY($1)'
    if dialect == "sqlite":
        return f'SELECT {selected} FROM "{table}" WHERE "id" IN ({",".join("?" * count)})'
    raise UnsupportedDatabase(dialect)


async def rows_by_id(model: type[Model], columns: tuple[str, ...], ids: Collection[int]) -> dict[int, Row]:
    """The rows of `model` whose id is in `ids`, by id; `columns` must start with "id"."""
    if not ids:
        return {}
    db = model._meta.db
    dialect = db.capabilities.dialect
    sql = _by_id_sql(dialect, model._meta.db_table, columns, 1 if dialect == "postgres" else len(ids))
    values: list[Any] = [list(ids)] if dialect == "postgres" else list(ids)
    _, rows = await db.execute_query(sql, values)
    # The driver's records (asyncpg's Record, sqlite3.Row), whatever Tortoise's annotation says.
    return {row[0]: row for row in cast("Sequence[Row]", rows)}


async def message_page_rows(
    ticket_ids: Collection[int], size: int, after_id: int, include_internal: bool, before_id: int = 0,
    backward: bool = False,
) -> list[Row]:
    """resolvers/loaders.py's message pages as rows of MESSAGE_PAGE_COLUMNS, by ticket then as read."""
    if not ticket_ids:
        return []
    _, rows = await TicketMessage._meta.db.execute_query(
        message_pages_sql(ticket_ids, size, after_id, include_internal, before_id, backward)
    )
    return list(cast("Sequence[Row]", rows))


def parameterized(query: AwaitableQuery[Any]) -> tuple[str, list[Any]]:
    """The statement and parameters Tortoise would send for `query`."""
    query._choose_db_if_not_chosen()
    query._make_query()
    sql, parameters = query.query.get_parameterized_sql()
    return sql, list(parameters)


async def query_rows(query: AwaitableQuery[Any]) -> list[Row]:
    """What `query` selects, as the driver's records (see `decoder`), not converted by Tortoise."""
    sql, parameters = parameterized(query)
    _, rows = await query._db.execute_query(sql, parameters)
    return list(cast("Sequence[Row]", rows))


class _StandIn:
    """Distinct values to build a statement with, each findable among the parameters afterwards."""

    @staticmethod
    def of(index: int, value: Any) -> Any:
        if type(value) is int:
            return 10**12 + index
        if type(value) is datetime:
            return datetime(1901, 2, 3, 4, 5, index, tzinfo=UTC)
        raise TypeError(f"no stand-in for {type(value).__name__}: put it in the shape")


class PreparedQuery:
    """A query whose SQL is built once per shape; a call only puts its values in the parameters.

    Tortoise builds a queryset's SQL (the filters' resolution, pypika) every time it runs it: for
    the agent's queue page that is more CPU than the rest of its statements together. `build(shape,
    *values)` makes the query; its SQL may depend on `shape` (hashable), not on `values` (ints and
    datetimes). The first call of a shape builds it with stand-in values and finds each among the
    parameters Tortoise made; a stand-in not found as it was given (a value Tortoise converts on
    the way, as SQLite's dates) leaves that shape built on every call, as Tortoise would run it. The
    rows are the driver's records, as `query_rows` returns them."""

    def __init__(self, build: Callable[..., AwaitableQuery[Any]]) -> None:
        self.build = build
        self.statements: dict[Hashable, tuple[str, list[tuple[bool, Any]]] | None] = {}

    def statement(self, shape: Hashable, values: Sequence[Any]) -> tuple[str, list[tuple[bool, Any]]] | None:
        if shape in self.statements:
            return self.statements[shape]
        stand_ins = [_StandIn.of(index, value) for index, value in enumerate(values)]
        sql, parameters = parameterized(self.build(shape, *stand_ins))
        places: list[tuple[bool, Any]] = []  # (a value's index, or a constant)
        found: set[int] = set()
        for parameter in parameters:
            index = next((i for i, stand_in in enumerate(stand_ins)
                          if type(parameter) is type(stand_in) and parameter == stand_in), None)
            if index is None:
                places.append((False, parameter))
            else:
                places.append((True, index))
                found.add(index)
        statement = (sql, places) if len(found) == len(stand_ins) else None
        self.statements[shape] = statement
        return statement

    def _sql(self, shape: Hashable, values: Sequence[Any]) -> tuple[str, list[Any]]:
        statement = self.statement(shape, values)
        if statement is None:
            return parameterized(self.build(shape, *values))
        sql, places = statement
        return sql, [values[detail] if is_value else detail for is_value, detail in places]

    async def rows(self, model: type[Model], shape: Hashable, *values: Any) -> list[Row]:
        sql, parameters = self._sql(shape, values)
        _, rows = await model._meta.db.execute_query(sql, parameters)
        return list(cast("Sequence[Row]", rows))

    async def models(self, model: type[M], shape: Hashable, *values: Any) -> list[M]:
        """Model instances, made as Tortoise makes them for a plain queryset of `model`."""
        sql, parameters = self._sql(shape, values)
        db = model._meta.db
        return cast("list[M]", await db.executor_class(model=model, db=db).execute_select(sql, parameters))


def decoder(model: type[Model], column: str) -> Decoder | None:
    """What Tortoise makes of a raw value of `column` (None: the raw value as it is), without the
    validation model instances run. Enum columns stay their stored value."""
    field = model._meta.fields_map[column]
    if isinstance(field, fields.DatetimeField):
        return _datetime_decoder(field)
    if isinstance(field, fields.DateField):
        return _date_decoder(field)
    if isinstance(field, fields.BooleanField):
        return bool
    if isinstance(field, CharEnumFieldInstance):
        # Left as stored: the enum's value, which is what a GraphQL enum is looked up by.
        return None
    if isinstance(field, (fields.IntField, fields.CharField, fields.TextField)):
        return None
    return field.to_python_value


def _datetime_decoder(field: fields.DatetimeField) -> Decoder:
    zone = get_default_timezone()
    convert = field.to_python_value
    if zone.utcoffset(None) == timedelta(0):
        # PostgreSQL hands timestamptz over as an aware datetime in UTC, and Tortoise's zone is UTC
        # too (Contato's config): moving it there would change nothing it prints.
        def decode_utc(value: Any) -> Any:
            return value if type(value) is datetime and value.tzinfo is not None else convert(value)

        return decode_utc

    def decode(value: Any) -> Any:
        if type(value) is datetime and value.tzinfo is not None:
            return value.astimezone(zone)
        return convert(value)

    return decode


def _date_decoder(field: fields.DateField) -> Decoder:
    convert = field.to_python_value

    def decode(value: Any) -> Any:
        return value if type(value) is date else convert(value)

    return decode


__all__ = [
    "MESSAGE_PAGE_COLUMNS", "PreparedQuery", "Row", "UnsupportedDatabase", "decoder", "message_page_rows",
    "query_rows", "rows_by_id",
]
