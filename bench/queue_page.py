"""Benchmark: the agent's queue page (`campaignQueue(first: 50)` with person, last operation, callback).

Builds a fresh SQLite database (or uses DATABASE_URL), seeds it with `contato seed --size N` (the scale
data set: members with their history, last operation and callbacks, so the page shows all of it), starts
the real server with `contato serve` on 127.0.0.1, then drives it from a separate process with a
bounded number of requests and prints requests/s and latency percentiles. Not part of the tests.

    .venv/bin/python bench/queue_page.py --persons 20000 --requests 2000 --concurrency 10
    DATABASE_URL=postgres://…/db .venv/bin/python bench/queue_page.py --persons 1000000 --operations 5000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

QUEUE_PAGE = """
query QueuePage($campaignId: ID!) {
  campaignQueue(campaignId: $campaignId, first: 50) { ... on CampaignMemberConnection {
    edges { node {
      id status attempts dueAt
      person { name document phones }
      stage { name }
      lastOperation { createdAt notes result { name kind } agent { name } }
      nextCallback { dueAt status }
    } }
    pageInfo { hasNextPage endCursor }
  } }
}
"""
PREPARE = """
import asyncio, sys
from contato.db import migrate
from contato.settings import Settings

async def main(url):
    await migrate(Settings(database_url=url))

asyncio.run(main(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def drive(base: str, requests: int, concurrency: int) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        login = await client.post("/graphql", json={"query": 'mutation { login(email: "agent@contato.dev", '
                                                    'password: "contato-demo") { ... on LoginPayload { token } } }'})
        token = login.json()["data"]["login"]["token"]
        headers = {"Authorization": f"Bearer {token}"}
        campaigns = await client.post(
            "/graphql", headers=headers,
            json={"query": '{ campaigns(first: 100) { edges { node { id name } } } }'},
        )
        edges = campaigns.json()["data"]["campaigns"]["edges"]
        campaign_id = next(e["node"]["id"] for e in edges if e["node"]["name"].startswith("Campanha gerada"))
        body = {"query": QUEUE_PAGE, "variables": {"campaignId": campaign_id}}
        first = (await client.post("/graphql", headers=headers, json=body)).json()
        assert "errors" not in first, first
        print(f"queue page: {len(first['data']['campaignQueue']['edges'])} members per page")
        latencies: list[float] = []
        remaining = iter(range(requests))

        async def worker() -> None:
            for _ in remaining:
                started = time.perf_counter()
                response = await client.post("/graphql", headers=headers, json=body)
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(f"{requests} requests, concurrency {concurrency}: {requests / elapsed:.1f} requests/s")
    print(f"latency ms: p50 {cuts[49] * 1000:.1f}  p90 {cuts[89] * 1000:.1f}  p99 {cuts[98] * 1000:.1f}"
          f"  max {max(latencies) * 1000:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", type=int, default=20000, help="contato seed --size")
    parser.add_argument("--operations", type=int, default=None, help="contato seed --operations (default 5 per person)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        asyncio.run(drive(args.drive, args.requests, args.concurrency))
        return 0
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="contato-bench-") as data_dir:
        env = {**os.environ, "CONTATO_DATA_DIR": data_dir, "PASSWORD_HASH_PROFILE": "CHEAPEST",
               "CONTATO_ENV": "dev", "ALERTS_IN_SERVER": "false"}
        url = env.setdefault("DATABASE_URL", f"sqlite://{data_dir}/contato.sqlite3")
        subprocess.run([sys.executable, "-c", PREPARE, url], env=env, check=True)
        started = time.perf_counter()
        seed = ["seed", "--size", str(args.persons)]
        if args.operations is not None:
            seed += ["--operations", str(args.operations)]
        subprocess.run([bin_dir / "contato", *seed], env=env, check=True)
        print(f"contato {' '.join(seed)} in {time.perf_counter() - started:.1f} s")
        port = free_port()
        server = subprocess.Popen(
            [bin_dir / "contato", "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_ready(base, server)
            subprocess.run(
                [sys.executable, __file__, "--drive", base, "--requests", str(args.requests),
                 "--concurrency", str(args.concurrency)],
                check=True,
            )
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited before it was ready")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server was not ready within 60 s")


if __name__ == "__main__":
    sys.exit(main())
