"""Presence: an agent's socket rows (contato/presence.py) and the sweeper that turns them OFFLINE
(realtime/floor.py), in process against the test database."""

from datetime import UTC, datetime, timedelta

from contato.presence import Presence
from models.floor import AgentSocket, AgentState, AgentStateChange
from models.user import Role
from realtime.alerts import run_once
from realtime.floor import floor_sources
from tests.factories import Factory
from tests.outbound_factories import make_ready

GRACE = 30
TTL = 15


async def test_an_agent_whose_last_socket_closed_goes_offline_after_the_grace(factory: Factory) -> None:
    # given: a READY agent with two sockets on two processes
    agent = await factory.user(Role.AGENT)
    await make_ready(agent)
    first, second = Presence(5, TTL), Presence(5, TTL)
    one, two = await first.opened(agent), await second.opened(agent)
    sources = floor_sources(GRACE)
    # when: one closes, the agent is still connected by the other
    await first.closed(one)
    now = datetime.now(UTC)
    assert await run_once(sources, None, now + timedelta(seconds=GRACE + 1)) == 0
    # then: the last one closes; READY through the grace, OFFLINE after it, once
    await second.closed(two)
    closed_at = datetime.now(UTC)
    assert await run_once(sources, None, closed_at + timedelta(seconds=GRACE - 1)) == 0
    assert (await AgentState.get(user_id=agent.pk)).state.value == "READY"
    assert await run_once(sources, None, closed_at + timedelta(seconds=GRACE + 1)) == 1
    assert await run_once(sources, None, closed_at + timedelta(seconds=GRACE + 2)) == 0
    assert (await AgentState.get(user_id=agent.pk)).state.value == "OFFLINE"
    change = await AgentStateChange.get(user_id=agent.pk)
    assert (change.from_state.value, change.to_state.value, change.cause.value) == ("READY", "OFFLINE", "PRESENCE_LOST")
    assert await AgentSocket.filter(user_id=agent.pk).count() == 0


async def test_a_reconnect_within_the_grace_keeps_the_state(factory: Factory) -> None:
    agent = await factory.user(Role.AGENT)
    await make_ready(agent)
    presence = Presence(5, TTL)
    await presence.closed(await presence.opened(agent))
    await presence.opened(agent)  # the page reloaded
    assert await run_once(floor_sources(GRACE), None, datetime.now(UTC) + timedelta(seconds=GRACE + 1)) == 0
    assert (await AgentState.get(user_id=agent.pk)).state.value == "READY"


async def test_a_process_that_stops_beating_loses_its_agents(factory: Factory) -> None:
    # given: a process holding an agent's socket, and another one still beating for its own agent
    dead, alive = Presence(5, TTL), Presence(5, TTL)
    lost, kept = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    await make_ready(lost)
    await make_ready(kept)
    await dead.opened(lost)
    await alive.opened(kept)
    # when: the dead process never beats again; time passes beyond its TTL and the grace
    later = datetime.now(UTC) + timedelta(seconds=TTL + GRACE + 1)
    await AgentSocket.filter(worker=alive.worker).update(alive_until=later + timedelta(seconds=TTL))
    # then
    assert await run_once(floor_sources(GRACE), None, later) == 1
    assert (await AgentState.get(user_id=lost.pk)).state.value == "OFFLINE"
    assert (await AgentState.get(user_id=kept.pk)).state.value == "READY"
    assert await alive.beat() == 1 and await dead.beat() == 0


async def test_only_agents_are_tracked_and_agents_without_sockets_are_left_alone(factory: Factory) -> None:
    presence = Presence(5, TTL)
    assert await presence.opened(await factory.user(Role.SUPERVISOR)) is None
    http_only = await factory.user(Role.AGENT)
    await make_ready(http_only)
    offline_agent = await factory.user(Role.AGENT)
    await presence.closed(await presence.opened(offline_agent))  # never set a state: OFFLINE already
    later = datetime.now(UTC) + timedelta(hours=1)
    assert await run_once(floor_sources(GRACE), None, later) == 0
    assert (await AgentState.get(user_id=http_only.pk)).state.value == "READY"
    assert await AgentSocket.all().count() == 0  # the dead row of an OFFLINE agent is forgotten
