"""Automatic Persisted Queries (Apollo's `extensions.persistedQuery`), over POST and GET."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from contato.app import create_app
from contato.persisted import AutomaticPersistedQueries, PersistedDocumentError
from contato.settings import Settings
from models.user import Role
from resolvers.auth import issue_token
from tests.conftest import with_settings
from tests.factories import Factory
from tests.servers import LiveServer

ME = "query Me { me { name role } }"
ME_HASH = hashlib.sha256(ME.encode()).hexdigest()
LOGOUT_LIKE = "mutation Rename($name: String!) { __typename }"


def persisted(digest: str) -> dict[str, object]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


@pytest.fixture
async def client(settings: Settings, db: None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        yield http


@pytest.fixture
async def auth(factory: Factory, settings: Settings) -> dict[str, str]:
    user = await factory.user(Role.AGENT)
    return {"Authorization": f"Bearer {issue_token(user, settings).token}"}


async def test_miss_then_register_then_hit_over_post(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    # when: the hash alone, before anyone sent the text
    miss = await client.post("/graphql", json={"extensions": persisted(ME_HASH)}, headers=auth)
    # then: Apollo's miss, so the client sends the text with the hash
    assert miss.status_code == 200
    assert miss.json()["errors"] == [
        {"message": "PersistedQueryNotFound", "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}
    ]
    registered = await client.post(
        "/graphql", json={"query": ME, "operationName": "Me", "extensions": persisted(ME_HASH)}, headers=auth
    )
    assert registered.json()["data"]["me"]["role"] == "AGENT"
    hit = await client.post("/graphql", json={"operationName": "Me", "extensions": persisted(ME_HASH)}, headers=auth)
    assert hit.json() == registered.json()


async def test_hashed_get_answers_queries_and_not_the_ide(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    params = {"extensions": json.dumps(persisted(ME_HASH)), "operationName": "Me"}
    # a browser's fetch accepts */*, which would otherwise get GraphiQL's page
    headers = {**auth, "Accept": "*/*"}
    miss = await client.get("/graphql", params=params, headers=headers)
    assert miss.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    registered = await client.get("/graphql", params={**params, "query": ME}, headers=headers)
    assert registered.json()["data"]["me"]["role"] == "AGENT"
    hit = await client.get("/graphql", params=params, headers=headers)
    assert hit.status_code == 200
    assert hit.headers["content-type"].startswith("application/json")
    assert hit.json() == registered.json()


async def test_hash_is_checked_against_the_text(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    wrong = hashlib.sha256(b"{ __typename }").hexdigest()
    response = await client.post("/graphql", json={"query": ME, "extensions": persisted(wrong)}, headers=auth)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    # nothing was registered under either hash
    for digest in (wrong, ME_HASH):
        again = await client.post("/graphql", json={"extensions": persisted(digest)}, headers=auth)
        assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_a_hashed_mutation_over_get_is_refused(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    digest = hashlib.sha256(LOGOUT_LIKE.encode()).hexdigest()
    await client.post(
        "/graphql", json={"query": LOGOUT_LIKE, "variables": {"name": "x"}, "extensions": persisted(digest)},
        headers=auth,
    )
    response = await client.get(
        "/graphql", params={"extensions": json.dumps(persisted(digest)), "variables": '{"name": "x"}'}, headers=auth
    )
    assert response.status_code == 405


async def test_with_graphql_response_json_a_miss_is_a_400_without_data(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    response = await client.post(
        "/graphql",
        json={"extensions": persisted(ME_HASH)},
        headers={**auth, "Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
    assert "data" not in response.json()
    assert response.json()["errors"][0]["message"] == "PersistedQueryNotFound"


@pytest.mark.parametrize(
    "extensions",
    [{"persistedQuery": "abc"}, {"persistedQuery": {"version": 2, "sha256Hash": ME_HASH}},
     {"persistedQuery": {"version": 1}}],
)
async def test_malformed_persisted_query_extensions(
    client: httpx.AsyncClient, auth: dict[str, str], extensions: dict[str, object]
) -> None:
    response = await client.post("/graphql", json={"query": ME, "extensions": extensions}, headers=auth)
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_BAD_REQUEST"


async def test_apq_can_be_turned_off(settings: Settings, db: None, factory: Factory) -> None:
    app = create_app(with_settings(settings, apq_cache_size=0))
    user = await factory.user(Role.AGENT)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        response = await http.post(
            "/graphql",
            json={"query": ME, "extensions": persisted(ME_HASH)},
            headers={"Authorization": f"Bearer {issue_token(user, settings).token}"},
        )
    assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


def test_the_cache_is_bounded_by_count_and_by_size() -> None:
    texts = [f"query Q{i} {{ __typename }}" for i in range(4)]
    digests = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
    by_count = AutomaticPersistedQueries(max_documents=2)
    for text, digest in zip(texts[:3], digests[:3], strict=True):
        by_count.resolve(text, digest)
    assert len(by_count) == 2
    with pytest.raises(PersistedDocumentError):
        by_count.resolve(None, digests[0])  # the least recently used went first
    assert by_count.resolve(None, digests[2]) == texts[2]
    by_size = AutomaticPersistedQueries(max_documents=100, max_characters=len(texts[0]) * 2)
    for text, digest in zip(texts, digests, strict=True):
        by_size.resolve(text, digest)
    assert len(by_size) == 2 and by_size.characters <= len(texts[0]) * 2


async def test_apq_over_a_websocket_subscribe(live_server: LiveServer) -> None:
    # given
    token = live_server.login("agent@contato.dev")
    updates = 'subscription Updates { ticketUpdates(ticketId: "999999") { __typename ... on StreamError { code } } }'
    digest = hashlib.sha256(updates.encode()).hexdigest()
    async with websockets.connect(live_server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"

        async def subscribe(operation_id: str, payload: dict[str, object]) -> dict[str, object]:
            await socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))
            while True:  # the first answer to this id (an earlier one's `complete` may come first)
                message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if message.get("id") == operation_id:
                    return dict(message)

        # when / then: a miss, then the text registers it, then the hash alone runs it
        miss = await subscribe("1", {"extensions": persisted(digest)})
        assert miss["type"] == "error" and miss["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await subscribe("2", {"query": updates, "extensions": persisted(digest)})
        assert registered["payload"]["data"]["ticketUpdates"]["code"] == "NOT_FOUND"
        hit = await subscribe("3", {"extensions": persisted(digest)})
        assert hit == {**registered, "id": "3"}
