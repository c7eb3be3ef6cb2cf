"""Demo data (idempotent) and large generated data sets for benchmarks."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from contato.seed_outbound import seed_outbound_demo, seed_outbound_size
from contato.seed_tickets import seed_tickets
from contato.settings import Settings
from models.company import Company
from models.person import Person, PersonKind, PersonStage
from models.user import Role, User
from resolvers.auth import hash_password
from resolvers.person import search_text

DEMO_PASSWORD = "contato-demo"


@dataclass(frozen=True)
class DemoLogin:
    email: str
    role: Role
    company: str | None = None


DEMO_COMPANIES = (("Acme Telecom", "11222333000181"), ("Globex Seguros", "45723174000110"))
DEMO_USERS = (
    ("Ana Admin", "admin@contato.dev", Role.ADMIN, None),
    ("Sergio Supervisor", "supervisor@contato.dev", Role.SUPERVISOR, None),
    ("Alice Atendente", "agent@contato.dev", Role.AGENT, None),
    ("Bruno Atendente", "agent2@contato.dev", Role.AGENT, None),
    ("Rita Acme", "rep@acme.dev", Role.COMPANY_REP, "11222333000181"),
    ("Gustavo Globex", "rep@globex.dev", Role.COMPANY_REP, "45723174000110"),
)
FIRST_NAMES = ("Ana", "Bruno", "Carla", "Diego", "Elisa", "Fábio", "Gabriela", "Heitor", "Íris", "João",
               "Larissa", "Marcos", "Natália", "Otávio", "Paula", "Rafael", "Sofia", "Tiago", "Vera", "Wagner")
LAST_NAMES = ("Silva", "Souza", "Oliveira", "Santos", "Pereira", "Lima", "Carvalho", "Ferreira",
              "Rodrigues", "Almeida", "Costa", "Gomes", "Martins", "Araújo", "Barbosa", "Ribeiro")


def _check_digit(numbers: list[int], weights: list[int]) -> int:
    remainder = sum(n * w for n, w in zip(numbers, weights)) % 11
    return 0 if remainder < 2 else 11 - remainder


def make_cpf(index: int) -> str:
    """A valid CPF derived from index (distinct for index < 10**9)."""
    base = [int(ch) for ch in f"{(index * 7919 + 100_000_000) % 1_000_000_000:09d}"]
    first = _check_digit(base, list(range(10, 1, -1)))
    second = _check_digit(base + [first], list(range(11, 1, -1)))
    return "".join(map(str, base + [first, second]))


async def seed_demo(settings: Settings) -> list[DemoLogin]:
    companies: dict[str, Company] = {}
    for name, cnpj in DEMO_COMPANIES:
        companies[cnpj], _ = await Company.get_or_create(cnpj=cnpj, defaults={"name": name})
    password_hash = await hash_password(DEMO_PASSWORD, settings.password_hash_profile)
    logins = []
    for name, email, role, cnpj in DEMO_USERS:
        company = companies[cnpj] if cnpj else None
        await User.get_or_create(
            email=email,
            defaults={"name": name, "role": role, "company": company, "password_hash": password_hash},
        )
        logins.append(DemoLogin(email=email, role=role, company=company.name if company else None))
    rng = random.Random(42)
    company_list = list(companies.values())
    for index in range(30):
        await _ensure_person(index, rng, company_list)
    await seed_tickets(settings)
    await seed_outbound_demo(settings)
    return logins


async def _ensure_person(index: int, rng: random.Random, companies: list[Company]) -> None:
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    document = make_cpf(index)
    phones = [f"+55119{rng.randrange(10**7, 10**8)}"]
    company = companies[index % len(companies)] if index % 3 else None
    stage = (PersonStage.SUSPECT, PersonStage.PROSPECT, PersonStage.CUSTOMER)[index % 3]
    await Person.get_or_create(
        document=document,
        defaults={
            "kind": PersonKind.NATURAL,
            "name": name,
            "document_key": document,
            "phones": phones,
            "emails": [f"{name.split()[0].lower()}.{index}@example.com"],
            "stage": stage,
            "company": company,
            "search_text": search_text(name, document, phones),
        },
    )


def progress_bar(total: int, label: str) -> Callable[[int], None]:
    def show(done: int) -> None:
        width = 40
        filled = width * done // max(total, 1)
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return show


async def seed_size(size: int, batch: int = 2000) -> int:
    """Add generated persons up to `size` of them (idempotent: existing documents are skipped)."""
    companies = list(await Company.all())
    rng = random.Random(1234)
    show = progress_bar(size, "persons")
    created = 0
    for start in range(0, size, batch):
        indexes = range(1000 + start, 1000 + min(start + batch, size))
        documents = [make_cpf(i) for i in indexes]
        existing = set(await Person.filter(document__in=documents).values_list("document", flat=True))
        rows = []
        for index, document in zip(indexes, documents):
            if document in existing:
                continue
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)}"
            phones = [f"+55{rng.randrange(11, 99)}9{rng.randrange(10**7, 10**8)}"]
            rows.append(
                Person(
                    kind=PersonKind.NATURAL,
                    name=name,
                    document=document,
                    document_key=document,
                    phones=phones,
                    emails=[],
                    stage=rng.choice(list(PersonStage)),
                    company=rng.choice(companies) if companies and rng.random() < 0.3 else None,
                    search_text=search_text(name, document, phones),
                )
            )
        if rows:
            async with in_transaction():
                await Person.bulk_create(rows)
            created += len(rows)
        show(min(start + batch, size))
    await seed_outbound_size(size)
    return created
