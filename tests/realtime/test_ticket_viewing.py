"""Who is viewing / typing on a ticket (realtime/viewing.py): two processes' worth of TicketViewing on
their own connections to a real redis-server, subscribers through the real schema."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest

from contato.settings import Settings
from models.user import Role, User
from realtime.broadcast import create_broadcast
from realtime.hub import EventHub
from realtime.viewing import TicketViewing
from resolvers.context import Context
from tests.factories import Factory
from tests.realtime.streams import Stream
from tests.ticket_factories import TicketFactory

VIEWING = """
subscription Viewing($id: ID!) {
  ticketViewing(ticketId: $id) {
    __typename
    ... on TicketViewers { ticket { id } viewers { user { id } typing } }
    ... on StreamError { code }
  }
}
"""
TYPING = """
mutation Typing($id: ID!, $typing: Boolean!) {
  ticketTyping(ticketId: $id, typing: $typing) { __typename ... on TicketError { code } }
}
"""


class Process:
    """What one server process holds for ticket viewing: its broadcast connection and table."""

    def __init__(self, url: str) -> None:
        self.broadcast = create_broadcast(url)
        self.viewing = TicketViewing(self.broadcast, heartbeat=0.2, ttl=1.0)
        self.hub = EventHub(self.broadcast, poll_interval=0.05)
        self.stopped = False

    async def start(self) -> None:
        await self.broadcast.connect()
        await self.hub.start()
        await self.viewing.start()
        await self.viewing.listening.wait()

    async def stop(self, announce: bool = True) -> None:
        self.stopped = True
        await self.viewing.stop(announce=announce)
        await self.hub.stop()
        await self.broadcast.disconnect()


@pytest.fixture
async def processes(db: None, redis_url: str) -> AsyncIterator[tuple[Process, Process]]:
    first, second = Process(redis_url), Process(redis_url)
    await first.start()
    await second.start()
    try:
        yield first, second
    finally:
        for process in (first, second):
            if not process.stopped:
                await process.stop()


async def watch(factory: Factory, settings: Settings, process: Process, user: User, ticket_id: int) -> Stream:
    context = Context(settings=settings, user=user, viewing=process.viewing, hub=process.hub)
    source = await factory.schema_for(settings).subscribe(VIEWING, variable_values={"id": str(ticket_id)}, context_value=context)
    return Stream(source)


async def until(stream: Stream, wanted: Callable[[dict[str, Any]], bool], timeout: float = 5.0) -> dict[str, Any]:
    """The first item that satisfies `wanted` (earlier ones are states on the way)."""
    while True:
        item = (await stream.next(timeout))["ticketViewing"]
        if wanted(item):
            return item


def people(item: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(viewer["user"]["id"], viewer["typing"]) for viewer in item["viewers"]]


async def test_viewers_and_typists_are_seen_across_processes_and_gone_when_they_leave(
    factory: Factory, settings: Settings, processes: tuple[Process, Process]
) -> None:
    # given: an agent on process A and a supervisor on process B open the same ticket
    first, second = processes
    tickets = TicketFactory(factory)
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    ticket = await tickets.ticket(agent, await tickets.status())
    agents_view = await watch(factory, settings, first, agent, ticket.pk)
    supervisors_view = await watch(factory, settings, second, supervisor, ticket.pk)
    both = [(str(agent.pk), False), (str(supervisor.pk), False)]
    # then: each sees both
    await until(supervisors_view, lambda item: people(item) == both)
    await until(agents_view, lambda item: people(item) == both)
    # when: the agent types (the mutation lands on process A)
    context = Context(settings=settings, user=agent, viewing=first.viewing)
    typed = await factory.schema.execute(TYPING, variable_values={"id": str(ticket.pk), "typing": True}, context_value=context)
    assert typed.data == {"ticketTyping": {"__typename": "Ticket"}}, typed.errors
    await until(supervisors_view, lambda item: people(item) == [(str(agent.pk), True), (str(supervisor.pk), False)])
    # and leaves: gone on process B at once
    await agents_view.close()
    await until(supervisors_view, lambda item: people(item) == [(str(supervisor.pk), False)], timeout=2.0)
    await supervisors_view.close()


async def test_the_viewers_of_a_dead_process_are_gone_within_the_ttl(
    factory: Factory, settings: Settings, processes: tuple[Process, Process]
) -> None:
    first, second = processes
    tickets = TicketFactory(factory)
    agent, supervisor = await factory.user(Role.AGENT), await factory.user(Role.SUPERVISOR)
    ticket = await tickets.ticket(agent, await tickets.status())
    await watch(factory, settings, first, agent, ticket.pk)
    supervisors_view = await watch(factory, settings, second, supervisor, ticket.pk)
    await until(supervisors_view, lambda item: len(item["viewers"]) == 2)
    # when: process A stops beating without a word (as after SIGKILL)
    await first.stop(announce=False)
    # then: within its TTL (1 s) and a heartbeat, B forgets the agent
    await until(supervisors_view, lambda item: people(item) == [(str(supervisor.pk), False)], timeout=3.0)
    await supervisors_view.close()


@pytest.mark.parametrize("allowed", [False, True])
async def test_reps_see_operators_only_when_the_setting_allows(
    factory: Factory, settings: Settings, processes: tuple[Process, Process], allowed: bool
) -> None:
    process = processes[0]
    tickets = TicketFactory(factory)
    company = await factory.company()
    rep, agent = await factory.user(Role.COMPANY_REP, company=company), await factory.user(Role.AGENT)
    ticket = await tickets.ticket(rep, await tickets.status(), company=company)
    rep_settings = replace(settings, ticket_viewing_reps_see_operators=allowed)
    agents_view = await watch(factory, settings, process, agent, ticket.pk)
    await until(agents_view, lambda item: len(item["viewers"]) == 1)
    reps_view = await watch(factory, rep_settings, process, rep, ticket.pk)
    # the agent sees the rep arrive; the rep sees the agent only when allowed
    await until(agents_view, lambda item: len(item["viewers"]) == 2)
    expected = sorted([str(rep.pk), str(agent.pk)]) if allowed else [str(rep.pk)]
    seen = await until(reps_view, lambda item: sorted(person for person, _ in people(item)) == expected)
    assert seen["__typename"] == "TicketViewers"
    await reps_view.close()
    await agents_view.close()


async def test_a_ticket_one_may_not_see_is_not_found(
    factory: Factory, settings: Settings, processes: tuple[Process, Process]
) -> None:
    tickets = TicketFactory(factory)
    agent = await factory.user(Role.AGENT)
    rep = await factory.user(Role.COMPANY_REP)
    ticket = await tickets.ticket(agent, await tickets.status())  # no company: not the rep's
    view = await watch(factory, settings, processes[0], rep, ticket.pk)
    item = (await view.next())["ticketViewing"]
    assert (item["__typename"], item["code"]) == ("StreamError", "NOT_FOUND")
    context = Context(settings=settings, user=rep, viewing=processes[0].viewing)
    typed = await factory.schema.execute(TYPING, variable_values={"id": str(ticket.pk), "typing": True}, context_value=context)
    assert typed.data == {"ticketTyping": {"__typename": "TicketError", "code": "NOT_FOUND"}}
