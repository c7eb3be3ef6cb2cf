"""Handling time (issue 16): each operation keeps when the claim started and how long until the result,
with the talk / wrap-up seconds the client sends; campaignStatistics averages them per campaign, agent
and local hour (GROUP BY in the database), and counts no-contact attempts by reason."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from models.operation import Operation
from models.outbound import ResultKind
from models.user import Role, User
from tests.campaign.test_claim import CLAIM
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.operation.test_operation_record import OPERATION_RECORD
from tests.outbound_factories import Clock, Outbound, make_ready
from tests.reports.test_reports import PRODUCTIVITY

STATISTICS = """
query Statistics($campaignId: ID!, $day: Date) {
  campaignStatistics(campaignId: $campaignId, from: $day, to: $day) {
    ... on CampaignStatistics {
      total
      handling { operations timedOperations averageHandlingSeconds averageTalkSeconds averageWrapUpSeconds }
      handlingByAgent { agent { name } handling { operations averageHandlingSeconds averageTalkSeconds } }
      handlingByHour { hour handling { operations timedOperations averageHandlingSeconds } }
      handlingByAgentHour { agent { name } hour handling { operations averageHandlingSeconds } }
      byNoContactReason { reason { name } count }
    }
    ... on OperationError { code }
  }
}
"""

RECORD_TIMES = """
mutation Record($input: OperationRecordInput!) {
  operationRecord(input: $input) {
    __typename
    ... on Operation { claimedAt createdAt handlingSeconds talkSeconds wrapUpSeconds }
    ... on OperationError { code field }
  }
}
"""


async def _work(
    factory: Factory, clock: Clock, campaign_id: int, agent: User, hour: int, minute: int, seconds: int,
    values: dict[str, Any],
) -> dict[str, Any]:
    """The agent claims at hour:minute local and records `values` `seconds` later."""
    clock.now = clock.local(hour=hour, minute=minute)
    await make_ready(agent, clock())  # the claim takes READY agents
    claimed = await factory.execute(CLAIM, {"campaignId": str(campaign_id)}, user=agent)
    member_id = claimed["campaignMemberClaim"]["id"]
    clock.advance(seconds=seconds)
    data = await factory.execute(RECORD_TIMES, {"input": {"memberId": member_id, **values}}, user=agent)
    return data["operationRecord"]


async def test_statistics_match_a_hand_computed_day(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: two agents work one day (local time) and one operation of the day before
    ana, bia = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(ana, bia))
    sale = await outbound.result(ResultKind.SUCCESS)
    busy, absent = await outbound.reason(), await outbound.reason()
    for _ in range(6):
        await outbound.member(campaign)
    sale_id, busy_id, absent_id = str(sale.pk), str(busy.pk), str(absent.pk)
    # ana  10:00 +180 s sale, talk 120, wrap-up 30   | 10:30 +120 s no contact (busy)
    # bia  10:10 +300 s sale, talk 200                | 11:05 +60 s no contact (busy) | 11:40 +90 s (absent)
    first = await _work(factory, clock, campaign.pk, ana, 10, 0, 180,
                        {"resultId": sale_id, "talkSeconds": 120, "wrapUpSeconds": 30})
    await _work(factory, clock, campaign.pk, ana, 10, 30, 120, {"noContact": True, "noContactReasonId": busy_id})
    await _work(factory, clock, campaign.pk, bia, 10, 10, 300, {"resultId": sale_id, "talkSeconds": 200})
    await _work(factory, clock, campaign.pk, bia, 11, 5, 60, {"noContact": True, "noContactReasonId": busy_id})
    await _work(factory, clock, campaign.pk, bia, 11, 40, 90, {"noContact": True, "noContactReasonId": absent_id})
    day, ten = clock.today, clock.local(hour=10)
    clock.now = clock.local(days=-1, hour=15)  # the day before: outside the period
    await _work(factory, clock, campaign.pk, ana, 15, 0, 999, {"resultId": sale_id})
    # then: the operation keeps its times
    assert (first["handlingSeconds"], first["talkSeconds"], first["wrapUpSeconds"]) == (180, 120, 30)
    assert first["claimedAt"] == ten.astimezone(UTC).isoformat()
    sql_statements.statements.clear()
    # when
    data = await factory.execute(STATISTICS, {"campaignId": str(campaign.pk), "day": str(day)}, user=ana)
    stats = data["campaignStatistics"]
    # then: by hand, (180 + 120 + 300 + 60 + 90) / 5 = 150; talk (120 + 200) / 2 = 160; wrap-up 30
    assert stats["total"] == 5
    assert stats["handling"] == {
        "operations": 5, "timedOperations": 5, "averageHandlingSeconds": 150.0, "averageTalkSeconds": 160.0,
        "averageWrapUpSeconds": 30.0,
    }
    # ana (180 + 120) / 2 = 150, talk 120; bia (300 + 60 + 90) / 3 = 150, talk 200
    assert stats["handlingByAgent"] == [
        {"agent": {"name": ana.name}, "handling": {"operations": 2, "averageHandlingSeconds": 150.0,
                                                   "averageTalkSeconds": 120.0}},
        {"agent": {"name": bia.name}, "handling": {"operations": 3, "averageHandlingSeconds": 150.0,
                                                   "averageTalkSeconds": 200.0}},
    ]
    # 10 h: 180, 120, 300 -> 200; 11 h: 60, 90 -> 75 (recording times are 10:03, 10:32, 10:15, 11:06, 11:41)
    assert stats["handlingByHour"] == [
        {"hour": 10, "handling": {"operations": 3, "timedOperations": 3, "averageHandlingSeconds": 200.0}},
        {"hour": 11, "handling": {"operations": 2, "timedOperations": 2, "averageHandlingSeconds": 75.0}},
    ]
    assert stats["handlingByAgentHour"] == [
        {"agent": {"name": ana.name}, "hour": 10, "handling": {"operations": 2, "averageHandlingSeconds": 150.0}},
        {"agent": {"name": bia.name}, "hour": 10, "handling": {"operations": 1, "averageHandlingSeconds": 300.0}},
        {"agent": {"name": bia.name}, "hour": 11, "handling": {"operations": 2, "averageHandlingSeconds": 75.0}},
    ]
    assert sorted((row["reason"]["name"], row["count"]) for row in stats["byNoContactReason"]) == sorted(
        [(busy.name, 2), (absent.name, 1)]
    )
    # the handling figures are GROUP BY queries, not a read of every operation
    handling_queries = [sql for sql in sql_statements.statements if "handling_seconds" in sql]
    assert len(handling_queries) == 4 and all("AVG" in sql.upper() for sql in handling_queries), handling_queries


async def test_operations_without_a_claim_start_are_left_out_of_the_averages(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: a member held without a claim start (claimed before handling time was recorded)
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS)
    member = await outbound.claimed(campaign, agent)
    await factory.execute(OPERATION_RECORD, {"input": {"memberId": str(member.pk), "resultId": str(sale.pk)}},
                          user=agent)
    # when
    data = await factory.execute(STATISTICS, {"campaignId": str(campaign.pk), "day": None}, user=agent)
    # then
    assert data["campaignStatistics"]["handling"] == {
        "operations": 1, "timedOperations": 0, "averageHandlingSeconds": None, "averageTalkSeconds": None,
        "averageWrapUpSeconds": None,
    }
    assert (await Operation.get(member_id=member.pk)).handling_seconds is None


async def test_seconds_out_of_range_are_refused_and_nothing_is_written(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS)
    await outbound.member(campaign)
    await outbound.ready(agent)
    for field, value in (("talkSeconds", -1), ("wrapUpSeconds", 86401)):
        claimed = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
        data = await factory.execute(
            RECORD_TIMES,
            {"input": {"memberId": claimed["campaignMemberClaim"]["id"], "resultId": str(sale.pk), field: value}},
            user=agent,
        )
        assert data["operationRecord"] == {"__typename": "OperationError", "code": "INVALID", "field": field}
    assert await Operation.all().count() == 0


async def test_agent_productivity_averages_the_handling_time_of_each_hour(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: three of alice's attempts in one local hour, one without a handling time
    alice = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(alice,))
    sale = await outbound.result(ResultKind.SUCCESS)
    for minute, handling in ((5, 100), (20, None), (40, 301)):
        member = await outbound.member(campaign)
        operation = await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=alice, attempt=1, result=sale,
            result_kind="SUCCESS", local_date=clock.today, handling_seconds=handling,
        )
        await Operation.filter(id=operation.pk).update(created_at=clock.local(hour=9, minute=minute))
    # when
    data = await factory.execute(PRODUCTIVITY, {"from": str(clock.today), "to": str(clock.today)}, user=alice)
    # then: (100 + 301) / 2
    assert [(row["hour"], row["attempts"], row["averageHandlingSeconds"])
            for row in data["agentProductivity"]["rows"]] == [(9, 3, 200.5)]
