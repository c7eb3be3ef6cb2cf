"""Campaigns, their ordered stages, assigned agents and members (the queue)."""

from enum import Enum

from tortoise import fields
from tortoise.indexes import Index

from models.base import TimestampedModel


class CallbackPolicy(str, Enum):
    USER_ONLY = "USER_ONLY"
    ANYONE = "ANYONE"


class QueueStatus(str, Enum):
    NOT_ACTED = "NOT_ACTED"
    SCHEDULED = "SCHEDULED"
    CONCLUDED = "CONCLUDED"
    # Taken out of the campaign (campaignMemberRemove): kept with its history, never in the queue.
    REMOVED = "REMOVED"


class QueuePriority(int, Enum):
    """Queue order: due callbacks, then never-acted members, then recycled ones."""

    CALLBACK = 0
    NEW = 1
    RECYCLE = 2
    DONE = 9


class Campaign(TimestampedModel):
    """An outbound effort ("Campanha") with a period, stages, calling hours and agents."""

    name = fields.CharField(max_length=200)
    description = fields.TextField(default="")
    start_date = fields.DateField()
    end_date = fields.DateField(null=True)
    active = fields.BooleanField(default=True)
    default_action_type = fields.ForeignKeyField(
        "models.ActionType", related_name="campaigns", null=True, on_delete=fields.SET_NULL
    )
    # The default of the campaign's scripts ("Script da Campanha"): the first of CampaignScript's.
    script = fields.ForeignKeyField("models.Script", related_name="default_for", null=True, on_delete=fields.SET_NULL)
    callback_policy = fields.CharEnumField(CallbackPolicy, max_length=10, default=CallbackPolicy.USER_ONLY)
    # An overdue USER_ONLY callback opens to every agent of the campaign after this many minutes.
    callback_opens_after_minutes = fields.IntField(null=True)
    max_attempts = fields.IntField(default=3)
    # A no-contact attempt without a callback retries the member after this many minutes.
    retry_after_minutes = fields.IntField(default=60)
    # After recording a result the agent is in WRAP_UP this long, then READY (0: READY at once).
    wrap_up_seconds = fields.IntField(default=0)
    # Calling hours as minutes after local midnight, in the operation's time zone.
    weekday_start_minute = fields.IntField(default=9 * 60)
    weekday_end_minute = fields.IntField(default=21 * 60)
    saturday_start_minute = fields.IntField(null=True)
    saturday_end_minute = fields.IntField(null=True)

    default_action_type_id: int | None
    script_id: int | None

    class Meta:
        table = "campaign"
        ordering = ["id"]


class CampaignScript(TimestampedModel):
    """A script the agent may choose on the campaign's operation screen, in the admin's order."""

    campaign = fields.ForeignKeyField("models.Campaign", related_name="script_links", on_delete=fields.CASCADE)
    script = fields.ForeignKeyField("models.Script", related_name="campaign_links", on_delete=fields.CASCADE)
    position = fields.IntField()

    campaign_id: int
    script_id: int

    class Meta:
        table = "campaign_script"
        ordering = ["campaign_id", "position"]
        unique_together = (("campaign", "script"),)


class CampaignStage(TimestampedModel):
    """An ordered step of a campaign ("Etapa")."""

    campaign = fields.ForeignKeyField("models.Campaign", related_name="stages", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=100)
    position = fields.IntField()

    campaign_id: int

    class Meta:
        table = "campaign_stage"
        ordering = ["campaign_id", "position", "id"]
        indexes = [Index(fields=["campaign_id", "position"])]


class CampaignAgent(TimestampedModel):
    """An agent assigned to work a campaign."""

    campaign = fields.ForeignKeyField("models.Campaign", related_name="agent_links", on_delete=fields.CASCADE)
    agent = fields.ForeignKeyField("models.User", related_name="campaign_links", on_delete=fields.CASCADE)

    campaign_id: int
    agent_id: int

    class Meta:
        table = "campaign_agent"
        unique_together = (("campaign", "agent"),)


class CampaignMember(TimestampedModel):
    """A person inside a campaign: stage, queue status, claim lease and queue position."""

    campaign = fields.ForeignKeyField("models.Campaign", related_name="members", on_delete=fields.CASCADE)
    person = fields.ForeignKeyField("models.Person", related_name="campaign_memberships", on_delete=fields.CASCADE)
    stage = fields.ForeignKeyField(
        "models.CampaignStage", related_name="members", null=True, on_delete=fields.RESTRICT
    )
    status = fields.CharEnumField(QueueStatus, max_length=10, default=QueueStatus.NOT_ACTED)
    assigned_agent = fields.ForeignKeyField(
        "models.User", related_name="assigned_members", null=True, on_delete=fields.SET_NULL
    )
    attempts = fields.IntField(default=0)
    last_operation_id = fields.IntField(null=True)
    next_callback_id = fields.IntField(null=True)
    last_acted_at = fields.DatetimeField(null=True)
    # Queue order is (priority, due_at, id), due_at being the callback or recycle time.
    priority = fields.SmallIntField(default=QueuePriority.NEW.value)
    due_at = fields.DatetimeField(null=True)
    # A USER_ONLY callback keeps the member for its agent until reserved_until (NULL: for good).
    reserved_agent = fields.ForeignKeyField(
        "models.User", related_name="reserved_members", null=True, on_delete=fields.SET_NULL
    )
    reserved_until = fields.DatetimeField(null=True)
    claimed_by = fields.ForeignKeyField(
        "models.User", related_name="claimed_members", null=True, on_delete=fields.SET_NULL
    )
    claim_expires_at = fields.DatetimeField(null=True)
    # When the current claim started (a renewal keeps it): the start of the operation's handling time.
    claimed_at = fields.DatetimeField(null=True)

    campaign_id: int
    person_id: int
    stage_id: int | None
    assigned_agent_id: int | None
    reserved_agent_id: int | None
    claimed_by_id: int | None

    class Meta:
        table = "campaign_member"
        ordering = ["id"]
        unique_together = (("campaign", "person"),)
        indexes = [
            Index(fields=["campaign_id", "priority", "due_at", "id"]),
            Index(fields=["campaign_id", "status", "priority", "due_at", "id"]),
        ]


class SavedQueueFilter(TimestampedModel):
    """A queue filter an agent keeps under a name ("filtros personalizados"), for one campaign or all."""

    agent = fields.ForeignKeyField("models.User", related_name="saved_queue_filters", on_delete=fields.CASCADE)
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="saved_queue_filters", null=True, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    # The QueueFilter's fields (resolvers/campaign/filters.py), times as ISO 8601 text.
    criteria: dict = fields.JSONField(default=dict)  # type: ignore[assignment]

    agent_id: int
    campaign_id: int | None

    class Meta:
        table = "saved_queue_filter"
        ordering = ["id"]
        unique_together = (("agent", "name"),)
