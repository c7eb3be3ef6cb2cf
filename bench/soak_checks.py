"""The invariants of bench/soak.py, checked from the database and from what the clients saw, and its report.

Each check compares two accounts of the run: the clients' (bench/soak_load.py: every request, hold,
write and delivery with its time) and the database's (operations, members, messages, callbacks and
the event table, whose `created_at` is written inside the committing transaction). Times are wall
clock on one machine. A fault window excuses lateness and failed requests, never a duplicate, a
loss or a second holder.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import math
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from bench.soak_load import EventRow, Faults, Load, Setup, Subscriber, Write, load_events
from realtime.due import CALLBACK_DUE

EXAMPLES = 5


@dataclass
class Check:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)


@dataclass
class Figures:
    zone: str
    start_seconds: float = 0.0
    setup_seconds: float = 0.0
    idempotency_supported: bool | None = None
    stopped: float = 0.0
    final_stop: float = math.inf  # when the last SIGTERM was sent: no alert is due on time after it
    checked_at: float = 0.0
    cursor_at_stop: int = 0
    memory: dict[int, Any] = field(default_factory=dict)
    load: Load | None = None
    setup: Setup | None = None
    faults: Faults | None = None
    calls: list[Any] = field(default_factory=list)
    server_logs: list[str] = field(default_factory=list)
    stop_exit_codes: list[tuple[int | None, float]] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # figures for the report

    def say(self, line: str) -> None:
        self.lines.append(line)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def spread(values: list[float], unit: float = 1000.0, suffix: str = "ms") -> str:
    if not values:
        return "none"
    return (f"p50 {percentile(values, 0.5) * unit:.0f} {suffix}, p99 {percentile(values, 0.99) * unit:.0f} {suffix}, "
            f"max {max(values) * unit:.0f} {suffix} ({len(values)})")


def checking_retries(figures: Figures, args: argparse.Namespace) -> bool:
    """Whether retries with idempotency keys must be exactly once (`--idempotency`)."""
    if args.idempotency == "require":
        return True
    return args.idempotency == "detect" and bool(figures.idempotency_supported)


async def check_all(db: asyncpg.Connection, figures: Figures, args: argparse.Namespace) -> None:
    load, setup, faults = figures.load, figures.setup, figures.faults
    assert load is not None and setup is not None and faults is not None
    operations = await db.fetch(
        "SELECT id, member_id, agent_id, notes, attempt, extract(epoch FROM created_at)::float8 AS created "
        "FROM operation WHERE campaign_id = $1", setup.campaign_id)
    figures.checks += [
        check_single_holder(load, operations),
        check_writes("operations exactly once", load.operations, [r["notes"] for r in operations], figures, args),
        await check_attempts(db, setup, operations),
    ]
    messages = await db.fetch("SELECT body FROM ticket_message WHERE ticket_id = ANY($1::int[]) AND body LIKE 'soak-msg %'",
                              [t.id for t in setup.tickets])
    figures.checks.append(check_writes("messages exactly once", load.messages, [r["body"] for r in messages],
                                       figures, args))
    figures.checks.append(check_idempotency(figures, args))
    figures.checks.append(await check_alerts(db, setup, faults, figures, args))
    events = await load_events(db, load.events_after, figures.cursor_at_stop)
    figures.checks += check_deliveries(load, events, faults, figures, args)
    figures.checks.append(check_no_fault_answers(load, faults, figures))
    figures.checks.append(check_queue_watchers(load, faults, figures, args))
    figures.checks.append(check_faults(faults, figures))
    figures.checks.append(check_memory(figures, args))


def check_single_holder(load: Load, operations: list[asyncpg.Record]) -> Check:
    """No two agents surely hold one member at once; every operation falls in a possible hold of its agent."""
    by_member: dict[int, list[tuple[float, float, int]]] = defaultdict(list)
    possible: dict[tuple[int, int], list[tuple[float, float]]] = defaultdict(list)
    lapsed = 0
    for hold in load.holds:
        end = hold.record_sent if hold.record_sent is not None else hold.claim_answered
        by_member[hold.member_id].append((hold.claim_answered, end, hold.agent_id))
        possible[(hold.agent_id, hold.member_id)].append((hold.claim_sent, hold.record_answered or math.inf))
        lapsed += end > hold.expires
    overlaps = []
    for member, spans in by_member.items():
        spans.sort()
        held_until, holder = -math.inf, None  # the hold that ends last so far
        for start, end, agent in spans:
            if agent != holder and start < held_until:
                overlaps.append(f"member {member}: agent {holder} held it until {held_until:.3f}, "
                                f"agent {agent} from {start:.3f}")
            if end > held_until:
                held_until, holder = end, agent
    strays = [f"operation {r['id']} on member {r['member_id']} by agent {r['agent_id']} at {r['created']:.3f}"
              for r in operations
              if not any(a <= r["created"] <= b for a, b in possible.get((r["agent_id"], r["member_id"]), []))]
    ok = not overlaps and not strays and not lapsed
    return Check("single holder", ok,
                 f"{len(load.holds)} holds of {len(by_member)} members: {len(overlaps)} held by two agents at once, "
                 f"{len(strays)} operations outside their agent's hold, {lapsed} holds past their lease",
                 overlaps[:EXAMPLES] + strays[:EXAMPLES])


def check_writes(name: str, writes: list[Write], stored: list[str], figures: Figures, args: argparse.Namespace) -> Check:
    """Each write stored once: acknowledged ones stored, refused ones not; retries applied once."""
    counts = Counter(stored)
    mine = {write.token for write in writes}
    strangers = [token for token in counts if token not in mine]
    twice_plain, twice_retried, lost, refused_stored, not_replayed = [], [], [], [], []
    for write in writes:
        n = counts.get(write.token, 0)
        if n > 1:
            (twice_retried if write.ambiguous else twice_plain).append(f"{write.token!r} stored {n} times")
        if write.outcome == "ok" and n == 0:
            lost.append(f"{write.token!r} acknowledged, not stored")
        if write.outcome == "refused" and n:
            refused_stored.append(f"{write.token!r} refused ({write.code}), stored")
        if write.outcome == "doubt" and write.ambiguous and n and write.code and write.code.isupper():
            not_replayed.append(f"{write.token!r} stored, but its retry was answered {write.code}")
    retries = [write for write in writes if write.ambiguous]
    outcomes = Counter(write.outcome for write in writes)
    figures.say(f"{name.split()[0]}: {len(writes)} sent ({outcomes['ok']} ok, {outcomes['refused']} refused, "
                f"{outcomes['doubt']} in doubt), {len(retries)} retried after a lost answer or a fault "
                f"({sum(w.replayed for w in writes)} replayed by key), {len(stored)} stored")
    strict = checking_retries(figures, args)
    problems = twice_plain + lost + refused_stored + [f"{t!r} stored, not sent by the soak" for t in strangers]
    retry_problems = twice_retried + not_replayed
    ok = not problems and (not strict or not retry_problems)
    summary = (f"{len(writes)} writes: {len(twice_plain)} stored twice without a retry, {len(lost)} acknowledged and "
               f"lost, {len(refused_stored)} refused and stored; retries: {len(twice_retried)} stored twice, "
               f"{len(not_replayed)} not answered with the first answer"
               + ("" if strict else " (retries not checked: --idempotency)"))
    return Check(name, ok, summary, (problems + retry_problems)[:2 * EXAMPLES])


async def check_attempts(db: asyncpg.Connection, setup: Setup, operations: list[asyncpg.Record]) -> Check:
    members = await db.fetch("SELECT id, attempts, last_operation_id FROM campaign_member WHERE campaign_id = $1",
                             setup.campaign_id)
    per_member: dict[int, list[asyncpg.Record]] = defaultdict(list)
    for row in operations:
        per_member[row["member_id"]].append(row)
    wrong = []
    for member in members:
        ops = per_member.get(member["id"], [])
        numbers = sorted(op["attempt"] for op in ops)
        last = max((op["id"] for op in ops), default=None)
        if member["attempts"] != len(ops) or numbers != list(range(1, len(ops) + 1)) or member["last_operation_id"] != last:
            wrong.append(f"member {member['id']}: attempts {member['attempts']}, operations numbered {numbers}, "
                         f"last operation {member['last_operation_id']} (newest {last})")
    return Check("attempts equal operations", not wrong,
                 f"{len(members)} members, {len(operations)} operations: {len(wrong)} members disagree",
                 wrong[:EXAMPLES])


def check_idempotency(figures: Figures, args: argparse.Namespace) -> Check:
    supported = figures.idempotency_supported
    said = "replays" if supported else "does not replay"
    if not checking_retries(figures, args):
        return Check("retries with idempotency keys", True,
                     f"not checked (--idempotency {args.idempotency}); the server {said} a mutation sent twice with one key")
    return Check("retries with idempotency keys", bool(supported),
                 f"the server {said} a mutation sent twice with one Idempotency-Key")


async def check_alerts(db: asyncpg.Connection, setup: Setup, faults: Faults, figures: Figures,
                       args: argparse.Namespace) -> Check:
    rows = await db.fetch(
        "SELECT c.id, extract(epoch FROM c.due_at)::float8 AS due, c.status, c.alerted_at IS NOT NULL AS alerted, "
        "extract(epoch FROM c.closed_at)::float8 AS closed, count(e.id) AS events, "
        "min(extract(epoch FROM e.created_at))::float8 AS first "
        "FROM callback c LEFT JOIN event e ON e.entity = 'callback' AND e.entity_id = c.id AND e.kind = $2 "
        "WHERE c.campaign_id = $1 GROUP BY c.id", setup.campaign_id, CALLBACK_DUE)
    late_after = args.late_after
    due = [r for r in rows if r["due"] <= figures.checked_at - late_after - 1]
    twice = [f"callback {r['id']}: {r['events']} CALLBACK_DUE events" for r in due if r["events"] > 1]
    mismatched = [f"callback {r['id']}: alerted_at {'set' if r['alerted'] else 'null'}, {r['events']} events"
                  for r in rows if r["alerted"] != (r["events"] >= 1)]
    missing, late, closed_first, lateness = [], [], 0, []
    for r in due:
        # Due when a fault struck, or so late in the run that its time ran out after the last stop.
        excused = (faults.covers(r["due"]) or faults.covers(r["due"] + late_after)
                   or r["due"] + late_after > figures.final_stop)
        if r["events"]:
            delay = r["first"] - r["due"]
            if not excused:
                lateness.append(delay)
                if delay > late_after:
                    late.append(f"callback {r['id']} alerted {delay:.1f} s after it fell due")
        elif r["closed"] is not None and r["closed"] < r["due"] + late_after:
            closed_first += 1  # worked (DONE) before an alert was late; nothing to alert any more
        elif not excused:
            missing.append(f"callback {r['id']} ({r['status']}) due at {faults.at(r['due'])}, never alerted")
    figures.say(f"callbacks: {len(rows)} scheduled, {len(due)} due, {sum(r['events'] >= 1 for r in due)} alerted, "
                f"{closed_first} worked before their alert; alert lateness outside fault windows {spread(lateness)}")
    ok = not (twice or mismatched or missing or late)
    return Check("due alerts exactly once", ok,
                 f"{len(due)} due callbacks: {len(twice)} alerted twice, {len(missing)} never alerted, "
                 f"{len(late)} alerted more than {late_after:.0f} s late outside fault windows, "
                 f"{len(mismatched)} with alerted_at and events disagreeing",
                 (twice + missing + late + mismatched)[:2 * EXAMPLES])


def check_deliveries(load: Load, events: list[EventRow], faults: Faults, figures: Figures,
                     args: argparse.Namespace) -> list[Check]:
    by_cursor = {event.cursor: event for event in events}
    once_problems: list[str] = []
    late_problems: list[str] = []
    expected = received_total = duplicates = missing_total = 0
    lateness: list[float] = []
    for subscriber in load.subscribers:
        entitled = subscriber.entitled(events)
        firsts: dict[int, float] = {}
        order_breaks = 0
        previous = -1
        counts = Counter(cursor for cursor, _ in subscriber.received)
        for cursor, at in subscriber.received:
            if cursor not in firsts:
                firsts[cursor] = at
                order_breaks += cursor < previous
                previous = max(previous, cursor)
        dup = sum(n - 1 for n in counts.values())
        missing = [e.cursor for e in entitled if e.cursor not in firsts]
        unexpected = [c for c in firsts if c in by_cursor and not subscriber.may_see(by_cursor[c])]
        expected += len(entitled)
        received_total += len(entitled) - len(missing)
        duplicates += dup
        missing_total += len(missing)
        if dup or missing or unexpected or order_breaks:
            once_problems.append(f"{subscriber.name}: {dup} duplicates, {len(missing)} missing "
                                 f"(first {missing[:5]}), {len(unexpected)} it may not see {unexpected[:5]}, "
                                 f"{order_breaks} out of order")
        late: list[tuple[float, EventRow, float]] = []
        for event in entitled:
            at = firsts.get(event.cursor)
            if at is None or faults.covers(event.created):
                continue
            delay = at - _since(subscriber, event.created)
            lateness.append(delay)
            if delay > args.late_after:
                late.append((delay, event, at))
        if late:
            worst = max(late, key=lambda item: item[0])
            late_problems.append(
                f"{subscriber.name}: {len(late)} events late outside fault windows, committed from "
                f"{faults.at(min(e.created for _, e, _ in late))} to {faults.at(max(e.created for _, e, _ in late))}, "
                f"received from {faults.at(min(at for _, _, at in late))} to {faults.at(max(at for _, _, at in late))}; "
                f"worst {worst[0]:.1f} s (cursor {worst[1].cursor} {worst[1].kind})")
    drift_dups = sum(d.duplicates for d in load.drifters)
    if drift_dups:
        once_problems.append(f"drifters: {drift_dups} duplicates within a connection")
    figures.say(f"deliveries: {expected} due to {len(load.subscribers)} subscribers "
                f"({sum(s.connections for s in load.subscribers)} connections), {received_total} received, "
                f"{duplicates} duplicates, {missing_total} missing; drifters: "
                f"{sum(d.connections for d in load.drifters)} connections, {sum(d.items for d in load.drifters)} items")
    figures.say(f"delivery lateness (receive - commit) outside fault windows: {spread(lateness)}")
    return [
        Check("deliveries exactly once", not once_problems,
              f"{expected} deliveries due: {missing_total} missing, {duplicates} duplicates, "
              f"{len(once_problems)} subscribers with a problem", once_problems[:2 * EXAMPLES]),
        Check("deliveries on time", not late_problems,
              f"{len(lateness)} deliveries of events committed outside fault windows: "
              f"{sum(d > args.late_after for d in lateness)} later than {args.late_after:.0f} s",
              late_problems[:2 * EXAMPLES]),
    ]


def _since(subscriber: Subscriber, created: float) -> float:
    """From when the server could deliver an event: its commit, or the end of the client's own time away."""
    for away, back in subscriber.gaps:
        if away <= created <= back:
            return back
    return created


def check_no_fault_answers(load: Load, faults: Faults, figures: Figures) -> Check:
    problems: list[str] = []
    failed = [call for call in figures.calls if call.failed]
    outside = [call for call in failed if not faults.overlaps(call.started, call.ended)]
    by_outcome = Counter(call.outcome for call in failed)
    figures.say(f"HTTP requests: {len(figures.calls)}, failed {len(failed)} "
                f"({', '.join(f'{n} {outcome}' for outcome, n in by_outcome.most_common()) or 'none'}), "
                f"{len(outside)} of them outside fault windows; {sum(c.outcome == 'lost' for c in figures.calls)} "
                f"answers dropped on purpose")
    problems += [f"{call.label} at {faults.at(call.started)}: {call.outcome} {call.detail}" for call in outside]
    for label in ("campaignMemberClaim", "operationRecord", "ticketMessageAdd"):
        took = [call.ended - call.started for call in figures.calls
                if call.label == label and call.outcome == "ok" and not faults.overlaps(call.started, call.ended)]
        figures.say(f"{label} answered outside fault windows: {spread(took)}")
    clients = [*load.subscribers, *load.drifters, *load.watchers]
    ends = [(at, client.name, why) for client in clients for at, why in client.ends]
    masked = [(at, client.name, what) for client in clients for at, what in client.masked]
    figures.say(f"streams ended by the server or failed to connect: {len(ends)} "
                f"({sum(not faults.covers(at) for at, _, _ in ends)} outside fault windows); "
                f"errors inside stream items: {len(masked)}")
    problems += [f"{name} at {faults.at(at)}: {why}" for at, name, why in sorted(ends) if not faults.covers(at)]
    problems += [f"{name} at {faults.at(at)}: {what}" for at, name, what in sorted(masked) if not faults.covers(at)]
    refusals = [(a, text) for a, b, text in load.unexpected if not faults.overlaps(a, b)]
    problems += [f"at {faults.at(a)}: {text}" for a, text in refusals]
    logged = logged_errors(figures.server_logs)
    figures.say(f"server log: {len(logged)} ERROR lines "
                f"({sum(at is None or not faults.covers(at) for at, _ in logged)} outside fault windows)")
    problems += [f"server log at {faults.at(at) if at else '?'}: {text}" for at, text in logged
                 if at is None or not faults.covers(at)]
    return Check("no fault answers outside fault windows", not problems,
                 f"{len(outside)} failed requests, "
                 f"{sum(not faults.covers(at) for at, _, _ in ends)} ended or refused streams, "
                 f"{sum(not faults.covers(at) for at, _, _ in masked)} stream errors, "
                 f"{sum(at is None or not faults.covers(at) for at, _ in logged)} logged errors, "
                 f"{len(refusals)} unexpected typed errors outside fault windows "
                 f"({len(load.unexpected) - len(refusals)} inside)", problems[:3 * EXAMPLES])


def logged_errors(logs: list[str]) -> list[tuple[float | None, str]]:
    """ERROR and CRITICAL records of the servers' JSON logs, and any line that is not JSON but looks like one."""
    found: list[tuple[float | None, str]] = []
    for log in logs:
        for line in log.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                if "Traceback" in line or "Error" in line:
                    found.append((None, line[:200]))
                continue
            if isinstance(record, dict) and record.get("level") in ("ERROR", "CRITICAL"):
                at = datetime.fromisoformat(record["time"]).timestamp()
                found.append((at, f"{record.get('logger')}: {record.get('message')}"[:200]))
    return found


def check_queue_watchers(load: Load, faults: Faults, figures: Figures, args: argparse.Namespace) -> Check:
    """Snapshots keep coming while the queue moves (outside fault windows); the last one is the database's."""
    problems = []
    longest = 2 * args.late_after
    for watcher in load.watchers:
        times = [load.started] + [at for at, _, _ in watcher.snapshots if load.started <= at <= figures.stopped]
        times.append(figures.stopped)
        for a, b in itertools.pairwise(times):
            if b - a > longest and not faults.overlaps(a, b):
                problems.append(f"{watcher.name}: no snapshot from {faults.at(a)} to {faults.at(b)}")
        if not load.queue_final.get(watcher.name):
            last = watcher.snapshots[-1][2] if watcher.snapshots else None
            problems.append(f"{watcher.name}: last snapshot {last} is not the database's counts")
    figures.say(f"queue watchers: {', '.join(f'{w.name} {len(w.snapshots)} snapshots' for w in load.watchers)}")
    return Check("queue watchers live", not problems,
                 f"{len(load.watchers)} watchers: {len(problems)} problems (gaps over {longest:.0f} s outside fault "
                 f"windows, a last snapshot unlike the database)", problems[:EXAMPLES])


def check_faults(faults: Faults, figures: Figures) -> Check:
    problems = [f"{w.name} at {faults.at(w.started)}: {w.error}" for w in faults.windows if w.error]
    problems += [f"contato serve exited {code} after SIGTERM ({took:.1f} s)"
                 for code, took in figures.stop_exit_codes if code != 0]
    for window in faults.windows:
        recovered = f"recovered after {window.recovered - window.started:.1f} s" if window.recovered else "did not recover"
        figures.say(f"fault {window.name} at {faults.at(window.started)}: {recovered}; {window.detail}")
    return Check("faults recovered", not problems,
                 f"{len(faults.windows)} faults, {sum(w.recovered is not None for w in faults.windows)} recovered; "
                 f"{len(figures.stop_exit_codes)} SIGTERM stops", problems)


def check_memory(figures: Figures, args: argparse.Namespace) -> Check:
    over = []
    for pid, series in sorted(figures.memory.items()):
        if len(series.cpu) > 1:
            (a, used_a), (b, used_b) = series.cpu[0], series.cpu[-1]
            figures.say(f"CPU {series.role:<13} pid {pid:>7}: {used_b - used_a:6.1f} s in {b - a:4.0f} s "
                        f"({(used_b - used_a) / max(b - a, 1e-9):4.0%} of a core)")
        values = [kib for _, kib in series.samples]
        if not values:
            continue
        first_at, last_at = series.samples[0][0], series.samples[-1][0]
        origin = figures.faults.origin if figures.faults else first_at
        figures.say(f"RSS {series.role:<13} pid {pid:>7}: {values[0] / 1024:6.1f} MiB at {first_at - origin:5.0f} s, "
                    f"peak {max(values) / 1024:6.1f}, last {values[-1] / 1024:6.1f} at {last_at - origin:5.0f} s "
                    f"({len(values)} samples)")
        if max(values) / 1024 > args.rss_limit_mib:
            over.append(f"{series.role} {pid}: {max(values) / 1024:.0f} MiB")
    return Check("memory", not over, f"every server process under {args.rss_limit_mib:.0f} MiB"
                 if not over else f"{len(over)} processes over {args.rss_limit_mib:.0f} MiB", over)


def memory_curve(figures: Figures, every: float = 60.0) -> list[str]:
    """RSS of the workers, once a minute: the curve to see whether memory levels off."""
    lines = []
    origin = figures.faults.origin if figures.faults else 0.0
    for pid, series in sorted(figures.memory.items()):
        if series.role != "worker" or not series.samples:
            continue
        points, next_at = [], series.samples[0][0]
        for at, kib in series.samples:
            if at >= next_at:
                points.append(f"{at - origin:.0f}s:{kib / 1024:.0f}")
                next_at = at + every
        lines.append(f"worker {pid} MiB: {' '.join(points)}")
    return lines


def print_report(figures: Figures, args: argparse.Namespace, total_seconds: float) -> bool:
    print()
    print(f"== soak: {args.duration:.0f} s of load, faults {', '.join(args.fault_list) or 'none'}; "
          f"{args.agents} agents, {args.posters} posters, {args.subscribers} subscribers, "
          f"{args.queue_watchers} queue watchers, {args.drifters} drifters; {total_seconds:.0f} s in all "
          f"(server start {figures.start_seconds:.0f} s, set-up {figures.setup_seconds:.0f} s)")
    for line in figures.lines:
        print(f"  {line}")
    with contextlib.suppress(OSError):
        print(f"  machine: {os.cpu_count()} cores, load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    for line in memory_curve(figures):
        print(f"  {line}")
    print()
    for check in figures.checks:
        print(f"{'PASS' if check.ok else 'FAIL'}  {check.name}: {check.summary}")
        for detail in check.details if not check.ok else []:
            print(f"        {detail}")
    ok = all(check.ok for check in figures.checks)
    print()
    print("SOAK PASSED" if ok else f"SOAK FAILED: {', '.join(c.name for c in figures.checks if not c.ok)}")
    return ok
