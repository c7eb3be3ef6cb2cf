"""Operations, callbacks, history, statistics and form rules on the GraphQL surface."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from models.operation import Callback, Operation
from models.operation import CallbackStatus as CallbackStatusModel
from models.operation import OperationOutcome as OperationOutcomeModel
from resolvers import errors as domain
from resolvers.operation import callbacks, forms, record, statistics
from resolvers.operation.handling import HandlingFigures
from resolvers.pagination import PageArgs
from resolvers.script import AnswerType
from schema.base import Info
from schema.campaign import CampaignMemberType, CampaignStageType, CampaignType, QueueStatusCount
from schema.catalog import (
    ActionTypeType,
    ContactChannelType,
    ContactResultType,
    JustificationType,
    NoContactReasonType,
    ScriptAnswerType,
    ScriptType,
)
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection
from schema.person import PersonType
from schema.user import UserType

CallbackStatus = strawberry.enum(CallbackStatusModel, name="CallbackStatus")
CallbackFor = strawberry.enum(record.CallbackFor, name="CallbackFor")
OperationErrorCode = strawberry.enum(domain.OperationErrorCode, name="OperationErrorCode")
OperationOutcome = strawberry.enum(
    OperationOutcomeModel,
    name="OperationOutcome",
    description="What an attempt came to: its result's kind, or NO_CONTACT when the person was not reached.",
)


@strawberry.type
class OperationError(Error):
    code: OperationErrorCode  # type: ignore[valid-type]


async def _load(info: Info, loader_name: str, key: int | None):  # type: ignore[no-untyped-def]
    if key is None:
        return None
    return await getattr(info.context.loaders, loader_name).load(key)


@strawberry.type(description="An answer to a dynamic script's question, as the question was when answered.")
class ScriptAnswer:
    key: str
    prompt: str
    type: ScriptAnswerType  # type: ignore[valid-type]
    value: str = strawberry.field(
        description="Normalised: NUMBER a plain decimal, DATE YYYY-MM-DD, YES_NO YES or NO, CHOICE the option."
    )


@strawberry.type(name="Operation", description="One contact attempt with a campaign member.")
class OperationType:
    id: strawberry.ID
    created_at: datetime
    notes: str = strawberry.field(description="Observações.")
    conversation: str
    no_contact: bool
    callback_at: datetime | None
    attempt: int = strawberry.field(description="1 for the member's first attempt, and so on.")
    claimed_at: datetime | None = strawberry.field(
        description="When the agent's claim on the member started (createdAt: when the result was recorded)."
    )
    handling_seconds: int | None = strawberry.field(
        description="From claimedAt to createdAt; null when the member was not claimed through the queue."
    )
    talk_seconds: int | None = strawberry.field(description="As the client sent it in operationRecord.")
    wrap_up_seconds: int | None = strawberry.field(description="As the client sent it in operationRecord.")
    row: strawberry.Private[Operation]

    @classmethod
    def from_row(cls, row: Operation) -> OperationType:
        return cls(
            id=strawberry.ID(str(row.pk)), created_at=row.created_at, notes=row.notes,
            conversation=row.conversation, no_contact=row.no_contact, callback_at=row.callback_at,
            attempt=row.attempt, claimed_at=row.claimed_at, handling_seconds=row.handling_seconds,
            talk_seconds=row.talk_seconds, wrap_up_seconds=row.wrap_up_seconds, row=row,
        )

    @strawberry.field
    async def agent(self, info: Info) -> UserType:
        return UserType.from_row(await _load(info, "user_by_id", self.row.agent_id))

    @strawberry.field
    async def member(self, info: Info) -> CampaignMemberType:
        return CampaignMemberType.from_row(await _load(info, "campaign_member_by_id", self.row.member_id))

    @strawberry.field
    async def person(self, info: Info) -> PersonType:
        return PersonType.from_row(await _load(info, "person_by_id", self.row.person_id))

    @strawberry.field
    async def campaign(self, info: Info) -> CampaignType:
        return CampaignType.from_row(await _load(info, "campaign_by_id", self.row.campaign_id))

    @strawberry.field
    async def stage(self, info: Info) -> CampaignStageType | None:
        row = await _load(info, "campaign_stage_by_id", self.row.stage_id)
        return CampaignStageType.from_row(row) if row else None

    @strawberry.field
    async def result(self, info: Info) -> ContactResultType | None:
        row = await _load(info, "contact_result_by_id", self.row.result_id)
        return ContactResultType.from_row(row) if row else None

    @strawberry.field
    async def justification(self, info: Info) -> JustificationType | None:
        row = await _load(info, "justification_by_id", self.row.justification_id)
        return JustificationType.from_row(row) if row else None

    @strawberry.field
    async def action_type(self, info: Info) -> ActionTypeType | None:
        row = await _load(info, "action_type_by_id", self.row.action_type_id)
        return ActionTypeType.from_row(row) if row else None

    @strawberry.field
    async def channel(self, info: Info) -> ContactChannelType | None:
        row = await _load(info, "contact_channel_by_id", self.row.channel_id)
        return ContactChannelType.from_row(row) if row else None

    @strawberry.field
    async def no_contact_reason(self, info: Info) -> NoContactReasonType | None:
        row = await _load(info, "no_contact_reason_by_id", self.row.no_contact_reason_id)
        return NoContactReasonType.from_row(row) if row else None

    @strawberry.field(description="The script the agent ran (operationRecord's scriptAnswers.scriptId).")
    async def script(self, info: Info) -> ScriptType | None:
        row = await _load(info, "script_by_id", self.row.script_id)
        return ScriptType.from_row(row) if row else None

    @strawberry.field(description="The dynamic script's answers, in question order (empty without any).")
    async def script_answers(self, info: Info) -> list[ScriptAnswer]:
        rows = await info.context.loaders.script_answers_by_operation.load(self.row.pk)
        return [
            ScriptAnswer(key=row.question_key, prompt=row.prompt, type=AnswerType(row.answer_type), value=row.value)
            for row in rows
        ]


@strawberry.type(name="Callback", description="A scheduled recontact; no agent means anyone on the campaign.")
class CallbackType:
    id: strawberry.ID
    due_at: datetime
    opens_at: datetime | None = strawberry.field(
        description="When this agent's callback opens to every agent of the campaign (USER_ONLY campaigns with "
        "callbackOpensAfterMinutes); null: it stays the agent's."
    )
    status: CallbackStatus  # type: ignore[valid-type]
    created_at: datetime
    closed_at: datetime | None
    row: strawberry.Private[Callback]

    @classmethod
    def from_row(cls, row: Callback) -> CallbackType:
        return cls(
            id=strawberry.ID(str(row.pk)), due_at=row.due_at, opens_at=row.opens_at, status=row.status,
            created_at=row.created_at, closed_at=row.closed_at, row=row,
        )

    @strawberry.field
    async def agent(self, info: Info) -> UserType | None:
        row = await _load(info, "user_by_id", self.row.agent_id)
        return UserType.from_row(row) if row else None

    @strawberry.field
    async def member(self, info: Info) -> CampaignMemberType:
        return CampaignMemberType.from_row(await _load(info, "campaign_member_by_id", self.row.member_id))

    @strawberry.field
    async def campaign(self, info: Info) -> CampaignType:
        return CampaignType.from_row(await _load(info, "campaign_by_id", self.row.campaign_id))

    @strawberry.field(description="The operation that scheduled this callback.")
    async def operation(self, info: Info) -> OperationType | None:
        row = await _load(info, "operation_by_id", self.row.operation_id)
        return OperationType.from_row(row) if row else None


@strawberry.input
class ScriptAnswerInput:
    key: str = strawberry.field(description="The question's key.")
    value: str = strawberry.field(
        description="NUMBER: digits with a point; DATE: YYYY-MM-DD; YES_NO: YES or NO; CHOICE: an option; blank: "
        "not answered."
    )


@strawberry.input(
    description="The script the agent ran (one of Campaign.scripts, or the action type's script) and the answers "
    "to its questions: checked against the path its branches take, recorded with the operation."
)
class ScriptAnswersInput:
    script_id: strawberry.ID
    answers: list[ScriptAnswerInput] = strawberry.field(default_factory=list, description="At most 100.")


@strawberry.input
class OperationRecordInput:
    member_id: strawberry.ID
    result_id: strawberry.ID | None = strawberry.field(default=None, description="Required unless noContact.")
    justification_id: strawberry.ID | None = None
    action_type_id: strawberry.ID | None = None
    channel_id: strawberry.ID | None = None
    stage_id: strawberry.ID | None = strawberry.field(default=None, description="Move the member to this stage.")
    notes: str = ""
    conversation: str = ""
    no_contact: bool = False
    no_contact_reason_id: strawberry.ID | None = strawberry.field(default=None, description="Required with noContact.")
    callback_at: datetime | None = strawberry.field(
        default=None, description="Required for SCHEDULE; allowed with noContact. Future, within calling hours."
    )
    callback_for: CallbackFor = record.CallbackFor.ME  # type: ignore[valid-type]
    talk_seconds: int | None = strawberry.field(
        default=None, description="Seconds on the phone, as the dialer measured them (0 to 86400)."
    )
    wrap_up_seconds: int | None = strawberry.field(
        default=None, description="Seconds of after-call work, as the client measured them (0 to 86400)."
    )
    convert_suspect: bool = strawberry.field(
        default=False, description="Also convert the member's suspect to a prospect, in the same transaction."
    )
    delete_suspect: bool | None = strawberry.field(
        default=None, description="With convertSuspect when SUSPECT_CONVERSION is ASK: delete the suspect or keep it."
    )
    script_answers: ScriptAnswersInput | None = None


OperationResult = Annotated[OperationType | OperationError, strawberry.union("OperationRecordResult")]
CallbackResult = Annotated[CallbackType | OperationError, strawberry.union("CallbackResult")]
PendingCallbacksResult = Annotated[
    Connection[CallbackType] | OperationError, strawberry.union("PendingCallbacksResult")
]
CallbacksResult = Annotated[Connection[CallbackType] | OperationError, strawberry.union("CallbacksResult")]


@strawberry.input(description="Every field narrows the list; the due range includes both ends.")
class CallbackFilter:
    status: CallbackStatus | None = None  # type: ignore[valid-type]
    agent_id: strawberry.ID | None = None
    campaign_id: strawberry.ID | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None


@strawberry.type(description="Operations by outcome (every outcome is listed, zeros included).")
class ResultKindCount:
    kind: OperationOutcome  # type: ignore[valid-type]
    count: int


@strawberry.type
class ResultCount:
    result: ContactResultType
    count: int


@strawberry.type
class JustificationCount:
    justification: JustificationType
    count: int


@strawberry.type
class AgentCount:
    agent: UserType
    count: int


@strawberry.type
class StageCount:
    stage: CampaignStageType
    count: int


@strawberry.type
class DayCount:
    day: date
    count: int


@strawberry.type
class AttemptsCount:
    attempts: int
    members: int


@strawberry.type(
    description="Handling time of a set of operations: averages over the operations that have the figure "
    "(null when none has it), computed in the database."
)
class HandlingTime:
    operations: int
    timed_operations: int = strawberry.field(description="Operations with a handling time (claimed, then recorded).")
    average_handling_seconds: float | None = strawberry.field(description="From the claim to the recorded result.")
    average_talk_seconds: float | None
    average_wrap_up_seconds: float | None

    @classmethod
    def of(cls, figures: HandlingFigures) -> HandlingTime:
        return cls(
            operations=figures.operations, timed_operations=figures.timed,
            average_handling_seconds=figures.average_handling_seconds,
            average_talk_seconds=figures.average_talk_seconds, average_wrap_up_seconds=figures.average_wrap_up_seconds,
        )


@strawberry.type
class AgentHandlingTime:
    agent: UserType
    handling: HandlingTime


@strawberry.type(description="One local hour of the day (CONTATO_TIMEZONE), 0 to 23, over the period's days.")
class HourHandlingTime:
    hour: int
    handling: HandlingTime


@strawberry.type
class AgentHourHandlingTime:
    agent: UserType
    hour: int
    handling: HandlingTime


@strawberry.type(
    description="Share of logged-in time (every floor state but OFFLINE) spent ON_CALL or in WRAP_UP, from the "
    "agents' state history; null without logged-in time."
)
class Occupancy:
    logged_in_seconds: int
    busy_seconds: int = strawberry.field(description="ON_CALL and WRAP_UP.")
    occupancy: float | None

    @classmethod
    def of(cls, figures: statistics.Occupancy) -> Occupancy:
        return cls(logged_in_seconds=round(figures.logged_in_seconds), busy_seconds=round(figures.busy_seconds),
                   occupancy=figures.share)


@strawberry.type
class AgentOccupancy:
    agent: UserType
    occupancy: Occupancy


@strawberry.type
class NoContactReasonCount:
    reason: NoContactReasonType
    count: int


@strawberry.type
class CampaignStatistics:
    campaign: CampaignType
    total: int = strawberry.field(description="Operations in the period.")
    contacts: int = strawberry.field(description="Operations that reached the person.")
    contact_rate: float = strawberry.field(description="contacts / total (0 without operations).")
    by_kind: list[ResultKindCount] = strawberry.field(description="Operations in the period by outcome.")
    by_result: list[ResultCount]
    by_justification: list[JustificationCount]
    by_agent: list[AgentCount]
    by_stage: list[StageCount]
    by_day: list[DayCount]
    members_by_status: list[QueueStatusCount] = strawberry.field(description="Now, whatever the period.")
    average_attempts_per_concluded_member: float
    attempts_per_concluded_member: list[AttemptsCount]
    handling: HandlingTime = strawberry.field(description="The period's operations.")
    handling_by_agent: list[AgentHandlingTime]
    handling_by_hour: list[HourHandlingTime] = strawberry.field(description="Hours with operations only.")
    handling_by_agent_hour: list[AgentHourHandlingTime] = strawberry.field(
        description="Per agent and local hour, hours with operations only."
    )
    by_no_contact_reason: list[NoContactReasonCount] = strawberry.field(
        description="No-contact attempts by reason (reasons with attempts only)."
    )
    occupancy: Occupancy = strawberry.field(
        description="The campaign's agents together over the period's days (until now), whatever campaign a call "
        "was for: an agent's floor time is theirs."
    )
    occupancy_by_agent: list[AgentOccupancy] = strawberry.field(description="Agents with logged-in time only.")


CampaignStatisticsResult = Annotated[CampaignStatistics | OperationError, strawberry.union("CampaignStatisticsResult")]


async def _statistics(info: Info, stats: statistics.Statistics) -> CampaignStatistics:
    loaders = info.context.loaders
    results = await loaders.contact_result_by_id.load_many([b.key for b in stats.by_result])
    justifications = await loaders.justification_by_id.load_many([b.key for b in stats.by_justification])
    agents = await loaders.user_by_id.load_many([b.key for b in stats.by_agent])
    stages = await loaders.campaign_stage_by_id.load_many([b.key for b in stats.by_stage])
    reasons = await loaders.no_contact_reason_by_id.load_many([b.key for b in stats.by_no_contact_reason])
    users = {
        row.pk: row for row in await loaders.user_by_id.load_many(
            sorted({f.key for f in stats.handling_by_agent} | {f.key[0] for f in stats.handling_by_agent_hour}
                   | {f.key for f in stats.occupancy_by_agent})
        ) if row
    }
    return CampaignStatistics(
        campaign=CampaignType.from_row(stats.campaign),
        total=stats.total,
        contacts=stats.contacts,
        contact_rate=stats.contact_rate,
        by_kind=[ResultKindCount(kind=b.key, count=b.count) for b in stats.by_kind],
        by_result=[ResultCount(result=ContactResultType.from_row(r), count=b.count)
                   for r, b in zip(results, stats.by_result) if r],
        by_justification=[JustificationCount(justification=JustificationType.from_row(j), count=b.count)
                          for j, b in zip(justifications, stats.by_justification) if j],
        by_agent=[AgentCount(agent=UserType.from_row(a), count=b.count) for a, b in zip(agents, stats.by_agent) if a],
        by_stage=[StageCount(stage=CampaignStageType.from_row(s), count=b.count)
                  for s, b in zip(stages, stats.by_stage) if s],
        by_day=[DayCount(day=b.key, count=b.count) for b in stats.by_day],
        members_by_status=[QueueStatusCount(status=b.key, count=b.count) for b in stats.members_by_status],
        average_attempts_per_concluded_member=stats.average_attempts,
        attempts_per_concluded_member=[AttemptsCount(attempts=b.key, members=b.count)
                                       for b in stats.attempts_distribution],
        handling=HandlingTime.of(stats.handling),
        handling_by_agent=[AgentHandlingTime(agent=UserType.from_row(users[f.key]), handling=HandlingTime.of(f))
                           for f in stats.handling_by_agent if f.key in users],
        handling_by_hour=[HourHandlingTime(hour=f.key, handling=HandlingTime.of(f)) for f in stats.handling_by_hour],
        handling_by_agent_hour=[
            AgentHourHandlingTime(agent=UserType.from_row(users[f.key[0]]), hour=f.key[1], handling=HandlingTime.of(f))
            for f in stats.handling_by_agent_hour if f.key[0] in users
        ],
        by_no_contact_reason=[NoContactReasonCount(reason=NoContactReasonType.from_row(r), count=b.count)
                              for r, b in zip(reasons, stats.by_no_contact_reason) if r],
        occupancy=Occupancy.of(stats.occupancy),
        occupancy_by_agent=[AgentOccupancy(agent=UserType.from_row(users[f.key]), occupancy=Occupancy.of(f))
                            for f in stats.occupancy_by_agent if f.key in users],
    )


@strawberry.type
class ResultRule:
    result: ContactResultType
    justifications: list[JustificationType] = strawberry.field(description="The only ones operationRecord accepts.")
    required_fields: list[str] = strawberry.field(description="operationRecord input fields, GraphQL spelling.")
    requires_callback: bool
    allows_callback: bool
    concludes: bool = strawberry.field(description="Whether recording it concludes the member (no recycling).")


@strawberry.type
class NoContactRule:
    required_fields: list[str]
    reasons: list[NoContactReasonType] = strawberry.field(description="requiresCallback: callbackAt needed.")


@strawberry.type
class FormRules:
    results: list[ResultRule]
    no_contact: NoContactRule


@strawberry.type
class RenderedScript:
    script: ScriptType
    text: str = strawberry.field(description="The body with the member's fields filled in.")


@strawberry.type
class OperationQuery:
    @strawberry.field(
        description="Pending callbacks due by dueBefore (default now), oldest first. Without agentId, an "
        "agent's ligações pendentes: their own, those for anyone on the campaigns they work, and other agents' "
        "callbacks there that have opened to anyone (opensAt passed); for supervisors and admins, every agent's "
        "pending callbacks. With agentId, that agent's own callbacks; "
        "only supervisors and admins may name another agent (FORBIDDEN otherwise). Agents see only open "
        "campaigns they are assigned to."
    )
    async def pending_callbacks(
        self,
        info: Info,
        agent_id: strawberry.ID | None = None,
        due_before: datetime | None = None,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> PendingCallbacksResult:
        page = await callbacks.list_pending(
            info.context, optional_pk(agent_id), due_before, PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, CallbackType.from_row)

    @strawberry.field(
        description="Callbacks of every status (done and cancelled too), by due time, oldest first. Supervisors "
        "and admins: all; agents: those of the campaigns they are assigned to; company reps: FORBIDDEN."
    )
    async def callbacks(
        self,
        info: Info,
        filter: CallbackFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CallbacksResult:
        where = filter or CallbackFilter()
        page = await callbacks.list_callbacks(
            info.context,
            callbacks.CallbackFilter(
                status=None if where.status is None else CallbackStatusModel(where.status.value),
                agent_id=optional_pk(where.agent_id),
                campaign_id=optional_pk(where.campaign_id),
                due_from=where.due_from,
                due_to=where.due_to,
            ),
            PageArgs(first, after, last, before),
        )
        return Connection.from_page(page, CallbackType.from_row)

    @strawberry.field(description="One callback, whatever its status; null when it does not exist or is not yours to see.")
    async def callback(self, info: Info, id: strawberry.ID) -> CallbackType | None:
        row = await callbacks.get_callback(info.context, to_pk(id))
        return CallbackType.from_row(row) if row else None

    @strawberry.field(
        description="Supervisors and admins: any campaign; agents: campaigns they are assigned to (FORBIDDEN "
        "otherwise). Days are local dates, both ends included."
    )
    async def campaign_statistics(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        from_: Annotated[date | None, strawberry.argument(name="from")] = None,
        to: date | None = None,
    ) -> CampaignStatisticsResult:
        stats = await statistics.campaign_statistics(info.context, to_pk(campaign_id), from_, to)
        return await _statistics(info, stats)

    @strawberry.field(description="What each result allows and requires; operationRecord enforces the same rules.")
    async def form_rules(self, info: Info) -> FormRules:
        rules = await forms.form_rules(info.context)
        justifications = await info.context.loaders.justification_by_id.load_many(
            sorted({jid for rule in rules.results for jid in rule.justification_ids})
        )
        by_id = {row.pk: row for row in justifications if row}
        return FormRules(
            results=[
                ResultRule(
                    result=ContactResultType.from_row(rule.result),
                    justifications=[JustificationType.from_row(by_id[jid]) for jid in rule.justification_ids],
                    required_fields=forms.REQUIRED_FIELDS[rule.result.kind],
                    requires_callback=rule.requires_callback,
                    allows_callback=rule.allows_callback,
                    concludes=rule.concludes,
                )
                for rule in rules.results
            ],
            no_contact=NoContactRule(
                required_fields=forms.NO_CONTACT_REQUIRED,
                reasons=[NoContactReasonType.from_row(row) for row in rules.no_contact_reasons],
            ),
        )

    @strawberry.field(
        description="A script filled in for the member: scriptId (one of Campaign.scripts, as the agent chose it), "
        "else the action type's; null without a script."
    )
    async def script_render(
        self, info: Info, member_id: strawberry.ID, action_type_id: strawberry.ID | None = None,
        script_id: strawberry.ID | None = None,
    ) -> RenderedScript | None:
        rendered = await forms.render_script(
            info.context, optional_pk(action_type_id), to_pk(member_id), optional_pk(script_id)
        )
        return RenderedScript(script=ScriptType.from_row(rendered.script), text=rendered.text) if rendered else None


@strawberry.type
class OperationMutation:
    @strawberry.mutation(
        description="Record an attempt on a member the caller holds; one transaction for the operation, the "
        "callbacks, the member's new status and the release of the hold."
    )
    async def operation_record(self, info: Info, input: OperationRecordInput) -> OperationResult:
        data = record.OperationInput(
            member_id=to_pk(input.member_id),
            action_type_id=optional_pk(input.action_type_id),
            channel_id=optional_pk(input.channel_id),
            result_id=optional_pk(input.result_id),
            justification_id=optional_pk(input.justification_id),
            stage_id=optional_pk(input.stage_id),
            notes=input.notes,
            conversation=input.conversation,
            no_contact=input.no_contact,
            no_contact_reason_id=optional_pk(input.no_contact_reason_id),
            callback_at=input.callback_at,
            callback_for=input.callback_for,
            talk_seconds=input.talk_seconds,
            wrap_up_seconds=input.wrap_up_seconds,
            convert_suspect=input.convert_suspect,
            delete_suspect=input.delete_suspect,
            script_id=None if input.script_answers is None else to_pk(input.script_answers.script_id),
            script_answers=() if input.script_answers is None else tuple(
                (answer.key, answer.value) for answer in input.script_answers.answers
            ),
        )
        return OperationType.from_row(await record.record_operation(info.context, data))

    @strawberry.mutation(description="Move a pending callback (future, within calling hours).")
    async def callback_reschedule(self, info: Info, id: strawberry.ID, due_at: datetime) -> CallbackResult:
        return CallbackType.from_row(await callbacks.reschedule_callback(info.context, to_pk(id), due_at))

    @strawberry.mutation(description="Cancel a pending callback; the member goes back to the queue.")
    async def callback_cancel(self, info: Info, id: strawberry.ID) -> CallbackResult:
        return CallbackType.from_row(await callbacks.cancel_callback(info.context, to_pk(id)))


async def person_operations(
    info: Info, person_id: int, campaign_id: strawberry.ID | None, page_args: PageArgs
) -> Connection[OperationType]:
    page = await callbacks.person_operations(info.context, person_id, optional_pk(campaign_id), page_args)
    return Connection.from_page(page, OperationType.from_row)


HANDLERS = [DomainErrorHandler(domain.OperationError, OperationError)]
