"""Tortoise models, one module per domain; MODEL_MODULES is what Tortoise loads."""

from models.transactions import guard_pooled_transactions

guard_pooled_transactions()

MODEL_MODULES = [
    "models.company",
    "models.user",
    "models.person",
    "models.catalog",
    "models.event",
    "models.ticket_catalog",
    "models.ticket",
    "models.mail_template",
    "models.outbound",
    "models.campaign",
    "models.floor",
    "models.operation",
    "models.idempotency",
    "models.do_not_call",
    "models.data_import",
    "models.data_export",
    "models.history",
]


def tortoise_config(db_url: str) -> dict[str, object]:
    return {
        "connections": {"default": db_url},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }
