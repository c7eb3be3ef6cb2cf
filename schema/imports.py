"""Imports' GraphQL surface: upload a file (GraphQL multipart), follow it, cancel it, read its errors."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from models.data_import import Import, ImportRowError
from models.data_import import ImportKind as ImportKindModel
from models.data_import import ImportMode as ImportModeModel
from models.data_import import ImportStatus as ImportStatusModel
from resolvers import errors as domain
from resolvers import imports as use_cases
from resolvers.signed_links import import_errors_link
from schema.base import Info
from schema.errors import DomainErrorHandler, Error
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection

ImportKind = strawberry.enum(ImportKindModel, name="ImportKind")
ImportMode = strawberry.enum(ImportModeModel, name="ImportMode")
ImportStatus = strawberry.enum(ImportStatusModel, name="ImportStatus")
ImportErrorCode = strawberry.enum(domain.DataImportErrorCode, name="ImportErrorCode")


@strawberry.type
class ImportError(Error):  # noqa: A001 - the GraphQL name the API's error types follow
    code: ImportErrorCode  # type: ignore[valid-type]


@strawberry.type(description="A file column and the field it was read as.")
class ImportColumn:
    column: str
    field: str


@strawberry.input
class ImportColumnInput:
    column: str = strawberry.field(description="The header, exactly as in the file.")
    field: str = strawberry.field(description="document, name, kind, phones, emails, company, stage, agent…")


@strawberry.type(name="ImportRowError", description="A refused row: the header is row 1.")
class ImportRowErrorType:
    id: strawberry.ID
    row: int
    column: str
    code: str
    message: str

    @classmethod
    def from_row(cls, row: ImportRowError) -> ImportRowErrorType:
        return cls(id=strawberry.ID(str(row.pk)), row=row.row, column=row.column, code=row.code, message=row.message)


@strawberry.type(name="Import")
class ImportType:
    id: strawberry.ID
    kind: ImportKind  # type: ignore[valid-type]
    mode: ImportMode  # type: ignore[valid-type]
    status: ImportStatus  # type: ignore[valid-type]
    file_name: str
    file_size: int
    processed_rows: int = strawberry.field(description="Data rows read so far (blank lines are skipped).")
    inserted: int = strawberry.field(description="Rows written as new (DRY_RUN: that would be).")
    updated: int
    error_rows: int
    cancel_requested: bool
    message: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    mapping: list[ImportColumn]
    progress: float = strawberry.field(description="Share of the file read, 0 to 1 (CSV; XLSX says 1 at the end).")

    @classmethod
    def from_row(cls, row: Import) -> ImportType:
        done = row.status in use_cases.TERMINAL
        share = 1.0 if done else (min(row.bytes_read / row.file_size, 1.0) if row.file_size else 0.0)
        return cls(
            id=strawberry.ID(str(row.pk)), kind=row.kind, mode=row.mode, status=row.status, file_name=row.file_name,
            file_size=row.file_size, processed_rows=row.processed_rows, inserted=row.inserted, updated=row.updated,
            error_rows=row.error_rows, cancel_requested=row.cancel_requested, message=row.message,
            created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
            mapping=[ImportColumn(column=column, field=name) for column, name in (row.mapping or {}).items()],
            progress=share,
        )

    @strawberry.field(description="The refused rows, in file order.")
    async def errors(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[ImportRowErrorType]:
        page = await use_cases.error_page(info.context, int(self.id), first, after)
        return Connection.from_page(page, ImportRowErrorType.from_row)

    @strawberry.field(
        description="The refused rows as CSV (row, column, code, message): a link signed for you, valid "
        "ATTACHMENT_LINK_TTL_SECONDS; GET /imports/<id>/errors.csv with your token works too."
    )
    def error_report_url(self, info: Info) -> str:
        settings = info.context.settings
        path = import_errors_link(settings, int(self.id), info.context.require_user())
        request = info.context.request
        base = str(request.base_url).rstrip("/") if request is not None and hasattr(request, "base_url") else ""
        return base + path


ImportResult = Annotated[ImportType | ImportError, strawberry.union("ImportResult")]


@strawberry.type
class ImportQuery:
    @strawberry.field(name="import", description="An import (supervisors and admins).")
    async def import_(self, info: Info, id: strawberry.ID) -> ImportResult:
        return ImportType.from_row(await use_cases.visible_import(info.context, to_pk(id)))


@strawberry.type
class ImportMutation:
    @strawberry.mutation(
        description="Import a CSV (UTF-8 or Latin-1, `;` or `,`) or XLSX file of persons, campaign members or "
        "do-not-call numbers (supervisors and admins). Columns are read by `mapping`, or by their Portuguese or "
        "English names. It runs in the background: follow it with importProgress."
    )
    async def import_create(
        self,
        info: Info,
        file: Upload,
        kind: ImportKind,  # type: ignore[valid-type]
        mode: ImportMode = ImportModeModel.INSERT,  # type: ignore[valid-type, assignment]
        campaign_id: strawberry.ID | None = None,
        mapping: list[ImportColumnInput] | None = None,
    ) -> ImportResult:
        ctx = info.context
        use_cases._require_staff(ctx)
        path, file_name, _ = await use_cases.stage_upload(ctx.settings.upload_dir, file)
        request = use_cases.ImportRequest(
            kind=kind, mode=mode, campaign_id=optional_pk(campaign_id),
            mapping={item.column: item.field for item in mapping} if mapping else None,
        )
        job = await use_cases.create_import(ctx, request, path, file_name)
        use_cases.start_import(job, ctx.broadcast, ctx.settings.zone)
        return ImportType.from_row(job)

    @strawberry.mutation(description="Stop an import at its next batch; the batches already committed stay.")
    async def import_cancel(self, info: Info, id: strawberry.ID) -> ImportResult:
        return ImportType.from_row(await use_cases.cancel_import(info.context, to_pk(id)))


HANDLERS = [DomainErrorHandler(domain.DataImportError, ImportError)]
