from tortoise import fields

from models.base import TimestampedModel


class ContactChannel(TimestampedModel):
    """How a contact happens ("Forma de contato"): phone, e-mail, portal, WhatsApp, a shared catalog."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "contact_channel"
        ordering = ["id"]
