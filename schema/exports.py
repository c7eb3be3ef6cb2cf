"""Exports' GraphQL surface: ask for a file, get a signed link that streams it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import strawberry

from models.data_export import ExportKind as ExportKindModel
from resolvers import errors as domain
from resolvers import exports as use_cases
from resolvers.signed_links import export_link
from schema.base import Info
from schema.campaign import QueueStatus
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk

ExportKind = strawberry.enum(ExportKindModel, name="ExportKind")
ExportErrorCode = strawberry.enum(domain.ExportErrorCode, name="ExportErrorCode")


@strawberry.type
class ExportError(Error):
    code: ExportErrorCode  # type: ignore[valid-type]


@strawberry.input(description="Filters; each applies to the kinds that have the field.")
class ExportFilter:
    campaign_id: strawberry.ID | None = strawberry.field(
        default=None, description="Operations, agent productivity; members and campaign results (required)."
    )
    agent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Operations' and agent productivity's agent, tickets' assignee."
    )
    result_kind: str | None = strawberry.field(
        default=None, description="Operations: SUCCESS, FAILURE, SCHEDULE or NO_CONTACT."
    )
    date_from: date | None = strawberry.field(
        default=None, description="Operations: first local day; reports: the period's (required)."
    )
    date_to: date | None = strawberry.field(
        default=None, description="Operations: last local day; reports: the period's (required)."
    )
    company_id: strawberry.ID | None = strawberry.field(default=None, description="Tickets, ticket figures.")
    state: str | None = strawberry.field(default=None, description="Tickets: OPEN, CLOSED or ALL.")
    status: QueueStatus | None = strawberry.field(default=None, description="Members.")  # type: ignore[valid-type]


@strawberry.type(description="A CSV file built while it downloads, with the visibility of your queries.")
class ExportLink:
    id: strawberry.ID
    kind: ExportKind  # type: ignore[valid-type]
    url: str = strawberry.field(description="Signed for you; open it before expiresAt (it streams the file).")
    expires_at: datetime


ExportResult = Annotated[ExportLink | ExportError, strawberry.union("ExportResult")]

_RESULT_KINDS = {"SUCCESS", "FAILURE", "SCHEDULE", "NO_CONTACT"}
_STATES = {"OPEN", "CLOSED", "ALL"}


@strawberry.type
class ExportMutation:
    @strawberry.mutation(
        description="Export operations, tickets (with their current status), a campaign's members, or a report "
        "(agent productivity, campaign results, ticket figures: the rows of its query) as CSV: a link that "
        "streams the file (also GET /exports/<id>.csv with your token)."
    )
    async def export_create(
        self, info: Info, kind: ExportKind, filter: ExportFilter | None = None  # type: ignore[valid-type]
    ) -> ExportResult:
        where = filter or ExportFilter()
        if where.result_kind is not None and where.result_kind not in _RESULT_KINDS:
            raise domain.ExportError(domain.ExportErrorCode.INVALID, "Unknown result kind.", "resultKind")
        if where.state is not None and where.state not in _STATES:
            raise domain.ExportError(domain.ExportErrorCode.INVALID, "State is OPEN, CLOSED or ALL.", "state")
        export = await use_cases.create_export(info.context, ExportKindModel(kind), use_cases.ExportFilter(
            campaign_id=optional_pk(where.campaign_id), agent_id=optional_pk(where.agent_id),
            result_kind=where.result_kind,
            date_from=where.date_from.isoformat() if where.date_from else None,
            date_to=where.date_to.isoformat() if where.date_to else None,
            company_id=optional_pk(where.company_id), state=where.state,
            status=where.status.value if where.status is not None else None,
        ))
        path, expires = export_link(info.context.settings, export.pk, info.context.require_user())
        request = info.context.request
        base = str(request.base_url).rstrip("/") if request is not None and hasattr(request, "base_url") else ""
        return ExportLink(
            id=strawberry.ID(str(export.pk)), kind=export.kind, url=base + path,
            expires_at=datetime.fromtimestamp(expires, UTC),
        )


HANDLERS = [DomainErrorHandler(domain.ExportError, ExportError)]
