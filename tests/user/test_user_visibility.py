"""What each role sees of a user is one rule, wherever the user appears.

`user(id)` answers the whole user (e-mail included) to whom may look the user up: supervisors and
admins anyone, a rep themselves and their company's reps, an agent themselves. Every nested User
(a callback's agent, an operation's agent, a ticket's author, statistics by agent, a campaign's
agents) shows the e-mail to exactly those callers and null to the others, on the compiled path
and on the normal path alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from models.campaign import Campaign, CampaignMember, QueuePriority, QueueStatus
from models.operation import Callback, Operation
from models.user import Role, User
from resolvers.context import Context
from schema import ContatoSchema
from schema.compiled import STATS
from tests.factories import Factory, shared_schema
from tests.outbound_factories import Clock, Outbound, clock, outbound  # noqa: F401 - fixtures
from tests.ticket_factories import TicketFactory

USER = "query($id: ID!) { user(id: $id) { id email } }"
# Served by the compiled path (schema/compiled/types.py), and by graphql-core when it is off.
QUEUE = """
query($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId, status: SCHEDULED, first: 50) { ... on CampaignMemberConnection { edges { node {
    assignedAgent { id email } claimedBy { id email }
    lastOperation { agent { id email } }
    nextCallback { agent { id email } }
  } } } }
}
"""
TICKETS = """
query { tickets(first: 50) { edges { node {
  openedBy { id email } assignee { id email }
  messages(first: 50) { edges { node { author { id email } } } }
} } } }
"""
# Only the normal path serves these.
NESTED = """
query($campaignId: ID!) {
  campaignStatistics(campaignId: $campaignId) { ... on CampaignStatistics { byAgent { agent { id email } } } }
  campaigns { edges { node { agents { id email } } } }
  me { id email }
}
"""


@dataclass
class World:
    users: dict[str, User]
    campaign: Campaign


@pytest.fixture
async def world(factory: Factory, outbound: Outbound, clock: Clock) -> World:  # noqa: F811 - fixtures
    # given: two companies' reps, the operator's staff, two agents on one campaign
    acme, globex = await factory.company("Acme"), await factory.company("Globex")
    users = {
        "rep": await factory.user(Role.COMPANY_REP, company=acme),
        "colleague": await factory.user(Role.COMPANY_REP, company=acme),
        "globex rep": await factory.user(Role.COMPANY_REP, company=globex),
        "agent": await factory.user(Role.AGENT),
        "other agent": await factory.user(Role.AGENT),
        "supervisor": await factory.user(Role.SUPERVISOR),
        "admin": await factory.user(Role.ADMIN),
    }
    agent, other_agent = users["agent"], users["other agent"]
    campaign = await outbound.campaign(agents=(agent, other_agent))
    result = await outbound.result()
    for owner in (agent, other_agent):
        member = await outbound.member(campaign, assigned_agent=owner)
        operation = await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=owner, result=result,
            result_kind="SUCCESS", attempt=1, local_date=clock.today,
        )
        callback = await Callback.create(
            member=member, campaign=campaign, agent=owner, operation=operation, due_at=clock.now + timedelta(hours=1),
        )
        await CampaignMember.filter(id=member.pk).update(
            status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=callback.due_at,
            next_callback_id=callback.pk, last_operation_id=operation.pk, attempts=1,
        )
    # a ticket of Acme's, open to every agent, with a message from nearly everyone
    tickets = TicketFactory(factory)
    ticket = await tickets.ticket(users["colleague"], await tickets.status("Novo", initial=True), company=acme)
    for name in ("rep", "colleague", "globex rep", "agent", "other agent", "supervisor"):
        await tickets.message(ticket, users[name], body=f"from {name}")
    return World(users, campaign)


@pytest.fixture
def normal(settings: Any) -> ContatoSchema:
    return shared_schema(settings, compiled=False)


def nested_users(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, list):
        return [user for item in value for user in nested_users(item)]
    if not isinstance(value, dict):
        return []
    here = [value] if set(value) == {"id", "email"} else []
    return here + [user for child in value.values() for user in nested_users(child)]


EXPECTED = {
    "agent": {"agent"},
    "rep": {"rep", "colleague"},
    "supervisor": {"rep", "colleague", "globex rep", "agent", "other agent", "supervisor", "admin"},
    "admin": {"rep", "colleague", "globex rep", "agent", "other agent", "supervisor", "admin"},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
async def test_every_user_field_shows_what_user_id_shows(
    factory: Factory, normal: ContatoSchema, world: World, role: str
) -> None:
    viewer = world.users[role]
    names = {str(user.pk): name for name, user in world.users.items()}
    # when: the caller looks every user up by id
    whole = set()
    for name, user in world.users.items():
        data = await factory.execute(USER, {"id": str(user.pk)}, user=viewer)
        if data["user"] is not None:
            assert data["user"]["email"] == user.email
            whole.add(name)
    # then: the rule of the module docstring
    assert whole == EXPECTED[role]
    # when: the same users are reached through nested fields, on both paths
    variables = {"campaignId": str(world.campaign.pk)}
    seen: list[dict[str, Any]] = []
    for document in (QUEUE, TICKETS, NESTED):
        compiled_before = STATS.compiled
        fast = await factory.schema.execute(
            document, variable_values=variables, context_value=Context(settings=factory.settings, user=viewer)
        )
        # (a rep's queue is a typed refusal, which the normal path answers)
        if document is not NESTED and not (document is QUEUE and role == "rep"):
            assert STATS.compiled == compiled_before + 1, (role, document)
        slow = await normal.execute(
            document, variable_values=variables, context_value=Context(settings=factory.settings, user=viewer)
        )
        assert (fast.data, fast.errors) == (slow.data, slow.errors), role
        seen += nested_users(fast.data)
    # then: the e-mail is there exactly for the users `user(id)` shows whole
    wrong = {
        (names[user["id"]], user["email"]) for user in seen
        if user["email"] != (world.users[names[user["id"]]].email if names[user["id"]] in whole else None)
    }
    assert wrong == set()
    # and the walk met the staff, both agents and the reps (those the caller may see at all)
    reached = {names[user["id"]] for user in seen}
    assert {"agent", "other agent", "supervisor"} <= reached or role == "rep"
    assert {"rep", "colleague", "globex rep", "agent"} <= reached
