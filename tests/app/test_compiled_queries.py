"""The compiled path (schema/compiled/) answers byte for byte as graphql-core does, and says when it ran.

Every document runs twice per caller: through the schema the server builds (compiled path on) and
through one built with `compiled=False` (every field through graphql-core and Strawberry). The JSON
of `data` and `errors` must be identical, and `STATS` tells which way the first run went.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from contato.app import create_app
from contato.settings import Settings
from models.campaign import Campaign, CampaignAgent, CampaignMember, QueuePriority, QueueStatus
from models.do_not_call import DoNotCallNumber
from models.operation import Callback, Operation
from models.outbound import ResultKind
from models.ticket import Ticket
from models.user import Role, User
from resolvers.auth import issue_token
from resolvers.context import Context
from schema import ContatoSchema, build_schema
from schema.compiled import STATS, Stats, plans_for
from tests.conftest import StatementCounter
from tests.factories import Factory, shared_schema
from tests.outbound_factories import Clock, Outbound, clock, outbound  # noqa: F401 - fixtures
from tests.ticket_factories import TicketFactory

# bench/queue_page.py's QUEUE_PAGE and bench/side_by_side.py's TICKET_LIST and DASHBOARD, verbatim.
QUEUE_PAGE = """
query QueuePage($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId, first: 50) { ... on CampaignMemberConnection {
    edges { node {
      id status attempts dueAt
      person { name document phones }
      stage { name }
      lastOperation { createdAt notes result { name kind } agent { name } }
      nextCallback { dueAt status }
    } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""
TICKET_LIST = """
query TicketList {
  tickets(first: 50) {
    edges { node {
      number subject status { name } company { name }
      messages(first: 10) { edges { node { body author { name } createdAt } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DASHBOARD = """
query AgentQueueDashboard($campaignId: ID!, $first: Int = 50, $after: String) {
  queue: campaignQueue(campaignId: $campaignId, first: $first, after: $after) {
    __typename
    ... on CampaignMemberConnection {
      edges {
        __typename
        cursor
        node { ...QueueRow }
      }
      pageInfo { ...PageInfoFields }
    }
  }
}

fragment QueueRow on CampaignMember {
  __typename
  id
  status
  attempts
  dueAt
  campaign { __typename id name }
  person { ...PersonSummary }
  stage { __typename id name }
  lastOperation { ...LastOperation }
  nextCallback { __typename id dueAt status }
}

fragment PersonSummary on Person {
  __typename
  id
  name
  document
  phones
}

fragment LastOperation on Operation {
  __typename
  id
  createdAt
  notes
  result { __typename id name kind }
  agent { __typename id name }
}

fragment PageInfoFields on PageInfo {
  __typename
  hasNextPage
  endCursor
}
"""
# Aliases, fragments on both sides, inline fragments, __typename at every level, @skip and @include.
QUEUE_EVERYTHING = """
query QueueEverything($campaignId: ID!, $first: Int, $after: String, $status: QueueStatus,
                      $withOperation: Boolean!, $noCallback: Boolean!) {
  __typename
  queue: campaignQueue(campaignId: $campaignId, status: $status, first: $first, after: $after) {
    __typename ... on CampaignError { code } ... on CampaignMemberConnection {
    __typename
    totalCount count: totalCount totalCountIsExact
    edges { __typename cursor node { ...Member } }
    again: edges { node { memberId: id ... on CampaignMember { status } } }
    pageInfo { __typename hasNextPage hasPreviousPage startCursor endCursor }
    info: pageInfo { end: endCursor }
  } }
}
fragment Member on CampaignMember {
  __typename id status attempts dueAt lastActedAt claimExpiresAt
  person { ...PersonFields company { __typename id name cnpj active createdAt } convertedTo { id } }
  stage { id name position }
  assignedAgent { name }
  claimedBy { id name }
  lastOperation @include(if: $withOperation) {
    id createdAt notes conversation noContact callbackAt attempt
    result { ... on ContactResult { id name kind active recycleAfterMinutes recycleMaxAttempts } }
    justification { id name active }
    agent { id name email role active createdAt company { name } }
    stage { name }
    person { name }
    member { id status person { name } }
  }
  nextCallback @skip(if: $noCallback) {
    id dueAt opensAt status createdAt closedAt agent { name } member { id }
    operation { id notes agent { name } }
  }
  nextCallback { status }
}
fragment PersonFields on Person { id kind name document phones emails stage doNotCall createdAt updatedAt }
"""
TICKETS_EVERYTHING = """
query TicketsEverything($first: Int, $after: String, $filter: TicketFilter, $messages: Int, $skipPerson: Boolean!) {
  tickets(first: $first, after: $after, filter: $filter) {
    edges { cursor node {
      __typename id number subject product occurrence contactName contactPhone contactEmail state returnDueAt
      closedAt createdAt updatedAt
      status { __typename id name initial returnAfterDays allowsClosing emailOnEnter emailOnChange active }
      company { name }
      person @skip(if: $skipPerson) { name }
      openedBy { name role }
      assignee { id name }
      messages(first: $messages) {
        __typename
        edges { cursor node { id body internal createdAt author { id name email company { name } } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      }
      thread: messages(first: 1) { edges { node { body } } }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
TICKETS_SORTED = """
query TicketsSorted($first: Int, $after: String, $last: Int, $before: String, $orderBy: TicketOrder) {
  tickets(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount totalCountIsExact
    edges { cursor node {
      id number messageCount lastMessageAt
      lastMessage { id body internal createdAt author { name } }
      latest: messages(last: 1) { edges { cursor node { body } } pageInfo { hasNextPage hasPreviousPage } }
    } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
SORTED_LIST = """
query SortedList {
  tickets(first: 50, orderBy: {field: LAST_MESSAGE_AT, direction: DESC}) {
    totalCount
    edges { node { number subject messageCount lastMessageAt lastMessage { body createdAt author { name } } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
QUEUE_BOTH_WAYS = """
query QueueBothWays($campaignId: ID!, $status: QueueStatus, $first: Int, $after: String, $last: Int, $before: String) {
  campaignQueue(campaignId: $campaignId, status: $status, first: $first, after: $after, last: $last, before: $before) {
    ... on CampaignMemberConnection {
      totalCount
      edges { cursor node { id status dueAt person { name } } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}
"""
UNCOVERED = """
query Uncovered { tickets(first: 5) { edges { node { number awaitingReturn } } } }
"""
MESSAGES_AFTER = """
query MessagesAfter($after: String) {
  tickets(first: 3) {
    edges { node { number messages(first: 2, after: $after) { edges { cursor node { body } } } } }
  }
}
"""
TOO_COSTLY = """
query TooCostly { tickets(first: 100) { edges { node { number messages(first: 100) { edges { node { body } } } } } } }
"""


@dataclass
class World:
    admin: User
    supervisor: User
    agent: User
    other_agent: User
    rep: User
    campaign: Campaign
    other_campaign: Campaign
    empty_campaign: Campaign
    tickets: list[Ticket]

    def callers(self) -> dict[str, User]:
        return {
            "admin": self.admin, "supervisor": self.supervisor, "agent": self.agent,
            "other agent": self.other_agent, "rep": self.rep,
        }


@pytest.fixture
async def world(factory: Factory, outbound: Outbound, clock: Clock) -> World:  # noqa: F811 - fixtures
    # given: two campaigns, each worked by its own agent; a company with its rep
    company = await factory.company("Acme Telecom")
    admin, supervisor = await factory.user(Role.ADMIN), await factory.user(Role.SUPERVISOR)
    agent, other_agent = await factory.user(Role.AGENT), await factory.user(Role.AGENT, company=company)
    rep = await factory.user(Role.COMPANY_REP, company=company)
    campaign = await outbound.campaign(agents=(agent,))
    other_campaign = await outbound.campaign(agents=(other_agent,))
    empty_campaign = await outbound.campaign(agents=(agent,))
    later = await outbound.result(ResultKind.SCHEDULE, recycle_after_minutes=30, recycle_max_attempts=3)
    failure = await outbound.result(ResultKind.FAILURE)
    why = await outbound.justification(later)
    stage = await outbound.stage(campaign, position=2)
    # members: with an operation and a due callback, with an operation without result, plain ones
    for index in range(7):
        person = await factory.person(
            name=f"Pessoa {index}", company=company if index % 2 else None,
            phones=[f"+551199990000{index}"] if index % 3 else None,
        )
        member = await outbound.member(campaign, person)
        if index < 4:
            operation = await Operation.create(
                member=member, campaign=campaign, person_id=person.pk, agent=agent if index % 2 else other_agent,
                stage=stage if index else None, result=None if index == 3 else later if index % 2 else failure,
                result_kind=None if index == 3 else "SCHEDULE", justification=why if index == 1 else None,
                notes=f"Nota {index} — ligar à tarde", attempt=1, local_date=clock.today, no_contact=index == 3,
                callback_at=clock.now if index == 1 else None,
            )
            fields: dict[str, Any] = {"attempts": 1, "last_operation_id": operation.pk, "last_acted_at": clock.now}
            if index < 2:
                callback = await Callback.create(
                    member=member, campaign=campaign, agent=agent if index else None, operation=operation,
                    due_at=clock.now - timedelta(minutes=5 + index),
                )
                fields.update(
                    status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=callback.due_at,
                    next_callback_id=callback.pk,
                )
            await CampaignMember.filter(id=member.pk).update(**fields)
    await outbound.member(campaign, claimed_by=agent, claim_expires_at=clock.now + timedelta(minutes=5))
    await outbound.member(other_campaign)
    # tickets: with and without company, assigned to either agent or to nobody, with internal notes
    tickets = TicketFactory(factory)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando", return_after_days=2, allows_closing=True)
    rows = []
    for index in range(6):
        assignee = (agent, other_agent, None)[index % 3]
        ticket = await tickets.ticket(
            rep if index % 2 else supervisor, new if index % 2 else waiting,
            company=company if index != 4 else None, assignee=assignee, subject=f"Chamado {index}: fatura",
        )
        for number in range(index % 4):
            author = (agent, rep, supervisor)[number % 3]
            await tickets.message(ticket, author, f"Mensagem {number} — olá", internal=number == 2)
        rows.append(ticket)
    return World(admin, supervisor, agent, other_agent, rep, campaign, other_campaign, empty_campaign, rows)


@pytest.fixture
def normal(settings: Settings) -> ContatoSchema:
    return shared_schema(settings, compiled=False)


def dump(result: Any) -> str:
    return json.dumps(
        {"data": result.data, "errors": [error.formatted for error in result.errors or ()]},
        ensure_ascii=False, separators=(",", ":"),
    )


async def twice(
    factory: Factory, normal: ContatoSchema, document: str, variables: dict[str, Any], user: User | None
) -> tuple[str, str, Stats]:
    """The compiled schema's answer, graphql-core's, and what the compiled path did."""
    before = replace(STATS)
    fast = await factory.schema.execute(
        document, variable_values=variables, context_value=Context(settings=factory.settings, user=user)
    )
    taken = Stats(*(getattr(STATS, name) - getattr(before, name) for name in ("compiled", "fallback", "uncovered")))
    slow = await normal.execute(
        document, variable_values=variables, context_value=Context(settings=factory.settings, user=user)
    )
    return dump(fast), dump(slow), taken


COMPILED, FALLBACK, NOT_COVERED = Stats(compiled=1), Stats(fallback=1), Stats(uncovered=1)


async def test_the_bench_pages_are_compiled_and_equal_for_every_caller(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    for role, user in world.callers().items():
        for campaign in (world.campaign, world.other_campaign, world.empty_campaign):
            # when
            for document in (QUEUE_PAGE, DASHBOARD):
                fast, slow, taken = await twice(factory, normal, document, {"campaignId": str(campaign.pk)}, user)
                # then: a caller off the campaign gets its typed refusal from the normal path
                assert fast == slow, (role, campaign.name)
                works_it = role in ("admin", "supervisor") or await CampaignAgent.exists(campaign=campaign, agent=user)
                assert taken == (COMPILED if works_it else FALLBACK), (role, campaign.name)
        fast, slow, taken = await twice(factory, normal, TICKET_LIST, {}, user)
        assert fast == slow, role
        assert taken == COMPILED, role
    # and the pages are not trivially empty
    agent_queue = await factory.execute(QUEUE_PAGE, {"campaignId": str(world.campaign.pk)}, user=world.agent)
    nodes = [edge["node"] for edge in agent_queue["campaignQueue"]["edges"]]
    assert len(nodes) == 8
    assert {node["lastOperation"] is None for node in nodes} == {True, False}
    assert {node["nextCallback"] is None for node in nodes} == {True, False}
    assert any(node["lastOperation"] and node["lastOperation"]["result"] is None for node in nodes)
    rep_tickets = await factory.execute(TICKET_LIST, user=world.rep)
    assert [edge["node"]["subject"] for edge in rep_tickets["tickets"]["edges"]] == [
        "Chamado 0: fatura", "Chamado 1: fatura", "Chamado 2: fatura", "Chamado 3: fatura", "Chamado 5: fatura"
    ]
    bodies = [m["node"]["body"] for e in rep_tickets["tickets"]["edges"] for m in e["node"]["messages"]["edges"]]
    assert "Mensagem 2 — olá" not in bodies  # the internal note


async def test_aliases_fragments_directives_and_cursors_are_compiled_and_equal(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    for role, user in world.callers().items():
        for with_operation in (True, False):
            for no_callback in (True, False):
                for status in (None, "SCHEDULED", "NOT_ACTED"):
                    variables: dict[str, Any] = {
                        "campaignId": str(world.campaign.pk), "first": 3, "status": status,
                        "withOperation": with_operation, "noCallback": no_callback,
                    }
                    pages = 0
                    while True:
                        # when
                        fast, slow, taken = await twice(factory, normal, QUEUE_EVERYTHING, variables, user)
                        # then
                        assert fast == slow, (role, variables)
                        page = json.loads(fast)["data"]["queue"]
                        if role in ("other agent", "rep"):  # off the campaign: the refusal, by the normal path
                            assert (taken, page["__typename"]) == (FALLBACK, "CampaignError"), (role, variables)
                            break
                        assert taken == COMPILED, (role, variables)
                        pages += 1
                        if not page["pageInfo"]["hasNextPage"]:
                            break
                        variables = {**variables, "after": page["pageInfo"]["endCursor"]}
                    assert pages > 1 or role in ("other agent", "rep") or status == "SCHEDULED", (role, status)


async def test_queue_pages_both_ways_are_compiled_and_equal(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    """The workable queue's first forward page has a statement of its own (QueueWindow.raw_rows):
    `last` without `before` starts from the other end, and every page back must be the normal path's."""
    for role in ("admin", "supervisor", "agent"):
        user = world.callers()[role]
        for status in (None, "NOT_ACTED"):
            walks = {}
            for size, cursor, more in (("first", "after", "hasNextPage"), ("last", "before", "hasPreviousPage")):
                variables: dict[str, Any] = {"campaignId": str(world.campaign.pk), "status": status, size: 3}
                seen: list[list[str]] = []
                while True:
                    # when
                    fast, slow, taken = await twice(factory, normal, QUEUE_BOTH_WAYS, variables, user)
                    # then
                    assert fast == slow, (role, variables)
                    assert taken == COMPILED, (role, variables)
                    page = json.loads(fast)["data"]["campaignQueue"]
                    seen.append([edge["node"]["id"] for edge in page["edges"]])
                    if not page["pageInfo"][more]:
                        break
                    edge_cursor = page["pageInfo"]["endCursor" if size == "first" else "startCursor"]
                    variables = {**variables, cursor: edge_cursor}
                walks[size] = [row for rows in (seen if size == "first" else seen[::-1]) for row in rows]
            assert walks["first"] == walks["last"] and len(set(walks["first"])) == len(walks["first"]) > 3, (role, status)


AUTHORS = "query { tickets(first: 50) { edges { node { messages { edges { node { author { name email } } } } } } } }"


async def test_a_rep_reads_the_emails_of_their_company_only_on_both_paths(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    # when: the rep and a supervisor list the authors of every message they may see
    seen: dict[str, set[tuple[str, str | None]]] = {}
    for role in ("rep", "supervisor"):
        user = world.callers()[role]
        fast, slow, taken = await twice(factory, normal, AUTHORS, {}, user)
        assert fast == slow, role
        assert taken == COMPILED, role
        tickets = json.loads(fast)["data"]["tickets"]["edges"]
        seen[role] = {
            (edge["node"]["author"]["name"], edge["node"]["author"]["email"])
            for ticket in tickets for edge in ticket["node"]["messages"]["edges"]
        }
    # then: the rep sees their own address and the operator's staff by name only (the supervisor
    # wrote only internal notes, which reps never get)
    assert seen["rep"] == {(world.rep.name, world.rep.email), (world.agent.name, None)}
    assert (world.agent.name, world.agent.email) in seen["supervisor"]
    assert (world.supervisor.name, world.supervisor.email) in seen["supervisor"]


async def test_ticket_pages_filters_and_nested_pages_are_compiled_and_equal(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    filters: list[dict[str, Any] | None] = [
        None, {"state": "OPEN"}, {"unassigned": True}, {"text": "chamado 3"}, {"companyId": "999"},
    ]
    for role, user in world.callers().items():
        for where in filters:
            for messages in (None, 1, 2):
                variables: dict[str, Any] = {"first": 2, "filter": where, "messages": messages, "skipPerson": role == "rep"}
                while True:
                    # when
                    fast, slow, taken = await twice(factory, normal, TICKETS_EVERYTHING, variables, user)
                    # then
                    assert fast == slow, (role, variables)
                    assert taken == COMPILED, (role, variables)
                    page = json.loads(fast)["data"]["tickets"]
                    if not page["pageInfo"]["hasNextPage"]:
                        break
                    variables = {**variables, "after": page["pageInfo"]["endCursor"]}
    # threads from a message cursor on
    first = await factory.execute(MESSAGES_AFTER, {"after": None}, user=world.supervisor)
    threads = [edge["node"]["messages"]["edges"] for edge in first["tickets"]["edges"]]
    after = next(thread[0]["cursor"] for thread in threads if thread)
    fast, slow, taken = await twice(factory, normal, MESSAGES_AFTER, {"after": after}, world.supervisor)
    assert (fast == slow, taken) == (True, COMPILED)
    assert json.loads(fast)["data"] != {"tickets": first}


async def test_sorted_ticket_pages_with_their_summary_are_compiled_and_equal_both_ways(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    orders: list[dict[str, str] | None] = [None] + [
        {"field": field, "direction": direction}
        for field in ("CREATED_AT", "UPDATED_AT", "LAST_MESSAGE_AT", "RETURN_DUE_AT", "NUMBER")
        for direction in ("ASC", "DESC")
    ]
    for role, user in world.callers().items():
        for order in orders:
            walks = {}
            for size, cursor, more in (("first", "after", "hasNextPage"), ("last", "before", "hasPreviousPage")):
                variables: dict[str, Any] = {size: 2, "orderBy": order}
                seen: list[list[str]] = []
                while True:
                    # when
                    fast, slow, taken = await twice(factory, normal, TICKETS_SORTED, variables, user)
                    # then
                    assert fast == slow, (role, variables)
                    assert taken == COMPILED, (role, variables)
                    page = json.loads(fast)["data"]["tickets"]
                    seen.append([edge["node"]["id"] for edge in page["edges"]])
                    if role == "rep":
                        assert not any((edge["node"]["lastMessage"] or {}).get("internal") for edge in page["edges"])
                    if not page["pageInfo"][more]:
                        break
                    edge_cursor = page["pageInfo"]["endCursor" if size == "first" else "startCursor"]
                    variables = {**variables, cursor: edge_cursor}
                walks[size] = [row for rows in (seen if size == "first" else seen[::-1]) for row in rows]
            assert walks["first"] == walks["last"] and len(set(walks["first"])) == len(walks["first"]) > 2, (role, order)


async def test_a_field_the_compiler_does_not_know_takes_the_normal_path(
    factory: Factory, normal: ContatoSchema, world: World
) -> None:
    # when
    fast, slow, taken = await twice(factory, normal, UNCOVERED, {}, world.supervisor)
    # then
    assert taken == NOT_COVERED
    assert fast == slow
    assert json.loads(fast)["data"]["tickets"]["edges"][0]["node"] == {"number": world.tickets[0].number,
                                                                       "awaitingReturn": False}
    # and a mutation is not the compiled path's business at all
    before = replace(STATS)
    await factory.execute_raw('mutation { login(email: "x@y.z", password: "p") { __typename } }')
    assert STATS == before


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        (QUEUE_PAGE.replace("first: 50", "first: 0"), {}, "BAD_USER_INPUT"),
        (QUEUE_EVERYTHING, {"after": "not-a-cursor", "withOperation": True, "noCallback": False}, "BAD_USER_INPUT"),
        (MESSAGES_AFTER, {"after": "bm90LWEtbWVzc2FnZQ=="}, "BAD_USER_INPUT"),
        (TICKETS_EVERYTHING, {"first": 2, "messages": 500, "skipPerson": False}, "BAD_USER_INPUT"),
    ],
)
async def test_a_plan_that_meets_an_error_gives_way_to_the_normal_path(
    factory: Factory, normal: ContatoSchema, world: World, document: str, variables: dict[str, Any], code: str
) -> None:
    # given: arguments only the use case refuses (page sizes, cursors)
    variables = {"campaignId": str(world.campaign.pk), **variables}
    # when
    fast, slow, taken = await twice(factory, normal, document, variables, world.agent)
    # then: the same error, at the same path, from the normal path
    assert taken == FALLBACK
    assert fast == slow
    assert json.loads(fast)["errors"][0]["extensions"]["code"] == code


async def test_refusals_before_execution_are_unchanged(factory: Factory, normal: ContatoSchema, world: World) -> None:
    for document, variables, user in [
        (QUEUE_PAGE, {"campaignId": str(world.campaign.pk)}, None),  # no token
        (QUEUE_PAGE, {}, world.agent),  # a missing variable
        (QUEUE_PAGE.replace("first: 50", "first: 50, nope: 1"), {}, world.agent),  # invalid
        (TOO_COSTLY, {}, world.agent),
    ]:
        fast, slow, taken = await twice(factory, normal, document, variables, user)
        assert fast == slow
        assert json.loads(fast)["data"] is None
        assert taken in (Stats(), FALLBACK), document


async def test_the_compiled_pages_cost_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter  # noqa: F811
) -> None:
    # given: 60 members with an operation by one of 3 agents and a pending callback; 60 tickets of 11 messages
    agents = [await factory.user(Role.AGENT) for _ in range(3)]
    campaign = await outbound.campaign(agents=tuple(agents))
    later = await outbound.result(ResultKind.SCHEDULE)
    for index in range(60):
        member = await outbound.member(campaign)
        operation = await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=agents[index % 3], result=later,
            result_kind="SCHEDULE", attempt=1, local_date=clock.today,
        )
        callback = await Callback.create(member=member, campaign=campaign, operation=operation, due_at=clock.now)
        await CampaignMember.filter(id=member.pk).update(
            status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=callback.due_at,
            last_operation_id=operation.pk, next_callback_id=callback.pk,
        )
    tickets = TicketFactory(factory)
    status = await tickets.status()
    company = await factory.company()
    rep = await factory.user(Role.COMPANY_REP, company=company)
    for _ in range(60):
        ticket = await tickets.ticket(rep, status, company=company)
        for number in range(11):
            await tickets.message(ticket, agents[number % 3], f"m{number}")
    counts: dict[tuple[str, int], int] = {}
    for size in (5, 50):
        for name, document, variables in [
            ("queue", QUEUE_PAGE.replace("first: 50", f"first: {size}"), {"campaignId": str(campaign.pk)}),
            ("tickets", TICKET_LIST.replace("first: 50", f"first: {size}"), {}),
        ]:
            before = STATS.compiled
            sql_statements.statements.clear()
            # when
            data = await factory.execute(document, variables, user=agents[0])
            # then
            assert STATS.compiled == before + 1
            assert len(next(iter(data.values()))["edges"]) == size
            counts[(name, size)] = len(sql_statements.statements)
    # queue: campaign, assignment, page, persons, stages, operations, callbacks, results, users (the agents);
    # tickets: page, statuses, companies, messages (one windowed query), users (the authors)
    assert counts == {("queue", 5): 9, ("queue", 50): 9, ("tickets", 5): 5, ("tickets", 50): 5}, (
        sql_statements.statements
    )
    # the ticket list sorted by its last message, with its count and each ticket's last message
    for size in (5, 50):
        before = STATS.compiled
        sql_statements.statements.clear()
        data = await factory.execute(SORTED_LIST.replace("first: 50", f"first: {size}"), {}, user=agents[0])
        assert STATS.compiled == before + 1
        assert (len(data["tickets"]["edges"]), data["tickets"]["totalCount"]) == (size, 60)
        counts[("sorted", size)] = len(sql_statements.statements)
    # page, count, last messages, their authors
    assert (counts[("sorted", 5)], counts[("sorted", 50)]) == (4, 4), sql_statements.statements


CALLABLE_PHONES = """
query CallablePhones($campaignId: ID!, $status: QueueStatus) {
  campaignQueue(campaignId: $campaignId, status: $status, first: 50) { ... on CampaignMemberConnection {
    edges { node {
      id person { name phones callablePhones doNotCall }
      lastOperation { person { callablePhones } member { person { id callablePhones } } }
    } }
  } }
}
"""


async def test_callable_phones_are_compiled_and_equal_with_one_register_lookup_per_selection(
    factory: Factory, normal: ContatoSchema, world: World, clock: Clock, sql_statements: StatementCounter  # noqa: F811
) -> None:
    # given: one member's phone on the register (with Brazil's prefix dropped), one member opted out,
    # and an entry that has expired
    members = await CampaignMember.filter(campaign_id=world.campaign.pk).order_by("id").prefetch_related("person")
    with_phones = [member.person for member in members if member.person.phones]
    await DoNotCallNumber.create(number=with_phones[0].phones[0].removeprefix("+55"), source="PROCON-SP",
                                 added_at=clock.now)
    await DoNotCallNumber.create(number=with_phones[1].phones[0], source="PROCON-SP", added_at=clock.now,
                                 expires_at=clock.now - timedelta(days=1))
    with_phones[2].do_not_call = True
    await with_phones[2].save()
    for role, user in world.callers().items():
        for status in (None, "NOT_ACTED", "SCHEDULED"):
            variables = {"campaignId": str(world.campaign.pk), "status": status}
            # when
            fast, slow, taken = await twice(factory, normal, CALLABLE_PHONES, variables, user)
            # then: callers the queue refuses (a typed error) take the normal path
            assert fast == slow, (role, status)
            assert taken == (FALLBACK if role in ("other agent", "rep") else COMPILED), (role, status)
    # and the figures are the register's: the listed phone and the opted-out person are not callable
    persons = {}
    for status in ("SCHEDULED", "NOT_ACTED"):
        sql_statements.statements.clear()
        data = await factory.execute(CALLABLE_PHONES, {"campaignId": str(world.campaign.pk), "status": status},
                                     user=world.supervisor)
        persons.update({edge["node"]["person"]["name"]: edge["node"]["person"]
                        for edge in data["campaignQueue"]["edges"]})
    assert persons[with_phones[0].name]["callablePhones"] == []
    assert persons[with_phones[1].name]["callablePhones"] == with_phones[1].phones  # expired
    assert persons[with_phones[2].name]["callablePhones"] == []
    assert any(person["callablePhones"] and person["callablePhones"] == person["phones"] for person in persons.values())
    # campaign, page; persons, operations; the operations' persons and members; the members' persons:
    # and one register lookup for each of the three places Person is selected, whatever the page size
    assert len(sql_statements.statements) == 10, "\n".join(s[:90] for s in sql_statements.statements)


async def test_over_http_the_compiled_path_is_counted_like_any_query(
    settings: Settings, factory: Factory, world: World
) -> None:
    # given
    app = create_app(settings)
    token = issue_token(world.agent, settings).token
    variables = {"campaignId": str(world.campaign.pk)}
    body = {"query": QUEUE_PAGE, "variables": variables, "operationName": "QueuePage"}
    direct = await factory.execute(QUEUE_PAGE, variables, user=world.agent)
    labels = {"operation": "QueuePage", "type": "query", "outcome": "ok"}
    requests_before = REGISTRY.get_sample_value("contato_graphql_requests_total", labels) or 0.0
    compiled_before = REGISTRY.get_sample_value("contato_graphql_compiled_total", {"outcome": "compiled"}) or 0.0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://contato.test") as http:
        # when
        response = await http.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    # then
    assert response.status_code == 200
    assert response.json() == {"data": direct}
    assert REGISTRY.get_sample_value("contato_graphql_requests_total", labels) == requests_before + 1
    assert REGISTRY.get_sample_value("contato_graphql_compiled_total", {"outcome": "compiled"}) == compiled_before + 1


async def test_every_compiled_type_matches_the_schema_and_the_models(settings: Settings, db: None) -> None:
    # given: the registry checks the declared fields against the schema when it is built
    registry = plans_for(build_schema(settings)._schema).registry
    # when / then: and against the models (made whole by Tortoise.init) before the first compilation
    registry.check_models()
    assert set(registry.roots) == {"campaignQueue", "tickets"}
    assert "awaitingReturn" not in registry.types["Ticket"].scalars
