"""Subject ("Assunto"), product and occurrence catalogs: the ticket form takes their ids; free text is the
fallback only where a catalog has no active entry."""

from __future__ import annotations

from models.ticket import Ticket
from models.ticket_catalog import Occurrence, Product, TicketSubject
from models.user import Role
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

SUBJECT_CREATE = """
mutation Create($name: String!) {
  ticketSubjectCreate(input: {name: $name}) {
    __typename ... on TicketSubject { id name active } ... on TicketCatalogError { code field }
  }
}
"""

PRODUCT_DEACTIVATE = """
mutation Deactivate($id: ID!) {
  productDeactivate(id: $id) { __typename ... on Product { active } ... on TicketCatalogError { code } }
}
"""

LISTS = """
query { ticketSubjects { edges { node { name } } } products { edges { node { name } } }
        occurrences { edges { node { name } } } }
"""

TICKET_OPEN = """
mutation TicketOpen($input: TicketOpenInput!) {
  ticketOpen(input: $input) {
    __typename
    ... on Ticket {
      subject product occurrence
      subjectEntry { name } productEntry { name } occurrenceEntry { name }
    }
    ... on TicketError { code field }
  }
}
"""


def open_input(root_id: int, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "body": "Recebemos duas faturas.",
        "contactName": "Rita",
        "contactPhone": "+55 11 99999-0000",
        "contactEmail": "rita@acme.test",
        "classificationId": str(root_id),
    }
    values.update(overrides)
    return values


async def test_managers_keep_the_catalogs_with_active_flags(
    factory: Factory, tickets: TicketFactory
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    created = await factory.execute(SUBJECT_CREATE, {"name": "Reclamação"}, user=supervisor)
    assert created["ticketSubjectCreate"]["__typename"] == "TicketSubject"
    refused = await factory.execute(SUBJECT_CREATE, {"name": "Elogio"}, user=agent)
    assert refused["ticketSubjectCreate"]["code"] == "FORBIDDEN"
    again = await factory.execute(SUBJECT_CREATE, {"name": "Reclamação"}, user=supervisor)
    assert again["ticketSubjectCreate"]["code"] == "DUPLICATE_NAME"
    old = await Product.create(name="Plano Prata")
    await Product.create(name="Plano Ouro")
    await Occurrence.create(name="Cobrança indevida")
    deactivated = await factory.execute(PRODUCT_DEACTIVATE, {"id": str(old.pk)}, user=supervisor)
    assert deactivated["productDeactivate"] == {"__typename": "Product", "active": False}
    listed = await factory.execute(LISTS, user=agent)
    names = {key: [edge["node"]["name"] for edge in value["edges"]] for key, value in listed.items()}
    assert names == {
        "ticketSubjects": ["Reclamação"],
        "products": ["Plano Ouro"],
        "occurrences": ["Cobrança indevida"],
    }


async def test_the_form_takes_catalog_ids(factory: Factory, tickets: TicketFactory) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    complaint = await TicketSubject.create(name="Reclamação")
    gold = await Product.create(name="Plano Ouro")
    retired = await Product.create(name="Plano Prata", active=False)
    billing = await Occurrence.create(name="Cobrança indevida")
    # when
    data = await factory.execute(
        TICKET_OPEN,
        {
            "input": open_input(
                root.pk, subjectId=str(complaint.pk), productId=str(gold.pk), occurrenceId=str(billing.pk)
            )
        },
        user=rep,
    )
    # then: the entries, and their names as the ticket's texts
    assert data["ticketOpen"] == {
        "__typename": "Ticket",
        "subject": "Reclamação",
        "product": "Plano Ouro",
        "occurrence": "Cobrança indevida",
        "subjectEntry": {"name": "Reclamação"},
        "productEntry": {"name": "Plano Ouro"},
        "occurrenceEntry": {"name": "Cobrança indevida"},
    }
    # free text where a catalog has entries, a missing or an inactive entry: typed errors
    cases = [
        ({"subject": "Fatura"}, "CATALOG_ENTRY_REQUIRED", "subjectId"),
        ({"subjectId": str(complaint.pk), "product": "Plano X"}, "CATALOG_ENTRY_REQUIRED", "productId"),
        ({"subjectId": str(complaint.pk), "occurrence": "Outra"}, "CATALOG_ENTRY_REQUIRED", "occurrenceId"),
        ({"subjectId": str(complaint.pk), "productId": str(retired.pk)}, "UNKNOWN_CATALOG_ENTRY", "productId"),
        ({"subjectId": "999"}, "UNKNOWN_CATALOG_ENTRY", "subjectId"),
    ]
    for overrides, code, field in cases:
        refused = await factory.execute(TICKET_OPEN, {"input": open_input(root.pk, **overrides)}, user=rep)
        assert (refused["ticketOpen"]["code"], refused["ticketOpen"]["field"]) == (code, field), overrides
    assert await Ticket.all().count() == 1


async def test_free_text_where_the_catalogs_are_empty(factory: Factory, tickets: TicketFactory) -> None:
    rep = await factory.user(Role.COMPANY_REP)
    await tickets.status("Novo", initial=True)
    root = await tickets.classification()
    data = await factory.execute(
        TICKET_OPEN,
        {"input": open_input(root.pk, subject="Fatura em duplicidade", product="Plano X", occurrence="Duas faturas")},
        user=rep,
    )
    assert data["ticketOpen"] == {
        "__typename": "Ticket",
        "subject": "Fatura em duplicidade",
        "product": "Plano X",
        "occurrence": "Duas faturas",
        "subjectEntry": None,
        "productEntry": None,
        "occurrenceEntry": None,
    }
    missing = await factory.execute(TICKET_OPEN, {"input": open_input(root.pk)}, user=rep)
    assert (missing["ticketOpen"]["code"], missing["ticketOpen"]["field"]) == ("INVALID", "subject")
