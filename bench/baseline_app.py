"""The baseline of bench/side_by_side.py: a hand-written Starlette + asyncpg app (not the product),
written as a competent engineer would write these endpoints by hand.

Four endpoints answer the documents the side-by-side benchmark sends (the request body is the same
GraphQL JSON Contato receives; only `variables` is read) and return byte for byte the JSON Contato
returns for them (orjson, compact, the keys in the document's order):

    POST /queue-page   QUEUE_PAGE of bench/queue_page.py: campaignQueue(campaignId, first: 50) with person,
                       stage, lastOperation { result agent } and nextCallback.
    POST /dashboard    DASHBOARD of bench/side_by_side.py: the same page as a frontend writes it (aliases,
                       __typename everywhere, ids, edge cursors, and campaign { id name } on each row).
    POST /tickets      TICKET_LIST of bench/side_by_side.py: tickets(first: 50) with status, company and
                       messages(first: 10) { body author { name } createdAt }.
    POST /tickets-sorted  SORTED_TICKET_LIST of bench/side_by_side.py: tickets(first: 50, orderBy:
                       LAST_MESSAGE_AT DESC) with totalCount, status, company, messageCount, lastMessageAt and
                       lastMessage { body createdAt author { name } }.

How it is fair to Contato (issue 14): each request borrows one pooled connection and runs its
statements on it one after the other (asyncpg resets a connection each time it goes back to the pool:
a round trip and much of a small query's CPU, paid once per request, as Contato's compiled path pays
it); every SELECT reads only the columns the answer needs; related rows are read by `id = ANY($1)`,
one statement per table (what Contato's compiled path sends); the response is encoded with orjson.
The pool is Tortoise's size (1 to 5 connections).

Authentication and access are Contato's: the same Bearer JWT (HS256, SECRET_KEY, `sub`, `exp` and
`ver` required), the one-row user lookup by id with the active / token_version checks; an agent sees
the queue of an open campaign it is assigned to, and the tickets assigned to it or to nobody. What
Contato does and this does not: parse, validate and execute GraphQL, its schema extensions (depth,
aliases, tokens, cost, mutation rate limit: no SQL for a query), the request-id middleware. Neither
caches anything across requests.

    DATABASE_URL=postgres://… SECRET_KEY=… .venv/bin/python bench/baseline_app.py --port 8001
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

DEV_SECRET_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"  # Contato's dev default
PAGE_SIZE = 50
MESSAGES_PER_TICKET = 10
STAFF = ("SUPERVISOR", "ADMIN")

USER_BY_ID = 'SELECT "id","role","active","token_version","company_id" FROM "app_user" WHERE "id"=$1'
CAMPAIGN_BY_ID = 'SELECT "id","name","active","start_date","end_date" FROM "campaign" WHERE "id"=$1'
AGENT_LINK = 'SELECT 1 FROM "campaign_agent" WHERE "campaign_id"=$1 AND "agent_id"=$2 LIMIT 1'
# resolvers/campaign/queue.py's workable_members, in queue order (priority, due_at, id).
WORKABLE_MEMBERS = (
    'SELECT m."id",m."priority",m."due_at",m."status",m."attempts",m."person_id",m."stage_id",'
    'm."last_operation_id",m."next_callback_id" FROM "campaign_member" m JOIN "person" p ON p."id"=m."person_id" '
    'WHERE m."campaign_id"=$1 AND m."status" IN (\'NOT_ACTED\',\'SCHEDULED\') AND p."do_not_call"=false '
    'AND (m."assigned_agent_id" IS NULL OR m."assigned_agent_id"=$2) '
    'AND (m."reserved_agent_id" IS NULL OR m."reserved_agent_id"=$2 OR m."reserved_until"<=$3) '
    'AND (m."claimed_by_id" IS NULL OR m."claimed_by_id"=$2 OR m."claim_expires_at"<=$3) '
    'AND (m."due_at" IS NULL OR m."due_at"<=$3) '
    'ORDER BY m."priority",m."due_at",m."id" LIMIT $4'
)
PERSONS = 'SELECT "id","name","document","phones" FROM "person" WHERE "id"=ANY($1)'
STAGES = 'SELECT "id","name" FROM "campaign_stage" WHERE "id"=ANY($1)'
OPERATIONS = 'SELECT "id","created_at","notes","result_id","agent_id" FROM "operation" WHERE "id"=ANY($1)'
CALLBACKS = 'SELECT "id","due_at","status" FROM "callback" WHERE "id"=ANY($1)'
RESULTS = 'SELECT "id","name","kind" FROM "contact_result" WHERE "id"=ANY($1)'
USER_NAMES = 'SELECT "id","name" FROM "app_user" WHERE "id"=ANY($1)'
TICKET = 'SELECT "id","number","subject","status_id","company_id" FROM "ticket" '
TICKETS_OF_AGENT = TICKET + 'WHERE "assignee_id"=$1 OR "assignee_id" IS NULL ORDER BY "id" LIMIT $2'
TICKETS_OF_COMPANY = TICKET + 'WHERE "company_id"=$1 ORDER BY "id" LIMIT $2'
TICKETS_ALL = TICKET + 'ORDER BY "id" LIMIT $1'
STATUS_NAMES = 'SELECT "id","name" FROM "ticket_status" WHERE "id"=ANY($1)'
COMPANY_NAMES = 'SELECT "id","name" FROM "company" WHERE "id"=ANY($1)'
# resolvers/loaders.py's message pages: the first N messages of every ticket, in one windowed query.
MESSAGE_PAGES = (
    'SELECT "ticket_id","author_id","body","created_at" FROM ('
    'SELECT "ticket_id","author_id","body","created_at","id",'
    'ROW_NUMBER() OVER (PARTITION BY "ticket_id" ORDER BY "id") AS "position" '
    'FROM "ticket_message" WHERE "ticket_id"=ANY($1) AND ($2 OR NOT "internal")'
    ') ranked WHERE "position"<=$3 ORDER BY "ticket_id","id"'
)
# The list by last message, newest first (issue 15), as the compiled path reads it: the tickets with a last
# message in (last_message_at, id) descending, then, when the page reaches them, those without one by id
# descending; the count of the caller's list capped at COUNT_LIMIT + 1 rows; the last messages by id. A rep's
# summary columns are those without internal notes (resolvers/ticket/summary.py).
SORTED_TICKET = 'SELECT "id","number","subject","status_id","company_id","{count}","{at}","{last}" FROM "ticket" '
SORTED_WHERE = {
    "AGENT": '("assignee_id"=$1 OR "assignee_id" IS NULL)',
    "COMPANY_REP": '"company_id"=$1',
    "ALL": "$1::int IS NOT NULL",  # keeps the parameters' numbering of the other two
}
COUNT_LIMIT = 10_000
LAST_MESSAGES = 'SELECT "id","body","created_at","author_id" FROM "ticket_message" WHERE "id"=ANY($1)'


def summary_columns(role: str) -> dict[str, str]:
    prefix = "public_" if role == "COMPANY_REP" else ""
    return {"count": f"{prefix}message_count", "at": f"{prefix}last_message_at", "last": f"{prefix}last_message_id"}



class Baseline:
    def __init__(self, database_url: str, secret_key: str, zone: ZoneInfo) -> None:
        self.database_url = database_url
        self.secret_key = secret_key
        self.zone = zone
        self.pool: asyncpg.Pool | None = None

    def user_id(self, request: Request) -> tuple[int, int] | None:
        """(user id, token version) of a valid Bearer token."""
        scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            payload = jwt.decode(
                token.strip(), self.secret_key, algorithms=["HS256"], options={"require": ["sub", "exp", "ver"]}
            )
            return int(payload["sub"]), payload["ver"]
        except (jwt.PyJWTError, TypeError, ValueError):
            return None

    @staticmethod
    async def user(db: asyncpg.Connection, claims: tuple[int, int] | None) -> asyncpg.Record | None:
        if claims is None:
            return None
        user = await db.fetchrow(USER_BY_ID, claims[0])
        if user is None or not user["active"] or user["token_version"] != claims[1]:
            return None
        return user

    async def queue_rows(self, db: asyncpg.Connection, user: asyncpg.Record, campaign_id: int) -> dict[str, Any]:
        """The page's rows: the campaign, the members (one more than a page), and what they refer to."""
        campaign = await db.fetchrow(CAMPAIGN_BY_ID, campaign_id)
        if campaign is not None and user["role"] not in STAFF:
            today = datetime.now(UTC).astimezone(self.zone).date()
            is_open = (
                campaign["active"]
                and campaign["start_date"] <= today
                and (campaign["end_date"] is None or campaign["end_date"] >= today)
            )
            if not is_open or await db.fetchrow(AGENT_LINK, campaign_id, user["id"]) is None:
                campaign = None
        if campaign is None:
            return {"campaign": None, "members": []}
        members = await db.fetch(WORKABLE_MEMBERS, campaign_id, user["id"], datetime.now(UTC), PAGE_SIZE + 1)
        shown = members[:PAGE_SIZE]
        persons = await by_id(db, PERSONS, (m["person_id"] for m in shown))
        stages = await by_id(db, STAGES, (m["stage_id"] for m in shown))
        operations = await by_id(db, OPERATIONS, (m["last_operation_id"] for m in shown))
        callbacks = await by_id(db, CALLBACKS, (m["next_callback_id"] for m in shown))
        results = await by_id(db, RESULTS, (o["result_id"] for o in operations.values()))
        agents = await by_id(db, USER_NAMES, (o["agent_id"] for o in operations.values()))
        return {
            "campaign": campaign, "members": members, "persons": persons, "stages": stages,
            "operations": operations, "callbacks": callbacks, "results": results, "agents": agents,
        }

    async def queue_request(self, request: Request) -> tuple[dict[str, Any] | None, int]:
        variables = orjson.loads(await request.body()).get("variables") or {}
        campaign_id = int(variables["campaignId"])
        claims = self.user_id(request)
        assert self.pool is not None
        async with self.pool.acquire() as db:
            user = await self.user(db, claims)
            if user is None:
                return None, campaign_id
            return await self.queue_rows(db, user, campaign_id), campaign_id

    async def queue_page(self, request: Request) -> Response:
        rows, _ = await self.queue_request(request)
        if rows is None:
            return unauthenticated()
        members = rows["members"]
        nodes = []
        shown = members[:PAGE_SIZE]
        for member in shown:
            person = rows["persons"][member["person_id"]]
            stage = rows["stages"].get(member["stage_id"])
            operation = rows["operations"].get(member["last_operation_id"])
            callback = rows["callbacks"].get(member["next_callback_id"])
            last_operation = None
            if operation is not None:
                result = rows["results"].get(operation["result_id"])
                last_operation = {
                    "createdAt": iso(operation["created_at"]),
                    "notes": operation["notes"],
                    "result": {"name": result["name"], "kind": result["kind"]} if result else None,
                    "agent": {"name": rows["agents"][operation["agent_id"]]["name"]},
                }
            nodes.append({"node": {
                "id": str(member["id"]),
                "status": member["status"],
                "attempts": member["attempts"],
                "dueAt": iso(member["due_at"]),
                "person": {"name": person["name"], "document": person["document"], "phones": orjson.loads(person["phones"])},
                "stage": {"name": stage["name"]} if stage else None,
                "lastOperation": last_operation,
                "nextCallback": {"dueAt": iso(callback["due_at"]), "status": callback["status"]} if callback else None,
            }})
        page_info = {"hasNextPage": len(members) > PAGE_SIZE, "endCursor": queue_cursor(shown[-1]) if shown else None}
        return encode({"data": {"campaignQueue": {"edges": nodes, "pageInfo": page_info}}})

    async def dashboard(self, request: Request) -> Response:
        rows, _ = await self.queue_request(request)
        if rows is None:
            return unauthenticated()
        members = rows["members"]
        campaign = rows["campaign"]
        edges = []
        for member in members[:PAGE_SIZE]:
            person = rows["persons"][member["person_id"]]
            stage = rows["stages"].get(member["stage_id"])
            operation = rows["operations"].get(member["last_operation_id"])
            callback = rows["callbacks"].get(member["next_callback_id"])
            last_operation = None
            if operation is not None:
                result = rows["results"].get(operation["result_id"])
                agent = rows["agents"][operation["agent_id"]]
                last_operation = {
                    "__typename": "Operation",
                    "id": str(operation["id"]),
                    "createdAt": iso(operation["created_at"]),
                    "notes": operation["notes"],
                    "result": {
                        "__typename": "ContactResult", "id": str(result["id"]), "name": result["name"],
                        "kind": result["kind"],
                    } if result else None,
                    "agent": {"__typename": "User", "id": str(agent["id"]), "name": agent["name"]},
                }
            edges.append({
                "__typename": "CampaignMemberEdge",
                "cursor": queue_cursor(member),
                "node": {
                    "__typename": "CampaignMember",
                    "id": str(member["id"]),
                    "status": member["status"],
                    "attempts": member["attempts"],
                    "dueAt": iso(member["due_at"]),
                    "campaign": {"__typename": "Campaign", "id": str(campaign["id"]), "name": campaign["name"]},
                    "person": {
                        "__typename": "Person", "id": str(person["id"]), "name": person["name"],
                        "document": person["document"], "phones": orjson.loads(person["phones"]),
                    },
                    "stage": {"__typename": "CampaignStage", "id": str(stage["id"]), "name": stage["name"]}
                    if stage else None,
                    "lastOperation": last_operation,
                    "nextCallback": {
                        "__typename": "Callback", "id": str(callback["id"]), "dueAt": iso(callback["due_at"]),
                        "status": callback["status"],
                    } if callback else None,
                },
            })
        page_info = {
            "__typename": "PageInfo",
            "hasNextPage": len(members) > PAGE_SIZE,
            "endCursor": edges[-1]["cursor"] if edges else None,
        }
        return encode({"data": {"queue": {
            "__typename": "CampaignMemberConnection", "edges": edges, "pageInfo": page_info,
        }}})

    async def tickets(self, request: Request) -> Response:
        await request.body()
        claims = self.user_id(request)
        assert self.pool is not None
        async with self.pool.acquire() as db:
            user = await self.user(db, claims)
            if user is None:
                return unauthenticated()
            if user["role"] == "COMPANY_REP":
                rows = await db.fetch(TICKETS_OF_COMPANY, user["company_id"], PAGE_SIZE + 1)
            elif user["role"] == "AGENT":
                rows = await db.fetch(TICKETS_OF_AGENT, user["id"], PAGE_SIZE + 1)
            else:
                rows = await db.fetch(TICKETS_ALL, PAGE_SIZE + 1)
            tickets = rows[:PAGE_SIZE]
            statuses = await by_id(db, STATUS_NAMES, (t["status_id"] for t in tickets))
            companies = await by_id(db, COMPANY_NAMES, (t["company_id"] for t in tickets))
            threads: dict[int, list[asyncpg.Record]] = {}
            if tickets:
                include_internal = user["role"] != "COMPANY_REP"
                found = await db.fetch(MESSAGE_PAGES, [t["id"] for t in tickets], include_internal, MESSAGES_PER_TICKET)
                for message in found:
                    threads.setdefault(message["ticket_id"], []).append(message)
            authors = await by_id(db, USER_NAMES, (m["author_id"] for thread in threads.values() for m in thread))
        nodes = []
        for ticket in tickets:
            company = companies.get(ticket["company_id"])
            messages = []
            for message in threads.get(ticket["id"], ()):
                author = authors.get(message["author_id"])
                messages.append({"node": {
                    "body": message["body"],
                    "author": {"name": author["name"]} if author else None,
                    "createdAt": iso(message["created_at"]),
                }})
            nodes.append({"node": {
                "number": ticket["number"],
                "subject": ticket["subject"],
                "status": {"name": statuses[ticket["status_id"]]["name"]},
                "company": {"name": company["name"]} if company else None,
                "messages": {"edges": messages},
            }})
        page_info = {
            "hasNextPage": len(rows) > PAGE_SIZE,
            "endCursor": cursor("ticket", tickets[-1]["id"]) if tickets else None,
        }
        return encode({"data": {"tickets": {"edges": nodes, "pageInfo": page_info}}})

    async def tickets_sorted(self, request: Request) -> Response:
        await request.body()
        claims = self.user_id(request)
        assert self.pool is not None
        async with self.pool.acquire() as db:
            user = await self.user(db, claims)
            if user is None:
                return unauthenticated()
            role = user["role"] if user["role"] in ("AGENT", "COMPANY_REP") else "ALL"
            scope = user["company_id"] if role == "COMPANY_REP" else user["id"]
            names = summary_columns(role)
            select, where, at = SORTED_TICKET.format(**names), SORTED_WHERE[role], names["at"]
            rows = list(await db.fetch(
                f'{select}WHERE {where} AND NOT "{at}" IS NULL ORDER BY "{at}" DESC,"id" DESC LIMIT $2',
                scope, PAGE_SIZE + 1,
            ))
            if len(rows) <= PAGE_SIZE:
                rows += await db.fetch(
                    f'{select}WHERE {where} AND "{at}" IS NULL ORDER BY "id" DESC LIMIT $2',
                    scope, PAGE_SIZE + 1 - len(rows),
                )
            total = await db.fetchval(
                f'SELECT count(*) FROM (SELECT "id" FROM "ticket" WHERE {where} ORDER BY "id" ASC LIMIT $2) AS capped',
                scope, COUNT_LIMIT + 1,
            )
            tickets = rows[:PAGE_SIZE]
            statuses = await by_id(db, STATUS_NAMES, (t["status_id"] for t in tickets))
            companies = await by_id(db, COMPANY_NAMES, (t["company_id"] for t in tickets))
            messages = await by_id(db, LAST_MESSAGES, (t[names["last"]] for t in tickets))
            authors = await by_id(db, USER_NAMES, (m["author_id"] for m in messages.values()))
        nodes = []
        for ticket in tickets:
            company = companies.get(ticket["company_id"])
            message = messages.get(ticket[names["last"]])
            author = authors.get(message["author_id"]) if message else None
            nodes.append({"node": {
                "number": ticket["number"],
                "subject": ticket["subject"],
                "status": {"name": statuses[ticket["status_id"]]["name"]},
                "company": {"name": company["name"]} if company else None,
                "messageCount": ticket[names["count"]],
                "lastMessageAt": iso(ticket[at]),
                "lastMessage": None if message is None else {
                    "body": message["body"],
                    "createdAt": iso(message["created_at"]),
                    "author": {"name": author["name"]} if author else None,
                },
            }})
        kind = f"ticket.{at}.desc"
        page_info = {
            "hasNextPage": len(rows) > PAGE_SIZE,
            "endCursor": sorted_cursor(kind, tickets[-1][at], tickets[-1]["id"]) if tickets else None,
        }
        return encode({"data": {"tickets": {
            "totalCount": min(total, COUNT_LIMIT), "edges": nodes, "pageInfo": page_info,
        }}})

    async def readyz(self, request: Request) -> Response:
        assert self.pool is not None
        await self.pool.fetchval("SELECT 1")
        return encode({"status": "ready"})

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        # Tortoise's asyncpg pool for PostgreSQL: min_size 1, max_size 5.
        self.pool = await asyncpg.create_pool(self.database_url, min_size=1, max_size=5)
        try:
            yield
        finally:
            await self.pool.close()


async def by_id(db: asyncpg.Connection, sql: str, ids: Iterable[int | None]) -> dict[int, asyncpg.Record]:
    keys = list({key for key in ids if key is not None})
    if not keys:
        return {}
    return {row["id"]: row for row in await db.fetch(sql, keys)}


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def cursor(kind: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{row_id}".encode()).decode()


def sorted_cursor(kind: str, value: datetime | None, row_id: int) -> str:
    """resolvers/pagination.py's Ordering.cursor (the standard json's spacing, as it has)."""
    payload = json.dumps([iso(value), row_id])
    return base64.urlsafe_b64encode(f"{kind}:{payload}".encode()).decode()


def queue_cursor(member: asyncpg.Record) -> str:
    due = member["due_at"].isoformat() if member["due_at"] else ""
    return base64.urlsafe_b64encode(f"queue:{member['priority']}|{due}|{member['id']}".encode()).decode()


def encode(data: dict[str, Any]) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


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
            Route("/dashboard", baseline.dashboard, methods=["POST"]),
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
