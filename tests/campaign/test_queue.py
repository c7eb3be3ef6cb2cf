from datetime import timedelta

from models.campaign import CampaignMember, QueuePriority, QueueStatus
from models.operation import Callback, Operation
from models.outbound import ResultKind
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

CAMPAIGN_QUEUE = """
query CampaignQueue($campaignId: ID!, $status: QueueStatus, $first: Int, $after: String) {
  campaignQueue(campaignId: $campaignId, status: $status, first: $first, after: $after) { ... on CampaignMemberConnection {
    edges { cursor node { id status person { name } } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""

QUEUE_PAGE = """
query QueuePage($campaignId: ID!, $first: Int) {
  campaignQueue(campaignId: $campaignId, status: SCHEDULED, first: $first) { ... on CampaignMemberConnection {
    edges { node {
      id status attempts dueAt
      person { id name document phones }
      stage { name }
      lastOperation { id createdAt notes result { name kind } justification { name } agent { name } }
      nextCallback { id dueAt status agent { name } }
    } }
  } }
}
"""


def names(data: dict) -> list[str]:
    return [edge["node"]["person"]["name"] for edge in data["campaignQueue"]["edges"]]


REFUSABLE_QUEUE = """
query Queue($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId) {
    __typename
    ... on CampaignMemberConnection { edges { node { person { name } } } }
    ... on CampaignError { code field }
  }
}
"""


def answer(data: dict) -> list[str] | str:
    queue = data["campaignQueue"]
    if queue["__typename"] == "CampaignError":
        assert queue["field"] == "campaignId"
        return str(queue["code"])
    return [edge["node"]["person"]["name"] for edge in queue["edges"]]


async def test_agents_see_only_open_campaigns_they_are_assigned_to(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    campaigns = {
        "open": await outbound.campaign(agents=(agent,)),
        "not assigned": await outbound.campaign(),
        "inactive": await outbound.campaign(agents=(agent,), active=False),
        "not started": await outbound.campaign(agents=(agent,), start_date=clock.today + timedelta(days=1)),
        "ended": await outbound.campaign(agents=(agent,), end_date=clock.today - timedelta(days=1)),
        "ends today": await outbound.campaign(agents=(agent,), end_date=clock.today),
    }
    for label, campaign in campaigns.items():
        await outbound.member(campaign, await factory.person(name=label))
    # when
    seen = {
        label: await factory.execute(REFUSABLE_QUEUE, {"campaignId": str(campaign.pk)}, user=agent)
        for label, campaign in campaigns.items()
    }
    # then: a typed refusal, as claiming answers, where the agent may not work the queue
    assert {label: answer(data) for label, data in seen.items()} == {
        "open": ["open"], "not assigned": "AGENT_NOT_ASSIGNED", "inactive": "CAMPAIGN_INACTIVE",
        "not started": "CAMPAIGN_NOT_STARTED", "ended": "CAMPAIGN_ENDED", "ends today": ["ends today"],
    }
    by_supervisor = await factory.execute(CAMPAIGN_QUEUE, {"campaignId": str(campaigns["inactive"].pk)}, user=supervisor)
    assert names(by_supervisor) == ["inactive"]
    by_rep = await factory.execute(REFUSABLE_QUEUE, {"campaignId": str(campaigns["open"].pk)}, user=rep)
    assert answer(by_rep) == "FORBIDDEN"
    unknown = await factory.execute(REFUSABLE_QUEUE, {"campaignId": "999999"}, user=supervisor)
    assert answer(unknown) == "NOT_FOUND"


async def test_due_callbacks_come_first_then_never_acted_then_recycled_by_time(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    now = clock.now

    async def member(name: str, **fields: object) -> None:
        await outbound.member(campaign, await factory.person(name=name), **fields)

    recycled = {"status": QueueStatus.SCHEDULED, "priority": QueuePriority.RECYCLE.value}
    callback = {"status": QueueStatus.SCHEDULED, "priority": QueuePriority.CALLBACK.value}
    await member("new 1")
    await member("recycled late", **recycled, due_at=now - timedelta(minutes=5), attempts=1)
    await member("callback later today", **callback, due_at=now + timedelta(hours=1), attempts=1)
    await member("recycled early", **recycled, due_at=now - timedelta(minutes=50), attempts=1)
    await member("callback due", **callback, due_at=now - timedelta(minutes=1), attempts=1)
    await member("new 2")
    await member("concluded", status=QueueStatus.CONCLUDED, priority=QueuePriority.DONE.value, attempts=1)
    # when
    workable = await factory.execute(CAMPAIGN_QUEUE, {"campaignId": str(campaign.pk)}, user=agent)
    scheduled = await factory.execute(
        CAMPAIGN_QUEUE, {"campaignId": str(campaign.pk), "status": "SCHEDULED"}, user=agent
    )
    # then
    assert names(workable) == ["callback due", "new 1", "new 2", "recycled early", "recycled late"]
    assert names(scheduled) == [
        "callback due", "callback later today", "recycled early", "recycled late"
    ]


async def test_pages_follow_cursors_in_queue_order(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    for index in range(3):  # due callbacks head the queue; equal due times go by id
        await outbound.member(
            campaign, await factory.person(name=f"callback {index}"), status=QueueStatus.SCHEDULED,
            priority=QueuePriority.CALLBACK.value, due_at=clock.now - timedelta(minutes=5),
        )
    for index in range(5):
        await outbound.member(
            campaign, await factory.person(name=f"recycled {index}"), status=QueueStatus.SCHEDULED,
            priority=QueuePriority.RECYCLE.value, due_at=clock.now - timedelta(minutes=10 - index % 2),
        )
        await outbound.member(campaign, await factory.person(name=f"new {index}"))
    seen: list[str] = []
    after = None
    while True:
        data = await factory.execute(
            CAMPAIGN_QUEUE, {"campaignId": str(campaign.pk), "first": 2, "after": after}, user=agent
        )
        seen += names(data)
        if not data["campaignQueue"]["pageInfo"]["hasNextPage"]:
            break
        after = data["campaignQueue"]["pageInfo"]["endCursor"]
    # then: every member once, in queue order, whichever part of the order a page boundary falls in
    assert seen == (
        [f"callback {i}" for i in range(3)] + [f"new {i}" for i in range(5)]
        + [f"recycled {i}" for i in (0, 2, 4, 1, 3)]
    )


async def test_a_user_only_callback_waits_for_its_agent_until_it_opens_to_everyone(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: agent 1's callback, due a minute ago; it opens to others 30 minutes after it is due
    first, second = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(first, second), callback_opens_after_minutes=30)
    due = clock.now - timedelta(minutes=1)
    await outbound.member(
        campaign, await factory.person(name="callback"), status=QueueStatus.SCHEDULED,
        priority=QueuePriority.CALLBACK.value, due_at=due, reserved_agent=first, reserved_until=due + timedelta(minutes=30),
    )
    # when / then
    variables = {"campaignId": str(campaign.pk)}
    assert names(await factory.execute(CAMPAIGN_QUEUE, variables, user=first)) == ["callback"]
    assert names(await factory.execute(CAMPAIGN_QUEUE, variables, user=second)) == []
    clock.advance(minutes=31)
    assert names(await factory.execute(CAMPAIGN_QUEUE, variables, user=second)) == ["callback"]


async def test_assigned_claimed_and_do_not_call_members_are_left_out(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    first, second = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(first, second))
    await outbound.member(campaign, await factory.person(name="for first"), assigned_agent=first)
    await outbound.member(
        campaign, await factory.person(name="held by first"), claimed_by=first,
        claim_expires_at=clock.now + timedelta(minutes=5),
    )
    await outbound.member(
        campaign, await factory.person(name="lease expired"), claimed_by=first,
        claim_expires_at=clock.now - timedelta(seconds=1),
    )
    blocked = await factory.person(name="do not call")
    blocked.do_not_call = True
    await blocked.save()
    await outbound.member(campaign, blocked)
    variables = {"campaignId": str(campaign.pk)}
    assert names(await factory.execute(CAMPAIGN_QUEUE, variables, user=first)) == [
        "for first", "held by first", "lease expired"
    ]
    assert names(await factory.execute(CAMPAIGN_QUEUE, variables, user=second)) == ["lease expired"]


async def test_a_queue_page_costs_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: 60 scheduled members, each with an operation by one of 3 agents and a pending callback
    agents = [await factory.user(Role.AGENT) for _ in range(3)]
    campaign = await outbound.campaign(agents=tuple(agents))
    stage = await outbound.stage(campaign)
    later = await outbound.result(ResultKind.SCHEDULE)
    why = await outbound.justification(later)
    for index in range(60):
        agent = agents[index % 3]
        member = await outbound.member(campaign, await factory.person(name=f"P{index}"))
        operation = await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=agent, stage=stage,
            result=later, result_kind="SCHEDULE", justification=why, attempt=1, local_date=clock.today,
        )
        callback = await Callback.create(
            member=member, campaign=campaign, agent=agent, operation=operation, due_at=clock.local(days=1)
        )
        await CampaignMember.filter(id=member.pk).update(
            status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=callback.due_at,
            attempts=1, last_operation_id=operation.pk, next_callback_id=callback.pk,
        )
    counts = {}
    for size in (5, 50):
        sql_statements.statements.clear()
        # when
        data = await factory.execute(QUEUE_PAGE, {"campaignId": str(campaign.pk), "first": size}, user=agents[0])
        # then
        edges = data["campaignQueue"]["edges"]
        assert len(edges) == size
        assert all(edge["node"]["lastOperation"]["result"]["kind"] == "SCHEDULE" for edge in edges)
        assert all(edge["node"]["nextCallback"]["status"] == "PENDING" for edge in edges)
        counts[size] = len(sql_statements.statements)
    # campaign, assignment, page, persons, stages, operations, callbacks, results, justifications, users
    assert counts == {5: 10, 50: 10}, sql_statements.statements
