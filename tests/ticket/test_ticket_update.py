"""ticketUpdate: editing a ticket after opening (subject, product, occurrence, classification or type,
contact), a change like the others for emailOnChange and the ticket's events."""

from __future__ import annotations

from dataclasses import replace

from contato.settings import TicketScheme
from models.event import Event
from models.history import TicketHistoryEntry, TicketHistoryKind
from models.ticket import OutboxMail, Ticket, TicketState
from models.user import Role
from tests.factories import Factory
from tests.ticket.conftest import Inbox, deliver
from tests.ticket_factories import TicketFactory

UPDATE = """
mutation Update($ticketId: ID!, $input: TicketUpdateInput!, $notify: Boolean) {
  ticketUpdate(ticketId: $ticketId, input: $input, notifyCustomer: $notify) {
    __typename
    ... on Ticket {
      subject product occurrence contactName contactPhone contactEmail
      classification { name } subclassification { name } contactType { name }
    }
    ... on TicketError { code field message }
  }
}
"""

TICKETS = 'query { tickets(filter: { text: "boleto" }) { edges { node { id } } } }'


async def test_an_operator_edits_the_ticket_and_the_change_is_an_event(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    status = await tickets.status("Novo", initial=True)
    finance = await tickets.classification("Financeiro")
    billing = await tickets.classification("Cobrança", parent=finance)
    ticket = await tickets.ticket(agent, status, classification=finance)
    # when
    data = await factory.execute(
        UPDATE,
        {
            "ticketId": str(ticket.pk),
            "input": {
                "subject": "Boleto vencido",
                "product": "Plano Ouro",
                "occurrence": "Cobrança em duplicidade",
                "subclassificationId": str(billing.pk),
                "contactName": "Rita Souza",
                "contactPhone": "+55 (11) 98888-0000",
                "contactEmail": "rita.souza@acme.test",
            },
        },
        user=agent,
    )
    # then
    assert data["ticketUpdate"] == {
        "__typename": "Ticket",
        "subject": "Boleto vencido",
        "product": "Plano Ouro",
        "occurrence": "Cobrança em duplicidade",
        "contactName": "Rita Souza",
        "contactPhone": "+5511988880000",
        "contactEmail": "rita.souza@acme.test",
        "classification": {"name": "Financeiro"},
        "subclassification": {"name": "Cobrança"},
        "contactType": None,
    }
    event = await Event.get(kind="TICKET_UPDATED")
    assert event.entity_id == ticket.pk
    assert sorted(event.data["changed"]) == [
        "contactEmail", "contactName", "contactPhone", "occurrence", "product", "subclassificationId",
        "subject",
    ]
    # the reclassification is in the ticket's history, with who
    assert [(entry.kind, entry.actor_id) for entry in await TicketHistoryEntry.filter(ticket_id=ticket.pk)] == [
        (TicketHistoryKind.CLASSIFIED, agent.pk)
    ]
    found = await factory.execute(TICKETS, user=agent)  # the text filter reads the new subject
    assert found["tickets"]["edges"] == [{"node": {"id": str(ticket.pk)}}]
    # the same values again change nothing and record nothing
    again = await factory.execute(
        UPDATE, {"ticketId": str(ticket.pk), "input": {"subject": "Boleto vencido"}}, user=agent
    )
    assert again["ticketUpdate"]["__typename"] == "Ticket"
    assert await Event.filter(kind="TICKET_UPDATED").count() == 1
    # null clears the product
    cleared = await factory.execute(
        UPDATE, {"ticketId": str(ticket.pk), "input": {"product": None}}, user=agent
    )
    assert cleared["ticketUpdate"]["product"] is None


async def test_an_update_in_an_email_on_change_status_asks_and_mails(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    watched = await tickets.status("Em análise", initial=True, email_on_change=True)
    ticket = await tickets.ticket(agent, watched)
    variables = {"ticketId": str(ticket.pk), "input": {"subject": "Boleto vencido"}}
    # when: no answer
    data = await factory.execute(UPDATE, variables, user=agent)
    # then: asked, nothing written
    assert (data["ticketUpdate"]["code"], data["ticketUpdate"]["field"]) == (
        "CONFIRMATION_REQUIRED",
        "notifyCustomer",
    )
    assert (await Ticket.get(id=ticket.pk)).subject == "Fatura em duplicidade"
    assert await Event.all().count() == 0
    # false: changed, no mail
    declined = await factory.execute(UPDATE, {**variables, "notify": False}, user=agent)
    assert declined["ticketUpdate"]["subject"] == "Boleto vencido"
    assert await OutboxMail.all().count() == 0
    # true: changed and mailed
    sent = await factory.execute(
        UPDATE, {**variables, "input": {"product": "Plano Ouro"}, "notify": True}, user=agent
    )
    assert sent["ticketUpdate"]["product"] == "Plano Ouro"
    assert await deliver(factory.settings, smtp_port) == 1
    [(recipients, message)] = inbox.messages
    assert recipients == ["rita@acme.test"]
    assert "Plano Ouro" in message.get_payload(decode=True).decode()
    # a text edit is no history entry of its own, but the mail it sent is
    assert [entry.kind for entry in await TicketHistoryEntry.filter(ticket_id=ticket.pk)] == [
        TicketHistoryKind.EMAIL_QUEUED
    ]


async def test_update_rules_are_typed_errors(factory: Factory, tickets: TicketFactory) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    status = await tickets.status("Novo", initial=True)
    finance = await tickets.classification("Financeiro")
    other = await tickets.classification("Técnico")
    foreign = await tickets.classification("Sem sinal", parent=other)
    ticket = await tickets.ticket(agent, status, company=await factory.company(), classification=finance)
    closed = await tickets.ticket(agent, status, state=TicketState.CLOSED, classification=finance)
    cases = [
        (agent, ticket, {"contactPhone": "12"}, "INVALID_PHONE", "contactPhone"),
        (agent, ticket, {"contactEmail": "nope"}, "INVALID_EMAIL", "contactEmail"),
        (agent, ticket, {"subject": " "}, "INVALID", "subject"),
        (agent, ticket, {"subclassificationId": str(foreign.pk)}, "SUBCLASSIFICATION_MISMATCH", "subclassificationId"),
        (agent, ticket, {"classificationId": str(other.pk)}, "SUBCLASSIFICATION_REQUIRED", "subclassificationId"),
        (agent, ticket, {"contactTypeId": "1"}, "WRONG_SCHEME", "contactTypeId"),
        (agent, closed, {"subject": "Outro"}, "TICKET_CLOSED", "ticketId"),
        (rep, ticket, {"subject": "Outro"}, "FORBIDDEN", None),
    ]
    for user, target, changes, code, field in cases:
        data = await factory.execute(
            UPDATE, {"ticketId": str(target.pk), "input": changes}, user=user
        )
        result = data["ticketUpdate"]
        assert (result["__typename"], result["code"], result["field"]) == ("TicketError", code, field), changes
    assert await Event.all().count() == 0


async def test_a_new_contact_type_must_allow_the_ticket_status(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: the CRM scheme; "Elogio" does not allow the ticket's status
    settings = replace(factory.settings, ticket_scheme=TicketScheme.CONTACT_TYPE)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    other = await tickets.status("Outro")
    complaint = await tickets.contact_type("Reclamação")
    praise = await tickets.contact_type("Elogio", statuses=[other])
    question = await tickets.contact_type("Dúvida", statuses=[new])
    ticket = await tickets.ticket(agent, new, contact_type=complaint)
    # when / then
    refused = await factory.execute_raw(
        UPDATE, {"ticketId": str(ticket.pk), "input": {"contactTypeId": str(praise.pk)}}, user=agent, settings=settings
    )
    assert (refused.data["ticketUpdate"]["code"], refused.data["ticketUpdate"]["field"]) == (
        "STATUS_NOT_ALLOWED",
        "contactTypeId",
    )
    moved = await factory.execute_raw(
        UPDATE, {"ticketId": str(ticket.pk), "input": {"contactTypeId": str(question.pk)}}, user=agent, settings=settings
    )
    assert moved.data["ticketUpdate"]["contactType"] == {"name": "Dúvida"}
