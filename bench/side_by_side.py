"""Benchmark: Contato against a hand-written baseline on the same data, in one run (issue 6).

Creates a fresh PostgreSQL database, seeds it with `contato seed --size N [--operations M]` (the scale data
set: persons, campaign members with their operation history, last operation and callbacks, tickets with
messages; see `contato seed --help`), starts `contato serve` (one uvicorn worker) and bench/baseline_app.py
(Starlette + asyncpg, one worker, the same SQL and the same JSON) on free ports, and from a separate process
compares one response of each, warms both, then drives each in turn with the same requests at a fixed
concurrency (closed loop: every client sends its next request when the last one is answered; keep-alive
HTTP/1.1 connections). Prints requests/s, p50, p95 and p99 latency and server CPU per request for both, the
Contato/baseline ratio, for the agent queue page, the ticket list and the ticket list sorted by last message
(with totalCount and lastMessage), and the single-client p95 of the queue
page. Drops the database at the end (`--keep-database` keeps it). Not a test: no assertions on timings.

The queue page is the first generated campaign's ("Campanha gerada 1", 10,000 members): due callbacks
first, each with its last operation and its callback. The ticket list is the agent's first 50 tickets with
10 messages each.

Columns: server CPU is the server process's user + system CPU per request; db CPU that of the
PostgreSQL backends of the benchmark database; client CPU the load process's share of one core. The
load client is this file's own: a few dozen lines of asyncio over raw keep-alive HTTP/1.1 (uvloop when
installed), in a process of its own, so that it is not the limit. `--profile FILE` then samples Contato
with py-spy (bench/requirements.txt) over more queue pages and prints where its CPU goes.

Contato is imported from `--source` (default: the checkout holding this file). While the working tree
is being edited, bench a clean copy: `git clone -q . ../contato-head` (plus these bench files) and
`--source ../contato-head`.

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
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from queue_page import QUEUE_PAGE

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:55432/postgres"
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


def database_cpu_seconds(database: str) -> float:
    """CPU of the PostgreSQL backends serving `database` (both servers' pools)."""
    marker = f"postgres: postgres {database} ".encode()
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "cmdline").read_bytes().startswith(marker):
                total += cpu_seconds(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return total


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, load average {load}"


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


async def drive_one(
    server: Server, request: bytes, count: int, concurrency: int, deadline: float, database: str
) -> Run:
    run = Run()
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
            status, _ = await client.send(request)
            run.latencies.append(clock() - started)
            if status != 200:
                run.failures += 1

    cpu_server, cpu_database, cpu_client = cpu_seconds(server.pid), database_cpu_seconds(database), client_cpu()
    started = clock()
    await asyncio.gather(*(loop(client) for client in clients))
    run.elapsed = clock() - started
    run.server_cpu = cpu_seconds(server.pid) - cpu_server
    run.database_cpu = database_cpu_seconds(database) - cpu_database
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


def row(label: str, run: Run) -> str:
    ordered = sorted(run.latencies)
    done = len(ordered)
    return (
        f"  {label:<9} {done / run.elapsed:8.1f} {percentile(ordered, 0.50) * 1000:8.1f} "
        f"{percentile(ordered, 0.95) * 1000:8.1f} {percentile(ordered, 0.99) * 1000:8.1f} "
        f"{run.server_cpu / done * 1000:10.2f} {run.database_cpu / done * 1000:9.2f} "
        f"{run.client_cpu / run.elapsed * 100:7.0f}%" + (f"  {run.failures} failed" if run.failures else "")
    )


async def drive(config: dict[str, Any]) -> None:
    import httpx

    contato = Server("Contato", config["contato_port"], config["contato_pid"],
                     {"queue": "/graphql", "tickets": "/graphql", "sorted": "/graphql"})
    baseline = Server("baseline", config["baseline_port"], config["baseline_pid"],
                      {"queue": "/queue-page", "tickets": "/tickets", "sorted": "/tickets-sorted"})
    servers = (contato, baseline)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{contato.port}", timeout=60) as http:
        token = (await http.post("/graphql", json={"query": LOGIN})).json()["data"]["login"]["token"]
        answer = await http.post("/graphql", headers={"Authorization": f"Bearer {token}"}, json={"query": CAMPAIGNS})
        edges = answer.json()["data"]["campaigns"]["edges"]
    campaign_id = next(e["node"]["id"] for e in edges if e["node"]["name"].startswith("Campanha gerada"))
    bodies = {
        "queue": {"query": QUEUE_PAGE, "variables": {"campaignId": campaign_id}},
        "tickets": {"query": TICKET_LIST, "variables": {}},
        "sorted": {"query": SORTED_TICKET_LIST, "variables": {}},
    }
    labels = {
        "queue": "queue page (campaignQueue first 50)",
        "tickets": "ticket list (tickets first 50 x 10 messages)",
        "sorted": "ticket list by last message, newest first, with totalCount and lastMessage (first 50)",
    }
    for server in servers:
        server.requests = {page: prepare(server.port, server.paths[page], body, token) for page, body in bodies.items()}

    print("same answer? one response of each, parsed and compared:")
    for page in bodies:
        answers = []
        for server in servers:
            client = Client(server.port)
            status, body = await client.send(server.requests[page])
            await client.close()
            answers.append((status, body))
        (status_c, body_c), (_, body_b) = answers
        parsed_c, parsed_b = json.loads(body_c), json.loads(body_b)
        if "errors" in parsed_c or status_c != 200:
            raise SystemExit(f"Contato answered {status_c}: {body_c[:500]!r}")
        diff = differences(parsed_c, parsed_b)
        data = parsed_c["data"]
        edges = next(iter(data.values()))["edges"]
        verdict = "identical" if not diff else f"{len(diff)} differences, first: {'; '.join(diff[:3])}"
        print(f"  {page:<8} {len(edges)} nodes, {len(body_c):,} bytes (baseline {len(body_b):,}): {verdict}")

    concurrency, requests, rounds = config["concurrency"], config["requests"], config["rounds"]
    print(f"warm-up: {config['warmup']} requests per page and server")
    for page in bodies:
        for server in servers:
            await drive_one(server, server.requests[page], config["warmup"], concurrency, 120, config["database"])

    results: dict[tuple[str, str], Run] = {}
    per_round = max(1, requests // rounds)
    for page in bodies:
        for number in range(rounds):
            order = servers if number % 2 == 0 else servers[::-1]  # alternate who goes first
            for server in order:
                run = await drive_one(
                    server, server.requests[page], per_round, concurrency, config["max_seconds"], config["database"]
                )
                results.setdefault((page, server.name), Run()).add(run)
    single: dict[str, Run] = {}
    for server in servers:
        single[server.name] = await drive_one(
            server, server.requests["queue"], config["single"], 1, config["max_seconds"], config["database"]
        )

    print(f"\n{per_round * rounds} requests per page and server in {rounds} alternating rounds, "
          f"concurrency {concurrency}, closed loop")
    header = (f"  {'':<9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'server CPU':>10} "
              f"{'db CPU':>9} {'client':>8}")
    for page in bodies:
        print(f"{labels[page]}")
        print(header + "\n" + f"  {'':<9} {'':>8} {'':>8} {'':>8} {'':>8} {'ms/req':>10} {'ms/req':>9} {'CPU':>8}")
        for server in servers:
            print(row(server.name, results[(page, server.name)]))
        mine, theirs = results[(page, "Contato")], results[(page, "baseline")]
        ratio = (len(mine.latencies) / mine.elapsed) / (len(theirs.latencies) / theirs.elapsed)
        target = "  (target >= 0.50)" if page == "queue" else ""
        print(f"  Contato/baseline requests/s: {ratio:.2f}{target}")
    print(f"single client, queue page, {config['single']} requests each:")
    for server in servers:
        ordered = sorted(single[server.name].latencies)
        print(f"  {server.name:<9} p50 {percentile(ordered, 0.5) * 1000:6.1f} ms  "
              f"p95 {percentile(ordered, 0.95) * 1000:6.1f} ms  p99 {percentile(ordered, 0.99) * 1000:6.1f} ms")
    contato_p95 = percentile(sorted(single["Contato"].latencies), 0.95) * 1000
    print(f"  Contato single-client p95 {contato_p95:.1f} ms (target <= 30 ms at 1,000,000 persons)")

    if config["profile"]:
        output = config["profile"]
        spy = await asyncio.create_subprocess_exec(
            config["py_spy"], "record", "--pid", str(contato.pid), "--rate", "200", "--gil", "--full-filenames",
            "--format", "raw", "--output", output, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        await asyncio.sleep(1.0)  # py-spy attaches
        run = await drive_one(contato, contato.requests["queue"], config["profile_requests"], concurrency,
                              config["max_seconds"], config["database"])
        spy.send_signal(signal.SIGINT)
        _, spy_errors = await asyncio.wait_for(spy.communicate(), 60)
        if not Path(output).exists():
            raise SystemExit(f"py-spy wrote no profile: {spy_errors.decode(errors='replace')[-1000:]}")
        print(f"\nprofile of Contato: {len(run.latencies)} queue-page requests at concurrency {concurrency}, "
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
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--postgres", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
                        help=f"admin URL of a PostgreSQL server; a fresh database is made there (default {DEFAULT_POSTGRES})")
    parser.add_argument("--persons", type=int, default=20000, help="contato seed --size (default 20,000)")
    parser.add_argument("--requests", type=int, default=2000, help="per page and server (default 2,000)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds the requests are split in")
    parser.add_argument("--concurrency", type=int, default=10, help="clients at once (default 10)")
    parser.add_argument("--warmup", type=int, default=200, help="warm-up requests per page and server")
    parser.add_argument("--single", type=int, default=300, help="single-client queue-page requests per server")
    parser.add_argument("--max-seconds", type=float, default=180, help="cap on each measured phase")
    parser.add_argument("--operations", type=int, default=None,
                        help="contato seed --operations (default 5 per person; the scale run is --persons "
                             "1000000 --operations 5000000)")
    # The seed makes the whole data set now; the old top-up switch is accepted and ignored.
    parser.add_argument("--no-top-up", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--keep-database", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--source", type=Path, default=BENCH.parent,
                        help="the Contato checkout to run (default: the one holding this file), e.g. a "
                             "`git archive HEAD` export while the working tree is being edited")
    parser.add_argument("--profile", metavar="FILE", type=Path,
                        help="after the measurements, record Contato with py-spy (bench/requirements.txt) over "
                             "--profile-requests more queue pages; raw stacks to FILE, a summary printed")
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

    print(f"machine: {machine()}")
    admin_url = args.postgres.replace("postgres://", "postgresql://", 1)
    database = f"contato_sbs_{uuid.uuid4().hex[:12]}"
    url = f"{admin_url.rsplit('/', 1)[0]}/{database}"
    asyncio.run(admin(admin_url, f'CREATE DATABASE "{database}"'))
    processes: list[subprocess.Popen[bytes]] = []
    source = args.source.resolve()
    contato_command = [sys.executable, "-m", "contato"]
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
                  f"(load average {', '.join(f'{value:.2f}' for value in os.getloadavg())})")
            print("data: " + ", ".join(f"{value:,} {name}" for name, value in asyncio.run(counts(url)).items()))

            contato_port, baseline_port = free_port(), free_port()
            logs = {name: Path(tmp) / f"{name}.log" for name in ("contato", "baseline")}
            contato = subprocess.Popen(
                [*contato_command, "serve", "--host", "127.0.0.1", "--port", str(contato_port),
                 "--log-level", "warning"],
                env=env, cwd=source, stdout=logs["contato"].open("wb"), stderr=subprocess.STDOUT,
            )
            processes.append(contato)
            baseline = subprocess.Popen(
                [sys.executable, BENCH / "baseline_app.py", "--port", str(baseline_port)],
                env=env, stdout=logs["baseline"].open("wb"), stderr=subprocess.STDOUT,
            )
            processes.append(baseline)
            wait_ready(contato_port, contato, "Contato", logs["contato"].read_text)
            wait_ready(baseline_port, baseline, "the baseline", logs["baseline"].read_text)
            print(f"Contato (pid {contato.pid}, port {contato_port}) and the baseline (pid {baseline.pid}, "
                  f"port {baseline_port}) ready, one uvicorn worker each")
            config = {
                "contato_port": contato_port, "contato_pid": contato.pid,
                "baseline_port": baseline_port, "baseline_pid": baseline.pid,
                "database": database, "requests": args.requests, "rounds": args.rounds,
                "concurrency": args.concurrency, "warmup": args.warmup, "single": args.single,
                "max_seconds": args.max_seconds, "py_spy": py_spy,
                "profile": str(args.profile.resolve()) if args.profile else None,
                "profile_requests": args.profile_requests,
            }
            subprocess.run([sys.executable, __file__, "--drive", json.dumps(config)], check=True)
            for process in processes:
                stop(process)
            for name, path in logs.items():
                problems = [line for line in path.read_text(errors="replace").splitlines()
                            if any(word in line for word in ("Traceback", "ERROR", "Error"))]
                if problems:
                    print(f"{name} log: {len(problems)} error lines, first: {problems[0][:300]}")
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
