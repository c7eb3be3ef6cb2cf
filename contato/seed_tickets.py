"""Demo ticket catalogs and tickets (idempotent): several statuses, threads with notes and files."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from datetime import datetime, timedelta, timezone

from tortoise.transactions import in_transaction

from contato.settings import Settings
from models.company import Company
from models.ticket import Attachment, Ticket, TicketMessage, TicketState
from models.ticket_catalog import (
    ActionDefinition,
    ClosureReason,
    ContactSubtype,
    ContactType,
    ContactTypeStatus,
    TicketClassification,
    TicketStatus,
)
from models.user import User
from resolvers.attachment import blob_path
from resolvers.ticket.access import search_text

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
    # number, company cnpj, subject, status, state, assignee e-mail, messages: (author e-mail, body, internal, file)
    (
        "DEMO-0001",
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
        "DEMO-0002",
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
        "DEMO-0003",
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
        "DEMO-0004",
        "45723174000110",
        "Renegociação do contrato",
        "Em negociação",
        TicketState.OPEN,
        None,
        (("rep@globex.dev", "Gostaríamos de renegociar o contrato anual.", False, None),),
    ),
)


def _store_demo_file(settings: Settings, content: bytes) -> str:
    sha256 = hashlib.sha256(content).hexdigest()
    final = blob_path(settings, sha256)
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=final.parent, prefix="seed-")
        with os.fdopen(handle, "wb") as output:
            output.write(content)
        os.replace(name, final)
    return sha256


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
    now = datetime.now(timezone.utc)
    added = 0
    for number, cnpj, subject, status_name, state, assignee, messages in DEMO_TICKETS:
        if await Ticket.filter(number=number).exists():
            continue
        status = statuses[status_name]
        opener = users[messages[0][0]]
        async with in_transaction():
            ticket = await Ticket.create(
                number=number,
                company_id=companies[cnpj].pk,
                opened_by_id=opener.pk,
                contact_name=opener.name,
                contact_phone="+551130000000",
                contact_email=opener.email,
                classification_id=classifications[
                    "Financeiro"
                    if "oleto" in subject or "atura" in subject
                    else "Técnico"
                    if "sinal" in subject
                    else "Comercial"
                ].pk,
                subject=subject,
                status_id=status.pk,
                state=state,
                assignee_id=users[assignee].pk if assignee else None,
                return_due_at=now + timedelta(days=status.return_after_days)
                if status.return_after_days
                else None,
                closed_at=now if state == TicketState.CLOSED else None,
                closure_reason_id=(await ClosureReason.get(name="Resolvido")).pk
                if state == TicketState.CLOSED
                else None,
                search_text=search_text(number, subject, opener.name, opener.email),
            )
            for author_email, body, internal, file_name in messages:
                author = users[author_email]
                message = await TicketMessage.create(
                    ticket_id=ticket.pk, author_id=author.pk, body=body, internal=internal
                )
                if file_name:
                    content = f"{subject}\n\n{body}\n".encode()
                    await Attachment.create(
                        message_id=message.pk,
                        ticket_id=ticket.pk,
                        file_name=file_name,
                        content_type="text/plain",
                        size=len(content),
                        sha256=_store_demo_file(settings, content),
                        uploaded_by_id=author.pk,
                    )
        added += 1
    return added
