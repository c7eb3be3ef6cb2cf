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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url
from tests.realtime.test_shared_streams import until_metric
from tests.servers import LiveServer, unique_database_name

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
    directory: Path = tmp_path_factory.mktemp("resilience")
    env: dict[str, str] = {"MUTATIONS_PER_MINUTE": "0"}
    database = None
    if PG_ADMIN_URL:
        database = unique_database_name()
        asyncio.run(_pg_admin(f'CREATE DATABASE "{database}"'))
        env["DATABASE_URL"] = _pg_url(database)
    live = LiveServer(directory, env)
    live.start(timeout=120)
    try:
        yield live
    finally:
        live.stop()
        if database:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


async def connect(server: LiveServer, token: str) -> Any:
    socket = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def subscribe(socket: Any, operation_id: str, after: str | None = None) -> None:
    payload = {"query": UPDATES, "operationName": "Wallboard", "variables": {"after": after}}
    await socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))


async def next_update(socket: Any, timeout: float = 10.0) -> dict[str, Any]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message.get("type") == "next":
            return dict(message["payload"]["data"]["ticketUpdates"])
        assert message.get("type") in ("ping", "pong"), message


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
