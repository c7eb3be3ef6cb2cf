"""Soak with faults: `contato serve --workers 2` on PostgreSQL + Redis under a contact center's load.

Starts its own redis-server, its own PostgreSQL (initdb as the `postgres` user, as .ci/run does; root
only) or a fresh database on `--postgres URL`, and `contato serve --demo --workers 2`; sets up a
campaign with `--agents` agents and its members, and tickets for the reps; then runs, for
`--duration` seconds, the load of bench/soak_load.py (agents claiming and recording, posters adding
ticket messages, subscribers reconnecting with `after`, queue watchers, drifters leaving shared
streams) while it injects the faults of `--faults`, spread evenly over the run:

    worker-kill      SIGKILL to one uvicorn worker (a child of the uvicorn parent); uvicorn starts another
    redis-restart    redis-server killed, started again on its port a second later
    pg-restart       PostgreSQL stopped (`pg_ctl -m fast`) and started again (needs the soak's own server)
    server-restart   SIGTERM to `contato serve` (it must exit 0), then started again on its port

A fault window runs from 1 s before a fault to its recovery (the new worker's start-up complete,
/readyz answering 200 several times running) plus `--window-margin` seconds. Then it checks, from the
database and from what the clients saw (bench/soak_checks.py), and exits 1 when one fails:

    single holder            no member held by two agents at once; every operation by its holder
    operations exactly once  each operation stored once; acknowledged ones stored, refused ones not
    attempts = operations    every member's `attempts` is its number of operations, numbered 1..n
    messages exactly once    the same for ticket messages
    retries exactly once     with `--idempotency require` (the default): a mutation retried with its
                             `Idempotency-Key` (after a lost answer, or a fault) is applied once and
                             the retry gets the first answer; `detect` checks it only when the server
                             replays keys, `off` only reports what retries did
    due alerts once          one CALLBACK_DUE event per due callback, none missing, on time
    deliveries exactly once  every event a subscriber may see reaches it once, in cursor order,
                             across its reconnects; nothing it may not see
    deliveries on time       no event committed outside a fault window reaches an entitled
                             subscriber more than `--late-after` (5) seconds late
    no fault answers         outside fault windows: no 5xx, no masked "Unexpected error.", no failed
                             connection, no stream ended by the server, no ERROR in the server log
    queue watchers live      snapshots keep coming outside fault windows; the last matches the database
    faults recovered         each fault recovered; the SIGTERMed server exited 0
    memory                   RSS of every server process (sampled from /proc) under `--rss-limit-mib`

Not a test (tests/app/test_soak.py runs a 60-second version in CI's PostgreSQL pass):

    .venv/bin/python bench/soak.py
    .venv/bin/python bench/soak.py --duration 60 --faults worker-kill,redis-restart \\
        --postgres postgres://postgres@127.0.0.1:55432/postgres
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg  # noqa: E402

from bench.soak_checks import Figures, check_all, print_report  # noqa: E402
from bench.soak_load import Api, Faults, Load, Setup, load_events  # noqa: E402
from realtime.due import CALLBACK_DUE  # noqa: E402
from tests.servers import LiveServer, PostgresServer, RedisServer, redis_binary  # noqa: E402

FAULTS = ("worker-kill", "redis-restart", "pg-restart", "server-restart")
STARTUP_COMPLETE = "Application startup complete."


def pick_time_zone(span: timedelta) -> str:
    """A zone in which [now, now + span] is Monday to Saturday, so calls are allowed all along.

    The soak's campaign calls all day on weekdays and Saturdays; no campaign calls on Sundays.
    The default zone is kept when it will do; else a fixed-offset zone (Etc/GMT-14 .. Etc/GMT+12)."""
    now = datetime.now(UTC)
    candidates = ["America/Sao_Paulo"] + [f"Etc/GMT{-hours:+d}" if hours else "Etc/GMT" for hours in range(-12, 15)]
    for name in candidates:
        zone = ZoneInfo(name)
        if all((moment.astimezone(zone).weekday() != 6) for moment in (now, now + span)):
            return name
    raise SystemExit("no time zone found where calls are allowed now")  # unreachable: 26 hours of zones


class Cluster:
    """redis-server, PostgreSQL (its own or a database on another) and `contato serve --workers 2`."""

    def __init__(self, directory: Path, args: argparse.Namespace, zone: str) -> None:
        binary = redis_binary()
        if binary is None:
            raise SystemExit("no redis-server on PATH")
        self.directory = directory
        self.args = args
        self.redis = RedisServer(binary, directory)
        self.postgres: PostgresServer | None = None
        if args.postgres:
            self.admin_url = args.postgres
        else:
            reason = PostgresServer.unavailable_reason()
            if reason:
                raise SystemExit(f"cannot start a PostgreSQL server ({reason}): give --postgres URL")
            self.postgres = PostgresServer()
            self.admin_url = self.postgres.url
        self.database = f"contato_soak_{uuid.uuid4().hex[:12]}"
        self.database_url = f"{self.admin_url.rsplit('/', 1)[0]}/{self.database}"
        env = {
            "DATABASE_URL": self.database_url + (f"?maxsize={args.pool}" if args.pool else ""),
            "BROADCAST_URL": self.redis.url,
            "LOG_FORMAT": "json",
            "CONTATO_TIMEZONE": zone,
            # Agents record far more often than people do; the limit is not what is soaked here.
            "MUTATIONS_PER_MINUTE": "0",
        }
        for item in args.server_env:
            name, _, value = item.partition("=")
            env[name] = value
        self.server = LiveServer(directory, env)
        self.logs: list[Path] = []
        self.stop_exit_codes: list[tuple[int | None, float]] = []

    @property
    def pg_asyncpg_url(self) -> str:
        return self.database_url.replace("postgres://", "postgresql://", 1)

    def start(self) -> None:
        if self.postgres is not None:
            self.postgres.init()
            self.postgres.start()
        asyncio.run(_admin(self.admin_url, f'CREATE DATABASE "{self.database}"'))
        self.redis.start()
        self.start_server()

    def start_server(self) -> None:
        self.server.log_path = self.directory / f"server-{len(self.logs) + 1}.log"
        self.logs.append(self.server.log_path)
        self.server.start("--workers", str(self.args.workers), "--log-level", "info", timeout=300)

    def stop_server(self) -> tuple[int | None, float]:
        """SIGTERM, as a process manager stops it; returns its exit code and how long it took."""
        process = self.server._process
        assert process is not None
        started = time.time()
        process.send_signal(signal.SIGTERM)
        try:
            code: int | None = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None  # did not stop: killed below, reported as a failure
            for pid in self.worker_pids():
                _kill(pid)
            process.kill()
            process.wait()
        self.server._process = None
        took = time.time() - started
        self.stop_exit_codes.append((code, took))
        return code, took

    def read_logs(self) -> list[str]:
        return [path.read_text(errors="replace") for path in self.logs if path.exists()]

    def close(self) -> None:
        try:
            if self.server._process is not None:
                self.stop_server()
        finally:
            self.redis.stop()
            try:
                asyncio.run(_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            except Exception as error:  # noqa: BLE001 - cleaning up; say it and go on
                print(f"could not drop database {self.database}: {error}")
            if self.postgres is not None:
                self.postgres.close()

    def parent_pid(self) -> int | None:
        process = self.server._process
        return process.pid if process is not None and process.poll() is None else None

    def worker_pids(self) -> list[int]:
        """uvicorn's workers: the parent's children started by multiprocessing's spawn (not its resource tracker)."""
        parent = self.parent_pid()
        if parent is None:
            return []
        pids = []
        for pid in children(parent):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            if b"spawn_main" in command:
                pids.append(pid)
        return sorted(pids)

    def startups(self) -> int:
        """Workers of the current server that completed their start-up (uvicorn's log line)."""
        path = self.logs[-1]
        if not path.exists():
            return 0
        return path.read_text(errors="replace").count(STARTUP_COMPLETE)

    def processes(self) -> dict[int, str]:
        """pid -> role of every process whose memory is sampled."""
        found: dict[int, str] = {}
        parent = self.parent_pid()
        if parent is not None:
            found[parent] = "server parent"
            for pid in self.worker_pids():
                found[pid] = "worker"
        redis = self.redis._process
        if redis is not None and redis.poll() is None:
            found[redis.pid] = "redis"
        return found


def children(parent: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            pids.append(int(entry.name))
    return pids


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (/proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


async def _admin(url: str, sql: str) -> None:
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@dataclass
class MemorySeries:
    role: str
    samples: list[tuple[float, int]] = field(default_factory=list)  # (time, KiB)
    cpu: list[tuple[float, float]] = field(default_factory=list)  # (time, CPU seconds so far)


async def sample_memory(cluster: Cluster, series: dict[int, MemorySeries], every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        now = time.time()
        for pid, role in cluster.processes().items():
            kib, cpu = rss_kib(pid), cpu_seconds(pid)
            if kib is not None and cpu is not None:
                one = series.setdefault(pid, MemorySeries(role))
                one.samples.append((now, kib))
                one.cpu.append((now, cpu))
        # The soak's own clients share the machine: their CPU says how loaded it was.
        series.setdefault(0, MemorySeries("soak clients")).cpu.append((now, time.process_time()))
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass


class Injector:
    """Runs the faults at their times and records each one's window."""

    def __init__(self, cluster: Cluster, faults: Faults, api: Api, args: argparse.Namespace) -> None:
        self.cluster = cluster
        self.faults = faults
        self.api = api
        self.args = args

    async def run(self, schedule: list[tuple[float, str]], stop: asyncio.Event) -> None:
        for at, name in schedule:
            delay = at - time.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                    return
                except TimeoutError:
                    pass
            window = self.faults.begin(name)
            print(f"  {window.started - self.faults.origin:6.1f} s  fault {name} ...", flush=True)
            try:
                detail = await getattr(self, name.replace("-", "_"))()
                self.faults.recovered(window, detail)
                print(f"  {window.recovered - self.faults.origin:6.1f} s  {name} recovered after "  # type: ignore[operator]
                      f"{window.recovered - window.started:.1f} s ({detail})", flush=True)  # type: ignore[operator]
            except Exception as error:  # noqa: BLE001 - a fault that did not recover is a finding, not a crash
                self.faults.failed(window, f"{type(error).__name__}: {error}")
                print(f"  fault {name} did not recover: {error}", flush=True)

    async def _until(self, what: str, condition, timeout: float | None = None) -> None:  # type: ignore[no-untyped-def]
        deadline = time.time() + (timeout or self.args.recovery_timeout)
        while not await condition():
            if time.time() > deadline:
                raise TimeoutError(f"{what} not within {timeout or self.args.recovery_timeout:.0f} s")
            await asyncio.sleep(0.2)

    async def _ready(self, times: int = 6) -> None:
        """/readyz 200 `times` running (the workers take connections in turn: each should have answered)."""
        streak = 0

        async def ready() -> bool:
            nonlocal streak
            streak = streak + 1 if await self.api.ready() else 0
            return streak >= times

        await self._until("/readyz", ready)

    async def worker_kill(self) -> str:
        workers = self.cluster.worker_pids()
        if not workers:
            raise RuntimeError("no worker found")
        victim = random.Random(self.args.seed).choice(workers)
        started = self.cluster.startups()
        _kill(victim)

        async def replaced() -> bool:
            pids = self.cluster.worker_pids()
            return victim not in pids and len(pids) >= len(workers) and self.cluster.startups() > started

        await self._until("a new worker", replaced)
        await self._ready()
        return f"killed worker {victim}, new {sorted(set(self.cluster.worker_pids()) - set(workers))}"

    async def redis_restart(self) -> str:
        await asyncio.to_thread(self.cluster.redis.stop)
        await asyncio.sleep(self.args.redis_down)
        await asyncio.to_thread(self.cluster.redis.start)
        await self._ready()
        return f"down {self.args.redis_down:.0f} s"

    async def pg_restart(self) -> str:
        postgres = self.cluster.postgres
        assert postgres is not None
        began = time.time()
        await asyncio.to_thread(postgres.stop, "fast")
        await asyncio.to_thread(postgres.start)
        restarted = time.time() - began
        await self._ready()
        return f"pg_ctl stop -m fast + start took {restarted:.1f} s"

    async def server_restart(self) -> str:
        code, took = await asyncio.to_thread(self.cluster.stop_server)
        if code != 0:
            raise RuntimeError(f"contato serve exited {code} after SIGTERM ({took:.1f} s)")
        await asyncio.to_thread(self.cluster.start_server)

        async def workers_started() -> bool:
            return self.cluster.startups() >= self.args.workers

        await self._until("the workers' start-up", workers_started)
        await self._ready()
        return f"stopped (exit 0) in {took:.1f} s"


def schedule_faults(names: list[str], start: float, duration: float) -> list[tuple[float, str]]:
    return [(start + duration * (i + 1) / (len(names) + 1), name) for i, name in enumerate(names)]


async def soak(cluster: Cluster, args: argparse.Namespace, figures: Figures) -> None:
    rng = random.Random(args.seed)
    async with Api(cluster.server.url, args) as api:
        began = time.time()
        setup = await Setup(api, cluster.pg_asyncpg_url, args, rng).run()
        figures.setup_seconds = time.time() - began
        print(f"set up in {figures.setup_seconds:.1f} s: campaign {setup.campaign_id} with {setup.members} members, "
              f"{len(setup.agents)} agents, tickets {', '.join(str(t.id) for t in setup.tickets)}", flush=True)
        figures.idempotency_supported = await api.probe_idempotency(setup)
        print(f"Idempotency-Key replayed by the server: {'yes' if figures.idempotency_supported else 'no'}", flush=True)

        load = Load(api, cluster.server.ws_url, setup, args, rng)
        faults = api.faults
        memory: dict[int, MemorySeries] = {}
        memory_stop = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(cluster, memory, args.sample_every, memory_stop))
        await load.start_streams()
        faults.origin = load.started = time.time()
        schedule = schedule_faults(args.fault_list, load.started, args.duration)
        print(f"load for {args.duration:.0f} s; faults at "
              + (", ".join(f"{at - load.started:.0f} s {name}" for at, name in schedule) or "none"), flush=True)
        injector_stop = asyncio.Event()
        injector = asyncio.create_task(Injector(cluster, faults, api, args).run(schedule, injector_stop))
        producers = load.start_producers()
        await asyncio.sleep(max(0.0, load.started + args.duration - time.time()))
        print("  stopping the agents and posters ...", flush=True)
        await load.stop_producers(producers)
        await injector  # a fault still recovering finishes first
        injector_stop.set()
        figures.stopped = time.time()
        async with cluster_db(cluster) as db:
            figures.cursor_at_stop = await db.fetchval("SELECT coalesce(max(cursor), 0) FROM event")
            drained = await load.drain(db, figures.cursor_at_stop, args.drain_timeout)
        print(f"  drained in {drained:.1f} s", flush=True)
        await load.stop_streams()
        memory_stop.set()
        await sampler
        # The last stop is part of the run: SIGTERM, exit 0, nothing logged as an error on the way out.
        figures.final_stop = time.time()
        code, took = await asyncio.to_thread(cluster.stop_server)
        print(f"  contato serve stopped: exit {code} in {took:.1f} s", flush=True)
        figures.server_logs = cluster.read_logs()
        figures.memory = memory
        figures.load = load
        figures.setup = setup
        figures.faults = faults
        figures.calls = api.calls
        async with cluster_db(cluster) as db:
            figures.checked_at = time.time()
            await check_all(db, figures, args)
            if args.dump:
                await dump(db, figures, Path(args.dump))


async def dump(db: asyncpg.Connection, figures: Figures, path: Path) -> None:
    """Everything the clients saw, the fault windows and the events, as one JSON document."""
    load, faults = figures.load, figures.faults
    assert load is not None and faults is not None
    events = await load_events(db, load.events_after, figures.cursor_at_stop)
    document = {
        "origin": faults.origin,
        "windows": [vars(window) | {"ended": None if window.ended == float("inf") else window.ended}
                    for window in faults.windows],
        "events": [[e.cursor, e.kind, e.entity, e.entity_id, e.created] for e in events],
        "subscribers": [{"name": s.name, "churn": s.churn, "received": s.received, "gaps": s.gaps, "ends": s.ends,
                         "first_subscribe": s.first_subscribe} for s in load.subscribers],
        "watchers": [{"name": w.name, "snapshots": [at for at, _, _ in w.snapshots], "ends": w.ends}
                     for w in load.watchers],
        "calls": [[c.label, c.started, c.ended, c.outcome, c.detail] for c in figures.calls],
        "final_stop": figures.final_stop,
        "callbacks": [list(row) for row in await db.fetch(
            "SELECT c.id, extract(epoch FROM c.due_at)::float8, min(extract(epoch FROM e.created_at))::float8 "
            "FROM callback c LEFT JOIN event e ON e.entity = 'callback' AND e.entity_id = c.id AND e.kind = $1 "
            "GROUP BY c.id ORDER BY c.id", CALLBACK_DUE)],
    }
    path.write_text(json.dumps(document))
    print(f"  what the clients saw: {path}", flush=True)


class cluster_db:  # noqa: N801 - used as `async with cluster_db(cluster) as db`
    def __init__(self, cluster: Cluster) -> None:
        self.url = cluster.pg_asyncpg_url

    async def __aenter__(self) -> asyncpg.Connection:
        deadline = time.time() + 60
        while True:
            try:
                self.connection = await asyncpg.connect(self.url)
                return self.connection
            except (OSError, asyncpg.PostgresError):
                if time.time() > deadline:
                    raise
                await asyncio.sleep(0.5)

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--duration", type=float, default=420.0, help="seconds of load (default 420)")
    parser.add_argument("--faults", default=",".join(FAULTS),
                        help=f"comma-separated, in order, spread evenly over the run (default {','.join(FAULTS)}; "
                             "'none' for none)")
    parser.add_argument("--postgres", metavar="URL",
                        help="admin URL of a PostgreSQL server to make a fresh database on (default: start one, "
                             "which needs root; pg-restart needs it)")
    parser.add_argument("--pool", type=int, default=0,
                        help="database connections per worker (DATABASE_URL's maxsize; default: the server's own)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    parser.add_argument("--agents", type=int, default=20, help="agents claiming and recording (default 20)")
    parser.add_argument("--posters", type=int, default=5, help="reps and operators adding ticket messages (default 5)")
    parser.add_argument("--subscribers", type=int, default=10,
                        help="subscribers followed for exactly-once delivery (default 10; half reconnect with `after` "
                             "every 10-30 s, half only when the server ends their stream)")
    parser.add_argument("--queue-watchers", type=int, default=2, help="supervisors on queueUpdates (default 2)")
    parser.add_argument("--drifters", type=int, default=3,
                        help="subscribers joining a shared ticketUpdates stream and leaving it soon after (default 3)")
    parser.add_argument("--members", type=int, default=0,
                        help="campaign members (default: enough for the agents never to run dry)")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds an agent holds a member (default 1)")
    parser.add_argument("--post-every", type=float, default=2.0, help="mean seconds between a poster's messages")
    parser.add_argument("--idempotency", choices=("require", "detect", "off"), default="require",
                        help="retries exactly once with Idempotency-Key: require (default: a server without keys "
                             "fails it), detect (checked when the server replays keys), off (reported only)")
    parser.add_argument("--lost-answers", type=float, default=0.02,
                        help="share of mutations whose first answer the client drops and retries with the same "
                             "key, as a flaky network would make it (default 0.02)")
    parser.add_argument("--late-after", type=float, default=5.0, help="seconds after which a delivery is late")
    parser.add_argument("--window-margin", type=float, default=10.0,
                        help="seconds a fault window lasts after the recovery (default 10)")
    parser.add_argument("--recovery-timeout", type=float, default=180.0, help="seconds a fault may take to recover")
    parser.add_argument("--redis-down", type=float, default=1.0, help="seconds Redis stays down (default 1)")
    parser.add_argument("--drain-timeout", type=float, default=30.0,
                        help="seconds to wait, after the load, for every subscriber to catch up")
    parser.add_argument("--rss-limit-mib", type=float, default=400.0, help="RSS limit per server process (MiB)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between RSS samples")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the load")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server (repeatable)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server logs) and say where")
    parser.add_argument("--dump", metavar="FILE", help="write what the clients saw (JSON) to FILE, for a closer look")
    args = parser.parse_args(argv)
    args.fault_list = [] if args.faults in ("", "none") else [name.strip() for name in args.faults.split(",")]
    unknown = [name for name in args.fault_list if name not in FAULTS]
    if unknown:
        parser.error(f"unknown fault {', '.join(unknown)} (known: {', '.join(FAULTS)})")
    if "pg-restart" in args.fault_list and args.postgres:
        parser.error("pg-restart restarts the soak's own PostgreSQL: leave --postgres out (and run as root)")
    if not args.members:
        # A member is concluded about every other attempt; at ~1 attempt per agent and 2 s.
        args.members = max(200, int(args.agents * args.duration / (args.think + 1.0) * 0.4))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    zone = args.zone = pick_time_zone(timedelta(seconds=args.duration + 3600))
    directory = Path(tempfile.mkdtemp(prefix="contato-soak-"))
    figures = Figures(zone=zone)
    cluster = Cluster(directory, args, zone)
    figures.stop_exit_codes = cluster.stop_exit_codes  # filled as the server is stopped
    began = time.time()
    failed_to_run: BaseException | None = None
    try:
        cluster.start()
        figures.start_seconds = time.time() - began
        print(f"PostgreSQL {'(own) ' if cluster.postgres else ''}database {cluster.database}, redis-server "
              f":{cluster.redis.port}, contato serve --workers {args.workers} on :{cluster.server.port} "
              f"(parent pid {cluster.parent_pid()}, workers {cluster.worker_pids()}), time zone {zone}; "
              f"started in {figures.start_seconds:.1f} s", flush=True)
        asyncio.run(soak(cluster, args, figures))
    except BaseException as error:  # noqa: BLE001 - report what was seen, then fail
        failed_to_run = error
    finally:
        if not figures.server_logs:
            figures.server_logs = cluster.read_logs()
        try:
            cluster.close()
        finally:
            if args.keep:
                print(f"logs kept in {directory}")
            else:
                shutil.rmtree(directory, ignore_errors=True)
    if failed_to_run is not None:
        if isinstance(failed_to_run, KeyboardInterrupt):
            raise failed_to_run
        import traceback

        traceback.print_exception(failed_to_run)
        logs = figures.server_logs or [""]
        print("last lines of the server log:\n" + "\n".join(logs[-1].splitlines()[-15:]))
        print("SOAK DID NOT RUN TO THE END")
        return 2
    ok = print_report(figures, args, total_seconds=time.time() - began)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
