"""Request limits: query cost, validation error cap, suggestions hidden where the schema is private."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from graphql import parse

from contato.seed import make_cpf
from contato.settings import Settings
from models.company import Company
from models.person import Person
from models.user import Role
from resolvers.context import Context
from schema import build_schema, security
from schema.cost import query_cost
from tests.factories import Factory

TICKETS = """
query($n: Int) { tickets(first: $n) { edges { node { number
  messages(first: 10) { edges { node { body author { name } } } } } } } }
"""


@pytest.fixture(scope="module")
def schema() -> object:
    return build_schema(Settings(environment="test", password_hash_profile="CHEAPEST"))._schema


def cost(schema: object, document: str, variables: dict | None = None) -> int:
    return query_cost(schema, parse(document), None, variables, max_page_size=100)  # type: ignore[arg-type]


def test_each_field_costs_one_and_pages_multiply_their_children(schema: object) -> None:
    assert cost(schema, "{ me { id name } }") == 3
    # tickets: 1 + n × (edges: 1 + (node: 1 + number 1 + messages: 1 + 10 × (edges 1 + node 1 + body 1 + author 1 + name 1)))
    assert cost(schema, TICKETS, {"n": 5}) == 1 + 5 * (1 + 1 + 1 + 1 + 10 * 5)
    assert cost(schema, TICKETS, {"n": 50}) == 1 + 50 * 54
    # paging back costs as paging forward
    backward = TICKETS.replace("first: $n", "last: $n").replace("first: 10", "last: 10")
    assert cost(schema, backward, {"n": 50}) == 1 + 50 * 54


def test_unknown_or_oversized_pages_count_as_the_default_or_the_maximum(schema: object) -> None:
    assert cost(schema, "{ persons { edges { node { id } } } }") == 1 + 20 * 3
    assert cost(schema, "{ persons(first: 5000) { edges { node { id } } } }") == 1 + 100 * 3


def test_fragments_count_where_they_are_spread(schema: object) -> None:
    document = "query { persons(first: 10) { ...P } } fragment P on PersonConnection { edges { node { id name } } }"
    assert cost(schema, document) == 1 + 10 * 4


async def test_a_costly_query_is_refused_before_it_runs(factory: Factory) -> None:
    # given: a limit a 50 × 10 ticket page exceeds but a 5 × 10 page does not
    settings = Settings(environment="test", password_hash_profile="CHEAPEST", max_query_cost=1_000)
    user = await factory.user(Role.SUPERVISOR)
    # when
    cheap = await factory.execute_raw(TICKETS, {"n": 5}, user=user, settings=settings)
    costly = await factory.execute_raw(TICKETS, {"n": 50}, user=user, settings=settings)
    # then
    assert cheap.errors is None
    assert costly.data is None
    assert costly.errors[0].extensions == {"code": "QUERY_TOO_COSTLY"}
    assert "cost 2701, limit 1000" in costly.errors[0].message


async def test_suggestions_are_hidden_where_the_schema_is_not_public(factory: Factory) -> None:
    user = await factory.user(Role.SUPERVISOR)
    public = Settings(environment="test", password_hash_profile="CHEAPEST", introspection=True)
    private = Settings(environment="test", password_hash_profile="CHEAPEST", introspection=False)
    document = "{ me { nam } }"
    shown = await factory.execute_raw(document, user=user, settings=public)
    hidden = await factory.execute_raw(document, user=user, settings=private)
    assert "Did you mean 'name'?" in shown.errors[0].message
    assert hidden.errors[0].message == "Cannot query field 'nam' on type 'User'."


async def test_coercion_errors_suggest_nothing_where_the_schema_is_not_public(factory: Factory) -> None:
    # issue 11: variables still said "Did you mean 'text'?" and "Did you mean the enum value 'ADMIN'?"
    admin = await factory.user(Role.ADMIN)
    public = Settings(environment="test", password_hash_profile="CHEAPEST", introspection=True)
    private = Settings(environment="test", password_hash_profile="CHEAPEST", introspection=False)
    attempts = [
        ("query($f: PersonFilter) { persons(filter: $f) { edges { node { id } } } }", {"f": {"txt": "a"}}, "text"),
        ("query($r: Role) { users(role: $r) { edges { node { id } } } }", {"r": "ADMN"}, "ADMIN"),
        ("query($f: TicketFilter) { tickets(filter: $f) { edges { node { id } } } }", {"f": {"state": "OPN"}}, "OPEN"),
        ("query { users(role: ADMN) { edges { node { id } } } }", None, "ADMIN"),
        ('query { persons(filter: {txt: "a"}) { edges { node { id } } } }', None, "text"),
    ]
    for document, variables, hint in attempts:
        shown = await factory.execute_raw(document, variables, user=admin, settings=public)
        hidden = await factory.execute_raw(document, variables, user=admin, settings=private)
        assert "Did you mean" in shown.errors[0].message and hint in shown.errors[0].message, shown.errors
        assert hidden.data is None and hidden.errors, hidden
        assert all("Did you mean" not in error.message for error in hidden.errors), hidden.errors


async def test_validation_errors_are_capped(factory: Factory) -> None:
    user = await factory.user(Role.SUPERVISOR)
    document = "{ me { " + " ".join(f"f{index}" for index in range(60)) + " } }"
    result = await factory.execute_raw(document, user=user)
    assert len(result.errors) == 21  # 20 and "Too many validation errors, error limit reached."
    assert "error limit reached" in result.errors[-1].message


async def test_mutations_are_rate_limited_per_user(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: three mutations a minute allowed, all of them within one minute
    monkeypatch.setattr(security, "utc_now", lambda: datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC))
    settings = Settings(environment="test", password_hash_profile="CHEAPEST", mutations_per_minute=3)
    busy, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    create = """mutation($name: String!, $document: String!) {
      personCreate(input: {kind: NATURAL, name: $name, document: $document}) { __typename } }"""
    # when
    results = [
        await factory.execute_raw(create, {"name": f"P{index}", "document": make_cpf(900 + index)}, user=busy, settings=settings)
        for index in range(4)
    ]
    others = await factory.execute_raw(create, {"name": "Q", "document": make_cpf(999)}, user=other, settings=settings)
    reads = await factory.execute_raw("{ me { id } }", user=busy, settings=settings)
    # then: the fourth is refused before it runs; others and reads are not affected
    assert [result.errors is None for result in results] == [True, True, True, False]
    refused = results[3].errors[0]
    assert (refused.extensions["code"], refused.extensions["retryAfterSeconds"]) == ("RATE_LIMITED", 30)
    assert await Person.filter(name="P3").count() == 0
    assert others.errors is None and reads.errors is None


async def test_nul_characters_are_refused_wherever_they_are(factory: Factory) -> None:
    # found by the fuzzer: PostgreSQL cannot store NUL, and every text input reached it unchecked
    admin = await factory.user(Role.ADMIN)
    literal = 'mutation { companyCreate(input: {name: "A\\u0000", cnpj: "11222333000181"}) { __typename } }'
    variable = 'mutation($name: String!) { companyCreate(input: {name: $name, cnpj: "11222333000181"}) { __typename } }'
    for document, variables in ((literal, None), (variable, {"name": "A\x00"})):
        result = await factory.execute_raw(document, variables, user=admin)
        assert result.data is None
        assert result.errors[0].extensions == {"code": "BAD_USER_INPUT"}, result.errors
    assert await Company.all().count() == 0


async def test_a_document_is_validated_once(factory: Factory) -> None:
    # Strawberry's depth and alias limiters make new rule classes per request: the cache must hit anyway
    user = await factory.user(Role.AGENT)
    document = "query Again { me { id name } }"
    await factory.execute(document, user=user)
    cache = security.validated(factory.schema._schema)
    before = (cache.hits, cache.misses)
    await factory.execute(document, user=user)
    after = (cache.hits, cache.misses)
    assert (after[0] - before[0], after[1] - before[1]) == (1, 0)


def test_the_document_cache_keys_by_identity_and_keeps_a_bound() -> None:
    from graphql import parse

    from schema.documents import DocumentCache

    cache: DocumentCache[str] = DocumentCache(maxsize=2)
    first, same_text, other = parse("{ me { id } }"), parse("{ me { id } }"), parse("{ me { name } }")
    assert cache.get(first, "k", lambda: "a") == "a"
    assert cache.get(first, "k", lambda: "recomputed") == "a"  # a hit
    assert cache.get(same_text, "k", lambda: "b") == "b"  # an equal tree, but another node: a miss
    assert cache.get(other, "k", lambda: "c") == "c"  # pushes out `first`, the least recently used
    assert len(cache) == 2 and cache.get(first, "k", lambda: "again") == "again"
    assert (cache.hits, cache.misses) == (1, 4)


async def test_the_rate_limit_counts_mutation_fields_not_requests(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> None:
    # given: five changes a minute allowed, all within one minute
    monkeypatch.setattr(security, "utc_now", lambda: datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC))
    settings = Settings(environment="test", password_hash_profile="CHEAPEST", mutations_per_minute=5)
    user = await factory.user(Role.AGENT)
    person = await factory.person(name="Before")
    update = "mutation($id: ID!) {" + " ".join(
        f'u{index}: personUpdate(id: $id, input: {{name: "N{index}"}}) {{ __typename }}' for index in range(3)
    ) + "}"
    # when: two requests of three aliased updates each
    first = await factory.execute_raw(update, {"id": str(person.pk)}, user=user, settings=settings)
    second = await factory.execute_raw(update, {"id": str(person.pk)}, user=user, settings=settings)
    # then: the sixth change is over the limit, and the second request did not run at all
    assert first.errors is None
    assert second.data is None and second.errors[0].extensions["code"] == "RATE_LIMITED"


async def test_fragments_are_expanded_and_skipped_fields_are_not_counted(
    factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: three changes a minute
    monkeypatch.setattr(security, "utc_now", lambda: datetime(2026, 11, 24, 12, 0, 30, tzinfo=UTC))
    settings = Settings(environment="test", password_hash_profile="CHEAPEST", mutations_per_minute=3)
    user = await factory.user(Role.AGENT)
    person = await factory.person(name="Before")
    skipped = """mutation($id: ID!, $no: Boolean = false) {
      a: personUpdate(id: $id, input: {name: "A"}) { __typename }
      b: personUpdate(id: $id, input: {name: "B"}) @include(if: $no) { __typename }
      ... @skip(if: true) { c: personUpdate(id: $id, input: {name: "C"}) { __typename } } }"""
    spread = """mutation($id: ID!) { ...Two ...Two }
      fragment Two on Mutation { d: personUpdate(id: $id, input: {name: "D"}) { __typename }
                                 e: personUpdate(id: $id, input: {name: "E"}) { __typename } }"""
    # when
    counted_one = await factory.execute_raw(skipped, {"id": str(person.pk)}, user=user, settings=settings)
    counted_two = await factory.execute_raw(spread, {"id": str(person.pk)}, user=user, settings=settings)
    over = await factory.execute_raw(skipped, {"id": str(person.pk)}, user=user, settings=settings)
    # then: 1 + 2 fit in three; one more does not
    assert counted_one.errors is None and counted_two.errors is None
    assert over.data is None and over.errors[0].extensions["code"] == "RATE_LIMITED"


async def test_a_costly_subscription_is_refused_before_it_listens(factory: Factory) -> None:
    # given: a limit that 100 messages with their authors and attachments exceed, on every event
    settings = Settings(environment="test", password_hash_profile="CHEAPEST", max_query_cost=500)
    user = await factory.user(Role.SUPERVISOR)
    document = """subscription { ticketUpdates { ... on TicketEvent { ticket { latest: messages(first: 100) {
        edges { node { body author { name } attachments { fileName } } } } } } } }"""
    # when
    stream = await build_schema(settings).subscribe(document, context_value=Context(settings=settings, user=user))
    first = await asyncio.wait_for(anext(stream), 5)
    # then: one error, and the stream is over (nothing was listening)
    assert first.errors is not None and first.errors[0].extensions == {"code": "QUERY_TOO_COSTLY"}
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 5)
