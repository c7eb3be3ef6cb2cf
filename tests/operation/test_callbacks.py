from datetime import timedelta

from models.campaign import CampaignMember, QueuePriority, QueueStatus
from models.event import Event
from models.operation import Callback, CallbackStatus
from models.user import Role
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

PENDING = """
query Pending($agentId: ID, $dueBefore: DateTime, $first: Int, $after: String) {
  pendingCallbacks(agentId: $agentId, dueBefore: $dueBefore, first: $first, after: $after) {
    edges { node { id dueAt status agent { id } member { person { name } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
RESCHEDULE = """
mutation Reschedule($id: ID!, $dueAt: DateTime!) {
  callbackReschedule(id: $id, dueAt: $dueAt) {
    __typename ... on Callback { dueAt status } ... on OperationError { code field }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!) {
  callbackCancel(id: $id) { __typename ... on Callback { status } ... on OperationError { code field } }
}
"""


async def _scheduled(outbound: Outbound, factory: Factory, campaign, agent, due, name: str) -> Callback:  # type: ignore[no-untyped-def]
    member = await outbound.member(
        campaign, await factory.person(name=name), status=QueueStatus.SCHEDULED,
        priority=QueuePriority.CALLBACK.value, due_at=due, attempts=1, reserved_agent=agent,
    )
    callback = await Callback.create(member=member, campaign=campaign, agent=agent, due_at=due)
    await CampaignMember.filter(id=member.pk).update(next_callback_id=callback.pk)
    return callback


def names(data: dict) -> list[str]:
    return [edge["node"]["member"]["person"]["name"] for edge in data["pendingCallbacks"]["edges"]]


async def test_pending_callbacks_are_the_callers_and_their_campaigns_open_ones(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent, other))
    elsewhere = await outbound.campaign(agents=(other,))
    now = clock()
    await _scheduled(outbound, factory, campaign, agent, now - timedelta(hours=1), "mine overdue")
    await _scheduled(outbound, factory, campaign, agent, now - timedelta(minutes=5), "mine due")
    await _scheduled(outbound, factory, campaign, agent, now + timedelta(hours=2), "mine later")
    await _scheduled(outbound, factory, campaign, None, now - timedelta(minutes=30), "anyone here")
    await _scheduled(outbound, factory, elsewhere, None, now - timedelta(minutes=30), "anyone elsewhere")
    await _scheduled(outbound, factory, campaign, other, now - timedelta(minutes=30), "other's")
    # when / then
    assert names(await factory.execute(PENDING, {}, user=agent)) == ["mine overdue", "anyone here", "mine due"]
    later = await factory.execute(PENDING, {"dueBefore": (now + timedelta(hours=3)).isoformat()}, user=agent)
    assert names(later)[-1] == "mine later"
    assert names(await factory.execute(PENDING, {"agentId": str(agent.pk)}, user=other)) == []
    assert names(await factory.execute(PENDING, {"agentId": str(agent.pk)}, user=supervisor)) == [
        "mine overdue", "anyone here", "mine due"
    ]
    first_page = await factory.execute(PENDING, {"first": 2}, user=agent)
    rest = await factory.execute(PENDING, {"first": 2, "after": first_page["pendingCallbacks"]["pageInfo"]["endCursor"]}, user=agent)
    assert names(first_page) + names(rest) == ["mine overdue", "anyone here", "mine due"]


async def test_reschedule_moves_the_callback_and_the_member(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent, other), callback_opens_after_minutes=15)
    callback = await _scheduled(outbound, factory, campaign, agent, clock.local(days=1, hour=10), "Ana")
    await Callback.filter(id=callback.pk).update(alerted_at=clock())
    new_time = clock.local(days=1, hour=15)
    # when
    data = await factory.execute(RESCHEDULE, {"id": str(callback.pk), "dueAt": new_time.isoformat()}, user=agent)
    # then
    assert data["callbackReschedule"]["__typename"] == "Callback"
    stored = await Callback.get(id=callback.pk)
    assert (stored.due_at, stored.alerted_at) == (new_time, None)
    member = await CampaignMember.get(id=callback.member_id)
    assert (member.due_at, member.reserved_until) == (new_time, new_time + timedelta(minutes=15))
    event = await Event.get(kind="CALLBACK_RESCHEDULED")
    assert (event.entity, event.entity_id, event.agent_id, event.campaign_id) == ("callback", callback.pk, agent.pk, campaign.pk)
    # and refusals
    cases = [
        ({"dueAt": (clock() - timedelta(minutes=1)).isoformat()}, agent, "CALLBACK_IN_PAST"),
        ({"dueAt": clock.local(days=1, hour=23).isoformat()}, agent, "OUTSIDE_CALLING_HOURS"),
        ({"dueAt": new_time.isoformat()}, other, "FORBIDDEN"),
    ]
    for values, user, code in cases:
        refused = await factory.execute(RESCHEDULE, {"id": str(callback.pk), **values}, user=user)
        assert refused["callbackReschedule"]["code"] == code
    assert (await Callback.get(id=callback.pk)).due_at == new_time


async def test_cancel_returns_the_member_to_the_queue(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    callback = await _scheduled(outbound, factory, campaign, agent, clock.local(days=1), "Ana")
    data = await factory.execute(CANCEL, {"id": str(callback.pk)}, user=agent)
    assert data["callbackCancel"] == {"__typename": "Callback", "status": "CANCELLED"}
    member = await CampaignMember.get(id=callback.member_id)
    assert (member.next_callback_id, member.priority, member.due_at, member.reserved_agent_id) == (
        None, QueuePriority.RECYCLE, clock(), None
    )
    again = await factory.execute(CANCEL, {"id": str(callback.pk)}, user=agent)
    assert again["callbackCancel"] == {"__typename": "OperationError", "code": "CALLBACK_NOT_PENDING", "field": "id"}
    missing = await factory.execute(CANCEL, {"id": "999999"}, user=agent)
    assert missing["callbackCancel"]["code"] == "NOT_FOUND"
    assert (await Callback.get(id=callback.pk)).status == CallbackStatus.CANCELLED
    assert [e.kind for e in await Event.all()] == ["CALLBACK_CANCELLED"]
