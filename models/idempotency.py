from tortoise import fields
from tortoise.models import Model


class IdempotencyKey(Model):
    """A mutation's idempotency key and the answer it got, per user (resolvers/idempotency.py).

    Written in the mutation's own transaction, so a row exists exactly when the writes committed;
    kept IDEMPOTENCY_KEY_HOURS, then pruned with the events."""

    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("models.User", related_name="idempotency_keys", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=255)
    # sha256 of the document, operation name and variables: the same key for another request is refused.
    fingerprint = fields.CharField(max_length=64)
    # The first answer's JSON body, replayed to every retry.
    response = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    user_id: int

    class Meta:
        table = "idempotency_key"
        unique_together = (("user", "key"),)
