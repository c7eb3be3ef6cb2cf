"""importCreate over GraphQL multipart, the error report download, importProgress, and the CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from contato.app import create_app
from contato.seed import make_cpf
from contato.settings import Settings
from models.data_import import Import, ImportKind, ImportStatus
from models.person import Person
from models.user import Role, User
from realtime.hub import EventHub
from resolvers import imports
from resolvers.auth import issue_token
from resolvers.context import Context
from tests.factories import Factory
from tests.imports.helpers import write_csv
from tests.realtime.conftest import hub
from tests.realtime.streams import Stream
from tests.servers import migrated_sqlite_template

__all__ = ["hub"]

IMPORT_CREATE = """
mutation ImportCreate($file: Upload!, $kind: ImportKind!, $mode: ImportMode!, $mapping: [ImportColumnInput!]) {
  importCreate(file: $file, kind: $kind, mode: $mode, mapping: $mapping) {
    __typename
    ... on Import { id status kind mode fileName mapping { column field } }
    ... on ImportError { code field message }
  }
}
"""
IMPORT = """
query Import($id: ID!) {
  import(id: $id) {
    __typename
    ... on Import { status processedRows inserted errorRows progress errorReportUrl
                    errors(first: 10) { edges { node { row column code } } } }
    ... on ImportError { code }
  }
}
"""
PROGRESS = """
subscription Progress($id: ID!) {
  importProgress(importId: $id) {
    __typename ... on Import { status processedRows inserted } ... on StreamError { code }
  }
}
"""


@pytest.fixture
async def client(settings: Settings, db: None) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(settings)), base_url="http://contato.test"
    ) as http:
        yield http


def bearer(user: User, settings: Settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(user, settings).token}"}


async def upload(
    client: httpx.AsyncClient, user: User, settings: Settings, content: bytes, variables: dict[str, object],
    **extra_headers: str,
) -> httpx.Response:
    data = {
        "operations": json.dumps({"query": IMPORT_CREATE, "variables": {"file": None, **variables}}),
        "map": json.dumps({"0": ["variables.file"]}),
    }
    files = {"0": ("clientes.csv", content, "text/csv")}
    headers = {**bearer(user, settings), "GraphQL-Require-Preflight": "1", **extra_headers}
    return await client.post("/graphql", data=data, files=files, headers=headers)


async def test_upload_runs_the_import_and_its_error_report_downloads_as_csv(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    agent = await factory.user(Role.AGENT)
    content = f"Nome;CPF\r\nAna;{make_cpf(1)}\r\nBeto;123\r\nCaio;{make_cpf(2)}\r\n".encode("latin-1")
    variables = {"kind": "PERSONS", "mode": "INSERT"}
    # when
    response = await upload(client, admin, settings, content, variables)
    # then
    assert response.status_code == 200, response.text
    created = response.json()["data"]["importCreate"]
    assert created["__typename"] == "Import"
    assert (created["status"], created["fileName"]) == ("PENDING", "clientes.csv")
    assert created["mapping"] == [{"column": "Nome", "field": "name"}, {"column": "CPF", "field": "document"}]
    await imports.RUNNING[int(created["id"])]
    answer = await client.post("/graphql", json={"query": IMPORT, "variables": {"id": created["id"]}},
                               headers=bearer(admin, settings))
    job = answer.json()["data"]["import"]
    assert (job["status"], job["processedRows"], job["inserted"], job["errorRows"], job["progress"]) == (
        "DONE", 3, 2, 1, 1.0
    )
    assert job["errors"]["edges"] == [{"node": {"row": 3, "column": "CPF", "code": "INVALID_DOCUMENT"}}]
    assert await Person.all().count() == 2
    assert not any((settings.upload_dir / "imports").iterdir())  # the staged upload is gone
    link = job["errorReportUrl"]
    assert link.startswith("http://contato.test/imports/")
    report = await client.get(link)
    assert report.status_code == 200
    assert report.headers["content-type"].startswith("text/csv")
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,code,message" and lines[1].startswith("3,CPF,INVALID_DOCUMENT,")
    assert (await client.get(link.replace("signature=", "signature=0"))).status_code == 403
    path = f"/imports/{created['id']}/errors.csv"
    assert (await client.get(path, headers=bearer(admin, settings))).content == report.content
    assert (await client.get(path, headers=bearer(agent, settings))).status_code == 404
    assert (await client.get(path)).status_code == 401
    # refusals are typed errors, and an agent may not import
    refused = await upload(client, agent, settings, content, variables)
    assert refused.json()["data"]["importCreate"]["code"] == "FORBIDDEN"
    empty = await upload(client, admin, settings, b"", variables)
    assert empty.json()["data"]["importCreate"] == {
        "__typename": "ImportError", "code": "EMPTY_FILE", "field": "file",
        "message": "The file is empty: it needs a header row.",
    }
    unknown = await upload(client, admin, settings, content, {**variables, "mapping": [
        {"column": "Telefone", "field": "phones"}]})
    assert unknown.json()["data"]["importCreate"]["code"] == "UNKNOWN_COLUMN"


async def test_an_upload_with_an_idempotency_key_runs_once_and_its_retry_replays_it(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    content = f"Nome;CPF\r\nAna;{make_cpf(1)}\r\nCaio;{make_cpf(2)}\r\n".encode()
    variables = {"kind": "PERSONS", "mode": "INSERT"}
    key = {"Idempotency-Key": "9b1f0c64-import"}
    # when: the mutation (its whole transaction held for the key) starts the import
    first = await upload(client, admin, settings, content, variables, **key)
    created = first.json()["data"]["importCreate"]
    assert created["__typename"] == "Import", first.text
    task = imports.RUNNING.get(int(created["id"]))
    job = await task if task is not None else await Import.get(id=int(created["id"]))
    # then: it ran to its end after the commit, on its own connection
    assert (job.status, job.inserted) == (ImportStatus.DONE, 2)
    assert await Person.all().count() == 2
    # when: the client retries
    retry = await upload(client, admin, settings, content, variables, **key)
    # then: the same answer, and no second import
    assert retry.headers.get("idempotent-replayed") == "true"
    assert retry.json()["data"]["importCreate"]["id"] == created["id"]
    assert await Import.all().count() == 1
    assert not any((settings.upload_dir / "imports").iterdir())


async def test_import_progress_streams_each_batch_until_the_end(
    factory: Factory, settings: Settings, hub: EventHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: 25 rows in batches of 10, and a supervisor following the import
    monkeypatch.setattr(imports, "BATCH", 10)
    monkeypatch.setattr(imports, "POSTGRES_BATCH", 10)
    supervisor = await factory.user(Role.SUPERVISOR)
    agent = await factory.user(Role.AGENT)
    rows = [["nome", "cpf"], *([f"P{index}", make_cpf(index)] for index in range(1, 26))]
    path = write_csv(tmp_path / "p.csv", rows)
    ctx = Context(settings=settings, user=supervisor)
    job = await imports.create_import(ctx, imports.ImportRequest(ImportKind.PERSONS), path, "p.csv", owns_file=False)
    source = await factory.schema.subscribe(
        PROGRESS, variable_values={"id": str(job.pk)}, context_value=Context(settings=settings, user=supervisor, hub=hub)
    )
    stream = Stream(source)
    first = await stream.next()
    assert first["importProgress"] == {"__typename": "Import", "status": "PENDING", "processedRows": 0, "inserted": 0}
    # when
    await imports.run_import(job.pk)
    # then: RUNNING, three batches, DONE; then the stream ends
    items = [item["importProgress"] for item in await stream.take(5)]
    assert [(item["status"], item["processedRows"]) for item in items] == [
        ("RUNNING", 0), ("RUNNING", 10), ("RUNNING", 20), ("RUNNING", 25), ("DONE", 25),
    ]
    assert await stream.finished()
    refused = Stream(await factory.schema.subscribe(
        PROGRESS, variable_values={"id": str(job.pk)}, context_value=Context(settings=settings, user=agent, hub=hub)
    ))
    assert (await refused.next())["importProgress"] == {"__typename": "StreamError", "code": "FORBIDDEN"}
    await stream.close()
    await refused.close()


def test_the_cli_imports_a_file_with_a_progress_bar(tmp_path: Path) -> None:
    # given: a database of its own (a copy of the migrated one) and a Latin-1 file
    database = tmp_path / "cli.sqlite3"
    shutil.copyfile(migrated_sqlite_template(), database)
    path = write_csv(tmp_path / "clientes.csv", [["Nome", "CPF"], ["Zé Açaí", make_cpf(1)], ["Ruim", "1"]],
                     separator=",", encoding="latin-1")
    errors = tmp_path / "erros.csv"
    env = {**os.environ, "DATABASE_URL": f"sqlite://{database}", "CONTATO_DATA_DIR": str(tmp_path / "data")}
    # when
    done = subprocess.run(
        [sys.executable, "-m", "contato", "import", str(path), "--kind", "persons", "--errors", str(errors)],
        check=False, env=env, capture_output=True, text=True, timeout=120,
    )
    # then: it exits 0 only for a finished import, and leaves the named file in place
    assert done.returncode == 0, done.stderr
    assert "rows, 1 new" in done.stdout
    assert "100.0%" in done.stderr
    assert path.exists()
    assert errors.read_text(encoding="utf-8-sig").splitlines()[1].startswith("3,CPF,INVALID_DOCUMENT")
    bad = subprocess.run(
        [sys.executable, "-m", "contato", "import", str(path), "--kind", "members"],
        check=False, env=env, capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 1 and "CAMPAIGN_REQUIRED" in bad.stderr
    assert Import is not None and ImportStatus.DONE
