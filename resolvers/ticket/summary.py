"""A ticket's thread summary: how many messages, which is the last and when, kept on the ticket row.

Lists sort by the last message and show it (`lastMessageAt`, `messageCount`, `lastMessage`) from the
ticket's own columns, with no read of its thread: an index orders a page, and a page of fifty
costs one statement. Two summaries are kept: the whole thread (the operator's) and the thread
without internal notes (`public_*`, what a company rep sees), so that a note never shows, moves or
counts in a rep's list. Every write that adds a message updates them in its transaction
(`count_message`); the seeds write them with the rows they generate; migration 0011 computed
them for the threads already there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F

from models.ticket import Ticket, TicketMessage

# What each viewer's summary is read from: (count, last message id, last message time).
OPERATOR_COLUMNS = ("message_count", "last_message_id", "last_message_at")
PUBLIC_COLUMNS = ("public_message_count", "public_last_message_id", "public_last_message_at")


def summary_columns(sees_internal_notes: bool) -> dict[str, str]:
    """The columns that hold the summary a viewer sees, by the operator's column name."""
    chosen = OPERATOR_COLUMNS if sees_internal_notes else PUBLIC_COLUMNS
    return dict(zip(OPERATOR_COLUMNS, chosen))


@dataclass(frozen=True)
class ThreadSummary:
    message_count: int
    last_message_id: int | None
    last_message_at: datetime | None


def thread_summary(ticket: Ticket, sees_internal_notes: bool) -> ThreadSummary:
    """The summary of the thread a viewer sees, from the ticket row alone."""
    columns = OPERATOR_COLUMNS if sees_internal_notes else PUBLIC_COLUMNS
    count, last_id, last_at = (getattr(ticket, column) for column in columns)
    return ThreadSummary(count, last_id, last_at)


async def count_message(
    connection: BaseDBAsyncClient | None, message: TicketMessage, ticket: Ticket | None = None, **also: object
) -> None:
    """The ticket's summary after `message` was added (and `also`, other columns to set): one UPDATE.
    `ticket`, the row in hand, is brought up to date as well."""
    if ticket is not None:
        ticket.message_count += 1
        ticket.last_message_id, ticket.last_message_at = message.pk, message.created_at
        if not message.internal:
            ticket.public_message_count += 1
            ticket.public_last_message_id, ticket.public_last_message_at = message.pk, message.created_at
        for column, value in also.items():
            setattr(ticket, column, value)
    changes: dict[str, object] = {
        "message_count": F("message_count") + 1,
        "last_message_id": message.pk,
        "last_message_at": message.created_at,
        **also,
    }
    if not message.internal:
        changes.update(
            public_message_count=F("public_message_count") + 1,
            public_last_message_id=message.pk,
            public_last_message_at=message.created_at,
        )
    await Ticket.filter(id=message.ticket_id).using_db(connection).update(**changes)
