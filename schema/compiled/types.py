"""The compiled path's table of contents: the types, relations and root fields it serves.

Adding a type is adding a FastType: its scalar fields (read from the column of the same name as
the Strawberry attribute) and its relations (One: a foreign key of its table; Pages: a nested
connection). A field left out makes any operation that selects it take the normal path. Only list
a field whose Strawberry resolver is a plain read of that column or a load by id: a field with an
access check of its own (Person.operations…) stays out, or gets a fetch function that calls the
same rule, as Ticket.messages does.

What a viewer may see of rows loaded by id is each type's `visible`: the predicates of
resolvers/scope.py that the normal path's Loaders apply, here over raw rows, in the same batch
(hidden rows are left out, so a nullable relation answers null; a user's e-mail is blanked for
whoever may not read it). A type that a One relation can reach and whose rows some viewer may not
see must declare it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from models.campaign import Campaign, CampaignMember, CampaignStage
from models.catalog import ContactChannel
from models.company import Company
from models.history import REP_TICKET_KINDS, MemberEvent, TicketHistoryEntry
from models.operation import Callback, Operation
from models.outbound import ActionType, ContactResult, Justification, NoContactReason, Script
from models.person import Person
from models.ticket import OutboxMail, Ticket, TicketMessage
from models.ticket_catalog import Occurrence, Product, TicketStatus, TicketSubject
from models.user import User
from resolvers import do_not_call, person_lists
from resolvers import ticket as tickets_use_cases
from resolvers.campaign import queue
from resolvers.context import Context
from resolvers.history import MEMBER_EVENT_CURSOR, TICKET_HISTORY_CURSOR
from resolvers.mail_templates import TICKET_EMAIL_CURSOR
from resolvers.pagination import PageArgs, counter_of, encode_cursor, page_of_list
from resolvers.rows import MESSAGE_PAGE_COLUMNS, Row, decoder, message_page_rows, query_rows
from resolvers.scope import Scope
from resolvers.ticket.summary import summary_columns
from schema.compiled.spec import Derived, FastType, One, Pages, RootConnection, RowsById, RowsPage
from schema.ids import optional_pk, to_pk
from schema.queue_filter import queue_filter
from schema.ticket.operations import ticket_filter, ticket_order
from schema.ticket.types import MESSAGE_CURSOR, thread_window


def _args(args: dict[str, Any]) -> PageArgs:
    return PageArgs(args.get("first"), args.get("after"), args.get("last"), args.get("before"))


async def campaign_queue(ctx: Context, args: dict[str, Any], columns: tuple[str, ...]) -> RowsPage:
    """Query.campaignQueue (schema/campaign.py), as the driver's rows. A refusal (a typed error of
    the union) is raised as the resolver raises it, and sends the request to the normal path."""
    window = await queue.queue_window(
        ctx, to_pk(args["campaign_id"]), args.get("status"), _args(args),
        queue_filter(args.get("filter")), optional_pk(args.get("saved_filter_id")),
    )
    rows, has_next_page, has_previous_page = window.cut(await window.raw_rows(*columns))
    priority, due_at, member_id = (columns.index(name) for name in ("priority", "due_at", "id"))
    due = _due_at_decoder()

    def cursor(row: Row) -> str:
        return queue.queue_cursor(row[priority], due(row[due_at]), row[member_id])

    return RowsPage(rows, has_next_page, has_previous_page, cursor, counter_of(window.members))


@functools.cache
def _due_at_decoder() -> Callable[[Any], Any]:
    """What Tortoise makes of a raw due_at (asked once the models are set up)."""
    return decoder(CampaignMember, "due_at") or (lambda value: value)


async def callable_phones(ctx: Context, people: list[tuple[Any, ...]]) -> dict[int, list[str]]:
    """Person.callablePhones (schema/person.py) for a level's persons: one register query."""
    return await do_not_call.callable_phones_by_person(people)  # type: ignore[arg-type]


async def tickets(ctx: Context, args: dict[str, Any], columns: tuple[str, ...]) -> RowsPage:
    """Query.tickets (schema/ticket/operations.py), as the driver's rows, in its order. A rep's thread
    summary (lastMessageAt, messageCount, lastMessage) is read from the columns without internal
    notes. The plain list's first page (no filter, by id) comes from a statement built once."""
    where = ticket_filter(args.get("filter"))
    order = ticket_order(args.get("order_by"))
    page = _args(args)
    window = tickets_use_cases.ticket_window(ctx, where, page, order)
    summary = summary_columns(tickets_use_cases.sees_internal_notes(ctx.require_user()))
    read = [summary.get(column, column) for column in columns]
    ordering = window.ordering
    if ordering.column is not None:
        read.append(ordering.column)  # past the layout: only the cursor reads it
    if order is None and page.cursor is None and not page.backward and where == tickets_use_cases.TicketFilter():
        rows = await tickets_use_cases.first_ticket_rows(ctx, tuple(read), window.size + 1)
    else:
        rows = await window.read(*read, raw=True)
    rows, has_next_page, has_previous_page = window.cut(rows)
    order_value = _ticket_decoder(ordering.column) if ordering.column is not None else None
    ticket_id = columns.index("id")

    def cursor(row: Row) -> str:
        return ordering.cursor(order_value(row[-1]) if order_value is not None else None, row[ticket_id])

    return RowsPage(rows, has_next_page, has_previous_page, cursor, window.counter())


@functools.cache
def _ticket_decoder(column: str) -> Callable[[Any], Any]:
    """What Tortoise makes of a raw value of a ticket's order column, for its cursor."""
    return decoder(Ticket, column) or (lambda value: value)


async def ticket_messages(ctx: Context, args: dict[str, Any], ticket_ids: list[int]) -> dict[int, RowsPage]:
    """Ticket.messages (schema/ticket/types.py) for many tickets: one windowed query."""
    window = thread_window(ctx, _args(args))
    key = window.key(0)
    threads: dict[int, list[Row]] = {ticket_id: [] for ticket_id in ticket_ids}
    for row in await message_page_rows(
        threads.keys(), key.size, key.after_id, key.include_internal, key.before_id, key.backward
    ):
        threads[row[1]].append(row)

    def cursor(row: Row) -> str:
        return encode_cursor(MESSAGE_CURSOR, row[0])

    return {ticket_id: RowsPage(*window.cut(thread), cursor) for ticket_id, thread in threads.items()}


class _KeyedRow(tuple):  # type: ignore[type-arg]
    """A raw row whose first column is its id, paged like a model row (`page_of_list` reads `.pk`)."""

    @property
    def pk(self) -> Any:
        return self[0]


def _pages_by_parent(
    ctx: Context, args: dict[str, Any], parent_ids: list[int], rows: list[Row], kind: str
) -> dict[int, RowsPage]:
    """Each parent's page of `rows` (id first, the parent's id second, in id order), cut as the normal
    path's `page_of_list` cuts the loader's list."""
    groups: dict[int, list[_KeyedRow]] = {parent_id: [] for parent_id in parent_ids}
    for row in rows:
        groups[row[1]].append(_KeyedRow(row))
    pages = {}
    for parent_id, group in groups.items():
        page = page_of_list(group, kind, _args(args), ctx.settings.max_page_size)
        pages[parent_id] = RowsPage(page.rows, page.has_next_page, page.has_previous_page, page.cursor)
    return pages


TICKET_HISTORY_COLUMNS = ("id", "ticket_id", "kind", "created_at", "actor_id", "from_status_id", "to_status_id",
                          "from_assignee_id", "to_assignee_id")
MEMBER_EVENT_COLUMNS = ("id", "member_id", "kind", "created_at", "actor_id", "agent_id", "from_stage_id",
                        "to_stage_id", "from_status", "to_status", "due_at", "callback_id", "operation_id")


async def ticket_history(ctx: Context, args: dict[str, Any], ticket_ids: list[int]) -> dict[int, RowsPage]:
    """Ticket.history (schema/ticket/types.py) for many tickets: one query, the loaders' rule for reps."""
    query = TicketHistoryEntry.filter(ticket_id__in=ticket_ids)
    if not ctx.scope.sees_operator_records:
        query = query.filter(kind__in=sorted(kind.value for kind in REP_TICKET_KINDS))
    rows = await query_rows(query.order_by("id").values_list(*TICKET_HISTORY_COLUMNS))
    return _pages_by_parent(ctx, args, ticket_ids, rows, TICKET_HISTORY_CURSOR)


TICKET_EMAIL_COLUMNS = ("id", "ticket_id", "event", "locale", "to_address", "subject", "body", "status",
                        "created_at", "sent_at")


async def ticket_emails(ctx: Context, args: dict[str, Any], ticket_ids: list[int]) -> dict[int, RowsPage]:
    """Ticket.emails (schema/ticket/types.py) for many tickets: one query; the operator's only."""
    rows: list[Row] = []
    if ctx.scope.sees_operator_records:
        rows = await query_rows(OutboxMail.filter(ticket_id__in=ticket_ids).order_by("id")
                                .values_list(*TICKET_EMAIL_COLUMNS))
    return _pages_by_parent(ctx, args, ticket_ids, rows, TICKET_EMAIL_CURSOR)


async def member_events(ctx: Context, args: dict[str, Any], member_ids: list[int]) -> dict[int, RowsPage]:
    """CampaignMember.events (schema/campaign.py) for many members: one query; the operator's only."""
    rows: list[Row] = []
    if ctx.scope.sees_operator_records:
        rows = await query_rows(MemberEvent.filter(member_id__in=member_ids).order_by("id")
                                .values_list(*MEMBER_EVENT_COLUMNS))
    return _pages_by_parent(ctx, args, member_ids, rows, MEMBER_EVENT_CURSOR)


# The columns of a ticket and of a membership read under a person: every column their compiled fields read.
PERSON_TICKET_COLUMNS = (
    "id", "number", "subject", "product", "occurrence", "contact_name", "contact_phone", "contact_email", "state",
    "return_due_at", "closed_at", "created_at", "updated_at", "message_count", "last_message_at",
    "last_message_id", "status_id", "company_id", "person_id", "opened_by_id", "assignee_id",
    "subject_entry_id", "product_entry_id", "occurrence_entry_id",
)
PERSON_MEMBER_COLUMNS = (
    "id", "status", "attempts", "due_at", "last_acted_at", "claim_expires_at", "campaign_id", "person_id",
    "stage_id", "assigned_agent_id", "claimed_by_id", "last_operation_id", "next_callback_id",
)


async def person_tickets(ctx: Context, args: dict[str, Any], person_ids: list[int]) -> dict[int, RowsPage]:
    """Person.tickets (schema/person.py) for a level's persons: one query (resolvers/person_lists.py)."""
    pages = await person_lists.person_ticket_rows(ctx, person_ids, PERSON_TICKET_COLUMNS, _args(args))
    ordering, at = person_lists.TICKETS_ORDER, PERSON_TICKET_COLUMNS.index("id")

    def cursor(row: Row) -> str:
        return ordering.cursor(None, row[at])

    return {person_id: RowsPage(*page, cursor) for person_id, page in pages.items()}


async def person_memberships(ctx: Context, args: dict[str, Any], person_ids: list[int]) -> dict[int, RowsPage]:
    """Person.memberships (schema/person.py) for a level's persons: one query."""
    pages = await person_lists.person_member_rows(ctx, person_ids, PERSON_MEMBER_COLUMNS, _args(args))
    ordering, at = person_lists.MEMBERSHIPS_ORDER, PERSON_MEMBER_COLUMNS.index("id")

    def cursor(row: Row) -> str:
        return ordering.cursor(None, row[at])

    return {person_id: RowsPage(*page, cursor) for person_id, page in pages.items()}


Keep = Callable[[RowsById], RowsById]


def persons_seen(scope: Scope, layout: tuple[str, ...]) -> Keep | None:
    if not scope.own_company_only:
        return None
    company = layout.index("company_id")
    return lambda rows: {key: row for key, row in rows.items() if scope.sees_person(row[company])}


def companies_seen(scope: Scope, layout: tuple[str, ...]) -> Keep | None:
    if not scope.own_company_only:
        return None
    return lambda rows: {key: row for key, row in rows.items() if scope.sees_company(key)}


def tickets_seen(scope: Scope, layout: tuple[str, ...]) -> Keep | None:
    if scope.sees_every_ticket:
        return None
    company, assignee = layout.index("company_id"), layout.index("assignee_id")
    return lambda rows: {
        key: row for key, row in rows.items() if scope.sees_ticket(row[company], row[assignee])
    }


def messages_seen(scope: Scope, layout: tuple[str, ...]) -> Keep | None:
    """A message loaded by id (a ticket's lastMessage): never an internal note for a company rep,
    whose tickets name only public messages anyway."""
    if scope.sees_operator_records:
        return None
    internal = layout.index("internal")
    return lambda rows: {key: row for key, row in rows.items() if not row[internal]}


def operator_records_seen(scope: Scope, layout: tuple[str, ...]) -> Keep | None:
    return None if scope.sees_operator_records else (lambda rows: {})


def users_seen(scope: Scope, layout: tuple[str, ...]) -> Keep | None:
    """Every user reached is shown; the e-mail only to whom may read the user whole (`user(id)`)."""
    if scope.reads_every_user or "email" not in layout:
        return None
    email, company = layout.index("email"), layout.index("company_id")

    def blank(row: Row) -> Row:
        values = list(row)
        values[email] = None
        return tuple(values)

    return lambda rows: {
        key: row if scope.reads_user(key, row[company]) else blank(row) for key, row in rows.items()
    }


FAST_TYPES = (
    FastType(
        "CampaignMember",
        CampaignMember,
        scalars=("id", "status", "attempts", "dueAt", "lastActedAt", "claimExpiresAt"),
        relations={
            "campaign": One("campaign_id", "Campaign"),
            "person": One("person_id", "Person"),
            "stage": One("stage_id", "CampaignStage"),
            "assignedAgent": One("assigned_agent_id", "User"),
            "claimedBy": One("claimed_by_id", "User"),
            "lastOperation": One("last_operation_id", "Operation"),
            "nextCallback": One("next_callback_id", "Callback"),
            "events": Pages("MemberEvent", member_events, MEMBER_EVENT_COLUMNS),
        },
        visible=operator_records_seen,
    ),
    FastType(
        "MemberEvent",
        MemberEvent,
        scalars=("id", "kind", "createdAt", "fromStatus", "toStatus", "dueAt"),
        relations={
            "actor": One("actor_id", "User"),
            "agent": One("agent_id", "User"),
            "fromStage": One("from_stage_id", "CampaignStage"),
            "toStage": One("to_stage_id", "CampaignStage"),
            "callback": One("callback_id", "Callback"),
            "operation": One("operation_id", "Operation"),
        },
        visible=operator_records_seen,
    ),
    FastType(
        "TicketHistoryEntry",
        TicketHistoryEntry,
        scalars=("id", "kind", "createdAt"),
        relations={
            "actor": One("actor_id", "User"),
            "fromStatus": One("from_status_id", "TicketStatus"),
            "toStatus": One("to_status_id", "TicketStatus"),
            "fromAssignee": One("from_assignee_id", "User"),
            "toAssignee": One("to_assignee_id", "User"),
        },
    ),
    FastType(
        "Person",
        Person,
        scalars=("id", "kind", "name", "document", "phones", "emails", "stage", "doNotCall", "createdAt",
                 "updatedAt", "cep", "street", "addressNumber", "city", "state", "birthDate", "notes"),
        relations={
            "company": One("company_id", "Company"),
            "convertedTo": One("converted_to_id", "Person"),
            "tickets": Pages("Ticket", person_tickets, PERSON_TICKET_COLUMNS),
            "memberships": Pages("CampaignMember", person_memberships, PERSON_MEMBER_COLUMNS),
        },
        derived={"callablePhones": Derived(("phones", "do_not_call"), callable_phones)},
        visible=persons_seen,
        visible_columns=("company_id",),
    ),
    FastType(
        "Campaign",
        Campaign,
        scalars=("id", "name", "description", "startDate", "endDate", "active", "callbackPolicy",
                 "callbackOpensAfterMinutes", "maxAttempts", "retryAfterMinutes", "wrapUpSeconds"),
        relations={
            "defaultActionType": One("default_action_type_id", "ActionType"),
            "script": One("script_id", "Script"),
        },
        visible=operator_records_seen,
    ),
    FastType("CampaignStage", CampaignStage, scalars=("id", "name", "position")),
    FastType("ActionType", ActionType, scalars=("id", "name", "active"), relations={"script": One("script_id", "Script")}),
    FastType("Script", Script, scalars=("id", "title", "body", "active")),
    FastType("ContactChannel", ContactChannel, scalars=("id", "name", "active", "createdAt")),
    FastType("NoContactReason", NoContactReason, scalars=("id", "name", "requiresCallback", "active")),
    FastType(
        "Operation",
        Operation,
        scalars=("id", "createdAt", "notes", "conversation", "noContact", "callbackAt", "attempt", "claimedAt",
                 "handlingSeconds", "talkSeconds", "wrapUpSeconds"),
        relations={
            "agent": One("agent_id", "User"),
            "member": One("member_id", "CampaignMember"),
            "person": One("person_id", "Person"),
            "campaign": One("campaign_id", "Campaign"),
            "stage": One("stage_id", "CampaignStage"),
            "result": One("result_id", "ContactResult"),
            "justification": One("justification_id", "Justification"),
            "actionType": One("action_type_id", "ActionType"),
            "channel": One("channel_id", "ContactChannel"),
            "noContactReason": One("no_contact_reason_id", "NoContactReason"),
            "script": One("script_id", "Script"),
        },
        visible=operator_records_seen,
    ),
    FastType(
        "ContactResult",
        ContactResult,
        scalars=("id", "name", "kind", "active", "recycleAfterMinutes", "recycleMaxAttempts"),
    ),
    FastType("Justification", Justification, scalars=("id", "name", "active")),
    FastType(
        "Callback",
        Callback,
        scalars=("id", "dueAt", "opensAt", "status", "createdAt", "closedAt"),
        relations={
            "agent": One("agent_id", "User"),
            "member": One("member_id", "CampaignMember"),
            "operation": One("operation_id", "Operation"),
            "campaign": One("campaign_id", "Campaign"),
        },
        visible=operator_records_seen,
    ),
    FastType(
        "User",
        User,
        scalars=("id", "name", "email", "role", "active", "createdAt"),
        relations={"company": One("company_id", "Company")},
        visible=users_seen,
        visible_columns=("company_id",),
    ),
    FastType(
        "Company", Company, scalars=("id", "name", "cnpj", "active", "createdAt", "mailLocale"), visible=companies_seen
    ),
    FastType(
        "Ticket",
        Ticket,
        scalars=("id", "number", "subject", "product", "occurrence", "contactName", "contactPhone",
                 "contactEmail", "state", "returnDueAt", "closedAt", "createdAt", "updatedAt", "messageCount",
                 "lastMessageAt"),
        relations={
            "lastMessage": One("last_message_id", "TicketMessage"),
            "status": One("status_id", "TicketStatus"),
            "company": One("company_id", "Company"),
            "person": One("person_id", "Person"),
            "openedBy": One("opened_by_id", "User"),
            "assignee": One("assignee_id", "User"),
            "subjectEntry": One("subject_entry_id", "TicketSubject"),
            "productEntry": One("product_entry_id", "Product"),
            "occurrenceEntry": One("occurrence_entry_id", "Occurrence"),
            "messages": Pages("TicketMessage", ticket_messages, MESSAGE_PAGE_COLUMNS),
            "history": Pages("TicketHistoryEntry", ticket_history, TICKET_HISTORY_COLUMNS),
            "emails": Pages("TicketEmail", ticket_emails, TICKET_EMAIL_COLUMNS),
        },
        visible=tickets_seen,
        visible_columns=("company_id", "assignee_id"),
    ),
    FastType(
        "TicketStatus",
        TicketStatus,
        scalars=("id", "name", "initial", "returnAfterDays", "allowsClosing", "emailOnEnter", "emailOnChange",
                 "active"),
    ),
    FastType(
        "TicketEmail",
        OutboxMail,
        scalars=("id", "event", "locale", "to", "subject", "body", "status", "createdAt", "sentAt"),
        columns={"to": "to_address"},
        visible=operator_records_seen,
    ),
    FastType("TicketSubject", TicketSubject, scalars=("id", "name", "active")),
    FastType("Product", Product, scalars=("id", "name", "active")),
    FastType("Occurrence", Occurrence, scalars=("id", "name", "active")),
    FastType(
        "TicketMessage",
        TicketMessage,
        scalars=("id", "body", "internal", "createdAt"),
        relations={"author": One("author_id", "User")},
        visible=messages_seen,
        visible_columns=("internal",),
    ),
)

ROOT_FIELDS = {
    "campaignQueue": RootConnection(
        "CampaignMember", campaign_queue, cursor_columns=("priority", "due_at", "id"), raw_rows=True
    ),
    "tickets": RootConnection("Ticket", tickets, raw_rows=True),
}
