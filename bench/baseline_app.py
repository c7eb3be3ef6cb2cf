"""The baseline of bench/side_by_side.py: a minimal hand-written Starlette + asyncpg app (not the product).

Two endpoints answer the two documents the side-by-side benchmark sends (the request body is the same
GraphQL JSON Contato receives; only `variables` is read) with the same SQL statements Contato's resolvers
and DataLoaders send for them (captured with the `tortoise.db_client` logger at DEBUG, same tables, columns,
WHERE, ORDER BY and LIMIT; column order within a SELECT differs), in the same rounds (what DataLoaders batch
together runs concurrently here too), over an asyncpg pool of Tortoise's size (1 to 5 connections), and
return the JSON Contato returns (`json.dumps`, compact, as Strawberry encodes it):

    POST /queue-page   QUEUE_PAGE of bench/queue_page.py: campaignQueue(campaignId, first: 50) with person,
                       stage, lastOperation { result agent } and nextCallback.
    POST /tickets      TICKET_LIST of bench/side_by_side.py: tickets(first: 50) with status, company and
                       messages(first: 10) { body author { name } createdAt }.
    POST /tickets-sorted  SORTED_TICKET_LIST of bench/side_by_side.py: tickets(first: 50, orderBy:
                       LAST_MESSAGE_AT DESC) with totalCount, status, company, messageCount, lastMessageAt and
                       lastMessage { body createdAt author { name } }.

Authentication is Contato's: the same Bearer JWT (HS256, SECRET_KEY, `sub`, `exp` and `ver` required), then
the same one-row user lookup by id and the active / token_version checks. What Contato does and this does
not: parse, validate and execute GraphQL, its schema extensions (depth, aliases, tokens, cost, mutation
rate limit: no SQL for a query), the request-id middleware, and decoding the token a second time for its
expiry. Neither caches anything across requests.

    DATABASE_URL=postgres://… SECRET_KEY=… .venv/bin/python bench/baseline_app.py --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import json
import os
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # Contato's dev default
PAGE_SIZE = 50
MESSAGES_PER_TICKET = 10
STAFF = ("SUPERVISOR", "ADMIN")

USER = '"name","company_id","id","active","updated_at","password_hash","email","role","token_version","created_at"'
CAMPAIGN = (
    '"name","max_attempts","id","callback_opens_after_minutes","end_date","active","callback_policy",'
    '"saturday_end_minute","updated_at","weekday_start_minute","saturday_start_minute","description",'
    '"start_date","retry_after_minutes","created_at","default_action_type_id","weekday_end_minute"'
)
MEMBER = ",".join(
    f'"campaign_member"."{column}"'
    for column in (
        "stage_id", "due_at", "id", "attempts", "person_id", "campaign_id", "assigned_agent_id", "updated_at",
        "last_acted_at", "claimed_by_id", "last_operation_id", "claim_expires_at", "next_callback_id",
        "reserved_agent_id", "priority", "created_at", "reserved_until", "status",
    )
)
PERSON = (
    '"name","company_id","id","emails","search_text","updated_at","kind","document_key","phones","created_at",'
    '"stage","document","do_not_call","converted_to_id"'
)
OPERATION = (
    '"attempt","campaign_id","result_id","updated_at","channel_id","action_type_id","no_contact","notes",'
    '"conversation","stage_id","created_at","local_date","id","no_contact_reason_id","callback_at","agent_id",'
    '"result_kind","person_id","justification_id","member_id"'
)
STAGE = '"name","id","campaign_id","updated_at","position","created_at"'
CALLBACK = (
    '"opens_at","due_at","id","operation_id","campaign_id","updated_at","opened_alerted_at","closed_at",'
    '"alerted_at","created_at","member_id","status","agent_id"'
)
RESULT = '"name","id","active","updated_at","recycle_max_attempts","kind","created_at","recycle_after_minutes"'
TICKET = (
    '"updated_at","status_id","channel_id","subclassification_id","parent_id","company_id","contact_phone",'
    '"contact_name","number","contact_subtype_id","contact_email","return_due_at","state","closed_at",'
    '"created_at","classification_id","id","return_alerted_at","closure_reason_id","opened_by_id",'
    '"search_text","contact_type_id","product","subject","person_id","occurrence","assignee_id"'
)
TICKET_STATUS = (
    '"name","id","initial","active","updated_at","allows_closing","email_on_change","created_at",'
    '"return_after_days","email_on_enter"'
)
COMPANY = '"name","id","active","updated_at","cnpj","created_at"'

# The sorted list (the compiled path's statements): the page in the keyset order, its capped count, and the
# last messages by id. A rep's summary columns are those without internal notes (resolvers/ticket/summary.py).
SORTED_TICKET = '"id","number","subject","status_id","company_id","{count}","{at}","{last}"'
SORTED_WHERE = {
    "AGENT": '("assignee_id"=$1 OR "assignee_id" IS NULL)',
    "COMPANY_REP": '"company_id"=$1',
    "ALL": "$1::int IS NOT NULL",
}
COUNT_LIMIT = 10_000
LAST_MESSAGE = '"id","body","created_at","author_id"'


def summary_columns(role: str) -> dict[str, str]:
    prefix = "public_" if role == "COMPANY_REP" else ""
    return {"count": f"{prefix}message_count", "at": f"{prefix}last_message_at", "last": f"{prefix}last_message_id"}


USER_BY_ID = f'SELECT {USER} FROM "app_user" WHERE "id"=$1 ORDER BY "id" ASC LIMIT $2'
CAMPAIGN_BY_ID = f'SELECT {CAMPAIGN} FROM "campaign" WHERE "id"=$1 ORDER BY "id" ASC LIMIT $2'
AGENT_LINK = 'SELECT 1 FROM "campaign_agent" WHERE "campaign_id"=$1 AND "agent_id"=$2 LIMIT $3'
WORKABLE_MEMBERS = (
    f'SELECT {MEMBER} FROM "campaign_member" LEFT OUTER JOIN "person" "campaign_member__person" '
    'ON "campaign_member__person"."id"="campaign_member"."person_id" '
    'WHERE "campaign_member"."campaign_id"=$1 AND "campaign_member"."status" IN ($2,$3) '
    'AND "campaign_member__person"."do_not_call"=$4 '
    'AND ("campaign_member"."assigned_agent_id" IS NULL OR "campaign_member"."assigned_agent_id"=$5) '
    'AND ("campaign_member"."reserved_agent_id" IS NULL OR "campaign_member"."reserved_agent_id"=$6 '
    'OR "campaign_member"."reserved_until"<=$7) '
    'AND ("campaign_member"."claimed_by_id" IS NULL OR "campaign_member"."claimed_by_id"=$8 '
    'OR "campaign_member"."claim_expires_at"<=$9) '
    'AND ("campaign_member"."due_at" IS NULL OR "campaign_member"."due_at"<=$10) '
    'ORDER BY "campaign_member"."priority" ASC,"campaign_member"."due_at" ASC,"campaign_member"."id" ASC '
    "LIMIT $11"
)
TICKETS_OF_AGENT = (
    f'SELECT {TICKET} FROM "ticket" WHERE "assignee_id"=$1 OR "assignee_id" IS NULL ORDER BY "id" ASC LIMIT $2'
)
TICKETS_OF_COMPANY = f'SELECT {TICKET} FROM "ticket" WHERE "company_id"=$1 ORDER BY "id" ASC LIMIT $2'
TICKETS_ALL = f'SELECT {TICKET} FROM "ticket" ORDER BY "id" ASC LIMIT $1'


@functools.lru_cache(maxsize=1024)
def by_ids(table: str, columns: str, count: int, order: str = '"id" ASC') -> str:
    """What a Tortoise DataLoader sends for `count` distinct keys: `"id" IN ($1,…)` in the model's order."""
    placeholders = ",".join(f"${index}" for index in range(1, count + 1))
    return f'SELECT {columns} FROM "{table}" WHERE "id" IN ({placeholders}) ORDER BY {order}'


def message_pages(ticket_ids: Iterable[int], size: int, include_internal: bool) -> str:
    """resolvers/loaders.py _message_pages, verbatim: the first `size` messages of every ticket."""
    ids = ", ".join(str(int(ticket_id)) for ticket_id in sorted(ticket_ids))
    internal = "" if include_internal else " AND internal = false"
    return (
        "SELECT id, ticket_id, author_id, body, internal, created_at FROM ("
        "SELECT id, ticket_id, author_id, body, internal, created_at, "
        "ROW_NUMBER() OVER (PARTITION BY ticket_id ORDER BY id) AS position "
        f"FROM ticket_message WHERE ticket_id IN ({ids}) AND id > 0{internal}"
        f") ranked WHERE position <= {int(size)} ORDER BY ticket_id, id"
    )


class Baseline:
    def __init__(self, database_url: str, secret_key: str, zone: ZoneInfo) -> None:
        self.database_url = database_url
        self.secret_key = secret_key
        self.zone = zone
        self.pool: asyncpg.Pool | None = None

    async def rows_by_id(
        self, table: str, columns: str, ids: Iterable[int | None], order: str = '"id" ASC'
    ) -> dict[int, asyncpg.Record]:
        keys = {key for key in ids if key is not None}
        if not keys:
            return {}
        assert self.pool is not None
        rows = await self.pool.fetch(by_ids(table, columns, len(keys), order), *keys)
        return {row["id"]: row for row in rows}

    async def authenticate(self, request: Request) -> asyncpg.Record | None:
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            payload = jwt.decode(
                token.strip(), self.secret_key, algorithms=["HS256"], options={"require": ["sub", "exp", "ver"]}
            )
            user_id = int(payload["sub"])
        except (jwt.PyJWTError, TypeError, ValueError):
            return None
        assert self.pool is not None
        user = await self.pool.fetchrow(USER_BY_ID, user_id, 2)
        if user is None or not user["active"] or user["token_version"] != payload["ver"]:
            return None
        return user

    async def queue_page(self, request: Request) -> Response:
        variables = json.loads(await request.body()).get("variables") or {}
        campaign_id = int(variables["campaignId"])
        user = await self.authenticate(request)
        if user is None:
            return unauthenticated()
        assert self.pool is not None
        campaign = await self.pool.fetchrow(CAMPAIGN_BY_ID, campaign_id, 2)
        if campaign is not None and user["role"] not in STAFF:
            today = datetime.now(UTC).astimezone(self.zone).date()
            is_open = (
                campaign["active"]
                and campaign["start_date"] <= today
                and (campaign["end_date"] is None or campaign["end_date"] >= today)
            )
            if not is_open or await self.pool.fetchrow(AGENT_LINK, campaign_id, user["id"], 1) is None:
                campaign = None
        if campaign is None:
            return encode({"data": {"campaignQueue": connection([], [], False)}})
        now = datetime.now(UTC)
        me = user["id"]
        rows = await self.pool.fetch(
            WORKABLE_MEMBERS, campaign_id, "NOT_ACTED", "SCHEDULED", False, me, me, now, me, now, now, PAGE_SIZE + 1
        )
        members = rows[:PAGE_SIZE]

        async def operations_with_result_and_agent() -> tuple[dict, dict, dict]:
            operations = await self.rows_by_id(
                "operation", OPERATION, (m["last_operation_id"] for m in members), '"id" DESC'
            )
            results, agents = await asyncio.gather(
                self.rows_by_id("contact_result", RESULT, (o["result_id"] for o in operations.values())),
                self.rows_by_id("app_user", USER, (o["agent_id"] for o in operations.values())),
            )
            return operations, results, agents

        persons, stages, callbacks, (operations, results, agents) = await asyncio.gather(
            self.rows_by_id("person", PERSON, (m["person_id"] for m in members)),
            self.rows_by_id(
                "campaign_stage", STAGE, (m["stage_id"] for m in members),
                '"campaign_id" ASC,"position" ASC,"id" ASC',
            ),
            self.rows_by_id("callback", CALLBACK, (m["next_callback_id"] for m in members), '"due_at" ASC,"id" ASC'),
            operations_with_result_and_agent(),
        )
        nodes = []
        for member in members:
            person = persons[member["person_id"]]
            stage = stages.get(member["stage_id"])
            operation = operations.get(member["last_operation_id"])
            callback = callbacks.get(member["next_callback_id"])
            last_operation = None
            if operation is not None:
                result = results.get(operation["result_id"])
                last_operation = {
                    "createdAt": iso(operation["created_at"]),
                    "notes": operation["notes"],
                    "result": {"name": result["name"], "kind": result["kind"]} if result else None,
                    "agent": {"name": agents[operation["agent_id"]]["name"]},
                }
            nodes.append({
                "id": str(member["id"]),
                "status": member["status"],
                "attempts": member["attempts"],
                "dueAt": iso(member["due_at"]),
                "person": {
                    "name": person["name"], "document": person["document"],
                    "phones": list(json.loads(person["phones"]) or []),
                },
                "stage": {"name": stage["name"]} if stage else None,
                "lastOperation": last_operation,
                "nextCallback": (
                    {"dueAt": iso(callback["due_at"]), "status": callback["status"]} if callback else None
                ),
            })
        cursors = [queue_cursor(member) for member in members]
        return encode({"data": {"campaignQueue": connection(nodes, cursors, len(rows) > PAGE_SIZE)}})

    async def tickets(self, request: Request) -> Response:
        await request.body()
        user = await self.authenticate(request)
        if user is None:
            return unauthenticated()
        assert self.pool is not None
        if user["role"] == "COMPANY_REP":
            rows = await self.pool.fetch(TICKETS_OF_COMPANY, user["company_id"], PAGE_SIZE + 1)
        elif user["role"] == "AGENT":
            rows = await self.pool.fetch(TICKETS_OF_AGENT, user["id"], PAGE_SIZE + 1)
        else:
            rows = await self.pool.fetch(TICKETS_ALL, PAGE_SIZE + 1)
        tickets = rows[:PAGE_SIZE]
        include_internal = user["role"] != "COMPANY_REP"

        async def messages_with_authors() -> tuple[dict[int, list[asyncpg.Record]], dict[int, asyncpg.Record]]:
            threads: dict[int, list[asyncpg.Record]] = {}
            if tickets:
                assert self.pool is not None
                sql = message_pages({t["id"] for t in tickets}, MESSAGES_PER_TICKET + 1, include_internal)
                for message in await self.pool.fetch(sql):
                    threads.setdefault(message["ticket_id"], []).append(message)
            shown = [m for thread in threads.values() for m in thread[:MESSAGES_PER_TICKET]]
            return threads, await self.rows_by_id("app_user", USER, (m["author_id"] for m in shown))

        statuses, companies, (threads, authors) = await asyncio.gather(
            self.rows_by_id("ticket_status", TICKET_STATUS, (t["status_id"] for t in tickets)),
            self.rows_by_id("company", COMPANY, (t["company_id"] for t in tickets)),
            messages_with_authors(),
        )
        nodes = []
        for ticket in tickets:
            company = companies.get(ticket["company_id"])
            messages = []
            for message in threads.get(ticket["id"], [])[:MESSAGES_PER_TICKET]:
                author = authors.get(message["author_id"])
                messages.append({"node": {
                    "body": message["body"],
                    "author": {"name": author["name"]} if author else None,
                    "createdAt": iso(message["created_at"]),
                }})
            nodes.append({
                "number": ticket["number"],
                "subject": ticket["subject"],
                "status": {"name": statuses[ticket["status_id"]]["name"]},
                "company": {"name": company["name"]} if company else None,
                "messages": {"edges": messages},
            })
        cursors = [cursor("ticket", ticket["id"]) for ticket in tickets]
        return encode({"data": {"tickets": connection(nodes, cursors, len(rows) > PAGE_SIZE)}})

    async def tickets_sorted(self, request: Request) -> Response:
        await request.body()
        user = await self.authenticate(request)
        if user is None:
            return unauthenticated()
        assert self.pool is not None
        role = user["role"] if user["role"] in ("AGENT", "COMPANY_REP") else "ALL"
        scope = user["company_id"] if role == "COMPANY_REP" else user["id"]
        names = summary_columns(role)
        columns, where, at = SORTED_TICKET.format(**names), SORTED_WHERE[role], names["at"]
        # what has a last message, newest first; then, when the page reaches them, those without one
        rows = list(await self.pool.fetch(
            f'SELECT {columns} FROM "ticket" WHERE {where} AND NOT "{at}" IS NULL '
            f'ORDER BY "{at}" DESC,"id" DESC LIMIT $2', scope, PAGE_SIZE + 1,
        ))
        if len(rows) <= PAGE_SIZE:
            rows += await self.pool.fetch(
                f'SELECT {columns} FROM "ticket" WHERE {where} AND "{at}" IS NULL ORDER BY "id" DESC LIMIT $2',
                scope, PAGE_SIZE + 1 - len(rows),
            )
        total = await self.pool.fetchval(
            f'SELECT count(*) FROM (SELECT "id" FROM "ticket" WHERE {where} ORDER BY "id" ASC LIMIT $2) AS capped',
            scope, COUNT_LIMIT + 1,
        )
        tickets = rows[:PAGE_SIZE]

        async def last_messages_with_authors() -> tuple[dict[int, asyncpg.Record], dict[int, asyncpg.Record]]:
            messages = await self.rows_by_id("ticket_message", LAST_MESSAGE, (t[names["last"]] for t in tickets))
            return messages, await self.rows_by_id("app_user", USER, (m["author_id"] for m in messages.values()))

        statuses, companies, (messages, authors) = await asyncio.gather(
            self.rows_by_id("ticket_status", TICKET_STATUS, (t["status_id"] for t in tickets)),
            self.rows_by_id("company", COMPANY, (t["company_id"] for t in tickets)),
            last_messages_with_authors(),
        )
        nodes = []
        for ticket in tickets:
            company = companies.get(ticket["company_id"])
            message = messages.get(ticket[names["last"]])
            author = authors.get(message["author_id"]) if message else None
            nodes.append({
                "number": ticket["number"],
                "subject": ticket["subject"],
                "status": {"name": statuses[ticket["status_id"]]["name"]},
                "company": {"name": company["name"]} if company else None,
                "messageCount": ticket[names["count"]],
                "lastMessageAt": iso(ticket[at]),
                "lastMessage": None if message is None else {
                    "body": message["body"], "createdAt": iso(message["created_at"]),
                    "author": {"name": author["name"]} if author else None,
                },
            })
        kind = f"ticket.{at}.desc"
        cursors = [sorted_cursor(kind, ticket[at], ticket["id"]) for ticket in tickets]
        page = connection(nodes, cursors, len(rows) > PAGE_SIZE)
        count = min(total, COUNT_LIMIT)
        return encode({"data": {"tickets": {"totalCount": count, **page}}})

    async def readyz(self, request: Request) -> Response:
        assert self.pool is not None
        await self.pool.fetchval("SELECT 1")
        return JSONResponse({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # Tortoise's asyncpg pool for PostgreSQL: min_size 1, max_size 5.
        self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=5)
        try:
            yield
        finally:
            await self.pool.close()


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def sorted_cursor(kind: str, value: datetime | None, row_id: int) -> str:
    """resolvers/pagination.py's Ordering.cursor."""
    payload = json.dumps([iso(value), row_id])
    return base64.urlsafe_b64encode(f"{kind}:{payload}".encode()).decode()


def queue_cursor(member: asyncpg.Record) -> str:
    due = member["due_at"].isoformat() if member["due_at"] else ""
    return base64.urlsafe_b64encode(f"queue:{member['priority']}|{due}|{member['id']}".encode()).decode()


def connection(nodes: Sequence[dict[str, Any]], cursors: Sequence[str], has_next_page: bool) -> dict[str, Any]:
    return {
        "edges": [{"node": node} for node in nodes],
        "pageInfo": {"hasNextPage": has_next_page, "endCursor": cursors[-1] if cursors else None},
    }


def encode(data: dict[str, Any]) -> Response:
    return Response(json.dumps(data, separators=(",", ":")), media_type="application/json")


def unauthenticated() -> Response:
    return encode({"data": None, "errors": [{
        "message": "Authentication required: send a valid Bearer token.", "extensions": {"code": "UNAUTHENTICATED"},
    }]})


def create_app() -> Starlette:
    baseline = Baseline(
        database_url=os.environ["DATABASE_URL"],
        secret_key=os.environ.get("SECRET_KEY") or DEV_SECRET_KEY,
        zone=ZoneInfo(os.environ.get("CONTATO_TIMEZONE", "America/Sao_Paulo")),
    )
    return Starlette(
        routes=[
            Route("/queue-page", baseline.queue_page, methods=["POST"]),
            Route("/tickets", baseline.tickets, methods=["POST"]),
            Route("/tickets-sorted", baseline.tickets_sorted, methods=["POST"]),
            Route("/readyz", baseline.readyz),
        ],
        lifespan=baseline.lifespan,
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    # The same uvicorn setup as `contato serve`: one worker, uvloop and httptools when installed.
    uvicorn.run(create_app, factory=True, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
