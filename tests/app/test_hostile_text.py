"""Text a client sends that the database cannot take (issue 11).

A lone surrogate ("x\\ud800y" in JSON) reached the drivers, which cannot encode it as UTF-8:
"Unexpected error." in personCreate, login, the persons / tickets filters and message bodies. It is
refused as NUL is, before anything reads it.
"""

from __future__ import annotations

from typing import Any

import pytest

from contato.settings import Settings
from models.company import Company
from models.person import Person
from models.ticket import TicketMessage
from models.user import Role, User
from resolvers.auth import TokenRejected, authenticate_token
from tests.app.hostile import LONE, codes
from tests.factories import Factory
from tests.ticket_factories import TicketFactory


async def test_lone_surrogates_are_refused_like_nul_wherever_text_goes(factory: Factory) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    tickets = TicketFactory(factory)
    ticket = await tickets.ticket(rep, await tickets.status(initial=True), company=await Company.get(id=rep.company_id))
    attempts: list[tuple[str, dict[str, Any], User | None]] = [
        ("mutation($i: PersonCreateInput!) { personCreate(input: $i) { __typename } }",
         {"i": {"kind": "NATURAL", "name": LONE, "document": "529.982.247-25"}}, agent),
        ('mutation($e: String!) { login(email: $e, password: "secret") { __typename } }', {"e": f"{LONE}@a.dev"}, None),
        ("query($t: String) { persons(filter: {text: $t}) { edges { node { id } } } }", {"t": LONE}, agent),
        ("query($t: String) { tickets(filter: {text: $t}) { edges { node { id } } } }", {"t": LONE}, agent),
        ("mutation($i: TicketMessageAddInput!) { ticketMessageAdd(input: $i) { __typename } }",
         {"i": {"ticketId": str(ticket.pk), "body": LONE}}, rep),
        # in a list, and as the key of a variable the document does not declare
        ("query($t: String) { persons(filter: {text: $t}) { edges { node { id } } } }", {"t": "a", LONE: "b"}, agent),
    ]
    for document, variables, user in attempts:
        # when
        result = await factory.execute_raw(document, variables, user=user)
        # then
        assert result.data is None and codes(result) == ["BAD_USER_INPUT"], (document, result.errors)
        assert "surrogate" in result.errors[0].message
    assert await Person.all().count() == 0
    assert await TicketMessage.filter(ticket_id=ticket.pk).count() == 0


async def test_lone_surrogates_in_the_document_are_syntax_errors(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    for literal in ('"x\\ud800y"', f'"{LONE}"', f'"""{LONE}"""'):
        result = await factory.execute_raw(f"{{ persons(filter: {{text: {literal}}}) {{ edges {{ node {{ id }} }} }} }}", user=agent)
        assert result.data is None and "Syntax Error" in result.errors[0].message, result.errors


async def test_text_outside_the_basic_plane_is_still_text(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    await factory.person(name="Smile 😀")
    data = await factory.execute(
        "query($t: String) { persons(filter: {text: $t}) { edges { node { name } } } }", {"t": "😀"}, user=agent
    )
    assert [edge["node"]["name"] for edge in data["persons"]["edges"]] == ["Smile 😀"]



async def test_a_token_that_is_not_ascii_is_rejected_rather_than_a_fault(settings: Settings) -> None:
    # a WebSocket's connection_init payload can carry one; PyJWT raised UnicodeEncodeError on it
    for token in (LONE, "é.é.é"):
        with pytest.raises(TokenRejected):
            await authenticate_token(token, settings)
