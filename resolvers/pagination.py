"""Keyset pagination by id: stable under inserts, and an index seek at any depth.

A page also knows how to count everything it was cut from (`Page.counter`), run only when a
client selects `totalCount`: one COUNT, capped at COUNT_LIMIT rows so that a count is never the
slow part of a request (the database stops reading at the cap).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.errors import BadUserInput

M = TypeVar("M", bound=Model)

DEFAULT_PAGE_SIZE = 20


def encode_cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def decode_cursor(kind: str, cursor: str) -> int:
    try:
        prefix, _, raw_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != kind:
            raise ValueError(prefix)
        return int(raw_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadUserInput(f"The cursor {cursor!r} is not a valid {kind} cursor.") from None


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

    def cursor(self, row: M) -> str:
        return encode_cursor(self.kind, row.pk)


def check_page_size(first: int | None, maximum: int) -> int:
    size = DEFAULT_PAGE_SIZE if first is None else first
    if not 1 <= size <= maximum:
        raise BadUserInput(f"first must be between 1 and {maximum}; got {size}.")
    return size


def page_window(
    queryset: QuerySet[M], kind: str, first: int | None, after: str | None, maximum: int
) -> tuple[QuerySet[M], int]:
    """The query of one page (size + 1 rows, to tell whether another follows) and its size."""
    size = check_page_size(first, maximum)
    if after is not None:
        queryset = queryset.filter(id__gt=decode_cursor(kind, after))
    return queryset.order_by("id").limit(size + 1), size


async def paginate(
    queryset: QuerySet[M], kind: str, first: int | None, after: str | None, maximum: int
) -> Page[M]:
    window, size = page_window(queryset, kind, first, after, maximum)
    rows = await window
    return Page(
        rows=rows[:size],
        kind=kind,
        has_next_page=len(rows) > size,
        has_previous_page=after is not None,
        counter=counter_of(queryset),
    )
