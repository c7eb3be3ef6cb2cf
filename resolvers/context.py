"""The typed context every resolver receives."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.user import Role, User
from resolvers.errors import NotAuthenticated
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from contato.settings import Settings

# A subscription's context lives as long as its WebSocket connection; each event it delivers
# gets its own loaders (see fresh_loaders), so no event is answered from an earlier one's cache.
_event_loaders: ContextVar[Loaders | None] = ContextVar("contato_event_loaders", default=None)


def fresh_loaders() -> Loaders:
    """New loaders for the event about to be executed in this task (one subscription's task)."""
    return use_loaders(Loaders())


def use_loaders(loaders: Loaders) -> Loaders:
    """Loaders for the event about to be executed in this task, possibly shared with the other
    subscribers of the same event: they batch together, and all see the rows as of this event."""
    _event_loaders.set(loaders)
    return loaders


@dataclass
class Context:
    settings: Settings
    user: User | None = None
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    broadcast: Any = None
    hub: Any = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # Built on first use: a WebSocket connection's context may never need its own (25 KiB each).
    request_loaders_: Loaders | None = field(default=None, repr=False)
    connection_params: dict[str, Any] | None = None
    token_expires_at: datetime | None = None
    queue_monitor: Any = None
    # The context of a stream run once for many subscribers (contato/shared_streams.py): each
    # subscriber's token and user are checked on its own, not through this context's user.
    shared_stream: bool = False

    @property
    def loaders(self) -> Loaders:
        return _event_loaders.get() or self.request_loaders

    @property
    def request_loaders(self) -> Loaders:
        if self.request_loaders_ is None:
            self.request_loaders_ = Loaders()
        return self.request_loaders_

    def require_user(self) -> User:
        if self.user is None:
            raise NotAuthenticated(self.auth_error or "Authentication required: send a valid Bearer token.")
        return self.user

    def has_role(self, *roles: Role) -> bool:
        return self.user is not None and self.user.role in roles

    @property
    def is_staff(self) -> bool:
        """Supervisors and admins see everything in their operation."""
        return self.has_role(Role.SUPERVISOR, Role.ADMIN)
