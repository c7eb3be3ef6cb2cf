"""`contato seed --size`: the scale data set's outbound part is what operationRecord would have left behind."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from tortoise import connections

from contato.seed import SizeReport, seed_demo, seed_size
from contato.seed_volume import OutboundPlan
from contato.settings import Settings
from models.campaign import Campaign, CampaignMember, QueuePriority, QueueStatus
from models.operation import Callback, CallbackStatus, Operation
from models.outbound import ContactResult, ResultKind
from models.person import Person
from models.user import User
from resolvers.campaign import rules
from tests.factories import Factory
from tests.outbound_factories import Clock

SIZE = 60

QUEUE_PAGE = """
query QueuePage($campaignId: ID!, $first: Int, $after: String) {
  campaignQueue(campaignId: $campaignId, first: $first, after: $after) { ... on CampaignMemberConnection {
    edges { node {
      id status attempts dueAt
      person { name document phones }
      stage { name }
      lastOperation { createdAt notes result { name kind } agent { name } }
      nextCallback { dueAt status }
    } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""


async def seeded(settings: Settings, size: int = SIZE, operations: int | None = None) -> SizeReport:
    await seed_demo(settings)
    return await seed_size(settings, size, operations, chunk=25, quiet=True)


async def generated_members() -> list[CampaignMember]:
    return list(await CampaignMember.filter(campaign__name__startswith="Campanha gerada").order_by("id"))


async def test_seed_size_makes_persons_members_history_and_tickets_in_one_call(
    factory: Factory, settings: Settings, clock: Clock
) -> None:
    # when
    report = await seeded(settings)
    # then
    assert report == SizeReport(
        persons=SIZE, members=SIZE, operations=5 * SIZE, callbacks=report.callbacks, tickets=SIZE,
        messages=12 * SIZE,
    )
    members = await generated_members()
    assert len(members) == SIZE
    assert await Operation.filter(member_id__in=[m.pk for m in members]).count() == 5 * SIZE
    assert report.callbacks == await Callback.filter(member_id__in=[m.pk for m in members]).count() > 0
    assert {m.person_id for m in members} == set(
        await Person.filter(id__in=[m.person_id for m in members]).values_list("id", flat=True)
    )


async def test_the_operations_option_sets_the_total_exactly(
    factory: Factory, settings: Settings, clock: Clock
) -> None:
    report = await seeded(settings, size=45, operations=77)
    members = await generated_members()
    assert report.operations == 77
    assert await Operation.filter(member_id__in=[m.pk for m in members]).count() == 77


def test_the_plan_gives_every_campaign_worked_and_fresh_members_and_exact_totals() -> None:
    # given
    plan = OutboundPlan(persons=100_003, operations=500_017)
    # when
    attempts = [plan.attempts(p) for p in range(plan.persons)]
    per_campaign: dict[int, list[int]] = defaultdict(list)
    for p, count in enumerate(attempts):
        per_campaign[plan.campaign(p)].append(count)
    # then
    assert sum(attempts) == 500_017 and plan.campaigns == 10
    assert sum(1 for count in attempts if count) == plan.worked
    assert 1 <= min(count for count in attempts if count) and max(attempts) < 2 * 500_017 / plan.worked + 2
    for counts in per_campaign.values():
        assert abs(len(counts) - 10_000) <= 5
        assert 0.19 < sum(1 for count in counts if count == 0) / len(counts) < 0.21
    do_not_call = [p for p in range(plan.persons) if plan.do_not_call(p)]
    assert all(not attempts[p] for p in do_not_call)
    assert 0 < len(do_not_call) < plan.persons / 200
    assert max(Counter(plan.campaign(p) for p in do_not_call).values()) < 2000 / plan.campaigns


async def test_every_member_is_in_the_state_its_history_leads_to(
    factory: Factory, settings: Settings, clock: Clock
) -> None:
    # given
    await seeded(settings)
    now = clock()
    zone = settings.zone
    members = await generated_members()
    campaigns = {c.pk: c for c in await Campaign.filter(id__in={m.campaign_id for m in members})}
    results = {r.pk: r for r in await ContactResult.all()}
    operations: dict[int, list[Operation]] = defaultdict(list)
    for operation in await Operation.filter(member_id__in=[m.pk for m in members]).order_by("id"):
        operations[operation.member_id].append(operation)
    callbacks: dict[int, list[Callback]] = defaultdict(list)
    for callback in await Callback.filter(member_id__in=[m.pk for m in members]).order_by("id"):
        callbacks[callback.member_id].append(callback)
    do_not_call = set(await Person.filter(do_not_call=True).values_list("id", flat=True))
    seen_states: set[str] = set()
    pending_dues: list[datetime] = []
    # then
    for member in members:
        campaign, history = campaigns[member.campaign_id], operations[member.pk]
        assert member.attempts == len(history)
        if not history:
            assert (member.status, member.priority) == (QueueStatus.NOT_ACTED, QueuePriority.NEW.value)
            assert member.last_operation_id is None and member.next_callback_id is None and member.due_at is None
            assert not callbacks[member.pk]
            seen_states.add("not acted")
            continue
        assert member.person_id not in do_not_call
        assert [o.attempt for o in history] == list(range(1, len(history) + 1))
        assert all(a.created_at < b.created_at for a, b in itertools.pairwise(history))
        assert all(rules.within_calling_hours(campaign, o.created_at, zone) for o in history)
        assert all(o.local_date == o.created_at.astimezone(zone).date() for o in history)
        assert history[-1].created_at < now and campaign.start_date <= history[0].local_date
        last = history[-1]
        assert (member.last_operation_id, member.last_acted_at) == (last.pk, last.created_at)
        for operation in history[:-1]:  # earlier attempts left the member open, under their limits
            result = results.get(operation.result_id) if operation.result_id else None
            assert operation.no_contact == (result is None)
            if result is None:
                assert operation.attempt < campaign.max_attempts
            elif result.kind != ResultKind.SCHEDULE:
                assert result.recycle_after_minutes is not None
                assert operation.attempt < min(campaign.max_attempts, result.recycle_max_attempts or 10**6)
        by_operation = {c.operation_id: c for c in callbacks[member.pk]}
        assert len(by_operation) == len(callbacks[member.pk])
        for index, operation in enumerate(history):
            result = results.get(operation.result_id) if operation.result_id else None
            if result is None or result.kind != ResultKind.SCHEDULE:
                assert operation.pk not in by_operation and operation.callback_at is None
                continue
            callback = by_operation[operation.pk]
            assert callback.due_at == operation.callback_at and callback.due_at > operation.created_at
            assert rules.within_calling_hours(campaign, callback.due_at, zone)
            if operation is last:
                assert callback.status == CallbackStatus.PENDING and callback.closed_at is None
            else:  # the next attempt honoured it
                assert callback.status == CallbackStatus.DONE
                assert callback.closed_at == callback.due_at == history[index + 1].created_at
        result = results.get(last.result_id) if last.result_id else None
        if result is not None and result.kind == ResultKind.SCHEDULE:
            pending = by_operation[last.pk]
            assert (member.status, member.priority) == (QueueStatus.SCHEDULED, QueuePriority.CALLBACK.value)
            assert (member.next_callback_id, member.due_at) == (pending.pk, pending.due_at)
            assert member.reserved_agent_id == pending.agent_id
            opens = campaign.callback_opens_after_minutes
            if pending.agent_id is not None and opens is not None:
                assert member.reserved_until == pending.due_at + timedelta(minutes=opens) == pending.opens_at
            else:
                assert member.reserved_until is None and pending.opens_at is None
            assert (pending.alerted_at is not None) == (pending.due_at <= now)
            pending_dues.append(pending.due_at)
            seen_states.add("callback")
            continue
        assert member.next_callback_id is None
        limit = campaign.max_attempts
        if result is not None and result.recycle_after_minutes:
            limit = min(limit, result.recycle_max_attempts or limit)
        recycles = result is None or (result.kind == ResultKind.FAILURE and result.recycle_after_minutes is not None)
        if recycles and member.attempts < limit:
            assert (member.status, member.priority) == (QueueStatus.SCHEDULED, QueuePriority.RECYCLE.value)
            assert member.due_at is not None and member.due_at > last.created_at
            seen_states.add("recycled")
        else:
            assert (member.status, member.priority, member.due_at) == (
                QueueStatus.CONCLUDED, QueuePriority.DONE.value, None
            )
            seen_states.add("concluded")
    assert seen_states == {"not acted", "callback", "recycled", "concluded"}
    assert any(due <= now for due in pending_dues) and any(due > now for due in pending_dues)
    assert OutboundPlan(SIZE, 5 * SIZE).worked == sum(1 for m in members if m.attempts)


async def test_the_queue_pages_render_the_generated_campaign_with_history_and_callbacks(
    factory: Factory, settings: Settings, clock: Clock
) -> None:
    # given
    await seeded(settings)
    agent = await User.get(email="agent@contato.dev")
    campaign = await Campaign.get(name="Campanha gerada 1")
    now = clock()
    callable_now = [
        m.pk for m in await CampaignMember.filter(campaign_id=campaign.pk).prefetch_related("person")
        if m.status != QueueStatus.CONCLUDED and not m.person.do_not_call and (m.due_at is None or m.due_at <= now)
        and (m.reserved_agent_id in (None, agent.pk) or (m.reserved_until is not None and m.reserved_until <= now))
    ]
    # when
    nodes: list[dict] = []
    after = None
    while True:
        data = await factory.execute(QUEUE_PAGE, {"campaignId": str(campaign.pk), "first": 7, "after": after},
                                     user=agent)
        nodes += [edge["node"] for edge in data["campaignQueue"]["edges"]]
        after = data["campaignQueue"]["pageInfo"]["endCursor"]
        if not data["campaignQueue"]["pageInfo"]["hasNextPage"]:
            break
    # then
    assert sorted(int(node["id"]) for node in nodes) == sorted(callable_now)
    assert nodes[0]["nextCallback"]["status"] == "PENDING" and nodes[0]["lastOperation"] is not None
    kinds = ["callback" if node["nextCallback"] else "recycled" if node["lastOperation"] else "new" for node in nodes]
    assert kinds == sorted(kinds, key=["callback", "new", "recycled"].index) and set(kinds) == {
        "callback", "new", "recycled"
    }
    assert all(node["person"]["document"] and node["stage"] == {"name": "Contato"} for node in nodes)


async def test_seeding_again_adds_nothing(factory: Factory, settings: Settings, clock: Clock) -> None:
    # given
    await seeded(settings)
    before = [await model.all().count() for model in (Person, CampaignMember, Operation, Callback)]
    # when
    again = await seeded(settings)
    # then
    assert again == SizeReport()
    assert [await model.all().count() for model in (Person, CampaignMember, Operation, Callback)] == before


async def test_a_larger_size_adds_only_the_missing_persons(
    factory: Factory, settings: Settings, clock: Clock
) -> None:
    # given
    await seeded(settings, size=30)
    # when
    report = await seeded(settings, size=SIZE)
    # then
    assert report.persons == report.members == SIZE - 30
    assert len({m.person_id for m in await generated_members()}) == SIZE


async def schema_objects() -> list[str]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        rows = await connection.execute_query_dict(
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) AS definition "
            "FROM pg_constraint WHERE connamespace = 'public'::regnamespace "
            "UNION ALL SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        )
    else:
        rows = await connection.execute_query_dict(
            "SELECT sql AS definition FROM sqlite_master WHERE sql IS NOT NULL ORDER BY 1"
        )
    return [row["definition"] for row in rows]


async def test_a_bulk_load_leaves_every_key_and_index_as_the_migrations_made_them(
    factory: Factory, settings: Settings, clock: Clock
) -> None:
    # given
    before = await schema_objects()
    # when (on PostgreSQL, keys and indexes are dropped for the load and made again)
    await seed_demo(settings)
    report = await seed_size(settings, SIZE, chunk=25, quiet=True, bulk_threshold=0)
    # then
    assert report.operations == 5 * SIZE
    assert await schema_objects() == before
