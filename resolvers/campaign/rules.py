"""Rules shared by campaign use cases: the clock, calling hours, who may work a campaign."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import Enum
from zoneinfo import ZoneInfo

from models.campaign import CallbackPolicy, Campaign, CampaignAgent
from models.user import Role, User
from resolvers.context import Context
from resolvers.errors import DomainError

CLAIM_LEASE = timedelta(minutes=10)
DAY_MINUTES = 24 * 60


def utc_now() -> datetime:
    """The one clock of the outbound use cases (tests replace it to pin calling hours)."""
    return datetime.now(UTC)


def local_today(ctx: Context) -> date:
    return utc_now().astimezone(ctx.settings.zone).date()


def is_staff(user: User) -> bool:
    return user.role in (Role.SUPERVISOR, Role.ADMIN)


def window(campaign: Campaign, day: date) -> tuple[int, int] | None:
    """Calling hours of one local day as (start, end) minutes; None when calls are not allowed."""
    weekday = day.weekday()
    if weekday < 5:
        return campaign.weekday_start_minute, campaign.weekday_end_minute
    if weekday == 5 and campaign.saturday_start_minute is not None and campaign.saturday_end_minute is not None:
        return campaign.saturday_start_minute, campaign.saturday_end_minute
    return None


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minute)


def within_calling_hours(campaign: Campaign, moment: datetime, zone: ZoneInfo) -> bool:
    local = moment.astimezone(zone)
    hours = window(campaign, local.date())
    if hours is None:
        return False
    return _at(local.date(), hours[0], zone) <= local < _at(local.date(), hours[1], zone)


def next_calling_time(campaign: Campaign, moment: datetime, zone: ZoneInfo) -> datetime:
    """`moment` when calls are allowed then, else the start of the next window."""
    local = moment.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        hours = window(campaign, day)
        if hours is None:
            continue
        start, end = _at(day, hours[0], zone), _at(day, hours[1], zone)
        if local < end:
            return max(local, start).astimezone(UTC)
    return moment


def callback_opens_at(campaign: Campaign, owner_id: int | None, due_at: datetime) -> datetime | None:
    """When an agent's own callback opens to anyone on the campaign (None: it never does; a callback
    for anyone is open from the start). Until then its member is reserved for its agent.

    USER_ONLY: `callback_opens_after_minutes` after it falls due, or never when that is unset.
    ANYONE: when it falls due, or that many minutes later when set."""
    if owner_id is None:
        return None
    opens = campaign.callback_opens_after_minutes
    if campaign.callback_policy == CallbackPolicy.USER_ONLY and opens is None:
        return None
    return due_at + timedelta(minutes=opens or 0)


def check_period(ctx: Context, campaign: Campaign, codes: type[Enum], error: type[DomainError]) -> None:
    """Refuse work on a campaign that is inactive, not started or ended (dates in the local zone)."""
    today = local_today(ctx)
    if not campaign.active:
        raise error(codes["CAMPAIGN_INACTIVE"], "This campaign is inactive.", "campaignId")
    if campaign.start_date > today:
        raise error(codes["CAMPAIGN_NOT_STARTED"], f"This campaign starts on {campaign.start_date}.", "campaignId")
    if campaign.end_date is not None and campaign.end_date < today:
        raise error(codes["CAMPAIGN_ENDED"], f"This campaign ended on {campaign.end_date}.", "campaignId")


NOT_ASSIGNED_MESSAGE = "You are not assigned to this campaign."


async def check_assigned(
    user: User, campaign_id: int, codes: type[Enum], error: type[DomainError], field: str = "campaignId"
) -> None:
    if not await CampaignAgent.filter(campaign_id=campaign_id, agent_id=user.pk).exists():
        raise error(codes["AGENT_NOT_ASSIGNED"], NOT_ASSIGNED_MESSAGE, field)
