"""Handling time (issue 16, "tempo médio de atendimento"): what operationRecord stores about the time
an attempt took, and the figures campaignStatistics computes from it in the database.

The claim's start is kept on the member (`CampaignMember.claimed_at`, set by a new claim, kept by a
renewal); recording copies it to the operation with the seconds up to the recording
(`handling_seconds`), and the talk / wrap-up seconds the client may send. Operations recorded without a
claim start (before this existed, or a member claimed otherwise) have NULL handling and are left out
of the averages, not counted as zero. Occupancy (time ON_CALL and WRAP_UP over logged-in time) needs
the agent states of the floor work and is not computed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.functions import Avg, Count
from tortoise.queryset import QuerySet

from models.campaign import CampaignMember
from models.operation import Operation
from resolvers.errors import OperationError, OperationErrorCode

MAX_SECONDS = 24 * 60 * 60


def check_seconds(value: int | None, field: str) -> None:
    if value is not None and not 0 <= value <= MAX_SECONDS:
        raise OperationError(OperationErrorCode.INVALID, f"Give between 0 and {MAX_SECONDS} seconds.", field)


def handling_values(
    member: CampaignMember, talk_seconds: int | None, wrap_up_seconds: int | None, now: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """The operation's handling columns, recorded at `now` on a member claimed since `member.claimed_at`."""
    started = member.claimed_at
    return {
        "claimed_at": started,
        "handling_seconds": max(0, round((now - started).total_seconds())) if started is not None else None,
        "talk_seconds": talk_seconds,
        "wrap_up_seconds": wrap_up_seconds,
        "local_hour": now.astimezone(zone).hour,
    }


@dataclass(frozen=True)
class HandlingFigures:
    """Operations of one group, how many had a handling time, and the averages (None: nothing timed)."""

    key: Any
    operations: int
    timed: int
    average_handling_seconds: float | None
    average_talk_seconds: float | None
    average_wrap_up_seconds: float | None


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)  # PostgreSQL's AVG is a Decimal


async def handling_by(operations: QuerySet[Operation], *columns: str) -> list[HandlingFigures]:
    """One GROUP BY over `columns` (none: the whole set) with the counts and averages, in key order."""
    query = operations.annotate(
        operations=Count("id"), timed=Count("handling_seconds"), handling=Avg("handling_seconds"),
        talk=Avg("talk_seconds"), wrap_up=Avg("wrap_up_seconds"),
    )
    if columns:
        query = query.group_by(*columns).order_by(*columns)
    rows = await query.values(*columns, "operations", "timed", "handling", "talk", "wrap_up")
    return [
        HandlingFigures(
            tuple(row[column] for column in columns) if len(columns) > 1 else row[columns[0]] if columns else None,
            row["operations"], row["timed"], _number(row["handling"]), _number(row["talk"]), _number(row["wrap_up"]),
        )
        for row in rows
    ]

