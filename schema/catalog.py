"""Outbound catalogs on the GraphQL surface: types, lists, create / update / deactivate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.catalog import ContactChannel
from models.outbound import ActionType, ContactResult, Justification, NoContactReason, Script
from models.outbound import ResultKind as ResultKindModel
from resolvers import catalog as use_cases
from resolvers import errors as domain
from resolvers import script as scripts
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.inputs import NamedInput, NamedUpdateInput
from schema.pagination import Connection

ResultKind = strawberry.enum(ResultKindModel, name="ResultKind")
CatalogErrorCode = strawberry.enum(domain.CatalogErrorCode, name="CatalogErrorCode")
ScriptAnswerType = strawberry.enum(scripts.AnswerType, name="ScriptAnswerType")


@strawberry.type
class CatalogError(Error):
    code: CatalogErrorCode  # type: ignore[valid-type]


def _id(pk: int) -> strawberry.ID:
    return strawberry.ID(str(pk))


@strawberry.type(name="ContactChannel", description="How a contact happens: phone, e-mail, portal, WhatsApp…")
class ContactChannelType:
    id: strawberry.ID
    name: str
    active: bool
    created_at: datetime

    @classmethod
    def from_row(cls, row: ContactChannel) -> ContactChannelType:
        return cls(id=_id(row.pk), name=row.name, active=row.active, created_at=row.created_at)


@strawberry.type(name="ContactResult", description="Outcome of an operation. SUCCESS and FAILURE conclude.")
class ContactResultType:
    id: strawberry.ID
    name: str
    kind: ResultKind  # type: ignore[valid-type]
    active: bool
    recycle_after_minutes: int | None = strawberry.field(
        description="A FAILURE with a recycle rule retries the member after this many minutes…"
    )
    recycle_max_attempts: int | None = strawberry.field(description="…while it has had fewer attempts.")

    @classmethod
    def from_row(cls, row: ContactResult) -> ContactResultType:
        return cls(
            id=_id(row.pk), name=row.name, kind=row.kind, active=row.active,
            recycle_after_minutes=row.recycle_after_minutes, recycle_max_attempts=row.recycle_max_attempts,
        )

    @strawberry.field(description="Justifications allowed for this result (active ones).")
    async def justifications(self, info: Info) -> list[JustificationType]:
        links = await info.context.loaders.justification_links_by_result.load(int(self.id))
        rows = await info.context.loaders.justification_by_id.load_many([link.justification_id for link in links])
        return [JustificationType.from_row(row) for row in rows if row is not None and row.active]


@strawberry.type(name="Justification")
class JustificationType:
    id: strawberry.ID
    name: str
    active: bool

    @classmethod
    def from_row(cls, row: Justification) -> JustificationType:
        return cls(id=_id(row.pk), name=row.name, active=row.active)

    @strawberry.field(description="Results this justification may be chosen for.")
    async def results(self, info: Info) -> list[ContactResultType]:
        links = await info.context.loaders.result_links_by_justification.load(int(self.id))
        rows = await info.context.loaders.contact_result_by_id.load_many([link.result_id for link in links])
        return [ContactResultType.from_row(row) for row in rows if row is not None]


@strawberry.type(
    description="After this answer (null: any other answer, or none), go to goTo (a question's key), or end the "
    "script when goTo is null."
)
class ScriptBranch:
    answer: str | None
    go_to: str | None


@strawberry.type(
    description="A dynamic script's question. After it, the branch on its answer says where to go; failing that, "
    "its otherwise branch (answer: null, which also applies when it is left unanswered); failing that, the next "
    "question in order."
)
class ScriptQuestion:
    key: str
    prompt: str
    type: ScriptAnswerType  # type: ignore[valid-type]
    required: bool = strawberry.field(description="Must be answered when the path reaches it.")
    options: list[str] = strawberry.field(description="CHOICE only.")
    branches: list[ScriptBranch]


@strawberry.type(name="Script")
class ScriptType:
    id: strawberry.ID
    title: str
    body: str = strawberry.field(description="Placeholders: {person.name}, {person.document}, {campaign.name}…")
    active: bool
    questions: list[ScriptQuestion] = strawberry.field(
        description="A dynamic script's questions, in order (empty: a plain text script)."
    )

    @classmethod
    def from_row(cls, row: Script) -> ScriptType:
        return cls(
            id=_id(row.pk), title=row.title, body=row.body, active=row.active,
            questions=[
                ScriptQuestion(
                    key=q["key"], prompt=q["prompt"], type=scripts.AnswerType(q["type"]), required=q["required"],
                    options=list(q["options"]),
                    branches=[ScriptBranch(answer=b["answer"], go_to=b["go_to"]) for b in q["branches"]],
                )
                for q in row.questions or []
            ],
        )


@strawberry.type(name="ActionType")
class ActionTypeType:
    id: strawberry.ID
    name: str
    active: bool
    script_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: ActionType) -> ActionTypeType:
        return cls(id=_id(row.pk), name=row.name, active=row.active, script_id=row.script_id)

    @strawberry.field
    async def script(self, info: Info) -> ScriptType | None:
        if self.script_id is None:
            return None
        row = await info.context.loaders.script_by_id.load(self.script_id)
        return ScriptType.from_row(row) if row else None


@strawberry.type(name="NoContactReason")
class NoContactReasonType:
    id: strawberry.ID
    name: str
    requires_callback: bool = strawberry.field(description="An attempt with this reason needs callbackAt.")
    active: bool

    @classmethod
    def from_row(cls, row: NoContactReason) -> NoContactReasonType:
        return cls(id=_id(row.pk), name=row.name, requires_callback=row.requires_callback, active=row.active)


@strawberry.input
class ContactResultInput:
    name: str
    kind: ResultKind  # type: ignore[valid-type]
    recycle_after_minutes: int | None = None
    recycle_max_attempts: int | None = None


@strawberry.input
class ContactResultUpdateInput:
    name: str | None = None
    kind: ResultKind | None = None  # type: ignore[valid-type]
    recycle_after_minutes: int | None = None
    recycle_max_attempts: int | None = None
    clear_recycle: bool = strawberry.field(default=False, description="Remove the recycle rule.")
    active: bool | None = None


@strawberry.input
class JustificationInput:
    name: str
    result_ids: list[strawberry.ID] = strawberry.field(description="At most 100.")


@strawberry.input
class JustificationUpdateInput:
    name: str | None = None
    result_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Replaces the list.")
    active: bool | None = None


@strawberry.input
class ScriptBranchInput:
    answer: str | None = strawberry.field(
        default=None,
        description="An answer the question accepts (CHOICE: one of its options); null: otherwise (any other "
        "answer, or none).",
    )
    go_to: str | None = strawberry.field(
        default=None, description="A later question's key; null ends the script."
    )


@strawberry.input
class ScriptQuestionInput:
    key: str = strawberry.field(description="Unique in the script: a letter, then up to 39 letters, digits or _.")
    prompt: str
    type: ScriptAnswerType  # type: ignore[valid-type]
    required: bool = False
    options: list[str] = strawberry.field(default_factory=list, description="CHOICE only, at least one.")
    branches: list[ScriptBranchInput] = strawberry.field(default_factory=list)


_QUESTIONS = "A dynamic script's questions, in order (at most 100)."


@strawberry.input
class ScriptInput:
    title: str
    body: str
    questions: list[ScriptQuestionInput] = strawberry.field(default_factory=list, description=_QUESTIONS)


@strawberry.input
class ScriptUpdateInput:
    title: str | None = None
    body: str | None = None
    active: bool | None = None
    questions: list[ScriptQuestionInput] | None = strawberry.field(
        default=None, description=_QUESTIONS + " Replaces the list ([]: a plain text script)."
    )


def _questions(values: list[ScriptQuestionInput] | None) -> list[scripts.QuestionInput] | None:
    if values is None:
        return None
    return [
        scripts.QuestionInput(
            key=value.key, prompt=value.prompt, type=scripts.AnswerType(value.type.value), required=value.required,
            options=list(value.options),
            branches=[scripts.BranchInput(answer=b.answer, go_to=b.go_to) for b in value.branches],
        )
        for value in values
    ]


@strawberry.input
class ActionTypeInput:
    name: str
    script_id: strawberry.ID | None = None


@strawberry.input
class ActionTypeUpdateInput:
    name: str | None = None
    script_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the script; leave out to keep it."
    )
    active: bool | None = None


@strawberry.input
class NoContactReasonInput:
    name: str
    requires_callback: bool = False


@strawberry.input
class NoContactReasonUpdateInput:
    name: str | None = None
    requires_callback: bool | None = None
    active: bool | None = None


ContactChannelResult = Annotated[ContactChannelType | CatalogError, strawberry.union("ContactChannelResult")]
ContactResultResult = Annotated[ContactResultType | CatalogError, strawberry.union("ContactResultResult")]
JustificationResult = Annotated[JustificationType | CatalogError, strawberry.union("JustificationResult")]
ScriptResult = Annotated[ScriptType | CatalogError, strawberry.union("ScriptResult")]
ActionTypeResult = Annotated[ActionTypeType | CatalogError, strawberry.union("ActionTypeResult")]
NoContactReasonResult = Annotated[NoContactReasonType | CatalogError, strawberry.union("NoContactReasonResult")]

_INACTIVE = strawberry.argument(description="Also list deactivated entries.")


@strawberry.type
class CatalogQuery:
    @strawberry.field
    async def contact_channels(
        self, info: Info, include_inactive: Annotated[bool, _INACTIVE] = False,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ContactChannelType]:
        page = await use_cases.list_entries(info.context, ContactChannel, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ContactChannelType.from_row)

    @strawberry.field
    async def contact_results(
        self, info: Info, include_inactive: Annotated[bool, _INACTIVE] = False,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ContactResultType]:
        page = await use_cases.list_entries(info.context, ContactResult, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ContactResultType.from_row)

    @strawberry.field
    async def justifications(
        self, info: Info, result_id: strawberry.ID | None = None,
        include_inactive: Annotated[bool, _INACTIVE] = False, first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[JustificationType]:
        page = await use_cases.list_justifications(
            info.context, optional_pk(result_id), include_inactive, PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, JustificationType.from_row)

    @strawberry.field
    async def scripts(
        self, info: Info, include_inactive: Annotated[bool, _INACTIVE] = False,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ScriptType]:
        page = await use_cases.list_entries(info.context, Script, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ScriptType.from_row)

    @strawberry.field
    async def action_types(
        self, info: Info, include_inactive: Annotated[bool, _INACTIVE] = False,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ActionTypeType]:
        page = await use_cases.list_entries(info.context, ActionType, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ActionTypeType.from_row)

    @strawberry.field
    async def no_contact_reasons(
        self, info: Info, include_inactive: Annotated[bool, _INACTIVE] = False,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[NoContactReasonType]:
        page = await use_cases.list_entries(info.context, NoContactReason, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, NoContactReasonType.from_row)


def _ids(values: list[strawberry.ID] | None) -> list[int] | None:
    return None if values is None else [to_pk(value) for value in values]


Data = use_cases.CatalogInput


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(description="Admins and supervisors.")
    async def contact_channel_create(self, info: Info, input: NamedInput) -> ContactChannelResult:
        row = await use_cases.create_entry(info.context, ContactChannel, Data(name=input.name))
        return ContactChannelType.from_row(row)

    @strawberry.mutation
    async def contact_channel_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> ContactChannelResult:
        data = Data(name=input.name, active=input.active)
        return ContactChannelType.from_row(await use_cases.update_entry(info.context, ContactChannel, to_pk(id), data))

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def contact_channel_deactivate(self, info: Info, id: strawberry.ID) -> ContactChannelResult:
        return ContactChannelType.from_row(await use_cases.deactivate_entry(info.context, ContactChannel, to_pk(id)))

    @strawberry.mutation(description="Admins and supervisors.")
    async def contact_result_create(self, info: Info, input: ContactResultInput) -> ContactResultResult:
        data = Data(
            name=input.name, kind=input.kind, recycle_after_minutes=input.recycle_after_minutes,
            recycle_max_attempts=input.recycle_max_attempts,
        )
        return ContactResultType.from_row(await use_cases.create_entry(info.context, ContactResult, data))

    @strawberry.mutation
    async def contact_result_update(
        self, info: Info, id: strawberry.ID, input: ContactResultUpdateInput
    ) -> ContactResultResult:
        data = Data(
            name=input.name, kind=input.kind, recycle_after_minutes=input.recycle_after_minutes,
            recycle_max_attempts=input.recycle_max_attempts, clear_recycle=input.clear_recycle, active=input.active,
        )
        return ContactResultType.from_row(await use_cases.update_entry(info.context, ContactResult, to_pk(id), data))

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def contact_result_deactivate(self, info: Info, id: strawberry.ID) -> ContactResultResult:
        return ContactResultType.from_row(await use_cases.deactivate_entry(info.context, ContactResult, to_pk(id)))

    @strawberry.mutation(description="Admins and supervisors.")
    async def justification_create(self, info: Info, input: JustificationInput) -> JustificationResult:
        data = Data(name=input.name, result_ids=_ids(input.result_ids))
        return JustificationType.from_row(await use_cases.create_entry(info.context, Justification, data))

    @strawberry.mutation
    async def justification_update(
        self, info: Info, id: strawberry.ID, input: JustificationUpdateInput
    ) -> JustificationResult:
        data = Data(name=input.name, result_ids=_ids(input.result_ids), active=input.active)
        return JustificationType.from_row(await use_cases.update_entry(info.context, Justification, to_pk(id), data))

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def justification_deactivate(self, info: Info, id: strawberry.ID) -> JustificationResult:
        return JustificationType.from_row(await use_cases.deactivate_entry(info.context, Justification, to_pk(id)))

    @strawberry.mutation(description="Admins and supervisors.")
    async def script_create(self, info: Info, input: ScriptInput) -> ScriptResult:
        data = Data(title=input.title, body=input.body, questions=_questions(input.questions))
        return ScriptType.from_row(await use_cases.create_entry(info.context, Script, data))

    @strawberry.mutation
    async def script_update(self, info: Info, id: strawberry.ID, input: ScriptUpdateInput) -> ScriptResult:
        data = Data(title=input.title, body=input.body, active=input.active, questions=_questions(input.questions))
        return ScriptType.from_row(await use_cases.update_entry(info.context, Script, to_pk(id), data))

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def script_deactivate(self, info: Info, id: strawberry.ID) -> ScriptResult:
        return ScriptType.from_row(await use_cases.deactivate_entry(info.context, Script, to_pk(id)))

    @strawberry.mutation(description="Admins and supervisors.")
    async def action_type_create(self, info: Info, input: ActionTypeInput) -> ActionTypeResult:
        data = Data(name=input.name, script_id=optional_pk(input.script_id))
        return ActionTypeType.from_row(await use_cases.create_entry(info.context, ActionType, data))

    @strawberry.mutation
    async def action_type_update(
        self, info: Info, id: strawberry.ID, input: ActionTypeUpdateInput
    ) -> ActionTypeResult:
        data = Data(
            name=input.name, script_id=optional_pk(input.script_id or None),
            clear_script=input.script_id is None, active=input.active,
        )
        return ActionTypeType.from_row(await use_cases.update_entry(info.context, ActionType, to_pk(id), data))

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def action_type_deactivate(self, info: Info, id: strawberry.ID) -> ActionTypeResult:
        return ActionTypeType.from_row(await use_cases.deactivate_entry(info.context, ActionType, to_pk(id)))

    @strawberry.mutation(description="Admins and supervisors.")
    async def no_contact_reason_create(self, info: Info, input: NoContactReasonInput) -> NoContactReasonResult:
        data = Data(name=input.name, requires_callback=input.requires_callback)
        return NoContactReasonType.from_row(await use_cases.create_entry(info.context, NoContactReason, data))

    @strawberry.mutation
    async def no_contact_reason_update(
        self, info: Info, id: strawberry.ID, input: NoContactReasonUpdateInput
    ) -> NoContactReasonResult:
        data = Data(name=input.name, requires_callback=input.requires_callback, active=input.active)
        row = await use_cases.update_entry(info.context, NoContactReason, to_pk(id), data)
        return NoContactReasonType.from_row(row)

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def no_contact_reason_deactivate(self, info: Info, id: strawberry.ID) -> NoContactReasonResult:
        return NoContactReasonType.from_row(
            await use_cases.deactivate_entry(info.context, NoContactReason, to_pk(id))
        )


HANDLERS = [DomainErrorHandler(domain.CatalogError, CatalogError)]
