"""Rows of persons (and the person columns of member rows): checked by resolvers/person.py's rules,
then written a batch at a time (COPY into a staging table on PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from models.company import Company
from models.data_import import ImportMode
from models.person import Person, PersonKind, PersonStage
from resolvers.campaign.rules import utc_now
from resolvers.documents import digits, fold
from resolvers.errors import DomainError, PersonError, PersonErrorCode
from resolvers.imports.reader import Row
from resolvers.imports.staging import copy_rows, fetch, is_postgres
from resolvers.person import check_stage_change, person_values, search_text

# GraphQL spelling of a refused field -> the import field whose column is reported.
FIELD_OF = {"companyId": "company", "doNotCall": "do_not_call", "memberId": "document", "agentId": "agent",
            "stageId": "stage", "expiresAt": "expires_at", "addedAt": "added_at"}
PERSON_COLUMNS = ("kind", "name", "document", "document_key", "phones", "emails", "stage", "company_id",
                  "do_not_call", "search_text")
_KINDS = {
    "f": PersonKind.NATURAL, "pf": PersonKind.NATURAL, "fisica": PersonKind.NATURAL,
    "pessoafisica": PersonKind.NATURAL, "natural": PersonKind.NATURAL, "n": PersonKind.NATURAL,
    "j": PersonKind.LEGAL, "pj": PersonKind.LEGAL, "juridica": PersonKind.LEGAL,
    "pessoajuridica": PersonKind.LEGAL, "legal": PersonKind.LEGAL, "l": PersonKind.LEGAL,
}
_STAGES = {
    "suspect": PersonStage.SUSPECT, "suspeito": PersonStage.SUSPECT,
    "prospect": PersonStage.PROSPECT, "prospecto": PersonStage.PROSPECT,
    "customer": PersonStage.CUSTOMER, "cliente": PersonStage.CUSTOMER,
}
_YES = {"sim", "s", "yes", "y", "true", "1", "x", "verdadeiro"}
_NO = {"nao", "n", "no", "false", "0", "falso", ""}


@dataclass
class RowError:
    row: int
    column: str
    code: str
    message: str


def row_error(row: Row, error: DomainError) -> RowError:
    name = FIELD_OF.get(error.field or "", error.field or "")
    return RowError(row.number, row.columns.get(name, name), error.code.value, error.message)


@lru_cache(maxsize=1024)  # a file repeats a few words (PF, prospecto, sim) in a column
def _word(text: str) -> str:
    return "".join(ch for ch in fold(text) if ch.isalnum())


def parse_kind(text: str, document: str) -> PersonKind:
    if text:
        kind = _KINDS.get(_word(text))
        if kind is None:
            raise PersonError(PersonErrorCode.INVALID, f"{text!r} is not a kind of person (F/PF or J/PJ).", "kind")
        return kind
    return PersonKind.LEGAL if len(digits(document)) == 14 else PersonKind.NATURAL


def parse_stage(text: str, field_name: str = "stage") -> PersonStage | None:
    if not text:
        return None
    stage = _STAGES.get(_word(text))
    if stage is None:
        raise PersonError(PersonErrorCode.INVALID, f"{text!r} is not a stage (SUSPECT, PROSPECT, CUSTOMER).", field_name)
    return stage


def parse_flag(text: str | None, field_name: str) -> bool | None:
    if text is None:
        return None
    word = _word(text)
    if word in _YES:
        return True
    if word in _NO:
        return False if word else None
    raise PersonError(PersonErrorCode.INVALID, f"{text!r} is not yes or no.", field_name)


def check_row(values: dict[str, Any], stage_field: str = "stage") -> tuple[dict[str, object], PersonStage | None,
                                                                        bool | None]:
    """A row's person columns checked by personCreate's rules (resolvers/person.py `person_values`), as
    (the new person's values, the stage the row gives, its do-not-call flag), or the PersonError."""
    document = values.get("document", "")
    kind = parse_kind(values.get("kind", ""), document)
    stage = parse_stage(values.get(stage_field, ""), "stage" if stage_field == "stage" else "person_stage")
    do_not_call = parse_flag(values.get("do_not_call"), "doNotCall")
    person = person_values(kind, values.get("name") or None, document or None, values.get("phones"),
                           values.get("emails"), stage, do_not_call)
    return person, stage, do_not_call


@dataclass
class PersonPlan:
    """What a batch of person rows would do: new rows, changed rows (full values), refusals."""

    inserts: list[tuple[Row, dict[str, object]]] = field(default_factory=list)
    updates: list[tuple[Row, int, dict[str, object]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    # document -> person id, for member rows (those found, and those this batch inserts once written)
    ids: dict[str, int] = field(default_factory=dict)


async def _companies(references: set[str]) -> dict[str, int]:
    """Company ids by the CNPJ (any punctuation) or id a cell gives; one query."""
    numbers = {reference: digits(reference) for reference in references}
    cnpjs = {number for number in numbers.values() if len(number) == 14}
    ids = {int(number) for number in numbers.values() if number and len(number) < 10}
    if not cnpjs and not ids:
        return {}
    rows = await Company.filter(Q(cnpj__in=cnpjs) | Q(id__in=ids)).values_list("id", "cnpj")
    by_cnpj = {cnpj: pk for pk, cnpj in rows}
    by_id = {pk: pk for pk, _ in rows}
    found: dict[str, int] = {}
    for reference, number in numbers.items():
        pk = by_cnpj.get(number) if len(number) == 14 else (by_id.get(int(number)) if number and len(number) < 10 else None)
        if pk is not None:
            found[reference] = pk
    return found


async def plan_persons(rows: list[Row], mode: ImportMode, stage_field: str = "stage") -> PersonPlan:
    """Check a batch of person rows: three queries (companies, existing documents), whatever its size.
    Rows are checked as plain values and existing persons read as tuples: no model object per row."""
    plan = PersonPlan()
    checked: list[tuple[Row, dict[str, object], PersonStage | None, bool | None]] = []
    first_row: dict[str, int] = {}
    for row in rows:
        try:
            values, stage, do_not_call = check_row(row.values, stage_field)
        except DomainError as error:
            plan.errors.append(row_error(row, error))
            continue
        document = str(values["document"])
        if document in first_row:
            plan.errors.append(RowError(
                row.number, row.columns.get("document", "document"), PersonErrorCode.DUPLICATE_DOCUMENT.value,
                f"This document is also on row {first_row[document]}.",
            ))
            continue
        first_row[document] = row.number
        checked.append((row, values, stage, do_not_call))
    companies = await _companies({row.values["company"] for row, *_ in checked if row.values.get("company")})
    existing = {
        key: rest
        for key, *rest in await Person.filter(document_key__in=list(first_row)).values_list(
            "document_key", "id", "stage", "company_id", "phones", "emails", "do_not_call"
        )
    }
    for row, values, stage, do_not_call in checked:
        reference = row.values.get("company")
        if reference:
            if reference not in companies:
                plan.errors.append(RowError(
                    row.number, row.columns.get("company", "company"), PersonErrorCode.UNKNOWN_COMPANY.value,
                    f"No company with CNPJ or id {reference!r}.",
                ))
                continue
            values["company_id"] = companies[reference]
        document = str(values["document"])
        current = existing.get(document)
        if current is None:
            values.setdefault("company_id", None)
            plan.inserts.append((row, values))
            continue
        person_id, current_stage, current_company, current_phones, current_emails, current_opt_out = current
        plan.ids[document] = person_id
        if mode != ImportMode.UPSERT:
            if stage_field == "stage":  # a person row; member rows use the person they find
                plan.errors.append(RowError(
                    row.number, row.columns.get("document", "document"), PersonErrorCode.DUPLICATE_DOCUMENT.value,
                    "A person with this document exists (import with UPSERT to update it).",
                ))
            continue
        try:
            if stage is not None:
                check_stage_change(current_stage, stage)
        except DomainError as error:
            plan.errors.append(row_error(row, error))
            continue
        phones = values["phones"] if row.values.get("phones") else current_phones
        final: dict[str, object] = {
            "kind": values["kind"], "name": values["name"], "document": document, "document_key": document,
            "phones": phones,
            "emails": values["emails"] if row.values.get("emails") else current_emails,
            "stage": stage or current_stage,
            "company_id": values.get("company_id", current_company),
            "do_not_call": do_not_call if do_not_call is not None else current_opt_out,
            "search_text": search_text(str(values["name"]), document, phones),  # type: ignore[arg-type]
        }
        plan.updates.append((row, person_id, final))
    return plan


_NO_CONTACTS = "[]"


def _record(values: dict[str, object], person_id: int | None = None) -> tuple[Any, ...]:
    """The staged row of a person (PERSON_COLUMNS after the id), built in one expression."""
    phones, emails, kind, stage = values["phones"], values["emails"], values["kind"], values["stage"]
    return (
        person_id, getattr(kind, "value", kind), values["name"], values["document"], values["document_key"],
        orjson.dumps(phones).decode() if phones else _NO_CONTACTS,
        orjson.dumps(emails).decode() if emails else _NO_CONTACTS,
        getattr(stage, "value", stage), values.get("company_id"), values["do_not_call"], values["search_text"],
    )


async def write_persons(connection: BaseDBAsyncClient, plan: PersonPlan) -> tuple[int, int]:
    """Insert and update the planned rows; returns (inserted, updated). Fills `plan.ids` for the new."""
    if is_postgres(connection):
        return await _write_postgres(connection, plan)
    # SQLite: one prepared statement run for every row (executemany), from the same records COPY takes
    if plan.inserts:
        now = utc_now()  # written by sqlite3's adapter as the ORM writes its timestamps
        await connection.execute_many(_SQLITE_INSERT, [[*_record(values)[1:], now, now] for _, values in plan.inserts])
    if plan.updates:
        await connection.execute_many(
            _SQLITE_UPDATE, [[*_record(values)[1:], person_id] for _, person_id, values in plan.updates]
        )
    if plan.inserts:
        documents = [str(values["document"]) for _, values in plan.inserts]
        for pk, key in await Person.filter(document_key__in=documents).using_db(connection).values_list(
            "id", "document_key"
        ):
            plan.ids[key] = pk
    return len(plan.inserts), len(plan.updates)


_SQLITE_INSERT = (
    f'INSERT INTO "person" ({", ".join(PERSON_COLUMNS)}, "created_at", "updated_at") '
    f"VALUES ({', '.join('?' for _ in PERSON_COLUMNS)}, ?, ?)"
)
# As the ORM's QuerySet.update, which imports used before: updated_at is left as it is.
_SQLITE_UPDATE = f'UPDATE "person" SET {", ".join(f"{column} = ?" for column in PERSON_COLUMNS)} WHERE "id" = ?'
_STAGE = "import_person_stage"
_STAGE_DEFINITION = (
    "person_id int, kind varchar(10), name varchar(200), document varchar(14), document_key varchar(14), "
    "phones jsonb, emails jsonb, stage varchar(10), company_id int, do_not_call boolean, search_text text"
)
_COLUMNS = ", ".join(f'"{column}"' for column in PERSON_COLUMNS)
# The plan's updates (by the id it matched) and its inserts, in one statement over the staged rows.
# A document a concurrent writer took since the plan read is skipped by ON CONFLICT and reported.
_MERGE = (
    'WITH updated AS (UPDATE "person" p SET '
    + ", ".join(f'"{column}" = s."{column}"' for column in PERSON_COLUMNS)
    + f', "updated_at" = now() FROM {_STAGE} s WHERE s.person_id IS NOT NULL AND p.id = s.person_id '
    "RETURNING p.id), "
    f'inserted AS (INSERT INTO "person" ({_COLUMNS}, "created_at", "updated_at") SELECT '
    + ", ".join(f's."{column}"' for column in PERSON_COLUMNS)
    + f", now(), now() FROM {_STAGE} s WHERE s.person_id IS NULL ON CONFLICT (document_key) DO NOTHING "
    "RETURNING id, document_key) "
    "SELECT id, document_key FROM inserted UNION ALL SELECT id, NULL FROM updated"
)


async def _write_postgres(connection: BaseDBAsyncClient, plan: PersonPlan) -> tuple[int, int]:
    """COPY the batch into the staging table, then `_MERGE` (resolvers/imports/staging.py)."""
    records = [_record(values) for _, values in plan.inserts]
    records += [_record(values, person_id) for _, person_id, values in plan.updates]
    if not records:
        return 0, 0
    async with connection.acquire_connection() as raw:
        await copy_rows(connection, raw, _STAGE, _STAGE_DEFINITION, ("person_id", *PERSON_COLUMNS), records)
        written = await fetch(connection, raw, _MERGE)
    updated = 0
    for person_id, key in written:
        if key is None:
            updated += 1
        else:
            plan.ids[key] = person_id
    kept = []
    for row, values in plan.inserts:
        if str(values["document"]) in plan.ids:
            kept.append((row, values))
        else:
            plan.errors.append(RowError(
                row.number, row.columns.get("document", "document"), PersonErrorCode.DUPLICATE_DOCUMENT.value,
                "A person with this document was created meanwhile (import with UPSERT to update it).",
            ))
    plan.inserts = kept
    return len(kept), updated
