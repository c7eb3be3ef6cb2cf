"""Benchmark: fan-out of one ticket's updates to N WebSocket subscribers (graphql-transport-ws).

Starts `python -m contato serve --demo` in a subprocess (embedded SQLite and in-process broadcast by
default; `--postgres URL --redis` for PostgreSQL in a fresh database plus a redis-server it starts),
opens N connections as supervisor@contato.dev, each subscribed to `ticketUpdates(ticketId: X)` for
one open demo ticket, then posts M messages over HTTP (`ticketMessageAdd`, notifyCustomer false)
and prints publish-to-receive latency, server CPU per delivery, server RSS per idle connection and
the clients' CPU. Then does the same against bench/baseline_ws.py (a raw WebSocket broadcast:
one encoding, N sends) and prints the ratio. The subscribers live in `--client-processes` processes
(2 by default; receive times on the system-wide monotonic clock), the posts in the driver; not a test, no
assertions on timings.

    .venv/bin/python bench/fanout.py --subscribers 100
    .venv/bin/python bench/fanout.py --subscribers 1000
    .venv/bin/python bench/fanout.py --postgres postgres://postgres@127.0.0.1:55432/postgres --redis
    .venv/bin/python bench/fanout.py --subscribers 1000 --workers 2 --postgres postgres://… --redis

With `--workers N`, Contato runs `contato serve --workers N` and the baseline N uvicorn workers that pass
each message through Redis to every worker; the server CPU and RSS are those of all the server's
processes (uvicorn's supervisor and its workers) added up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import websockets  # noqa: E402

from tests.servers import LiveServer, RedisServer, free_port, redis_binary  # noqa: E402

UPDATES = """
subscription($ticketId: ID) {
  ticketUpdates(ticketId: $ticketId) {
    __typename
    ... on TicketEvent { cursor kind newMessage { body } }
    ... on StreamError { code }
  }
}
"""
ADD = """
mutation($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
TICKETS = "{ tickets(first: 50, filter: {state: OPEN}) { edges { node { id number } } } }"
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants: with --workers, uvicorn's supervisor and its worker processes."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending += children.get(current, [])
    return tree


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server's processes, summed."""
    total = 0.0
    for member in process_tree(pid):
        try:
            total += cpu_seconds(member)
        except (OSError, IndexError, ValueError):
            continue
    return total


def tree_rss_kib(pid: int) -> int:
    """Resident memory of the server's processes, summed."""
    total = 0
    for member in process_tree(pid):
        try:
            total += rss_kib(member)
        except (OSError, RuntimeError):
            continue
    return total


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Subscriber:
    """One connection, one subscription; records (body, receive time) of every `next`."""

    __slots__ = ("errors", "received", "socket", "task")

    def __init__(self) -> None:
        self.received: list[tuple[str, float]] = []
        self.errors: list[object] = []

    async def open(self, url: str, token: str, ticket_id: str, compression: str | None) -> None:
        self.socket = await websockets.connect(
            url, subprotocols=["graphql-transport-ws"], compression=compression, max_queue=64, open_timeout=60
        )
        await self.socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        ack = json.loads(await asyncio.wait_for(self.socket.recv(), 30))
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"no ack: {ack}")
        await self.socket.send(json.dumps(
            {"id": "1", "type": "subscribe", "payload": {"query": UPDATES, "variables": {"ticketId": ticket_id}}}
        ))
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        clock = time.monotonic  # system-wide on Linux: comparable with the driver's clock
        try:
            async for raw in self.socket:
                now = clock()
                message = json.loads(raw)
                kind = message["type"]
                if kind == "next":
                    payload = message["payload"]
                    update = (payload.get("data") or {}).get("ticketUpdates") or {}
                    body = (update.get("newMessage") or {}).get("body")
                    if body is None:
                        self.errors.append(payload)
                    else:
                        self.received.append((body, now))
                elif kind == "ping":
                    await self.socket.send('{"type":"pong"}')
                elif kind in ("error", "complete"):
                    self.errors.append(message)
        except websockets.ConnectionClosed as closed:
            self.errors.append(f"closed: {closed}")


def client_process(connection: Connection, url: str, token: str, ticket_id: str, count: int,
                   compression: str | None, concurrency: int) -> None:
    """A client process holding `count` subscribers; answers the driver's commands over a pipe."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 256)), hard))
    asyncio.run(_serve_driver(connection, url, token, ticket_id, count, compression, concurrency))


async def _serve_driver(connection: Connection, url: str, token: str, ticket_id: str, count: int,
                        compression: str | None, concurrency: int) -> None:
    loop = asyncio.get_running_loop()
    subscribers = [Subscriber() for _ in range(count)]
    gate = asyncio.Semaphore(concurrency)

    async def open_one(subscriber: Subscriber) -> None:
        async with gate:
            await subscriber.open(url, token, ticket_id, compression)

    while True:
        command = await loop.run_in_executor(None, connection.recv)
        if command == "open":
            await asyncio.gather(*(open_one(s) for s in subscribers))
            connection.send(count)
        elif command == "counts":
            connection.send((sum(len(s.received) for s in subscribers), sum(1 for s in subscribers if s.received)))
        elif command == "clear":
            for s in subscribers:
                s.received.clear()
            connection.send(client_cpu())
        elif command == "collect":
            connection.send(([s.received for s in subscribers], [e for s in subscribers for e in s.errors], client_cpu()))
        elif command == "close":
            for s in subscribers:
                s.task.cancel()
            await asyncio.gather(*(s.socket.close() for s in subscribers), return_exceptions=True)
            connection.send("closed")
            return


class Clients:
    """N subscribers spread over K client processes, so that receiving is not one loop's queue."""

    def __init__(self, processes: int, url: str, token: str, ticket_id: str, count: int,
                 compression: str | None, concurrency: int) -> None:
        context = multiprocessing.get_context("spawn")
        shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
        self.pipes: list[Connection] = []
        self.processes = []
        for share in shares:
            ours, theirs = context.Pipe()
            process = context.Process(
                target=client_process, args=(theirs, url, token, ticket_id, share, compression,
                                             max(1, concurrency // processes)), daemon=True,
            )
            process.start()
            self.pipes.append(ours)
            self.processes.append(process)

    async def ask(self, command: str) -> list[object]:
        loop = asyncio.get_running_loop()
        for pipe in self.pipes:
            pipe.send(command)
        return [await loop.run_in_executor(None, pipe.recv) for pipe in self.pipes]

    async def received(self) -> tuple[int, int]:
        answers = await self.ask("counts")
        return sum(a[0] for a in answers), sum(a[1] for a in answers)  # type: ignore[index]

    async def close(self) -> None:
        await self.ask("close")
        for process in self.processes:
            process.join(10)


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


@dataclass
class Figures:
    deliveries: int
    expected: int
    complete: bool
    duplicates: int
    errors: list[object]
    latencies: list[float]
    cpu_server: float
    cpu_client: float
    phase: float
    rss_before: int
    rss_after: int
    subscribers: int
    cpu_posts: float  # the same posts with nobody subscribed
    per_process: dict[int, float]  # CPU in the publishing phase by server process (uvicorn's supervisor first)

    @property
    def cpu_per_delivery_us(self) -> float:
        return self.cpu_server / max(1, self.deliveries) * 1e6

    @property
    def net_cpu_per_delivery_us(self) -> float:
        return max(0.0, self.cpu_server - self.cpu_posts) / max(1, self.deliveries) * 1e6

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after - self.rss_before) / self.subscribers


async def contato_target(server: LiveServer) -> tuple[str, str, Callable[[httpx.AsyncClient, str], Awaitable[None]]]:
    """Log in as the demo supervisor and pick an open ticket: the token, its id and how to post to it."""
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        login = await http.post("/graphql", json={
            "query": "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ... on LoginPayload { token } } }",
            "variables": {"e": "supervisor@contato.dev", "p": "contato-demo"},
        })
        token = login.json()["data"]["login"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        edges = (await http.post("/graphql", headers=headers, json={"query": TICKETS})).json()["data"]["tickets"]["edges"]
    ticket = edges[0]["node"]
    print(f"Contato: ticket #{ticket['number']} (id {ticket['id']})")

    async def post(http: httpx.AsyncClient, body: str) -> None:
        variables = {"input": {"ticketId": ticket["id"], "body": body, "internal": False, "notifyCustomer": False}}
        answer = (await http.post("/graphql", headers=headers, json={"query": ADD, "variables": variables})).json()
        if answer.get("data", {}).get("ticketMessageAdd", {}).get("__typename") != "TicketMessage":
            raise RuntimeError(f"ticketMessageAdd failed: {answer}")

    return token, ticket["id"], post


async def baseline_post(http: httpx.AsyncClient, body: str) -> None:
    answer = await http.post("/publish", json={"body": body})
    answer.raise_for_status()


async def drive(
    base_url: str, ws_url: str, pid: int, args: argparse.Namespace, token: str, ticket_id: str,
    post: Callable[[httpx.AsyncClient, str], Awaitable[None]],
) -> Figures:
    n = args.subscribers
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        # Warm the server up (one post with nobody listening) before the RSS baseline, then time the
        # posts alone: what each event costs the server before anyone receives it.
        await post(http, "warmup-0")
        await asyncio.sleep(1.0)
        rss_before = tree_rss_kib(pid)
        cpu_posts_0 = tree_cpu_seconds(pid)
        for i in range(args.events):
            await post(http, f"alone-{i}")
        await asyncio.sleep(0.5)
        cpu_posts = tree_cpu_seconds(pid) - cpu_posts_0

        compression = None if args.compression == "none" else "deflate"
        clients = Clients(args.client_processes, ws_url, token, ticket_id, n, compression, args.connect_concurrency)
        try:
            started = time.monotonic()
            await clients.ask("open")
            print(f"  opened and subscribed {n} connections from {args.client_processes} client processes "
                  f"in {time.monotonic() - started:.1f} s")

            async def everyone_has_one() -> bool:
                return (await clients.received())[1] >= n

            # graphql-transport-ws does not acknowledge a subscribe: one message proves every stream is live.
            await post(http, "warmup-1")
            if not await wait_for(everyone_has_one, 60):
                print(f"  warning: {n - (await clients.received())[1]} subscribers did not get the warm-up message")
            await asyncio.sleep(2.0)
            rss_after = tree_rss_kib(pid)
            per_process_0 = {member: cpu_seconds(member) for member in process_tree(pid)}
            cpu_client_0 = sum(await clients.ask("clear"))  # type: ignore[arg-type]

            # Publishing phase.
            cpu_server_0 = tree_cpu_seconds(pid)
            sent: dict[str, float] = {}
            phase_start = time.monotonic()
            for i in range(args.events):
                slot = phase_start + i * args.interval
                delay = slot - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                body = f"fanout-{i}"
                sent[body] = time.monotonic()
                await post(http, body)
            expected = n * args.events

            async def drained() -> bool:
                return (await clients.received())[0] >= expected

            complete = await wait_for(drained, args.drain_timeout)
            cpu_server = tree_cpu_seconds(pid) - cpu_server_0
            per_process = {member: cpu_seconds(member) - per_process_0.get(member, 0.0) for member in process_tree(pid)}
            phase = time.monotonic() - phase_start
            answers = await clients.ask("collect")
        finally:
            await clients.close()
        cpu_client = sum(a[2] for a in answers) - cpu_client_0  # type: ignore[index]

        latencies = []
        duplicates = 0
        errors: list[object] = []
        for received_lists, process_errors, _cpu in answers:  # type: ignore[misc]
            errors.extend(process_errors)
            for received in received_lists:
                seen = set()
                for body, at in received:
                    if body in seen:
                        duplicates += 1
                        continue
                    seen.add(body)
                    if body in sent:
                        latencies.append(at - sent[body])
    return Figures(len(latencies), expected, complete, duplicates, errors, latencies, cpu_server, cpu_client, phase,
                   rss_before, rss_after, n, cpu_posts, per_process)


def report(label: str, figures: Figures, events: int) -> None:
    print(f"{label}: deliveries {figures.deliveries}/{figures.expected}"
          + ("" if figures.complete else " (drain timed out)")
          + f", duplicates {figures.duplicates}, stream errors {len(figures.errors)}")
    if figures.errors:
        print(f"  first error: {figures.errors[0]!r}"[:500])
    if figures.latencies:
        latencies = figures.latencies
        print(f"  publish-to-receive ms: p50 {percentile(latencies, 0.5) * 1000:.1f}  "
              f"p99 {percentile(latencies, 0.99) * 1000:.1f}  max {max(latencies) * 1000:.1f}  "
              f"(mean {statistics.fmean(latencies) * 1000:.1f})")
        print(f"  server CPU in publishing phase: {figures.cpu_server:.2f} s over {figures.phase:.1f} s "
              f"= {figures.cpu_per_delivery_us:.0f} us per delivery (includes the {events} HTTP posts)")
        print(f"  the {events} posts alone, nobody subscribed: {figures.cpu_posts:.2f} s; fan-out net of them: "
              f"{figures.net_cpu_per_delivery_us:.0f} us per delivery")
        if len(figures.per_process) > 1:
            print(f"  server CPU summed over {len(figures.per_process)} processes (pid: seconds): "
                  + ", ".join(f"{pid}: {seconds:.2f}" for pid, seconds in figures.per_process.items()))
    print(f"  client CPU in publishing phase: {figures.cpu_client:.2f} s "
          f"({figures.cpu_client / figures.phase * 100:.0f}% of one core, all client processes)")
    print(f"  server RSS ({'summed over the processes' if len(figures.per_process) > 1 else 'one process'}): "
          f"{figures.rss_before / 1024:.1f} MiB idle before, {figures.rss_after / 1024:.1f} MiB with "
          f"{figures.subscribers} idle subscriptions = {figures.kib_per_connection:.1f} KiB per connection")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--subscribers", type=int, default=100, help="WebSocket connections (default 100)")
    parser.add_argument("--events", type=int, default=20, help="messages posted (default 20)")
    parser.add_argument("--interval", type=float, default=0.2, help="seconds between posts (default 0.2)")
    parser.add_argument("--postgres", metavar="URL", help="admin URL of a PostgreSQL server: use a fresh database there")
    parser.add_argument("--redis", action="store_true", help="start a redis-server and use it as the broadcast")
    parser.add_argument("--compression", choices=["deflate", "none"], default="deflate",
                        help="permessage-deflate offered by the client (default deflate, as browsers do)")
    parser.add_argument("--connect-concurrency", type=int, default=50, help="connections opened at once")
    parser.add_argument("--client-processes", type=int, default=2,
                        help="processes the subscribers are spread over (default 2): one Python loop decoding "
                             "1,000 messages in a row would be most of the measured latency")
    parser.add_argument("--workers", type=int, default=1,
                        help="uvicorn worker processes, for Contato and the baseline alike (more than 1 needs "
                             "--postgres and --redis); CPU and RSS are summed over the server's processes")
    parser.add_argument("--no-baseline", action="store_true", help="measure Contato only")
    parser.add_argument("--drain-timeout", type=float, default=30.0, help="seconds to wait for the last deliveries")
    args = parser.parse_args()
    if args.workers > 1 and not (args.postgres and args.redis):
        parser.error("--workers above 1 needs --postgres URL and --redis (the workers share events through Redis)")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.subscribers * 2 + 256)), hard))
    with tempfile.TemporaryDirectory(prefix="contato-fanout-") as tmp:
        directory = Path(tmp)
        # The posts are one user's mutations: more than the default 120 a minute with --events 60.
        env: dict[str, str] = {"MUTATIONS_PER_MINUTE": "0"}
        redis = database = None
        admin = args.postgres.replace("postgres://", "postgresql://", 1) if args.postgres else None
        if args.redis:
            binary = redis_binary()
            if binary is None:
                raise SystemExit("no redis-server on PATH")
            redis = RedisServer(binary, directory)
            redis.start()
            env["BROADCAST_URL"] = redis.url
        if admin:
            database = f"contato_bench_{uuid.uuid4().hex[:12]}"
            asyncio.run(_admin(admin, f'CREATE DATABASE "{database}"'))
            env["DATABASE_URL"] = f"{args.postgres.rsplit('/', 1)[0]}/{database}"
        server = LiveServer(directory, env)
        contato: Figures | None = None
        try:
            server.start("--log-level", "warning", "--workers", str(args.workers), timeout=120)
            pid = server._process.pid  # one worker: uvicorn serves in this process; more: their supervisor
            print(f"server pid {pid} ({args.workers} worker{'s' if args.workers > 1 else ''}): "
                  f"{'PostgreSQL' if admin else 'SQLite'}, "
                  f"{'Redis' if redis else 'in-process'} broadcast; {args.subscribers} subscribers, "
                  f"{args.events} events {args.interval * 1000:.0f} ms apart, compression {args.compression}")

            async def run_contato() -> Figures:
                token, ticket_id, post = await contato_target(server)
                return await drive(server.url, server.ws_url, pid, args, token, ticket_id, post)

            contato = asyncio.run(run_contato())
        finally:
            server.stop()
            if redis is not None:
                redis.stop()
            if database is not None:
                asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            problems = [line for line in server.log().splitlines()
                        if any(word in line for word in ("Traceback", "ERROR", "Error", "WARNING"))]
            print(f"server log: {len(problems)} error/warning lines" + (f", first: {problems[0][:300]}" if problems else ""))
        report("Contato", contato, args.events)
        if args.no_baseline:
            return 0
        baseline = BaselineServer(directory, args.workers, redis.url if redis is not None else None)
        try:
            if redis is not None:
                redis.start()  # again: stopped with Contato
            baseline.start()
            print(f"baseline (bench/baseline_ws.py) pid {baseline.pid}: raw WebSocket broadcast, "
                  f"{args.workers} worker{'s' if args.workers > 1 else ''}"
                  + (" sharing each message through Redis" if args.workers > 1 else ""))
            raw = asyncio.run(drive(baseline.url, baseline.ws_url, baseline.pid, args, "-", "-", baseline_post))
        finally:
            baseline.stop()
            if redis is not None:
                redis.stop()
        report("Baseline", raw, args.events)
        if contato.latencies and raw.latencies:
            print(f"Contato / baseline: server CPU per delivery {contato.cpu_per_delivery_us:.0f} / "
                  f"{raw.cpu_per_delivery_us:.0f} us = {contato.cpu_per_delivery_us / raw.cpu_per_delivery_us:.2f}x "
                  f"(net of the posts {contato.net_cpu_per_delivery_us:.0f} / {raw.net_cpu_per_delivery_us:.0f} us = "
                  f"{contato.net_cpu_per_delivery_us / max(1e-9, raw.net_cpu_per_delivery_us):.2f}x); "
                  f"p99 {percentile(contato.latencies, 0.99) * 1000:.1f} / {percentile(raw.latencies, 0.99) * 1000:.1f} ms; "
                  f"RSS per connection {contato.kib_per_connection:.1f} / {raw.kib_per_connection:.1f} KiB")
    return 0


class BaselineServer:
    """bench/baseline_ws.py in a subprocess on a free port."""

    def __init__(self, directory: Path, workers: int = 1, redis_url: str | None = None) -> None:
        self.port = free_port()
        self.workers = workers
        self.redis_url = redis_url
        self.log_path = directory / "baseline-ws.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            redis = ["--redis", self.redis_url] if self.workers > 1 and self.redis_url else []
            self._process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("baseline_ws.py")), "--port", str(self.port),
                 "--workers", str(self.workers), *redis],
                stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"baseline did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(main())
