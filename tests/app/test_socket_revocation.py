"""An open WebSocket keeps no rights of its own (contato/socket_access.py).

Through real uvicorn and clients speaking graphql-transport-ws by hand. On the PostgreSQL pass the
server runs two workers on PostgreSQL and a real redis-server, and each user holds several sockets,
so that the change (made over HTTP, on whichever worker answers) must reach sockets on the other
worker through the broadcast. On the SQLite pass: one process on the embedded defaults.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

from contato.settings import DEV_SECRET_KEY
from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.servers import LiveServer, RedisServer, redis_binary, unique_database_name

SOCKETS_PER_USER = 4  # with two workers, a user's sockets land on both (the kernel spreads them)

UPDATES = """
subscription Updates { ticketUpdates {
  __typename ... on TicketEvent { cursor newMessage { body } } ... on StreamError { code message } } }
"""
DUE = """
subscription Due { callbackDue {
  __typename ... on CallbackAlert { cursor } ... on StreamError { code message } } }
"""
ME = "query Me { me { role } }"
CAMPAIGN_CREATE = """
mutation Create($input: CampaignCreateInput!) {
  campaignCreate(input: $input) { __typename ... on CampaignError { code } }
}
"""
USER_CREATE = "mutation($input: UserCreateInput!) { userCreate(input: $input) { __typename ... on User { id } } }"
USER_UPDATE = "mutation($id: ID!, $input: UserUpdateInput!) { userUpdate(id: $id, input: $input) { __typename } }"
USER_DEACTIVATE = "mutation($id: ID!) { userDeactivate(id: $id) { __typename } }"
ADD = """
mutation($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
TICKETS = "{ tickets(first: 1, filter: {state: OPEN}) { edges { node { id } } } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    directory: Path = tmp_path_factory.mktemp("revocation")
    if not PG_ADMIN_URL:
        live = LiveServer(directory, {"MUTATIONS_PER_MINUTE": "0"})
        live.start(timeout=120)
        try:
            yield live
        finally:
            live.stop()
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
    live = LiveServer(
        directory, {"DATABASE_URL": _pg_url(database), "BROADCAST_URL": redis.url, "MUTATIONS_PER_MINUTE": "0"}
    )
    try:
        live.start("--workers", "2", timeout=120)
        yield live
    finally:
        live.stop()
        redis.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


class Socket:
    """One graphql-transport-ws connection: messages by operation id, and how it closed."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server, self.token = server, token
        self.inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}
        self.closed: asyncio.Future[tuple[int | None, str]] = asyncio.get_running_loop().create_future()

    async def open(self) -> Socket:
        self.socket = await websockets.connect(self.server.ws_url, subprotocols=["graphql-transport-ws"])
        await self.socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": self.token}}))
        assert json.loads(await self.socket.recv())["type"] == "connection_ack"
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                message = json.loads(raw)
                if "id" in message:
                    self.queue(message["id"]).put_nowait(message)
        except ConnectionClosed:
            pass
        finally:
            if not self.closed.done():
                self.closed.set_result((self.socket.close_code, self.socket.close_reason or ""))

    def queue(self, operation_id: str) -> asyncio.Queue[dict[str, Any]]:
        return self.inbox.setdefault(operation_id, asyncio.Queue())

    async def send(self, operation_id: str, query: str, variables: dict[str, Any] | None = None) -> None:
        self.queue(operation_id)
        payload = {"query": query, "variables": variables or {}}
        await self.socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))

    async def take(self, operation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.queue(operation_id).get(), timeout)

    async def ask(self, operation_id: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        await self.send(operation_id, query, variables)
        answer = await self.take(operation_id)
        assert answer["type"] == "next", answer
        assert (await self.take(operation_id))["type"] == "complete"
        return dict(answer["payload"])

    async def close(self) -> None:
        await self.socket.close()
        await self.reader


def graphql(server: LiveServer, query: str, token: str, **variables: Any) -> dict[str, Any]:
    body = server.graphql(query, variables, token=token).json()
    assert "errors" not in body, body
    return dict(body["data"])


def new_supervisor(server: LiveServer, admin: str) -> tuple[str, str]:
    email = f"socket-{uuid.uuid4().hex[:8]}@contato.dev"
    created = graphql(server, USER_CREATE, admin, input={
        "name": "Floor supervisor", "email": email, "password": "contato-demo", "role": "SUPERVISOR",
    })["userCreate"]
    assert created["__typename"] == "User", created
    return created["id"], server.login(email)


async def subscribed_sockets(server: LiveServer, token: str, supervisor: str) -> list[Socket]:
    """Sockets each with an idle stream (callbackDue) and a ticket stream proven live by an event."""
    sockets = [await Socket(server, token).open() for _ in range(SOCKETS_PER_USER)]
    for socket in sockets:
        await socket.send("due", DUE)
        await socket.send("updates", UPDATES)
    ticket = graphql(server, TICKETS, supervisor)["tickets"]["edges"][0]["node"]
    body = f"warm-up {uuid.uuid4().hex[:6]}"
    answer = await asyncio.to_thread(graphql, server, ADD, supervisor, input={
        "ticketId": ticket["id"], "body": body, "internal": False, "notifyCustomer": False,
    })
    assert answer["ticketMessageAdd"]["__typename"] == "TicketMessage", answer
    for socket in sockets:
        event = (await socket.take("updates"))["payload"]["data"]["ticketUpdates"]
        assert event["newMessage"]["body"] == body, event
    return sockets


async def stream_ends_with(socket: Socket, operation_id: str, field: str, code: str) -> None:
    last = await socket.take(operation_id, timeout=5.0)
    assert last["type"] == "next", last
    item = last["payload"]["data"][field]
    assert (item["__typename"], item["code"]) == ("StreamError", code), item
    assert (await socket.take(operation_id, timeout=5.0))["type"] == "complete"


async def test_a_demoted_supervisor_loses_the_rights_at_once_on_every_open_socket(server: LiveServer) -> None:
    # given: a supervisor with streams open on several sockets
    admin = server.login("admin@contato.dev")
    user_id, token = new_supervisor(server, admin)
    sockets = await subscribed_sockets(server, token, admin)
    try:
        # when: an admin demotes them over HTTP (any worker)
        graphql(server, USER_UPDATE, admin, id=user_id, input={"role": "AGENT"})
        # then: every stream ends at once, idle ones included, with no other event needed
        for socket in sockets:
            await stream_ends_with(socket, "updates", "ticketUpdates", "ACCESS_REVOKED")
            await stream_ends_with(socket, "due", "callbackDue", "ACCESS_REVOKED")
        # and the same sockets stay open, with an agent's rights for whatever they send next
        for number, socket in enumerate(sockets):
            assert (await socket.ask(f"me-{number}", ME))["data"]["me"]["role"] == "AGENT"
            created = await socket.ask(f"create-{number}", CAMPAIGN_CREATE, {
                "input": {"name": f"Not yours {number}", "startDate": "2026-12-01"},
            })
            assert created["data"]["campaignCreate"] == {"__typename": "CampaignError", "code": "FORBIDDEN"}
            assert not socket.closed.done()
    finally:
        for socket in sockets:
            await socket.close()


@pytest.mark.parametrize("change", ["deactivate", "password"])
async def test_revoking_a_user_ends_their_streams_and_closes_their_sockets_on_every_worker(
    server: LiveServer, change: str
) -> None:
    # given
    admin = server.login("admin@contato.dev")
    user_id, token = new_supervisor(server, admin)
    sockets = await subscribed_sockets(server, token, admin)
    # when
    if change == "deactivate":
        graphql(server, USER_DEACTIVATE, admin, id=user_id)
    else:
        graphql(server, USER_UPDATE, admin, id=user_id, input={"password": "another-secret-123"})
    # then: each stream's last item says why, then every socket closes with 4403
    for socket in sockets:
        await stream_ends_with(socket, "updates", "ticketUpdates", "ACCESS_REVOKED")
        await stream_ends_with(socket, "due", "callbackDue", "ACCESS_REVOKED")
        code, reason = await asyncio.wait_for(socket.closed, 5.0)
        assert code == 4403
        assert reason.startswith("ACCESS_REVOKED")


async def test_an_operation_sent_after_a_revocation_never_runs(server: LiveServer) -> None:
    # given: a socket with no stream on it, whose user is then deactivated
    admin = server.login("admin@contato.dev")
    user_id, token = new_supervisor(server, admin)
    socket = await Socket(server, token).open()
    graphql(server, USER_DEACTIVATE, admin, id=user_id)
    # when: it sends a mutation (whether or not the change has reached its worker yet)
    await socket.send("create", CAMPAIGN_CREATE, {"input": {"name": "Too late", "startDate": "2026-12-01"}})
    # then: the socket closes with 4403 and the campaign does not exist
    code, reason = await asyncio.wait_for(socket.closed, 5.0)
    assert (code, reason.split(":")[0]) == (4403, "ACCESS_REVOKED")
    assert socket.queue("create").empty()
    campaigns = graphql(server, "{ campaigns(first: 100) { edges { node { name } } } }", admin)
    assert "Too late" not in [edge["node"]["name"] for edge in campaigns["campaigns"]["edges"]]


async def test_a_token_that_expires_closes_the_socket_at_its_expiry(server: LiveServer) -> None:
    # given: a socket whose token expires in three seconds, with an idle stream
    admin = server.login("admin@contato.dev")
    user_id, _ = new_supervisor(server, admin)
    expires = time.time() + 3
    token = jwt.encode({"sub": user_id, "ver": 0, "iat": int(time.time()), "exp": int(expires)},
                       DEV_SECRET_KEY, algorithm="HS256")
    socket = await Socket(server, token).open()
    await socket.send("due", DUE)
    # then: at the expiry, with nothing sent by anyone, the stream ends and the socket closes
    await stream_ends_with(socket, "due", "callbackDue", "TOKEN_EXPIRED")
    code, reason = await asyncio.wait_for(socket.closed, 5.0)
    assert time.time() >= int(expires) - 0.05
    assert code == 4403
    assert reason.startswith("TOKEN_EXPIRED")
