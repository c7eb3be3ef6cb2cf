"""The do-not-call register ("Não me ligue"): phone numbers that must not be called.

The law works with numbers, not persons (the PROCON lists are numbers with a date), so the register
is a table of normalised numbers; a person is blocked while any of their phones is on it and not
expired. `Person.do_not_call` stays the person's own explicit opt-out.
"""

from tortoise import fields

from models.base import TimestampedModel


class DoNotCallNumber(TimestampedModel):
    # The register key (resolvers/do_not_call.py `register_key`): digits, "+" kept for foreign
    # numbers, Brazil's +55 dropped so that "+55 11 9…" and "(11) 9…" are the same number.
    number = fields.CharField(max_length=16, unique=True)
    source = fields.CharField(max_length=100)
    reason = fields.TextField(default="")
    # When the number entered the register at its source (the PROCON list's date).
    added_at = fields.DatetimeField()
    # After this instant the number may be called again (NULL: never).
    expires_at = fields.DatetimeField(null=True)
    added_by = fields.ForeignKeyField(
        "models.User", related_name="do_not_call_numbers", null=True, on_delete=fields.SET_NULL
    )

    added_by_id: int | None

    class Meta:
        table = "do_not_call_number"
        ordering = ["id"]
