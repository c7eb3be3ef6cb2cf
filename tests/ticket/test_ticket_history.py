"""Ticket.history (issue 16): an append-only entry per change, with who and when, written in the
transaction of the change; closures survive a reopening; reps read the ticket's life only."""

from __future__ import annotations

from typing import Any

import pytest

from models.history import TicketHistoryEntry
from models.ticket import Ticket
from models.user import Role
from resolvers.ticket import writes as writes_module
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.ticket.test_ticket_lifecycle import ASSIGN, CLOSE, REOPEN, STATUS_CHANGE
from tests.ticket.test_ticket_open import TICKET_OPEN, open_input
from tests.ticket_factories import TicketFactory

HISTORY = """
query History($id: ID!, $last: Int) {
  ticket(id: $id) {
    state closureReason { name }
    history(last: $last) {
      edges { node {
        kind createdAt actor { id }
        fromStatus { name } toStatus { name } fromAssignee { id } toAssignee { id } closureReason { name }
        classification { name } subclassification { name }
      } }
    }
  }
}
"""

TICKETS_WITH_HISTORY = """
query Tickets($first: Int) {
  tickets(first: $first) {
    edges { node { number history { edges { cursor node { kind createdAt actor { name } toStatus { name } } } } } }
  }
}
"""


def entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in data["ticket"]["history"]["edges"]]


async def test_each_change_is_kept_with_who_and_when_and_a_closure_survives_the_reopening(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: a rep opens a classified ticket; an agent works it, closes it and reopens it
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    await tickets.status("Novo", initial=True)
    done = await tickets.status("Resolvido", allows_closing=True, email_on_enter=True)
    reason = await tickets.closure_reason("Resolvido por telefone")
    root = await tickets.classification("Financeiro")
    sub = await tickets.classification("Cobrança", parent=root)
    opened = await factory.execute(
        TICKET_OPEN, {"input": open_input(classificationId=str(root.pk), subclassificationId=str(sub.pk))}, user=rep
    )
    ticket_id = opened["ticketOpen"]["id"]
    steps = [
        (ASSIGN, {"assigneeId": str(agent.pk)}, agent),
        (STATUS_CHANGE, {"statusId": str(done.pk), "notify": True}, agent),
        (CLOSE, {"reasonId": str(reason.pk)}, agent),
        (REOPEN, {}, supervisor),
    ]
    for document, variables, user in steps:
        data = await factory.execute(document, {"ticketId": ticket_id, **variables}, user=user)
        assert next(iter(data.values()))["__typename"] == "Ticket"
    # when
    data = await factory.execute(HISTORY, {"id": ticket_id}, user=supervisor)
    # then: the reopened ticket forgot its closure; its history did not
    assert data["ticket"]["state"] == "OPEN" and data["ticket"]["closureReason"] is None
    history = entries(data)
    assert [(entry["kind"], entry["actor"]["id"]) for entry in history] == [
        ("OPENED", str(rep.pk)),
        ("ASSIGNED", str(agent.pk)),
        ("STATUS_CHANGED", str(agent.pk)),
        ("EMAIL_QUEUED", str(agent.pk)),
        ("CLOSED", str(agent.pk)),
        ("REOPENED", str(supervisor.pk)),
    ]
    opened_entry, assigned, changed, _, closed, reopened = history
    assert opened_entry["toStatus"] == {"name": "Novo"}
    assert (opened_entry["classification"], opened_entry["subclassification"]) == (
        {"name": "Financeiro"}, {"name": "Cobrança"}
    )
    assert (assigned["fromAssignee"], assigned["toAssignee"]) == (None, {"id": str(agent.pk)})
    assert (changed["fromStatus"], changed["toStatus"]) == ({"name": "Novo"}, {"name": "Resolvido"})
    assert closed["closureReason"] == {"name": "Resolvido por telefone"}
    assert closed["fromStatus"] == {"name": "Resolvido"}
    assert reopened["closureReason"] == {"name": "Resolvido por telefone"}
    assert (reopened["fromStatus"], reopened["toStatus"]) == ({"name": "Resolvido"}, {"name": "Novo"})
    assert [entry["createdAt"] for entry in history] == sorted(entry["createdAt"] for entry in history)
    # and `last` pages from the latest
    latest = await factory.execute(HISTORY, {"id": ticket_id, "last": 2}, user=supervisor)
    assert [entry["kind"] for entry in entries(latest)] == ["CLOSED", "REOPENED"]


async def test_a_change_that_fails_leaves_no_history(
    factory: Factory, tickets: TicketFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: recording the status change's event breaks, after the history entry was written
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando")
    ticket = await tickets.ticket(agent, new)
    original = writes_module.record

    async def failing_record(connection: Any, spec: Any) -> Any:
        if spec.kind == writes_module.TICKET_STATUS_CHANGED:
            raise RuntimeError("disk full")
        return await original(connection, spec)

    monkeypatch.setattr(writes_module, "record", failing_record)
    # when
    result = await factory.execute_raw(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)}, user=agent
    )
    # then: neither the change nor its entry
    assert result.errors[0].message == "Unexpected error."
    assert (await Ticket.get(id=ticket.pk)).status_id == new.pk
    assert await TicketHistoryEntry.all().count() == 0
    # and once it works, the entry is there
    monkeypatch.setattr(writes_module, "record", original)
    await factory.execute(STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)}, user=agent)
    assert [entry.kind for entry in await TicketHistoryEntry.all()] == ["STATUS_CHANGED"]


async def test_a_refused_change_writes_no_entry(factory: Factory, tickets: TicketFactory) -> None:
    # given: a status that does not allow closing
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    reason = await tickets.closure_reason()
    ticket = await tickets.ticket(agent, new)
    # when
    data = await factory.execute(CLOSE, {"ticketId": str(ticket.pk), "reasonId": str(reason.pk)}, user=agent)
    # then
    assert data["ticketClose"]["code"] == "CLOSING_NOT_ALLOWED"
    assert await TicketHistoryEntry.all().count() == 0


async def test_reps_read_the_tickets_life_but_not_the_operators_routing(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: a rep's ticket, assigned and moved by the operator; another company's ticket
    rep = await factory.user(Role.COMPANY_REP)
    other_rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando")
    root = await tickets.classification()
    opened = await factory.execute(TICKET_OPEN, {"input": open_input(classificationId=str(root.pk))}, user=rep)
    ticket_id = opened["ticketOpen"]["id"]
    await factory.execute(ASSIGN, {"ticketId": ticket_id, "assigneeId": str(agent.pk)}, user=agent)
    await factory.execute(STATUS_CHANGE, {"ticketId": ticket_id, "statusId": str(waiting.pk)}, user=agent)
    # when
    as_rep = await factory.execute(HISTORY, {"id": ticket_id}, user=rep)
    as_agent = await factory.execute(HISTORY, {"id": ticket_id}, user=agent)
    as_other_rep = await factory.execute(HISTORY, {"id": ticket_id}, user=other_rep)
    # then
    assert [entry["kind"] for entry in entries(as_rep)] == ["OPENED", "STATUS_CHANGED"]
    assert [entry["kind"] for entry in entries(as_agent)] == ["OPENED", "ASSIGNED", "STATUS_CHANGED"]
    assert as_other_rep["ticket"] is None
    assert entries(as_rep)[0]["toStatus"] == {"name": new.name}


@pytest.mark.parametrize("page_size", [5, 30])
async def test_a_page_of_tickets_with_their_history_costs_a_fixed_number_of_statements(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter, page_size: int
) -> None:
    # given: 30 tickets with four entries each, by three agents
    agents = [await factory.user(Role.AGENT) for _ in range(3)]
    supervisor = await factory.user(Role.SUPERVISOR)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando")
    for index in range(30):
        ticket = await tickets.ticket(agents[0], new)
        for step, status in enumerate((waiting, new, waiting, new)):
            await factory.execute(
                STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(status.pk)}, user=agents[(index + step) % 3]
            )
    sql_statements.statements.clear()
    # when
    data = await factory.execute(TICKETS_WITH_HISTORY, {"first": page_size}, user=supervisor)
    # then: the page, the entries of all its tickets (one query), their actors, their statuses
    edges = data["tickets"]["edges"]
    assert len(edges) == page_size
    assert all(len(edge["node"]["history"]["edges"]) == 4 for edge in edges)
    assert len(sql_statements.statements) == 4, sql_statements.statements
