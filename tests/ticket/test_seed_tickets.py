import itertools
from datetime import UTC, datetime

from contato.seed import seed_demo, seed_size
from contato.settings import Settings
from models.ticket import Attachment, Ticket, TicketMessage, TicketState
from models.ticket_catalog import (
    ContactSubtype,
    ContactTypeStatus,
    TicketClassification,
    TicketStatus,
)
from models.user import Role, User
from resolvers.attachment import blob_path
from tests.ticket_factories import TicketFactory


async def test_demo_tickets_are_idempotent_and_cover_several_statuses(
    tickets: TicketFactory, settings: Settings
) -> None:
    await seed_demo(settings)
    await seed_demo(settings)
    rows = await Ticket.all().prefetch_related("status")
    assert len(rows) == 4
    assert len({row.status.name for row in rows}) == 4
    assert {row.state for row in rows} == {TicketState.OPEN, TicketState.CLOSED}
    assert await TicketMessage.filter(internal=True).count() == 1
    attachments = await Attachment.all()
    assert len(attachments) == 3
    assert all(blob_path(settings, row.sha256).is_file() for row in attachments)


TICKET_LIST = """
query TicketList {
  tickets(first: 50) {
    edges { node {
      number subject status { name } company { name }
      messages(first: 10) { edges { node { body author { name } createdAt } } }
    } }
    pageInfo { hasNextPage }
  }
}
"""


async def test_seed_size_adds_valid_tickets_with_threads_once(tickets: TicketFactory, settings: Settings) -> None:
    # given
    await seed_demo(settings)
    now = datetime.now(UTC)
    # when
    report = await seed_size(settings, 40, quiet=True)
    again = await seed_size(settings, 40, quiet=True)
    # then
    assert (report.tickets, report.messages) == (40, 480)
    assert (again.tickets, again.messages) == (0, 0)
    generated = list(await Ticket.filter(number__startswith="GEN-").order_by("id"))
    assert len(generated) == 40
    users = {user.pk: user for user in await User.all()}
    statuses = {status.pk: status for status in await TicketStatus.all()}
    parents = dict(await TicketClassification.all().values_list("id", "parent_id"))
    subtype_types = dict(await ContactSubtype.all().values_list("id", "contact_type_id"))
    allowed = set(await ContactTypeStatus.all().values_list("contact_type_id", "status_id"))
    messages: dict[int, list[TicketMessage]] = {}
    for message in await TicketMessage.filter(ticket_id__in=[t.pk for t in generated]).order_by("id"):
        messages.setdefault(message.ticket_id, []).append(message)
    for ticket in generated:
        thread = messages[ticket.pk]
        assert len(thread) == 12
        opener = users[ticket.opened_by_id]
        assert opener.role == Role.COMPANY_REP and opener.company_id == ticket.company_id
        assert thread[0].author_id == opener.pk and not thread[0].internal
        assert all(a.created_at < b.created_at < now for a, b in itertools.pairwise(thread))
        for message in thread:
            author = users[message.author_id]
            if author.role == Role.COMPANY_REP:
                assert author.company_id == ticket.company_id and not message.internal
        status = statuses[ticket.status_id]
        if ticket.state == TicketState.CLOSED:
            assert status.allows_closing and ticket.closure_reason_id is not None
            assert ticket.closed_at is not None and ticket.closed_at > thread[-1].created_at
        else:
            assert ticket.closed_at is None and ticket.closure_reason_id is None
        assert (ticket.return_due_at is not None) == bool(status.return_after_days)
        if ticket.return_due_at is not None:
            assert (ticket.return_alerted_at is not None) == (ticket.return_due_at <= now)
        if ticket.subclassification_id is not None:
            assert parents[ticket.subclassification_id] == ticket.classification_id
        if ticket.contact_subtype_id is not None:
            assert subtype_types[ticket.contact_subtype_id] == ticket.contact_type_id
        if ticket.contact_type_id is not None:
            assert (ticket.contact_type_id, ticket.status_id) in allowed
    assert {ticket.state for ticket in generated} == {TicketState.OPEN, TicketState.CLOSED}
    assert any(message.internal for thread in messages.values() for message in thread)
    assert {ticket.assignee_id for ticket in generated} > {None}


async def test_the_ticket_list_renders_generated_threads(tickets: TicketFactory, settings: Settings) -> None:
    # given
    await seed_demo(settings)
    await seed_size(settings, 40, quiet=True)
    agent = await User.get(email="agent@contato.dev")
    # when
    data = await tickets.factory.execute(TICKET_LIST, user=agent)
    # then
    nodes = [edge["node"] for edge in data["tickets"]["edges"]]
    generated = [node for node in nodes if node["number"].startswith("GEN-")]
    assert generated and all(len(node["messages"]["edges"]) == 10 for node in generated)


async def test_demo_tickets_are_opened_and_worked_through_the_use_cases(
    tickets: TicketFactory, settings: Settings
) -> None:
    """What ticketOpen, ticketAssign, ticketMessageAdd, ticketStatusChange and ticketClose write, the demo
    has: the OPENED entry and every later change in the history, the thread's summary, the assignment."""
    from models.history import TicketHistoryEntry, TicketHistoryKind
    from models.ticket import OutboxMail

    await seed_demo(settings)
    rows = {row.subject: row for row in await Ticket.all()}
    kinds = {
        subject: [entry.kind for entry in await TicketHistoryEntry.filter(ticket_id=row.pk).order_by("id")]
        for subject, row in rows.items()
    }
    assert kinds["Fatura de março em duplicidade"] == [TicketHistoryKind.OPENED]
    assert kinds["Sem sinal na filial centro"] == [
        TicketHistoryKind.OPENED, TicketHistoryKind.ASSIGNED, TicketHistoryKind.STATUS_CHANGED,
    ]
    assert kinds["Segunda via do boleto"] == [
        TicketHistoryKind.OPENED, TicketHistoryKind.ASSIGNED, TicketHistoryKind.STATUS_CHANGED,
        TicketHistoryKind.CLOSED,
    ]
    # the thread summary ticketMessageAdd keeps, internal notes left out of what reps see
    signal = rows["Sem sinal na filial centro"]
    assert (signal.message_count, signal.public_message_count) == (3, 2)
    # a status with "Agenda retorno" counts from the opening, as the API does
    assert signal.return_due_at is not None
    assert abs((signal.return_due_at - signal.created_at).total_seconds() - 3 * 86400) < 1
    # the demo operators declined e-mailing the (made-up) customers
    assert await OutboxMail.all().count() == 0


async def test_the_demo_opens_its_tickets_under_the_crm_form_too(tickets: TicketFactory, settings: Settings) -> None:
    from dataclasses import replace

    from contato.settings import TicketScheme

    await seed_demo(replace(settings, ticket_scheme=TicketScheme.CONTACT_TYPE))
    rows = await Ticket.all()
    assert len(rows) == 4
    assert all(row.contact_type_id is not None and row.channel_id is not None for row in rows)
