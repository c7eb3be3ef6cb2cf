"""Counts for tab badges and tiles: `totalCount` on connections, `ticketCounts` grouped."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from models.ticket import Ticket, TicketState
from models.user import Role, User
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

TICKETS_COUNTED = """
query Tickets($filter: TicketFilter, $first: Int, $after: String) {
  tickets(filter: $filter, first: $first, after: $after) {
    totalCount totalCountIsExact
    edges { node { id } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TICKETS_NOT_COUNTED = """
query Tickets($first: Int) { tickets(first: $first) { edges { node { id } } } }
"""

THREADS_COUNTED = """
query Threads($first: Int) {
  tickets(first: $first) {
    totalCount
    edges { node { id messages(first: 2) { totalCount edges { node { body } } } } }
  }
}
"""

COUNTS = """
query Counts($groupBy: [TicketCountDimension!]!, $filter: TicketFilter) {
  ticketCounts(groupBy: $groupBy, filter: $filter) {
    count state awaitingReturn status { name } assignee { name } classification { name }
  }
}
"""


async def _world(factory: Factory, tickets: TicketFactory) -> dict[str, object]:
    """Two companies; Acme has 5 tickets (one closed, one awaiting return, two assigned to the
    agent), Globex 3 (one assigned to another agent)."""
    acme, globex = await factory.company("Acme"), await factory.company("Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    globex_rep = await factory.user(Role.COMPANY_REP, company=globex)
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando", return_after_days=2)
    billing = await tickets.classification("Financeiro")
    acme_tickets = [
        await tickets.ticket(rep, new, company=acme, classification=billing),
        await tickets.ticket(rep, new, company=acme, assignee=agent),
        await tickets.ticket(rep, waiting, company=acme, assignee=agent, classification=billing),
        await tickets.ticket(rep, waiting, company=acme),
        await tickets.ticket(rep, new, company=acme, state=TicketState.CLOSED),
    ]
    await Ticket.filter(id=acme_tickets[3].pk).update(return_due_at=datetime.now(UTC) - timedelta(hours=1))
    await Ticket.filter(id=acme_tickets[2].pk).update(return_due_at=datetime.now(UTC) + timedelta(days=1))
    for _ in range(2):
        await tickets.ticket(globex_rep, new, company=globex)
    await tickets.ticket(globex_rep, waiting, company=globex, assignee=other)
    return {"rep": rep, "globex rep": globex_rep, "agent": agent, "other": other, "supervisor": supervisor,
            "new": new, "waiting": waiting}


async def test_total_count_is_the_callers_visible_set_whatever_the_page(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    world = await _world(factory, tickets)
    expected = {"rep": 5, "globex rep": 3, "agent": 7, "other": 6, "supervisor": 8}
    for name, total in expected.items():
        user = world[name]
        assert isinstance(user, User)
        # when: every page of two
        seen, after, counts = 0, None, set()
        while True:
            data = (await factory.execute(TICKETS_COUNTED, {"first": 2, "after": after}, user=user))["tickets"]
            counts.add((data["totalCount"], data["totalCountIsExact"]))
            seen += len(data["edges"])
            if not data["pageInfo"]["hasNextPage"]:
                break
            after = data["pageInfo"]["endCursor"]
        # then: the same total on every page, and it is what the pages hold (reps: their company's only)
        assert counts == {(total, True)} and seen == total, name
    open_ones = await factory.execute(TICKETS_COUNTED, {"filter": {"state": "OPEN"}, "first": 1}, user=world["rep"])
    assert open_ones["tickets"]["totalCount"] == 4


async def test_total_count_costs_one_statement_only_when_selected(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter
) -> None:
    world = await _world(factory, tickets)
    sql_statements.statements.clear()
    await factory.execute(TICKETS_NOT_COUNTED, {"first": 2}, user=world["supervisor"])
    without = len(sql_statements.statements)
    sql_statements.statements.clear()
    await factory.execute(TICKETS_COUNTED, {"first": 2}, user=world["supervisor"])
    assert len(sql_statements.statements) == without + 1, sql_statements.statements
    assert "count(" in sql_statements.statements[-1].lower()


async def test_total_count_stops_at_the_count_limit(factory: Factory, tickets: TicketFactory) -> None:
    world = await _world(factory, tickets)
    capped = replace(factory.settings, count_limit=3)
    result = await factory.execute_raw(TICKETS_COUNTED, {"first": 1}, user=world["supervisor"], settings=capped)
    assert (result.data["tickets"]["totalCount"], result.data["tickets"]["totalCountIsExact"]) == (3, False)
    exact = replace(factory.settings, count_limit=0)
    result = await factory.execute_raw(TICKETS_COUNTED, {"first": 1}, user=world["supervisor"], settings=exact)
    assert (result.data["tickets"]["totalCount"], result.data["tickets"]["totalCountIsExact"]) == (8, True)
    at_the_limit = replace(factory.settings, count_limit=8)
    result = await factory.execute_raw(TICKETS_COUNTED, {"first": 1}, user=world["supervisor"], settings=at_the_limit)
    assert (result.data["tickets"]["totalCount"], result.data["tickets"]["totalCountIsExact"]) == (8, True)


@pytest.mark.parametrize("page_size", [3, 30])
async def test_nested_counts_are_one_statement_for_the_page_and_never_count_notes_for_reps(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter, page_size: int
) -> None:
    # given: 30 tickets of 4 messages, one of them an internal note
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    for _ in range(30):
        ticket = await tickets.ticket(rep, new, company=await rep.company)
        for index in range(4):
            await tickets.message(ticket, agent, f"m{index}", internal=index == 2)
    for user, per_ticket in ((agent, 4), (rep, 3)):
        sql_statements.statements.clear()
        # when
        data = (await factory.execute(THREADS_COUNTED, {"first": page_size}, user=user))["tickets"]
        # then
        assert data["totalCount"] == 30
        assert [edge["node"]["messages"]["totalCount"] for edge in data["edges"]] == [per_ticket] * page_size
        # the page, its count, the message pages, the message counts: whatever the page size
        assert len(sql_statements.statements) == 4, sql_statements.statements


async def test_ticket_counts_group_the_visible_set(factory: Factory, tickets: TicketFactory) -> None:
    # given
    world = await _world(factory, tickets)

    async def counts(user: object, group_by: list[str], where: dict | None = None) -> list[tuple]:
        data = await factory.execute(COUNTS, {"groupBy": group_by, "filter": where}, user=user)  # type: ignore[arg-type]
        return [
            (row["count"], row["state"], row["awaitingReturn"], (row["status"] or {}).get("name"),
             (row["assignee"] or {}).get("name"), (row["classification"] or {}).get("name"))
            for row in data["ticketCounts"]
        ]

    agent, other = world["agent"], world["other"]
    assert isinstance(agent, User) and isinstance(other, User)
    # when / then: the rep's tabs ("Em aberto 4 · Finalizados 1 · Aguardando retorno 1"), their company's only
    assert await counts(world["rep"], ["STATE"]) == [(4, "OPEN", None, None, None, None),
                                                     (1, "CLOSED", None, None, None, None)]
    assert await counts(world["rep"], ["AWAITING_RETURN"]) == [(4, None, False, None, None, None),
                                                               (1, None, True, None, None, None)]
    assert await counts(world["globex rep"], ["STATE"]) == [(3, "OPEN", None, None, None, None)]
    assert await counts(world["rep"], []) == [(5, None, None, None, None, None)]
    # a supervisor's tiles, by status within state, by assignee, by classification, filtered
    assert await counts(world["supervisor"], ["STATE", "STATUS"]) == [
        (4, "OPEN", None, "Novo", None, None),
        (3, "OPEN", None, "Aguardando", None, None),
        (1, "CLOSED", None, "Novo", None, None),
    ]
    assert await counts(world["supervisor"], ["ASSIGNEE"]) == [
        (5, None, None, None, None, None), (2, None, None, None, agent.name, None),
        (1, None, None, None, other.name, None),
    ]
    assert await counts(world["supervisor"], ["CLASSIFICATION"], {"state": "OPEN"}) == [
        (5, None, None, None, None, None), (2, None, None, None, None, "Financeiro"),
    ]
    # an agent counts only the tickets routed to them or to nobody
    assert await counts(agent, ["ASSIGNEE"]) == [(5, None, None, None, None, None),
                                                 (2, None, None, None, agent.name, None)]
