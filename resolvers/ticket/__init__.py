"""Tickets ("Fale Conosco"): who sees what, the rules of a ticket's life, and the use cases."""

from resolvers.ticket.access import (
    can_see,
    filtered_tickets,
    first_ticket_rows,
    get_ticket,
    list_tickets,
    open_attachment,
    sees_internal_notes,
    ticket_ordering,
    ticket_window,
    visible_tickets,
)
from resolvers.ticket.counts import TicketCountDimension, TicketCountGroup, ticket_counts
from resolvers.ticket.edits import TicketUpdateInput, update_ticket
from resolvers.ticket.inputs import (
    ActionPerformInput,
    ChildCreateInput,
    StateFilter,
    TicketFilter,
    TicketOpenInput,
    TicketOrder,
    TicketOrderField,
)
from resolvers.ticket.writes import (
    add_message,
    assign_ticket,
    change_status,
    close_ticket,
    create_child,
    open_ticket,
    perform_action,
    reopen_ticket,
)

__all__ = [
    "ActionPerformInput",
    "ChildCreateInput",
    "StateFilter",
    "TicketCountDimension",
    "TicketCountGroup",
    "TicketFilter",
    "TicketOpenInput",
    "TicketOrder",
    "TicketOrderField",
    "TicketUpdateInput",
    "add_message",
    "assign_ticket",
    "can_see",
    "change_status",
    "close_ticket",
    "create_child",
    "filtered_tickets",
    "first_ticket_rows",
    "get_ticket",
    "list_tickets",
    "open_attachment",
    "open_ticket",
    "perform_action",
    "reopen_ticket",
    "sees_internal_notes",
    "ticket_counts",
    "ticket_ordering",
    "ticket_window",
    "update_ticket",
    "visible_tickets",
]
