from tortoise import fields

from models.base import TimestampedModel


class TicketClassification(TimestampedModel):
    """What a ticket is about ("Classificação de atendimento"), a two-level tree: roots and their sub-classifications."""

    name = fields.CharField(max_length=100)
    parent = fields.ForeignKeyField(
        "models.TicketClassification", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    active = fields.BooleanField(default=True)

    parent_id: int | None

    class Meta:
        table = "ticket_classification"
        ordering = ["id"]


class TicketStatus(TimestampedModel):
    """A ticket status ("Status do CRM", "Tipos de Retorno") and the flags that drive returns, closing and e-mail."""

    name = fields.CharField(max_length=100, unique=True)
    initial = fields.BooleanField(default=False)
    # Entering the status sets ticket.return_due_at this many days ahead ("Agenda retorno").
    return_after_days = fields.IntField(null=True)
    allows_closing = fields.BooleanField(default=False)
    email_on_enter = fields.BooleanField(default=False)
    email_on_change = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "ticket_status"
        ordering = ["id"]


class ContactCategory(TimestampedModel):
    """A category a contact type may belong to ("Categoria"), from a list the administrator keeps."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "contact_category"
        ordering = ["id"]


class ContactType(TimestampedModel):
    """The CRM way to classify a ticket ("Tipo de contato"), valid between two dates in the operation's zone."""

    name = fields.CharField(max_length=100, unique=True)
    category = fields.ForeignKeyField(
        "models.ContactCategory", related_name="contact_types", null=True, on_delete=fields.RESTRICT
    )
    # "Observação": the administrator's notes on the type.
    notes = fields.TextField(default="", db_default="")
    valid_from = fields.DateField(null=True)
    valid_to = fields.DateField(null=True)
    active = fields.BooleanField(default=True)

    category_id: int | None

    class Meta:
        table = "contact_type"
        ordering = ["id"]


class ContactTypeStatus(TimestampedModel):
    """A status a ticket of the contact type may take ("Retorno de contato"). None listed means any status."""

    contact_type = fields.ForeignKeyField(
        "models.ContactType", related_name="status_links", on_delete=fields.CASCADE
    )
    status = fields.ForeignKeyField(
        "models.TicketStatus", related_name="contact_type_links", on_delete=fields.RESTRICT
    )

    contact_type_id: int
    status_id: int

    class Meta:
        table = "contact_type_status"
        unique_together = (("contact_type", "status"),)
        ordering = ["id"]


class ContactSubtype(TimestampedModel):
    """A subtype ("Subtipo de contato"), always under one contact type."""

    contact_type = fields.ForeignKeyField(
        "models.ContactType", related_name="subtypes", on_delete=fields.RESTRICT
    )
    name = fields.CharField(max_length=100)
    active = fields.BooleanField(default=True)

    contact_type_id: int

    class Meta:
        table = "contact_subtype"
        ordering = ["id"]


class ClosureReason(TimestampedModel):
    """Why a ticket was closed ("Motivo de encerramento"), required on closing."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "closure_reason"
        ordering = ["id"]


class ActionDefinition(TimestampedModel):
    """An action an operator performs on a (child) ticket, with what it sets, opens or raises."""

    name = fields.CharField(max_length=100, unique=True)
    sets_ticket_status = fields.ForeignKeyField(
        "models.TicketStatus",
        related_name="action_definitions",
        null=True,
        on_delete=fields.RESTRICT,
    )
    opens_service_order = fields.BooleanField(default=False)
    raises_non_conformity = fields.BooleanField(default=False)
    active = fields.BooleanField(default=True)

    sets_ticket_status_id: int | None

    class Meta:
        table = "action_definition"
        ordering = ["id"]


class TicketSubject(TimestampedModel):
    """What the call is about ("Assunto", e.g. Reclamação): a catalog for the ticket form."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "ticket_subject"
        ordering = ["id"]


class Product(TimestampedModel):
    """A product a ticket is about ("Produto")."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "product"
        ordering = ["id"]


class Occurrence(TimestampedModel):
    """What happened ("Ocorrência")."""

    name = fields.CharField(max_length=100, unique=True)
    active = fields.BooleanField(default=True)

    class Meta:
        table = "occurrence"
        ordering = ["id"]
