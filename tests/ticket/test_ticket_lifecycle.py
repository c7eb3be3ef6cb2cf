from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from contato.settings import Settings, TicketCloseOpenChildren, TicketReturnFrom
from models.event import Event
from models.ticket import OutboxMail, Ticket, TicketMessage, TicketState
from models.user import Role
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

STATUS_CHANGE = """
mutation StatusChange($ticketId: ID!, $statusId: ID!, $notify: Boolean) {
  ticketStatusChange(ticketId: $ticketId, statusId: $statusId, notifyCustomer: $notify) {
    __typename
    ... on Ticket { id status { name } returnDueAt awaitingReturn }
    ... on TicketError { code field message }
  }
}
"""

CLOSE = """
mutation Close($ticketId: ID!, $reasonId: ID, $notify: Boolean) {
  ticketClose(ticketId: $ticketId, closureReasonId: $reasonId, notifyCustomer: $notify) {
    __typename
    ... on Ticket { state closedAt closureReason { name } returnDueAt }
    ... on TicketError { code field }
  }
}
"""

REOPEN = """
mutation Reopen($ticketId: ID!) {
  ticketReopen(ticketId: $ticketId) {
    __typename
    ... on Ticket { state closedAt status { name } }
    ... on TicketError { code field }
  }
}
"""

MESSAGE_ADD = """
mutation MessageAdd($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) {
    __typename
    ... on TicketMessage { id body internal author { id } ticket { id } }
    ... on TicketError { code field }
  }
}
"""

ASSIGN = """
mutation Assign($ticketId: ID!, $assigneeId: ID) {
  ticketAssign(ticketId: $ticketId, assigneeId: $assigneeId) {
    __typename
    ... on Ticket { assignee { id } }
    ... on TicketError { code field }
  }
}
"""


async def test_entering_a_status_with_return_days_sets_the_return_date(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando cliente", return_after_days=3)
    ticket = await tickets.ticket(agent, new)
    # when
    before = datetime.now(UTC)
    data = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)}, user=agent
    )
    # then
    result = data["ticketStatusChange"]
    assert result["status"] == {"name": "Aguardando cliente"}
    due = datetime.fromisoformat(result["returnDueAt"])
    # three days after the opening (TICKET_RETURN_FROM=OPENING), which was a moment ago
    assert due == (await Ticket.get(id=ticket.pk)).created_at + timedelta(days=3)
    assert before <= due - timedelta(days=2)
    assert result["awaitingReturn"] is False
    event = await Event.get(kind="TICKET_STATUS_CHANGED")
    assert event.data == {"from_status_id": new.pk, "status_id": waiting.pk}
    # and leaving it for a status without returns clears the date
    data = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(new.pk)}, user=agent
    )
    assert data["ticketStatusChange"]["returnDueAt"] is None


async def test_status_must_be_allowed_for_the_contact_type(
    factory: Factory, tickets: TicketFactory
) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    allowed = await tickets.status("Em análise")
    refused = await tickets.status("Faturado")
    retired = await tickets.status("Antigo", active=False)
    contact_type = await tickets.contact_type(statuses=[new, allowed])
    ticket = await tickets.ticket(agent, new, contact_type=contact_type)
    for status, code in ((refused, "STATUS_NOT_ALLOWED"), (retired, "UNKNOWN_STATUS")):
        data = await factory.execute(
            STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(status.pk)}, user=agent
        )
        assert (data["ticketStatusChange"]["code"], data["ticketStatusChange"]["field"]) == (
            code,
            "statusId",
        )
    data = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(allowed.pk)}, user=agent
    )
    assert data["ticketStatusChange"]["status"] == {"name": "Em análise"}


async def test_email_on_enter_asks_for_confirmation_then_queues_the_mail(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    billed = await tickets.status("Faturado", email_on_enter=True)
    ticket = await tickets.ticket(agent, new)
    variables = {"ticketId": str(ticket.pk), "statusId": str(billed.pk)}
    # when: the dashboard did not ask the operator
    data = await factory.execute(STATUS_CHANGE, variables, user=agent)
    # then: a typed error tells it to, and nothing changed
    error = data["ticketStatusChange"]
    assert (error["code"], error["field"]) == ("CONFIRMATION_REQUIRED", "notifyCustomer")
    assert "Faturado" in error["message"]
    assert (await Ticket.get(id=ticket.pk)).status_id == new.pk
    assert await OutboxMail.all().count() == 0 and await Event.all().count() == 0
    # when: the operator declines, the status changes without mail
    data = await factory.execute(STATUS_CHANGE, {**variables, "notify": False}, user=agent)
    assert data["ticketStatusChange"]["status"] == {"name": "Faturado"}
    assert await OutboxMail.all().count() == 0
    # when: the operator confirms on the next entering, one mail is queued in the same transaction
    await factory.execute(STATUS_CHANGE, {**variables, "statusId": str(new.pk)}, user=agent)
    await factory.execute(STATUS_CHANGE, {**variables, "notify": True}, user=agent)
    mail = await OutboxMail.get()
    assert mail.to_address == "rita@acme.test"
    assert ticket.number in mail.subject and "Faturado" in mail.body


async def test_email_on_change_asks_on_every_change_but_not_for_reps_or_notes(
    factory: Factory, tickets: TicketFactory
) -> None:
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    watched = await tickets.status("Em negociação", initial=True, email_on_change=True)
    ticket = await tickets.ticket(agent, watched, company=await rep.company)
    message = {"ticketId": str(ticket.pk), "body": "Proposta enviada."}
    data = await factory.execute(MESSAGE_ADD, {"input": message}, user=agent)
    assert data["ticketMessageAdd"]["code"] == "CONFIRMATION_REQUIRED"
    assert await TicketMessage.all().count() == 0
    data = await factory.execute(
        MESSAGE_ADD, {"input": {**message, "notifyCustomer": True}}, user=agent
    )
    assert data["ticketMessageAdd"]["__typename"] == "TicketMessage"
    assert "Proposta enviada." in (await OutboxMail.get()).body
    note = await factory.execute(MESSAGE_ADD, {"input": {**message, "internal": True}}, user=agent)
    assert note["ticketMessageAdd"]["internal"] is True
    from_rep = await factory.execute(MESSAGE_ADD, {"input": message}, user=rep)
    assert from_rep["ticketMessageAdd"]["__typename"] == "TicketMessage"
    assert await OutboxMail.all().count() == 1


async def test_closing_needs_a_closing_status_and_a_reason(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True, return_after_days=1)
    done = await tickets.status("Concluído", allows_closing=True, return_after_days=1)
    reason = await tickets.closure_reason("Resolvido")
    retired = await tickets.closure_reason("Antigo")
    retired.active = False
    await retired.save()
    ticket = await tickets.ticket(agent, new)
    # when / then
    cases = [
        ({"reasonId": None}, "CLOSURE_REASON_REQUIRED", "closureReasonId"),
        ({"reasonId": "999"}, "UNKNOWN_CLOSURE_REASON", "closureReasonId"),
        ({"reasonId": str(retired.pk)}, "UNKNOWN_CLOSURE_REASON", "closureReasonId"),
        ({"reasonId": str(reason.pk)}, "CLOSING_NOT_ALLOWED", "ticketId"),
    ]
    for overrides, code, field in cases:
        data = await factory.execute(CLOSE, {"ticketId": str(ticket.pk), **overrides}, user=agent)
        assert (data["ticketClose"]["code"], data["ticketClose"]["field"]) == (code, field)
    assert (await Ticket.get(id=ticket.pk)).state == TicketState.OPEN
    await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(done.pk)}, user=agent
    )
    data = await factory.execute(
        CLOSE, {"ticketId": str(ticket.pk), "reasonId": str(reason.pk)}, user=agent
    )
    closed = data["ticketClose"]
    assert closed["state"] == "CLOSED" and closed["closedAt"] is not None
    assert closed["closureReason"] == {"name": "Resolvido"} and closed["returnDueAt"] is None
    assert await Event.filter(kind="TICKET_CLOSED").count() == 1


async def test_closed_tickets_take_no_messages_until_reopened(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    new = await tickets.status("Novo", initial=True)
    done = await tickets.status("Concluído", allows_closing=True)
    ticket = await tickets.ticket(agent, done, company=await rep.company, state=TicketState.CLOSED)
    # when / then
    for user in (agent, rep):
        data = await factory.execute(
            MESSAGE_ADD, {"input": {"ticketId": str(ticket.pk), "body": "Oi?"}}, user=user
        )
        assert (data["ticketMessageAdd"]["code"], data["ticketMessageAdd"]["field"]) == (
            "TICKET_CLOSED",
            "ticketId",
        )
    data = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(new.pk)}, user=agent
    )
    assert data["ticketStatusChange"]["code"] == "TICKET_CLOSED"
    assert await TicketMessage.all().count() == 0
    refused = await factory.execute(REOPEN, {"ticketId": str(ticket.pk)}, user=rep)
    assert refused["ticketReopen"]["code"] == "FORBIDDEN"
    reopened = await factory.execute(REOPEN, {"ticketId": str(ticket.pk)}, user=agent)
    assert reopened["ticketReopen"] == {
        "__typename": "Ticket",
        "state": "OPEN",
        "closedAt": None,
        "status": {"name": "Novo"},
    }
    again = await factory.execute(REOPEN, {"ticketId": str(ticket.pk)}, user=agent)
    assert again["ticketReopen"]["code"] == "TICKET_NOT_CLOSED"
    data = await factory.execute(
        MESSAGE_ADD, {"input": {"ticketId": str(ticket.pk), "body": "Oi?"}}, user=rep
    )
    assert data["ticketMessageAdd"]["__typename"] == "TicketMessage"
    event = await Event.get(kind="TICKET_MESSAGE_ADDED")
    assert event.data == {"message_id": int(data["ticketMessageAdd"]["id"]), "internal": False}


async def test_reps_write_messages_only(factory: Factory, tickets: TicketFactory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    new = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(rep, new, company=await rep.company)
    note = await factory.execute(
        MESSAGE_ADD,
        {"input": {"ticketId": str(ticket.pk), "body": "x", "internal": True}},
        user=rep,
    )
    assert (note["ticketMessageAdd"]["code"], note["ticketMessageAdd"]["field"]) == (
        "FORBIDDEN",
        "internal",
    )
    status = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(new.pk)}, user=rep
    )
    assert status["ticketStatusChange"]["code"] == "FORBIDDEN"
    assign = await factory.execute(
        ASSIGN, {"ticketId": str(ticket.pk), "assigneeId": None}, user=rep
    )
    assert assign["ticketAssign"]["code"] == "FORBIDDEN"


async def test_agents_take_tickets_and_supervisors_assign_anyone(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    other = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    new = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(rep, new, company=await rep.company)
    variables = {"ticketId": str(ticket.pk)}
    # when / then
    refused = await factory.execute(ASSIGN, {**variables, "assigneeId": str(other.pk)}, user=agent)
    assert (refused["ticketAssign"]["code"], refused["ticketAssign"]["field"]) == (
        "FORBIDDEN",
        "assigneeId",
    )
    invalid = await factory.execute(
        ASSIGN, {**variables, "assigneeId": str(rep.pk)}, user=supervisor
    )
    assert invalid["ticketAssign"]["code"] == "INVALID_ASSIGNEE"
    taken = await factory.execute(ASSIGN, {**variables, "assigneeId": str(agent.pk)}, user=agent)
    assert taken["ticketAssign"]["assignee"] == {"id": str(agent.pk)}
    # the other agent no longer sees it; the supervisor moves it to them
    hidden = await factory.execute(ASSIGN, {**variables, "assigneeId": str(other.pk)}, user=other)
    assert hidden["ticketAssign"]["code"] == "NOT_FOUND"
    moved = await factory.execute(
        ASSIGN, {**variables, "assigneeId": str(other.pk)}, user=supervisor
    )
    assert moved["ticketAssign"]["assignee"] == {"id": str(other.pk)}
    events = await Event.filter(kind="TICKET_ASSIGNED").order_by("cursor")
    assert [(event.agent_id, event.data["previous_assignee_id"]) for event in events] == [
        (agent.pk, None),
        (other.pk, agent.pk),
    ]


async def test_reopening_goes_back_to_the_initial_status_and_forgets_the_closing(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: a ticket of a contact type, assigned, closed through the mutations
    agent = await factory.user(Role.AGENT)
    await tickets.status("Novo", initial=True)
    triage = await tickets.status("Triagem", initial=True, return_after_days=2)
    done = await tickets.status("Concluído", allows_closing=True)
    contact_type = await tickets.contact_type(statuses=[triage, done])
    reason = await tickets.closure_reason("Resolvido")
    ticket = await tickets.ticket(agent, triage, assignee=agent, contact_type=contact_type)
    variables = {"ticketId": str(ticket.pk)}
    await factory.execute(STATUS_CHANGE, {**variables, "statusId": str(done.pk)}, user=agent)
    closed = await factory.execute(CLOSE, {**variables, "reasonId": str(reason.pk)}, user=agent)
    assert closed["ticketClose"]["state"] == "CLOSED"
    await Ticket.filter(id=ticket.pk).update(return_alerted_at=datetime.now(UTC))
    # when
    before = datetime.now(UTC)
    data = await factory.execute(REOPEN, variables, user=agent)
    # then: the initial status its contact type allows, OPEN, nothing left of the closing
    assert data["ticketReopen"] == {
        "__typename": "Ticket",
        "state": "OPEN",
        "closedAt": None,
        "status": {"name": "Triagem"},
    }
    row = await Ticket.get(id=ticket.pk)
    assert (row.state, row.status_id, row.closed_at, row.closure_reason_id) == (
        TicketState.OPEN,
        triage.pk,
        None,
        None,
    )
    # a return is due again from the initial status (counted from the opening), alerted again
    assert row.return_due_at == row.created_at + timedelta(days=2)
    assert before - timedelta(minutes=1) <= row.created_at <= before
    assert row.return_alerted_at is None
    assert row.assignee_id == agent.pk
    event = await Event.get(kind="TICKET_REOPENED")
    assert (event.entity_id, event.agent_id, event.data) == (
        ticket.pk,
        agent.pk,
        {"from_status_id": done.pk, "status_id": triage.pk},
    )
    # and it takes messages again
    message = await factory.execute(
        MESSAGE_ADD, {"input": {"ticketId": str(ticket.pk), "body": "Voltou."}}, user=agent
    )
    assert message["ticketMessageAdd"]["__typename"] == "TicketMessage"


async def test_a_rep_writing_on_a_closed_ticket_is_told_what_they_can_do(
    factory: Factory, tickets: TicketFactory
) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    done = await tickets.status("Concluído", allows_closing=True)
    ticket = await tickets.ticket(rep, done, company=await rep.company, state=TicketState.CLOSED)
    document = MESSAGE_ADD.replace("code field", "code field message")
    data = await factory.execute(
        document, {"input": {"ticketId": str(ticket.pk), "body": "Oi?"}}, user=rep
    )
    error = data["ticketMessageAdd"]
    assert error["code"] == "TICKET_CLOSED"
    # reps cannot reopen, so the message does not tell them to
    assert "reopen it first" not in error["message"] and "new ticket" in error["message"]


async def _opened_two_days_ago(factory: Factory, tickets: TicketFactory) -> tuple[Any, Any, Any]:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando cliente", return_after_days=3)
    ticket = await tickets.ticket(agent, new)
    opened = datetime.now(UTC) - timedelta(days=2)
    await Ticket.filter(id=ticket.pk).update(created_at=opened)
    return agent, ticket, (waiting, opened)


async def test_return_is_due_n_days_after_the_opening_by_default(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: a ticket opened two days ago ("após a abertura", the Tipos de Retorno page)
    agent, ticket, (waiting, opened) = await _opened_two_days_ago(factory, tickets)
    assert factory.settings.ticket_return_from == TicketReturnFrom.OPENING
    # when: it enters a status whose return is 3 days
    data = await factory.execute(
        STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)}, user=agent
    )
    # then: due one day from now, three after the opening
    due = datetime.fromisoformat(data["ticketStatusChange"]["returnDueAt"])
    assert abs(due - (opened + timedelta(days=3))) < timedelta(seconds=1)


async def test_return_counts_from_entering_the_status_when_so_set(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: the other reading
    settings = replace(factory.settings, ticket_return_from=TicketReturnFrom.STATUS_ENTRY)
    agent, ticket, (waiting, _) = await _opened_two_days_ago(factory, tickets)
    # when
    before = datetime.now(UTC)
    result = await factory.execute_raw(
        STATUS_CHANGE,
        {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)},
        user=agent,
        settings=settings,
    )
    # then: three days from entering it
    due = datetime.fromisoformat(result.data["ticketStatusChange"]["returnDueAt"])
    assert before + timedelta(days=3) <= due <= datetime.now(UTC) + timedelta(days=3)


def test_return_reading_is_read_from_the_environment() -> None:
    assert Settings.from_env({}).ticket_return_from == TicketReturnFrom.OPENING
    assert (
        Settings.from_env({"TICKET_RETURN_FROM": "STATUS_ENTRY"}).ticket_return_from
        == TicketReturnFrom.STATUS_ENTRY
    )


async def _parent_with_open_child(factory: Factory, tickets: TicketFactory) -> tuple[Any, Any, Any, Any]:
    agent = await factory.user(Role.AGENT)
    done = await tickets.status("Concluído", initial=True, allows_closing=True)
    reason = await tickets.closure_reason()
    parent = await tickets.ticket(agent, done)
    child = await tickets.ticket(agent, done, parent=parent)
    return agent, parent, child, reason


async def test_closing_a_parent_with_open_children_is_refused_by_default(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent, parent, child, reason = await _parent_with_open_child(factory, tickets)
    assert factory.settings.ticket_close_open_children == TicketCloseOpenChildren.REFUSE
    # when
    data = await factory.execute(CLOSE, {"ticketId": str(parent.pk), "reasonId": str(reason.pk)}, user=agent)
    # then
    assert (data["ticketClose"]["code"], data["ticketClose"]["field"]) == ("CHILDREN_OPEN", "ticketId")
    assert (await Ticket.get(id=parent.pk)).state == TicketState.OPEN
    # once the child is closed, the parent closes
    await factory.execute(CLOSE, {"ticketId": str(child.pk), "reasonId": str(reason.pk)}, user=agent)
    data = await factory.execute(CLOSE, {"ticketId": str(parent.pk), "reasonId": str(reason.pk)}, user=agent)
    assert data["ticketClose"]["state"] == "CLOSED"


async def test_closing_a_parent_closes_its_open_children_when_so_set(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    settings = replace(factory.settings, ticket_close_open_children=TicketCloseOpenChildren.CLOSE)
    agent, parent, child, reason = await _parent_with_open_child(factory, tickets)
    # when
    result = await factory.execute_raw(
        CLOSE, {"ticketId": str(parent.pk), "reasonId": str(reason.pk)}, user=agent, settings=settings
    )
    # then: both closed with the reason, one event each
    assert result.data["ticketClose"]["state"] == "CLOSED"
    row = await Ticket.get(id=child.pk)
    assert (row.state, row.closure_reason_id) == (TicketState.CLOSED, reason.pk) and row.closed_at is not None
    closed = await Event.filter(kind="TICKET_CLOSED").values_list("entity_id", flat=True)
    assert sorted(closed) == sorted([parent.pk, child.pk])
    assert (
        Settings.from_env({"TICKET_CLOSE_OPEN_CHILDREN": "CLOSE"}).ticket_close_open_children
        == TicketCloseOpenChildren.CLOSE
    )


async def test_a_rep_sees_their_companys_child_tickets_with_their_parent(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: a child opened from a rep's ticket, with an internal note
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    parent = await tickets.ticket(rep, new, company=await rep.company)
    child = await tickets.ticket(agent, new, company=await rep.company, parent=parent)
    await tickets.message(child, agent, "Nota interna", internal=True)
    # when
    data = await factory.execute(
        "query($id: ID!) { ticket(id: $id) { children { id parent { id } messages { edges { node { body } } } } } }",
        {"id": str(parent.pk)},
        user=rep,
    )
    # then
    assert data["ticket"]["children"] == [
        {"id": str(child.pk), "parent": {"id": str(parent.pk)}, "messages": {"edges": []}}
    ]
