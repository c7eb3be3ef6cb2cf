"""Ticket catalogs on the GraphQL surface: everyone reads the active entries, managers write."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import strawberry

from resolvers import errors as domain
from resolvers import ticket_catalog as use_cases
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.errors import DomainErrorHandler
from schema.ids import optional_pk, to_pk
from schema.inputs import NamedInput, NamedUpdateInput
from schema.pagination import Connection
from schema.ticket_catalog.types import (
    ActionDefinitionType,
    ClosureReasonType,
    ContactCategoryType,
    ContactSubtypeType,
    ContactTypeType,
    OccurrenceType,
    ProductType,
    TicketCatalogError,
    TicketClassificationType,
    TicketStatusType,
    TicketSubjectType,
)


def _unset_to_clear(**fields: Any) -> frozenset[str]:
    """Fields given as null (not left out) are cleared."""
    return frozenset(name for name, value in fields.items() if value is None)


def _given(value: Any) -> Any:
    return None if value is strawberry.UNSET else value


@strawberry.input
class TicketClassificationCreateInput:
    name: str
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Makes a sub-classification."
    )


@strawberry.input
class TicketClassificationUpdateInput:
    name: str | None = None
    active: bool | None = None


@strawberry.input
class TicketStatusCreateInput:
    name: str
    initial: bool = False
    return_after_days: int | None = None
    allows_closing: bool = False
    email_on_enter: bool = False
    email_on_change: bool = False


@strawberry.input
class TicketStatusUpdateInput:
    name: str | None = None
    initial: bool | None = None
    return_after_days: int | None = strawberry.field(
        default=strawberry.UNSET, description="null removes the return; leave out to keep it."
    )
    allows_closing: bool | None = None
    email_on_enter: bool | None = None
    email_on_change: bool | None = None
    active: bool | None = None


@strawberry.input
class ContactTypeCreateInput:
    name: str
    category_id: strawberry.ID | None = strawberry.field(
        default=None, description="An active entry of contactCategories."
    )
    notes: str = strawberry.field(default="", description='"Observação".')
    valid_from: date | None = None
    valid_to: date | None = None
    allowed_status_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.input
class ContactTypeUpdateInput:
    name: str | None = None
    category_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="null: no category; leave out to keep it."
    )
    notes: str | None = None
    valid_from: date | None = strawberry.field(
        default=strawberry.UNSET, description="null: no start."
    )
    valid_to: date | None = strawberry.field(default=strawberry.UNSET, description="null: no end.")
    allowed_status_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Replaces the list; empty allows any status; leave out to keep it.",
    )
    active: bool | None = None


@strawberry.input
class ContactSubtypeCreateInput:
    contact_type_id: strawberry.ID
    name: str


@strawberry.input
class ActionDefinitionCreateInput:
    name: str
    sets_ticket_status_id: strawberry.ID | None = None
    opens_service_order: bool = False
    raises_non_conformity: bool = False


@strawberry.input
class ActionDefinitionUpdateInput:
    name: str | None = None
    sets_ticket_status_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="null: the action sets no status; leave out to keep it.",
    )
    opens_service_order: bool | None = None
    raises_non_conformity: bool | None = None
    active: bool | None = None


TicketClassificationResult = Annotated[
    TicketClassificationType | TicketCatalogError, strawberry.union("TicketClassificationResult")
]
TicketStatusResult = Annotated[
    TicketStatusType | TicketCatalogError, strawberry.union("TicketStatusResult")
]
ContactCategoryResult = Annotated[
    ContactCategoryType | TicketCatalogError, strawberry.union("ContactCategoryResult")
]
TicketSubjectResult = Annotated[
    TicketSubjectType | TicketCatalogError, strawberry.union("TicketSubjectResult")
]
ProductResult = Annotated[ProductType | TicketCatalogError, strawberry.union("ProductResult")]
OccurrenceResult = Annotated[
    OccurrenceType | TicketCatalogError, strawberry.union("OccurrenceResult")
]
ContactTypeResult = Annotated[
    ContactTypeType | TicketCatalogError, strawberry.union("ContactTypeResult")
]
ContactSubtypeResult = Annotated[
    ContactSubtypeType | TicketCatalogError, strawberry.union("ContactSubtypeResult")
]
ClosureReasonResult = Annotated[
    ClosureReasonType | TicketCatalogError, strawberry.union("ClosureReasonResult")
]
ActionDefinitionResult = Annotated[
    ActionDefinitionType | TicketCatalogError, strawberry.union("ActionDefinitionResult")
]


def _pks(ids: list[strawberry.ID] | None) -> list[int] | None:
    return None if ids is None else [to_pk(value) for value in ids]


@strawberry.type
class TicketCatalogQuery:
    @strawberry.field(
        description="Top-level classifications, or the sub-classifications of parentId."
    )
    async def ticket_classifications(
        self,
        info: Info,
        parent_id: strawberry.ID | None = None,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[TicketClassificationType]:
        page = await use_cases.list_classifications(
            info.context, optional_pk(parent_id), include_inactive, PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, TicketClassificationType.from_row)

    @strawberry.field
    async def ticket_statuses(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[TicketStatusType]:
        page = await use_cases.list_ticket_statuses(info.context, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, TicketStatusType.from_row)

    @strawberry.field(description="Active types valid today (the ones ticketOpen accepts), unless asked.")
    async def contact_types(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
        include_expired: Annotated[
            bool,
            strawberry.argument(
                description="Also list types not valid today (validTo passed, or validFrom still to come)."
            ),
        ] = False,
    ) -> Connection[ContactTypeType]:
        page = await use_cases.list_contact_types(info.context, include_inactive, PageArgs(first, after, last, before), include_expired)
        return Connection.from_page(page, ContactTypeType.from_row)

    @strawberry.field(description='Subjects ("Assunto") for the ticket form.')
    async def ticket_subjects(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[TicketSubjectType]:
        page = await use_cases.list_form_entries(
            info.context, "ticket_subject", include_inactive, PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, TicketSubjectType.from_row)

    @strawberry.field(description='Products ("Produto") for the ticket form.')
    async def products(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ProductType]:
        page = await use_cases.list_form_entries(
            info.context, "product", include_inactive, PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, ProductType.from_row)

    @strawberry.field(description='Occurrences ("Ocorrência") for the ticket form.')
    async def occurrences(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[OccurrenceType]:
        page = await use_cases.list_form_entries(
            info.context, "occurrence", include_inactive, PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, OccurrenceType.from_row)

    @strawberry.field(description="Categories for contact types (admins keep the list).")
    async def contact_categories(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ContactCategoryType]:
        page = await use_cases.list_contact_categories(info.context, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ContactCategoryType.from_row)

    @strawberry.field
    async def closure_reasons(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ClosureReasonType]:
        page = await use_cases.list_closure_reasons(info.context, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ClosureReasonType.from_row)

    @strawberry.field
    async def action_definitions(
        self,
        info: Info,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[ActionDefinitionType]:
        page = await use_cases.list_action_definitions(info.context, include_inactive, PageArgs(first, after, last, before))
        return Connection.from_page(page, ActionDefinitionType.from_row)


@strawberry.type
class TicketCatalogMutation:
    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_classification_create(
        self, info: Info, input: TicketClassificationCreateInput
    ) -> TicketClassificationResult:
        data = use_cases.ClassificationInput(
            name=input.name, parent_id=optional_pk(input.parent_id)
        )
        return TicketClassificationType.from_row(
            await use_cases.save_classification(info.context, None, data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_classification_update(
        self, info: Info, id: strawberry.ID, input: TicketClassificationUpdateInput
    ) -> TicketClassificationResult:
        data = use_cases.ClassificationInput(name=input.name, active=input.active)
        return TicketClassificationType.from_row(
            await use_cases.save_classification(info.context, to_pk(id), data)
        )

    @strawberry.mutation(
        description="Supervisors and admins. Tickets keep it; new ones cannot use it."
    )
    async def ticket_classification_deactivate(
        self, info: Info, id: strawberry.ID
    ) -> TicketClassificationResult:
        return TicketClassificationType.from_row(
            await use_cases.deactivate(info.context, "classification", to_pk(id))
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_status_create(
        self, info: Info, input: TicketStatusCreateInput
    ) -> TicketStatusResult:
        data = use_cases.TicketStatusInput(
            name=input.name,
            initial=input.initial,
            return_after_days=input.return_after_days,
            allows_closing=input.allows_closing,
            email_on_enter=input.email_on_enter,
            email_on_change=input.email_on_change,
        )
        return TicketStatusType.from_row(
            await use_cases.save_ticket_status(info.context, None, data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_status_update(
        self, info: Info, id: strawberry.ID, input: TicketStatusUpdateInput
    ) -> TicketStatusResult:
        data = use_cases.TicketStatusInput(
            name=input.name,
            initial=input.initial,
            return_after_days=_given(input.return_after_days),
            allows_closing=input.allows_closing,
            email_on_enter=input.email_on_enter,
            email_on_change=input.email_on_change,
            active=input.active,
            clear=_unset_to_clear(return_after_days=input.return_after_days),
        )
        return TicketStatusType.from_row(
            await use_cases.save_ticket_status(info.context, to_pk(id), data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_status_deactivate(self, info: Info, id: strawberry.ID) -> TicketStatusResult:
        return TicketStatusType.from_row(
            await use_cases.deactivate(info.context, "status", to_pk(id))
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def contact_type_create(
        self, info: Info, input: ContactTypeCreateInput
    ) -> ContactTypeResult:
        data = use_cases.ContactTypeInput(
            name=input.name,
            category_id=optional_pk(input.category_id),
            notes=input.notes,
            valid_from=input.valid_from,
            valid_to=input.valid_to,
            allowed_status_ids=_pks(input.allowed_status_ids),
        )
        return ContactTypeType.from_row(await use_cases.save_contact_type(info.context, None, data))

    @strawberry.mutation(description="Supervisors and admins.")
    async def contact_type_update(
        self, info: Info, id: strawberry.ID, input: ContactTypeUpdateInput
    ) -> ContactTypeResult:
        data = use_cases.ContactTypeInput(
            name=input.name,
            category_id=optional_pk(_given(input.category_id)),
            notes=input.notes,
            valid_from=_given(input.valid_from),
            valid_to=_given(input.valid_to),
            allowed_status_ids=_pks(input.allowed_status_ids),
            active=input.active,
            clear=_unset_to_clear(
                category_id=input.category_id, valid_from=input.valid_from, valid_to=input.valid_to
            ),
        )
        return ContactTypeType.from_row(
            await use_cases.save_contact_type(info.context, to_pk(id), data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def contact_type_deactivate(self, info: Info, id: strawberry.ID) -> ContactTypeResult:
        return ContactTypeType.from_row(
            await use_cases.deactivate(info.context, "contact_type", to_pk(id))
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def contact_subtype_create(
        self, info: Info, input: ContactSubtypeCreateInput
    ) -> ContactSubtypeResult:
        data = use_cases.ContactSubtypeInput(
            contact_type_id=to_pk(input.contact_type_id), name=input.name
        )
        return ContactSubtypeType.from_row(
            await use_cases.save_contact_subtype(info.context, None, data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def contact_subtype_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> ContactSubtypeResult:
        data = use_cases.ContactSubtypeInput(name=input.name, active=input.active)
        return ContactSubtypeType.from_row(
            await use_cases.save_contact_subtype(info.context, to_pk(id), data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def contact_subtype_deactivate(
        self, info: Info, id: strawberry.ID
    ) -> ContactSubtypeResult:
        return ContactSubtypeType.from_row(
            await use_cases.deactivate(info.context, "contact_subtype", to_pk(id))
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_subject_create(self, info: Info, input: NamedInput) -> TicketSubjectResult:
        row = await use_cases.save_form_entry(
            info.context, "ticket_subject", None, use_cases.NamedInput(name=input.name)
        )
        return TicketSubjectType.from_row(row)

    @strawberry.mutation(description="Supervisors and admins.")
    async def ticket_subject_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> TicketSubjectResult:
        data = use_cases.NamedInput(name=input.name, active=input.active)
        row = await use_cases.save_form_entry(info.context, "ticket_subject", to_pk(id), data)
        return TicketSubjectType.from_row(row)

    @strawberry.mutation(description="Supervisors and admins. Tickets keep it; new ones cannot use it.")
    async def ticket_subject_deactivate(self, info: Info, id: strawberry.ID) -> TicketSubjectResult:
        row = await use_cases.deactivate(info.context, "ticket_subject", to_pk(id))
        return TicketSubjectType.from_row(row)

    @strawberry.mutation(description="Supervisors and admins.")
    async def product_create(self, info: Info, input: NamedInput) -> ProductResult:
        row = await use_cases.save_form_entry(
            info.context, "product", None, use_cases.NamedInput(name=input.name)
        )
        return ProductType.from_row(row)

    @strawberry.mutation(description="Supervisors and admins.")
    async def product_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> ProductResult:
        data = use_cases.NamedInput(name=input.name, active=input.active)
        return ProductType.from_row(await use_cases.save_form_entry(info.context, "product", to_pk(id), data))

    @strawberry.mutation(description="Supervisors and admins. Tickets keep it; new ones cannot use it.")
    async def product_deactivate(self, info: Info, id: strawberry.ID) -> ProductResult:
        return ProductType.from_row(await use_cases.deactivate(info.context, "product", to_pk(id)))

    @strawberry.mutation(description="Supervisors and admins.")
    async def occurrence_create(self, info: Info, input: NamedInput) -> OccurrenceResult:
        row = await use_cases.save_form_entry(
            info.context, "occurrence", None, use_cases.NamedInput(name=input.name)
        )
        return OccurrenceType.from_row(row)

    @strawberry.mutation(description="Supervisors and admins.")
    async def occurrence_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> OccurrenceResult:
        data = use_cases.NamedInput(name=input.name, active=input.active)
        row = await use_cases.save_form_entry(info.context, "occurrence", to_pk(id), data)
        return OccurrenceType.from_row(row)

    @strawberry.mutation(description="Supervisors and admins. Tickets keep it; new ones cannot use it.")
    async def occurrence_deactivate(self, info: Info, id: strawberry.ID) -> OccurrenceResult:
        return OccurrenceType.from_row(await use_cases.deactivate(info.context, "occurrence", to_pk(id)))

    @strawberry.mutation(description="Admins.")
    async def contact_category_create(self, info: Info, input: NamedInput) -> ContactCategoryResult:
        data = use_cases.NamedInput(name=input.name)
        return ContactCategoryType.from_row(
            await use_cases.save_contact_category(info.context, None, data)
        )

    @strawberry.mutation(description="Admins.")
    async def contact_category_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> ContactCategoryResult:
        data = use_cases.NamedInput(name=input.name, active=input.active)
        return ContactCategoryType.from_row(
            await use_cases.save_contact_category(info.context, to_pk(id), data)
        )

    @strawberry.mutation(description="Admins. Contact types keep it; it is no longer offered.")
    async def contact_category_deactivate(
        self, info: Info, id: strawberry.ID
    ) -> ContactCategoryResult:
        return ContactCategoryType.from_row(
            await use_cases.deactivate(info.context, "contact_category", to_pk(id))
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def closure_reason_create(self, info: Info, input: NamedInput) -> ClosureReasonResult:
        data = use_cases.NamedInput(name=input.name)
        return ClosureReasonType.from_row(
            await use_cases.save_closure_reason(info.context, None, data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def closure_reason_update(
        self, info: Info, id: strawberry.ID, input: NamedUpdateInput
    ) -> ClosureReasonResult:
        data = use_cases.NamedInput(name=input.name, active=input.active)
        return ClosureReasonType.from_row(
            await use_cases.save_closure_reason(info.context, to_pk(id), data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def closure_reason_deactivate(self, info: Info, id: strawberry.ID) -> ClosureReasonResult:
        return ClosureReasonType.from_row(
            await use_cases.deactivate(info.context, "closure_reason", to_pk(id))
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def action_definition_create(
        self, info: Info, input: ActionDefinitionCreateInput
    ) -> ActionDefinitionResult:
        data = use_cases.ActionDefinitionInput(
            name=input.name,
            sets_ticket_status_id=optional_pk(input.sets_ticket_status_id),
            opens_service_order=input.opens_service_order,
            raises_non_conformity=input.raises_non_conformity,
        )
        return ActionDefinitionType.from_row(
            await use_cases.save_action_definition(info.context, None, data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def action_definition_update(
        self, info: Info, id: strawberry.ID, input: ActionDefinitionUpdateInput
    ) -> ActionDefinitionResult:
        data = use_cases.ActionDefinitionInput(
            name=input.name,
            sets_ticket_status_id=optional_pk(_given(input.sets_ticket_status_id)),
            opens_service_order=input.opens_service_order,
            raises_non_conformity=input.raises_non_conformity,
            active=input.active,
            clear=_unset_to_clear(sets_ticket_status_id=input.sets_ticket_status_id),
        )
        return ActionDefinitionType.from_row(
            await use_cases.save_action_definition(info.context, to_pk(id), data)
        )

    @strawberry.mutation(description="Supervisors and admins.")
    async def action_definition_deactivate(
        self, info: Info, id: strawberry.ID
    ) -> ActionDefinitionResult:
        return ActionDefinitionType.from_row(
            await use_cases.deactivate(info.context, "action_definition", to_pk(id))
        )


HANDLERS = [DomainErrorHandler(domain.TicketCatalogError, TicketCatalogError)]
