from enum import Enum

from tortoise import fields
from tortoise.models import Model

from models.base import TimestampedModel


class Role(str, Enum):
    AGENT = "AGENT"
    SUPERVISOR = "SUPERVISOR"
    COMPANY_REP = "COMPANY_REP"
    ADMIN = "ADMIN"


class User(TimestampedModel):
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254, unique=True)
    password_hash = fields.CharField(max_length=255)
    role = fields.CharEnumField(Role, max_length=20)
    company = fields.ForeignKeyField(
        "models.Company", related_name="users", null=True, on_delete=fields.RESTRICT
    )
    active = fields.BooleanField(default=True)
    # Bumped on deactivation or password change so that tokens issued before stop working.
    token_version = fields.IntField(default=0)

    company_id: int | None

    class Meta:
        table = "app_user"
        ordering = ["id"]


class LoginThrottle(TimestampedModel):
    """Failed logins per account key (the normalised e-mail), shared by every server process.

    Client addresses are counted here too, under keys that start with `ADDRESS ` (resolvers/auth.py):
    an account key is casefolded and so never holds those capitals. `failures` counts the attempts
    in the window that did not succeed: those still being checked, and those refused while locked."""

    key = fields.CharField(max_length=254, unique=True)
    failures = fields.IntField(default=0)
    window_started_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)

    class Meta:
        table = "login_throttle"


class MutationWindow(Model):
    """Mutations per user per minute, shared by every server process (the per-user rate limit)."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="mutation_windows", on_delete=fields.CASCADE)
    window_start = fields.DatetimeField()
    count = fields.IntField()

    user_id: int

    class Meta:
        table = "mutation_window"
        unique_together = (("user", "window_start"),)
