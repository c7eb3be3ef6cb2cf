"""IDs are opaque strings on the wire and integers in the database."""

from __future__ import annotations

import strawberry

from resolvers.bounds import row_id

# A malformed id, or one past any row's (resolvers/bounds.py), names no row: lookups answer
# "not found" rather than a parse error, and the database never sees it.
NO_ROW = -1


def to_pk(value: strawberry.ID | str) -> int:
    pk = row_id(value)
    return NO_ROW if pk is None else pk


def optional_pk(value: strawberry.ID | None) -> int | None:
    return None if value is None else to_pk(value)
