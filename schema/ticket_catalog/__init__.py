"""Ticket catalogs: classifications, contact types and subtypes, statuses, closure reasons, actions."""

from schema.ticket_catalog.operations import HANDLERS, TicketCatalogMutation, TicketCatalogQuery
from schema.ticket_catalog.types import (
    ActionDefinitionType,
    ClosureReasonType,
    ContactSubtypeType,
    ContactTypeType,
    OccurrenceType,
    ProductType,
    TicketCatalogError,
    TicketClassificationType,
    TicketStatusType,
    TicketSubjectType,
)

__all__ = [
    "HANDLERS",
    "ActionDefinitionType",
    "ClosureReasonType",
    "ContactSubtypeType",
    "ContactTypeType",
    "OccurrenceType",
    "ProductType",
    "TicketCatalogError",
    "TicketCatalogMutation",
    "TicketCatalogQuery",
    "TicketClassificationType",
    "TicketStatusType",
    "TicketSubjectType",
]
