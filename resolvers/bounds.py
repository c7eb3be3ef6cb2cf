"""The bounds every value from a client is held to before it reaches the database.

A client can send what no row ever held: an id past the database's integers, a time in year 1 or
9999 (which overflows when moved to UTC), a search made of 100,000 LIKE wildcards. Each is checked
here, once, and refused as bad input (or, for ids, as naming no row) rather than left to fault in
the driver. The GraphQL scalars (schema/scalars.py), schema/ids.py, every cursor and the attachment
route use these functions.
"""

from __future__ import annotations

from datetime import date

from resolvers.errors import BadUserInput

# Primary keys are 32-bit integers on PostgreSQL (`serial`); no id above this was ever handed out.
MAX_ROW_ID = 2**31 - 1
# Event cursors are 64-bit (bigint) counters.
MAX_EVENT_CURSOR = 2**63 - 1

# Times and dates a client may send: anything a contact center schedules or reports on, with room
# to spare, and far enough from year 1 and 9999 that moving it to any offset cannot overflow.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200

# Search text (persons, tickets, users, companies, campaign members): longer is not a search, and
# SQLite refuses LIKE patterns past 50,000 bytes.
MAX_SEARCH_TEXT = 200


def ascii_integer(text: str) -> int | None:
    """The integer that `text` spells in ASCII digits (an optional leading minus), else None.

    Stricter than int(), which also takes Unicode digits, "+", "_" and blanks: "٣" or " 3" is not
    how any id or cursor of ours was written."""
    digits = text.removeprefix("-")
    if not digits or not digits.isascii() or not digits.isdigit() or len(digits) > 30:
        return None
    return int(text)


def row_id(value: object) -> int | None:
    """A client's id as a primary key, or None when no row can have it."""
    if isinstance(value, bool):
        return None
    number = value if isinstance(value, int) else ascii_integer(value) if isinstance(value, str) else None
    return number if number is not None and 0 < number <= MAX_ROW_ID else None


def in_supported_years(value: date) -> bool:
    """Whether a date or datetime lies within EARLIEST_YEAR..LATEST_YEAR (in its own offset)."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def search_term(text: str | None) -> str | None:
    """The stripped search text, None when there is none; BadUserInput past MAX_SEARCH_TEXT.

    `%` and `_` need no escaping here: Tortoise's contains / icontains lookups escape them (and the
    backslash) and add ESCAPE '\\', on SQLite and PostgreSQL alike."""
    if text is None:
        return None
    term = text.strip()
    if len(term) > MAX_SEARCH_TEXT:
        raise BadUserInput(f"Search text may be at most {MAX_SEARCH_TEXT} characters; got {len(term)}.")
    return term or None
