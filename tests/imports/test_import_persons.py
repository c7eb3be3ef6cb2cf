from pathlib import Path

import pytest

from contato.seed import make_cpf
from contato.settings import Settings
from models.data_import import ImportKind, ImportMode, ImportRowError, ImportStatus
from models.person import Person, PersonKind, PersonStage
from models.user import Role
from resolvers import imports
from resolvers.context import Context
from resolvers.errors import DataImportError
from tests.factories import VALID_CNPJS, Factory
from tests.imports.helpers import errors_of, run, write_csv

HEADER_PT = ["Nome", "CPF/CNPJ", "Tipo", "Telefone 1", "Telefone 2", "E-mail", "Empresa", "Estágio"]
HEADER_EN = ["name", "document", "kind", "phone", "mobile", "email", "company", "stage"]


def people(count: int, start: int = 1) -> list[list[str]]:
    return [
        [f"José Araújo {index}", make_cpf(index), "PF", f"(11) 3333-{index:04d}", "", f"jose{index}@exemplo.com.br",
         "", "prospecto"]
        for index in range(start, start + count)
    ]


@pytest.mark.parametrize(
    ("separator", "encoding", "header"),
    [(";", "utf-8", HEADER_PT), (",", "latin-1", HEADER_PT), (",", "utf-8-sig", HEADER_EN), (";", "latin-1", HEADER_EN)],
)
async def test_persons_from_csv_in_either_encoding_and_separator(
    factory: Factory, settings: Settings, tmp_path: Path, separator: str, encoding: str, header: list[str]
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    company = await factory.company(name="Acme")
    rows = people(3)
    rows[1][6] = "11.222.333/0001-81"
    rows[2] = ["Indústria São João Ltda", VALID_CNPJS[1], "", "+55 21 98888-7777", "21 3333-4444", "", "", ""]
    path = write_csv(tmp_path / "pessoas.csv", [header, *rows], separator, encoding)
    # when
    job = await run(settings, admin, path)
    # then
    assert (job.status, job.processed_rows, job.inserted, job.error_rows) == (ImportStatus.DONE, 3, 3, 0)
    persons = {person.document: person for person in await Person.all()}
    first = persons[make_cpf(1)]
    assert (first.name, first.kind, first.stage, first.phones, first.emails) == (
        "José Araújo 1", PersonKind.NATURAL, PersonStage.PROSPECT, ["1133330001"], ["jose1@exemplo.com.br"]
    )
    assert persons[make_cpf(2)].company_id == company.pk
    legal = persons[VALID_CNPJS[1]]
    assert (legal.name, legal.kind, legal.stage, legal.phones) == (
        "Indústria São João Ltda", PersonKind.LEGAL, PersonStage.SUSPECT, ["+5521988887777", "2133334444"]
    )
    assert "sao joao" in legal.search_text


async def test_every_kind_of_bad_row_is_reported_and_the_good_rows_are_kept(
    factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    await factory.person(name="Já existe", document=make_cpf(50))
    header = ["nome", "cpf", "tipo", "telefone", "email", "empresa", "estagio"]
    rows = [
        ["Boa Linha", make_cpf(1), "F", "11 3333 4444", "boa@exemplo.com", "", ""],   # row 2: good
        ["CPF errado", "123.456.789-00", "F", "", "", "", ""],                         # 3: INVALID_DOCUMENT
        ["Repetida", make_cpf(1), "F", "", "", "", ""],                                # 4: DUPLICATE_DOCUMENT (file)
        ["Já no banco", make_cpf(50), "F", "", "", "", ""],                            # 5: DUPLICATE_DOCUMENT (db)
        ["Fone ruim", make_cpf(2), "F", "12", "", "", ""],                             # 6: INVALID_PHONE
        ["Email ruim", make_cpf(3), "F", "", "nao-e-email", "", ""],                   # 7: INVALID_EMAIL
        ["Empresa", make_cpf(4), "F", "", "", "99.999.999/0001-99", ""],               # 8: UNKNOWN_COMPANY
        ["Tipo", make_cpf(5), "Z", "", "", "", ""],                                    # 9: INVALID (kind)
        ["", make_cpf(6), "F", "", "", "", ""],                                        # 10: INVALID (name)
        ["Estágio", make_cpf(7), "F", "", "", "", "chefe"],                            # 11: INVALID (stage)
        ["", "", "", "", "", "", ""],                                                   # 12: blank, skipped
        ["Outra Boa", make_cpf(8), "", "", "", "", "cliente"],                         # 13: good
    ]
    path = write_csv(tmp_path / "ruins.csv", [header, *rows])
    # when
    job = await run(settings, supervisor, path)
    # then
    assert (job.status, job.processed_rows, job.inserted, job.error_rows) == (ImportStatus.DONE, 11, 2, 9)
    assert await errors_of(job) == [
        (3, "cpf", "INVALID_DOCUMENT"), (4, "cpf", "DUPLICATE_DOCUMENT"), (5, "cpf", "DUPLICATE_DOCUMENT"),
        (6, "telefone", "INVALID_PHONE"), (7, "email", "INVALID_EMAIL"), (8, "empresa", "UNKNOWN_COMPANY"),
        (9, "tipo", "INVALID"), (10, "nome", "INVALID"), (11, "estagio", "INVALID"),
    ]
    assert sorted(await Person.all().values_list("name", flat=True)) == ["Boa Linha", "Já existe", "Outra Boa"]
    report = b"".join([chunk async for chunk in imports.error_report_csv(job.pk)]).decode("utf-8-sig")
    lines = report.splitlines()
    assert lines[0] == "row,column,code,message"
    assert lines[1].startswith("3,cpf,INVALID_DOCUMENT,")
    assert len(lines) == 10


async def test_an_empty_file_is_refused_and_a_header_alone_imports_nothing(
    factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    admin = await factory.user(Role.ADMIN)
    ctx = Context(settings=settings, user=admin)
    empty = tmp_path / "vazio.csv"
    empty.write_bytes(b"")
    with pytest.raises(DataImportError) as refused:
        await imports.create_import(ctx, imports.ImportRequest(ImportKind.PERSONS), empty, "vazio.csv", owns_file=False)
    assert refused.value.code.value == "EMPTY_FILE"
    no_document = write_csv(tmp_path / "sem-doc.csv", [["nome", "telefone"], ["Ana", "1133334444"]])
    with pytest.raises(DataImportError) as missing:
        await imports.create_import(ctx, imports.ImportRequest(ImportKind.PERSONS), no_document, "x", owns_file=False)
    assert missing.value.code.value == "MISSING_COLUMN"
    header_only = write_csv(tmp_path / "cabecalho.csv", [["nome", "cpf"]])
    job = await run(settings, admin, header_only)
    assert (job.status, job.processed_rows, job.inserted, job.error_rows) == (ImportStatus.DONE, 0, 0, 0)


async def test_agents_and_reps_cannot_import(factory: Factory, settings: Settings, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", [["nome", "cpf"], ["Ana", make_cpf(1)]])
    for role in (Role.AGENT, Role.COMPANY_REP):
        ctx = Context(settings=settings, user=await factory.user(role))
        with pytest.raises(DataImportError) as refused:
            await imports.create_import(ctx, imports.ImportRequest(ImportKind.PERSONS), path, "p.csv", owns_file=False)
        assert refused.value.code.value == "FORBIDDEN"


async def test_dry_run_writes_nothing_but_the_report(factory: Factory, settings: Settings, tmp_path: Path) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    path = write_csv(tmp_path / "p.csv", [HEADER_EN, *people(4), ["Bad", "111", "", "", "", "", "", ""]])
    # when
    job = await run(settings, admin, path, mode=ImportMode.DRY_RUN)
    # then
    assert (job.status, job.processed_rows, job.inserted, job.error_rows) == (ImportStatus.DONE, 5, 4, 1)
    assert await Person.all().count() == 0
    assert await ImportRowError.all().count() == 1


async def test_upsert_by_document_is_idempotent(factory: Factory, settings: Settings, tmp_path: Path) -> None:
    # given: one of the five persons exists with another name and phone
    admin = await factory.user(Role.ADMIN)
    await factory.person(name="Nome Antigo", document=make_cpf(3), phones=["1100000000"], stage=PersonStage.PROSPECT)
    path = write_csv(tmp_path / "p.csv", [HEADER_PT, *people(5)])
    # when
    first = await run(settings, admin, path, mode=ImportMode.UPSERT)
    snapshot = sorted(await Person.all().values_list("id", "name", "document", "phones", "emails", "stage"))
    second = await run(settings, admin, path, mode=ImportMode.UPSERT)
    # then
    assert (first.inserted, first.updated, first.error_rows) == (4, 1, 0)
    assert (second.inserted, second.updated, second.error_rows) == (0, 5, 0)
    assert sorted(await Person.all().values_list("id", "name", "document", "phones", "emails", "stage")) == snapshot
    updated = await Person.get(document=make_cpf(3))
    assert (updated.name, updated.phones) == ("José Araújo 3", ["1133330003"])
    inserted_again = await run(settings, admin, path, mode=ImportMode.INSERT)
    assert (inserted_again.inserted, inserted_again.error_rows) == (0, 5)


async def test_a_cancelled_import_stops_at_the_next_batch_and_keeps_what_it_committed(
    factory: Factory, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: batches of 10 over 50 rows; the cancel comes after the first batch
    monkeypatch.setattr(imports, "BATCH", 10)
    monkeypatch.setattr(imports, "POSTGRES_BATCH", 10)
    admin = await factory.user(Role.ADMIN)
    ctx = Context(settings=settings, user=admin)
    path = write_csv(tmp_path / "p.csv", [HEADER_EN, *people(50)])
    job = await imports.create_import(ctx, imports.ImportRequest(ImportKind.PERSONS), path, "p.csv", owns_file=False)

    async def cancel_after_first_batch(progress: object) -> None:
        if getattr(progress, "processed_rows", 0) == 10 and getattr(progress, "status", None) == ImportStatus.RUNNING:
            await imports.cancel_import(ctx, job.pk)

    # when
    finished = await imports.run_import(job.pk, progress=cancel_after_first_batch)
    # then
    assert (finished.status, finished.processed_rows, finished.inserted) == (ImportStatus.CANCELLED, 10, 10)
    assert await Person.all().count() == 10
    with pytest.raises(DataImportError) as late:
        await imports.cancel_import(ctx, job.pk)
    assert late.value.code.value == "NOT_CANCELLABLE"


async def test_xlsx_is_read_streamed_with_its_numbers_as_text(
    factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    from openpyxl import Workbook

    # given: a spreadsheet whose phone cells are numbers
    admin = await factory.user(Role.ADMIN)
    book = Workbook()
    sheet = book.active
    sheet.append(["Nome", "CPF", "Celular", "E-mail"])
    sheet.append(["Zélia Gattai", make_cpf(1), 11987654321, "zelia@exemplo.com"])
    sheet.append(["Sem CPF válido", "000", 1133334444, ""])
    path = tmp_path / "pessoas.xlsx"
    book.save(path)
    # when
    job = await run(settings, admin, path)
    # then
    assert (job.status, job.inserted, job.error_rows) == (ImportStatus.DONE, 1, 1)
    person = await Person.get(document=make_cpf(1))
    assert (person.name, person.phones, person.emails) == ("Zélia Gattai", ["11987654321"], ["zelia@exemplo.com"])
    assert await errors_of(job) == [(3, "CPF", "INVALID_DOCUMENT")]


async def test_a_given_mapping_reads_columns_whatever_their_names(
    factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    admin = await factory.user(Role.ADMIN)
    path = write_csv(tmp_path / "p.csv", [["col_a", "col_b", "col_c"], ["Ana Lima", make_cpf(9), "1133334444"]])
    mapping = {"col_a": "name", "col_b": "document", "col_c": "phones"}
    job = await run(settings, admin, path, mapping=mapping)
    assert (job.inserted, job.mapping) == (1, mapping)
    assert (await Person.get(document=make_cpf(9))).phones == ["1133334444"]


async def test_the_error_report_quotes_what_a_spreadsheet_would_run(
    factory: Factory, settings: Settings, tmp_path: Path
) -> None:
    # given: a header and a cell written as formulas
    admin = await factory.user(Role.ADMIN)
    path = write_csv(tmp_path / "f.csv", [["Nome", "=CPF"], ["Ana", "=1+2"]])
    # when
    job = await run(settings, admin, path, mapping={"Nome": "name", "=CPF": "document"})
    report = b"".join([chunk async for chunk in imports.error_report_csv(job.pk)]).decode("utf-8-sig")
    # then
    import csv
    import io

    [header, row] = list(csv.reader(io.StringIO(report)))
    assert header == ["row", "column", "code", "message"]
    assert row[:3] == ["2", "'=CPF", "INVALID_DOCUMENT"]
