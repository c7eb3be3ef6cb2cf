from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models.user import Role as RoleModel
from models.user import User
from resolvers import auth
from resolvers import user as use_cases
from resolvers.pagination import PageArgs
from resolvers.scope import Scope
from schema.base import Info
from schema.company import CompanyType
from schema.errors import LoginError, UserError
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection

if TYPE_CHECKING:
    from resolvers.context import Context

Role = strawberry.enum(RoleModel, name="Role")


@strawberry.type(name="User")
class UserType:
    id: strawberry.ID
    name: str
    address: strawberry.Private[str]
    role: Role  # type: ignore[valid-type]
    active: bool
    created_at: datetime
    company_id: strawberry.Private[int | None]
    # Who reads this user, when it is not the caller: the user who just logged in reads their own.
    viewer: strawberry.Private[Scope | None] = None

    @strawberry.field(
        description="Null unless the caller may look this user up with `user(id)`: supervisors and admins "
        "read every address, others their own, and company reps their company's reps too (others see "
        "names only)."
    )
    def email(self, info: Info) -> str | None:
        scope = self.viewer or info.context.scope
        return self.address if scope.reads_user(int(self.id), self.company_id) else None

    @classmethod
    def from_row(cls, row: User, viewer: Scope | None = None) -> UserType:
        return cls(
            id=strawberry.ID(str(row.pk)),
            name=row.name,
            address=row.email,
            role=row.role,
            active=row.active,
            created_at=row.created_at,
            company_id=row.company_id,
            viewer=viewer,
        )

    @strawberry.field
    async def company(self, info: Info) -> CompanyType | None:
        if self.company_id is None:
            return None
        loaders = info.context.loaders if self.viewer is None else info.context.loaders_for(self.viewer)
        row = await loaders.company_by_id.load(self.company_id)
        return CompanyType.from_row(row) if row else None


@strawberry.type
class LoginPayload:
    token: str = strawberry.field(description="Send it as `Authorization: Bearer <token>`.")
    expires_at: datetime
    user: UserType


LoginResult = Annotated[LoginPayload | LoginError, strawberry.union("LoginResult")]
UserResult = Annotated[UserType | UserError, strawberry.union("UserResult")]


@strawberry.input
class UserCreateInput:
    name: str
    email: str
    password: str
    role: Role  # type: ignore[valid-type]
    company_id: strawberry.ID | None = None


@strawberry.input
class UserUpdateInput:
    name: str | None = None
    email: str | None = None
    password: str | None = None
    role: Role | None = None  # type: ignore[valid-type]
    company_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the company; leave out to keep it."
    )


@strawberry.type
class UserQuery:
    @strawberry.field(description="The authenticated user.")
    async def me(self, info: Info) -> UserType:
        return UserType.from_row(info.context.require_user())

    @strawberry.field(
        description="Supervisors and admins see every user; company reps themselves and their company's reps; "
        "agents themselves."
    )
    async def users(
        self,
        info: Info,
        text: str | None = None,
        role: Role | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[UserType]:
        page = await use_cases.list_users(info.context, text, role, PageArgs(first, after, last, before))
        return Connection.from_page(page, UserType.from_row)

    @strawberry.field
    async def user(self, info: Info, id: strawberry.ID) -> UserType | None:
        row = await use_cases.get_user(info.context, to_pk(id))
        return UserType.from_row(row) if row else None


def _client_address(context: Context) -> str | None:
    """The caller's address from the connection (HTTP request or WebSocket), or from a trusted
    proxy's X-Forwarded-For; None when run without one (tests, the CLI)."""
    request = context.request
    if request is None:
        return None
    peer = request.client.host if request.client else None
    forwarded_for = request.headers.getlist("x-forwarded-for")
    return auth.client_address(peer, forwarded_for, context.settings.trusted_proxy_networks)


@strawberry.type
class UserMutation:
    @strawberry.mutation(
        description="The only operation that needs no token. One per request; failures are counted per "
        "account and per client address, each locked for a while past its limit (TOO_MANY_ATTEMPTS)."
    )
    async def login(self, info: Info, email: str, password: str) -> LoginResult:
        address = _client_address(info.context)
        user, issued = await auth.login(email, password, info.context.settings, address)
        return LoginPayload(
            token=issued.token, expires_at=issued.expires_at, user=UserType.from_row(user, viewer=Scope.of(user))
        )

    @strawberry.mutation(description="Admins only.")
    async def user_create(self, info: Info, input: UserCreateInput) -> UserResult:
        data = use_cases.UserInput(
            name=input.name,
            email=input.email,
            password=input.password,
            role=input.role,
            company_id=optional_pk(input.company_id),
        )
        return UserType.from_row(await use_cases.create_user(info.context, data))

    @strawberry.mutation(description="Admins only. A new password ends the user's sessions.")
    async def user_update(self, info: Info, id: strawberry.ID, input: UserUpdateInput) -> UserResult:
        data = use_cases.UserInput(
            name=input.name,
            email=input.email,
            password=input.password,
            role=input.role,
            company_id=optional_pk(input.company_id or None),
            clear_company=input.company_id is None,
        )
        return UserType.from_row(await use_cases.update_user(info.context, to_pk(id), data))

    @strawberry.mutation(description="Admins only. The user's tokens stop working at once.")
    async def user_deactivate(self, info: Info, id: strawberry.ID) -> UserResult:
        return UserType.from_row(await use_cases.deactivate_user(info.context, to_pk(id)))

