"""Ticket counts for tab badges and tiles ("Em aberto 12 · Aguardando retorno 3"): one GROUP BY
over the tickets the caller may see (`filtered_tickets`, the same set `tickets` lists), so a
rep's counts never include another company's tickets and an agent's never another agent's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from tortoise.expressions import Case, Q, RawSQL, When
from tortoise.functions import Count

from models.ticket import TicketState
from resolvers.context import Context
from resolvers.errors import BadUserInput
from resolvers.ticket.access import filtered_tickets
from resolvers.ticket.inputs import TicketFilter


class TicketCountDimension(str, Enum):
    STATUS = "STATUS"
    STATE = "STATE"
    ASSIGNEE = "ASSIGNEE"
    CLASSIFICATION = "CLASSIFICATION"
    AWAITING_RETURN = "AWAITING_RETURN"


# The column (or annotation) each dimension groups by.
COLUMNS = {
    TicketCountDimension.STATUS: "status_id",
    TicketCountDimension.STATE: "state",
    TicketCountDimension.ASSIGNEE: "assignee_id",
    TicketCountDimension.CLASSIFICATION: "classification_id",
    TicketCountDimension.AWAITING_RETURN: "awaiting_return",
}


@dataclass(frozen=True)
class TicketCountGroup:
    """One group: the values of the dimensions asked for (the others stay None), and its count."""

    count: int
    status_id: int | None = None
    state: TicketState | None = None
    assignee_id: int | None = None
    classification_id: int | None = None
    awaiting_return: bool | None = None


STATE_ORDER = {state: index for index, state in enumerate(TicketState)}


def _sort_key(value: Any) -> tuple[bool, Any]:
    """Groups in a stable order: none first (unassigned…), then by id; states in the enum's order."""
    return (value is not None, STATE_ORDER.get(value, value) if isinstance(value, TicketState) else value)


async def ticket_counts(
    ctx: Context, group_by: list[TicketCountDimension], where: TicketFilter
) -> list[TicketCountGroup]:
    """Visible tickets matching `where`, counted per combination of `group_by` (one statement);
    groups without tickets are not listed. No dimension: one group with the total."""
    dimensions = list(dict.fromkeys(group_by))
    if len(dimensions) > len(TicketCountDimension):
        raise BadUserInput("groupBy names each dimension at most once.")
    queryset = filtered_tickets(ctx, where)
    if TicketCountDimension.AWAITING_RETURN in dimensions:
        due = Q(state=TicketState.OPEN, return_due_at__lte=datetime.now(UTC))
        # Literal SQL, not parameters: PostgreSQL would take a bare CASE parameter for text.
        queryset = queryset.annotate(awaiting_return=Case(When(due, then=RawSQL("1")), default=RawSQL("0")))
    columns = [COLUMNS[dimension] for dimension in dimensions]
    if not columns:
        return [TicketCountGroup(count=await queryset.count())]
    rows = await queryset.annotate(count=Count("id")).group_by(*columns).values(*columns, "count")
    groups = []
    for row in rows:
        values: dict[str, Any] = {column: row[column] for column in columns}
        if "state" in values:
            values["state"] = TicketState(values["state"])
        if "awaiting_return" in values:
            values["awaiting_return"] = bool(values["awaiting_return"])
        groups.append(TicketCountGroup(count=row["count"], **values))
    groups.sort(key=lambda group: tuple(_sort_key(getattr(group, column)) for column in columns))
    return groups
