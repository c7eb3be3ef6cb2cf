"""Passwords, tokens, login with per-account and per-address throttling, and token authentication."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError

from models.user import LoginThrottle, User
from resolvers.errors import AuthErrorCode, LoginFailed
from resolvers.rows import PreparedQuery

if TYPE_CHECKING:
    from contato.settings import IPNetwork, Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

TOKEN_ALGORITHM = "HS256"
INVALID_CREDENTIALS_MESSAGE = "E-mail or password is wrong."


@functools.cache
def password_hasher(profile: str = "RFC_9106_LOW_MEMORY") -> PasswordHasher:
    return PasswordHasher.from_parameters(getattr(profiles, profile))


@functools.cache
def _dummy_hash(profile: str) -> str:
    return password_hasher(profile).hash("contato-dummy-password")


async def hash_password(password: str, profile: str) -> str:
    # argon2 is deliberately slow: keep it off the event loop.
    return await asyncio.to_thread(password_hasher(profile).hash, password)


async def verify_password(password_hash: str, password: str, profile: str) -> bool:
    def verify() -> bool:
        try:
            return password_hasher(profile).verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def normalize_email(email: str) -> str:
    return email.strip().casefold()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime


def issue_token(user: User, settings: Settings) -> IssuedToken:
    now = datetime.now(UTC)
    expires_at = now + timedelta(seconds=settings.token_ttl_seconds)
    payload = {"sub": str(user.pk), "ver": user.token_version, "iat": now, "exp": expires_at}
    token = jwt.encode(payload, settings.secret_key, algorithm=TOKEN_ALGORITHM)
    return IssuedToken(token=token, expires_at=expires_at.replace(microsecond=0))


class TokenRejected(Exception):
    """The token is malformed, expired, or no longer belongs to an active user."""


# Claims are range-checked before they reach the database: ids are PostgreSQL `integer` columns.
MAX_DATABASE_ID = 2**31 - 1
_USER_ID = re.compile(r"[1-9][0-9]{0,9}")
NOT_VALID_MESSAGE = "The token is not valid."


async def authenticate_token(token: str, settings: Settings) -> User:
    return (await authenticate(token, settings))[0]


async def authenticate(token: str, settings: Settings) -> tuple[User, datetime]:
    """The token's user and when the token expires: one decode, one user lookup."""
    if not token.isascii():
        # A JWT is base64url and dots. A WebSocket payload can carry anything, a lone surrogate
        # included, which PyJWT would fail to encode (UnicodeEncodeError) rather than refuse.
        raise TokenRejected("The token is not valid.")
    try:
        payload = jwt.decode(
            token,
            settings.secret_key,
            algorithms=[TOKEN_ALGORITHM],
            options={"require": ["sub", "exp", "ver"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenRejected("The token has expired: log in again.") from None
    except jwt.PyJWTError:
        raise TokenRejected(NOT_VALID_MESSAGE) from None
    user_id, version, expires_at = _claims(payload)
    users = await _USER_BY_ID.models(User, None, user_id)
    user = users[0] if users else None
    if user is None or not user.active or user.token_version != version:
        raise TokenRejected("The token is no longer valid: log in again.")
    return user, expires_at


def _claims(payload: dict[str, Any]) -> tuple[int, int, datetime]:
    """The user id, token version and expiry, each of the type and range this server issues."""
    subject, version, expiry = payload["sub"], payload["ver"], payload["exp"]
    if not isinstance(subject, str) or not _USER_ID.fullmatch(subject) or int(subject) > MAX_DATABASE_ID:
        raise TokenRejected(NOT_VALID_MESSAGE)
    if type(version) is not int or not 0 <= version <= MAX_DATABASE_ID:
        raise TokenRejected(NOT_VALID_MESSAGE)
    try:
        expires_at = datetime.fromtimestamp(int(expiry), tz=UTC)
    except (OverflowError, ValueError, OSError):
        raise TokenRejected(NOT_VALID_MESSAGE) from None
    return int(subject), version, expires_at


# Every request's user lookup: `User.get_or_none(id=…)`'s statement, built once (resolvers/rows.py).
_USER_BY_ID = PreparedQuery(lambda _, user_id: User.filter(id=user_id).limit(2))


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


# Client addresses share LoginThrottle with accounts. An account key is a casefolded e-mail, so it
# never holds an upper-case letter: an address key cannot be reached by logging in as some e-mail.
ADDRESS_KEY_PREFIX = "ADDRESS "
# An IPv6 client commonly holds a whole /64: throttle the network, not each of its addresses.
IPV6_CLIENT_PREFIX = 64
ADDRESS_MAX_CHARS = 100


def client_address(
    peer: str | None, forwarded_for: Sequence[str], trusted_proxies: Sequence[IPNetwork]
) -> str | None:
    """The address a login is throttled by: the connection's peer; when the peer is a trusted proxy,
    the right-most X-Forwarded-For hop that is not one (the hops left of it are what the client
    claimed, and anyone can claim anything). None when nothing names a client."""
    if peer is None or not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return _throttle_address(peer) if peer else None
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return _throttle_address(hop)
    # Every hop is a trusted proxy (or there is no header): the request started at one of them.
    return _throttle_address(hops[0] if hops else peer)


def _parse_ip(text: str) -> IPAddress | None:
    """An address as proxies write it: bare, `v4:port`, or `[v6]` with an optional port."""
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else text
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(text: str, trusted_proxies: Sequence[IPNetwork]) -> bool:
    address = _parse_ip(text)
    return address is not None and any(address in network for network in trusted_proxies)


def _throttle_address(text: str) -> str:
    address = _parse_ip(text)
    if address is None:
        return text[:ADDRESS_MAX_CHARS]
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


async def login(
    email: str, password: str, settings: Settings, address: str | None = None
) -> tuple[User, IssuedToken]:
    """Check a password, at most LOGIN_MAX_FAILURES times per account and
    LOGIN_MAX_FAILURES_PER_ADDRESS times per client address in a window.

    Each attempt takes its place in the window (`_reserve`, one statement) before the password is
    hashed, so attempts sent together cannot all be checked before the first failure is counted.
    An attempt that fails keeps its place; one that succeeds gives its place back, and for the
    account also forgives the failures before it, unless another attempt came in since."""
    now = datetime.now(UTC)
    address_slot = None
    if address is not None and settings.login_max_failures_per_address > 0:
        address_key = ADDRESS_KEY_PREFIX + address
        address_slot = await _reserve(address_key, settings.login_max_failures_per_address, now, settings)
        if isinstance(address_slot, Refused):
            raise _too_many(address_slot, "from this address")
    account_slot = await _reserve(normalize_email(email)[:254], settings.login_max_failures, now, settings)
    if isinstance(account_slot, Refused):
        if address_slot is not None:
            await _give_back(address_slot, settings.login_max_failures_per_address, forgive_earlier=False)
        raise _too_many(account_slot, "for this account")
    user = await User.get_or_none(email=account_slot.key)
    profile = settings.password_hash_profile
    if user is None:
        # Same work, same answer as a wrong password, so the response does not reveal accounts.
        await verify_password(_dummy_hash(profile), password, profile)
        ok = False
    else:
        ok = user.active and await verify_password(user.password_hash, password, profile)
    if not ok:
        raise LoginFailed(AuthErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
    assert user is not None
    await _give_back(account_slot, settings.login_max_failures, forgive_earlier=True)
    if address_slot is not None:
        await _give_back(address_slot, settings.login_max_failures_per_address, forgive_earlier=False)
    return user, issue_token(user, settings)


@dataclass(frozen=True)
class Slot:
    """An attempt's place in its key's window: the count it made, and the window as stored."""

    key: str
    number: int
    window: Any


@dataclass(frozen=True)
class Refused:
    """The key is locked (or this attempt would pass the limit): no password is checked."""

    retry_after: int


def _too_many(refused: Refused, where: str) -> LoginFailed:
    return LoginFailed(
        AuthErrorCode.TOO_MANY_ATTEMPTS,
        f"Too many failed attempts {where}; try again in {refused.retry_after} seconds.",
        retry_after_seconds=refused.retry_after,
    )


# One statement, the same on SQLite (3.35+) and PostgreSQL: create the key's row or count one more
# attempt in it. A window ends when its lock has passed, or after LOGIN_LOCKOUT_SECONDS without a
# lock; the attempt that reaches the limit sets the lock (and is still checked); an attempt while
# locked is refused, and counted past the limit so that no place given back reopens the window.
_RESET = '((t."locked_until" IS NULL AND t."window_started_at" < {cutoff}) OR t."locked_until" <= {now})'
_LOCKED = 't."locked_until" > {now}'
_RESERVE_SQL = (
    'INSERT INTO "login_throttle" AS t '
    '("key", "failures", "window_started_at", "locked_until", "created_at", "updated_at") '
    "VALUES ({key}, 1, {now}, {first_lock}, {now}, {now}) "
    'ON CONFLICT ("key") DO UPDATE SET '
    f'"failures" = CASE WHEN {_RESET} THEN 1 WHEN {_LOCKED} THEN '
    'CASE WHEN t."failures" > {limit} THEN t."failures" + 1 ELSE {limit} + 1 END ELSE t."failures" + 1 END, '
    f'"window_started_at" = CASE WHEN {_RESET} THEN {{now}} ELSE t."window_started_at" END, '
    f'"locked_until" = CASE WHEN {_RESET} THEN {{first_lock}} WHEN {_LOCKED} THEN t."locked_until" '
    'WHEN t."failures" + 1 >= {limit} THEN {lock} ELSE NULL END, '
    '"updated_at" = {now} '
    'RETURNING "failures", "window_started_at", "locked_until"'
)
# Forgiving: the row goes when its count is what this attempt left (no attempt came in since).
_FORGIVE_SQL = (
    'DELETE FROM "login_throttle" WHERE "key" = {key} AND "window_started_at" = {window} AND "failures" = {count}'
)
# A place given back: one fewer in the window, and no lock once the count is under the limit again.
_GIVE_BACK_SQL = (
    'UPDATE "login_throttle" SET "failures" = "failures" - 1, '
    '"locked_until" = CASE WHEN "failures" - 1 < {limit} THEN NULL ELSE "locked_until" END '
    'WHERE "key" = {key} AND "window_started_at" = {window} AND "failures" > 0'
)
_PG_TYPES = {
    "key": "varchar", "now": "timestamptz", "cutoff": "timestamptz", "lock": "timestamptz",
    "first_lock": "timestamptz", "window": "timestamptz", "limit": "int", "count": "int",
}


@functools.cache
def _statement(template: str, names: tuple[str, ...], dialect: str) -> str:
    if dialect == "postgres":
        return template.format(**{name: f"${n}::{_PG_TYPES[name]}" for n, name in enumerate(names, 1)})
    if dialect == "sqlite":
        return template.format(**{name: f"?{n}" for n, name in enumerate(names, 1)})
    raise RuntimeError(f"login throttling supports PostgreSQL and SQLite, not {dialect}")


async def _reserve(key: str, limit: int, now: datetime, settings: Settings) -> Slot | Refused:
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    params = {
        "key": key, "now": now, "cutoff": now - lockout, "lock": now + lockout,
        "first_lock": now + lockout if limit <= 1 else None, "limit": limit,
    }
    db = LoginThrottle._meta.db
    sql = _statement(_RESERVE_SQL, tuple(params), db.capabilities.dialect)
    row = (await db.execute_query_dict(sql, list(params.values())))[0]
    if row["failures"] <= limit:
        return Slot(key=key, number=row["failures"], window=row["window_started_at"])
    until = _as_datetime(row["locked_until"]) if row["locked_until"] is not None else now + lockout
    return Refused(retry_after=max(int((until - now).total_seconds()) + 1, 1))


async def _give_back(slot: Slot, limit: int, *, forgive_earlier: bool) -> None:
    """A successful attempt gives its place back. For an account, when no attempt came in after
    it, the failures before it are forgiven too (the user got the password right in the end);
    an address keeps the failures of every other attempt."""
    db = LoginThrottle._meta.db
    dialect = db.capabilities.dialect
    forgive = {"key": slot.key, "window": slot.window, "count": slot.number if forgive_earlier else 1}
    deleted, _ = await db.execute_query(
        _statement(_FORGIVE_SQL, tuple(forgive), dialect), list(forgive.values())
    )
    if not deleted:
        give_back = {"key": slot.key, "window": slot.window, "limit": limit}
        await db.execute_query(
            _statement(_GIVE_BACK_SQL, tuple(give_back), dialect), list(give_back.values())
        )


def _as_datetime(value: Any) -> datetime:
    """A timestamp as the driver returns it: a datetime (asyncpg) or Tortoise's ISO text (SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
