"""Idempotency keys: a mutation retried with the key of an earlier one replays that one's answer
instead of writing again.

Why it is shaped so: the key row, the mutation's writes and its answer commit in one transaction.
`once` runs the whole operation inside `in_transaction()` (the use cases' own transactions become
savepoints of it), inserts the key row first and stores the answer in it before the commit; the
events and mail wake-ups the use cases hand over are done after the commit (realtime/commit.py). A
worker killed at any moment therefore leaves either nothing (the retry runs the mutation) or the
writes together with their answer (the retry replays it), never writes without their key.

A second request with the same key while the first runs waits on the first one's uncommitted key
row (PostgreSQL's unique index; SQLite runs one transaction at a time) and then replays its answer;
after IDEMPOTENCY_WAIT_SECONDS it is told IDEMPOTENCY_KEY_IN_PROGRESS instead. The same key with
another document, operation name or variables is refused with IDEMPOTENCY_KEY_REUSED. Answers that
say nothing ran (refused before execution: authentication, rate limit, validation) or that the
database could not be reached are not kept: the transaction rolls back and a retry runs again.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.idempotency import IdempotencyKey
from realtime import commit

if TYPE_CHECKING:
    from contato.settings import Settings

R = TypeVar("R")

# Visible ASCII, as HTTP header values carry safely; a UUID is the usual choice.
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
INVALID_KEY_MESSAGE = "An idempotency key is 1 to 255 visible ASCII characters (a UUID, say)."

KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
KEY_IN_PROGRESS = "IDEMPOTENCY_KEY_IN_PROGRESS"
# PostgreSQL's lock_not_available: the wait for the other request's key row ran out.
_LOCK_NOT_AVAILABLE = "55P03"


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


class IdempotencyRefused(Exception):
    """The key cannot be used for this request now (`code`: KEY_REUSED or KEY_IN_PROGRESS)."""

    def __init__(self, code: str, message: str, retry_after_seconds: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_seconds = retry_after_seconds


@dataclass
class Answer(Generic[R]):
    """What to send: `body`, the JSON answer (replayed, or this request's own); `result`, this
    request's execution result when it ran (None when replayed)."""

    body: dict[str, Any]
    replayed: bool
    result: R | None = None
    kept: bool = False


def fingerprint(query: str, operation_name: str | None, variables: object) -> str:
    """What makes two requests "the same": document, operation name, variables (files by name, type, size)."""
    canonical = orjson.dumps(
        {"query": query, "operationName": operation_name, "variables": variables or {}},
        option=orjson.OPT_SORT_KEYS,
        default=_file_description,
    )
    return hashlib.sha256(canonical).hexdigest()


def _file_description(value: object) -> object:
    if hasattr(value, "filename") and hasattr(value, "size"):
        return {"file": value.filename, "type": getattr(value, "content_type", None), "size": value.size}
    raise TypeError(f"{type(value).__name__} is not JSON")


def worth_keeping(body: dict[str, Any]) -> bool:
    """An answer of an operation that ran, and not one that says the database could not be reached."""
    if body.get("data") is None:
        return False
    return not any(
        (error.get("extensions") or {}).get("code") == "SERVICE_UNAVAILABLE" for error in body.get("errors") or []
    )


class _Replay(Exception):
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body


class _NotKept(Exception):
    pass


async def once(
    user_id: int,
    key: str,
    request_fingerprint: str,
    settings: Settings,
    execute: Callable[[], Awaitable[R]],
    answer: Callable[[R], Awaitable[dict[str, Any]]],
) -> Answer[R]:
    """Run `execute` once for (user, key): in one transaction with the key row, keeping the answer
    (`answer` turns the result into the JSON body) for retries; or replay the answer kept earlier."""
    result: R | None = None
    body: dict[str, Any] = {}
    with commit.collecting() as after_commit:
        try:
            async with in_transaction() as connection:
                await _claim(connection, user_id, key, request_fingerprint, settings)
                result = await execute()
                body = await answer(result)
                if not worth_keeping(body):
                    raise _NotKept
                await IdempotencyKey.filter(user_id=user_id, key=key).using_db(connection).update(
                    response=orjson.dumps(body).decode()
                )
        except _Replay as replay:
            return Answer(replay.body, replayed=True)
        except _NotKept:
            return Answer(body, replayed=False, result=result)  # rolled back: a retry runs again
    await commit.run(after_commit)
    return Answer(body, replayed=False, result=result, kept=True)


async def _claim(
    connection: BaseDBAsyncClient, user_id: int, key: str, request_fingerprint: str, settings: Settings
) -> None:
    """Insert the key row (it stays uncommitted, and holds off other requests with the key, until this
    transaction ends), or raise what to do instead: _Replay, or IdempotencyRefused."""
    postgres = connection.capabilities.dialect == "postgres"
    if postgres:
        # Bounds the wait for another request's uncommitted row with this key; only for the claim.
        await connection.execute_script(f"SET LOCAL lock_timeout = '{settings.idempotency_wait_seconds}s'")
    now = datetime.now(UTC)
    await IdempotencyKey.filter(
        user_id=user_id, key=key, created_at__lt=now - timedelta(hours=settings.idempotency_key_hours)
    ).using_db(connection).delete()
    try:
        async with in_transaction():  # a savepoint: the conflict must not abort the transaction
            await IdempotencyKey.create(user_id=user_id, key=key, fingerprint=request_fingerprint)
    except IntegrityError:
        row = await IdempotencyKey.filter(user_id=user_id, key=key).first()
        if row is None:  # not reachable: rows go only when expired, which this one was not a moment ago
            raise IdempotencyRefused(KEY_IN_PROGRESS, "A request with this idempotency key is running.", 1) from None
        if row.fingerprint != request_fingerprint:
            raise IdempotencyRefused(
                KEY_REUSED,
                "This idempotency key was used for another request (document, operation name or "
                "variables); use a new key for a new request.",
            ) from None
        if row.response is None:  # not reachable: a row commits only with its answer
            raise IdempotencyRefused(KEY_IN_PROGRESS, "A request with this idempotency key is running.", 1) from None
        raise _Replay(orjson.loads(row.response)) from None
    except Exception as error:
        if _sqlstate(error) == _LOCK_NOT_AVAILABLE:
            raise IdempotencyRefused(
                KEY_IN_PROGRESS,
                "A request with this idempotency key is still running; retry with the same key to get its answer.",
                retry_after_seconds=1,
            ) from None
        raise
    if postgres:
        await connection.execute_script("SET LOCAL lock_timeout TO DEFAULT")


def _sqlstate(error: BaseException | None) -> str | None:
    while error is not None:
        state = getattr(error, "sqlstate", None)
        if isinstance(state, str):
            return state
        error = error.__cause__ or error.__context__
    return None
