"""The do-not-call register's GraphQL surface: supervisors and admins list, add and remove numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.do_not_call import DoNotCallNumber
from resolvers import do_not_call as use_cases
from resolvers import errors as domain
from schema.base import Info
from schema.errors import DomainErrorHandler, Error
from schema.ids import to_pk
from schema.pagination import Connection

DoNotCallErrorCode = strawberry.enum(domain.DoNotCallErrorCode, name="DoNotCallErrorCode")


@strawberry.type
class DoNotCallError(Error):
    code: DoNotCallErrorCode  # type: ignore[valid-type]


@strawberry.type(name="DoNotCallNumber", description="A phone number that must not be called.")
class DoNotCallNumberType:
    id: strawberry.ID
    number: str = strawberry.field(
        description="Normalised: digits, + kept for foreign numbers, Brazil's +55 dropped."
    )
    source: str = strawberry.field(description='Where it comes from, e.g. "PROCON-SP" or "customer request".')
    reason: str
    added_at: datetime = strawberry.field(description="When the number entered the register at its source.")
    expires_at: datetime | None = strawberry.field(description="After this, the number may be called again.")
    created_at: datetime

    @classmethod
    def from_row(cls, row: DoNotCallNumber) -> DoNotCallNumberType:
        return cls(
            id=strawberry.ID(str(row.pk)), number=row.number, source=row.source, reason=row.reason,
            added_at=row.added_at, expires_at=row.expires_at, created_at=row.created_at,
        )


@strawberry.input
class DoNotCallAddInput:
    number: str
    source: str
    reason: str = ""
    added_at: datetime | None = strawberry.field(default=None, description="Defaults to now.")
    expires_at: datetime | None = None


@strawberry.input
class DoNotCallFilter:
    number: str | None = strawberry.field(default=None, description="Any spelling of the number.")
    source: str | None = None
    include_expired: bool = False


DoNotCallResult = Annotated[DoNotCallNumberType | DoNotCallError, strawberry.union("DoNotCallResult")]


@strawberry.type
class DoNotCallNumbersPayload:
    numbers: Connection[DoNotCallNumberType]


DoNotCallNumbersResult = Annotated[
    DoNotCallNumbersPayload | DoNotCallError, strawberry.union("DoNotCallNumbersResult")
]


@strawberry.type
class DoNotCallQuery:
    @strawberry.field(description="The do-not-call register (supervisors and admins); expired numbers on request.")
    async def do_not_call_numbers(
        self, info: Info, filter: DoNotCallFilter | None = None, first: int | None = None, after: str | None = None
    ) -> DoNotCallNumbersResult:
        where = filter or DoNotCallFilter()
        page = await use_cases.list_numbers(
            info.context,
            use_cases.DoNotCallFilter(where.number, where.source, where.include_expired),
            first,
            after,
        )
        return DoNotCallNumbersPayload(numbers=Connection.from_page(page, DoNotCallNumberType.from_row))


@strawberry.type
class DoNotCallMutation:
    @strawberry.mutation(description="Put a number on the do-not-call register (supervisors and admins).")
    async def do_not_call_add(self, info: Info, input: DoNotCallAddInput) -> DoNotCallResult:
        row = await use_cases.add_number(
            info.context,
            use_cases.DoNotCallInput(input.number, input.source, input.reason, input.added_at, input.expires_at),
        )
        return DoNotCallNumberType.from_row(row)

    @strawberry.mutation(description="Take a number off the register; returns the removed entry.")
    async def do_not_call_remove(self, info: Info, id: strawberry.ID) -> DoNotCallResult:
        return DoNotCallNumberType.from_row(await use_cases.remove_number(info.context, to_pk(id)))


HANDLERS = [DomainErrorHandler(domain.DoNotCallError, DoNotCallError)]
