from datetime import UTC, datetime, timedelta

import pytest

from models.ticket import Ticket, TicketState
from models.user import Role
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

TICKETS = """
query Tickets($filter: TicketFilter, $first: Int, $after: String) {
  tickets(filter: $filter, first: $first, after: $after) {
    edges { node { id subject } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

TICKET = """
query Ticket($id: ID!, $first: Int, $after: String) {
  ticket(id: $id) {
    id
    messages(first: $first, after: $after) {
      edges { cursor node { body internal } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

AWAITING = "query { ticketsAwaitingReturn { edges { node { id awaitingReturn } } } }"

TICKETS_WITH_THREADS = """
query Tickets($first: Int) {
  tickets(first: $first) {
    edges { node {
      number status { name } company { name } assignee { name } openedBy { name }
      classification { name } children { id }
      messages(first: 10) { edges { node { body author { name } attachments { fileName } } } }
    } }
  }
}
"""


def ids(data: dict, field: str = "tickets") -> list[str]:
    return [edge["node"]["id"] for edge in data[field]["edges"]]


async def test_visibility_by_role_in_lists_and_by_id(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: two companies, two agents, tickets assigned and unassigned
    rep = await factory.user(Role.COMPANY_REP)
    other_rep = await factory.user(Role.COMPANY_REP)
    alice = await factory.user(Role.AGENT)
    bruno = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    admin = await factory.user(Role.ADMIN)
    new = await tickets.status("Novo", initial=True)
    own_unassigned = await tickets.ticket(rep, new, company=await rep.company)
    own_alice = await tickets.ticket(rep, new, company=await rep.company, assignee=alice)
    other_bruno = await tickets.ticket(
        other_rep, new, company=await other_rep.company, assignee=bruno
    )
    every = [own_unassigned, own_alice, other_bruno]
    expected = {
        rep: [own_unassigned, own_alice],
        other_rep: [other_bruno],
        alice: [own_unassigned, own_alice],
        bruno: [own_unassigned, other_bruno],
        supervisor: every,
        admin: every,
    }
    for user, visible in expected.items():
        # when
        listed = await factory.execute(TICKETS, {}, user=user)
        # then
        assert ids(listed) == [str(ticket.pk) for ticket in visible], user.role
        for ticket in every:
            found = await factory.execute(TICKET, {"id": str(ticket.pk)}, user=user)
            assert (found["ticket"] is not None) == (ticket in visible), (user.role, ticket.pk)


async def test_reps_never_get_internal_notes(factory: Factory, tickets: TicketFactory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(rep, new, company=await rep.company)
    await tickets.message(ticket, rep, "Pergunta")
    await tickets.message(ticket, agent, "Cliente difícil", internal=True)
    await tickets.message(ticket, agent, "Resposta")
    for user, bodies in (
        (rep, ["Pergunta", "Resposta"]),
        (agent, ["Pergunta", "Cliente difícil", "Resposta"]),
    ):
        data = await factory.execute(TICKET, {"id": str(ticket.pk)}, user=user)
        assert [edge["node"]["body"] for edge in data["ticket"]["messages"]["edges"]] == bodies


async def test_messages_page_by_cursor(factory: Factory, tickets: TicketFactory) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(agent, new)
    for index in range(5):
        await tickets.message(ticket, agent, f"m{index}")
    seen, after = [], None
    while True:
        data = await factory.execute(
            TICKET, {"id": str(ticket.pk), "first": 2, "after": after}, user=agent
        )
        page = data["ticket"]["messages"]
        seen += [edge["node"]["body"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"m{index}" for index in range(5)]


async def test_filters(factory: Factory, tickets: TicketFactory) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    company = await factory.company()
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando")
    root = await tickets.classification("Financeiro")
    sub = await tickets.classification("Cobrança", parent=root)
    a = await tickets.ticket(
        supervisor, new, company=company, subject="Fatura duplicada", classification=root
    )
    b = await tickets.ticket(supervisor, waiting, assignee=agent, subject="Sem sinal")
    c = await tickets.ticket(supervisor, new, state=TicketState.CLOSED, subject="Senha")
    await Ticket.filter(id=b.pk).update(subclassification_id=sub.pk)
    await Ticket.filter(id=a.pk).update(
        return_due_at=datetime.now(UTC) - timedelta(hours=1)
    )
    await Ticket.filter(id=b.pk).update(
        return_due_at=datetime.now(UTC) + timedelta(days=1)
    )
    cases = [
        ({"state": "OPEN"}, [a, b]),
        ({"state": "CLOSED"}, [c]),
        ({"state": "ALL"}, [a, b, c]),
        ({"companyId": str(company.pk)}, [a]),
        ({"statusId": str(waiting.pk)}, [b]),
        ({"assigneeId": str(agent.pk)}, [b]),
        ({"unassigned": True}, [a, c]),
        ({"classificationId": str(root.pk)}, [a]),
        ({"classificationId": str(sub.pk)}, [b]),
        ({"awaitingReturn": True}, [a]),
        ({"text": "fatura"}, [a]),
        ({"text": a.number}, [a]),
    ]
    for where, expected in cases:
        data = await factory.execute(TICKETS, {"filter": where}, user=supervisor)
        assert ids(data) == [str(ticket.pk) for ticket in expected], where
    awaiting = await factory.execute(AWAITING, user=supervisor)
    assert awaiting["ticketsAwaitingReturn"]["edges"] == [
        {"node": {"id": str(a.pk), "awaitingReturn": True}}
    ]


@pytest.mark.parametrize("page_size", [5, 50])
async def test_a_page_of_tickets_with_threads_costs_a_fixed_number_of_statements(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter, page_size: int
) -> None:
    # given: 50 tickets with 10 messages each, each message with a file
    rep = await factory.user(Role.COMPANY_REP)
    agents = [await factory.user(Role.AGENT) for _ in range(3)]
    supervisor = await factory.user(Role.SUPERVISOR)
    new = await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    company = await rep.company
    for index in range(50):
        ticket = await tickets.ticket(
            rep, new, company=company, assignee=agents[index % 3], classification=root
        )
        for number in range(10):
            await tickets.message(ticket, agents[number % 3], f"m{number}", files=1)
    sql_statements.statements.clear()
    # when
    data = await factory.execute(TICKETS_WITH_THREADS, {"first": page_size}, user=supervisor)
    # then
    edges = data["tickets"]["edges"]
    assert len(edges) == page_size
    assert all(len(edge["node"]["messages"]["edges"]) == 10 for edge in edges)
    # page, statuses, companies, users (assignees and openers; the authors are the same agents,
    # already loaded), classifications, children, messages (one windowed query), attachments
    assert len(sql_statements.statements) == 8, sql_statements.statements
