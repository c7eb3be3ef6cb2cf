"""Reports for the dashboards: agent productivity per day and hour, results and no-contact reasons per
campaign and day, tickets opened / closed / awaiting return per company, classification and week.

Figures are added up while the rows are read a page at a time (keyset by id), so memory follows the
number of groups, not of rows; days, hours and weeks are local (CONTATO_TIMEZONE), weeks start on
Monday. Who sees what is what the queries show: outbound figures for supervisors and admins (an agent:
their own productivity only), ticket figures over the tickets the caller may see (a rep: their company's).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models.campaign import Campaign
from models.company import Company
from models.event import Event
from models.operation import Operation
from models.outbound import ContactResult, NoContactReason
from models.ticket import TicketState
from models.ticket_catalog import TicketClassification
from models.user import Role, User
from resolvers.bounds import EARLIEST_YEAR, LATEST_YEAR, in_supported_years
from resolvers.campaign import rules
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.errors import ReportError, ReportErrorCode
from resolvers.ticket.access import visible_tickets

PAGE = 5000
MAX_DAYS = 366


def _period(date_from: date, date_to: date) -> None:
    if date_from > date_to:
        raise ReportError(ReportErrorCode.INVALID_PERIOD, "dateFrom comes after dateTo.", "dateFrom")
    if not (in_supported_years(date_from) and in_supported_years(date_to)):  # the scalar refuses these first
        raise ReportError(ReportErrorCode.INVALID_PERIOD,
                          f"Give dates between {EARLIEST_YEAR} and {LATEST_YEAR}.", "dateFrom")
    if (date_to - date_from).days >= MAX_DAYS:
        raise ReportError(ReportErrorCode.INVALID_PERIOD, f"A report covers at most {MAX_DAYS} days.", "dateTo")


def _bounds(ctx: Context, date_from: date, date_to: date) -> tuple[datetime, datetime]:
    zone = ctx.settings.zone
    return (datetime.combine(date_from, time(), zone).astimezone(UTC),
            datetime.combine(date_to + timedelta(days=1), time(), zone).astimezone(UTC))


async def _pages(queryset: QuerySet[Any], *columns: str) -> AsyncIterator[list[tuple[Any, ...]]]:
    last = 0
    while True:
        rows = await queryset.filter(id__gt=last).order_by("id").limit(PAGE).values_list("id", *columns)
        if not rows:
            return
        last = rows[-1][0]
        yield rows  # type: ignore[misc]


@dataclass
class Productivity:
    agent_id: int
    day: date
    hour: int
    claims: int = 0
    attempts: int = 0
    contacts: int = 0
    no_contacts: int = 0
    results: dict[str, int] = field(default_factory=dict)
    agent_name: str = ""
    timed: int = 0  # attempts with a handling time (resolvers/operation/handling.py)
    handling_total: int = 0

    @property
    def average_handling_seconds(self) -> float | None:
        return round(self.handling_total / self.timed, 2) if self.timed else None

    @property
    def conversion(self) -> float | None:
        """Successes per contact (attempts that reached the person)."""
        return self.results.get("SUCCESS", 0) / self.contacts if self.contacts else None


def check_period(date_from: date | None, date_to: date | None) -> tuple[date, date]:
    """Both bounds given and a period a report covers, or INVALID_PERIOD (exports ask before the file)."""
    if date_from is None or date_to is None:
        raise ReportError(ReportErrorCode.INVALID_PERIOD, "A report needs dateFrom and dateTo.",
                          "dateFrom" if date_from is None else "dateTo")
    _period(date_from, date_to)
    return date_from, date_to


def check_productivity(ctx: Context, date_from: date, date_to: date, agent_id: int | None) -> int | None:
    """Who may read productivity figures, and of whom: the agent the figures are narrowed to."""
    user = ctx.require_user()
    _period(date_from, date_to)
    if user.role == Role.COMPANY_REP:
        raise ReportError(ReportErrorCode.FORBIDDEN, "Outbound figures are for the operator.")
    if not is_staff(user):
        if agent_id not in (None, user.pk):
            raise ReportError(ReportErrorCode.FORBIDDEN, "Agents see their own figures only.", "agentId")
        return user.pk
    return agent_id


async def check_campaign_results(ctx: Context, campaign_id: int | None, date_from: date, date_to: date) -> int:
    """Who may read a campaign's results: supervisors and admins, of a campaign that exists."""
    user = ctx.require_user()
    _period(date_from, date_to)
    if not is_staff(user):
        raise ReportError(ReportErrorCode.FORBIDDEN, "Campaign reports are for supervisors.")
    if campaign_id is None or not await Campaign.filter(id=campaign_id).exists():
        raise ReportError(ReportErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    return campaign_id


async def agent_productivity(
    ctx: Context, date_from: date, date_to: date, campaign_id: int | None, agent_id: int | None
) -> list[Productivity]:
    agent_id = check_productivity(ctx, date_from, date_to, agent_id)
    zone = ctx.settings.zone
    start, end = _bounds(ctx, date_from, date_to)
    groups: dict[tuple[int, date, int], Productivity] = {}

    def group(agent: int, moment: datetime) -> Productivity:
        local = moment.astimezone(zone)
        key = (agent, local.date(), local.hour)
        if key not in groups:
            groups[key] = Productivity(agent, local.date(), local.hour)
        return groups[key]

    operations = Operation.filter(created_at__gte=start, created_at__lt=end)
    claims = Event.filter(kind="MEMBER_CLAIMED", created_at__gte=start, created_at__lt=end)
    if campaign_id is not None:
        operations, claims = operations.filter(campaign_id=campaign_id), claims.filter(campaign_id=campaign_id)
    if agent_id is not None:
        operations, claims = operations.filter(agent_id=agent_id), claims.filter(agent_id=agent_id)
    async for page in _pages(operations, "agent_id", "created_at", "result_kind", "no_contact", "handling_seconds"):
        for _, agent, created, kind, no_contact, handling in page:
            figures = group(agent, created)
            figures.attempts += 1
            if handling is not None:
                figures.timed, figures.handling_total = figures.timed + 1, figures.handling_total + handling
            if no_contact:
                figures.no_contacts += 1
            else:
                figures.contacts += 1
            if kind:
                figures.results[kind] = figures.results.get(kind, 0) + 1
    async for page in _pages(claims, "agent_id", "created_at"):
        for _, agent, created in page:
            if agent is not None:
                group(agent, created).claims += 1
    names = dict(await User.filter(id__in={key[0] for key in groups}).values_list("id", "name")) if groups else {}
    rows = sorted(groups.values(), key=lambda row: (row.day, row.hour, row.agent_id))
    for row in rows:
        row.agent_name = names.get(row.agent_id, "")
    return rows


@dataclass
class CampaignDay:
    day: date
    attempts: int = 0
    results: dict[tuple[str, str], int] = field(default_factory=dict)  # (result name, kind) -> count
    no_contact_reasons: dict[str, int] = field(default_factory=dict)


async def campaign_results(ctx: Context, campaign_id: int, date_from: date, date_to: date) -> list[CampaignDay]:
    await check_campaign_results(ctx, campaign_id, date_from, date_to)
    days: dict[date, CampaignDay] = {}
    by_result: dict[tuple[date, int], int] = defaultdict(int)
    by_reason: dict[tuple[date, int], int] = defaultdict(int)
    operations = Operation.filter(campaign_id=campaign_id, local_date__gte=date_from, local_date__lte=date_to)
    async for page in _pages(operations, "local_date", "result_id", "no_contact_reason_id"):
        for _, day, result_id, reason_id in page:
            days.setdefault(day, CampaignDay(day)).attempts += 1
            if result_id is not None:
                by_result[(day, result_id)] += 1
            if reason_id is not None:
                by_reason[(day, reason_id)] += 1
    results = {pk: (name, kind.value) for pk, name, kind in await ContactResult.filter(
        id__in={key[1] for key in by_result}).values_list("id", "name", "kind")} if by_result else {}
    reasons = dict(await NoContactReason.filter(id__in={key[1] for key in by_reason}).values_list(
        "id", "name")) if by_reason else {}
    for (day, result_id), count in by_result.items():
        days[day].results[results[result_id]] = count
    for (day, reason_id), count in by_reason.items():
        days[day].no_contact_reasons[reasons[reason_id]] = count
    return [days[day] for day in sorted(days)]


@dataclass
class TicketWeek:
    week: date  # the Monday
    company_id: int | None
    classification_id: int | None
    opened: int = 0
    closed: int = 0
    awaiting_return: int = 0
    company_name: str = ""
    classification_name: str = ""


async def ticket_figures(ctx: Context, date_from: date, date_to: date, company_id: int | None) -> list[TicketWeek]:
    """Per week of the period: tickets opened, closed, and open ones whose return date fell that week and
    has passed ("aguardando retorno"), by company and classification."""
    ctx.require_user()
    _period(date_from, date_to)
    zone = ctx.settings.zone
    start, end = _bounds(ctx, date_from, date_to)
    now = rules.utc_now()
    tickets = visible_tickets(ctx)
    if company_id is not None:
        tickets = tickets.filter(company_id=company_id)
    groups: dict[tuple[date, int | None, int | None], TicketWeek] = {}

    def count(moment: datetime | None, company: int | None, classification: int | None) -> TicketWeek | None:
        if moment is None or not start <= moment < end:
            return None
        local = moment.astimezone(zone).date()
        key = (local - timedelta(days=local.weekday()), company, classification)
        if key not in groups:
            groups[key] = TicketWeek(*key)
        return groups[key]

    touched = tickets.filter(
        Q(created_at__gte=start, created_at__lt=end) | Q(closed_at__gte=start, closed_at__lt=end)
        | Q(return_due_at__gte=start, return_due_at__lt=end)
    )
    async for page in _pages(touched, "company_id", "classification_id", "created_at", "closed_at",
                             "return_due_at", "state"):
        for _, company, classification, created, closed, due, state in page:
            if (week := count(created, company, classification)) is not None:
                week.opened += 1
            if (week := count(closed, company, classification)) is not None:
                week.closed += 1
            awaiting = state == TicketState.OPEN and due is not None and due <= now
            if awaiting and (week := count(due, company, classification)) is not None:
                week.awaiting_return += 1
    companies = dict(await Company.filter(id__in={key[1] for key in groups if key[1]}).values_list("id", "name"))
    classifications = dict(await TicketClassification.filter(
        id__in={key[2] for key in groups if key[2]}).values_list("id", "name"))
    rows = sorted(groups.values(), key=lambda row: (row.week, row.company_id or 0, row.classification_id or 0))
    for row in rows:
        row.company_name = companies.get(row.company_id, "") if row.company_id else ""
        row.classification_name = classifications.get(row.classification_id, "") if row.classification_id else ""
    return rows
