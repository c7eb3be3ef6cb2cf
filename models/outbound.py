"""Outbound catalogs: contact results, justifications, action types, scripts, no-contact reasons."""

from enum import Enum

from tortoise import fields

from models.base import TimestampedModel


class ResultKind(str, Enum):
    SUCCESS = "SUCCESS"
    FAILURE = "FAILURE"
    SCHEDULE = "SCHEDULE"


class ContactResult(TimestampedModel):
    """Outcome of an operation ("Resultado"). A recycle rule retries a failed member later."""

    name = fields.CharField(max_length=100, unique=True)
    kind = fields.CharEnumField(ResultKind, max_length=10)
    active = fields.BooleanField(default=True)
    # Retry after this many minutes, while the member has fewer attempts than recycle_max_attempts.
    recycle_after_minutes = fields.IntField(null=True)
    recycle_max_attempts = fields.IntField(null=True)

    class Meta:
        table = "contact_result"
        ordering = ["id"]


class Justification(TimestampedModel):
    """Reason behind a result ("Justificativa"), allowed for one or more results."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "justification"
        ordering = ["id"]


class JustificationResult(TimestampedModel):
    """Which results a justification may be chosen for."""

    justification = fields.ForeignKeyField(
        "models.Justification", related_name="result_links", on_delete=fields.CASCADE
    )
    result = fields.ForeignKeyField(
        "models.ContactResult", related_name="justification_links", on_delete=fields.CASCADE
    )

    justification_id: int
    result_id: int

    class Meta:
        table = "justification_result"
        unique_together = (("justification", "result"),)


class Script(TimestampedModel):
    """Text shown to the agent, with placeholders such as {person.name} ("Script de telemarketing")."""

    title = fields.CharField(max_length=200)
    body = fields.TextField()
    active = fields.BooleanField(default=True)

    class Meta:
        table = "script"
        ordering = ["id"]


class ActionType(TimestampedModel):
    """How the agent approaches the person ("Tipo da ação"), optionally with a script."""

    name = fields.CharField(max_length=100, unique=True)
    script = fields.ForeignKeyField(
        "models.Script", related_name="action_types", null=True, on_delete=fields.SET_NULL
    )
    active = fields.BooleanField(default=True)

    script_id: int | None

    class Meta:
        table = "action_type"
        ordering = ["id"]


class NoContactReason(TimestampedModel):
    """Why an attempt did not reach the person ("Motivo da falta do contato")."""

    name = fields.CharField(max_length=100, unique=True)
    # The person asked to be called later: an attempt with this reason needs a callback time.
    requires_callback = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "no_contact_reason"
        ordering = ["id"]
