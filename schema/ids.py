"""IDs are opaque strings on the wire and integers in the database."""

from __future__ import annotations

import strawberry

# A malformed id names no row: lookups answer "not found" rather than a parse error.
NO_ROW = -1


def to_pk(value: strawberry.ID | str) -> int:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return NO_ROW
    return pk if 0 < pk <= 2**31 - 1 else NO_ROW


def optional_pk(value: strawberry.ID | None) -> int | None:
    return None if value is None else to_pk(value)
