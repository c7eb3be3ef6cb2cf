"""The load of bench/soak.py and what its clients saw: agents, posters, subscribers, watchers, drifters.

Every HTTP request is recorded (`Call`: when, how it ended); every mutation carries an
`Idempotency-Key`, kept for its retries. A client retries what may not have been executed (no
answer, a 5xx, a masked error, the database unavailable) for up to a minute, with the same key;
`--lost-answers` makes it drop a share of first answers and retry them, as a flaky network would.
Subscribers keep every item they received with its receive time (wall clock, comparable with the
database's commit times on the same machine) and what they may see, to be checked against the
event table afterwards (bench/soak_checks.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Self
from zoneinfo import ZoneInfo

import asyncpg
import httpx
import websockets

from realtime.due import CALLBACK_DUE, CALLBACK_OPENED
from resolvers.realtime import TICKET_KINDS

PASSWORD = "contato-demo"
AGENT_PASSWORD = "soak-agent-password"
MASKED = "Unexpected error."
RETRY_FOR = 60.0

LOGIN = """mutation SoakLogin($e: String!, $p: String!) { login(email: $e, password: $p) {
  __typename ... on LoginPayload { token user { id } } ... on LoginError { code message } } }"""
CLAIM = """mutation SoakClaim($c: ID!) { campaignMemberClaim(campaignId: $c) {
  __typename ... on CampaignMember { id claimExpiresAt } ... on CampaignError { code message } } }"""
RECORD = """mutation SoakRecord($input: OperationRecordInput!) { operationRecord(input: $input) {
  __typename ... on Operation { id attempt } ... on OperationError { code message } } }"""
MESSAGE = """mutation SoakMessage($input: TicketMessageAddInput!) { ticketMessageAdd(input: $input) {
  __typename ... on TicketMessage { id } ... on TicketError { code message } } }"""
TICKET_UPDATES = """subscription SoakTickets($ticketId: ID, $after: String) {
  ticketUpdates(ticketId: $ticketId, after: $after) {
    __typename ... on TicketEvent { cursor kind newMessage { body } } ... on StreamError { code message } } }"""
CALLBACK_ALERTS = """subscription SoakAlerts($after: String) { callbackDue(after: $after) {
  __typename ... on CallbackAlert { cursor kind callback { id } } ... on StreamError { code message } } }"""
QUEUE_UPDATES = """subscription SoakQueue($c: ID!) { queueUpdates(campaignId: $c) {
  __typename ... on QueueSnapshot { at claimsInProgress membersByStatus { status count } }
  ... on StreamError { code message } } }"""


# ---------------------------------------------------------------- fault windows


@dataclass
class Window:
    name: str
    started: float
    recovered: float | None = None
    ended: float = math.inf  # recovery + margin; open while the fault lasts (or never recovered)
    detail: str = ""
    error: str | None = None


class Faults:
    """When faults were on: from `BEFORE` seconds before each to its recovery plus the margin."""

    BEFORE = 1.0

    def __init__(self, margin: float) -> None:
        self.margin = margin
        self.windows: list[Window] = []
        self.origin = time.time()

    def begin(self, name: str) -> Window:
        window = Window(name, time.time())
        self.windows.append(window)
        return window

    def recovered(self, window: Window, detail: str) -> None:
        window.recovered = time.time()
        window.ended = window.recovered + self.margin
        window.detail = detail

    def failed(self, window: Window, error: str) -> None:
        window.error = error

    def covers(self, moment: float) -> bool:
        return any(w.started - self.BEFORE <= moment <= w.ended for w in self.windows)

    def overlaps(self, start: float, end: float) -> bool:
        return any(start <= w.ended and end >= w.started - self.BEFORE for w in self.windows)

    def at(self, moment: float) -> str:
        return f"{moment - self.origin:.1f} s"


# ---------------------------------------------------------------- HTTP


@dataclass
class Call:
    """One HTTP request and how it ended: ok, lost (an answer the client dropped on purpose),
    connect (refused: never sent), transport (sent, no answer), http-5xx, masked, unavailable,
    in-progress, or graphql-error (errors the client did not expect)."""

    label: str
    started: float
    ended: float
    outcome: str
    detail: str = ""

    FAILURES = frozenset({"connect", "transport", "http-5xx", "masked", "unavailable", "in-progress", "graphql-error"})

    @property
    def failed(self) -> bool:
        return self.outcome in self.FAILURES


@dataclass
class Answer:
    data: dict[str, Any] | None  # the final answer's `data`, None when the client gave up
    ambiguous: bool  # an earlier attempt may have been executed (no answer, 5xx, masked, lost)
    replayed: bool  # the final answer said `Idempotent-Replayed: true`
    attempts: int
    last_outcome: str

    def item(self, name: str) -> dict[str, Any] | None:
        return None if self.data is None else self.data.get(name)


RETRYABLE = frozenset({"connect", "transport", "http-5xx", "masked", "unavailable", "in-progress", "lost"})
AMBIGUOUS = frozenset({"transport", "http-5xx", "masked", "lost"})


class Api:
    def __init__(self, base_url: str, args: argparse.Namespace) -> None:
        self.base_url = base_url
        self.args = args
        self.faults = Faults(args.window_margin)
        self.calls: list[Call] = []
        self.replays = 0

    async def __aenter__(self) -> Self:
        self.http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(30.0, connect=5.0),
            # Shorter than uvicorn's keep-alive (5 s): a connection the server is closing as idle
            # would fail a request sent on it at that moment (ReadError) with no fault at all.
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100, keepalive_expiry=2.0),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def call(
        self, label: str, query: str, variables: dict[str, Any], token: str | None = None, *,
        key: str | None = None, lose_first: bool = False, retry_for: float = RETRY_FOR,
    ) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        deadline = time.time() + retry_for
        delay, attempts, ambiguous = 0.1, 0, False
        while True:
            attempts += 1
            started = time.time()
            outcome, detail, data, replayed = await self._attempt(query, variables, headers)
            if outcome == "ok" and lose_first:
                outcome, lose_first = "lost", False
            self.calls.append(Call(label, started, time.time(), outcome, detail))
            if outcome == "ok":
                self.replays += replayed
                return Answer(data, ambiguous, replayed, attempts, outcome)
            ambiguous = ambiguous or outcome in AMBIGUOUS
            if outcome not in RETRYABLE or time.time() > deadline:
                return Answer(data if outcome == "graphql-error" else None, ambiguous, False, attempts, outcome)
            if outcome != "lost":
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _attempt(
        self, query: str, variables: dict[str, Any], headers: dict[str, str]
    ) -> tuple[str, str, dict[str, Any] | None, bool]:
        try:
            response = await self.http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            return "connect", type(error).__name__, None, False
        except httpx.TransportError as error:
            return "transport", f"{type(error).__name__}: {error}"[:200], None, False
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            outcome = "http-5xx" if response.status_code >= 500 else "graphql-error"
            return outcome, f"HTTP {response.status_code} {response.text[:120]!r}", None, False
        errors = body.get("errors") or []
        codes = {(error.get("extensions") or {}).get("code") for error in errors}
        detail = f"HTTP {response.status_code} {'; '.join(str(error.get('message')) for error in errors)[:200]}"
        if any(error.get("message") == MASKED for error in errors):
            return "masked", detail, None, False
        if "SERVICE_UNAVAILABLE" in codes:
            return "unavailable", detail, None, False
        if "IDEMPOTENCY_KEY_IN_PROGRESS" in codes:
            return "in-progress", detail, None, False
        if response.status_code >= 500:
            return "http-5xx", detail, None, False
        if errors or body.get("data") is None:
            return "graphql-error", detail, body.get("data"), False
        return "ok", "", body["data"], response.headers.get("idempotent-replayed") == "true"

    async def ready(self) -> bool:
        try:
            return (await self.http.get("/readyz", timeout=3.0)).status_code == 200
        except httpx.HTTPError:
            return False

    async def login(self, email: str, password: str = PASSWORD) -> tuple[str, int]:
        answer = await self.call("login", LOGIN, {"e": email, "p": password})
        payload = answer.item("login") or {}
        if payload.get("__typename") != "LoginPayload":
            raise RuntimeError(f"login {email}: {payload or answer.last_outcome}")
        return payload["token"], int(payload["user"]["id"])

    async def must(self, name: str, query: str, variables: dict[str, Any], token: str, typename: str) -> dict[str, Any]:
        """A set-up step: its answer must be `typename`."""
        answer = await self.call(name, query, variables, token)
        item = answer.item(name)
        if not item or item.get("__typename") != typename:
            raise RuntimeError(f"{name}: {item or answer.last_outcome}")
        return item

    async def probe_idempotency(self, setup: Setup) -> bool:
        """Does the server replay a mutation sent twice with one key? (A probe message, left out of the checks.)"""
        ticket = setup.tickets[0]
        key = f"soak-probe-{uuid.uuid4()}"
        variables = {"input": {"ticketId": str(ticket.id), "body": f"soak probe {key}", "notifyCustomer": False}}
        first = await self.call("probe", MESSAGE, variables, setup.supervisor, key=key)
        second = await self.call("probe", MESSAGE, variables, setup.supervisor, key=key)
        one, two = first.item("ticketMessageAdd") or {}, second.item("ticketMessageAdd") or {}
        return second.replayed and one.get("id") is not None and one.get("id") == two.get("id")


# ---------------------------------------------------------------- set-up


@dataclass
class Agent:
    index: int
    id: int
    email: str
    token: str


@dataclass
class Ticket:
    id: int
    company_id: int


@dataclass
class Setup:
    """Users, a campaign with its members, and tickets, made through the API (persons in bulk)."""

    api: Api
    db_url: str
    args: argparse.Namespace
    rng: random.Random
    admin: str = ""
    supervisor: str = ""
    reps: dict[int, str] = field(default_factory=dict)  # company id -> rep token
    agents: list[Agent] = field(default_factory=list)
    campaign_id: int = 0
    members: int = 0
    tickets: list[Ticket] = field(default_factory=list)
    results: dict[str, int] = field(default_factory=dict)  # SUCCESS / FAILURE / SCHEDULE -> result id
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    async def run(self) -> Setup:
        api = self.api
        self.admin, _ = await api.login("admin@contato.dev")
        self.supervisor, _ = await api.login("supervisor@contato.dev")
        results = await api.call("results", "{ contactResults { edges { node { id kind recycleAfterMinutes } } } }",
                                 {}, self.supervisor)
        for edge in (results.item("contactResults") or {})["edges"]:
            node = edge["node"]
            if node["kind"] == "FAILURE" and node["recycleAfterMinutes"] is not None:
                continue  # a recycled failure would come back in 30 minutes: conclude instead
            self.results.setdefault(node["kind"], int(node["id"]))
        await asyncio.gather(self._agents(), self._persons(), self._tickets())
        await self._campaign()
        return self

    async def _agents(self) -> None:
        limit = asyncio.Semaphore(4)

        async def one(index: int) -> Agent:
            email = f"soak-agent-{index:03d}-{self.run_id}@soak.test"
            async with limit:
                await self.api.must("userCreate", """mutation($input: UserCreateInput!) { userCreate(input: $input) {
                  __typename ... on User { id } ... on UserError { code message } } }""",
                    {"input": {"name": f"Soak Agent {index}", "email": email, "password": AGENT_PASSWORD,
                               "role": "AGENT"}}, self.admin, "User")
                token, user_id = await self.api.login(email, AGENT_PASSWORD)
                # The claim takes READY agents only (the floor's state machine); recording leaves them READY.
                await self.api.must("agentStateSet", """mutation { agentStateSet(state: READY) {
                  __typename ... on AgentStatus { state } ... on AgentStateError { code message } } }""",
                    {}, token, "AgentStatus")
            return Agent(index, user_id, email, token)

        self.agents = list(await asyncio.gather(*(one(i) for i in range(self.args.agents))))

    async def _persons(self) -> None:
        """The members-to-be, straight into the table with the ORM (thousands of personCreate would
        be most of a short run); `campaignMembersAdd` then adds them by a filter, as a supervisor does."""
        from tortoise.context import TortoiseContext

        from contato.seed import make_cpf
        from models import tortoise_config
        from models.person import Person, PersonKind, PersonStage
        from resolvers.person import search_text

        async with TortoiseContext() as ctx:
            await ctx.init(config=tortoise_config(self.db_url.replace("postgresql://", "postgres://", 1)))
            rows = []
            for i in range(self.args.members):
                name = f"Soak Pessoa {self.run_id} {i:05d}"
                document = make_cpf(700_000_000 + i)
                phones = [f"+5511{900000000 + i}"]
                rows.append(Person(kind=PersonKind.NATURAL, name=name, document=document, document_key=document,
                                   phones=phones, emails=[], stage=PersonStage.PROSPECT,
                                   search_text=search_text(name, document, phones)))
            await Person.bulk_create(rows, batch_size=1000)

    async def _campaign(self) -> None:
        zone = ZoneInfo(self.args.zone)
        start = (datetime.now(UTC).astimezone(zone).date() - timedelta(days=1)).isoformat()
        campaign = await self.api.must("campaignCreate", """mutation($input: CampaignCreateInput!) {
          campaignCreate(input: $input) { __typename ... on Campaign { id } ... on CampaignError { code message } } }""",
            {"input": {"name": f"Soak {self.run_id}", "startDate": start, "maxAttempts": 50,
                       "callingHours": {"weekdayStart": "00:00", "weekdayEnd": "24:00",
                                        "saturdayStart": "00:00", "saturdayEnd": "24:00"},
                       "stages": [{"name": "Primeiro contato"}, {"name": "Retorno"}]}},
            self.supervisor, "Campaign")
        self.campaign_id = int(campaign["id"])
        await self.api.must("campaignAgentsSet", """mutation($id: ID!, $agents: [ID!]!) {
          campaignAgentsSet(id: $id, agentIds: $agents) { __typename ... on CampaignError { code message } } }""",
            {"id": str(self.campaign_id), "agents": [str(agent.id) for agent in self.agents]},
            self.supervisor, "Campaign")
        added = await self.api.must("campaignMembersAdd", """mutation($id: ID!, $text: String!) {
          campaignMembersAdd(campaignId: $id, filter: {text: $text}) {
            __typename ... on MembersAddPayload { added } ... on CampaignError { code message } } }""",
            {"id": str(self.campaign_id), "text": f"soak pessoa {self.run_id}"}, self.supervisor, "MembersAddPayload")
        self.members = int(added["added"])

    async def _tickets(self) -> None:
        roots = await self.api.call("classifications",
                                    "{ ticketClassifications { edges { node { id children { id } } } } }",
                                    {}, self.supervisor)
        root = (roots.item("ticketClassifications") or {})["edges"][0]["node"]
        classification = root["id"]
        # The Central form requires a sub-classification when the classification has some.
        sub = {"subclassificationId": root["children"][0]["id"]} if root["children"] else {}
        for email in ("rep@acme.dev", "rep@globex.dev"):
            token, _ = await self.api.login(email)
            for n in range(2):
                ticket = await self.api.must("ticketOpen", """mutation($input: TicketOpenInput!) {
                  ticketOpen(input: $input) { __typename ... on Ticket { id company { id } }
                  ... on TicketError { code message } } }""",
                    {"input": {"subject": f"Soak {self.run_id} {n}", "body": "Soak ticket", "contactName": "Soak",
                               "contactPhone": "+5511999990000", "contactEmail": "soak@example.com",
                               "classificationId": classification, **sub}}, token, "Ticket")
                company_id = int(ticket["company"]["id"])
                self.reps[company_id] = token
                self.tickets.append(Ticket(int(ticket["id"]), company_id))


# ---------------------------------------------------------------- events as the database has them


@dataclass(frozen=True)
class EventRow:
    cursor: int
    kind: str
    entity: str
    entity_id: int
    company_id: int | None
    campaign_id: int | None
    agent_id: int | None
    data: dict[str, Any]
    created: float  # epoch seconds; written inside the transaction, just before it commits


async def load_events(db: asyncpg.Connection, after: int, until: int) -> list[EventRow]:
    rows = await db.fetch(
        "SELECT cursor, kind, entity, entity_id, company_id, campaign_id, agent_id, data::text AS data, "
        "extract(epoch FROM created_at)::float8 AS created FROM event WHERE cursor > $1 AND cursor <= $2 "
        "ORDER BY cursor", after, until)
    return [EventRow(r["cursor"], r["kind"], r["entity"], r["entity_id"], r["company_id"], r["campaign_id"],
                     r["agent_id"], json.loads(r["data"]) if r["data"] else {}, r["created"]) for r in rows]


# ---------------------------------------------------------------- WebSocket clients


class ConnectFailed(Exception):
    pass


async def open_socket(url: str, token: str) -> Any:
    socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"], open_timeout=10, close_timeout=2,
                                      max_size=2**22)
    try:
        await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        while True:
            message = json.loads(await asyncio.wait_for(socket.recv(), 10))
            if message.get("type") == "connection_ack":
                return socket
            if message.get("type") == "ping":
                await socket.send('{"type":"pong"}')
                continue
            raise ConnectFailed(f"no connection_ack: {message}")
    except BaseException:
        with contextlib.suppress(Exception):
            await socket.close()
        raise


def describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:200]


async def pause(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep unless stopped; True when stopped."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
        return True
    except TimeoutError:
        return False


@dataclass
class StreamClient:
    """What every WebSocket client records: failures to connect and streams the server ended."""

    name: str
    url: str
    token: str
    ends: list[tuple[float, str]] = field(default_factory=list)  # (time, why) the server ended a stream or socket
    masked: list[tuple[float, str]] = field(default_factory=list)  # errors inside `next` payloads
    connections: int = 0

    async def connect(self, stop: asyncio.Event) -> Any | None:
        delay = 0.1
        while not stop.is_set():
            try:
                socket = await open_socket(self.url, self.token)
                self.connections += 1
                return socket
            except Exception as error:  # noqa: BLE001 - recorded; the client tries again, as apps do
                self.ends.append((time.time(), f"connect: {describe(error)}"))
            if await pause(stop, delay):
                return None
            delay = min(delay * 2, 1.0)
        return None

    async def read(self, socket: Any, op_id: str, stop: asyncio.Event, until: float,
                   on_item: Callable[[dict[str, Any], float], str | None]) -> tuple[str, str]:
        """Read one subscription until it ends: ("stop" | "voluntary" | "stream" | "closed", detail).
        `on_item` takes each item and its receive time, and returns a StreamError code or None."""
        stream_error: str | None = None
        while True:
            if stop.is_set():
                return "stop", ""
            wait = min(1.0, until - time.time())
            if wait <= 0:
                return "voluntary", ""
            try:
                raw = await asyncio.wait_for(socket.recv(), wait)
            except TimeoutError:
                continue
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else None
                return "closed", f"socket closed by the server ({code})"
            received = time.time()
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await socket.send('{"type":"pong"}')
            elif kind == "next" and message.get("id") == op_id:
                payload = message.get("payload") or {}
                if payload.get("errors"):
                    self.masked.append((received, json.dumps(payload["errors"])[:200]))
                if payload.get("data"):
                    stream_error = on_item(payload["data"], received) or stream_error
            elif kind == "complete" and message.get("id") == op_id:
                return "stream", f"StreamError {stream_error}" if stream_error else "complete without a StreamError"
            elif kind == "error" and message.get("id") == op_id:
                return "stream", f"error {json.dumps(message.get('payload'))[:150]}"


@dataclass
class Subscriber(StreamClient):
    """Follows one stream for the whole run, resuming with `after` = its last cursor.

    `churn`: closes its connection every 10-30 s and comes back at once (the time away, `gaps`, is
    the client's own, not counted as lateness); otherwise it reconnects only when the server ends
    its stream. Its first subscription has no `after`, so it shares the stream with its likes."""

    role: str = ""  # tickets | company-tickets | one-ticket | callbacks | own-callbacks
    subject: int | None = None  # the company, ticket or agent it follows
    campaigns: frozenset[int] = frozenset()  # an agent's campaigns
    churn: bool = False
    rng: random.Random = field(default_factory=random.Random)
    received: list[tuple[int, float]] = field(default_factory=list)  # (cursor, receive time)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    first_subscribe: float | None = None
    last_cursor: str | None = None

    @property
    def field_name(self) -> str:
        return "callbackDue" if self.role in ("callbacks", "own-callbacks") else "ticketUpdates"

    def subscribe_message(self, op_id: str) -> str:
        if self.field_name == "callbackDue":
            query, variables = CALLBACK_ALERTS, {"after": self.last_cursor}
        else:
            ticket = str(self.subject) if self.role == "one-ticket" else None
            query, variables = TICKET_UPDATES, {"ticketId": ticket, "after": self.last_cursor}
        return json.dumps({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})

    def may_see(self, event: EventRow) -> bool:
        """What the server must deliver to this subscriber (resolvers/realtime.py, for the soak's data)."""
        if self.field_name == "ticketUpdates":
            if event.entity != "ticket" or event.kind not in TICKET_KINDS:
                return False
            if self.role == "one-ticket":
                return event.entity_id == self.subject
            if self.role == "company-tickets":
                return event.company_id == self.subject and not event.data.get("internal")
            return True
        if event.entity != "callback" or event.kind not in (CALLBACK_DUE, CALLBACK_OPENED):
            return False
        if self.role == "callbacks":
            return True
        if event.kind == CALLBACK_OPENED and event.data.get("owner_id") == self.subject:
            return False
        return event.agent_id == self.subject or (event.agent_id is None and event.campaign_id in self.campaigns)

    def entitled(self, events: list[EventRow]) -> list[EventRow]:
        """The events it must have received: those it may see from its start (its first item, or 2 s
        after its first subscription: a stream without `after` starts when the server registers it)."""
        if self.first_subscribe is None:
            return []
        first_cursor = self.received[0][0] if self.received else math.inf
        start = self.first_subscribe + 2.0
        return [e for e in events if self.may_see(e) and (e.cursor > first_cursor or e.created >= start)]

    def on_item(self, data: dict[str, Any], received: float) -> str | None:
        item = data.get(self.field_name) or {}
        if item.get("__typename") == "StreamError":
            return str(item.get("code"))
        cursor = item.get("cursor")
        if cursor is not None:
            self.received.append((int(cursor), received))
            if self.last_cursor is None or int(cursor) > int(self.last_cursor):
                self.last_cursor = str(cursor)
        return None

    async def run(self, stop: asyncio.Event, subscribed: asyncio.Event) -> None:
        away_since: float | None = None
        while not stop.is_set():
            socket = await self.connect(stop)
            if socket is None:
                return
            until = time.time() + self.rng.uniform(10, 30) if self.churn else math.inf
            op = 0
            how, detail = "closed", ""
            try:
                while True:
                    op += 1
                    await socket.send(self.subscribe_message(str(op)))
                    now = time.time()
                    if self.first_subscribe is None:
                        self.first_subscribe = now
                        subscribed.set()
                    if away_since is not None:
                        self.gaps.append((away_since, now))
                        away_since = None
                    how, detail = await self.read(socket, str(op), stop, until, self.on_item)
                    if how != "stream":
                        break
                    self.ends.append((time.time(), detail))  # then again on this connection, from the last cursor
            except (websockets.ConnectionClosed, OSError) as error:
                how, detail = "closed", f"socket closed ({describe(error)})"
            if how == "voluntary":
                away_since = time.time()
            with contextlib.suppress(Exception):
                await socket.close()
            if how == "closed":
                self.ends.append((time.time(), detail))


@dataclass
class Drifter(StreamClient):
    """Joins the supervisors' shared ticketUpdates stream (no `after`), leaves after 0.3-3 s, again and
    again: a subscriber leaving must never silence the others (issue 12)."""

    rng: random.Random = field(default_factory=random.Random)
    duplicates: int = 0
    items: int = 0

    def _counter(self, seen: set[int]) -> Callable[[dict[str, Any], float], str | None]:
        """Counts one connection's items and the cursors it got twice."""

        def on_item(data: dict[str, Any], received: float) -> str | None:
            item = data.get("ticketUpdates") or {}
            if item.get("__typename") == "StreamError":
                return str(item.get("code"))
            cursor = int(item["cursor"])
            self.items += 1
            self.duplicates += cursor in seen
            seen.add(cursor)
            return None

        return on_item

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            socket = await self.connect(stop)
            if socket is None:
                return
            on_item = self._counter(set())

            try:
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": TICKET_UPDATES, "variables": {"ticketId": None, "after": None}}}))
                how, detail = await self.read(socket, "1", stop, time.time() + self.rng.uniform(0.3, 3.0), on_item)
                if how in ("stream", "closed"):
                    self.ends.append((time.time(), detail))
            except (websockets.ConnectionClosed, OSError) as error:
                self.ends.append((time.time(), f"socket closed ({describe(error)})"))
            finally:
                with contextlib.suppress(Exception):
                    await socket.close()


@dataclass
class QueueWatcher(StreamClient):
    campaign_id: int = 0
    snapshots: list[tuple[float, int, dict[str, int]]] = field(default_factory=list)

    def on_item(self, data: dict[str, Any], received: float) -> str | None:
        item = data.get("queueUpdates") or {}
        if item.get("__typename") == "StreamError":
            return str(item.get("code"))
        by_status = {row["status"]: row["count"] for row in item.get("membersByStatus") or []}
        self.snapshots.append((received, int(item.get("claimsInProgress") or 0), by_status))
        return None

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            socket = await self.connect(stop)
            if socket is None:
                return
            try:
                await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": QUEUE_UPDATES, "variables": {"c": str(self.campaign_id)}}}))
                how, detail = await self.read(socket, "1", stop, math.inf, self.on_item)
                if how in ("stream", "closed"):
                    self.ends.append((time.time(), detail))
            except (websockets.ConnectionClosed, OSError) as error:
                self.ends.append((time.time(), f"socket closed ({describe(error)})"))
            finally:
                with contextlib.suppress(Exception):
                    await socket.close()


# ---------------------------------------------------------------- agents and posters


@dataclass
class Hold:
    """An agent's hold on a member, as the agent saw it: surely held from the claim's answer to
    the record's sending; possibly from the claim's sending to the record's answer."""

    agent_id: int
    member_id: int
    claim_sent: float
    claim_answered: float
    expires: float
    record_sent: float | None = None
    record_answered: float | None = None


@dataclass
class Write:
    """One mutation the client wanted applied once: an operation or a message, found by its token."""

    token: str
    who: int
    target: int  # the member or the ticket
    outcome: str  # ok | refused (a typed error, nothing retried) | doubt (no final answer, or an error after a retry)
    code: str | None
    ambiguous: bool
    replayed: bool
    attempts: int


def write_of(token: str, who: int, target: int, answer: Answer, name: str, typename: str) -> Write:
    item = answer.item(name) or {}
    if item.get("__typename") == typename:
        outcome, code = "ok", None
    elif item:
        outcome, code = ("doubt" if answer.ambiguous else "refused"), item.get("code")
    else:
        outcome, code = "doubt", answer.last_outcome
    return Write(token, who, target, outcome, code, answer.ambiguous, answer.replayed, answer.attempts)


class Load:
    def __init__(self, api: Api, ws_url: str, setup: Setup, args: argparse.Namespace, rng: random.Random) -> None:
        self.api = api
        self.ws_url = ws_url
        self.setup = setup
        self.args = args
        self.rng = rng
        self.holds: list[Hold] = []
        self.operations: list[Write] = []
        self.messages: list[Write] = []
        self.unexpected: list[tuple[float, float, str]] = []  # typed errors the load did not expect, with when
        self.subscribers: list[Subscriber] = []
        self.drifters: list[Drifter] = []
        self.watchers: list[QueueWatcher] = []
        self.producing = asyncio.Event()
        self.stopping = asyncio.Event()  # set with producing cleared: wakes the producers' pauses
        self.streams_stop = asyncio.Event()
        self.stream_tasks: list[asyncio.Task[None]] = []
        self.started = 0.0
        self.events_after = 0  # the last cursor before the streams started
        self.queue_final: dict[str, bool] = {}

    def _clients(self) -> None:
        setup, rng = self.setup, self.rng
        companies = sorted(setup.reps)
        first_agent = setup.agents[0]
        plan: list[tuple[str, str, int | None]] = [
            ("tickets", setup.supervisor, None),
            ("company-tickets", setup.reps[companies[0]], companies[0]),
            ("callbacks", setup.supervisor, None),
            ("one-ticket", setup.supervisor, setup.tickets[0].id),
            ("own-callbacks", first_agent.token, first_agent.id),
            ("company-tickets", setup.reps[companies[-1]], companies[-1]),
        ]
        for i in range(self.args.subscribers):
            role, token, subject = plan[i % len(plan)]
            if role == "own-callbacks":
                agent = setup.agents[(i // len(plan)) % len(setup.agents)]
                token, subject = agent.token, agent.id
            self.subscribers.append(Subscriber(
                f"{role}#{i}", self.ws_url, token, role=role, subject=subject,
                campaigns=frozenset({setup.campaign_id}), churn=i % 2 == 1, rng=random.Random(rng.random())))
        self.drifters = [Drifter(f"drifter#{i}", self.ws_url, setup.supervisor, rng=random.Random(rng.random()))
                         for i in range(self.args.drifters)]
        self.watchers = [QueueWatcher(f"queue#{i}", self.ws_url, setup.supervisor, campaign_id=setup.campaign_id)
                         for i in range(self.args.queue_watchers)]

    async def start_streams(self) -> None:
        db = await asyncpg.connect(self.setup.db_url)
        try:
            self.events_after = await db.fetchval("SELECT coalesce(max(cursor), 0) FROM event")
        finally:
            await db.close()
        self._clients()
        subscribed = []
        for subscriber in self.subscribers:
            event = asyncio.Event()
            subscribed.append(event)
            self.stream_tasks.append(asyncio.create_task(subscriber.run(self.streams_stop, event)))
        for client in [*self.drifters, *self.watchers]:
            self.stream_tasks.append(asyncio.create_task(client.run(self.streams_stop)))
        await asyncio.wait_for(asyncio.gather(*(event.wait() for event in subscribed)), 60)
        await asyncio.sleep(2.0)  # registered on the server: a subscribe has no acknowledgement

    def start_producers(self) -> list[asyncio.Task[None]]:
        self.producing.set()
        tasks = [asyncio.create_task(self._agent(agent, random.Random(self.rng.random()))) for agent in self.setup.agents]
        tasks += [asyncio.create_task(self._poster(i, token, operator, tickets, random.Random(self.rng.random())))
                  for i, (token, operator, tickets) in enumerate(self._posters())]
        return tasks

    async def stop_producers(self, tasks: list[asyncio.Task[None]]) -> None:
        self.producing.clear()
        self.stopping.set()
        await asyncio.gather(*tasks)

    async def stop_streams(self) -> None:
        self.streams_stop.set()
        await asyncio.gather(*self.stream_tasks)

    async def _agent(self, agent: Agent, rng: random.Random) -> None:
        setup, api = self.setup, self.api
        seq = 0
        while self.producing.is_set():
            sent = time.time()
            answer = await api.call("campaignMemberClaim", CLAIM, {"c": str(setup.campaign_id)}, agent.token,
                                    key=str(uuid.uuid4()))
            answered = time.time()
            member = answer.item("campaignMemberClaim") or {}
            if member.get("__typename") != "CampaignMember":
                if member and member.get("code") != "QUEUE_EMPTY":
                    self.unexpected.append((sent, answered, f"claim by agent {agent.id}: {member.get('code')}"))
                await pause(self.stopping, 1.0)
                continue
            member_id = int(member["id"])
            expires = datetime.fromisoformat(member["claimExpiresAt"]).timestamp()
            hold = Hold(agent.id, member_id, sent, answered, expires)
            self.holds.append(hold)
            await asyncio.sleep(min(rng.expovariate(1.0 / self.args.think), 5 * self.args.think))
            seq += 1
            token = f"soak-op {setup.run_id} {agent.index}-{seq}"
            record: dict[str, Any] = {"memberId": str(member_id), "notes": token}
            draw = rng.random()
            if draw < 0.25:
                record["resultId"] = str(setup.results["SUCCESS"])
            elif draw < 0.5:
                record["resultId"] = str(setup.results["FAILURE"])
            else:
                record["resultId"] = str(setup.results["SCHEDULE"])
                # At least 15 s ahead: under load a write can wait seconds for the event counter, and
                # a callback that is in the past by the time it is recorded is refused (CALLBACK_IN_PAST).
                due = datetime.now(UTC) + timedelta(seconds=rng.uniform(15, 45))
                record["callbackAt"] = due.isoformat()
                record["callbackFor"] = "ME" if rng.random() < 0.8 else "ANYONE"
            hold.record_sent = time.time()
            answer = await api.call("operationRecord", RECORD, {"input": record}, agent.token, key=str(uuid.uuid4()),
                                    lose_first=rng.random() < self.args.lost_answers)
            hold.record_answered = time.time()
            write = write_of(token, agent.id, member_id, answer, "operationRecord", "Operation")
            self.operations.append(write)
            if write.outcome == "refused":  # e.g. CALLBACK_IN_PAST after retrying through a fault
                self.unexpected.append((hold.record_sent, hold.record_answered,
                                        f"operationRecord by agent {agent.id} on member {member_id}: {write.code}"))
            await pause(self.stopping, rng.uniform(0.1, 0.5))

    def _posters(self) -> list[tuple[str, bool, list[Ticket]]]:
        setup = self.setup
        companies = sorted(setup.reps)
        plan = [("rep", companies[0]), ("rep", companies[-1]), ("operator", setup.supervisor),
                ("rep", companies[0]), ("operator", setup.admin)]
        posters = []
        for i in range(self.args.posters):
            kind, who = plan[i % len(plan)]
            if kind == "rep":
                tickets = [t for t in setup.tickets if t.company_id == who]
                posters.append((setup.reps[who], False, tickets))  # type: ignore[index]
            else:
                posters.append((str(who), True, list(setup.tickets)))
        return posters

    async def _poster(self, index: int, token: str, operator: bool, tickets: list[Ticket], rng: random.Random) -> None:
        seq = 0
        while self.producing.is_set():
            ticket = rng.choice(tickets)
            seq += 1
            body = f"soak-msg {self.setup.run_id} {index}-{seq}"
            internal = operator and rng.random() < 0.15
            sent = time.time()
            answer = await self.api.call(
                "ticketMessageAdd", MESSAGE,
                {"input": {"ticketId": str(ticket.id), "body": body, "internal": internal, "notifyCustomer": False}},
                token, key=str(uuid.uuid4()), lose_first=rng.random() < self.args.lost_answers)
            write = write_of(body, index, ticket.id, answer, "ticketMessageAdd", "TicketMessage")
            self.messages.append(write)
            if write.outcome == "refused":
                self.unexpected.append((sent, time.time(), f"ticketMessageAdd by poster {index}: {write.code}"))
            await pause(self.stopping, min(rng.expovariate(1.0 / self.args.post_every), 5 * self.args.post_every))

    async def drain(self, db: asyncpg.Connection, until_cursor: int, timeout: float) -> float:
        """Wait for every subscriber to have every event up to `until_cursor` it may see, and for the
        queue watchers' last snapshot to match the database; returns how long it took."""
        began = time.time()
        while True:
            events = await load_events(db, self.events_after, until_cursor)
            behind = [s for s in self.subscribers
                      if {e.cursor for e in s.entitled(events)} - {cursor for cursor, _ in s.received}]
            counts = {r["status"]: r["n"] for r in await db.fetch(
                "SELECT status, count(*) AS n FROM campaign_member WHERE campaign_id = $1 GROUP BY status",
                self.setup.campaign_id)}
            self.queue_final = {w.name: bool(w.snapshots) and _same_counts(w.snapshots[-1][2], counts)
                                for w in self.watchers}
            if (not behind and all(self.queue_final.values())) or time.time() - began > timeout:
                return time.time() - began
            await asyncio.sleep(0.5)


def _same_counts(snapshot: dict[str, int], database: dict[str, int]) -> bool:
    return all(snapshot.get(status, 0) == database.get(status, 0) for status in set(snapshot) | set(database))
