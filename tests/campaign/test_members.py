import asyncio

import orjson

from models.campaign import CampaignMember
from models.event import Event
from models.person import PersonStage
from models.user import Role
from realtime.broadcast import create_broadcast
from realtime.events import EVENTS_CHANNEL
from resolvers.campaign import members as members_module
from resolvers.context import Context
from tests.factories import Factory
from tests.outbound_factories import Outbound

MEMBERS_ADD = """
mutation Add($campaignId: ID!, $personIds: [ID!], $filter: CampaignMemberFilter) {
  campaignMembersAdd(campaignId: $campaignId, personIds: $personIds, filter: $filter) {
    __typename
    ... on MembersAddPayload { added skippedExisting skippedDoNotCall skippedUnknown }
    ... on CampaignError { code field }
  }
}
"""
MOVE = """
mutation Move($memberId: ID!, $stageId: ID!) {
  campaignMemberMove(memberId: $memberId, stageId: $stageId) {
    __typename ... on CampaignMember { stage { name } } ... on CampaignError { code field }
  }
}
"""
ASSIGN = """
mutation Assign($memberId: ID!, $agentId: ID) {
  campaignMemberAssign(memberId: $memberId, agentId: $agentId) {
    __typename ... on CampaignMember { assignedAgent { id } } ... on CampaignError { code field }
  }
}
"""


async def test_add_by_ids_skips_members_do_not_call_and_unknown_ids(factory: Factory, outbound: Outbound) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    inside = await factory.person(name="inside")
    await outbound.member(campaign, inside)
    fresh = await factory.person(name="fresh")
    blocked = await factory.person(name="blocked")
    blocked.do_not_call = True
    await blocked.save()
    ids = [str(inside.pk), str(fresh.pk), str(blocked.pk), "999999"]
    # when
    data = await factory.execute(MEMBERS_ADD, {"campaignId": str(campaign.pk), "personIds": ids}, user=supervisor)
    # then
    assert data["campaignMembersAdd"] == {
        "__typename": "MembersAddPayload", "added": 1, "skippedExisting": 1, "skippedDoNotCall": 1, "skippedUnknown": 1,
    }
    member = await CampaignMember.get(person_id=fresh.pk)
    assert member.stage_id == (await outbound.stage(campaign, 1)).pk
    event = await Event.get(kind="MEMBERS_ADDED")
    assert (event.entity, event.entity_id, event.campaign_id) == ("campaign", campaign.pk, campaign.pk)
    assert event.data == {"added": 1, "skipped": 3}


async def test_adding_members_is_published_live_after_the_commit(factory: Factory, outbound: Outbound) -> None:
    # given: a wallboard listening on the real in-process broadcast
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    people = [await factory.person(name=f"P{index}") for index in range(3)]
    hub = create_broadcast("memory://")
    await hub.connect()
    try:
        async with hub.subscribe(EVENTS_CHANNEL) as subscriber:
            context = Context(settings=factory.settings, user=supervisor, broadcast=hub)
            # when
            result = await factory.schema.execute(
                MEMBERS_ADD,
                variable_values={"campaignId": str(campaign.pk), "personIds": [str(p.pk) for p in people]},
                context_value=context,
            )
            # then
            assert result.errors is None and result.data is not None
            assert result.data["campaignMembersAdd"]["added"] == 3
            async with asyncio.timeout(2):
                message = await subscriber.get()
    finally:
        await hub.disconnect()
    published = orjson.loads(message.message)
    stored = await Event.get(kind="MEMBERS_ADDED")
    assert published["cursor"] == stored.cursor
    assert (published["kind"], published["entity"], published["entity_id"], published["campaign_id"]) == (
        "MEMBERS_ADDED", "campaign", campaign.pk, campaign.pk
    )
    assert published["data"] == {"added": 3, "skipped": 0}


async def test_adding_nobody_records_no_event(factory: Factory, outbound: Outbound) -> None:
    # given: everyone is already in the campaign or on the do-not-call list
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    inside = await factory.person(name="inside")
    await outbound.member(campaign, inside)
    blocked = await factory.person(name="blocked")
    blocked.do_not_call = True
    await blocked.save()
    # when
    data = await factory.execute(
        MEMBERS_ADD, {"campaignId": str(campaign.pk), "personIds": [str(inside.pk), str(blocked.pk)]}, user=supervisor
    )
    # then
    assert data["campaignMembersAdd"]["added"] == 0
    assert await Event.all().count() == 0


async def test_add_by_filter_works_in_batches(factory: Factory, outbound: Outbound, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # given: batches of 2 over 7 prospects
    monkeypatch.setattr(members_module, "BATCH", 2)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    for index in range(7):
        await factory.person(name=f"Prospect {index}", stage=PersonStage.PROSPECT)
    await factory.person(name="Suspect", stage=PersonStage.SUSPECT)
    await outbound.member(campaign, await factory.person(name="Already", stage=PersonStage.PROSPECT))
    # when
    data = await factory.execute(
        MEMBERS_ADD, {"campaignId": str(campaign.pk), "filter": {"stage": "PROSPECT"}}, user=supervisor
    )
    # then
    assert data["campaignMembersAdd"]["added"] == 7
    assert data["campaignMembersAdd"]["skippedExisting"] == 1
    assert await CampaignMember.filter(campaign_id=campaign.pk).count() == 8
    # one event for the whole addition, however many batches it took
    assert [(e.kind, e.data) for e in await Event.all()] == [("MEMBERS_ADDED", {"added": 7, "skipped": 1})]


async def test_add_refusals(factory: Factory, outbound: Outbound) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign()
    variables = {"campaignId": str(campaign.pk)}
    cases = [
        ({**variables, "personIds": [str(n) for n in range(1, 102)]}, supervisor, "TOO_MANY_IDS"),
        (variables, supervisor, "PERSONS_REQUIRED"),
        ({**variables, "personIds": ["1"], "filter": {}}, supervisor, "PERSONS_REQUIRED"),
        ({"campaignId": "999999", "personIds": ["1"]}, supervisor, "NOT_FOUND"),
        ({**variables, "personIds": ["1"]}, agent, "FORBIDDEN"),
    ]
    for values, user, code in cases:
        data = await factory.execute(MEMBERS_ADD, values, user=user)
        assert data["campaignMembersAdd"]["code"] == code, values
    assert await CampaignMember.all().count() == 0
    assert await Event.all().count() == 0


async def test_move_and_assign_stay_inside_the_campaign(factory: Factory, outbound: Outbound) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    agent, outsider = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    member = await outbound.member(campaign)
    proposal = await outbound.stage(campaign, 2)
    foreign = await outbound.stage(await outbound.campaign(), 2)
    ids = {"memberId": str(member.pk)}
    # when / then
    moved = await factory.execute(MOVE, {**ids, "stageId": str(proposal.pk)}, user=supervisor)
    assert moved["campaignMemberMove"] == {"__typename": "CampaignMember", "stage": {"name": "Proposal"}}
    wrong = await factory.execute(MOVE, {**ids, "stageId": str(foreign.pk)}, user=supervisor)
    assert wrong["campaignMemberMove"] == {"__typename": "CampaignError", "code": "STAGE_NOT_IN_CAMPAIGN", "field": "stageId"}
    assigned = await factory.execute(ASSIGN, {**ids, "agentId": str(agent.pk)}, user=supervisor)
    assert assigned["campaignMemberAssign"]["assignedAgent"] == {"id": str(agent.pk)}
    refused = await factory.execute(ASSIGN, {**ids, "agentId": str(outsider.pk)}, user=supervisor)
    assert refused["campaignMemberAssign"]["code"] == "AGENT_NOT_ASSIGNED"
    by_agent = await factory.execute(ASSIGN, {**ids, "agentId": None}, user=agent)
    assert by_agent["campaignMemberAssign"]["code"] == "FORBIDDEN"
    assert [e.kind for e in await Event.all().order_by("cursor")] == ["MEMBER_UPDATED", "MEMBER_UPDATED"]
    assert (await CampaignMember.get(id=member.pk)).assigned_agent_id == agent.pk


REMOVE = """
mutation Remove($memberId: ID!) {
  campaignMemberRemove(memberId: $memberId) {
    __typename ... on CampaignMember { id status claimedBy { id } nextCallback { id } }
    ... on CampaignError { code field }
  }
}
"""


async def test_removing_a_member_cancels_its_pending_callbacks_in_one_transaction(
    factory: Factory, outbound: Outbound
) -> None:
    # given: a member held by an agent, with a pending callback and a done one
    from models.campaign import QueuePriority, QueueStatus
    from models.operation import Callback, CallbackStatus, Operation

    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    member = await outbound.claimed(campaign, agent)
    operation = await Operation.create(
        member=member, campaign=campaign, person_id=member.person_id, agent=agent, attempt=1,
        local_date=outbound.clock.today, no_contact=True,
    )
    due = outbound.clock.local(days=1)
    pending = await Callback.create(member=member, campaign=campaign, agent=agent, operation=operation, due_at=due)
    done = await Callback.create(
        member=member, campaign=campaign, agent=agent, due_at=due, status=CallbackStatus.DONE
    )
    await CampaignMember.filter(id=member.pk).update(
        status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=due, next_callback_id=pending.pk
    )
    # when
    data = await factory.execute(REMOVE, {"memberId": str(member.pk)}, user=supervisor)
    # then
    assert data["campaignMemberRemove"] == {
        "__typename": "CampaignMember", "id": str(member.pk), "status": "REMOVED", "claimedBy": None,
        "nextCallback": None,
    }
    assert (await Callback.get(id=pending.pk)).status == CallbackStatus.CANCELLED
    assert (await Callback.get(id=pending.pk)).closed_at is not None
    assert (await Callback.get(id=done.pk)).status == CallbackStatus.DONE
    assert await Operation.filter(member_id=member.pk).count() == 1
    events = await Event.all().order_by("id").values_list("kind", "entity_id", "data")
    assert events == [
        ("CALLBACK_CANCELLED", pending.pk, {"member_id": member.pk, "reason": "MEMBER_REMOVED"}),
        ("MEMBER_REMOVED", member.pk, {"cancelled_callbacks": [pending.pk]}),
    ]
    # the agent who held it can no longer record on it; nobody's queue offers it
    sale = await outbound.result()
    recorded = await factory.execute(
        """mutation($input: OperationRecordInput!) { operationRecord(input: $input) {
             __typename ... on OperationError { code } } }""",
        {"input": {"memberId": str(member.pk), "resultId": str(sale.pk)}}, user=agent,
    )
    assert recorded["operationRecord"] == {"__typename": "OperationError", "code": "MEMBER_REMOVED"}
    again = await factory.execute(REMOVE, {"memberId": str(member.pk)}, user=supervisor)
    assert again["campaignMemberRemove"] == {"__typename": "CampaignError", "code": "MEMBER_REMOVED", "field": "memberId"}


async def test_remove_refusals_and_adding_a_removed_person_back(factory: Factory, outbound: Outbound) -> None:
    # given
    from models.campaign import QueueStatus

    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    member = await outbound.member(campaign)
    # when / then
    refused = await factory.execute(REMOVE, {"memberId": str(member.pk)}, user=agent)
    assert refused["campaignMemberRemove"] == {"__typename": "CampaignError", "code": "FORBIDDEN", "field": None}
    missing = await factory.execute(REMOVE, {"memberId": "999999"}, user=supervisor)
    assert missing["campaignMemberRemove"] == {"__typename": "CampaignError", "code": "NOT_FOUND", "field": "memberId"}
    await factory.execute(REMOVE, {"memberId": str(member.pk)}, user=supervisor)
    assert await Event.filter(kind="CALLBACK_CANCELLED").count() == 0
    back = await factory.execute(
        MEMBERS_ADD, {"campaignId": str(campaign.pk), "personIds": [str(member.person_id)]}, user=supervisor
    )
    assert back["campaignMembersAdd"]["added"] == 1
    assert (await CampaignMember.get(id=member.pk)).status == QueueStatus.NOT_ACTED
    assert await CampaignMember.filter(campaign_id=campaign.pk).count() == 1
