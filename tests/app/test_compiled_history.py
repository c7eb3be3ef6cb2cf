"""Ticket.history and CampaignMember.events on the compiled path: the same answer as graphql-core's for
every caller (reps read the ticket's life only, and no member events), paged the same way."""

from __future__ import annotations

import json
from typing import Any

from models.campaign import CampaignMember
from models.ticket_catalog import TicketStatus
from tests.app.test_compiled_queries import COMPILED, World, normal, twice, world  # noqa: F401 - fixtures
from tests.factories import Factory
from tests.outbound_factories import clock, outbound  # noqa: F401 - fixtures
from tests.ticket.test_ticket_lifecycle import ASSIGN, STATUS_CHANGE

TICKETS_WITH_HISTORY = """
query Tickets($first: Int, $history: Int, $after: String) {
  tickets(first: $first) {
    edges { node {
      number
      history(first: $history, after: $after) {
        edges { cursor node { id kind createdAt actor { name email } fromStatus { name } toStatus { name }
                               fromAssignee { name } toAssignee { name } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
    } }
  }
}
"""

QUEUE_WITH_EVENTS = """
query Queue($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId, status: NOT_ACTED, first: 20) { ... on CampaignMemberConnection {
    edges { node { id events(last: 2) {
      edges { cursor node { kind createdAt actor { name } agent { name } fromStage { name } toStage { name }
                             fromStatus toStatus dueAt callback { id } operation { id } } }
      pageInfo { hasNextPage hasPreviousPage }
    } } }
  } }
}
"""

MOVE = """
mutation Move($memberId: ID!, $stageId: ID!) { campaignMemberMove(memberId: $memberId, stageId: $stageId) { __typename } }
"""
ASSIGN_MEMBER = """
mutation Assign($memberId: ID!, $agentId: ID) { campaignMemberAssign(memberId: $memberId, agentId: $agentId) { __typename } }
"""


async def test_history_and_events_are_compiled_and_equal_for_every_caller(
    factory: Factory, normal: Any, world: World  # noqa: F811 - fixtures
) -> None:
    # given: tickets moved and assigned by the supervisor; members moved and assigned
    statuses = {status.name: status for status in await TicketStatus.all()}
    for ticket in world.tickets:
        for name in ("Aguardando", "Novo"):
            await factory.execute(
                STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(statuses[name].pk)}, user=world.supervisor
            )
        await factory.execute(ASSIGN, {"ticketId": str(ticket.pk), "assigneeId": str(world.supervisor.pk)},
                              user=world.supervisor)
    stage = await world.campaign.stages.all().order_by("-position").first()
    assert stage is not None
    for member in await CampaignMember.filter(campaign_id=world.campaign.pk).order_by("id").limit(3):
        await factory.execute(MOVE, {"memberId": str(member.pk), "stageId": str(stage.pk)}, user=world.supervisor)
        await factory.execute(ASSIGN_MEMBER, {"memberId": str(member.pk), "agentId": str(world.agent.pk)},
                              user=world.supervisor)
    for role, user in world.callers().items():
        # when / then: tickets with their history, a page and the page after its cursor
        for history in (None, 2):
            variables: dict[str, Any] = {"first": 10, "history": history, "after": None}
            fast, slow, taken = await twice(factory, normal, TICKETS_WITH_HISTORY, variables, user)
            assert fast == slow, (role, history)
            assert taken == COMPILED, (role, history)
            pages = [edge["node"]["history"] for edge in json.loads(fast)["data"]["tickets"]["edges"]]
            cursor = next((page["pageInfo"]["endCursor"] for page in pages if page["pageInfo"]["hasNextPage"]), None)
            if cursor is not None:
                fast, slow, taken = await twice(factory, normal, TICKETS_WITH_HISTORY, {**variables, "after": cursor}, user)
                assert (fast == slow, taken) == (True, COMPILED), role
        if role == "rep":
            kinds = {edge["node"]["kind"] for page in pages for edge in page["edges"]}
            assert kinds == {"STATUS_CHANGED"}, kinds
        # and the queue with its members' events (a rep is refused the queue on both paths alike)
        fast, slow, taken = await twice(factory, normal, QUEUE_WITH_EVENTS, {"campaignId": str(world.campaign.pk)}, user)
        assert fast == slow, role
        if role in ("admin", "supervisor", "agent"):
            assert taken == COMPILED, role
            members = json.loads(fast)["data"]["campaignQueue"]["edges"]
            assert any(len(edge["node"]["events"]["edges"]) == 2 for edge in members), role
