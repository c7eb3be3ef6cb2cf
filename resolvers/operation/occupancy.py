"""Occupancy: the share of an agent's logged-in time spent on calls and in wrap-up.

Read from the agents' state history (models/floor.py AgentStateChange, written with every change):
each agent's state at the period's start (their last change before it), then every change inside
it, cut at the period's end or now, whichever comes first. Logged-in time is every state but
OFFLINE; busy time is ON_CALL and WRAP_UP. An agent's floor time is theirs, whatever campaign a
call was for: a campaign's figures are those of its agents. Three queries, whatever the period.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from tortoise.functions import Max

from models.floor import AgentStateChange, AgentStateKind

BUSY = frozenset({AgentStateKind.ON_CALL, AgentStateKind.WRAP_UP})


@dataclass(frozen=True)
class Occupancy:
    key: int | None  # the agent; None for the agents together
    logged_in_seconds: float
    busy_seconds: float

    @property
    def share(self) -> float | None:
        return self.busy_seconds / self.logged_in_seconds if self.logged_in_seconds else None


async def occupancy(agent_ids: list[int], start: datetime | None, end: datetime) -> tuple[Occupancy, list[Occupancy]]:
    """The agents together, and each agent with floor time in [start, end) (start None: since ever)."""
    timeline: dict[int, list[tuple[datetime, AgentStateKind]]] = defaultdict(list)
    if agent_ids and start is not None:
        last_ids = await (
            AgentStateChange.filter(user_id__in=agent_ids, at__lt=start)
            .annotate(last=Max("id")).group_by("user_id").values_list("last", flat=True)
        )
        if last_ids:
            for user_id, state in await AgentStateChange.filter(id__in=list(last_ids)).values_list(
                "user_id", "to_state"
            ):
                timeline[user_id].append((start, AgentStateKind(state)))
    if agent_ids:
        changes = AgentStateChange.filter(user_id__in=agent_ids, at__lt=end)
        if start is not None:
            changes = changes.filter(at__gte=start)
        for user_id, at, state in await changes.order_by("user_id", "at", "id").values_list(
            "user_id", "at", "to_state"
        ):
            timeline[user_id].append((at, AgentStateKind(state)))
    per_agent = []
    for user_id in sorted(timeline):
        logged_in = busy = 0.0
        spans = timeline[user_id]
        for (since, state), (until, _) in zip(spans, [*spans[1:], (end, AgentStateKind.OFFLINE)]):
            seconds = max((until - since).total_seconds(), 0.0)
            if state != AgentStateKind.OFFLINE:
                logged_in += seconds
            if state in BUSY:
                busy += seconds
        if logged_in:
            per_agent.append(Occupancy(user_id, logged_in, busy))
    together = Occupancy(
        None, sum(item.logged_in_seconds for item in per_agent), sum(item.busy_seconds for item in per_agent)
    )
    return together, per_agent
