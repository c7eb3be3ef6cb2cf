"""Durable history on the GraphQL surface: `Ticket.history` entries and `CampaignMember.events`
(issue 16). Rows come from resolvers/history.py through the loaders, which apply who may read what."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from models.history import MemberEvent, TicketHistoryEntry
from models.history import MemberEventKind as MemberEventKindModel
from models.history import TicketHistoryKind as TicketHistoryKindModel
from schema.base import Info
from schema.campaign import CampaignStageType, QueueStatus
from schema.ticket_catalog import (
    ClosureReasonType,
    ContactSubtypeType,
    ContactTypeType,
    TicketClassificationType,
    TicketStatusType,
)
from schema.user import UserType

if TYPE_CHECKING:
    from schema.operation import CallbackType, OperationType

TicketHistoryKind = strawberry.enum(
    TicketHistoryKindModel,
    name="TicketHistoryKind",
    description="EMAIL_QUEUED: the change e-mailed the customer (written to the outbox with it; sent after).",
)
MemberEventKind = strawberry.enum(MemberEventKindModel, name="MemberEventKind")


async def _user(info: Info, user_id: int | None) -> UserType | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user_by_id.load(user_id)
    return UserType.from_row(row) if row else None


async def _status(info: Info, status_id: int | None) -> TicketStatusType | None:
    if status_id is None:
        return None
    row = await info.context.loaders.ticket_status_by_id.load(status_id)
    return TicketStatusType.from_row(row) if row else None


async def _classification(info: Info, classification_id: int | None) -> TicketClassificationType | None:
    if classification_id is None:
        return None
    row = await info.context.loaders.ticket_classification_by_id.load(classification_id)
    return TicketClassificationType.from_row(row) if row else None


async def _stage(info: Info, stage_id: int | None) -> CampaignStageType | None:
    if stage_id is None:
        return None
    row = await info.context.loaders.campaign_stage_by_id.load(stage_id)
    return CampaignStageType.from_row(row) if row else None


@strawberry.type(
    name="TicketHistoryEntry",
    description="One change to a ticket, who made it and when; append-only, kept after a reopening. "
    "Company reps read OPENED, STATUS_CHANGED, CLOSED, REOPENED and EMAIL_QUEUED entries only.",
)
class TicketHistoryEntryType:
    id: strawberry.ID
    kind: TicketHistoryKind  # type: ignore[valid-type]
    created_at: datetime
    row: strawberry.Private[TicketHistoryEntry]

    @classmethod
    def from_row(cls, row: TicketHistoryEntry) -> TicketHistoryEntryType:
        return cls(id=strawberry.ID(str(row.pk)), kind=row.kind, created_at=row.created_at, row=row)

    @strawberry.field(description="Who made the change.")
    async def actor(self, info: Info) -> UserType | None:
        return await _user(info, self.row.actor_id)

    @strawberry.field(description="STATUS_CHANGED, CLOSED, REOPENED: the status left.")
    async def from_status(self, info: Info) -> TicketStatusType | None:
        return await _status(info, self.row.from_status_id)

    @strawberry.field(description="OPENED, STATUS_CHANGED, REOPENED: the status entered.")
    async def to_status(self, info: Info) -> TicketStatusType | None:
        return await _status(info, self.row.to_status_id)

    @strawberry.field(description="ASSIGNED: the previous assignee (null: nobody).")
    async def from_assignee(self, info: Info) -> UserType | None:
        return await _user(info, self.row.from_assignee_id)

    @strawberry.field(description="ASSIGNED: the new assignee (null: nobody).")
    async def to_assignee(self, info: Info) -> UserType | None:
        return await _user(info, self.row.to_assignee_id)

    @strawberry.field(description="CLOSED: why; REOPENED: the reason of the closure undone.")
    async def closure_reason(self, info: Info) -> ClosureReasonType | None:
        if self.row.closure_reason_id is None:
            return None
        row = await info.context.loaders.closure_reason_by_id.load(self.row.closure_reason_id)
        return ClosureReasonType.from_row(row) if row else None

    @strawberry.field(description="OPENED, CLASSIFIED: the classification then.")
    async def classification(self, info: Info) -> TicketClassificationType | None:
        return await _classification(info, self.row.classification_id)

    @strawberry.field(description="OPENED, CLASSIFIED: the sub-classification then.")
    async def subclassification(self, info: Info) -> TicketClassificationType | None:
        return await _classification(info, self.row.subclassification_id)

    @strawberry.field(description="OPENED, CLASSIFIED: the contact type then.")
    async def contact_type(self, info: Info) -> ContactTypeType | None:
        if self.row.contact_type_id is None:
            return None
        row = await info.context.loaders.contact_type_by_id.load(self.row.contact_type_id)
        return ContactTypeType.from_row(row) if row else None

    @strawberry.field(description="OPENED, CLASSIFIED: the contact subtype then.")
    async def contact_subtype(self, info: Info) -> ContactSubtypeType | None:
        if self.row.contact_subtype_id is None:
            return None
        row = await info.context.loaders.contact_subtype_by_id.load(self.row.contact_subtype_id)
        return ContactSubtypeType.from_row(row) if row else None


@strawberry.type(
    name="MemberEvent",
    description="One change to a campaign member, who made it and when; append-only. For the operator only.",
)
class MemberEventType:
    id: strawberry.ID
    kind: MemberEventKind  # type: ignore[valid-type]
    created_at: datetime
    from_status: QueueStatus | None = strawberry.field(  # type: ignore[valid-type]
        description="OPERATION_RECORDED, REMOVED: the queue status before."
    )
    to_status: QueueStatus | None = strawberry.field(  # type: ignore[valid-type]
        description="OPERATION_RECORDED, REMOVED: the queue status after."
    )
    due_at: datetime | None = strawberry.field(description="CALLBACK_SCHEDULED, CALLBACK_RESCHEDULED: when due.")
    row: strawberry.Private[MemberEvent]

    @classmethod
    def from_row(cls, row: MemberEvent) -> MemberEventType:
        return cls(
            id=strawberry.ID(str(row.pk)), kind=row.kind, created_at=row.created_at,
            from_status=row.from_status, to_status=row.to_status, due_at=row.due_at, row=row,
        )

    @strawberry.field(description="Who made the change.")
    async def actor(self, info: Info) -> UserType | None:
        return await _user(info, self.row.actor_id)

    @strawberry.field(description="The agent it is about: who claimed, was assigned, owns the callback.")
    async def agent(self, info: Info) -> UserType | None:
        return await _user(info, self.row.agent_id)

    @strawberry.field
    async def from_stage(self, info: Info) -> CampaignStageType | None:
        return await _stage(info, self.row.from_stage_id)

    @strawberry.field
    async def to_stage(self, info: Info) -> CampaignStageType | None:
        return await _stage(info, self.row.to_stage_id)

    @strawberry.field
    async def callback(self, info: Info) -> Annotated[CallbackType, strawberry.lazy("schema.operation")] | None:
        from schema.operation import CallbackType

        if self.row.callback_id is None:
            return None
        row = await info.context.loaders.callback_by_id.load(self.row.callback_id)
        return CallbackType.from_row(row) if row else None

    @strawberry.field
    async def operation(self, info: Info) -> Annotated[OperationType, strawberry.lazy("schema.operation")] | None:
        from schema.operation import OperationType

        if self.row.operation_id is None:
            return None
        row = await info.context.loaders.operation_by_id.load(self.row.operation_id)
        return OperationType.from_row(row) if row else None
