"""Ticket types: tickets, their messages (a connection), attachments, actions and non-conformities."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TypeVar

import strawberry

from models.mail_template import MailEvent as MailEventModel
from models.mail_template import MailLocale as MailLocaleModel
from models.ticket import Attachment, NonConformity, OutboxMail, Ticket, TicketAction, TicketMessage
from models.ticket import TicketActionStatus as TicketActionStatusModel
from models.ticket import TicketState as TicketStateModel
from resolvers import errors as domain
from resolvers.context import Context
from resolvers.history import ticket_history
from resolvers.loaders import MessageCountKey, MessagePageKey
from resolvers.mail_templates import ticket_emails
from resolvers.pagination import Page, PageArgs, TotalCount, cut, decode_cursor
from resolvers.signed_links import attachment_link
from resolvers.ticket import sees_internal_notes
from resolvers.ticket.summary import ThreadSummary, thread_summary
from schema.base import Info
from schema.catalog import ContactChannelType
from schema.company import CompanyType
from schema.errors import Error
from schema.history import TicketHistoryEntryType
from schema.mail_enums import CustomerEmailEvent, MailLocale, MailStatus
from schema.pagination import Connection
from schema.person import PersonType
from schema.ticket_catalog import (
    ActionDefinitionType,
    ClosureReasonType,
    ContactSubtypeType,
    ContactTypeType,
    OccurrenceType,
    ProductType,
    TicketClassificationType,
    TicketStatusType,
    TicketSubjectType,
)
from schema.user import UserType

TicketErrorCode = strawberry.enum(domain.TicketErrorCode, name="TicketErrorCode")
TicketState = strawberry.enum(TicketStateModel, name="TicketState")
TicketActionStatus = strawberry.enum(TicketActionStatusModel, name="TicketActionStatus")

MESSAGE_CURSOR = "ticket_message"
T = TypeVar("T")


@strawberry.type
class TicketError(Error):
    code: TicketErrorCode  # type: ignore[valid-type]


def absolute_url(connection: object, path: str) -> str:
    """`path` on the server the client reached (its Host, scheme and root path; a WebSocket's ws://
    becomes http://), so that a page on another origin can use it; the path alone without one."""
    base_url = getattr(connection, "base_url", None)
    if base_url is None:
        return path
    scheme = {"ws": "http", "wss": "https"}.get(base_url.scheme, base_url.scheme)
    return f"{base_url.replace(scheme=scheme)}".rstrip("/") + path


def _id(pk: int) -> strawberry.ID:
    return strawberry.ID(str(pk))


async def _user(info: Info, user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_row(row) if row else None


@strawberry.type(name="Attachment")
class AttachmentType:
    id: strawberry.ID
    file_name: str
    content_type: str
    size: int
    created_at: datetime

    @classmethod
    def from_row(cls, row: Attachment) -> AttachmentType:
        return cls(
            id=_id(row.pk),
            file_name=row.file_name,
            content_type=row.content_type,
            size=row.size,
            created_at=row.created_at,
        )

    @strawberry.field(
        description=(
            "A link for <img src> and <a href>: signed for you and valid for "
            "ATTACHMENT_LINK_TTL_SECONDS, with the ticket's visibility checked again at download. "
            "/attachments/<id> with the Bearer token works too."
        )
    )
    def download_url(self, info: Info) -> str:
        context = info.context
        return absolute_url(context.request, attachment_link(context.settings, int(self.id), context.require_user()))


@strawberry.type(name="TicketMessage")
class TicketMessageType:
    id: strawberry.ID
    body: str
    internal: bool = strawberry.field(description="An internal note: never shown to company reps.")
    created_at: datetime
    author_id: strawberry.Private[int]
    ticket_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: TicketMessage) -> TicketMessageType:
        return cls(
            id=_id(row.pk),
            body=row.body,
            internal=row.internal,
            created_at=row.created_at,
            author_id=row.author_id,
            ticket_id=row.ticket_id,
        )

    @strawberry.field
    async def author(self, info: Info) -> UserType | None:
        return await _user(info, self.author_id)

    @strawberry.field
    async def attachments(self, info: Info) -> list[AttachmentType]:
        rows = await info.context.loaders.attachments_by_message.load(int(self.id))
        return [AttachmentType.from_row(row) for row in rows]

    @strawberry.field
    async def ticket(self, info: Info) -> TicketType | None:
        row = await info.context.loaders.ticket_by_id.load(self.ticket_id)
        return TicketType.from_row(row) if row else None


@strawberry.type(
    name="NonConformity", description="A non-conformity record (FNC) raised by an action."
)
class NonConformityType:
    id: strawberry.ID
    number: str
    description: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: NonConformity) -> NonConformityType:
        return cls(
            id=_id(row.pk),
            number=row.number,
            description=row.description,
            created_at=row.created_at,
        )


@strawberry.type(name="TicketAction")
class TicketActionType:
    id: strawberry.ID
    due_date: date | None
    status: TicketActionStatus  # type: ignore[valid-type]
    notes: str
    service_order_number: str | None = strawberry.field(
        description="Set when the action opened a service order."
    )
    created_at: datetime
    ticket_id: strawberry.Private[int]
    definition_id: strawberry.Private[int]
    responsible_id: strawberry.Private[int | None]
    performed_by_id: strawberry.Private[int]
    non_conformity_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: TicketAction) -> TicketActionType:
        return cls(
            id=_id(row.pk),
            due_date=row.due_date,
            status=row.status,
            notes=row.notes,
            service_order_number=row.service_order_number,
            created_at=row.created_at,
            ticket_id=row.ticket_id,
            definition_id=row.definition_id,
            responsible_id=row.responsible_id,
            performed_by_id=row.performed_by_id,
            non_conformity_id=row.non_conformity_id,
        )

    @strawberry.field
    async def definition(self, info: Info) -> ActionDefinitionType:
        row = await info.context.loaders.action_definition_by_id.load(self.definition_id)
        assert row is not None
        return ActionDefinitionType.from_row(row)

    @strawberry.field
    async def responsible(self, info: Info) -> UserType | None:
        return await _user(info, self.responsible_id)

    @strawberry.field
    async def performed_by(self, info: Info) -> UserType | None:
        return await _user(info, self.performed_by_id)

    @strawberry.field
    async def non_conformity(self, info: Info) -> NonConformityType | None:
        if self.non_conformity_id is None:
            return None
        row = await info.context.loaders.non_conformity_by_id.load(self.non_conformity_id)
        return NonConformityType.from_row(row) if row else None

    @strawberry.field(description="The ticket the action was performed on (with its new status).")
    async def ticket(self, info: Info) -> TicketType | None:
        row = await info.context.loaders.ticket_by_id.load(self.ticket_id)
        return TicketType.from_row(row) if row else None


@strawberry.type(
    name="TicketEmail",
    description="A mail the ticket sent its customer, as it was written (the template rendered) and when it went.",
)
class TicketEmailType:
    id: strawberry.ID
    event: CustomerEmailEvent | None = strawberry.field(  # type: ignore[valid-type]
        description="Why it was sent; null for mails written before the templates."
    )
    locale: MailLocale | None  # type: ignore[valid-type]
    to: str
    subject: str
    body: str
    status: MailStatus  # type: ignore[valid-type]
    created_at: datetime = strawberry.field(description="When the change wrote it to the outbox.")
    sent_at: datetime | None = strawberry.field(description="When the SMTP server accepted it; null until then.")

    @classmethod
    def from_row(cls, row: OutboxMail) -> TicketEmailType:
        return cls(
            id=_id(row.pk),
            event=MailEventModel(row.event) if row.event else None,
            locale=MailLocaleModel(row.locale) if row.locale else None,
            to=row.to_address,
            subject=row.subject,
            body=row.body,
            status=row.status,
            created_at=row.created_at,
            sent_at=row.sent_at,
        )


@strawberry.type(name="Ticket")
class TicketType:
    id: strawberry.ID
    number: str
    subject: str
    product: str | None
    occurrence: str | None
    contact_name: str
    contact_phone: str
    contact_email: str
    state: TicketState  # type: ignore[valid-type]
    return_due_at: datetime | None = strawberry.field(
        description="Set on entering a status with returnAfterDays."
    )
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    row: strawberry.Private[Ticket]

    @classmethod
    def from_row(cls, row: Ticket) -> TicketType:
        return cls(
            id=_id(row.pk),
            number=row.number,
            subject=row.subject,
            product=row.product,
            occurrence=row.occurrence,
            contact_name=row.contact_name,
            contact_phone=row.contact_phone,
            contact_email=row.contact_email,
            state=row.state,
            return_due_at=row.return_due_at,
            closed_at=row.closed_at,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )

    @strawberry.field(description="Open, and its return date has passed.")
    def awaiting_return(self) -> bool:
        due = self.row.return_due_at
        return (
            self.row.state == TicketStateModel.OPEN
            and due is not None
            and due <= datetime.now(UTC)
        )

    @strawberry.field(
        description="How many messages the thread has; company reps count theirs, without internal notes."
    )
    def message_count(self, info: Info) -> int:
        return _summary(info, self.row).message_count

    @strawberry.field(
        description="When the latest message was written (company reps: the latest they see); null without one."
    )
    def last_message_at(self, info: Info) -> datetime | None:
        return _summary(info, self.row).last_message_at

    @strawberry.field(
        description="The latest message, for a list's preview; company reps never get an internal note here."
    )
    async def last_message(self, info: Info) -> TicketMessageType | None:
        message_id = _summary(info, self.row).last_message_id
        if message_id is None:
            return None
        row = await info.context.loaders.ticket_message_by_id.load(message_id)
        return TicketMessageType.from_row(row) if row else None

    @strawberry.field
    async def company(self, info: Info) -> CompanyType | None:
        if self.row.company_id is None:
            return None
        row = await info.context.loaders.company_by_id.load(self.row.company_id)
        return CompanyType.from_row(row) if row else None

    @strawberry.field
    async def person(self, info: Info) -> PersonType | None:
        if self.row.person_id is None:
            return None
        row = await info.context.loaders.person_by_id.load(self.row.person_id)
        return PersonType.from_row(row) if row else None

    @strawberry.field
    async def opened_by(self, info: Info) -> UserType | None:
        return await _user(info, self.row.opened_by_id)

    @strawberry.field
    async def assignee(self, info: Info) -> UserType | None:
        return await _user(info, self.row.assignee_id)

    @strawberry.field(description="The subject's catalog entry; null where it was free text.")
    async def subject_entry(self, info: Info) -> TicketSubjectType | None:
        if self.row.subject_entry_id is None:
            return None
        row = await info.context.loaders.ticket_subject_by_id.load(self.row.subject_entry_id)
        return TicketSubjectType.from_row(row) if row else None

    @strawberry.field(description="The product's catalog entry; null where it was free text.")
    async def product_entry(self, info: Info) -> ProductType | None:
        if self.row.product_entry_id is None:
            return None
        row = await info.context.loaders.product_by_id.load(self.row.product_entry_id)
        return ProductType.from_row(row) if row else None

    @strawberry.field(description="The occurrence's catalog entry; null where it was free text.")
    async def occurrence_entry(self, info: Info) -> OccurrenceType | None:
        if self.row.occurrence_entry_id is None:
            return None
        row = await info.context.loaders.occurrence_by_id.load(self.row.occurrence_entry_id)
        return OccurrenceType.from_row(row) if row else None

    @strawberry.field
    async def channel(self, info: Info) -> ContactChannelType | None:
        if self.row.channel_id is None:
            return None
        row = await info.context.loaders.contact_channel_by_id.load(self.row.channel_id)
        return ContactChannelType.from_row(row) if row else None

    @strawberry.field
    async def classification(self, info: Info) -> TicketClassificationType | None:
        return await _classification(info, self.row.classification_id)

    @strawberry.field
    async def subclassification(self, info: Info) -> TicketClassificationType | None:
        return await _classification(info, self.row.subclassification_id)

    @strawberry.field
    async def contact_type(self, info: Info) -> ContactTypeType | None:
        if self.row.contact_type_id is None:
            return None
        row = await info.context.loaders.contact_type_by_id.load(self.row.contact_type_id)
        return ContactTypeType.from_row(row) if row else None

    @strawberry.field
    async def contact_subtype(self, info: Info) -> ContactSubtypeType | None:
        if self.row.contact_subtype_id is None:
            return None
        row = await info.context.loaders.contact_subtype_by_id.load(self.row.contact_subtype_id)
        return ContactSubtypeType.from_row(row) if row else None

    @strawberry.field
    async def status(self, info: Info) -> TicketStatusType:
        row = await info.context.loaders.ticket_status_by_id.load(self.row.status_id)
        assert row is not None
        return TicketStatusType.from_row(row)

    @strawberry.field
    async def closure_reason(self, info: Info) -> ClosureReasonType | None:
        if self.row.closure_reason_id is None:
            return None
        row = await info.context.loaders.closure_reason_by_id.load(self.row.closure_reason_id)
        return ClosureReasonType.from_row(row) if row else None

    @strawberry.field(description="The parent ticket, when the caller may see it.")
    async def parent(self, info: Info) -> TicketType | None:
        if self.row.parent_id is None:
            return None
        row = await info.context.loaders.ticket_by_id.load(self.row.parent_id)
        return TicketType.from_row(row) if row else None

    @strawberry.field(description="Child tickets the caller may see.")
    async def children(self, info: Info) -> list[TicketType]:
        rows = await info.context.loaders.tickets_by_parent.load(self.row.pk)
        return [TicketType.from_row(row) for row in rows]

    @strawberry.field(
        description="The operator's actions on the ticket; company reps get none (like internal notes)."
    )
    async def actions(self, info: Info) -> list[TicketActionType]:
        rows = await info.context.loaders.ticket_actions_by_ticket.load(self.row.pk)
        return [TicketActionType.from_row(row) for row in rows]

    @strawberry.field(
        description="The thread, oldest first (`last: 1` is the latest message); company reps never get "
        "internal notes."
    )
    async def messages(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[TicketMessageType]:
        window = thread_window(info.context, PageArgs(first, after, last, before))
        loaders = info.context.loaders
        rows = await loaders.ticket_messages_by_ticket.load(window.key(self.row.pk))
        count_key = MessageCountKey(self.row.pk, window.include_internal)

        async def count(limit: int) -> TotalCount:
            return TotalCount(await loaders.message_count_by_ticket.load(count_key))

        page_rows, has_next_page, has_previous_page = window.cut(rows)
        page = Page(
            rows=page_rows,
            kind=MESSAGE_CURSOR,
            has_next_page=has_next_page,
            has_previous_page=has_previous_page,
            counter=count,
        )
        return Connection.from_page(page, TicketMessageType.from_row)


    @strawberry.field(
        description="Every change to the ticket, who and when, oldest first (`last: n`: the latest); "
        "company reps read the entries of the ticket's life only (see TicketHistoryEntry)."
    )
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[TicketHistoryEntryType]:
        page = await ticket_history(info.context, self.row.pk, PageArgs(first, after, last, before))
        return Connection.from_page(page, TicketHistoryEntryType.from_row)

    @strawberry.field(
        description="The mails sent to the customer about this ticket, oldest first, as they were written; "
        "company reps get none."
    )
    async def emails(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[TicketEmailType]:
        page = await ticket_emails(info.context, self.row.pk, PageArgs(first, after, last, before))
        return Connection.from_page(page, TicketEmailType.from_row)


@dataclass(frozen=True)
class ThreadWindow:
    """`Ticket.messages`'s arguments, checked: the page's bounds, and whether the caller sees
    internal notes."""

    args: PageArgs
    size: int
    after_id: int
    before_id: int
    include_internal: bool

    def key(self, ticket_id: int) -> MessagePageKey:
        """The loader key of one ticket's page (size + 1 messages, to tell whether more follow)."""
        return MessagePageKey(
            ticket_id=ticket_id, size=self.size + 1, after_id=self.after_id, include_internal=self.include_internal,
            before_id=self.before_id, backward=self.args.backward,
        )

    def cut(self, rows: Sequence[T]) -> tuple[list[T], bool, bool]:
        return cut(rows, self.size, self.args)


def _summary(info: Info, ticket: Ticket) -> ThreadSummary:
    return thread_summary(ticket, sees_internal_notes(info.context.require_user()))


def thread_window(ctx: Context, args: PageArgs) -> ThreadWindow:
    size = args.size(ctx.settings.max_page_size)
    after_id = decode_cursor(MESSAGE_CURSOR, args.after) if args.after is not None else 0
    before_id = decode_cursor(MESSAGE_CURSOR, args.before) if args.before is not None else 0
    return ThreadWindow(args, size, after_id, before_id, sees_internal_notes(ctx.require_user()))


async def _classification(
    info: Info, classification_id: int | None
) -> TicketClassificationType | None:
    if classification_id is None:
        return None
    row = await info.context.loaders.ticket_classification_by_id.load(classification_id)
    return TicketClassificationType.from_row(row) if row else None
