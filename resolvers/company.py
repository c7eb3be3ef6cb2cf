"""Companies: admins manage them; reps see only their own."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.company import Company
from models.user import Role
from resolvers.bounds import search_term
from resolvers.context import Context
from resolvers.documents import digits, fold, is_valid_cnpj
from resolvers.errors import CompanyError, CompanyErrorCode
from resolvers.pagination import Page, PageArgs, paginate


@dataclass(frozen=True)
class CompanyInput:
    name: str | None = None
    cnpj: str | None = None
    active: bool | None = None
    # "pt-BR" / "en": the language of its customers' e-mails (models.mail_template.MailLocale).
    mail_locale: str | None = None


def visible_companies(ctx: Context) -> QuerySet[Company]:
    """The companies `Scope.sees_company` lets the caller see, as a queryset."""
    user = ctx.require_user()
    if ctx.scope.own_company_only:
        return Company.filter(id=user.company_id)
    return Company.all()


async def list_companies(
    ctx: Context, text: str | None, page: PageArgs
) -> Page[Company]:
    queryset = visible_companies(ctx)
    term = search_term(text)
    if term:
        number = digits(term)
        queryset = queryset.filter(name__icontains=fold(term)) if not number else queryset.filter(cnpj__contains=number)
    return await paginate(queryset, "company", page, ctx.settings.max_page_size)


async def get_company(ctx: Context, company_id: int) -> Company | None:
    return await visible_companies(ctx).get_or_none(id=company_id)


def _require_admin(ctx: Context) -> None:
    if ctx.require_user().role != Role.ADMIN:
        raise CompanyError(CompanyErrorCode.FORBIDDEN, "Only admins manage companies.")


def _clean(data: CompanyInput) -> dict[str, object]:
    values: dict[str, object] = {}
    if data.mail_locale is not None:
        values["mail_locale"] = data.mail_locale
    if data.name is not None:
        name = data.name.strip()
        if not name or len(name) > 200:
            raise CompanyError(CompanyErrorCode.INVALID, "Name must have 1 to 200 characters.", "name")
        values["name"] = name
    if data.cnpj is not None:
        if not is_valid_cnpj(data.cnpj):
            raise CompanyError(CompanyErrorCode.INVALID_CNPJ, "CNPJ is not valid.", "cnpj")
        values["cnpj"] = digits(data.cnpj)
    if data.active is not None:
        values["active"] = data.active
    return values


async def _ensure_cnpj_free(cnpj: object, company_id: int | None) -> None:
    clash = Company.filter(cnpj=cnpj)
    if company_id is not None:
        clash = clash.exclude(id=company_id)
    if await clash.exists():
        raise CompanyError(CompanyErrorCode.DUPLICATE_CNPJ, "A company with this CNPJ exists.", "cnpj")


async def create_company(ctx: Context, data: CompanyInput) -> Company:
    _require_admin(ctx)
    if data.name is None:
        raise CompanyError(CompanyErrorCode.INVALID, "Name is required.", "name")
    if data.cnpj is None:
        raise CompanyError(CompanyErrorCode.INVALID_CNPJ, "CNPJ is required.", "cnpj")
    values = _clean(data)
    await _ensure_cnpj_free(values["cnpj"], None)
    try:
        async with in_transaction():
            return await Company.create(**values)
    except IntegrityError:
        raise CompanyError(CompanyErrorCode.DUPLICATE_CNPJ, "A company with this CNPJ exists.", "cnpj") from None


async def update_company(ctx: Context, company_id: int, data: CompanyInput) -> Company:
    _require_admin(ctx)
    values = _clean(data)
    try:
        async with in_transaction():
            company = await Company.get_or_none(id=company_id)
            if company is None:
                raise CompanyError(CompanyErrorCode.NOT_FOUND, "No such company.", "id")
            if "cnpj" in values:
                await _ensure_cnpj_free(values["cnpj"], company.pk)
            company.update_from_dict(values)
            await company.save()
            return company
    except IntegrityError:
        raise CompanyError(CompanyErrorCode.DUPLICATE_CNPJ, "A company with this CNPJ exists.", "cnpj") from None
