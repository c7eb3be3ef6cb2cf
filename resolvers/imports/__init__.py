"""Imports: a file of persons, campaign members or do-not-call numbers, loaded a batch at a time.

`create_import` checks what can be checked before any row (who asks, the campaign, the header and
its mapping) and answers a typed error; `run_import` then streams the file (resolvers/imports/
reader.py), checks each batch by the mutations' own rules, and commits its good rows, its refused
rows (the error report), the import's counters and an IMPORT_PROGRESS event together, so progress
never says more than is written. Cancelling stops at the next batch; batches already committed stay.
A re-run of the same file with UPSERT changes nothing more (rows are matched by document, numbers
by number). DRY_RUN checks every row as INSERT would and writes only the report.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import logging
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from tortoise.transactions import in_transaction

from models.campaign import Campaign
from models.data_import import Import, ImportKind, ImportMode, ImportRowError, ImportStatus
from models.do_not_call import DoNotCallNumber
from models.event import Event
from realtime import commit
from realtime.events import EventSpec, publish, record
from resolvers.attachment import CHUNK, Upload, sanitize_file_name
from resolvers.campaign import rules
from resolvers.context import Context
from resolvers.do_not_call import DoNotCallInput, clean_entry
from resolvers.errors import DataImportError, DataImportErrorCode, DomainError
from resolvers.exports import encode_csv
from resolvers.imports.members import CampaignFacts, plan_members, write_members
from resolvers.imports.persons import RowError, plan_persons, row_error, write_persons
from resolvers.imports.reader import FileRefused, Row, Table, check_mapping, guess_mapping
from resolvers.imports.staging import copy_rows, fetch, is_postgres
from resolvers.pagination import Page, PageArgs, paginate

logger = logging.getLogger("contato.imports")

BATCH = 1000
POSTGRES_BATCH = 5000
TERMINAL = (ImportStatus.DONE, ImportStatus.FAILED, ImportStatus.CANCELLED)
# What an IMPORT_PROGRESS event carries: the import as that batch left it.
PROGRESS = ("status", "processed_rows", "inserted", "updated", "error_rows", "bytes_read", "message")
# Imports running in this process, so that tests and shutdown can wait for them.
RUNNING: dict[int, asyncio.Task[Import]] = {}


@dataclass(frozen=True)
class ImportRequest:
    kind: ImportKind
    mode: ImportMode = ImportMode.INSERT
    campaign_id: int | None = None
    mapping: dict[str, str] | None = None


def import_dir(upload_dir: Path) -> Path:
    directory = upload_dir / "imports"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


async def stage_upload(upload_dir: Path, upload: Upload) -> tuple[Path, str, int]:
    """Stream an uploaded file to disk, chunk by chunk; returns (path, sanitized name, size)."""
    handle, name = tempfile.mkstemp(dir=import_dir(upload_dir), prefix="import-")
    path, size = Path(name), 0
    try:
        with os.fdopen(handle, "wb") as output:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                output.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path, sanitize_file_name(upload.filename), size


def _require_staff(ctx: Context) -> None:
    ctx.require_user()
    if not ctx.is_staff:
        raise DataImportError(DataImportErrorCode.FORBIDDEN, "Only supervisors and admins import files.")


async def create_import(
    ctx: Context, request: ImportRequest, path: Path, file_name: str, owns_file: bool = True
) -> Import:
    """Check the request and the file's header, and record the import (PENDING). With `owns_file`
    (an upload staged by `stage_upload`) the file is the import's: removed on a refusal or at the end."""
    try:
        _require_staff(ctx)
        if request.kind == ImportKind.MEMBERS:
            if request.campaign_id is None:
                raise DataImportError(
                    DataImportErrorCode.CAMPAIGN_REQUIRED, "A members import needs campaignId.", "campaignId"
                )
            if not await Campaign.filter(id=request.campaign_id).exists():
                raise DataImportError(DataImportErrorCode.UNKNOWN_CAMPAIGN, "No such campaign.", "campaignId")
        try:
            table = Table(path)
        except FileRefused as refused:
            raise DataImportError(DataImportErrorCode[refused.code], refused.message, "file") from None
        except Exception:  # noqa: BLE001 - a corrupt XLSX is the caller's file, not our fault
            raise DataImportError(DataImportErrorCode.UNREADABLE_FILE, "The file is neither CSV nor XLSX.", "file") from None
        try:
            mapping = check_mapping(table.headers, request.mapping or guess_mapping(table.headers, request.kind),
                                    request.kind)
        except FileRefused as refused:
            raise DataImportError(DataImportErrorCode[refused.code], refused.message, "mapping") from None
        finally:
            table.close()
        job = await Import.create(
            kind=request.kind, mode=request.mode, campaign_id=request.campaign_id if request.kind == ImportKind.MEMBERS
            else None, created_by_id=ctx.require_user().pk or None, file_name=file_name, file_path=str(path),
            file_size=path.stat().st_size, mapping=mapping, owns_file=owns_file,
        )
        if owns_file:  # inside a longer transaction (an idempotency key) the row may yet roll back
            commit.undo_on_rollback(lambda: path.unlink(missing_ok=True))
        return job
    except BaseException:
        if owns_file:
            path.unlink(missing_ok=True)
        raise


def start_import(job: Import, broadcast: Any, zone: Any) -> None:
    """Run the import in this process's event loop, in the background, once `job` is committed.

    Inside a longer transaction (a mutation sent with an idempotency key, realtime/commit.py) the
    start waits for its commit: a task started within it would share its connection (Tortoise keeps
    the transaction in a context variable the task inherits) and, on PostgreSQL, fail on it."""

    def launch() -> None:
        task = asyncio.create_task(run_import(job.pk, broadcast, zone=zone), name=f"import-{job.pk}")
        RUNNING[job.pk] = task
        task.add_done_callback(lambda _: RUNNING.pop(job.pk, None))

    async def after_commit() -> None:
        launch()

    if not commit.defer(after_commit):
        launch()


async def visible_import(ctx: Context, import_id: int) -> Import:
    _require_staff(ctx)
    job = await Import.get_or_none(id=import_id)
    if job is None:
        raise DataImportError(DataImportErrorCode.NOT_FOUND, "No such import.", "id")
    return job


async def cancel_import(ctx: Context, import_id: int) -> Import:
    job = await visible_import(ctx, import_id)
    asked = await Import.filter(id=job.pk, status__in=(ImportStatus.PENDING, ImportStatus.RUNNING)).update(
        cancel_requested=True
    )
    if not asked:
        raise DataImportError(DataImportErrorCode.NOT_CANCELLABLE, f"This import is {job.status.value}.", "id")
    job.cancel_requested = True
    return job


async def error_page(ctx: Context, import_id: int, first: int | None, after: str | None) -> Page[ImportRowError]:
    await visible_import(ctx, import_id)
    return await paginate(ImportRowError.filter(data_import_id=import_id), "importError", PageArgs(first, after),
                          ctx.settings.max_page_size)


async def error_rows(import_id: int, page: int = 1000) -> AsyncIterator[list[tuple[int, str, str, str]]]:
    """The refused rows in file order, a page at a time (the CSV report streams from this)."""
    last = 0
    while True:
        rows = await ImportRowError.filter(data_import_id=import_id, id__gt=last).order_by("id").limit(page).values_list(
            "id", "row", "column", "code", "message"
        )
        if not rows:
            return
        last = rows[-1][0]
        yield [(row, column, code, message) for _, row, column, code, message in rows]


async def error_report_csv(import_id: int) -> AsyncIterator[bytes]:
    """The error report as CSV bytes (UTF-8 with a BOM, so spreadsheets read the accents), a page at a
    time; a header or a value from the file that a spreadsheet would run as a formula is quoted."""
    yield codecs.BOM_UTF8 + b"row,column,code,message\r\n"
    async for page in error_rows(import_id):
        yield encode_csv(page)


# --- running -------------------------------------------------------------------------------------

Progress = Callable[[Import], Awaitable[None] | None]


def _moment(text: str, field_name: str, zone: Any) -> datetime | None:
    if not text:
        return None
    for parse in (datetime.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y")):
        try:
            value = parse(text)
        except ValueError:
            continue
        if isinstance(value, date) and not isinstance(value, datetime):
            value = datetime.combine(value, time())
        return value if value.tzinfo else value.replace(tzinfo=zone)
    raise DataImportError(DataImportErrorCode.INVALID, f"{text!r} is not a date (2026-12-31 or 31/12/2026).",
                          field_name)


class _Batch:
    """What one batch did, for the counters."""

    def __init__(self) -> None:
        self.inserted = self.updated = 0
        self.errors: list[RowError] = []


async def _do_not_call_batch(job: Import, rows: list[Row], connection: Any, zone: Any) -> _Batch:
    result = _Batch()
    now = rules.utc_now()
    entries: dict[str, tuple[Row, dict[str, object]]] = {}
    for row in rows:
        values = row.values
        try:
            entry = clean_entry(DoNotCallInput(
                number=values.get("number", ""), source=values.get("source") or f"import {job.file_name}"[:100],
                reason=values.get("reason", ""), added_at=_moment(values.get("added_at", ""), "addedAt", zone),
                expires_at=_moment(values.get("expires_at", ""), "expiresAt", zone),
            ), now)
        except DomainError as error:
            result.errors.append(row_error(row, error))
            continue
        if entry["number"] in entries:
            result.errors.append(RowError(row.number, row.columns.get("number", "number"), "ALREADY_LISTED",
                                          f"This number is also on row {entries[str(entry['number'])][0].number}."))
            continue
        entries[str(entry["number"])] = (row, entry)
    existing = dict(await DoNotCallNumber.filter(number__in=list(entries)).using_db(connection).values_list(
        "number", "id"
    ))
    fresh: list[tuple[Row, dict[str, object]]] = []
    changed: list[tuple[Row, int, dict[str, object]]] = []
    for number, (row, entry) in entries.items():
        if number not in existing:
            fresh.append((row, entry))
        elif job.mode == ImportMode.UPSERT:
            changed.append((row, existing[number], entry))
        else:
            result.errors.append(RowError(row.number, row.columns.get("number", "number"), "ALREADY_LISTED",
                                          "This number is on the register (import with UPSERT to update it)."))
    result.inserted, result.updated = len(fresh), len(changed)
    if job.mode == ImportMode.DRY_RUN or not (fresh or changed):
        return result
    if is_postgres(connection):
        await _write_do_not_call_postgres(job, connection, fresh, changed, result)
        return result
    if fresh:
        await DoNotCallNumber.bulk_create(
            [DoNotCallNumber(**entry, added_by_id=job.created_by_id) for _, entry in fresh], using_db=connection
        )
    for _, entry_id, entry in changed:
        await DoNotCallNumber.filter(id=entry_id).using_db(connection).update(**entry)
    return result


_REGISTER_STAGE = "import_do_not_call_stage"
_REGISTER_COLUMNS = ("number", "source", "reason", "added_at", "expires_at")
_REGISTER_DEFINITION = "number varchar(16), source varchar(100), reason text, added_at timestamptz, expires_at timestamptz"
# The register's upsert by number: with UPSERT ($2) a listed number takes the file's entry; without,
# a number listed meanwhile by a concurrent writer is skipped (not returned) and reported.
_REGISTER_MERGE = (
    'INSERT INTO "do_not_call_number" ("number", "source", "reason", "added_at", "expires_at", "added_by_id", '
    f'"created_at", "updated_at") SELECT {", ".join(_REGISTER_COLUMNS)}, $1, now(), now() FROM {_REGISTER_STAGE} '
    'ON CONFLICT ("number") DO UPDATE SET "source" = EXCLUDED."source", "reason" = EXCLUDED."reason", '
    '"added_at" = EXCLUDED."added_at", "expires_at" = EXCLUDED."expires_at", "updated_at" = now() WHERE $2::boolean '
    'RETURNING "number", xmax = 0'
)


async def _write_do_not_call_postgres(
    job: Import, connection: Any, fresh: list[tuple[Row, dict[str, object]]],
    changed: list[tuple[Row, int, dict[str, object]]], result: _Batch,
) -> None:
    """COPY the batch's entries into the staging table, then `_REGISTER_MERGE` (imports/staging.py)."""
    rows = [*fresh, *((row, entry) for row, _, entry in changed)]
    async with connection.acquire_connection() as raw:
        await copy_rows(connection, raw, _REGISTER_STAGE, _REGISTER_DEFINITION, _REGISTER_COLUMNS,
                        [tuple(entry[column] for column in _REGISTER_COLUMNS) for _, entry in rows])
        written = dict(await fetch(connection, raw, _REGISTER_MERGE, job.created_by_id,
                                   job.mode == ImportMode.UPSERT))
    result.inserted = sum(1 for inserted in written.values() if inserted)
    result.updated = len(written) - result.inserted
    for row, entry in rows:
        if entry["number"] not in written:
            result.errors.append(RowError(row.number, row.columns.get("number", "number"), "ALREADY_LISTED",
                                          "This number was put on the register meanwhile."))


async def _batch(job: Import, rows: list[Row], connection: Any, facts: CampaignFacts | None, zone: Any) -> _Batch:
    dry = job.mode == ImportMode.DRY_RUN
    if job.kind == ImportKind.PERSONS:
        plan = await plan_persons(rows, job.mode)
        result = _Batch()
        result.errors = plan.errors
        if dry:
            result.inserted = len(plan.inserts)
        else:
            result.inserted, result.updated = await write_persons(connection, plan)
        return result
    if job.kind == ImportKind.MEMBERS:
        assert facts is not None
        member_plan = await plan_members(rows, job.mode, facts)
        result = _Batch()
        result.errors = member_plan.errors
        if dry:
            result.inserted, result.updated = len(member_plan.inserts), len(member_plan.updates)
        else:
            result.inserted, result.updated = await write_members(connection, member_plan, facts)
        return result
    return await _do_not_call_batch(job, rows, connection, zone)


def _event(job: Import) -> EventSpec:
    return EventSpec(
        kind="IMPORT_PROGRESS", entity="import", entity_id=job.pk, campaign_id=job.campaign_id,
        agent_id=job.created_by_id,
        data={field: getattr(job, field).value if field == "status" else getattr(job, field) for field in PROGRESS},
    )


async def _save(job: Import, connection: Any, errors: list[RowError] = ()) -> Event:  # type: ignore[assignment]
    if errors:
        await ImportRowError.bulk_create(
            [ImportRowError(data_import_id=job.pk, row=e.row, column=e.column[:200], code=e.code, message=e.message)
             for e in sorted(errors, key=lambda error: error.row)],  # the report reads in file order
            using_db=connection,
        )
    await Import.filter(id=job.pk).using_db(connection).update(
        status=job.status, processed_rows=job.processed_rows, inserted=job.inserted, updated=job.updated,
        error_rows=job.error_rows, bytes_read=job.bytes_read, message=job.message, started_at=job.started_at,
        finished_at=job.finished_at,
    )
    return await record(connection, _event(job))


async def _commit(job: Import, broadcast: Any, errors: list[RowError] = ()) -> None:  # type: ignore[assignment]
    async with in_transaction() as connection:
        event = await _save(job, connection, errors)
    await publish(broadcast, [event])


async def run_import(
    import_id: int, broadcast: Any = None, progress: Progress | None = None, zone: Any = None
) -> Import:
    """Stream the file and load it batch by batch (see the module's docstring)."""
    job = await Import.get(id=import_id)
    if job.status != ImportStatus.PENDING:
        return job
    from zoneinfo import ZoneInfo

    zone = zone or ZoneInfo("America/Sao_Paulo")
    job.status, job.started_at = ImportStatus.RUNNING, rules.utc_now()
    await _commit(job, broadcast)
    path = Path(job.file_path)
    try:
        facts = await CampaignFacts.load(job.campaign_id) if job.campaign_id is not None else None
        table = Table(path)
        try:
            rows = table.rows(job.mapping)
            while True:
                if (await Import.filter(id=job.pk).values_list("cancel_requested", flat=True))[0]:
                    job.status = ImportStatus.CANCELLED
                    break
                batch = _take(rows, BATCH if not _postgres() else POSTGRES_BATCH)
                if not batch:
                    job.status = ImportStatus.DONE
                    break
                async with in_transaction() as connection:
                    result = await _batch(job, batch, connection, facts, zone)
                    job.processed_rows += len(batch)
                    job.inserted += result.inserted
                    job.updated += result.updated
                    job.error_rows += len(result.errors)
                    job.bytes_read = table.bytes_read
                    event = await _save(job, connection, result.errors)
                await publish(broadcast, [event])
                if progress is not None:
                    shown = progress(job)
                    if shown is not None:
                        await shown
        finally:
            table.close()
    except Exception:
        logger.exception("import %s failed", job.pk)
        job.status, job.message = ImportStatus.FAILED, "The import failed on the server; rows before it are kept."
    job.finished_at = rules.utc_now()
    await _commit(job, broadcast)
    if job.owns_file:
        with contextlib.suppress(OSError):
            path.unlink()
    if progress is not None:
        shown = progress(job)
        if shown is not None:
            await shown
    return job


def _take(rows: Any, size: int) -> list[Row]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            break
    return batch


def _postgres() -> bool:
    from tortoise import connections

    return bool(connections.get("default").capabilities.dialect == "postgres")
