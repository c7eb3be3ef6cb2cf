"""Rows for tests, and a direct way to run GraphQL documents as a given user."""

from __future__ import annotations

import functools
import itertools
from typing import Any

from contato.seed import make_cpf
from contato.settings import Settings
from models.company import Company
from models.person import Person, PersonKind, PersonStage
from models.user import Role, User
from resolvers.auth import hash_password
from resolvers.context import Context
from resolvers.person import search_text
from schema import ContatoSchema, build_schema

PASSWORD = "correct horse battery"
VALID_CNPJS = ("11222333000181", "45723174000110", "11444777000161", "04252011000110")

_sequence = itertools.count(1)


def shared_schema(settings: Settings, compiled: bool = True) -> ContatoSchema:
    """One schema per settings (by value) for the whole test process: building one takes 0.2 s on a
    quiet core and 2 s under CI's load, and it holds no per-database state (its caches are of parsed
    documents and compiled plans; rate limits and sessions live in the database)."""
    try:
        return _shared_schema(settings, compiled)
    except TypeError:  # settings holding a list: not hashable, built for itself
        return build_schema(settings, compiled=compiled)


@functools.cache
def _shared_schema(settings: Settings, compiled: bool) -> ContatoSchema:
    return build_schema(settings, compiled=compiled)


class Factory:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema: ContatoSchema = shared_schema(settings)
        self._cnpjs = iter(VALID_CNPJS)
        self._password_hash: str | None = None

    async def company(self, name: str | None = None, cnpj: str | None = None) -> Company:
        cnpj = cnpj or next(self._cnpjs)
        return await Company.create(name=name or f"Company {cnpj[:4]}", cnpj=cnpj)

    async def user(
        self, role: Role = Role.AGENT, company: Company | None = None, email: str | None = None
    ) -> User:
        if self._password_hash is None:
            self._password_hash = await hash_password(PASSWORD, self.settings.password_hash_profile)
        if role == Role.COMPANY_REP and company is None:
            company = await self.company()
        number = next(_sequence)
        return await User.create(
            name=f"{role.value.title()} {number}",
            email=email or f"{role.value.lower()}{number}@test.dev",
            password_hash=self._password_hash,
            role=role,
            company=company,
        )

    async def person(
        self,
        name: str = "Maria Souza",
        company: Company | None = None,
        stage: PersonStage = PersonStage.SUSPECT,
        phones: list[str] | None = None,
        document: str | None = None,
    ) -> Person:
        document = document or make_cpf(next(_sequence))
        phones = phones or []
        return await Person.create(
            kind=PersonKind.NATURAL,
            name=name,
            document=document,
            document_key=document,
            phones=phones,
            emails=[],
            stage=stage,
            company=company,
            search_text=search_text(name, document, phones),
        )

    async def execute(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        user: User | None = None,
        settings: Settings | None = None,
    ) -> dict[str, Any]:
        """Run a document and return `data`; fail the test on any GraphQL error."""
        result = await self.execute_raw(document, variables, user, settings)
        assert result.errors is None, result.errors
        assert result.data is not None
        return result.data

    def schema_for(self, settings: Settings) -> ContatoSchema:
        return self.schema if settings is self.settings else shared_schema(settings)

    async def execute_raw(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        user: User | None = None,
        settings: Settings | None = None,
    ) -> Any:
        settings = settings or self.settings
        schema = self.schema_for(settings)
        context = Context(settings=settings, user=user)
        return await schema.execute(document, variable_values=variables, context_value=context)
