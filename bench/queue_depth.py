"""Benchmark: does a deep page of the agent queue cost what the first page costs? (keyset pagination)

Creates a fresh PostgreSQL database, seeds it with `contato seed --size N`, starts `contato serve` (one
uvicorn worker), logs in as agent@contato.dev and walks the workable queue of the first generated
campaign ("Campanha gerada 1", 10,000 members, about 4,400 of them workable now) page by page with `after` cursors, the same page as
bench/queue_page.py (50 members with person, stage, last operation, next callback). Then times
`--repeat` requests of the first page and of the page at each depth in `--depths` from one client,
and prints p50 / p95 per depth and the ratio of the deepest page's p50 to the first's. The baseline
here is the first page itself: a keyset page should not get slower with depth. Not a test.

    .venv/bin/python bench/queue_depth.py
    .venv/bin/python bench/queue_depth.py --persons 100000 --depths 1,40,85
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from queue_page import QUEUE_PAGE  # noqa: E402
from side_by_side import (  # noqa: E402
    CAMPAIGNS,
    DEFAULT_POSTGRES,
    LOGIN,
    admin,
    free_port,
    git_describe,
    machine,
    percentile,
    stop,
    wait_ready,
)

DEEP_PAGE = QUEUE_PAGE.replace("($campaignId: ID!)", "($campaignId: ID!, $after: String)").replace(
    "first: 50)", "first: 50, after: $after)"
)


async def walk(port: int, depths: list[int], repeat: int) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        token = (await http.post("/graphql", json={"query": LOGIN})).json()["data"]["login"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        campaigns = (await http.post("/graphql", headers=headers, json={"query": CAMPAIGNS})).json()
        campaign_id = next(edge["node"]["id"] for edge in campaigns["data"]["campaigns"]["edges"]
                           if edge["node"]["name"] == "Campanha gerada 1")

        async def page(after: str | None) -> dict:
            answer = await http.post("/graphql", headers=headers, json={
                "query": DEEP_PAGE, "variables": {"campaignId": campaign_id, "after": after}})
            body = answer.json()
            if "errors" in body:
                raise RuntimeError(body["errors"])
            return body["data"]["campaignQueue"]

        cursors: dict[int, str | None] = {0: None}
        after: str | None = None
        number, members, started = 0, 0, time.perf_counter()
        while number < max(depths):
            result = await page(after)
            members += len(result["edges"])
            number += 1
            if not result["pageInfo"]["hasNextPage"]:
                break
            after = result["pageInfo"]["endCursor"]
            cursors[number] = after
        print(f"walked {number} pages ({members:,} members) in {time.perf_counter() - started:.1f} s")
        timings: dict[int, list[float]] = {}
        for depth in [0, *depths]:
            if depth not in cursors:
                print(f"  page {depth + 1}: the queue ends before it")
                continue
            await page(cursors[depth])  # warm
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                await page(cursors[depth])
                samples.append((time.perf_counter() - started) * 1000)
            samples.sort()
            timings[depth] = samples
            print(f"  page {depth + 1:>4} (after {depth * 50:>6,} members): p50 {percentile(samples, 0.5):6.1f} ms  "
                  f"p95 {percentile(samples, 0.95):6.1f} ms")
        deepest = max(timings)
        print(f"deepest / first page p50: {percentile(timings[deepest], 0.5) / percentile(timings[0], 0.5):.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of a PostgreSQL server")
    parser.add_argument("--persons", type=int, default=20000, help="contato seed --size (default 20,000)")
    parser.add_argument("--depths", default="1,25,50,85", help="pages (0 = the first) to time, comma-separated")
    parser.add_argument("--repeat", type=int, default=100, help="requests per depth (default 100)")
    args = parser.parse_args()
    depths = sorted({int(value) for value in args.depths.split(",")})
    print(f"machine: {machine()}")
    admin_url = args.postgres.replace("postgres://", "postgresql://", 1)
    database = f"contato_depth_{uuid.uuid4().hex[:12]}"
    asyncio.run(admin(admin_url, f'CREATE DATABASE "{database}"'))
    source = BENCH.parent
    process = None
    try:
        with tempfile.TemporaryDirectory(prefix="contato-depth-") as tmp:
            env = {**os.environ, "DATABASE_URL": f"{admin_url.rsplit('/', 1)[0]}/{database}",
                   "CONTATO_DATA_DIR": f"{tmp}/data", "CONTATO_ENV": "dev", "PASSWORD_HASH_PROFILE": "CHEAPEST",
                   "ALERTS_IN_SERVER": "false", "SECRET_KEY": secrets.token_urlsafe(48), "PYTHONUNBUFFERED": "1",
                   "PYTHONPATH": os.pathsep.join(filter(None, [str(source), os.environ.get("PYTHONPATH")]))}
            command = [sys.executable, "-m", "contato"]
            print(f"Contato from {source} ({git_describe(source)})")
            started = time.perf_counter()
            subprocess.run([*command, "seed", "--size", str(args.persons)], env=env, cwd=source, check=True,
                           capture_output=True)
            print(f"contato seed --size {args.persons} in {time.perf_counter() - started:.1f} s")
            port = free_port()
            log = Path(tmp) / "contato.log"
            process = subprocess.Popen(
                [*command, "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                env=env, cwd=source, stdout=log.open("wb"), stderr=subprocess.STDOUT,
            )
            wait_ready(port, process, "Contato", log.read_text)
            asyncio.run(walk(port, depths, args.repeat))
    finally:
        if process is not None:
            stop(process)
        asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return 0


if __name__ == "__main__":
    sys.exit(main())
