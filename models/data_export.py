"""Exports: who asked for which file, with which filters (the file itself is streamed at download)."""

from enum import Enum

from tortoise import fields

from models.base import TimestampedModel


class ExportKind(str, Enum):
    OPERATIONS = "OPERATIONS"
    TICKETS = "TICKETS"
    MEMBERS = "MEMBERS"
    # The reports (resolvers/reports.py), as files.
    AGENT_PRODUCTIVITY = "AGENT_PRODUCTIVITY"
    CAMPAIGN_RESULTS = "CAMPAIGN_RESULTS"
    TICKET_FIGURES = "TICKET_FIGURES"


class Export(TimestampedModel):
    kind = fields.CharEnumField(ExportKind, max_length=20)
    filters = fields.JSONField(default=dict)
    created_by = fields.ForeignKeyField("models.User", related_name="exports", on_delete=fields.CASCADE)
    # Rows written by the last download that finished (null: none has).
    rows = fields.IntField(null=True)

    created_by_id: int

    class Meta:
        table = "data_export"
        ordering = ["id"]
