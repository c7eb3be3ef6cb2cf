"""`tickets(orderBy:)` in every order and both directions, and the thread summary a list shows
(`messageCount`, `lastMessageAt`, `lastMessage`): what each viewer may see of it, kept by every
write that adds a message."""

from __future__ import annotations

import base64
import importlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models.ticket import Ticket
from models.user import Role, User
from resolvers.ticket.summary import thread_summary
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $orderBy: TicketOrder) {
  tickets(first: $first, after: $after, last: $last, before: $before, orderBy: $orderBy) {
    totalCount
    edges { cursor node { id messageCount lastMessageAt lastMessage { body internal } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""

ORDERS = ("CREATED_AT", "UPDATED_AT", "LAST_MESSAGE_AT", "RETURN_DUE_AT", "NUMBER")
COLUMNS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "RETURN_DUE_AT": "return_due_at", "NUMBER": "number"}


async def read_all(factory: Factory, user: User, order: dict[str, str] | None, backward: bool) -> list[dict[str, Any]]:
    """Every page of 2, forward from the start or back from the end, in the list's order; checks each
    page's pageInfo and totalCount on the way."""
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    totals = set()
    while True:
        variables: dict[str, Any] = {"orderBy": order}
        variables.update({"last": 2, "before": cursor} if backward else {"first": 2, "after": cursor})
        page = (await factory.execute(PAGE, variables, user=user))["tickets"]
        totals.add(page["totalCount"])
        info = page["pageInfo"]
        edges = page["edges"]
        if edges:
            assert (info["startCursor"], info["endCursor"]) == (edges[0]["cursor"], edges[-1]["cursor"])
        pages.append([edge["node"] for edge in edges])
        more = info["hasPreviousPage"] if backward else info["hasNextPage"]
        # the other flag says whether a cursor was given (Relay)
        assert (info["hasNextPage"] if backward else info["hasPreviousPage"]) == (cursor is not None)
        if not more:
            break
        cursor = info["startCursor"] if backward else info["endCursor"]
    rows = [node for page in (pages[::-1] if backward else pages) for node in page]
    assert totals == {len(rows)}
    return rows


def expected(rows: list[Ticket], field: str, descending: bool, sees_notes: bool) -> list[int]:
    """The order by (value, id), NULLs last in both directions, as the API promises it."""

    def value(ticket: Ticket) -> Any:
        if field == "LAST_MESSAGE_AT":
            return thread_summary(ticket, sees_notes).last_message_at
        return getattr(ticket, COLUMNS[field])

    present = sorted((ticket for ticket in rows if value(ticket) is not None), key=lambda t: (value(t), t.pk))
    missing = sorted((ticket for ticket in rows if value(ticket) is None), key=lambda t: t.pk)
    if descending:
        present, missing = present[::-1], missing[::-1]
    return [ticket.pk for ticket in present + missing]


@pytest.fixture
async def scene(factory: Factory, tickets: TicketFactory) -> dict[str, Any]:
    """Nine tickets, six of the rep's company, whose numbers, times and threads are not in id order;
    the operator's latest note on two of them is internal, so the rep's order by last message differs."""
    company = await factory.company()
    rep = await factory.user(Role.COMPANY_REP, company=company)
    other_rep = await factory.user(Role.COMPANY_REP)
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    rows = []
    now = datetime.now(UTC)
    for index in range(9):
        own = index % 3 != 2
        ticket = await tickets.ticket(rep if own else other_rep, new, company=company if own else await other_rep.company)
        shuffled = (index * 5) % 9  # 0 5 1 6 2 7 3 8 4
        await Ticket.filter(id=ticket.pk).update(
            number=f"N-{shuffled:03d}",
            created_at=now - timedelta(hours=shuffled % 4),  # ties, broken by id
            updated_at=now - timedelta(minutes=shuffled),
            return_due_at=None if index % 4 == 0 else now + timedelta(days=shuffled % 3),
        )
        rows.append(ticket)
    # threads written in an order that is not the tickets' (two of the other company's left without one)
    for index in (4, 1, 7, 0, 6, 2):
        await tickets.message(rows[index], rep, f"Pergunta {index}")
    for index in (0, 7):
        await tickets.message(rows[index], agent, f"Nota {index}", internal=True)
    await tickets.message(rows[3], agent, "Só a nota", internal=True)  # the newest message: a note
    return {"rep": rep, "supervisor": supervisor, "rows": rows, "company": company}


@pytest.mark.parametrize("field", ORDERS)
async def test_every_order_pages_both_ways_without_gaps_or_repeats(
    factory: Factory, scene: dict[str, Any], field: str
) -> None:
    for viewer in ("supervisor", "rep"):
        user = scene[viewer]
        visible = [
            row for row in await Ticket.filter(id__in=[t.pk for t in scene["rows"]])
            if viewer == "supervisor" or row.company_id == scene["company"].pk
        ]
        for direction in ("ASC", "DESC"):
            # when
            forward = await read_all(factory, user, {"field": field, "direction": direction}, backward=False)
            backward = await read_all(factory, user, {"field": field, "direction": direction}, backward=True)
            # then: the same rows, once each, in the promised order, paged either way
            want = expected(visible, field, direction == "DESC", sees_notes=viewer == "supervisor")
            assert [int(node["id"]) for node in forward] == want, (viewer, direction)
            assert backward == forward, (viewer, direction)


async def test_without_order_by_id_and_last_reads_the_end(factory: Factory, scene: dict[str, Any]) -> None:
    forward = await read_all(factory, scene["supervisor"], None, backward=False)
    backward = await read_all(factory, scene["supervisor"], None, backward=True)
    assert [int(node["id"]) for node in forward] == sorted(row.pk for row in scene["rows"])
    assert backward == forward


async def test_a_rep_never_sees_an_internal_note_in_the_summary(factory: Factory, scene: dict[str, Any]) -> None:
    rows: list[Ticket] = scene["rows"]
    for viewer, body, count, latest in (
        ("supervisor", "Nota 0", 2, "Só a nota"),
        ("rep", "Pergunta 0", 1, "Pergunta 6"),
    ):
        nodes = await read_all(factory, scene[viewer], {"field": "LAST_MESSAGE_AT", "direction": "DESC"}, False)
        by_id = {int(node["id"]): node for node in nodes}
        assert by_id[rows[0].pk]["lastMessage"] == {"body": body, "internal": viewer == "supervisor"}
        assert by_id[rows[0].pk]["messageCount"] == count
        assert nodes[0]["lastMessage"]["body"] == latest, viewer
        if viewer == "rep":
            # a thread of one note: empty for the rep, and sorted with the tickets without a message
            assert (by_id[rows[3].pk]["messageCount"], by_id[rows[3].pk]["lastMessageAt"]) == (0, None)
            assert by_id[rows[3].pk]["lastMessage"] is None
            assert nodes[-1]["id"] == str(rows[3].pk)
            assert all(node["lastMessage"] is None or not node["lastMessage"]["internal"] for node in nodes)
            assert rows[2].pk not in by_id  # another company's


async def test_cursors_of_another_order_or_made_up_are_refused(factory: Factory, scene: dict[str, Any]) -> None:
    user = scene["supervisor"]
    page = (await factory.execute(PAGE, {"first": 2, "orderBy": {"field": "NUMBER"}}, user=user))["tickets"]
    cursor = page["pageInfo"]["endCursor"]

    forged = [
        base64.urlsafe_b64encode(f"ticket.number.asc:{text}".encode()).decode()
        for text in ('[{"a": 1}, 3]', '["N-001", "3"]', '[null, 3]', '["N-001"]', "not json", '["N-001", 99999999999999]')
    ]
    for variables in (
        {"first": 2, "after": cursor, "orderBy": {"field": "NUMBER", "direction": "DESC"}},
        {"first": 2, "after": cursor},
        {"last": 2, "before": cursor, "orderBy": {"field": "CREATED_AT"}},
        {"first": 2, "last": 2, "orderBy": {"field": "NUMBER"}},
        *({"first": 2, "after": text, "orderBy": {"field": "NUMBER"}} for text in forged),
    ):
        result = await factory.execute_raw(PAGE, variables, user=user)
        assert result.data is None and result.errors, variables
        assert result.errors[0].extensions["code"] == "BAD_USER_INPUT", (variables, result.errors)


async def test_writes_keep_the_summary(factory: Factory, tickets: TicketFactory) -> None:
    # given
    rep = await factory.user(Role.COMPANY_REP)
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    ticket = await tickets.ticket(rep, new, company=await rep.company)
    add = """mutation Add($id: ID!, $body: String!, $internal: Boolean!) {
      ticketMessageAdd(input: {ticketId: $id, body: $body, internal: $internal}) { __typename }
    }"""
    # when
    for user, body, internal in ((rep, "Pergunta", False), (agent, "Nota", True)):
        data = await factory.execute(add, {"id": str(ticket.pk), "body": body, "internal": internal}, user=user)
        assert data["ticketMessageAdd"]["__typename"] == "TicketMessage", data
    # then: the row's summary is the thread's
    row = await Ticket.get(id=ticket.pk)
    messages = await row.messages.all().order_by("id")
    assert (row.message_count, row.last_message_id, row.last_message_at) == (2, messages[1].pk, messages[1].created_at)
    assert (row.public_message_count, row.public_last_message_id) == (1, messages[0].pk)


async def test_the_sorted_list_with_its_summary_costs_a_fixed_number_of_statements(
    factory: Factory, tickets: TicketFactory, sql_statements: StatementCounter
) -> None:
    agent = await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    for index in range(60):
        ticket = await tickets.ticket(agent, new)
        for number in range(index % 3):
            await tickets.message(ticket, agent, f"m{number}")
    document = PAGE.replace("lastMessage { body internal }", "lastMessage { body author { name } }")
    counts = {}
    for size in (5, 50):
        sql_statements.statements.clear()
        data = await factory.execute(
            document, {"first": size, "orderBy": {"field": "LAST_MESSAGE_AT", "direction": "DESC"}}, user=agent
        )
        assert len(data["tickets"]["edges"]) == size
        counts[size] = len(sql_statements.statements)
    # the page, its count, the last messages, their authors; the page of 50 reaches the tickets without
    # a message, a second index range (read only then): at most one statement more, whatever the size
    assert counts == {5: 4, 50: 5}, sql_statements.statements


async def test_the_migration_computes_the_summary_of_the_threads_already_there(scene: dict[str, Any]) -> None:
    # given: the summaries the writes kept, then wiped as before migration 0011
    columns = ("message_count", "last_message_id", "last_message_at", "public_message_count",
               "public_last_message_id", "public_last_message_at")
    kept = await Ticket.all().order_by("id").values_list("id", *columns)
    await Ticket.all().update(message_count=0, last_message_id=None, last_message_at=None, public_message_count=0,
                              public_last_message_id=None, public_last_message_at=None)
    # when
    migration = importlib.import_module("models.migrations.0011_ticket_thread_summary")
    await Ticket._meta.db.execute_query(migration.BACKFILL)
    # then
    assert await Ticket.all().order_by("id").values_list("id", *columns) == kept
    assert {row[1] for row in kept} == {0, 1, 2}  # empty threads, notes and public messages alike
