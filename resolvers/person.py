"""Persons: create, update, list with filters, and suspect → prospect conversion."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.company import Company
from models.person import Person, PersonConversion, PersonKind, PersonStage
from models.user import Role
from resolvers.bounds import search_term
from resolvers.context import Context
from resolvers.documents import (
    digits,
    fold,
    is_valid_cnpj,
    is_valid_cpf,
    is_valid_email,
    normalize_phone,
    search_needle,
)
from resolvers.errors import PersonError, PersonErrorCode
from resolvers.pagination import Ordering, Page, PageArgs, paginate

MAX_CONTACTS = 10


@dataclass(frozen=True)
class PersonInput:
    kind: PersonKind | None = None
    name: str | None = None
    document: str | None = None
    phones: list[str] | None = None
    emails: list[str] | None = None
    stage: PersonStage | None = None
    company_id: int | None = None
    clear_company: bool = False
    do_not_call: bool | None = None
    # The record ("dados cadastrais"): None keeps a field; "" clears a text.
    cep: str | None = None
    street: str | None = None
    address_number: str | None = None
    city: str | None = None
    state: str | None = None
    birth_date: date | None = None
    clear_birth_date: bool = False
    notes: str | None = None

    def given(self) -> set[str]:
        """The API names of the fields this input changes (AGENT_PERSON_EDIT's names)."""
        names = {name for name in ("kind", "name", "document", "phones", "emails", "stage", "notes")
                 if getattr(self, name) is not None}
        if self.company_id is not None or self.clear_company:
            names.add("companyId")
        if self.do_not_call is not None:
            names.add("doNotCall")
        if any(getattr(self, name) is not None for name in ("cep", "street", "address_number", "city", "state")):
            names.add("address")
        if self.birth_date is not None or self.clear_birth_date:
            names.add("birthDate")
        return names


class PersonOrderField(str, Enum):
    NAME = "NAME"
    CREATED_AT = "CREATED_AT"


@dataclass(frozen=True)
class PersonOrder:
    field: PersonOrderField
    descending: bool = False


def person_ordering(order: PersonOrder | None) -> Ordering:
    if order is None:
        return Ordering("person")
    if order.field == PersonOrderField.NAME:
        return Ordering("person", "name", order.descending)
    return Ordering.by_time("person", "created_at", order.descending)


@dataclass(frozen=True)
class PersonFilter:
    text: str | None = None
    stage: PersonStage | None = None
    company_id: int | None = None
    include_converted: bool = False
    city: str | None = None
    cep: str | None = None


@dataclass(frozen=True)
class Conversion:
    prospect: Person
    suspect: Person | None
    suspect_deleted: bool


def visible_persons(ctx: Context) -> QuerySet[Person]:
    """The persons `Scope.sees_person` lets the caller see, as a queryset."""
    user = ctx.require_user()
    if ctx.scope.own_company_only:
        return Person.filter(company_id=user.company_id)
    return Person.all()


async def list_persons(
    ctx: Context, where: PersonFilter, page: PageArgs, order: PersonOrder | None = None
) -> Page[Person]:
    queryset = visible_persons(ctx)
    term = search_term(where.text)
    if term:
        queryset = queryset.filter(search_text__contains=search_needle(term))
    if where.stage is not None:
        queryset = queryset.filter(stage=where.stage)
    if where.company_id is not None:
        queryset = queryset.filter(company_id=where.company_id)
    if not where.include_converted:
        queryset = queryset.filter(converted_to_id__isnull=True)
    city = search_term(where.city)
    if city:
        queryset = queryset.filter(city_key=fold(city))
    cep = search_term(where.cep)
    if cep:
        # A whole CEP, or its first digits (a region: "01310" is Avenida Paulista's sector).
        queryset = queryset.filter(cep__startswith=digits(cep) or "-")
    return await paginate(queryset, person_ordering(order), page, ctx.settings.max_page_size)


async def get_person(ctx: Context, person_id: int) -> Person | None:
    return await visible_persons(ctx).get_or_none(id=person_id)


def search_text(name: str, document: str, phones: list[str]) -> str:
    return " ".join([fold(name), document, *(digits(phone) for phone in phones)])


def _clean_document(kind: PersonKind, document: str) -> str:
    valid = is_valid_cpf(document) if kind == PersonKind.NATURAL else is_valid_cnpj(document)
    if not valid:
        label = "CPF" if kind == PersonKind.NATURAL else "CNPJ"
        raise PersonError(
            PersonErrorCode.INVALID_DOCUMENT,
            f"Document is not a valid {label} (a {kind.value.lower()} person needs a {label}).",
            "document",
        )
    return digits(document)


def clean_phones(given: list[str]) -> list[str]:
    if len(given) > MAX_CONTACTS:
        raise PersonError(PersonErrorCode.INVALID_PHONE, f"At most {MAX_CONTACTS} phones.", "phones")
    phones = []
    for phone in given:
        normalized = normalize_phone(phone)
        if normalized is None:
            raise PersonError(PersonErrorCode.INVALID_PHONE, f"{phone!r} is not a phone number.", "phones")
        phones.append(normalized)
    return phones


def clean_emails(given: list[str]) -> list[str]:
    if len(given) > MAX_CONTACTS:
        raise PersonError(PersonErrorCode.INVALID_EMAIL, f"At most {MAX_CONTACTS} e-mails.", "emails")
    emails = [email.strip() for email in given]
    for email in emails:
        if not is_valid_email(email):
            raise PersonError(PersonErrorCode.INVALID_EMAIL, f"{email!r} is not an e-mail.", "emails")
    return emails


def clean_contacts(data: PersonInput) -> dict[str, object]:
    values: dict[str, object] = {}
    if data.phones is not None:
        values["phones"] = clean_phones(data.phones)
    if data.emails is not None:
        values["emails"] = clean_emails(data.emails)
    return values


async def _resolve_company(ctx: Context, data: PersonInput, current: Person | None) -> dict[str, object]:
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        if data.clear_company or (data.company_id is not None and data.company_id != user.company_id):
            raise PersonError(
                PersonErrorCode.FORBIDDEN, "Company reps manage persons of their own company only.", "companyId"
            )
        return {"company_id": user.company_id}
    if data.clear_company:
        return {"company_id": None}
    if data.company_id is None:
        return {}
    if not await Company.filter(id=data.company_id).exists():
        raise PersonError(PersonErrorCode.UNKNOWN_COMPANY, "No such company.", "companyId")
    return {"company_id": data.company_id}


DOCUMENT_UNAVAILABLE = "This document cannot be registered by your company: ask the operator."


async def _ensure_document_free(ctx: Context, document: str, person_id: int | None) -> None:
    """A document belongs to one live person in the whole operation. A caller who may not see its
    holder (a rep, for a person outside their company) learns only that it is not theirs to
    register: the same refusal whoever holds it, naming no row."""
    clash = Person.filter(document_key=document)
    if person_id is not None:
        clash = clash.exclude(id=person_id)
    holders = await clash.values_list("company_id", flat=True)
    if holders:
        raise _document_taken(ctx, holders[0])


def _document_taken(ctx: Context, holder_company_id: int | None) -> PersonError:
    if ctx.scope.sees_person(holder_company_id):
        return PersonError(PersonErrorCode.DUPLICATE_DOCUMENT, "A person with this document exists.", "document")
    return PersonError(PersonErrorCode.FORBIDDEN, DOCUMENT_UNAVAILABLE, "document")


async def _clash_error(ctx: Context, document: str, person_id: int | None) -> PersonError:
    """The refusal for a write the unique document index turned down (a concurrent writer won)."""
    holder = await Person.filter(document_key=document).exclude(id=person_id or 0).values_list("company_id", flat=True)
    return _document_taken(ctx, holder[0] if holder else None)


def _clean_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 200:
        raise PersonError(PersonErrorCode.INVALID, "Name must have 1 to 200 characters.", "name")
    return cleaned


def new_person_values(data: PersonInput) -> dict[str, object]:
    """The columns of a new person from `data`, checked without the database (kind, name, document,
    phones, e-mails, stage), or the PersonError that refuses it."""
    return person_values(data.kind, data.name, data.document, data.phones, data.emails, data.stage, data.do_not_call)


def person_values(
    kind: PersonKind | None, name: str | None, document: str | None, phones: list[str] | None,
    emails: list[str] | None, stage: PersonStage | None, do_not_call: bool | None,
) -> dict[str, object]:
    """`new_person_values` from plain values: imports check each row with it, without a PersonInput."""
    if kind is None or name is None or document is None:
        missing = "kind" if kind is None else "name" if name is None else "document"
        raise PersonError(PersonErrorCode.INVALID, f"{missing} is required.", missing)
    key = _clean_document(kind, document)
    cleaned_name = _clean_name(name)
    cleaned_phones = clean_phones(phones) if phones is not None else []
    return {
        "kind": kind,
        "name": cleaned_name,
        "document": key,
        "document_key": key,
        "stage": stage or PersonStage.SUSPECT,
        "do_not_call": bool(do_not_call),
        "phones": cleaned_phones,
        "emails": clean_emails(emails) if emails is not None else [],
        "search_text": search_text(cleaned_name, key, cleaned_phones),
    }


UFS = frozenset(
    ["AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO"]
)
_RECORD_TEXT = {"street": 200, "address_number": 20, "city": 100, "notes": 4000}
_API_NAME = {"street": "street", "address_number": "addressNumber", "city": "city", "notes": "notes"}


def record_values(data: PersonInput) -> dict[str, object]:
    """The record's columns ("dados cadastrais") that `data` changes, checked."""
    values: dict[str, object] = {}
    if data.cep is not None:
        cep = digits(data.cep)
        if data.cep.strip() and (len(cep) != 8 or len(data.cep.strip()) > 9):
            raise PersonError(PersonErrorCode.INVALID_CEP, "A CEP has 8 digits (00000-000).", "cep")
        values["cep"] = cep or None
    for column, limit in _RECORD_TEXT.items():
        value = getattr(data, column)
        if value is not None:
            value = value.strip()
            if len(value) > limit:
                raise PersonError(
                    PersonErrorCode.INVALID, f"{_API_NAME[column]} takes {limit} characters.", _API_NAME[column]
                )
            values[column] = value
    if "city" in values:
        values["city_key"] = fold(str(values["city"]))
    if data.state is not None:
        state = data.state.strip().upper()
        if state and state not in UFS:
            raise PersonError(PersonErrorCode.INVALID_STATE, f"{data.state!r} is not a Brazilian state (UF).", "state")
        values["state"] = state
    if data.clear_birth_date:
        values["birth_date"] = None
    elif data.birth_date is not None:
        if data.birth_date > date.today() or data.birth_date.year < 1800:
            raise PersonError(PersonErrorCode.INVALID_DATE, "The date is in the future or before 1800.", "birthDate")
        values["birth_date"] = data.birth_date
    return values


def check_agent_edit(ctx: Context, data: PersonInput) -> None:
    """AGENT_PERSON_EDIT: which fields agents may change on a person (all, none, or some)."""
    allowed = ctx.settings.agent_person_edit
    if ctx.require_user().role != Role.AGENT or allowed is None:
        return
    refused = sorted(data.given() - allowed)
    if refused:
        raise PersonError(
            PersonErrorCode.FIELD_NOT_EDITABLE,
            "Agents may not change this field of a person (AGENT_PERSON_EDIT).",
            refused[0],
        )


def check_stage_change(current: PersonStage, new: PersonStage) -> None:
    if new != current and PersonStage.SUSPECT in (new, current):
        raise PersonError(
            PersonErrorCode.INVALID_STAGE_CHANGE,
            "A suspect becomes a prospect only through personConvert; no one goes back to suspect.",
            "stage",
        )


async def create_person(ctx: Context, data: PersonInput) -> Person:
    ctx.require_user()
    values = new_person_values(data)
    values.update(record_values(data))
    document = str(values["document"])
    values.update(await _resolve_company(ctx, data, None))
    await _ensure_document_free(ctx, document, None)
    try:
        async with in_transaction():
            return await Person.create(**values)
    except IntegrityError:
        raise await _clash_error(ctx, document, None) from None


async def update_person(ctx: Context, person_id: int, data: PersonInput) -> Person:
    ctx.require_user()
    person = await get_person(ctx, person_id)
    if person is None:
        raise PersonError(PersonErrorCode.NOT_FOUND, "No such person.", "id")
    check_agent_edit(ctx, data)
    if person.converted_to_id is not None:
        raise PersonError(PersonErrorCode.INVALID, "This suspect was converted; edit the prospect.", "id")
    values: dict[str, object] = {}
    kind = data.kind or person.kind
    if data.name is not None:
        values["name"] = _clean_name(data.name)
    if data.kind is not None or data.document is not None:
        document = _clean_document(kind, data.document if data.document is not None else person.document)
        values.update(kind=kind, document=document, document_key=document)
        await _ensure_document_free(ctx, document, person.pk)
    if data.stage is not None and data.stage != person.stage:
        check_stage_change(person.stage, data.stage)
        values["stage"] = data.stage
    if data.do_not_call is not None:
        values["do_not_call"] = data.do_not_call
    values.update(clean_contacts(data))
    values.update(record_values(data))
    values.update(await _resolve_company(ctx, data, person))
    person.update_from_dict(values)
    person.search_text = search_text(person.name, person.document, person.phones)
    try:
        async with in_transaction():
            await person.save()
    except IntegrityError:
        raise await _clash_error(ctx, person.document, person.pk) from None
    return person


def _person_references() -> list[tuple[type[Model], str]]:
    """Every foreign key to Person (history: operations, memberships…), found from the model registry."""
    references: list[tuple[type[Model], str]] = []
    for name in Person._meta.backward_fk_fields:
        relation = Person._meta.fields_map[name]
        if name != "converted_from":
            references.append((relation.related_model, relation.relation_field))
    return references


def deletes_suspect(ctx: Context, delete_suspect: bool | None) -> bool:
    """Whether a conversion deletes the suspect, as SUSPECT_CONVERSION says (ASK: the caller's word)."""
    mode = ctx.settings.suspect_conversion.value
    if mode == "ASK":
        if delete_suspect is None:
            raise PersonError(
                PersonErrorCode.DELETE_SUSPECT_REQUIRED,
                "Say whether to delete the suspect (deleteSuspect): the operation is configured to ask.",
                "deleteSuspect",
            )
        return delete_suspect
    return mode == "DELETE"


async def convert_person(ctx: Context, person_id: int, delete_suspect: bool | None) -> Conversion:
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        raise PersonError(PersonErrorCode.FORBIDDEN, "Company reps cannot convert suspects.")
    return await convert_suspect(person_id, deletes_suspect(ctx, delete_suspect), user.pk)


async def convert_suspect(person_id: int, delete: bool, actor_id: int | None = None) -> Conversion:
    """The conversion itself, in its own transaction, or a savepoint of the caller's (operationRecord),
    recorded for the persons' timelines (PersonConversion) in the same transaction."""
    async with in_transaction():
        suspect = await Person.get_or_none(id=person_id)
        if suspect is None:
            raise PersonError(PersonErrorCode.NOT_FOUND, "No such person.", "id")
        # The conditional update is the claim: of two concurrent conversions, one wins.
        claimed = await Person.filter(
            id=person_id, stage=PersonStage.SUSPECT, converted_to_id__isnull=True
        ).update(document_key=None)
        if not claimed:
            raise PersonError(PersonErrorCode.NOT_A_SUSPECT, "Only a suspect can be converted.", "id")
        prospect = await Person.create(
            kind=suspect.kind,
            name=suspect.name,
            document=suspect.document,
            document_key=suspect.document,
            phones=suspect.phones,
            emails=suspect.emails,
            stage=PersonStage.PROSPECT,
            company_id=suspect.company_id,
            do_not_call=suspect.do_not_call,
            search_text=suspect.search_text,
        )
        for model, column in _person_references():
            await model.filter(**{column: suspect.pk}).update(**{column: prospect.pk})
        await PersonConversion.create(
            suspect_id=suspect.pk, prospect_id=prospect.pk, actor_id=actor_id, suspect_deleted=delete
        )
        if delete:
            await suspect.delete()
            return Conversion(prospect=prospect, suspect=None, suspect_deleted=True)
        await Person.filter(id=suspect.pk).update(converted_to_id=prospect.pk)
        suspect.converted_to_id = prospect.pk
        suspect.document_key = None
        return Conversion(prospect=prospect, suspect=suspect, suspect_deleted=False)
