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
    """Text shown to the agent ("Script de telemarketing"), and a dynamic script's questions.

    The body has placeholders such as {person.name}. A dynamic script ("Script Dinâmico") also has
    ordered questions with typed answers and branches. The questions are one JSON list on the script (resolvers/script.py checks its shape): the whole
    list is what an admin edits and what an operation's answers are checked against, and it comes
    with every script row, so no question is ever loaded one by one. Each question is
    {"key", "prompt", "type", "required", "options", "branches": [{"answer", "go_to"}]}; go_to is
    another question's key or null (end of the script). NULL or [] is a plain text script."""

    title = fields.CharField(max_length=200)
    body = fields.TextField()
    active = fields.BooleanField(default=True)
    questions = fields.JSONField(null=True)

    class Meta:
        table = "script"
        ordering = ["id"]


class ScriptAnswer(TimestampedModel):
    """One answer to a dynamic script's question, recorded with its operation.

    The question's key, prompt and type are copied as they were: a later edit of the script does
    not change what was answered."""

    operation = fields.ForeignKeyField("models.Operation", related_name="script_answers", on_delete=fields.CASCADE)
    script = fields.ForeignKeyField("models.Script", related_name="answers", on_delete=fields.RESTRICT)
    position = fields.IntField()
    question_key = fields.CharField(max_length=40)
    prompt = fields.TextField()
    answer_type = fields.CharField(max_length=10)
    value = fields.TextField()

    operation_id: int
    script_id: int

    class Meta:
        table = "script_answer"
        ordering = ["operation_id", "position"]
        unique_together = (("operation", "question_key"),)


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
