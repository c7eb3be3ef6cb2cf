"""Customer e-mail templates: what the ticket use cases mail, per event and language, optionally per status.

A row is an administrator's edit: the defaults live in code (resolvers/mail_templates.py), so a new
event or language has its text without a data migration, and an edit overrides only what it names.
"""

from enum import Enum

from tortoise import fields

from models.base import TimestampedModel


class MailEvent(str, Enum):
    """Why a ticket mailed its customer (one per use case that can mail)."""

    OPENED = "OPENED"
    CHILD_OPENED = "CHILD_OPENED"
    MESSAGE_ADDED = "MESSAGE_ADDED"
    STATUS_CHANGED = "STATUS_CHANGED"
    # Entering a status with "Agenda retorno" (returnAfterDays): the return date is news for the customer.
    AWAITING_RETURN = "AWAITING_RETURN"
    ASSIGNED = "ASSIGNED"
    UNASSIGNED = "UNASSIGNED"
    TICKET_UPDATED = "TICKET_UPDATED"
    ACTION_PERFORMED = "ACTION_PERFORMED"
    ACTION_UPDATED = "ACTION_UPDATED"
    CLOSED = "CLOSED"
    REOPENED = "REOPENED"


class MailLocale(str, Enum):
    PT_BR = "pt-BR"
    EN = "en"


class EmailTemplate(TimestampedModel):
    """An administrator's text for one event in one language (with a status: only for tickets in it)."""

    event = fields.CharEnumField(MailEvent, max_length=20)
    locale = fields.CharEnumField(MailLocale, max_length=5)
    status = fields.ForeignKeyField(
        "models.TicketStatus", related_name="email_templates", null=True, on_delete=fields.CASCADE
    )
    # event:locale:status id (empty for every status): unique, since SQL lets NULL statuses repeat.
    key = fields.CharField(max_length=60, unique=True)
    subject = fields.CharField(max_length=255)
    body = fields.TextField()
    updated_by = fields.ForeignKeyField(
        "models.User", related_name="email_templates", null=True, on_delete=fields.SET_NULL
    )

    status_id: int | None
    updated_by_id: int | None

    class Meta:
        table = "email_template"
        ordering = ["id"]
