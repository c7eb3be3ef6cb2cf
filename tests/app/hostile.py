"""What the hostile-input tests (issue 11) share: settings that let every field run, and readers of a result."""

from __future__ import annotations

from typing import Any

from contato.settings import Settings

# Generous limits and no mutation rate limit: the tests that walk the schema run every field.
SETTINGS = Settings(
    environment="test", password_hash_profile="CHEAPEST", max_tokens=50_000, max_aliases=100,
    max_query_cost=10**9, mutations_per_minute=0,
)
# A text UTF-8 cannot encode: a high surrogate without its low half.
LONE = "x\ud800y"


def codes(result: Any) -> list[str | None]:
    return [(error.extensions or {}).get("code") for error in result.errors or []]


def faults(result: Any) -> list[str]:
    return [error.message for error in result.errors or [] if error.message == "Unexpected error."]
