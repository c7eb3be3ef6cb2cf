"""Person.timeline (issue 15): one list merged by time across a person's operations, tickets, ticket
messages and status changes, callbacks and conversions; keyset pages over the merge, each entry as the
viewer may see it, in a fixed number of statements whatever the page size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from models.campaign import Campaign, CampaignMember
from models.history import TicketHistoryEntry, TicketHistoryKind
from models.operation import Callback, Operation
from models.person import Person, PersonConversion
from models.ticket import Ticket, TicketMessage
from models.ticket_catalog import TicketStatus
from models.user import Role, User
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound, clock, outbound  # noqa: F401 - fixtures
from tests.ticket_factories import TicketFactory

TIMELINE = """
query Timeline($id: ID!, $first: Int, $after: String, $last: Int, $before: String, $kinds: [TimelineKind!]) {
  person(id: $id) {
    timeline(first: $first, after: $after, last: $last, before: $before, kinds: $kinds) {
      totalCount
      edges { cursor node {
        __typename
        ... on OperationEntry { at operation { notes } }
        ... on CallbackEntry { at callback { id campaign { name } } }
        ... on TicketOpenedEntry { at ticket { subject } }
        ... on TicketMessageEntry { at message { body } ticket { subject } }
        ... on TicketStatusEntry { at entry { kind } ticket { subject } }
        ... on ConversionEntry { at suspectDeleted prospect { name } }
      } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""

# Every kind with the rows it reaches through the loaders.
WIDE = """
query Wide($id: ID!, $first: Int) {
  person(id: $id) { timeline(first: $first) { edges { node {
    ... on OperationEntry { at operation { notes agent { name } campaign { name } } }
    ... on CallbackEntry { at callback { dueAt status agent { name } campaign { name } } }
    ... on TicketOpenedEntry { at ticket { subject status { name } } }
    ... on TicketMessageEntry { at message { body author { name } } ticket { subject } }
    ... on TicketStatusEntry { at entry { kind toStatus { name } } ticket { number } }
    ... on ConversionEntry { at suspectDeleted }
  } } } }
}
"""

BASE = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@dataclass
class World:
    supervisor: User
    agent: User
    other_agent: User
    rep: User
    other_rep: User
    person: Person
    campaign: Campaign
    member: CampaignMember
    status: TicketStatus


async def at(model: Any, row: Any, minutes: int) -> None:
    await model.filter(id=row.pk).update(created_at=BASE + timedelta(minutes=minutes))


async def operation(member: CampaignMember, agent: User, notes: str, minutes: int) -> Callback:
    row = await Operation.create(
        member_id=member.pk, campaign_id=member.campaign_id, person_id=member.person_id, agent=agent,
        notes=notes, attempt=1, local_date=date(2026, 12, 1),
    )
    await at(Operation, row, minutes)
    callback = await Callback.create(
        member_id=member.pk, campaign_id=member.campaign_id, agent=agent, operation=row, due_at=BASE + timedelta(days=2)
    )
    await at(Callback, callback, minutes)  # the same time as its operation: the kind breaks the tie
    return callback


@pytest.fixture
async def world(factory: Factory, outbound: Outbound, clock: Clock) -> World:  # noqa: F811 - fixtures
    # given: a person of Acme with tickets of Acme and of another company, assigned to either agent or to
    # nobody, messages (one an internal note), status changes, operations and callbacks in two campaigns
    # worked by different agents, and a conversion; some entries share their time
    acme, other = await factory.company("Acme"), await factory.company("Other")
    supervisor, agent, other_agent = (
        await factory.user(Role.SUPERVISOR), await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    )
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    other_rep = await factory.user(Role.COMPANY_REP, company=other)
    person = await factory.person("Maria", company=acme)
    tickets = TicketFactory(factory)
    status = await tickets.status("Novo", initial=True)
    campaign = await outbound.campaign(name="Campanha A", agents=(agent,))
    other_campaign = await outbound.campaign(name="Campanha B", agents=(other_agent,))
    member = await outbound.member(campaign, person)
    other_member = await outbound.member(other_campaign, person)

    async def ticket(subject: str, company: Any, assignee: User | None, minutes: int) -> Ticket:
        row = await tickets.ticket(rep, status, company=company, assignee=assignee, subject=subject)
        await Ticket.filter(id=row.pk).update(person_id=person.pk, created_at=BASE + timedelta(minutes=minutes))
        return row

    async def message(row: Ticket, body: str, minutes: int, internal: bool = False) -> None:
        await at(TicketMessage, await tickets.message(row, agent if internal else rep, body, internal=internal), minutes)

    async def history(row: Ticket, kind: TicketHistoryKind, minutes: int) -> None:
        await at(TicketHistoryEntry, await TicketHistoryEntry.create(ticket=row, kind=kind, to_status_id=status.pk), minutes)

    t1 = await ticket("T1", acme, agent, 0)
    await message(t1, "hello", 1)
    await operation(member, agent, "op A", 2)
    await message(t1, "note", 3, internal=True)
    await history(t1, TicketHistoryKind.STATUS_CHANGED, 4)
    await history(t1, TicketHistoryKind.ASSIGNED, 4)  # routing: not a status change, never in the timeline
    t2 = await ticket("T2", other, None, 5)
    await message(t2, "other company", 5)
    await operation(other_member, other_agent, "op B", 6)
    t3 = await ticket("T3", acme, other_agent, 8)
    await message(t3, "m3a", 9)
    await message(t3, "m3b", 9)
    await history(t2, TicketHistoryKind.CLOSED, 10)
    conversion = await PersonConversion.create(suspect_id=999_999, prospect_id=person.pk, suspect_deleted=True)
    await at(PersonConversion, conversion, 11)
    await ticket("T4", acme, None, 12)
    return World(supervisor, agent, other_agent, rep, other_rep, person, campaign, member, status)


def label(node: dict[str, Any]) -> str:
    kind = node["__typename"]
    if kind == "OperationEntry":
        return f"op:{node['operation']['notes']}"
    if kind == "CallbackEntry":
        return f"cb:{node['callback']['campaign']['name'][-1]}"
    if kind == "TicketOpenedEntry":
        return f"open:{node['ticket']['subject']}"
    if kind == "TicketMessageEntry":
        return f"msg:{node['message']['body']}"
    if kind == "TicketStatusEntry":
        return f"{node['entry']['kind']}:{node['ticket']['subject']}"
    return f"conversion:{node['prospect']['name']}"


EVERYTHING = [
    "open:T4", "conversion:Maria", "CLOSED:T2", "msg:m3b", "msg:m3a", "open:T3", "cb:B", "op:op B",
    "msg:other company", "open:T2", "STATUS_CHANGED:T1", "msg:note", "cb:A", "op:op A", "msg:hello", "open:T1",
]
# An agent: the operations and callbacks of their campaign, the tickets assigned to them or to nobody.
AGENT = [
    "open:T4", "conversion:Maria", "CLOSED:T2", "msg:other company", "open:T2", "STATUS_CHANGED:T1",
    "msg:note", "cb:A", "op:op A", "msg:hello", "open:T1",
]
# A rep: their company's tickets, no internal note, no outbound work.
REP = ["open:T4", "msg:m3b", "msg:m3a", "open:T3", "STATUS_CHANGED:T1", "msg:hello", "open:T1"]


async def walk(factory: Factory, user: User, person: Person, size: int, backward: bool = False,
               kinds: list[str] | None = None) -> list[str]:
    """Every page, forward or back, checking pageInfo on the way; the entries in the list's order."""
    variables: dict[str, Any] = {"id": str(person.pk), "kinds": kinds}
    variables["last" if backward else "first"] = size
    seen: list[str] = []
    total = None
    while True:
        timeline = (await factory.execute(TIMELINE, variables, user=user))["person"]["timeline"]
        labels = [label(edge["node"]) for edge in timeline["edges"]]
        info = timeline["pageInfo"]
        assert len(labels) <= size
        total = timeline["totalCount"] if total is None else total
        assert timeline["totalCount"] == total
        if backward:
            seen = labels + seen
            assert info["hasNextPage"] == ("before" in variables)
            if not info["hasPreviousPage"]:
                break
            variables["before"] = info["startCursor"]
        else:
            seen += labels
            assert info["hasPreviousPage"] == ("after" in variables)
            if not info["hasNextPage"]:
                break
            variables["after"] = info["endCursor"]
    assert total == len(seen)
    return seen


@pytest.mark.parametrize("size", [1, 3, 5, 50])
async def test_every_page_of_the_merge_in_order_without_a_miss_or_a_repeat(
    factory: Factory, world: World, size: int
) -> None:
    # when / then: forward and back, every page size, the one merged order (ties: kind, then id)
    assert await walk(factory, world.supervisor, world.person, size) == EVERYTHING
    assert await walk(factory, world.supervisor, world.person, size, backward=True) == EVERYTHING


@pytest.mark.parametrize("size", [2, 4])
async def test_each_viewer_sees_what_their_rules_allow_on_every_page(factory: Factory, world: World, size: int) -> None:
    # when / then
    assert await walk(factory, world.agent, world.person, size) == AGENT
    assert await walk(factory, world.agent, world.person, size, backward=True) == AGENT
    assert await walk(factory, world.rep, world.person, size) == REP
    assert await walk(factory, world.rep, world.person, size, backward=True) == REP
    # the other agent: campaign B's work, and T3 (theirs) instead of T1 (the first agent's)
    other = await walk(factory, world.other_agent, world.person, size)
    assert other == [
        "open:T4", "conversion:Maria", "CLOSED:T2", "msg:m3b", "msg:m3a", "open:T3", "cb:B", "op:op B",
        "msg:other company", "open:T2",
    ]
    # another company's rep does not see the person at all
    data = await factory.execute(TIMELINE, {"id": str(world.person.pk)}, user=world.other_rep)
    assert data["person"] is None


async def test_kinds_keeps_those_sources_only(factory: Factory, world: World) -> None:
    # when / then
    outbound_work = await walk(factory, world.supervisor, world.person, 1, kinds=["OPERATION", "CALLBACK"])
    assert outbound_work == ["cb:B", "op:op B", "cb:A", "op:op A"]
    threads = await walk(factory, world.rep, world.person, 2, kinds=["TICKET_MESSAGE", "OPERATION"])
    assert threads == ["msg:m3b", "msg:m3a", "msg:hello"]
    assert await walk(factory, world.supervisor, world.person, 3, kinds=[]) == []


@pytest.mark.parametrize(
    "cursor",
    [
        "nonsense",
        "cGVyc29uVGltZWxpbmU6WyIyMDI2LTEyLTAxVDEyOjAwOjAwKzAwOjAwIiwgIk5PUEUiLCAxXQ==",  # an unknown kind
        "cGVyc29uVGltZWxpbmU6WyIyMDI2LTEyLTAxVDEyOjAwOjAwIiwgIk9QRVJBVElPTiIsIDFd",  # a time without offset
        "cGVyc29uVGlja2V0OjE=",  # another list's (personTicket:1)
    ],
)
async def test_a_bad_cursor_is_bad_user_input(factory: Factory, world: World, cursor: str) -> None:
    # when
    result = await factory.execute_raw(TIMELINE, {"id": str(world.person.pk), "after": cursor}, user=world.supervisor)
    # then
    assert result.errors is not None
    assert result.errors[0].extensions["code"] == "BAD_USER_INPUT"


async def test_a_cursor_of_the_timeline_goes_on_from_its_entry(factory: Factory, world: World) -> None:
    # given: the cursor of the agent's third entry
    first = (await factory.execute(TIMELINE, {"id": str(world.person.pk), "first": 3}, user=world.agent))
    cursor = first["person"]["timeline"]["pageInfo"]["endCursor"]
    # when: the supervisor (who sees more) reads on from it
    data = await factory.execute(TIMELINE, {"id": str(world.person.pk), "first": 3, "after": cursor}, user=world.supervisor)
    # then: what follows CLOSED:T2 in the supervisor's list
    assert [label(edge["node"]) for edge in data["person"]["timeline"]["edges"]] == ["msg:m3b", "msg:m3a", "open:T3"]


@pytest.mark.parametrize("role", ["supervisor", "agent"])
async def test_a_page_costs_the_same_statements_whatever_its_size(
    factory: Factory, outbound: Outbound, world: World, sql_statements: StatementCounter, role: str,  # noqa: F811
) -> None:
    # given: 60 newer entries, each run of five holding an operation, a callback, a ticket, a message
    # and a status change, so that a page of 5 reaches every kind a page of 50 does
    user = world.supervisor if role == "supervisor" else world.agent
    tickets = TicketFactory(factory)
    for index in range(12):
        minutes = 100 + 10 * index
        await operation(world.member, world.agent, f"extra {index}", minutes)
        row = await tickets.ticket(world.rep, world.status, assignee=world.agent, subject=f"X{index}")
        await Ticket.filter(id=row.pk).update(person_id=world.person.pk, created_at=BASE + timedelta(minutes=minutes + 1))
        await at(TicketMessage, await tickets.message(row, world.rep, f"x{index}"), minutes + 2)
        entry = await TicketHistoryEntry.create(ticket=row, kind=TicketHistoryKind.STATUS_CHANGED, to_status_id=world.status.pk)
        await at(TicketHistoryEntry, entry, minutes + 3)
    counts = {}
    for size in (5, 50):
        # when
        sql_statements.statements.clear()
        data = await factory.execute(WIDE, {"id": str(world.person.pk), "first": size}, user=user)
        # then
        assert len(data["person"]["timeline"]["edges"]) == size
        counts[size] = len(sql_statements.statements)
    assert counts[5] == counts[50], counts


CONVERT = """
mutation Convert($id: ID!, $deleteSuspect: Boolean) {
  personConvert(id: $id, deleteSuspect: $deleteSuspect) { ... on PersonConvertPayload { prospect { id } } }
}
"""

CONVERSIONS = """
query Conversions($id: ID!) {
  person(id: $id) { timeline(kinds: [CONVERSION]) { edges { node {
    ... on ConversionEntry { at suspectDeleted suspect { id stage } prospect { id stage } actor { name } }
  } } } }
}
"""


@pytest.mark.parametrize("delete", [False, True])
async def test_a_conversion_is_on_the_timelines_of_both_persons(factory: Factory, delete: bool) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    suspect = await factory.person("Joana")
    # when
    converted = await factory.execute(CONVERT, {"id": str(suspect.pk), "deleteSuspect": delete}, user=agent)
    prospect_id = converted["personConvert"]["prospect"]["id"]
    # then: the prospect's timeline says where it came from, and who converted it
    (edge,) = (await factory.execute(CONVERSIONS, {"id": prospect_id}, user=agent))["person"]["timeline"]["edges"]
    entry = edge["node"]
    assert entry["prospect"] == {"id": prospect_id, "stage": "PROSPECT"}
    assert entry["actor"] == {"name": agent.name}
    assert entry["suspectDeleted"] is delete
    if delete:
        assert entry["suspect"] is None
    else:
        assert entry["suspect"] == {"id": str(suspect.pk), "stage": "SUSPECT"}
        kept = (await factory.execute(CONVERSIONS, {"id": str(suspect.pk)}, user=agent))["person"]["timeline"]["edges"]
        assert [edge["node"] for edge in kept] == [entry]
    # a refused conversion records none
    again = await factory.execute(CONVERT, {"id": prospect_id, "deleteSuspect": delete}, user=agent)
    assert again["personConvert"] == {}
    assert await PersonConversion.all().count() == 1
