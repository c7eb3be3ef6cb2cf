"""Durable history: one append-only row per change to a ticket or a campaign member, with who and
when (issue 16). Rows are written by resolvers/history.py inside the transaction of the change they
record, so a change that rolls back leaves no row, and they are never updated or deleted (events in
models/event.py are for live delivery and expire after EVENT_RETENTION_HOURS; these stay).

The referenced ids (statuses, users, stages, callbacks…) are plain integers, not foreign keys: an
entry must not hold a catalog row or a user from being changed, and it names what was true then.
No free text is stored (no message bodies, no notes): what a company rep may read of an entry is
decided by its kind alone (REP_TICKET_KINDS below).
"""

from enum import Enum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model


class TicketHistoryKind(str, Enum):
    OPENED = "OPENED"
    STATUS_CHANGED = "STATUS_CHANGED"
    ASSIGNED = "ASSIGNED"
    CLASSIFIED = "CLASSIFIED"
    CLOSED = "CLOSED"
    REOPENED = "REOPENED"
    # The customer e-mail was written to the outbox in the same transaction; the sender delivers it.
    EMAIL_QUEUED = "EMAIL_QUEUED"


# What a company rep may read of a ticket's history: the ticket's life as they see it. Assignments
# and reclassifications are the operator's routing (resolvers/history.py says why).
REP_TICKET_KINDS = frozenset(
    {
        TicketHistoryKind.OPENED,
        TicketHistoryKind.STATUS_CHANGED,
        TicketHistoryKind.CLOSED,
        TicketHistoryKind.REOPENED,
        TicketHistoryKind.EMAIL_QUEUED,
    }
)


class MemberEventKind(str, Enum):
    STAGE_CHANGED = "STAGE_CHANGED"
    ASSIGNED = "ASSIGNED"
    CLAIMED = "CLAIMED"
    RELEASED = "RELEASED"
    OPERATION_RECORDED = "OPERATION_RECORDED"
    CALLBACK_SCHEDULED = "CALLBACK_SCHEDULED"
    CALLBACK_RESCHEDULED = "CALLBACK_RESCHEDULED"
    CALLBACK_REASSIGNED = "CALLBACK_REASSIGNED"
    CALLBACK_CANCELLED = "CALLBACK_CANCELLED"
    CALLBACK_DONE = "CALLBACK_DONE"
    REMOVED = "REMOVED"


class TicketHistoryEntry(Model):
    id = fields.IntField(primary_key=True)
    ticket = fields.ForeignKeyField("models.Ticket", related_name="history", on_delete=fields.CASCADE)
    kind = fields.CharEnumField(TicketHistoryKind, max_length=20)
    actor_id = fields.IntField(null=True)
    from_status_id = fields.IntField(null=True)
    to_status_id = fields.IntField(null=True)
    from_assignee_id = fields.IntField(null=True)
    to_assignee_id = fields.IntField(null=True)
    # CLOSED: the reason given; REOPENED: the reason of the closure it undid (the ticket forgets it).
    closure_reason_id = fields.IntField(null=True)
    classification_id = fields.IntField(null=True)
    subclassification_id = fields.IntField(null=True)
    contact_type_id = fields.IntField(null=True)
    contact_subtype_id = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    ticket_id: int

    class Meta:
        table = "ticket_history"
        ordering = ["id"]
        indexes = [Index(fields=["ticket_id", "id"])]


class MemberEvent(Model):
    id = fields.IntField(primary_key=True)
    member = fields.ForeignKeyField("models.CampaignMember", related_name="events", on_delete=fields.CASCADE)
    campaign_id = fields.IntField()
    kind = fields.CharEnumField(MemberEventKind, max_length=25)
    actor_id = fields.IntField(null=True)
    # The agent the change is about: the claimer, the new assignee, the callback's owner.
    agent_id = fields.IntField(null=True)
    from_stage_id = fields.IntField(null=True)
    to_stage_id = fields.IntField(null=True)
    from_status = fields.CharField(max_length=10, null=True)
    to_status = fields.CharField(max_length=10, null=True)
    callback_id = fields.IntField(null=True)
    operation_id = fields.IntField(null=True)
    # CALLBACK_SCHEDULED / RESCHEDULED: the new due time.
    due_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    member_id: int

    class Meta:
        table = "member_event"
        ordering = ["id"]
        indexes = [Index(fields=["member_id", "id"])]
