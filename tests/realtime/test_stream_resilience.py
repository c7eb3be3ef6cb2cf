"""Live streams never go silent: a leaving subscriber cannot end another's stream, a stream that
fails ends with a typed StreamError, and a stream that stalls is ended by the hub's watchdog.

The subscribers of one event in a process share its loaders (`resolvers/realtime.py`), and a
DataLoader hands every caller the same future: a leaving subscriber's cancelled task used to
cancel that future under everyone else, whose stream then stopped without a word (issue 12).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
import websockets
from tortoise.transactions import in_transaction

from contato.settings import Settings
from models.user import Role
from realtime.broadcast import create_broadcast
from realtime.events import EventSpec, publish, record
from realtime.hub import EventHub
from realtime.queue_monitor import QueueMonitor
from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database, served
from tests.factories import Factory
from tests.realtime.streams import LiveSchema
from tests.realtime.test_shared_streams import until_metric
from tests.servers import LiveServer, unique_database_name
from tests.ticket_factories import TicketFactory

UPDATES = """
subscription Wallboard($after: String) {
  ticketUpdates(after: $after) {
    __typename
    ... on TicketEvent { cursor ticket { number status { name } person { name } } newMessage { body } }
    ... on StreamError { code message }
  }
}
"""
ADD = """
mutation($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
TICKETS = "{ tickets(first: 50, filter: {state: OPEN}) { edges { node { id number company { name } } } } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("resilience"), {"MUTATIONS_PER_MINUTE": "0"}) as live:
        yield live


async def connect(server: LiveServer, token: str) -> Any:
    socket = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def subscribe(socket: Any, operation_id: str, after: str | None = None, query: str = UPDATES) -> None:
    payload = {"query": query, "operationName": "Wallboard", "variables": {"after": after}}
    await socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))


async def next_update(socket: Any, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message.get("type") == "next":
            return dict(message["payload"]["data"]["ticketUpdates"])
        assert message.get("type") in ("ping", "pong"), message


async def messages(socket: Any, count: int, timeout: float = 15.0) -> dict[str, list[dict[str, Any]]]:
    """The next `count` operation messages, by operation id."""
    by_id: dict[str, list[dict[str, Any]]] = {}
    for _ in range(count):
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
            if "id" in message:
                break
        by_id.setdefault(message["id"], []).append(message)
    return by_id


async def drain(socket: Any) -> None:
    """Read what a leaving client is sent, as a real one does: a client that stops reading never
    sees the server's close frame (its websockets library stops reading when its queue is full)."""
    with contextlib.suppress(Exception):
        async for _ in socket:
            pass


def post(server: LiveServer, token: str, ticket_id: str, body: str) -> None:
    variables = {"input": {"ticketId": ticket_id, "body": body, "internal": False, "notifyCustomer": False}}
    answer = server.graphql(ADD, variables, token=token).json()
    assert answer["data"]["ticketMessageAdd"]["__typename"] == "TicketMessage", answer


async def test_a_subscriber_leaving_while_an_event_resolves_never_silences_the_others(server: LiveServer) -> None:
    # given: steady wallboards in three scopes (each its own shared group, all sharing the event's
    # loaders), and every round new subscribers who leave as the round's event is being resolved
    supervisor = server.login("supervisor@contato.dev")
    admin = server.login("admin@contato.dev")
    rep = server.login("rep@acme.dev")
    edges = server.graphql(TICKETS, token=supervisor).json()["data"]["tickets"]["edges"]
    ticket = next(edge["node"] for edge in edges if edge["node"]["company"]["name"] == "Acme Telecom")
    steady = [await connect(server, token) for token in (supervisor, admin, rep)]
    for socket in steady:
        await subscribe(socket, "steady")
    await until_metric(server, "contato_graphql_subscriptions_active", len(steady))
    first = f"warm-up {id(steady)}"
    await asyncio.to_thread(post, server, supervisor, ticket["id"], first)
    for socket in steady:
        assert (await next_update(socket))["newMessage"]["body"] == first
    try:
        for round_number in range(30):
            leavers = [await connect(server, token) for token in (rep, admin, supervisor)]
            readers = [asyncio.create_task(drain(socket)) for socket in leavers]
            for number, socket in enumerate(leavers):
                # shared (same scope as a steady one, or alone in its scope) and unshared (`after`)
                await subscribe(socket, "shared")
                await subscribe(socket, "own", after=None if number else "0")
            await until_metric(server, "contato_graphql_subscriptions_active", len(steady) + 2 * len(leavers))
            body = f"round {round_number}"
            # when: the event is published, and the leavers drop their connections at once
            await asyncio.to_thread(post, server, supervisor, ticket["id"], body)
            await asyncio.sleep(0.001 * (round_number % 5))
            for socket in leavers:
                with contextlib.suppress(Exception):
                    await socket.close()
            await asyncio.gather(*readers)
            # then: every steady wallboard gets the event, on time
            await until_metric(server, "contato_graphql_subscriptions_active", len(steady))
            for number, socket in enumerate(steady):
                try:
                    update = await next_update(socket, timeout=10.0)
                except TimeoutError:
                    raise AssertionError(f"round {round_number}: steady wallboard {number} went silent") from None
                assert update["__typename"] == "TicketEvent", update
                assert update["newMessage"]["body"] == body, update
    finally:
        for socket in steady:
            await socket.close()


# The watchdog, in-process: a real subscription whose database read hangs behind a transaction
# another task holds open (SQLite: Tortoise's one connection; PostgreSQL: an exclusive table lock).

WATCHED = """
subscription Watched($ticketId: ID) {
  ticketUpdates(ticketId: $ticketId) {
    __typename
    ... on TicketEvent { cursor ticket { number } }
    ... on StreamError { code message }
  }
}
"""


@pytest.fixture
async def quick_watchdog_hub(db: None) -> AsyncIterator[EventHub]:
    broadcast = create_broadcast("memory://")
    await broadcast.connect()
    hub = EventHub(broadcast, poll_interval=0.05, stall_seconds=0.5)
    await hub.start()
    try:
        yield hub
    finally:
        await hub.stop()
        await broadcast.disconnect()


async def test_a_stream_that_stalls_is_ended_by_the_watchdog_with_interrupted(
    factory: Factory, settings: Settings, quick_watchdog_hub: EventHub
) -> None:
    # given: a supervisor's stream on a ticket
    hub = quick_watchdog_hub
    tickets = TicketFactory(factory)
    supervisor = await factory.user(role=Role.SUPERVISOR)
    ticket = await tickets.ticket(supervisor, await tickets.status())
    live = LiveSchema(factory.schema, settings, hub, QueueMonitor())
    stream = await live.subscribe(WATCHED, {"ticketId": str(ticket.pk)}, supervisor)
    release = asyncio.Event()
    published = asyncio.Event()

    async def hold_the_database() -> None:
        # when: a transaction holds the database while two events about the ticket go out, so the
        # stream's read of the ticket hangs and the second event waits in its queue
        async with in_transaction() as connection:
            if connection.capabilities.dialect == "postgres":
                await connection.execute_script("LOCK TABLE ticket IN ACCESS EXCLUSIVE MODE")
            events = [
                await record(connection, EventSpec(kind="TICKET_UPDATED", entity="ticket", entity_id=ticket.pk))
                for _ in range(2)
            ]
            await publish(hub.broadcast, events)
            published.set()
            await release.wait()

    holder = asyncio.create_task(hold_the_database())
    try:
        await asyncio.wait_for(published.wait(), 5)
        # then: the watchdog ends the stream with a typed error, while the database is still held
        item = (await stream.take(1, timeout=10))[0]["ticketUpdates"]
        assert item["__typename"] == "StreamError", item
        assert item["code"] == "INTERRUPTED"
        assert await stream.finished()
        assert hub.stalled == 1
        assert hub.listening == 0
    finally:
        release.set()
        await holder
        await live.close()


async def test_a_stream_that_keeps_up_is_never_taken_for_stalled(
    factory: Factory, settings: Settings, quick_watchdog_hub: EventHub
) -> None:
    # given: a stream, and events arriving steadily for several times the stall limit
    hub = quick_watchdog_hub
    tickets = TicketFactory(factory)
    supervisor = await factory.user(role=Role.SUPERVISOR)
    ticket = await tickets.ticket(supervisor, await tickets.status())
    live = LiveSchema(factory.schema, settings, hub, QueueMonitor())
    stream = await live.subscribe(WATCHED, {"ticketId": str(ticket.pk)}, supervisor)
    try:
        for _ in range(8):
            async with in_transaction() as connection:
                event = await record(
                    connection, EventSpec(kind="TICKET_UPDATED", entity="ticket", entity_id=ticket.pk)
                )
            await publish(hub.broadcast, [event])
            # then: each arrives, and none ends the stream
            item = (await stream.take(1))[0]["ticketUpdates"]
            assert item["__typename"] == "TicketEvent", item
            await asyncio.sleep(0.25)
        assert hub.stalled == 0
    finally:
        await live.close()


COMPANY_UPDATES = """
subscription Wallboard($after: String) {
  ticketUpdates(after: $after) {
    __typename
    ... on TicketEvent { cursor ticket { number company { name } } }
    ... on StreamError { code message }
  }
}
"""


@pytest.fixture(scope="module")
def stalling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    if not PG_ADMIN_URL:
        pytest.skip("holds a table lock from another connection: the PostgreSQL pass")
    database = unique_database_name()
    create_migrated_database(database)
    env = {"DATABASE_URL": _pg_url(database), "STREAM_STALL_SECONDS": "1", "MUTATIONS_PER_MINUTE": "0"}
    live = LiveServer(tmp_path_factory.mktemp("stalling"), env)
    live.start(timeout=120)
    try:
        yield live, _pg_url(database)
    finally:
        live.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def test_shared_and_unshared_streams_that_stall_end_with_interrupted(
    stalling_server: tuple[LiveServer, str],
) -> None:
    # given: a supervisor's shared stream and a resumed (unshared) one, both reading each event's company
    server, database_url = stalling_server
    supervisor = server.login("supervisor@contato.dev")
    edges = server.graphql(TICKETS, token=supervisor).json()["data"]["tickets"]["edges"]
    ticket = next(edge["node"] for edge in edges if edge["node"]["company"]["name"] == "Acme Telecom")
    socket = await connect(server, supervisor)
    try:
        await subscribe(socket, "shared", query=COMPANY_UPDATES)
        await until_metric(server, "contato_graphql_subscriptions_active", 1)
        await asyncio.to_thread(post, server, supervisor, ticket["id"], "warm-up")
        cursor = (await messages(socket, 1))["shared"][0]["payload"]["data"]["ticketUpdates"]["cursor"]
        await subscribe(socket, "own", after=cursor, query=COMPANY_UPDATES)
        await until_metric(server, "contato_graphql_subscriptions_active", 2)
        # when: the company table is held by another transaction while two events go out
        connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            transaction = connection.transaction()
            await transaction.start()
            await connection.execute("LOCK TABLE company IN ACCESS EXCLUSIVE MODE")
            for body in ("first", "second"):
                await asyncio.to_thread(post, server, supervisor, ticket["id"], body)
            # then: each stream ends with INTERRUPTED, then complete, while the lock is still held
            got = await messages(socket, 4)
        finally:
            await transaction.rollback()
            await connection.close()
        for operation_id in ("shared", "own"):
            last, end = got[operation_id]
            assert last["type"] == "next", got
            item = last["payload"]["data"]["ticketUpdates"]
            assert (item["__typename"], item["code"]) == ("StreamError", "INTERRUPTED"), got
            assert end["type"] == "complete", got
    finally:
        await socket.close()
