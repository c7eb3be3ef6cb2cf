"""Ticket catalog types and the catalog error."""

from __future__ import annotations

from datetime import date

import strawberry

from models.ticket_catalog import (
    ActionDefinition,
    ClosureReason,
    ContactCategory,
    ContactSubtype,
    ContactType,
    Occurrence,
    Product,
    TicketClassification,
    TicketStatus,
    TicketSubject,
)
from resolvers import errors as domain
from schema.base import Info
from schema.errors import Error

TicketCatalogErrorCode = strawberry.enum(
    domain.TicketCatalogErrorCode, name="TicketCatalogErrorCode"
)


@strawberry.type
class TicketCatalogError(Error):
    code: TicketCatalogErrorCode  # type: ignore[valid-type]


def _id(pk: int) -> strawberry.ID:
    return strawberry.ID(str(pk))


@strawberry.type(
    name="TicketClassification", description="Classification → sub-classifications (two levels)."
)
class TicketClassificationType:
    id: strawberry.ID
    name: str
    active: bool
    parent_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: TicketClassification) -> TicketClassificationType:
        return cls(id=_id(row.pk), name=row.name, active=row.active, parent_id=row.parent_id)

    @strawberry.field
    async def parent(self, info: Info) -> TicketClassificationType | None:
        if self.parent_id is None:
            return None
        row = await info.context.loaders.ticket_classification_by_id.load(self.parent_id)
        return TicketClassificationType.from_row(row) if row else None

    @strawberry.field(
        description="Sub-classifications (inactive ones for supervisors and admins only)."
    )
    async def children(self, info: Info) -> list[TicketClassificationType]:
        rows = await info.context.loaders.ticket_classifications_by_parent.load(int(self.id))
        staff = info.context.is_staff
        return [TicketClassificationType.from_row(row) for row in rows if staff or row.active]


@strawberry.type(
    name="TicketStatus",
    description="A ticket status and the flags that drive returns, closing, e-mail.",
)
class TicketStatusType:
    id: strawberry.ID
    name: str
    initial: bool
    return_after_days: int | None = strawberry.field(
        description="Entering sets the ticket's returnDueAt."
    )
    allows_closing: bool
    email_on_enter: bool = strawberry.field(
        description="Entering asks the operator to confirm an e-mail."
    )
    email_on_change: bool = strawberry.field(
        description="Any change in this status asks to confirm an e-mail."
    )
    active: bool

    @classmethod
    def from_row(cls, row: TicketStatus) -> TicketStatusType:
        return cls(
            id=_id(row.pk),
            name=row.name,
            initial=row.initial,
            return_after_days=row.return_after_days,
            allows_closing=row.allows_closing,
            email_on_enter=row.email_on_enter,
            email_on_change=row.email_on_change,
            active=row.active,
        )


@strawberry.type(name="ContactSubtype")
class ContactSubtypeType:
    id: strawberry.ID
    name: str
    active: bool
    contact_type_id: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: ContactSubtype) -> ContactSubtypeType:
        return cls(
            id=_id(row.pk), name=row.name, active=row.active, contact_type_id=row.contact_type_id
        )

    @strawberry.field
    async def contact_type(self, info: Info) -> ContactTypeType:
        row = await info.context.loaders.contact_type_by_id.load(self.contact_type_id)
        assert row is not None
        return ContactTypeType.from_row(row)


@strawberry.type(
    name="ContactCategory", description="A contact type's category, from the list admins keep."
)
class ContactCategoryType:
    id: strawberry.ID
    name: str
    active: bool

    @classmethod
    def from_row(cls, row: ContactCategory) -> ContactCategoryType:
        return cls(id=_id(row.pk), name=row.name, active=row.active)


@strawberry.type(
    name="ContactType", description="The CRM way to classify tickets, valid between two dates."
)
class ContactTypeType:
    id: strawberry.ID
    name: str
    notes: str = strawberry.field(description='The administrator\'s notes ("Observação").')
    valid_from: date | None
    valid_to: date | None
    active: bool
    category_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: ContactType) -> ContactTypeType:
        return cls(
            id=_id(row.pk),
            name=row.name,
            notes=row.notes,
            valid_from=row.valid_from,
            valid_to=row.valid_to,
            active=row.active,
            category_id=row.category_id,
        )

    @strawberry.field(description="From the category list (contactCategories); inactive ones stay.")
    async def category(self, info: Info) -> ContactCategoryType | None:
        if self.category_id is None:
            return None
        row = await info.context.loaders.contact_category_by_id.load(self.category_id)
        return ContactCategoryType.from_row(row) if row else None

    @strawberry.field
    async def subtypes(self, info: Info) -> list[ContactSubtypeType]:
        rows = await info.context.loaders.contact_subtypes_by_contact_type.load(int(self.id))
        staff = info.context.is_staff
        return [ContactSubtypeType.from_row(row) for row in rows if staff or row.active]

    @strawberry.field(description="Statuses a ticket of this type may take; empty means any.")
    async def allowed_statuses(self, info: Info) -> list[TicketStatusType]:
        rows = await info.context.loaders.ticket_statuses_by_contact_type.load(int(self.id))
        return [TicketStatusType.from_row(row) for row in rows]


@strawberry.type(name="ClosureReason")
class ClosureReasonType:
    id: strawberry.ID
    name: str
    active: bool

    @classmethod
    def from_row(cls, row: ClosureReason) -> ClosureReasonType:
        return cls(id=_id(row.pk), name=row.name, active=row.active)


@strawberry.type(
    name="ActionDefinition",
    description="An action on a (child) ticket, with what it sets or opens.",
)
class ActionDefinitionType:
    id: strawberry.ID
    name: str
    opens_service_order: bool
    raises_non_conformity: bool
    active: bool
    sets_ticket_status_id: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, row: ActionDefinition) -> ActionDefinitionType:
        return cls(
            id=_id(row.pk),
            name=row.name,
            opens_service_order=row.opens_service_order,
            raises_non_conformity=row.raises_non_conformity,
            active=row.active,
            sets_ticket_status_id=row.sets_ticket_status_id,
        )

    @strawberry.field
    async def sets_ticket_status(self, info: Info) -> TicketStatusType | None:
        if self.sets_ticket_status_id is None:
            return None
        row = await info.context.loaders.ticket_status_by_id.load(self.sets_ticket_status_id)
        return TicketStatusType.from_row(row) if row else None


@strawberry.type(name="TicketSubject", description='What a ticket is about ("Assunto"), a catalog.')
class TicketSubjectType:
    id: strawberry.ID
    name: str
    active: bool

    @classmethod
    def from_row(cls, row: TicketSubject) -> TicketSubjectType:
        return cls(id=_id(row.pk), name=row.name, active=row.active)


@strawberry.type(name="Product", description='A product ("Produto"), a catalog for the ticket form.')
class ProductType:
    id: strawberry.ID
    name: str
    active: bool

    @classmethod
    def from_row(cls, row: Product) -> ProductType:
        return cls(id=_id(row.pk), name=row.name, active=row.active)


@strawberry.type(name="Occurrence", description='What happened ("Ocorrência"), a catalog for the ticket form.')
class OccurrenceType:
    id: strawberry.ID
    name: str
    active: bool

    @classmethod
    def from_row(cls, row: Occurrence) -> OccurrenceType:
        return cls(id=_id(row.pk), name=row.name, active=row.active)
