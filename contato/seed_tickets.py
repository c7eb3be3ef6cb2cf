"""Ticket catalogs and demo tickets (idempotent), and the generated tickets of `contato seed --size`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from contato.seed_bulk import BulkWriter, flat_ints, mix, progress_bar
from contato.settings import Settings
from models.catalog import ContactChannel
from models.company import Company
from models.ticket import Ticket, TicketState
from models.ticket_catalog import (
    ActionDefinition,
    ClosureReason,
    ContactSubtype,
    ContactType,
    ContactTypeStatus,
    TicketClassification,
    TicketStatus,
)
from models.user import Role, User
from resolvers.context import Context
from resolvers.ticket import writes
from resolvers.ticket.access import search_text
from resolvers.ticket.inputs import TicketOpenInput

logger = logging.getLogger("contato.seed")

STATUSES = (
    # name, initial, returnAfterDays, allowsClosing, emailOnEnter, emailOnChange
    ("Novo", True, None, False, False, False),
    ("Em análise", False, None, False, False, False),
    ("Aguardando cliente", False, 3, False, False, False),
    ("Em negociação", False, None, False, False, True),
    ("Faturado", False, None, True, True, False),
    ("Concluído", False, None, True, True, False),
)
CLASSIFICATIONS = {
    "Financeiro": ("Cobrança", "Segunda via de boleto"),
    "Técnico": ("Sem sinal", "Instalação"),
    "Comercial": ("Novo contrato",),
}
CONTACT_TYPES = {
    "Reclamação": ("Cobrança indevida", "Atendimento"),
    "Solicitação": ("Segunda via", "Cancelamento"),
}
CLOSURE_REASONS = ("Resolvido", "Sem retorno do cliente", "Duplicado")
# name, status it sets, opens a service order, raises a non-conformity
ACTIONS = (
    ("Visita técnica", "Aguardando cliente", True, False),
    ("Registrar FNC", None, False, True),
)
DEMO_TICKETS = (
    # company cnpj, subject, status, state, assignee e-mail, messages: (author e-mail, body, internal, file)
    (
        "11222333000181",
        "Fatura de março em duplicidade",
        "Novo",
        TicketState.OPEN,
        None,
        (
            (
                "rep@acme.dev",
                "Recebemos duas faturas de março, segue a cópia.",
                False,
                "fatura-marco.txt",
            ),
        ),
    ),
    (
        "11222333000181",
        "Sem sinal na filial centro",
        "Aguardando cliente",
        TicketState.OPEN,
        "agent@contato.dev",
        (
            ("rep@acme.dev", "A filial centro está sem sinal desde ontem.", False, None),
            ("agent@contato.dev", "Cliente já abriu dois chamados iguais este mês.", True, None),
            (
                "agent@contato.dev",
                "Pode reiniciar o equipamento e nos avisar?",
                False,
                "procedimento.txt",
            ),
        ),
    ),
    (
        "45723174000110",
        "Segunda via do boleto",
        "Concluído",
        TicketState.CLOSED,
        "agent2@contato.dev",
        (
            ("rep@globex.dev", "Preciso da segunda via do boleto de abril.", False, None),
            ("agent2@contato.dev", "Segue a segunda via.", False, "boleto-abril.txt"),
        ),
    ),
    (
        "45723174000110",
        "Renegociação do contrato",
        "Em negociação",
        TicketState.OPEN,
        None,
        (("rep@globex.dev", "Gostaríamos de renegociar o contrato anual.", False, None),),
    ),
)


async def seed_tickets(settings: Settings) -> int:
    """Catalogs and demo tickets; returns how many tickets were added."""
    statuses = {}
    for name, initial, days, closing, on_enter, on_change in STATUSES:
        statuses[name], _ = await TicketStatus.get_or_create(
            name=name,
            defaults={
                "initial": initial,
                "return_after_days": days,
                "allows_closing": closing,
                "email_on_enter": on_enter,
                "email_on_change": on_change,
            },
        )
    classifications = {}
    for root_name, children in CLASSIFICATIONS.items():
        root, _ = await TicketClassification.get_or_create(name=root_name, parent_id=None)
        classifications[root_name] = root
        for child in children:
            await TicketClassification.get_or_create(name=child, parent_id=root.pk)
    for type_name, subtypes in CONTACT_TYPES.items():
        contact_type, created = await ContactType.get_or_create(name=type_name)
        for subtype in subtypes:
            await ContactSubtype.get_or_create(contact_type_id=contact_type.pk, name=subtype)
        if created:
            for status in statuses.values():
                await ContactTypeStatus.create(contact_type_id=contact_type.pk, status_id=status.pk)
    for reason in CLOSURE_REASONS:
        await ClosureReason.get_or_create(name=reason)
    for name, sets, service_order, non_conformity in ACTIONS:
        await ActionDefinition.get_or_create(
            name=name,
            defaults={
                "sets_ticket_status_id": statuses[sets].pk if sets else None,
                "opens_service_order": service_order,
                "raises_non_conformity": non_conformity,
            },
        )
    users = {user.email: user for user in await User.all()}
    companies = {company.cnpj: company for company in await Company.all()}
    supervisor = await User.filter(role=Role.SUPERVISOR, active=True).order_by("id").first()
    added = 0
    for cnpj, subject, status_name, state, assignee, messages in DEMO_TICKETS:
        # Found again by company and subject: a second run adds nothing.
        if await Ticket.filter(company_id=companies[cnpj].pk, subject=subject).exists():
            continue
        await _demo_ticket(
            settings, companies[cnpj], subject, statuses[status_name], state, users, assignee, messages,
            classifications, supervisor,
        )
        added += 1
    return added


@dataclass
class _DemoFile:
    """A demo attachment, handed to the use cases as an upload is."""

    filename: str
    content: bytes
    content_type: str = "text/plain"
    offset: int = 0

    async def read(self, size: int = -1) -> bytes:
        end = len(self.content) if size < 0 else self.offset + size
        chunk, self.offset = self.content[self.offset:end], min(end, len(self.content))
        return chunk


def _files(subject: str, body: str, file_name: str | None) -> list[_DemoFile]:
    return [_DemoFile(file_name, f"{subject}\n\n{body}\n".encode())] if file_name else []


async def _demo_ticket(
    settings: Settings,
    company: Company,
    subject: str,
    status: TicketStatus,
    state: TicketState,
    users: dict[str, User],
    assignee: str | None,
    messages: tuple[tuple[str, str, bool, str | None], ...],
    classifications: dict[str, TicketClassification],
    supervisor: User | None,
) -> Ticket:
    """One demo ticket through the API's use cases, as its people would have done it: the rep opens it
    (ticketOpen: the year's number, the OPENED history), the assignee takes it, the thread is written
    message by message, then the status is changed and the ticket closed. The demo's operators decline
    e-mailing the customer (notifyCustomer false: the demo addresses do not exist), as the API asks them."""
    opener_email, first_body, _, first_file = messages[0]
    opener = users[opener_email]
    root = classifications[
        "Financeiro" if "oleto" in subject or "atura" in subject else "Técnico" if "sinal" in subject else "Comercial"
    ]
    sub = await TicketClassification.filter(parent_id=root.pk, active=True).order_by("id").first()
    classified: dict[str, int | None] = {"classification_id": root.pk, "subclassification_id": sub.pk if sub else None}
    if settings.ticket_scheme.value == "CONTACT_TYPE":
        contact_type = await ContactType.filter(active=True).order_by("id").first()
        channel, _ = await ContactChannel.get_or_create(name="Portal")
        classified = {"contact_type_id": contact_type.pk if contact_type else None, "channel_id": channel.pk}
    ticket = await writes.open_ticket(
        Context(settings=settings, user=opener),
        TicketOpenInput(
            subject=subject, body=first_body, contact_name=opener.name, contact_phone="+551130000000",
            contact_email=opener.email, company_id=company.pk, files=_files(subject, first_body, first_file),
            **classified,
        ),
    )
    operator = users[assignee] if assignee else supervisor
    if operator is None:
        return ticket
    as_operator = Context(settings=settings, user=operator)
    if assignee:
        await writes.assign_ticket(as_operator, ticket.pk, operator.pk, notify_customer=False)
    for author_email, body, internal, file_name in messages[1:]:
        author = users[author_email]
        await writes.add_message(
            Context(settings=settings, user=author), ticket.pk, body, internal, _files(subject, body, file_name),
            notify_customer=False,
        )
    if status.pk != ticket.status_id:
        await writes.change_status(as_operator, ticket.pk, status.pk, notify_customer=False)
    if state == TicketState.CLOSED:
        reason = await ClosureReason.get(name="Resolvido")
        await writes.close_ticket(as_operator, ticket.pk, reason.pk, notify_customer=False)
    return ticket


# ------------------------------------------------------------------------------------ seed --size volume

GENERATED_PREFIX = "GEN-"
MESSAGES_PER_TICKET = 12
TICKET_HISTORY = timedelta(days=180)
TICKET_CHUNK = 5000
SUBJECTS = (
    "Fatura em duplicidade", "Sem sinal na filial", "Segunda via do boleto", "Renegociação do contrato",
    "Instalação de ponto extra", "Cobrança após cancelamento", "Troca de plano", "Visita técnica atrasada",
)
PRODUCTS = ("Plano Empresa", "Plano Fibra 500", "Seguro Frota", "Seguro Residencial", "Link Dedicado")
TICKET_COLUMNS = (
    "id", "created_at", "updated_at", "number", "company_id", "person_id", "opened_by_id", "contact_name",
    "contact_phone", "contact_email", "channel_id", "classification_id", "subclassification_id",
    "contact_type_id", "contact_subtype_id", "subject", "product", "occurrence", "status_id", "state",
    "assignee_id", "return_due_at", "return_alerted_at", "parent_id", "closed_at", "closure_reason_id",
    "search_text",
    # The thread's summary (resolvers/ticket/summary.py), from the messages generated with the ticket.
    "message_count", "last_message_id", "last_message_at", "public_message_count", "public_last_message_id",
    "public_last_message_at",
)
MESSAGE_COLUMNS = ("id", "ticket_id", "author_id", "body", "internal", "created_at")


async def seed_ticket_volume(writer: BulkWriter, count: int, now: datetime, quiet: bool = False) -> tuple[int, int]:
    """`count` generated tickets GEN-00000001… (idempotent by number) of 12 messages each, over 180 days.

    Each is opened by a company rep for their company and answered by agents; every fifth operator reply is
    an internal note; a fifth are closed, from a status that allows closing, with a closure reason; a
    ticket in a status with returnAfterDays has its return due (already alerted when past). Tickets are
    assigned in turn to nobody and to each agent. Returns (tickets, messages) added.
    """
    reps = [user for user in await User.filter(role="COMPANY_REP", active=True, company_id__isnull=False)
            .order_by("id")]
    agents = [user.pk for user in await User.filter(role="AGENT", active=True).order_by("id")]
    statuses = list(await TicketStatus.filter(active=True).order_by("id"))
    closing = [status for status in statuses if status.allows_closing]
    reasons = await flat_ints(ClosureReason.filter(active=True).order_by("id").values_list("id", flat=True))
    if count <= 0 or not reps or not agents or not statuses or not closing or not reasons:
        return 0, 0
    classifications = list(await TicketClassification.filter(active=True).order_by("id"))
    roots = [row for row in classifications if row.parent_id is None]
    children = {root.pk: [row.pk for row in classifications if row.parent_id == root.pk] for root in roots}
    types = list(await ContactType.filter(active=True).order_by("id"))
    subtypes: dict[int, list[int]] = {}
    for subtype in await ContactSubtype.filter(active=True).order_by("id"):
        subtypes.setdefault(subtype.contact_type_id, []).append(subtype.pk)
    allowed: dict[int, set[int]] = {}
    for link in await ContactTypeStatus.all():
        allowed.setdefault(link.contact_type_id, set()).add(link.status_id)
    channels = await flat_ints(ContactChannel.filter(active=True).order_by("id").values_list("id", flat=True))
    step = TICKET_HISTORY / count
    show = progress_bar(count, "tickets") if not quiet else (lambda done: None)
    added = messages_added = 0
    for start in range(1, count + 1, TICKET_CHUNK):
        numbers = range(start, min(start + TICKET_CHUNK, count + 1))
        existing = await writer.existing("ticket", "number", [f"{GENERATED_PREFIX}{g:08d}" for g in numbers])
        fresh = [g for g in numbers if f"{GENERATED_PREFIX}{g:08d}" not in existing]
        first_ticket = await writer.reserve_ids("ticket", len(fresh))
        next_message = await writer.reserve_ids("ticket_message", len(fresh) * MESSAGES_PER_TICKET)
        tickets, messages = [], []
        for offset, g in enumerate(fresh):
            ticket_id = first_ticket + offset
            rep = reps[g % len(reps)]
            assignee = ([None, *agents])[g % (len(agents) + 1)]
            closed = g % 5 == 0
            status = closing[(g // 5) % len(closing)] if closed else statuses[g % len(statuses)]
            contact_type = types[g % len(types)] if types and g % 3 else None
            if contact_type is not None and allowed.get(contact_type.pk) and status.pk not in allowed[contact_type.pk]:
                contact_type = None
            kinds = subtypes.get(contact_type.pk, []) if contact_type is not None else []
            root = roots[g % len(roots)] if roots else None
            branches = children.get(root.pk, []) if root is not None else []
            created = now - (count - g + 1) * step - timedelta(seconds=mix(g, 20) % 600)
            age = now - created
            times = [created + age * (k + 1) / 26 for k in range(MESSAGES_PER_TICKET)]
            subject = f"{SUBJECTS[g % len(SUBJECTS)]} ({g})"
            product = PRODUCTS[(g // 3) % len(PRODUCTS)]
            number = f"{GENERATED_PREFIX}{g:08d}"
            closed_at = created + age * 14 / 26 if closed else None
            # Counted from the opening, as TICKET_RETURN_FROM's default reads "Agenda retorno".
            return_due = created + timedelta(days=status.return_after_days) if status.return_after_days else None
            tickets.append((
                ticket_id, created, closed_at or times[-1], number, rep.company_id, None, rep.pk, rep.name,
                f"+5511{3000_0000 + g % 6000_0000}", rep.email, channels[g % len(channels)] if channels else None,
                root.pk if root is not None else None, branches[(g // 7) % len(branches)] if branches else None,
                contact_type.pk if contact_type is not None else None,
                kinds[(g // 11) % len(kinds)] if kinds else None, subject, product, None, status.pk,
                TicketState.CLOSED.value if closed else TicketState.OPEN.value, assignee, return_due,
                return_due if return_due is not None and return_due <= now else None, None, closed_at,
                reasons[g % len(reasons)] if closed else None,
                search_text(number, subject, rep.name, rep.email, product),
            ))
            thread_start = len(messages)
            for k, at in enumerate(times):
                if k % 2 == 0:
                    author, internal = rep.pk, False
                    body = (f"{subject}: segue o relato do cliente, mensagem {k + 1}. "
                            + "Aguardamos retorno. " * (1 + (g + k) % 4))
                else:
                    author, internal = assignee or agents[(g + k) % len(agents)], (g + k) % 5 == 0
                    body = (f"Nota interna {k + 1}: verificar com o financeiro." if internal
                            else f"Resposta {k + 1}: estamos verificando e retornamos em breve.")
                messages.append((next_message, ticket_id, author, body, internal, at))
                next_message += 1
            thread = messages[thread_start:]
            public = [message for message in thread if not message[4]]
            tickets[-1] += (
                len(thread), thread[-1][0], thread[-1][5],
                len(public), public[-1][0] if public else None, public[-1][5] if public else None,
            )
        await writer.insert("ticket", TICKET_COLUMNS, tickets)
        await writer.insert("ticket_message", MESSAGE_COLUMNS, messages)
        added += len(tickets)
        messages_added += len(messages)
        show(numbers.stop - 1)
    return added, messages_added
