"""The supervisor's floor: what each agent is doing now, why they paused, and where their sockets are.

`AgentState` is one row per agent (no row: OFFLINE), changed only through realtime/floor.py, which
writes the `AgentStateChange` history row and the event in the same transaction. `AgentSocket` is
one row per open WebSocket of an agent, kept alive by its process's heartbeat (contato/presence.py):
the rows, not the process's memory, say whether an agent is still connected, so presence holds
across processes and after a crash.
"""

from enum import Enum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class AgentStateKind(str, Enum):
    OFFLINE = "OFFLINE"
    READY = "READY"
    PAUSED = "PAUSED"
    ON_CALL = "ON_CALL"
    WRAP_UP = "WRAP_UP"


class StateChangeCause(str, Enum):
    """What made the change: the agent (or a supervisor), the queue, or the floor's sweeper."""

    MANUAL = "MANUAL"
    CLAIM = "CLAIM"
    RECORD = "RECORD"
    RELEASE = "RELEASE"
    WRAP_UP_ENDED = "WRAP_UP_ENDED"
    PRESENCE_LOST = "PRESENCE_LOST"


class PauseReason(TimestampedModel):
    """Why an agent paused ("motivo de pausa"): lunch, training, technical problem… a catalog."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)
    # A pause longer than this alerts supervisors once (None: no limit).
    max_minutes = fields.IntField(null=True)

    class Meta:
        table = "pause_reason"
        ordering = ["id"]


class AgentState(Model):
    id = fields.IntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="agent_state", on_delete=fields.CASCADE)
    state = fields.CharEnumField(AgentStateKind, max_length=10, default=AgentStateKind.OFFLINE)
    since = fields.DatetimeField()
    pause_reason = fields.ForeignKeyField(
        "models.PauseReason", related_name="agent_states", null=True, on_delete=fields.RESTRICT
    )
    # The campaign of the call (ON_CALL) or of the call being wrapped up (WRAP_UP).
    campaign_id = fields.IntField(null=True)
    wrap_up_until = fields.DatetimeField(null=True)
    # A pause with a maximum: when it is over, and when supervisors were told.
    pause_deadline = fields.DatetimeField(null=True)
    pause_alerted_at = fields.DatetimeField(null=True)

    user_id: int
    pause_reason_id: int | None

    class Meta:
        table = "agent_state"
        indexes = [Index(fields=["state", "wrap_up_until"]), Index(fields=["state", "pause_deadline"])]


class AgentStateChange(Model):
    """Append-only: every change of an agent's state, written with the change."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="state_changes", on_delete=fields.CASCADE)
    from_state = fields.CharEnumField(AgentStateKind, max_length=10)
    to_state = fields.CharEnumField(AgentStateKind, max_length=10)
    pause_reason = fields.ForeignKeyField(
        "models.PauseReason", related_name="state_changes", null=True, on_delete=fields.RESTRICT
    )
    cause = fields.CharEnumField(StateChangeCause, max_length=15)
    # Who changed it (the agent, a supervisor releasing a member); None for the sweeper.
    actor_id = fields.IntField(null=True)
    campaign_id = fields.IntField(null=True)
    at = fields.DatetimeField()

    user_id: int
    pause_reason_id: int | None

    class Meta:
        table = "agent_state_change"
        ordering = ["id"]
        indexes = [Index(fields=["user_id", "at"])]


class AgentSocket(Model):
    """One open WebSocket of an agent, kept alive by its process's heartbeat (alive_until), which
    is set to the closing time when it closes. The agent is connected while one row is alive."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="sockets", on_delete=fields.CASCADE)
    worker = fields.CharField(max_length=64)
    opened_at = fields.DatetimeField()
    alive_until = fields.DatetimeField()
    closed = fields.BooleanField(default=False)

    user_id: int

    class Meta:
        table = "agent_socket"
        indexes = [Index(fields=["worker", "closed"]), Index(fields=["user_id", "alive_until"])]
