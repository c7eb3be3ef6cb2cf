"""Outbound demo data (idempotent) and outbound volume for `seed --size`."""

from __future__ import annotations

import logging
import random
from datetime import UTC, date, datetime, timedelta

from tortoise.transactions import in_transaction

from contato.settings import Settings
from models.campaign import (
    CallbackPolicy,
    Campaign,
    CampaignAgent,
    CampaignMember,
    CampaignStage,
    QueuePriority,
    QueueStatus,
)
from models.catalog import ContactChannel
from models.operation import Callback, Operation
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
from models.user import Role, User

RESULTS = (
    ("Venda realizada", ResultKind.SUCCESS, None, None),
    ("Sem interesse", ResultKind.FAILURE, None, None),
    ("Ocupado / não atende", ResultKind.FAILURE, 30, 3),
    ("Retornar depois", ResultKind.SCHEDULE, None, None),
)
JUSTIFICATIONS = (
    ("Preço adequado", ("Venda realizada",)),
    ("Preço alto", ("Sem interesse",)),
    ("Já possui o produto", ("Sem interesse",)),
    ("Pediu para retornar", ("Retornar depois",)),
)
REASONS = (("Não atende", False), ("Caixa postal", False), ("Número inexistente", False), ("Pediu retorno", True))
CHANNELS = ("Telefone", "WhatsApp", "E-mail")
SCRIPT = (
    "Abordagem renovação",
    "Bom dia, {person.firstName}! Aqui é {agent.name}, da campanha {campaign.name}. "
    "Confirmo seu CPF {person.document}? Temos uma condição especial de renovação para você.",
)
DEMO_CAMPAIGN = "Renovação de seguros"
logger = logging.getLogger("contato.seed")
STAGES = ("Contato inicial", "Proposta", "Fechamento")


async def _catalogs() -> tuple[dict[str, ContactResult], ActionType, list[NoContactReason]]:
    results = {}
    for name, kind, after, attempts in RESULTS:
        results[name], _ = await ContactResult.get_or_create(
            name=name, defaults={"kind": kind, "recycle_after_minutes": after, "recycle_max_attempts": attempts}
        )
    for name, result_names in JUSTIFICATIONS:
        justification, created = await Justification.get_or_create(name=name)
        if created:
            for result_name in result_names:
                await JustificationResult.create(justification=justification, result=results[result_name])
    reasons = [
        (await NoContactReason.get_or_create(name=name, defaults={"requires_callback": callback}))[0]
        for name, callback in REASONS
    ]
    for name in CHANNELS:
        await ContactChannel.get_or_create(name=name)
    script, _ = await Script.get_or_create(title=SCRIPT[0], defaults={"body": SCRIPT[1]})
    action, _ = await ActionType.get_or_create(name="Ligação ativa", defaults={"script": script})
    await ActionType.get_or_create(name="Mensagem WhatsApp")
    return results, action, reasons


async def seed_outbound_demo(settings: Settings) -> None:
    """Catalogs, one running campaign with members, operations and pending callbacks."""
    results, action, _ = await _catalogs()
    if await Campaign.filter(name=DEMO_CAMPAIGN).exists():
        return
    zone = settings.zone
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    agents = list(await User.filter(role=Role.AGENT, email__endswith="@contato.dev").order_by("id"))
    persons = list(await Person.filter(converted_to_id__isnull=True, do_not_call=False).order_by("id").limit(24))
    channel = await ContactChannel.get(name="Telefone")
    rng = random.Random(7)
    async with in_transaction() as connection:
        campaign = await Campaign.create(
            name=DEMO_CAMPAIGN, description="Clientes com apólice vencendo nos próximos 60 dias.",
            start_date=today - timedelta(days=7), end_date=today + timedelta(days=60),
            default_action_type=action, callback_policy=CallbackPolicy.USER_ONLY, callback_opens_after_minutes=30,
            max_attempts=3, saturday_start_minute=10 * 60, saturday_end_minute=16 * 60, using_db=connection,
        )
        stages = [
            await CampaignStage.create(campaign=campaign, name=name, position=index, using_db=connection)
            for index, name in enumerate(STAGES, start=1)
        ]
        for agent in agents:
            await CampaignAgent.create(campaign=campaign, agent=agent, using_db=connection)
        await Campaign.create(
            name="Pesquisa de satisfação", start_date=today + timedelta(days=14), using_db=connection,
        )
        for index, person in enumerate(persons):
            member = await CampaignMember.create(
                campaign=campaign, person=person, stage=stages[0], using_db=connection
            )
            if index < 8 or not agents:
                continue  # never acted
            agent = agents[index % len(agents)]
            when = now - timedelta(hours=rng.randrange(1, 72))
            kind = ("Venda realizada", "Sem interesse", "Ocupado / não atende", "Retornar depois")[index % 4]
            result = results[kind]
            operation = await Operation.create(
                member=member, campaign=campaign, person=person, agent=agent, stage=stages[0], action_type=action,
                channel=channel, result=result, result_kind=result.kind.value, attempt=1,
                notes="Cliente atendeu." if result.kind != ResultKind.FAILURE else "Sem sucesso.",
                local_date=when.astimezone(zone).date(), using_db=connection,
            )
            changes: dict[str, object] = {"attempts": 1, "last_operation_id": operation.pk, "last_acted_at": when}
            if result.kind == ResultKind.SCHEDULE:
                due = now + timedelta(hours=rng.choice((-2, 1, 20)))
                callback = await Callback.create(
                    member=member, campaign=campaign, agent=agent, operation=operation, due_at=due, using_db=connection
                )
                changes.update(status=QueueStatus.SCHEDULED, priority=QueuePriority.CALLBACK.value, due_at=due,
                               next_callback_id=callback.pk, reserved_agent_id=agent.pk,
                               reserved_until=due + timedelta(minutes=30))
            elif result.recycle_after_minutes:
                changes.update(status=QueueStatus.SCHEDULED, priority=QueuePriority.RECYCLE.value,
                               due_at=when + timedelta(minutes=result.recycle_after_minutes))
            else:
                changes.update(status=QueueStatus.CONCLUDED, priority=QueuePriority.DONE.value,
                               stage_id=stages[-1].pk if result.kind == ResultKind.SUCCESS else stages[0].pk)
            await CampaignMember.filter(id=member.pk).using_db(connection).update(**changes)


async def seed_outbound_size(size: int, zone_name: str = "America/Sao_Paulo", batch: int = 2000) -> int:
    """One campaign per 10,000 generated persons, every person a member, a fifth of them acted on."""
    from zoneinfo import ZoneInfo

    from contato.seed import progress_bar

    results, action, _ = await _catalogs()
    agents = list(await User.filter(role=Role.AGENT, active=True).order_by("id"))
    if not agents or size <= 0:
        return 0
    zone = ZoneInfo(zone_name)
    today = datetime.now(UTC).astimezone(zone).date()
    campaigns = []
    for number in range(1, max(1, size // 10_000) + 1):
        campaign, created = await Campaign.get_or_create(
            name=f"Campanha gerada {number}",
            defaults={"start_date": today - timedelta(days=30), "default_action_type": action,
                      "saturday_start_minute": 600, "saturday_end_minute": 960},
        )
        if created:
            await CampaignStage.create(campaign=campaign, name="Contato", position=1)
            await CampaignAgent.bulk_create([CampaignAgent(campaign=campaign, agent=agent) for agent in agents])
        campaigns.append(campaign)
    stage_of = {s.campaign_id: s.pk for s in await CampaignStage.filter(campaign_id__in=[c.pk for c in campaigns])}
    rng = random.Random(99)
    kinds = list(results.values())
    show = progress_bar(size, "members")
    added = 0
    last = 0
    done = 0
    while done < size:
        persons = await Person.filter(id__gt=last, do_not_call=False).order_by("id").limit(batch).values_list("id", flat=True)
        if not persons:
            break
        last = persons[-1]
        done += len(persons)
        async with in_transaction() as connection:
            for campaign in campaigns:
                inside = set(await CampaignMember.filter(campaign_id=campaign.pk, person_id__in=persons)
                             .using_db(connection).values_list("person_id", flat=True))
                share = campaigns.index(campaign)
                fresh = [pid for pid in persons if pid not in inside and pid % len(campaigns) == share]
                await CampaignMember.bulk_create(
                    [CampaignMember(campaign_id=campaign.pk, person_id=pid, stage_id=stage_of[campaign.pk])
                     for pid in fresh], using_db=connection,
                )
                acted = await CampaignMember.filter(campaign_id=campaign.pk, person_id__in=fresh[::5]).using_db(
                    connection
                ).values_list("id", "person_id")
                operations = []
                for member_id, person_id in acted:
                    result = rng.choice(kinds)
                    day: date = today - timedelta(days=rng.randrange(0, 30))
                    operations.append(Operation(
                        member_id=member_id, campaign_id=campaign.pk, person_id=person_id,
                        agent_id=rng.choice(agents).pk, stage_id=stage_of[campaign.pk], action_type_id=action.pk,
                        result_id=result.pk, result_kind=result.kind.value, attempt=1, local_date=day,
                    ))
                await Operation.bulk_create(operations, using_db=connection)
                concluded = [member_id for (member_id, _), op in zip(acted, operations)
                             if op.result_kind in ("SUCCESS",)]
                if concluded:
                    await CampaignMember.filter(id__in=concluded).using_db(connection).update(
                        status=QueueStatus.CONCLUDED, priority=QueuePriority.DONE.value, attempts=1
                    )
                added += len(fresh)
        show(min(done, size))
    return added
