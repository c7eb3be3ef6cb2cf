"""Input shapes shared by every catalog, outbound and ticket alike: one name per shape."""

from __future__ import annotations

import strawberry


@strawberry.input(description="A catalog entry that is only a name.")
class NamedInput:
    name: str


@strawberry.input(description="Rename an entry, or (de)activate it; leave a field out to keep it.")
class NamedUpdateInput:
    name: str | None = None
    active: bool | None = None
