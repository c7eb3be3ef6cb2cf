"""Customer e-mails from templates, delivered to a real SMTP server on loopback (aiosmtpd).

pt-BR by default (MAIL_LOCALE), English per company or by the setting; the ticket's fields filled in;
an administrator's edit used by the next mail (for every status, or for one); a placeholder the event
cannot fill refused when the template is saved; the rendered mail and its send time kept on the ticket
(`Ticket.emails`, compiled, one query for a page of tickets).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contato.settings import MailLanguage, Settings, SettingsError
from models.mail_template import EmailTemplate
from models.ticket import MailStatus, OutboxMail, Ticket
from models.user import Role
from tests.app.test_compiled_queries import COMPILED, World, normal, twice, world  # noqa: F401 - fixtures
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import clock, outbound  # noqa: F401 - fixtures
from tests.ticket.conftest import Inbox, deliver
from tests.ticket_factories import TicketFactory

TICKET_OPEN = """
mutation TicketOpen($input: TicketOpenInput!) {
  ticketOpen(input: $input) { __typename ... on Ticket { id number } ... on TicketError { code field } }
}
"""
STATUS_CHANGE = """
mutation StatusChange($ticketId: ID!, $statusId: ID!) {
  ticketStatusChange(ticketId: $ticketId, statusId: $statusId, notifyCustomer: true) {
    __typename ... on TicketError { code }
  }
}
"""
TEMPLATE_UPDATE = """
mutation Update($input: EmailTemplateUpdateInput!) {
  emailTemplateUpdate(input: $input) {
    __typename
    ... on EmailTemplate { event locale subject body customized status { name } updatedBy { id } }
    ... on EmailTemplateError { code field message }
  }
}
"""
TEMPLATES = """
query Templates($locale: MailLocale, $event: CustomerEmailEvent) {
  emailTemplates(locale: $locale, event: $event) {
    __typename
    ... on EmailTemplateList { templates { event locale subject body customized placeholders status { name } } }
    ... on EmailTemplateError { code }
  }
}
"""
COMPANY_UPDATE = """
mutation Company($id: ID!, $locale: MailLocale) {
  companyUpdate(id: $id, input: {mailLocale: $locale}) { __typename ... on Company { mailLocale } }
}
"""
TICKET_EMAILS = """
query Emails($id: ID!) {
  ticket(id: $id) {
    emails(first: 10) {
      totalCount
      edges { node { event locale to subject body status createdAt sentAt } }
    }
  }
}
"""


def open_input(classification_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "subject": "Fatura em duplicidade",
        "body": "Recebemos duas faturas de março.",
        "contactName": "Rita Souza",
        "contactPhone": "+5511999990000",
        "contactEmail": "rita@acme.test",
        "classificationId": str(classification_id),
        "notifyCustomer": True,
        **overrides,
    }


def text(message: Any) -> str:
    payload = message.get_payload(decode=True)
    return payload.decode(message.get_content_charset() or "utf-8")


def subject(message: Any) -> str:
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message["Subject"])))


async def test_a_new_ticket_mails_in_portuguese_by_default_with_its_fields(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given: the initial status e-mails on entering
    agent = await factory.user(Role.AGENT)
    await tickets.status("Recebido", initial=True, email_on_enter=True)
    root = await tickets.classification("Financeiro")
    # when
    data = await factory.execute(TICKET_OPEN, {"input": open_input(root.pk)}, user=agent)
    number = data["ticketOpen"]["number"]
    assert await deliver(factory.settings, smtp_port) == 1
    # then: pt-BR, the ticket's fields in place of the placeholders
    [(recipients, message)] = inbox.messages
    assert recipients == ["rita@acme.test"]
    assert subject(message) == f"Protocolo {number}: recebemos a sua solicitação"
    body = text(message)
    assert body.startswith("Olá, Rita Souza.")
    assert f"registramos o chamado de protocolo {number}" in body
    assert "Assunto: Fatura em duplicidade" in body and "Classificação: Financeiro" in body
    assert "Status: Recebido" in body and "{{" not in body
    mail = await OutboxMail.get()
    assert (mail.event, mail.locale) == ("OPENED", "pt-BR")


async def test_english_for_a_company_that_asks_for_it_and_by_the_setting(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given: a company whose customers read English, and one that says nothing
    admin = await factory.user(Role.ADMIN)
    agent = await factory.user(Role.AGENT)
    english, other = await factory.company("Acme Inc"), await factory.company("Padaria Pão Quente")
    changed = await factory.execute(COMPANY_UPDATE, {"id": str(english.pk), "locale": "EN"}, user=admin)
    assert changed["companyUpdate"] == {"__typename": "Company", "mailLocale": "EN"}
    await tickets.status("Recebido", initial=True, email_on_enter=True)
    root = await tickets.classification()
    # when
    for company in (english, other):
        data = await factory.execute(
            TICKET_OPEN, {"input": open_input(root.pk, companyId=str(company.pk))}, user=agent
        )
        assert data["ticketOpen"]["__typename"] == "Ticket"
    # and the other company's under MAIL_LOCALE=en
    in_english = replace(factory.settings, mail_locale=MailLanguage.EN)
    await factory.execute(
        TICKET_OPEN, {"input": open_input(root.pk, companyId=str(other.pk))}, user=agent, settings=in_english
    )
    assert await deliver(factory.settings, smtp_port) == 3
    # then
    first, second, third = (subject(message) for _, message in inbox.messages)
    assert first.endswith(": we received your request") and first.startswith("Ticket ")
    assert second.startswith("Protocolo ")
    assert third.endswith(": we received your request")
    assert text(inbox.messages[0][1]).startswith("Hello Rita Souza,")
    assert await OutboxMail.all().order_by("id").values_list("locale", flat=True) == ["en", "pt-BR", "en"]


def test_the_mail_locale_setting_reads_both_languages_and_refuses_others() -> None:
    assert Settings.from_env({}).mail_locale == MailLanguage.PT_BR
    assert Settings.from_env({"MAIL_LOCALE": "en"}).mail_locale == MailLanguage.EN
    assert Settings.from_env({"MAIL_LOCALE": "pt_br"}).mail_locale == MailLanguage.PT_BR
    with pytest.raises(SettingsError):
        Settings.from_env({"MAIL_LOCALE": "fr"})


async def test_an_admin_edit_is_used_by_the_next_mail_and_a_status_can_have_its_own(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given
    admin, agent = await factory.user(Role.ADMIN), await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    billed = await tickets.status("Faturado", email_on_enter=True)
    approved = await tickets.status("Aprovado", email_on_enter=True)
    ticket = await tickets.ticket(agent, new)
    edit = {
        "event": "STATUS_CHANGED", "locale": "PT_BR",
        "subject": "Chamado {{ ticket.number }} agora em {{ticket.status}}",
        "body": "Prezado(a) {{customer.name}}, o chamado saiu de {{ticket.previousStatus}}.",
    }
    # when: the event's text, and Aprovado's own
    saved = await factory.execute(TEMPLATE_UPDATE, {"input": edit}, user=admin)
    own = {**edit, "subject": "Aprovado! {{ticket.number}}", "statusId": str(approved.pk)}
    saved_own = await factory.execute(TEMPLATE_UPDATE, {"input": own}, user=admin)
    # then
    assert saved["emailTemplateUpdate"]["customized"] is True
    assert saved["emailTemplateUpdate"]["updatedBy"] == {"id": str(admin.pk)}
    assert saved_own["emailTemplateUpdate"]["status"] == {"name": "Aprovado"}
    listed = await factory.execute(TEMPLATES, {"locale": "PT_BR", "event": "STATUS_CHANGED"}, user=admin)
    templates = listed["emailTemplates"]["templates"]
    assert [(t["status"], t["customized"]) for t in templates] == [(None, True), ({"name": "Aprovado"}, True)]
    assert "ticket.previousStatus" in templates[0]["placeholders"]
    # when: the ticket moves to Faturado, then to Aprovado
    for status in (billed, approved):
        data = await factory.execute(
            STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(status.pk)}, user=agent
        )
        assert data["ticketStatusChange"]["__typename"] == "Ticket"
    assert await deliver(factory.settings, smtp_port) == 2
    # then: the event's edit for Faturado, Aprovado's own for Aprovado
    (_, billed_mail), (_, approved_mail) = inbox.messages
    assert subject(billed_mail) == f"Chamado {ticket.number} agora em Faturado"
    assert text(billed_mail).strip() == "Prezado(a) Rita, o chamado saiu de Novo."
    assert subject(approved_mail) == f"Aprovado! {ticket.number}"
    # and a second edit replaces the first, not adds to it
    await factory.execute(TEMPLATE_UPDATE, {"input": {**edit, "subject": "Outro"}}, user=admin)
    assert await EmailTemplate.filter(status_id__isnull=True).count() == 1


async def test_entering_a_status_with_a_return_date_tells_the_customer_when(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando peça", email_on_enter=True, return_after_days=3)
    ticket = await tickets.ticket(agent, new)
    await factory.execute(STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)}, user=agent)
    assert await deliver(factory.settings, smtp_port) == 1
    reloaded = await Ticket.get(id=ticket.pk)
    assert reloaded.return_due_at is not None
    due = reloaded.return_due_at.astimezone(factory.settings.zone).strftime("%d/%m/%Y")
    [(_, message)] = inbox.messages
    assert subject(message) == f"Protocolo {ticket.number}: retorno previsto para {due}"
    assert "aguarda retorno" in text(message)
    assert (await OutboxMail.get()).event == "AWAITING_RETURN"


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.AGENT, Role.COMPANY_REP])
async def test_only_administrators_read_and_edit_templates(factory: Factory, role: Role) -> None:
    user = await factory.user(role)
    edit = {"event": "CLOSED", "locale": "PT_BR", "subject": "Encerrado", "body": "Fim."}
    refused = await factory.execute(TEMPLATE_UPDATE, {"input": edit}, user=user)
    assert refused["emailTemplateUpdate"]["code"] == "FORBIDDEN"
    listed = await factory.execute(TEMPLATES, {}, user=user)
    assert listed["emailTemplates"] == {"__typename": "EmailTemplateError", "code": "FORBIDDEN"}
    assert await EmailTemplate.all().count() == 0


@pytest.mark.parametrize(
    ("change", "code", "field"),
    [
        ({"body": "Olá {{customer.nome}}"}, "UNKNOWN_PLACEHOLDER", "body"),
        # a name another event fills (a message's body) is unknown to CLOSED
        ({"body": "Última mensagem: {{message.body}}"}, "UNKNOWN_PLACEHOLDER", "body"),
        ({"subject": "Protocolo {{ticket.number"}, "UNKNOWN_PLACEHOLDER", "subject"),
        ({"subject": "   "}, "EMPTY_SUBJECT", "subject"),
        ({"body": "\n"}, "EMPTY_BODY", "body"),
        ({"statusId": "999999"}, "UNKNOWN_STATUS", "statusId"),
    ],
)
async def test_a_template_the_mail_could_not_fill_is_refused_when_saved(
    factory: Factory, change: dict[str, str], code: str, field: str
) -> None:
    admin = await factory.user(Role.ADMIN)
    edit = {"event": "CLOSED", "locale": "PT_BR", "subject": "Encerrado", "body": "Motivo: {{closure.reason}}", **change}
    data = await factory.execute(TEMPLATE_UPDATE, {"input": edit}, user=admin)
    assert (data["emailTemplateUpdate"]["code"], data["emailTemplateUpdate"]["field"]) == (code, field)
    assert await EmailTemplate.all().count() == 0


async def test_every_event_and_language_has_a_default_the_admin_can_read(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    data = await factory.execute(TEMPLATES, {}, user=admin)
    templates = data["emailTemplates"]["templates"]
    assert len(templates) == 2 * 12 and not any(t["customized"] for t in templates)
    assert {t["locale"] for t in templates} == {"PT_BR", "EN"}


async def test_the_sent_mail_is_kept_on_the_ticket_for_the_operator_only(
    factory: Factory, tickets: TicketFactory, inbox: Inbox, smtp_port: int
) -> None:
    # given: a rep's company ticket that mailed its customer once
    company = await factory.company()
    rep = await factory.user(Role.COMPANY_REP, company=company)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    billed = await tickets.status("Faturado", email_on_enter=True)
    ticket = await tickets.ticket(agent, new, company=company)
    await factory.execute(STATUS_CHANGE, {"ticketId": str(ticket.pk), "statusId": str(billed.pk)}, user=agent)
    queued = await factory.execute(TICKET_EMAILS, {"id": str(ticket.pk)}, user=agent)
    [pending] = queued["ticket"]["emails"]["edges"]
    assert (pending["node"]["status"], pending["node"]["sentAt"]) == ("PENDING", None)
    # when
    assert await deliver(factory.settings, smtp_port) == 1
    # then: what was sent, as it was sent, and when
    data = await factory.execute(TICKET_EMAILS, {"id": str(ticket.pk)}, user=agent)
    emails = data["ticket"]["emails"]
    assert emails["totalCount"] == 1
    node = emails["edges"][0]["node"]
    [(_, message)] = inbox.messages
    assert (node["event"], node["locale"], node["to"], node["status"]) == ("STATUS_CHANGED", "PT_BR", "rita@acme.test", "SENT")
    assert node["subject"] == subject(message)
    assert node["body"].replace("\n", "\r\n") == text(message)
    sent_at = datetime.fromisoformat(node["sentAt"])
    assert datetime.now(UTC) - timedelta(minutes=1) < sent_at <= datetime.now(UTC)
    # and the company's rep sees the ticket, not the operator's copies
    seen = await factory.execute(TICKET_EMAILS, {"id": str(ticket.pk)}, user=rep)
    assert seen["ticket"]["emails"] == {"totalCount": 0, "edges": []}


TICKETS_WITH_EMAILS = """
query Tickets($first: Int) {
  tickets(first: $first) { edges { node { number
    emails(first: 5) { edges { cursor node { id event locale to subject body status createdAt sentAt } }
                       pageInfo { hasNextPage hasPreviousPage } }
  } } }
}
"""


async def _mail_every_ticket(tickets_: list[Ticket], times: int) -> None:
    for ticket in tickets_:
        for index in range(times):
            await OutboxMail.create(
                ticket=ticket, to_address="rita@acme.test", subject=f"Protocolo {ticket.number} ({index})",
                body="Olá, Rita.", next_attempt_at=datetime.now(UTC), event="STATUS_CHANGED", locale="pt-BR",
                status=MailStatus.SENT if index else MailStatus.PENDING,
                sent_at=datetime.now(UTC) if index else None,
            )


async def test_ticket_emails_are_compiled_and_equal_for_every_caller(
    factory: Factory, normal: Any, world: World  # noqa: F811 - fixtures
) -> None:
    await _mail_every_ticket(world.tickets, 2)
    await OutboxMail.filter(id=1).update(event=None, locale=None)  # a mail older than the templates
    for role, user in world.callers().items():
        fast, slow, taken = await twice(factory, normal, TICKETS_WITH_EMAILS, {"first": 10}, user)
        assert fast == slow, role
        assert taken == COMPILED, role
        pages = [edge["node"]["emails"]["edges"] for edge in json.loads(fast)["data"]["tickets"]["edges"]]
        assert {len(page) for page in pages} == ({0} if role == "rep" else {2}), role


@pytest.mark.parametrize("page_size", [2, 6])
async def test_a_page_of_tickets_with_their_emails_costs_a_fixed_number_of_statements(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter, page_size: int
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    new = await tickets.status("Novo", initial=True)
    rows = [await tickets.ticket(supervisor, new) for _ in range(6)]
    await _mail_every_ticket(rows, 3)
    sql_statements.statements.clear()
    data = await factory.execute(TICKETS_WITH_EMAILS, {"first": page_size}, user=supervisor)
    assert [len(edge["node"]["emails"]["edges"]) for edge in data["tickets"]["edges"]] == [3] * page_size
    # the page of tickets and the mails of all of them (one query)
    assert len(sql_statements.statements) == 2, sql_statements.statements
