"""Campaigns, stages, members and the agent's queue on the GraphQL surface."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models.campaign import CallbackPolicy as CallbackPolicyModel
from models.campaign import Campaign, CampaignMember, CampaignStage
from models.campaign import QueueStatus as QueueStatusModel
from resolvers import errors as domain
from resolvers.campaign import config, members, queue
from resolvers.operation.statistics import by_queue_status
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.catalog import ActionTypeType, ScriptType
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection
from schema.person import PersonStage, PersonType
from schema.queue_filter import QueueFilterInput, queue_filter
from schema.user import UserType

if TYPE_CHECKING:
    from schema.history import MemberEventType
    from schema.operation import CallbackType, OperationType

CallbackPolicy = strawberry.enum(CallbackPolicyModel, name="CallbackPolicy")
QueueStatus = strawberry.enum(QueueStatusModel, name="QueueStatus")
CampaignErrorCode = strawberry.enum(domain.CampaignErrorCode, name="CampaignErrorCode")


@strawberry.type
class CampaignError(Error):
    code: CampaignErrorCode  # type: ignore[valid-type]


@strawberry.type(description="Members in one queue status (every status is listed, zeros included).")
class QueueStatusCount:
    status: QueueStatus  # type: ignore[valid-type]
    count: int


def _clock(minute: int | None) -> str | None:
    return None if minute is None else f"{minute // 60:02d}:{minute % 60:02d}"


@strawberry.type(description="Local times (CONTATO_TIMEZONE), HH:MM. No Saturday times: no calls on Saturdays.")
class CallingHours:
    weekday_start: str
    weekday_end: str
    saturday_start: str | None
    saturday_end: str | None


@strawberry.type(name="CampaignStage")
class CampaignStageType:
    id: strawberry.ID
    name: str
    position: int

    @classmethod
    def from_row(cls, row: CampaignStage) -> CampaignStageType:
        return cls(id=strawberry.ID(str(row.pk)), name=row.name, position=row.position)


@strawberry.type(name="Campaign")
class CampaignType:
    id: strawberry.ID
    name: str
    description: str
    start_date: date
    end_date: date | None
    active: bool
    callback_policy: CallbackPolicy  # type: ignore[valid-type]
    callback_opens_after_minutes: int | None = strawberry.field(
        description="An overdue USER_ONLY callback opens to every agent after this many minutes."
    )
    max_attempts: int
    retry_after_minutes: int = strawberry.field(description="Retry delay after a no-contact attempt.")
    wrap_up_seconds: int = strawberry.field(
        description="After recording a result the agent is in WRAP_UP this long, then READY (0: READY at once)."
    )
    calling_hours: CallingHours
    default_action_type_id: strawberry.Private[int | None]
    script_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: Campaign) -> CampaignType:
        return cls(
            id=strawberry.ID(str(row.pk)), name=row.name, description=row.description,
            start_date=row.start_date, end_date=row.end_date, active=row.active,
            callback_policy=row.callback_policy, callback_opens_after_minutes=row.callback_opens_after_minutes,
            max_attempts=row.max_attempts, retry_after_minutes=row.retry_after_minutes,
            wrap_up_seconds=row.wrap_up_seconds,
            calling_hours=CallingHours(
                weekday_start=_clock(row.weekday_start_minute) or "",
                weekday_end=_clock(row.weekday_end_minute) or "",
                saturday_start=_clock(row.saturday_start_minute),
                saturday_end=_clock(row.saturday_end_minute),
            ),
            default_action_type_id=row.default_action_type_id, script_id=row.script_id,
        )

    @strawberry.field(
        description="Members by queue status now: every status, zeros included, in the enum's order (one grouped "
        "count for every campaign of a list)."
    )
    async def member_counts(self, info: Info) -> list[QueueStatusCount]:
        counts = await info.context.loaders.member_counts_by_campaign.load(int(self.id))
        return [QueueStatusCount(status=bucket.key, count=bucket.count) for bucket in by_queue_status(counts.items())]

    @strawberry.field(description="In order.")
    async def stages(self, info: Info) -> list[CampaignStageType]:
        rows = await info.context.loaders.stages_by_campaign.load(int(self.id))
        return [CampaignStageType.from_row(row) for row in rows]

    @strawberry.field
    async def agents(self, info: Info) -> list[UserType]:
        links = await info.context.loaders.agent_links_by_campaign.load(int(self.id))
        rows = await info.context.loaders.user_by_id.load_many([link.agent_id for link in links])
        return [UserType.from_row(row) for row in rows if row is not None]

    @strawberry.field
    async def default_action_type(self, info: Info) -> ActionTypeType | None:
        if self.default_action_type_id is None:
            return None
        row = await info.context.loaders.action_type_by_id.load(self.default_action_type_id)
        return ActionTypeType.from_row(row) if row else None

    @strawberry.field(description="The default of the campaign's scripts (the first of scripts); null without any.")
    async def script(self, info: Info) -> ScriptType | None:
        if self.script_id is None:
            return None
        row = await info.context.loaders.script_by_id.load(self.script_id)
        return ScriptType.from_row(row) if row else None

    @strawberry.field(
        description="The scripts an agent chooses from on the operation screen (Script da Campanha), in order, "
        "the default first; deactivated ones included (active: false), which operationRecord refuses."
    )
    async def scripts(self, info: Info) -> list[ScriptType]:
        links = await info.context.loaders.script_links_by_campaign.load(int(self.id))
        rows = await info.context.loaders.script_by_id.load_many([link.script_id for link in links])
        return [ScriptType.from_row(row) for row in rows if row is not None]


async def _user(info: Info, user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_row(row) if row else None


@strawberry.type(name="CampaignMember", description="A person in a campaign: stage, queue status, claim.")
class CampaignMemberType:
    id: strawberry.ID
    status: QueueStatus  # type: ignore[valid-type]
    attempts: int
    due_at: datetime | None = strawberry.field(description="When the callback or the retry is due.")
    last_acted_at: datetime | None
    claim_expires_at: datetime | None
    campaign_id: strawberry.Private[int]
    person_id: strawberry.Private[int]
    stage_id: strawberry.Private[int | None]
    assigned_agent_id: strawberry.Private[int | None]
    claimed_by_id: strawberry.Private[int | None]
    last_operation_id: strawberry.Private[int | None]
    next_callback_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: CampaignMember) -> CampaignMemberType:
        return cls(
            id=strawberry.ID(str(row.pk)), status=row.status, attempts=row.attempts, due_at=row.due_at,
            last_acted_at=row.last_acted_at, claim_expires_at=row.claim_expires_at,
            campaign_id=row.campaign_id, person_id=row.person_id, stage_id=row.stage_id,
            assigned_agent_id=row.assigned_agent_id, claimed_by_id=row.claimed_by_id,
            last_operation_id=row.last_operation_id, next_callback_id=row.next_callback_id,
        )

    @strawberry.field
    async def campaign(self, info: Info) -> CampaignType:
        row = await info.context.loaders.campaign_by_id.load(self.campaign_id)
        assert row is not None
        return CampaignType.from_row(row)

    @strawberry.field
    async def person(self, info: Info) -> PersonType:
        row = await info.context.loaders.person_by_id.load(self.person_id)
        assert row is not None
        return PersonType.from_row(row)

    @strawberry.field
    async def stage(self, info: Info) -> CampaignStageType | None:
        if self.stage_id is None:
            return None
        row = await info.context.loaders.campaign_stage_by_id.load(self.stage_id)
        return CampaignStageType.from_row(row) if row else None

    @strawberry.field
    async def assigned_agent(self, info: Info) -> UserType | None:
        return await _user(info, self.assigned_agent_id)

    @strawberry.field(description="Who holds the member now (check claimExpiresAt).")
    async def claimed_by(self, info: Info) -> UserType | None:
        return await _user(info, self.claimed_by_id)

    @strawberry.field
    async def last_operation(
        self, info: Info
    ) -> Annotated[OperationType, strawberry.lazy("schema.operation")] | None:
        from schema.operation import OperationType

        if self.last_operation_id is None:
            return None
        row = await info.context.loaders.operation_by_id.load(self.last_operation_id)
        return OperationType.from_row(row) if row else None

    @strawberry.field(description="The pending callback, if any.")
    async def next_callback(
        self, info: Info
    ) -> Annotated[CallbackType, strawberry.lazy("schema.operation")] | None:
        from schema.operation import CallbackType

        if self.next_callback_id is None:
            return None
        row = await info.context.loaders.callback_by_id.load(self.next_callback_id)
        return CallbackType.from_row(row) if row else None

    @strawberry.field(description="Every operation with this member, newest first.")
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Annotated[OperationType, strawberry.lazy("schema.operation")]]:
        from resolvers.operation.callbacks import member_history
        from schema.operation import OperationType

        page = await member_history(info.context, int(self.id), PageArgs(first, after, last, before))
        return Connection.from_page(page, OperationType.from_row)


    @strawberry.field(
        description="Every change to the member (stage, queue status, claims, callbacks), who and when, oldest first."
    )
    async def events(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[Annotated[MemberEventType, strawberry.lazy("schema.history")]]:
        from resolvers.history import member_events
        from schema.history import MemberEventType

        page = await member_events(info.context, int(self.id), PageArgs(first, after, last, before))
        return Connection.from_page(page, MemberEventType.from_row)


@strawberry.type
class MembersAddPayload:
    campaign: CampaignType
    added: int
    skipped_existing: int = strawberry.field(description="Already in the campaign.")
    skipped_do_not_call: int = strawberry.field(description="Opted out (the person's doNotCall).")
    skipped_do_not_call_register: int = strawberry.field(
        description="A phone of theirs is on the do-not-call register now."
    )
    skipped_unknown: int = strawberry.field(description="Ids that name no live person.")


@strawberry.input
class CallingHoursInput:
    weekday_start: str = "09:00"
    weekday_end: str = "21:00"
    saturday_start: str | None = "10:00"
    saturday_end: str | None = "16:00"


@strawberry.input
class CampaignStageInput:
    name: str
    id: strawberry.ID | None = strawberry.field(default=None, description="Keep (and rename) this stage.")


@strawberry.input
class CampaignCreateInput:
    name: str
    start_date: date
    description: str = ""
    end_date: date | None = None
    active: bool = True
    default_action_type_id: strawberry.ID | None = None
    callback_policy: CallbackPolicy = CallbackPolicyModel.USER_ONLY  # type: ignore[valid-type]
    callback_opens_after_minutes: int | None = None
    max_attempts: int = 3
    retry_after_minutes: int = 60
    wrap_up_seconds: int = 0
    calling_hours: CallingHoursInput | None = None
    stages: list[CampaignStageInput] = strawberry.field(default_factory=list, description="In order.")
    script_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="The scripts agents choose from, in order; the first is the default (script)."
    )


@strawberry.input
class CampaignUpdateInput:
    name: str | None = None
    description: str | None = None
    start_date: date | None = None
    end_date: date | None = strawberry.field(default=strawberry.UNSET, description="null: open-ended.")
    active: bool | None = None
    default_action_type_id: strawberry.ID | None = strawberry.field(default=strawberry.UNSET)
    callback_policy: CallbackPolicy | None = None  # type: ignore[valid-type]
    callback_opens_after_minutes: int | None = strawberry.field(default=strawberry.UNSET)
    max_attempts: int | None = None
    retry_after_minutes: int | None = None
    wrap_up_seconds: int | None = None
    calling_hours: CallingHoursInput | None = None
    stages: list[CampaignStageInput] | None = strawberry.field(
        default=None, description="The whole ordered list: ids kept, new names created, missing ones removed."
    )
    script_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Replaces the campaign's scripts, in order; the first is the default ([]: none)."
    )


@strawberry.input
class CampaignMemberFilter:
    text: str | None = strawberry.field(default=None, description="Name, document or phone.")
    stage: PersonStage | None = None  # type: ignore[valid-type]
    company_id: strawberry.ID | None = None


CampaignResult = Annotated[CampaignType | CampaignError, strawberry.union("CampaignResult")]
CampaignMemberResult = Annotated[CampaignMemberType | CampaignError, strawberry.union("CampaignMemberResult")]
MembersAddResult = Annotated[MembersAddPayload | CampaignError, strawberry.union("CampaignMembersAddResult")]
CampaignQueueResult = Annotated[
    Connection[CampaignMemberType] | CampaignError, strawberry.union("CampaignQueueResult")
]


def _hours(value: CallingHoursInput | None) -> config.CallingHours | None:
    if value is None:
        return None
    return config.CallingHours(value.weekday_start, value.weekday_end, value.saturday_start, value.saturday_end)


def _stages(values: list[CampaignStageInput] | None) -> list[config.StageInput] | None:
    if values is None:
        return None
    return [config.StageInput(name=stage.name, id=optional_pk(stage.id)) for stage in values]


@strawberry.type
class CampaignQuery:
    @strawberry.field(description="Agents: the campaigns they are assigned to. Supervisors, admins: all.")
    async def campaigns(
        self, info: Info, active: bool | None = None, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[CampaignType]:
        page = await config.list_campaigns(info.context, active, PageArgs(first, after, last, before))
        return Connection.from_page(page, CampaignType.from_row)

    @strawberry.field
    async def campaign(self, info: Info, id: strawberry.ID) -> CampaignType | None:
        row = await config.get_campaign(info.context, to_pk(id))
        return CampaignType.from_row(row) if row else None

    @strawberry.field
    async def campaign_member(self, info: Info, id: strawberry.ID) -> CampaignMemberType | None:
        row = await members.get_member(info.context, to_pk(id))
        return CampaignMemberType.from_row(row) if row else None

    @strawberry.field(
        description="Without status: whom the caller can call now, in claim order (due callbacks, never-acted, "
        "recycled). With status: every member in it. Agents see only open campaigns they are assigned to: "
        "otherwise AGENT_NOT_ASSIGNED, CAMPAIGN_INACTIVE, CAMPAIGN_NOT_STARTED or CAMPAIGN_ENDED, as for claiming."
    )
    async def campaign_queue(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        status: QueueStatus | None = None,  # type: ignore[valid-type]
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
        filter: QueueFilterInput | None = None,
        saved_filter_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="One of the caller's saved filters, instead of filter.")
        ] = None,
    ) -> CampaignQueueResult:
        page = await queue.list_queue(
            info.context, to_pk(campaign_id), status, PageArgs(first, after, last, before),
            queue_filter(filter), optional_pk(saved_filter_id),
        )
        return Connection.from_page(page, CampaignMemberType.from_row)


@strawberry.type
class CampaignMutation:
    @strawberry.mutation(description="Supervisors and admins.")
    async def campaign_create(self, info: Info, input: CampaignCreateInput) -> CampaignResult:
        data = config.CampaignInput(
            name=input.name, description=input.description, start_date=input.start_date, end_date=input.end_date,
            active=input.active, default_action_type_id=optional_pk(input.default_action_type_id),
            callback_policy=input.callback_policy, callback_opens_after_minutes=input.callback_opens_after_minutes,
            max_attempts=input.max_attempts, retry_after_minutes=input.retry_after_minutes,
            wrap_up_seconds=input.wrap_up_seconds,
            calling_hours=_hours(input.calling_hours) or config.CallingHours(), stages=_stages(input.stages),
            script_ids=[to_pk(value) for value in input.script_ids],
        )
        return CampaignType.from_row(await config.create_campaign(info.context, data))

    @strawberry.mutation(description="Supervisors and admins.")
    async def campaign_update(self, info: Info, id: strawberry.ID, input: CampaignUpdateInput) -> CampaignResult:
        # UNSET (left out) and 0 are both falsy: only UNSET means "keep".
        opens_after = input.callback_opens_after_minutes
        data = config.CampaignInput(
            name=input.name, description=input.description, start_date=input.start_date,
            end_date=input.end_date or None, clear_end_date=input.end_date is None, active=input.active,
            default_action_type_id=optional_pk(input.default_action_type_id or None),
            clear_default_action_type=input.default_action_type_id is None,
            callback_policy=input.callback_policy,
            callback_opens_after_minutes=None if opens_after is strawberry.UNSET else opens_after,
            clear_callback_opens_after=opens_after is None,
            max_attempts=input.max_attempts, retry_after_minutes=input.retry_after_minutes,
            wrap_up_seconds=input.wrap_up_seconds,
            calling_hours=_hours(input.calling_hours), stages=_stages(input.stages),
            script_ids=None if input.script_ids is None else [to_pk(value) for value in input.script_ids],
        )
        return CampaignType.from_row(await config.update_campaign(info.context, to_pk(id), data))

    @strawberry.mutation(description="Replaces the campaign's agents (at most 100).")
    async def campaign_agents_set(
        self, info: Info, id: strawberry.ID, agent_ids: list[strawberry.ID]
    ) -> CampaignResult:
        row = await config.set_agents(info.context, to_pk(id), [to_pk(agent) for agent in agent_ids])
        return CampaignType.from_row(row)

    @strawberry.mutation(
        description="By personIds (at most 100) or by a person filter (any number). Skips people already in, "
        "on the do-not-call list, or converted."
    )
    async def campaign_members_add(
        self,
        info: Info,
        campaign_id: strawberry.ID,
        person_ids: list[strawberry.ID] | None = None,
        filter: CampaignMemberFilter | None = None,
    ) -> MembersAddResult:
        where = None
        if filter is not None:
            where = members.MemberFilter(
                text=filter.text, stage=filter.stage, company_id=optional_pk(filter.company_id)
            )
        ids = None if person_ids is None else [to_pk(person) for person in person_ids]
        result = await members.add_members(info.context, to_pk(campaign_id), ids, where)
        return MembersAddPayload(
            campaign=CampaignType.from_row(result.campaign), added=result.added,
            skipped_existing=result.skipped_existing, skipped_do_not_call=result.skipped_do_not_call,
            skipped_unknown=result.skipped_unknown,
            skipped_do_not_call_register=result.skipped_do_not_call_register,
        )

    @strawberry.mutation(description="Move a member to another stage of its campaign.")
    async def campaign_member_move(
        self, info: Info, member_id: strawberry.ID, stage_id: strawberry.ID
    ) -> CampaignMemberResult:
        row = await members.move_member(info.context, to_pk(member_id), to_pk(stage_id))
        return CampaignMemberType.from_row(row)

    @strawberry.mutation(
        description="Take a member out of its campaign (supervisors and admins): its pending callbacks are "
        "cancelled, its claim ends, and it stays with its history as REMOVED; campaignMembersAdd brings it back."
    )
    async def campaign_member_remove(self, info: Info, member_id: strawberry.ID) -> CampaignMemberResult:
        row = await members.remove_member(info.context, to_pk(member_id))
        return CampaignMemberType.from_row(row)

    @strawberry.mutation(description="Reserve a member for one agent of the campaign; null frees it.")
    async def campaign_member_assign(
        self, info: Info, member_id: strawberry.ID, agent_id: strawberry.ID | None = None
    ) -> CampaignMemberResult:
        row = await members.assign_member(info.context, to_pk(member_id), optional_pk(agent_id))
        return CampaignMemberType.from_row(row)

    @strawberry.mutation(
        description="With campaignId: take the next member to call and hold it for 10 minutes (a held member "
        "is returned again). With memberId instead: hold that member, under the same rules (MEMBER_HELD, "
        "MEMBER_RESERVED, MEMBER_ASSIGNED_ELSEWHERE, MEMBER_NOT_DUE, ALREADY_HOLDING, ...)."
    )
    async def campaign_member_claim(
        self, info: Info, campaign_id: strawberry.ID | None = None, member_id: strawberry.ID | None = None
    ) -> CampaignMemberResult:
        if (campaign_id is None) == (member_id is None):
            raise domain.CampaignError(
                domain.CampaignErrorCode.INVALID, "Give campaignId or memberId, not both.", "campaignId"
            )
        if member_id is not None:
            return CampaignMemberType.from_row(await queue.claim_member(info.context, to_pk(member_id)))
        assert campaign_id is not None
        return CampaignMemberType.from_row(await queue.claim_next(info.context, to_pk(campaign_id)))

    @strawberry.mutation(description="Extend the caller's hold on a member by 10 minutes.")
    async def campaign_member_claim_renew(self, info: Info, member_id: strawberry.ID) -> CampaignMemberResult:
        return CampaignMemberType.from_row(await queue.renew_claim(info.context, to_pk(member_id)))

    @strawberry.mutation(description="Give a held member back to the queue (supervisors: anyone's).")
    async def campaign_member_release(self, info: Info, member_id: strawberry.ID) -> CampaignMemberResult:
        return CampaignMemberType.from_row(await queue.release_claim(info.context, to_pk(member_id)))


HANDLERS = [DomainErrorHandler(domain.CampaignError, CampaignError)]
