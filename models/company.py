from tortoise import fields

from models.base import TimestampedModel


class Company(TimestampedModel):
    """A customer company whose reps open tickets ("Empresa")."""

    name = fields.CharField(max_length=200)
    cnpj = fields.CharField(max_length=14, unique=True)
    active = fields.BooleanField(default=True)
    # The language of its customers' e-mails ("pt-BR", "en"); null: MAIL_LOCALE.
    mail_locale = fields.CharField(max_length=5, null=True)

    class Meta:
        table = "company"
        ordering = ["id"]
