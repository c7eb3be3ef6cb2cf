"""Demo data (idempotent) and large generated data sets for benchmarks."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime

from tortoise import connections
from tortoise.transactions import in_transaction

from contato.seed_bulk import BulkWriter, flat_ints, mix, progress_bar
from contato.seed_outbound import seed_outbound_demo
from contato.seed_tickets import seed_ticket_volume, seed_tickets
from contato.seed_volume import MAX_OPERATIONS_PER_PERSON, OutboundChunk, OutboundPlan
from contato.seed_volume import prepare as prepare_outbound
from contato.settings import Settings
from models.company import Company
from models.person import Person, PersonKind, PersonStage
from models.user import Role, User
from resolvers.auth import hash_password
from resolvers.campaign import rules
from resolvers.documents import fold
from resolvers.person import search_text

DEMO_PASSWORD = "contato-demo"
GENERATED_FIRST_INDEX = 1000  # generated person p has the CPF make_cpf(1000 + p); the demo uses 0..29
DEFAULT_OPERATIONS_PER_PERSON = 5
PERSON_COLUMNS = (
    "id", "created_at", "updated_at", "kind", "name", "document", "document_key", "phones", "emails", "stage",
    "do_not_call", "search_text", "company_id", "converted_to_id",
)
# What seed_size writes (campaigns and their stages and agents excepted).
LOADED_TABLES = ("person", "campaign_member", "operation", "callback", "ticket", "ticket_message")


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
    for name, email, role, company_cnpj in DEMO_USERS:
        company = companies[company_cnpj] if company_cnpj else None
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


@dataclass
class SizeReport:
    persons: int = 0
    members: int = 0
    operations: int = 0
    callbacks: int = 0
    tickets: int = 0
    messages: int = 0


def ticket_count(size: int) -> int:
    """Generated tickets for `size` persons: one per 20 persons, at least min(size, 1,000)."""
    return max(size // 20, min(size, 1000))


def _person_row(p: int, person_id: int, document: str, companies: list[int], at: datetime) -> tuple[object, ...]:
    noise = mix(p, 0)
    first = FIRST_NAMES[noise % len(FIRST_NAMES)]
    name = f"{first} {LAST_NAMES[(noise >> 5) % len(LAST_NAMES)]} {LAST_NAMES[(noise >> 9) % len(LAST_NAMES)]}"
    phones = [f"+55{11 + (noise >> 13) % 88}9{10**7 + mix(p, 1) % (9 * 10**7)}"]
    emails = [f"{fold(first)}.{GENERATED_FIRST_INDEX + p}@example.com"] if noise >> 28 & 1 else []
    company = companies[(noise >> 20) % len(companies)] if companies and (noise >> 24) % 10 < 3 else None
    stage = (PersonStage.SUSPECT, PersonStage.PROSPECT, PersonStage.CUSTOMER)[(noise >> 29) % 3].value
    return (person_id, at, at, PersonKind.NATURAL.value, name, document, document, json.dumps(phones),
            json.dumps(emails), stage, OutboundPlan.do_not_call(p), search_text(name, document, phones), company, None)


async def _write_chunk(writer: BulkWriter, persons: list[tuple[object, ...]], members: OutboundChunk | None) -> None:
    await writer.insert("person", PERSON_COLUMNS, persons)
    if members is not None:
        await members.write(writer)


async def seed_size(
    settings: Settings, size: int, operations: int | None = None, chunk: int = 20_000, quiet: bool = False,
    bulk_threshold: int = 50_000,
) -> SizeReport:
    """The scale data set for `size` generated persons and `operations` operations (default 5 per person).

    Persons, one membership each with its operation history and callbacks (contato/seed_volume.py),
    then tickets with messages (contato/seed_tickets.py), all in one transaction. Idempotent: persons
    are keyed by their document, derived from their index, tickets by their number, and everything that
    hangs from a person is written with it, so a second run adds nothing. Counts are exact on a fresh
    database; on one seeded with another --size, only the persons not yet there get a history.

    On PostgreSQL, when at least `bulk_threshold` persons are to be written, the foreign keys and
    non-unique indexes of the loaded tables are dropped for the load and made again (the keys validated)
    before the commit.
    """
    operations = DEFAULT_OPERATIONS_PER_PERSON * size if operations is None else operations
    if size < 0 or not 0 <= operations <= MAX_OPERATIONS_PER_PERSON * size:
        raise ValueError(f"operations must be between 0 and {MAX_OPERATIONS_PER_PERSON} per person")
    report = SizeReport()
    if size == 0:
        return report
    now = rules.utc_now()  # the outbound clock, which tests pin
    plan = OutboundPlan(size, operations)
    outbound = await prepare_outbound(plan, settings.zone, now)
    since = outbound.since if outbound is not None else now
    companies = await flat_ints(Company.all().order_by("id").values_list("id", flat=True))
    show = progress_bar(size, "persons") if not quiet else (lambda done: None)
    suspended: list[str] = []
    async with in_transaction() as connection:
        writer = BulkWriter(connection)
        writing: Awaitable[None] = asyncio.sleep(0)  # the previous chunk's inserts
        for start in range(0, size, chunk):
            # Ids first (the connection is idle), then this chunk is built in a thread while the previous
            # one is written: on PostgreSQL the server takes the rows while Python makes the next ones.
            indexes = range(start, min(start + chunk, size))
            documents = [make_cpf(GENERATED_FIRST_INDEX + p) for p in indexes]
            existing = await writer.existing("person", "document_key", documents)
            fresh = [(p, document) for p, document in zip(indexes, documents) if document not in existing]
            if fresh and not suspended and size - start >= bulk_threshold:
                await writing
                writing = asyncio.sleep(0)
                suspended = await writer.suspend_checks(LOADED_TABLES)
            first_id = await writer.reserve_ids("person", len(fresh))
            members = None
            if outbound is not None and fresh:
                owners = [(p, first_id + offset) for offset, (p, _) in enumerate(fresh)]
                members = await outbound.reserve(writer, owners)

            def build(fresh: list[tuple[int, str]] = fresh, first_id: int = first_id,
                      members: OutboundChunk | None = members) -> list[tuple[object, ...]]:
                if members is not None and outbound is not None:
                    outbound.build(members)
                return [_person_row(p, first_id + offset, document, companies, since)
                        for offset, (p, document) in enumerate(fresh)]

            persons, _ = await asyncio.gather(asyncio.to_thread(build), writing)
            if members is not None:
                members.number_callbacks(await writer.reserve_ids("callback", len(members.callbacks)))
                report.members += len(members.members)
                report.operations += len(members.operations)
                report.callbacks += len(members.callbacks)
            report.persons += len(persons)
            writing = _write_chunk(writer, persons, members)
            show(indexes.stop)
        await writing
        report.tickets, report.messages = await seed_ticket_volume(writer, ticket_count(size), now, quiet=quiet)
        await writer.restore_checks(
            suspended, progress_bar(len(suspended), "indexes and foreign keys") if not quiet else None
        )
    if writer.postgres and report.persons + report.tickets:
        # Statistics for the planner, and the visibility map and hint bits set now rather than by autovacuum
        # and the first readers in the middle of whatever runs next (a benchmark, say).
        await connections.get("default").execute_script(f"VACUUM (ANALYZE) {', '.join(LOADED_TABLES)}")
    return report
