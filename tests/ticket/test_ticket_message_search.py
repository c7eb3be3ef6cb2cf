"""tickets(filter: {text}) finds message bodies through the full-text index (issue 15)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from models.ticket import Ticket
from models.user import Role
from resolvers.context import Context
from resolvers.rows import parameterized
from resolvers.ticket import TicketFilter, filtered_tickets
from tests.factories import Factory
from tests.ticket_factories import TicketFactory

SEARCH = """
query Search($text: String!) {
  tickets(filter: {text: $text}) { totalCount edges { node { subject } } }
  ticketCounts(groupBy: [STATE], filter: {text: $text}) { count }
}
"""


def postgres() -> bool:
    return Ticket._meta.db.capabilities.dialect == "postgres"


async def _world(factory: Factory) -> dict:
    company = await factory.company("Acme")
    rep = await factory.user(Role.COMPANY_REP, company=company)
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    tickets = TicketFactory(factory)
    status = await tickets.status("Novo", initial=True)
    billing = await tickets.ticket(rep, status, company=company, subject="Primeiro")
    await tickets.message(billing, rep, "Não recebi a fatura de março, podem reenviar?")
    noted = await tickets.ticket(rep, status, company=company, subject="Segundo")
    await tickets.message(noted, rep, "Bom dia")
    await tickets.message(noted, agent, "Cliente devedor, cobrar antes", internal=True)
    await tickets.ticket(rep, status, company=company, subject="Terceiro: fatura no assunto")
    return {"rep": rep, "agent": agent, "supervisor": supervisor}


def subjects(data: dict) -> list[str]:
    return [edge["node"]["subject"] for edge in data["tickets"]["edges"]]


async def test_message_bodies_are_found_without_accents_and_reps_never_by_an_internal_note(factory: Factory) -> None:
    world = await _world(factory)
    for user in (world["supervisor"], world["agent"], world["rep"]):
        # when / then: a word of a body, folded; the subject search still works beside it
        assert subjects(await factory.execute(SEARCH, {"text": "fatura"}, user=user)) == [
            "Primeiro", "Terceiro: fatura no assunto",
        ]
        assert subjects(await factory.execute(SEARCH, {"text": "nao RECEBI"}, user=user)) == ["Primeiro"]
        assert subjects(await factory.execute(SEARCH, {"text": "marco"}, user=user)) == ["Primeiro"]
        assert subjects(await factory.execute(SEARCH, {"text": "\"' OR 1=1 --"}, user=user)) == []
    # an internal note is found by the operator, never by a rep (nor counted for them)
    for user, found in ((world["supervisor"], ["Segundo"]), (world["agent"], ["Segundo"]), (world["rep"], [])):
        data = await factory.execute(SEARCH, {"text": "devedor"}, user=user)
        assert subjects(data) == found
        assert data["tickets"]["totalCount"] == len(found)
        assert sum(group["count"] for group in data["ticketCounts"]) == len(found)


async def test_portuguese_stems_match_on_postgresql(factory: Factory) -> None:
    world = await _world(factory)
    # "faturas" / "recebemos" share the stems of "fatura" / "recebi" in PostgreSQL's Portuguese
    # dictionary; SQLite's FTS5 matches whole words (folded) only.
    found = subjects(await factory.execute(SEARCH, {"text": "faturas"}, user=world["supervisor"]))
    assert found == (["Primeiro"] if postgres() else [])


async def test_the_search_reads_the_index_not_the_messages(factory: Factory) -> None:
    world = await _world(factory)
    ctx = Context(settings=factory.settings, user=world["rep"])
    sql, parameters = parameterized(filtered_tickets(ctx, TicketFilter(text="fatura")).values_list("id"))
    db = Ticket._meta.db
    if postgres():
        async with in_transaction() as connection:
            # the tables are tiny: forbid the sequential scan to see the index is usable by this query
            await connection.execute_script("SET LOCAL enable_seqscan = off")
            _, rows = await connection.execute_query(f"EXPLAIN {sql}", parameters)
        plan = "\n".join(str(row[0]) for row in rows)
        assert "ticket_message_body_search" in plan, plan
        assert "Seq Scan on ticket_message" not in plan, plan
    else:
        _, rows = await db.execute_query(f"EXPLAIN QUERY PLAN {sql}", parameters)
        plan = "\n".join(str(row[-1]) for row in rows)
        assert "VIRTUAL TABLE INDEX" in plan and "ticket_message_search" in plan, plan
        assert "SCAN ticket_message" not in plan.replace("ticket_message_search", ""), plan
