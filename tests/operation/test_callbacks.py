from datetime import UTC, datetime, timedelta

from models.campaign import CampaignMember, QueuePriority, QueueStatus
from models.event import Event
from models.operation import Callback, CallbackStatus, Operation
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

PENDING = """
query Pending($agentId: ID, $dueBefore: DateTime, $first: Int, $after: String) {
  pendingCallbacks(agentId: $agentId, dueBefore: $dueBefore, first: $first, after: $after) {
    __typename
    ... on CallbackConnection {
      edges { node { id dueAt opensAt status agent { id } member { person { name } } campaign { name } } }
      pageInfo { hasNextPage endCursor }
    }
    ... on OperationError { code field }
  }
}
"""
RESCHEDULE = """
mutation Reschedule($id: ID!, $dueAt: DateTime!) {
  callbackReschedule(id: $id, dueAt: $dueAt) {
    __typename ... on Callback { dueAt opensAt status } ... on OperationError { code field }
  }
}
"""
CANCEL = """
mutation Cancel($id: ID!) {
  callbackCancel(id: $id) { __typename ... on Callback { status } ... on OperationError { code field } }
}
"""


async def _scheduled(  # type: ignore[no-untyped-def]
    outbound: Outbound, factory: Factory, campaign, agent, due, name: str, opens_at=None
) -> Callback:
    member = await outbound.member(
        campaign, await factory.person(name=name), status=QueueStatus.SCHEDULED,
        priority=QueuePriority.CALLBACK.value, due_at=due, attempts=1, reserved_agent=agent, reserved_until=opens_at,
    )
    callback = await Callback.create(member=member, campaign=campaign, agent=agent, due_at=due, opens_at=opens_at)
    await CampaignMember.filter(id=member.pk).update(next_callback_id=callback.pk)
    return callback


def names(data: dict) -> list[str]:
    return [edge["node"]["member"]["person"]["name"] for edge in data["pendingCallbacks"]["edges"]]


async def test_the_worklist_is_own_callbacks_those_for_anyone_and_those_opened_to_anyone(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent, other), callback_opens_after_minutes=30)
    elsewhere = await outbound.campaign(agents=(other,), callback_opens_after_minutes=30)
    closed = await outbound.campaign(agents=(agent, other), active=False)
    now = clock()

    def minutes(n: int) -> datetime:
        return now + timedelta(minutes=n)

    await _scheduled(outbound, factory, campaign, agent, minutes(-60), "mine overdue", opens_at=minutes(-30))
    await _scheduled(outbound, factory, campaign, agent, minutes(-5), "mine due", opens_at=minutes(25))
    await _scheduled(outbound, factory, campaign, agent, minutes(120), "mine later", opens_at=minutes(150))
    await _scheduled(outbound, factory, campaign, None, minutes(-30), "anyone here")
    await _scheduled(outbound, factory, elsewhere, None, minutes(-30), "anyone elsewhere")
    await _scheduled(outbound, factory, campaign, other, minutes(-40), "other's opened", opens_at=minutes(-10))
    await _scheduled(outbound, factory, campaign, other, minutes(-20), "other's opening soon", opens_at=minutes(10))
    await _scheduled(outbound, factory, campaign, other, minutes(-50), "other's for good")
    await _scheduled(outbound, factory, elsewhere, other, minutes(-45), "other's opened elsewhere", opens_at=minutes(-15))
    await _scheduled(outbound, factory, closed, None, minutes(-30), "anyone in a closed campaign")
    await _scheduled(outbound, factory, closed, agent, minutes(-30), "mine in a closed campaign")
    # when
    data = await factory.execute(PENDING, {}, user=agent)
    # then: oldest first
    assert names(data) == ["mine overdue", "other's opened", "anyone here", "mine due"]
    later = await factory.execute(PENDING, {"dueBefore": minutes(180).isoformat()}, user=agent)
    assert names(later) == ["mine overdue", "other's opened", "anyone here", "mine due", "mine later"]
    # and the other agent's worklist has what opened of the agent's, and what they own
    assert names(await factory.execute(PENDING, {}, user=other)) == [
        "mine overdue", "other's for good", "other's opened elsewhere", "other's opened", "anyone here",
        "anyone elsewhere", "other's opening soon",
    ]
    # when: ten more minutes pass, the other agent's next callback opens to the agent
    clock.advance(minutes=11)
    assert "other's opening soon" in names(await factory.execute(PENDING, {}, user=agent))
    # and pages follow the same order
    clock.advance(minutes=-11)
    first_page = await factory.execute(PENDING, {"first": 2}, user=agent)
    cursor = first_page["pendingCallbacks"]["pageInfo"]["endCursor"]
    rest = await factory.execute(PENDING, {"first": 2, "after": cursor}, user=agent)
    assert first_page["pendingCallbacks"]["pageInfo"]["hasNextPage"] is True
    assert names(first_page) + names(rest) == names(data)


async def test_agent_id_lists_that_agents_own_callbacks(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor, team_lead = await factory.user(Role.SUPERVISOR), await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent, other, team_lead))
    closed = await outbound.campaign(agents=(agent,), active=False)
    now = clock()
    await _scheduled(outbound, factory, campaign, agent, now - timedelta(hours=1), "mine")
    await _scheduled(outbound, factory, closed, agent, now - timedelta(minutes=30), "mine in a closed campaign")
    await _scheduled(outbound, factory, campaign, None, now - timedelta(minutes=20), "anyone")
    await _scheduled(
        outbound, factory, campaign, other, now - timedelta(minutes=10), "other's opened",
        opens_at=now - timedelta(minutes=5),
    )
    # when / then: a supervisor sees the agent's own callbacks, in every campaign
    by_supervisor = await factory.execute(PENDING, {"agentId": str(agent.pk)}, user=supervisor)
    assert names(by_supervisor) == ["mine", "mine in a closed campaign"]
    # the agent naming themselves gets their own, in the campaigns they may work
    assert names(await factory.execute(PENDING, {"agentId": str(agent.pk)}, user=agent)) == ["mine"]
    # without agentId, supervisors list every agent's pending callbacks, assigned to a campaign or not (issue 15)
    everyone = ["mine", "mine in a closed campaign", "anyone", "other's opened"]
    assert names(await factory.execute(PENDING, {}, user=supervisor)) == everyone
    assert names(await factory.execute(PENDING, {}, user=team_lead)) == everyone
    # an agent still sees only their worklist
    assert names(await factory.execute(PENDING, {}, user=other)) == ["anyone", "other's opened"]


async def test_asking_for_callbacks_one_may_not_see_is_a_typed_error(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    campaign = await outbound.campaign(agents=(agent, other))
    await _scheduled(outbound, factory, campaign, agent, clock() - timedelta(minutes=5), "mine")
    cases = [
        ({"agentId": str(agent.pk)}, other, "FORBIDDEN", "agentId"),
        ({}, rep, "FORBIDDEN", None),
        ({"agentId": str(agent.pk)}, rep, "FORBIDDEN", None),
        ({"agentId": "999999"}, supervisor, "NOT_FOUND", "agentId"),
        ({"dueBefore": "2031-01-08T15:00:00"}, agent, "INVALID", "dueBefore"),
    ]
    for variables, user, code, field in cases:
        # when
        data = await factory.execute(PENDING, variables, user=user)
        # then
        assert data["pendingCallbacks"] == {"__typename": "OperationError", "code": code, "field": field}, variables


async def test_a_pending_callbacks_page_costs_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: 30 due callbacks of three agents over two campaigns, half of them opened to anyone
    agents = [await factory.user(Role.AGENT) for _ in range(3)]
    campaigns = [await outbound.campaign(agents=tuple(agents)) for _ in range(2)]
    now = clock()
    for index in range(30):
        opens_at = now - timedelta(minutes=1) if index % 2 else None
        owner = agents[index % 3] if index % 5 else None
        await _scheduled(
            outbound, factory, campaigns[index % 2], owner, now - timedelta(minutes=60 - index), f"P{index}",
            opens_at=opens_at if owner else None,
        )
    counts = {}
    for size in (3, 20):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(PENDING, {"first": size}, user=agents[0])
        # then
        assert len(data["pendingCallbacks"]["edges"]) == size
        counts[size] = len(sql_statements.statements)
    # callbacks, members, persons, users, campaigns
    assert counts == {3: 5, 20: 5}, sql_statements.statements


WITH_OPERATION = """
query Pending($first: Int) {
  pendingCallbacks(first: $first) { ... on CallbackConnection {
    edges { node { id operation { id notes agent { name } } } }
  } }
}
"""


async def test_each_callback_names_the_operation_that_scheduled_it_in_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: 30 due callbacks, each scheduled by an operation of one of three agents (one without)
    agents = [await factory.user(Role.AGENT) for _ in range(3)]
    campaign = await outbound.campaign(agents=tuple(agents))
    later = await outbound.result()
    scheduled_by = {}
    for index in range(30):
        callback = await _scheduled(outbound, factory, campaign, None, clock() - timedelta(minutes=60 - index), f"P{index}")
        if index:
            operation = await Operation.create(
                member_id=callback.member_id, campaign=campaign, person_id=(await callback.member).person_id,
                agent=agents[index % 3], result=later, result_kind="SCHEDULE", attempt=1, local_date=clock.today,
                notes=f"Ligar de novo {index}",
            )
            await Callback.filter(id=callback.pk).update(operation_id=operation.pk)
            scheduled_by[str(callback.pk)] = (str(operation.pk), f"Ligar de novo {index}", agents[index % 3].name)
    counts = {}
    for size in (3, 20):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(WITH_OPERATION, {"first": size}, user=agents[0])
        # then
        edges = data["pendingCallbacks"]["edges"]
        assert len(edges) == size
        for edge in edges:
            found = edge["node"]["operation"]
            want = scheduled_by.get(edge["node"]["id"])
            assert (found and (found["id"], found["notes"], found["agent"]["name"])) == want
        counts[size] = len(sql_statements.statements)
    # campaigns of the agent (their worklist), callbacks, operations, users
    assert counts[3] == counts[20], sql_statements.statements


async def test_reschedule_moves_the_callback_and_the_member(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent, other), callback_opens_after_minutes=15)
    due = clock.local(days=1, hour=10)
    callback = await _scheduled(outbound, factory, campaign, agent, due, "Ana", opens_at=due + timedelta(minutes=15))
    await Callback.filter(id=callback.pk).update(alerted_at=clock())
    new_time = clock.local(days=1, hour=15)
    # when
    data = await factory.execute(RESCHEDULE, {"id": str(callback.pk), "dueAt": new_time.isoformat()}, user=agent)
    # then
    assert data["callbackReschedule"]["__typename"] == "Callback"
    assert data["callbackReschedule"]["opensAt"] == (new_time + timedelta(minutes=15)).astimezone(UTC).isoformat()
    stored = await Callback.get(id=callback.pk)
    assert (stored.due_at, stored.alerted_at) == (new_time, None)
    assert stored.opens_at == new_time + timedelta(minutes=15)
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


async def test_rescheduling_a_callback_for_anyone_leaves_it_without_opens_at(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: a callback for anyone in a campaign whose agents' callbacks open after 15 minutes
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), callback_opens_after_minutes=15)
    callback = await _scheduled(outbound, factory, campaign, None, clock.local(days=1, hour=10), "Ana")
    new_time = clock.local(days=1, hour=16)
    # when
    data = await factory.execute(RESCHEDULE, {"id": str(callback.pk), "dueAt": new_time.isoformat()}, user=agent)
    # then
    assert data["callbackReschedule"] == {
        "__typename": "Callback", "dueAt": new_time.astimezone(UTC).isoformat(), "opensAt": None, "status": "PENDING"
    }
    stored = await Callback.get(id=callback.pk)
    assert (stored.due_at, stored.opens_at, stored.agent_id) == (new_time, None, None)
    assert (await CampaignMember.get(id=callback.member_id)).reserved_until is None
