"""Bulk actions for supervisors on the GraphQL surface (resolvers/bulk.py), and the one-at-a-time
reassignments they run per item (callbackReassign, campaignMemberClaimTransfer)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from resolvers import bulk as use_cases
from resolvers import errors as domain
from resolvers.operation.reassign import reassign_callback, transfer_claim
from schema.base import Info
from schema.campaign import CampaignError, CampaignMemberType
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.operation import CallbackType, OperationError
from schema.ticket.operations import NOTIFY_DESCRIPTION

BulkErrorCode = strawberry.enum(domain.BulkErrorCode, name="BulkErrorCode")
BulkItemKind = strawberry.enum(use_cases.ItemKind, name="BulkItemKind")


@strawberry.type(description="A bulk call refused whole (nothing done), or one item's unexpected failure.")
class BulkError(Error):
    code: BulkErrorCode  # type: ignore[valid-type]


# One enum of every code an item can be refused with (the one-item mutations' families, and UNEXPECTED):
# a single error type per item, whose `code` selects without aliases.
_ITEM_CODES = (domain.TicketErrorCode, domain.CampaignErrorCode, domain.OperationErrorCode, domain.BulkErrorCode)
BulkItemErrorCodeModel = Enum(  # type: ignore[misc]
    "BulkItemErrorCode", {name: name for family in _ITEM_CODES for name in family.__members__}, type=str
)
BulkItemErrorCode = strawberry.enum(BulkItemErrorCodeModel, name="BulkItemErrorCode")


@strawberry.type(description="Why one item was refused: the code the one-item mutation gives (its ticket, "
                             "campaign or operation error code), or UNEXPECTED (logged).")
class BulkItemError(Error):
    code: BulkItemErrorCode  # type: ignore[valid-type]


@strawberry.type(description="One item of a bulk action: done (ok, no error) or refused with the error the "
                             "one-at-a-time mutation would have given; a refused item changed nothing.")
class BulkItemResult:
    kind: BulkItemKind  # type: ignore[valid-type]
    id: strawberry.ID
    ok: bool
    error: BulkItemError | None


@strawberry.type
class BulkResult:
    items: list[BulkItemResult]
    succeeded: int
    failed: int
    remaining: int = strawberry.field(
        description="agentWorkReassign: items of the agent's work not tried in this call (call again)."
    )


BulkActionResult = Annotated[BulkResult | BulkError, strawberry.union("BulkActionResult")]
CallbackReassignResult = Annotated[CallbackType | OperationError, strawberry.union("CallbackReassignResult")]
ClaimTransferResult = Annotated[CampaignMemberType | CampaignError, strawberry.union("ClaimTransferResult")]

def _item_error(error: domain.DomainError | None) -> BulkItemError | None:
    if error is None:
        return None
    code = BulkItemErrorCodeModel.__members__.get(error.code.name, BulkItemErrorCodeModel.UNEXPECTED)
    return BulkItemError(message=error.message, field=error.field, code=code)


def _result(outcome: use_cases.BulkOutcome) -> BulkResult:
    return BulkResult(
        items=[
            BulkItemResult(kind=item.kind, id=strawberry.ID(str(item.id)), ok=item.ok, error=_item_error(item.error))
            for item in outcome.items
        ],
        succeeded=outcome.succeeded, failed=outcome.failed, remaining=outcome.remaining,
    )


def _pks(ids: list[strawberry.ID]) -> list[int]:
    return [to_pk(item) for item in ids]


BULK = f"Supervisors and admins; at most {use_cases.MAX_ITEMS} ids (TOO_MANY_ITEMS). Each ticket as the one-ticket "


@strawberry.type
class BulkMutation:
    @strawberry.mutation(description=BULK + "mutation, in its own transaction. " + NOTIFY_DESCRIPTION)
    async def ticket_bulk_status_change(
        self, info: Info, ticket_ids: list[strawberry.ID], status_id: strawberry.ID,
        notify_customer: bool | None = None,
    ) -> BulkActionResult:
        return _result(await use_cases.tickets_change_status(
            info.context, _pks(ticket_ids), to_pk(status_id), notify_customer
        ))

    @strawberry.mutation(description=BULK + "mutation; assigneeId null: to nobody. " + NOTIFY_DESCRIPTION)
    async def ticket_bulk_assign(
        self, info: Info, ticket_ids: list[strawberry.ID], assignee_id: strawberry.ID | None = None,
        notify_customer: bool | None = None,
    ) -> BulkActionResult:
        return _result(await use_cases.tickets_assign(
            info.context, _pks(ticket_ids), optional_pk(assignee_id), notify_customer
        ))

    @strawberry.mutation(description=BULK + "mutation. " + NOTIFY_DESCRIPTION)
    async def ticket_bulk_close(
        self, info: Info, ticket_ids: list[strawberry.ID], closure_reason_id: strawberry.ID | None = None,
        notify_customer: bool | None = None,
    ) -> BulkActionResult:
        return _result(await use_cases.tickets_close(
            info.context, _pks(ticket_ids), optional_pk(closure_reason_id), notify_customer
        ))

    @strawberry.mutation(
        description="Supervisors and admins: hand an agent's pending callbacks (callbackReassign), the members "
        "they hold (campaignMemberClaimTransfer) and their open tickets (ticketAssign) to another agent, or "
        f"to anyone (toAgentId null), {use_cases.MAX_ITEMS} items per call (see remaining). With campaignId: "
        "that campaign's callbacks and members only."
    )
    async def agent_work_reassign(
        self, info: Info, from_agent_id: strawberry.ID, to_agent_id: strawberry.ID | None = None,
        campaign_id: strawberry.ID | None = None, notify_customer: bool | None = None,
    ) -> BulkActionResult:
        return _result(await use_cases.reassign_agent_work(
            info.context, to_pk(from_agent_id), optional_pk(to_agent_id), optional_pk(campaign_id), notify_customer
        ))

    @strawberry.mutation(
        description="Supervisors and admins: give a pending callback to another agent of its campaign, or to "
        "anyone on it (agentId null); its alerts start over."
    )
    async def callback_reassign(
        self, info: Info, id: strawberry.ID, agent_id: strawberry.ID | None = None
    ) -> CallbackReassignResult:
        return CallbackType.from_row(await reassign_callback(info.context, to_pk(id), optional_pk(agent_id)))

    @strawberry.mutation(
        description="Supervisors and admins: hand a member someone holds to another agent of the campaign (a "
        "new lease), or back to the queue (agentId null)."
    )
    async def campaign_member_claim_transfer(
        self, info: Info, member_id: strawberry.ID, agent_id: strawberry.ID | None = None
    ) -> ClaimTransferResult:
        return CampaignMemberType.from_row(await transfer_claim(info.context, to_pk(member_id), optional_pk(agent_id)))


HANDLERS = [DomainErrorHandler(domain.BulkError, BulkError)]
