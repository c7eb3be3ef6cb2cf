"""Person.tickets and Person.memberships (issue 15): what each viewer sees, paging, and their cost."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from models.campaign import Campaign, QueueStatus
from models.operation import Callback
from models.person import Person
from models.ticket import Ticket
from models.user import Role, User
from resolvers.context import Context
from schema.compiled import STATS
from tests.conftest import StatementCounter
from tests.factories import Factory, shared_schema
from tests.outbound_factories import Clock, Outbound, clock, outbound  # noqa: F401 - fixtures
from tests.ticket_factories import TicketFactory

PERSON = """
query Person($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
  person(id: $id) {
    tickets(first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges { cursor node { subject messageCount lastMessage { body } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
    memberships { totalCount edges { node { status campaign { name } stage { name } nextCallback { dueAt } } } }
  }
}
"""

# Through the tickets list (a compiled root), so that both paths answer it.
THROUGH_TICKETS = """
query Screens($first: Int) {
  tickets(first: $first) { edges { node { number person {
    name
    tickets(first: 3) { edges { cursor node { subject messageCount lastMessage { body } status { name } } }
                        pageInfo { hasNextPage hasPreviousPage endCursor } }
    memberships { edges { cursor node { status campaign { name } stage { name } nextCallback { dueAt } } } }
  } } } }
}
"""

PERSONS = """
query Persons($first: Int) {
  persons(first: $first) { edges { node { name
    tickets(first: 3) { totalCount edges { node { subject lastMessage { body } } } }
    memberships { totalCount edges { node { status campaign { name } stage { name } nextCallback { dueAt } } } }
  } } }
}
"""


@dataclass
class World:
    supervisor: User
    agent: User
    other_agent: User
    rep: User
    other_rep: User
    person: Person
    campaign: Campaign
    other_campaign: Campaign


@pytest.fixture
async def world(factory: Factory, outbound: Outbound, clock: Clock) -> World:  # noqa: F811 - fixtures
    # given: one person with tickets of two companies, assigned to either agent or to nobody, and in two
    # campaigns, each worked by its own agent
    acme, other = await factory.company("Acme"), await factory.company("Other")
    supervisor, agent, other_agent = (
        await factory.user(Role.SUPERVISOR), await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    )
    rep, other_rep = await factory.user(Role.COMPANY_REP, company=acme), await factory.user(Role.COMPANY_REP, company=other)
    person = await factory.person("Maria", company=acme)
    tickets = TicketFactory(factory)
    new = await tickets.status("Novo", initial=True)
    for index, (company, assignee) in enumerate(
        [(acme, agent), (acme, None), (acme, other_agent), (other, None), (acme, agent)]
    ):
        ticket = await tickets.ticket(rep, new, company=company, assignee=assignee, subject=f"T{index}")
        await Ticket.filter(id=ticket.pk).update(person_id=person.pk)
        await tickets.message(ticket, rep, f"public {index}")
        if index == 0:
            await tickets.message(ticket, agent, "internal note", internal=True)
    campaign = await outbound.campaign(name="Campanha A", agents=(agent,))
    other_campaign = await outbound.campaign(name="Campanha B", agents=(other_agent,))
    member = await outbound.member(campaign, person, status=QueueStatus.SCHEDULED)
    callback = await Callback.create(member=member, campaign=campaign, agent=agent, due_at=clock.now + timedelta(hours=2))
    member.next_callback_id = callback.pk
    await member.save()
    await outbound.member(other_campaign, person)
    return World(supervisor, agent, other_agent, rep, other_rep, person, campaign, other_campaign)


def subjects(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["subject"] for edge in data["person"]["tickets"]["edges"]]


def campaigns(data: dict[str, Any]) -> list[str]:
    return [edge["node"]["campaign"]["name"] for edge in data["person"]["memberships"]["edges"]]


async def test_each_viewer_sees_the_tickets_and_campaigns_their_rules_allow(factory: Factory, world: World) -> None:
    variables = {"id": str(world.person.pk)}
    # when
    seen = {
        role: await factory.execute(PERSON, variables, user=user)
        for role, user in (("supervisor", world.supervisor), ("agent", world.agent), ("rep", world.rep))
    }
    # then: newest first; an agent theirs and the unassigned ones; a rep their company's
    assert subjects(seen["supervisor"]) == ["T4", "T3", "T2", "T1", "T0"]
    assert subjects(seen["agent"]) == ["T4", "T3", "T1", "T0"]
    assert subjects(seen["rep"]) == ["T4", "T2", "T1", "T0"]
    assert [seen[role]["person"]["tickets"]["totalCount"] for role in ("supervisor", "agent", "rep")] == [5, 4, 4]
    # a rep's summary of T0 leaves the internal note out
    rep_t0 = seen["rep"]["person"]["tickets"]["edges"][-1]["node"]
    agent_t0 = seen["agent"]["person"]["tickets"]["edges"][-1]["node"]
    assert (rep_t0["messageCount"], rep_t0["lastMessage"]["body"]) == (1, "public 0")
    assert (agent_t0["messageCount"], agent_t0["lastMessage"]["body"]) == (2, "internal note")
    # memberships: staff all, an agent their campaigns', a rep none
    assert campaigns(seen["supervisor"]) == ["Campanha A", "Campanha B"]
    assert campaigns(seen["agent"]) == ["Campanha A"]
    assert seen["rep"]["person"]["memberships"] == {"totalCount": 0, "edges": []}
    membership = seen["agent"]["person"]["memberships"]["edges"][0]["node"]
    assert membership["status"] == "SCHEDULED"
    assert membership["stage"] == {"name": "Contact"}
    assert membership["nextCallback"]["dueAt"] is not None
    # another company's rep does not see the person at all
    assert (await factory.execute(PERSON, variables, user=world.other_rep))["person"] is None


async def test_a_persons_tickets_page_both_ways_without_a_miss_or_a_repeat(factory: Factory, world: World) -> None:
    variables: dict[str, Any] = {"id": str(world.person.pk), "first": 2}
    forward: list[str] = []
    while True:
        page = (await factory.execute(PERSON, variables, user=world.supervisor))["person"]["tickets"]
        forward += [edge["node"]["subject"] for edge in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == ("after" in variables)
        if not page["pageInfo"]["hasNextPage"]:
            break
        variables = {"id": variables["id"], "first": 2, "after": page["pageInfo"]["endCursor"]}
    backward: list[str] = []
    variables = {"id": str(world.person.pk), "last": 2}
    while True:
        page = (await factory.execute(PERSON, variables, user=world.supervisor))["person"]["tickets"]
        backward = [edge["node"]["subject"] for edge in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        variables = {"id": variables["id"], "last": 2, "before": page["pageInfo"]["startCursor"]}
    assert forward == backward == ["T4", "T3", "T2", "T1", "T0"]


async def test_both_paths_answer_alike_for_every_viewer(factory: Factory, world: World) -> None:
    normal = shared_schema(factory.settings, compiled=False)
    for user in (world.supervisor, world.agent, world.other_agent, world.rep, world.other_rep):
        # when
        compiled_before = STATS.compiled
        fast = await factory.schema.execute(THROUGH_TICKETS, {"first": 10}, context_value=Context(factory.settings, user))
        assert STATS.compiled == compiled_before + 1, user.role
        slow = await normal.execute(THROUGH_TICKETS, {"first": 10}, context_value=Context(factory.settings, user))
        # then
        assert fast.errors is None and slow.errors is None, (fast.errors, slow.errors)
        assert json.dumps(fast.data) == json.dumps(slow.data), user.role
    data = await factory.execute(THROUGH_TICKETS, {"first": 10}, user=world.agent)
    person = data["tickets"]["edges"][0]["node"]["person"]
    assert [edge["node"]["subject"] for edge in person["tickets"]["edges"]] == ["T4", "T3", "T1"]
    assert [edge["node"]["campaign"]["name"] for edge in person["memberships"]["edges"]] == ["Campanha A"]


async def add_persons(factory: Factory, outbound: Outbound, world: World, count: int) -> None:  # noqa: F811
    tickets = TicketFactory(factory)
    status = await tickets.status("Outro", initial=False)
    for index in range(count):
        person = await factory.person(f"Extra {index}")
        ticket = await tickets.ticket(world.supervisor, status, subject=f"X{index}")
        await Ticket.filter(id=ticket.pk).update(person_id=person.pk)
        await tickets.message(ticket, world.supervisor, "oi")
        await outbound.member(world.campaign if index % 2 else world.other_campaign, person)


@pytest.mark.parametrize("role", ["supervisor", "agent"])
async def test_the_lists_of_a_page_of_persons_cost_the_same_statements_whatever_its_size(
    factory: Factory, outbound: Outbound, world: World, sql_statements: StatementCounter, role: str,  # noqa: F811
) -> None:
    user = world.supervisor if role == "supervisor" else world.agent
    await add_persons(factory, outbound, world, 12)
    counts = {}
    for document, root in ((PERSONS, "persons"), (THROUGH_TICKETS, "tickets")):
        for size in (2, 12):
            # when
            sql_statements.statements.clear()
            data = await factory.execute(document, {"first": size}, user=user)
            # then
            assert len(data[root]["edges"]) == size
            counts[(root, size)] = len(sql_statements.statements)
        assert counts[(root, 2)] == counts[(root, 12)], (root, counts)
