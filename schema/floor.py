"""The supervisor's floor on the GraphQL surface: agent states, the pause catalog, the live floor."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from models.floor import AgentState as AgentStateRow
from models.floor import AgentStateKind, PauseReason
from resolvers import catalog, realtime
from resolvers import errors as domain
from resolvers import floor as use_cases
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.campaign import CampaignType
from schema.catalog import CatalogError
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection
from schema.ticket import TicketType
from schema.ticket.operations import TicketResult
from schema.user import UserType

AgentState = strawberry.enum(AgentStateKind, name="AgentState", description="What an agent is doing now.")
AgentStateErrorCode = strawberry.enum(domain.AgentStateErrorCode, name="AgentStateErrorCode")


@strawberry.type
class AgentStateError(Error):
    code: AgentStateErrorCode  # type: ignore[valid-type]


@strawberry.type(name="PauseReason", description="Why an agent paused: lunch, training, a technical problem…")
class PauseReasonType:
    id: strawberry.ID
    name: str
    active: bool
    max_minutes: int | None = strawberry.field(
        description="A pause longer than this alerts supervisors once (null: no limit)."
    )

    @classmethod
    def from_row(cls, row: PauseReason) -> PauseReasonType:
        return cls(id=strawberry.ID(str(row.pk)), name=row.name, active=row.active, max_minutes=row.max_minutes)


@strawberry.type(name="AgentStatus", description="An agent's state now, and since when.")
class AgentStatusType:
    state: AgentState  # type: ignore[valid-type]
    since: datetime | None = strawberry.field(description="When the agent entered the state (null: never seen).")
    seconds_in_state: int | None = strawberry.field(description="Time in the current state, as of this answer.")
    wrap_up_until: datetime | None = strawberry.field(description="WRAP_UP: when the agent becomes READY.")
    pause_exceeded: bool = strawberry.field(description="PAUSED for longer than the reason's maximum.")
    agent_id: strawberry.Private[int]
    pause_reason_id: strawberry.Private[int | None]
    campaign_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: AgentStateRow) -> AgentStatusType:
        return cls(
            state=row.state, since=row.since, seconds_in_state=use_cases.seconds_in_state(row),
            wrap_up_until=row.wrap_up_until, pause_exceeded=row.pause_alerted_at is not None,
            agent_id=row.user_id, pause_reason_id=row.pause_reason_id, campaign_id=row.campaign_id,
        )

    @strawberry.field
    async def agent(self, info: Info) -> UserType | None:
        row = await info.context.loaders.user_by_id.load(self.agent_id)
        return UserType.from_row(row) if row else None

    @strawberry.field(description="PAUSED: why.")
    async def pause_reason(self, info: Info) -> PauseReasonType | None:
        if self.pause_reason_id is None:
            return None
        row = await info.context.loaders.pause_reason_by_id.load(self.pause_reason_id)
        return PauseReasonType.from_row(row) if row else None

    @strawberry.field(description="ON_CALL and WRAP_UP: the campaign of the call.")
    async def campaign(self, info: Info) -> CampaignType | None:
        if self.campaign_id is None:
            return None
        row = await info.context.loaders.campaign_by_id.load(self.campaign_id)
        return CampaignType.from_row(row) if row else None


@strawberry.type(name="AgentFloor", description="A campaign's agents and their states (an agent sees their own).")
class AgentFloorType:
    at: datetime
    agents: list[AgentStatusType]


@strawberry.input
class PauseReasonInput:
    name: str
    max_minutes: int | None = None


@strawberry.input
class PauseReasonUpdateInput:
    name: str | None = None
    max_minutes: int | None = strawberry.field(default=strawberry.UNSET, description="null: no limit; leave out to keep.")
    active: bool | None = None


AgentStateSetResult = Annotated[AgentStatusType | AgentStateError, strawberry.union("AgentStateSetResult")]
AgentStatesResult = Annotated[AgentFloorType | AgentStateError, strawberry.union("AgentStatesResult")]
PauseReasonResult = Annotated[PauseReasonType | CatalogError, strawberry.union("PauseReasonResult")]


@strawberry.type
class FloorQuery:
    @strawberry.field(description="The pause catalog (active entries unless includeInactive).")
    async def pause_reasons(
        self, info: Info, include_inactive: bool = False,
        first: int | None = None, after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[PauseReasonType]:
        page = await catalog.list_entries(info.context, PauseReason, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, PauseReasonType.from_row)

    @strawberry.field(description="The states of a campaign's agents, for supervisors; an agent gets their own.")
    async def agent_states(self, info: Info, campaign_id: strawberry.ID) -> AgentStatesResult:
        _, rows = await use_cases.floor(info.context, to_pk(campaign_id))
        return AgentFloorType(at=use_cases.now(), agents=[AgentStatusType.from_row(row) for row in rows])


@strawberry.type
class FloorMutation:
    @strawberry.mutation(
        description="The caller's own state: OFFLINE, READY or PAUSED (with `pauseReasonId`). ON_CALL and "
        "WRAP_UP are set by the queue."
    )
    async def agent_state_set(
        self, info: Info, state: AgentState, pause_reason_id: strawberry.ID | None = None  # type: ignore[valid-type]
    ) -> AgentStateSetResult:
        row = await use_cases.set_state(info.context, AgentStateKind(state), optional_pk(pause_reason_id))
        return AgentStatusType.from_row(row)

    @strawberry.mutation(
        description="Tell the others on the ticket (`ticketViewing`) that you are typing: send it again every few "
        "seconds while you type (it lapses after 5 s), and `typing: false` when you stop."
    )
    async def ticket_typing(self, info: Info, ticket_id: strawberry.ID, typing: bool) -> TicketResult:
        return TicketType.from_row(await realtime.ticket_typing(info.context, to_pk(ticket_id), typing))

    @strawberry.mutation(description="Admins and supervisors.")
    async def pause_reason_create(self, info: Info, input: PauseReasonInput) -> PauseReasonResult:
        data = catalog.CatalogInput(name=input.name, max_minutes=input.max_minutes)
        return PauseReasonType.from_row(await catalog.create_entry(info.context, PauseReason, data))

    @strawberry.mutation(description="Admins and supervisors.")
    async def pause_reason_update(
        self, info: Info, id: strawberry.ID, input: PauseReasonUpdateInput
    ) -> PauseReasonResult:
        limit = input.max_minutes
        data = catalog.CatalogInput(
            name=input.name, active=input.active, max_minutes=None if limit is strawberry.UNSET else limit,
            clear_max_minutes=limit is None,
        )
        return PauseReasonType.from_row(await catalog.update_entry(info.context, PauseReason, to_pk(id), data))

    @strawberry.mutation(description="Stays on old records; can no longer be chosen.")
    async def pause_reason_deactivate(self, info: Info, id: strawberry.ID) -> PauseReasonResult:
        return PauseReasonType.from_row(await catalog.deactivate_entry(info.context, PauseReason, to_pk(id)))


HANDLERS = [DomainErrorHandler(domain.AgentStateError, AgentStateError)]
