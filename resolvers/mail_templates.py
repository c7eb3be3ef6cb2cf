"""Customer e-mails from templates: per event and language, optionally per ticket status.

The defaults are here, written as a Brazilian contact center writes to its customers ("protocolo",
"chamado", "Central de Atendimento"), in pt-BR and English; an administrator's edit is a row of
`email_template` (models/mail_template.py) that overrides one event in one language, for every status
or for one. A template names the ticket's fields as `{{ticket.number}}`, `{{customer.name}}`…: the
names allowed for its event are checked when it is saved (UNKNOWN_PLACEHOLDER), so a send never
meets one it cannot fill. Mails are plain text (no HTML part), so values go in as they are; a
subject is kept on one line (a header cannot hold a line break).

The mail is written to the outbox in the transaction of the change, with its event and language:
that row, rendered, is the copy kept on the ticket (Ticket.emails), and the sender stamps its send time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.company import Company
from models.mail_template import EmailTemplate, MailEvent, MailLocale
from models.ticket import OutboxMail, Ticket
from models.ticket_catalog import ContactSubtype, ContactType, TicketClassification, TicketStatus
from models.user import Role
from resolvers.context import Context
from resolvers.errors import EmailTemplateError, EmailTemplateErrorCode
from resolvers.mail import enqueue
from resolvers.pagination import Page, PageArgs, page_of_list

if TYPE_CHECKING:
    from contato.settings import Settings

MAX_SUBJECT = 255
MAX_BODY = 20_000

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

# Every template may name these; the event adds its own (EVENT_PLACEHOLDERS).
COMMON_PLACEHOLDERS = (
    "ticket.number", "ticket.subject", "ticket.status", "ticket.classification", "ticket.subclassification",
    "ticket.product", "ticket.occurrence", "ticket.openedAt", "ticket.returnDueAt",
    "customer.name", "customer.email", "customer.phone", "company.name",
)
EVENT_PLACEHOLDERS: dict[MailEvent, tuple[str, ...]] = {
    MailEvent.OPENED: (),
    MailEvent.CHILD_OPENED: ("parent.number",),
    MailEvent.MESSAGE_ADDED: ("message.body",),
    MailEvent.STATUS_CHANGED: ("ticket.previousStatus",),
    MailEvent.AWAITING_RETURN: ("ticket.previousStatus",),
    MailEvent.ASSIGNED: ("attendant.name",),
    MailEvent.UNASSIGNED: (),
    MailEvent.TICKET_UPDATED: ("changes",),
    MailEvent.ACTION_PERFORMED: ("action.name", "action.status"),
    MailEvent.ACTION_UPDATED: ("action.name", "action.status"),
    MailEvent.CLOSED: ("closure.reason",),
    MailEvent.REOPENED: (),
}

_PT_SIGNATURE = "\n\nAtenciosamente,\nCentral de Atendimento\n"
_EN_SIGNATURE = "\n\nKind regards,\nCustomer Service\n"
_PT_SUMMARY = "Protocolo: {{ticket.number}}\nAssunto: {{ticket.subject}}\nStatus atual: {{ticket.status}}"
_EN_SUMMARY = "Ticket: {{ticket.number}}\nSubject: {{ticket.subject}}\nCurrent status: {{ticket.status}}"

# (event, locale) -> (subject, body)
DEFAULTS: dict[tuple[MailEvent, MailLocale], tuple[str, str]] = {
    (MailEvent.OPENED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: recebemos a sua solicitação",
        "Olá, {{customer.name}}.\n\nRecebemos a sua solicitação e registramos o chamado de protocolo "
        "{{ticket.number}}.\n\nAssunto: {{ticket.subject}}\nClassificação: {{ticket.classification}}\n"
        "Status: {{ticket.status}}\n\nGuarde este número de protocolo: ele agiliza o seu atendimento "
        "sempre que entrar em contato conosco." + _PT_SIGNATURE,
    ),
    (MailEvent.OPENED, MailLocale.EN): (
        "Ticket {{ticket.number}}: we received your request",
        "Hello {{customer.name}},\n\nWe received your request and opened ticket {{ticket.number}}.\n\n"
        "Subject: {{ticket.subject}}\nClassification: {{ticket.classification}}\nStatus: {{ticket.status}}\n\n"
        "Please quote this number whenever you contact us." + _EN_SIGNATURE,
    ),
    (MailEvent.CHILD_OPENED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: novo chamado vinculado ao protocolo {{parent.number}}",
        "Olá, {{customer.name}}.\n\nPara dar andamento à sua solicitação de protocolo {{parent.number}}, "
        "abrimos o chamado {{ticket.number}}.\n\n" + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.CHILD_OPENED, MailLocale.EN): (
        "Ticket {{ticket.number}}: opened from your ticket {{parent.number}}",
        "Hello {{customer.name}},\n\nTo follow up your ticket {{parent.number}}, we opened ticket "
        "{{ticket.number}}.\n\n" + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.MESSAGE_ADDED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: nova mensagem no seu chamado",
        "Olá, {{customer.name}}.\n\nHá uma nova mensagem no seu chamado:\n\n{{message.body}}\n\n"
        + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.MESSAGE_ADDED, MailLocale.EN): (
        "Ticket {{ticket.number}}: a new message",
        "Hello {{customer.name}},\n\nThere is a new message on your ticket:\n\n{{message.body}}\n\n"
        + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.STATUS_CHANGED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: status atualizado para {{ticket.status}}",
        "Olá, {{customer.name}}.\n\nO seu chamado de protocolo {{ticket.number}} mudou de status: de "
        "{{ticket.previousStatus}} para {{ticket.status}}.\n\nAssunto: {{ticket.subject}}" + _PT_SIGNATURE,
    ),
    (MailEvent.STATUS_CHANGED, MailLocale.EN): (
        "Ticket {{ticket.number}}: status changed to {{ticket.status}}",
        "Hello {{customer.name}},\n\nYour ticket {{ticket.number}} moved from {{ticket.previousStatus}} to "
        "{{ticket.status}}.\n\nSubject: {{ticket.subject}}" + _EN_SIGNATURE,
    ),
    (MailEvent.AWAITING_RETURN, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: retorno previsto para {{ticket.returnDueAt}}",
        "Olá, {{customer.name}}.\n\nO seu chamado de protocolo {{ticket.number}} está em {{ticket.status}} "
        "e aguarda retorno. Daremos retorno até {{ticket.returnDueAt}}.\n\nAssunto: {{ticket.subject}}"
        + _PT_SIGNATURE,
    ),
    (MailEvent.AWAITING_RETURN, MailLocale.EN): (
        "Ticket {{ticket.number}}: we will get back to you by {{ticket.returnDueAt}}",
        "Hello {{customer.name}},\n\nYour ticket {{ticket.number}} is now {{ticket.status}} and awaits our "
        "return. We will get back to you by {{ticket.returnDueAt}}.\n\nSubject: {{ticket.subject}}"
        + _EN_SIGNATURE,
    ),
    (MailEvent.ASSIGNED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: o seu chamado está em atendimento",
        "Olá, {{customer.name}}.\n\nO seu chamado de protocolo {{ticket.number}} está sendo atendido por "
        "{{attendant.name}}.\n\n" + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.ASSIGNED, MailLocale.EN): (
        "Ticket {{ticket.number}}: an attendant is handling your ticket",
        "Hello {{customer.name}},\n\n{{attendant.name}} is now handling your ticket {{ticket.number}}.\n\n"
        + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.UNASSIGNED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: o seu chamado aguarda atendimento",
        "Olá, {{customer.name}}.\n\nO seu chamado de protocolo {{ticket.number}} aguarda um atendente; "
        "em breve retornaremos.\n\n" + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.UNASSIGNED, MailLocale.EN): (
        "Ticket {{ticket.number}}: waiting for an attendant",
        "Hello {{customer.name}},\n\nYour ticket {{ticket.number}} is waiting for an attendant; we will be "
        "back to you soon.\n\n" + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.TICKET_UPDATED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: dados do chamado atualizados",
        "Olá, {{customer.name}}.\n\nAtualizamos os dados do seu chamado de protocolo {{ticket.number}}:\n\n"
        "{{changes}}\n\n" + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.TICKET_UPDATED, MailLocale.EN): (
        "Ticket {{ticket.number}}: details updated",
        "Hello {{customer.name}},\n\nWe updated your ticket {{ticket.number}}:\n\n{{changes}}\n\n"
        + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.ACTION_PERFORMED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: {{action.name}}",
        "Olá, {{customer.name}}.\n\nRegistramos no seu chamado de protocolo {{ticket.number}} a ação "
        "\"{{action.name}}\" ({{action.status}}).\n\n" + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.ACTION_PERFORMED, MailLocale.EN): (
        "Ticket {{ticket.number}}: {{action.name}}",
        "Hello {{customer.name}},\n\nOn your ticket {{ticket.number}} we recorded \"{{action.name}}\" "
        "({{action.status}}).\n\n" + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.ACTION_UPDATED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: {{action.name}} {{action.status}}",
        "Olá, {{customer.name}}.\n\nA ação \"{{action.name}}\" do seu chamado de protocolo {{ticket.number}} "
        "está {{action.status}}.\n\n" + _PT_SUMMARY + _PT_SIGNATURE,
    ),
    (MailEvent.ACTION_UPDATED, MailLocale.EN): (
        "Ticket {{ticket.number}}: {{action.name}} is {{action.status}}",
        "Hello {{customer.name}},\n\n\"{{action.name}}\" on your ticket {{ticket.number}} is "
        "{{action.status}}.\n\n" + _EN_SUMMARY + _EN_SIGNATURE,
    ),
    (MailEvent.CLOSED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: chamado encerrado",
        "Olá, {{customer.name}}.\n\nO seu chamado de protocolo {{ticket.number}} foi encerrado.\n\n"
        "Motivo do encerramento: {{closure.reason}}\nAssunto: {{ticket.subject}}\n\nSe precisar, responda "
        "a este e-mail ou entre em contato informando o número do protocolo." + _PT_SIGNATURE,
    ),
    (MailEvent.CLOSED, MailLocale.EN): (
        "Ticket {{ticket.number}}: closed",
        "Hello {{customer.name}},\n\nYour ticket {{ticket.number}} was closed.\n\nReason: {{closure.reason}}\n"
        "Subject: {{ticket.subject}}\n\nIf you need anything else, contact us quoting the ticket number."
        + _EN_SIGNATURE,
    ),
    (MailEvent.REOPENED, MailLocale.PT_BR): (
        "Protocolo {{ticket.number}}: chamado reaberto",
        "Olá, {{customer.name}}.\n\nO seu chamado de protocolo {{ticket.number}} foi reaberto e está em "
        "{{ticket.status}}.\n\nAssunto: {{ticket.subject}}" + _PT_SIGNATURE,
    ),
    (MailEvent.REOPENED, MailLocale.EN): (
        "Ticket {{ticket.number}}: reopened",
        "Hello {{customer.name}},\n\nYour ticket {{ticket.number}} was reopened; its status is "
        "{{ticket.status}}.\n\nSubject: {{ticket.subject}}" + _EN_SIGNATURE,
    ),
}

# The ticket fields ticketUpdate may change, as the customer reads them in {{changes}}.
FIELD_LABELS = {
    MailLocale.PT_BR: {
        "subject": "Assunto", "product": "Produto", "occurrence": "Ocorrência", "contact_name": "Contato",
        "contact_phone": "Telefone", "contact_email": "E-mail",
    },
    MailLocale.EN: {
        "subject": "Subject", "product": "Product", "occurrence": "Occurrence", "contact_name": "Contact",
        "contact_phone": "Phone", "contact_email": "E-mail",
    },
}

ACTION_STATUS_WORDS = {
    MailLocale.PT_BR: {"PENDING": "pendente", "DONE": "concluída"},
    MailLocale.EN: {"PENDING": "pending", "DONE": "done"},
}


def placeholders(event: MailEvent) -> tuple[str, ...]:
    """The names a template of `event` may use, in the order the documentation lists them."""
    return COMMON_PLACEHOLDERS + EVENT_PLACEHOLDERS[event]


def check_text(event: MailEvent, text: str, field: str) -> None:
    """Refuse a name the event cannot fill, or an unclosed `{{`, at save time."""
    allowed = set(placeholders(event))
    for match in PLACEHOLDER.finditer(text):
        if match.group(1) not in allowed:
            raise EmailTemplateError(
                EmailTemplateErrorCode.UNKNOWN_PLACEHOLDER,
                f"Unknown placeholder {{{{{match.group(1)}}}}} for {event.value}; allowed: "
                + ", ".join(placeholders(event)) + ".",
                field,
            )
    if "{{" in PLACEHOLDER.sub("", text):
        raise EmailTemplateError(
            EmailTemplateErrorCode.UNKNOWN_PLACEHOLDER, "A placeholder is not closed with }}.", field
        )


def render(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), ""), text)


def one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass(frozen=True)
class TemplateView:
    """A template as the API shows it: an administrator's row, or the default (`row` None)."""

    event: MailEvent
    locale: MailLocale
    subject: str
    body: str
    status_id: int | None = None
    row: EmailTemplate | None = None


def _key(event: MailEvent, locale: MailLocale, status_id: int | None) -> str:
    return f"{event.value}:{locale.value}:{status_id or ''}"


def _require_admin(ctx: Context) -> None:
    if ctx.require_user().role != Role.ADMIN:
        raise EmailTemplateError(
            EmailTemplateErrorCode.FORBIDDEN, "Only administrators read and edit the e-mail templates."
        )


async def list_templates(
    ctx: Context, locale: MailLocale | None = None, event: MailEvent | None = None
) -> list[TemplateView]:
    """Every event in every language (an edit where there is one, else the default), then the
    per-status templates; one query."""
    _require_admin(ctx)
    query = EmailTemplate.all().order_by("id")
    if locale is not None:
        query = query.filter(locale=locale)
    if event is not None:
        query = query.filter(event=event)
    rows = await query
    general = {(row.event, row.locale): row for row in rows if row.status_id is None}
    views = []
    for (each_event, each_locale), (subject, body) in DEFAULTS.items():
        if (locale is not None and each_locale != locale) or (event is not None and each_event != event):
            continue
        row = general.get((each_event, each_locale))
        views.append(
            TemplateView(each_event, each_locale, row.subject, row.body, None, row)
            if row
            else TemplateView(each_event, each_locale, subject, body)
        )
    views += [
        TemplateView(row.event, row.locale, row.subject, row.body, row.status_id, row)
        for row in rows if row.status_id is not None
    ]
    return views


@dataclass(frozen=True)
class TemplateInput:
    event: MailEvent
    locale: MailLocale
    subject: str
    body: str
    status_id: int | None = None


async def update_template(ctx: Context, data: TemplateInput) -> TemplateView:
    """Write the administrator's text for one event and language (for one status with `status_id`);
    the next mail of that event uses it."""
    _require_admin(ctx)
    user = ctx.require_user()
    subject, body = one_line(data.subject or ""), (data.body or "").strip()
    if not subject:
        raise EmailTemplateError(EmailTemplateErrorCode.EMPTY_SUBJECT, "The subject is empty.", "subject")
    if not body:
        raise EmailTemplateError(EmailTemplateErrorCode.EMPTY_BODY, "The body is empty.", "body")
    if len(subject) > MAX_SUBJECT or len(body) > MAX_BODY:
        raise EmailTemplateError(
            EmailTemplateErrorCode.TOO_LONG,
            f"At most {MAX_SUBJECT} characters of subject and {MAX_BODY} of body.",
            "subject" if len(subject) > MAX_SUBJECT else "body",
        )
    check_text(data.event, subject, "subject")
    check_text(data.event, body, "body")
    if data.status_id is not None and not await TicketStatus.filter(id=data.status_id).exists():
        raise EmailTemplateError(EmailTemplateErrorCode.UNKNOWN_STATUS, "No such status.", "statusId")
    key = _key(data.event, data.locale, data.status_id)
    async with in_transaction() as connection:
        row = await EmailTemplate.filter(key=key).using_db(connection).select_for_update().first()
        if row is None:
            row = await EmailTemplate.create(
                key=key, event=data.event, locale=data.locale, status_id=data.status_id, subject=subject,
                body=body, updated_by_id=user.pk, using_db=connection,
            )
        else:
            row.subject, row.body, row.updated_by_id = subject, body, user.pk
            await row.save(using_db=connection)
    return TemplateView(row.event, row.locale, row.subject, row.body, row.status_id, row)


async def _template(
    connection: BaseDBAsyncClient, event: MailEvent, locale: MailLocale, status_id: int
) -> tuple[str, str]:
    """The status's own template, else the event's edit, else the default."""
    rows = {
        row.key: row
        for row in await EmailTemplate.filter(key__in=[_key(event, locale, status_id), _key(event, locale, None)])
        .using_db(connection)
    }
    row = rows.get(_key(event, locale, status_id)) or rows.get(_key(event, locale, None))
    return (row.subject, row.body) if row else DEFAULTS[(event, locale)]


def _when(moment: datetime | None, settings: Settings, locale: MailLocale, with_time: bool) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(settings.zone)
    if locale == MailLocale.PT_BR:
        return local.strftime("%d/%m/%Y %H:%M" if with_time else "%d/%m/%Y")
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


async def _name(connection: BaseDBAsyncClient, model: type, row_id: int | None) -> str:
    if row_id is None:
        return ""
    row = await model.get_or_none(id=row_id).using_db(connection)
    return row.name if row else ""


async def mail_locale(connection: BaseDBAsyncClient, settings: Settings, ticket: Ticket) -> MailLocale:
    """The ticket's company's language, else MAIL_LOCALE."""
    if ticket.company_id is not None:
        chosen = await Company.filter(id=ticket.company_id).using_db(connection).values_list(
            "mail_locale", flat=True
        )
        if chosen and chosen[0]:
            return MailLocale(chosen[0])
    return MailLocale(settings.mail_locale.value)


async def mail_customer(
    connection: BaseDBAsyncClient,
    settings: Settings,
    ticket: Ticket,
    event: MailEvent,
    changed: Mapping[str, str] | None = None,
    **extra: str,
) -> OutboxMail:
    """Render the ticket's template for `event` and write it to the outbox (the caller's transaction).

    `extra` fills the event's own placeholders (message.body, closure.reason…), by their names with
    dots as underscores; `changed` (ticket column -> new text) fills {{changes}}."""
    locale = await mail_locale(connection, settings, ticket)
    subject_text, body_text = await _template(connection, event, locale, ticket.status_id)
    if settings.ticket_scheme.value == "CLASSIFICATION":
        classification = await _name(connection, TicketClassification, ticket.classification_id)
        subclassification = await _name(connection, TicketClassification, ticket.subclassification_id)
    else:
        classification = await _name(connection, ContactType, ticket.contact_type_id)
        subclassification = await _name(connection, ContactSubtype, ticket.contact_subtype_id)
    values = {
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
        "ticket.status": await _name(connection, TicketStatus, ticket.status_id),
        "ticket.classification": classification,
        "ticket.subclassification": subclassification,
        "ticket.product": ticket.product or "",
        "ticket.occurrence": ticket.occurrence or "",
        "ticket.openedAt": _when(ticket.created_at, settings, locale, True),
        "ticket.returnDueAt": _when(ticket.return_due_at, settings, locale, False),
        "customer.name": ticket.contact_name,
        "customer.email": ticket.contact_email,
        "customer.phone": ticket.contact_phone,
        "company.name": await _name(connection, Company, ticket.company_id),
    }
    if changed is not None:
        labels = FIELD_LABELS[locale]
        values["changes"] = "\n".join(f"{labels.get(column, column)}: {text}" for column, text in changed.items())
    for name, value in extra.items():
        values[name.replace("_", ".", 1)] = value
    if "action.status" in values:
        values["action.status"] = ACTION_STATUS_WORDS[locale].get(values["action.status"], values["action.status"])
    return await enqueue(
        connection,
        to=ticket.contact_email,
        subject=one_line(render(subject_text, values)),
        body=render(body_text, values),
        ticket_id=ticket.pk,
        event=event.value,
        locale=locale.value,
    )


TICKET_EMAIL_CURSOR = "ticket_email"


async def ticket_emails(ctx: Context, ticket_id: int, page: PageArgs) -> Page[OutboxMail]:
    """A page of the mails a visible ticket sent or queued, oldest first (the loaders give a company
    rep none: the kept copies are the operator's record)."""
    rows = await ctx.loaders.ticket_emails_by_ticket.load(ticket_id)
    return page_of_list(rows, TICKET_EMAIL_CURSOR, page, ctx.settings.max_page_size)
