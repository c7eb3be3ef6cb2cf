"""The demo is written through the use cases the API runs, so it agrees with them (issue 17)."""

import re
from datetime import timedelta

from contato.seed import seed_demo
from contato.settings import Settings
from models.campaign import Campaign, CampaignMember, CampaignScript, QueueStatus
from models.operation import Callback, CallbackStatus, Operation
from models.outbound import ContactResult, ScriptAnswer
from models.ticket import Ticket
from tests.factories import Factory
from tests.outbound_factories import Clock


async def test_the_demo_agrees_with_the_use_cases(factory: Factory, settings: Settings, clock: Clock) -> None:
    # when: seeded twice (a Wednesday afternoon, by the pinned clock)
    await seed_demo(settings)
    counts = (await Ticket.all().count(), await Operation.all().count(), await Callback.all().count())
    await seed_demo(settings)
    # then: idempotent
    assert (await Ticket.all().count(), await Operation.all().count(), await Callback.all().count()) == counts
    # ticket numbers are the year's sequence ticketOpen uses, not a DEMO- series
    numbers = sorted(await Ticket.all().values_list("number", flat=True))
    assert numbers and all(re.fullmatch(r"\d{4}-\d{6}", number) for number in numbers), numbers
    assert [int(number[-6:]) for number in numbers] == list(range(1, len(numbers) + 1))
    # the demo campaign calls all day, Monday to Saturday
    campaign = await Campaign.get(name="Renovação de seguros")
    assert (campaign.weekday_start_minute, campaign.weekday_end_minute) == (0, 24 * 60)
    assert (campaign.saturday_start_minute, campaign.saturday_end_minute) == (0, 24 * 60)
    # every operation is its member's last, at the time the member says it was acted on
    operations = await Operation.filter(campaign_id=campaign.pk)
    assert len(operations) == 16
    for operation in operations:
        member = await CampaignMember.get(id=operation.member_id)
        assert (member.last_operation_id, member.last_acted_at, member.attempts) == (operation.pk, clock(), 1)
        assert operation.local_date == clock.today
    # a SCHEDULE operation carries its callback's time; the callback opens 30 minutes after it is due
    scheduled = [operation for operation in operations if operation.result_kind == "SCHEDULE"]
    assert scheduled
    for operation in scheduled:
        callback = await Callback.get(operation_id=operation.pk)
        member = await CampaignMember.get(id=operation.member_id)
        assert operation.callback_at == callback.due_at
        assert callback.status == CallbackStatus.PENDING and callback.agent_id == operation.agent_id
        assert callback.opens_at == callback.due_at + timedelta(minutes=30)
        assert (member.status, member.next_callback_id, member.due_at) == (
            QueueStatus.SCHEDULED, callback.pk, callback.due_at
        )
        assert (member.reserved_agent_id, member.reserved_until) == (callback.agent_id, callback.opens_at)
    # the agent chooses between two scripts; contacted members' operations carry the questions' answers
    scripts = await CampaignScript.filter(campaign_id=campaign.pk).order_by("position").values_list("script_id", flat=True)
    assert len(scripts) == 2 and scripts[0] == campaign.script_id
    answered = [operation for operation in operations if operation.script_id == scripts[1]]
    busy = await ContactResult.get(name="Ocupado / não atende")
    assert {operation.pk for operation in answered} == {op.pk for op in operations if op.result_id != busy.pk}
    assert await ScriptAnswer.filter(operation_id__in=[operation.pk for operation in answered]).count() >= len(answered)
