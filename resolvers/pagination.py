"""Keyset pagination in both directions: stable under inserts, and an index seek at any depth.

A list is read in an `Ordering`: by id, or by a column then id (the tie-breaker), ascending or
descending, NULLs of a nullable column last. A cursor holds the row's place in that order (its
column value and id), and a page is the rows after it (`first` / `after`) or before it (`last` /
`before`, read in the reverse order and turned back): never OFFSET, so page 1,000 costs what page 1
costs. What follows a place is one range of the (column, id) index, `c >= v AND (c > v OR id > i)`,
which a database seeks to; the NULLs of a nullable column are a second range, read only when a page
reaches them.

`pageInfo` follows the Relay spec: paging forward, hasNextPage is exact and hasPreviousPage says
whether a cursor was given (the row it names comes before); paging back, the other way round.

A page also knows how to count everything it was cut from (`Page.counter`), run only when a
client selects `totalCount`: one COUNT, capped at COUNT_LIMIT rows so that a count is never the
slow part of a request (the database stops reading at the cap).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.bounds import MAX_ROW_ID, ascii_integer, in_supported_years, row_id
from resolvers.errors import BadUserInput
from resolvers.rows import query_rows

M = TypeVar("M", bound=Model)
T = TypeVar("T")

DEFAULT_PAGE_SIZE = 20


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> int:
    (pk,) = read_cursor(kind, cursor, cursor_row_id)
    return pk


def read_cursor(kind: str, cursor: str, *fields: Callable[[str], Any]) -> tuple[Any, ...]:
    """The fields of a cursor `kind:a|b|…`, each read by its function (which raises ValueError).

    Every cursor a client sends back comes through here: whatever was made of it, an id past the
    database's integers or a time in year 1, is BAD_USER_INPUT before any query is built."""
    try:
        prefix, _, rest = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        parts = rest.split("|")
        if prefix != kind or len(parts) != len(fields):
            raise ValueError(prefix)
        return tuple(read(part) for read, part in zip(fields, parts))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput(f"The cursor {cursor!r} is not a valid {kind} cursor.") from None


def cursor_row_id(text: str) -> int:
    pk = row_id(text)
    if pk is None:
        raise ValueError(text)
    return pk


def cursor_integer(text: str) -> int:
    """A small integer (a queue priority): ASCII digits within the database's 32-bit integers."""
    number = ascii_integer(text)
    if number is None or abs(number) > 2**31 - 1:
        raise ValueError(text)
    return number


def cursor_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if not in_supported_years(moment):
        raise ValueError(text)
    return moment


def optional_cursor_time(text: str) -> datetime | None:
    return cursor_time(text) if text else None


@dataclass(frozen=True)
class PageArgs:
    """A connection's arguments: `first` rows after `after`, or the `last` rows before `before`."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    @property
    def backward(self) -> bool:
        return self.last is not None or self.before is not None

    @property
    def cursor(self) -> str | None:
        return self.before if self.backward else self.after

    def size(self, maximum: int) -> int:
        """The page size, once the arguments are checked (a client error otherwise)."""
        if self.backward and (self.first is not None or self.after is not None):
            raise BadUserInput("Page forward with first and after, or back with last and before, not both.")
        name, given = ("last", self.last) if self.backward else ("first", self.first)
        size = DEFAULT_PAGE_SIZE if given is None else given
        if not 1 <= size <= maximum:
            raise BadUserInput(f"{name} must be between 1 and {maximum}; got {size}.")
        return size


def check_page_size(first: int | None, maximum: int) -> int:
    return PageArgs(first=first).size(maximum)


class Ordering:
    """An order of rows: by `column` then id, both `descending` or not (by id alone without a
    column); a `nullable` column's NULLs come last. `kind` names the list in its cursors, which
    are only good for the same list in the same order."""

    def __init__(
        self, kind: str, column: str | None = None, descending: bool = False, nullable: bool = False,
        parse: Callable[[Any], Any] | None = None,
    ) -> None:
        self.column = column
        self.descending = descending
        self.nullable = nullable
        self.parse = parse or cursor_text
        direction = "desc" if descending else "asc"
        self.kind = kind if column is None else f"{kind}.{column}.{direction}"

    @classmethod
    def by_time(cls, kind: str, column: str, descending: bool = False, nullable: bool = False) -> Ordering:
        return cls(kind, column, descending, nullable, parse=cursor_moment)

    # Cursors.

    def cursor(self, value: Any, row_id: int) -> str:
        if self.column is None:
            return encode_cursor(self.kind, row_id)
        if isinstance(value, date):  # a datetime too
            value = value.isoformat()
        return base64.urlsafe_b64encode(f"{self.kind}:{json.dumps([value, row_id])}".encode()).decode()

    def row_cursor(self, row: Model) -> str:
        return self.cursor(getattr(row, self.column) if self.column else None, row.pk)

    def position(self, cursor: str) -> tuple[Any, int]:
        """The (column value, id) a cursor names; a client error when it is not one of this order's."""
        if self.column is None:
            return None, decode_cursor(self.kind, cursor)
        try:
            prefix, _, rest = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
            if prefix != self.kind:
                raise ValueError(prefix)
            value, row_id = json.loads(rest)
            if isinstance(row_id, bool) or not isinstance(row_id, int) or not 0 < row_id <= MAX_ROW_ID:
                raise ValueError(rest)
            if value is None and not self.nullable:
                raise ValueError(rest)
            return (None if value is None else self.parse(value)), row_id
        except (ValueError, TypeError, binascii.Error, UnicodeError, RecursionError):
            raise BadUserInput(f"The cursor {cursor!r} is not a valid cursor of this list and order.") from None

    # Keyset ranges.

    def parts(self, position: tuple[Any, int] | None, backward: bool) -> list[tuple[Q | None, tuple[str, ...]]]:
        """What follows `position` (everything without one) in this order, or in its reverse when
        `backward`: disjoint ranges, each with its ORDER BY, in the order they are to be read."""
        descending = self.descending != backward
        sign = "-" if descending else ""
        later = "lt" if descending else "gt"
        by_id = (f"{sign}id",)
        column = self.column
        if column is None:
            return [(None if position is None else Q(**{f"id__{later}": position[1]}), by_id)]
        by_column = (f"{sign}{column}", f"{sign}id")
        if not self.nullable:
            if position is None:
                return [(None, by_column)]
            value, row_id = position
            return [(_after(column, value, row_id, later), by_column)]
        nulls_last = not backward
        values = Q(**{f"{column}__isnull": False})
        nulls = Q(**{f"{column}__isnull": True})
        if position is None:
            ranges = [(values, by_column), (nulls, by_id)]
        else:
            value, row_id = position
            if value is None:  # within the NULLs
                here = (nulls & Q(**{f"id__{later}": row_id}), by_id)
                ranges = [here] if nulls_last else [here, (values, by_column)]
            else:
                here = (_after(column, value, row_id, later), by_column)
                ranges = [here, (nulls, by_id)] if nulls_last else [here]
            return ranges
        return ranges if nulls_last else ranges[::-1]


# What a keyset cursor's value may be (resolvers/bounds.py holds its id and time to the usual bounds):
# text a column could hold; a made-up cursor is a client error, never a driver's fault.
MAX_CURSOR_TEXT = 1000


def cursor_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_CURSOR_TEXT or "\x00" in value:
        raise ValueError(value)
    value.encode()  # a lone surrogate raises UnicodeEncodeError
    return value


def cursor_moment(value: Any) -> datetime:
    moment = cursor_time(cursor_text(value))
    if moment.tzinfo is None:
        raise ValueError(value)
    return moment


def cursor_day(value: Any) -> date:
    return date.fromisoformat(cursor_text(value))


def _after(column: str, value: Any, row_id: int, later: str) -> Q:
    """The rows after (value, row_id): `c >= v AND (c > v OR id > i)`, whose first term is the index
    range a database seeks to."""
    return Q(**{f"{column}__{later}e": value}) & (Q(**{f"{column}__{later}": value}) | Q(**{f"id__{later}": row_id}))


@dataclass(frozen=True)
class TotalCount:
    """How many rows a connection has; `exact` is false when counting stopped at the cap."""

    value: int
    exact: bool = True


# Called with COUNT_LIMIT (0: no cap) when, and only when, totalCount is selected.
Counter = Callable[[int], Awaitable[TotalCount]]


def counted(value: int) -> Counter:
    """The counter of rows already in hand (a nested list loaded whole)."""

    async def count(limit: int) -> TotalCount:
        return TotalCount(value)

    return count


async def capped_count(queryset: QuerySet[Any], limit: int) -> TotalCount:
    """COUNT of `queryset`, reading at most `limit` + 1 rows (`limit` 0: all of them)."""
    if limit <= 0:
        return TotalCount(await queryset.count())
    window = queryset.limit(limit + 1).values_list("id")
    window._choose_db_if_not_chosen()
    window._make_query()
    sql, params = window.query.get_parameterized_sql()
    _, rows = await window._db.execute_query(f"SELECT count(*) FROM ({sql}) AS capped", params)
    value = int(rows[0][0])
    return TotalCount(limit, exact=False) if value > limit else TotalCount(value)


def counter_of(queryset: QuerySet[Any]) -> Counter:
    async def count(limit: int) -> TotalCount:
        return await capped_count(queryset, limit)

    return count


@dataclass(frozen=True)
class Page(Generic[M]):
    rows: list[M]
    kind: str
    has_next_page: bool
    has_previous_page: bool
    counter: Counter | None = None
    ordering: Ordering | None = None

    def cursor(self, row: M) -> str:
        if self.ordering is not None:
            return self.ordering.row_cursor(row)
        return encode_cursor(self.kind, row.pk)


@dataclass(frozen=True)
class Window(Generic[M]):
    """A page before it is read: the ranges of `queryset` (every row of the list) that follow the
    cursor, in the order the page is read (reversed when paging back)."""

    queryset: QuerySet[M]
    ordering: Ordering
    args: PageArgs
    size: int
    parts: list[tuple[Q | None, tuple[str, ...]]]

    async def read(self, *columns: str, raw: bool = False) -> list[Any]:
        """Up to size + 1 rows (value tuples of `columns` when given; with `raw`, the driver's records
        of them, resolvers/rows.py), one query per range until there are enough: usually one."""
        wanted = self.size + 1
        found: list[Any] = []
        for part, order in self.parts:
            queryset = self.queryset if part is None else self.queryset.filter(part)
            queryset = queryset.order_by(*order).limit(wanted - len(found))
            if raw:
                found += await query_rows(queryset.values_list(*columns))
            else:
                found += await (queryset.values_list(*columns) if columns else queryset)
            if len(found) >= wanted:
                break
        return found

    def cut(self, rows: Sequence[T]) -> tuple[list[T], bool, bool]:
        """The page's rows in the list's order, hasNextPage, hasPreviousPage."""
        return cut(rows, self.size, self.args)

    def counter(self) -> Counter:
        return counter_of(self.queryset)


def cut(rows: Sequence[T], size: int, args: PageArgs) -> tuple[list[T], bool, bool]:
    """size + 1 rows read in the page's direction -> (the page in the list's order, hasNextPage,
    hasPreviousPage)."""
    more = len(rows) > size
    page = list(rows[:size])
    if args.backward:
        return page[::-1], args.before is not None, more
    return page, more, args.after is not None


def window(queryset: QuerySet[M], ordering: Ordering, args: PageArgs, maximum: int) -> Window[M]:
    size = args.size(maximum)
    cursor = args.cursor
    position = ordering.position(cursor) if cursor is not None else None
    return Window(queryset, ordering, args, size, ordering.parts(position, args.backward))


async def paginate(
    queryset: QuerySet[M], ordering: Ordering | str, args: PageArgs, maximum: int
) -> Page[M]:
    """One page of `queryset` (unordered: every row of the list) in `ordering` (a kind: by id)."""
    if isinstance(ordering, str):
        ordering = Ordering(ordering)
    keyset = window(queryset, ordering, args, maximum)
    rows, has_next_page, has_previous_page = keyset.cut(await keyset.read())
    return Page(
        rows=rows,
        kind=ordering.kind,
        has_next_page=has_next_page,
        has_previous_page=has_previous_page,
        counter=keyset.counter(),
        ordering=ordering,
    )


def page_of_list(rows: Sequence[M], kind: str, args: PageArgs, maximum: int, descending: bool = False) -> Page[M]:
    """A page of a list already loaded whole (a nested list of one parent), in id order (newest
    first when `descending`), by the same rules as `paginate`."""
    ordering = Ordering(kind, descending=descending)
    page, has_next_page, has_previous_page = cut_loaded(rows, lambda row: row.pk, ordering, args, maximum)
    return Page(page, ordering.kind, has_next_page, has_previous_page, counted(len(rows)), ordering)


def cut_loaded(
    rows: Sequence[T], row_id: Callable[[T], int], ordering: Ordering, args: PageArgs, maximum: int
) -> tuple[list[T], bool, bool]:
    """The page of `args` of a list already loaded whole in `ordering` (by id): models or raw rows
    alike, `row_id` says which id a row has. (page, hasNextPage, hasPreviousPage)"""
    size = args.size(maximum)
    listed = list(rows)
    cursor = args.cursor
    if cursor is not None:
        _, cursor_id = ordering.position(cursor)
        after = (lambda pk: pk < cursor_id) if ordering.descending else (lambda pk: pk > cursor_id)
        if args.backward:
            listed = [row for row in listed if not after(row_id(row)) and row_id(row) != cursor_id]
        else:
            listed = [row for row in listed if after(row_id(row))]
    read = listed[::-1] if args.backward else listed
    return cut(read[: size + 1], size, args)
