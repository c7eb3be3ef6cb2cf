"""Through real uvicorn: HTTP auth, health, limits, GraphiQL, request ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt

from contato.settings import DEV_SECRET_KEY
from tests.servers import LiveServer

ME = "query { me { email role company { name } } }"


def test_health_and_readiness(live_server: LiveServer) -> None:
    assert httpx.get(f"{live_server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live_server.url}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "broadcast": "ok"}


def test_login_then_bearer_token(live_server: LiveServer) -> None:
    token = live_server.login("rep@acme.dev")
    response = live_server.graphql(ME, token=token)
    assert response.status_code == 200
    assert response.json() == {
        "data": {"me": {"email": "rep@acme.dev", "role": "COMPANY_REP", "company": {"name": "Acme Telecom"}}}
    }


def test_missing_malformed_and_expired_tokens_are_unauthenticated(live_server: LiveServer) -> None:
    expired = jwt.encode(
        {"sub": "1", "ver": 0, "exp": datetime.now(UTC) - timedelta(minutes=1)},
        DEV_SECRET_KEY,
        algorithm="HS256",
    )
    cases = [
        (None, "Authentication required"),
        ("garbage", "not valid"),
        (expired, "expired"),
    ]
    for token, message in cases:
        response = live_server.graphql(ME, token=token)
        assert response.status_code == 200
        body = response.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        assert message in body["errors"][0]["message"]


def test_login_works_without_a_token_even_with_a_bad_header(live_server: LiveServer) -> None:
    response = live_server.graphql(
        'mutation { login(email: "agent@contato.dev", password: "contato-demo") { __typename } }',
        token="garbage",
    )
    assert response.json() == {"data": {"login": {"__typename": "LoginPayload"}}}


def test_depth_and_alias_limits(live_server: LiveServer) -> None:
    token = live_server.login("admin@contato.dev")
    deep = "query { persons { edges { node { " + "convertedTo { " * 9 + "id" + " }" * 9 + " } } } }"
    body = live_server.graphql(deep, token=token).json()
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]
    aliases = "query { " + " ".join(f"a{i}: me {{ id }}" for i in range(20)) + " }"
    body = live_server.graphql(aliases, token=token).json()
    assert "aliases found" in body["errors"][0]["message"]


def test_graphiql_is_served_in_dev(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_request_id_is_echoed_or_made(live_server: LiveServer) -> None:
    given = httpx.get(f"{live_server.url}/healthz", headers={"X-Request-ID": "abc123"})
    assert given.headers["x-request-id"] == "abc123"
    made = httpx.get(f"{live_server.url}/healthz")
    assert len(made.headers["x-request-id"]) == 32


def test_people_can_be_queried_and_changed_end_to_end(live_server: LiveServer) -> None:
    token = live_server.login("agent@contato.dev")
    created = live_server.graphql(
        'mutation { personCreate(input: {kind: NATURAL, name: "Nova Pessoa", document: "390.533.447-05"}) '
        "{ __typename ... on Person { id } } }",
        token=token,
    ).json()["data"]["personCreate"]
    assert created["__typename"] == "Person"
    found = live_server.graphql(
        'query { persons(filter: {text: "nova pessoa"}) { edges { node { id name } } } }', token=token
    ).json()
    assert found["data"]["persons"]["edges"] == [{"node": {"id": created["id"], "name": "Nova Pessoa"}}]


def test_responses_are_utf8_json_and_text_json_cannot_carry_still_answers(live_server: LiveServer) -> None:
    token = live_server.login("supervisor@contato.dev")
    # Non-ASCII goes out as UTF-8 (orjson), not as \u escapes, and reads back the same.
    query = "query($n: Int) { persons(first: $n) { edges { cursor } } }"
    accented = live_server.graphql(query, {"n": "João"}, token=token)
    assert accented.headers["content-type"].startswith("application/json")
    assert "João".encode() in accented.content
    assert "'João'" in accented.json()["errors"][0]["message"]
    # A lone surrogate ("\ud800" in the request) in a variable is refused before anything reads it.
    raw = '{"query": "query($n: Int) { persons(first: $n) { edges { cursor } } }", "variables": {"n": "\\ud800"}}'
    response = httpx.post(
        f"{live_server.url}/graphql", content=raw,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}
    # One echoed in an error message (an operation name): not UTF-8-encodable, so the fast encoder
    # refuses it; the answer is still the JSON error, never a 500.
    raw = '{"query": "query A { me { id } }", "operationName": "\\ud800"}'
    response = httpx.post(
        f"{live_server.url}/graphql", content=raw,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code < 500, response.text
    assert "\\ud800" in response.text, response.text
