"""Callbacks ("ligações pendentes"): list, reschedule, cancel. History of operations, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.campaign import Campaign, CampaignAgent, CampaignMember, QueuePriority, QueueStatus
from models.event import Event
from models.history import MemberEventKind
from models.operation import Callback, CallbackStatus, Operation
from models.user import Role, User
from realtime.events import EventSpec, publish, record
from resolvers import history
from resolvers.campaign import rules
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.errors import OperationError, OperationErrorCode
from resolvers.operation.record import check_callback_time
from resolvers.pagination import Ordering, Page, PageArgs, page_of_list, paginate

# Oldest due first; due_at is never null.
PENDING_ORDER = Ordering.by_time("callback", "due_at")


def _callers_campaigns(ctx: Context, user: User) -> Subquery:
    """Ids of the campaigns the caller works; for agents only open ones, as in their queue."""
    links = CampaignAgent.filter(agent_id=user.pk)
    if not is_staff(user):
        today = rules.local_today(ctx)
        links = links.filter(
            Q(campaign__active=True),
            Q(campaign__start_date__lte=today),
            Q(campaign__end_date__isnull=True) | Q(campaign__end_date__gte=today),
        )
    return Subquery(links.values("campaign_id"))


async def _pending_scope(ctx: Context, user: User, agent_id: int | None) -> Q | None:
    """Which pending callbacks the caller asks for (see list_pending; None: all of them); refusals
    are typed errors."""
    if user.role == Role.COMPANY_REP:
        raise OperationError(OperationErrorCode.FORBIDDEN, "Callbacks are for the operator.")
    if agent_id is not None and agent_id != user.pk:
        if not is_staff(user):
            raise OperationError(
                OperationErrorCode.FORBIDDEN, "Only supervisors list another agent's callbacks.", "agentId"
            )
        if not await User.filter(id=agent_id).exists():
            raise OperationError(OperationErrorCode.NOT_FOUND, "No such agent.", "agentId")
        return Q(agent_id=agent_id)
    own = Q(agent_id=user.pk)
    campaigns = Q(campaign_id__in=_callers_campaigns(ctx, user))
    if agent_id is not None:
        return own if is_staff(user) else own & campaigns
    if is_staff(user):
        return None  # a supervisor's list is every agent's (issue 15)
    # Also open to the caller: callbacks for anyone, and other agents' callbacks past their opens_at.
    shared = Q(agent_id__isnull=True) | Q(opens_at__lte=rules.utc_now())
    return campaigns & (own | shared)


async def list_pending(
    ctx: Context, agent_id: int | None, due_before: datetime | None, page: PageArgs
) -> Page[Callback]:
    """Pending callbacks due by `due_before` (default: now), oldest first.

    Without `agent_id`: an agent's worklist ("ligações pendentes"): their own callbacks, those for
    anyone on the campaigns they work, and other agents' callbacks there that have opened to anyone;
    for supervisors and admins, every agent's pending callbacks in every campaign.
    With `agent_id`: that agent's own callbacks; only supervisors and admins may name someone else.
    Agents see only campaigns they are assigned to that are open, as in their queue.
    """
    user = ctx.require_user()
    page.size(ctx.settings.max_page_size)
    if due_before is not None and due_before.tzinfo is None:
        raise OperationError(OperationErrorCode.INVALID, "Give the time with its offset.", "dueBefore")
    pending = Callback.filter(
        Q(status=CallbackStatus.PENDING), Q(due_at__lte=(due_before or rules.utc_now()).astimezone(UTC))
    )
    scope = await _pending_scope(ctx, user, agent_id)
    if scope is not None:
        pending = pending.filter(scope)
    return await paginate(pending, PENDING_ORDER, page, ctx.settings.max_page_size)


@dataclass(frozen=True)
class CallbackFilter:
    status: CallbackStatus | None = None
    agent_id: int | None = None
    campaign_id: int | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None


def visible_callbacks(ctx: Context) -> QuerySet[Callback]:
    """Callbacks of any status the caller may see: staff, all; agents, those of the campaigns they are
    assigned to (as their operations, whatever the campaign's state); reps, none."""
    user = ctx.require_user()
    if is_staff(user):
        return Callback.all()
    if user.role == Role.AGENT:
        return Callback.filter(campaign_id__in=Subquery(CampaignAgent.filter(agent_id=user.pk).values("campaign_id")))
    return Callback.filter(id=-1)


def _moment(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise OperationError(OperationErrorCode.INVALID, "Give the time with its offset.", field)
    return None if value is None else value.astimezone(UTC)


async def list_callbacks(ctx: Context, where: CallbackFilter, page: PageArgs) -> Page[Callback]:
    """Callbacks of every status (done and cancelled ones too) by due time, oldest first; the filter
    narrows what `visible_callbacks` lets the caller see, both ends of the due range included."""
    user = ctx.require_user()
    page.size(ctx.settings.max_page_size)
    if user.role == Role.COMPANY_REP:
        raise OperationError(OperationErrorCode.FORBIDDEN, "Callbacks are for the operator.")
    due_from, due_to = _moment(where.due_from, "dueFrom"), _moment(where.due_to, "dueTo")
    queryset = visible_callbacks(ctx)
    if where.status is not None:
        queryset = queryset.filter(status=where.status)
    if where.agent_id is not None:
        queryset = queryset.filter(agent_id=where.agent_id)
    if where.campaign_id is not None:
        queryset = queryset.filter(campaign_id=where.campaign_id)
    if due_from is not None:
        queryset = queryset.filter(due_at__gte=due_from)
    if due_to is not None:
        queryset = queryset.filter(due_at__lte=due_to)
    return await paginate(queryset, PENDING_ORDER, page, ctx.settings.max_page_size)


async def get_callback(ctx: Context, callback_id: int) -> Callback | None:
    return await visible_callbacks(ctx).get_or_none(id=callback_id)


async def _pending_callback(ctx: Context, callback_id: int) -> tuple[User, Callback, Campaign]:
    user = ctx.require_user()
    callback = await Callback.get_or_none(id=callback_id)
    if callback is None:
        raise OperationError(OperationErrorCode.NOT_FOUND, "No such callback.", "id")
    campaign = await Campaign.get(id=callback.campaign_id)
    # Colleagues on the campaign may act on a callback for anyone, and on one that opened to them.
    open_to_team = callback.agent_id is None or (
        callback.opens_at is not None and callback.opens_at <= rules.utc_now()
    )
    allowed = is_staff(user) or callback.agent_id == user.pk or (
        open_to_team
        and user.role == Role.AGENT
        and await CampaignAgent.filter(campaign_id=campaign.pk, agent_id=user.pk).exists()
    )
    if not allowed:
        raise OperationError(OperationErrorCode.FORBIDDEN, "This callback belongs to another agent.", "id")
    if callback.status != CallbackStatus.PENDING:
        raise OperationError(
            OperationErrorCode.CALLBACK_NOT_PENDING, f"This callback is {callback.status.value.lower()}.", "id"
        )
    return user, callback, campaign


def _callback_event(kind: str, callback: Callback) -> EventSpec:
    return EventSpec(
        kind=kind, entity="callback", entity_id=callback.pk, campaign_id=callback.campaign_id,
        agent_id=callback.agent_id, data={"member_id": callback.member_id},
    )


async def reschedule_callback(ctx: Context, callback_id: int, due_at: datetime) -> Callback:
    """A colleague who reschedules another agent's callback that opened to them takes it over."""
    user, callback, campaign = await _pending_callback(ctx, callback_id)
    check_callback_time(campaign, due_at, ctx, "dueAt")
    due_at = due_at.astimezone(UTC)
    owner = callback.agent_id
    if owner is not None and owner != user.pk and not is_staff(user):
        owner = user.pk
    member_changes: dict[str, object] = {"due_at": due_at}
    opens_at = rules.callback_opens_at(campaign, owner, due_at)
    if owner is not None:
        member_changes.update(reserved_agent_id=owner, reserved_until=opens_at)
    events: list[Event] = []
    async with in_transaction() as connection:
        moved = await Callback.filter(id=callback.pk, status=CallbackStatus.PENDING).using_db(connection).update(
            agent_id=owner, due_at=due_at, alerted_at=None, opens_at=opens_at, opened_alerted_at=None
        )
        if not moved:
            raise OperationError(OperationErrorCode.CALLBACK_NOT_PENDING, "This callback is no longer pending.", "id")
        await CampaignMember.filter(id=callback.member_id, next_callback_id=callback.pk).using_db(
            connection
        ).update(**member_changes)
        callback.agent_id, callback.due_at, callback.alerted_at, callback.opens_at = owner, due_at, None, opens_at
        await history.callback_changed(connection, callback.member_id, callback.campaign_id, user,
                                       MemberEventKind.CALLBACK_RESCHEDULED, [callback.pk], due_at, callback.agent_id)
        events.append(await record(connection, _callback_event("CALLBACK_RESCHEDULED", callback)))
    await publish(ctx.broadcast, events)
    return callback


async def cancel_callback(ctx: Context, callback_id: int) -> Callback:
    """The member goes back to the queue, callable now: NOT_ACTED when no operation reached it yet,
    else SCHEDULED as a retry due now. Its status never stays SCHEDULED for a callback that is gone."""
    user, callback, _ = await _pending_callback(ctx, callback_id)
    now = rules.utc_now()
    events: list[Event] = []
    async with in_transaction() as connection:
        cancelled = await Callback.filter(id=callback.pk, status=CallbackStatus.PENDING).using_db(
            connection
        ).update(status=CallbackStatus.CANCELLED, closed_at=now)
        if not cancelled:
            raise OperationError(OperationErrorCode.CALLBACK_NOT_PENDING, "This callback is no longer pending.", "id")
        # The member's callback is this one, or (rows written before next_callback_id) none at all.
        waiting = CampaignMember.filter(
            Q(id=callback.member_id),
            Q(status=QueueStatus.SCHEDULED),
            Q(next_callback_id=callback.pk) | Q(next_callback_id__isnull=True, priority=QueuePriority.CALLBACK.value),
        ).using_db(connection)
        cleared = {"next_callback_id": None, "reserved_agent_id": None, "reserved_until": None}
        await waiting.filter(attempts=0).update(
            **cleared, status=QueueStatus.NOT_ACTED, priority=QueuePriority.NEW.value, due_at=None
        )
        await waiting.filter(attempts__gt=0).update(**cleared, priority=QueuePriority.RECYCLE.value, due_at=now)
        callback.status, callback.closed_at = CallbackStatus.CANCELLED, now
        await history.callback_changed(connection, callback.member_id, callback.campaign_id, user,
                                       MemberEventKind.CALLBACK_CANCELLED, [callback.pk], agent_id=callback.agent_id)
        events.append(await record(connection, _callback_event("CALLBACK_CANCELLED", callback)))
    await publish(ctx.broadcast, events)
    return callback


def newest_first(ctx: Context, rows: list[Operation], page: PageArgs) -> Page[Operation]:
    """A page of a parent's operations (already loaded, newest first)."""
    return page_of_list(rows, "operation", page, ctx.settings.max_page_size, descending=True)


async def member_history(ctx: Context, member_id: int, page: PageArgs) -> Page[Operation]:
    rows = await ctx.loaders.operations_by_member.load(member_id)
    return newest_first(ctx, rows, page)


async def person_operations(
    ctx: Context, person_id: int, campaign_id: int | None, page: PageArgs
) -> Page[Operation]:
    """A person's operations in the campaigns the caller may see: agents, theirs; staff, all; reps, none."""
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        return newest_first(ctx, [], page)
    rows = await ctx.loaders.operations_by_person.load(person_id)
    if not is_staff(user):
        assigned = await ctx.loaders.campaign_ids_by_agent.load(user.pk)
        rows = [row for row in rows if row.campaign_id in assigned]
    if campaign_id is not None:
        rows = [row for row in rows if row.campaign_id == campaign_id]
    return newest_first(ctx, rows, page)
