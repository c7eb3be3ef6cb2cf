"""The floor's use cases: an agent sets their state; the queue moves it; supervisors watch it.

States and who moves them (README "The supervisor's floor"):

- OFFLINE, READY, PAUSED (with an active pause reason): the agent, `agentStateSet`;
- ON_CALL: the claim (`campaignMemberClaim`), which refuses an agent who is not READY (or whose
  wrap-up has ended) unless `CLAIM_REQUIRES_READY=false`;
- WRAP_UP: `operationRecord` for the campaign's `wrapUpSeconds` (READY at once when 0), then READY
  (realtime/floor.py's sweeper), unless the agent paused meanwhile; a release ends the call READY;
- OFFLINE again when the agent's last socket has been gone for the grace period (contato/presence.py).

Every change is written by realtime/floor.py's `change_state`, in the transaction of what caused it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.campaign import Campaign, CampaignAgent, CampaignMember, QueueStatus
from models.event import Event
from models.floor import AgentState, AgentStateKind, PauseReason, StateChangeCause
from models.user import Role, User
from realtime.events import EventSpec, publish, record
from realtime.floor import Change, change_state, locked_state
from resolvers.campaign import rules
from resolvers.context import Context
from resolvers.errors import AgentStateError, AgentStateErrorCode, CampaignError, CampaignErrorCode

MANUAL_STATES = (AgentStateKind.OFFLINE, AgentStateKind.READY, AgentStateKind.PAUSED)
OPEN_STATUSES = (QueueStatus.NOT_ACTED, QueueStatus.SCHEDULED)


def offline(user_id: int) -> AgentState:
    """The state of an agent who has never had one: OFFLINE, since nobody knows when."""
    row = AgentState(user_id=user_id, state=AgentStateKind.OFFLINE)
    row.since = None  # never stored: the column is NOT NULL for every agent seen
    return row


async def _pause_reason(reason_id: int | None, state: AgentStateKind) -> PauseReason | None:
    if state != AgentStateKind.PAUSED:
        if reason_id is not None:
            raise AgentStateError(
                AgentStateErrorCode.PAUSE_REASON_NOT_ALLOWED, "A pause reason goes with PAUSED only.", "pauseReasonId"
            )
        return None
    if reason_id is None:
        raise AgentStateError(AgentStateErrorCode.PAUSE_REASON_REQUIRED, "Say why you pause.", "pauseReasonId")
    reason = await PauseReason.get_or_none(id=reason_id)
    if reason is None:
        raise AgentStateError(AgentStateErrorCode.UNKNOWN_PAUSE_REASON, "No such pause reason.", "pauseReasonId")
    if not reason.active:
        raise AgentStateError(
            AgentStateErrorCode.INACTIVE_PAUSE_REASON, "This pause reason is deactivated.", "pauseReasonId"
        )
    return reason


async def set_state(ctx: Context, state: AgentStateKind, pause_reason_id: int | None) -> AgentState:
    """`agentStateSet`: the agent's own OFFLINE, READY or PAUSED."""
    user = ctx.require_user()
    if user.role != Role.AGENT:
        raise AgentStateError(AgentStateErrorCode.FORBIDDEN, "Only agents have a floor state.")
    if state not in MANUAL_STATES:
        raise AgentStateError(
            AgentStateErrorCode.ILLEGAL_TRANSITION,
            f"{state.value} is set by the queue (a claim, a recorded result), not by hand.",
            "state",
        )
    reason = await _pause_reason(pause_reason_id, state)
    events: list[Event] = []
    async with in_transaction() as connection:
        now = rules.utc_now()
        row = await locked_state(connection, user.pk, now)
        if row.state == AgentStateKind.ON_CALL and await _holds_member(connection, user.pk, now):
            raise AgentStateError(
                AgentStateErrorCode.ON_CALL, "You are on a call: record its result or release the member first.", "state"
            )
        if row.state == state and row.pause_reason_id == (reason.pk if reason else None):
            return row  # nothing changes: no history row, no event
        change = Change(
            state, StateChangeCause.MANUAL, actor_id=user.pk, pause_reason_id=reason.pk if reason else None,
            pause_max_minutes=reason.max_minutes if reason else None,
        )
        events.append(await record(connection, await change_state(connection, row, change, now)))
    await publish(ctx.broadcast, events)
    return row


async def _holds_member(connection: BaseDBAsyncClient, user_id: int, now: datetime) -> bool:
    return await CampaignMember.filter(
        claimed_by_id=user_id, claim_expires_at__gt=now, status__in=OPEN_STATUSES
    ).using_db(connection).exists()


async def begin_call(
    ctx: Context, connection: BaseDBAsyncClient, user: User, campaign_id: int, now: datetime,
    field: str = "campaignId",
) -> EventSpec | None:
    """Inside the claim's transaction: the agent goes ON_CALL, or the claim is refused."""
    row = await locked_state(connection, user.pk, now)
    if row.state == AgentStateKind.ON_CALL:
        return None  # a lease that lapsed, claimed again
    wrap_up_over = row.state == AgentStateKind.WRAP_UP and row.wrap_up_until is not None and row.wrap_up_until <= now
    if row.state != AgentStateKind.READY and not wrap_up_over and ctx.settings.claim_requires_ready:
        raise CampaignError(
            CampaignErrorCode.AGENT_NOT_READY,
            f"You are {row.state.value}: set your state to READY to take calls.",
            field,
        )
    return await change_state(
        connection, row, Change(AgentStateKind.ON_CALL, StateChangeCause.CLAIM, user.pk, campaign_id=campaign_id), now
    )


async def end_call(
    connection: BaseDBAsyncClient,
    agent_id: int,
    campaign: Campaign | None,
    now: datetime,
    cause: StateChangeCause,
    actor_id: int,
) -> EventSpec | None:
    """Inside operationRecord's (WRAP_UP, or READY without wrap-up time) or a release's (READY)
    transaction; nothing when the agent was not ON_CALL."""
    row = await locked_state(connection, agent_id, now)
    if row.state != AgentStateKind.ON_CALL:
        return None
    seconds = campaign.wrap_up_seconds if campaign is not None and cause == StateChangeCause.RECORD else 0
    campaign_id = campaign.pk if campaign is not None else row.campaign_id
    if seconds > 0:
        change = Change(
            AgentStateKind.WRAP_UP, cause, actor_id, campaign_id=campaign_id,
            wrap_up_until=now + timedelta(seconds=seconds),
        )
    else:
        change = Change(AgentStateKind.READY, cause, actor_id)
    return await change_state(connection, row, change, now)


async def floor(ctx: Context, campaign_id: int) -> tuple[Campaign, list[AgentState]]:
    """`agentStates`: the states of the campaign's agents (an agent: their own), in agent order."""
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        raise AgentStateError(AgentStateErrorCode.FORBIDDEN, "The floor is for the operator.", "campaignId")
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise AgentStateError(AgentStateErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    agent_ids = sorted(
        await CampaignAgent.filter(campaign_id=campaign.pk).values_list("agent_id", flat=True)  # type: ignore[arg-type]
    )
    if not rules.is_staff(user):
        if user.pk not in agent_ids:
            raise AgentStateError(AgentStateErrorCode.AGENT_NOT_ASSIGNED, rules.NOT_ASSIGNED_MESSAGE, "campaignId")
        agent_ids = [user.pk]
    rows = {row.user_id: row for row in await AgentState.filter(user_id__in=agent_ids)} if agent_ids else {}
    return campaign, [rows.get(agent_id) or offline(agent_id) for agent_id in agent_ids]


async def may_watch(user: User, agent_id: int, campaign_id: int | None) -> bool:
    """Whether `user` may see `agent_id`'s state on the campaign's floor: staff anyone, an agent
    themselves."""
    if rules.is_staff(user):
        return True
    return user.role == Role.AGENT and user.pk == agent_id


def now() -> datetime:
    return rules.utc_now()


def seconds_in_state(row: AgentState) -> int | None:
    if row.since is None:
        return None
    return max(int((rules.utc_now() - row.since).total_seconds()), 0)
