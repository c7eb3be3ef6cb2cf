"""Benchmark: lateness and duplicates of `callbackDue` alerts with two servers' schedulers racing.

Creates a fresh PostgreSQL database, starts a redis-server and two `python -m contato serve --demo`
processes sharing both (each with its in-server alert scheduler, the default), subscribes a
supervisor to `callbackDue` on each server, inserts K callbacks directly in the `callback` table
with distinct due_at spread over the next ~10 s, and prints, per alert received, lateness =
receive time - due_at (p50/p99/max), duplicate alerts (per subscriber, and CALLBACK_DUE events
per callback in the event table) and missing alerts. Not a test: no assertions on timings.

    .venv/bin/python bench/alert_lateness.py --postgres postgres://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402
import websockets  # noqa: E402

from tests.servers import LiveServer, RedisServer, redis_binary  # noqa: E402

DUE = """
subscription { callbackDue { __typename ... on CallbackAlert { cursor kind callback { id } } ... on StreamError { code } } }
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Subscriber:
    def __init__(self, name: str) -> None:
        self.name = name
        self.alerts: list[tuple[int, float]] = []  # (callback id, wall-clock receive time)
        self.errors: list[object] = []

    async def open(self, url: str, token: str) -> None:
        self.socket = await websockets.connect(url, subprotocols=["graphql-transport-ws"])
        await self.socket.send(json.dumps({"type": "connection_init", "payload": {"authToken": token}}))
        ack = json.loads(await asyncio.wait_for(self.socket.recv(), 10))
        if ack["type"] != "connection_ack":
            raise RuntimeError(f"no ack: {ack}")
        await self.socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": DUE}}))
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        try:
            async for raw in self.socket:
                now = time.time()
                message = json.loads(raw)
                if message["type"] == "next":
                    alert = (message["payload"].get("data") or {}).get("callbackDue") or {}
                    if alert.get("__typename") == "CallbackAlert":
                        self.alerts.append((int(alert["callback"]["id"]), now))
                    else:
                        self.errors.append(message["payload"])
                elif message["type"] == "ping":
                    await self.socket.send('{"type":"pong"}')
                elif message["type"] in ("error", "complete"):
                    self.errors.append(message)
        except websockets.ConnectionClosed as closed:
            self.errors.append(f"closed: {closed}")


async def insert_callbacks(url: str, count: int, first: float, spread: float) -> dict[int, float]:
    """K callbacks due at now()+first .. now()+first+spread, distinct times; returns id -> due epoch."""
    connection = await asyncpg.connect(url)
    try:
        members = await connection.fetch("SELECT id, campaign_id FROM campaign_member ORDER BY id")
        due: dict[int, float] = {}
        async with connection.transaction():
            for i in range(count):
                member = members[i % len(members)]
                row = await connection.fetchrow(
                    "INSERT INTO callback (member_id, campaign_id, agent_id, due_at, status, created_at, updated_at) "
                    "VALUES ($1, $2, NULL, clock_timestamp() + make_interval(secs => $3), 'PENDING', now(), now()) "
                    "RETURNING id, extract(epoch FROM due_at)::float8 AS due",
                    member["id"], member["campaign_id"], first + spread * i / max(1, count - 1),
                )
                due[row["id"]] = row["due"]
        print(f"inserted {count} callbacks over {len(members)} campaign members, due "
              f"{first:.1f}..{first + spread:.1f} s from now")
        return due
    finally:
        await connection.close()


async def event_counts(url: str, ids: list[int]) -> Counter[int]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT entity_id, count(*) AS n FROM event WHERE kind = 'CALLBACK_DUE' AND entity_id = ANY($1::int[]) "
            "GROUP BY entity_id", ids)
        return Counter({row["entity_id"]: row["n"] for row in rows})
    finally:
        await connection.close()


async def drive(a: LiveServer, b: LiveServer, db_url: str, args: argparse.Namespace) -> None:
    token = a.login("supervisor@contato.dev")
    subscribers = []
    for server, name in ((a, "A"), (b, "B")):
        for j in range(args.subscribers_per_server):
            subscriber = Subscriber(f"{name}{j}")
            await subscriber.open(server.ws_url, token)
            subscribers.append(subscriber)
    await asyncio.sleep(0.5)
    due = await insert_callbacks(db_url, args.callbacks, args.first, args.spread)
    last_due = max(due.values())
    expected = len(due) * len(subscribers)
    deadline = last_due + args.drain
    while time.time() < deadline:
        if sum(len(s.alerts) for s in subscribers) >= expected:
            await asyncio.sleep(1.0)  # any duplicates still on the way
            break
        await asyncio.sleep(0.05)
    for s in subscribers:
        s.task.cancel()
        await s.socket.close()

    lateness, duplicates, missing, unknown = [], 0, 0, 0
    for s in subscribers:
        counts = Counter(cid for cid, _ in s.alerts)
        firsts: dict[int, float] = {}
        for cid, at in s.alerts:
            firsts.setdefault(cid, at)
        duplicates += sum(n - 1 for n in counts.values() if n > 1)
        missing += sum(1 for cid in due if cid not in counts)
        unknown += sum(1 for cid in counts if cid not in due)
        lateness += [firsts[cid] - due[cid] for cid in due if cid in firsts]
        per = [firsts[cid] - due[cid] for cid in due if cid in firsts]
        if per:
            print(f"subscriber {s.name}: {len(s.alerts)} alerts, p50 {percentile(per, 0.5) * 1000:.0f} ms, "
                  f"max {max(per) * 1000:.0f} ms, stream errors {len(s.errors)}")
        if s.errors:
            print(f"  first error: {s.errors[0]!r}"[:400])
    events = await event_counts(db_url, list(due))
    print(f"{len(due)} callbacks x {len(subscribers)} subscribers = {expected} alerts expected")
    if lateness:
        print(f"lateness ms (receive - due_at): p50 {percentile(lateness, 0.5) * 1000:.0f}  "
              f"p99 {percentile(lateness, 0.99) * 1000:.0f}  max {max(lateness) * 1000:.0f}  "
              f"min {min(lateness) * 1000:.0f}")
    print(f"duplicate alerts at subscribers: {duplicates}; alerts for other callbacks: {unknown}")
    print(f"missing alerts at subscribers: {missing}")
    print(f"CALLBACK_DUE events: {sum(events.values())} for {len(events)} callbacks; callbacks with >1: "
          f"{sum(1 for n in events.values() if n > 1)}; callbacks with none: {sum(1 for cid in due if cid not in events)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--postgres", metavar="URL", default="postgres://postgres@127.0.0.1:55432/postgres",
                        help="admin URL of a PostgreSQL server; a fresh database is created there and dropped")
    parser.add_argument("--callbacks", type=int, default=200, help="callbacks inserted (default 200)")
    parser.add_argument("--first", type=float, default=1.0, help="seconds until the first is due (default 1)")
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which they fall due (default 10)")
    parser.add_argument("--subscribers-per-server", type=int, default=1, help="callbackDue subscribers on each server")
    parser.add_argument("--drain", type=float, default=10.0, help="seconds to wait after the last due time")
    args = parser.parse_args()

    binary = redis_binary()
    if binary is None:
        raise SystemExit("no redis-server on PATH")
    admin = args.postgres.replace("postgres://", "postgresql://", 1)
    with tempfile.TemporaryDirectory(prefix="contato-alerts-") as tmp:
        directory = Path(tmp)
        redis = RedisServer(binary, directory)
        redis.start()
        database = f"contato_bench_{uuid.uuid4().hex[:12]}"
        asyncio.run(_admin(admin, f'CREATE DATABASE "{database}"'))
        db_url = f"{args.postgres.rsplit('/', 1)[0]}/{database}"
        env = {"DATABASE_URL": db_url, "BROADCAST_URL": redis.url}
        servers = []
        try:
            for name in ("a", "b"):
                (directory / name).mkdir()
                server = LiveServer(directory / name, env)
                server.start("--log-level", "warning", timeout=120)
                servers.append(server)
            print(f"servers A (pid {servers[0]._process.pid}) and B (pid {servers[1]._process.pid}) on "
                  f"PostgreSQL {database} + redis-server :{redis.port}")
            asyncio.run(drive(servers[0], servers[1], db_url.replace("postgres://", "postgresql://", 1), args))
        finally:
            for server in servers:
                server.stop()
            redis.stop()
            asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            for server, name in zip(servers, "AB"):
                problems = [line for line in server.log().splitlines()
                            if any(word in line for word in ("Traceback", "ERROR", "Error", "WARNING"))]
                print(f"server {name} log: {len(problems)} error/warning lines"
                      + (f", first: {problems[0][:300]}" if problems else ""))
    return 0


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


if __name__ == "__main__":
    sys.exit(main())
