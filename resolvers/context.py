"""The typed context every resolver receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from models.user import Role, User
from resolvers.errors import NotAuthenticated
from resolvers.loaders import Loaders

if TYPE_CHECKING:
    from contato.settings import Settings


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
    loaders: Loaders = field(default_factory=Loaders)
    connection_params: dict[str, Any] | None = None

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
