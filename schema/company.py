from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.company import Company
from models.mail_template import MailLocale as MailLocaleModel
from resolvers import company as use_cases
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.errors import CompanyError
from schema.ids import to_pk
from schema.mail_enums import MailLocale
from schema.pagination import Connection


@strawberry.type(name="Company")
class CompanyType:
    id: strawberry.ID
    name: str
    cnpj: str
    active: bool
    created_at: datetime
    mail_locale: MailLocale | None = strawberry.field(  # type: ignore[valid-type]
        description="The language of the e-mails its tickets send; null: the server's MAIL_LOCALE."
    )

    @classmethod
    def from_row(cls, row: Company) -> CompanyType:
        return cls(id=strawberry.ID(str(row.pk)), name=row.name, cnpj=row.cnpj, active=row.active,
                   created_at=row.created_at, mail_locale=MailLocaleModel(row.mail_locale) if row.mail_locale else None)


@strawberry.input
class CompanyCreateInput:
    name: str
    cnpj: str
    mail_locale: MailLocale | None = None  # type: ignore[valid-type]


@strawberry.input
class CompanyUpdateInput:
    name: str | None = None
    cnpj: str | None = None
    active: bool | None = None
    mail_locale: MailLocale | None = None  # type: ignore[valid-type]


def _locale(locale: MailLocaleModel | None) -> str | None:
    return None if locale is None else MailLocaleModel(locale).value


CompanyResult = Annotated[CompanyType | CompanyError, strawberry.union("CompanyResult")]


@strawberry.type
class CompanyQuery:
    @strawberry.field(description="Companies the caller may see (a company rep: their own).")
    async def companies(
        self, info: Info, text: str | None = None, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[CompanyType]:
        page = await use_cases.list_companies(info.context, text, PageArgs(first, after, last, before))
        return Connection.from_page(page, CompanyType.from_row)

    @strawberry.field
    async def company(self, info: Info, id: strawberry.ID) -> CompanyType | None:
        row = await use_cases.get_company(info.context, to_pk(id))
        return CompanyType.from_row(row) if row else None


@strawberry.type
class CompanyMutation:
    @strawberry.mutation(description="Admins only.")
    async def company_create(self, info: Info, input: CompanyCreateInput) -> CompanyResult:
        row = await use_cases.create_company(
            info.context, use_cases.CompanyInput(name=input.name, cnpj=input.cnpj, mail_locale=_locale(input.mail_locale))
        )
        return CompanyType.from_row(row)

    @strawberry.mutation(description="Admins only.")
    async def company_update(self, info: Info, id: strawberry.ID, input: CompanyUpdateInput) -> CompanyResult:
        data = use_cases.CompanyInput(
            name=input.name, cnpj=input.cnpj, active=input.active, mail_locale=_locale(input.mail_locale)
        )
        row = await use_cases.update_company(info.context, to_pk(id), data)
        return CompanyType.from_row(row)
