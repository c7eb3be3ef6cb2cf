"""Durable history (issue 16): the writers every use case calls, in one line, inside its transaction,
and the readers behind `Ticket.history` and `CampaignMember.events`.

Writers take the transaction's `connection`: the row commits with the change or not at all. They
take what the change was (the ticket or member *before* it, and the new values), never a context,
so any use case (one item of a bulk action included) records the same way.

Who reads what:
- `Ticket.history`: whoever sees the ticket. A company rep gets the entries of REP_TICKET_KINDS
  only: the ticket's life as they see it (opened, status, closure, reopening, e-mails to them).
  Assignments and reclassifications are the operator's routing and are left out, as the operator's
  records are (resolvers/scope.py). No entry holds free text, so no internal note can leak through
  one; an entry's actor is a user, shown as users are shown everywhere (e-mail per Scope.reads_user).
- `CampaignMember.events`: the operator's people who see the member (outbound work is never for
  reps), like `CampaignMember.history`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.campaign import CampaignMember, QueueStatus
from models.history import (
    MemberEvent,
    MemberEventKind,
    TicketHistoryEntry,
    TicketHistoryKind,
)
from models.ticket import Ticket
from resolvers.pagination import Page, PageArgs, page_of_list

if TYPE_CHECKING:
    from resolvers.context import Context

TICKET_HISTORY_CURSOR = "ticket_history"
MEMBER_EVENT_CURSOR = "member_event"


def _user_id(actor: Any) -> int | None:
    return None if actor is None else int(actor if isinstance(actor, int) else actor.pk)


# Tickets.


async def ticket_entry(
    connection: BaseDBAsyncClient,
    ticket: Ticket,
    actor: Any,
    kind: TicketHistoryKind | None,
    mailed: bool = False,
    **values: int | None,
) -> None:
    """One entry of `kind` (None: none) and, when the change e-mailed the customer, EMAIL_QUEUED."""
    kinds = ([kind] if kind is not None else []) + ([TicketHistoryKind.EMAIL_QUEUED] if mailed else [])
    if not kinds:
        return
    actor_id = _user_id(actor)
    rows = [
        TicketHistoryEntry(ticket_id=ticket.pk, actor_id=actor_id, kind=each, **(values if each == kind else {}))
        for each in kinds
    ]
    await TicketHistoryEntry.bulk_create(rows, using_db=connection)


async def ticket_opened(connection: BaseDBAsyncClient, ticket: Ticket, actor: Any, mailed: bool) -> None:
    await ticket_entry(
        connection, ticket, actor, TicketHistoryKind.OPENED, mailed,
        to_status_id=ticket.status_id,
        classification_id=ticket.classification_id, subclassification_id=ticket.subclassification_id,
        contact_type_id=ticket.contact_type_id, contact_subtype_id=ticket.contact_subtype_id,
    )


async def ticket_status_changed(
    connection: BaseDBAsyncClient, ticket: Ticket, actor: Any, from_status_id: int, mailed: bool, moved: bool = True
) -> None:
    """The status the ticket has now, and the one it left (`moved` False: only the e-mail, if any)."""
    await ticket_entry(
        connection, ticket, actor, TicketHistoryKind.STATUS_CHANGED if moved else None, mailed,
        from_status_id=from_status_id, to_status_id=ticket.status_id,
    )


async def ticket_assigned(
    connection: BaseDBAsyncClient, ticket: Ticket, actor: Any, from_assignee_id: int | None, mailed: bool
) -> None:
    await ticket_entry(
        connection, ticket, actor, TicketHistoryKind.ASSIGNED, mailed,
        from_assignee_id=from_assignee_id, to_assignee_id=ticket.assignee_id,
    )


async def ticket_closed(connection: BaseDBAsyncClient, ticket: Ticket, actor: Any, mailed: bool) -> None:
    await ticket_entry(
        connection, ticket, actor, TicketHistoryKind.CLOSED, mailed,
        from_status_id=ticket.status_id, closure_reason_id=ticket.closure_reason_id,
    )


async def ticket_reopened(
    connection: BaseDBAsyncClient, ticket: Ticket, actor: Any, to_status_id: int, mailed: bool
) -> None:
    """Call before the ticket forgets its closure: the entry keeps the reason it undid."""
    await ticket_entry(
        connection, ticket, actor, TicketHistoryKind.REOPENED, mailed,
        from_status_id=ticket.status_id, to_status_id=to_status_id, closure_reason_id=ticket.closure_reason_id,
    )


async def ticket_reclassified(connection: BaseDBAsyncClient, ticket: Ticket, actor: Any, mailed: bool) -> None:
    """The classification (or contact type) the ticket has now (call after the change)."""
    await ticket_entry(
        connection, ticket, actor, TicketHistoryKind.CLASSIFIED, mailed,
        classification_id=ticket.classification_id, subclassification_id=ticket.subclassification_id,
        contact_type_id=ticket.contact_type_id, contact_subtype_id=ticket.contact_subtype_id,
    )


# Campaign members.


def _member_event(member: CampaignMember, actor: Any, kind: MemberEventKind, **values: Any) -> MemberEvent:
    for name in ("from_status", "to_status"):
        if isinstance(values.get(name), QueueStatus):
            values[name] = values[name].value
    return MemberEvent(member_id=member.pk, campaign_id=member.campaign_id, actor_id=_user_id(actor), kind=kind,
                       **values)


async def member_event(
    connection: BaseDBAsyncClient, member: CampaignMember, actor: Any, kind: MemberEventKind, **values: Any
) -> None:
    await MemberEvent.bulk_create([_member_event(member, actor, kind, **values)], using_db=connection)


async def member_updated(
    connection: BaseDBAsyncClient, member: CampaignMember, actor: Any, changes: dict[str, object]
) -> None:
    """A supervisor's change of stage or assigned agent (`member` as it was, `changes` the new values)."""
    rows = []
    if "stage_id" in changes and changes["stage_id"] != member.stage_id:
        rows.append(_member_event(member, actor, MemberEventKind.STAGE_CHANGED,
                                  from_stage_id=member.stage_id, to_stage_id=changes["stage_id"]))
    if "assigned_agent_id" in changes and changes["assigned_agent_id"] != member.assigned_agent_id:
        rows.append(_member_event(member, actor, MemberEventKind.ASSIGNED, agent_id=changes["assigned_agent_id"]))
    if rows:
        await MemberEvent.bulk_create(rows, using_db=connection)


async def operation_recorded(
    connection: BaseDBAsyncClient, member: CampaignMember, actor: Any, operation_id: int, changes: dict[str, object],
    closed_callbacks: Iterable[int] = (),
) -> None:
    """operationRecord's entries: the callbacks it closed, the one it scheduled, and the operation
    with the member's stage and status before and after (`member` as it was)."""
    rows = [_member_event(member, actor, MemberEventKind.CALLBACK_DONE, callback_id=callback_id)
            for callback_id in closed_callbacks]
    callback_id = changes.get("next_callback_id")
    if callback_id is not None:
        rows.append(_member_event(member, actor, MemberEventKind.CALLBACK_SCHEDULED, callback_id=callback_id,
                                  due_at=changes.get("due_at"), agent_id=changes.get("reserved_agent_id"),
                                  operation_id=operation_id))
    rows.append(_member_event(
        member, actor, MemberEventKind.OPERATION_RECORDED, operation_id=operation_id, agent_id=_user_id(actor),
        from_stage_id=member.stage_id, to_stage_id=changes.get("stage_id", member.stage_id),
        from_status=member.status, to_status=changes.get("status", member.status),
    ))
    await MemberEvent.bulk_create(rows, using_db=connection)


async def member_removed(
    connection: BaseDBAsyncClient, member: CampaignMember, actor: Any, cancelled_callbacks: Sequence[int]
) -> None:
    rows = [_member_event(member, actor, MemberEventKind.CALLBACK_CANCELLED, callback_id=callback_id)
            for callback_id in cancelled_callbacks]
    rows.append(_member_event(member, actor, MemberEventKind.REMOVED, from_status=member.status,
                              to_status=QueueStatus.REMOVED))
    await MemberEvent.bulk_create(rows, using_db=connection)


async def callback_changed(
    connection: BaseDBAsyncClient, member_id: int, campaign_id: int, actor: Any, kind: MemberEventKind,
    callback_ids: Sequence[int], due_at: datetime | None = None, agent_id: int | None = None,
) -> None:
    """A callback rescheduled or cancelled (by its own mutation, a member's removal, a bulk reassignment)."""
    if not callback_ids:
        return
    member = CampaignMember(id=member_id, campaign_id=campaign_id)
    await MemberEvent.bulk_create(
        [_member_event(member, actor, kind, callback_id=callback_id, due_at=due_at, agent_id=agent_id)
         for callback_id in callback_ids],
        using_db=connection,
    )


# Readers (the loaders apply who may read what: resolvers/loaders.py, REP_TICKET_KINDS).


async def ticket_history(ctx: Context, ticket_id: int, page: PageArgs) -> Page[TicketHistoryEntry]:
    """A page of a visible ticket's entries, oldest first (`last: n` are the latest)."""
    rows = await ctx.loaders.ticket_history_by_ticket.load(ticket_id)
    return page_of_list(rows, TICKET_HISTORY_CURSOR, page, ctx.settings.max_page_size)


async def member_events(ctx: Context, member_id: int, page: PageArgs) -> Page[MemberEvent]:
    """A page of a visible member's events, oldest first."""
    rows = await ctx.loaders.member_events_by_member.load(member_id)
    return page_of_list(rows, MEMBER_EVENT_CURSOR, page, ctx.settings.max_page_size)
