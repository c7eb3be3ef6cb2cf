from enum import Enum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.base import TimestampedModel


class TicketState(str, Enum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


class TicketActionStatus(str, Enum):
    PENDING = "PENDING"
    DONE = "DONE"


class MailStatus(str, Enum):
    PENDING = "PENDING"
    SENT = "SENT"
    FAILED = "FAILED"


class NumberCounter(Model):
    """Yearly sequences for human-readable numbers (tickets, service orders, non-conformities)."""

    id = fields.IntField(primary_key=True)
    scope = fields.CharField(max_length=20)
    year = fields.IntField()
    value = fields.IntField(default=0)

    class Meta:
        table = "number_counter"
        unique_together = (("scope", "year"),)


class Ticket(TimestampedModel):
    """A conversation between a company rep (or a person) and the operator ("Fale Conosco", "chamado")."""

    number = fields.CharField(max_length=20, unique=True)
    company = fields.ForeignKeyField(
        "models.Company", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    person = fields.ForeignKeyField(
        "models.Person", related_name="tickets", null=True, on_delete=fields.SET_NULL
    )
    opened_by = fields.ForeignKeyField(
        "models.User", related_name="opened_tickets", on_delete=fields.RESTRICT
    )
    contact_name = fields.CharField(max_length=200)
    contact_phone = fields.CharField(max_length=20)
    contact_email = fields.CharField(max_length=254)
    channel = fields.ForeignKeyField(
        "models.ContactChannel", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    classification = fields.ForeignKeyField(
        "models.TicketClassification", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    subclassification = fields.ForeignKeyField(
        "models.TicketClassification",
        related_name="sub_tickets",
        null=True,
        on_delete=fields.RESTRICT,
    )
    contact_type = fields.ForeignKeyField(
        "models.ContactType", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    contact_subtype = fields.ForeignKeyField(
        "models.ContactSubtype", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    subject = fields.CharField(max_length=200)
    product = fields.CharField(max_length=200, null=True)
    occurrence = fields.TextField(null=True)
    # The catalog entries the texts above came from (their names are copied in); null where the
    # ticket was opened with free text because the catalog was empty.
    subject_entry = fields.ForeignKeyField(
        "models.TicketSubject", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    product_entry = fields.ForeignKeyField(
        "models.Product", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    occurrence_entry = fields.ForeignKeyField(
        "models.Occurrence", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    status = fields.ForeignKeyField(
        "models.TicketStatus", related_name="tickets", on_delete=fields.RESTRICT
    )
    state = fields.CharEnumField(TicketState, max_length=10, default=TicketState.OPEN)
    assignee = fields.ForeignKeyField(
        "models.User", related_name="assigned_tickets", null=True, on_delete=fields.RESTRICT
    )
    return_due_at = fields.DatetimeField(null=True)
    # Set by the due-alert scheduler when it claims the return alert, cleared when a new return is due.
    return_alerted_at = fields.DatetimeField(null=True)
    parent = fields.ForeignKeyField(
        "models.Ticket", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    closed_at = fields.DatetimeField(null=True)
    closure_reason = fields.ForeignKeyField(
        "models.ClosureReason", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    # Folded number, subject, contact, product: what the text filter matches.
    search_text = fields.TextField()
    # The thread's summary, kept by every write that adds a message (resolvers/ticket/summary.py), so
    # that lists sort by the last message and show it without reading threads. The public_ columns
    # leave internal notes out: they are what a company rep sees.
    message_count = fields.IntField(default=0, db_default=0)
    last_message_id = fields.IntField(null=True)
    last_message_at = fields.DatetimeField(null=True)
    public_message_count = fields.IntField(default=0, db_default=0)
    public_last_message_id = fields.IntField(null=True)
    public_last_message_at = fields.DatetimeField(null=True)

    company_id: int | None
    person_id: int | None
    opened_by_id: int
    channel_id: int | None
    classification_id: int | None
    subclassification_id: int | None
    contact_type_id: int | None
    contact_subtype_id: int | None
    subject_entry_id: int | None
    product_entry_id: int | None
    occurrence_entry_id: int | None
    status_id: int
    assignee_id: int | None
    parent_id: int | None
    closure_reason_id: int | None

    class Meta:
        table = "ticket"
        ordering = ["id"]
        indexes = [
            Index(fields=["return_due_at"]),
            # The alert scheduler's scan: open, return not yet alerted, by due time.
            Index(fields=["state", "return_alerted_at", "return_due_at"]),
            Index(fields=["state", "assignee_id"]),
            # Keyset orders of `tickets(orderBy:)`: staff and agents, and a rep's own company.
            Index(fields=["last_message_at", "id"]),
            Index(fields=["company_id", "public_last_message_at", "id"]),
            Index(fields=["created_at", "id"]),
            Index(fields=["updated_at", "id"]),
        ]


class TicketMessage(Model):
    """One entry of a ticket's thread. Internal notes are for the operator only, never for company reps."""

    id = fields.IntField(primary_key=True)
    ticket = fields.ForeignKeyField(
        "models.Ticket", related_name="messages", on_delete=fields.CASCADE
    )
    author = fields.ForeignKeyField(
        "models.User", related_name="ticket_messages", on_delete=fields.RESTRICT
    )
    body = fields.TextField()
    internal = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    ticket_id: int
    author_id: int

    class Meta:
        table = "ticket_message"
        ordering = ["id"]
        indexes = [Index(fields=["ticket_id", "id"])]


class Attachment(Model):
    """A file on a message, stored once per content hash under the upload directory."""

    id = fields.IntField(primary_key=True)
    message = fields.ForeignKeyField(
        "models.TicketMessage", related_name="attachments", on_delete=fields.CASCADE
    )
    ticket = fields.ForeignKeyField(
        "models.Ticket", related_name="attachments", on_delete=fields.CASCADE
    )
    file_name = fields.CharField(max_length=255)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    uploaded_by = fields.ForeignKeyField(
        "models.User", related_name="attachments", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    message_id: int
    ticket_id: int
    uploaded_by_id: int

    class Meta:
        table = "attachment"
        ordering = ["id"]


class NonConformity(TimestampedModel):
    """A non-conformity record ("FNC") raised by an action whose definition says so."""

    number = fields.CharField(max_length=20, unique=True)
    ticket = fields.ForeignKeyField(
        "models.Ticket", related_name="non_conformities", on_delete=fields.RESTRICT
    )
    description = fields.TextField()
    raised_by = fields.ForeignKeyField(
        "models.User", related_name="non_conformities", on_delete=fields.RESTRICT
    )

    ticket_id: int
    raised_by_id: int

    class Meta:
        table = "non_conformity"
        ordering = ["id"]


class TicketAction(TimestampedModel):
    """An action performed on a ticket (Protheus call-center item): responsible, due date, status, OS number."""

    ticket = fields.ForeignKeyField(
        "models.Ticket", related_name="actions", on_delete=fields.CASCADE
    )
    definition = fields.ForeignKeyField(
        "models.ActionDefinition", related_name="actions", on_delete=fields.RESTRICT
    )
    responsible = fields.ForeignKeyField(
        "models.User", related_name="ticket_actions", null=True, on_delete=fields.RESTRICT
    )
    due_date = fields.DateField(null=True)
    status = fields.CharEnumField(
        TicketActionStatus, max_length=10, default=TicketActionStatus.DONE
    )
    notes = fields.TextField(default="")
    service_order_number = fields.CharField(max_length=20, null=True, unique=True)
    non_conformity = fields.ForeignKeyField(
        "models.NonConformity", related_name="actions", null=True, on_delete=fields.RESTRICT
    )
    performed_by = fields.ForeignKeyField(
        "models.User", related_name="performed_ticket_actions", on_delete=fields.RESTRICT
    )

    ticket_id: int
    definition_id: int
    responsible_id: int | None
    non_conformity_id: int | None
    performed_by_id: int

    class Meta:
        table = "ticket_action"
        ordering = ["id"]
        # myPendingActions: a responsible's pending actions by due date, then id (its keyset order).
        indexes = [Index(fields=["responsible_id", "status", "due_date", "id"])]


class OutboxMail(TimestampedModel):
    """An e-mail written in the transaction that caused it and delivered later by the sender, with retries."""

    ticket = fields.ForeignKeyField(
        "models.Ticket", related_name="mails", null=True, on_delete=fields.SET_NULL
    )
    to_address = fields.CharField(max_length=254)
    subject = fields.CharField(max_length=255)
    body = fields.TextField()
    status = fields.CharEnumField(MailStatus, max_length=10, default=MailStatus.PENDING)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A sender claims a mail by setting this in the future; another process skips it until then.
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(null=True)
    sent_at = fields.DatetimeField(null=True)
    # What the mail was about and in which language (models/mail_template.py); null for mails older
    # than the templates. With subject, body and sent_at it is the copy kept on the ticket (Ticket.emails).
    event = fields.CharField(max_length=20, null=True)
    locale = fields.CharField(max_length=5, null=True)

    ticket_id: int | None

    class Meta:
        table = "outbox_mail"
        ordering = ["id"]
        indexes = [Index(fields=["status", "next_attempt_at"])]
