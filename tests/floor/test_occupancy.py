"""Occupancy (issue 16): busy (ON_CALL, WRAP_UP) over logged-in time, from the agents' state history,
in campaignStatistics, checked against a hand-computed day."""

from __future__ import annotations

from datetime import datetime

from models.floor import AgentStateChange, AgentStateKind, StateChangeCause
from models.user import Role, User
from tests.conftest import StatementCounter
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

OCCUPANCY = """
query Occupancy($campaignId: ID!, $day: Date) {
  campaignStatistics(campaignId: $campaignId, from: $day, to: $day) {
    ... on CampaignStatistics {
      occupancy { loggedInSeconds busySeconds occupancy }
      occupancyByAgent { agent { name } occupancy { loggedInSeconds busySeconds occupancy } }
    }
  }
}
"""


async def agent(factory: Factory, name: str) -> User:
    user = await factory.user(Role.AGENT)
    user.name = name
    await user.save()
    return user


async def changes(agent: User, *steps: tuple[datetime, AgentStateKind]) -> None:
    previous = AgentStateKind.OFFLINE
    for at, state in steps:
        await AgentStateChange.create(user=agent, from_state=previous, to_state=state, cause=StateChangeCause.MANUAL,
                                      actor_id=agent.pk, at=at)
        previous = state


async def test_occupancy_is_busy_time_over_logged_in_time_for_a_hand_computed_day(
    factory: Factory, outbound: Outbound, clock: Clock, sql_statements: StatementCounter
) -> None:
    # given: Ana works 9:00-10:00 (10 min on a call, 5 in wrap-up, a pause); Bruno was READY since the
    # evening before, takes a call at 00:30 and leaves at 01:00; Carla (not on the campaign) and Davi
    # (on it, never logged in) count for nothing
    ana, bruno = await agent(factory, "Ana"), await agent(factory, "Bruno")
    carla, davi = await agent(factory, "Carla"), await agent(factory, "Davi")
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(ana, bruno, davi))
    local = clock.local
    await changes(ana, (local(hour=9), AgentStateKind.READY), (local(hour=9, minute=10), AgentStateKind.ON_CALL),
                  (local(hour=9, minute=20), AgentStateKind.WRAP_UP), (local(hour=9, minute=25), AgentStateKind.READY),
                  (local(hour=9, minute=30), AgentStateKind.PAUSED), (local(hour=10), AgentStateKind.OFFLINE))
    await changes(bruno, (local(days=-1, hour=23), AgentStateKind.READY),
                  (local(hour=0, minute=30), AgentStateKind.ON_CALL), (local(hour=1), AgentStateKind.OFFLINE))
    await changes(carla, (local(hour=9), AgentStateKind.ON_CALL))
    clock.now = local(hour=18)
    # when
    sql_statements.statements.clear()
    data = await factory.execute(OCCUPANCY, {"campaignId": str(campaign.pk), "day": str(clock.today)},
                                 user=supervisor)
    # then
    stats = data["campaignStatistics"]
    assert stats["occupancy"] == {"loggedInSeconds": 7200, "busySeconds": 2700, "occupancy": 0.375}
    assert stats["occupancyByAgent"] == [
        {"agent": {"name": "Ana"}, "occupancy": {"loggedInSeconds": 3600, "busySeconds": 900, "occupancy": 0.25}},
        {"agent": {"name": "Bruno"}, "occupancy": {"loggedInSeconds": 3600, "busySeconds": 1800, "occupancy": 0.5}},
    ]
    occupancy_queries = [s for s in sql_statements.statements if "agent_state_change" in s]
    # the last change before the day, its state, the changes inside: three, whatever the agents
    assert len(occupancy_queries) == 3, occupancy_queries


async def test_an_agent_still_on_the_floor_counts_until_now_and_an_empty_day_has_no_share(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: READY since 14:00, on a call since 14:30, and it is 15:00 now
    ana, supervisor = await agent(factory, "Ana"), await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(ana,))
    await changes(ana, (clock.local(hour=14), AgentStateKind.READY),
                  (clock.local(hour=14, minute=30), AgentStateKind.ON_CALL))
    clock.now = clock.local(hour=15)
    # when
    today = await factory.execute(OCCUPANCY, {"campaignId": str(campaign.pk), "day": str(clock.today)},
                                  user=supervisor)
    before = await factory.execute(
        OCCUPANCY, {"campaignId": str(campaign.pk), "day": str(clock.local(days=-3).date())}, user=supervisor
    )
    # then
    assert today["campaignStatistics"]["occupancy"] == {"loggedInSeconds": 3600, "busySeconds": 1800,
                                                        "occupancy": 0.5}
    assert before["campaignStatistics"] == {
        "occupancy": {"loggedInSeconds": 0, "busySeconds": 0, "occupancy": None}, "occupancyByAgent": [],
    }
