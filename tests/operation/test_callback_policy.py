"""What was left open on callbacks: the campaign's policy and delay follow pending callbacks, a
callback for me under ANYONE is reserved then opened, colleagues act on what opened to them, and a
cancelled callback leaves its member in a status that says what is due."""

from datetime import timedelta

from models.campaign import CallbackPolicy, CampaignMember, QueuePriority, QueueStatus
from models.event import Event
from models.operation import Callback
from models.outbound import ResultKind
from models.user import Role
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

CAMPAIGN_UPDATE = """
mutation Update($id: ID!, $input: CampaignUpdateInput!) {
  campaignUpdate(id: $id, input: $input) { __typename ... on CampaignError { code field } }
}
"""
RECORD = """
mutation OperationRecord($input: OperationRecordInput!) {
  operationRecord(input: $input) { __typename ... on OperationError { code field } }
}
"""
PENDING = """
query { pendingCallbacks { ... on CallbackConnection { edges { node { id } } } } }
"""
RESCHEDULE = """
mutation Reschedule($id: ID!, $dueAt: DateTime!) {
  callbackReschedule(id: $id, dueAt: $dueAt) {
    __typename ... on Callback { agent { id } opensAt } ... on OperationError { code field }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!) {
  callbackCancel(id: $id) { __typename ... on Callback { status } ... on OperationError { code field } }
}
"""


async def _scheduled(outbound: Outbound, factory: Factory, campaign, agent, due, opens_at=None, **fields):  # type: ignore[no-untyped-def]
    values = {"status": QueueStatus.SCHEDULED, "priority": QueuePriority.CALLBACK.value, "due_at": due,
              "attempts": 1, "reserved_agent": agent, "reserved_until": opens_at, **fields}
    member = await outbound.member(campaign, **values)
    callback = await Callback.create(member=member, campaign=campaign, agent=agent, due_at=due, opens_at=opens_at)
    await CampaignMember.filter(id=member.pk).update(next_callback_id=callback.pk)
    return callback


async def test_changing_the_policy_or_the_delay_moves_pending_callbacks_opening_and_is_recorded(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: a USER_ONLY campaign opening callbacks 30 minutes after they fall due
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent,), callback_opens_after_minutes=30)
    due = clock.local(days=1, hour=10)
    mine = await _scheduled(outbound, factory, campaign, agent, due, opens_at=due + timedelta(minutes=30))
    overdue = clock() - timedelta(hours=2)
    told = await _scheduled(outbound, factory, campaign, agent, overdue, opens_at=overdue + timedelta(minutes=30))
    await Callback.filter(id=told.pk).update(opened_alerted_at=overdue + timedelta(minutes=30))
    for_anyone = await _scheduled(outbound, factory, campaign, None, due)

    async def update(values: dict) -> None:
        data = await factory.execute(CAMPAIGN_UPDATE, {"id": str(campaign.pk), "input": values}, user=supervisor)
        assert data["campaignUpdate"]["__typename"] == "Campaign"

    async def opening(callback: Callback) -> tuple:
        stored = await Callback.get(id=callback.pk)
        member = await CampaignMember.get(id=callback.member_id)
        return stored.opens_at, member.reserved_agent_id, member.reserved_until

    # when: the delay becomes 60 minutes
    await update({"callbackOpensAfterMinutes": 60})
    # then: the pending callback opens later, and its member stays reserved until then
    assert await opening(mine) == (due + timedelta(minutes=60), agent.pk, due + timedelta(minutes=60))
    # one already opened and told stays told; a callback for anyone never opens (it is open)
    assert (await Callback.get(id=told.pk)).opened_alerted_at is not None
    assert await opening(for_anyone) == (None, None, None)
    # when: the delay is cleared: under USER_ONLY the callbacks never open
    await update({"callbackOpensAfterMinutes": None})
    assert await opening(mine) == (None, agent.pk, None)
    assert (await Callback.get(id=told.pk)).opened_alerted_at is None
    # when: the policy becomes ANYONE: they open when they fall due
    await update({"callbackPolicy": "ANYONE"})
    assert await opening(mine) == (due, agent.pk, due)
    # and each change is recorded with the fields it changed
    events = await Event.filter(kind="CAMPAIGN_UPDATED").order_by("cursor")
    assert [event.data["fields"] for event in events] == [
        ["callback_opens_after_minutes"], ["callback_opens_after_minutes"], ["callback_policy"]
    ]
    assert {(event.entity, event.entity_id, event.agent_id) for event in events} == {
        ("campaign", campaign.pk, supervisor.pk)
    }
    # and an update that changes nothing records nothing
    await update({"callbackPolicy": "ANYONE"})
    assert await Event.filter(kind="CAMPAIGN_UPDATED").count() == 3


async def test_under_anyone_a_callback_for_me_is_mine_until_due_then_open_to_colleagues(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent, colleague = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent, colleague), callback_policy=CallbackPolicy.ANYONE)
    later = await outbound.result(ResultKind.SCHEDULE)
    member = await outbound.claimed(campaign, agent)
    due = clock.local(hour=15)
    # when
    data = await factory.execute(
        RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "callbackAt": due.isoformat(),
                   "callbackFor": "ME"}},
        user=agent,
    )
    # then: reserved for the agent until it falls due
    assert data["operationRecord"]["__typename"] == "Operation"
    callback = await Callback.get(member_id=member.pk)
    stored = await CampaignMember.get(id=member.pk)
    assert (callback.agent_id, callback.opens_at) == (agent.pk, due)
    assert (stored.reserved_agent_id, stored.reserved_until) == (agent.pk, due)
    clock.advance(minutes=61)
    assert str(callback.pk) in [e["node"]["id"] for e in (await factory.execute(PENDING, {}, user=colleague))[
        "pendingCallbacks"]["edges"]]


async def test_a_colleague_may_reschedule_or_cancel_a_callback_only_once_it_opened_to_them(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: two callbacks of the agent, one opened to the team ten minutes ago, one opening later
    agent, colleague, outsider = [await factory.user(Role.AGENT) for _ in range(3)]
    campaign = await outbound.campaign(agents=(agent, colleague), callback_opens_after_minutes=30)
    opened = await _scheduled(
        outbound, factory, campaign, agent, clock() - timedelta(minutes=40), opens_at=clock() - timedelta(minutes=10)
    )
    closed = await _scheduled(outbound, factory, campaign, agent, clock.local(days=1), opens_at=clock.local(days=1, minute=30))
    new_time = clock.local(days=1, hour=16)
    # when / then: not yet open, or not on the campaign: refused
    for callback, user in ((closed, colleague), (opened, outsider)):
        refused = await factory.execute(RESCHEDULE, {"id": str(callback.pk), "dueAt": new_time.isoformat()}, user=user)
        assert refused["callbackReschedule"] == {"__typename": "OperationError", "code": "FORBIDDEN", "field": "id"}
        cancel = await factory.execute(CANCEL, {"id": str(callback.pk)}, user=user)
        assert cancel["callbackCancel"]["code"] == "FORBIDDEN"
    # when: the colleague reschedules the opened one, they take it over
    moved = await factory.execute(RESCHEDULE, {"id": str(opened.pk), "dueAt": new_time.isoformat()}, user=colleague)
    assert moved["callbackReschedule"]["agent"] == {"id": str(colleague.pk)}
    member = await CampaignMember.get(id=opened.member_id)
    assert (member.reserved_agent_id, member.reserved_until) == (colleague.pk, new_time + timedelta(minutes=30))
    # and once it opens again, the first agent may cancel it
    clock.advance(days=1, hours=3)
    cancelled = await factory.execute(CANCEL, {"id": str(opened.pk)}, user=agent)
    assert cancelled["callbackCancel"] == {"__typename": "Callback", "status": "CANCELLED"}


async def test_a_cancelled_callback_leaves_its_member_due_now_and_never_scheduled_for_nothing(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: a member reached once, one never reached, and one whose row never pointed at its callback
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    reached = await _scheduled(outbound, factory, campaign, agent, clock.local(days=1))
    never = await _scheduled(outbound, factory, campaign, agent, clock.local(days=1), attempts=0)
    unlinked = await _scheduled(outbound, factory, campaign, agent, clock.local(days=1))
    await CampaignMember.filter(id=unlinked.member_id).update(next_callback_id=None)
    # when
    for callback in (reached, never, unlinked):
        data = await factory.execute(CANCEL, {"id": str(callback.pk)}, user=agent)
        assert data["callbackCancel"]["status"] == "CANCELLED"
    # then
    def state(member: CampaignMember) -> tuple:
        return member.status, member.priority, member.due_at, member.next_callback_id, member.reserved_agent_id

    assert state(await CampaignMember.get(id=reached.member_id)) == (
        QueueStatus.SCHEDULED, QueuePriority.RECYCLE, clock(), None, None
    )
    assert state(await CampaignMember.get(id=never.member_id)) == (
        QueueStatus.NOT_ACTED, QueuePriority.NEW, None, None, None
    )
    assert state(await CampaignMember.get(id=unlinked.member_id)) == (
        QueueStatus.SCHEDULED, QueuePriority.RECYCLE, clock(), None, None
    )
