"""A supervisors' wallboard of several campaigns: their queue figures now (`queueSnapshot`), the same
figures the live `queueUpdates` stream sends, computed for every campaign asked in three grouped
queries."""

from __future__ import annotations

from collections.abc import Iterable

from models.campaign import Campaign
from realtime.queue_monitor import QueueSnapshot, compute_snapshots
from resolvers.campaign import rules
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.errors import CampaignError, CampaignErrorCode

MAX_BOARD = 50


def board_ids(campaign_ids: Iterable[int]) -> list[int]:
    """The campaigns asked, each once, in the order first asked."""
    return list(dict.fromkeys(campaign_ids))


async def queue_snapshots(ctx: Context, campaign_ids: list[int]) -> list[QueueSnapshot]:
    """Supervisors and admins: any campaign; everyone else FORBIDDEN (as `queueUpdates`). Every id is
    checked before anything is counted: an unknown one is NOT_FOUND, naming it."""
    user = ctx.require_user()
    if not is_staff(user):
        raise CampaignError(CampaignErrorCode.FORBIDDEN, "Queue monitoring is for supervisors.", "campaignIds")
    wanted = board_ids(campaign_ids)
    if not wanted:
        raise CampaignError(CampaignErrorCode.INVALID, "Name at least one campaign.", "campaignIds")
    if len(wanted) > MAX_BOARD:
        raise CampaignError(
            CampaignErrorCode.TOO_MANY_IDS, f"At most {MAX_BOARD} campaigns on one board.", "campaignIds"
        )
    known = set(await Campaign.filter(id__in=wanted).values_list("id", flat=True))
    missing = [campaign_id for campaign_id in wanted if campaign_id not in known]
    if missing:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, f"No campaign {missing[0]}.", "campaignIds")
    snapshots = await compute_snapshots(wanted, rules.utc_now())
    return [snapshots[campaign_id] for campaign_id in wanted]
