"""Cursor connections: every list in the API has `edges { cursor node }`, `pageInfo` and
`totalCount`, which costs nothing unless it is selected (resolvers/pagination.py's counters)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.pagination import Counter, TotalCount
from schema.base import Info

NodeType = TypeVar("NodeType")

TOTAL_COUNT = (
    "How many items the connection has, whatever the page (the filter applies, the cursor does not). "
    "Counted only when selected, up to COUNT_LIMIT (10,000): past it, the answer is COUNT_LIMIT and "
    "totalCountIsExact is false."
)


@strawberry.enum(description="ASC: oldest, lowest, A first; DESC: the reverse. Ties are broken by id, the same way.")
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.type(
    description="Paging forward (first/after), hasNextPage is exact and hasPreviousPage says whether `after` "
    "was given; paging back (last/before), hasPreviousPage is exact and hasNextPage says whether `before` was."
)
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[NodeType]):
    cursor: str
    node: NodeType


@strawberry.type
class Connection(Generic[NodeType]):
    edges: list[Edge[NodeType]]
    page_info: PageInfo
    counter: strawberry.Private[Counter | None] = None
    # totalCount and totalCountIsExact share one count.
    counting: strawberry.Private[asyncio.Future[TotalCount] | None] = None

    @classmethod
    def from_page(cls, page: Any, to_node: Callable[[Any], NodeType]) -> Connection[NodeType]:
        edges = [Edge(cursor=page.cursor(row), node=to_node(row)) for row in page.rows]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=page.has_previous_page,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            counter=page.counter,
        )

    async def _total(self, info: Info) -> TotalCount:
        if self.counting is None:
            if self.counter is None:
                raise RuntimeError("this connection was built without a counter")
            self.counting = asyncio.ensure_future(self.counter(info.context.settings.count_limit))
        return await asyncio.shield(self.counting)

    @strawberry.field(description=TOTAL_COUNT)
    async def total_count(self, info: Info) -> int:
        return (await self._total(info)).value

    @strawberry.field(description="False when totalCount stopped at COUNT_LIMIT: there are more.")
    async def total_count_is_exact(self, info: Info) -> bool:
        return (await self._total(info)).exact
