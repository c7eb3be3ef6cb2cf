"""Live ticket counts (`ticketCountsUpdates`, issue 15) through a real uvicorn and real WebSocket clients:
a ticket change pushes the changed counts to whoever sees that ticket, computed once per visibility
scope however many subscribe, and a revoked subscriber stops receiving."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import served
from tests.realtime.test_shared_streams import graphql, metric, until_metric
from tests.servers import LiveServer
from tests.ws_client import WsClient

COUNTS = """
subscription Counts {
  ticketCountsUpdates(groupBy: [ASSIGNEE], filter: {state: OPEN}) {
    __typename
    ... on TicketCounts { cursor groups { count assignee { id } } }
    ... on StreamError { code message }
  }
}
"""
# Another document for the same counts: its own shared stream, the same computation per event.
COUNTS_AGAIN = """
subscription CountsForTiles {
  ticketCountsUpdates(groupBy: [ASSIGNEE], filter: {state: OPEN}) {
    ... on TicketCounts { cursor groups { count assignee { name } } }
    ... on StreamError { code }
  }
}
"""
TICKETS = "{ tickets(first: 50, filter: {state: OPEN}) { edges { node { id company { id name } assignee { id } } } } }"
ASSIGN = """
mutation($ticketId: ID!, $assigneeId: ID) {
  ticketAssign(ticketId: $ticketId, assigneeId: $assigneeId, notifyCustomer: false) {
    __typename ... on TicketError { code message }
  }
}
"""
USER_CREATE = "mutation($input: UserCreateInput!) { userCreate(input: $input) { __typename ... on User { id } } }"
USER_DEACTIVATE = "mutation($id: ID!) { userDeactivate(id: $id) { __typename } }"
COMPUTED = "contato_ticket_counts_computed_total"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with served(tmp_path_factory.mktemp("live-counts"), {}) as live:
        yield live


def new_rep(server: LiveServer, admin: str, company_id: str) -> tuple[str, str]:
    email = f"rep-{uuid.uuid4().hex[:8]}@acme.dev"
    created = graphql(server, USER_CREATE, admin, input={
        "name": "Second Acme rep", "email": email, "password": "contato-demo", "role": "COMPANY_REP",
        "companyId": company_id,
    })["userCreate"]
    assert created["__typename"] == "User", created
    return created["id"], server.login(email)


def acme_ticket(server: LiveServer, token: str) -> dict[str, Any]:
    edges = graphql(server, TICKETS, token)["tickets"]["edges"]
    return next(edge["node"] for edge in edges if edge["node"]["company"]["name"] == "Acme Telecom")


def assign(server: LiveServer, token: str, ticket_id: str, assignee_id: str | None) -> None:
    answer = graphql(server, ASSIGN, token, ticketId=ticket_id, assigneeId=assignee_id)
    assert answer["ticketAssign"]["__typename"] == "Ticket", answer


def by_assignee(item: dict[str, Any]) -> dict[str | None, int]:
    counts = item["ticketCountsUpdates"]
    assert counts["__typename"] == "TicketCounts", counts
    return {(group["assignee"] or {}).get("id"): group["count"] for group in counts["groups"]}


async def test_a_change_pushes_new_counts_to_whoever_sees_the_ticket_computed_once_per_scope(
    server: LiveServer,
) -> None:
    # given: two Acme reps, a Globex rep, a supervisor and an admin, and a second supervisor connection
    # on another document for the same counts
    admin, supervisor = server.login("admin@contato.dev"), server.login("supervisor@contato.dev")
    agent_id = graphql(server, "{ me { id } }", server.login("agent@contato.dev"))["me"]["id"]
    ticket = acme_ticket(server, supervisor)
    assign(server, supervisor, ticket["id"], None)
    _, second_rep = new_rep(server, admin, ticket["company"]["id"])
    tokens = {
        "acme": server.login("rep@acme.dev"), "acme 2": second_rep, "globex": server.login("rep@globex.dev"),
        "supervisor": supervisor, "admin": admin,
    }
    clients = {name: WsClient(server.ws_url, token) for name, token in tokens.items()}
    tiles = WsClient(server.ws_url, supervisor)
    async with clients["acme"], clients["acme 2"], clients["globex"], clients["supervisor"], clients["admin"], tiles:
        # each gets the counts at once, and is registered then; the second Acme rep joins Acme's shared
        # stream after its first counts went out, and gets them too
        operations, before = {}, {}
        for name, client in clients.items():
            operations[name] = await client.subscribe(COUNTS)
            before[name] = by_assignee(await client.next(operations[name]))
        tiles_id = await tiles.subscribe(COUNTS_AGAIN)
        assert (await tiles.next(tiles_id))["ticketCountsUpdates"]["cursor"] is None
        assert before["acme"] == before["acme 2"] and before["supervisor"] == before["admin"]
        assert sum(before["supervisor"].values()) > sum(before["acme"].values()) > 0
        await until_metric(server, "contato_graphql_subscriptions_active", 6)
        computed = await asyncio.to_thread(metric, server, COMPUTED)
        # when: Acme's ticket is assigned to the agent
        await asyncio.to_thread(assign, server, supervisor, ticket["id"], agent_id)
        # then: Acme's reps, the supervisor and the admin get the new counts, with the event's cursor
        for name in ("acme", "acme 2", "supervisor", "admin"):
            item = await clients[name].next(operations[name])
            assert item["ticketCountsUpdates"]["cursor"] is not None
            after = by_assignee(item)
            assert after.get(agent_id, 0) == before[name].get(agent_id, 0) + 1, name
            assert after.get(None, 0) == before[name].get(None, 0) - 1, name
        assert (await tiles.next(tiles_id))["ticketCountsUpdates"]["cursor"] is not None
        # Globex's rep gets nothing
        assert await clients["globex"].quiet(operations["globex"], 0.5) == []
        # and the counts were computed once for Acme's scope and once for staff's, for six subscribers
        assert await asyncio.to_thread(metric, server, COMPUTED) == computed + 2
        # when: a change that moves no count the subscribers see (the same assignee again)
        await asyncio.to_thread(assign, server, supervisor, ticket["id"], agent_id)
        # then: nothing is pushed
        assert await clients["supervisor"].quiet(operations["supervisor"], 0.5) == []
        assert await clients["acme"].quiet(operations["acme"], 0.1) == []


async def test_a_revoked_subscriber_stops_receiving_and_the_others_go_on(server: LiveServer) -> None:
    # given: two Acme reps on the same counts
    admin, supervisor = server.login("admin@contato.dev"), server.login("supervisor@contato.dev")
    agent_id = graphql(server, "{ me { id } }", server.login("agent@contato.dev"))["me"]["id"]
    ticket = acme_ticket(server, supervisor)
    assign(server, supervisor, ticket["id"], None)
    leaving_id, leaving = new_rep(server, admin, ticket["company"]["id"])
    async with WsClient(server.ws_url, server.login("rep@acme.dev")) as stays, \
            WsClient(server.ws_url, leaving) as goes:
        stays_id, goes_id = await stays.subscribe(COUNTS), await goes.subscribe(COUNTS)
        by_assignee(await stays.next(stays_id))
        by_assignee(await goes.next(goes_id))
        # when: one is deactivated, then a ticket of theirs changes
        graphql(server, USER_DEACTIVATE, admin, id=leaving_id)
        await asyncio.to_thread(assign, server, supervisor, ticket["id"], agent_id)
        # then: the other gets the counts; the deactivated one gets no counts again
        assert by_assignee(await stays.next(stays_id)).get(agent_id, 0) >= 1
        try:
            item = await goes.next(goes_id)
        except AssertionError:  # the socket was closed (4403) with the stream
            item = None
        if item is not None:
            ended = item["ticketCountsUpdates"]
            assert (ended["__typename"], ended["code"]) == ("StreamError", "ACCESS_REVOKED")
        assert await goes.quiet(goes_id, 0.3) == []


async def test_a_filter_the_counts_refuse_ends_the_stream_with_invalid(server: LiveServer) -> None:
    # given
    async with WsClient(server.ws_url, server.login("supervisor@contato.dev")) as client:
        # when: a text past the search cap
        operation = await client.subscribe(
            "subscription($text: String) { ticketCountsUpdates(groupBy: [STATE], filter: {text: $text}) {"
            " ... on StreamError { code field } } }",
            {"text": "x" * 201},
        )
        # then
        assert (await client.next(operation))["ticketCountsUpdates"] == {"code": "INVALID", "field": "filter"}
