"""Shared model pieces: every table has an integer id and UTC timestamps."""

from tortoise import fields
from tortoise.models import Model


class TimestampedModel(Model):
    id = fields.IntField(primary_key=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        abstract = True
