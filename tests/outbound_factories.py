"""Outbound rows for tests (catalogs, campaigns, members), a pinned clock, and the PostgreSQL tables.

The clock pins the outbound use cases to a Wednesday afternoon in the operation's time zone, so
calling hours never depend on when the suite runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from models.campaign import CallbackPolicy, Campaign, CampaignAgent, CampaignMember, CampaignStage
from models.catalog import ContactChannel
from models.floor import AgentState, AgentStateKind
from models.outbound import (
    ActionType,
    ContactResult,
    Justification,
    JustificationResult,
    NoContactReason,
    ResultKind,
    Script,
)
from models.person import Person
from models.user import User
from resolvers.campaign import rules
from resolvers.campaign.rules import CLAIM_LEASE
from tests.factories import Factory

ZONE = ZoneInfo("America/Sao_Paulo")
# A Wednesday, 14:00 local time.
WEDNESDAY_AFTERNOON = datetime(2031, 1, 8, 14, 0, tzinfo=ZONE)


class Clock:
    def __init__(self, now: datetime = WEDNESDAY_AFTERNOON) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now.astimezone(UTC)

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now

    @property
    def today(self) -> date:
        return self.now.astimezone(ZONE).date()

    def local(self, days: int = 0, hour: int = 10, minute: int = 0) -> datetime:
        day = self.today + timedelta(days=days)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


class Outbound:
    def __init__(self, factory: Factory, clock: Clock) -> None:
        self.factory = factory
        self.clock = clock
        self._count = 0

    def _name(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix} {self._count}"

    async def result(
        self, kind: ResultKind = ResultKind.SUCCESS, name: str | None = None, active: bool = True,
        recycle_after_minutes: int | None = None, recycle_max_attempts: int | None = None,
    ) -> ContactResult:
        return await ContactResult.create(
            name=name or self._name(kind.value.title()), kind=kind, active=active,
            recycle_after_minutes=recycle_after_minutes, recycle_max_attempts=recycle_max_attempts,
        )

    async def justification(self, *results: ContactResult, name: str | None = None, active: bool = True) -> Justification:
        row = await Justification.create(name=name or self._name("Justification"), active=active)
        for result in results:
            await JustificationResult.create(justification_id=row.pk, result_id=result.pk)
        return row

    async def reason(self, requires_callback: bool = False, active: bool = True) -> NoContactReason:
        return await NoContactReason.create(
            name=self._name("Reason"), requires_callback=requires_callback, active=active
        )

    async def channel(self, active: bool = True) -> ContactChannel:
        return await ContactChannel.create(name=self._name("Channel"), active=active)

    async def action_type(self, body: str | None = None, active: bool = True) -> ActionType:
        script = await Script.create(title=self._name("Script"), body=body) if body else None
        return await ActionType.create(name=self._name("Action"), script=script, active=active)

    async def campaign(
        self, agents: tuple[User, ...] = (), stages: tuple[str, ...] = ("Contact", "Proposal"), **fields: Any
    ) -> Campaign:
        values: dict[str, Any] = {
            "name": self._name("Campaign"),
            "start_date": self.clock.today - timedelta(days=1),
            "weekday_start_minute": 9 * 60,
            "weekday_end_minute": 21 * 60,
            "saturday_start_minute": 10 * 60,
            "saturday_end_minute": 16 * 60,
            "callback_policy": CallbackPolicy.USER_ONLY,
        }
        values.update(fields)
        campaign = await Campaign.create(**values)
        for position, name in enumerate(stages, start=1):
            await CampaignStage.create(campaign=campaign, name=name, position=position)
        for agent in agents:
            await CampaignAgent.create(campaign=campaign, agent=agent)
        return campaign

    async def stage(self, campaign: Campaign, position: int = 1) -> CampaignStage:
        return await CampaignStage.get(campaign_id=campaign.pk, position=position)

    async def member(self, campaign: Campaign, person: Person | None = None, **fields: Any) -> CampaignMember:
        person = person or await self.factory.person(name=self._name("Person"))
        stage = await CampaignStage.filter(campaign_id=campaign.pk).order_by("position").first()
        return await CampaignMember.create(campaign=campaign, person=person, stage=stage, **fields)

    async def ready(self, *agents: User) -> None:
        """Agents READY on the floor, as `agentStateSet(state: READY)` leaves them: the claim needs it."""
        for agent in agents:
            await make_ready(agent, self.clock())

    async def claimed(self, campaign: Campaign, agent: User, **fields: Any) -> CampaignMember:
        return await self.member(
            campaign, claimed_by=agent, claim_expires_at=self.clock.now + CLAIM_LEASE, **fields
        )


async def make_ready(agent: User, since: datetime | None = None) -> None:
    await AgentState.update_or_create(
        defaults={"state": AgentStateKind.READY, "since": since or rules.utc_now()}, user_id=agent.pk
    )


# Fixtures, imported by the conftest.py of tests/campaign, tests/operation and tests/catalog.


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(rules, "utc_now", clock)
    return clock


@pytest.fixture
def outbound(factory: Factory, clock: Clock) -> Outbound:
    return Outbound(factory, clock)
