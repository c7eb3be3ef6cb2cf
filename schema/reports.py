"""Reports as queries: what the dashboards draw (resolvers/reports.py adds the figures up)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from models.operation import OperationOutcome
from resolvers import errors as domain
from resolvers import reports as use_cases
from schema.base import Info
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.operation import ResultKindCount

ReportErrorCode = strawberry.enum(domain.ReportErrorCode, name="ReportErrorCode")


@strawberry.type
class ReportError(Error):
    code: ReportErrorCode  # type: ignore[valid-type]


@strawberry.type
class NamedCount:
    name: str
    kind: str | None
    count: int


@strawberry.type(description="One agent's work in one local hour.")
class AgentHour:
    agent_id: strawberry.ID
    agent_name: str
    day: date
    hour: int
    claims: int = strawberry.field(description="Members taken from the queue (kept EVENT_RETENTION_HOURS).")
    attempts: int
    contacts: int = strawberry.field(description="Attempts that reached the person.")
    no_contacts: int
    results: list[ResultKindCount]
    conversion: float | None = strawberry.field(description="Successes per contact.")
    average_handling_seconds: float | None = strawberry.field(
        description="From the claim to the recorded result, over the attempts that have it (null: none has)."
    )


@strawberry.type
class AgentProductivity:
    rows: list[AgentHour]


@strawberry.type(description="A campaign's attempts on one local day.")
class CampaignDayResults:
    day: date
    attempts: int
    results: list[NamedCount]
    no_contact_reasons: list[NamedCount]


@strawberry.type
class CampaignResults:
    days: list[CampaignDayResults]


@strawberry.type(description="Tickets of one company and classification in one week (from Monday).")
class TicketWeek:
    week: date
    company_id: strawberry.ID | None
    company_name: str
    classification_id: strawberry.ID | None
    classification_name: str
    opened: int
    closed: int
    awaiting_return: int = strawberry.field(description="Still open, their return date in that week and passed.")


@strawberry.type
class TicketFigures:
    weeks: list[TicketWeek]


AgentProductivityResult = Annotated[AgentProductivity | ReportError, strawberry.union("AgentProductivityResult")]
CampaignResultsResult = Annotated[CampaignResults | ReportError, strawberry.union("CampaignResultsResult")]
TicketFiguresResult = Annotated[TicketFigures | ReportError, strawberry.union("TicketFiguresResult")]


def _id(value: int | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


@strawberry.type
class ReportQuery:
    @strawberry.field(description="Claims, attempts, contacts, results and conversion per agent, local day and hour "
                      "(supervisors and admins; an agent: their own).")
    async def agent_productivity(
        self, info: Info, date_from: date, date_to: date, campaign_id: strawberry.ID | None = None,
        agent_id: strawberry.ID | None = None,
    ) -> AgentProductivityResult:
        rows = await use_cases.agent_productivity(
            info.context, date_from, date_to, optional_pk(campaign_id), optional_pk(agent_id)
        )
        return AgentProductivity(rows=[
            AgentHour(
                agent_id=strawberry.ID(str(row.agent_id)), agent_name=row.agent_name, day=row.day, hour=row.hour,
                claims=row.claims, attempts=row.attempts, contacts=row.contacts, no_contacts=row.no_contacts,
                results=[ResultKindCount(kind=OperationOutcome(kind), count=count)  # type: ignore[arg-type]
                         for kind, count in sorted(row.results.items())],
                conversion=row.conversion, average_handling_seconds=row.average_handling_seconds,
            )
            for row in rows
        ])

    @strawberry.field(description="A campaign's results and no-contact reasons per local day (supervisors, admins).")
    async def campaign_results(
        self, info: Info, campaign_id: strawberry.ID, date_from: date, date_to: date
    ) -> CampaignResultsResult:
        days = await use_cases.campaign_results(info.context, to_pk(campaign_id), date_from, date_to)
        return CampaignResults(days=[
            CampaignDayResults(
                day=day.day, attempts=day.attempts,
                results=[NamedCount(name=name, kind=kind, count=count)
                         for (name, kind), count in sorted(day.results.items())],
                no_contact_reasons=[NamedCount(name=name, kind=None, count=count)
                                    for name, count in sorted(day.no_contact_reasons.items())],
            )
            for day in days
        ])

    @strawberry.field(description="Tickets opened, closed and awaiting return per week, company and classification, "
                      "over the tickets you may see.")
    async def ticket_figures(
        self, info: Info, date_from: date, date_to: date, company_id: strawberry.ID | None = None
    ) -> TicketFiguresResult:
        weeks = await use_cases.ticket_figures(info.context, date_from, date_to, optional_pk(company_id))
        return TicketFigures(weeks=[
            TicketWeek(
                week=week.week, company_id=_id(week.company_id), company_name=week.company_name,
                classification_id=_id(week.classification_id), classification_name=week.classification_name,
                opened=week.opened, closed=week.closed, awaiting_return=week.awaiting_return,
            )
            for week in weeks
        ])


HANDLERS = [DomainErrorHandler(domain.ReportError, ReportError)]
