"""Telling "the database cannot be reached" from every other fault.

A database that restarts, is failing over or is out of connections is not a bug of ours, and not
the client's either: the request may well succeed a second later. The API answers such faults with
503, `SERVICE_UNAVAILABLE` and `Retry-After` (schema/security.py, contato/app.py) instead of masking
them as "Unexpected error.", so that clients retry. Drivers report them in many shapes, none of which
Tortoise translates: asyncpg's connection and shutdown errors, the socket's own errors while
connecting or mid-query, SQLite's "unable to open database file" (wrapped by Tortoise).
"""

from __future__ import annotations

import errno
import sqlite3

import asyncpg
from tortoise.exceptions import DBConnectionError

# Seconds a client is told to wait before retrying (`Retry-After`): a restart takes about that long.
RETRY_AFTER_SECONDS = 1

_UNREACHABLE_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ETIMEDOUT,
    }
)

_ASYNCPG_UNAVAILABLE = (
    asyncpg.PostgresConnectionError,  # SQLSTATE class 08, and the client's "connection was closed"
    asyncpg.CannotConnectNowError,  # "the database system is starting up / shutting down"
    asyncpg.AdminShutdownError,  # "terminating connection due to administrator command"
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)

# asyncpg raises InterfaceError for a closed connection or pool as for a misuse; only these mean "gone".
_CLOSED_PHRASES = ("connection is closed", "connection was closed", "pool is closing", "pool is closed")

# SQLite's own words for a file it cannot reach or a writer it cannot get past.
_SQLITE_PHRASES = ("unable to open database file", "database is locked", "disk i/o error")


def database_unreachable(error: BaseException | None) -> bool:
    """Whether `error`, or an exception it was raised from, says the database cannot be reached."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if _says_unreachable(current):
            return True
        # Tortoise wraps the driver's exception as its argument (`OperationalError(exc)`).
        wrapped = [arg for arg in current.args[:1] if isinstance(arg, BaseException)]
        pending += [current.__cause__, current.__context__, *wrapped]
    return False


def _says_unreachable(error: BaseException) -> bool:
    if isinstance(error, (ConnectionError, DBConnectionError, *_ASYNCPG_UNAVAILABLE)):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        return any(phrase in str(error) for phrase in _CLOSED_PHRASES)
    if isinstance(error, sqlite3.OperationalError):
        return any(phrase in str(error).lower() for phrase in _SQLITE_PHRASES)
    if isinstance(error, OSError):
        if error.errno in _UNREACHABLE_ERRNOS:
            return True
        # asyncio's connect to a host with several addresses: "Multiple exceptions: [Errno 111] Connect call failed …"
        return str(error).startswith("Multiple exceptions") and "Connect call failed" in str(error)
    return False
