"""Tickets on the GraphQL surface."""

from schema.ticket.operations import HANDLERS, TicketMutation, TicketQuery
from schema.ticket.types import (
    AttachmentType,
    NonConformityType,
    TicketActionType,
    TicketError,
    TicketMessageType,
    TicketType,
)

__all__ = [
    "HANDLERS",
    "AttachmentType",
    "NonConformityType",
    "TicketActionType",
    "TicketError",
    "TicketMessageType",
    "TicketMutation",
    "TicketQuery",
    "TicketType",
]
