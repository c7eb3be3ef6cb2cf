"""A supervisor's reassignments, one item at a time (the bulk reassignment, resolvers/bulk.py, runs
these per item): `callbackReassign` gives a pending callback to another agent of its campaign or to
anyone on it; `campaignMemberClaimTransfer` hands a member an agent holds to another agent of the
campaign (with a fresh lease) or back to the queue. Each is one transaction."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models.campaign import CallbackPolicy, Campaign, CampaignAgent, CampaignMember, QueueStatus
from models.event import Event
from models.history import MemberEventKind
from models.operation import Callback, CallbackStatus
from realtime.events import EventSpec, publish, record
from resolvers import history
from resolvers.campaign import rules
from resolvers.campaign.rules import CLAIM_LEASE, is_staff
from resolvers.context import Context
from resolvers.errors import CampaignError, CampaignErrorCode, OperationError, OperationErrorCode

OPEN_STATUSES = (QueueStatus.NOT_ACTED, QueueStatus.SCHEDULED)


async def reassign_callback(ctx: Context, callback_id: int, agent_id: int | None) -> Callback:
    """The new owner is alerted when it is due (alerts start over); a USER_ONLY callback keeps the member
    for them as operationRecord would have, a callback for anyone frees it."""
    user = ctx.require_user()
    if not is_staff(user):
        raise OperationError(OperationErrorCode.FORBIDDEN, "Only supervisors reassign callbacks.", "id")
    callback = await Callback.get_or_none(id=callback_id)
    if callback is None:
        raise OperationError(OperationErrorCode.NOT_FOUND, "No such callback.", "id")
    if callback.status != CallbackStatus.PENDING:
        raise OperationError(
            OperationErrorCode.CALLBACK_NOT_PENDING, f"This callback is {callback.status.value.lower()}.", "id"
        )
    if agent_id is not None and not await CampaignAgent.filter(
        campaign_id=callback.campaign_id, agent_id=agent_id
    ).exists():
        raise OperationError(
            OperationErrorCode.AGENT_NOT_ASSIGNED, "This agent is not assigned to the callback's campaign.", "agentId"
        )
    campaign = await Campaign.get(id=callback.campaign_id)
    opens_at = rules.callback_opens_at(campaign, agent_id, callback.due_at)
    reserved = agent_id is not None and campaign.callback_policy == CallbackPolicy.USER_ONLY
    events: list[Event] = []
    async with in_transaction() as connection:
        moved = await Callback.filter(id=callback.pk, status=CallbackStatus.PENDING).using_db(connection).update(
            agent_id=agent_id, opens_at=opens_at, alerted_at=None, opened_alerted_at=None
        )
        if not moved:
            raise OperationError(OperationErrorCode.CALLBACK_NOT_PENDING, "This callback is no longer pending.", "id")
        await CampaignMember.filter(id=callback.member_id, next_callback_id=callback.pk).using_db(connection).update(
            reserved_agent_id=agent_id if reserved else None, reserved_until=opens_at if reserved else None
        )
        await history.callback_changed(connection, callback.member_id, callback.campaign_id, user,
                                       MemberEventKind.CALLBACK_REASSIGNED, [callback.pk], callback.due_at, agent_id)
        callback.agent_id, callback.opens_at, callback.alerted_at = agent_id, opens_at, None
        events.append(await record(connection, EventSpec(
            kind="CALLBACK_REASSIGNED", entity="callback", entity_id=callback.pk, campaign_id=callback.campaign_id,
            agent_id=agent_id, data={"member_id": callback.member_id},
        )))
    await publish(ctx.broadcast, events)
    return callback


async def transfer_claim(ctx: Context, member_id: int, agent_id: int | None) -> CampaignMember:
    """The member's live claim goes to `agent_id` (a new lease, a new handling-time start) or, with None,
    back to the queue. The target must be assigned to the campaign."""
    user = ctx.require_user()
    if not is_staff(user):
        raise CampaignError(CampaignErrorCode.FORBIDDEN, "Only supervisors move claims.", "memberId")
    member = await CampaignMember.get_or_none(id=member_id)
    if member is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such member.", "memberId")
    if agent_id is not None and not await CampaignAgent.filter(
        campaign_id=member.campaign_id, agent_id=agent_id
    ).exists():
        raise CampaignError(
            CampaignErrorCode.AGENT_NOT_ASSIGNED, "This agent is not assigned to the member's campaign.", "agentId"
        )
    now = rules.utc_now()
    holder = member.claimed_by_id
    if holder is None or member.claim_expires_at is None or member.claim_expires_at <= now:
        raise CampaignError(CampaignErrorCode.MEMBER_NOT_CLAIMED, "Nobody holds this member.", "memberId")
    changes: dict[str, object] = (
        {"claimed_by_id": agent_id, "claim_expires_at": now + CLAIM_LEASE, "claimed_at": now}
        if agent_id is not None
        else {"claimed_by_id": None, "claim_expires_at": None, "claimed_at": None}
    )
    events: list[Event] = []
    async with in_transaction() as connection:
        count = await CampaignMember.filter(
            id=member.pk, claimed_by_id=holder, claim_expires_at__gt=now, status__in=OPEN_STATUSES
        ).using_db(connection).update(**changes)
        if not count:
            raise CampaignError(CampaignErrorCode.MEMBER_NOT_CLAIMED, "Nobody holds this member.", "memberId")
        await history.member_event(connection, member, user, MemberEventKind.RELEASED, agent_id=holder)
        if agent_id is not None:
            await history.member_event(connection, member, user, MemberEventKind.CLAIMED, agent_id=agent_id)
        events.append(await record(connection, EventSpec(
            kind="MEMBER_RELEASED" if agent_id is None else "MEMBER_CLAIMED", entity="member", entity_id=member.pk,
            campaign_id=member.campaign_id, agent_id=agent_id if agent_id is not None else user.pk,
        )))
    await publish(ctx.broadcast, events)
    member.update_from_dict(changes)
    return member
