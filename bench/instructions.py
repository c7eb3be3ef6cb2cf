"""Benchmark: instructions per request of Contato and the baseline, under callgrind (issue 14).

On a shared or loaded machine wall-clock throughput and even CPU time per request move with the
neighbours; the number of instructions a server executes for a request hardly does. This runs
`contato serve` and bench/baseline_app.py under `valgrind --tool=callgrind` with instrumentation off,
turns it on (`callgrind_control --instr=on`) only while one client sends `--requests` requests of a
page one after the other, and prints instructions per request, for the pages of bench/side_by_side.py
(queue, dashboard, tickets), and the ratios. Idle event-loop turns between requests are counted too
(a few thousand instructions each). Needs valgrind (Debian: apt-get install valgrind) and a database
seeded as side_by_side.py seeds it; start-up under valgrind takes a minute or two.

    .venv/bin/python bench/instructions.py --database-url postgres://postgres@127.0.0.1:55432/DB
    .venv/bin/python bench/instructions.py --database-url … --pages dashboard --requests 10 --no-baseline
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from queue_page import QUEUE_PAGE  # noqa: E402
from side_by_side import CAMPAIGNS, DASHBOARD, LOGIN, TICKET_LIST, free_port  # noqa: E402

DOCUMENTS = {"queue": QUEUE_PAGE, "dashboard": DASHBOARD, "tickets": TICKET_LIST}
BASELINE_PATHS = {"queue": "/queue-page", "dashboard": "/dashboard", "tickets": "/tickets"}


def control(pid: int, *arguments: str) -> str:
    return subprocess.run(["callgrind_control", *arguments, str(pid)], check=True, capture_output=True,
                          text=True, timeout=120).stdout


def collected(out_file: Path) -> int:
    """The instruction total of a callgrind dump."""
    text = out_file.read_text(errors="replace")
    found = re.search(r"^totals: (\d+)", text, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"no totals in {out_file}")
    return int(found.group(1))


def wait_ready(port: int, process: subprocess.Popen[bytes], name: str, log: Path) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise SystemExit(f"{name} not ready in 600 s")


def measure(pid: int, port: int, path: str, body: dict, token: str, requests: int, out_dir: Path, label: str) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        for _ in range(3):  # warm: caches, prepared statements, the compiled plan
            http.post(path, json=body, headers=headers).raise_for_status()
        control(pid, "--zero")
        control(pid, "--instr=on")
        for _ in range(requests):
            answer = http.post(path, json=body, headers=headers)
            answer.raise_for_status()
            if b'"errors"' in answer.content:
                raise SystemExit(f"{label}: {answer.text[:500]}")
        control(pid, "--instr=off")
    before = set(out_dir.iterdir())
    control(pid, f"--dump={label}")
    dumps = sorted(set(out_dir.iterdir()) - before, key=lambda item: item.stat().st_mtime)
    if not dumps:
        raise RuntimeError("callgrind wrote no dump")
    return collected(dumps[-1]) / requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--database-url", required=True, help="a database seeded by `contato seed --size N`")
    parser.add_argument("--pages", default="queue,dashboard,tickets")
    parser.add_argument("--requests", type=int, default=20, help="measured requests per page (default 20)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--source", type=Path, default=BENCH.parent, help="the Contato checkout to run")
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        raise SystemExit("needs valgrind: apt-get install valgrind")
    pages = [page for page in args.pages.split(",") if page]
    secret = secrets.token_urlsafe(48)
    source = args.source.resolve()
    results: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory(prefix="contato-grind-") as tmp:
        directory = Path(tmp)
        env = {**os.environ, "DATABASE_URL": args.database_url, "CONTATO_DATA_DIR": f"{tmp}/data",
               "CONTATO_ENV": "dev", "PASSWORD_HASH_PROFILE": "CHEAPEST", "ALERTS_IN_SERVER": "false",
               "SECRET_KEY": secret, "MUTATIONS_PER_MINUTE": "0",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}
        servers = [("Contato", [sys.executable, "-m", "contato", "serve", "--host", "127.0.0.1", "--log-level",
                                "warning", "--port"], source)]
        if not args.no_baseline:
            servers.append(("baseline", [sys.executable, str(BENCH / "baseline_app.py"), "--port"], BENCH))
        token = campaign_id = None
        for name, command, cwd in servers:
            port = free_port()
            out_dir = directory / name
            out_dir.mkdir()
            log = directory / f"{name}.log"
            process = subprocess.Popen(
                ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                 f"--callgrind-out-file={out_dir}/callgrind.out.%p", *command, str(port)],
                env=env, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            )
            try:
                print(f"{name}: starting under valgrind…", flush=True)
                if name == "Contato":
                    wait_ready(port, process, name, log)
                    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
                        token = http.post("/graphql", json={"query": LOGIN}).json()["data"]["login"]["token"]
                        edges = http.post("/graphql", json={"query": CAMPAIGNS},
                                          headers={"Authorization": f"Bearer {token}"}).json()["data"]["campaigns"]["edges"]
                    campaign_id = next(e["node"]["id"] for e in edges if e["node"]["name"].startswith("Campanha gerada"))
                else:
                    wait_ready(port, process, name, log)
                assert token is not None
                for page in pages:
                    body = {"query": DOCUMENTS[page], "variables": {"campaignId": campaign_id} if page != "tickets" else {}}
                    path = "/graphql" if name == "Contato" else BASELINE_PATHS[page]
                    per_request = measure(process.pid, port, path, body, token, args.requests, out_dir, page)
                    results[(page, name)] = per_request
                    print(f"  {page:<10} {per_request / 1e6:8.2f} M instructions per request", flush=True)
            finally:
                process.terminate()
                try:
                    process.wait(60)
                except subprocess.TimeoutExpired:
                    process.kill()
    print(json.dumps({f"{page} {name}": round(value) for (page, name), value in results.items()}))
    if not args.no_baseline:
        for page in pages:
            mine, theirs = results.get((page, "Contato")), results.get((page, "baseline"))
            if mine and theirs:
                print(f"{page}: Contato / baseline by instructions {theirs / mine:.2f} "
                      f"({mine / 1e6:.1f} M against {theirs / 1e6:.1f} M)")
    if "queue" in pages and "dashboard" in pages:
        print(f"Contato dashboard / plain page by instructions: "
              f"{results[('queue', 'Contato')] / results[('dashboard', 'Contato')]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
