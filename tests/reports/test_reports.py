"""Report figures against a small data set computed by hand (times are local, America/Sao_Paulo)."""

from __future__ import annotations

from datetime import datetime

from tortoise.transactions import in_transaction

from models.event import Event
from models.operation import Operation
from models.outbound import ResultKind
from models.ticket import Ticket, TicketState
from models.user import Role, User
from realtime.events import EventSpec, record
from tests.factories import Factory
from tests.outbound_factories import ZONE, Clock, Outbound
from tests.ticket_factories import TicketFactory

PRODUCTIVITY = """
query P($from: Date!, $to: Date!, $agentId: ID) {
  agentProductivity(dateFrom: $from, dateTo: $to, agentId: $agentId) {
    __typename
    ... on AgentProductivity { rows { agentName day hour claims attempts contacts noContacts
                                      results { kind count } conversion averageHandlingSeconds } }
    ... on ReportError { code field }
  }
}
"""
RESULTS = """
query R($campaignId: ID!, $from: Date!, $to: Date!) {
  campaignResults(campaignId: $campaignId, dateFrom: $from, dateTo: $to) {
    __typename
    ... on CampaignResults { days { day attempts results { name kind count } noContactReasons { name count } } }
    ... on ReportError { code field }
  }
}
"""
TICKETS = """
query T($from: Date!, $to: Date!) {
  ticketFigures(dateFrom: $from, dateTo: $to) {
    __typename
    ... on TicketFigures { weeks { week companyName classificationName opened closed awaitingReturn } }
    ... on ReportError { code field }
  }
}
"""


def local(day: int, hour: int, minute: int = 0, month: int = 1, year: int = 2031) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZONE)


async def outbound_day(factory: Factory, outbound: Outbound) -> tuple[User, User, int]:
    alice, bruno = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    alice.name, bruno.name = "Alice", "Bruno"
    await alice.save()
    await bruno.save()
    campaign = await outbound.campaign(agents=(alice, bruno))
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    refusal = await outbound.result(ResultKind.FAILURE, name="Recusa")
    later = await outbound.result(ResultKind.SCHEDULE, name="Retornar")
    voicemail = await outbound.reason()
    voicemail.name = "Caixa postal"
    await voicemail.save()
    attempts = [
        (alice, local(8, 9, 10), sale, None), (alice, local(8, 9, 40), refusal, None),
        (alice, local(8, 9, 55), None, voicemail), (alice, local(8, 10, 5), sale, None),
        (bruno, local(8, 9, 20), later, None), (bruno, local(9, 11, 0), None, voicemail),
    ]
    for agent, at, result, reason in attempts:
        member = await outbound.member(campaign)
        operation = await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=agent, attempt=1,
            result=result, result_kind=result.kind.value if result else None, no_contact=reason is not None,
            no_contact_reason=reason, local_date=at.date(),
        )
        await Operation.filter(id=operation.pk).update(created_at=at)
    for agent, at in ((alice, local(8, 9, 5)), (alice, local(8, 9, 35)), (bruno, local(8, 9, 15))):
        async with in_transaction() as connection:
            event = await record(connection, EventSpec(
                kind="MEMBER_CLAIMED", entity="member", entity_id=1, campaign_id=campaign.pk, agent_id=agent.pk
            ))
        await Event.filter(id=event.pk).update(created_at=at)
    return alice, bruno, campaign.pk


async def test_agent_productivity_per_day_and_hour(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    alice, _, _ = await outbound_day(factory, outbound)
    supervisor = await factory.user(Role.SUPERVISOR)
    period = {"from": "2031-01-08", "to": "2031-01-09"}
    # when
    data = await factory.execute(PRODUCTIVITY, period, user=supervisor)
    # then
    def row(name, day, hour, claims, attempts, contacts, no_contacts, results, conversion):  # type: ignore[no-untyped-def]
        return {"agentName": name, "day": day, "hour": hour, "claims": claims, "attempts": attempts,
                "contacts": contacts, "noContacts": no_contacts,
                "results": [{"kind": kind, "count": count} for kind, count in results],
                "conversion": conversion, "averageHandlingSeconds": None}

    assert data["agentProductivity"]["rows"] == [
        row("Alice", "2031-01-08", 9, 2, 3, 2, 1, [("FAILURE", 1), ("SUCCESS", 1)], 0.5),
        row("Bruno", "2031-01-08", 9, 1, 1, 1, 0, [("SCHEDULE", 1)], 0.0),
        row("Alice", "2031-01-08", 10, 0, 1, 1, 0, [("SUCCESS", 1)], 1.0),
        row("Bruno", "2031-01-09", 11, 0, 1, 0, 1, [], None),
    ]
    own = await factory.execute(PRODUCTIVITY, period, user=alice)
    assert [r["agentName"] for r in own["agentProductivity"]["rows"]] == ["Alice", "Alice"]
    other = await factory.execute(PRODUCTIVITY, {**period, "agentId": "999"}, user=alice)
    assert other["agentProductivity"] == {"__typename": "ReportError", "code": "FORBIDDEN", "field": "agentId"}
    backwards = await factory.execute(PRODUCTIVITY, {"from": "2031-01-09", "to": "2031-01-08"}, user=supervisor)
    assert backwards["agentProductivity"]["code"] == "INVALID_PERIOD"


async def test_results_and_no_contact_reasons_per_campaign_day(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    _, _, campaign_id = await outbound_day(factory, outbound)
    supervisor = await factory.user(Role.SUPERVISOR)
    data = await factory.execute(RESULTS, {"campaignId": str(campaign_id), "from": "2031-01-01", "to": "2031-01-31"},
                                 user=supervisor)
    assert data["campaignResults"]["days"] == [
        {"day": "2031-01-08", "attempts": 5,
         "results": [{"name": "Recusa", "kind": "FAILURE", "count": 1}, {"name": "Retornar", "kind": "SCHEDULE", "count": 1},
                     {"name": "Venda", "kind": "SUCCESS", "count": 2}],
         "noContactReasons": [{"name": "Caixa postal", "count": 1}]},
        {"day": "2031-01-09", "attempts": 1, "results": [], "noContactReasons": [{"name": "Caixa postal", "count": 1}]},
    ]
    agent = await factory.user(Role.AGENT)
    refused = await factory.execute(RESULTS, {"campaignId": str(campaign_id), "from": "2031-01-01", "to": "2031-01-31"},
                                    user=agent)
    assert refused["campaignResults"]["code"] == "FORBIDDEN"


async def test_tickets_opened_closed_and_awaiting_return_per_week(factory: Factory, clock: Clock) -> None:
    # given: "now" is Wednesday 2031-01-08 14:00; weeks start on Mondays 2030-12-30 and 2031-01-06
    tickets = TicketFactory(factory)
    acme, globex = await factory.company(name="Acme"), await factory.company(name="Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    supervisor = await factory.user(Role.SUPERVISOR)
    status = await tickets.status("Novo", initial=True)
    finance, support = await tickets.classification("Financeiro"), await tickets.classification("Suporte")

    async def ticket(company, classification, created, closed=None, due=None):  # type: ignore[no-untyped-def]
        row = await tickets.ticket(rep, status, company=company, classification=classification)
        await Ticket.filter(id=row.pk).update(
            created_at=created, closed_at=closed, return_due_at=due,
            state=TicketState.CLOSED if closed else TicketState.OPEN,
        )

    await ticket(acme, finance, local(2, 10), closed=local(7, 10))                  # T1
    await ticket(acme, finance, local(3, 10), due=local(7, 9))                      # T2 awaiting return
    await ticket(acme, support, local(7, 10), due=local(9, 9))                      # T3 return still ahead
    await ticket(globex, finance, local(8, 8))                                      # T4
    await ticket(acme, finance, local(20, 10, month=12, year=2030), closed=local(2, 9))  # T5 opened before
    period = {"from": "2031-01-01", "to": "2031-01-14"}
    # when
    everything = await factory.execute(TICKETS, period, user=supervisor)
    acme_only = await factory.execute(TICKETS, period, user=rep)
    # then
    def week(day, company, classification, opened, closed, awaiting):  # type: ignore[no-untyped-def]
        return {"week": day, "companyName": company, "classificationName": classification, "opened": opened,
                "closed": closed, "awaitingReturn": awaiting}

    assert everything["ticketFigures"]["weeks"] == [
        week("2030-12-30", "Acme", "Financeiro", 2, 1, 0),
        week("2031-01-06", "Acme", "Financeiro", 0, 1, 1),
        week("2031-01-06", "Acme", "Suporte", 1, 0, 0),
        week("2031-01-06", "Globex", "Financeiro", 1, 0, 0),
    ]
    assert acme_only["ticketFigures"]["weeks"] == everything["ticketFigures"]["weeks"][:3]


async def test_periods_out_of_range_are_refused_as_bad_input(factory: Factory) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    for period in ({"from": "9999-12-31", "to": "9999-12-31"}, {"from": "0001-01-01", "to": "0001-01-02"}):
        result = await factory.execute_raw(TICKETS, period, user=supervisor)
        assert result.data is None
        assert result.errors and {e.extensions["code"] for e in result.errors} == {"BAD_USER_INPUT"}
