"""Subscriptions in-process on the real schema, hub and database: who gets what, replay, revocation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from contato.settings import Settings
from models.campaign import CallbackPolicy, CampaignAgent, CampaignMember
from models.event import Event
from models.operation import Callback, Operation
from models.ticket import Ticket
from models.user import Role
from realtime.alerts import run_once
from realtime.due import DUE_SOURCES
from realtime.events import EventSpec, record
from realtime.hub import EventHub, current_cursor
from realtime.queue_monitor import QueueMonitor
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.realtime.streams import LiveSchema
from tests.ticket_factories import TicketFactory

TICKET_UPDATES = """
subscription Updates($ticketId: ID, $after: String) {
  ticketUpdates(ticketId: $ticketId, after: $after) {
    __typename
    ... on TicketEvent { cursor kind ticket { id subject status { name } assignee { id } } newMessage { body internal } }
    ... on StreamError { code field message }
  }
}
"""
CALLBACK_DUE = """
subscription Due($agentId: ID, $after: String) {
  callbackDue(agentId: $agentId, after: $after) {
    __typename
    ... on CallbackAlert { cursor kind callback { id agent { id } campaign { id } } }
    ... on StreamError { code field }
  }
}
"""
RETURN_DUE = """
subscription { ticketReturnDue { __typename ... on TicketReturnAlert { cursor ticket { id } } ... on StreamError { code } } }
"""
QUEUE = """
subscription Queue($campaignId: ID!) {
  queueUpdates(campaignId: $campaignId) {
    __typename
    ... on QueueSnapshot {
      claimsInProgress membersByStatus { status count } resultsLastHour { kind count }
      agents { agent { id } claimsInProgress operationsLastHour } campaign { id }
    }
    ... on StreamError { code }
  }
}
"""
ADD_MESSAGE = """
mutation Add($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
CHANGE_STATUS = """
mutation Change($ticketId: ID!, $statusId: ID!) {
  ticketStatusChange(ticketId: $ticketId, statusId: $statusId) { __typename ... on TicketError { code } }
}
"""
ASSIGN = """
mutation Assign($ticketId: ID!, $assigneeId: ID) {
  ticketAssign(ticketId: $ticketId, assigneeId: $assigneeId) { __typename ... on TicketError { code } }
}
"""
DEACTIVATE = "mutation D($id: ID!) { userDeactivate(id: $id) { __typename } }"
CLAIM = "mutation C($id: ID!) { campaignMemberClaim(campaignId: $id) { __typename } }"


@pytest.fixture
async def live(factory: Factory, settings: Settings, hub: EventHub) -> AsyncIterator[LiveSchema]:
    monitor = QueueMonitor(tick=0.05)
    hub.add_listener(monitor.on_event)
    await monitor.start()
    schema = LiveSchema(factory.schema, settings, hub, monitor)
    try:
        yield schema
    finally:
        await schema.close()
        await monitor.stop()


@pytest.fixture
def tickets(factory: Factory) -> TicketFactory:
    return TicketFactory(factory)


async def add_message(factory: Factory, ticket: Ticket, author, body: str, internal: bool = False) -> None:  # type: ignore[no-untyped-def]
    data = await factory.execute(
        ADD_MESSAGE, {"input": {"ticketId": str(ticket.pk), "body": body, "internal": internal}}, user=author
    )
    assert data["ticketMessageAdd"]["__typename"] == "TicketMessage", data


def updates(items: list[dict]) -> list[tuple[str, str | None]]:
    return [
        (item["ticketUpdates"]["kind"], (item["ticketUpdates"]["newMessage"] or {}).get("body"))
        for item in items
    ]


async def test_each_event_carries_the_ticket_as_it_is_then(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: an agent following one ticket
    agent = await factory.user(Role.AGENT)
    new, waiting, solved = await tickets.status("Novo"), await tickets.status("Aguardando"), await tickets.status("Ok")
    ticket = await tickets.ticket(agent, new, assignee=agent)
    stream = await live.subscribe(TICKET_UPDATES, {"ticketId": str(ticket.pk)}, agent)
    # when: two status changes on the same connection, each delivered before the next
    await factory.execute(CHANGE_STATUS, {"ticketId": str(ticket.pk), "statusId": str(waiting.pk)}, user=agent)
    first = await stream.next()
    await factory.execute(CHANGE_STATUS, {"ticketId": str(ticket.pk), "statusId": str(solved.pk)}, user=agent)
    second = await stream.next()
    # then: each event was resolved with its own loaders, not the first event's cached ticket
    assert first["ticketUpdates"]["kind"] == second["ticketUpdates"]["kind"] == "STATUS_CHANGED"
    assert first["ticketUpdates"]["ticket"]["status"]["name"] == "Aguardando"
    assert second["ticketUpdates"]["ticket"]["status"]["name"] == "Ok"
    assert int(second["ticketUpdates"]["cursor"]) > int(first["ticketUpdates"]["cursor"])


async def test_a_rep_gets_their_company_tickets_and_never_internal_notes(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: a rep of Acme following every ticket they may see
    acme, globex = await factory.company("Acme"), await factory.company("Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    agent = await factory.user(Role.AGENT)
    status = await tickets.status()
    ours = await tickets.ticket(rep, status, company=acme, assignee=agent)
    theirs = await tickets.ticket(agent, status, company=globex, assignee=agent)
    stream = await live.subscribe(TICKET_UPDATES, {}, rep)
    # when
    await add_message(factory, theirs, agent, "for Globex")
    await add_message(factory, ours, agent, "internal note", internal=True)
    await add_message(factory, ours, agent, "for Acme")
    # then
    assert updates([await stream.next()]) == [("MESSAGE_ADDED", "for Acme")]
    assert await stream.quiet() == []


async def test_reconnecting_with_a_cursor_replays_what_was_missed_once_then_goes_live(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: a rep who saw one message, then disconnected
    acme = await factory.company("Acme")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    agent = await factory.user(Role.AGENT)
    ticket = await tickets.ticket(rep, await tickets.status(), company=acme, assignee=agent)
    stream = await live.subscribe(TICKET_UPDATES, {"ticketId": str(ticket.pk)}, rep)
    await add_message(factory, ticket, agent, "one")
    seen = (await stream.next())["ticketUpdates"]["cursor"]
    await stream.close()
    # when: three messages while away, then a resubscription after the last cursor seen
    for body in ("two", "three", "four"):
        await add_message(factory, ticket, agent, body)
    again = await live.subscribe(TICKET_UPDATES, {"ticketId": str(ticket.pk), "after": seen}, rep)
    missed = await again.take(3)
    await add_message(factory, ticket, agent, "five")
    live_one = await again.next()
    # then
    assert updates(missed + [live_one]) == [("MESSAGE_ADDED", body) for body in ("two", "three", "four", "five")]
    assert await again.quiet() == []


async def test_bad_or_unknown_cursors_end_the_stream_with_a_typed_error(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    agent = await factory.user(Role.AGENT)
    ticket = await tickets.ticket(agent, await tickets.status(), assignee=agent)
    for after, code in (("abc", "INVALID_CURSOR"), ("999999", "CURSOR_EXPIRED")):
        stream = await live.subscribe(TICKET_UPDATES, {"ticketId": str(ticket.pk), "after": after}, agent)
        item = (await stream.next())["ticketUpdates"]
        assert (item["__typename"], item["code"], item["field"]) == ("StreamError", code, "after")
        assert await stream.finished()


async def test_a_ticket_assigned_away_ends_the_agents_stream(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: an agent following an unassigned ticket of their queue
    agent, other = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    ticket = await tickets.ticket(supervisor, await tickets.status())
    stream = await live.subscribe(TICKET_UPDATES, {"ticketId": str(ticket.pk)}, agent)
    await add_message(factory, ticket, supervisor, "before")
    assert updates([await stream.next()]) == [("MESSAGE_ADDED", "before")]
    # when
    await factory.execute(ASSIGN, {"ticketId": str(ticket.pk), "assigneeId": str(other.pk)}, user=supervisor)
    await add_message(factory, ticket, supervisor, "after")
    # then
    last = (await stream.next())["ticketUpdates"]
    assert (last["__typename"], last["code"]) == ("StreamError", "ACCESS_REVOKED")
    assert await stream.finished()


async def test_a_deactivated_user_stops_receiving_at_once(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: a rep following their company's tickets
    acme = await factory.company("Acme")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    admin, agent = await factory.user(Role.ADMIN), await factory.user(Role.AGENT)
    ticket = await tickets.ticket(rep, await tickets.status(), company=acme, assignee=agent)
    stream = await live.subscribe(TICKET_UPDATES, {}, rep)
    # when: the admin deactivates the rep, then the ticket moves on
    await factory.execute(DEACTIVATE, {"id": str(rep.pk)}, user=admin)
    await add_message(factory, ticket, agent, "not for you any more")
    # then: the stream ends before the message, even though it was for their company
    last = (await stream.next())["ticketUpdates"]
    assert (last["__typename"], last["code"]) == ("StreamError", "ACCESS_REVOKED")
    assert await stream.finished()


async def test_an_expired_token_ends_the_stream_at_the_next_event(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    agent = await factory.user(Role.AGENT)
    ticket = await tickets.ticket(agent, await tickets.status(), assignee=agent)
    expires = datetime.now(UTC) + timedelta(milliseconds=300)
    stream = await live.subscribe(TICKET_UPDATES, {"ticketId": str(ticket.pk)}, agent, token_expires_at=expires)
    await asyncio.sleep(0.4)
    await add_message(factory, ticket, agent, "late")
    last = (await stream.next())["ticketUpdates"]
    assert (last["__typename"], last["code"]) == ("StreamError", "TOKEN_EXPIRED")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbound(factory: Factory, clock: Clock) -> Outbound:
    return Outbound(factory, clock)


async def test_each_due_callback_is_alerted_once_whatever_the_number_of_schedulers(
    factory: Factory, outbound: Outbound, live: LiveSchema
) -> None:
    # given: three due callbacks (two of agent A, one open to anyone) and one not yet due
    a, b = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(a, b))
    now = datetime.now(UTC)
    due = []
    for owner in (a, a, None):
        member = await outbound.member(campaign)
        due.append(await Callback.create(member=member, campaign=campaign, agent=owner, due_at=now - timedelta(seconds=5)))
    later = await Callback.create(
        member=await outbound.member(campaign), campaign=campaign, agent=a, due_at=now + timedelta(hours=1)
    )
    stream_a = await live.subscribe(CALLBACK_DUE, {}, a)
    stream_b = await live.subscribe(CALLBACK_DUE, {}, b)
    # when: four schedulers claim at the same moment
    counts = await asyncio.gather(*(run_once(DUE_SOURCES, None, now) for _ in range(4)))
    # then: each due callback alerted once, the later one not at all
    assert sum(counts) == 3
    alerted = await Event.filter(kind="CALLBACK_DUE").values_list("entity_id", flat=True)
    assert sorted(alerted) == sorted(callback.pk for callback in due)
    assert await Callback.filter(id=later.pk, alerted_at__isnull=True).exists()
    got_a = {item["callbackDue"]["callback"]["id"] for item in await stream_a.take(3)}
    got_b = {item["callbackDue"]["callback"]["id"] for item in await stream_b.take(1)}
    assert got_a == {str(callback.pk) for callback in due}
    assert got_b == {str(due[2].pk)}
    assert await stream_a.quiet() == [] and await stream_b.quiet() == []


async def test_an_overdue_user_only_callback_opens_to_the_other_agents_once(
    factory: Factory, outbound: Outbound, live: LiveSchema
) -> None:
    # given: agent A's callback, overdue past the campaign's opening delay; B on the campaign, C not
    a, b, c = [await factory.user(Role.AGENT) for _ in range(3)]
    campaign = await outbound.campaign(
        agents=(a, b), callback_policy=CallbackPolicy.USER_ONLY, callback_opens_after_minutes=30
    )
    now = datetime.now(UTC)
    callback = await Callback.create(
        member=await outbound.member(campaign), campaign=campaign, agent=a,
        due_at=now - timedelta(minutes=31), opens_at=now - timedelta(minutes=1), alerted_at=now - timedelta(minutes=31),
    )
    streams = [await live.subscribe(CALLBACK_DUE, {}, user) for user in (a, b, c)]
    # when
    assert await run_once(DUE_SOURCES, None, now) == 1
    assert await run_once(DUE_SOURCES, None, now) == 0
    # then: B is told it opened; A (who had the due alert) and C (not on the campaign) are not
    opened = (await streams[1].next())["callbackDue"]
    assert (opened["kind"], opened["callback"]["id"], opened["callback"]["agent"]["id"]) == (
        "OPENED", str(callback.pk), str(a.pk)
    )
    assert await streams[0].quiet() == [] and await streams[2].quiet() == []


async def test_agents_follow_only_their_own_callbacks(factory: Factory, live: LiveSchema) -> None:
    a, b = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    stream = await live.subscribe(CALLBACK_DUE, {"agentId": str(b.pk)}, a)
    item = (await stream.next())["callbackDue"]
    assert (item["__typename"], item["code"], item["field"]) == ("StreamError", "FORBIDDEN", "agentId")


async def test_ticket_returns_fall_due_once_for_the_operator_and_never_for_reps(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: an open ticket whose return date has passed, and a closed one
    acme = await factory.company("Acme")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    supervisor = await factory.user(Role.SUPERVISOR)
    status = await tickets.status()
    waiting = await tickets.ticket(rep, status, company=acme)
    now = datetime.now(UTC)
    await Ticket.filter(id=waiting.pk).update(return_due_at=now - timedelta(minutes=1))
    closed = await tickets.ticket(rep, status, company=acme, state="CLOSED")  # type: ignore[arg-type]
    await Ticket.filter(id=closed.pk).update(return_due_at=now - timedelta(minutes=1))
    operator = await live.subscribe(RETURN_DUE, {}, supervisor)
    customer = await live.subscribe(RETURN_DUE, {}, rep)
    # when
    assert await run_once(DUE_SOURCES, None, now) == 1
    assert await run_once(DUE_SOURCES, None, now) == 0
    # then
    assert (await operator.next())["ticketReturnDue"]["ticket"]["id"] == str(waiting.pk)
    assert (await customer.next())["ticketReturnDue"]["code"] == "FORBIDDEN"
    assert await operator.quiet() == []


async def test_queue_updates_are_computed_once_per_tick_for_every_watcher(
    factory: Factory, outbound: Outbound, live: LiveSchema, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: two supervisors watching a campaign with three members
    agent = await factory.user(Role.AGENT)
    supervisors = [await factory.user(Role.SUPERVISOR) for _ in range(2)]
    campaign = await outbound.campaign(agents=(agent,), start_date=datetime.now(UTC).date() - timedelta(days=1))
    for _ in range(3):
        await outbound.member(campaign)
    watchers = [await live.subscribe(QUEUE, {"campaignId": str(campaign.pk)}, user) for user in supervisors]
    first = [(await watcher.next())["queueUpdates"] for watcher in watchers]
    # the members' own events may reach the hub after the watchers joined (the hub polls): let them
    # be dispatched and computed first, and drop the snapshots they caused
    while live.hub.last_cursor < await current_cursor() or campaign.pk in live.monitor._dirty:
        await asyncio.sleep(0.01)
    for watcher in watchers:
        await watcher.quiet(0.1)
    computed = live.monitor.computations
    # when: an agent holds a member and recorded a success (written directly; the event tells the monitor)
    member = await CampaignMember.filter(campaign_id=campaign.pk).first()
    assert member is not None
    await CampaignMember.filter(id=member.pk).update(
        claimed_by_id=agent.pk, claim_expires_at=datetime.now(UTC) + timedelta(minutes=10)
    )
    await Operation.create(member=member, campaign=campaign, person_id=member.person_id, agent=agent,
                           result_kind="SUCCESS", notes="", attempt=1,
                           local_date=datetime.now(UTC).date())
    async with in_transaction() as connection:
        await record(connection, EventSpec(kind="MEMBER_CLAIMED", entity="member", entity_id=member.pk,
                                           campaign_id=campaign.pk, agent_id=agent.pk))
    second = [(await watcher.next())["queueUpdates"] for watcher in watchers]
    # then: both watchers got the new figures from one computation
    assert first[0] == first[1] and first[0]["claimsInProgress"] == 0
    assert {row["status"]: row["count"] for row in first[0]["membersByStatus"]}["NOT_ACTED"] == 3
    assert second[0] == second[1]
    assert second[0]["claimsInProgress"] == 1
    assert second[0]["resultsLastHour"] == [
        {"kind": "SUCCESS", "count": 1}, {"kind": "FAILURE", "count": 0}, {"kind": "SCHEDULE", "count": 0},
        {"kind": "NO_CONTACT", "count": 0},
    ]
    assert [row["status"] for row in second[0]["membersByStatus"]] == ["NOT_ACTED", "SCHEDULED", "CONCLUDED", "REMOVED"]
    assert second[0]["agents"] == [{"agent": {"id": str(agent.pk)}, "claimsInProgress": 1, "operationsLastHour": 1}]
    assert live.monitor.computations == computed + 1


async def test_queue_updates_are_for_supervisors(factory: Factory, outbound: Outbound, live: LiveSchema) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    stream = await live.subscribe(QUEUE, {"campaignId": str(campaign.pk)}, agent)
    assert (await stream.next())["queueUpdates"] == {"__typename": "StreamError", "code": "FORBIDDEN"}
    assert await CampaignAgent.filter(campaign_id=campaign.pk).count() == 1


async def test_a_supervisor_following_an_agent_sees_that_agents_own_callbacks(
    factory: Factory, outbound: Outbound, live: LiveSchema
) -> None:
    # given: agent A's own due callback and one open to anyone on A's campaign
    a = await factory.user(Role.AGENT)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(agents=(a,))
    now = datetime.now(UTC)
    own = await Callback.create(member=await outbound.member(campaign), campaign=campaign, agent=a, due_at=now)
    await Callback.create(member=await outbound.member(campaign), campaign=campaign, agent=None, due_at=now)
    stream = await live.subscribe(CALLBACK_DUE, {"agentId": str(a.pk)}, supervisor)
    # when
    assert await run_once(DUE_SOURCES, None, now) == 2
    # then: as pendingCallbacks(agentId) lists them
    assert (await stream.next())["callbackDue"]["callback"]["id"] == str(own.pk)
    assert await stream.quiet() == []


async def test_a_ticket_the_caller_may_not_see_is_not_found(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    acme, globex = await factory.company("Acme"), await factory.company("Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    agent = await factory.user(Role.AGENT)
    theirs = await tickets.ticket(agent, await tickets.status(), company=globex)
    stream = await live.subscribe(TICKET_UPDATES, {"ticketId": str(theirs.pk)}, rep)
    item = (await stream.next())["ticketUpdates"]
    assert (item["__typename"], item["code"], item["field"]) == ("StreamError", "NOT_FOUND", "ticketId")
    assert await stream.finished()


WHO = """
subscription { ticketUpdates { ... on TicketEvent {
  ticket { subject person { name company { name } } openedBy { name email } }
} } }
"""


async def test_each_subscriber_sees_an_events_rows_through_its_own_scope(
    factory: Factory, tickets: TicketFactory, live: LiveSchema
) -> None:
    # given: an Acme ticket opened by a rep and for a person who have both moved to Globex since,
    # followed by an Acme rep and by a supervisor (one event, whose rows they share)
    acme, globex = await factory.company("Acme"), await factory.company("Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    moved_rep = await factory.user(Role.COMPANY_REP, company=acme)
    supervisor = await factory.user(Role.SUPERVISOR)
    person = await factory.person(name="Moved", company=acme)
    ticket = await tickets.ticket(moved_rep, await tickets.status(), company=acme, subject="Acme")
    await Ticket.filter(id=ticket.pk).update(person_id=person.pk)
    await person.__class__.filter(id=person.pk).update(company_id=globex.pk)
    await moved_rep.__class__.filter(id=moved_rep.pk).update(company_id=globex.pk)
    reps, staff = await live.subscribe(WHO, {}, rep), await live.subscribe(WHO, {}, supervisor)
    # when
    await add_message(factory, ticket, supervisor, "news")
    # then: the rep gets the ticket, without Globex's person, company or rep's address
    seen = (await reps.next())["ticketUpdates"]["ticket"]
    assert seen == {"subject": "Acme", "person": None, "openedBy": {"name": moved_rep.name, "email": None}}
    everything = (await staff.next())["ticketUpdates"]["ticket"]
    assert everything["person"] == {"name": "Moved", "company": {"name": "Globex"}}
    assert everything["openedBy"]["email"] == moved_rep.email
