from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class EventCounter(Model):
    """One row. Bumping it inside the writing transaction orders cursors by commit."""

    id = fields.IntField(primary_key=True)
    value = fields.BigIntField(default=0)

    class Meta:
        table = "event_counter"


class Event(Model):
    """A change worth telling live clients about, kept for replay by cursor (thin: kind and ids)."""

    id = fields.BigIntField(primary_key=True)
    cursor = fields.BigIntField(unique=True)
    kind = fields.CharField(max_length=50)
    entity = fields.CharField(max_length=30)
    entity_id = fields.IntField()
    company_id = fields.IntField(null=True)
    campaign_id = fields.IntField(null=True)
    agent_id = fields.IntField(null=True)
    data = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "event"
        ordering = ["cursor"]
        indexes = [Index(fields=["entity", "entity_id", "cursor"])]
