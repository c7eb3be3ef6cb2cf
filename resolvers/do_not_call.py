"""The do-not-call register: add, remove and list numbers, and the check every outbound path uses.

A person is blocked while any of their phones is on the register and not expired, "at that
moment": the check runs where the work is decided (the queue's query, the claim, operationRecord
inside its transaction, campaignMembersAdd per batch), never from a flag copied onto the person,
which would go stale when a number expires or is removed.

Person phones are stored as `normalize_phone` leaves them (digits, "+" kept); the register holds
`register_key`, the same with Brazil's +55 dropped. The queue's check is one correlated
`NOT EXISTS` in the page's own query (`members_off_register`), so a page costs no extra statement
and the database probes the register's unique index for the few phones of each member it reads.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pypika_tortoise.context import SqlContext
from pypika_tortoise.terms import Criterion, ValueWrapper
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, ResolveContext
from tortoise.query_utils import QueryModifier
from tortoise.transactions import in_transaction

from models.do_not_call import DoNotCallNumber
from resolvers.campaign import rules
from resolvers.context import Context
from resolvers.documents import normalize_phone
from resolvers.errors import DoNotCallError, DoNotCallErrorCode
from resolvers.pagination import Page, PageArgs, paginate

COUNTRY_PREFIX = "+55"
MAX_SOURCE = 100
MAX_REASON = 2000


def register_key(phone: str) -> str | None:
    """The number as the register compares it; None when it cannot be a phone number."""
    number = normalize_phone(phone)
    if number is None:
        return None
    if number.startswith(COUNTRY_PREFIX) and len(number) > len(COUNTRY_PREFIX) + 7:
        return number[len(COUNTRY_PREFIX):]
    return number


def _active(now: datetime) -> Q:
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)


async def listed_numbers(
    phones: Iterable[str], now: datetime, connection: BaseDBAsyncClient | None = None
) -> set[str]:
    """The register keys among `phones` that are on the register at `now` (one query)."""
    keys = {key for key in (register_key(phone) for phone in phones) if key is not None}
    if not keys:
        return set()
    query = DoNotCallNumber.filter(_active(now), number__in=keys)
    if connection is not None:
        query = query.using_db(connection)
    return set(await query.values_list("number", flat=True))


def callable_phones(phones: list[str] | None, do_not_call: bool, listed: Container[str]) -> list[str]:
    """The phones that may be called (Person.callablePhones): none for a person who opted out, and
    none whose register key is in `listed` (what `listed_numbers` found for them)."""
    if do_not_call or not phones:
        return []
    return [phone for phone in phones if (register_key(phone) or phone) not in listed]


async def callable_phones_by_person(people: list[tuple[int, list[str] | None, bool]]) -> dict[int, list[str]]:
    """callable_phones for many persons, (id, phones, doNotCall) each, with one register query."""
    keys = [register_key(phone) or phone for _, phones, do_not_call in people if not do_not_call
            for phone in phones or ()]
    listed = await listed_numbers(keys, rules.utc_now())
    return {pk: callable_phones(phones, do_not_call, listed) for pk, phones, do_not_call in people}


def blocked(phones: Iterable[str], listed: set[str]) -> bool:
    return any(register_key(phone) in listed for phone in phones)


class _PhonesOffRegister(Criterion):
    """`NOT EXISTS` a phone of the row's person on the register at `now` (a bound parameter)."""

    def __init__(self, person_id: Any, now: Any) -> None:
        super().__init__()
        self.person_id = person_id
        self.now = now

    def get_sql(self, ctx: SqlContext) -> str:
        person_id = self.person_id.get_sql(ctx.copy(with_namespace=True, with_alias=False))
        now = ValueWrapper(self.now).get_sql(ctx)
        if ctx.dialect.value == "postgresql":
            phones = 'jsonb_array_elements_text("dnc_person"."phones"::jsonb) "dnc_phone"("value")'
        else:
            phones = 'json_each("dnc_person"."phones") "dnc_phone"'
        key = (
            f"CASE WHEN substr(\"dnc_phone\".\"value\", 1, 3) = '{COUNTRY_PREFIX}' "
            "THEN substr(\"dnc_phone\".\"value\", 4) ELSE \"dnc_phone\".\"value\" END"
        )
        return (
            f'NOT EXISTS (SELECT 1 FROM "person" "dnc_person" CROSS JOIN {phones} '
            f'JOIN "do_not_call_number" "dnc" ON "dnc"."number" = {key} '
            f'WHERE "dnc_person"."id" = {person_id} '
            f'AND ("dnc"."expires_at" IS NULL OR "dnc"."expires_at" > {now}))'
        )


class _OffRegister(Q):
    """A filter for rows with a `person_id` column (members): no phone of the person is listed."""

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.now = now

    def __bool__(self) -> bool:
        return True

    def resolve(self, resolve_context: ResolveContext) -> QueryModifier:
        field = DoNotCallNumber._meta.fields_map["expires_at"]
        now = field.to_db_value(self.now, DoNotCallNumber)
        criterion = _PhonesOffRegister(resolve_context.table["person_id"], now)
        return QueryModifier(where_criterion=criterion)


def members_off_register(now: datetime) -> Q:
    """Members none of whose person's phones is on the register at `now`."""
    return _OffRegister(now)


@dataclass(frozen=True)
class DoNotCallInput:
    number: str
    source: str
    reason: str = ""
    added_at: datetime | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class DoNotCallFilter:
    number: str | None = None
    source: str | None = None
    include_expired: bool = False


def _require_staff(ctx: Context) -> None:
    ctx.require_user()
    if not ctx.is_staff:
        raise DoNotCallError(
            DoNotCallErrorCode.FORBIDDEN, "Only supervisors and admins manage the do-not-call register."
        )


def clean_entry(data: DoNotCallInput, now: datetime) -> dict[str, object]:
    """The row values of a register entry, or the DoNotCallError that refuses it (imports reuse it)."""
    key = register_key(data.number)
    if key is None:
        raise DoNotCallError(DoNotCallErrorCode.INVALID_PHONE, f"{data.number!r} is not a phone number.", "number")
    source = data.source.strip()
    if not source or len(source) > MAX_SOURCE:
        raise DoNotCallError(DoNotCallErrorCode.INVALID, f"Source must have 1 to {MAX_SOURCE} characters.", "source")
    if len(data.reason) > MAX_REASON:
        raise DoNotCallError(DoNotCallErrorCode.INVALID, f"Reason holds {MAX_REASON} characters.", "reason")
    for name, moment in (("addedAt", data.added_at), ("expiresAt", data.expires_at)):
        if moment is not None and moment.tzinfo is None:
            raise DoNotCallError(DoNotCallErrorCode.INVALID, "Give the time with its offset.", name)
    if data.expires_at is not None and data.expires_at <= now:
        raise DoNotCallError(DoNotCallErrorCode.EXPIRY_IN_PAST, "The expiry is in the past.", "expiresAt")
    return {
        "number": key, "source": source, "reason": data.reason.strip(),
        "added_at": data.added_at or now, "expires_at": data.expires_at,
    }


async def add_number(ctx: Context, data: DoNotCallInput) -> DoNotCallNumber:
    _require_staff(ctx)
    values = clean_entry(data, rules.utc_now())
    if await DoNotCallNumber.filter(number=values["number"]).exists():
        raise DoNotCallError(DoNotCallErrorCode.ALREADY_LISTED, "This number is on the register.", "number")
    try:
        async with in_transaction():
            return await DoNotCallNumber.create(**values, added_by_id=ctx.require_user().pk)
    except IntegrityError:
        raise DoNotCallError(
            DoNotCallErrorCode.ALREADY_LISTED, "This number is on the register.", "number"
        ) from None


async def remove_number(ctx: Context, entry_id: int) -> DoNotCallNumber:
    _require_staff(ctx)
    async with in_transaction() as connection:
        row = await DoNotCallNumber.filter(id=entry_id).using_db(connection).first()
        if row is None:
            raise DoNotCallError(DoNotCallErrorCode.NOT_FOUND, "No such register entry.", "id")
        await DoNotCallNumber.filter(id=entry_id).using_db(connection).delete()
    return row


async def list_numbers(
    ctx: Context, where: DoNotCallFilter, first: int | None, after: str | None
) -> Page[DoNotCallNumber]:
    _require_staff(ctx)
    queryset = DoNotCallNumber.all()
    if where.number is not None:
        key = register_key(where.number)
        queryset = queryset.filter(number=key) if key is not None else queryset.filter(id=-1)
    if where.source is not None:
        queryset = queryset.filter(source=where.source.strip())
    if not where.include_expired:
        queryset = queryset.filter(_active(rules.utc_now()))
    return await paginate(queryset, "doNotCall", PageArgs(first, after), ctx.settings.max_page_size)
