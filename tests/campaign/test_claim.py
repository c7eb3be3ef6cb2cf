import asyncio
from datetime import timedelta

import pytest

from models.campaign import CampaignMember
from models.event import Event
from models.user import Role
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

CLAIM = """
mutation Claim($campaignId: ID!) {
  campaignMemberClaim(campaignId: $campaignId) {
    __typename
    ... on CampaignMember { id claimExpiresAt claimedBy { id } person { name } }
    ... on CampaignError { code field message }
  }
}
"""
RENEW = """
mutation Renew($memberId: ID!) {
  campaignMemberClaimRenew(memberId: $memberId) {
    __typename ... on CampaignMember { claimExpiresAt } ... on CampaignError { code }
  }
}
"""
RELEASE = """
mutation Release($memberId: ID!) {
  campaignMemberRelease(memberId: $memberId) {
    __typename ... on CampaignMember { claimedBy { id } } ... on CampaignError { code }
  }
}
"""


async def test_claim_holds_the_next_member_for_ten_minutes(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    await outbound.ready(agent)
    first = await outbound.member(campaign, await factory.person(name="first"))
    await outbound.member(campaign, await factory.person(name="second"))
    # when
    data = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    again = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    # then: the held member comes back rather than a second one
    claimed = data["campaignMemberClaim"]
    assert claimed["person"] == {"name": "first"}
    assert claimed["claimedBy"] == {"id": str(agent.pk)}
    assert again["campaignMemberClaim"]["id"] == claimed["id"]
    stored = await CampaignMember.get(id=first.pk)
    assert stored.claim_expires_at == clock() + timedelta(minutes=10)
    event = await Event.get(kind="MEMBER_CLAIMED")
    assert (event.entity, event.entity_id, event.campaign_id, event.agent_id) == ("member", first.pk, campaign.pk, agent.pk)


async def test_an_expired_lease_lets_another_agent_claim(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    first, second = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(first, second))
    await outbound.ready(first, second)
    member = await outbound.member(campaign)
    await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=first)
    blocked = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=second)
    assert blocked["campaignMemberClaim"]["code"] == "QUEUE_EMPTY"
    clock.advance(minutes=10)
    taken = await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=second)
    assert taken["campaignMemberClaim"]["id"] == str(member.pk)
    renewed = await factory.execute(RENEW, {"memberId": str(member.pk)}, user=first)
    assert renewed["campaignMemberClaimRenew"]["code"] == "MEMBER_NOT_CLAIMED"


async def test_renew_extends_and_release_frees_the_member(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent, other))
    await outbound.ready(agent, other)
    member = await outbound.member(campaign)
    await factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent)
    clock.advance(minutes=8)
    renewed = await factory.execute(RENEW, {"memberId": str(member.pk)}, user=agent)
    assert renewed["campaignMemberClaimRenew"]["__typename"] == "CampaignMember"
    assert (await CampaignMember.get(id=member.pk)).claim_expires_at == clock() + timedelta(minutes=10)
    refused = await factory.execute(RELEASE, {"memberId": str(member.pk)}, user=other)
    assert refused["campaignMemberRelease"]["code"] == "MEMBER_NOT_CLAIMED"
    released = await factory.execute(RELEASE, {"memberId": str(member.pk)}, user=agent)
    assert released["campaignMemberRelease"] == {"__typename": "CampaignMember", "claimedBy": None}
    assert [e.kind for e in await Event.filter(entity="member").order_by("cursor")] == [
        "MEMBER_CLAIMED", "MEMBER_RELEASED"
    ]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("not_assigned", "AGENT_NOT_ASSIGNED"),
        ("inactive", "CAMPAIGN_INACTIVE"),
        ("not_started", "CAMPAIGN_NOT_STARTED"),
        ("ended", "CAMPAIGN_ENDED"),
        ("at_night", "OUTSIDE_CALLING_HOURS"),
        ("on_sunday", "OUTSIDE_CALLING_HOURS"),
        ("saturday_without_window", "OUTSIDE_CALLING_HOURS"),
        ("nobody_left", "QUEUE_EMPTY"),
        ("unknown_campaign", "NOT_FOUND"),
    ],
)
async def test_claim_refusals(factory: Factory, outbound: Outbound, clock: Clock, case: str, code: str) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    fields = {
        "inactive": {"active": False},
        "not_started": {"start_date": clock.today + timedelta(days=1)},
        "ended": {"end_date": clock.today - timedelta(days=1)},
        "saturday_without_window": {"saturday_start_minute": None, "saturday_end_minute": None},
    }.get(case, {})
    campaign = await outbound.campaign(agents=() if case == "not_assigned" else (agent,), **fields)
    await outbound.ready(agent)
    if case != "nobody_left":
        await outbound.member(campaign)
    clock.now = {
        "at_night": clock.local(hour=21, minute=0),
        "on_sunday": clock.local(days=4, hour=11),
        "saturday_without_window": clock.local(days=3, hour=11),
    }.get(case, clock.now)
    campaign_id = "999999" if case == "unknown_campaign" else str(campaign.pk)
    # when
    data = await factory.execute(CLAIM, {"campaignId": campaign_id}, user=agent)
    # then
    assert data["campaignMemberClaim"]["__typename"] == "CampaignError"
    assert data["campaignMemberClaim"]["code"] == code
    assert await CampaignMember.filter(claimed_by_id__isnull=False).count() == 0
    assert await Event.all().count() == 0


async def test_concurrent_claims_never_hand_out_a_member_twice(factory: Factory, outbound: Outbound) -> None:
    # given: 12 members and 16 agents claiming at once on an empty event table (on PostgreSQL:
    # separate pooled connections, so the first event's counter row is created concurrently)
    agents = [await factory.user(Role.AGENT) for _ in range(16)]
    campaign = await outbound.campaign(agents=tuple(agents))
    await outbound.ready(*agents)
    for _ in range(12):
        await outbound.member(campaign)
    # when
    results = await asyncio.gather(
        *(factory.execute(CLAIM, {"campaignId": str(campaign.pk)}, user=agent) for agent in agents)
    )
    # then
    claims = [result["campaignMemberClaim"] for result in results]
    won = [claim["id"] for claim in claims if claim["__typename"] == "CampaignMember"]
    assert len(won) == len(set(won)) == 12
    assert sorted(claim["code"] for claim in claims if claim["__typename"] == "CampaignError") == ["QUEUE_EMPTY"] * 4
    holders = await CampaignMember.filter(campaign_id=campaign.pk).values_list("claimed_by_id", flat=True)
    assert len(set(holders)) == 12
    assert await Event.filter(kind="MEMBER_CLAIMED").count() == 12
