"""Campaign set-up: create, update (stages included), agents; who sees which campaign."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.campaign import (
    CallbackPolicy,
    Campaign,
    CampaignAgent,
    CampaignMember,
    CampaignScript,
    CampaignStage,
)
from models.operation import Callback, CallbackStatus
from models.outbound import ActionType, Script
from models.user import Role, User
from realtime.events import EventSpec, publish, record
from resolvers.campaign import rules
from resolvers.campaign.rules import DAY_MINUTES, is_staff
from resolvers.context import Context
from resolvers.errors import CampaignError, CampaignErrorCode
from resolvers.pagination import Page, PageArgs, paginate

MAX_IDS = 100
MAX_STAGES = 50
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class CallingHours:
    weekday_start: str = "09:00"
    weekday_end: str = "21:00"
    saturday_start: str | None = "10:00"
    saturday_end: str | None = "16:00"


@dataclass(frozen=True)
class StageInput:
    name: str
    id: int | None = None


@dataclass(frozen=True)
class CampaignInput:
    name: str | None = None
    description: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    clear_end_date: bool = False
    active: bool | None = None
    default_action_type_id: int | None = None
    clear_default_action_type: bool = False
    callback_policy: CallbackPolicy | None = None
    callback_opens_after_minutes: int | None = None
    clear_callback_opens_after: bool = False
    max_attempts: int | None = None
    retry_after_minutes: int | None = None
    wrap_up_seconds: int | None = None
    calling_hours: CallingHours | None = None
    stages: list[StageInput] | None = None
    # The scripts an agent may choose ("Script da Campanha"), in order; the first is the default.
    script_ids: list[int] | None = None


def visible_campaigns(ctx: Context) -> QuerySet[Campaign]:
    user = ctx.require_user()
    if is_staff(user):
        return Campaign.all()
    if user.role == Role.AGENT:
        return Campaign.filter(agent_links__agent_id=user.pk)
    return Campaign.filter(id=-1)


async def list_campaigns(
    ctx: Context, active: bool | None, page: PageArgs
) -> Page[Campaign]:
    queryset = visible_campaigns(ctx)
    if active is not None:
        queryset = queryset.filter(active=active)
    return await paginate(queryset, "campaign", page, ctx.settings.max_page_size)


async def get_campaign(ctx: Context, campaign_id: int) -> Campaign | None:
    return await visible_campaigns(ctx).get_or_none(id=campaign_id)


def require_staff(ctx: Context) -> User:
    user = ctx.require_user()
    if not is_staff(user):
        raise CampaignError(CampaignErrorCode.FORBIDDEN, "Only supervisors and admins configure campaigns.")
    return user


def _minute(value: str, field: str) -> int:
    match = _CLOCK.match(value.strip())
    if match is None:
        raise CampaignError(CampaignErrorCode.INVALID_CALLING_HOURS, f"{value!r} is not a HH:MM time.", field)
    minute = int(match[1]) * 60 + int(match[2])
    if minute > DAY_MINUTES:
        raise CampaignError(CampaignErrorCode.INVALID_CALLING_HOURS, f"{value!r} is after 24:00.", field)
    return minute


def _hours(hours: CallingHours) -> dict[str, object]:
    weekday = (_minute(hours.weekday_start, "callingHours.weekdayStart"),
               _minute(hours.weekday_end, "callingHours.weekdayEnd"))
    if weekday[0] >= weekday[1]:
        raise CampaignError(
            CampaignErrorCode.INVALID_CALLING_HOURS, "The weekday window must start before it ends.", "callingHours"
        )
    saturday: tuple[int | None, int | None] = (None, None)
    if (hours.saturday_start is None) != (hours.saturday_end is None):
        raise CampaignError(
            CampaignErrorCode.INVALID_CALLING_HOURS, "Give both Saturday times or neither.", "callingHours"
        )
    if hours.saturday_start is not None and hours.saturday_end is not None:
        saturday = (_minute(hours.saturday_start, "callingHours.saturdayStart"),
                    _minute(hours.saturday_end, "callingHours.saturdayEnd"))
        if saturday[0] >= saturday[1]:  # type: ignore[operator]
            raise CampaignError(
                CampaignErrorCode.INVALID_CALLING_HOURS, "The Saturday window must start before it ends.",
                "callingHours",
            )
    return {
        "weekday_start_minute": weekday[0],
        "weekday_end_minute": weekday[1],
        "saturday_start_minute": saturday[0],
        "saturday_end_minute": saturday[1],
    }


def _at_least(value: int, minimum: int, field: str) -> int:
    if value < minimum:
        raise CampaignError(CampaignErrorCode.INVALID, f"{field} must be at least {minimum}.", field)
    return value


async def _clean(data: CampaignInput, current: Campaign | None) -> dict[str, object]:
    values: dict[str, object] = {}
    if data.name is not None:
        name = data.name.strip()
        if not name or len(name) > 200:
            raise CampaignError(CampaignErrorCode.INVALID, "Name must have 1 to 200 characters.", "name")
        values["name"] = name
    if data.description is not None:
        values["description"] = data.description.strip()
    if data.start_date is not None:
        values["start_date"] = data.start_date
    if data.clear_end_date:
        values["end_date"] = None
    elif data.end_date is not None:
        values["end_date"] = data.end_date
    start = values.get("start_date", current.start_date if current else None)
    end = values.get("end_date", current.end_date if current else None) if "end_date" in values or current else None
    if start is not None and end is not None and end < start:  # type: ignore[operator]
        raise CampaignError(CampaignErrorCode.INVALID_PERIOD, "The end date is before the start date.", "endDate")
    if data.active is not None:
        values["active"] = data.active
    if data.clear_default_action_type:
        values["default_action_type_id"] = None
    elif data.default_action_type_id is not None:
        action = await ActionType.get_or_none(id=data.default_action_type_id)
        if action is None:
            raise CampaignError(CampaignErrorCode.UNKNOWN_ACTION_TYPE, "No such action type.", "defaultActionTypeId")
        if not action.active:
            raise CampaignError(
                CampaignErrorCode.INACTIVE_CATALOG_ENTRY, "This action type is deactivated.", "defaultActionTypeId"
            )
        values["default_action_type_id"] = action.pk
    if data.script_ids is not None:
        values["script_id"] = (await _scripts(data.script_ids) or [None])[0]
    if data.callback_policy is not None:
        values["callback_policy"] = data.callback_policy
    if data.clear_callback_opens_after:
        values["callback_opens_after_minutes"] = None
    elif data.callback_opens_after_minutes is not None:
        values["callback_opens_after_minutes"] = _at_least(
            data.callback_opens_after_minutes, 0, "callbackOpensAfterMinutes"
        )
    if data.max_attempts is not None:
        values["max_attempts"] = _at_least(data.max_attempts, 1, "maxAttempts")
    if data.retry_after_minutes is not None:
        values["retry_after_minutes"] = _at_least(data.retry_after_minutes, 1, "retryAfterMinutes")
    if data.wrap_up_seconds is not None:
        values["wrap_up_seconds"] = _at_least(data.wrap_up_seconds, 0, "wrapUpSeconds")
    if data.calling_hours is not None:
        values.update(_hours(data.calling_hours))
    elif current is None:
        values.update(_hours(CallingHours()))
    return values


async def _scripts(script_ids: list[int]) -> list[int]:
    """The campaign's scripts as asked: known, active, each once, at most MAX_IDS."""
    if len(script_ids) > MAX_IDS:
        raise CampaignError(CampaignErrorCode.TOO_MANY_IDS, f"At most {MAX_IDS} scripts.", "scriptIds")
    if len(set(script_ids)) != len(script_ids):
        raise CampaignError(CampaignErrorCode.INVALID, "A script is listed twice.", "scriptIds")
    active = dict(await Script.filter(id__in=set(script_ids)).values_list("id", "active"))
    for script_id in script_ids:
        if script_id not in active:
            raise CampaignError(CampaignErrorCode.UNKNOWN_SCRIPT, "No such script.", "scriptIds")
        if not active[script_id]:
            raise CampaignError(CampaignErrorCode.INACTIVE_CATALOG_ENTRY, "This script is deactivated.", "scriptIds")
    return script_ids


async def _set_scripts(connection: BaseDBAsyncClient, campaign_id: int, script_ids: list[int]) -> None:
    await CampaignScript.filter(campaign_id=campaign_id).using_db(connection).delete()
    if script_ids:
        await CampaignScript.bulk_create(
            [CampaignScript(campaign_id=campaign_id, script_id=script_id, position=index + 1)
             for index, script_id in enumerate(script_ids)],
            using_db=connection,
        )


def _stage_names(stages: list[StageInput]) -> list[str]:
    if len(stages) > MAX_STAGES:
        raise CampaignError(CampaignErrorCode.TOO_MANY_IDS, f"At most {MAX_STAGES} stages.", "stages")
    names = []
    for stage in stages:
        name = stage.name.strip()
        if not name or len(name) > 100:
            raise CampaignError(CampaignErrorCode.INVALID, "Stage names have 1 to 100 characters.", "stages")
        names.append(name)
    return names


async def create_campaign(ctx: Context, data: CampaignInput) -> Campaign:
    require_staff(ctx)
    if data.name is None or data.start_date is None:
        missing = "name" if data.name is None else "startDate"
        raise CampaignError(CampaignErrorCode.INVALID, f"{missing} is required.", missing)
    if any(stage.id is not None for stage in data.stages or []):
        raise CampaignError(CampaignErrorCode.STAGE_NOT_IN_CAMPAIGN, "A new campaign has no stages yet.", "stages")
    values = await _clean(data, None)
    names = _stage_names(data.stages or [])
    async with in_transaction() as connection:
        campaign = await Campaign.create(**values, using_db=connection)
        if names:
            await CampaignStage.bulk_create(
                [CampaignStage(campaign_id=campaign.pk, name=name, position=index + 1)
                 for index, name in enumerate(names)],
                using_db=connection,
            )
        if data.script_ids:
            await _set_scripts(connection, campaign.pk, data.script_ids)
    return campaign


async def update_campaign(ctx: Context, campaign_id: int, data: CampaignInput) -> Campaign:
    user = require_staff(ctx)
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such campaign.", "id")
    values = await _clean(data, campaign)
    existing = {stage.pk: stage for stage in await CampaignStage.filter(campaign_id=campaign.pk)}
    removed: set[int] = set()
    if data.stages is not None:
        names = _stage_names(data.stages)
        kept = {stage.id for stage in data.stages if stage.id is not None}
        if not kept <= existing.keys():
            raise CampaignError(
                CampaignErrorCode.STAGE_NOT_IN_CAMPAIGN, "A stage id belongs to another campaign.", "stages"
            )
        removed = existing.keys() - kept
        if removed and await CampaignMember.filter(stage_id__in=removed).exists():
            raise CampaignError(
                CampaignErrorCode.STAGE_IN_USE, "Move the members off a stage before removing it.", "stages"
            )
    before = {name: getattr(campaign, name) for name in values}
    campaign.update_from_dict(values)
    changed = sorted(name for name, value in values.items() if before[name] != value)
    events = []
    async with in_transaction() as connection:
        await campaign.save(using_db=connection)
        if {"callback_policy", "callback_opens_after_minutes"} & set(changed):
            await _reopen_callbacks(connection, campaign)
        if data.stages is not None:
            if removed:
                await CampaignStage.filter(id__in=removed).using_db(connection).delete()
            # Positions move out of the way first so that reordering never collides.
            await CampaignStage.filter(campaign_id=campaign.pk).using_db(connection).update(position=-1)
            for index, (stage, name) in enumerate(zip(data.stages, names)):
                if stage.id is None:
                    await CampaignStage.create(
                        campaign_id=campaign.pk, name=name, position=index + 1, using_db=connection
                    )
                else:
                    await CampaignStage.filter(id=stage.id).using_db(connection).update(
                        name=name, position=index + 1
                    )
        if data.script_ids is not None:
            await _set_scripts(connection, campaign.pk, data.script_ids)
        if changed or data.stages is not None or data.script_ids is not None:
            events.append(await record(connection, EventSpec(
                kind="CAMPAIGN_UPDATED", entity="campaign", entity_id=campaign.pk, campaign_id=campaign.pk,
                agent_id=user.pk, data={"fields": changed, "stages": data.stages is not None,
                                        "scripts": data.script_ids is not None},
            )))
    await publish(ctx.broadcast, events)
    return campaign


async def _reopen_callbacks(connection: BaseDBAsyncClient, campaign: Campaign) -> None:
    """Pending callbacks of one agent follow the campaign's new policy or delay: when they open to
    anyone (opens_at) and how long their member stays reserved. One that now opens later is told
    again when it opens; one already told that stays open is not told twice."""
    now = rules.utc_now()
    pending = await Callback.filter(
        campaign_id=campaign.pk, status=CallbackStatus.PENDING, agent_id__isnull=False
    ).using_db(connection)
    moved = []
    for callback in pending:
        opens_at = rules.callback_opens_at(campaign, callback.agent_id, callback.due_at)
        if opens_at == callback.opens_at:
            continue
        callback.opens_at = opens_at
        if opens_at is None or opens_at > now:
            callback.opened_alerted_at = None
        moved.append(callback)
    if not moved:
        return
    await Callback.bulk_update(moved, fields=["opens_at", "opened_alerted_at"], batch_size=500, using_db=connection)
    members = {
        member.next_callback_id: member
        for member in await CampaignMember.filter(
            next_callback_id__in=[callback.pk for callback in moved]
        ).using_db(connection)
    }
    reserved = []
    for callback in moved:
        member = members.get(callback.pk)
        if member is not None:
            member.reserved_agent_id, member.reserved_until = callback.agent_id, callback.opens_at
            reserved.append(member)
    if reserved:
        await CampaignMember.bulk_update(
            reserved, fields=["reserved_agent_id", "reserved_until"], batch_size=500, using_db=connection
        )


async def set_agents(ctx: Context, campaign_id: int, agent_ids: list[int]) -> Campaign:
    require_staff(ctx)
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such campaign.", "id")
    if len(agent_ids) > MAX_IDS:
        raise CampaignError(CampaignErrorCode.TOO_MANY_IDS, f"At most {MAX_IDS} agents.", "agentIds")
    wanted = set(agent_ids)
    found = set(
        await User.filter(id__in=wanted, active=True, role__in=[Role.AGENT, Role.SUPERVISOR]).values_list(
            "id", flat=True
        )
    )
    if found != wanted:
        raise CampaignError(
            CampaignErrorCode.UNKNOWN_AGENT, "Every id must be an active agent or supervisor.", "agentIds"
        )
    events = []
    async with in_transaction() as connection:
        current = set(
            await CampaignAgent.filter(campaign_id=campaign.pk).using_db(connection).values_list(
                "agent_id", flat=True
            )
        )
        removed, added = current - wanted, wanted - current
        if removed:
            await CampaignAgent.filter(campaign_id=campaign.pk, agent_id__in=removed).using_db(connection).delete()
            await _release_work(connection, campaign.pk, removed)
        if added:
            await CampaignAgent.bulk_create(
                [CampaignAgent(campaign_id=campaign.pk, agent_id=agent) for agent in sorted(added)],
                using_db=connection,
            )
        if removed or added:
            events.append(
                await record(
                    connection,
                    EventSpec(
                        kind="CAMPAIGN_AGENTS_CHANGED", entity="campaign", entity_id=campaign.pk,
                        campaign_id=campaign.pk, data={"added": sorted(added), "removed": sorted(removed)},
                    ),
                )
            )
    await publish(ctx.broadcast, events)
    return campaign


async def _release_work(connection: BaseDBAsyncClient, campaign_id: int, agents: set[int]) -> None:
    """What agents taken off a campaign held goes back to the team: claims and reservations are
    released, members assigned to them are unassigned, and their pending callbacks are for anyone
    (those already alerted to them open at once, so the scheduler tells the others)."""
    members = CampaignMember.filter(campaign_id=campaign_id)
    await members.filter(claimed_by_id__in=agents).using_db(connection).update(
        claimed_by_id=None, claim_expires_at=None
    )
    await members.filter(reserved_agent_id__in=agents).using_db(connection).update(
        reserved_agent_id=None, reserved_until=None
    )
    await members.filter(assigned_agent_id__in=agents).using_db(connection).update(assigned_agent_id=None)
    pending = Callback.filter(campaign_id=campaign_id, agent_id__in=agents, status=CallbackStatus.PENDING)
    await pending.filter(alerted_at__isnull=False).using_db(connection).update(
        agent_id=None, opens_at=rules.utc_now(), opened_alerted_at=None
    )
    await pending.filter(alerted_at__isnull=True).using_db(connection).update(agent_id=None, opens_at=None)
