from datetime import UTC, timedelta

import pytest

from models.campaign import CallbackPolicy, CampaignMember, QueuePriority, QueueStatus
from models.event import Event
from models.operation import Callback, CallbackStatus, Operation
from models.outbound import ResultKind
from models.user import Role
from resolvers.operation import record as record_module
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound

OPERATION_RECORD = """
mutation OperationRecord($input: OperationRecordInput!) {
  operationRecord(input: $input) {
    __typename
    ... on Operation {
      id attempt notes noContact
      result { name kind }
      justification { name }
      member { status attempts claimedBy { id } nextCallback { dueAt status agent { id } } }
    }
    ... on OperationError { code field message }
  }
}
"""


OPENS_AT = """
mutation OperationRecord($input: OperationRecordInput!) {
  operationRecord(input: $input) {
    __typename ... on Operation { member { nextCallback { dueAt opensAt } } } ... on OperationError { code field }
  }
}
"""


async def _member_state(member_id: int) -> CampaignMember:
    return await CampaignMember.get(id=member_id)


async def _nothing_written(member: CampaignMember) -> None:
    assert await Operation.all().count() == 0
    assert await Event.all().count() == 0
    after = await _member_state(member.pk)
    assert (after.attempts, after.status, after.claimed_by_id) == (
        member.attempts, member.status, member.claimed_by_id
    )


async def test_success_concludes_the_member_and_releases_the_claim(factory: Factory, outbound: Outbound) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    reason = await outbound.justification(sale, name="Bom preço")
    member = await outbound.claimed(campaign, agent)
    # when
    data = await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(sale.pk), "justificationId": str(reason.pk),
                   "notes": " cliente satisfeito "}},
        user=agent,
    )
    # then
    result = data["operationRecord"]
    assert result["__typename"] == "Operation"
    assert result["attempt"] == 1 and result["notes"] == "cliente satisfeito"
    assert result["justification"] == {"name": "Bom preço"}
    assert result["member"] == {"status": "CONCLUDED", "attempts": 1, "claimedBy": None, "nextCallback": None}
    kinds = [event.kind for event in await Event.all().order_by("cursor")]
    assert kinds == ["OPERATION_RECORDED"]
    event = await Event.get(kind="OPERATION_RECORDED")
    assert (event.entity, event.entity_id, event.campaign_id, event.agent_id) == ("member", member.pk, campaign.pk, agent.pk)
    assert event.data == {"operation_id": int(result["id"]), "result_kind": "SUCCESS"}


async def test_schedule_creates_a_pending_callback_and_a_later_operation_closes_it(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    later = await outbound.result(ResultKind.SCHEDULE)
    sale = await outbound.result(ResultKind.SUCCESS)
    member = await outbound.claimed(campaign, agent)
    due = clock.local(days=1, hour=10)
    # when
    data = await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "callbackAt": due.isoformat()}},
        user=agent,
    )
    # then
    member_data = data["operationRecord"]["member"]
    assert member_data["status"] == "SCHEDULED"
    assert member_data["nextCallback"]["status"] == "PENDING"
    assert member_data["nextCallback"]["agent"] == {"id": str(agent.pk)}
    stored = await _member_state(member.pk)
    assert (stored.priority, stored.due_at, stored.reserved_agent_id) == (QueuePriority.CALLBACK, due, agent.pk)
    callback = await Callback.get(member_id=member.pk)
    assert callback.alerted_at is None
    # when: the callback comes due and the agent records the result
    clock.now = due + timedelta(minutes=1)
    await CampaignMember.filter(id=member.pk).update(claimed_by_id=agent.pk, claim_expires_at=due + timedelta(minutes=10))
    data = await factory.execute(
        OPERATION_RECORD, {"input": {"memberId": str(member.pk), "resultId": str(sale.pk)}}, user=agent
    )
    # then
    assert data["operationRecord"]["attempt"] == 2
    assert (await Callback.get(id=callback.pk)).status == CallbackStatus.DONE
    kinds = [event.kind for event in await Event.all().order_by("cursor")]
    assert kinds == ["CALLBACK_SCHEDULED", "OPERATION_RECORDED", "CALLBACK_DONE", "OPERATION_RECORDED"]


@pytest.mark.parametrize(
    ("policy", "opens_after", "callback_for", "opens_in"),
    [
        (CallbackPolicy.USER_ONLY, 30, "ME", 30),
        (CallbackPolicy.USER_ONLY, 0, "ME", 0),
        (CallbackPolicy.USER_ONLY, 30, "ANYONE", None),
        (CallbackPolicy.USER_ONLY, None, "ME", None),
        # Under ANYONE a callback for me is mine until it falls due (plus the delay), then open.
        (CallbackPolicy.ANYONE, 30, "ME", 30),
        (CallbackPolicy.ANYONE, None, "ME", 0),
        (CallbackPolicy.ANYONE, None, "ANYONE", None),
    ],
)
async def test_an_agents_own_callback_opens_to_anyone_after_the_campaigns_delay(
    factory: Factory, outbound: Outbound, clock: Clock,
    policy: CallbackPolicy, opens_after: int | None, callback_for: str, opens_in: int | None,
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(
        agents=(agent,), callback_policy=policy, callback_opens_after_minutes=opens_after
    )
    later = await outbound.result(ResultKind.SCHEDULE)
    member = await outbound.claimed(campaign, agent)
    due = clock.local(days=1, hour=10)
    # when
    data = await factory.execute(
        OPENS_AT,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "callbackAt": due.isoformat(),
                   "callbackFor": callback_for}},
        user=agent,
    )
    # then
    expected = None if opens_in is None else due + timedelta(minutes=opens_in)
    callback = await Callback.get(member_id=member.pk)
    assert callback.opens_at == expected
    shown = data["operationRecord"]["member"]["nextCallback"]["opensAt"]
    assert shown == (expected.astimezone(UTC).isoformat() if expected else None)
    stored = await _member_state(member.pk)
    if callback_for == "ME":
        assert (stored.reserved_agent_id, stored.reserved_until) == (agent.pk, expected)
    else:
        assert stored.reserved_agent_id is None


async def test_failure_with_a_recycle_rule_retries_until_its_attempts_run_out(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: "busy" retries after 30 minutes, at most 2 attempts
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), max_attempts=5)
    busy = await outbound.result(ResultKind.FAILURE, recycle_after_minutes=30, recycle_max_attempts=2)
    member = await outbound.claimed(campaign, agent)
    # when
    await factory.execute(OPERATION_RECORD, {"input": {"memberId": str(member.pk), "resultId": str(busy.pk)}}, user=agent)
    # then
    stored = await _member_state(member.pk)
    assert (stored.status, stored.priority, stored.attempts) == (QueueStatus.SCHEDULED, QueuePriority.RECYCLE, 1)
    assert stored.due_at == clock.now + timedelta(minutes=30)
    # when: the second attempt fails the same way
    await CampaignMember.filter(id=member.pk).update(claimed_by_id=agent.pk, claim_expires_at=clock.now + timedelta(minutes=5))
    await factory.execute(OPERATION_RECORD, {"input": {"memberId": str(member.pk), "resultId": str(busy.pk)}}, user=agent)
    # then
    stored = await _member_state(member.pk)
    assert (stored.status, stored.attempts, stored.due_at) == (QueueStatus.CONCLUDED, 2, None)


async def test_recycling_after_hours_moves_to_the_next_calling_window(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: 20:50 on a Friday; retry in 30 minutes falls after 21:00
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), saturday_start_minute=None, saturday_end_minute=None)
    busy = await outbound.result(ResultKind.FAILURE, recycle_after_minutes=30)
    monday_morning = clock.local(days=5, hour=9)
    clock.now = clock.local(days=2, hour=20, minute=50)
    member = await outbound.claimed(campaign, agent)
    # when
    await factory.execute(OPERATION_RECORD, {"input": {"memberId": str(member.pk), "resultId": str(busy.pk)}}, user=agent)
    # then: no Saturday window, so Monday 09:00
    assert (await _member_state(member.pk)).due_at == monday_morning


async def test_no_contact_retries_after_the_campaign_delay_and_concludes_at_max_attempts(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), max_attempts=1, retry_after_minutes=15)
    reason = await outbound.reason()
    member = await outbound.claimed(campaign, agent)
    other = await outbound.claimed(await outbound.campaign(agents=(agent,), retry_after_minutes=15), agent)
    no_contact = {"noContact": True, "noContactReasonId": str(reason.pk)}
    await factory.execute(OPERATION_RECORD, {"input": {"memberId": str(member.pk), **no_contact}}, user=agent)
    await factory.execute(OPERATION_RECORD, {"input": {"memberId": str(other.pk), **no_contact}}, user=agent)
    assert (await _member_state(member.pk)).status == QueueStatus.CONCLUDED
    retried = await _member_state(other.pk)
    assert (retried.status, retried.due_at) == (QueueStatus.SCHEDULED, clock.now + timedelta(minutes=15))


async def test_no_contact_with_a_callback_for_anyone_is_not_reserved(
    factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    reason = await outbound.reason(requires_callback=True)
    member = await outbound.claimed(campaign, agent)
    data = await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "noContact": True, "noContactReasonId": str(reason.pk),
                   "callbackAt": clock.local(days=1).isoformat(), "callbackFor": "ANYONE"}},
        user=agent,
    )
    assert data["operationRecord"]["member"]["nextCallback"]["agent"] is None
    assert (await _member_state(member.pk)).reserved_agent_id is None


async def test_recording_can_move_the_member_to_a_stage_of_its_campaign(
    factory: Factory, outbound: Outbound
) -> None:
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    proposal = await outbound.stage(campaign, 2)
    foreign = await outbound.stage(await outbound.campaign(), 2)
    later = await outbound.result(ResultKind.FAILURE, recycle_after_minutes=10)
    member = await outbound.claimed(campaign, agent)
    refused = await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "stageId": str(foreign.pk)}},
        user=agent,
    )
    assert refused["operationRecord"]["code"] == "STAGE_NOT_IN_CAMPAIGN"
    await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "stageId": str(proposal.pk)}},
        user=agent,
    )
    assert (await _member_state(member.pk)).stage_id == proposal.pk


@pytest.mark.parametrize(
    ("case", "code", "field"),
    [
        ("justification_for_another_result", "JUSTIFICATION_NOT_ALLOWED", "justificationId"),
        ("schedule_without_callback", "CALLBACK_REQUIRED", "callbackAt"),
        ("reason_that_requires_a_callback", "CALLBACK_REQUIRED", "callbackAt"),
        ("callback_in_the_past", "CALLBACK_IN_PAST", "callbackAt"),
        ("callback_at_night", "OUTSIDE_CALLING_HOURS", "callbackAt"),
        ("callback_on_sunday", "OUTSIDE_CALLING_HOURS", "callbackAt"),
        ("callback_after_the_campaign_ends", "CALLBACK_AFTER_CAMPAIGN_END", "callbackAt"),
        ("callback_with_a_success", "CALLBACK_NOT_ALLOWED", "callbackAt"),
        ("no_contact_without_reason", "NO_CONTACT_REASON_REQUIRED", "noContactReasonId"),
        ("no_result", "RESULT_REQUIRED", "resultId"),
        ("unknown_result", "UNKNOWN_RESULT", "resultId"),
        ("deactivated_result", "INACTIVE_CATALOG_ENTRY", "resultId"),
        ("deactivated_justification", "INACTIVE_CATALOG_ENTRY", "justificationId"),
        ("deactivated_action_type", "INACTIVE_CATALOG_ENTRY", "actionTypeId"),
        ("deactivated_channel", "INACTIVE_CATALOG_ENTRY", "channelId"),
        ("deactivated_reason", "INACTIVE_CATALOG_ENTRY", "noContactReasonId"),
        ("unclaimed_member", "MEMBER_NOT_CLAIMED", "memberId"),
        ("member_claimed_by_another", "MEMBER_NOT_CLAIMED", "memberId"),
        ("expired_lease", "CLAIM_EXPIRED", "memberId"),
        ("concluded_member", "MEMBER_CONCLUDED", "memberId"),
        ("agent_not_assigned", "AGENT_NOT_ASSIGNED", "memberId"),
        ("inactive_campaign", "CAMPAIGN_INACTIVE", "campaignId"),
        ("campaign_not_started", "CAMPAIGN_NOT_STARTED", "campaignId"),
        ("campaign_ended", "CAMPAIGN_ENDED", "campaignId"),
        ("person_on_do_not_call", "PERSON_DO_NOT_CALL", "memberId"),
        ("unknown_member", "NOT_FOUND", "memberId"),
    ],
)
async def test_bad_input_is_a_typed_error_and_writes_nothing(
    factory: Factory, outbound: Outbound, clock: Clock, case: str, code: str, field: str
) -> None:
    # given
    agent = await factory.user(Role.AGENT)
    other_agent = await factory.user(Role.AGENT)
    campaign_fields = {
        "inactive_campaign": {"active": False},
        "campaign_not_started": {"start_date": clock.today + timedelta(days=1)},
        "campaign_ended": {"end_date": clock.today - timedelta(days=1)},
        "callback_after_the_campaign_ends": {"end_date": clock.today},
    }.get(case, {})
    assigned = () if case == "agent_not_assigned" else (agent, other_agent)
    campaign = await outbound.campaign(agents=assigned, **campaign_fields)
    sale = await outbound.result(ResultKind.SUCCESS)
    later = await outbound.result(ResultKind.SCHEDULE)
    member = await outbound.claimed(campaign, agent)
    tomorrow = clock.local(days=1, hour=10).isoformat()
    base = {"memberId": str(member.pk), "resultId": str(sale.pk)}
    if case == "justification_for_another_result":
        base["justificationId"] = str((await outbound.justification(later)).pk)
    elif case == "schedule_without_callback":
        base["resultId"] = str(later.pk)
    elif case == "reason_that_requires_a_callback":
        base = {"memberId": str(member.pk), "noContact": True,
                "noContactReasonId": str((await outbound.reason(requires_callback=True)).pk)}
    elif case in ("callback_in_the_past", "callback_at_night", "callback_on_sunday", "callback_after_the_campaign_ends"):
        when = {
            "callback_in_the_past": clock.now - timedelta(minutes=1),
            "callback_at_night": clock.local(days=1, hour=22),
            "callback_on_sunday": clock.local(days=4, hour=11),
            "callback_after_the_campaign_ends": clock.local(days=1, hour=10),
        }[case]
        base.update(resultId=str(later.pk), callbackAt=when.isoformat())
    elif case == "callback_with_a_success":
        base["callbackAt"] = tomorrow
    elif case == "no_contact_without_reason":
        base = {"memberId": str(member.pk), "noContact": True}
    elif case == "no_result":
        del base["resultId"]
    elif case == "unknown_result":
        base["resultId"] = "999999"
    elif case == "deactivated_result":
        base["resultId"] = str((await outbound.result(active=False)).pk)
    elif case == "deactivated_justification":
        base["justificationId"] = str((await outbound.justification(sale, active=False)).pk)
    elif case == "deactivated_action_type":
        base["actionTypeId"] = str((await outbound.action_type(active=False)).pk)
    elif case == "deactivated_channel":
        base["channelId"] = str((await outbound.channel(active=False)).pk)
    elif case == "deactivated_reason":
        base = {"memberId": str(member.pk), "noContact": True,
                "noContactReasonId": str((await outbound.reason(active=False)).pk)}
    elif case == "unclaimed_member":
        await CampaignMember.filter(id=member.pk).update(claimed_by_id=None, claim_expires_at=None)
    elif case == "member_claimed_by_another":
        await CampaignMember.filter(id=member.pk).update(claimed_by_id=other_agent.pk)
    elif case == "expired_lease":
        clock.advance(minutes=11)
    elif case == "concluded_member":
        await CampaignMember.filter(id=member.pk).update(status=QueueStatus.CONCLUDED)
    elif case == "person_on_do_not_call":
        await factory.execute(
            "mutation($id: ID!) { personUpdate(id: $id, input: {doNotCall: true}) { __typename } }",
            {"id": str(member.person_id)}, user=agent,
        )
    elif case == "unknown_member":
        base["memberId"] = "999999"
    member = await _member_state(member.pk)
    # when
    data = await factory.execute(OPERATION_RECORD, {"input": base}, user=agent)
    # then
    result = data["operationRecord"]
    assert result["__typename"] == "OperationError", result
    assert (result["code"], result["field"]) == (code, field), result["message"]
    assert result["message"]
    await _nothing_written(member)
    assert await Callback.all().count() == 0


async def test_a_failure_midway_leaves_nothing_written(
    factory: Factory, outbound: Outbound, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a member with a pending callback, and event recording that breaks at the last step
    agent = await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,))
    later = await outbound.result(ResultKind.SCHEDULE)
    member = await outbound.claimed(campaign, agent)
    await factory.execute(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "callbackAt": clock.local(days=1).isoformat()}},
        user=agent,
    )
    await CampaignMember.filter(id=member.pk).update(claimed_by_id=agent.pk, claim_expires_at=clock.now + timedelta(minutes=5))
    before = await _member_state(member.pk)
    events_before = await Event.all().count()
    original = record_module.record

    async def failing_record(connection, spec):  # type: ignore[no-untyped-def]
        if spec.kind == "OPERATION_RECORDED":
            raise RuntimeError("disk full")
        return await original(connection, spec)

    monkeypatch.setattr(record_module, "record", failing_record)
    # when
    result = await factory.execute_raw(
        OPERATION_RECORD,
        {"input": {"memberId": str(member.pk), "resultId": str(later.pk), "callbackAt": clock.local(days=2).isoformat()}},
        user=agent,
    )
    # then: a masked error, and the operation, both callbacks, the member and the events as they were
    assert result.errors[0].message == "Unexpected error."
    assert await Operation.all().count() == 1
    assert [cb.status for cb in await Callback.all()] == [CallbackStatus.PENDING]
    after = await _member_state(member.pk)
    assert (after.attempts, after.next_callback_id, after.claimed_by_id, after.due_at) == (
        before.attempts, before.next_callback_id, agent.pk, before.due_at
    )
    assert await Event.all().count() == events_before
