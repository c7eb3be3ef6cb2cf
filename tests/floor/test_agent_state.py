"""The agent state machine: agentStateSet and its refusals, the claim, operationRecord, release,
the wrap-up sweeper, the pause catalog, and the append-only history written with each change."""

from datetime import timedelta

import pytest

from models.event import Event
from models.floor import AgentState, AgentStateChange, PauseReason
from models.outbound import ResultKind
from models.user import Role
from realtime.alerts import run_once
from realtime.floor import floor_sources
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

SET = """
mutation Set($state: AgentState!, $reason: ID) {
  agentStateSet(state: $state, pauseReasonId: $reason) {
    __typename
    ... on AgentStatus { state secondsInState pauseReason { name } }
    ... on AgentStateError { code field message }
  }
}
"""
CLAIM = """
mutation Claim($campaignId: ID!) {
  campaignMemberClaim(campaignId: $campaignId) {
    __typename ... on CampaignMember { id } ... on CampaignError { code message }
  }
}
"""
RELEASE = "mutation R($id: ID!) { campaignMemberRelease(memberId: $id) { __typename } }"
RECORD = """
mutation Record($input: OperationRecordInput!) {
  operationRecord(input: $input) { __typename ... on OperationError { code } }
}
"""
REASON_CREATE = """
mutation C($input: PauseReasonInput!) {
  pauseReasonCreate(input: $input) {
    __typename ... on PauseReason { id name maxMinutes active } ... on CatalogError { code field }
  }
}
"""
REASON_UPDATE = """
mutation U($id: ID!, $input: PauseReasonUpdateInput!) {
  pauseReasonUpdate(id: $id, input: $input) { __typename ... on PauseReason { name maxMinutes active } }
}
"""
REASON_DEACTIVATE = "mutation D($id: ID!) { pauseReasonDeactivate(id: $id) { __typename ... on PauseReason { active } } }"
REASONS = "query { pauseReasons(includeInactive: true) { edges { node { name maxMinutes active } } } }"


async def _history(agent_id: int) -> list[tuple[str, str, str]]:
    rows = await AgentStateChange.filter(user_id=agent_id).order_by("id")
    return [(row.from_state.value, row.to_state.value, row.cause.value) for row in rows]


async def test_an_agent_goes_ready_pauses_with_a_reason_and_every_change_is_stored(
    factory: Factory, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    lunch = await PauseReason.create(name="Lunch", max_minutes=60)
    # when
    ready = await factory.execute(SET, {"state": "READY"}, user=agent)
    clock.advance(minutes=5)
    paused = await factory.execute(SET, {"state": "PAUSED", "reason": str(lunch.pk)}, user=agent)
    again = await factory.execute(SET, {"state": "PAUSED", "reason": str(lunch.pk)}, user=agent)
    # then
    assert ready["agentStateSet"] == {"__typename": "AgentStatus", "state": "READY", "secondsInState": 0, "pauseReason": None}
    assert paused["agentStateSet"]["pauseReason"] == {"name": "Lunch"}
    assert again["agentStateSet"]["state"] == "PAUSED"  # the same state again changes nothing
    assert await _history(agent.pk) == [("OFFLINE", "READY", "MANUAL"), ("READY", "PAUSED", "MANUAL")]
    change = await AgentStateChange.filter(user_id=agent.pk).order_by("-id").first()
    assert change is not None and (change.pause_reason_id, change.actor_id, change.at) == (lunch.pk, agent.pk, clock())
    state = await AgentState.get(user_id=agent.pk)
    assert state.pause_deadline == clock() + timedelta(minutes=60)
    assert await Event.filter(kind="AGENT_STATE_CHANGED", entity_id=agent.pk).count() == 2


@pytest.mark.parametrize(
    ("state", "reason", "code", "field"),
    [
        ("ON_CALL", None, "ILLEGAL_TRANSITION", "state"),
        ("WRAP_UP", None, "ILLEGAL_TRANSITION", "state"),
        ("PAUSED", None, "PAUSE_REASON_REQUIRED", "pauseReasonId"),
        ("PAUSED", "unknown", "UNKNOWN_PAUSE_REASON", "pauseReasonId"),
        ("PAUSED", "inactive", "INACTIVE_PAUSE_REASON", "pauseReasonId"),
        ("READY", "active", "PAUSE_REASON_NOT_ALLOWED", "pauseReasonId"),
    ],
)
async def test_agent_state_set_refusals_are_typed_and_write_nothing(
    factory: Factory, clock: Clock, state: str, reason: str | None, code: str, field: str
) -> None:
    agent = await factory.user(Role.AGENT)
    reasons = {
        "active": await PauseReason.create(name="Training"),
        "inactive": await PauseReason.create(name="Old", active=False),
    }
    reason_id = "999999" if reason == "unknown" else (str(reasons[reason].pk) if reason else None)
    data = await factory.execute(SET, {"state": state, "reason": reason_id}, user=agent)
    assert data["agentStateSet"]["__typename"] == "AgentStateError"
    assert (data["agentStateSet"]["code"], data["agentStateSet"]["field"]) == (code, field)
    assert await AgentStateChange.all().count() == 0
    assert await Event.all().count() == 0


async def test_only_agents_have_a_floor_state(factory: Factory, clock: Clock) -> None:
    for role in (Role.SUPERVISOR, Role.COMPANY_REP):
        data = await factory.execute(SET, {"state": "READY"}, user=await factory.user(role))
        assert data["agentStateSet"]["code"] == "FORBIDDEN"


async def test_the_claim_refuses_an_agent_who_is_not_ready(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    await outbound.member(campaign)
    lunch = await PauseReason.create(name="Lunch")
    variables = {"campaignId": str(campaign.pk)}
    # when / then: OFFLINE (never set), then PAUSED, are refused with nothing written
    offline = await factory.execute(CLAIM, variables, user=agent)
    assert offline["campaignMemberClaim"]["code"] == "AGENT_NOT_READY"
    await factory.execute(SET, {"state": "PAUSED", "reason": str(lunch.pk)}, user=agent)
    paused = await factory.execute(CLAIM, variables, user=agent)
    assert paused["campaignMemberClaim"]["code"] == "AGENT_NOT_READY"
    assert await Event.filter(entity="member").count() == 0
    # READY: the claim makes the agent ON_CALL in its own transaction
    await factory.execute(SET, {"state": "READY"}, user=agent)
    claimed = await factory.execute(CLAIM, variables, user=agent)
    assert claimed["campaignMemberClaim"]["__typename"] == "CampaignMember"
    state = await AgentState.get(user_id=agent.pk)
    assert (state.state.value, state.campaign_id) == ("ON_CALL", campaign.pk)
    assert (await _history(agent.pk))[-1] == ("READY", "ON_CALL", "CLAIM")
    # and while holding the member the agent cannot leave the call by hand
    leave = await factory.execute(SET, {"state": "READY"}, user=agent)
    assert leave["agentStateSet"]["code"] == "ON_CALL"


async def test_an_empty_queue_leaves_the_agent_ready(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    await outbound.ready(agent)
    data = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    assert data["campaignMemberClaim"]["code"] == "QUEUE_EMPTY"
    assert (await AgentState.get(user_id=agent.pk)).state.value == "READY"  # rolled back with the claim
    assert await AgentStateChange.all().count() == 0


async def test_claim_readiness_is_a_setting(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    from dataclasses import replace

    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    await outbound.member(campaign)
    relaxed = replace(factory.settings, claim_requires_ready=False)
    data = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent, settings=relaxed)
    assert data["campaignMemberClaim"]["__typename"] == "CampaignMember"
    assert await _history(agent.pk) == [("OFFLINE", "ON_CALL", "CLAIM")]


async def test_recording_wraps_up_for_the_campaigns_seconds_then_ready(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), wrap_up_seconds=30)
    await outbound.member(campaign)
    await outbound.member(campaign)
    success = await outbound.result(ResultKind.SUCCESS)
    await outbound.ready(agent)
    variables = {"campaignId": str(campaign.pk)}
    member_id = (await factory.execute(CLAIM, variables, user=agent))["campaignMemberClaim"]["id"]
    # when
    recorded = await factory.execute(RECORD, {"input": {"memberId": member_id, "resultId": str(success.pk)}}, user=agent)
    # then: WRAP_UP for 30 s, during which the claim is refused
    assert recorded["operationRecord"]["__typename"] == "Operation"
    state = await AgentState.get(user_id=agent.pk)
    assert (state.state.value, state.wrap_up_until) == ("WRAP_UP", clock() + timedelta(seconds=30))
    refused = await factory.execute(CLAIM, variables, user=agent)
    assert refused["campaignMemberClaim"]["code"] == "AGENT_NOT_READY"
    sources = floor_sources(30)
    assert await run_once(sources, None, clock() + timedelta(seconds=29)) == 0
    # the sweeper makes the agent READY once the wrap-up is over, once
    assert await run_once(sources, None, clock() + timedelta(seconds=30)) == 1
    assert await run_once(sources, None, clock() + timedelta(seconds=31)) == 0
    assert (await AgentState.get(user_id=agent.pk)).state.value == "READY"
    assert await _history(agent.pk) == [
        ("READY", "ON_CALL", "CLAIM"), ("ON_CALL", "WRAP_UP", "RECORD"), ("WRAP_UP", "READY", "WRAP_UP_ENDED"),
    ]


async def test_a_wrap_up_that_ended_lets_the_claim_through_before_the_sweeper(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), wrap_up_seconds=10)
    for _ in range(2):
        await outbound.member(campaign)
    success = await outbound.result(ResultKind.SUCCESS)
    await outbound.ready(agent)
    variables = {"campaignId": str(campaign.pk)}
    member_id = (await factory.execute(CLAIM, variables, user=agent))["campaignMemberClaim"]["id"]
    await factory.execute(RECORD, {"input": {"memberId": member_id, "resultId": str(success.pk)}}, user=agent)
    clock.advance(seconds=10)
    again = await factory.execute(CLAIM, variables, user=agent)
    assert again["campaignMemberClaim"]["__typename"] == "CampaignMember"
    assert (await _history(agent.pk))[-1] == ("WRAP_UP", "ON_CALL", "CLAIM")


async def test_pausing_during_wrap_up_stays_paused(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), wrap_up_seconds=30)
    await outbound.member(campaign)
    success = await outbound.result(ResultKind.SUCCESS)
    lunch = await PauseReason.create(name="Lunch")
    await outbound.ready(agent)
    member_id = (await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent))["campaignMemberClaim"]["id"]
    await factory.execute(RECORD, {"input": {"memberId": member_id, "resultId": str(success.pk)}}, user=agent)
    paused = await factory.execute(SET, {"state": "PAUSED", "reason": str(lunch.pk)}, user=agent)
    assert paused["agentStateSet"]["state"] == "PAUSED"
    assert await run_once(floor_sources(30), None, clock() + timedelta(minutes=5)) == 0
    assert (await AgentState.get(user_id=agent.pk)).state.value == "PAUSED"


async def test_a_release_ends_the_call_ready_even_by_a_supervisor(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent,), wrap_up_seconds=30)
    await outbound.member(campaign)
    await outbound.ready(agent)
    member_id = (await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent))["campaignMemberClaim"]["id"]
    released = await factory.execute(RELEASE, {"id": member_id}, user=supervisor)
    assert released["campaignMemberRelease"]["__typename"] == "CampaignMember"
    assert (await AgentState.get(user_id=agent.pk)).state.value == "READY"
    last = await AgentStateChange.filter(user_id=agent.pk).order_by("-id").first()
    assert last is not None and (last.cause.value, last.actor_id) == ("RELEASE", supervisor.pk)


async def test_a_failed_record_leaves_the_agent_on_call(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    await outbound.member(campaign)
    await outbound.ready(agent)
    member_id = (await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent))["campaignMemberClaim"]["id"]
    refused = await factory.execute(RECORD, {"input": {"memberId": member_id}}, user=agent)
    assert refused["operationRecord"]["code"] == "RESULT_REQUIRED"
    assert (await AgentState.get(user_id=agent.pk)).state.value == "ON_CALL"


async def test_the_pause_catalog_is_maintained_by_supervisors(factory: Factory, clock: Clock) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    created = await factory.execute(REASON_CREATE, {"input": {"name": " Lunch ", "maxMinutes": 60}}, user=supervisor)
    reason = created["pauseReasonCreate"]
    assert reason | {"id": None} == {"__typename": "PauseReason", "id": None, "name": "Lunch", "maxMinutes": 60, "active": True}
    duplicate = await factory.execute(REASON_CREATE, {"input": {"name": "Lunch"}}, user=supervisor)
    assert (duplicate["pauseReasonCreate"]["code"], duplicate["pauseReasonCreate"]["field"]) == ("DUPLICATE_NAME", "name")
    bad = await factory.execute(REASON_CREATE, {"input": {"name": "Coffee", "maxMinutes": 0}}, user=supervisor)
    assert (bad["pauseReasonCreate"]["code"], bad["pauseReasonCreate"]["field"]) == ("INVALID", "maxMinutes")
    forbidden = await factory.execute(REASON_CREATE, {"input": {"name": "Nap"}}, user=agent)
    assert forbidden["pauseReasonCreate"]["code"] == "FORBIDDEN"
    kept = await factory.execute(REASON_UPDATE, {"id": reason["id"], "input": {"name": "Lunch break"}}, user=supervisor)
    assert kept["pauseReasonUpdate"]["maxMinutes"] == 60
    cleared = await factory.execute(REASON_UPDATE, {"id": reason["id"], "input": {"maxMinutes": None}}, user=supervisor)
    assert cleared["pauseReasonUpdate"]["maxMinutes"] is None
    await factory.execute(REASON_DEACTIVATE, {"id": reason["id"]}, user=supervisor)
    listed = await factory.execute(REASONS, user=agent)
    assert listed["pauseReasons"]["edges"] == [{"node": {"name": "Lunch break", "maxMinutes": None, "active": False}}]
    refused = await factory.execute(SET, {"state": "PAUSED", "reason": reason["id"]}, user=agent)
    assert refused["agentStateSet"]["code"] == "INACTIVE_PAUSE_REASON"
