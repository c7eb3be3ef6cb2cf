"""PostgreSQL's write path: each batch goes by COPY into a staging table and one statement into the
real table, whatever the batch's size; never a statement per row (resolvers/imports/staging.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from contato.seed import make_cpf
from contato.settings import Settings
from models.campaign import CampaignMember, QueueStatus
from models.data_import import ImportKind, ImportMode, ImportStatus
from models.do_not_call import DoNotCallNumber
from models.person import Person, PersonStage
from models.user import Role
from resolvers import imports
from tests.conftest import PG_ADMIN_URL, listening_to_sql
from tests.factories import Factory
from tests.imports.helpers import run, write_csv
from tests.outbound_factories import Clock, Outbound

postgres_only = pytest.mark.skipif(not PG_ADMIN_URL, reason="COPY is PostgreSQL's")


class StatementLog(logging.Handler):
    """Every statement sent, as Tortoise's db_client logger shows them (the import's own too)."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.statements.append(record.getMessage())

    def starting(self, *words: str) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith(tuple(w.upper() for w in words))]

    def touching(self, table: str) -> list[str]:
        """The statements that write `table` (an INSERT, UPDATE or DELETE naming it)."""
        return [s for s in self.statements if any(f'{verb} "{table}"' in s for verb in ("INSERT INTO", "UPDATE", "DELETE FROM"))]

    def clear(self) -> None:
        self.statements.clear()


@pytest.fixture
def statement_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[StatementLog]:
    monkeypatch.setattr(imports, "POSTGRES_BATCH", 10)
    monkeypatch.setattr(imports, "BATCH", 10)
    log = StatementLog()
    with listening_to_sql(log):
        yield log


def person_rows(count: int, start: int = 1) -> list[list[str]]:
    return [[f"Pessoa {index}", make_cpf(index), f"(11) 3333-{index:04d}", "prospecto"]
            for index in range(start, start + count)]


@postgres_only
async def test_persons_go_by_copy_and_one_statement_per_batch_for_inserts_and_updates(
    factory: Factory, settings: Settings, tmp_path: Path, statement_log: StatementLog
) -> None:
    # given: 30 rows, batches of 10; a third of them existing
    admin = await factory.user(Role.ADMIN)
    for index in range(21, 31):
        await factory.person(name="Antigo", document=make_cpf(index), phones=["1100000000"],
                             stage=PersonStage.PROSPECT)
    path = write_csv(tmp_path / "p.csv", [["nome", "cpf", "telefone", "estagio"], *person_rows(30)])
    statement_log.clear()
    # when
    job = await run(settings, admin, path, mode=ImportMode.UPSERT)
    # then: three batches, each a COPY and one statement writing the person table
    assert (job.status, job.inserted, job.updated, job.error_rows) == (ImportStatus.DONE, 20, 10, 0)
    copies = statement_log.starting("COPY")
    assert copies == [("COPY import_person_stage (person_id, kind, name, document, document_key, phones, emails, "
                       "stage, company_id, do_not_call, search_text) FROM STDIN: 10 rows")] * 3
    writes = statement_log.touching("person")
    assert len(writes) == 3 and all(s.startswith("WITH updated AS") for s in writes)
    assert await Person.filter(name="Antigo").count() == 0
    assert (await Person.get(document=make_cpf(25))).phones == ["1133330025"]
    assert await Person.all().count() == 30


@postgres_only
async def test_members_and_their_new_persons_go_by_copy_and_one_statement_per_batch(
    factory: Factory, outbound: Outbound, settings: Settings, tmp_path: Path, statement_log: StatementLog
) -> None:
    # given: 20 rows in batches of 10: 10 new persons, 5 known persons, 5 members moved (2 of them removed)
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign(stages=("Contato", "Proposta"))
    for index in range(11, 21):
        person = await factory.person(name="Conhecida", document=make_cpf(index))
        if index > 15:
            await outbound.member(campaign, person, status=QueueStatus.REMOVED if index > 18 else QueueStatus.NOT_ACTED)
    rows = [[make_cpf(index), f"Nova {index}", "Proposta"] for index in range(1, 11)]
    rows += [[make_cpf(index), "", "Proposta" if index > 15 else ""] for index in range(11, 21)]
    path = write_csv(tmp_path / "m.csv", [["cpf", "nome", "etapa"], *rows])
    statement_log.clear()
    # when
    job = await run(settings, supervisor, path, ImportKind.MEMBERS, ImportMode.UPSERT, campaign_id=campaign.pk)
    # then
    assert (job.status, job.inserted, job.updated, job.error_rows) == (ImportStatus.DONE, 15, 5, 0)
    assert [s.split(" (", 1)[0] for s in statement_log.starting("COPY")] == [
        "COPY import_person_stage", "COPY import_member_stage", "COPY import_member_stage"
    ]
    assert len(statement_log.touching("person")) == 1
    member_writes = statement_log.touching("campaign_member")
    assert len(member_writes) == 2 and all(s.startswith("WITH updated AS") for s in member_writes)
    second = (await outbound.stage(campaign, 2)).pk
    members = await CampaignMember.filter(campaign_id=campaign.pk).values_list("status", "stage_id")
    assert len(members) == 20
    assert sorted(members).count((QueueStatus.NOT_ACTED, second)) == 15  # 10 new + 5 moved (2 back from REMOVED)
    assert await Person.filter(name__startswith="Nova").count() == 10


@postgres_only
async def test_register_numbers_go_by_copy_and_one_upsert_per_batch(
    factory: Factory, clock: Clock, settings: Settings, tmp_path: Path, statement_log: StatementLog
) -> None:
    # given: 25 numbers in batches of 10, 5 already listed
    admin = await factory.user(Role.ADMIN)
    for index in range(1, 6):
        await DoNotCallNumber.create(number=f"11987650{index:03d}", source="antigo", added_at=clock.now)
    rows = [[f"(11) 98765-0{index:03d}", "PROCON-SP"] for index in range(1, 26)]
    path = write_csv(tmp_path / "procon.csv", [["numero", "origem"], *rows])
    statement_log.clear()
    # when
    inserted = await run(settings, admin, path, ImportKind.DO_NOT_CALL)
    # then: INSERT refuses the listed ones row by row, in the report
    assert (inserted.inserted, inserted.updated, inserted.error_rows) == (20, 0, 5)
    assert [s.split(":", 1)[1] for s in statement_log.starting("COPY")] == [" 5 rows", " 10 rows", " 5 rows"]
    writes = statement_log.touching("do_not_call_number")
    assert len(writes) == 3 and all("ON CONFLICT" in s for s in writes)
    # and UPSERT takes the file's entry for every number, still one statement per batch
    statement_log.clear()
    upserted = await run(settings, admin, path, ImportKind.DO_NOT_CALL, ImportMode.UPSERT)
    assert (upserted.inserted, upserted.updated, upserted.error_rows) == (0, 25, 0)
    assert len(statement_log.starting("COPY")) == len(statement_log.touching("do_not_call_number")) == 3
    assert set(await DoNotCallNumber.all().values_list("source", flat=True)) == {"PROCON-SP"}


@postgres_only
async def test_dry_run_stages_nothing(factory: Factory, settings: Settings, tmp_path: Path,
                                      statement_log: StatementLog) -> None:
    admin = await factory.user(Role.ADMIN)
    path = write_csv(tmp_path / "p.csv", [["nome", "cpf"], *[row[:2] for row in person_rows(15)]])
    statement_log.clear()
    job = await run(settings, admin, path, mode=ImportMode.DRY_RUN)
    assert (job.inserted, job.error_rows) == (15, 0)
    assert statement_log.starting("COPY", "CREATE TEMP") == [] and statement_log.touching("person") == []
    assert await Person.all().count() == 0


@pytest.mark.skipif(bool(PG_ADMIN_URL), reason="SQLite's path")
async def test_on_sqlite_a_batch_of_persons_is_one_executemany_for_inserts_and_one_for_updates(
    factory: Factory, settings: Settings, tmp_path: Path, statement_log: StatementLog
) -> None:
    # given: 30 rows in batches of 10, the last 10 existing
    admin = await factory.user(Role.ADMIN)
    for index in range(21, 31):
        await factory.person(name="Antigo", document=make_cpf(index), stage=PersonStage.PROSPECT)
    path = write_csv(tmp_path / "p.csv", [["nome", "cpf", "telefone", "estagio"], *person_rows(30)])
    statement_log.clear()
    # when
    job = await run(settings, admin, path, mode=ImportMode.UPSERT)
    # then
    assert (job.inserted, job.updated, job.error_rows) == (20, 10, 0)
    assert len(statement_log.touching("person")) == 3
    imported = await Person.get(document=make_cpf(1))
    assert (imported.phones, imported.stage, imported.created_at is not None) == (["1133330001"], PersonStage.PROSPECT, True)
    assert (await Person.get(document=make_cpf(25))).name == "Pessoa 25"
