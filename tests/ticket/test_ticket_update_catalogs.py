"""ticketUpdate takes the form's catalog ids (subjectId, productId, occurrenceId) as ticketOpen does:
an active entry (its name becomes the text), free text only while the catalog has no active entry, and
the same typed errors; a change like the ticket's other edits (event, e-mail, history)."""

from __future__ import annotations

from models.event import Event
from models.history import TicketHistoryEntry, TicketHistoryKind
from models.ticket import OutboxMail, Ticket
from models.ticket_catalog import Occurrence, Product, TicketSubject
from models.user import Role
from tests.factories import Factory
from tests.ticket.conftest import Inbox, deliver
from tests.ticket_factories import TicketFactory

UPDATE = """
mutation Update($ticketId: ID!, $input: TicketUpdateInput!, $notify: Boolean) {
  ticketUpdate(ticketId: $ticketId, input: $input, notifyCustomer: $notify) {
    __typename
    ... on Ticket { subject product occurrence subjectEntry { name } productEntry { name } occurrenceEntry { name } }
    ... on TicketError { code field message }
  }
}
"""


async def test_an_edit_takes_catalog_ids_and_is_a_change_like_the_others(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given: a ticket opened on "Reclamação", in a status that e-mails every change
    agent = await factory.user(Role.AGENT)
    watched = await tickets.status("Em análise", initial=True, email_on_change=True)
    complaint = await TicketSubject.create(name="Reclamação")
    billing = await TicketSubject.create(name="Cobrança indevida")
    gold = await Product.create(name="Plano Ouro")
    broken = await Occurrence.create(name="Equipamento com defeito")
    ticket = await tickets.ticket(agent, watched, subject="Reclamação")
    await Ticket.filter(id=ticket.pk).update(subject_entry_id=complaint.pk)
    variables = {
        "ticketId": str(ticket.pk),
        "input": {"subjectId": str(billing.pk), "productId": str(gold.pk), "occurrenceId": str(broken.pk)},
        "notify": True,
    }
    # when
    data = await factory.execute(UPDATE, variables, user=agent)
    # then: the entries, and their names as the ticket's texts
    assert data["ticketUpdate"] == {
        "__typename": "Ticket",
        "subject": "Cobrança indevida",
        "product": "Plano Ouro",
        "occurrence": "Equipamento com defeito",
        "subjectEntry": {"name": "Cobrança indevida"},
        "productEntry": {"name": "Plano Ouro"},
        "occurrenceEntry": {"name": "Equipamento com defeito"},
    }
    event = await Event.get(kind="TICKET_UPDATED")
    assert sorted(event.data["changed"]) == [
        "occurrence", "occurrenceId", "product", "productId", "subject", "subjectId",
    ]
    # the history records the mail it sent, as the ticket's other text edits do
    assert [entry.kind for entry in await TicketHistoryEntry.filter(ticket_id=ticket.pk)] == [
        TicketHistoryKind.EMAIL_QUEUED
    ]
    assert await deliver(factory.settings, smtp_port) == 1
    body = inbox.messages[0][1].get_payload(decode=True).decode()
    assert "Assunto: Cobrança indevida" in body and "Produto: Plano Ouro" in body
    assert "subject_entry_id" not in body
    # and the same ids again change nothing: no event, no question
    again = await factory.execute(UPDATE, {**variables, "notify": None}, user=agent)
    assert again["ticketUpdate"]["__typename"] == "Ticket"
    assert await Event.filter(kind="TICKET_UPDATED").count() == 1


async def test_unknown_or_inactive_entries_and_free_text_beside_a_catalog_are_refused(
    factory: Factory, tickets: TicketFactory
) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    await TicketSubject.create(name="Reclamação")
    retired = await TicketSubject.create(name="Elogio", active=False)
    await Product.create(name="Plano Ouro")
    ticket = await tickets.ticket(agent, new)
    cases = [
        ({"subjectId": str(retired.pk)}, ("UNKNOWN_CATALOG_ENTRY", "subjectId")),
        ({"subjectId": "999999"}, ("UNKNOWN_CATALOG_ENTRY", "subjectId")),
        ({"productId": "999999"}, ("UNKNOWN_CATALOG_ENTRY", "productId")),
        ({"subject": "Texto livre"}, ("CATALOG_ENTRY_REQUIRED", "subjectId")),
        ({"product": "Plano Prata"}, ("CATALOG_ENTRY_REQUIRED", "productId")),
    ]
    for given, expected in cases:
        data = await factory.execute(UPDATE, {"ticketId": str(ticket.pk), "input": given}, user=agent)
        assert (data["ticketUpdate"]["code"], data["ticketUpdate"]["field"]) == expected, given
    unchanged = await Ticket.get(id=ticket.pk)
    assert (unchanged.subject, unchanged.product, unchanged.subject_entry_id) == ("Fatura em duplicidade", None, None)
    assert await Event.all().count() == 0 and await OutboxMail.all().count() == 0


async def test_free_text_where_the_catalog_is_empty_and_null_clears_the_entry(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given: a ticket on a product entry; the subject and occurrence catalogs are empty
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    gold = await Product.create(name="Plano Ouro")
    ticket = await tickets.ticket(agent, new)
    await Ticket.filter(id=ticket.pk).update(product="Plano Ouro", product_entry_id=gold.pk)
    # when: a free-text subject and occurrence, and the product cleared by its id
    data = await factory.execute(
        UPDATE,
        {"ticketId": str(ticket.pk), "input": {"subject": "Boleto vencido", "occurrence": "Sem sinal",
                                               "productId": None}},
        user=agent,
    )
    # then
    assert data["ticketUpdate"] == {
        "__typename": "Ticket", "subject": "Boleto vencido", "product": None, "occurrence": "Sem sinal",
        "subjectEntry": None, "productEntry": None, "occurrenceEntry": None,
    }
    assert (await Ticket.get(id=ticket.pk)).product_entry_id is None
