"""The agent's queue: list it, claim the next member with a lease, renew or release the lease.

Queue order is (priority, due_at, id): due callbacks, then never-acted members, then recycled
members by their recycle time. Keyset cursors carry all three, so pages stay stable.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.campaign import Campaign, CampaignAgent, CampaignMember, QueueStatus
from models.event import Event
from models.floor import StateChangeCause
from models.history import MemberEventKind
from models.person import Person
from models.user import Role, User
from realtime.events import EventSpec, publish, record
from resolvers import history
from resolvers.campaign import filters, rules
from resolvers.campaign.rules import CLAIM_LEASE, is_staff
from resolvers.context import Context
from resolvers.do_not_call import blocked, listed_numbers, members_off_register
from resolvers.errors import CampaignError, CampaignErrorCode
from resolvers.floor import begin_call, end_call
from resolvers.pagination import (
    Counter,
    PageArgs,
    counter_of,
    cursor_integer,
    cursor_row_id,
    cut,
    optional_cursor_time,
    read_cursor,
)
from resolvers.rows import PreparedQuery, Row, query_rows

T = TypeVar("T")

OPEN_STATUSES = (QueueStatus.NOT_ACTED, QueueStatus.SCHEDULED)
CLAIM_CANDIDATES = 1
CLAIM_ROUNDS = 5


def queue_cursor(priority: int, due_at: datetime | None, member_id: int) -> str:
    """A member's place in queue order, as a keyset cursor."""
    due = due_at.isoformat() if due_at else ""
    return base64.urlsafe_b64encode(f"queue:{priority}|{due}|{member_id}".encode()).decode()


@dataclass(frozen=True)
class QueuePage:
    rows: list[CampaignMember]
    has_next_page: bool
    has_previous_page: bool
    counter: Counter | None = None

    def cursor(self, row: CampaignMember) -> str:
        return queue_cursor(row.priority, row.due_at, row.pk)


QUEUE_ORDER = ("priority", "due_at", "id")
REVERSE_QUEUE_ORDER = ("-priority", "-due_at", "-id")


@dataclass(frozen=True)
class QueueWindow:
    """A queue page before it is fetched, for a caller who may see the campaign's queue: `status`
    None is the workable queue of `agent_id` as of `now`; `parts` split what follows the cursor
    (what precedes it, paging back)."""

    campaign_id: int
    agent_id: int
    now: datetime
    status: QueueStatus | None
    parts: list[Q] | None
    size: int
    args: PageArgs
    # The queue filter's condition (resolvers/campaign/filters.py), None when there is none.
    where: Q | None = None

    @property
    def members(self) -> QuerySet[CampaignMember]:
        """Every member the caller may list, unordered."""
        if self.status is None:
            members = workable_members(self.campaign_id, self.agent_id, self.now)
        else:
            members = CampaignMember.filter(campaign_id=self.campaign_id, status=self.status)
        return members if self.where is None else members.filter(self.where)

    def _parts(self) -> Iterator[QuerySet[CampaignMember]]:
        """The parts in the page's direction: queue order, or its reverse paging back."""
        members = self.members
        order = REVERSE_QUEUE_ORDER if self.args.backward else QUEUE_ORDER
        for part in self.parts or [None]:
            yield (members if part is None else members.filter(part)).order_by(*order)

    async def rows(self, *columns: str) -> list[Any]:
        """size + 1 members in queue order, or its reverse paging back (as value tuples when
        `columns` are given), one query per part until there are enough: usually one."""
        wanted = self.size + 1
        found: list[Any] = []
        for queryset in self._parts():
            queryset = queryset.limit(wanted - len(found))
            found += await (queryset.values_list(*columns) if columns else queryset)
            if len(found) >= wanted:
                break
        return found

    async def raw_rows(self, *columns: str) -> list[Row]:
        """The members of `rows(*columns)` as the driver's records (resolvers/rows.py), for the
        compiled path; the workable queue's first forward page from a statement built once."""
        wanted = self.size + 1
        if self.status is None and self.parts is None and not self.args.backward and self.where is None:
            return await _WORKABLE_PAGE.rows(CampaignMember, columns, self.campaign_id, self.agent_id, self.now, wanted)
        found: list[Row] = []
        for queryset in self._parts():
            found += await query_rows(queryset.limit(wanted - len(found)).values_list(*columns))
            if len(found) >= wanted:
                break
        return found

    def cut(self, rows: Sequence[T]) -> tuple[list[T], bool, bool]:
        """The page in queue order, hasNextPage, hasPreviousPage."""
        return cut(rows, self.size, self.args)


def _decode(cursor: str) -> tuple[int, datetime | None, int]:
    priority, due, member_id = read_cursor("queue", cursor, cursor_integer, optional_cursor_time, cursor_row_id)
    return priority, due, member_id


def _after(priority: int, due: datetime | None, member_id: int) -> list[Q]:
    """What follows a cursor, as disjoint parts in queue order, each a range of the index
    (campaign_id, priority, due_at, id): a deep page seeks to its place instead of reading past every
    member before it, as one `priority > p OR (...)` condition makes the database do. Within one
    priority due_at is always set (callbacks, recycles) or always null (new, concluded members)."""
    if due is None:
        same = [Q(priority=priority, due_at__isnull=True, id__gt=member_id)]
    else:
        same = [Q(priority=priority, due_at=due, id__gt=member_id), Q(priority=priority, due_at__gt=due)]
    return [*same, Q(priority__gt=priority)]


def _before(priority: int, due: datetime | None, member_id: int) -> list[Q]:
    """What precedes a cursor, as `_after`'s parts in the reverse queue order."""
    if due is None:
        same = [Q(priority=priority, due_at__isnull=True, id__lt=member_id)]
    else:
        same = [Q(priority=priority, due_at=due, id__lt=member_id), Q(priority=priority, due_at__lt=due)]
    return [*same, Q(priority__lt=priority)]


def workable_members(campaign_id: int, agent_id: int, now: datetime) -> QuerySet[CampaignMember]:
    """Members the agent may call now: open, due, not held by someone else, not opted out, and with
    no phone on the do-not-call register at `now`."""
    return CampaignMember.filter(
        Q(campaign_id=campaign_id),
        Q(status__in=OPEN_STATUSES),
        Q(person__do_not_call=False),
        members_off_register(now),
        Q(assigned_agent_id__isnull=True) | Q(assigned_agent_id=agent_id),
        Q(reserved_agent_id__isnull=True) | Q(reserved_agent_id=agent_id) | Q(reserved_until__lte=now),
        Q(claimed_by_id__isnull=True) | Q(claimed_by_id=agent_id) | Q(claim_expires_at__lte=now),
        Q(due_at__isnull=True) | Q(due_at__lte=now),
    )


# Each queue page's statements, built once (resolvers/rows.py): the campaign, the agent's link to it
# (rules.check_assigned's question), and the workable queue's first forward page for
# `QueueWindow.raw_rows` (its shape: the columns).
_CAMPAIGN_BY_ID = PreparedQuery(lambda _, campaign_id: Campaign.filter(id=campaign_id).limit(2))
_AGENT_LINK = PreparedQuery(
    lambda _, campaign_id, agent_id: CampaignAgent.filter(campaign_id=campaign_id, agent_id=agent_id)
    .limit(1)
    .values_list("id")
)
_WORKABLE_PAGE = PreparedQuery(
    lambda columns, campaign_id, agent_id, now, limit: workable_members(campaign_id, agent_id, now)
    .order_by(*QUEUE_ORDER)
    .limit(limit)
    .values_list(*columns)
)


async def _queue_campaign(ctx: Context, campaign_id: int) -> Campaign:
    """The campaign when the caller may see its queue: staff always; agents when assigned and the
    campaign is open. A refusal is a typed error, as for claiming."""
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        raise CampaignError(CampaignErrorCode.FORBIDDEN, "The queue is for the operator.", "campaignId")
    found = await _CAMPAIGN_BY_ID.models(Campaign, None, campaign_id)
    if not found:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    campaign = found[0]
    if not is_staff(user):
        if not await _AGENT_LINK.rows(CampaignAgent, None, campaign.pk, user.pk):
            raise CampaignError(
                CampaignErrorCode.AGENT_NOT_ASSIGNED, rules.NOT_ASSIGNED_MESSAGE, "campaignId"
            )
        rules.check_period(ctx, campaign, CampaignErrorCode, CampaignError)
    return campaign


async def queue_window(
    ctx: Context, campaign_id: int, status: QueueStatus | None, page: PageArgs,
    where: filters.QueueFilter | None = None, saved_filter_id: int | None = None,
) -> QueueWindow:
    """`status` null: who the caller can call now, in claim order. Otherwise every member in it.
    Narrowed by `where`, or by the caller's saved filter `saved_filter_id`."""
    size = page.size(ctx.settings.max_page_size)
    position = _decode(page.cursor) if page.cursor is not None else None
    user = ctx.require_user()
    campaign = await _queue_campaign(ctx, campaign_id)
    chosen = await filters.queue_filter(ctx, campaign.pk, where, saved_filter_id)
    parts = None if position is None else (_before if page.backward else _after)(*position)
    condition = filters.conditions(chosen) if chosen is not None else None
    return QueueWindow(campaign.pk, user.pk, rules.utc_now(), status, parts, size, page, condition)


async def list_queue(
    ctx: Context, campaign_id: int, status: QueueStatus | None, page: PageArgs,
    where: filters.QueueFilter | None = None, saved_filter_id: int | None = None,
) -> QueuePage:
    window = await queue_window(ctx, campaign_id, status, page, where, saved_filter_id)
    rows, has_next_page, has_previous_page = window.cut(await window.rows())
    return QueuePage(rows, has_next_page, has_previous_page, counter_of(window.members))


def _member_event(kind: str, member: CampaignMember, agent_id: int) -> EventSpec:
    return EventSpec(
        kind=kind, entity="member", entity_id=member.pk, campaign_id=member.campaign_id, agent_id=agent_id
    )


async def _may_call(ctx: Context, user: User, campaign: Campaign, field: str) -> datetime:
    """What both claims check before their transaction: the caller works the campaign, it is running,
    and calls are allowed now (which it answers)."""
    await rules.check_assigned(user, campaign.pk, CampaignErrorCode, CampaignError, field)
    rules.check_period(ctx, campaign, CampaignErrorCode, CampaignError)
    now = rules.utc_now()
    if not rules.within_calling_hours(campaign, now, ctx.settings.zone):
        raise CampaignError(CampaignErrorCode.OUTSIDE_CALLING_HOURS, "Calls are not allowed at this hour.", field)
    return now


async def claim_next(ctx: Context, campaign_id: int) -> CampaignMember:
    """Hold the next workable member for the caller; the caller's live claim is renewed instead."""
    user = ctx.require_user()
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    now = await _may_call(ctx, user, campaign, "campaignId")
    events: list[Event] = []
    lease = {"claimed_by_id": user.pk, "claim_expires_at": now + CLAIM_LEASE}
    async with in_transaction() as connection:
        held = await CampaignMember.filter(
            campaign_id=campaign.pk, claimed_by_id=user.pk, claim_expires_at__gt=now, status__in=OPEN_STATUSES
        ).using_db(connection).first()
        if held is not None:
            await CampaignMember.filter(id=held.pk).using_db(connection).update(**lease)
            held.update_from_dict(lease)
            return held
        # Only a READY agent takes a call (resolvers/floor.py); the claim makes them ON_CALL.
        on_call = await begin_call(ctx, connection, user, campaign.pk, now)
        claimed: CampaignMember | None = None
        for _ in range(CLAIM_ROUNDS):
            # Each claimer locks one row; SKIP LOCKED (PostgreSQL) sends the next one to the next row. The
            # conditional UPDATE below is what guarantees one winner on every database.
            candidates = await (
                workable_members(campaign.pk, user.pk, now)
                .order_by(*QUEUE_ORDER)
                .limit(CLAIM_CANDIDATES)
                .select_for_update(skip_locked=True, of=("campaign_member",))
                .using_db(connection)
            )
            if not candidates:
                raise CampaignError(CampaignErrorCode.QUEUE_EMPTY, "Nobody to call right now.", "campaignId")
            for candidate in candidates:
                won = await CampaignMember.filter(
                    Q(id=candidate.pk),
                    Q(status__in=OPEN_STATUSES),
                    Q(claimed_by_id__isnull=True) | Q(claimed_by_id=user.pk) | Q(claim_expires_at__lte=now),
                ).using_db(connection).update(**lease, claimed_at=now)
                if won:
                    candidate.update_from_dict({**lease, "claimed_at": now})
                    claimed = candidate
                    break
            if claimed is not None:
                break
        if claimed is None:
            raise CampaignError(CampaignErrorCode.QUEUE_EMPTY, "Nobody to call right now.", "campaignId")
        await history.member_event(connection, claimed, user, MemberEventKind.CLAIMED, agent_id=user.pk)
        events.append(await record(connection, _member_event("MEMBER_CLAIMED", claimed, user.pk)))
        if on_call is not None:
            events.append(await record(connection, on_call))
    await publish(ctx.broadcast, events)
    return claimed


async def claim_member(ctx: Context, member_id: int) -> CampaignMember:
    """Hold one chosen member (the callback the agent is looking at, a person found by search) with the
    queue claim's lease and rules: it must be one the queue would hand the caller now. Each reason it
    is not is its own code. Holding another member of the campaign is refused: release it first."""
    user = ctx.require_user()
    member = await CampaignMember.get_or_none(id=member_id)
    if member is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such member.", "memberId")
    campaign = await Campaign.get(id=member.campaign_id)
    now = await _may_call(ctx, user, campaign, "memberId")
    events: list[Event] = []
    lease = {"claimed_by_id": user.pk, "claim_expires_at": now + CLAIM_LEASE}
    async with in_transaction() as connection:
        # The agent's state row first, as claim_next locks it (resolvers/floor.py): READY, or refused.
        on_call = await begin_call(ctx, connection, user, campaign.pk, now, "memberId")
        member = await CampaignMember.filter(id=member.pk).select_for_update(of=("campaign_member",)).using_db(
            connection
        ).get()
        _check_claimable(user, member, now)
        if member.claimed_by_id == user.pk and member.claim_expires_at and member.claim_expires_at > now:
            await CampaignMember.filter(id=member.pk).using_db(connection).update(**lease)
            member.update_from_dict(lease)
            return member
        if await CampaignMember.filter(
            campaign_id=campaign.pk, claimed_by_id=user.pk, claim_expires_at__gt=now, status__in=OPEN_STATUSES
        ).exclude(id=member.pk).using_db(connection).exists():
            raise CampaignError(
                CampaignErrorCode.ALREADY_HOLDING, "You hold another member of this campaign; release it first.",
                "memberId",
            )
        opted_out, phones = await Person.filter(id=member.person_id).using_db(connection).get().values_list(
            "do_not_call", "phones"
        )
        if opted_out:
            raise CampaignError(
                CampaignErrorCode.PERSON_DO_NOT_CALL, "This person is on the do-not-call list.", "memberId"
            )
        if blocked(phones, await listed_numbers(phones, now, connection)):
            raise CampaignError(
                CampaignErrorCode.PHONE_ON_DO_NOT_CALL_REGISTER,
                "A phone of this person is on the do-not-call register.", "memberId",
            )
        won = await CampaignMember.filter(
            Q(id=member.pk),
            Q(status__in=OPEN_STATUSES),
            Q(claimed_by_id__isnull=True) | Q(claimed_by_id=user.pk) | Q(claim_expires_at__lte=now),
        ).using_db(connection).update(**lease, claimed_at=now)
        if not won:
            raise CampaignError(CampaignErrorCode.MEMBER_HELD, "Another agent holds this member.", "memberId")
        member.update_from_dict({**lease, "claimed_at": now})
        await history.member_event(connection, member, user, MemberEventKind.CLAIMED, agent_id=user.pk)
        events.append(await record(connection, _member_event("MEMBER_CLAIMED", member, user.pk)))
        if on_call is not None:
            events.append(await record(connection, on_call))
    await publish(ctx.broadcast, events)
    return member


def _check_claimable(user: User, member: CampaignMember, now: datetime) -> None:
    """workable_members' conditions on one member, each refused with its own code."""
    if member.status == QueueStatus.REMOVED:
        raise CampaignError(CampaignErrorCode.MEMBER_REMOVED, "This member was removed from the campaign.", "memberId")
    if member.status == QueueStatus.CONCLUDED:
        raise CampaignError(CampaignErrorCode.MEMBER_CONCLUDED, "This member is concluded.", "memberId")
    if member.assigned_agent_id is not None and member.assigned_agent_id != user.pk:
        raise CampaignError(
            CampaignErrorCode.MEMBER_ASSIGNED_ELSEWHERE, "This member is assigned to another agent.", "memberId"
        )
    if member.reserved_agent_id not in (None, user.pk) and (
        member.reserved_until is None or member.reserved_until > now
    ):
        raise CampaignError(
            CampaignErrorCode.MEMBER_RESERVED, "This member is kept for another agent's callback.", "memberId"
        )
    if member.claimed_by_id not in (None, user.pk) and member.claim_expires_at and member.claim_expires_at > now:
        raise CampaignError(CampaignErrorCode.MEMBER_HELD, "Another agent holds this member.", "memberId")
    if member.due_at is not None and member.due_at > now:
        raise CampaignError(
            CampaignErrorCode.MEMBER_NOT_DUE, f"This member is due at {member.due_at.isoformat()}.", "memberId"
        )


async def _held_member(ctx: Context, member_id: int) -> tuple[User, CampaignMember]:
    user = ctx.require_user()
    member = await CampaignMember.get_or_none(id=member_id)
    if member is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such member.", "memberId")
    if member.claimed_by_id != user.pk and not (is_staff(user) and member.claimed_by_id is not None):
        raise CampaignError(CampaignErrorCode.MEMBER_NOT_CLAIMED, "You do not hold this member.", "memberId")
    return user, member


async def renew_claim(ctx: Context, member_id: int) -> CampaignMember:
    user, member = await _held_member(ctx, member_id)
    if member.claimed_by_id != user.pk:
        raise CampaignError(CampaignErrorCode.MEMBER_NOT_CLAIMED, "You do not hold this member.", "memberId")
    lease = {"claim_expires_at": rules.utc_now() + CLAIM_LEASE}
    async with in_transaction() as connection:
        # An expired lease can be renewed as long as nobody else has claimed the member since.
        renewed = await CampaignMember.filter(
            id=member.pk, claimed_by_id=user.pk, status__in=OPEN_STATUSES
        ).using_db(connection).update(**lease)
    if not renewed:
        raise CampaignError(CampaignErrorCode.MEMBER_NOT_CLAIMED, "You do not hold this member.", "memberId")
    member.update_from_dict(lease)
    return member


async def release_claim(ctx: Context, member_id: int) -> CampaignMember:
    """The holder gives the member back; a supervisor may free a member held by anyone."""
    user, member = await _held_member(ctx, member_id)
    holder = member.claimed_by_id
    events: list[Event] = []
    released = {"claimed_by_id": None, "claim_expires_at": None, "claimed_at": None}
    async with in_transaction() as connection:
        count = await CampaignMember.filter(id=member.pk, claimed_by_id=holder).using_db(connection).update(
            **released
        )
        if not count:
            raise CampaignError(CampaignErrorCode.MEMBER_NOT_CLAIMED, "You do not hold this member.", "memberId")
        # The holder's state row before the event counter (the counter is always the last lock).
        ended = None
        if holder is not None:
            ended = await end_call(connection, holder, None, rules.utc_now(), StateChangeCause.RELEASE, user.pk)
        await history.member_event(connection, member, user, MemberEventKind.RELEASED, agent_id=holder)
        events.append(await record(connection, _member_event("MEMBER_RELEASED", member, user.pk)))
        if ended is not None:
            events.append(await record(connection, ended))
    await publish(ctx.broadcast, events)
    member.update_from_dict(released)
    return member
