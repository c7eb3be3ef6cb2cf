"""Passwords, tokens, login with per-account throttling, and token authentication."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from models.user import LoginThrottle, User
from resolvers.errors import AuthErrorCode, LoginFailed

if TYPE_CHECKING:
    from contato.settings import Settings

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
        raise TokenRejected("The token is not valid.") from None
    try:
        user_id = int(payload["sub"])
    except (TypeError, ValueError):
        raise TokenRejected("The token is not valid.") from None
    user = await User.get_or_none(id=user_id)
    if user is None or not user.active or user.token_version != payload["ver"]:
        raise TokenRejected("The token is no longer valid: log in again.")
    return user, datetime.fromtimestamp(int(payload["exp"]), tz=UTC)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


async def login(email: str, password: str, settings: Settings) -> tuple[User, IssuedToken]:
    key = normalize_email(email)[:254]
    now = datetime.now(UTC)
    throttle = await LoginThrottle.get_or_none(key=key)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        retry_after = int((throttle.locked_until - now).total_seconds()) + 1
        raise LoginFailed(
            AuthErrorCode.TOO_MANY_ATTEMPTS,
            f"Too many failed attempts for this account; try again in {retry_after} seconds.",
            retry_after_seconds=retry_after,
        )
    user = await User.get_or_none(email=key)
    profile = settings.password_hash_profile
    if user is None:
        # Same work, same answer as a wrong password, so the response does not reveal accounts.
        await verify_password(_dummy_hash(profile), password, profile)
        ok = False
    else:
        ok = user.active and await verify_password(user.password_hash, password, profile)
    if not ok:
        await _record_failure(key, now, settings)
        raise LoginFailed(AuthErrorCode.INVALID_CREDENTIALS, INVALID_CREDENTIALS_MESSAGE)
    assert user is not None
    if throttle is not None:
        await LoginThrottle.filter(key=key).delete()
    return user, issue_token(user, settings)


async def _record_failure(key: str, now: datetime, settings: Settings) -> None:
    window = timedelta(seconds=settings.login_lockout_seconds)
    # Start a fresh window when the last one is over; atomic updates keep counts right across processes.
    await LoginThrottle.filter(key=key, window_started_at__lt=now - window).update(
        failures=0, window_started_at=now, locked_until=None
    )
    updated = await LoginThrottle.filter(key=key).update(failures=F("failures") + 1)
    if not updated:
        try:
            await LoginThrottle.create(key=key, failures=1, window_started_at=now)
        except IntegrityError:
            await LoginThrottle.filter(key=key).update(failures=F("failures") + 1)
    await LoginThrottle.filter(key=key, failures__gte=settings.login_max_failures).update(
        locked_until=now + window
    )
