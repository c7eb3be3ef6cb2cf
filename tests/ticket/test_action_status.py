"""Actions have a status ("status da ação"), a responsible and a date: pending now, done later
(ticketActionUpdate); each operator has the list of their pending actions with due dates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from contato.settings import Settings
from models.event import Event
from models.ticket import NonConformity, TicketAction, TicketActionStatus, TicketState
from models.ticket_catalog import TicketStatus
from models.user import Role, User
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

ACTION_UPDATE = """
mutation Update($id: ID!, $input: TicketActionUpdateInput!, $notify: Boolean) {
  ticketActionUpdate(actionId: $id, input: $input, notifyCustomer: $notify) {
    __typename
    ... on TicketAction { status dueDate responsible { id } }
    ... on TicketError { code field }
  }
}
"""

PENDING = """
query Pending($first: Int) {
  myPendingActions(first: $first) {
    edges { node { id status dueDate definition { name } ticket { number status { name } } } }
  }
}
"""


async def _action(
    tickets: TicketFactory, performer: User, responsible: User | None, **values: object
) -> TicketAction:
    status = await TicketStatus.first() or await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(performer, status)
    definition = await tickets.action(f"Visita {ticket.pk}")
    return await TicketAction.create(
        ticket=ticket, definition=definition, responsible=responsible, performed_by=performer, **values
    )


async def test_a_pending_action_is_done_later(factory: Factory, tickets: TicketFactory) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    colleague = await factory.user(Role.AGENT)
    action = await _action(tickets, agent, agent, status=TicketActionStatus.PENDING, due_date=date(2026, 12, 20))
    # when
    data = await factory.execute(
        ACTION_UPDATE,
        {"id": str(action.pk), "input": {"status": "DONE", "dueDate": "2026-12-21", "responsibleId": str(colleague.pk)}},
        user=agent,
    )
    # then
    assert data["ticketActionUpdate"] == {
        "__typename": "TicketAction",
        "status": "DONE",
        "dueDate": "2026-12-21",
        "responsible": {"id": str(colleague.pk)},
    }
    event = await Event.get(kind="TICKET_UPDATED")
    assert event.data == {"action_id": action.pk, "changed": ["dueDate", "responsibleId", "status"]}


async def test_action_update_rules_are_typed_errors(factory: Factory, tickets: TicketFactory) -> None:
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    action = await _action(tickets, agent, agent, status=TicketActionStatus.PENDING)
    watched = await tickets.status("Em análise", email_on_change=True)
    asks = await _action(tickets, agent, agent, status=TicketActionStatus.PENDING)
    await asks.fetch_related("ticket")
    asks.ticket.status_id = watched.pk
    await asks.ticket.save()
    closed = await _action(tickets, agent, agent, status=TicketActionStatus.PENDING)
    await closed.fetch_related("ticket")
    closed.ticket.state = TicketState.CLOSED
    await closed.ticket.save()
    cases = [
        (agent, "999", {"status": "DONE"}, "NOT_FOUND", "actionId"),
        (agent, str(action.pk), {"responsibleId": str(rep.pk)}, "INVALID_RESPONSIBLE", "responsibleId"),
        (rep, str(action.pk), {"status": "DONE"}, "FORBIDDEN", None),
        (agent, str(closed.pk), {"status": "DONE"}, "TICKET_CLOSED", "ticketId"),
        (agent, str(asks.pk), {"status": "DONE"}, "CONFIRMATION_REQUIRED", "notifyCustomer"),
    ]
    for user, action_id, changes, code, field in cases:
        data = await factory.execute(ACTION_UPDATE, {"id": action_id, "input": changes}, user=user)
        result = data["ticketActionUpdate"]
        assert (result["__typename"], result["code"], result["field"]) == ("TicketError", code, field), changes
    assert await TicketAction.filter(status=TicketActionStatus.DONE).count() == 0
    assert await Event.all().count() == 0


async def test_each_operator_lists_their_pending_actions_in_a_fixed_number_of_statements(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter
) -> None:
    # given: 20 pending actions for the agent, some done, some for someone else
    agent = await factory.user(Role.AGENT)
    other = await factory.user(Role.AGENT)
    mine = [
        await _action(tickets, agent, agent, status=TicketActionStatus.PENDING, due_date=date(2026, 12, day))
        for day in range(1, 21)
    ]
    await _action(tickets, agent, agent, status=TicketActionStatus.DONE)
    await _action(tickets, agent, other, status=TicketActionStatus.PENDING)
    sql_statements.statements.clear()
    # when
    data = await factory.execute(PENDING, {"first": 50}, user=agent)
    # then: the page, the definitions, the tickets and their statuses (plus the user's own row)
    nodes = [edge["node"] for edge in data["myPendingActions"]["edges"]]
    assert [node["id"] for node in nodes] == [str(row.pk) for row in mine]
    assert nodes[0]["dueDate"] == "2026-12-01" and all(node["status"] == "PENDING" for node in nodes)
    assert len(sql_statements.statements) <= 6, sql_statements.statements


PERFORM = """
mutation Perform($input: TicketActionPerformInput!) {
  ticketActionPerform(input: $input) {
    __typename ... on TicketAction { nonConformity { number } } ... on TicketError { code field }
  }
}
"""


async def test_the_non_conformity_integration_switch(factory: Factory, tickets: TicketFactory) -> None:
    # given: an action that raises a non-conformity ("FNC"), on a ticket
    agent = await factory.user(Role.AGENT)
    status = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(agent, status)
    definition = await tickets.action("Registrar FNC", raises_non_conformity=True)
    variables = {"input": {"ticketId": str(ticket.pk), "definitionId": str(definition.pk)}}
    # when: the integration on (MV_QLYXCAL, the default)
    assert factory.settings.non_conformity_integration is True
    on = await factory.execute(PERFORM, variables, user=agent)
    # then
    assert on["ticketActionPerform"]["nonConformity"]["number"].startswith("NC-")
    # when: off, the action is recorded and raises nothing
    off_settings = replace(factory.settings, non_conformity_integration=False)
    off = await factory.execute_raw(PERFORM, variables, user=agent, settings=off_settings)
    assert off.data["ticketActionPerform"] == {"__typename": "TicketAction", "nonConformity": None}
    assert await NonConformity.all().count() == 1
    assert Settings.from_env({"NON_CONFORMITY_INTEGRATION": "false"}).non_conformity_integration is False


LISTS = """
query Lists($filter: TicketRecordFilter) {
  serviceOrders(filter: $filter) { edges { node { serviceOrderNumber ticket { id } } } }
  nonConformities(filter: $filter) { edges { node { number } } }
}
"""


async def test_service_orders_and_non_conformities_are_listed_and_filtered(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter
) -> None:
    # given: two tickets, each with an action that opens a service order and raises a non-conformity
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    status = await tickets.status("Novo", initial=True)
    definition = await tickets.action("Troca", opens_service_order=True, raises_non_conformity=True)
    first = await tickets.ticket(supervisor, status)
    second = await tickets.ticket(supervisor, status)
    for ticket in (first, second, second):
        data = await factory.execute(
            PERFORM, {"input": {"ticketId": str(ticket.pk), "definitionId": str(definition.pk)}}, user=supervisor
        )
        assert data["ticketActionPerform"]["__typename"] == "TicketAction"
    # when: everything, then by ticket, then by number
    sql_statements.statements.clear()
    everything = await factory.execute(LISTS, user=supervisor)
    statements = len(sql_statements.statements)
    by_ticket = await factory.execute(LISTS, {"filter": {"ticketId": str(second.pk)}}, user=supervisor)
    by_number = await factory.execute(LISTS, {"filter": {"number": "000001"}}, user=supervisor)
    # then
    assert len(everything["serviceOrders"]["edges"]) == 3 and len(everything["nonConformities"]["edges"]) == 3
    assert statements <= 4, sql_statements.statements  # two pages, their tickets (one batch), the user
    assert [edge["node"]["ticket"]["id"] for edge in by_ticket["serviceOrders"]["edges"]] == [str(second.pk)] * 2
    assert len(by_ticket["nonConformities"]["edges"]) == 2
    assert [edge["node"]["serviceOrderNumber"][-6:] for edge in by_number["serviceOrders"]["edges"]] == ["000001"]
    assert [edge["node"]["number"][-6:] for edge in by_number["nonConformities"]["edges"]] == ["000001"]
    # a company rep sees neither (actions are the operator's)
    hidden = await factory.execute(LISTS, user=rep)
    assert hidden == {"serviceOrders": {"edges": []}, "nonConformities": {"edges": []}}


PENDING_PAGE = """
query Pending($first: Int, $after: String, $last: Int, $before: String) {
  myPendingActions(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id dueDate } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


async def test_pending_actions_come_by_due_date_nulls_last_across_pages(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: due dates out of id order, two without a date, two on the same day
    agent = await factory.user(Role.AGENT)
    due = [date(2026, 12, 9), None, date(2026, 12, 3), date(2026, 12, 9), None, date(2026, 12, 1), date(2026, 12, 3)]
    rows = [await _action(tickets, agent, agent, status=TicketActionStatus.PENDING, due_date=day) for day in due]
    expected = [
        row.pk for row in sorted(rows, key=lambda row: (row.due_date is None, row.due_date or date.min, row.pk))
    ]
    # when: pages of 2 forward, then back from the end
    forward: list[int] = []
    after = None
    while True:
        page = (await factory.execute(PENDING_PAGE, {"first": 2, "after": after}, user=agent))["myPendingActions"]
        assert page["totalCount"] == len(rows)
        forward += [int(edge["node"]["id"]) for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    backward: list[int] = []
    before = None
    while True:
        page = (await factory.execute(PENDING_PAGE, {"last": 2, "before": before}, user=agent))["myPendingActions"]
        backward = [int(edge["node"]["id"]) for edge in page["edges"]] + backward
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    # then: by due date, the undated last, ties by id; the same rows both ways
    assert forward == expected
    assert backward == expected
    # and a page boundary inside the undated ones holds
    cut = (await factory.execute(PENDING_PAGE, {"first": 6}, user=agent))["myPendingActions"]
    rest = await factory.execute(PENDING_PAGE, {"first": 5, "after": cut["pageInfo"]["endCursor"]}, user=agent)
    assert [int(edge["node"]["id"]) for edge in rest["myPendingActions"]["edges"]] == expected[6:]
