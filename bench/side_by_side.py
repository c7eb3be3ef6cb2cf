"""Benchmark: Contato against a hand-written baseline and PostGraphile on the same data, in one run (issue 14).

Creates a fresh PostgreSQL database, seeds it with `contato seed --size N [--operations M]` (the scale data
set: persons, campaign members with their operation history, last operation and callbacks, tickets with
messages; see `contato seed --help`), and starts three servers on free ports, one process each:

    Contato      `contato serve` (one uvicorn worker)
    baseline     bench/baseline_app.py: Starlette + asyncpg written by hand, one pooled connection per
                 request, only the columns it returns, orjson; the same JSON byte for byte
    PostGraphile bench/postgraphile/ (PostGraphile 4.14, `npm ci` on first use) on Contato's own tables,
                 with bench/postgraphile/schema.sql's functions for the queue order and the ticket list;
                 the same JWT (HS256, the same secret)

Four pages, each asked by the demo agent (agent@contato.dev):

    queue        QUEUE_PAGE of bench/queue_page.py: the first generated campaign's ("Campanha gerada 1",
                 10,000 members) workable queue, 50 members with person, stage, last operation with its
                 result and agent, next callback
    dashboard    the same page as a frontend writes it (DASHBOARD below: named fragments, aliases,
                 __typename everywhere, ids, edge cursors, and `campaign { id name }` on each row)
    tickets      the agent's first 50 tickets with status, company and 10 messages each
    sorted       the agent's tickets by last message, newest first (SORTED_TICKET_LIST below, issue 15): the
                 first 50 with totalCount, status, company, messageCount, lastMessageAt and lastMessage
                 with its author; PostGraphile through bench/postgraphile/schema.sql's tickets_by_last_message

Before measuring, one answer of each server for each page is compared with Contato's: the baseline's
must be the same bytes; PostGraphile's, after mapping (its ids are Int, a few type names differ, its
fields are aliased to Contato's names in its documents), the same JSON but for cursors. During the
measurement every answer is compared with that server's first one (bytes): a different answer counts
as a failure.

The measurement interleaves: `--rounds` rounds, each running every page on every server in turn (who
goes first rotates), `--requests / --rounds` requests each at `--concurrency` (closed loop: every
client sends its next request when the last one is answered; keep-alive HTTP/1.1), then the same at
concurrency 1 (`--single` requests in all) for p50 / p99 without queueing. Printed per page and
server: requests/s and p50 / p99 at concurrency N, p50 / p99 at concurrency 1, the server process's CPU
(user + system) per request at concurrency N, and that of the PostgreSQL backends of the benchmark
database; then the ratios Contato / baseline and Contato / PostGraphile, by throughput and by server
CPU, and Contato's dashboard / plain page. On a machine shared with other work, the CPU ratios are the
steadier figure. `--pin` puts the servers on CPU 0 and the load client on CPU 1.

Columns: server CPU is the server process's user + system CPU per request; db CPU that of the
PostgreSQL backends of the benchmark database; client CPU the load process's share of one core. The
load client is this file's own: a few dozen lines of asyncio over raw keep-alive HTTP/1.1 (uvloop when
installed), in a process of its own, so that it is not the limit. `--profile FILE` then samples Contato
with py-spy (bench/requirements.txt) over more queue pages and prints where its CPU goes.

Contato is imported from `--source` (default: the checkout holding this file). While the working tree
is being edited, bench a clean copy: `git clone -q . ../contato-head` (plus these bench files) and
`--source ../contato-head`. Drops the database at the end (`--keep-database` keeps it). Not a test: no
assertions on timings.

    .venv/bin/python bench/side_by_side.py
    .venv/bin/python bench/side_by_side.py --profile queue-page.raw
    .venv/bin/python bench/side_by_side.py --persons 1000000 --operations 5000000 --single 1000
    .venv/bin/python bench/side_by_side.py --postgres postgres://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
POSTGRAPHILE = BENCH / "postgraphile"
sys.path.insert(0, str(BENCH))

from queue_page import QUEUE_PAGE

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:55432/postgres"
DASHBOARD = """
query AgentQueueDashboard($campaignId: ID!, $first: Int = 50, $after: String) {
  queue: campaignQueue(campaignId: $campaignId, first: $first, after: $after) {
    __typename
    ... on CampaignMemberConnection {
      edges {
        __typename
        cursor
        node { ...QueueRow }
      }
      pageInfo { ...PageInfoFields }
    }
  }
}

fragment QueueRow on CampaignMember {
  __typename
  id
  status
  attempts
  dueAt
  campaign { __typename id name }
  person { ...PersonSummary }
  stage { __typename id name }
  lastOperation { ...LastOperation }
  nextCallback { __typename id dueAt status }
}

fragment PersonSummary on Person {
  __typename
  id
  name
  document
  phones
}

fragment LastOperation on Operation {
  __typename
  id
  createdAt
  notes
  result { __typename id name kind }
  agent { __typename id name }
}

fragment PageInfoFields on PageInfo {
  __typename
  hasNextPage
  endCursor
}
"""
TICKET_LIST = """
query TicketList {
  tickets(first: 50) {
    edges { node {
      number subject status { name } company { name }
      messages(first: 10) { edges { node { body author { name } createdAt } } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# The ticket list newest conversation first, with its count (issue 15): the thread summary on the row.
SORTED_TICKET_LIST = """
query SortedTicketList {
  tickets(first: 50, orderBy: {field: LAST_MESSAGE_AT, direction: DESC}) {
    totalCount
    edges { node {
      number subject status { name } company { name }
      messageCount lastMessageAt lastMessage { body createdAt author { name } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# The same pages in PostGraphile's schema, written as its users write them: relations by their
# generated names, aliased to the names the screen uses (Contato's).
PG_QUEUE_PAGE = """
query QueuePage($campaignId: Int!) {
  campaignQueue(campaignId: $campaignId, first: 50) {
    edges { node {
      id status attempts dueAt
      person: personByPersonId { name document phones }
      stage: campaignStageByStageId { name }
      lastOperation: operationByLastOperationId {
        createdAt notes result: contactResultByResultId { name kind } agent: appUserByAgentId { name }
      }
      nextCallback: callbackByNextCallbackId { dueAt status }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
PG_DASHBOARD = (
    DASHBOARD.replace("$campaignId: ID!", "$campaignId: Int!")
    .replace("$after: String", "$after: Cursor")
    .replace("... on CampaignMemberConnection {", "... on CampaignMembersConnection {")
    .replace("campaign {", "campaign: campaignByCampaignId {")
    .replace("person {", "person: personByPersonId {")
    .replace("stage {", "stage: campaignStageByStageId {")
    .replace("lastOperation {", "lastOperation: operationByLastOperationId {")
    .replace("nextCallback {", "nextCallback: callbackByNextCallbackId {")
    .replace("result {", "result: contactResultByResultId {")
    .replace("agent {", "agent: appUserByAgentId {")
)
PG_TICKET_LIST = """
query TicketList {
  tickets(first: 50) {
    edges { node {
      number subject status: ticketStatusByStatusId { name } company: companyByCompanyId { name }
      messages: ticketMessagesByTicketId(first: 10, orderBy: ID_ASC) {
        edges { node { body author: appUserByAuthorId { name } createdAt } }
      }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
PG_SORTED_TICKET_LIST = """
query SortedTicketList {
  tickets: ticketsByLastMessage(first: 50) {
    totalCount
    edges { node {
      number subject status: ticketStatusByStatusId { name } company: companyByCompanyId { name }
      messageCount lastMessageAt
      lastMessage: ticketMessageByLastMessageId { body createdAt author: appUserByAuthorId { name } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
# Contato (and the baseline) count a list up to COUNT_LIMIT rows and answer the cap above it; PostGraphile
# counts every row, which is more work for it, not less: its answer is compared capped.
COUNT_LIMIT = 10_000
# PostGraphile's type names where they differ from Contato's.
PG_TYPENAMES = {"CampaignMembersConnection": "CampaignMemberConnection", "CampaignMembersEdge": "CampaignMemberEdge",
                "AppUser": "User"}
PAGES = ("queue", "dashboard", "tickets", "sorted")
PG_PAGES = PAGES
LABELS = {
    "queue": "queue page (campaignQueue first 50, the plain document)",
    "dashboard": "dashboard document (the same page with fragments, aliases, __typename, ids, cursors, campaign)",
    "tickets": "ticket list (tickets first 50 x 10 messages)",
    "sorted": "ticket list by last message, newest first, with totalCount and lastMessage (first 50)",
}
LOGIN = 'mutation { login(email: "agent@contato.dev", password: "contato-demo") { ... on LoginPayload { token } } }'
CAMPAIGNS = "{ campaigns(first: 100) { edges { node { id name } } } }"
CLK_TCK = os.sysconf("SC_CLK_TCK")

COUNTS = """
SELECT (SELECT count(*) FROM person) AS persons, (SELECT count(*) FROM campaign_member) AS members,
       (SELECT count(*) FROM operation) AS operations, (SELECT count(*) FROM callback) AS callbacks,
       (SELECT count(*) FROM ticket) AS tickets, (SELECT count(*) FROM ticket_message) AS messages
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def database_cpu(database: str) -> dict[int, float]:
    """CPU by process of the PostgreSQL backends serving `database` (every server's pool)."""
    marker = f"postgres: postgres {database} ".encode()
    found: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes().startswith(marker):
                found[int(entry.name)] = cpu_seconds(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return found


def database_cpu_since(before: dict[int, float], database: str) -> float:
    """What the backends spent since `before` (what a backend that ended meanwhile spent since is lost)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in database_cpu(database).items())


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load_average() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, load average {load_average()}"


# ---------------------------------------------------------------------------------------------- the client


class Client:
    """One keep-alive HTTP/1.1 connection that sends prepared requests and reads Content-Length bodies."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, request: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lower = head.lower()
        start = lower.find(b"\r\ncontent-length:")
        if start < 0:
            raise RuntimeError(f"a response without Content-Length: {head[:200]!r}")
        length = int(head[start + 17:lower.index(b"\r\n", start + 2)])
        return int(head[9:12]), await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
            self.writer = None


def prepare(port: int, path: str, body: dict[str, Any], token: str) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


@dataclass
class Server:
    name: str
    port: int
    pid: int
    paths: dict[str, str]
    requests: dict[str, bytes] = field(default_factory=dict)
    answers: dict[str, bytes] = field(default_factory=dict)  # the first answer, for every later one


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    server_cpu: float = 0.0
    database_cpu: float = 0.0
    client_cpu: float = 0.0
    failures: int = 0

    def add(self, other: Run) -> None:
        self.latencies += other.latencies
        self.elapsed += other.elapsed
        self.server_cpu += other.server_cpu
        self.database_cpu += other.database_cpu
        self.client_cpu += other.client_cpu
        self.failures += other.failures

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def cpu_ms(self) -> float:
        return self.server_cpu / max(1, len(self.latencies)) * 1000

    def database_ms(self) -> float:
        return self.database_cpu / max(1, len(self.latencies)) * 1000


async def drive_one(
    server: Server, page: str, count: int, concurrency: int, deadline: float, database: str
) -> Run:
    run = Run()
    request, expected = server.requests[page], server.answers[page]
    clients = [Client(server.port) for _ in range(concurrency)]
    for client in clients:  # connect outside the measurement
        status, _ = await client.send(request)
        if status != 200:
            raise RuntimeError(f"{server.name}: HTTP {status}")
    remaining = iter(range(count))
    clock = time.perf_counter
    give_up = clock() + deadline

    async def loop(client: Client) -> None:
        for _ in remaining:
            if clock() > give_up:
                return
            started = clock()
            status, body = await client.send(request)
            run.latencies.append(clock() - started)
            if status != 200 or body != expected:
                run.failures += 1

    cpu_server, cpu_database, cpu_client = cpu_seconds(server.pid), database_cpu(database), client_cpu()
    started = clock()
    await asyncio.gather(*(loop(client) for client in clients))
    run.elapsed = clock() - started
    run.server_cpu = cpu_seconds(server.pid) - cpu_server
    run.database_cpu = database_cpu_since(cpu_database, database)
    run.client_cpu = client_cpu() - cpu_client
    await asyncio.gather(*(client.close() for client in clients))
    return run


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    if isinstance(left, dict) and isinstance(right, dict):
        found = [f"{path}.{key}: only in one" for key in sorted(set(left) ^ set(right))]
        for key in sorted(set(left) & set(right)):
            found += differences(left[key], right[key], f"{path}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list):
        found = [f"{path}: {len(left)} items against {len(right)}"] if len(left) != len(right) else []
        for index, (a, b) in enumerate(zip(left, right)):
            found += differences(a, b, f"{path}[{index}]")
        return found
    return [] if left == right else [f"{path}: {left!r} against {right!r}"]


def from_postgraphile(value: Any, key: str = "") -> Any:
    """PostGraphile's answer in Contato's terms: ids as strings, Contato's type names, times as
    Python's isoformat writes them (PostgreSQL drops the trailing zeros of the microseconds), no
    cursors (each server has its own; both are compared without them)."""
    if isinstance(value, dict):
        return {name: from_postgraphile(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [from_postgraphile(item) for item in value]
    if key == "id" and isinstance(value, int):
        return str(value)
    if key == "__typename":
        return PG_TYPENAMES.get(value, value)
    if key.endswith("At") and isinstance(value, str):
        return datetime.fromisoformat(value).isoformat()
    if key in ("cursor", "endCursor") and value is not None:
        return "(cursor)"
    if key == "totalCount" and isinstance(value, int):
        return min(value, COUNT_LIMIT)
    return value


def without_cursors(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {name: without_cursors(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [without_cursors(item) for item in value]
    return "(cursor)" if key in ("cursor", "endCursor") and value is not None else value


def ratio(mine: float, theirs: float) -> str:
    return f"{mine / theirs:.2f}" if theirs else "-"


async def drive(config: dict[str, Any]) -> None:
    import httpx

    if config["pin"]:
        os.sched_setaffinity(0, {1})
    contato = Server("Contato", config["contato_port"], config["contato_pid"],
                     dict.fromkeys(PAGES, "/graphql"))
    baseline = Server("baseline", config["baseline_port"], config["baseline_pid"],
                      {"queue": "/queue-page", "dashboard": "/dashboard", "tickets": "/tickets",
                       "sorted": "/tickets-sorted"})
    servers = [contato, baseline]
    if config["postgraphile_port"]:
        servers.append(Server("PostGraphile", config["postgraphile_port"], config["postgraphile_pid"],
                              dict.fromkeys(PG_PAGES, "/graphql")))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{contato.port}", timeout=60) as http:
        token = (await http.post("/graphql", json={"query": LOGIN})).json()["data"]["login"]["token"]
        answer = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={"query": CAMPAIGNS})
        edges = answer.json()["data"]["campaigns"]["edges"]
    campaign_id = next(e["node"]["id"] for e in edges if e["node"]["name"].startswith("Campanha gerada"))
    bodies = {
        "queue": {"query": QUEUE_PAGE, "variables": {"campaignId": campaign_id}},
        "dashboard": {"query": DASHBOARD, "variables": {"campaignId": campaign_id}},
        "tickets": {"query": TICKET_LIST, "variables": {}},
        "sorted": {"query": SORTED_TICKET_LIST, "variables": {}},
    }
    pg_bodies = {
        "queue": {"query": PG_QUEUE_PAGE, "variables": {"campaignId": int(campaign_id)}},
        "dashboard": {"query": PG_DASHBOARD, "variables": {"campaignId": int(campaign_id)}},
        "tickets": {"query": PG_TICKET_LIST, "variables": {}},
        "sorted": {"query": PG_SORTED_TICKET_LIST, "variables": {}},
    }
    for server in servers:
        chosen = pg_bodies if server.name == "PostGraphile" else bodies
        server.requests = {page: prepare(server.port, path, chosen[page], token) for page, path in server.paths.items()}
        for page in server.requests:
            client = Client(server.port)
            status, body = await client.send(server.requests[page])
            await client.close()
            if status != 200 or b'"errors"' in body:
                raise SystemExit(f"{server.name} answered {page} with {status}: {body[:800]!r}")
            server.answers[page] = body

    print("same answers? one response of each server and page, compared with Contato's:")
    for page in PAGES:
        mine = contato.answers[page]
        parsed = json.loads(mine)
        nodes = len(next(iter(parsed["data"].values()))["edges"])
        verdicts = []
        for server in servers[1:]:
            if page not in server.answers:
                verdicts.append(f"{server.name} not asked")
                continue
            theirs = server.answers[page]
            if server.name == "baseline":
                diff = differences(parsed, json.loads(theirs))
                same = theirs == mine
                verdict = "the same bytes" if same else "different bytes" + (f", {len(diff)} differences" if diff else "")
            else:
                diff = differences(without_cursors(parsed), from_postgraphile(json.loads(theirs)))
                same = not diff
                verdict = "the same JSON, mapped, cursors aside" if same else f"{len(diff)} differences"
            if not same:
                raise SystemExit(f"{page}: {server.name} answers differently from Contato: {'; '.join(diff[:5])}")
            verdicts.append(f"{server.name} {len(theirs):,} bytes: {verdict}")
        print(f"  {page:<9} {nodes} nodes, Contato {len(mine):,} bytes; " + "; ".join(verdicts))

    concurrency, requests, rounds, database = config["concurrency"], config["requests"], config["rounds"], config["database"]
    print(f"warm-up: {config['warmup']} requests per page and server (load average {load_average()})")
    for page in PAGES:
        for server in servers:
            if page in server.paths:
                await drive_one(server, page, config["warmup"], concurrency, 120, database)

    loaded: dict[tuple[str, str], Run] = {}
    single: dict[tuple[str, str], Run] = {}
    per_round = max(1, requests // rounds)
    single_per_round = max(1, config["single"] // rounds)
    for number in range(rounds):
        order = servers[number % len(servers):] + servers[:number % len(servers)]  # who goes first rotates
        for page in PAGES:
            for server in (server for server in order if page in server.paths):
                run = await drive_one(server, page, per_round, concurrency, config["max_seconds"], database)
                loaded.setdefault((page, server.name), Run()).add(run)
        for page in PAGES:
            for server in (server for server in order if page in server.paths):
                run = await drive_one(server, page, single_per_round, 1, config["max_seconds"], database)
                single.setdefault((page, server.name), Run()).add(run)
        print(f"  round {number + 1}/{rounds} done (load average {load_average()})", flush=True)

    print(f"\n{per_round * rounds} requests per page and server at concurrency {concurrency} and "
          f"{single_per_round * rounds} at concurrency 1, in {rounds} interleaved rounds, closed loop; "
          f"load average at the end {load_average()}")
    for page in PAGES:
        print(f"{LABELS[page]}")
        print(f"  {'':<12} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} | {'c=1 p50':>7} {'c=1 p99':>7} | "
              f"{'server CPU':>10} {'db CPU':>7} {'client':>6}")
        print(f"  {'':<12} {f'c={concurrency}':>7} {'':>7} {'':>7} | {'ms':>7} {'ms':>7} | "
              f"{'ms/req':>10} {'ms/req':>7} {'CPU':>6}")
        for server in (server for server in servers if page in server.paths):
            run, alone = loaded[(page, server.name)], single[(page, server.name)]
            ordered, ordered_alone = sorted(run.latencies), sorted(alone.latencies)
            failures = run.failures + alone.failures
            print(
                f"  {server.name:<12} {run.rate:7.1f} {percentile(ordered, 0.5) * 1000:7.1f} "
                f"{percentile(ordered, 0.99) * 1000:7.1f} | {percentile(ordered_alone, 0.5) * 1000:7.1f} "
                f"{percentile(ordered_alone, 0.99) * 1000:7.1f} | {run.cpu_ms():10.2f} {run.database_ms():7.2f} "
                f"{run.client_cpu / run.elapsed * 100:5.0f}%" + (f"  {failures} failed or differed" if failures else "")
            )
        mine = loaded[(page, "Contato")]
        for server in (server for server in servers[1:] if page in server.paths):
            theirs = loaded[(page, server.name)]
            print(f"  Contato / {server.name}: {ratio(mine.rate, theirs.rate)} by requests/s, "
                  f"{ratio(theirs.cpu_ms(), mine.cpu_ms())} by server CPU per request")
        alone = sorted(single[(page, "Contato")].latencies)
        print(f"  Contato c=1 p99 / p50: {percentile(alone, 0.99) / percentile(alone, 0.5):.2f}")
    plain, dashboard = loaded[("queue", "Contato")], loaded[("dashboard", "Contato")]
    print(f"Contato's dashboard document / its plain queue page: {ratio(dashboard.rate, plain.rate)} by requests/s, "
          f"{ratio(plain.cpu_ms(), dashboard.cpu_ms())} by server CPU per request")
    print("targets (issue 14): queue page >= 1.0 x PostGraphile and >= 0.6 x the baseline; dashboard >= 0.9 x "
          "the plain page; ticket list >= 0.7 x the baseline; c=1 p99 <= 2 x p50")

    if config["profile"]:
        output = config["profile"]
        spy = await asyncio.create_subprocess_exec(
            config["py_spy"], "record", "--pid", str(contato.pid), "--rate", "200", "--gil", "--full-filenames",
            "--format", "raw", "--output", output, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        await asyncio.sleep(1.0)  # py-spy attaches
        page = config["profile_page"]
        run = await drive_one(contato, page, config["profile_requests"], concurrency, config["max_seconds"], database)
        spy.send_signal(signal.SIGINT)
        _, spy_errors = await asyncio.wait_for(spy.communicate(), 60)
        if not Path(output).exists():
            raise SystemExit(f"py-spy wrote no profile: {spy_errors.decode(errors='replace')[-1000:]}")
        print(f"\nprofile of Contato: {len(run.latencies)} {page} requests at concurrency {concurrency}, "
              f"py-spy at 200 Hz, samples holding the GIL only, raw stacks in {output}")
        summarize(Path(output))


def frame_parts(frame: str) -> tuple[str, str]:
    """("function", "path") of a py-spy raw frame `function (path:line)`."""
    name, _, rest = frame.partition(" (")
    return name, rest.rsplit(":", 1)[0]


def bucket(path: str) -> str:
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for part in ("contato", "schema", "resolvers", "models", "realtime"):
        if f"/{part}/" in path:
            return f"Contato {part}/"
    if "/python3." in path or "/lib/python" in path:
        module = path.split("/lib/python", 1)[1].split("/", 1)[1]
        return "stdlib " + module.split("/", 1)[0].removesuffix(".py")
    return path or "?"


# Samples whose stack passes through any of these paths or names (the groups overlap).
PROFILE_GROUPS = (
    ("graphql-core execution, with everything resolvers run beneath it", ("/graphql/execution/",)),
    ("Tortoise ORM and pypika: building queries, mapping rows to models", ("/tortoise/", "/pypika_tortoise/")),
    ("asyncpg", ("/asyncpg/",)),
    ("Strawberry schema extensions (validation included)", ("/strawberry/extensions/",)),
    ("GraphQL validation (graphql.validate)", ("/graphql/validation/validate.py",)),
    ("GraphQL parsing", ("/graphql/language/parser.py",)),
    ("DataLoader machinery (strawberry.dataloader)", ("/strawberry/dataloader.py",)),
    ("authentication (JWT and the user lookup)", ("authenticate",)),
    ("context and per-request loaders", ("ContatoGraphQL.get_context",)),
    ("Contato's schema/ and resolvers/ functions, with what they call", ("/schema/", "/resolvers/")),
    ("encoding the response (json)", ("/json/encoder.py", "/json/__init__.py")),
)


def summarize(raw: Path, top: int = 15) -> None:
    """Self time by package and by function, and the share of samples inside a few telling layers."""
    self_by_bucket: dict[str, int] = {}
    self_by_function: dict[str, int] = {}
    groups = dict.fromkeys((label for label, _ in PROFILE_GROUPS), 0)
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame_parts(frame) for frame in stack.split(";")]
        frames = [(name, path) for name, path in frames if path]  # drop process and thread labels
        if not frames:
            continue
        total += count
        leaf_name, leaf_path = frames[-1]
        self_by_bucket[bucket(leaf_path)] = self_by_bucket.get(bucket(leaf_path), 0) + count
        key = f"{leaf_name} ({bucket(leaf_path)})"
        self_by_function[key] = self_by_function.get(key, 0) + count
        for label, needles in PROFILE_GROUPS:
            if label.startswith("Contato"):  # the project's own files, not strawberry/schema/…
                paths = [path for _, path in frames if "/site-packages/" not in path]
                hit = any(needle in path for path in paths for needle in needles)
            else:
                hit = any(needle in stack for needle in needles)
            groups[label] += count if hit else 0
    if not total:
        print("  no samples")
        return

    def share(value: int) -> str:
        return f"{value * 100 / total:5.1f}%"

    print(f"  {total} samples. Self time by package:")
    for name, value in sorted(self_by_bucket.items(), key=lambda item: -item[1])[:top]:
        print(f"    {share(value)}  {name}")
    print("  Self time by function:")
    for name, value in sorted(self_by_function.items(), key=lambda item: -item[1])[:top]:
        print(f"    {share(value)}  {name}")
    print("  Samples inside (overlapping groups):")
    for label, value in groups.items():
        print(f"    {share(value)}  {label}")


# ------------------------------------------------------------------------------------------ orchestration


async def admin(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


async def counts(url: str) -> dict[str, int]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return dict(await connection.fetchrow(COUNTS))
    finally:
        await connection.close()


def git_describe(source: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(source), "log", "-1", "--format=commit %h of %cs"],
                              check=False, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--untracked-files=no"],
                               check=False, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not a git checkout"
    if head.returncode:
        return "not a git checkout"
    return head.stdout.strip() + (", with uncommitted changes" if dirty.stdout.strip() else "")


def wait_ready(port: int, process: subprocess.Popen[bytes], name: str, log: Callable[[], str]) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited before it was ready:\n{log()[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{name} was not ready within 120 s:\n{log()[-3000:]}")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def install_postgraphile() -> str:
    """node, with bench/postgraphile's locked packages installed (`npm ci`, once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        raise SystemExit("PostGraphile needs node and npm (Debian: apt-get install nodejs npm), or --no-postgraphile")
    if not (POSTGRAPHILE / "node_modules" / "postgraphile").is_dir():
        print("installing PostGraphile: npm ci in bench/postgraphile", flush=True)
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=POSTGRAPHILE, check=True)
    return node


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                        help=f"admin URL of a PostgreSQL server; a fresh database is made there (default {DEFAULT_POSTGRES})")
    parser.add_argument("--persons", type=int, default=200000, help="contato seed --size (default 200,000)")
    parser.add_argument("--requests", type=int, default=1800, help="per page and server at --concurrency (default 1,800)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds the requests are split in (default 6)")
    parser.add_argument("--concurrency", type=int, default=16, help="clients at once (default 16)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per page and server")
    parser.add_argument("--single", type=int, default=600, help="requests per page and server at concurrency 1")
    parser.add_argument("--max-seconds", type=float, default=180, help="cap on each measured phase")
    parser.add_argument("--operations", type=int, default=None,
                        help="contato seed --operations (default 5 per person; the scale run is --persons "
                             "1000000 --operations 5000000)")
    parser.add_argument("--no-postgraphile", action="store_true", help="leave PostGraphile out (no node here)")
    parser.add_argument("--pin", action="store_true", help="servers on CPU 0, the load client on CPU 1")
    # The seed makes the whole data set now; the old top-up switch is accepted and ignored.
    parser.add_argument("--no-top-up", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--source", type=Path, default=BENCH.parent,
                        help="the Contato checkout to run (default: the one holding this file), e.g. a "
                             "`git archive HEAD` export while the working tree is being edited")
    parser.add_argument("--profile", metavar="FILE", type=Path,
                        help="after the measurements, record Contato with py-spy (bench/requirements.txt) over "
                             "--profile-requests more pages; raw stacks to FILE, a summary printed")
    parser.add_argument("--profile-page", choices=PAGES, default="queue")
    parser.add_argument("--profile-requests", type=int, default=600)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    py_spy = None
    if args.profile and not args.drive:
        py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if py_spy is None:
            raise SystemExit("--profile needs py-spy: pip install -r bench/requirements.txt")
    if args.drive:
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(drive(json.loads(args.drive)))
        return 0

    node = None if args.no_postgraphile else install_postgraphile()
    print(f"machine: {machine()}")
    admin_url = args.postgres.replace("postgres://", "postgresql://", 1)
    database = f"contato_sbs_{uuid.uuid4().hex[:12]}"
    url = f"{admin_url.rsplit('/', 1)[0]}/{database}"
    asyncio.run(admin(admin_url, f'CREATE DATABASE "{database}"'))
    processes: list[subprocess.Popen[bytes]] = []
    source = args.source.resolve()
    contato_command = [sys.executable, "-m", "contato"]
    pin = ["taskset", "--cpu-list", "0"] if args.pin else []  # the servers, with every thread they start
    try:
        with tempfile.TemporaryDirectory(prefix="contato-sbs-") as tmp:
            env = {**os.environ, "DATABASE_URL": url, "CONTATO_DATA_DIR": f"{tmp}/data", "CONTATO_ENV": "dev",
                   "PASSWORD_HASH_PROFILE": "CHEAPEST", "ALERTS_IN_SERVER": "false",
                   "SECRET_KEY": secrets.token_urlsafe(48), "PYTHONUNBUFFERED": "1",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}
            print(f"Contato from {source} ({git_describe(source)})")
            started = time.perf_counter()
            seed = ["seed", "--size", str(args.persons)]
            if args.operations is not None:
                seed += ["--operations", str(args.operations)]
            seeded = subprocess.run([*contato_command, *seed], env=env, cwd=source,
                                    check=False, capture_output=True, text=True)
            if seeded.returncode:
                raise SystemExit(f"contato seed failed:\n{seeded.stdout[-2000:]}{seeded.stderr[-3000:]}")
            print(f"database {database}: contato {' '.join(seed)} in {time.perf_counter() - started:.1f} s "
                  f"(load average {load_average()})")
            print("data: " + ", ".join(f"{value:,} {name}" for name, value in asyncio.run(counts(url)).items()))

            ports = {name: free_port() for name in ("contato", "baseline", "postgraphile")}
            logs = {name: Path(tmp) / f"{name}.log" for name in ports}
            contato = subprocess.Popen(
                [*pin, *contato_command, "serve", "--host", "127.0.0.1", "--port", str(ports["contato"]),
                 "--log-level", "warning"],
                env=env, cwd=source, stdout=logs["contato"].open("wb"), stderr=subprocess.STDOUT,
            )
            processes.append(contato)
            baseline = subprocess.Popen(
                [*pin, sys.executable, BENCH / "baseline_app.py", "--port", str(ports["baseline"])],
                env=env, stdout=logs["baseline"].open("wb"), stderr=subprocess.STDOUT,
            )
            processes.append(baseline)
            postgraphile = None
            if node is not None:
                asyncio.run(admin(url, (POSTGRAPHILE / "schema.sql").read_text()))
                postgraphile = subprocess.Popen(
                    [*pin, node, POSTGRAPHILE / "server.js"],
                    env={**env, "PORT": str(ports["postgraphile"]), "NODE_ENV": "production"}, cwd=POSTGRAPHILE,
                    stdout=logs["postgraphile"].open("wb"), stderr=subprocess.STDOUT,
                )
                processes.append(postgraphile)
            wait_ready(ports["contato"], contato, "Contato", logs["contato"].read_text)
            wait_ready(ports["baseline"], baseline, "the baseline", logs["baseline"].read_text)
            if postgraphile is not None:
                wait_ready(ports["postgraphile"], postgraphile, "PostGraphile", logs["postgraphile"].read_text)
            print(f"ready, one process each: Contato (pid {contato.pid}), the baseline (pid {baseline.pid})"
                  + (f", PostGraphile (pid {postgraphile.pid})" if postgraphile else "")
                  + (", pinned to CPU 0 (the load client to CPU 1)" if args.pin else ""))
            config = {
                "contato_port": ports["contato"], "contato_pid": contato.pid,
                "baseline_port": ports["baseline"], "baseline_pid": baseline.pid,
                "postgraphile_port": ports["postgraphile"] if postgraphile else None,
                "postgraphile_pid": postgraphile.pid if postgraphile else None,
                "database": database, "requests": args.requests, "rounds": args.rounds,
                "concurrency": args.concurrency, "warmup": args.warmup, "single": args.single,
                "max_seconds": args.max_seconds, "py_spy": py_spy, "pin": args.pin,
                "profile": str(args.profile.resolve()) if args.profile else None,
                "profile_page": args.profile_page, "profile_requests": args.profile_requests,
            }
            driven = subprocess.run([sys.executable, __file__, "--drive", json.dumps(config)], check=False)
            for process in processes:
                stop(process)
            for name, path in logs.items():
                if not path.exists():
                    continue
                lines = path.read_text(errors="replace").splitlines()
                problems = [index for index, line in enumerate(lines)
                            if any(word in line for word in ("Traceback", "ERROR", "Error"))]
                if problems:
                    print(f"{name} log: {len(problems)} error lines, the first with what follows it:")
                    print("\n".join(f"    {line[:300]}" for line in lines[problems[0]:problems[0] + 40]))
            if driven.returncode:
                return driven.returncode
    finally:
        for process in processes:
            stop(process)
        if args.keep_database:
            print(f"kept database {database}: {url}")
        else:
            asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
