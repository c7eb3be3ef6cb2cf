"""The customer e-mail rule on every mutation that changes a ticket.

Entering an `emailOnEnter` status, or any change to a ticket in an `emailOnChange` status, asks the
operator (CONFIRMATION_REQUIRED, nothing written) until the mutation says notifyCustomer; true
sends the mail (checked on a real SMTP server on loopback), false does not. Company reps are the
customer: their own changes never ask and never e-mail.
"""

from __future__ import annotations

from typing import Any

import pytest

from models.event import Event
from models.ticket import OutboxMail, Ticket, TicketAction, TicketMessage, TicketState
from models.user import Role, User
from tests.factories import Factory
from tests.ticket.conftest import Inbox, deliver
from tests.ticket_factories import TicketFactory, upload

TICKET_OPEN = """
mutation TicketOpen($input: TicketOpenInput!) {
  ticketOpen(input: $input) {
    __typename
    ... on Ticket { id number status { name } }
    ... on TicketError { code field message }
  }
}
"""

ASSIGN = """
mutation Assign($ticketId: ID!, $assigneeId: ID, $notify: Boolean) {
  ticketAssign(ticketId: $ticketId, assigneeId: $assigneeId, notifyCustomer: $notify) {
    __typename
    ... on Ticket { assignee { id } }
    ... on TicketError { code field message }
  }
}
"""

REOPEN = """
mutation Reopen($ticketId: ID!, $notify: Boolean) {
  ticketReopen(ticketId: $ticketId, notifyCustomer: $notify) {
    __typename
    ... on Ticket { state status { name } }
    ... on TicketError { code field message }
  }
}
"""

CHILD_CREATE = """
mutation Child($parentId: ID!, $input: TicketChildCreateInput!) {
  ticketChildCreate(parentId: $parentId, input: $input) {
    __typename
    ... on Ticket { id number status { name } }
    ... on TicketError { code field message }
  }
}
"""

STATUS_CHANGE = """
mutation StatusChange($ticketId: ID!, $statusId: ID!, $notify: Boolean) {
  ticketStatusChange(ticketId: $ticketId, statusId: $statusId, notifyCustomer: $notify) {
    __typename
    ... on TicketError { code field }
  }
}
"""

MESSAGE_ADD = """
mutation MessageAdd($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code field } }
}
"""

CLOSE = """
mutation Close($ticketId: ID!, $reasonId: ID, $notify: Boolean) {
  ticketClose(ticketId: $ticketId, closureReasonId: $reasonId, notifyCustomer: $notify) {
    __typename
    ... on TicketError { code field }
  }
}
"""

ACTION_PERFORM = """
mutation Action($input: TicketActionPerformInput!) {
  ticketActionPerform(input: $input) { __typename ... on TicketError { code field } }
}
"""


def open_input(classification_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "subject": "Fatura em duplicidade",
        "body": "Recebemos duas faturas de março.",
        "contactName": "Rita",
        "contactPhone": "+5511999990000",
        "contactEmail": "rita@acme.test",
        "classificationId": str(classification_id),
        **overrides,
    }


async def nothing_written() -> None:
    assert await Ticket.all().count() == 0
    assert await TicketMessage.all().count() == 0
    assert await OutboxMail.all().count() == 0
    assert await Event.all().count() == 0


async def test_opening_into_an_email_on_enter_status_asks_the_operator(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given: the initial status e-mails the customer on entering
    agent = await factory.user(Role.AGENT)
    await tickets.status("Recebido", initial=True, email_on_enter=True)
    root = await tickets.classification()
    # when: the dashboard did not ask (and sent a file)
    data = await factory.execute(
        TICKET_OPEN, {"input": open_input(root.pk, files=[upload()])}, user=agent
    )
    # then: a typed error says so, and nothing was written, not even the file
    error = data["ticketOpen"]
    assert (error["code"], error["field"]) == ("CONFIRMATION_REQUIRED", "notifyCustomer")
    assert "Recebido" in error["message"]
    await nothing_written()
    upload_dir = factory.settings.upload_dir
    assert not upload_dir.exists() or [p for p in upload_dir.rglob("*") if p.is_file()] == []
    # when: the operator declines
    declined = await factory.execute(
        TICKET_OPEN, {"input": open_input(root.pk, notifyCustomer=False)}, user=agent
    )
    # then: the ticket opens without mail
    assert declined["ticketOpen"]["status"] == {"name": "Recebido"}
    assert await OutboxMail.all().count() == 0
    # when: the operator confirms
    confirmed = await factory.execute(
        TICKET_OPEN, {"input": open_input(root.pk, notifyCustomer=True)}, user=agent
    )
    # then: the customer gets one mail about that ticket
    number = confirmed["ticketOpen"]["number"]
    assert await deliver(factory.settings, smtp_port) == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["rita@acme.test"]
    assert number in message["Subject"] and "Recebido" in message.get_payload()


async def test_a_rep_opening_a_ticket_is_not_asked_and_not_mailed(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Recebido", initial=True, email_on_enter=True)
    root = await tickets.classification()
    # when: with and without notifyCustomer
    for extra in ({}, {"notifyCustomer": True}):
        data = await factory.execute(TICKET_OPEN, {"input": open_input(root.pk, **extra)}, user=rep)
        # then
        assert data["ticketOpen"]["__typename"] == "Ticket", extra
    assert await Ticket.all().count() == 2
    assert await OutboxMail.all().count() == 0


async def test_assigning_a_ticket_in_an_email_on_change_status_asks_the_operator(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    watched = await tickets.status("Em negociação", initial=True, email_on_change=True)
    ticket = await tickets.ticket(agent, watched)
    variables = {"ticketId": str(ticket.pk), "assigneeId": str(agent.pk)}
    # when: the agent takes it without asking the operator
    data = await factory.execute(ASSIGN, variables, user=agent)
    # then
    error = data["ticketAssign"]
    assert (error["code"], error["field"]) == ("CONFIRMATION_REQUIRED", "notifyCustomer")
    assert "Em negociação" in error["message"]
    assert (await Ticket.get(id=ticket.pk)).assignee_id is None
    assert await Event.all().count() == 0 and await OutboxMail.all().count() == 0
    # when: declined, it is assigned without mail; then the supervisor unassigns, confirming
    taken = await factory.execute(ASSIGN, {**variables, "notify": False}, user=agent)
    assert taken["ticketAssign"]["assignee"] == {"id": str(agent.pk)}
    assert await OutboxMail.all().count() == 0
    asked = await factory.execute(ASSIGN, {**variables, "assigneeId": None}, user=supervisor)
    assert asked["ticketAssign"]["code"] == "CONFIRMATION_REQUIRED"
    freed = await factory.execute(
        ASSIGN, {**variables, "assigneeId": None, "notify": True}, user=supervisor
    )
    # then
    assert freed["ticketAssign"]["assignee"] is None
    assert await deliver(factory.settings, smtp_port) == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["rita@acme.test"] and ticket.number in message["Subject"]
    # and giving it to whom already has it changes nothing, so it does not ask
    same = await factory.execute(ASSIGN, {**variables, "assigneeId": None}, user=supervisor)
    assert same["ticketAssign"]["__typename"] == "Ticket"


async def test_reopening_asks_when_it_enters_an_email_on_enter_status(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given: a closed ticket; the initial status e-mails on entering
    agent = await factory.user(Role.AGENT)
    await tickets.status("Recebido", initial=True, email_on_enter=True)
    done = await tickets.status("Concluído", allows_closing=True)
    ticket = await tickets.ticket(agent, done, state=TicketState.CLOSED)
    # when
    data = await factory.execute(REOPEN, {"ticketId": str(ticket.pk)}, user=agent)
    # then
    assert (data["ticketReopen"]["code"], data["ticketReopen"]["field"]) == (
        "CONFIRMATION_REQUIRED",
        "notifyCustomer",
    )
    assert (await Ticket.get(id=ticket.pk)).state == TicketState.CLOSED
    assert await Event.all().count() == 0
    # when: confirmed
    data = await factory.execute(REOPEN, {"ticketId": str(ticket.pk), "notify": True}, user=agent)
    # then
    assert data["ticketReopen"] == {
        "__typename": "Ticket",
        "state": "OPEN",
        "status": {"name": "Recebido"},
    }
    assert await deliver(factory.settings, smtp_port) == 1
    [body] = inbox.bodies()
    assert "reaberto" in body and "Recebido" in body  # pt-BR, the default MAIL_LOCALE


async def test_reopening_a_ticket_closed_in_an_email_on_change_status_asks(
    factory: Factory, tickets: TicketFactory
) -> None:
    agent = await factory.user(Role.AGENT)
    await tickets.status("Novo", initial=True)
    done = await tickets.status("Concluído", allows_closing=True, email_on_change=True)
    ticket = await tickets.ticket(agent, done, state=TicketState.CLOSED)
    data = await factory.execute(REOPEN, {"ticketId": str(ticket.pk)}, user=agent)
    assert data["ticketReopen"]["code"] == "CONFIRMATION_REQUIRED"
    assert "Concluído" in data["ticketReopen"]["message"]
    data = await factory.execute(REOPEN, {"ticketId": str(ticket.pk), "notify": False}, user=agent)
    assert data["ticketReopen"]["state"] == "OPEN"
    assert await OutboxMail.all().count() == 0


async def test_a_child_entering_an_email_on_enter_status_asks_the_operator(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    await tickets.status("Recebido", initial=True, email_on_enter=True)
    quiet = await tickets.status("Em análise")
    parent = await tickets.ticket(agent, quiet)
    variables: dict[str, Any] = {"parentId": str(parent.pk), "input": {"body": "Abrir visita."}}
    # when
    data = await factory.execute(CHILD_CREATE, variables, user=agent)
    # then
    assert (data["ticketChildCreate"]["code"], data["ticketChildCreate"]["field"]) == (
        "CONFIRMATION_REQUIRED",
        "notifyCustomer",
    )
    assert await Ticket.all().count() == 1 and await Event.all().count() == 0
    # when: confirmed
    variables["input"]["notifyCustomer"] = True
    child = (await factory.execute(CHILD_CREATE, variables, user=agent))["ticketChildCreate"]
    # then: the customer hears about the child ticket
    assert child["status"] == {"name": "Recebido"}
    assert await deliver(factory.settings, smtp_port) == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["rita@acme.test"]
    assert child["number"] in message["Subject"] and parent.number in message.get_payload()


async def change_by(
    mutation: str, factory: Factory, tickets: TicketFactory, ticket: Ticket, user: User
) -> tuple[str, dict[str, Any], str]:
    """The document, variables and result field of one change to `ticket`."""
    if mutation == "ticketMessageAdd":
        return MESSAGE_ADD, {"input": {"ticketId": str(ticket.pk), "body": "Proposta."}}, mutation
    if mutation == "ticketStatusChange":
        other = await tickets.status("Em análise")
        return STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(other.pk)}, mutation
    if mutation == "ticketAssign":
        return ASSIGN, {"ticketId": str(ticket.pk), "assigneeId": str(user.pk)}, mutation
    if mutation == "ticketClose":
        reason = await tickets.closure_reason()
        return CLOSE, {"ticketId": str(ticket.pk), "reasonId": str(reason.pk)}, mutation
    if mutation == "ticketActionPerform":
        definition = await tickets.action("Ligar para o cliente")
        variables = {"input": {"ticketId": str(ticket.pk), "definitionId": str(definition.pk)}}
        return ACTION_PERFORM, variables, mutation
    if mutation == "ticketChildCreate":
        return CHILD_CREATE, {"parentId": str(ticket.pk), "input": {"body": "Filho."}}, mutation
    raise AssertionError(mutation)


@pytest.mark.parametrize(
    "mutation",
    [
        "ticketMessageAdd",
        "ticketStatusChange",
        "ticketAssign",
        "ticketClose",
        "ticketActionPerform",
    ],
)
async def test_every_change_to_a_ticket_in_an_email_on_change_status_asks(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int, mutation: str
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    watched = await tickets.status(
        "Em negociação", initial=True, email_on_change=True, allows_closing=True
    )
    ticket = await tickets.ticket(agent, watched)
    document, variables, field = await change_by(mutation, factory, tickets, ticket, agent)
    # when
    asked = await factory.execute(document, variables, user=agent)
    # then: nothing changed
    assert (asked[field]["code"], asked[field]["field"]) == (
        "CONFIRMATION_REQUIRED",
        "notifyCustomer",
    ), mutation
    unchanged = await Ticket.get(id=ticket.pk)
    assert (unchanged.status_id, unchanged.assignee_id, unchanged.state) == (
        watched.pk,
        None,
        TicketState.OPEN,
    )
    assert await TicketMessage.all().count() == 0 and await TicketAction.all().count() == 0
    assert await Event.all().count() == 0
    # when: confirmed
    confirmed = _with_notify(variables)
    done = await factory.execute(document, confirmed, user=agent)
    # then: done, and the customer got one mail
    assert done[field]["__typename"] != "TicketError", done
    assert await deliver(factory.settings, smtp_port) == 1
    assert [recipients for recipients, _ in inbox.messages] == [["rita@acme.test"]]


def _with_notify(variables: dict[str, Any]) -> dict[str, Any]:
    if "input" in variables:
        return {**variables, "input": {**variables["input"], "notifyCustomer": True}}
    return {**variables, "notify": True}


async def test_creating_a_child_does_not_change_the_parent(
    factory: Factory, tickets: TicketFactory
) -> None:
    """The child is what changes (the parent is not touched), so only the child's status can ask."""
    agent = await factory.user(Role.AGENT)
    watched = await tickets.status("Em negociação", initial=True, email_on_change=True)
    ticket = await tickets.ticket(agent, watched)
    document, variables, field = await change_by(
        "ticketChildCreate", factory, tickets, ticket, agent
    )
    data = await factory.execute(document, variables, user=agent)
    assert data[field]["__typename"] == "Ticket"
    assert await OutboxMail.all().count() == 0
