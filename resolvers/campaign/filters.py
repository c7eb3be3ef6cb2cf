"""Queue filters ("filtro padrão e filtros personalizados"): the criteria a queue page is narrowed by,
and the filters each agent saves under a name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from models.campaign import Campaign, CampaignStage, SavedQueueFilter
from models.user import Role, User
from resolvers.bounds import search_term
from resolvers.campaign.config import get_campaign
from resolvers.context import Context
from resolvers.documents import search_needle
from resolvers.errors import CampaignError, CampaignErrorCode

MAX_SAVED = 50
_TIMES = ("due_from", "due_to")


@dataclass(frozen=True)
class QueueFilter:
    """Every criterion narrows the queue; unset ones do not. `text` matches the person's name (without
    accents), document or phones; the due period is [due_from, due_to) on the member's due time."""

    text: str | None = None
    stage_id: int | None = None
    assigned_agent_id: int | None = None
    unassigned: bool | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    attempts_min: int | None = None
    attempts_max: int | None = None

    def criteria(self) -> dict[str, object]:
        """As stored in SavedQueueFilter.criteria: set fields only, times in ISO 8601."""
        values = {name: value for name, value in asdict(self).items() if value is not None}
        for name in _TIMES:
            if name in values:
                values[name] = values[name].isoformat()  # type: ignore[union-attr]
        return values

    @classmethod
    def from_criteria(cls, criteria: dict[str, object]) -> QueueFilter:
        known = {item.name for item in fields(cls)}
        values = {name: value for name, value in criteria.items() if name in known}
        for name in _TIMES:
            if isinstance(values.get(name), str):
                values[name] = datetime.fromisoformat(values[name])  # type: ignore[arg-type]
        return cls(**values)  # type: ignore[arg-type]


async def clean_filter(where: QueueFilter, campaign_id: int | None) -> QueueFilter:
    """The filter checked, its text stripped and its times in UTC; refusals are INVALID or
    STAGE_NOT_IN_CAMPAIGN with the criterion's field."""
    where = replace(where, text=search_term(where.text))
    for name, field in (("due_from", "dueFrom"), ("due_to", "dueTo")):
        moment = getattr(where, name)
        if moment is not None:
            if moment.tzinfo is None:
                raise CampaignError(CampaignErrorCode.INVALID, "Give the time with its offset.", f"filter.{field}")
            where = replace(where, **{name: moment.astimezone(UTC)})
    if where.due_from is not None and where.due_to is not None and where.due_to <= where.due_from:
        raise CampaignError(CampaignErrorCode.INVALID, "dueTo must be after dueFrom.", "filter.dueTo")
    for name, field in (("attempts_min", "attemptsMin"), ("attempts_max", "attemptsMax")):
        if (getattr(where, name) or 0) < 0:
            raise CampaignError(CampaignErrorCode.INVALID, f"{field} cannot be negative.", f"filter.{field}")
    if where.attempts_min is not None and where.attempts_max is not None and where.attempts_max < where.attempts_min:
        raise CampaignError(CampaignErrorCode.INVALID, "attemptsMax is below attemptsMin.", "filter.attemptsMax")
    if where.unassigned and where.assigned_agent_id is not None:
        raise CampaignError(
            CampaignErrorCode.INVALID, "Give assignedAgentId or unassigned, not both.", "filter.unassigned"
        )
    if where.stage_id is not None and campaign_id is not None and not await CampaignStage.filter(
        id=where.stage_id, campaign_id=campaign_id
    ).exists():
        raise CampaignError(
            CampaignErrorCode.STAGE_NOT_IN_CAMPAIGN, "This stage is not a stage of the campaign.", "filter.stageId"
        )
    return where


def conditions(where: QueueFilter) -> Q | None:
    """The filter as one condition on campaign members (None: no criterion)."""
    parts: list[Q] = []
    if where.text:
        parts.append(Q(person__search_text__contains=search_needle(where.text)))
    if where.stage_id is not None:
        parts.append(Q(stage_id=where.stage_id))
    if where.assigned_agent_id is not None:
        parts.append(Q(assigned_agent_id=where.assigned_agent_id))
    if where.unassigned is not None:
        parts.append(Q(assigned_agent_id__isnull=where.unassigned))
    if where.due_from is not None:
        parts.append(Q(due_at__gte=where.due_from))
    if where.due_to is not None:
        parts.append(Q(due_at__lt=where.due_to))
    if where.attempts_min is not None:
        parts.append(Q(attempts__gte=where.attempts_min))
    if where.attempts_max is not None:
        parts.append(Q(attempts__lte=where.attempts_max))
    return Q(*parts) if parts else None


def _caller(ctx: Context) -> User:
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        raise CampaignError(CampaignErrorCode.FORBIDDEN, "Queue filters are for the operator.")
    return user


async def saved_filter(ctx: Context, filter_id: int, field: str = "id") -> SavedQueueFilter:
    """One of the caller's own saved filters (anyone else's is NOT_FOUND, as a missing one)."""
    user = _caller(ctx)
    row = await SavedQueueFilter.get_or_none(id=filter_id, agent_id=user.pk)
    if row is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such saved filter.", field)
    return row


async def list_saved(ctx: Context, campaign_id: int | None) -> list[SavedQueueFilter]:
    """The caller's saved filters: with a campaign, those for it and those for every campaign."""
    user = _caller(ctx)
    rows = SavedQueueFilter.filter(agent_id=user.pk)
    if campaign_id is not None:
        rows = rows.filter(Q(campaign_id=campaign_id) | Q(campaign_id__isnull=True))
    return await rows.order_by("name", "id")


def _name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise CampaignError(CampaignErrorCode.INVALID, "Name must have 1 to 100 characters.", "name")
    return name


async def _campaign(ctx: Context, campaign_id: int) -> Campaign:
    campaign = await get_campaign(ctx, campaign_id)
    if campaign is None:
        raise CampaignError(CampaignErrorCode.NOT_FOUND, "No such campaign.", "campaignId")
    return campaign


async def _save(row: SavedQueueFilter) -> SavedQueueFilter:
    try:
        await row.save()
    except IntegrityError as error:
        raise CampaignError(
            CampaignErrorCode.DUPLICATE_NAME, "You already have a saved filter with this name.", "name"
        ) from error
    return row


async def create_saved(ctx: Context, name: str, campaign_id: int | None, where: QueueFilter) -> SavedQueueFilter:
    user = _caller(ctx)
    campaign = await _campaign(ctx, campaign_id) if campaign_id is not None else None
    where = await clean_filter(where, campaign.pk if campaign else None)
    if await SavedQueueFilter.filter(agent_id=user.pk).count() >= MAX_SAVED:
        raise CampaignError(CampaignErrorCode.TOO_MANY_IDS, f"At most {MAX_SAVED} saved filters each.", "name")
    row = SavedQueueFilter(
        agent_id=user.pk, campaign_id=campaign.pk if campaign else None, name=_name(name), criteria=where.criteria()
    )
    return await _save(row)


async def update_saved(
    ctx: Context, filter_id: int, name: str | None, where: QueueFilter | None
) -> SavedQueueFilter:
    row = await saved_filter(ctx, filter_id)
    if name is not None:
        row.name = _name(name)
    if where is not None:
        row.criteria = (await clean_filter(where, row.campaign_id)).criteria()
    return await _save(row)


async def delete_saved(ctx: Context, filter_id: int) -> SavedQueueFilter:
    row = await saved_filter(ctx, filter_id)
    await SavedQueueFilter.filter(id=row.pk).delete()
    return row


async def queue_filter(
    ctx: Context, campaign_id: int, where: QueueFilter | None, saved_filter_id: int | None
) -> QueueFilter | None:
    """What campaignQueue narrows by: the filter given, or one of the caller's saved filters."""
    if where is not None and saved_filter_id is not None:
        raise CampaignError(CampaignErrorCode.INVALID, "Give filter or savedFilterId, not both.", "savedFilterId")
    if saved_filter_id is not None:
        row = await saved_filter(ctx, saved_filter_id, "savedFilterId")
        if row.campaign_id not in (None, campaign_id):
            raise CampaignError(
                CampaignErrorCode.INVALID, "This saved filter is for another campaign.", "savedFilterId"
            )
        return QueueFilter.from_criteria(row.criteria)
    if where is None:
        return None
    return await clean_filter(where, campaign_id)

