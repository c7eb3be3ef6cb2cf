"""Shared live streams (contato/shared_streams.py) through a real uvicorn and real WebSocket clients.

Subscribers that ask the same stream in the same access scope share one execution of it; each is
still checked on its own, and ends alone when its own access changes.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any, Self

import httpx
import jwt
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from contato.settings import DEV_SECRET_KEY
from tests.conftest import served
from tests.servers import LiveServer

UPDATES = """
subscription Wallboard($ticketId: ID, $after: String) {
  ticketUpdates(ticketId: $ticketId, after: $after) {
    __typename
    ... on TicketEvent { cursor ticket { number } newMessage { body } }
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
USER_CREATE = """
mutation($input: UserCreateInput!) { userCreate(input: $input) { __typename ... on User { id } } }
"""
USER_UPDATE = """
mutation($id: ID!, $input: UserUpdateInput!) { userUpdate(id: $id, input: $input) { __typename } }
"""
USER_DEACTIVATE = "mutation($id: ID!) { userDeactivate(id: $id) { __typename } }"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("shared"), {}) as live:
        yield live


class Socket:
    """One graphql-transport-ws connection, spoken by hand so that a test controls every id."""

    def __init__(self, server: LiveServer, token: str) -> None:
        self.server, self.token = server, token
        self.inbox: dict[str, asyncio.Queue[dict[str, Any]]] = {}

    async def __aenter__(self) -> Self:
        self.socket = await websockets.connect(self.server.ws_url, subprotocols=["graphql-transport-ws"])
        await self.socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": self.token}}))
        assert json.loads(await self.socket.recv())["type"] == "connection_ack"
        self.reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        await self.socket.close()

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if "id" in message:
                self.inbox.setdefault(message["id"], asyncio.Queue()).put_nowait(message)

    async def subscribe(self, operation_id: str, variables: dict[str, Any] | None = None) -> None:
        self.inbox.setdefault(operation_id, asyncio.Queue())
        payload = {"query": UPDATES, "operationName": "Wallboard", "variables": variables or {}}
        await self.socket.send(json.dumps({"id": operation_id, "type": "subscribe", "payload": payload}))

    async def complete(self, operation_id: str) -> None:
        await self.socket.send(json.dumps({"id": operation_id, "type": "complete"}))

    async def next(self, operation_id: str, timeout: float = 10.0) -> dict[str, Any]:
        message = await asyncio.wait_for(self.inbox[operation_id].get(), timeout)
        assert message["type"] == "next", message
        return dict(message["payload"]["data"]["ticketUpdates"])

    async def completed(self, operation_id: str, timeout: float = 10.0) -> bool:
        message = await asyncio.wait_for(self.inbox[operation_id].get(), timeout)
        return bool(message["type"] == "complete")

    async def quiet(self, operation_id: str, wait: float = 1.0) -> list[dict[str, Any]]:
        await asyncio.sleep(wait)
        queue = self.inbox[operation_id]
        return [queue.get_nowait() for _ in range(queue.qsize())]


def graphql(server: LiveServer, query: str, token: str, **variables: Any) -> dict[str, Any]:
    response = server.graphql(query, variables, token=token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


def metric(server: LiveServer, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and not sample.labels
    )


async def until_metric(server: LiveServer, name: str, expected: float, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while (current := await asyncio.to_thread(metric, server, name)) != expected:
        assert time.monotonic() < deadline, f"{name} stayed at {current}, expected {expected}"
        await asyncio.sleep(0.05)


def open_ticket(server: LiveServer, token: str, company: str) -> dict[str, Any]:
    edges = graphql(server, TICKETS, token)["tickets"]["edges"]
    return next(edge["node"] for edge in edges if edge["node"]["company"]["name"] == company)


def add(server: LiveServer, token: str, ticket: dict[str, Any], body: str, internal: bool = False) -> None:
    variables = {"ticketId": ticket["id"], "body": body, "internal": internal, "notifyCustomer": False}
    answer = graphql(server, ADD, token, input=variables)
    assert answer["ticketMessageAdd"]["__typename"] == "TicketMessage", answer


def new_supervisor(server: LiveServer, admin: str) -> tuple[str, str]:
    email = f"wall-{uuid.uuid4().hex[:8]}@contato.dev"
    created = graphql(server, USER_CREATE, admin, input={
        "name": "Wallboard", "email": email, "password": "contato-demo", "role": "SUPERVISOR",
    })["userCreate"]
    assert created["__typename"] == "User", created
    return created["id"], server.login(email)


async def test_subscribers_asking_the_same_share_one_stream_and_each_gets_every_event(server: LiveServer) -> None:
    # given: two supervisors' connections, one of them subscribed twice, and an Acme rep, same document
    supervisor = server.login("supervisor@contato.dev")
    ticket = open_ticket(server, supervisor, "Acme Telecom")
    async with Socket(server, supervisor) as a, Socket(server, supervisor) as b, \
            Socket(server, server.login("rep@acme.dev")) as rep:
        await a.subscribe("1")
        await a.subscribe("2")
        await b.subscribe("x")
        await until_metric(server, "contato_graphql_subscriptions_active", 3)
        # then: one execution for the three supervisors' subscriptions
        assert await asyncio.to_thread(metric, server, "contato_shared_streams_active") == 1
        await rep.subscribe("r")
        await until_metric(server, "contato_graphql_subscriptions_active", 4)
        assert await asyncio.to_thread(metric, server, "contato_shared_streams_active") == 2  # another scope
        # when
        await asyncio.to_thread(add, server, supervisor, ticket, "to everyone")
        # then: each subscription gets it, under its own id
        for socket, operation_id in ((a, "1"), (a, "2"), (b, "x"), (rep, "r")):
            update = await socket.next(operation_id)
            assert update["__typename"] == "TicketEvent"
            assert update["newMessage"]["body"] == "to everyone"
        # when one of them leaves, the others go on
        await a.complete("2")
        await until_metric(server, "contato_graphql_subscriptions_active", 3)
        await asyncio.to_thread(add, server, supervisor, ticket, "after one left")
        assert (await a.next("1"))["newMessage"]["body"] == "after one left"
        assert (await b.next("x"))["newMessage"]["body"] == "after one left"
        assert await a.quiet("2", 0.3) == []
    # and when everyone has left, no stream runs any more
    await until_metric(server, "contato_shared_streams_active", 0)
    await until_metric(server, "contato_graphql_subscriptions_active", 0)


async def test_reps_of_two_companies_on_the_same_document_see_only_their_own(server: LiveServer) -> None:
    # given
    supervisor = server.login("supervisor@contato.dev")
    acme_ticket = open_ticket(server, supervisor, "Acme Telecom")
    globex_ticket = open_ticket(server, supervisor, "Globex Seguros")
    async with Socket(server, server.login("rep@acme.dev")) as acme, \
            Socket(server, server.login("rep@globex.dev")) as globex, Socket(server, supervisor) as staff:
        for socket in (acme, globex, staff):
            await socket.subscribe("1")
        await until_metric(server, "contato_shared_streams_active", 3)
        # when: a reply and an internal note on Acme's ticket, then a reply on Globex's
        await asyncio.to_thread(add, server, supervisor, acme_ticket, "for acme")
        await asyncio.to_thread(add, server, supervisor, acme_ticket, "internal", True)
        await asyncio.to_thread(add, server, supervisor, globex_ticket, "for globex")
        # then
        assert [(await staff.next("1"))["newMessage"]["body"] for _ in range(3)] == [
            "for acme", "internal", "for globex"
        ]
        assert (await acme.next("1"))["newMessage"]["body"] == "for acme"
        assert (await globex.next("1"))["newMessage"]["body"] == "for globex"
        assert await acme.quiet("1", 0.5) == [] and await globex.quiet("1", 0.1) == []


async def test_a_member_whose_access_changes_ends_alone(server: LiveServer) -> None:
    # given: three supervisors on one shared stream
    admin = server.login("admin@contato.dev")
    supervisor = server.login("supervisor@contato.dev")
    ticket = open_ticket(server, supervisor, "Acme Telecom")
    leaving_id, leaving = new_supervisor(server, admin)
    demoted_id, demoted = new_supervisor(server, admin)
    async with Socket(server, supervisor) as stays, Socket(server, leaving) as left, \
            Socket(server, demoted) as moved:
        for socket in (stays, left, moved):
            await socket.subscribe("1")
        await until_metric(server, "contato_graphql_subscriptions_active", 3)
        assert await asyncio.to_thread(metric, server, "contato_shared_streams_active") == 1
        # when: one is deactivated, another becomes an agent, then a message arrives
        graphql(server, USER_DEACTIVATE, admin, id=leaving_id)
        graphql(server, USER_UPDATE, admin, id=demoted_id, input={"role": "AGENT"})
        await asyncio.to_thread(add, server, supervisor, ticket, "still here")
        # then: each of them ends with its own reason, the third gets the message
        ended = await left.next("1")
        assert (ended["__typename"], ended["code"]) == ("StreamError", "ACCESS_REVOKED")
        assert await left.completed("1")
        changed = await moved.next("1")
        assert (changed["__typename"], changed["code"]) == ("StreamError", "ACCESS_REVOKED")
        assert "changed" in changed["message"]
        assert await moved.completed("1")
        assert (await stays.next("1"))["newMessage"]["body"] == "still here"
        await asyncio.to_thread(add, server, supervisor, ticket, "and again")
        assert (await stays.next("1"))["newMessage"]["body"] == "and again"


async def test_a_member_whose_token_expires_ends_alone(server: LiveServer) -> None:
    # given: two connections of the same supervisor on one shared stream, one with a token that
    # expires in two seconds (the same user and token version, signed with the server's dev key)
    supervisor = server.login("supervisor@contato.dev")
    ticket = open_ticket(server, supervisor, "Acme Telecom")
    claims = jwt.decode(supervisor, options={"verify_signature": False})
    expires = time.time() + 2
    short = jwt.encode({**claims, "exp": int(expires)}, DEV_SECRET_KEY, algorithm="HS256")
    async with Socket(server, supervisor) as stays, Socket(server, short) as expiring:
        for socket in (stays, expiring):
            await socket.subscribe("1")
        await until_metric(server, "contato_graphql_subscriptions_active", 2)
        assert await asyncio.to_thread(metric, server, "contato_shared_streams_active") == 1
        await asyncio.to_thread(add, server, supervisor, ticket, "before")
        assert (await expiring.next("1"))["newMessage"]["body"] == "before"
        # when: the short token has expired and a message arrives
        await asyncio.sleep(max(0.0, int(expires) + 1 - time.time()))
        await asyncio.to_thread(add, server, supervisor, ticket, "after")
        # then: that member ends with TOKEN_EXPIRED, the other goes on
        ended = await expiring.next("1")
        assert (ended["__typename"], ended["code"]) == ("StreamError", "TOKEN_EXPIRED")
        assert await expiring.completed("1")
        assert [(await stays.next("1"))["newMessage"]["body"] for _ in range(2)] == ["before", "after"]


async def test_a_subscription_resuming_from_a_cursor_replays_on_its_own(server: LiveServer) -> None:
    # given: a shared stream and a message already sent
    supervisor = server.login("supervisor@contato.dev")
    ticket = open_ticket(server, supervisor, "Acme Telecom")
    async with Socket(server, supervisor) as live:
        await live.subscribe("1", {"ticketId": ticket["id"]})
        await until_metric(server, "contato_graphql_subscriptions_active", 1)
        await asyncio.to_thread(add, server, supervisor, ticket, "missed")
        cursor = (await live.next("1"))["cursor"]
        await asyncio.to_thread(add, server, supervisor, ticket, "after the cursor")
        assert (await live.next("1"))["newMessage"]["body"] == "after the cursor"
        # when: another subscriber resumes from the first message's cursor
        async with Socket(server, supervisor) as resumed:
            await resumed.subscribe("1", {"ticketId": ticket["id"], "after": str(int(cursor))})
            # then: it replays what it missed, then goes live, without joining the shared stream
            assert (await resumed.next("1"))["newMessage"]["body"] == "after the cursor"
            assert await asyncio.to_thread(metric, server, "contato_shared_streams_active") == 1
            await asyncio.to_thread(add, server, supervisor, ticket, "live")
            assert (await resumed.next("1"))["newMessage"]["body"] == "live"
            assert (await live.next("1"))["newMessage"]["body"] == "live"


async def test_a_stream_that_cannot_start_ends_every_member_with_its_error(server: LiveServer) -> None:
    supervisor = server.login("supervisor@contato.dev")
    async with Socket(server, supervisor) as a, Socket(server, supervisor) as b:
        await a.subscribe("1", {"ticketId": "999999"})
        await b.subscribe("1", {"ticketId": "999999"})
        for socket in (a, b):
            ended = await socket.next("1")
            assert (ended["__typename"], ended["code"]) == ("StreamError", "NOT_FOUND")
            assert await socket.completed("1")
    await until_metric(server, "contato_shared_streams_active", 0)


@pytest.mark.parametrize(
    ("query", "variables", "shared"),
    [
        ("subscription { ticketUpdates { __typename } }", None, True),
        ("subscription($t: ID) { ticketUpdates(ticketId: $t) { __typename } }", {"t": "4"}, True),
        ("subscription { ticketUpdates(after: null) { __typename } }", None, True),
        ("subscription($a: String) { ticketUpdates(after: $a) { __typename } }", {"a": None}, True),
        ("subscription($a: String) { ticketUpdates(after: $a) { __typename } }", {}, True),
        # resuming from a cursor replays what a late joiner of a group would miss
        ('subscription { ticketUpdates(after: "3") { __typename } }', None, False),
        ("subscription($a: String) { ticketUpdates(after: $a) { __typename } }", {"a": "3"}, False),
        ('subscription($a: String = "3") { ticketUpdates(after: $a) { __typename } }', {}, False),
        # the queue monitor sends each subscriber a first snapshot of its own
        ('subscription { queueUpdates(campaignId: "1") { __typename } }', None, False),
        ("subscription { ...F } fragment F on Subscription { ticketUpdates { __typename } }", None, False),
        ("subscription { ticketUpdates @skip(if: false) { __typename } }", None, False),
        ("query { me { id } }", None, False),
        ("subscription {", None, False),
        # a signed attachment link is made for its viewer (resolvers/signed_links.py)
        (
            "subscription { ticketUpdates { ... on TicketEvent { newMessage { attachments { downloadUrl } } } } }",
            None,
            False,
        ),
    ],
)
def test_which_subscriptions_may_share_a_stream(query: str, variables: dict[str, Any] | None, shared: bool) -> None:
    from contato.settings import Settings
    from contato.shared_streams import share_key
    from models.user import Role, User
    from resolvers.context import Context

    context = Context(settings=Settings(), user=User(id=7, role=Role.SUPERVISOR, company_id=None))
    assert (share_key(query, variables, None, context) is not None) is shared


def test_the_access_scope_is_part_of_the_key() -> None:
    from contato.settings import Settings
    from contato.shared_streams import share_key
    from models.user import Role
    from resolvers.context import Context

    def key(pk: int, role: Role, company_id: int | None = None) -> object:
        user = SimpleNamespace(pk=pk, id=pk, role=role, company_id=company_id)
        context = Context(settings=Settings(), user=user)  # type: ignore[arg-type]  # what share_key reads
        return share_key("subscription { ticketUpdates { __typename } }", {}, None, context)

    assert key(1, Role.SUPERVISOR) == key(2, Role.SUPERVISOR)
    assert key(1, Role.SUPERVISOR) != key(1, Role.ADMIN)
    assert key(3, Role.COMPANY_REP, 1) == key(4, Role.COMPANY_REP, 1)
    assert key(3, Role.COMPANY_REP, 1) != key(3, Role.COMPANY_REP, 2)
    assert key(5, Role.AGENT) != key(6, Role.AGENT)  # agents see their own tickets and the unassigned
