"""Text a client sends that the database cannot take (issue 11).

A lone surrogate ("x\\ud800y" in JSON) reached the drivers, which cannot encode it as UTF-8:
"Unexpected error." in personCreate, login, the persons / tickets filters and message bodies. It is
refused as NUL is, before anything reads it.

Search text of 100,000 "%" made SQLite refuse the LIKE pattern ("pattern too complex"): every text
filter, read from the schema, caps it at MAX_SEARCH_TEXT, and wildcards match themselves.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import GraphQLInputObjectType, GraphQLSchema, get_named_type

from contato.settings import Settings
from models.company import Company
from models.person import Person
from models.ticket import TicketMessage
from models.user import Role, User
from resolvers.auth import TokenRejected, authenticate_token
from resolvers.bounds import MAX_SEARCH_TEXT
from schema import build_schema
from tests.app.hostile import LONE, SETTINGS, codes, faults
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.ticket_factories import TicketFactory

SCHEMA: GraphQLSchema = build_schema(SETTINGS)._schema


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


def _text_filters() -> list[tuple[str, str]]:
    """(root field, how its text is passed) for every list a client filters by `text`."""
    found = []
    for operation, root in (("query", SCHEMA.query_type), ("mutation", SCHEMA.mutation_type)):
        assert root is not None
        for name, field in root.fields.items():
            for arg_name, arg in field.args.items():
                named = get_named_type(arg.type)
                if arg_name == "text":
                    found.append((operation, name, "text: $t"))
                elif isinstance(named, GraphQLInputObjectType) and "text" in named.fields:
                    found.append((operation, name, f"{arg_name}: {{text: $t}}"))
    return [(f"{operation}($t: String) {{ {name}(@ARGS) {{ __typename }} }}", passed) for operation, name, passed in found]


TEXT_FILTERS = _text_filters()


def _filter_document(template: str, passed: str, campaign_id: int) -> str:
    document = template.replace("@ARGS", passed)
    if "campaignMembersAdd" in document:
        document = document.replace("campaignMembersAdd(", f'campaignMembersAdd(campaignId: "{campaign_id}", ')
    if "ticketCounts" in document:
        document = document.replace("ticketCounts(", "ticketCounts(groupBy: [STATE], ")
    if "campaignQueue" in document:
        document = document.replace("campaignQueue(", f'campaignQueue(campaignId: "{campaign_id}", ')
    return document


def test_every_text_filter_is_found() -> None:
    names = {template.split("{ ", 1)[1].split("(", 1)[0] for template, _ in TEXT_FILTERS}
    assert names == {
        "persons", "tickets", "ticketCounts", "users", "companies", "campaignMembersAdd", "campaignQueue"
    }


async def test_search_text_is_capped_in_every_filter(factory: Factory) -> None:
    admin = await factory.user(Role.ADMIN)
    await factory.person()
    campaign = await Outbound(factory, Clock()).campaign()
    for template, passed in TEXT_FILTERS:
        document = _filter_document(template, passed, campaign.pk)
        for text in ("%" * 100_000, "a" * (MAX_SEARCH_TEXT + 1)):
            result = await factory.execute_raw(document, {"t": text}, user=admin, settings=SETTINGS)
            assert faults(result) == [], (document, result.errors)
            assert codes(result) == ["BAD_USER_INPUT"], (document, result.errors)
            assert str(MAX_SEARCH_TEXT) in result.errors[0].message
        result = await factory.execute_raw(document, {"t": "a" * MAX_SEARCH_TEXT}, user=admin, settings=SETTINGS)
        assert result.errors is None, (document, result.errors)


async def test_wildcards_in_search_text_match_themselves(factory: Factory) -> None:
    # given: names and companies with and without % and _
    admin = await factory.user(Role.ADMIN)
    await factory.person(name="Juros cem% ao mes")
    await factory.person(name="Juros cem ao mes")
    await factory.person(name="conta_corrente")
    await factory.person(name="contaxcorrente")
    await factory.company(name="Acme cem%")
    await factory.company(name="Acme cemx")
    await factory.user(Role.AGENT, email="a_b@test.dev")
    await factory.user(Role.AGENT, email="axb@test.dev")
    persons = "query($t: String) { persons(filter: {text: $t}) { edges { node { name } } } }"
    companies = "query($t: String) { companies(text: $t) { edges { node { name } } } }"
    users = "query($t: String) { users(text: $t) { edges { node { email } } } }"

    async def found(document: str, text: str, key: str) -> list[str]:
        data = await factory.execute(document, {"t": text}, user=admin)
        return [edge["node"][key] for edge in next(iter(data.values()))["edges"]]

    # when / then
    assert await found(persons, "cem%", "name") == ["Juros cem% ao mes"]
    assert await found(persons, "a_c", "name") == ["conta_corrente"]
    assert await found(persons, "%", "name") == ["Juros cem% ao mes"]
    assert await found(companies, "acme cem%", "name") == ["Acme cem%"]
    assert await found(users, "a_b", "email") == ["a_b@test.dev"]
    assert await found(users, "\\", "email") == []
