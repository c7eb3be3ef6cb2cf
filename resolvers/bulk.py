"""Bulk actions for supervisors (issue 16): change the status of, assign or close a set of tickets, and
hand an agent's work (pending callbacks, members they hold, open tickets assigned to them) to another
agent or to anyone.

Each item runs through the use case that does it one at a time (change_status, assign_ticket,
close_ticket, reassign_callback, transfer_claim), with that use case's own checks and its own
transaction: an item is done whole or not at all, and one refused item does not stop the others. The
answer lists every item with its typed error, if any. A call takes at most MAX_ITEMS items: a longer
list of ids is refused whole (TOO_MANY_ITEMS); an agent's work is moved MAX_ITEMS items at a time, and
`remaining` says how many are left for the next call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

from models.campaign import CampaignMember
from models.operation import Callback, CallbackStatus
from models.ticket import Ticket, TicketState
from models.user import Role, User
from resolvers.campaign import rules
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.errors import BulkError, BulkErrorCode, DomainError
from resolvers.operation.reassign import OPEN_STATUSES, reassign_callback, transfer_claim
from resolvers.ticket.writes import assign_ticket, change_status, close_ticket

logger = logging.getLogger("contato.bulk")

MAX_ITEMS = 100


class ItemKind(str, Enum):
    TICKET = "TICKET"
    CALLBACK = "CALLBACK"
    MEMBER = "MEMBER"


@dataclass(frozen=True)
class ItemResult:
    kind: ItemKind
    id: int
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BulkOutcome:
    items: list[ItemResult]
    remaining: int = 0
    succeeded: int = field(init=False)
    failed: int = field(init=False)

    def __post_init__(self) -> None:
        ok = sum(1 for item in self.items if item.ok)
        object.__setattr__(self, "succeeded", ok)
        object.__setattr__(self, "failed", len(self.items) - ok)


def _supervisor(ctx: Context) -> User:
    user = ctx.require_user()
    if not is_staff(user):
        raise BulkError(BulkErrorCode.FORBIDDEN, "Bulk actions are for supervisors and admins.")
    return user


def _ids(ids: Sequence[int], name: str) -> list[int]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        raise BulkError(BulkErrorCode.NO_ITEMS, "Give at least one id.", name)
    if len(unique) > MAX_ITEMS:
        raise BulkError(BulkErrorCode.TOO_MANY_ITEMS, f"At most {MAX_ITEMS} ids per call.", name)
    return unique


async def _each(kind: ItemKind, ids: Sequence[int], action: Callable[[int], Awaitable[object]]) -> list[ItemResult]:
    results = []
    for item_id in ids:
        try:
            await action(item_id)
        except DomainError as refused:
            results.append(ItemResult(kind, item_id, refused))
        except Exception:  # one item's fault is reported on it; the items before it stay done
            logger.exception("bulk action failed on %s %s", kind.value, item_id)
            results.append(ItemResult(kind, item_id, BulkError(BulkErrorCode.UNEXPECTED, "Unexpected error.")))
        else:
            results.append(ItemResult(kind, item_id))
    return results


async def tickets_change_status(
    ctx: Context, ticket_ids: Sequence[int], status_id: int, notify_customer: bool | None
) -> BulkOutcome:
    _supervisor(ctx)
    ids = _ids(ticket_ids, "ticketIds")
    return BulkOutcome(
        await _each(ItemKind.TICKET, ids, lambda ticket_id: change_status(ctx, ticket_id, status_id, notify_customer))
    )


async def tickets_assign(
    ctx: Context, ticket_ids: Sequence[int], assignee_id: int | None, notify_customer: bool | None
) -> BulkOutcome:
    _supervisor(ctx)
    ids = _ids(ticket_ids, "ticketIds")
    return BulkOutcome(
        await _each(ItemKind.TICKET, ids, lambda ticket_id: assign_ticket(ctx, ticket_id, assignee_id, notify_customer))
    )


async def tickets_close(
    ctx: Context, ticket_ids: Sequence[int], closure_reason_id: int | None, notify_customer: bool | None
) -> BulkOutcome:
    _supervisor(ctx)
    ids = _ids(ticket_ids, "ticketIds")
    return BulkOutcome(
        await _each(
            ItemKind.TICKET, ids, lambda ticket_id: close_ticket(ctx, ticket_id, closure_reason_id, notify_customer)
        )
    )


async def _operator(user_id: int, name: str) -> User:
    user = await User.get_or_none(id=user_id)
    if user is None or user.role == Role.COMPANY_REP:
        raise BulkError(BulkErrorCode.UNKNOWN_AGENT, "No such agent.", name)
    return user


async def reassign_agent_work(
    ctx: Context, from_agent_id: int, to_agent_id: int | None, campaign_id: int | None = None,
    notify_customer: bool | None = None,
) -> BulkOutcome:
    """The agent's pending callbacks, the members they hold now, then their open tickets, oldest first,
    at most MAX_ITEMS of them. With `campaign_id`, that campaign's callbacks and members only (tickets
    belong to no campaign and are left alone)."""
    _supervisor(ctx)
    await _operator(from_agent_id, "fromAgentId")
    if to_agent_id is not None:
        target = await _operator(to_agent_id, "toAgentId")
        if not target.active:
            raise BulkError(BulkErrorCode.UNKNOWN_AGENT, "The agent to hand the work to is inactive.", "toAgentId")
        if to_agent_id == from_agent_id:
            raise BulkError(BulkErrorCode.INVALID, "Hand the work to someone else.", "toAgentId")
    callbacks = Callback.filter(agent_id=from_agent_id, status=CallbackStatus.PENDING)
    members = CampaignMember.filter(
        claimed_by_id=from_agent_id, claim_expires_at__gt=rules.utc_now(), status__in=OPEN_STATUSES
    )
    tickets = Ticket.filter(assignee_id=from_agent_id, state=TicketState.OPEN)
    if campaign_id is not None:
        callbacks, members = callbacks.filter(campaign_id=campaign_id), members.filter(campaign_id=campaign_id)
        tickets = tickets.filter(id=-1)
    work: list[tuple[ItemKind, int]] = []
    total = 0
    for kind, queryset in ((ItemKind.CALLBACK, callbacks), (ItemKind.MEMBER, members), (ItemKind.TICKET, tickets)):
        room = MAX_ITEMS - len(work)
        ids = await queryset.order_by("id").limit(room).values_list("id", flat=True) if room else []
        work += [(kind, item_id) for item_id in ids]
        total += len(ids) if len(ids) < room else await queryset.count()
    actions = {
        ItemKind.CALLBACK: lambda item_id: reassign_callback(ctx, item_id, to_agent_id),
        ItemKind.MEMBER: lambda item_id: transfer_claim(ctx, item_id, to_agent_id),
        ItemKind.TICKET: lambda item_id: assign_ticket(ctx, item_id, to_agent_id, notify_customer),
    }
    results = []
    for kind, item_id in work:
        results += await _each(kind, [item_id], actions[kind])
    # Refused items stay with the agent and are counted again by the next call: the count is of what
    # was left untried.
    return BulkOutcome(results, remaining=total - len(work))
