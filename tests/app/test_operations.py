"""Operations: /metrics, JSON log lines with the request id, and a graceful stop on SIGTERM.

Most of it against a real `contato serve` (LOG_FORMAT=json), its log file and its /metrics; the
parts that need a database fault or a clock run in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import websockets
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from tortoise import connections
from tortoise.transactions import in_transaction
from websockets.exceptions import ConnectionClosed

from contato.app import create_app
from contato.logging_config import JsonFormatter, RequestIdFilter
from contato.settings import Settings, SettingsError
from models.operation import Callback
from models.user import Role
from realtime.alerts import run_once
from realtime.due import DUE_SOURCES
from resolvers.auth import issue_token
from resolvers.mail import enqueue
from schema import metrics as schema_metrics
from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.servers import LiveServer, RedisServer, redis_binary, unique_database_name
from tests.ws_client import WsClient

PROTOCOL = "graphql-transport-ws"

PERSONS = "query OpsPersons { persons(first: 5) { edges { node { id } } } }"
TOO_LARGE_PAGE = "query OpsHugePage { persons(first: 5000) { edges { node { id } } } }"
CAMPAIGNS = "{ campaigns(first: 1) { edges { node { id } } } }"
TICKETS = "{ tickets(first: 1, filter: {state: OPEN}) { edges { node { id } } } }"
MESSAGE_ADD = """
mutation OpsMessageAdd($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
QUEUE_UPDATES = """
subscription OpsQueue($campaignId: ID!) {
  queueUpdates(campaignId: $campaignId) { __typename ... on QueueSnapshot { claimsInProgress } }
}
"""
CHANNEL_CREATE = """
mutation OpsChannelCreate($name: String!) {
  contactChannelCreate(input: {name: $name}) { __typename ... on ContactChannel { id name } }
}
"""


@contextlib.contextmanager
def running_server(directory: Path, env: dict[str, str], *args: str) -> Iterator[LiveServer]:
    """A live server on this run's database (a fresh PostgreSQL database on the PostgreSQL pass)."""
    env = dict(env)
    database = None
    if PG_ADMIN_URL and "DATABASE_URL" not in env:
        database = unique_database_name()
        create_migrated_database(database)
        env["DATABASE_URL"] = _pg_url(database)
    server = LiveServer(directory, env)
    server.start(*args)
    try:
        yield server
    finally:
        server.stop()
        if database:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with running_server(tmp_path_factory.mktemp("operations"), {"LOG_FORMAT": "json"}) as live:
        yield live


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(server: LiveServer) -> Samples:
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_for_metric(server: LiveServer, name: str, expected: float, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (current := value(scrape(server), name)) != expected:
        assert time.monotonic() < deadline, f"{name} stayed at {current}, expected {expected}"
        time.sleep(0.05)


def graphql(server: LiveServer, query: str, token: str | None = None, **variables: Any) -> dict[str, Any]:
    response = server.graphql(query, variables, token=token)
    assert response.status_code == 200, response.text
    return dict(response.json())


def first_id(server: LiveServer, query: str, field: str, token: str) -> str:
    return str(graphql(server, query, token)["data"][field]["edges"][0]["node"]["id"])


# /metrics


def test_graphql_operations_are_counted_and_timed_by_name_and_outcome(server: LiveServer) -> None:
    # given
    token = server.login("supervisor@contato.dev")
    before = scrape(server)
    ok = {"operation": "OpsPersons", "type": "query", "outcome": "ok"}
    # when: two answered queries, one whose page is too large, one without a token, one that does not
    # parse, and a login named by its caller
    for _ in range(2):
        assert "errors" not in graphql(server, PERSONS, token)
    assert graphql(server, TOO_LARGE_PAGE, token)["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert graphql(server, "query OpsNoToken { me { id } }")["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert server.graphql("query {", token=token).json()["errors"][0]["message"].startswith("Syntax Error")
    stranger = graphql(server, 'mutation OpsStranger { login(email: "x@y.z", password: "p") { __typename } }')
    assert stranger["data"]["login"]["__typename"] == "LoginError"
    after = scrape(server)
    # then
    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("contato_graphql_requests_total", **ok) == 2
    assert delta("contato_graphql_request_duration_seconds_count", **ok) == 2
    assert delta("contato_graphql_request_duration_seconds_bucket", **ok, le="+Inf") == 2
    assert delta("contato_graphql_request_duration_seconds_sum", **ok) > 0
    assert delta("contato_graphql_requests_total", operation="OpsHugePage", type="query", outcome="error") == 1
    # a name first seen on a refused operation, or from a caller without a token, gets no label of its own
    assert delta("contato_graphql_requests_total", operation="other", type="query", outcome="refused") == 1
    assert delta("contato_graphql_requests_total", operation="other", type="mutation", outcome="ok") == 1
    assert not any(dict(labels).get("operation") in ("OpsNoToken", "OpsStranger") for _, labels in after)
    assert delta("contato_graphql_requests_total", operation="anonymous", type="unknown", outcome="refused") == 1


def test_a_subscription_moves_the_connection_and_subscription_gauges(server: LiveServer) -> None:
    # given
    token = server.login("supervisor@contato.dev")
    campaign_id = first_id(server, CAMPAIGNS, "campaigns", token)
    delivered_before = value(scrape(server), "contato_events_delivered_total", subscription="queueUpdates")

    async def subscribe_then_leave() -> None:
        async with WsClient(server.ws_url, token) as client:
            stream = await client.subscribe(QUEUE_UPDATES, {"campaignId": campaign_id})
            # when: the first snapshot arrives (it is sent at once)
            assert (await client.next(stream))["queueUpdates"]["__typename"] == "QueueSnapshot"
            # then
            samples = await asyncio.to_thread(scrape, server)
            assert value(samples, "contato_websocket_connections") == 1
            assert value(samples, "contato_graphql_subscriptions_active") == 1
            delivered = value(samples, "contato_events_delivered_total", subscription="queueUpdates")
            assert delivered - delivered_before >= 1
            assert value(
                samples, "contato_graphql_requests_total", operation="OpsQueue", type="subscription", outcome="ok"
            ) == 1

    asyncio.run(subscribe_then_leave())
    # and when the client leaves, both go back to zero
    wait_for_metric(server, "contato_graphql_subscriptions_active", 0)
    wait_for_metric(server, "contato_websocket_connections", 0)


def test_published_events_are_counted_by_kind(server: LiveServer) -> None:
    token = server.login("supervisor@contato.dev")
    ticket_id = first_id(server, TICKETS, "tickets", token)
    before = value(scrape(server), "contato_events_published_total", kind="TICKET_MESSAGE_ADDED")
    variables = {"input": {"ticketId": ticket_id, "body": "counted", "notifyCustomer": False}}
    answer = graphql(server, MESSAGE_ADD, token, **variables)
    assert answer["data"]["ticketMessageAdd"]["__typename"] == "TicketMessage", answer
    after = value(scrape(server), "contato_events_published_total", kind="TICKET_MESSAGE_ADDED")
    assert after - before == 1


def test_operation_name_labels_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(schema_metrics, "_operation_names", set())
    labels = [schema_metrics.operation_label(f"Op{n}", admit=True) for n in range(schema_metrics.MAX_OPERATION_NAMES + 5)]
    assert labels[: schema_metrics.MAX_OPERATION_NAMES] == [f"Op{n}" for n in range(schema_metrics.MAX_OPERATION_NAMES)]
    assert set(labels[schema_metrics.MAX_OPERATION_NAMES :]) == {"other"}
    assert schema_metrics.operation_label("Op1", admit=False) == "Op1"
    assert schema_metrics.operation_label(None, admit=True) == "anonymous"


# In-process: settings, the outbox backlog, alert lateness


def test_operations_settings() -> None:
    dev = Settings.from_env({})
    assert (dev.metrics_enabled, dev.metrics_token, dev.log_format, dev.shutdown_grace_seconds) == (True, "", "text", 10)
    production = Settings.from_env({"CONTATO_ENV": "production", "SECRET_KEY": "k" * 40, "METRICS_TOKEN": "m" * 20})
    assert production.log_format == "json" and "m" * 20 not in repr(production)
    chosen = Settings.from_env({"LOG_FORMAT": "JSON", "METRICS_ENABLED": "false", "SHUTDOWN_GRACE_SECONDS": "30"})
    assert (chosen.log_format, chosen.metrics_enabled, chosen.shutdown_grace_seconds) == ("json", False, 30)
    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        Settings.from_env({"LOG_FORMAT": "xml"})
    with pytest.raises(SettingsError, match="SHUTDOWN_GRACE_SECONDS"):
        Settings.from_env({"SHUTDOWN_GRACE_SECONDS": "-1"})


async def _get_metrics(settings: Settings, headers: dict[str, str] | None = None) -> httpx.Response:
    app = create_app(settings)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://contato.test") as http:
        return await http.get("/metrics", headers=headers or {})


async def test_metrics_can_be_turned_off_or_put_behind_a_token(settings: Settings, db: None) -> None:
    assert (await _get_metrics(replace(settings, metrics_enabled=False))).status_code == 404
    guarded = replace(settings, metrics_token="scrape-me-0123456789")
    assert (await _get_metrics(guarded)).status_code == 401
    assert (await _get_metrics(guarded, {"Authorization": "Bearer wrong"})).status_code == 401
    allowed = await _get_metrics(guarded, {"Authorization": "Bearer scrape-me-0123456789"})
    assert allowed.status_code == 200 and "contato_graphql_requests_total" in allowed.text


async def test_metrics_are_closed_in_production_without_a_token(settings: Settings, db: None) -> None:
    # issue 11: production served /metrics to anyone when METRICS_TOKEN was not set
    production = replace(settings, environment="production", secret_key="p" * 40)
    closed = await _get_metrics(production)
    assert closed.status_code == 403 and "METRICS_TOKEN" in closed.text and "METRICS_PUBLIC" in closed.text
    assert (await _get_metrics(replace(production, metrics_public=True))).status_code == 200
    guarded = replace(production, metrics_public=True, metrics_token="scrape-me-0123456789")
    assert (await _get_metrics(guarded)).status_code == 401  # a token, when set, is always asked for
    assert (await _get_metrics(guarded, {"Authorization": "Bearer scrape-me-0123456789"})).status_code == 200
    assert (await _get_metrics(settings)).status_code == 200  # dev and test stay open
    assert Settings.from_env({"METRICS_PUBLIC": "true"}).metrics_public
    assert not Settings.from_env({"CONTATO_ENV": "production", "SECRET_KEY": "k" * 40}).metrics_public


async def test_the_outbox_backlog_is_read_when_scraped(settings: Settings, factory: Factory) -> None:
    # given: three mails waiting
    async with in_transaction() as connection:
        for n in range(3):
            await enqueue(connection, to=f"c{n}@example.com", subject="s", body="b", ticket_id=None)
    # when
    samples = parse((await _get_metrics(settings)).text)
    # then
    assert value(samples, "contato_outbox_pending_mails") == 3


async def test_alert_lateness_is_observed_per_source(factory: Factory) -> None:
    # given: a callback that fell due three seconds ago
    outbound = Outbound(factory, Clock())
    campaign = await outbound.campaign()
    due_at = datetime.now(UTC) - timedelta(seconds=3)
    await Callback.create(member=await outbound.member(campaign), campaign=campaign, due_at=due_at)
    labels = {"source": "callback_due"}
    count_before = REGISTRY.get_sample_value("contato_alert_lateness_seconds_count", labels) or 0.0
    sum_before = REGISTRY.get_sample_value("contato_alert_lateness_seconds_sum", labels) or 0.0
    # when
    assert await run_once(DUE_SOURCES, None) == 1
    # then
    assert REGISTRY.get_sample_value("contato_alert_lateness_seconds_count", labels) == count_before + 1
    lateness = (REGISTRY.get_sample_value("contato_alert_lateness_seconds_sum", labels) or 0.0) - sum_before
    assert 3 <= lateness < 600


# Logs


def _log_records(server: LiveServer) -> list[dict[str, Any]]:
    return [json.loads(line) for line in server.log().splitlines() if line.strip()]


def _wait_for_record(server: LiveServer, found: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        matches = [record for record in _log_records(server) if found(record)]
        if matches:
            return matches[0]
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.05)


def test_every_log_line_is_json_and_request_lines_carry_the_request_id(server: LiveServer) -> None:
    # when: a request and a WebSocket, each with the caller's request id
    token = server.login("supervisor@contato.dev")
    response = httpx.post(
        f"{server.url}/graphql",
        json={"query": PERSONS},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "opsHttp42"},
        timeout=10,
    )
    assert response.headers["x-request-id"] == "opsHttp42"

    async def open_socket() -> None:
        async with websockets.connect(
            server.ws_url, subprotocols=[PROTOCOL], additional_headers={"X-Request-ID": "opsSocket42"}  # type: ignore[list-item]
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"

    asyncio.run(open_socket())
    # then: uvicorn's own access lines, logged during those requests, carry their ids
    access = _wait_for_record(server, lambda record: record["request_id"] == "opsHttp42")
    assert access["logger"] == "uvicorn.access" and "POST /graphql" in access["message"]
    socket_line = _wait_for_record(server, lambda record: record["request_id"] == "opsSocket42")
    assert "WebSocket /graphql" in socket_line["message"]
    # and every line of the server's output is one JSON object with the same fields
    records = _log_records(server)
    assert records and all({"time", "level", "logger", "message", "request_id"} <= set(record) for record in records)
    assert any(record["logger"] == "uvicorn.error" and record["request_id"] is None for record in records)


async def test_a_fault_is_logged_as_json_with_the_request_id_and_the_traceback(
    settings: Settings, factory: Factory
) -> None:
    # given: a JSON handler on the app's loggers, and a database fault no code expects
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    contato_logger = logging.getLogger("contato")
    contato_logger.addHandler(handler)
    agent = await factory.user(Role.AGENT)
    connection = connections.get("default")
    await connection.execute_script("ALTER TABLE person RENAME TO person_gone")
    try:
        # when
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://contato.test") as http:
            response = await http.post(
                "/graphql",
                json={"query": PERSONS},
                headers={"Authorization": f"Bearer {issue_token(agent, settings).token}", "X-Request-ID": "opsFault7"},
            )
    finally:
        await connection.execute_script("ALTER TABLE person_gone RENAME TO person")
        contato_logger.removeHandler(handler)
    # then
    assert response.json()["errors"][0]["message"] == "Unexpected error."
    records = [json.loads(line) for line in lines]
    fault = next(record for record in records if "unexpected error" in record["message"])
    assert fault["request_id"] == "opsFault7" and fault["level"] == "ERROR"
    assert fault["exc_info"].startswith("Traceback") and "person" in fault["exc_info"]


# Graceful shutdown


async def _open_subscription(server: LiveServer, token: str, campaign_id: str) -> websockets.ClientConnection:
    socket = await websockets.connect(server.ws_url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
    payload = {"query": QUEUE_UPDATES, "variables": {"campaignId": campaign_id}}
    await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "next"
    return socket


async def _start_request(server: LiveServer, token: str, body: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A POST whose headers the server has read and whose body it is waiting for (100 Continue)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(
        (
            "POST /graphql HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{server.port}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Authorization: Bearer {token}\r\n"
            "Expect: 100-continue\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    assert await asyncio.wait_for(reader.readline(), 10) == b"HTTP/1.1 100 Continue\r\n"
    assert await asyncio.wait_for(reader.readline(), 10) == b"\r\n"
    return reader, writer


async def _logged(server: LiveServer, text: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while text not in server.log():
        assert time.monotonic() < deadline, f"{text!r} not logged:\n{server.log()[-3000:]}"
        await asyncio.sleep(0.02)


def test_sigterm_closes_websockets_as_going_away_and_finishes_requests_in_flight(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = tmp_path_factory.mktemp("sigterm")
    with running_server(directory, {"SHUTDOWN_GRACE_SECONDS": "20"}) as server:
        token = server.login("supervisor@contato.dev")
        campaign_id = first_id(server, CAMPAIGNS, "campaigns", token)
        body = json.dumps({"query": CHANNEL_CREATE, "variables": {"name": "Sinal de parada"}}).encode()

        async def scenario() -> tuple[int | None, bytes]:
            # given: a live subscription, and a mutation the server has started to read
            socket = await _open_subscription(server, token, campaign_id)
            reader, writer = await _start_request(server, token, body)
            # when
            process = server._process
            assert process is not None
            process.send_signal(signal.SIGTERM)
            # then: the subscription is closed as going away
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), 15)
            code = closed.value.rcvd.code if closed.value.rcvd else None
            # and once uvicorn is waiting for connections to finish (it has stopped accepting new
            # ones), the mutation in flight still runs to its answer
            await _logged(server, "Waiting for connections to close")
            writer.write(body)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            return code, answer

        code, answer = asyncio.run(scenario())
        assert code == 1001, server.log()[-3000:]
        head, _, payload = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), answer
        created = json.loads(payload)["data"]["contactChannelCreate"]
        assert (created["__typename"], created["name"]) == ("ContactChannel", "Sinal de parada")
        # and the server exits cleanly within the grace period
        process = server._process
        assert process is not None
        try:
            assert process.wait(timeout=30) == 0, server.log()[-3000:]
        except subprocess.TimeoutExpired:
            pytest.fail(f"the server did not stop:\n{server.log()[-3000:]}")
        assert "Application shutdown complete" in server.log()


@contextlib.asynccontextmanager
async def _table_locked(server: LiveServer, table: str) -> Any:
    """Hold a lock that makes the server's writes to `table` wait until the block ends."""
    url = server.env.get("DATABASE_URL")
    if url:
        connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            async with connection.transaction():
                await connection.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
                yield
        finally:
            await connection.close()
    else:
        database = sqlite3.connect(server.directory / "data" / "contato.sqlite3", isolation_level=None)
        try:
            database.execute("BEGIN EXCLUSIVE")
            yield
            database.execute("COMMIT")
        finally:
            database.close()


def test_sigterm_lets_a_mutation_sent_over_a_websocket_answer_before_closing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    directory = tmp_path_factory.mktemp("sigterm-ws-mutation")
    with running_server(directory, {"SHUTDOWN_GRACE_SECONDS": "20"}) as server:
        token = server.login("supervisor@contato.dev")
        payload = {"query": CHANNEL_CREATE, "variables": {"name": "Parada pelo socket"}}

        async def scenario() -> tuple[list[dict[str, Any]], int | None]:
            socket = await websockets.connect(server.ws_url, subprotocols=[PROTOCOL])  # type: ignore[list-item]
            await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
            assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "connection_ack"
            # given: a mutation sent over the socket, waiting on a lock the test holds
            async with _table_locked(server, "contact_channel"):
                await socket.send(json.dumps({"id": "m", "type": "subscribe", "payload": payload}))
                await asyncio.sleep(0.5)
                # when: the server is told to stop while it runs
                process = server._process
                assert process is not None
                process.send_signal(signal.SIGTERM)
                await asyncio.sleep(1.0)
            # then: it answers, then closes the socket as going away
            received = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    received.append(json.loads(await asyncio.wait_for(socket.recv(), 15)))
            return received, closed.value.rcvd.code if closed.value.rcvd else None

        received, code = asyncio.run(scenario())
        assert [message["type"] for message in received] == ["next", "complete"], received
        created = received[0]["payload"]["data"]["contactChannelCreate"]
        assert (created["__typename"], created["name"]) == ("ContactChannel", "Parada pelo socket")
        assert code == 1001, server.log()[-3000:]
        process = server._process
        assert process is not None
        assert process.wait(timeout=30) == 0, server.log()[-3000:]


# Several workers


def test_with_several_workers_any_worker_answers_for_all(tmp_path_factory: pytest.TempPathFactory) -> None:
    if not PG_ADMIN_URL:
        pytest.skip("several workers need PostgreSQL (the PostgreSQL pass)")
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail("no redis-server binary")
        pytest.skip("no redis-server binary")
    directory = tmp_path_factory.mktemp("workers")
    redis = RedisServer(binary, directory)
    redis.start()
    try:
        with running_server(directory, {"BROADCAST_URL": redis.url}, "--workers", "2") as server:
            token = server.login("supervisor@contato.dev")
            # when: ten queries, spread by the kernel over both workers
            for _ in range(10):
                assert "errors" not in graphql(server, "query OpsWorkers { me { id } }", token)
            # then: whichever worker answers the scrape counts all ten
            labels = {"operation": "OpsWorkers", "type": "query", "outcome": "ok"}
            counts = {value(scrape(server), "contato_graphql_requests_total", **labels) for _ in range(6)}
            assert counts == {10}
    finally:
        redis.stop()
