"""Queue filters: the criteria campaignQueue takes and saved filters keep (schema/saved_filter.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from resolvers.campaign import filters
from schema.ids import optional_pk


@strawberry.input(description="Every criterion narrows the queue; unset ones do not.")
class QueueFilterInput:
    text: str | None = strawberry.field(default=None, description="Name (without accents), document or phone.")
    stage_id: strawberry.ID | None = None
    assigned_agent_id: strawberry.ID | None = None
    unassigned: bool | None = strawberry.field(default=None, description="true: no agent; false: some agent.")
    due_from: datetime | None = strawberry.field(default=None, description="Due at or after (callback or retry).")
    due_to: datetime | None = strawberry.field(default=None, description="Due before.")
    attempts_min: int | None = None
    attempts_max: int | None = None


def queue_filter(where: QueueFilterInput | None) -> filters.QueueFilter | None:
    if where is None:
        return None
    return filters.QueueFilter(
        text=where.text, stage_id=optional_pk(where.stage_id), assigned_agent_id=optional_pk(where.assigned_agent_id),
        unassigned=where.unassigned, due_from=where.due_from, due_to=where.due_to,
        attempts_min=where.attempts_min, attempts_max=where.attempts_max,
    )


@strawberry.type(description="A saved filter's criteria, as QueueFilterInput takes them.")
class QueueFilterCriteria:
    text: str | None
    stage_id: strawberry.ID | None
    assigned_agent_id: strawberry.ID | None
    unassigned: bool | None
    due_from: datetime | None
    due_to: datetime | None
    attempts_min: int | None
    attempts_max: int | None

    @classmethod
    def from_filter(cls, where: filters.QueueFilter) -> QueueFilterCriteria:
        def ident(value: int | None) -> strawberry.ID | None:
            return None if value is None else strawberry.ID(str(value))

        return cls(
            text=where.text, stage_id=ident(where.stage_id), assigned_agent_id=ident(where.assigned_agent_id),
            unassigned=where.unassigned, due_from=where.due_from, due_to=where.due_to,
            attempts_min=where.attempts_min, attempts_max=where.attempts_max,
        )
