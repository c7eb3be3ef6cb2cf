"""Ticket catalogs: classifications, contact types and subtypes, statuses, closure reasons, actions.

Supervisors and admins manage them; every authenticated user reads the active ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models.ticket_catalog import (
    ActionDefinition,
    ClosureReason,
    ContactCategory,
    ContactSubtype,
    ContactType,
    ContactTypeStatus,
    Occurrence,
    Product,
    TicketClassification,
    TicketStatus,
    TicketSubject,
)
from models.user import Role
from resolvers.context import Context
from resolvers.errors import TicketCatalogError, TicketCatalogErrorCode
from resolvers.pagination import Page, PageArgs, paginate

M = TypeVar("M", bound=Model)

MAX_ALLOWED_STATUSES = 100
MAX_RETURN_DAYS = 3650


@dataclass(frozen=True)
class ClassificationInput:
    name: str | None = None
    parent_id: int | None = None
    active: bool | None = None


@dataclass(frozen=True)
class ContactTypeInput:
    name: str | None = None
    category_id: int | None = None
    notes: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    # None keeps what is there; a list replaces it (empty: any status).
    allowed_status_ids: list[int] | None = None
    active: bool | None = None
    clear: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ContactSubtypeInput:
    contact_type_id: int | None = None
    name: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class NamedInput:
    name: str | None = None
    active: bool | None = None


@dataclass(frozen=True)
class TicketStatusInput:
    name: str | None = None
    initial: bool | None = None
    return_after_days: int | None = None
    allows_closing: bool | None = None
    email_on_enter: bool | None = None
    email_on_change: bool | None = None
    active: bool | None = None
    clear: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class ActionDefinitionInput:
    name: str | None = None
    sets_ticket_status_id: int | None = None
    opens_service_order: bool | None = None
    raises_non_conformity: bool | None = None
    active: bool | None = None
    clear: frozenset[str] = field(default_factory=frozenset)


def require_manager(ctx: Context) -> None:
    if ctx.require_user().role not in (Role.ADMIN, Role.SUPERVISOR):
        raise TicketCatalogError(
            TicketCatalogErrorCode.FORBIDDEN, "Only supervisors and admins manage catalogs."
        )


def _readable(ctx: Context, queryset: QuerySet[M], include_inactive: bool) -> QuerySet[M]:
    ctx.require_user()
    if include_inactive and ctx.is_staff:
        return queryset
    return queryset.filter(active=True)


def _name(value: str) -> str:
    cleaned = value.strip()
    # PostgreSQL text cannot hold NUL.
    if not cleaned or len(cleaned) > 100 or "\x00" in cleaned:
        raise TicketCatalogError(
            TicketCatalogErrorCode.INVALID, "Name must have 1 to 100 characters.", "name"
        )
    return cleaned


async def _ensure_name_free(queryset: QuerySet[Any], name: str, current_id: int | None) -> None:
    clash = queryset.filter(name=name)
    if current_id is not None:
        clash = clash.exclude(id=current_id)
    if await clash.exists():
        raise TicketCatalogError(
            TicketCatalogErrorCode.DUPLICATE_NAME, "This name is taken.", "name"
        )


async def _get(model: type[M], row_id: int) -> M:
    row = await model.get_or_none(id=row_id)
    if row is None:
        raise TicketCatalogError(TicketCatalogErrorCode.NOT_FOUND, "No such catalog entry.", "id")
    return row


async def _save(row: M) -> M:
    try:
        async with in_transaction():
            await row.save()
    except IntegrityError:
        raise TicketCatalogError(
            TicketCatalogErrorCode.DUPLICATE_NAME, "This name is taken.", "name"
        ) from None
    return row


# Classifications: a two-level tree (classification → sub-classifications).


async def list_classifications(
    ctx: Context,
    parent_id: int | None,
    include_inactive: bool,
    page: PageArgs,
) -> Page[TicketClassification]:
    queryset = _readable(ctx, TicketClassification.all(), include_inactive)
    queryset = (
        queryset.filter(parent_id=parent_id)
        if parent_id
        else queryset.filter(parent_id__isnull=True)
    )
    return await paginate(
        queryset, "ticket_classification", page, ctx.settings.max_page_size
    )


async def save_classification(
    ctx: Context, row_id: int | None, data: ClassificationInput
) -> TicketClassification:
    require_manager(ctx)
    row = await _get(TicketClassification, row_id) if row_id is not None else TicketClassification()
    if row_id is None:
        if data.name is None:
            raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
        if data.parent_id is not None:
            parent = await TicketClassification.get_or_none(id=data.parent_id)
            if parent is None or parent.parent_id is not None:
                raise TicketCatalogError(
                    TicketCatalogErrorCode.INVALID_PARENT,
                    "A sub-classification goes under a top-level classification.",
                    "parentId",
                )
            row.parent_id = parent.pk
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(
            TicketClassification.filter(parent_id=row.parent_id), row.name, row_id
        )
    if data.active is not None:
        row.active = data.active
    return await _save(row)


# Ticket statuses.


async def list_ticket_statuses(
    ctx: Context, include_inactive: bool, page: PageArgs
) -> Page[TicketStatus]:
    queryset = _readable(ctx, TicketStatus.all(), include_inactive)
    return await paginate(queryset, "ticket_status", page, ctx.settings.max_page_size)


async def save_ticket_status(
    ctx: Context, row_id: int | None, data: TicketStatusInput
) -> TicketStatus:
    require_manager(ctx)
    row = await _get(TicketStatus, row_id) if row_id is not None else TicketStatus()
    if row_id is None and data.name is None:
        raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(TicketStatus.all(), row.name, row_id)
    if "return_after_days" in data.clear:
        row.return_after_days = None
    elif data.return_after_days is not None:
        if not 1 <= data.return_after_days <= MAX_RETURN_DAYS:
            raise TicketCatalogError(
                TicketCatalogErrorCode.INVALID,
                f"returnAfterDays must be between 1 and {MAX_RETURN_DAYS}.",
                "returnAfterDays",
            )
        row.return_after_days = data.return_after_days
    for flag in ("initial", "allows_closing", "email_on_enter", "email_on_change", "active"):
        value = getattr(data, flag)
        if value is not None:
            setattr(row, flag, value)
    return await _save(row)


# Contact categories: a list the administrator keeps ("Categoria" of a contact type).

MAX_NOTES = 2000


def _notes(value: str) -> str:
    cleaned = value.strip()
    if len(cleaned) > MAX_NOTES or "\x00" in cleaned:
        raise TicketCatalogError(
            TicketCatalogErrorCode.INVALID, f"Notes must have at most {MAX_NOTES} characters.", "notes"
        )
    return cleaned


def require_admin(ctx: Context) -> None:
    if ctx.require_user().role != Role.ADMIN:
        raise TicketCatalogError(
            TicketCatalogErrorCode.FORBIDDEN, "Only admins keep the category list."
        )


async def list_contact_categories(
    ctx: Context, include_inactive: bool, page: PageArgs
) -> Page[ContactCategory]:
    queryset = _readable(ctx, ContactCategory.all(), include_inactive)
    return await paginate(queryset, "contact_category", page, ctx.settings.max_page_size)


async def save_contact_category(
    ctx: Context, row_id: int | None, data: NamedInput
) -> ContactCategory:
    require_admin(ctx)
    row = await _get(ContactCategory, row_id) if row_id is not None else ContactCategory()
    if row_id is None and data.name is None:
        raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(ContactCategory.all(), row.name, row_id)
    if data.active is not None:
        row.active = data.active
    return await _save(row)


# Contact types, their allowed statuses and subtypes.


async def list_contact_types(
    ctx: Context, include_inactive: bool, page: PageArgs, include_expired: bool = False
) -> Page[ContactType]:
    """Without `include_expired`, only the types valid today (local date), the ones ticketOpen accepts."""
    queryset = _readable(ctx, ContactType.all(), include_inactive)
    if not include_expired:
        day = datetime.now(ctx.settings.zone).date()
        queryset = queryset.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=day), Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )
    return await paginate(queryset, "contact_type", page, ctx.settings.max_page_size)


async def save_contact_type(
    ctx: Context, row_id: int | None, data: ContactTypeInput
) -> ContactType:
    require_manager(ctx)
    row = await _get(ContactType, row_id) if row_id is not None else ContactType()
    if row_id is None and data.name is None:
        raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(ContactType.all(), row.name, row_id)
    if "category_id" in data.clear:
        row.category_id = None
    elif data.category_id is not None:
        if not await ContactCategory.filter(id=data.category_id, active=True).exists():
            raise TicketCatalogError(
                TicketCatalogErrorCode.UNKNOWN_CATEGORY, "No such active category.", "categoryId"
            )
        row.category_id = data.category_id
    if data.notes is not None:
        row.notes = _notes(data.notes)
    for bound in ("valid_from", "valid_to"):
        if bound in data.clear:
            setattr(row, bound, None)
        elif getattr(data, bound) is not None:
            setattr(row, bound, getattr(data, bound))
    if row.valid_from is not None and row.valid_to is not None and row.valid_from > row.valid_to:
        raise TicketCatalogError(
            TicketCatalogErrorCode.INVALID_VALIDITY,
            "validFrom must not be after validTo.",
            "validTo",
        )
    if data.active is not None:
        row.active = data.active
    status_ids: list[int] | None = None
    if data.allowed_status_ids is not None:
        status_ids = list(dict.fromkeys(data.allowed_status_ids))
        if len(status_ids) > MAX_ALLOWED_STATUSES:
            raise TicketCatalogError(
                TicketCatalogErrorCode.INVALID,
                f"At most {MAX_ALLOWED_STATUSES} statuses.",
                "allowedStatusIds",
            )
        if await TicketStatus.filter(id__in=status_ids).count() != len(status_ids):
            raise TicketCatalogError(
                TicketCatalogErrorCode.UNKNOWN_STATUS,
                "Some of these statuses do not exist.",
                "allowedStatusIds",
            )
    try:
        async with in_transaction():
            await row.save()
            if status_ids is not None:
                await ContactTypeStatus.filter(contact_type_id=row.pk).delete()
                await ContactTypeStatus.bulk_create(
                    [
                        ContactTypeStatus(contact_type_id=row.pk, status_id=status_id)
                        for status_id in status_ids
                    ]
                )
    except IntegrityError:
        raise TicketCatalogError(
            TicketCatalogErrorCode.DUPLICATE_NAME, "This name is taken.", "name"
        ) from None
    return row


async def save_contact_subtype(
    ctx: Context, row_id: int | None, data: ContactSubtypeInput
) -> ContactSubtype:
    require_manager(ctx)
    row = await _get(ContactSubtype, row_id) if row_id is not None else ContactSubtype()
    if row_id is None:
        if data.name is None:
            raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
        if (
            data.contact_type_id is None
            or not await ContactType.filter(id=data.contact_type_id).exists()
        ):
            raise TicketCatalogError(
                TicketCatalogErrorCode.UNKNOWN_CONTACT_TYPE,
                "No such contact type.",
                "contactTypeId",
            )
        row.contact_type_id = data.contact_type_id
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(
            ContactSubtype.filter(contact_type_id=row.contact_type_id), row.name, row_id
        )
    if data.active is not None:
        row.active = data.active
    return await _save(row)


# Closure reasons.


async def list_closure_reasons(
    ctx: Context, include_inactive: bool, page: PageArgs
) -> Page[ClosureReason]:
    queryset = _readable(ctx, ClosureReason.all(), include_inactive)
    return await paginate(queryset, "closure_reason", page, ctx.settings.max_page_size)


async def save_closure_reason(ctx: Context, row_id: int | None, data: NamedInput) -> ClosureReason:
    require_manager(ctx)
    row = await _get(ClosureReason, row_id) if row_id is not None else ClosureReason()
    if row_id is None and data.name is None:
        raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(ClosureReason.all(), row.name, row_id)
    if data.active is not None:
        row.active = data.active
    return await _save(row)


# Action definitions.


async def list_action_definitions(
    ctx: Context, include_inactive: bool, page: PageArgs
) -> Page[ActionDefinition]:
    queryset = _readable(ctx, ActionDefinition.all(), include_inactive)
    return await paginate(queryset, "action_definition", page, ctx.settings.max_page_size)


async def save_action_definition(
    ctx: Context, row_id: int | None, data: ActionDefinitionInput
) -> ActionDefinition:
    require_manager(ctx)
    row = await _get(ActionDefinition, row_id) if row_id is not None else ActionDefinition()
    if row_id is None and data.name is None:
        raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(ActionDefinition.all(), row.name, row_id)
    if "sets_ticket_status_id" in data.clear:
        row.sets_ticket_status_id = None
    elif data.sets_ticket_status_id is not None:
        if not await TicketStatus.filter(id=data.sets_ticket_status_id).exists():
            raise TicketCatalogError(
                TicketCatalogErrorCode.UNKNOWN_STATUS,
                "No such ticket status.",
                "setsTicketStatusId",
            )
        row.sets_ticket_status_id = data.sets_ticket_status_id
    for flag in ("opens_service_order", "raises_non_conformity", "active"):
        value = getattr(data, flag)
        if value is not None:
            setattr(row, flag, value)
    return await _save(row)


# The ticket form's catalogs ("Assunto", "Produto", "Ocorrência"): a name and an active flag each.

FORM_CATALOGS: dict[str, type[Model]] = {
    "ticket_subject": TicketSubject,
    "product": Product,
    "occurrence": Occurrence,
}


async def list_form_entries(
    ctx: Context, kind: str, include_inactive: bool, page: PageArgs
) -> Page[Any]:
    queryset = _readable(ctx, FORM_CATALOGS[kind].all(), include_inactive)
    return await paginate(queryset, kind, page, ctx.settings.max_page_size)


async def save_form_entry(ctx: Context, kind: str, row_id: int | None, data: NamedInput) -> Any:
    require_manager(ctx)
    model = FORM_CATALOGS[kind]
    row = await _get(model, row_id) if row_id is not None else model()
    if row_id is None and data.name is None:
        raise TicketCatalogError(TicketCatalogErrorCode.INVALID, "name is required.", "name")
    if data.name is not None:
        row.name = _name(data.name)
        await _ensure_name_free(model.all(), row.name, row_id)
    if data.active is not None:
        row.active = data.active
    return await _save(row)


CATALOG_MODELS: dict[str, type[Model]] = {
    **FORM_CATALOGS,
    "classification": TicketClassification,
    "status": TicketStatus,
    "contact_type": ContactType,
    "contact_subtype": ContactSubtype,
    "contact_category": ContactCategory,
    "closure_reason": ClosureReason,
    "action_definition": ActionDefinition,
}


async def deactivate(ctx: Context, kind: str, row_id: int) -> Any:
    """Deactivated entries stay on the tickets that use them; they are no longer offered for new ones."""
    if kind == "contact_category":
        require_admin(ctx)
    else:
        require_manager(ctx)
    model = CATALOG_MODELS[kind]
    async with in_transaction():
        updated = await model.filter(id=row_id).update(active=False)
    if not updated:
        raise TicketCatalogError(TicketCatalogErrorCode.NOT_FOUND, "No such catalog entry.", "id")
    return await model.get(id=row_id)


async def get_entry(ctx: Context, kind: str, row_id: int) -> Any:
    ctx.require_user()
    return await CATALOG_MODELS[kind].get_or_none(id=row_id)
