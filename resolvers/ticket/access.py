"""Who sees which ticket: reps their company's (never internal notes), agents theirs and the
unassigned ones, supervisors and admins all. The same rules guard lists, lookups and downloads.

"Queue" is kept simple: every unassigned ticket is in every agent's queue; once assigned, a
ticket is seen by its assignee (and by supervisors and admins) only.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from tortoise.expressions import Q, RawSQL
from tortoise.queryset import QuerySet

from models.search import SEARCH_CONFIG, SQLITE_TABLE
from models.ticket import Attachment, Ticket, TicketMessage, TicketState
from models.user import Role, User
from resolvers.attachment import blob_path
from resolvers.bounds import search_term
from resolvers.context import Context
from resolvers.documents import fold, search_needle
from resolvers.errors import AttachmentNotFound
from resolvers.pagination import Ordering, Page, PageArgs, Window, paginate, window
from resolvers.rows import PreparedQuery, Row
from resolvers.scope import Scope
from resolvers.ticket.inputs import StateFilter, TicketFilter, TicketOrder, TicketOrderField
from resolvers.ticket.summary import summary_columns

WORD = re.compile(r"\w+")


def visible_tickets(ctx: Context) -> QuerySet[Ticket]:
    """The tickets `Scope.sees_ticket` lets the caller see, as a queryset."""
    return _visible(*_viewer(ctx))


def _viewer(ctx: Context) -> tuple[str, int | None]:
    """Which of the rules applies to the caller, and to whom: (kind, company or user id)."""
    user = ctx.require_user()
    if ctx.scope.is_rep:
        return "company", user.company_id
    if user.role == Role.AGENT:
        return "agent", user.pk
    return "all", None


def _visible(kind: str, owner: int | None) -> QuerySet[Ticket]:
    if kind == "company":
        return Ticket.filter(company_id=owner)
    if kind == "agent":
        return Ticket.filter(Q(assignee_id=owner) | Q(assignee_id__isnull=True))
    return Ticket.all()


# The first page of the plain ticket list (resolvers/rows.py). Its shape: the kind of viewer, whether
# the rule has an owner (an id among the values), and the columns.
_FIRST_PAGE = PreparedQuery(
    lambda shape, *values: _visible(shape[0], values[0] if shape[1] else None)
    .order_by("id")
    .limit(values[-1])
    .values_list(*shape[2])
)


async def first_ticket_rows(ctx: Context, columns: tuple[str, ...], limit: int) -> list[Row]:
    """The first `limit` tickets the caller may see, by id, unfiltered (`tickets(first:)` with no
    filter, order or cursor), as the driver's rows: what `ticket_window(ctx, TicketFilter(), …)`
    reads."""
    kind, owner = _viewer(ctx)
    values = (limit,) if owner is None else (owner, limit)
    return await _FIRST_PAGE.rows(Ticket, (kind, owner is not None, columns), *values)


def can_see(user: User, ticket: Ticket) -> bool:
    return Scope.of(user).sees_ticket(ticket.company_id, ticket.assignee_id)


def sees_internal_notes(user: User) -> bool:
    return Scope.of(user).sees_operator_records


def search_text(*parts: str | None) -> str:
    words = [fold(part) for part in parts if part]
    return " ".join(words)


def ticket_ordering(ctx: Context, order: TicketOrder | None) -> Ordering:
    """The keyset order of `order` (None: by id). A rep's last message is their thread's: an internal
    note neither moves a ticket in their list nor shows in its cursor."""
    if order is None:
        return Ordering("ticket")
    if order.field == TicketOrderField.NUMBER:
        return Ordering("ticket", "number", order.descending)
    if order.field == TicketOrderField.LAST_MESSAGE_AT:
        column = summary_columns(sees_internal_notes(ctx.require_user()))["last_message_at"]
        return Ordering.by_time("ticket", column, order.descending, nullable=True)
    column, nullable = {
        TicketOrderField.CREATED_AT: ("created_at", False),
        TicketOrderField.UPDATED_AT: ("updated_at", False),
        TicketOrderField.RETURN_DUE_AT: ("return_due_at", True),
    }[order.field]
    return Ordering.by_time("ticket", column, order.descending, nullable=nullable)


def ticket_window(ctx: Context, where: TicketFilter, page: PageArgs, order: TicketOrder | None = None) -> Window[Ticket]:
    """One page of `tickets` before it is read (the compiled path reads it as rows)."""
    return window(filtered_tickets(ctx, where), ticket_ordering(ctx, order), page, ctx.settings.max_page_size)


async def list_tickets(
    ctx: Context, where: TicketFilter, page: PageArgs, order: TicketOrder | None = None
) -> Page[Ticket]:
    return await paginate(filtered_tickets(ctx, where), ticket_ordering(ctx, order), page, ctx.settings.max_page_size)


def filtered_tickets(ctx: Context, where: TicketFilter) -> QuerySet[Ticket]:
    """The tickets the caller may see that match `where`, in no order (`list_tickets` pages them)."""
    queryset = visible_tickets(ctx)
    if where.state != StateFilter.ALL:
        queryset = queryset.filter(state=TicketState(where.state.value))
    if where.company_id is not None:
        queryset = queryset.filter(company_id=where.company_id)
    if where.status_id is not None:
        queryset = queryset.filter(status_id=where.status_id)
    if where.assignee_id is not None:
        queryset = queryset.filter(assignee_id=where.assignee_id)
    if where.unassigned:
        queryset = queryset.filter(assignee_id__isnull=True)
    if where.classification_id is not None:
        # A classification matches its tickets and those of its sub-classifications.
        queryset = queryset.filter(
            Q(classification_id=where.classification_id)
            | Q(subclassification_id=where.classification_id)
        )
    if where.contact_type_id is not None:
        queryset = queryset.filter(contact_type_id=where.contact_type_id)
    if where.awaiting_return is not None:
        due = Q(state=TicketState.OPEN, return_due_at__lte=datetime.now(UTC))
        queryset = queryset.filter(due) if where.awaiting_return else queryset.filter(~due)
    # PostgreSQL text cannot hold NUL, and no ticket's text has one.
    term = search_term((where.text or "").replace("\x00", ""))
    if term:
        match = Q(search_text__contains=search_needle(term))
        body = body_match(term, public_only=not ctx.scope.sees_operator_records)
        if body is not None:
            queryset = queryset.annotate(body_match=RawSQL(body))
            match |= Q(body_match=True)
        queryset = queryset.filter(match)
    return queryset


def sql_text(value: str) -> str:
    """`value` as an SQL string literal (quotes doubled; PostgreSQL's standard_conforming_strings)."""
    return "'" + value.replace("'", "''") + "'"


def body_match(term: str, public_only: bool) -> str | None:
    """SQL that is true for a ticket with a message whose body matches `term`, through the full-text
    index of models/search.py (PostgreSQL: Portuguese stems without accents; SQLite: FTS5 words without
    accents, each word required). `public_only` (reps) leaves internal notes out. None: no word to find."""
    if Ticket._meta.db.capabilities.dialect == "postgres":
        if not WORD.search(term):
            return None
        public = " AND NOT m.internal" if public_only else ""
        return (
            f'"ticket"."id" IN (SELECT m.ticket_id FROM ticket_message m WHERE '
            f"to_tsvector('{SEARCH_CONFIG}', m.body) @@ plainto_tsquery('{SEARCH_CONFIG}', {sql_text(term)}){public})"
        )
    words = WORD.findall(term)
    if not words:
        return None
    query = " ".join(f'"{word}"' for word in words)
    public = " AND internal = 0" if public_only else ""
    return (
        f'"ticket"."id" IN (SELECT ticket_id FROM {SQLITE_TABLE} WHERE {SQLITE_TABLE} MATCH {sql_text(query)}{public})'
    )


async def get_ticket(ctx: Context, ticket_id: int) -> Ticket | None:
    return await visible_tickets(ctx).get_or_none(id=ticket_id)


async def open_attachment(ctx: Context, attachment_id: int) -> tuple[Attachment, Path]:
    """The attachment and its file, when the caller may see the ticket (and the note it is on)."""
    user = ctx.require_user()
    attachment = await Attachment.get_or_none(id=attachment_id)
    if (
        attachment is None
        or not await visible_tickets(ctx).filter(id=attachment.ticket_id).exists()
    ):
        raise AttachmentNotFound()
    if (
        not sees_internal_notes(user)
        and await TicketMessage.filter(id=attachment.message_id, internal=True).exists()
    ):
        raise AttachmentNotFound()
    path = blob_path(ctx.settings, attachment.sha256)
    if not path.is_file():
        raise AttachmentNotFound()
    return attachment, path
