"""Benchmark: server memory under reconnect churn (subscribers that come and go for minutes).

Starts `python -m contato serve --demo` (SQLite and the in-process broadcast by default; `--postgres
URL --redis` for PostgreSQL in a fresh database plus a redis-server it starts). `--subscribers` loops
each keep one WebSocket at a time: connect, `connection_init` as one of the demo users, subscribe to
one of the live streams (ticketUpdates of one ticket or of all, callbackDue, ticketReturnDue), half
of the time with `after` set to the last cursor seen, wait for an event or a short while, then leave
(a clean `complete` and close, or the socket dropped) and start again. A poster adds a ticket message
every `--post-interval` seconds so that events flow and `after` replays something. Every
`--sample` seconds it prints the server's RSS; at the end the curve's figures (RSS after warm-up,
at the end, the slope over the second half). Not a test, no assertions.

    .venv/bin/python bench/reconnect_churn.py --duration 300
    .venv/bin/python bench/reconnect_churn.py --duration 1800 --postgres postgres://postgres@127.0.0.1:55432/postgres --redis
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import websockets  # noqa: E402

from tests.servers import LiveServer, RedisServer, redis_binary  # noqa: E402

LOGIN = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { ... on LoginPayload { token } } }"
TICKETS = "{ tickets(first: 50, filter: {state: OPEN}) { edges { node { id number } } } }"
ADD = """
mutation($input: TicketMessageAddInput!) {
  ticketMessageAdd(input: $input) { __typename ... on TicketError { code message } }
}
"""
TICKET_UPDATES = """
subscription($ticketId: ID, $after: String) {
  ticketUpdates(ticketId: $ticketId, after: $after) {
    __typename
    ... on TicketEvent { cursor kind ticket { number status { name } } newMessage { body } }
    ... on StreamError { code message }
  }
}
"""
CALLBACK_DUE = """
subscription($after: String) {
  callbackDue(after: $after) {
    __typename ... on CallbackAlert { cursor kind } ... on StreamError { code }
  }
}
"""
TICKET_RETURN_DUE = """
subscription($after: String) {
  ticketReturnDue(after: $after) { __typename ... on TicketReturnAlert { cursor } ... on StreamError { code } }
}
"""
USERS = ("supervisor@contato.dev", "agent@contato.dev", "agent2@contato.dev", "rep@acme.dev", "admin@contato.dev")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def serving_pids(pid: int) -> list[int]:
    """The processes that serve: the server itself, or with --workers N uvicorn's worker processes."""
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(child) for child in (task / "children").read_text().split()]
    workers = [child for child in children if "spawn_main" in Path(f"/proc/{child}/cmdline").read_text()]
    return sorted(workers) or [pid]


class Churn:
    def __init__(self, ws_url: str, tokens: dict[str, str], ticket_ids: list[str], seed: int) -> None:
        self.ws_url = ws_url
        self.tokens = tokens
        self.ticket_ids = ticket_ids
        self.random = random.Random(seed)
        self.last_cursor: str | None = None
        self.connections = 0
        self.items = 0
        self.failures: dict[str, int] = {}

    def _subscription(self, email: str) -> tuple[str, dict[str, object]]:
        after = self.last_cursor if self.random.random() < 0.5 else None
        choice = self.random.random()
        if email.startswith("rep") or choice < 0.6:
            ticket = self.random.choice(self.ticket_ids) if self.random.random() < 0.5 else None
            return TICKET_UPDATES, {"ticketId": ticket, "after": after}
        if choice < 0.8 and not email.startswith("admin"):
            return CALLBACK_DUE, {"after": after}
        return TICKET_RETURN_DUE, {"after": after}

    async def one_connection(self) -> None:
        email = self.random.choice(USERS)
        query, variables = self._subscription(email)
        async with websockets.connect(self.ws_url, subprotocols=["graphql-transport-ws"], open_timeout=30) as socket:
            self.connections += 1
            await socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": self.tokens[email]}}))
            ack = json.loads(await asyncio.wait_for(socket.recv(), 30))
            if ack["type"] != "connection_ack":
                raise RuntimeError(f"no ack: {ack}")
            await socket.send(json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}
            ))
            stay = self.random.uniform(0.05, 2.0)
            deadline = time.monotonic() + stay
            while (left := deadline - time.monotonic()) > 0:
                try:
                    raw = await asyncio.wait_for(socket.recv(), left)
                except TimeoutError:
                    break
                message = json.loads(raw)
                if message["type"] == "next":
                    self.items += 1
                    data = message["payload"].get("data") or {}
                    item = next(iter(data.values()), None) or {}
                    if item.get("__typename") == "TicketEvent":
                        self.last_cursor = item["cursor"]
                elif message["type"] == "ping":
                    await socket.send('{"type":"pong"}')
                elif message["type"] in ("error", "complete"):
                    break
            if self.random.random() < 0.5:
                await socket.send(json.dumps({"id": "1", "type": "complete"}))
                await socket.close()
            else:
                socket.transport.abort()  # the client vanishes: no close frame

    async def loop(self, until: float) -> None:
        while time.monotonic() < until:
            try:
                await self.one_connection()
            except Exception as error:  # noqa: BLE001 - counted, the churn goes on
                name = type(error).__name__
                self.failures[name] = self.failures.get(name, 0) + 1
                await asyncio.sleep(0.1)


async def run(server: LiveServer, pid: int, args: argparse.Namespace) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        tokens = {}
        for email in USERS:
            answer = await http.post("/graphql", json={"query": LOGIN, "variables": {"e": email, "p": "contato-demo"}})
            tokens[email] = answer.json()["data"]["login"]["token"]
        headers = {"Authorization": f"Bearer {tokens['supervisor@contato.dev']}"}
        edges = (await http.post("/graphql", headers=headers, json={"query": TICKETS})).json()["data"]["tickets"]["edges"]
        ticket_ids = [edge["node"]["id"] for edge in edges[:5]]

        until = time.monotonic() + args.duration
        churns = [Churn(server.ws_url, tokens, ticket_ids, seed) for seed in range(args.subscribers)]
        posted = 0

        async def post_loop() -> None:
            nonlocal posted
            while time.monotonic() < until:
                variables = {"input": {"ticketId": random.choice(ticket_ids), "body": f"churn {posted}",
                                       "internal": False, "notifyCustomer": False}}
                await http.post("/graphql", headers=headers, json={"query": ADD, "variables": variables})
                posted += 1
                await asyncio.sleep(args.post_interval)

        started = time.monotonic()
        samples: list[tuple[float, int]] = []
        pids = serving_pids(pid)

        async def sample_loop() -> None:
            while time.monotonic() < until:
                elapsed = time.monotonic() - started
                each = [rss_kib(one) for one in pids]
                rss = max(each)  # with several workers, the one that grew most
                samples.append((elapsed, rss))
                connections = sum(churn.connections for churn in churns)
                workers = "  workers " + " ".join(f"{one / 1024:.1f}" for one in each) if len(each) > 1 else ""
                print(f"{elapsed:7.0f} s  RSS {rss / 1024:6.1f} MiB  connections {connections:6d}  posts {posted:5d}"
                      f"{workers}", flush=True)
                await asyncio.sleep(args.sample)

        await asyncio.gather(post_loop(), sample_loop(), *(churn.loop(until) for churn in churns))
    samples.append((time.monotonic() - started, max(rss_kib(one) for one in pids)))
    connections = sum(churn.connections for churn in churns)
    items = sum(churn.items for churn in churns)
    failures: dict[str, int] = {}
    for churn in churns:
        for name, count in churn.failures.items():
            failures[name] = failures.get(name, 0) + count
    warm = [rss for elapsed, rss in samples if elapsed >= args.warm_up]
    half = [(elapsed, rss) for elapsed, rss in samples if elapsed >= args.duration / 2]
    slope = 0.0
    if len(half) >= 2:
        xs, ys = [x for x, _ in half], [y for _, y in half]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in half) / max(1e-9, sum((x - mean_x) ** 2 for x in xs))
    print(
        f"{connections} connections ({connections / args.duration:.1f}/s), {items} items received, {posted} posts; "
        f"client failures {failures or 'none'}"
    )
    if warm:
        print(
            f"RSS: start {samples[0][1] / 1024:.1f} MiB, after warm-up ({args.warm_up:.0f} s) {warm[0] / 1024:.1f} MiB, "
            f"max {max(warm) / 1024:.1f} MiB, end {samples[-1][1] / 1024:.1f} MiB; "
            f"slope over the second half {slope * 60 / 1024:.2f} MiB/min"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of churn")
    parser.add_argument("--subscribers", type=int, default=20, help="concurrent connect/subscribe/leave loops")
    parser.add_argument("--post-interval", type=float, default=0.5, help="seconds between ticket messages")
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between RSS samples")
    parser.add_argument("--warm-up", type=float, default=60.0, help="seconds before the curve should be flat")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (needs --postgres and --redis)")
    parser.add_argument("--postgres", default="", help="admin URL of a PostgreSQL server (a fresh database is made)")
    parser.add_argument("--redis", action="store_true", help="start a redis-server for the broadcast")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server (repeatable), e.g. a debugging hook's")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="contato-churn-") as tmp:
        directory = Path(tmp)
        env = {"MUTATIONS_PER_MINUTE": "0", **dict(item.split("=", 1) for item in args.server_env)}
        redis = None
        database = None
        if args.redis:
            binary = redis_binary()
            if binary is None:
                print("no redis-server binary")
                return 2
            redis = RedisServer(binary, directory)
            redis.start()
            env["BROADCAST_URL"] = redis.url
        if args.postgres:
            database = f"contato_bench_{uuid.uuid4().hex[:12]}"
            asyncio.run(_admin(args.postgres, f'CREATE DATABASE "{database}"'))
            env["DATABASE_URL"] = f"{args.postgres.rsplit('/', 1)[0]}/{database}"
        server = LiveServer(directory, env)
        try:
            server.start("--log-level", "warning", "--workers", str(args.workers), timeout=120)
            if args.workers > 1:
                time.sleep(5)  # every worker up, not only the first to answer
            assert server._process is not None
            pid = server._process.pid
            print(f"server pid {pid}: {'PostgreSQL' if database else 'SQLite'}, "
                  f"{'Redis' if redis else 'in-process'} broadcast, {args.workers} worker(s); {args.subscribers} churning subscribers "
                  f"for {args.duration:.0f} s")
            asyncio.run(run(server, pid, args))
        finally:
            server.stop()
            if redis is not None:
                redis.stop()
            if database is not None:
                asyncio.run(_admin(args.postgres, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            log = server.log().splitlines()
            problems = [index for index, line in enumerate(log) if any(word in line for word in ("ERROR", "WARNING"))]
            print(f"server log: {len(problems)} error/warning lines" + (", the first:" if problems else ""))
            if problems:
                print("\n".join(log[problems[0]:problems[0] + 40]))
    return 0


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(main())
