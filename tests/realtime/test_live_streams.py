"""Subscriptions through real uvicorn servers and real WebSocket clients.

On the PostgreSQL pass: two server processes (A and B) share PostgreSQL and a real redis-server,
each with its own alert scheduler. On the SQLite pass, A and B are one server on the embedded
defaults (in-process broadcast), which still exercises the transport end to end.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.servers import LiveServer, RedisServer, redis_binary, unique_database_name
from tests.ws_client import WsClient

UPDATES = """
subscription($ticketId: ID, $after: String) {
  ticketUpdates(ticketId: $ticketId, after: $after) {
    __typename
    ... on TicketEvent { cursor kind ticket { number } newMessage { body } }
    ... on StreamError { code }
  }
}
"""
ADD = """
mutation($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
TICKETS = "{ tickets(first: 50, filter: {state: OPEN}) { edges { node { id number company { name } } } } }"
DUE = """
subscription { callbackDue { __typename ... on CallbackAlert { cursor kind callback { id } } ... on StreamError { code } } }
"""


class Cluster:
    def __init__(self, a: LiveServer, b: LiveServer, redis: RedisServer | None, database: str | None) -> None:
        self.a, self.b, self.redis, self.database = a, b, redis, database
        self.supervisor = a.login("supervisor@contato.dev")
        rows = a.graphql(TICKETS, token=self.supervisor).json()["data"]["tickets"]["edges"]
        self.tickets = {row["node"]["number"]: row["node"] for row in rows}

    def ticket_of(self, company: str) -> dict:
        return next(ticket for ticket in self.tickets.values() if (ticket["company"] or {}).get("name", "").startswith(company))

    def add(self, ticket: dict, body: str, internal: bool = False, server: LiveServer | None = None) -> None:
        variables = {"input": {"ticketId": ticket["id"], "body": body, "internal": internal, "notifyCustomer": False}}
        answer = (server or self.a).graphql(ADD, variables, token=self.supervisor).json()
        assert answer["data"]["ticketMessageAdd"]["__typename"] == "TicketMessage", answer


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    directory: Path = tmp_path_factory.mktemp("streams")
    if not PG_ADMIN_URL:
        server = LiveServer(directory, {})
        server.start()
        try:
            yield Cluster(server, server, None, None)
        finally:
            server.stop()
        return
    binary = redis_binary()
    if binary is None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail("no redis-server binary")
        pytest.skip("no redis-server binary")
    redis = RedisServer(binary, directory)
    redis.start()
    database = unique_database_name()
    create_migrated_database(database)
    env = {"DATABASE_URL": _pg_url(database), "BROADCAST_URL": redis.url}
    a, b = LiveServer(directory / "a", env), LiveServer(directory / "b", env)
    try:
        (directory / "a").mkdir()
        (directory / "b").mkdir()
        a.start()
        b.start()
        yield Cluster(a, b, redis, database)
    finally:
        a.stop()
        b.stop()
        redis.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def test_a_message_added_over_http_reaches_a_subscriber_on_the_other_server(cluster: Cluster) -> None:
    # given: Acme's rep subscribed on B to every ticket they may see
    acme, globex = cluster.ticket_of("Acme"), cluster.ticket_of("Globex")
    async with WsClient(cluster.b.ws_url, cluster.b.login("rep@acme.dev")) as client:
        stream = await client.subscribe(UPDATES)
        await asyncio.sleep(0.3)
        # when: the operator writes on A to Globex, an internal note to Acme, then a reply to Acme
        cluster.add(globex, "for Globex")
        cluster.add(acme, "internal note", internal=True)
        cluster.add(acme, "for Acme")
        # then: the rep gets the reply only
        event = (await client.next(stream))["ticketUpdates"]
        assert (event["kind"], event["ticket"]["number"], event["newMessage"]["body"]) == (
            "MESSAGE_ADDED", acme["number"], "for Acme"
        )
        assert await client.quiet(stream) == []


async def test_a_client_that_reconnects_with_its_cursor_gets_what_it_missed_once(cluster: Cluster) -> None:
    acme = cluster.ticket_of("Acme")
    token = cluster.b.login("rep@acme.dev")
    variables = {"ticketId": acme["id"]}
    async with WsClient(cluster.b.ws_url, token) as client:
        stream = await client.subscribe(UPDATES, variables)
        await asyncio.sleep(0.3)
        cluster.add(acme, "seen")
        cursor = (await client.next(stream))["ticketUpdates"]["cursor"]
    # when: three replies while the client is away
    for body in ("missed 1", "missed 2", "missed 3"):
        cluster.add(acme, body)
    async with WsClient(cluster.b.ws_url, token) as client:
        stream = await client.subscribe(UPDATES, {**variables, "after": cursor})
        missed = [(await client.next(stream))["ticketUpdates"]["newMessage"]["body"] for _ in range(3)]
        cluster.add(acme, "live")
        live = (await client.next(stream))["ticketUpdates"]["newMessage"]["body"]
        # then
        assert missed + [live] == ["missed 1", "missed 2", "missed 3", "live"]
        assert await client.quiet(stream) == []


async def test_a_redis_restart_mid_stream_loses_nothing(cluster: Cluster) -> None:
    if cluster.redis is None:
        pytest.skip("Redis runs on the PostgreSQL pass")
    acme = cluster.ticket_of("Acme")
    async with WsClient(cluster.b.ws_url, cluster.b.login("rep@acme.dev")) as client:
        stream = await client.subscribe(UPDATES, {"ticketId": acme["id"]})
        await asyncio.sleep(0.3)
        cluster.add(acme, "before")
        assert (await client.next(stream))["ticketUpdates"]["newMessage"]["body"] == "before"
        # when: Redis dies, a reply is written on A, then Redis comes back and another follows
        cluster.redis.stop()
        cluster.add(acme, "during")
        during = (await client.next(stream))["ticketUpdates"]["newMessage"]["body"]
        cluster.redis.start()
        for _ in range(100):
            if _ready(cluster.a) and _ready(cluster.b):
                break
            await asyncio.sleep(0.1)
        cluster.add(acme, "after")
        after = (await client.next(stream))["ticketUpdates"]["newMessage"]["body"]
        # then: the gap was filled from the database and live delivery resumed
        assert (during, after) == ("during", "after")
        assert await client.quiet(stream) == []


def _ready(server: LiveServer) -> bool:
    import httpx

    return httpx.get(f"{server.url}/readyz", timeout=2).status_code == 200


async def test_two_schedulers_alert_each_due_callback_once(cluster: Cluster) -> None:
    if cluster.database is None:
        pytest.skip("two schedulers run on the PostgreSQL pass")
    # given: supervisors following every callback alert on both servers
    async with WsClient(cluster.a.ws_url, cluster.supervisor) as on_a, WsClient(cluster.b.ws_url, cluster.supervisor) as on_b:
        stream_a, stream_b = await on_a.subscribe(DUE), await on_b.subscribe(DUE)
        await asyncio.sleep(0.3)
        # when: twenty callbacks fall due in a second, with both servers' schedulers running
        ids = await _due_callbacks(cluster.database, 20)
        got_a = [(await on_a.next(stream_a))["callbackDue"]["callback"]["id"] for _ in ids]
        got_b = [(await on_b.next(stream_b))["callbackDue"]["callback"]["id"] for _ in ids]
        # then: each alerted once, seen once by each subscriber
        assert sorted(got_a) == sorted(got_b) == sorted(str(pk) for pk in ids)
        assert await on_a.quiet(stream_a, 0.5) == [] and await on_b.quiet(stream_b, 0.5) == []
    connection = await asyncpg.connect(_pg_url(cluster.database).replace("postgres://", "postgresql://", 1))
    try:
        alerts = await connection.fetch(
            "SELECT entity_id, count(*) AS n FROM event WHERE kind = 'CALLBACK_DUE' AND entity_id = ANY($1::int[]) "
            "GROUP BY entity_id",
            ids,
        )
    finally:
        await connection.close()
    assert sorted(row["entity_id"] for row in alerts) == sorted(ids)
    assert {row["n"] for row in alerts} == {1}


async def _due_callbacks(database: str, count: int) -> list[int]:
    connection = await asyncpg.connect(_pg_url(database).replace("postgres://", "postgresql://", 1))
    try:
        members = await connection.fetch("SELECT id, campaign_id FROM campaign_member ORDER BY id LIMIT $1", count)
        ids = []
        for member in members:
            ids.append(
                await connection.fetchval(
                    "INSERT INTO callback (member_id, campaign_id, agent_id, due_at, status, created_at, updated_at) "
                    "VALUES ($1, $2, NULL, now() + interval '1 second', 'PENDING', now(), now()) RETURNING id",
                    member["id"],
                    member["campaign_id"],
                )
            )
        return ids
    finally:
        await connection.close()
