"""Outbound catalogs and demo data (idempotent); `seed --size` volume is in contato/seed_volume.py."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from contato.settings import Settings
from models.campaign import CallbackPolicy, Campaign, CampaignMember, CampaignStage
from models.catalog import ContactChannel
from models.floor import AgentStateKind
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
from resolvers import catalog, floor
from resolvers.campaign import config, members, queue, rules
from resolvers.context import Context
from resolvers.operation import record
from resolvers.script import AnswerType, BranchInput, QuestionInput

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


# The renewal's "Script Dinâmico": whoever is not the holder ends it at once; a holder who will not
# renew says why, one who will chooses the payment.
RENEWAL_QUESTIONS = [
    QuestionInput("titular", "Falo com o titular da apólice?", AnswerType.YES_NO, required=True,
                  branches=[BranchInput("NO", None)]),
    QuestionInput("renovar", "Deseja renovar a apólice nas mesmas condições?", AnswerType.YES_NO, required=True,
                  branches=[BranchInput("YES", "pagamento")]),
    QuestionInput("motivo", "Por que não deseja renovar?", AnswerType.CHOICE, required=True,
                  options=["Preço", "Mudou de seguradora", "Vendeu o bem", "Outro"], branches=[BranchInput(None, None)]),
    QuestionInput("pagamento", "Forma de pagamento", AnswerType.CHOICE, required=True,
                  options=["Boleto", "Cartão de crédito", "Débito em conta"]),
    QuestionInput("vencimento", "Melhor dia de vencimento", AnswerType.NUMBER),
]
RENEWAL_ANSWERS = {
    "Venda realizada": (("titular", "YES"), ("renovar", "YES"), ("pagamento", "Cartão de crédito"), ("vencimento", "10")),
    "Sem interesse": (("titular", "YES"), ("renovar", "NO"), ("motivo", "Preço")),
    "Retornar depois": (("titular", "NO"),),
}


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
    """Catalogs, one running campaign with members, operations and pending callbacks, written through
    the use cases the API runs (campaignCreate, campaignAgentsSet, campaignMembersAdd, then each
    agent's campaignMemberClaim and operationRecord), so the demo never disagrees with them: callbacks
    carry their operation's callbackAt and the campaign's opensAt, lastActedAt is its operation's time.

    The campaign calls all day Monday to Saturday, so the demo works from any time zone. Operations are
    recorded at the seed's own time; on a Sunday (no calling day) the members are left not acted.
    """
    results, action, _ = await outbound_catalogs()
    if await Campaign.filter(name=DEMO_CAMPAIGN).exists():
        return
    staff = await User.filter(role__in=(Role.ADMIN, Role.SUPERVISOR), active=True).order_by("id").first()
    if staff is None:
        logger.warning("no supervisor or admin to set up the demo campaign with")
        return
    as_staff = Context(settings=settings, user=staff)
    today = rules.local_today(as_staff)
    # Two scripts for the agent to choose from: the action type's text (the default) and the questions.
    questions = await catalog.create_entry(as_staff, Script, catalog.CatalogInput(
        title="Renovação: perguntas", body="Siga as perguntas; as respostas ficam com o atendimento.",
        questions=RENEWAL_QUESTIONS,
    ))
    all_day = config.CallingHours("00:00", "24:00", "00:00", "24:00")
    campaign = await config.create_campaign(as_staff, config.CampaignInput(
        name=DEMO_CAMPAIGN, description="Clientes com apólice vencendo nos próximos 60 dias.",
        start_date=today - timedelta(days=7), end_date=today + timedelta(days=60),
        default_action_type_id=action.pk, script_ids=[action.script_id, questions.pk],
        callback_policy=CallbackPolicy.USER_ONLY,
        callback_opens_after_minutes=30, max_attempts=3, calling_hours=all_day,
        stages=[config.StageInput(name) for name in STAGES],
    ))
    await config.create_campaign(as_staff, config.CampaignInput(
        name="Pesquisa de satisfação", start_date=today + timedelta(days=14), calling_hours=all_day,
    ))
    agents = list(await User.filter(role=Role.AGENT, email__endswith="@contato.dev", active=True).order_by("id"))
    await config.set_agents(as_staff, campaign.pk, [agent.pk for agent in agents])
    persons = await Person.filter(converted_to_id__isnull=True, do_not_call=False).order_by("id").limit(24)
    await members.add_members(as_staff, campaign.pk, [person.pk for person in persons], None)
    if not agents:
        return
    now = rules.utc_now()
    if not rules.within_calling_hours(campaign, now, settings.zone):
        logger.info("demo campaign: no calls on %s, members left not acted", now.astimezone(settings.zone).date())
        return
    channel = await ContactChannel.get(name="Telefone")
    rng = random.Random(7)
    outcomes = ("Venda realizada", "Sem interesse", "Ocupado / não atende", "Retornar depois")
    for index, member in enumerate(await CampaignMember.filter(campaign_id=campaign.pk).order_by("id")):
        if index < 8:
            continue  # never acted
        as_agent = Context(settings=settings, user=agents[index % len(agents)])
        result = results[outcomes[index % 4]]
        callback_at = None
        if result.kind == ResultKind.SCHEDULE:
            wanted = rules.utc_now() + timedelta(hours=rng.choice((1, 20)))
            callback_at = rules.next_calling_time(campaign, wanted, settings.zone)
        await floor.set_state(as_agent, AgentStateKind.READY, None)  # only a READY agent takes a call
        await queue.claim_member(as_agent, member.pk)
        await record.record_operation(as_agent, record.OperationInput(
            member_id=member.pk, action_type_id=action.pk, channel_id=channel.pk, result_id=result.pk,
            notes="Cliente atendeu." if result.kind != ResultKind.FAILURE else "Sem sucesso.",
            callback_at=callback_at,
            stage_id=None if result.kind != ResultKind.SUCCESS else await _last_stage(campaign),
            script_id=questions.pk if result.name in RENEWAL_ANSWERS else None,
            script_answers=RENEWAL_ANSWERS.get(result.name, ()),
        ))
    for agent in agents:  # the demo's agents log in OFFLINE, as after a shift, and set READY themselves
        await floor.set_state(Context(settings=settings, user=agent), AgentStateKind.OFFLINE, None)


async def _last_stage(campaign: Campaign) -> int:
    return (await CampaignStage.filter(campaign_id=campaign.pk).order_by("-position").first()).pk  # type: ignore[union-attr]
