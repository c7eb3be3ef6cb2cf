"""The soak with faults (bench/soak.py), short: 60 s of load, one worker killed and Redis restarted.

It starts `contato serve --workers 2` on a fresh PostgreSQL database and a redis-server of its own,
runs the load (agents, posters, subscribers reconnecting with `after`, queue watchers, drifters),
injects the faults and checks every invariant from the database and from what the clients saw; it
exits non-zero when one fails, and its report says which. About 80 s: the PostgreSQL pass only.
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
# main does not accept idempotency keys yet: retries are reported, not checked. Drop this once it
# does (issue 12), so that the soak's default, `require`, holds retries to exactly once.
IDEMPOTENCY = "off"


def test_a_short_soak_with_a_worker_killed_and_redis_restarted_holds_every_invariant() -> None:
    # given
    if redis_binary() is None:
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail("no redis-server binary")
        pytest.skip("no redis-server binary")
    command = [
        sys.executable, str(ROOT / "bench" / "soak.py"),
        "--duration", "60", "--faults", "worker-kill,redis-restart",
        "--postgres", PG_ADMIN_URL, "--idempotency", IDEMPOTENCY,
    ]

    # when
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)

    # then
    report = run.stdout[-8000:] + run.stderr[-4000:]
    assert run.returncode == 0, report
    assert "SOAK PASSED" in run.stdout, report
