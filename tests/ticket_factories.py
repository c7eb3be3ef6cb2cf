"""Ticket rows for tests: catalogs, tickets with threads, uploads."""

from __future__ import annotations

import io
import itertools
from datetime import date
from typing import Any

from starlette.datastructures import Headers, UploadFile

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
from resolvers.ticket.summary import count_message
from tests.factories import Factory

_numbers = itertools.count(1)


def upload(
    name: str = "evidence.pdf",
    data: bytes = b"%PDF-1.4 test",
    content_type: str = "application/pdf",
) -> UploadFile:
    return UploadFile(
        file=io.BytesIO(data), filename=name, headers=Headers({"content-type": content_type})
    )


class TicketFactory:
    def __init__(self, factory: Factory) -> None:
        self.factory = factory
        self.settings = factory.settings

    async def execute(
        self, document: str, variables: dict[str, Any] | None = None, user: User | None = None
    ) -> dict[str, Any]:
        return await self.factory.execute(document, variables, user=user)

    async def status(self, name: str = "Novo", **flags: Any) -> TicketStatus:
        return await TicketStatus.create(name=name, **flags)

    async def classification(
        self, name: str = "Financeiro", parent: TicketClassification | None = None
    ) -> TicketClassification:
        return await TicketClassification.create(name=name, parent=parent)

    async def contact_type(
        self,
        name: str = "Reclamação",
        statuses: list[TicketStatus] = (),  # type: ignore[assignment]
        valid_from: date | None = None,
        valid_to: date | None = None,
        active: bool = True,
    ) -> ContactType:
        row = await ContactType.create(
            name=name, valid_from=valid_from, valid_to=valid_to, active=active
        )
        for status in statuses:
            await ContactTypeStatus.create(contact_type=row, status=status)
        return row

    async def subtype(self, contact_type: ContactType, name: str = "Cobrança") -> ContactSubtype:
        return await ContactSubtype.create(contact_type=contact_type, name=name)

    async def closure_reason(self, name: str = "Resolvido") -> ClosureReason:
        return await ClosureReason.create(name=name)

    async def action(
        self, name: str = "Visita técnica", sets: TicketStatus | None = None, **flags: Any
    ) -> ActionDefinition:
        return await ActionDefinition.create(name=name, sets_ticket_status=sets, **flags)

    async def ticket(
        self,
        opened_by: User,
        status: TicketStatus,
        company: Company | None = None,
        assignee: User | None = None,
        parent: Ticket | None = None,
        subject: str = "Fatura em duplicidade",
        state: TicketState = TicketState.OPEN,
        classification: TicketClassification | None = None,
        contact_type: ContactType | None = None,
    ) -> Ticket:
        number = f"T-{next(_numbers):06d}"
        return await Ticket.create(
            number=number,
            company=company,
            opened_by=opened_by,
            contact_name="Rita",
            contact_phone="+5511999990000",
            contact_email="rita@acme.test",
            subject=subject,
            status=status,
            state=state,
            assignee=assignee,
            parent=parent,
            classification=classification,
            contact_type=contact_type,
            search_text=f"{number.lower()} {subject.lower()}",
        )

    async def message(
        self,
        ticket: Ticket,
        author: User,
        body: str = "Olá",
        internal: bool = False,
        files: int = 0,
    ) -> TicketMessage:
        message = await TicketMessage.create(
            ticket=ticket, author=author, body=body, internal=internal
        )
        await count_message(None, message, ticket)
        for index in range(files):
            await Attachment.create(
                message=message,
                ticket=ticket,
                file_name=f"file{index}.pdf",
                content_type="application/pdf",
                size=3,
                sha256="0" * 64,
                uploaded_by=author,
            )
        return message
