"""Outbound catalogs and demo data (idempotent); `seed --size` volume is in contato/seed_volume.py."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

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
    (
        "Bom dia, {person.firstName}! Aqui é {agent.name}, da campanha {campaign.name}. "
        "Confirmo seu CPF {person.document}? Temos uma condição especial de renovação para você."
    ),
)
DEMO_CAMPAIGN = "Renovação de seguros"
logger = logging.getLogger("contato.seed")
STAGES = ("Contato inicial", "Proposta", "Fechamento")


async def outbound_catalogs() -> tuple[dict[str, ContactResult], ActionType, list[NoContactReason]]:
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
    results, action, _ = await outbound_catalogs()
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


