"""Keyset pagination by id: stable under inserts, and an index seek at any depth."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from resolvers.bounds import ascii_integer, in_supported_years, row_id
from resolvers.errors import BadUserInput

M = TypeVar("M", bound=Model)

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
class Page(Generic[M]):
    rows: list[M]
    kind: str
    has_next_page: bool
    has_previous_page: bool

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
    )
