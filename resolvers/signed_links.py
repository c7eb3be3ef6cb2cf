"""Short-lived signed attachment links, for `<img src>` and `<a href>`, which cannot send a token.

A link names the attachment, the viewer (user id) and an expiry; its signature is an HMAC-SHA256
over those and the viewer's token version, keyed by SECRET_KEY (with a purpose prefix, so that no
other signature made with the key can pass for a link). At download the signature and expiry are
checked, the viewer is loaded again (inactive, or a changed password, ends their links), and the
ticket's visibility rules are applied for that viewer as for the bearer route. A link is the
viewer's: whoever holds it downloads as them until it expires, so keep ATTACHMENT_LINK_TTL_SECONDS
short.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from models.user import User
from resolvers.bounds import row_id

if TYPE_CHECKING:
    from contato.settings import Settings

PURPOSE = b"contato attachment link v1\x00"


class LinkRejected(Exception):
    """A link that is malformed, tampered with, expired, or whose viewer is gone; the message says so."""


IMPORT_ERRORS = b"contato import errors link v1\x00"


def _signature(
    settings: Settings, attachment_id: int, user_id: int, token_version: int, expires: int, purpose: bytes = PURPOSE
) -> str:
    message = purpose + f"{attachment_id}:{user_id}:{token_version}:{expires}".encode()
    return hmac.new(settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def attachment_link(settings: Settings, attachment_id: int, viewer: User, now: float | None = None) -> str:
    """The attachment's path with its signed query: `/attachments/<id>?user=…&expires=…&signature=…`."""
    expires = int(now if now is not None else time.time()) + settings.attachment_link_ttl_seconds
    signature = _signature(settings, attachment_id, viewer.pk, viewer.token_version, expires)
    query = urlencode({"user": viewer.pk, "expires": expires, "signature": signature})
    return f"/attachments/{attachment_id}?{query}"


def import_errors_link(settings: Settings, import_id: int, viewer: User, now: float | None = None) -> str:
    """An import's error report, signed the same way (its own purpose, so neither passes for the other)."""
    expires = int(now if now is not None else time.time()) + settings.attachment_link_ttl_seconds
    signature = _signature(settings, import_id, viewer.pk, viewer.token_version, expires, IMPORT_ERRORS)
    query = urlencode({"user": viewer.pk, "expires": expires, "signature": signature})
    return f"/imports/{import_id}/errors.csv?{query}"


EXPORT = b"contato export link v1\x00"


def export_link(settings: Settings, export_id: int, viewer: User, now: float | None = None) -> tuple[str, int]:
    """An export's download path, signed for its user, and when the link expires (epoch seconds)."""
    expires = int(now if now is not None else time.time()) + settings.attachment_link_ttl_seconds
    signature = _signature(settings, export_id, viewer.pk, viewer.token_version, expires, EXPORT)
    query = urlencode({"user": viewer.pk, "expires": expires, "signature": signature})
    return f"/exports/{export_id}.csv?{query}", expires


def is_signed(params: Mapping[str, str]) -> bool:
    return "signature" in params


async def link_viewer(
    settings: Settings, attachment_id: int, params: Mapping[str, str], now: float | None = None,
    purpose: bytes = PURPOSE,
) -> User:
    """The viewer a link was signed for, once its signature and expiry hold."""
    try:
        # A user id past any row's (resolvers/bounds.py) is never sent to the database.
        user_id = row_id(params["user"])
        expires = int(params["expires"])
        signature = params["signature"]
    except (KeyError, ValueError):
        user_id = None
    if user_id is None:
        raise LinkRejected("This link is not valid: it needs user, expires and signature.")
    user = await User.get_or_none(id=user_id)
    # Compared even for an unknown user, so the answer's timing does not tell which ids exist.
    expected = _signature(settings, attachment_id, user_id, user.token_version if user else -1, expires, purpose)
    if not hmac.compare_digest(expected, signature) or user is None or not user.active:
        raise LinkRejected("This link is not valid: ask for the attachment's downloadUrl again.")
    if expires < (now if now is not None else time.time()):
        raise LinkRejected("This link has expired: ask for the attachment's downloadUrl again.")
    return user
