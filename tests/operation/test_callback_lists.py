"""callbacks(filter), callback(id) and Campaign.memberCounts (issue 15)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from models.campaign import QueueStatus
from models.operation import Callback, CallbackStatus
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound, clock, outbound  # noqa: F401 - fixtures

CALLBACKS = """
query Callbacks($filter: CallbackFilter, $first: Int, $after: String, $last: Int, $before: String) {
  callbacks(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    __typename
    ... on CallbackConnection {
      totalCount
      edges { node { id status dueAt member { person { name } } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
    ... on OperationError { code field }
  }
}
"""
CALLBACK = "query One($id: ID!) { callback(id: $id) { id status campaign { name } } }"
CAMPAIGNS = """
query Campaigns($first: Int) { campaigns(first: $first) { edges { node { name memberCounts { status count } } } } }
"""


NAMES: dict[int, str] = {}  # callback id -> its member's person


async def _world(factory: Factory, outbound: Outbound, clock: Clock) -> dict[str, Any]:  # noqa: F811
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    mine = await outbound.campaign(name="Mine", agents=(agent,))
    theirs = await outbound.campaign(name="Theirs", agents=(other,), active=False)
    callbacks = []
    NAMES.clear()
    statuses = [CallbackStatus.PENDING, CallbackStatus.DONE, CallbackStatus.CANCELLED]
    for index in range(9):
        campaign = mine if index % 3 else theirs
        member = await outbound.member(campaign, await factory.person(name=f"P{index}"))
        callbacks.append(
            await Callback.create(
                member=member, campaign=campaign, agent=(agent, other, None)[index % 3],
                status=statuses[index % 3], due_at=clock.now + timedelta(hours=(index * 5) % 9 - 4),
            )
        )
        NAMES[callbacks[-1].pk] = f"P{index}"
    return {"agent": agent, "other": other, "supervisor": supervisor, "mine": mine, "theirs": theirs,
            "callbacks": callbacks}


def listed(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["member"]["person"]["name"] for edge in data["callbacks"]["edges"]]


def by_due(rows: list[Callback]) -> list[str]:
    return [NAMES[row.pk] for row in sorted(rows, key=lambda row: (row.due_at, row.pk))]


async def test_callbacks_of_every_status_filtered_and_seen_by_each_role(
    factory: Factory, outbound: Outbound, clock: Clock  # noqa: F811
) -> None:
    world = await _world(factory, outbound, clock)
    rows: list[Callback] = world["callbacks"]
    supervisor, agent = world["supervisor"], world["agent"]
    # when / then: staff see all, by due time; done and cancelled ones included
    everything = await factory.execute(CALLBACKS, {}, user=supervisor)
    assert listed(everything) == by_due(rows)
    assert everything["callbacks"]["totalCount"] == 9
    # each filter narrows
    for where, keep in (
        ({"status": "DONE"}, lambda row: row.status == CallbackStatus.DONE),
        ({"agentId": str(agent.pk)}, lambda row: row.agent_id == agent.pk),
        ({"campaignId": str(world["theirs"].pk)}, lambda row: row.campaign_id == world["theirs"].pk),
        (
            {"dueFrom": (clock.now - timedelta(hours=1)).isoformat(), "dueTo": (clock.now + timedelta(hours=2)).isoformat()},
            lambda row: clock.now - timedelta(hours=1) <= row.due_at <= clock.now + timedelta(hours=2),
        ),
        ({"status": "CANCELLED", "campaignId": str(world["mine"].pk)},
         lambda row: row.status == CallbackStatus.CANCELLED and row.campaign_id == world["mine"].pk),
    ):
        data = await factory.execute(CALLBACKS, {"filter": where}, user=supervisor)
        want = by_due([row for row in rows if keep(row)])
        assert want and listed(data) == want, where
        assert data["callbacks"]["totalCount"] == len(want)
    # an agent: the campaigns they are assigned to, every agent's callbacks there
    assert listed(await factory.execute(CALLBACKS, {}, user=agent)) == by_due(
        [row for row in rows if row.campaign_id == world["mine"].pk]
    )
    # refusals are typed
    rep = await factory.user(Role.COMPANY_REP)
    refused = await factory.execute(CALLBACKS, {}, user=rep)
    assert refused["callbacks"] == {"__typename": "OperationError", "code": "FORBIDDEN", "field": None}
    naive = await factory.execute(CALLBACKS, {"filter": {"dueFrom": "2026-01-01T10:00:00"}}, user=supervisor)
    assert naive["callbacks"] == {"__typename": "OperationError", "code": "INVALID", "field": "dueFrom"}


async def test_callbacks_page_both_ways_across_every_page(
    factory: Factory, outbound: Outbound, clock: Clock  # noqa: F811
) -> None:
    world = await _world(factory, outbound, clock)
    supervisor = world["supervisor"]
    forward: list[str] = []
    variables: dict[str, Any] = {"first": 2}
    while True:
        page = (await factory.execute(CALLBACKS, variables, user=supervisor))["callbacks"]
        forward += [edge["node"]["member"]["person"]["name"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables = {"first": 2, "after": page["pageInfo"]["endCursor"]}
    backward: list[str] = []
    variables = {"last": 2}
    while True:
        page = (await factory.execute(CALLBACKS, variables, user=supervisor))["callbacks"]
        backward = [edge["node"]["member"]["person"]["name"] for edge in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        variables = {"last": 2, "before": page["pageInfo"]["startCursor"]}
    assert forward == backward == by_due(world["callbacks"])


async def test_one_callback_by_id_whatever_its_status_for_whom_may_see_it(
    factory: Factory, outbound: Outbound, clock: Clock  # noqa: F811
) -> None:
    world = await _world(factory, outbound, clock)
    pending_theirs = world["callbacks"][3]
    assert pending_theirs.campaign_id == world["theirs"].pk
    cancelled_mine = world["callbacks"][2]
    assert cancelled_mine.status == CallbackStatus.CANCELLED and cancelled_mine.campaign_id == world["mine"].pk
    rep = await factory.user(Role.COMPANY_REP)
    for user, callback, seen in (
        (world["supervisor"], cancelled_mine, True),
        (world["agent"], cancelled_mine, True),
        (world["agent"], pending_theirs, False),
        (world["other"], pending_theirs, True),
        (rep, cancelled_mine, False),
    ):
        data = await factory.execute(CALLBACK, {"id": str(callback.pk)}, user=user)
        assert (data["callback"] is not None) == seen, (user.role, callback.pk)
    data = await factory.execute(CALLBACK, {"id": str(cancelled_mine.pk)}, user=world["agent"])
    assert data["callback"] == {"id": str(cancelled_mine.pk), "status": "CANCELLED", "campaign": {"name": "Mine"}}
    assert (await factory.execute(CALLBACK, {"id": "999999"}, user=world["supervisor"]))["callback"] is None


async def test_member_counts_by_status_for_a_page_of_campaigns_in_one_grouped_count(
    factory: Factory, outbound: Outbound, sql_statements: StatementCounter  # noqa: F811
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    expected = {}
    for index in range(6):
        campaign = await outbound.campaign(name=f"C{index}")
        counts = dict.fromkeys(QueueStatus, 0)
        for number in range(index + 1):
            status = list(QueueStatus)[(number + index) % 3]
            await outbound.member(campaign, status=status)
            counts[status] += 1
        expected[campaign.name] = [{"status": status.value, "count": count} for status, count in counts.items()]
    statements = {}
    for size in (2, 6):
        # when
        sql_statements.statements.clear()
        data = await factory.execute(CAMPAIGNS, {"first": size}, user=supervisor)
        statements[size] = len(sql_statements.statements)
        # then: every status, zeros included, in the enum's order
        for edge in data["campaigns"]["edges"]:
            assert edge["node"]["memberCounts"] == expected[edge["node"]["name"]]
    assert statements[2] == statements[6] == 2, statements  # the page, one GROUP BY
