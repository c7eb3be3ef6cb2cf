"""CampaignMember.events (issue 16): stage, queue status, claims and callbacks, with who and when,
written in the transaction of the change."""

from __future__ import annotations

from typing import Any

import pytest

from models.campaign import CampaignMember
from models.history import MemberEvent
from models.operation import Callback, Operation
from models.outbound import ResultKind
from models.user import Role
from resolvers.operation import record as record_module
from tests.campaign.test_claim import CLAIM, RELEASE
from tests.campaign.test_members import ASSIGN, MOVE, REMOVE
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.operation.test_callbacks import CANCEL, RESCHEDULE
from tests.operation.test_operation_record import OPERATION_RECORD
from tests.outbound_factories import Clock, Outbound

EVENTS = """
query Events($id: ID!) {
  campaignMember(id: $id) {
    events {
      edges { node {
        kind createdAt actor { id } agent { id } fromStage { name } toStage { name } fromStatus toStatus dueAt
        callback { id status } operation { id }
      } }
    }
  }
}
"""

QUEUE_WITH_EVENTS = """
query Queue($campaignId: ID!, $first: Int) {
  campaignQueue(campaignId: $campaignId, status: SCHEDULED, first: $first) {
    ... on CampaignMemberConnection { edges { node { id events { edges { node { kind actor { name } } } } } } }
  }
}
"""


def kinds(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["kind"] for edge in data["campaignMember"]["events"]["edges"]]


async def test_claims_operations_callbacks_and_supervisor_changes_are_kept(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: an agent claims, schedules a callback, which is moved, then cancelled; claims again and
    # records a result; a supervisor moves and assigns the member, claims are released
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent,))
    later = await outbound.result(ResultKind.SCHEDULE)
    member = await outbound.member(campaign)
    proposal = await outbound.stage(campaign, 2)
    await outbound.ready(agent)
    claim = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    assert claim["campaignMemberClaim"]["id"] == str(member.pk)
    due = clock.local(days=1)
    await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "callbackAt": due.isoformat()}},
        user=agent,
    )
    callback = await Callback.get(member_id=member.pk)
    moved_to = clock.local(days=2)
    await factory.execute(RESCHEDULE, {"id": str(callback.pk), "dueAt": moved_to.isoformat()}, user=agent)
    await factory.execute(CANCEL, {"id": str(callback.pk)}, user=supervisor)
    await factory.execute(MOVE, {"memberId": str(member.pk), "stageId": str(proposal.pk)}, user=supervisor)
    await factory.execute(ASSIGN, {"memberId": str(member.pk), "agentId": str(agent.pk)}, user=supervisor)
    await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    await factory.execute(RELEASE, {"memberId": str(member.pk)}, user=supervisor)
    # when
    data = await factory.execute(EVENTS, {"id": str(member.pk)}, user=supervisor)
    # then
    assert kinds(data) == [
        "CLAIMED", "CALLBACK_SCHEDULED", "OPERATION_RECORDED", "CALLBACK_RESCHEDULED", "CALLBACK_CANCELLED",
        "STAGE_CHANGED", "ASSIGNED", "CLAIMED", "RELEASED",
    ]
    events = [edge["node"] for edge in data["campaignMember"]["events"]["edges"]]
    claimed, scheduled, recorded, rescheduled, cancelled, staged, assigned, _, released = events
    assert (claimed["actor"], claimed["agent"]) == ({"id": str(agent.pk)}, {"id": str(agent.pk)})
    assert scheduled["callback"] == {"id": str(callback.pk), "status": "CANCELLED"}
    assert scheduled["dueAt"] is not None and scheduled["agent"] == {"id": str(agent.pk)}
    operation = await Operation.get(member_id=member.pk)
    assert recorded["operation"] == {"id": str(operation.pk)}
    assert (recorded["fromStatus"], recorded["toStatus"]) == ("NOT_ACTED", "SCHEDULED")
    assert recorded["fromStage"] == recorded["toStage"] == {"name": "Contact"}
    assert rescheduled["dueAt"] is not None and rescheduled["dueAt"] != scheduled["dueAt"]
    assert cancelled["actor"] == {"id": str(supervisor.pk)}
    assert (staged["fromStage"], staged["toStage"]) == ({"name": "Contact"}, {"name": "Proposal"})
    assert assigned["agent"] == {"id": str(agent.pk)}
    assert (released["actor"], released["agent"]) == ({"id": str(supervisor.pk)}, {"id": str(agent.pk)})


async def test_a_later_operation_closes_the_callback_and_removal_cancels_it(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent,))
    later = await outbound.result(ResultKind.SCHEDULE)
    member = await outbound.claimed(campaign, agent)
    for days in (1, 2):
        await CampaignMember.filter(id=member.pk).update(claimed_by_id=agent.pk, claim_expires_at=clock.now.replace(year=2040))
        await factory.execute(
            OPERATION_RECORD,
            {"input": {"memberId": str(member.pk), "resultId": str(later.pk),
                       "callbackAt": clock.local(days=days).isoformat()}},
            user=agent,
        )
    await factory.execute(REMOVE, {"memberId": str(member.pk)}, user=supervisor)
    # when
    data = await factory.execute(EVENTS, {"id": str(member.pk)}, user=supervisor)
    # then
    assert kinds(data) == [
        "CALLBACK_SCHEDULED", "OPERATION_RECORDED",
        "CALLBACK_DONE", "CALLBACK_SCHEDULED", "OPERATION_RECORDED",
        "CALLBACK_CANCELLED", "REMOVED",
    ]
    removed = data["campaignMember"]["events"]["edges"][-1]["node"]
    assert (removed["fromStatus"], removed["toStatus"]) == ("SCHEDULED", "REMOVED")


async def test_an_operation_that_fails_leaves_no_event(
    factory: Factory, outbound: Outbound, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: the operation's own event breaks, after the member's events were written
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS)
    member = await outbound.claimed(campaign, agent)
    original = record_module.record

    async def failing_record(connection: Any, spec: Any) -> Any:
        if spec.kind == "OPERATION_RECORDED":
            raise RuntimeError("disk full")
        return await original(connection, spec)

    monkeypatch.setattr(record_module, "record", failing_record)
    # when
    result = await factory.execute_raw(
        OPERATION_RECORD, {"input": {"memberId": str(member.pk), "resultId": str(sale.pk)}}, user=agent
    )
    # then
    assert result.errors[0].message == "Unexpected error."
    assert await Operation.all().count() == 0
    assert await MemberEvent.all().count() == 0


async def test_reps_get_no_member_events(factory: Factory, outbound: Outbound) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    member = await outbound.member(campaign)
    await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    # when
    data = await factory.execute(EVENTS, {"id": str(member.pk)}, user=rep)
    # then
    assert data["campaignMember"] is None


@pytest.mark.parametrize("page_size", [3, 12])
async def test_a_queue_page_with_events_costs_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter, page_size: int
) -> None:
    # given: 12 scheduled members, each with a claim and an operation (three events) by two agents
    agents = [await factory.user(Role.AGENT) for _ in range(2)]
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=tuple(agents))
    later = await outbound.result(ResultKind.SCHEDULE)
    for index in range(12):
        agent = agents[index % 2]
        member = await outbound.member(campaign)
        await CampaignMember.filter(id=member.pk).update(claimed_by_id=agent.pk, claim_expires_at=clock.now.replace(year=2040))
        await factory.execute(
            OPERATION_RECORD,
            {"input": {"memberId": str(member.pk), "resultId": str(later.pk),
                       "callbackAt": clock.local(days=1).isoformat()}},
            user=agent,
        )
    sql_statements.statements.clear()
    # when
    data = await factory.execute(QUEUE_WITH_EVENTS, {"campaignId": str(campaign.pk), "first": page_size}, user=supervisor)
    # then
    edges = data["campaignQueue"]["edges"]
    assert len(edges) == page_size
    assert all(len(edge["node"]["events"]["edges"]) == 2 for edge in edges)
    # the campaign, the page, the events of all its members (one query), their actors
    assert len(sql_statements.statements) == 4, sql_statements.statements
