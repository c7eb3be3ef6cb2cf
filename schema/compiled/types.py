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
from models.operation import Callback, Operation
from models.outbound import ActionType, ContactResult, Justification, NoContactReason, Script
from models.person import Person
from models.ticket import Ticket, TicketMessage
from models.ticket_catalog import TicketStatus
from models.user import User
from resolvers import do_not_call
from resolvers import ticket as tickets_use_cases
from resolvers.campaign import queue
from resolvers.context import Context
from resolvers.pagination import check_page_size, encode_cursor, page_window
from resolvers.rows import MESSAGE_PAGE_COLUMNS, Row, decoder, message_page_rows, query_rows
from resolvers.scope import Scope
from schema.compiled.spec import Derived, FastType, One, Pages, RootConnection, RowsById, RowsPage
from schema.ids import to_pk
from schema.ticket.operations import ticket_filter
from schema.ticket.types import MESSAGE_CURSOR, thread_window


async def campaign_queue(ctx: Context, args: dict[str, Any], columns: tuple[str, ...]) -> RowsPage:
    """Query.campaignQueue (schema/campaign.py), as the driver's rows."""
    window = await queue.queue_window(
        ctx, to_pk(args["campaign_id"]), args.get("status"), args.get("first"), args.get("after")
    )
    rows = await window.raw_rows(*columns)
    priority, due_at, member_id = (columns.index(name) for name in ("priority", "due_at", "id"))
    due = _due_at_decoder()

    def cursor(row: Row) -> str:
        return queue.queue_cursor(row[priority], due(row[due_at]), row[member_id])

    return RowsPage(rows[: window.size], len(rows) > window.size, window.has_previous_page, cursor)


@functools.cache
def _due_at_decoder() -> Callable[[Any], Any]:
    """What Tortoise makes of a raw due_at (asked once the models are set up)."""
    return decoder(CampaignMember, "due_at") or (lambda value: value)


async def callable_phones(ctx: Context, people: list[tuple[Any, ...]]) -> dict[int, list[str]]:
    """Person.callablePhones (schema/person.py) for a level's persons: one register query."""
    return await do_not_call.callable_phones_by_person(people)  # type: ignore[arg-type]


async def tickets(ctx: Context, args: dict[str, Any], columns: tuple[str, ...]) -> RowsPage:
    """Query.tickets (schema/ticket/operations.py), as the driver's rows."""
    after = args.get("after")
    where = ticket_filter(args.get("filter"))
    if after is None and where == tickets_use_cases.TicketFilter():  # the plain list: its statement is built once
        size = check_page_size(args.get("first"), ctx.settings.max_page_size)
        rows = await tickets_use_cases.first_ticket_rows(ctx, columns, size + 1)
    else:
        queryset = tickets_use_cases.filtered_tickets(ctx, where)
        window, size = page_window(queryset, "ticket", args.get("first"), after, ctx.settings.max_page_size)
        rows = await query_rows(window.values_list(*columns))
    ticket_id = columns.index("id")

    def cursor(row: Row) -> str:
        return encode_cursor("ticket", row[ticket_id])

    return RowsPage(rows[:size], len(rows) > size, after is not None, cursor)


async def ticket_messages(ctx: Context, args: dict[str, Any], ticket_ids: list[int]) -> dict[int, RowsPage]:
    """Ticket.messages (schema/ticket/types.py) for many tickets: one windowed query."""
    size, after_id, include_internal = thread_window(ctx, args.get("first"), args.get("after"))
    threads: dict[int, list[Row]] = {ticket_id: [] for ticket_id in ticket_ids}
    for row in await message_page_rows(threads.keys(), size + 1, after_id, include_internal):
        threads[row[1]].append(row)
    has_previous_page = args.get("after") is not None

    def cursor(row: Row) -> str:
        return encode_cursor(MESSAGE_CURSOR, row[0])

    return {
        ticket_id: RowsPage(thread[:size], len(thread) > size, has_previous_page, cursor)
        for ticket_id, thread in threads.items()
    }


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
        },
        visible=operator_records_seen,
    ),
    FastType(
        "Person",
        Person,
        scalars=("id", "kind", "name", "document", "phones", "emails", "stage", "doNotCall", "createdAt",
                 "updatedAt"),
        relations={"company": One("company_id", "Company"), "convertedTo": One("converted_to_id", "Person")},
        derived={"callablePhones": Derived(("phones", "do_not_call"), callable_phones)},
        visible=persons_seen,
        visible_columns=("company_id",),
    ),
    FastType(
        "Campaign",
        Campaign,
        scalars=("id", "name", "description", "startDate", "endDate", "active", "callbackPolicy",
                 "callbackOpensAfterMinutes", "maxAttempts", "retryAfterMinutes"),
        relations={"defaultActionType": One("default_action_type_id", "ActionType")},
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
        scalars=("id", "createdAt", "notes", "conversation", "noContact", "callbackAt", "attempt"),
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
        "Company", Company, scalars=("id", "name", "cnpj", "active", "createdAt"), visible=companies_seen
    ),
    FastType(
        "Ticket",
        Ticket,
        scalars=("id", "number", "subject", "product", "occurrence", "contactName", "contactPhone",
                 "contactEmail", "state", "returnDueAt", "closedAt", "createdAt", "updatedAt"),
        relations={
            "status": One("status_id", "TicketStatus"),
            "company": One("company_id", "Company"),
            "person": One("person_id", "Person"),
            "openedBy": One("opened_by_id", "User"),
            "assignee": One("assignee_id", "User"),
            "messages": Pages("TicketMessage", ticket_messages, MESSAGE_PAGE_COLUMNS),
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
        "TicketMessage",
        TicketMessage,
        scalars=("id", "body", "internal", "createdAt"),
        relations={"author": One("author_id", "User")},
    ),
)

ROOT_FIELDS = {
    "campaignQueue": RootConnection(
        "CampaignMember", campaign_queue, cursor_columns=("priority", "due_at", "id"), raw_rows=True
    ),
    "tickets": RootConnection("Ticket", tickets, raw_rows=True),
}
