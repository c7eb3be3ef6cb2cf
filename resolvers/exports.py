"""Exports: operations, tickets with their last status, campaign members, as CSV streamed from the
database a page at a time (keyset by id), with the visibility of the queries that list them; and the
three reports (resolvers/reports.py) as CSV, with the rights of their queries.

`create_export` records what was asked (kind and filters) for a caller who may ask it; the file is
built while it is downloaded (`export_csv`): the first bytes leave before the second page is read, and
memory holds one page whatever the size of the export. The caller's rights are applied again, for
the user as they are at download time (a link stands for its user, like an attachment's).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from tortoise.queryset import QuerySet

from models.campaign import Campaign, CampaignStage, QueueStatus
from models.company import Company
from models.data_export import Export, ExportKind
from models.operation import Operation
from models.outbound import (
    ContactResult,
    Justification,
    NoContactReason,
    ResultKind,
    Script,
    ScriptAnswer,
)
from models.person import Person
from models.ticket_catalog import TicketStatus
from models.user import Role, User
from resolvers import reports, xlsx
from resolvers.campaign.members import visible_members
from resolvers.campaign.rules import is_staff
from resolvers.context import Context
from resolvers.errors import ExportError, ExportErrorCode, ReportError
from resolvers.ticket.access import filtered_tickets
from resolvers.ticket.inputs import StateFilter, TicketFilter

PAGE = 2000
BOM = "\ufeff"


@dataclass(frozen=True)
class ExportFilter:
    campaign_id: int | None = None
    agent_id: int | None = None
    result_kind: str | None = None  # SUCCESS, FAILURE, SCHEDULE or NO_CONTACT
    date_from: str | None = None  # ISO dates, local (Operation.local_date)
    date_to: str | None = None
    company_id: int | None = None
    state: str | None = None  # tickets: OPEN, CLOSED, ALL
    status: str | None = None  # members: a QueueStatus


async def create_export(ctx: Context, kind: ExportKind, where: ExportFilter) -> Export:
    user = ctx.require_user()
    if kind in REPORT_KINDS:
        await _report_request(ctx, kind, where)
        return await Export.create(kind=kind, filters=asdict(where), created_by_id=user.pk)
    if kind in (ExportKind.OPERATIONS, ExportKind.MEMBERS) and user.role == Role.COMPANY_REP:
        raise ExportError(ExportErrorCode.FORBIDDEN, "Outbound work is for the operator.")
    if kind == ExportKind.MEMBERS and where.campaign_id is None:
        raise ExportError(ExportErrorCode.CAMPAIGN_REQUIRED, "A members export needs campaignId.", "campaignId")
    if where.date_from and where.date_to and where.date_from > where.date_to:
        raise ExportError(ExportErrorCode.INVALID_PERIOD, "dateFrom comes after dateTo.", "dateFrom")
    if where.status is not None and where.status not in QueueStatus.__members__:
        raise ExportError(ExportErrorCode.INVALID, f"{where.status!r} is not a queue status.", "status")
    return await Export.create(kind=kind, filters=asdict(where), created_by_id=user.pk)


async def get_export(ctx: Context, export_id: int) -> Export:
    """The caller's own export."""
    user = ctx.require_user()
    export = await Export.get_or_none(id=export_id, created_by_id=user.pk)
    if export is None:
        raise ExportError(ExportErrorCode.NOT_FOUND, "No such export.", "id")
    return export


# --- reports -------------------------------------------------------------------------------------

REPORT_KINDS = (ExportKind.AGENT_PRODUCTIVITY, ExportKind.CAMPAIGN_RESULTS, ExportKind.TICKET_FIGURES)
PRODUCTIVITY_HEADER = ("day", "hour", "agent", "claims", "attempts", "contacts", "no_contacts", "success",
                       "failure", "schedule", "conversion")
CAMPAIGN_RESULTS_HEADER = ("day", "figure", "name", "result_kind", "count")
TICKET_FIGURES_HEADER = ("week", "company", "classification", "opened", "closed", "awaiting_return")


def _day(text: str | None, name: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise ExportError(ExportErrorCode.INVALID_PERIOD, f"{text!r} is not a date (YYYY-MM-DD).", name) from None


async def _report_request(ctx: Context, kind: ExportKind, where: ExportFilter) -> tuple[date, date]:
    """The report's own checks (resolvers/reports.py), answered as the export's errors."""
    try:
        period = reports.check_period(_day(where.date_from, "dateFrom"), _day(where.date_to, "dateTo"))
        if kind == ExportKind.AGENT_PRODUCTIVITY:
            reports.check_productivity(ctx, *period, where.agent_id)
        elif kind == ExportKind.CAMPAIGN_RESULTS:
            await reports.check_campaign_results(ctx, where.campaign_id, *period)
        return period
    except ReportError as refused:
        raise ExportError(ExportErrorCode[refused.code.name], refused.message, refused.field) from None


async def _report(ctx: Context, kind: ExportKind, where: ExportFilter) -> tuple[Columns, list[Sequence[Any]]]:
    """A report's rows, worked out whole (its figures are sums over the period; memory follows the
    number of groups, not of rows), by the same use case as its query, with the caller's rights now."""
    date_from, date_to = await _report_request(ctx, kind, where)
    try:
        if kind == ExportKind.AGENT_PRODUCTIVITY:
            hours = await reports.agent_productivity(ctx, date_from, date_to, where.campaign_id, where.agent_id)
            return PRODUCTIVITY_HEADER, [
                (row.day.isoformat(), row.hour, row.agent_name, row.claims, row.attempts, row.contacts,
                 row.no_contacts, *(row.results.get(result.value, 0) for result in ResultKind),
                 "" if row.conversion is None else round(row.conversion, 4))
                for row in hours
            ]
        if kind == ExportKind.CAMPAIGN_RESULTS:
            assert where.campaign_id is not None  # _report_request checked it
            rows: list[Sequence[Any]] = []
            for day in await reports.campaign_results(ctx, where.campaign_id, date_from, date_to):
                rows.append((day.day.isoformat(), "attempts", "", "", day.attempts))
                rows += [(day.day.isoformat(), "result", name, result_kind, count)
                         for (name, result_kind), count in sorted(day.results.items())]
                rows += [(day.day.isoformat(), "no_contact_reason", name, "", count)
                         for name, count in sorted(day.no_contact_reasons.items())]
            return CAMPAIGN_RESULTS_HEADER, rows
        weeks = await reports.ticket_figures(ctx, date_from, date_to, where.company_id)
        return TICKET_FIGURES_HEADER, [
            (week.week.isoformat(), week.company_name, week.classification_name, week.opened, week.closed,
             week.awaiting_return)
            for week in weeks
        ]
    except ReportError as refused:
        raise ExportError(ExportErrorCode[refused.code.name], refused.message, refused.field) from None


def _operations(ctx: Context, where: ExportFilter) -> QuerySet[Operation] | None:
    user = ctx.require_user()
    if user.role == Role.COMPANY_REP:
        return None
    queryset = Operation.all()
    if not is_staff(user):
        queryset = queryset.filter(campaign__agent_links__agent_id=user.pk)
    if where.campaign_id is not None:
        queryset = queryset.filter(campaign_id=where.campaign_id)
    if where.agent_id is not None:
        queryset = queryset.filter(agent_id=where.agent_id)
    if where.result_kind == "NO_CONTACT":
        queryset = queryset.filter(no_contact=True)
    elif where.result_kind is not None:
        queryset = queryset.filter(result_kind=where.result_kind)
    if where.date_from:
        queryset = queryset.filter(local_date__gte=date.fromisoformat(where.date_from))
    if where.date_to:
        queryset = queryset.filter(local_date__lte=date.fromisoformat(where.date_to))
    return queryset


async def _names(model: Any, ids: Iterable[int | None], column: str = "name") -> dict[int, Any]:
    wanted = {pk for pk in ids if pk is not None}
    if not wanted:
        return {}
    return dict(await model.filter(id__in=wanted).values_list("id", column))


Columns = tuple[str, ...]
Rows = Callable[[list[tuple[Any, ...]]], Awaitable[list[Sequence[Any]]]]

# script_answers: the dynamic script's answers as one JSON object, {"question key": "answer", ...} in
# question order ({} without answers); script: the title of the script the agent ran.
OPERATION_HEADER = ("id", "created_at", "local_date", "campaign", "agent", "person", "document", "attempt",
                    "result", "result_kind", "justification", "no_contact", "no_contact_reason", "callback_at",
                    "notes", "script", "script_answers")
OPERATION_COLUMNS = ("id", "created_at", "local_date", "campaign_id", "agent_id", "person_id", "attempt",
                     "result_id", "result_kind", "justification_id", "no_contact", "no_contact_reason_id",
                     "callback_at", "notes", "script_id")


async def _answers(operation_ids: Iterable[int]) -> dict[int, str]:
    """Each operation's answers as a JSON object (one query for the page)."""
    found: dict[int, dict[str, str]] = {}
    for operation_id, key, value in await ScriptAnswer.filter(operation_id__in=set(operation_ids)).order_by(
        "operation_id", "position"
    ).values_list("operation_id", "question_key", "value"):
        found.setdefault(operation_id, {})[key] = value
    return {pk: json.dumps(answers, ensure_ascii=False) for pk, answers in found.items()}


async def _operation_rows(page: list[tuple[Any, ...]]) -> list[Sequence[Any]]:
    (ids, _, _, campaigns, agents, persons, _, results, _, justifications, _, reasons, _, _, scripts) = zip(
        *page, strict=True
    )
    campaign = await _names(Campaign, campaigns)
    agent = await _names(User, agents)
    person = {pk: (name, document) for pk, name, document in await Person.filter(
        id__in=set(persons)).values_list("id", "name", "document")}
    result = await _names(ContactResult, results)
    justification = await _names(Justification, justifications)
    reason = await _names(NoContactReason, reasons)
    script = await _names(Script, scripts, "title")
    answers = await _answers(ids) if any(scripts) else {}
    return [
        (pk, created.isoformat(), day.isoformat(), campaign.get(campaign_id, ""), agent.get(agent_id, ""),
         *person.get(person_id, ("", "")), attempt, result.get(result_id, ""), kind or "",
         justification.get(justification_id, ""), "yes" if no_contact else "no", reason.get(reason_id, ""),
         callback.isoformat() if callback else "", notes, script.get(script_id, ""), answers.get(pk, "{}"))
        for (pk, created, day, campaign_id, agent_id, person_id, attempt, result_id, kind, justification_id,
             no_contact, reason_id, callback, notes, script_id) in page
    ]


TICKET_HEADER = ("number", "subject", "state", "status", "company", "contact_name", "assignee", "opened_at",
                 "return_due_at", "closed_at")
TICKET_COLUMNS = ("id", "number", "subject", "state", "status_id", "company_id", "contact_name", "assignee_id",
                  "created_at", "return_due_at", "closed_at")


async def _ticket_rows(page: list[tuple[Any, ...]]) -> list[Sequence[Any]]:
    status = await _names(TicketStatus, (row[4] for row in page))
    company = await _names(Company, (row[5] for row in page))
    assignee = await _names(User, (row[7] for row in page))
    return [
        (number, subject, getattr(state, "value", state), status.get(status_id, ""), company.get(company_id, ""),
         contact, assignee.get(assignee_id, ""), created.isoformat(), due.isoformat() if due else "",
         closed.isoformat() if closed else "")
        for (_, number, subject, state, status_id, company_id, contact, assignee_id, created, due, closed) in page
    ]


MEMBER_HEADER = ("id", "campaign", "person", "document", "status", "stage", "attempts", "assigned_agent",
                 "last_acted_at", "due_at")
MEMBER_COLUMNS = ("id", "campaign_id", "person_id", "status", "stage_id", "attempts", "assigned_agent_id",
                  "last_acted_at", "due_at")


async def _member_rows(page: list[tuple[Any, ...]]) -> list[Sequence[Any]]:
    campaign = await _names(Campaign, (row[1] for row in page))
    person = {pk: (name, document) for pk, name, document in await Person.filter(
        id__in={row[2] for row in page}).values_list("id", "name", "document")}
    stage = await _names(CampaignStage, (row[4] for row in page))
    agent = await _names(User, (row[6] for row in page))
    return [
        (pk, campaign.get(campaign_id, ""), *person.get(person_id, ("", "")), getattr(status, "value", status),
         stage.get(stage_id, ""), attempts, agent.get(agent_id, ""), acted.isoformat() if acted else "",
         due.isoformat() if due else "")
        for (pk, campaign_id, person_id, status, stage_id, attempts, agent_id, acted, due) in page
    ]


def _source(ctx: Context, export: Export) -> tuple[QuerySet[Any] | None, Columns, Columns, Rows]:
    where = ExportFilter(**export.filters)
    if export.kind == ExportKind.OPERATIONS:
        return _operations(ctx, where), OPERATION_HEADER, OPERATION_COLUMNS, _operation_rows
    if export.kind == ExportKind.TICKETS:
        tickets = filtered_tickets(ctx, TicketFilter(
            state=StateFilter(where.state or "ALL"), company_id=where.company_id, assignee_id=where.agent_id,
        ))
        return tickets, TICKET_HEADER, TICKET_COLUMNS, _ticket_rows
    members = visible_members(ctx).filter(campaign_id=where.campaign_id)
    if where.status is not None:
        members = members.filter(status=where.status)
    return members, MEMBER_HEADER, MEMBER_COLUMNS, _member_rows


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP): a
# name, a note or a message typed as `=HYPERLINK(...)` must reach whoever opens the file as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Text that a spreadsheet would read as a formula, quoted with a leading `'`; the rest as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def encode_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    """CSV bytes of `rows`, every text cell made safe to open in a spreadsheet."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode()


async def export_pages(ctx: Context, export: Export, page: int | None = None) -> AsyncIterator[list[Sequence[Any]]]:
    """The export's header row alone, then a page of rows at a time. A report is worked out before
    its header, so that a refusal (ExportError) comes before anything is sent."""
    if export.kind in REPORT_KINDS:
        report_header, report_rows = await _report(ctx, export.kind, ExportFilter(**export.filters))
        yield [report_header]
        yield list(report_rows)
        if export.pk is not None:
            await Export.filter(id=export.pk).update(rows=len(report_rows))
        return
    queryset, header, columns, convert = _source(ctx, export)
    yield [header]
    if queryset is None:
        return
    size = page or PAGE
    last, total = 0, 0
    while True:
        rows = await queryset.filter(id__gt=last).order_by("id").limit(size).values_list(*columns)
        if not rows:
            break
        last = rows[-1][0]
        total += len(rows)
        yield await convert(list(rows))
        if len(rows) < size:
            break
    if export.pk is not None:
        await Export.filter(id=export.pk).update(rows=total)


async def export_csv(ctx: Context, export: Export, page: int | None = None) -> AsyncIterator[bytes]:
    """The export as CSV bytes: the header at once, then a page of rows at a time."""
    pages = export_pages(ctx, export, page)
    header = (await anext(pages))[0]
    yield (BOM + ",".join(header) + "\r\n").encode()
    async for rows in pages:
        yield encode_csv(rows)


def export_xlsx(ctx: Context, export: Export, page: int | None = None) -> AsyncIterator[bytes]:
    """The export as an XLSX spreadsheet, streamed the same way (resolvers/xlsx.py)."""
    return xlsx.stream(export.kind.value.lower(), export_pages(ctx, export, page))
