"""Operations (contact attempts with a member) and the callbacks they schedule."""

from enum import Enum

from tortoise import fields
from tortoise.indexes import Index

from models.base import TimestampedModel


class OperationOutcome(str, Enum):
    """What an attempt came to: its result's kind, or NO_CONTACT when the person was not reached
    (`Operation.result_kind` is NULL then). Counts of operations are by outcome everywhere."""

    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    SCHEDULE = "SCHEDULE"
    NO_CONTACT = "NO_CONTACT"

    @classmethod
    def of(cls, result_kind: str | None) -> "OperationOutcome":
        return cls.NO_CONTACT if result_kind is None else cls(result_kind)


class CallbackStatus(str, Enum):
    PENDING = "PENDING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class Operation(TimestampedModel):
    """One contact attempt with a campaign member ("Operação de telemarketing")."""

    member = fields.ForeignKeyField("models.CampaignMember", related_name="operations", on_delete=fields.CASCADE)
    campaign = fields.ForeignKeyField("models.Campaign", related_name="operations", on_delete=fields.CASCADE)
    person = fields.ForeignKeyField("models.Person", related_name="operations", on_delete=fields.CASCADE)
    agent = fields.ForeignKeyField("models.User", related_name="operations", on_delete=fields.RESTRICT)
    stage = fields.ForeignKeyField(
        "models.CampaignStage", related_name="operations", null=True, on_delete=fields.SET_NULL
    )
    action_type = fields.ForeignKeyField(
        "models.ActionType", related_name="operations", null=True, on_delete=fields.RESTRICT
    )
    channel = fields.ForeignKeyField(
        "models.ContactChannel", related_name="operations", null=True, on_delete=fields.RESTRICT
    )
    result = fields.ForeignKeyField(
        "models.ContactResult", related_name="operations", null=True, on_delete=fields.RESTRICT
    )
    # Copied from the result so that statistics group by kind without a join.
    result_kind = fields.CharField(max_length=10, null=True)
    justification = fields.ForeignKeyField(
        "models.Justification", related_name="operations", null=True, on_delete=fields.RESTRICT
    )
    notes = fields.TextField(default="")
    conversation = fields.TextField(default="")
    no_contact = fields.BooleanField(default=False)
    no_contact_reason = fields.ForeignKeyField(
        "models.NoContactReason", related_name="operations", null=True, on_delete=fields.RESTRICT
    )
    callback_at = fields.DatetimeField(null=True)
    attempt = fields.IntField()
    # The day in the operation's time zone, for per-day statistics.
    local_date = fields.DateField()
    # Handling time (issue 16): when the agent's claim on the member started (created_at is when the
    # result was recorded), the seconds between the two, and the talk / wrap-up seconds the client
    # sends. The local hour (0-23, the operation's time zone) groups per-hour figures in the database.
    claimed_at = fields.DatetimeField(null=True)
    handling_seconds = fields.IntField(null=True)
    talk_seconds = fields.IntField(null=True)
    wrap_up_seconds = fields.IntField(null=True)
    local_hour = fields.SmallIntField(null=True)
    # The script the agent ran (chosen on the operation screen); its answers are ScriptAnswer rows.
    script = fields.ForeignKeyField("models.Script", related_name="operations", null=True, on_delete=fields.RESTRICT)

    member_id: int
    campaign_id: int
    person_id: int
    agent_id: int
    stage_id: int | None
    action_type_id: int | None
    channel_id: int | None
    result_id: int | None
    justification_id: int | None
    no_contact_reason_id: int | None
    script_id: int | None

    class Meta:
        table = "operation"
        ordering = ["-id"]
        indexes = [
            Index(fields=["member_id", "id"]),
            Index(fields=["person_id", "id"]),
            Index(fields=["campaign_id", "local_date"]),
        ]


class Callback(TimestampedModel):
    """A scheduled recontact ("Agendamento"). A NULL agent means anyone on the campaign may take it."""

    member = fields.ForeignKeyField("models.CampaignMember", related_name="callbacks", on_delete=fields.CASCADE)
    campaign = fields.ForeignKeyField("models.Campaign", related_name="callbacks", on_delete=fields.CASCADE)
    agent = fields.ForeignKeyField("models.User", related_name="callbacks", null=True, on_delete=fields.SET_NULL)
    operation = fields.ForeignKeyField(
        "models.Operation", related_name="callbacks", null=True, on_delete=fields.SET_NULL
    )
    due_at = fields.DatetimeField()
    status = fields.CharEnumField(CallbackStatus, max_length=10, default=CallbackStatus.PENDING)
    alerted_at = fields.DatetimeField(null=True)
    # A USER_ONLY callback of one agent opens to anyone on the campaign at opens_at (NULL: never);
    # opened_alerted_at marks that the campaign was told, once.
    opens_at = fields.DatetimeField(null=True)
    opened_alerted_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)

    member_id: int
    campaign_id: int
    agent_id: int | None
    operation_id: int | None

    class Meta:
        table = "callback"
        ordering = ["due_at", "id"]
        indexes = [
            Index(fields=["status", "due_at"]),
            # The alert scheduler's scans: pending, not yet alerted, by time.
            Index(fields=["status", "alerted_at", "due_at"]),
            Index(fields=["status", "opened_alerted_at", "opens_at"]),
            Index(fields=["member_id", "status"]),
            # `callbacks`, every status, by due time (keyset pages).
            Index(fields=["due_at", "id"]),
        ]
