"""campaignMemberClaim(memberId): hold one chosen member with the queue claim's lease and rules."""

from datetime import timedelta

import pytest

from models.campaign import CampaignMember, QueuePriority, QueueStatus
from models.do_not_call import DoNotCallNumber
from models.event import Event
from models.floor import AgentState, AgentStateKind
from models.user import Role
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

CLAIM_MEMBER = """
mutation Claim($memberId: ID, $campaignId: ID) {
  campaignMemberClaim(memberId: $memberId, campaignId: $campaignId) {
    __typename
    ... on CampaignMember { id claimExpiresAt claimedBy { id } }
    ... on CampaignError { code field }
  }
}
"""


async def test_an_agent_claims_the_member_they_are_looking_at(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: the member is last in queue order
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent, other))
    await outbound.ready(agent, other)
    await outbound.member(campaign)
    chosen = await outbound.member(campaign, status=QueueStatus.SCHEDULED, priority=QueuePriority.RECYCLE.value,
                                   due_at=clock() - timedelta(minutes=1), attempts=1)
    # when
    data = await factory.execute(CLAIM_MEMBER, {"memberId": str(chosen.pk)}, user=agent)
    again = await factory.execute(CLAIM_MEMBER, {"memberId": str(chosen.pk)}, user=agent)
    # then: held for ten minutes, and claiming it again renews the lease
    assert data["campaignMemberClaim"]["id"] == str(chosen.pk)
    assert again["campaignMemberClaim"]["__typename"] == "CampaignMember"
    stored = await CampaignMember.get(id=chosen.pk)
    assert (stored.claimed_by_id, stored.claim_expires_at) == (agent.pk, clock() + timedelta(minutes=10))
    # the claim, and the agent going ON_CALL with it (the renewal changes neither)
    assert [(e.kind, e.entity_id) for e in await Event.all().order_by("cursor")] == [
        ("MEMBER_CLAIMED", chosen.pk), ("AGENT_STATE_CHANGED", agent.pk)
    ]
    assert (await AgentState.get(user_id=agent.pk)).state == AgentStateKind.ON_CALL
    # and the other agent cannot take it, until the lease expires
    held = await factory.execute(CLAIM_MEMBER, {"memberId": str(chosen.pk)}, user=other)
    assert held["campaignMemberClaim"] == {"__typename": "CampaignError", "code": "MEMBER_HELD", "field": "memberId"}
    clock.advance(minutes=10)
    taken = await factory.execute(CLAIM_MEMBER, {"memberId": str(chosen.pk)}, user=other)
    assert taken["campaignMemberClaim"]["claimedBy"] == {"id": str(other.pk)}


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("unknown", "NOT_FOUND"),
        ("both_ids", "INVALID"),
        ("not_assigned", "AGENT_NOT_ASSIGNED"),
        ("inactive", "CAMPAIGN_INACTIVE"),
        ("at_night", "OUTSIDE_CALLING_HOURS"),
        ("concluded", "MEMBER_CONCLUDED"),
        ("removed", "MEMBER_REMOVED"),
        ("assigned_elsewhere", "MEMBER_ASSIGNED_ELSEWHERE"),
        ("reserved", "MEMBER_RESERVED"),
        ("not_due", "MEMBER_NOT_DUE"),
        ("holding_another", "ALREADY_HOLDING"),
        ("opted_out", "PERSON_DO_NOT_CALL"),
        ("on_register", "PHONE_ON_DO_NOT_CALL_REGISTER"),
        ("not_ready", "AGENT_NOT_READY"),
    ],
)
async def test_claim_member_refusals(factory: Factory, outbound: Outbound, clock: Clock, case: str, code: str) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(
        agents=() if case == "not_assigned" else (agent, other), active=case != "inactive"
    )
    if case != "not_ready":
        await outbound.ready(agent, other)
    fields = {
        "concluded": {"status": QueueStatus.CONCLUDED},
        "removed": {"status": QueueStatus.REMOVED},
        "assigned_elsewhere": {"assigned_agent": other},
        "reserved": {"reserved_agent": other, "reserved_until": clock() + timedelta(minutes=5)},
        "not_due": {"status": QueueStatus.SCHEDULED, "due_at": clock() + timedelta(hours=1)},
    }.get(case, {})
    person = await factory.person(phones=["+5511987654321"])
    if case == "opted_out":
        person.do_not_call = True
        await person.save()
    if case == "on_register":
        await DoNotCallNumber.create(number="11987654321", source="PROCON-SP", added_at=clock())
    member = await outbound.member(campaign, person, **fields)
    if case == "holding_another":
        await outbound.claimed(campaign, agent)
    if case == "at_night":
        clock.now = clock.local(hour=22)
    variables = {"memberId": "999999" if case == "unknown" else str(member.pk)}
    if case == "both_ids":
        variables["campaignId"] = str(campaign.pk)
    # when
    data = await factory.execute(CLAIM_MEMBER, variables, user=agent)
    # then
    assert data["campaignMemberClaim"]["__typename"] == "CampaignError"
    assert data["campaignMemberClaim"]["code"] == code
    assert (await CampaignMember.get(id=member.pk)).claimed_by_id is None
    assert await Event.all().count() == 0
