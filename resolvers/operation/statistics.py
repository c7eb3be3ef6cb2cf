"""campaignStatistics: a handful of GROUP BY queries, whatever the number of operations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.functions import Count

from models.campaign import Campaign, CampaignAgent, CampaignMember, QueueStatus
from models.operation import Operation, OperationOutcome
from models.user import Role
from resolvers.campaign import rules
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.errors import OperationError, OperationErrorCode
from resolvers.operation.handling import HandlingFigures, handling_by
from resolvers.operation.occupancy import Occupancy, occupancy


@dataclass(frozen=True)
class Bucket:
    key: Any
    count: int


@dataclass(frozen=True)
class Statistics:
    campaign: Campaign
    date_from: date | None
    date_to: date | None
    total: int
    contacts: int
    by_kind: list[Bucket]
    by_result: list[Bucket]
    by_justification: list[Bucket]
    by_agent: list[Bucket]
    by_stage: list[Bucket]
    by_day: list[Bucket]
    members_by_status: list[Bucket]
    attempts_distribution: list[Bucket]
    # Handling time (resolvers/operation/handling.py): the period's, by agent, by local hour, by both.
    handling: HandlingFigures
    handling_by_agent: list[HandlingFigures]
    handling_by_hour: list[HandlingFigures]
    handling_by_agent_hour: list[HandlingFigures]
    by_no_contact_reason: list[Bucket]
    # Occupancy (resolvers/operation/occupancy.py): the campaign's agents together, and each agent.
    occupancy: Occupancy
    occupancy_by_agent: list[Occupancy]

    @property
    def contact_rate(self) -> float:
        return self.contacts / self.total if self.total else 0.0

    @property
    def average_attempts(self) -> float:
        members = sum(bucket.count for bucket in self.attempts_distribution)
        attempts = sum(bucket.key * bucket.count for bucket in self.attempts_distribution)
        return attempts / members if members else 0.0


def by_outcome(counts: Iterable[tuple[str | None, int]]) -> list[Bucket]:
    """Operations by outcome (a result kind, or NO_CONTACT for a NULL kind): every outcome, zeros
    included, in the enum's order, as the statistics and the live queue both answer them."""
    totals = dict.fromkeys(OperationOutcome, 0)
    for kind, count in counts:
        totals[OperationOutcome.of(kind)] += count
    return [Bucket(outcome, count) for outcome, count in totals.items()]


def by_queue_status(counts: Iterable[tuple[str, int]]) -> list[Bucket]:
    """Members by queue status: every status, zeros included, in the enum's order."""
    totals = dict.fromkeys(QueueStatus, 0)
    for status, count in counts:
        totals[QueueStatus(status)] += count
    return [Bucket(status, count) for status, count in totals.items()]


async def campaign_statistics(
    ctx: Context, campaign_id: int, date_from: date | None, date_to: date | None
) -> Statistics:
    """Supervisors and admins: any campaign; agents: the campaigns they are assigned to.

    Days are local dates (`CONTATO_TIMEZONE`), both ends included.
    """
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        raise OperationError(OperationErrorCode.FORBIDDEN, "Campaign statistics are for the operator.")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise OperationError(OperationErrorCode.INVALID, "The period ends before it starts.", "to")
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise OperationError(OperationErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    if not is_staff(user) and not await CampaignAgent.filter(campaign_id=campaign.pk, agent_id=user.pk).exists():
        raise OperationError(OperationErrorCode.FORBIDDEN, "You are not assigned to this campaign.", "campaignId")
    operations = Operation.filter(campaign_id=campaign.pk)
    if date_from is not None:
        operations = operations.filter(local_date__gte=date_from)
    if date_to is not None:
        operations = operations.filter(local_date__lte=date_to)

    async def grouped(column: str, queryset: Any = operations) -> list[Bucket]:
        rows = await (
            queryset.annotate(count=Count("id")).group_by(column).order_by(column).values(column, "count")
        )
        return [Bucket(row[column], row["count"]) for row in rows]

    by_kind = await grouped("result_kind")
    members = CampaignMember.filter(campaign_id=campaign.pk)
    zone, now = ctx.settings.zone, rules.utc_now()
    # In UTC: SQLite compares the stored times as text.
    start = None if date_from is None else datetime.combine(date_from, time(), zone).astimezone(UTC)
    end = now if date_to is None else min(now, datetime.combine(date_to + timedelta(days=1), time(), zone))
    end = end.astimezone(UTC)
    agent_ids = list(await CampaignAgent.filter(campaign_id=campaign.pk).values_list("agent_id", flat=True))
    together, per_agent = await occupancy(agent_ids, start, end)
    return Statistics(
        campaign=campaign,
        date_from=date_from,
        date_to=date_to,
        total=sum(bucket.count for bucket in by_kind),
        contacts=await operations.filter(no_contact=False).count(),
        by_kind=by_outcome((bucket.key, bucket.count) for bucket in by_kind),
        by_result=[bucket for bucket in await grouped("result_id") if bucket.key is not None],
        by_justification=[bucket for bucket in await grouped("justification_id") if bucket.key is not None],
        by_agent=await grouped("agent_id"),
        by_stage=[bucket for bucket in await grouped("stage_id") if bucket.key is not None],
        by_day=await grouped("local_date"),
        members_by_status=by_queue_status((bucket.key, bucket.count) for bucket in await grouped("status", members)),
        attempts_distribution=await grouped("attempts", members.filter(status=QueueStatus.CONCLUDED)),
        handling=(await handling_by(operations))[0],
        handling_by_agent=await handling_by(operations, "agent_id"),
        handling_by_hour=await handling_by(operations.filter(local_hour__isnull=False), "local_hour"),
        handling_by_agent_hour=await handling_by(operations.filter(local_hour__isnull=False), "agent_id", "local_hour"),
        by_no_contact_reason=[bucket for bucket in await grouped("no_contact_reason_id") if bucket.key is not None],
        occupancy=together,
        occupancy_by_agent=per_agent,
    )
