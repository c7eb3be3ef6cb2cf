"""The live floor: agentStates (access, time in state, statements) and agentStateUpdates, with the
pause-over-maximum alert raised once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from contato.settings import Settings
from models.campaign import CampaignAgent
from models.event import Event
from models.floor import PauseReason
from models.user import Role
from realtime.alerts import run_once
from realtime.broadcast import create_broadcast
from realtime.floor import floor_sources
from realtime.hub import EventHub
from realtime.queue_monitor import QueueMonitor
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.realtime.streams import LiveSchema

FLOOR = """
query Floor($c: ID!) {
  agentStates(campaignId: $c) {
    __typename
    ... on AgentFloor { agents { agent { id name } state since secondsInState pauseReason { name } campaign { id } } }
    ... on AgentStateError { code field }
  }
}
"""
SET = """
mutation Set($state: AgentState!, $reason: ID) {
  agentStateSet(state: $state, pauseReasonId: $reason) { __typename ... on AgentStateError { code } }
}
"""
UPDATES = """
subscription Floor($c: ID!, $after: String) {
  agentStateUpdates(campaignId: $c, after: $after) {
    __typename
    ... on AgentStateEvent { cursor kind status { agent { id } state pauseReason { name } pauseExceeded } }
    ... on StreamError { code field }
  }
}
"""


@pytest.fixture
async def live(factory: Factory, settings: Settings) -> AsyncIterator[LiveSchema]:
    broadcast = create_broadcast("memory://")
    await broadcast.connect()
    hub = EventHub(broadcast, poll_interval=0.05)
    await hub.start()
    schema = LiveSchema(factory.schema, settings, hub, QueueMonitor())
    try:
        yield schema
    finally:
        await schema.close()
        await hub.stop()
        await broadcast.disconnect()


async def test_supervisors_see_every_agent_with_time_in_state_and_agents_see_their_own(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    first, second, elsewhere = [await factory.user(Role.AGENT) for _ in range(3)]
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(first, second))
    await outbound.campaign(agents=(elsewhere,))
    lunch = await PauseReason.create(name="Lunch")
    await factory.execute(SET, {"state": "PAUSED", "reason": str(lunch.pk)}, user=first)
    clock.advance(minutes=3)
    variables = {"c": str(campaign.pk)}
    # when
    seen = (await factory.execute(FLOOR, variables, user=supervisor))["agentStates"]
    own = (await factory.execute(FLOOR, variables, user=second))["agentStates"]
    # then: the campaign's agents in id order; one never seen is OFFLINE since nobody knows when
    assert [(row["agent"]["id"], row["state"], row["secondsInState"], row["pauseReason"]) for row in seen["agents"]] == [
        (str(first.pk), "PAUSED", 180, {"name": "Lunch"}), (str(second.pk), "OFFLINE", None, None),
    ]
    assert [row["agent"]["id"] for row in own["agents"]] == [str(second.pk)]


@pytest.mark.parametrize(
    ("who", "code"), [("rep", "FORBIDDEN"), ("outsider", "AGENT_NOT_ASSIGNED"), ("unknown", "NOT_FOUND")]
)
async def test_agent_states_refusals(factory: Factory, outbound: Outbound, clock: Clock, who: str, code: str) -> None:
    campaign = await outbound.campaign(agents=(await factory.user(Role.AGENT),))
    user = await factory.user(Role.COMPANY_REP if who == "rep" else Role.AGENT)
    campaign_id = "999999" if who == "unknown" else str(campaign.pk)
    data = await factory.execute(FLOOR, {"c": campaign_id}, user=user)
    assert (data["agentStates"]["__typename"], data["agentStates"]["code"]) == ("AgentStateError", code)


async def test_agent_states_cost_a_fixed_number_of_statements(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    lunch = await PauseReason.create(name="Lunch")
    counts = []
    for size in (2, 8):
        agents = [await factory.user(Role.AGENT) for _ in range(size)]
        campaign = await outbound.campaign(agents=tuple(agents))
        for agent in agents:
            await factory.execute(SET, {"state": "PAUSED", "reason": str(lunch.pk)}, user=agent)
        sql_statements.statements.clear()
        data = await factory.execute(FLOOR, {"c": str(campaign.pk)}, user=supervisor)
        assert len(data["agentStates"]["agents"]) == size
        counts.append(len(sql_statements.statements))
    # campaign, agent links, states, then one batch each for users and pause reasons
    assert counts[0] == counts[1] <= 5, sql_statements.statements


async def test_the_floor_stream_pushes_changes_and_rechecks_the_viewer(
    factory: Factory, outbound: Outbound, clock: Clock, live: LiveSchema
) -> None:
    # given: a supervisor watching a campaign, and an agent watching their own state
    agent, colleague, outsider = [await factory.user(Role.AGENT) for _ in range(3)]
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent, colleague))
    await outbound.campaign(agents=(outsider,))
    variables = {"c": str(campaign.pk)}
    watching = await live.subscribe(UPDATES, variables, supervisor)
    own = await live.subscribe(UPDATES, variables, agent)
    # when: both agents go READY and an agent of another campaign too
    await factory.execute(SET, {"state": "READY"}, user=outsider)
    await factory.execute(SET, {"state": "READY"}, user=agent)
    await factory.execute(SET, {"state": "READY"}, user=colleague)
    # then: the supervisor sees the campaign's two; the agent only their own
    seen = [item["agentStateUpdates"] for item in await watching.take(2)]
    assert [(item["kind"], item["status"]["agent"]["id"], item["status"]["state"]) for item in seen] == [
        ("CHANGED", str(agent.pk), "READY"), ("CHANGED", str(colleague.pk), "READY"),
    ]
    mine = (await own.next())["agentStateUpdates"]
    assert mine["status"]["agent"]["id"] == str(agent.pk)
    assert await own.quiet() == []
    # and an agent taken off the campaign loses the stream at its next event
    await CampaignAgent.filter(campaign_id=campaign.pk, agent_id=agent.pk).delete()
    await factory.execute(SET, {"state": "OFFLINE"}, user=agent)
    ended = (await own.next())["agentStateUpdates"]
    assert (ended["__typename"], ended["code"]) == ("StreamError", "ACCESS_REVOKED")
    # resuming after a cursor replays what was missed
    replay = await live.subscribe(UPDATES, {**variables, "after": seen[0]["cursor"]}, supervisor)
    assert [item["agentStateUpdates"]["status"]["agent"]["id"] for item in await replay.take(1)] == [str(colleague.pk)]


async def test_a_pause_over_its_maximum_alerts_supervisors_once(
    factory: Factory, outbound: Outbound, clock: Clock, live: LiveSchema
) -> None:
    # given: an agent paused for a reason of at most 15 minutes
    agent = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(agent,))
    coffee = await PauseReason.create(name="Coffee", max_minutes=15)
    await factory.execute(SET, {"state": "PAUSED", "reason": str(coffee.pk)}, user=agent)
    # from after the pause: the test's mutations do not reach this hub, which would send the pause
    # itself to a new stream once a later event shows it the gap
    since = {"c": str(campaign.pk), "after": str((await Event.all().order_by("-cursor").first()).cursor)}
    watching = await live.subscribe(UPDATES, since, supervisor)
    own = await live.subscribe(UPDATES, since, agent)
    sources = floor_sources(30)
    # when: sweepers pass before and after the maximum, several times
    assert await run_once(sources, None, clock() + timedelta(minutes=14)) == 0
    assert await run_once(sources, None, clock() + timedelta(minutes=16)) == 1
    assert await run_once(sources, None, clock() + timedelta(minutes=17)) == 0
    # then: supervisors get one alert; the agent's own stream does not
    alert = (await watching.next())["agentStateUpdates"]
    assert (alert["kind"], alert["status"]["state"], alert["status"]["pauseExceeded"]) == ("PAUSE_EXCEEDED", "PAUSED", True)
    assert await own.quiet() == []
    assert await Event.filter(kind="AGENT_PAUSE_EXCEEDED").count() == 1
    # a new pause may alert again
    await factory.execute(SET, {"state": "READY"}, user=agent)
    clock.advance(minutes=20)
    await factory.execute(SET, {"state": "PAUSED", "reason": str(coffee.pk)}, user=agent)
    assert await run_once(sources, None, clock() + timedelta(minutes=16)) == 1
