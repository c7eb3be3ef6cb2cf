"""Protocol conformance against a real server, with the reference tools of each protocol (node).

GraphQL over HTTP: every audit of graphql-http's `serverAudits` (MUST, SHOULD and MAY) and
Contato's own status codes (405, 415, 413). graphql-transport-ws: every close code of the protocol,
provoked with the graphql-ws client or a raw socket. The scripts live in tests/conformance/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from tests.servers import LiveServer

CONFORMANCE = Path(__file__).resolve().parent.parent / "conformance"
NODE_MIN_MAJOR = 18  # global fetch; graphql-http, graphql-ws and ws support it


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CONTATO_REQUIRE_SERVERS"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def node() -> str:
    """`node`, with the pinned packages of tests/conformance installed (`npm ci`, once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("the conformance checks need node and npm on PATH (Debian: apt-get install nodejs npm)")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    major = re.match(r"v(\d+)", version)
    if major is None or int(major.group(1)) < NODE_MIN_MAJOR:
        _unavailable(f"the conformance checks need node >= {NODE_MIN_MAJOR}, found {version}")
    # npm writes node_modules/.package-lock.json on install: when it matches the lock file, the pinned
    # packages are there (CI installs them once before its two passes, which would race on one tree).
    current = CONFORMANCE / "node_modules" / ".package-lock.json"
    if current.exists() and _locked(current) == _locked(CONFORMANCE / "package-lock.json"):
        return node
    installed = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        check=False,
        cwd=CONFORMANCE,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert installed.returncode == 0, f"npm ci failed:\n{installed.stdout}\n{installed.stderr}"
    return node


def _locked(lock_file: Path) -> dict[str, object]:
    """The packages a lock file pins: name → version and integrity."""
    packages = json.loads(lock_file.read_text())["packages"]
    return {
        name: (entry.get("version"), entry.get("integrity"))
        for name, entry in packages.items()
        if name.startswith("node_modules/")
    }


def run_check(node: str, script: str, server: LiveServer) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [node, script, f"{server.url}/graphql"],
        check=False,
        cwd=CONFORMANCE,
        capture_output=True,
        text=True,
        timeout=120,
    )


def report(result: subprocess.CompletedProcess[str], server: LiveServer) -> str:
    log = server.log()[-4000:]
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}\n--- server log (tail) ---\n{log}"


def test_graphql_over_http_audits_pass(node: str, live_server: LiveServer) -> None:
    # given: a live server; when: graphql-http's audits and Contato's own run against it, logged in
    result = run_check(node, "audit-http.mjs", live_server)
    # then: every audit passes, whatever its level
    assert result.returncode == 0, report(result, live_server)
    assert re.search(r"^(\d+) of \1 audits pass$", result.stdout, re.MULTILINE), report(result, live_server)


def test_graphql_transport_ws_close_codes(node: str, live_server: LiveServer) -> None:
    # given: a live server (WS_INIT_TIMEOUT_SECONDS=1); when: each close code is provoked
    result = run_check(node, "ws-close-codes.mjs", live_server)
    # then: the server closes with each of 4400, 4401, 4403, 4406, 4408, 4409 and 4429
    assert result.returncode == 0, report(result, live_server)
    for code in (4400, 4401, 4403, 4406, 4408, 4409, 4429):
        assert re.search(rf"^ok +{code} ", result.stdout, re.MULTILINE), report(result, live_server)
