"""Bulk actions for supervisors (issue 16): each item through the one-at-a-time use case, in its own
transaction, with a per-item result; refused items change nothing and do not stop the others."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from models.campaign import CampaignMember
from models.history import MemberEvent, TicketHistoryEntry
from models.operation import Callback, CallbackStatus
from models.ticket import Ticket, TicketState
from models.user import Role
from resolvers.bulk import MAX_ITEMS
from resolvers.operation import reassign as reassign_module
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.ticket_factories import TicketFactory

ITEMS = "items { kind id ok error { code message field } } succeeded failed remaining"
STATUS = f"""
mutation S($ids: [ID!]!, $statusId: ID!, $notify: Boolean) {{
  ticketBulkStatusChange(ticketIds: $ids, statusId: $statusId, notifyCustomer: $notify) {{
    __typename ... on BulkResult {{ {ITEMS} }} ... on BulkError {{ code field }}
  }}
}}
"""
CLOSE = f"""
mutation C($ids: [ID!]!, $reasonId: ID) {{
  ticketBulkClose(ticketIds: $ids, closureReasonId: $reasonId) {{
    __typename ... on BulkResult {{ {ITEMS} }} ... on BulkError {{ code field }}
  }}
}}
"""
ASSIGN = f"""
mutation A($ids: [ID!]!, $assigneeId: ID) {{
  ticketBulkAssign(ticketIds: $ids, assigneeId: $assigneeId) {{
    __typename ... on BulkResult {{ {ITEMS} }} ... on BulkError {{ code field }}
  }}
}}
"""
REASSIGN = f"""
mutation R($from: ID!, $to: ID, $campaignId: ID) {{
  agentWorkReassign(fromAgentId: $from, toAgentId: $to, campaignId: $campaignId) {{
    __typename ... on BulkResult {{ {ITEMS} }} ... on BulkError {{ code field }}
  }}
}}
"""


def outcome(item: dict[str, Any]) -> tuple[str, str, str | None]:
    error = item["error"]
    assert (error is None) == item["ok"]
    return item["kind"], item["id"], None if error is None else error["code"]


@pytest.fixture
def tickets(factory: Factory) -> TicketFactory:
    return TicketFactory(factory)


async def test_a_status_change_for_many_tickets_reports_each_one(factory: Factory, tickets: TicketFactory) -> None:
    # given: an open ticket, a closed one, one whose contact type refuses the status, an unknown id
    supervisor = await factory.user(Role.SUPERVISOR)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando")
    fine = await tickets.ticket(supervisor, new)
    closed = await tickets.ticket(supervisor, new, state=TicketState.CLOSED)
    narrow = await tickets.ticket(supervisor, new, contact_type=await tickets.contact_type(statuses=[new]))
    ids = [str(fine.pk), str(closed.pk), str(narrow.pk), "999999", str(fine.pk)]
    # when
    data = await factory.execute(STATUS, {"ids": ids, "statusId": str(waiting.pk)}, user=supervisor)
    # then: duplicates once, in the order given
    result = data["ticketBulkStatusChange"]
    assert [outcome(item) for item in result["items"]] == [
        ("TICKET", str(fine.pk), None),
        ("TICKET", str(closed.pk), "TICKET_CLOSED"),
        ("TICKET", str(narrow.pk), "STATUS_NOT_ALLOWED"),
        ("TICKET", "999999", "NOT_FOUND"),
    ]
    assert (result["succeeded"], result["failed"]) == (1, 3)
    assert result["items"][0]["ok"] is True and result["items"][1]["ok"] is False
    assert {row.pk: row.status_id for row in await Ticket.all()} == {
        fine.pk: waiting.pk, closed.pk: new.pk, narrow.pk: new.pk
    }
    assert [(row.ticket_id, row.kind) for row in await TicketHistoryEntry.all()] == [(fine.pk, "STATUS_CHANGED")]


async def test_closing_and_assigning_many_tickets_use_the_one_ticket_rules(factory: Factory, tickets: TicketFactory) -> None:
    # given
    supervisor, agent, rep = await factory.user(Role.SUPERVISOR), await factory.user(Role.AGENT), \
        await factory.user(Role.COMPANY_REP)
    new = await tickets.status("Novo", initial=True)
    done = await tickets.status("Resolvido", allows_closing=True)
    reason = await tickets.closure_reason()
    closable, open_one = await tickets.ticket(supervisor, done), await tickets.ticket(supervisor, new)
    # when
    closed = await factory.execute(CLOSE, {"ids": [str(closable.pk), str(open_one.pk)], "reasonId": str(reason.pk)},
                                   user=supervisor)
    to_rep = await factory.execute(ASSIGN, {"ids": [str(open_one.pk)], "assigneeId": str(rep.pk)}, user=supervisor)
    to_agent = await factory.execute(ASSIGN, {"ids": [str(open_one.pk), str(closable.pk)], "assigneeId": str(agent.pk)},
                                     user=supervisor)
    # then
    assert [outcome(item) for item in closed["ticketBulkClose"]["items"]] == [
        ("TICKET", str(closable.pk), None), ("TICKET", str(open_one.pk), "CLOSING_NOT_ALLOWED")
    ]
    assert [outcome(item) for item in to_rep["ticketBulkAssign"]["items"]] == [
        ("TICKET", str(open_one.pk), "INVALID_ASSIGNEE")
    ]
    assert [outcome(item) for item in to_agent["ticketBulkAssign"]["items"]] == [
        ("TICKET", str(open_one.pk), None), ("TICKET", str(closable.pk), "TICKET_CLOSED")
    ]
    assert (await Ticket.get(id=open_one.pk)).assignee_id == agent.pk
    assert (await Ticket.get(id=closable.pk)).state == TicketState.CLOSED


async def test_a_call_is_refused_whole_for_agents_empty_lists_and_too_many_ids(
    factory: Factory, tickets: TicketFactory
) -> None:
    # given
    supervisor, agent = await factory.user(Role.SUPERVISOR), await factory.user(Role.AGENT)
    new = await tickets.status("Novo", initial=True)
    waiting = await tickets.status("Aguardando")
    ticket = await tickets.ticket(supervisor, new)
    too_many = [str(ticket.pk)] + [str(1_000_000 + index) for index in range(MAX_ITEMS)]
    # when / then
    for ids, user, expected in (
        ([str(ticket.pk)], agent, {"__typename": "BulkError", "code": "FORBIDDEN", "field": None}),
        ([], supervisor, {"__typename": "BulkError", "code": "NO_ITEMS", "field": "ticketIds"}),
        (too_many, supervisor, {"__typename": "BulkError", "code": "TOO_MANY_ITEMS", "field": "ticketIds"}),
    ):
        data = await factory.execute(STATUS, {"ids": ids, "statusId": str(waiting.pk)}, user=user)
        assert data["ticketBulkStatusChange"] == expected
    assert (await Ticket.get(id=ticket.pk)).status_id == new.pk


async def test_an_agents_work_goes_to_another_agent_item_by_item(
    factory: Factory, outbound: Outbound, tickets: TicketFactory, clock: Clock
) -> None:
    # given: ana's two callbacks and one held member in a campaign bia works; a callback in a campaign bia
    # does not work; two open tickets (one in a status that e-mails on change) and a closed one
    supervisor = await factory.user(Role.SUPERVISOR)
    ana, bia = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    shared = await outbound.campaign(agents=(ana, bia))
    own = await outbound.campaign(agents=(ana,))
    due = clock.now + timedelta(days=1)
    callbacks = []
    for campaign in (shared, shared, own):
        member = await outbound.member(campaign, reserved_agent=ana)
        callback = await Callback.create(member=member, campaign=campaign, agent=ana, due_at=due)
        await CampaignMember.filter(id=member.pk).update(next_callback_id=callback.pk)
        callbacks.append(callback)
    held = await outbound.claimed(shared, ana)
    new = await tickets.status("Novo", initial=True)
    mailing = await tickets.status("Em contato", email_on_change=True)
    plain, asking = await tickets.ticket(ana, new, assignee=ana), await tickets.ticket(ana, mailing, assignee=ana)
    await tickets.ticket(ana, new, assignee=ana, state=TicketState.CLOSED)
    # when
    data = await factory.execute(REASSIGN, {"from": str(ana.pk), "to": str(bia.pk)}, user=supervisor)
    # then: callbacks, then members, then tickets, each with the one-at-a-time answer
    result = data["agentWorkReassign"]
    assert [outcome(item) for item in result["items"]] == [
        ("CALLBACK", str(callbacks[0].pk), None),
        ("CALLBACK", str(callbacks[1].pk), None),
        ("CALLBACK", str(callbacks[2].pk), "AGENT_NOT_ASSIGNED"),
        ("MEMBER", str(held.pk), None),
        ("TICKET", str(plain.pk), None),
        ("TICKET", str(asking.pk), "CONFIRMATION_REQUIRED"),
    ]
    assert (result["succeeded"], result["failed"], result["remaining"]) == (4, 2, 0)
    assert [row.agent_id for row in await Callback.all().order_by("id")] == [bia.pk, bia.pk, ana.pk]
    reserved = await CampaignMember.get(next_callback_id=callbacks[0].pk)
    assert reserved.reserved_agent_id == bia.pk
    assert (await CampaignMember.get(id=held.pk)).claimed_by_id == bia.pk
    assert {row.pk: row.assignee_id for row in await Ticket.filter(state=TicketState.OPEN)} == {
        plain.pk: bia.pk, asking.pk: ana.pk
    }
    reassigned = await MemberEvent.filter(kind="CALLBACK_REASSIGNED").values_list("callback_id", "actor_id", "agent_id")
    assert sorted(reassigned) == [(callbacks[0].pk, supervisor.pk, bia.pk), (callbacks[1].pk, supervisor.pk, bia.pk)]
    # and to anyone: the callback left is for anyone on its campaign, the member is back in the queue
    again = await factory.execute(REASSIGN, {"from": str(ana.pk), "to": None, "campaignId": str(own.pk)},
                                  user=supervisor)
    assert [outcome(item) for item in again["agentWorkReassign"]["items"]] == [("CALLBACK", str(callbacks[2].pk), None)]
    assert (await Callback.get(id=callbacks[2].pk)).agent_id is None


async def test_an_item_that_fails_midway_is_undone_alone(
    factory: Factory, outbound: Outbound, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: three callbacks; recording the second one's event breaks after its rows were written
    supervisor = await factory.user(Role.SUPERVISOR)
    ana, bia = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(ana, bia))
    callbacks = [
        await Callback.create(member=await outbound.member(campaign), campaign=campaign, agent=ana,
                              due_at=clock.now + timedelta(days=1))
        for _ in range(3)
    ]
    original = reassign_module.record

    async def failing_record(connection: Any, spec: Any) -> Any:
        if spec.entity_id == callbacks[1].pk:
            raise RuntimeError("disk full")
        return await original(connection, spec)

    monkeypatch.setattr(reassign_module, "record", failing_record)
    # when
    data = await factory.execute(REASSIGN, {"from": str(ana.pk), "to": str(bia.pk)}, user=supervisor)
    # then
    assert [outcome(item) for item in data["agentWorkReassign"]["items"]] == [
        ("CALLBACK", str(callbacks[0].pk), None), ("CALLBACK", str(callbacks[1].pk), "UNEXPECTED"),
        ("CALLBACK", str(callbacks[2].pk), None),
    ]
    assert [row.agent_id for row in await Callback.all().order_by("id")] == [bia.pk, ana.pk, bia.pk]
    assert sorted(await MemberEvent.all().values_list("callback_id", flat=True)) == [callbacks[0].pk, callbacks[2].pk]


async def test_a_large_workload_moves_a_hundred_items_per_call(factory: Factory, outbound: Outbound, clock: Clock) -> None:
    # given: more pending callbacks than one call takes
    supervisor = await factory.user(Role.SUPERVISOR)
    ana = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(ana,))
    member = await outbound.member(campaign)
    await Callback.bulk_create([
        Callback(member_id=member.pk, campaign_id=campaign.pk, agent_id=ana.pk, due_at=clock.now + timedelta(days=1))
        for _ in range(MAX_ITEMS + 5)
    ])
    # when
    first = await factory.execute(REASSIGN, {"from": str(ana.pk)}, user=supervisor)
    second = await factory.execute(REASSIGN, {"from": str(ana.pk)}, user=supervisor)
    # then
    assert (len(first["agentWorkReassign"]["items"]), first["agentWorkReassign"]["remaining"]) == (MAX_ITEMS, 5)
    assert (len(second["agentWorkReassign"]["items"]), second["agentWorkReassign"]["remaining"]) == (5, 0)
    assert await Callback.filter(agent_id=ana.pk, status=CallbackStatus.PENDING).count() == 0
