"""The soak with faults (bench/soak.py), short: Redis restarted, then a worker killed, under load.

It starts `contato serve --workers 2` on a fresh PostgreSQL database and a redis-server of its own,
runs a lighter load than the full soak's (8 agents claiming and recording, 3 posters with idempotency
keys and retries, 6 subscribers, half reconnecting with `after`, a queue watcher, drifters leaving a
shared stream), injects the two faults and checks every invariant from the database and from what
the clients saw; it exits non-zero when one fails, and its report says which. The PostgreSQL pass
only (it needs PostgreSQL and Redis). The full soak is a benchmark command (README, Performance).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL
from tests.servers import redis_binary

pytestmark = pytest.mark.skipif(not PG_ADMIN_URL, reason="the soak runs on PostgreSQL (the PostgreSQL pass)")

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_with_a_worker_killed_and_redis_restarted_holds_every_invariant() -> None:
    # given
    if redis_binary() is None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail("no redis-server binary")
        pytest.skip("no redis-server binary")
    command = [
        sys.executable, str(ROOT / "bench" / "soak.py"),
        "--duration", "30", "--faults", "redis-restart,worker-kill", "--postgres", PG_ADMIN_URL,
        "--agents", "8", "--posters", "3", "--subscribers", "6", "--queue-watchers", "1", "--drifters", "2",
        "--window-margin", "5",
    ]

    # when
    run = subprocess.run(command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600)

    # then
    report = run.stdout[-8000:] + run.stderr[-4000:]
    assert run.returncode == 0, report
    assert "SOAK PASSED" in run.stdout, report
