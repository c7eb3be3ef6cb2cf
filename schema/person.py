from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models.person import Person
from models.person import PersonKind as PersonKindModel
from models.person import PersonStage as PersonStageModel
from resolvers import person as use_cases
from resolvers import person_lists
from resolvers.do_not_call import callable_phones, register_key
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.company import CompanyType
from schema.errors import PersonError
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection, OrderDirection

if TYPE_CHECKING:
    from schema.campaign import CampaignMemberType
    from schema.operation import OperationType
    from schema.ticket.types import TicketType
    from schema.timeline import PersonTimelineConnection, TimelineKind

PersonKind = strawberry.enum(PersonKindModel, name="PersonKind")
PersonStage = strawberry.enum(PersonStageModel, name="PersonStage")


@strawberry.type(name="Person")
class PersonType:
    id: strawberry.ID
    kind: PersonKind  # type: ignore[valid-type]
    name: str
    document: str = strawberry.field(description="CPF (natural) or CNPJ (legal), digits only.")
    phones: list[str]
    emails: list[str]
    stage: PersonStage  # type: ignore[valid-type]
    do_not_call: bool
    created_at: datetime
    updated_at: datetime
    cep: str | None = strawberry.field(description="Postal code (CEP), 8 digits.")
    street: str
    address_number: str
    city: str
    state: str = strawberry.field(description="Two-letter state (UF); empty when unknown.")
    birth_date: date | None = strawberry.field(description="Birth date; a legal person's foundation date.")
    notes: str
    company_id: strawberry.Private[int | None]
    converted_to_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Person) -> PersonType:
        return cls(
            id=strawberry.ID(str(row.pk)),
            kind=row.kind,
            name=row.name,
            document=row.document,
            phones=list(row.phones or []),
            emails=list(row.emails or []),
            stage=row.stage,
            do_not_call=row.do_not_call,
            created_at=row.created_at,
            updated_at=row.updated_at,
            cep=row.cep,
            street=row.street,
            address_number=row.address_number,
            city=row.city,
            state=row.state,
            birth_date=row.birth_date,
            notes=row.notes,
            company_id=row.company_id,
            converted_to_id=row.converted_to_id,
        )

    @strawberry.field(
        description="The phones that may be called now: none when the person opted out (doNotCall), and never "
        "one on the do-not-call register. `phones` is the record as entered, blocked numbers included."
    )
    async def callable_phones(self, info: Info) -> list[str]:
        if self.do_not_call or not self.phones:
            return []
        keys = [register_key(phone) or phone for phone in self.phones]
        found = await info.context.loaders.listed_by_number.load_many(keys)
        return callable_phones(self.phones, self.do_not_call, {key for key, on in zip(keys, found, strict=True) if on})

    @strawberry.field
    async def company(self, info: Info) -> CompanyType | None:
        if self.company_id is None:
            return None
        row = await info.context.loaders.company_by_id.load(self.company_id)
        return CompanyType.from_row(row) if row else None

    @strawberry.field(description="For a suspect kept after conversion: the prospect made from it.")
    async def converted_to(self, info: Info) -> PersonType | None:
        if self.converted_to_id is None:
            return None
        row = await info.context.loaders.person_by_id.load(self.converted_to_id)
        return PersonType.from_row(row) if row else None

    @strawberry.field(
        description="Outbound operations with this person, newest first: agents see those of the campaigns they "
        "are assigned to, supervisors and admins all, company reps none."
    )
    async def operations(
        self, info: Info, campaign_id: strawberry.ID | None = None, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Annotated[OperationType, strawberry.lazy("schema.operation")]]:
        from schema.operation import person_operations

        return await person_operations(info, int(self.id), campaign_id, PageArgs(first, after, last, before))

    @strawberry.field(
        description="This person's tickets, newest first, as `tickets` shows them to the caller (a company rep: "
        "their company's; an agent: theirs and the unassigned ones)."
    )
    async def tickets(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
    ) -> Connection[Annotated[TicketType, strawberry.lazy("schema.ticket.types")]]:
        from schema.ticket.types import TicketType

        page = await person_lists.person_tickets(info.context, int(self.id), PageArgs(first, after, last, before))
        return Connection.from_page(page, TicketType.from_row)

    @strawberry.field(
        description="The campaigns this person is in (campaign, queue status, stage, next callback), oldest "
        "first: agents see those of the campaigns they are assigned to, supervisors and admins all, company "
        "reps none."
    )
    async def memberships(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
    ) -> Connection[Annotated[CampaignMemberType, strawberry.lazy("schema.campaign")]]:
        from schema.campaign import CampaignMemberType

        page = await person_lists.person_memberships(info.context, int(self.id), PageArgs(first, after, last, before))
        return Connection.from_page(page, CampaignMemberType.from_row)


    @strawberry.field(
        description="What happened with this person, newest first: operations, tickets opened, ticket messages "
        "and status changes, callbacks and conversions, merged by time (ties: by kind, then id). Each entry as "
        "the viewer may see it: agents, the operations and callbacks of their campaigns and the tickets they "
        "see; company reps, their company's tickets without internal notes; supervisors and admins, all. "
        "`kinds` keeps those sources only."
    )
    async def timeline(
        self, info: Info, first: int | None = None, after: str | None = None, last: int | None = None,
        before: str | None = None,
        kinds: list[Annotated[TimelineKind, strawberry.lazy("schema.timeline")]] | None = None,
    ) -> Annotated[PersonTimelineConnection, strawberry.lazy("schema.timeline")]:
        from schema.timeline import person_timeline

        return await person_timeline(info, int(self.id), PageArgs(first, after, last, before), kinds)


@strawberry.input
class PersonFilter:
    text: str | None = strawberry.field(default=None, description="Name, document or phone.")
    stage: PersonStage | None = None  # type: ignore[valid-type]
    company_id: strawberry.ID | None = None
    include_converted: bool = strawberry.field(
        default=False, description="Also list suspects kept after their conversion."
    )
    city: str | None = strawberry.field(default=None, description="The whole city name, case and accents aside.")
    cep: str | None = strawberry.field(default=None, description="A CEP, or its first digits (a region).")


PersonOrderField = strawberry.enum(use_cases.PersonOrderField, name="PersonOrderField")


@strawberry.input
class PersonOrder:
    field: PersonOrderField  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC


@strawberry.input
class PersonCreateInput:
    kind: PersonKind  # type: ignore[valid-type]
    name: str
    document: str
    phones: list[str] = strawberry.field(default_factory=list)
    emails: list[str] = strawberry.field(default_factory=list)
    stage: PersonStage = PersonStageModel.SUSPECT  # type: ignore[valid-type]
    company_id: strawberry.ID | None = None
    do_not_call: bool = False
    cep: str | None = None
    street: str | None = None
    address_number: str | None = None
    city: str | None = None
    state: str | None = None
    notes: str | None = None
    birth_date: date | None = None


@strawberry.input
class PersonUpdateInput:
    kind: PersonKind | None = None  # type: ignore[valid-type]
    name: str | None = None
    document: str | None = None
    phones: list[str] | None = None
    emails: list[str] | None = None
    stage: PersonStage | None = None  # type: ignore[valid-type]
    company_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the company; leave out to keep it."
    )
    do_not_call: bool | None = None
    cep: str | None = None
    street: str | None = None
    address_number: str | None = None
    city: str | None = None
    state: str | None = None
    notes: str | None = None
    birth_date: date | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the date; leave out to keep it."
    )


@strawberry.type
class PersonConvertPayload:
    prospect: PersonType
    suspect: PersonType | None = strawberry.field(description="The kept suspect; null when deleted.")
    suspect_deleted: bool


PersonResult = Annotated[PersonType | PersonError, strawberry.union("PersonResult")]
PersonConvertResult = Annotated[PersonConvertPayload | PersonError, strawberry.union("PersonConvertResult")]


@strawberry.type
class PersonQuery:
    @strawberry.field(
        description="Persons the caller may see (a company rep: their company's), by id unless orderBy says "
        "otherwise; keyset pages both ways in every order."
    )
    async def persons(
        self,
        info: Info,
        filter: PersonFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: PersonOrder | None = None,
    ) -> Connection[PersonType]:
        where = filter or PersonFilter()
        page = await use_cases.list_persons(
            info.context,
            use_cases.PersonFilter(
                text=where.text,
                stage=where.stage,
                company_id=optional_pk(where.company_id),
                include_converted=where.include_converted,
                city=where.city,
                cep=where.cep,
            ),
            PageArgs(first, after, last, before),
            None if order_by is None else use_cases.PersonOrder(
                use_cases.PersonOrderField(order_by.field.value), descending=order_by.direction == OrderDirection.DESC
            ),
        )
        return Connection.from_page(page, PersonType.from_row)

    @strawberry.field
    async def person(self, info: Info, id: strawberry.ID) -> PersonType | None:
        row = await use_cases.get_person(info.context, to_pk(id))
        return PersonType.from_row(row) if row else None


def _record(input: PersonCreateInput | PersonUpdateInput) -> dict[str, str | None]:
    return {name: getattr(input, name) for name in ("cep", "street", "address_number", "city", "state", "notes")}


@strawberry.type
class PersonMutation:
    @strawberry.mutation
    async def person_create(self, info: Info, input: PersonCreateInput) -> PersonResult:
        data = use_cases.PersonInput(
            kind=input.kind,
            name=input.name,
            document=input.document,
            phones=input.phones,
            emails=input.emails,
            stage=input.stage,
            company_id=optional_pk(input.company_id),
            do_not_call=input.do_not_call,
            **_record(input),
            birth_date=input.birth_date,
        )
        return PersonType.from_row(await use_cases.create_person(info.context, data))

    @strawberry.mutation
    async def person_update(self, info: Info, id: strawberry.ID, input: PersonUpdateInput) -> PersonResult:
        data = use_cases.PersonInput(
            kind=input.kind,
            name=input.name,
            document=input.document,
            phones=input.phones,
            emails=input.emails,
            stage=input.stage,
            company_id=optional_pk(input.company_id or None),
            clear_company=input.company_id is None,
            do_not_call=input.do_not_call,
            **_record(input),
            birth_date=input.birth_date or None,
            clear_birth_date=input.birth_date is None,
        )
        return PersonType.from_row(await use_cases.update_person(info.context, to_pk(id), data))

    @strawberry.mutation(
        description="Suspect → prospect. Under suspectConversion=ASK, deleteSuspect must be given."
    )
    async def person_convert(
        self, info: Info, id: strawberry.ID, delete_suspect: bool | None = None
    ) -> PersonConvertResult:
        result = await use_cases.convert_person(info.context, to_pk(id), delete_suspect)
        return PersonConvertPayload(
            prospect=PersonType.from_row(result.prospect),
            suspect=PersonType.from_row(result.suspect) if result.suspect else None,
            suspect_deleted=result.suspect_deleted,
        )
