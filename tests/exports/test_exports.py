"""Exports: visibility per role, the signed link, and streaming (bytes leave before the export is built)."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
from collections.abc import AsyncIterator
from typing import Any

import httpx
import openpyxl
import pytest

from contato.app import create_app
from contato.settings import Settings
from models.data_export import Export, ExportKind
from models.operation import Operation
from models.outbound import ResultKind
from models.ticket import Ticket
from models.user import Role, User
from resolvers import exports, xlsx
from resolvers.auth import issue_token
from resolvers.context import Context
from tests.factories import Factory
from tests.outbound_factories import Clock, Outbound
from tests.servers import migrated_sqlite_template
from tests.ticket_factories import TicketFactory

EXPORT_CREATE = """
mutation Export($kind: ExportKind!, $filter: ExportFilter) {
  exportCreate(kind: $kind, filter: $filter) {
    __typename ... on ExportLink { id kind url xlsxUrl expiresAt } ... on ExportError { code field }
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


def table(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def sheet(content: bytes) -> list[list[Any]]:
    """The rows of an XLSX file's only sheet, as openpyxl reads them (the file must be valid for it)."""
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    assert len(book.worksheets) == 1
    return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]


async def link(factory: Factory, user: User, kind: str, filter: dict[str, Any] | None = None) -> dict[str, Any]:
    data = await factory.execute(EXPORT_CREATE, {"kind": kind, "filter": filter}, user=user)
    return data["exportCreate"]


async def operations_in_two_campaigns(factory: Factory, outbound: Outbound, clock: Clock) -> tuple[User, User]:
    alice, bruno = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    mine = await outbound.campaign(agents=(alice,), name="Mine")
    theirs = await outbound.campaign(agents=(bruno,), name="Theirs")
    sale = await outbound.result(ResultKind.SUCCESS, name="Venda")
    for campaign, agent, count in ((mine, alice, 3), (theirs, bruno, 2)):
        for index in range(count):
            member = await outbound.member(campaign, await factory.person(name=f"{campaign.name} {index}"))
            await Operation.create(
                member=member, campaign=campaign, person_id=member.person_id, agent=agent, result=sale,
                result_kind="SUCCESS", attempt=1, local_date=clock.today, notes="ok, disse \"sim\"",
            )
    return alice, bruno


async def test_operations_export_with_the_visibility_of_the_queries(
    client: httpx.AsyncClient, factory: Factory, outbound: Outbound, clock: Clock, settings: Settings
) -> None:
    # given
    alice, _ = await operations_in_two_campaigns(factory, outbound, clock)
    supervisor = await factory.user(Role.SUPERVISOR)
    rep = await factory.user(Role.COMPANY_REP)
    # when
    everything = await link(factory, supervisor, "OPERATIONS")
    alices = await link(factory, alice, "OPERATIONS")
    refused = await link(factory, rep, "OPERATIONS")
    # then
    assert everything["__typename"] == "ExportLink" and everything["url"].startswith("/exports/")
    assert everything["xlsxUrl"] == everything["url"].replace(".csv?", ".xlsx?")
    rows = table((await client.get(everything["url"])).content)
    assert [row["campaign"] for row in rows] == ["Mine"] * 3 + ["Theirs"] * 2
    assert rows[0]["result"] == "Venda" and rows[0]["notes"] == 'ok, disse "sim"'
    assert [row["campaign"] for row in table((await client.get(alices["url"])).content)] == ["Mine"] * 3
    assert refused == {"__typename": "ExportError", "code": "FORBIDDEN", "field": None}
    filtered = await link(factory, supervisor, "OPERATIONS", {"resultKind": "NO_CONTACT"})
    assert table((await client.get(filtered["url"])).content) == []
    # the link is its user's: changed, it is refused; someone else's token finds nothing
    tampered = everything["url"].replace("signature=", "signature=0")
    assert (await client.get(tampered)).status_code == 403
    path = everything["url"].split("?", 1)[0]
    assert (await client.get(path, headers=bearer(alice, settings))).status_code == 404
    assert (await client.get(path, headers=bearer(supervisor, settings))).status_code == 200
    assert (await Export.get(id=int(everything["id"]))).rows == 5


async def test_a_rep_exports_only_their_companys_tickets_with_the_last_status(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # given
    tickets = TicketFactory(factory)
    acme, globex = await factory.company(name="Acme"), await factory.company(name="Globex")
    rep = await factory.user(Role.COMPANY_REP, company=acme)
    agent, other_agent = await factory.user(Role.AGENT), await factory.user(Role.AGENT)
    new, waiting = await tickets.status("Novo", initial=True), await tickets.status("Aguardando cliente")
    await tickets.ticket(rep, new, company=acme, subject="Acme 1")
    await tickets.ticket(rep, waiting, company=acme, subject="Acme 2", assignee=agent)
    other_rep = await factory.user(Role.COMPANY_REP, company=globex)
    await tickets.ticket(other_rep, new, company=globex, subject="Globex 1", assignee=other_agent)
    # when
    by_rep = table((await client.get((await link(factory, rep, "TICKETS"))["url"])).content)
    by_agent = table((await client.get((await link(factory, agent, "TICKETS"))["url"])).content)
    # then
    assert [(row["subject"], row["status"], row["company"]) for row in by_rep] == [
        ("Acme 1", "Novo", "Acme"), ("Acme 2", "Aguardando cliente", "Acme")
    ]
    assert [row["subject"] for row in by_agent] == ["Acme 1", "Acme 2"]  # theirs and unassigned


async def test_members_export_needs_its_campaign_and_hides_nothing_from_staff(
    client: httpx.AsyncClient, factory: Factory, outbound: Outbound
) -> None:
    supervisor = await factory.user(Role.SUPERVISOR)
    campaign = await outbound.campaign()
    await outbound.member(campaign, await factory.person(name="Ana"))
    assert (await link(factory, supervisor, "MEMBERS"))["code"] == "CAMPAIGN_REQUIRED"
    made = await link(factory, supervisor, "MEMBERS", {"campaignId": str(campaign.pk), "status": "NOT_ACTED"})
    rows = table((await client.get(made["url"])).content)
    assert [(row["person"], row["status"], row["stage"]) for row in rows] == [("Ana", "NOT_ACTED", "Contact")]


async def test_the_first_bytes_leave_before_the_export_is_built(
    factory: Factory, outbound: Outbound, clock: Clock, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given: a supervisor's export of operations, pages of 2 rows, served by the real app
    _, bruno = await operations_in_two_campaigns(factory, outbound, clock)
    supervisor = await factory.user(Role.SUPERVISOR)
    export = await exports.create_export(Context(settings=settings, user=supervisor), ExportKind.OPERATIONS,
                                         exports.ExportFilter())
    original = exports.export_csv

    def small_pages(ctx: Context, row: Export, page: int | None = None) -> AsyncIterator[bytes]:
        return original(ctx, row, page=2)

    monkeypatch.setattr(exports, "export_csv", small_pages)
    app = create_app(settings)
    scope = {
        "type": "http", "method": "GET", "path": f"/exports/{export.pk}.csv", "raw_path": b"", "root_path": "",
        "query_string": b"", "headers": [(b"authorization", bearer(supervisor, settings)["Authorization"].encode())],
        "scheme": "http", "server": ("contato.test", 80), "client": ("127.0.0.1", 1), "http_version": "1.1",
    }
    first_body = asyncio.Event()
    go_on = asyncio.Event()
    bodies: list[bytes] = []

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the client never disconnects
        return {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            bodies.append(message.get("body", b""))
            if len(bodies) == 1:
                first_body.set()
                await go_on.wait()

    served = asyncio.create_task(app(scope, receive, send))
    await asyncio.wait_for(first_body.wait(), 10)
    # when: a row is written after the first bytes left
    campaign = await outbound.campaign(agents=(bruno,), name="Later")
    member = await outbound.member(campaign)
    await Operation.create(member=member, campaign=campaign, person_id=member.person_id, agent=bruno,
                           attempt=1, local_date=clock.today, no_contact=True)
    go_on.set()
    await asyncio.wait_for(served, 10)
    # then: the first chunk was the header alone, and the export read on past it
    assert bodies[0].decode("utf-8-sig").startswith("id,created_at,")
    assert bodies[0].count(b"\n") == 1
    rows = table(b"".join(bodies))
    assert [row["campaign"] for row in rows] == ["Mine"] * 3 + ["Theirs"] * 2 + ["Later"]


def test_the_cli_streams_an_export_to_a_file(tmp_path: Any) -> None:
    import os
    import subprocess
    import sys

    # given: the demo data set in a database of its own (a copy of the migrated one: the CLI's migrate is
    # not what this test is about)
    shutil.copyfile(migrated_sqlite_template(), tmp_path / "cli.sqlite3")
    env = {**os.environ, "DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}", "CONTATO_DATA_DIR": str(tmp_path),
           "PASSWORD_HASH_PROFILE": "CHEAPEST"}
    seeded = subprocess.run([sys.executable, "-m", "contato", "seed"], env=env, capture_output=True, text=True,
                            check=False, timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    output = tmp_path / "tickets.csv"
    # when
    done = subprocess.run([sys.executable, "-m", "contato", "export", "tickets", "--output", str(output)],
                          env=env, capture_output=True, text=True, check=False, timeout=120)
    # then
    assert done.returncode == 0, done.stderr
    rows = table(output.read_bytes())
    assert rows and set(rows[0]) == {"number", "subject", "state", "status", "company", "contact_name", "assignee",
                                     "opened_at", "return_due_at", "closed_at"}
    spreadsheet = tmp_path / "tickets.xlsx"  # the same rows as a spreadsheet, chosen by the file's name
    done = subprocess.run([sys.executable, "-m", "contato", "export", "tickets", "--output", str(spreadsheet)],
                          env=env, capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    cells = sheet(spreadsheet.read_bytes())
    assert cells[0] == list(rows[0]) and [row[0] for row in cells[1:]] == [row["number"] for row in rows]
    # a report, and its refusal before any file is made
    figures = tmp_path / "figures.csv"
    command = [sys.executable, "-m", "contato", "export", "ticket-figures", "--output", str(figures)]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=120)
    assert refused.returncode == 1 and "INVALID_PERIOD" in refused.stderr and not figures.exists()
    done = subprocess.run([*command, "--from", "2000-01-01", "--to", "2000-12-31"], env=env, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert figures.read_bytes().decode("utf-8-sig") == "week,company,classification,opened,closed,awaiting_return\r\n"


async def test_cells_a_spreadsheet_would_run_as_formulas_are_quoted(
    client: httpx.AsyncClient, factory: Factory, outbound: Outbound, clock: Clock
) -> None:
    # given: names and notes typed to run as formulas when the CSV is opened in a spreadsheet
    supervisor, agent = await factory.user(Role.SUPERVISOR), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), name="=HYPERLINK(\"http://x\")")
    sale = await outbound.result(ResultKind.SUCCESS, name="@SUM(A1)")
    hostile = ["=1+1", "+55 11 3333", "-2+3", "@cmd", "\t=1", "\r=1", "plain - text"]
    for index, note in enumerate(hostile):
        member = await outbound.member(campaign, await factory.person(name=f"-{index}"))
        await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=agent, result=sale,
            result_kind="SUCCESS", attempt=1, local_date=clock.today, notes=note,
        )
    # when
    rows = table((await client.get((await link(factory, supervisor, "OPERATIONS"))["url"])).content)
    # then: each such cell starts with a quote, and the rest is left as typed
    assert [row["notes"] for row in rows] == [
        "'=1+1", "'+55 11 3333", "'-2+3", "'@cmd", "'\t=1", "'\r=1", "plain - text",
    ]
    assert {row["campaign"] for row in rows} == {"'=HYPERLINK(\"http://x\")"}
    assert {row["result"] for row in rows} == {"'@SUM(A1)"}
    assert [row["person"] for row in rows] == [f"'-{index}" for index in range(len(hostile))]
    assert rows[0]["attempt"] == "1" and rows[0]["id"].isdigit()  # numbers are not text: left alone


async def test_ids_past_any_row_name_no_export_or_import(
    client: httpx.AsyncClient, factory: Factory, settings: Settings
) -> None:
    # given
    supervisor = await factory.user(Role.SUPERVISOR)
    headers = bearer(supervisor, settings)
    # when / then: never sent to the database (PostgreSQL's integer would overflow: a 500)
    for path in ("/exports/99999999999999999999999.csv", "/exports/2147483648.csv",
                 "/imports/99999999999999999999999/errors.csv", "/imports/2147483648/errors.csv"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text)
    # nor is a signed link's user id past any row's
    for path in ("/exports/1.csv", "/imports/1/errors.csv", "/attachments/1"):
        for user in ("99999999999999999999999", "2147483648", "-1", "１"):
            response = await client.get(f"{path}?user={user}&expires=9999999999&signature=00")
            assert response.status_code == 403, (path, user, response.text)


async def test_reports_export_as_csv_with_the_figures_and_rights_of_their_queries(
    client: httpx.AsyncClient, factory: Factory, outbound: Outbound, clock: Clock, settings: Settings
) -> None:
    # given: the reports' hand-computed day (tests/reports/test_reports.py)
    from tests.reports.test_reports import outbound_day

    alice, bruno, campaign_id = await outbound_day(factory, outbound)
    supervisor, rep = await factory.user(Role.SUPERVISOR), await factory.user(Role.COMPANY_REP)
    period = {"dateFrom": "2031-01-08", "dateTo": "2031-01-09"}
    # when
    productivity = await link(factory, supervisor, "AGENT_PRODUCTIVITY", period)
    own = await link(factory, alice, "AGENT_PRODUCTIVITY", period)
    results = await link(factory, supervisor, "CAMPAIGN_RESULTS", {**period, "campaignId": str(campaign_id)})
    # then
    rows = table((await client.get(productivity["url"])).content)
    assert [(r["day"], r["hour"], r["agent"], r["claims"], r["attempts"], r["contacts"], r["no_contacts"],
             r["success"], r["failure"], r["schedule"], r["conversion"]) for r in rows] == [
        ("2031-01-08", "9", "Alice", "2", "3", "2", "1", "1", "1", "0", "0.5"),
        ("2031-01-08", "9", "Bruno", "1", "1", "1", "0", "0", "0", "1", "0.0"),
        ("2031-01-08", "10", "Alice", "0", "1", "1", "0", "1", "0", "0", "1.0"),
        ("2031-01-09", "11", "Bruno", "0", "1", "0", "1", "0", "0", "0", ""),
    ]
    assert [r["agent"] for r in table((await client.get(own["url"])).content)] == ["Alice", "Alice"]
    assert [tuple(r.values()) for r in table((await client.get(results["url"])).content)] == [
        ("2031-01-08", "attempts", "", "", "5"),
        ("2031-01-08", "result", "Recusa", "FAILURE", "1"),
        ("2031-01-08", "result", "Retornar", "SCHEDULE", "1"),
        ("2031-01-08", "result", "Venda", "SUCCESS", "2"),
        ("2031-01-08", "no_contact_reason", "Caixa postal", "", "1"),
        ("2031-01-09", "attempts", "", "", "1"),
        ("2031-01-09", "no_contact_reason", "Caixa postal", "", "1"),
    ]
    # refusals are the reports' own, before any file
    refusals = [
        (alice, "AGENT_PRODUCTIVITY", {**period, "agentId": str(bruno.pk)}),
        (rep, "AGENT_PRODUCTIVITY", period),
        (alice, "CAMPAIGN_RESULTS", {**period, "campaignId": str(campaign_id)}),
        (supervisor, "CAMPAIGN_RESULTS", {**period, "campaignId": "999999"}),
        (supervisor, "CAMPAIGN_RESULTS", period),
        (supervisor, "TICKET_FIGURES", {"dateFrom": "2031-01-08"}),
        (supervisor, "TICKET_FIGURES", {"dateFrom": "2031-01-09", "dateTo": "2031-01-08"}),
    ]
    assert [(await link(factory, user, kind, where))["code"] for user, kind, where in refusals] == [
        "FORBIDDEN", "FORBIDDEN", "FORBIDDEN", "NOT_FOUND", "NOT_FOUND", "INVALID_PERIOD", "INVALID_PERIOD",
    ]
    # and rights are checked again at download: an agent who became a rep gets an answer, not a cut file
    alice.role = Role.COMPANY_REP
    await alice.save()
    refused = await client.get(own["url"].split("?", 1)[0], headers=bearer(alice, settings))
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"


async def test_a_rep_exports_the_ticket_figures_of_their_company_only(
    client: httpx.AsyncClient, factory: Factory, clock: Clock
) -> None:
    # given
    tickets = TicketFactory(factory)
    acme, globex = await factory.company(name="Acme"), await factory.company(name="Globex")
    rep, other_rep = (await factory.user(Role.COMPANY_REP, company=acme),
                      await factory.user(Role.COMPANY_REP, company=globex))
    supervisor = await factory.user(Role.SUPERVISOR)
    new = await tickets.status("Novo", initial=True)
    for opener, company in ((rep, acme), (rep, acme), (other_rep, globex)):
        row = await tickets.ticket(opener, new, company=company)
        await Ticket.filter(id=row.pk).update(created_at=clock.now)
    period = {"dateFrom": clock.today.isoformat(), "dateTo": clock.today.isoformat()}
    # when
    by_rep = table((await client.get((await link(factory, rep, "TICKET_FIGURES", period))["url"])).content)
    by_staff = table((await client.get((await link(factory, supervisor, "TICKET_FIGURES", period))["url"])).content)
    # then
    assert [(row["company"], row["opened"]) for row in by_rep] == [("Acme", "2")]
    assert [(row["company"], row["opened"]) for row in by_staff] == [("Acme", "2"), ("Globex", "1")]


async def test_an_export_as_a_spreadsheet_has_the_rows_of_its_csv_and_runs_no_formula(
    client: httpx.AsyncClient, factory: Factory, outbound: Outbound, clock: Clock, settings: Settings
) -> None:
    # given: operations with text a spreadsheet would run, a control character and accents
    supervisor, agent = await factory.user(Role.SUPERVISOR), await factory.user(Role.AGENT)
    campaign = await outbound.campaign(agents=(agent,), name="Promoção de março")
    sale = await outbound.result(ResultKind.SUCCESS, name="=HYPERLINK(\"http://x\")")
    notes = ["=1+1", "bell\x07 & <tag>", "José disse \"sim\"", "x" * 40000]
    for index, note in enumerate(notes):
        member = await outbound.member(campaign, await factory.person(name=f"Pessoa {index}"))
        await Operation.create(
            member=member, campaign=campaign, person_id=member.person_id, agent=agent, result=sale,
            result_kind="SUCCESS", attempt=index + 1, local_date=clock.today, notes=note,
        )
    made = await link(factory, supervisor, "OPERATIONS")
    # when
    response = await client.get(made["xlsxUrl"])
    by_token = await client.get(made["url"].split("?")[0].replace(".csv", ".xlsx"), headers=bearer(supervisor, settings))
    # then
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == xlsx.MEDIA_TYPE
    assert response.headers["content-disposition"].endswith('.xlsx"')
    rows = sheet(response.content)
    csv_rows = table((await client.get(made["url"])).content)
    assert rows[0] == list(csv_rows[0])  # the same header
    assert len(rows) == len(csv_rows) + 1 and sheet(by_token.content) == rows
    header = rows[0]
    got = [dict(zip(header, row, strict=True)) for row in rows[1:]]
    assert [row["notes"] for row in got] == ["=1+1", "bell & <tag>", "José disse \"sim\"", "x" * 32767]
    assert {row["result"] for row in got} == {"=HYPERLINK(\"http://x\")"}  # text, never a formula
    assert {row["campaign"] for row in got} == {"Promoção de março"}
    assert [row["attempt"] for row in got] == [1, 2, 3, 4]  # numbers stay numbers
    assert [str(row["id"]) for row in got] == [row["id"] for row in csv_rows]


async def test_a_report_as_a_spreadsheet_and_its_refusal_before_any_byte(
    client: httpx.AsyncClient, factory: Factory, outbound: Outbound, settings: Settings
) -> None:
    # given: the reports' hand-computed day
    from tests.reports.test_reports import outbound_day

    _, _, campaign_id = await outbound_day(factory, outbound)
    supervisor = await factory.user(Role.SUPERVISOR)
    export = await exports.create_export(
        Context(settings=settings, user=supervisor), ExportKind.CAMPAIGN_RESULTS,
        exports.ExportFilter(campaign_id=campaign_id, date_from="2031-01-01", date_to="2031-01-31"),
    )
    path = f"/exports/{export.pk}.xlsx"
    # when
    as_csv = table((await client.get(path.replace(".xlsx", ".csv"), headers=bearer(supervisor, settings))).content)
    as_sheet = sheet((await client.get(path, headers=bearer(supervisor, settings))).content)
    # then: the same figures, counts as numbers
    assert as_sheet[0] == list(as_csv[0]) and len(as_sheet) == len(as_csv) + 1
    assert [["" if cell is None else str(cell) for cell in row] for row in as_sheet[1:]] == [
        list(row.values()) for row in as_csv
    ]
    assert isinstance(as_sheet[1][-1], int)
    # a supervisor demoted since: refused as JSON, not a cut spreadsheet
    supervisor.role = Role.AGENT
    await supervisor.save()
    refused = await client.get(path, headers=bearer(supervisor, settings))
    assert refused.status_code == 403 and refused.json()["code"] == "FORBIDDEN"
