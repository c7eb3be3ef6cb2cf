from datetime import timedelta
from pathlib import Path

import pytest

from contato.seed import make_cpf
from contato.settings import Settings
from models.campaign import CampaignMember, QueueStatus
from models.data_import import ImportKind, ImportMode, ImportStatus
from models.do_not_call import DoNotCallNumber
from models.person import Person
from models.user import Role
from resolvers import imports
from resolvers.context import Context
from resolvers.errors import DataImportError
from tests.factories import Factory
from tests.imports.helpers import errors_of, run, write_csv
from tests.outbound_factories import Clock, Outbound


async def test_members_by_document_or_new_person_with_stage_and_agent(
    factory: Factory, outbound: Outbound, clock: Clock, settings: Settings, tmp_path: Path
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT, email="ana@contato.dev")
    stranger = await factory.user(Role.AGENT, email="outro@contato.dev")
    campaign = await outbound.campaign(agents=(agent,), stages=("Contato", "Proposta"))
    known = await factory.person(name="Conhecida", document=make_cpf(1), phones=["1133334444"])
    opted = await factory.person(name="Optou", document=make_cpf(2))
    opted.do_not_call = True
    await opted.save()
    await factory.person(name="Registrada", document=make_cpf(3), phones=["+55 11 98765-4321"])
    await DoNotCallNumber.create(number="11987654321", source="PROCON-SP", added_at=clock.now)
    inside = await factory.person(name="Já membro", document=make_cpf(4))
    await outbound.member(campaign, inside)
    header = ["CPF", "Nome", "Telefone", "Etapa", "Atendente"]
    rows = [
        [make_cpf(1), "", "", "Proposta", "ana@contato.dev"],    # 2: member of a known person, stage 2, agent
        [make_cpf(5), "Nova Pessoa", "2133334444", "", ""],       # 3: a new person, then a member
        [make_cpf(2), "", "", "", ""],                            # 4: PERSON_DO_NOT_CALL
        [make_cpf(3), "", "", "", ""],                            # 5: PHONE_ON_DO_NOT_CALL_REGISTER
        [make_cpf(6), "", "", "", ""],                            # 6: NOT_FOUND
        [make_cpf(7), "Com Fone Listado", "(11) 98765-4321", "", ""],  # 7: new person on the register
        [make_cpf(8), "Etapa", "", "Fechamento", ""],             # 8: STAGE_NOT_IN_CAMPAIGN
        [make_cpf(9), "Agente", "", "", "outro@contato.dev"],     # 9: AGENT_NOT_ASSIGNED
        [make_cpf(4), "", "", "", ""],                            # 10: ALREADY_MEMBER
    ]
    path = write_csv(tmp_path / "membros.csv", [header, *rows])
    # when
    job = await run(settings, supervisor, path, ImportKind.MEMBERS, campaign_id=campaign.pk)
    # then
    assert (job.status, job.processed_rows, job.inserted, job.error_rows) == (ImportStatus.DONE, 9, 2, 7)
    assert await errors_of(job) == [
        (4, "CPF", "PERSON_DO_NOT_CALL"), (5, "CPF", "PHONE_ON_DO_NOT_CALL_REGISTER"), (6, "CPF", "NOT_FOUND"),
        (7, "Telefone", "PHONE_ON_DO_NOT_CALL_REGISTER"), (8, "Etapa", "STAGE_NOT_IN_CAMPAIGN"),
        (9, "Atendente", "AGENT_NOT_ASSIGNED"), (10, "CPF", "ALREADY_MEMBER"),
    ]
    member = await CampaignMember.get(campaign_id=campaign.pk, person_id=known.pk)
    assert (member.stage_id, member.assigned_agent_id) == ((await outbound.stage(campaign, 2)).pk, agent.pk)
    created = await Person.get(document=make_cpf(5))
    assert (created.name, created.phones) == ("Nova Pessoa", ["2133334444"])
    assert await CampaignMember.filter(campaign_id=campaign.pk, person_id=created.pk).exists()
    assert not await Person.filter(document=make_cpf(7)).exists()
    assert stranger.pk not in await CampaignMember.all().values_list("assigned_agent_id", flat=True)


async def test_a_members_import_needs_its_campaign(factory: Factory, settings: Settings, tmp_path: Path) -> None:
    ctx = Context(settings=settings, user=await factory.user(Role.ADMIN))
    path = write_csv(tmp_path / "m.csv", [["cpf"], [make_cpf(1)]])
    for campaign_id, code in ((None, "CAMPAIGN_REQUIRED"), (99999, "UNKNOWN_CAMPAIGN")):
        with pytest.raises(DataImportError) as refused:
            await imports.create_import(
                ctx, imports.ImportRequest(ImportKind.MEMBERS, campaign_id=campaign_id), path, "m", owns_file=False
            )
        assert refused.value.code.value == code


async def test_upserting_members_moves_them_and_brings_back_the_removed(
    factory: Factory, outbound: Outbound, settings: Settings, tmp_path: Path
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(stages=("Contato", "Proposta"))
    person = await factory.person(document=make_cpf(1))
    member = await outbound.member(campaign, person, status=QueueStatus.REMOVED)
    path = write_csv(tmp_path / "m.csv", [["documento", "stage"], [make_cpf(1), "2"]], separator=",")
    job = await run(settings, supervisor, path, ImportKind.MEMBERS, ImportMode.UPSERT, campaign_id=campaign.pk)
    assert (job.inserted, job.updated, job.error_rows) == (0, 1, 0)
    member = await CampaignMember.get(id=member.pk)
    assert (member.status, member.stage_id) == (QueueStatus.NOT_ACTED, (await outbound.stage(campaign, 2)).pk)


async def test_do_not_call_numbers_are_imported_the_same_way(
    factory: Factory, clock: Clock, settings: Settings, tmp_path: Path
) -> None:
    # given: a PROCON list in Latin-1 with dates as Brazilians write them
    admin = await factory.user(Role.ADMIN)
    await DoNotCallNumber.create(number="2133334444", source="antigo", added_at=clock.now)
    header = ["Número", "Origem", "Motivo", "Data", "Validade"]
    rows = [
        ["(11) 98765-4321", "PROCON-SP", "Não me ligue", "01/12/2030", "31/12/2031"],
        ["+55 21 3333-4444", "PROCON-RJ", "", "", ""],
        ["12", "", "", "", ""],
        ["11 98765 4321", "", "", "", ""],
        ["3133334444", "", "", "", "ontem"],
    ]
    path = write_csv(tmp_path / "procon.csv", [header, *rows], encoding="latin-1")
    # when
    inserted = await run(settings, admin, path, ImportKind.DO_NOT_CALL)
    # then
    assert (inserted.inserted, inserted.error_rows) == (1, 4)
    assert await errors_of(inserted) == [
        (3, "Número", "ALREADY_LISTED"), (4, "Número", "INVALID_PHONE"), (5, "Número", "ALREADY_LISTED"),
        (6, "Validade", "INVALID"),
    ]
    entry = await DoNotCallNumber.get(number="11987654321")
    assert (entry.source, entry.reason) == ("PROCON-SP", "Não me ligue")
    assert entry.expires_at is not None and entry.expires_at.year == 2032 - 1 and entry.added_at.year == 2030
    upserted = await run(settings, admin, path, ImportKind.DO_NOT_CALL, ImportMode.UPSERT)
    assert (upserted.inserted, upserted.updated) == (0, 2)
    assert (await DoNotCallNumber.get(number="2133334444")).source == "PROCON-RJ"
    assert clock.now - timedelta(days=1) < clock.now  # the register's clock is the pinned one
