from tortoise import fields

from models.base import TimestampedModel


class Company(TimestampedModel):
    """A customer company whose reps open tickets ("Empresa")."""

    name = fields.CharField(max_length=200)
    cnpj = fields.CharField(max_length=14, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "company"
        ordering = ["id"]
