"""Outbound catalogs: admins and supervisors maintain them, every authenticated user reads them.

Deactivated entries stay on the records that used them but can no longer be chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.catalog import ContactChannel
from models.floor import PauseReason
from models.outbound import (
    ActionType,
    ContactResult,
    Justification,
    JustificationResult,
    NoContactReason,
    ResultKind,
    Script,
)
from models.user import Role
from resolvers.context import Context
from resolvers.errors import CatalogError, CatalogErrorCode
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.script import QuestionInput, clean_questions

M = TypeVar("M", bound=Model)

MAX_IDS = 100
NAMED = (ContactChannel, ContactResult, Justification, ActionType, NoContactReason, PauseReason)


@dataclass(frozen=True)
class CatalogInput:
    name: str | None = None
    title: str | None = None
    body: str | None = None
    kind: ResultKind | None = None
    recycle_after_minutes: int | None = None
    recycle_max_attempts: int | None = None
    clear_recycle: bool = False
    result_ids: list[int] | None = None
    script_id: int | None = None
    clear_script: bool = False
    requires_callback: bool | None = None
    max_minutes: int | None = None
    clear_max_minutes: bool = False
    active: bool | None = None
    # A dynamic script's questions: the whole ordered list, replaced as a whole ([]: a plain script).
    questions: list[QuestionInput] | None = None


def require_maintainer(ctx: Context) -> None:
    if ctx.require_user().role not in (Role.ADMIN, Role.SUPERVISOR):
        raise CatalogError(CatalogErrorCode.FORBIDDEN, "Only admins and supervisors maintain catalogs.")


async def list_entries(
    ctx: Context, model: type[M], include_inactive: bool, page: PageArgs
) -> Page[M]:
    ctx.require_user()
    queryset = model.all() if include_inactive else model.filter(active=True)
    return await paginate(queryset, model._meta.db_table, page, ctx.settings.max_page_size)


async def list_justifications(
    ctx: Context, result_id: int | None, include_inactive: bool, page: PageArgs
) -> Page[Justification]:
    ctx.require_user()
    queryset = Justification.all() if include_inactive else Justification.filter(active=True)
    if result_id is not None:
        queryset = queryset.filter(result_links__result_id=result_id)
    return await paginate(queryset, "justification", page, ctx.settings.max_page_size)


def _text(value: str, field: str, limit: int) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > limit:
        raise CatalogError(CatalogErrorCode.INVALID, f"{field} must have 1 to {limit} characters.", field)
    return cleaned


def _positive(value: int, field: str) -> int:
    if value < 1:
        raise CatalogError(CatalogErrorCode.INVALID, f"{field} must be at least 1.", field)
    return value


async def _clean(model: type[Model], data: CatalogInput, current: Model | None) -> dict[str, object]:
    values: dict[str, object] = {}
    if data.name is not None:
        values["name"] = _text(data.name, "name", 100)
        clash = model.filter(name=values["name"])
        if current is not None:
            clash = clash.exclude(id=current.pk)
        if await clash.exists():
            raise CatalogError(CatalogErrorCode.DUPLICATE_NAME, "An entry with this name exists.", "name")
    if data.title is not None:
        values["title"] = _text(data.title, "title", 200)
    if data.body is not None:
        values["body"] = _text(data.body, "body", 20000)
    if data.questions is not None:
        values["questions"] = clean_questions(data.questions)
    if data.kind is not None:
        values["kind"] = data.kind
    if data.clear_recycle:
        values.update(recycle_after_minutes=None, recycle_max_attempts=None)
    else:
        if data.recycle_after_minutes is not None:
            values["recycle_after_minutes"] = _positive(data.recycle_after_minutes, "recycleAfterMinutes")
        if data.recycle_max_attempts is not None:
            values["recycle_max_attempts"] = _positive(data.recycle_max_attempts, "recycleMaxAttempts")
    if data.requires_callback is not None:
        values["requires_callback"] = data.requires_callback
    if data.clear_max_minutes:
        values["max_minutes"] = None
    elif data.max_minutes is not None:
        values["max_minutes"] = _positive(data.max_minutes, "maxMinutes")
    if data.clear_script:
        values["script_id"] = None
    elif data.script_id is not None:
        script = await Script.get_or_none(id=data.script_id)
        if script is None:
            raise CatalogError(CatalogErrorCode.UNKNOWN_SCRIPT, "No such script.", "scriptId")
        if not script.active:
            raise CatalogError(CatalogErrorCode.INACTIVE_CATALOG_ENTRY, "This script is deactivated.", "scriptId")
        values["script_id"] = script.pk
    if data.active is not None:
        values["active"] = data.active
    return values


async def _clean_result_ids(data: CatalogInput) -> list[int] | None:
    if data.result_ids is None:
        return None
    if len(data.result_ids) > MAX_IDS:
        raise CatalogError(CatalogErrorCode.TOO_MANY_IDS, f"At most {MAX_IDS} results.", "resultIds")
    wanted = set(data.result_ids)
    rows = {row.pk: row for row in await ContactResult.filter(id__in=wanted)}
    for result_id in data.result_ids:
        row = rows.get(result_id)
        if row is None:
            raise CatalogError(CatalogErrorCode.UNKNOWN_RESULT, "No such result.", "resultIds")
        if not row.active:
            raise CatalogError(CatalogErrorCode.INACTIVE_CATALOG_ENTRY, "This result is deactivated.", "resultIds")
    return sorted(wanted)


REQUIRED: dict[type[Model], tuple[str, ...]] = {
    ContactChannel: ("name",),
    ContactResult: ("name", "kind"),
    Justification: ("name",),
    ActionType: ("name",),
    NoContactReason: ("name",),
    Script: ("title", "body"),
    PauseReason: ("name",),
}


async def create_entry(ctx: Context, model: type[M], data: CatalogInput) -> M:
    require_maintainer(ctx)
    missing = next((field for field in REQUIRED[model] if getattr(data, field) is None), None)
    if missing is not None:
        raise CatalogError(CatalogErrorCode.INVALID, f"{missing} is required.", missing)
    values = await _clean(model, data, None)
    result_ids = await _clean_result_ids(data)
    try:
        async with in_transaction() as connection:
            row = await model.create(**values, using_db=connection)
            if result_ids:
                await JustificationResult.bulk_create(
                    [JustificationResult(justification_id=row.pk, result_id=rid) for rid in result_ids],
                    using_db=connection,
                )
    except IntegrityError:
        raise CatalogError(CatalogErrorCode.DUPLICATE_NAME, "An entry with this name exists.", "name") from None
    return row


async def update_entry(ctx: Context, model: type[M], entry_id: int, data: CatalogInput) -> M:
    require_maintainer(ctx)
    row = await model.get_or_none(id=entry_id)
    if row is None:
        raise CatalogError(CatalogErrorCode.NOT_FOUND, "No such entry.", "id")
    values = await _clean(model, data, row)
    result_ids = await _clean_result_ids(data)
    row.update_from_dict(values)
    try:
        async with in_transaction() as connection:
            await row.save(using_db=connection)
            if result_ids is not None:
                await JustificationResult.filter(justification_id=row.pk).using_db(connection).delete()
                await JustificationResult.bulk_create(
                    [JustificationResult(justification_id=row.pk, result_id=rid) for rid in result_ids],
                    using_db=connection,
                )
    except IntegrityError:
        raise CatalogError(CatalogErrorCode.DUPLICATE_NAME, "An entry with this name exists.", "name") from None
    return row


async def deactivate_entry(ctx: Context, model: type[M], entry_id: int) -> M:
    return await update_entry(ctx, model, entry_id, CatalogInput(active=False))
