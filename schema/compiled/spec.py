"""What a type, a relation or a root field has to declare to be served by the compiled path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.models import Model

from resolvers.context import Context
from resolvers.pagination import Counter, TotalCount
from resolvers.rows import Row
from resolvers.scope import Scope


@dataclass(frozen=True)
class RowsPage:
    """One page of a connection, as rows: the same facts as resolvers/pagination.py's Page."""

    rows: Sequence[Row]
    has_next_page: bool
    has_previous_page: bool
    cursor: Callable[[Row], str]
    # A root page's count of its whole list, run only when the plan selects totalCount (`total`).
    counter: Counter | None = None
    total: TotalCount | None = None


@dataclass(frozen=True)
class One:
    """A to-one relation through a foreign-key column of the parent's table, loaded by id (what a
    `<target>_by_id` DataLoader does). A missing row is null; the schema's non-null fields fall
    back to the normal path instead, which reports it as it always has."""

    column: str
    target: str


# (context, the field's arguments as the Strawberry resolver receives them, parent ids)
PagesFetch = Callable[[Context, dict[str, Any], list[int]], Awaitable[dict[int, RowsPage]]]
# (context, the field's arguments as the Strawberry resolver receives them, the columns to fetch)
RootFetch = Callable[[Context, dict[str, Any], tuple[str, ...]], Awaitable[RowsPage]]


@dataclass(frozen=True)
class Pages:
    """A connection under each parent row, fetched for all the parents of a level at once; `fetch`
    returns a page for every parent id, its rows laid out as `columns`."""

    target: str
    fetch: PagesFetch
    columns: tuple[str, ...]


@dataclass(frozen=True)
class RootConnection:
    """A root field returning a connection of `target` rows. `fetch` runs the same use case (and so
    the same access rules) as the field's resolver and returns rows of the asked columns, which
    always include `cursor_columns`: as Tortoise converts them (`values_list`), or, with `raw_rows`,
    as the driver returns them (resolvers/rows.py's `decoder` then applies, as for related rows)."""

    target: str
    fetch: RootFetch
    cursor_columns: tuple[str, ...] = ("id",)
    raw_rows: bool = False


# (context, one (id, *columns) tuple per row of a level, decoded) -> the field's answer by row id
DerivedFetch = Callable[[Context, list[tuple[Any, ...]]], Awaitable[dict[int, Any]]]


@dataclass(frozen=True)
class Derived:
    """A field worked out from some of the row's `columns` and one lookup for all the rows of a
    level, as the normal path's DataLoader does it per request (Person.callablePhones: the phones and
    the do-not-call register). `fetch` answers, already in the field's output form, for every row id."""

    columns: tuple[str, ...]
    fetch: DerivedFetch


RowsById = dict[int, Row]
# (the viewer's scope, the columns of the rows) -> what the viewer sees of rows loaded by id
# (hidden rows left out, hidden columns None); None when the viewer sees them as they are.
Visible = Callable[[Scope, tuple[str, ...]], Callable[[RowsById], RowsById] | None]


@dataclass(frozen=True)
class FastType:
    """A GraphQL object type backed by one table. `scalars` are fields read straight from the
    column of the Strawberry attribute's name (`columns` maps the exceptions); `relations` are
    fields resolved through other rows; `derived` are fields worked out from columns and a batched
    lookup. Any other field of the type is not compiled.

    `visible` is what a viewer sees of the rows a One relation loads: the same rules (resolvers/
    scope.py) as the Loaders the normal path's fields use, applied to each batch of rows; it reads
    `visible_columns`, which every plan of the type then fetches."""

    name: str
    model: type[Model]
    scalars: tuple[str, ...]
    relations: Mapping[str, One | Pages] = field(default_factory=dict)
    derived: Mapping[str, Derived] = field(default_factory=dict)
    columns: Mapping[str, str] = field(default_factory=dict)
    visible: Visible | None = None
    visible_columns: tuple[str, ...] = ()
