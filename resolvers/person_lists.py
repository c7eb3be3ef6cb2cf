"""What a person screen lists under one person: their tickets and their campaign memberships.

Both are nested lists of a page of persons, so both are loaded for the whole page at once: the
normal path through the scoped loaders (`tickets_by_person`, `members_by_person`: the viewer's
rules applied where the rows are loaded), the compiled path through `*_rows` below, one query per
list whatever the page size, with the same rules in SQL. A person's lists are short (the tickets
and campaigns of one customer), so each is read whole and paged by id in memory.

- tickets: what `tickets` shows the viewer (a rep: their company's; an agent: theirs and the
  unassigned ones; staff: all), newest first; a rep's thread summary leaves internal notes out;
- memberships: the operator's people only; an agent, in the campaigns they are assigned to; by id.
"""

from __future__ import annotations

from collections.abc import Collection

from tortoise.expressions import Subquery

from models.campaign import CampaignAgent, CampaignMember
from models.ticket import Ticket
from resolvers.context import Context
from resolvers.pagination import Ordering, Page, PageArgs, cut_loaded, page_of_list
from resolvers.rows import Row, query_rows
from resolvers.ticket import sees_internal_notes, visible_tickets
from resolvers.ticket.summary import summary_columns

PERSON_TICKETS = "personTicket"
PERSON_MEMBERSHIPS = "personMembership"
TICKETS_ORDER = Ordering(PERSON_TICKETS, descending=True)
MEMBERSHIPS_ORDER = Ordering(PERSON_MEMBERSHIPS)


async def person_tickets(ctx: Context, person_id: int, page: PageArgs) -> Page[Ticket]:
    ctx.require_user()
    page.size(ctx.settings.max_page_size)  # a bad argument costs no statement
    rows = await ctx.loaders.tickets_by_person.load(person_id)
    return page_of_list(rows, PERSON_TICKETS, page, ctx.settings.max_page_size, descending=True)


async def person_memberships(ctx: Context, person_id: int, page: PageArgs) -> Page[CampaignMember]:
    ctx.require_user()
    page.size(ctx.settings.max_page_size)
    rows = await ctx.loaders.members_by_person.load(person_id)
    return page_of_list(rows, PERSON_MEMBERSHIPS, page, ctx.settings.max_page_size)


RowPages = dict[int, tuple[list[Row], bool, bool]]


def _paged(ctx: Context, rows: list[Row], person_ids: Collection[int], person_at: int, id_at: int,
           ordering: Ordering, page: PageArgs) -> RowPages:
    groups: dict[int, list[Row]] = {person_id: [] for person_id in person_ids}
    for row in rows:
        groups[row[person_at]].append(row)
    return {
        person_id: cut_loaded(group, lambda row: row[id_at], ordering, page, ctx.settings.max_page_size)
        for person_id, group in groups.items()
    }


async def person_ticket_rows(
    ctx: Context, person_ids: Collection[int], columns: tuple[str, ...], page: PageArgs
) -> RowPages:
    """`person_tickets` for many persons as the driver's rows of `columns` (which hold id and
    person_id): one query. A rep's thread summary columns are read from the public ones."""
    page.size(ctx.settings.max_page_size)
    summary = summary_columns(sees_internal_notes(ctx.require_user()))
    read = [summary.get(column, column) for column in columns]
    query = visible_tickets(ctx).filter(person_id__in=set(person_ids)).order_by("-id").values_list(*read)
    rows = await query_rows(query) if person_ids else []
    return _paged(ctx, rows, person_ids, columns.index("person_id"), columns.index("id"), TICKETS_ORDER, page)


async def person_member_rows(
    ctx: Context, person_ids: Collection[int], columns: tuple[str, ...], page: PageArgs
) -> RowPages:
    """`person_memberships` for many persons as the driver's rows of `columns`: one query."""
    page.size(ctx.settings.max_page_size)
    user = ctx.require_user()
    rows: list[Row] = []
    if ctx.scope.sees_operator_records and person_ids:
        query = CampaignMember.filter(person_id__in=set(person_ids))
        if not ctx.scope.is_staff:
            query = query.filter(
                campaign_id__in=Subquery(CampaignAgent.filter(agent_id=user.pk).values("campaign_id"))
            )
        rows = await query_rows(query.order_by("id").values_list(*columns))
    return _paged(ctx, rows, person_ids, columns.index("person_id"), columns.index("id"), MEMBERSHIPS_ORDER, page)
