"""Ticket queries and mutations."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry
from strawberry.file_uploads import Upload

from resolvers import errors as domain
from resolvers import ticket as use_cases
from resolvers.pagination import PageArgs
from schema.base import Info
from schema.errors import DomainErrorHandler
from schema.ids import optional_pk, to_pk
from schema.pagination import Connection, OrderDirection
from schema.ticket.types import (
    NonConformityType,
    TicketActionStatus,
    TicketActionType,
    TicketError,
    TicketMessageType,
    TicketState,
    TicketType,
)
from schema.ticket_catalog import TicketClassificationType, TicketStatusType
from schema.user import UserType

TicketStateFilter = strawberry.enum(use_cases.StateFilter, name="TicketStateFilter")
TicketCountDimension = strawberry.enum(
    use_cases.TicketCountDimension,
    name="TicketCountDimension",
    description="What ticketCounts groups by: AWAITING_RETURN is open with a passed returnDueAt.",
)


@strawberry.type(
    description="Tickets with one combination of the dimensions asked for; the fields of the other "
    "dimensions are null (so is assignee for unassigned tickets, classification for unclassified ones)."
)
class TicketCountGroup:
    count: int
    state: TicketState | None  # type: ignore[valid-type]
    awaiting_return: bool | None
    row: strawberry.Private[use_cases.TicketCountGroup]

    @classmethod
    def from_group(cls, group: use_cases.TicketCountGroup) -> TicketCountGroup:
        return cls(count=group.count, state=group.state, awaiting_return=group.awaiting_return, row=group)

    @strawberry.field
    async def status(self, info: Info) -> TicketStatusType | None:
        if self.row.status_id is None:
            return None
        row = await info.context.loaders.ticket_status_by_id.load(self.row.status_id)
        return TicketStatusType.from_row(row) if row else None

    @strawberry.field
    async def assignee(self, info: Info) -> UserType | None:
        if self.row.assignee_id is None:
            return None
        row = await info.context.loaders.user_by_id.load(self.row.assignee_id)
        return UserType.from_row(row) if row else None

    @strawberry.field
    async def classification(self, info: Info) -> TicketClassificationType | None:
        if self.row.classification_id is None:
            return None
        row = await info.context.loaders.ticket_classification_by_id.load(self.row.classification_id)
        return TicketClassificationType.from_row(row) if row else None


@strawberry.input
class TicketFilter:
    state: TicketStateFilter = use_cases.StateFilter.ALL  # type: ignore[valid-type]
    company_id: strawberry.ID | None = None
    status_id: strawberry.ID | None = None
    assignee_id: strawberry.ID | None = None
    unassigned: bool = False
    classification_id: strawberry.ID | None = strawberry.field(
        default=None, description="A classification or sub-classification."
    )
    contact_type_id: strawberry.ID | None = None
    awaiting_return: bool | None = strawberry.field(
        default=None, description="Open with a passed returnDueAt."
    )
    text: str | None = strawberry.field(
        default=None, description="Number, subject, contact, product."
    )


TicketOrderField = strawberry.enum(
    use_cases.TicketOrderField,
    name="TicketOrderField",
    description="LAST_MESSAGE_AT: a rep's last message leaves internal notes out. Tickets without one "
    "(LAST_MESSAGE_AT, RETURN_DUE_AT) come last, in both directions.",
)


@strawberry.input
class TicketOrder:
    field: TicketOrderField  # type: ignore[valid-type]
    direction: OrderDirection = OrderDirection.ASC


def ticket_order(order: TicketOrder | None) -> use_cases.TicketOrder | None:
    if order is None:
        return None
    return use_cases.TicketOrder(
        use_cases.TicketOrderField(order.field.value), descending=order.direction == OrderDirection.DESC
    )


@strawberry.input
class TicketOpenInput:
    subject: str | None = strawberry.field(
        default=None, description="Free text where the subject catalog has no active entry."
    )
    body: str = strawberry.field(description="The first message.")
    contact_name: str
    contact_phone: str
    contact_email: str
    company_id: strawberry.ID | None = strawberry.field(
        default=None, description="A rep's is their own company."
    )
    person_id: strawberry.ID | None = None
    channel_id: strawberry.ID | None = None
    classification_id: strawberry.ID | None = None
    subclassification_id: strawberry.ID | None = None
    contact_type_id: strawberry.ID | None = None
    contact_subtype_id: strawberry.ID | None = None
    product: str | None = None
    occurrence: str | None = None
    subject_id: strawberry.ID | None = strawberry.field(
        default=None, description="From ticketSubjects: required while it has an active entry."
    )
    product_id: strawberry.ID | None = strawberry.field(
        default=None, description="From products: instead of free text while it has an active entry."
    )
    occurrence_id: strawberry.ID | None = strawberry.field(
        default=None, description="From occurrences: instead of free text while it has an active entry."
    )
    files: list[Upload] = strawberry.field(default_factory=list)
    notify_customer: bool | None = strawberry.field(
        default=None,
        description="The operator's answer when the initial status e-mails the customer "
        "(ignored for company reps).",
    )


@strawberry.input
class TicketMessageAddInput:
    ticket_id: strawberry.ID
    body: str
    internal: bool = strawberry.field(
        default=False, description="An internal note (not for company reps)."
    )
    files: list[Upload] = strawberry.field(default_factory=list)
    notify_customer: bool | None = strawberry.field(
        default=None,
        description="The operator's answer when the ticket's status asks to e-mail the customer.",
    )


@strawberry.input
class TicketChildCreateInput:
    body: str = strawberry.field(description="The child's first message.")
    subject: str | None = strawberry.field(default=None, description="Defaults to the parent's.")
    product: str | None = None
    occurrence: str | None = None
    assignee_id: strawberry.ID | None = None
    notify_customer: bool | None = strawberry.field(
        default=None,
        description="The operator's answer when the child's initial status e-mails the customer.",
    )


@strawberry.input
class TicketActionPerformInput:
    ticket_id: strawberry.ID
    definition_id: strawberry.ID
    responsible_id: strawberry.ID | None = None
    due_date: date | None = None
    status: TicketActionStatus = use_cases.ActionPerformInput.status  # type: ignore[valid-type]
    notes: str = ""
    notify_customer: bool | None = None


@strawberry.input(description="Leave a field out to keep it; null clears the optional ones.")
class TicketUpdateInput:
    subject: str | None = None
    product: str | None = strawberry.UNSET
    occurrence: str | None = strawberry.UNSET
    classification_id: strawberry.ID | None = None
    subclassification_id: strawberry.ID | None = strawberry.UNSET
    contact_type_id: strawberry.ID | None = None
    contact_subtype_id: strawberry.ID | None = strawberry.UNSET
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    subject_id: strawberry.ID | None = strawberry.field(
        default=None, description="An active subject entry (its name becomes the subject), as in ticketOpen."
    )
    product_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="An active product entry; null clears the product."
    )
    occurrence_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="An active occurrence entry; null clears the occurrence."
    )


# The catalog ids' input names -> the ticket's entry columns.
ENTRY_INPUTS = {"subject_id": "subject_entry_id", "product_id": "product_entry_id",
                "occurrence_id": "occurrence_entry_id"}


def ticket_update_input(
    input: TicketUpdateInput, notify_customer: bool | None
) -> use_cases.TicketUpdateInput:
    values: dict[str, object] = {}
    clear: set[str] = set()
    for name in ("subject", "product", "occurrence", "contact_name", "contact_phone", "contact_email",
                 "classification_id", "subclassification_id", "contact_type_id", "contact_subtype_id"):
        value = getattr(input, name)
        if value is strawberry.UNSET:
            continue
        if value is None:
            if name in ("product", "occurrence", "subclassification_id", "contact_subtype_id"):
                clear.add(name)
            continue
        values[name] = to_pk(value) if name.endswith("_id") else value
    for name, column in ENTRY_INPUTS.items():
        value = getattr(input, name)
        if value is strawberry.UNSET:
            continue
        if value is None:
            if name != "subject_id":  # a ticket always has a subject
                clear.add(column)
            continue
        values[column] = to_pk(value)
    return use_cases.TicketUpdateInput(
        values=values, clear=frozenset(clear), notify_customer=notify_customer
    )


@strawberry.input(description="Leave a field out to keep it; null clears dueDate or responsibleId.")
class TicketActionUpdateInput:
    status: TicketActionStatus | None = None  # type: ignore[valid-type]
    responsible_id: strawberry.ID | None = strawberry.UNSET
    due_date: date | None = strawberry.UNSET
    notes: str | None = None


@strawberry.input(description="Service orders and non-conformities: by ticket, number text, creation dates.")
class TicketRecordFilter:
    ticket_id: strawberry.ID | None = None
    number: str | None = strawberry.field(default=None, description="Part of the number.")
    created_from: date | None = None
    created_to: date | None = strawberry.field(default=None, description="Included.")


def record_filter(data: TicketRecordFilter | None) -> use_cases.RecordFilter:
    if data is None:
        return use_cases.RecordFilter()
    return use_cases.RecordFilter(
        ticket_id=optional_pk(data.ticket_id),
        number=data.number,
        created_from=data.created_from,
        created_to=data.created_to,
    )


TicketResult = Annotated[TicketType | TicketError, strawberry.union("TicketResult")]
TicketMessageResult = Annotated[
    TicketMessageType | TicketError, strawberry.union("TicketMessageResult")
]
TicketActionResult = Annotated[
    TicketActionType | TicketError, strawberry.union("TicketActionResult")
]

NOTIFY_DESCRIPTION = (
    "When the change e-mails the customer (emailOnEnter / emailOnChange), leaving notifyCustomer out "
    "returns CONFIRMATION_REQUIRED and changes nothing: ask the operator, then send true or false."
)


def ticket_filter(where: TicketFilter | None) -> use_cases.TicketFilter:
    where = where or TicketFilter()
    return use_cases.TicketFilter(
        state=use_cases.StateFilter(where.state.value),
        company_id=optional_pk(where.company_id),
        status_id=optional_pk(where.status_id),
        assignee_id=optional_pk(where.assignee_id),
        unassigned=where.unassigned,
        classification_id=optional_pk(where.classification_id),
        contact_type_id=optional_pk(where.contact_type_id),
        awaiting_return=where.awaiting_return,
        text=where.text,
    )


@strawberry.type
class TicketQuery:
    @strawberry.field(
        description="Tickets the caller may see, by id (oldest first) unless orderBy says otherwise; keyset "
        "pages both ways in every order."
    )
    async def tickets(
        self,
        info: Info,
        filter: TicketFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order_by: TicketOrder | None = None,
    ) -> Connection[TicketType]:
        page = await use_cases.list_tickets(
            info.context, ticket_filter(filter), PageArgs(first, after, last, before), ticket_order(order_by)
        )
        return Connection.from_page(page, TicketType.from_row)

    @strawberry.field(
        description="How many of the tickets `tickets(filter:)` would list, grouped by each combination of "
        "groupBy (statuses, states, assignees, classifications, awaiting return); groups without tickets "
        "are left out, and no groupBy gives the total. One query, over the tickets the caller may see."
    )
    async def ticket_counts(
        self,
        info: Info,
        group_by: list[TicketCountDimension],  # type: ignore[valid-type]
        filter: TicketFilter | None = None,
    ) -> list[TicketCountGroup]:
        groups = await use_cases.ticket_counts(
            info.context, [use_cases.TicketCountDimension(value) for value in group_by], ticket_filter(filter)
        )
        return [TicketCountGroup.from_group(group) for group in groups]

    @strawberry.field
    async def ticket(self, info: Info, id: strawberry.ID) -> TicketType | None:
        row = await use_cases.get_ticket(info.context, to_pk(id))
        return TicketType.from_row(row) if row else None

    @strawberry.field(
        description="The caller's pending ticket actions (they are the responsible), by due date (undated last), then id."
    )
    async def my_pending_actions(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[TicketActionType]:
        page = await use_cases.my_pending_actions(info.context, PageArgs(first, after, last, before))
        return Connection.from_page(page, TicketActionType.from_row)

    @strawberry.field(description="Actions that opened a service order, on tickets the caller may see (operators).")
    async def service_orders(
        self, info: Info, filter: TicketRecordFilter | None = None, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[TicketActionType]:
        page = await use_cases.list_service_orders(
            info.context, record_filter(filter), PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, TicketActionType.from_row)

    @strawberry.field(description="Non-conformities (FNC) raised on tickets the caller may see (operators).")
    async def non_conformities(
        self, info: Info, filter: TicketRecordFilter | None = None, first: int | None = None,
        after: str | None = None, last: int | None = None, before: str | None = None,
    ) -> Connection[NonConformityType]:
        page = await use_cases.list_non_conformities(
            info.context, record_filter(filter), PageArgs(first, after, last, before)
        )
        return Connection.from_page(page, NonConformityType.from_row)

    @strawberry.field(description="Open tickets whose return date has passed.")
    async def tickets_awaiting_return(
        self, info: Info, first: int | None = None, after: str | None = None,
        last: int | None = None, before: str | None = None,
    ) -> Connection[TicketType]:
        data = use_cases.TicketFilter(state=use_cases.StateFilter.OPEN, awaiting_return=True)
        page = await use_cases.list_tickets(info.context, data, PageArgs(first, after, last, before))
        return Connection.from_page(page, TicketType.from_row)


@strawberry.type
class TicketMutation:
    @strawberry.mutation(
        description="A rep (for their company) or an operator; with the first message and files. "
        + NOTIFY_DESCRIPTION
    )
    async def ticket_open(self, info: Info, input: TicketOpenInput) -> TicketResult:
        data = use_cases.TicketOpenInput(
            subject=input.subject,
            body=input.body,
            contact_name=input.contact_name,
            contact_phone=input.contact_phone,
            contact_email=input.contact_email,
            company_id=optional_pk(input.company_id),
            person_id=optional_pk(input.person_id),
            channel_id=optional_pk(input.channel_id),
            classification_id=optional_pk(input.classification_id),
            subclassification_id=optional_pk(input.subclassification_id),
            contact_type_id=optional_pk(input.contact_type_id),
            contact_subtype_id=optional_pk(input.contact_subtype_id),
            product=input.product,
            occurrence=input.occurrence,
            subject_id=optional_pk(input.subject_id),
            product_id=optional_pk(input.product_id),
            occurrence_id=optional_pk(input.occurrence_id),
            files=list(input.files),
            notify_customer=input.notify_customer,
        )
        return TicketType.from_row(await use_cases.open_ticket(info.context, data))

    @strawberry.mutation(description="Not on a closed ticket. " + NOTIFY_DESCRIPTION)
    async def ticket_message_add(
        self, info: Info, input: TicketMessageAddInput
    ) -> TicketMessageResult:
        row = await use_cases.add_message(
            info.context,
            to_pk(input.ticket_id),
            input.body,
            internal=input.internal,
            files=list(input.files),
            notify_customer=input.notify_customer,
        )
        return TicketMessageType.from_row(row)

    @strawberry.mutation(description="Operators. " + NOTIFY_DESCRIPTION)
    async def ticket_status_change(
        self,
        info: Info,
        ticket_id: strawberry.ID,
        status_id: strawberry.ID,
        notify_customer: bool | None = None,
    ) -> TicketResult:
        row = await use_cases.change_status(
            info.context, to_pk(ticket_id), to_pk(status_id), notify_customer
        )
        return TicketType.from_row(row)

    @strawberry.mutation(
        description="Agents take tickets for themselves; supervisors assign anyone. null unassigns. "
        + NOTIFY_DESCRIPTION
    )
    async def ticket_assign(
        self,
        info: Info,
        ticket_id: strawberry.ID,
        assignee_id: strawberry.ID | None = None,
        notify_customer: bool | None = None,
    ) -> TicketResult:
        row = await use_cases.assign_ticket(
            info.context, to_pk(ticket_id), optional_pk(assignee_id), notify_customer
        )
        return TicketType.from_row(row)

    @strawberry.mutation(
        description="Operators edit an open ticket: subject, product, occurrence, classification or "
        "contact type, contact name / phone / e-mail (checked as at opening); recorded as TICKET_UPDATED. "
        + NOTIFY_DESCRIPTION
    )
    async def ticket_update(
        self,
        info: Info,
        ticket_id: strawberry.ID,
        input: TicketUpdateInput,
        notify_customer: bool | None = None,
    ) -> TicketResult:
        row = await use_cases.update_ticket(
            info.context, to_pk(ticket_id), ticket_update_input(input, notify_customer)
        )
        return TicketType.from_row(row)

    @strawberry.mutation(
        description="An action's status (PENDING -> DONE), responsible, due date or notes; a change to its "
        "ticket (TICKET_UPDATED). " + NOTIFY_DESCRIPTION
    )
    async def ticket_action_update(
        self,
        info: Info,
        action_id: strawberry.ID,
        input: TicketActionUpdateInput,
        notify_customer: bool | None = None,
    ) -> TicketActionResult:
        clear = {
            column
            for column, value in (("responsible_id", input.responsible_id), ("due_date", input.due_date))
            if value is None
        }
        data = use_cases.ActionUpdateInput(
            status=input.status,
            responsible_id=None if input.responsible_id in (None, strawberry.UNSET) else to_pk(input.responsible_id),
            due_date=None if input.due_date in (None, strawberry.UNSET) else input.due_date,
            notes=input.notes,
            clear=frozenset(clear),
            notify_customer=notify_customer,
        )
        return TicketActionType.from_row(await use_cases.update_action(info.context, to_pk(action_id), data))

    @strawberry.mutation(
        description="Only from a status that allowsClosing, with a reason. " + NOTIFY_DESCRIPTION
    )
    async def ticket_close(
        self,
        info: Info,
        ticket_id: strawberry.ID,
        closure_reason_id: strawberry.ID | None = None,
        notify_customer: bool | None = None,
    ) -> TicketResult:
        row = await use_cases.close_ticket(
            info.context, to_pk(ticket_id), optional_pk(closure_reason_id), notify_customer
        )
        return TicketType.from_row(row)

    @strawberry.mutation(
        description="Operators. Back to the initial status (and its return date), state OPEN, "
        "closedAt and closureReason cleared. " + NOTIFY_DESCRIPTION
    )
    async def ticket_reopen(
        self, info: Info, ticket_id: strawberry.ID, notify_customer: bool | None = None
    ) -> TicketResult:
        row = await use_cases.reopen_ticket(info.context, to_pk(ticket_id), notify_customer)
        return TicketType.from_row(row)

    @strawberry.mutation(
        description="A child ticket with the parent's customer and classification. "
        + NOTIFY_DESCRIPTION
    )
    async def ticket_child_create(
        self, info: Info, parent_id: strawberry.ID, input: TicketChildCreateInput
    ) -> TicketResult:
        data = use_cases.ChildCreateInput(
            body=input.body,
            subject=input.subject,
            product=input.product,
            occurrence=input.occurrence,
            assignee_id=optional_pk(input.assignee_id),
            notify_customer=input.notify_customer,
        )
        return TicketType.from_row(
            await use_cases.create_child(info.context, to_pk(parent_id), data)
        )

    @strawberry.mutation(
        description="Moves this ticket (never its parent) to the action's status; may open a service order "
        "or raise a non-conformity. " + NOTIFY_DESCRIPTION
    )
    async def ticket_action_perform(
        self, info: Info, input: TicketActionPerformInput
    ) -> TicketActionResult:
        data = use_cases.ActionPerformInput(
            ticket_id=to_pk(input.ticket_id),
            definition_id=to_pk(input.definition_id),
            responsible_id=optional_pk(input.responsible_id),
            due_date=input.due_date,
            status=input.status,
            notes=input.notes,
            notify_customer=input.notify_customer,
        )
        return TicketActionType.from_row(await use_cases.perform_action(info.context, data))


HANDLERS = [DomainErrorHandler(domain.TicketError, TicketError)]
