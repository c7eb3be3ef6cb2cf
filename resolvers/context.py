"""The typed context every resolver receives."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.user import Role, User
from resolvers.errors import NotAuthenticated
from resolvers.loaders import Loaders, RowLoaders
from resolvers.scope import Scope

if TYPE_CHECKING:
    from contato.settings import Settings

# A subscription's context lives as long as its WebSocket connection; each event it delivers
# gets its own loaders (see fresh_loaders), so no event is answered from an earlier one's cache.
_event_loaders: ContextVar[RowLoaders | None] = ContextVar("contato_event_loaders", default=None)


def fresh_loaders() -> RowLoaders:
    """New loaders for the event about to be executed in this task (one subscription's task)."""
    return use_loaders(RowLoaders())


def use_loaders(loaders: RowLoaders) -> RowLoaders:
    """Loaders for the event about to be executed in this task, possibly shared with the other
    subscribers of the same event: they batch together, and all see the rows as of this event
    (each through its own scope: `Context.loaders`)."""
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
    request_loaders_: RowLoaders | None = field(default=None, repr=False)
    connection_params: dict[str, Any] | None = None
    token_expires_at: datetime | None = None
    queue_monitor: Any = None
    # Who is viewing which ticket (realtime/viewing.py), in the server; None elsewhere.
    viewing: Any = None
    # The context of a stream run once for many subscribers (contato/shared_streams.py): each
    # subscriber's token and user are checked on its own, not through this context's user.
    shared_stream: bool = False
    # (user, its Scope): `scope` is read by every field that loads.
    scope_of_: tuple[User | None, Scope] | None = field(default=None, repr=False)

    @property
    def loaders(self) -> Loaders:
        """This request's (or live event's) rows, as the caller may see them now."""
        return self.loaders_for(self.scope)

    def loaders_for(self, scope: Scope) -> Loaders:
        return (_event_loaders.get() or self.request_loaders).seen_by(scope)

    @property
    def request_loaders(self) -> RowLoaders:
        if self.request_loaders_ is None:
            self.request_loaders_ = RowLoaders()
        return self.request_loaders_

    @property
    def scope(self) -> Scope:
        """What the caller may see (resolvers/scope.py), as of the user the context holds now: a
        WebSocket connection's user may be re-read, and change, between operations."""
        cached = self.scope_of_
        if cached is None or cached[0] is not self.user:
            cached = self.scope_of_ = (self.user, Scope.of(self.user))
        return cached[1]

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
