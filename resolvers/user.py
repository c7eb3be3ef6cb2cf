"""Users: admins manage them; a deactivated user's tokens stop working at once."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.company import Company
from models.user import Role, User
from realtime.events import USER_CHANGED, EventSpec, publish, record
from resolvers.auth import hash_password, normalize_email
from resolvers.bounds import search_term
from resolvers.context import Context
from resolvers.documents import fold, is_valid_email
from resolvers.errors import UserError, UserErrorCode
from resolvers.pagination import Page, PageArgs, paginate

MIN_PASSWORD_LENGTH = 10


@dataclass(frozen=True)
class UserInput:
    name: str | None = None
    email: str | None = None
    password: str | None = None
    role: Role | None = None
    company_id: int | None = None
    clear_company: bool = False


def visible_users(ctx: Context) -> QuerySet[User]:
    """The users `Scope.reads_user` lets the caller read whole (e-mail included), as a queryset:
    what `user(id)` and `users` answer, and what every nested User shows the e-mail of."""
    user = ctx.require_user()
    scope = ctx.scope
    if scope.reads_every_user:
        return User.all()
    if scope.is_rep and user.company_id is not None:
        return User.filter(Q(id=user.pk) | Q(company_id=user.company_id))
    return User.filter(id=user.pk)


async def list_users(
    ctx: Context, text: str | None, role: Role | None, page: PageArgs
) -> Page[User]:
    queryset = visible_users(ctx)
    term = search_term(text)
    if term:
        queryset = queryset.filter(Q(email__icontains=fold(term)) | Q(name__icontains=term))
    if role is not None:
        queryset = queryset.filter(role=role)
    return await paginate(queryset, "user", page, ctx.settings.max_page_size)


async def get_user(ctx: Context, user_id: int) -> User | None:
    return await visible_users(ctx).get_or_none(id=user_id)


def _require_admin(ctx: Context) -> User:
    user = ctx.require_user()
    if user.role != Role.ADMIN:
        raise UserError(UserErrorCode.FORBIDDEN, "Only admins manage users.")
    return user


async def _values(ctx: Context, data: UserInput, current: User | None) -> dict[str, object]:
    values: dict[str, object] = {}
    if data.name is not None:
        name = data.name.strip()
        if not name or len(name) > 200:
            raise UserError(UserErrorCode.INVALID, "Name must have 1 to 200 characters.", "name")
        values["name"] = name
    if data.email is not None:
        email = normalize_email(data.email)
        if not is_valid_email(email):
            raise UserError(UserErrorCode.INVALID_EMAIL, "E-mail is not valid.", "email")
        clash = User.filter(email=email)
        if current is not None:
            clash = clash.exclude(id=current.pk)
        if await clash.exists():
            raise UserError(UserErrorCode.DUPLICATE_EMAIL, "Another user has this e-mail.", "email")
        values["email"] = email
    if data.password is not None:
        if len(data.password) < MIN_PASSWORD_LENGTH:
            raise UserError(
                UserErrorCode.WEAK_PASSWORD,
                f"Password must have at least {MIN_PASSWORD_LENGTH} characters.",
                "password",
            )
        values["password_hash"] = await hash_password(data.password, ctx.settings.password_hash_profile)
    if data.role is not None:
        values["role"] = data.role
    if data.clear_company:
        values["company_id"] = None
    elif data.company_id is not None:
        if not await Company.filter(id=data.company_id).exists():
            raise UserError(UserErrorCode.UNKNOWN_COMPANY, "No such company.", "companyId")
        values["company_id"] = data.company_id
    role = values.get("role", current.role if current else None)
    company_id = values.get("company_id", current.company_id if current else None)
    if role == Role.COMPANY_REP and company_id is None:
        raise UserError(UserErrorCode.COMPANY_REQUIRED, "A company rep needs a company.", "companyId")
    if role != Role.COMPANY_REP and company_id is not None:
        raise UserError(
            UserErrorCode.COMPANY_NOT_ALLOWED, "Only company reps belong to a company.", "companyId"
        )
    return values


async def create_user(ctx: Context, data: UserInput) -> User:
    _require_admin(ctx)
    for name, value in (("name", data.name), ("email", data.email), ("password", data.password)):
        if value is None:
            raise UserError(UserErrorCode.INVALID, f"{name} is required.", name)
    if data.role is None:
        raise UserError(UserErrorCode.INVALID, "role is required.", "role")
    values = await _values(ctx, data, None)
    try:
        async with in_transaction():
            return await User.create(**values)
    except IntegrityError:
        raise UserError(UserErrorCode.DUPLICATE_EMAIL, "Another user has this e-mail.", "email") from None


async def update_user(ctx: Context, user_id: int, data: UserInput) -> User:
    _require_admin(ctx)
    target = await User.get_or_none(id=user_id)
    if target is None:
        raise UserError(UserErrorCode.NOT_FOUND, "No such user.", "id")
    values = await _values(ctx, data, target)
    if "password_hash" in values:
        values["token_version"] = F("token_version") + 1
    try:
        async with in_transaction() as connection:
            await User.filter(id=user_id).using_db(connection).update(**values)
            event = await record(connection, _user_changed(target))
    except IntegrityError:
        raise UserError(UserErrorCode.DUPLICATE_EMAIL, "Another user has this e-mail.", "email") from None
    await publish(ctx.broadcast, [event])
    return await User.get(id=user_id)


async def deactivate_user(ctx: Context, user_id: int) -> User:
    admin = _require_admin(ctx)
    if admin.pk == user_id:
        raise UserError(UserErrorCode.CANNOT_DEACTIVATE_SELF, "You cannot deactivate yourself.", "id")
    target = await User.get_or_none(id=user_id)
    if target is None:
        raise UserError(UserErrorCode.NOT_FOUND, "No such user.", "id")
    async with in_transaction() as connection:
        await User.filter(id=user_id).using_db(connection).update(
            active=False, token_version=F("token_version") + 1
        )
        event = await record(connection, _user_changed(target))
    await publish(ctx.broadcast, [event])
    return await User.get(id=user_id)


def _user_changed(user: User) -> EventSpec:
    """Tells every process's live streams to re-check this user (role, company, active, token)."""
    return EventSpec(kind=USER_CHANGED, entity="user", entity_id=user.pk, company_id=user.company_id)
