"""Presence through real servers: an agent's sockets, their heartbeat rows, and the sweeper.

On the PostgreSQL pass: `contato serve --workers 2` on PostgreSQL with a real redis-server, short
presence timings (heartbeat 1 s, TTL 3 s, grace 2 s); a socket closing and a worker killed with
SIGKILL. On the SQLite pass: one process, the closing socket only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import websockets

from tests.conftest import PG_ADMIN_URL, _pg_admin, _pg_url, create_migrated_database
from tests.servers import LiveServer, RedisServer, redis_binary, unique_database_name

TIMINGS = {"PRESENCE_HEARTBEAT_SECONDS": "1", "PRESENCE_TTL_SECONDS": "3", "PRESENCE_GRACE_SECONDS": "2"}
USER_CREATE = "mutation($input: UserCreateInput!) { userCreate(input: $input) { __typename ... on User { id } } }"
CAMPAIGN_CREATE = """
mutation($input: CampaignCreateInput!) { campaignCreate(input: $input) { __typename ... on Campaign { id } } }
"""
AGENTS_SET = "mutation($id: ID!, $agents: [ID!]!) { campaignAgentsSet(id: $id, agentIds: $agents) { __typename } }"
READY = "mutation { agentStateSet(state: READY) { __typename ... on AgentStatus { state } } }"
FLOOR = """
query($c: ID!) { agentStates(campaignId: $c) {
  __typename ... on AgentFloor { agents { agent { id } state } } ... on AgentStateError { code } } }
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str | None]]:
    directory: Path = tmp_path_factory.mktemp("presence")
    if not PG_ADMIN_URL:
        live = LiveServer(directory, {"MUTATIONS_PER_MINUTE": "0", **TIMINGS})
        live.start(timeout=120)
        try:
            yield live, None
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
    live = LiveServer(directory, {
        "DATABASE_URL": _pg_url(database), "BROADCAST_URL": redis.url, "MUTATIONS_PER_MINUTE": "0", **TIMINGS,
    })
    try:
        live.start("--workers", "2", timeout=120)
        yield live, _pg_url(database)
    finally:
        live.stop()
        redis.stop()
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


def graphql(server: LiveServer, query: str, token: str, **variables: Any) -> dict[str, Any]:
    body = server.graphql(query, variables, token=token).json()
    assert "errors" not in body, body
    return dict(body["data"])


def ready_agent(server: LiveServer) -> tuple[str, str, str, str]:
    """A new agent, READY, on a new campaign: (agent id, agent token, campaign id, supervisor token)."""
    admin = server.login("admin@contato.dev")
    email = f"floor-{uuid.uuid4().hex[:8]}@contato.dev"
    agent = graphql(server, USER_CREATE, admin, input={
        "name": "Floor agent", "email": email, "password": "contato-demo", "role": "AGENT",
    })["userCreate"]["id"]
    campaign = graphql(server, CAMPAIGN_CREATE, admin, input={
        "name": f"Floor {uuid.uuid4().hex[:6]}", "startDate": "2026-01-01",
    })["campaignCreate"]["id"]
    assert graphql(server, AGENTS_SET, admin, id=campaign, agents=[agent])["campaignAgentsSet"]["__typename"] == "Campaign"
    token = server.login(email)
    assert graphql(server, READY, token)["agentStateSet"] == {"__typename": "AgentStatus", "state": "READY"}
    return agent, token, campaign, server.login("supervisor@contato.dev")


def floor_state(server: LiveServer, supervisor: str, campaign: str) -> str:
    agents = graphql(server, FLOOR, supervisor, c=campaign)["agentStates"]["agents"]
    return str(agents[0]["state"])


async def open_socket(server: LiveServer, token: str) -> Any:
    socket = await websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"])
    await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    return socket


async def wait_for_state(server: LiveServer, supervisor: str, campaign: str, wanted: str, within: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        if await asyncio.to_thread(floor_state, server, supervisor, campaign) == wanted:
            return time.monotonic() - started
        await asyncio.sleep(0.2)
    raise AssertionError(f"the agent was not {wanted} within {within} s")


async def seen_by_every_worker(server: LiveServer, supervisor: str, campaign: str, wanted: str) -> None:
    # Each request on its own connection: the kernel spreads them over both workers.
    for _ in range(8):
        assert await asyncio.to_thread(floor_state, server, supervisor, campaign) == wanted


async def test_the_last_socket_closing_makes_the_agent_offline_after_the_grace(
    server: tuple[LiveServer, str | None],
) -> None:
    live, _ = server
    # given: a READY agent with one socket open
    _, token, campaign, supervisor = await asyncio.to_thread(ready_agent, live)
    socket = await open_socket(live, token)
    await asyncio.sleep(1.5)  # past a heartbeat: the row is kept alive while the socket is open
    assert await asyncio.to_thread(floor_state, live, supervisor, campaign) == "READY"
    # when
    await socket.close()
    # then: READY through the grace, OFFLINE after it, on every worker
    assert await asyncio.to_thread(floor_state, live, supervisor, campaign) == "READY"
    waited = await wait_for_state(live, supervisor, campaign, "OFFLINE", within=10.0)
    assert waited >= 1.0  # not before the grace (2 s from the close, less the requests' own time)
    await seen_by_every_worker(live, supervisor, campaign, "OFFLINE")


async def test_a_worker_killed_with_sigkill_loses_its_agents(server: tuple[LiveServer, str | None]) -> None:
    live, database = server
    if database is None:
        pytest.skip("one process on SQLite: the PostgreSQL pass kills one of two workers")
    # given: a READY agent with a socket, whose row names the worker holding it
    agent, token, campaign, supervisor = await asyncio.to_thread(ready_agent, live)
    socket = await open_socket(live, token)
    connection = await asyncpg.connect(database.replace("postgres://", "postgresql://", 1))
    try:
        worker = await connection.fetchval("SELECT worker FROM agent_socket WHERE user_id = $1", int(agent))
    finally:
        await connection.close()
    pid = int(worker.split("-", 1)[0])
    # when: that worker dies without a word (uvicorn starts another)
    os.kill(pid, signal.SIGKILL)
    # then: with no close recorded, the row outlives its TTL, and the agent goes OFFLINE after the grace
    await wait_for_state(live, supervisor, campaign, "OFFLINE", within=20.0)
    await seen_by_every_worker(live, supervisor, campaign, "OFFLINE")
    await socket.close()
