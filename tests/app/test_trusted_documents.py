"""Trusted-documents mode (TRUSTED_DOCUMENTS=manifest.json): only the manifest's documents run.

A real server, started with a GraphQL Codegen style manifest (hash -> document); the documents are
prepared (parsed, validated, planned) at start, and a manifest with a bad document stops the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from contato.persisted import TrustedDocuments
from contato.settings import Settings, SettingsError
from schema import build_schema
from schema.compiled import plans_for
from schema.security import validated
from tests.conftest import live_database
from tests.servers import LiveServer

LOGIN = (
    "mutation Login($email: String!, $password: String!) { login(email: $email, password: $password) "
    "{ ... on LoginPayload { token } ... on LoginError { code } } }"
)
ME = "query Me { me { name role } }"
TICKETS = "query Tickets { tickets(first: 5) { edges { node { id number subject status { name } } } } }"
UPDATES = "subscription Updates($id: ID!) { ticketUpdates(ticketId: $id) { __typename ... on StreamError { code } } }"
DOCUMENTS = [LOGIN, ME, TICKETS, UPDATES]


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


def manifest(path: Path, documents: list[str]) -> Path:
    path.write_text(json.dumps({sha256(text): text for text in documents}))
    return path


@pytest.fixture(scope="module")
def trusted_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("trusted")
    with live_database() as env:
        server = LiveServer(directory, {**env, "TRUSTED_DOCUMENTS": str(manifest(directory / "docs.json", DOCUMENTS))})
        server.start(timeout=120)
        try:
            yield server
        finally:
            server.stop()


def post(server: LiveServer, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.post(f"{server.url}/graphql", json=body, headers=headers, timeout=10).json()


def login(server: LiveServer) -> str:
    answer = post(server, {
        "extensions": persisted(LOGIN), "variables": {"email": "agent@contato.dev", "password": "contato-demo"}
    })
    return str(answer["data"]["login"]["token"])


def test_listed_documents_run_by_hash_or_by_text(trusted_server: LiveServer) -> None:
    token = login(trusted_server)
    by_hash = post(trusted_server, {"extensions": persisted(ME)}, token)
    assert by_hash == {"data": {"me": {"name": by_hash["data"]["me"]["name"], "role": "AGENT"}}}
    assert post(trusted_server, {"query": ME}, token) == by_hash
    tickets = post(trusted_server, {"extensions": persisted(TICKETS), "operationName": "Tickets"}, token)
    assert "errors" not in tickets and tickets["data"]["tickets"]["edges"]
    assert "trusted documents: 4 from" in trusted_server.log()


@pytest.mark.parametrize(
    "body",
    [
        {"query": "query { me { name email } }"},  # a text not in the manifest
        {"query": ME + " "},  # not exactly the listed text
        {"query": "{ __schema { types { name } } }"},  # introspection is a document too
        {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}},  # an unknown hash
    ],
)
def test_unlisted_documents_are_refused_with_a_clear_error(trusted_server: LiveServer, body: dict[str, Any]) -> None:
    token = login(trusted_server)
    answer = post(trusted_server, body, token)
    assert "data" not in answer or answer["data"] is None
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert "TRUSTED_DOCUMENTS" in error["message"]


def test_a_listed_hash_with_another_text_is_refused(trusted_server: LiveServer) -> None:
    token = login(trusted_server)
    answer = post(trusted_server, {"query": "query Me { me { email } }", "extensions": persisted(ME)}, token)
    assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"


async def test_subscriptions_are_held_to_the_manifest_too(trusted_server: LiveServer) -> None:
    token = login(trusted_server)
    async with websockets.connect(trusted_server.ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
        unlisted = "subscription { ticketUpdates { __typename } }"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": unlisted}}))
        refused = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert refused["id"] == "1" and refused["type"] == "error"
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        # the listed one, by hash alone: it runs (no such ticket, so its one item says so)
        await socket.send(json.dumps({"id": "2", "type": "subscribe", "payload": {
            "extensions": persisted(UPDATES), "variables": {"id": "999999"}}}))
        item = json.loads(await asyncio.wait_for(socket.recv(), 10))
        assert item["id"] == "2" and item["type"] == "next", item
        assert item["payload"]["data"]["ticketUpdates"]["__typename"] == "StreamError"


async def test_documents_are_parsed_validated_and_planned_once_at_start(tmp_path: Path, db: None) -> None:
    # given
    settings = Settings(environment="test", trusted_documents=manifest(tmp_path / "docs.json", DOCUMENTS))
    schema = build_schema(settings)
    trusted = TrustedDocuments.load(tmp_path / "docs.json")
    plans = plans_for(schema._schema)
    # when
    planned = await trusted.prepare(schema, settings)
    # then: every text has its node, whose validation and (for the compiled query) plan are cached
    assert set(schema.pinned.by_text) == set(DOCUMENTS)
    assert planned == 2  # TICKETS, by its name and without one; ME reads a field the path does not know
    documents_planned = plans.documents.misses
    node = schema.pinned.by_text[TICKETS]
    assert any(key[0] == id(node) for key in validated(schema._schema)._entries)
    entry = plans.document(node, "Tickets")
    assert entry is not None and entry.plans[()] is not None
    assert plans.documents.misses == documents_planned  # found, not made again


def test_a_manifest_with_an_invalid_document_stops_the_start(tmp_path: Path) -> None:
    bad = manifest(tmp_path / "docs.json", [ME, "query Broken { me { noSuchField } }"])
    result = subprocess.run(
        [sys.executable, "-m", "contato", "serve", "--port", "1"],
        env={"TRUSTED_DOCUMENTS": str(bad), "CONTATO_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "TRUSTED_DOCUMENTS" in line and sha256("query Broken { me { noSuchField } }") in line
    assert "noSuchField" in line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot be read"),
        ("{not json", "is not JSON"),
        ("[]", "must map document hashes to document texts"),
        ('{"abc": 1}', "must map document hashes to document texts"),
    ],
)
def test_an_unusable_manifest_is_named(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "docs.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SettingsError, match=message):
        TrustedDocuments.load(path)


def test_apollo_persisted_query_manifests_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha256(ME), "name": "Me", "type": "query", "body": ME}],
    }))
    assert TrustedDocuments.load(path).by_hash == {sha256(ME): ME}
