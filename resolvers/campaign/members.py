"""Campaign members: bulk add (by ids or a person filter), move between stages, assign an agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.campaign import (
    Campaign,
    CampaignAgent,
    CampaignMember,
    CampaignStage,
    QueuePriority,
    QueueStatus,
)
from models.event import Event
from models.operation import Callback, CallbackStatus
from models.person import Person, PersonStage
from models.user import Role
from realtime.events import EventSpec, publish, record
from resolvers import history
from resolvers.bounds import search_term
from resolvers.campaign import rules
from resolvers.campaign.config import MAX_IDS, require_staff
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.do_not_call import blocked, listed_numbers
from resolvers.documents import search_needle
from resolvers.errors import CampaignError, CampaignErrorCode

BATCH = 1000


@dataclass(frozen=True)
class MemberFilter:
    text: str | None = None
    stage: PersonStage | None = None
    company_id: int | None = None


@dataclass(frozen=True)
class MembersAdded:
    campaign: Campaign
    added: int
    skipped_existing: int
    skipped_do_not_call: int
    skipped_unknown: int
    skipped_do_not_call_register: int = 0


def visible_members(ctx: Context) -> QuerySet[CampaignMember]:
    user = ctx.require_user()
    if is_staff(user):
        return CampaignMember.all()
    if user.role == Role.AGENT:
        return CampaignMember.filter(campaign__agent_links__agent_id=user.pk)
    return CampaignMember.filter(id=-1)


async def get_member(ctx: Context, member_id: int) -> CampaignMember | None:
    return await visible_members(ctx).get_or_none(id=member_id)


def _persons(where: MemberFilter) -> QuerySet[Person]:
    queryset = Person.filter(converted_to_id__isnull=True)
    term = search_term(where.text)
    if term:
        queryset = queryset.filter(search_text__contains=search_needle(term))
    if where.stage is not None:
        queryset = queryset.filter(stage=where.stage)
    if where.company_id is not None:
        queryset = queryset.filter(company_id=where.company_id)
    return queryset


async def add_members(
    ctx: Context, campaign_id: int, person_ids: list[int] | None, where: MemberFilter | None
) -> MembersAdded:
    require_staff(ctx)
    if (person_ids is None) == (where is None):
        raise CampaignError(
            CampaignErrorCode.PERSONS_REQUIRED, "Give either personIds or a filter.", "personIds"
        )
    if person_ids is not None and len(person_ids) > MAX_IDS:
        raise CampaignError(CampaignErrorCode.TOO_MANY_IDS, f"At most {MAX_IDS} person ids.", "personIds")
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    first_stage = await CampaignStage.filter(campaign_id=campaign.pk).order_by("position", "id").first()
    stage_id = first_stage.pk if first_stage else None
    added = existing = do_not_call = registered = seen = 0
    events: list[Event] = []
    now = rules.utc_now()
    async with in_transaction() as connection:
        async for rows in _candidate_batches(connection, person_ids, where):
            seen += len(rows)
            inside = dict(
                await CampaignMember.filter(campaign_id=campaign.pk, person_id__in=[row[0] for row in rows])
                .using_db(connection)
                .values_list("person_id", "status")
            )
            removed = [person_id for person_id, status in inside.items() if status == QueueStatus.REMOVED]
            listed = await listed_numbers((phone for row in rows for phone in row[2]), now, connection)
            fresh = []
            back = []
            for person_id, opted_out, phones in rows:
                if person_id in inside and person_id not in removed:
                    existing += 1
                elif opted_out:
                    do_not_call += 1
                elif blocked(phones, listed):
                    registered += 1
                elif person_id in inside:
                    back.append(person_id)
                else:
                    fresh.append(CampaignMember(campaign_id=campaign.pk, person_id=person_id, stage_id=stage_id))
            if fresh:
                await CampaignMember.bulk_create(fresh, using_db=connection)
                added += len(fresh)
            if back:
                # A removed member added again goes back to the queue with its history and stage.
                await CampaignMember.filter(
                    campaign_id=campaign.pk, person_id__in=back, status=QueueStatus.REMOVED
                ).using_db(connection).update(
                    status=QueueStatus.NOT_ACTED, priority=QueuePriority.NEW.value, due_at=None
                )
                added += len(back)
        unknown = len(set(person_ids)) - seen if person_ids is not None else 0
        if added:
            events.append(await record(connection, EventSpec(
                kind="MEMBERS_ADDED", entity="campaign", entity_id=campaign.pk, campaign_id=campaign.pk,
                data={"added": added, "skipped": existing + do_not_call + registered + unknown},
            )))
    await publish(ctx.broadcast, events)
    return MembersAdded(campaign, added, existing, do_not_call, unknown, registered)


async def _candidate_batches(
    connection: BaseDBAsyncClient, person_ids: list[int] | None, where: MemberFilter | None
) -> AsyncIterator[list[tuple[int, bool, list[str]]]]:
    """(person id, do-not-call, phones) in id order, BATCH at a time: a filter may match many thousands."""
    if person_ids is not None:
        queryset = Person.filter(id__in=set(person_ids), converted_to_id__isnull=True)
    else:
        queryset = _persons(where or MemberFilter())
    last = 0
    while True:
        rows = await (
            queryset.filter(id__gt=last).using_db(connection).order_by("id").limit(BATCH)
            .values_list("id", "do_not_call", "phones")
        )
        if not rows:
            return
        yield rows  # type: ignore[misc]
        last = rows[-1][0]


async def _member_for_staff(ctx: Context, member_id: int) -> CampaignMember:
    require_staff(ctx)
    member = await CampaignMember.get_or_none(id=member_id)
    if member is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such member.", "memberId")
    return member


async def _save_member(ctx: Context, member: CampaignMember, changes: dict[str, object]) -> CampaignMember:
    events: list[Event] = []
    async with in_transaction() as connection:
        await CampaignMember.filter(id=member.pk).using_db(connection).update(**changes)
        await history.member_updated(connection, member, ctx.require_user(), changes)
        events.append(
            await record(
                connection,
                EventSpec(
                    kind="MEMBER_UPDATED",
                    entity="member",
                    entity_id=member.pk,
                    campaign_id=member.campaign_id,
                    agent_id=ctx.require_user().pk,
                    data={"fields": sorted(changes)},
                ),
            )
        )
    await publish(ctx.broadcast, events)
    member.update_from_dict(changes)
    return member


async def move_member(ctx: Context, member_id: int, stage_id: int) -> CampaignMember:
    member = await _member_for_staff(ctx, member_id)
    if not await CampaignStage.filter(id=stage_id, campaign_id=member.campaign_id).exists():
        raise CampaignError(
            CampaignErrorCode.STAGE_NOT_IN_CAMPAIGN, "This stage is not a stage of the member's campaign.", "stageId"
        )
    return await _save_member(ctx, member, {"stage_id": stage_id})


async def assign_member(ctx: Context, member_id: int, agent_id: int | None) -> CampaignMember:
    member = await _member_for_staff(ctx, member_id)
    if agent_id is not None and not await CampaignAgent.filter(
        campaign_id=member.campaign_id, agent_id=agent_id
    ).exists():
        raise CampaignError(
            CampaignErrorCode.AGENT_NOT_ASSIGNED, "This agent is not assigned to the campaign.", "agentId"
        )
    return await _save_member(ctx, member, {"assigned_agent_id": agent_id})


async def remove_member(ctx: Context, member_id: int) -> CampaignMember:
    """Take a member out of its campaign, in one transaction: its pending callbacks are cancelled
    (each recorded as CALLBACK_CANCELLED), its claim and reservation end, and MEMBER_REMOVED is
    recorded. The row and its operations stay (history and reports keep them), with status REMOVED;
    campaignMembersAdd brings the person back."""
    require_staff(ctx)
    user = ctx.require_user()
    now = rules.utc_now()
    events: list[Event] = []
    async with in_transaction() as connection:
        member = await CampaignMember.filter(id=member_id).select_for_update(of=("campaign_member",)).using_db(
            connection
        ).first()
        if member is None:
            raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such member.", "memberId")
        if member.status == QueueStatus.REMOVED:
            raise CampaignError(
                CampaignErrorCode.MEMBER_REMOVED, "This member was already removed from the campaign.", "memberId"
            )
        pending = await Callback.filter(member_id=member.pk, status=CallbackStatus.PENDING).using_db(connection)
        if pending:
            await Callback.filter(id__in=[callback.pk for callback in pending]).using_db(connection).update(
                status=CallbackStatus.CANCELLED, closed_at=now
            )
        for callback in pending:
            events.append(await record(connection, EventSpec(
                kind="CALLBACK_CANCELLED", entity="callback", entity_id=callback.pk, campaign_id=member.campaign_id,
                agent_id=callback.agent_id, data={"member_id": member.pk, "reason": "MEMBER_REMOVED"},
            )))
        changes: dict[str, object] = {
            "status": QueueStatus.REMOVED, "priority": QueuePriority.DONE.value, "due_at": None,
            "next_callback_id": None, "claimed_by_id": None, "claim_expires_at": None,
            "reserved_agent_id": None, "reserved_until": None,
        }
        await CampaignMember.filter(id=member.pk).using_db(connection).update(**changes)
        await history.member_removed(connection, member, user, [callback.pk for callback in pending])
        events.append(await record(connection, EventSpec(
            kind="MEMBER_REMOVED", entity="member", entity_id=member.pk, campaign_id=member.campaign_id,
            agent_id=user.pk, data={"cancelled_callbacks": [callback.pk for callback in pending]},
        )))
    await publish(ctx.broadcast, events)
    member.update_from_dict(changes)
    return member
