"""A multi-campaign wallboard (issue 15): queueSnapshot(campaignIds) and queueUpdates(campaignIds)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from contato.settings import Settings
from models.campaign import Campaign, CampaignMember, QueueStatus
from models.user import Role
from realtime.events import EventSpec, record
from realtime.hub import EventHub, current_cursor
from realtime.queue_monitor import QueueMonitor
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Outbound, clock, outbound  # noqa: F401 - fixtures
from tests.realtime.streams import LiveSchema

SNAPSHOT = """
query Board($ids: [ID!]!) {
  queueSnapshot(campaignIds: $ids) {
    __typename
    ... on QueueBoard { snapshots { campaign { id } membersByStatus { status count } claimsInProgress } }
    ... on CampaignError { code field }
  }
}
"""
BOARD = """
subscription Board($ids: [ID!], $id: ID) {
  queueUpdates(campaignIds: $ids, campaignId: $id) {
    __typename
    ... on QueueSnapshot { campaign { id } membersByStatus { status count } claimsInProgress }
    ... on StreamError { code field }
  }
}
"""


@pytest.fixture
async def live(factory: Factory, settings: Settings, hub: EventHub) -> AsyncIterator[LiveSchema]:
    monitor = QueueMonitor(tick=0.05)
    hub.add_listener(monitor.on_event)
    await monitor.start()
    schema = LiveSchema(factory.schema, settings, hub, monitor)
    try:
        yield schema
    finally:
        await schema.close()
        await monitor.stop()


async def _campaigns(outbound: Outbound, sizes: tuple[int, ...]) -> list[Campaign]:  # noqa: F811
    campaigns = []
    for size in sizes:
        campaign = await outbound.campaign(start_date=datetime.now(UTC).date() - timedelta(days=1))
        for index in range(size):
            await outbound.member(campaign, status=QueueStatus.CONCLUDED if index % 2 else QueueStatus.NOT_ACTED)
        campaigns.append(campaign)
    return campaigns


def not_acted(snapshot: dict) -> int:
    return {row["status"]: row["count"] for row in snapshot["membersByStatus"]}["NOT_ACTED"]


async def test_a_board_of_campaigns_now_in_the_order_asked_for_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, sql_statements: StatementCounter  # noqa: F811
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    campaigns = await _campaigns(outbound, (1, 3, 5))
    statements = {}
    for ids in ([campaigns[1].pk], [campaigns[2].pk, campaigns[0].pk, campaigns[1].pk, campaigns[2].pk]):
        # when
        sql_statements.statements.clear()
        data = await factory.execute(SNAPSHOT, {"ids": [str(pk) for pk in ids]}, user=supervisor)
        statements[len(ids)] = len(sql_statements.statements)
        # then: each campaign once, in the order first asked
        board = data["queueSnapshot"]["snapshots"]
        assert [row["campaign"]["id"] for row in board] == [str(pk) for pk in dict.fromkeys(ids)]
        sizes = {campaign.pk: (1, 3, 5)[index] for index, campaign in enumerate(campaigns)}
        assert [not_acted(row) for row in board] == [(sizes[pk] + 1) // 2 for pk in dict.fromkeys(ids)]
    assert statements[1] == statements[4], statements


async def test_a_board_is_for_supervisors_and_names_what_it_refuses(
    factory: Factory, outbound: Outbound  # noqa: F811
) -> None:
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    (campaign,) = await _campaigns(outbound, (1,))
    await outbound.campaign(agents=(agent,))
    for user, ids, code in (
        (agent, [str(campaign.pk)], "FORBIDDEN"),
        (supervisor, [str(campaign.pk), "999999"], "NOT_FOUND"),
        (supervisor, [], "INVALID"),
        (supervisor, [str(number) for number in range(1, 52)], "TOO_MANY_IDS"),
    ):
        data = await factory.execute(SNAPSHOT, {"ids": ids}, user=user)
        assert data["queueSnapshot"] == {"__typename": "CampaignError", "code": code, "field": "campaignIds"}


async def test_one_subscription_follows_several_campaigns_each_as_it_moves(
    factory: Factory, outbound: Outbound, live: LiveSchema  # noqa: F811
) -> None:
    # given: a supervisor's wallboard of two campaigns
    supervisor = await factory.user(Role.SUPERVISOR)
    first, second = await _campaigns(outbound, (2, 4))
    stream = await live.subscribe(BOARD, {"ids": [str(first.pk), str(second.pk)]}, supervisor)
    opening = [(await stream.next())["queueUpdates"] for _ in range(2)]
    assert sorted(row["campaign"]["id"] for row in opening) == sorted([str(first.pk), str(second.pk)])
    # the members' own events may reach the hub after the board joined: let them pass first
    while live.hub.last_cursor < await current_cursor() or live.monitor._dirty:
        await asyncio.sleep(0.01)
    await stream.quiet(0.1)
    # when: the second campaign's queue moves
    member = await CampaignMember.filter(campaign_id=second.pk, status=QueueStatus.NOT_ACTED).first()
    assert member is not None
    await CampaignMember.filter(id=member.pk).update(status=QueueStatus.SCHEDULED)
    async with in_transaction() as connection:
        await record(connection, EventSpec(kind="MEMBER_UPDATED", entity="member", entity_id=member.pk,
                                           campaign_id=second.pk))
    # then: its new figures, and nothing of the first campaign
    moved = (await stream.next())["queueUpdates"]
    assert moved["campaign"] == {"id": str(second.pk)}
    assert not_acted(moved) == 1
    assert [item["queueUpdates"]["campaign"]["id"] for item in await stream.quiet(0.2)] in ([], [str(second.pk)])


async def test_the_board_subscription_refuses_as_the_single_one(
    factory: Factory, outbound: Outbound, live: LiveSchema  # noqa: F811
) -> None:
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    (campaign,) = await _campaigns(outbound, (1,))
    for user, variables, code, field in (
        (agent, {"ids": [str(campaign.pk)]}, "FORBIDDEN", "campaignIds"),
        (supervisor, {"ids": [str(campaign.pk), "999999"]}, "NOT_FOUND", "campaignIds"),
        (supervisor, {"ids": [str(campaign.pk)], "id": str(campaign.pk)}, "INVALID", "campaignIds"),
        (supervisor, {}, "INVALID", "campaignId"),
        (supervisor, {"ids": []}, "INVALID", "campaignIds"),
    ):
        stream = await live.subscribe(BOARD, variables, user)
        assert (await stream.next())["queueUpdates"] == {"__typename": "StreamError", "code": code, "field": field}
    # and one campaign by campaignId still works
    stream = await live.subscribe(BOARD, {"id": str(campaign.pk)}, supervisor)
    assert (await stream.next())["queueUpdates"]["campaign"] == {"id": str(campaign.pk)}
