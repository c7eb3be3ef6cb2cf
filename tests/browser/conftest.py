"""A real Chromium (Debian's, driven by Playwright; no browser download), a real uvicorn for the API,
and tiny static servers on other ports for the pages: each port is an origin of its own."""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest

from tests.conftest import live_database
from tests.servers import LiveServer

CHROMIUM = os.environ.get("CONTATO_TEST_CHROMIUM", "/usr/bin/chromium")
# Headless, and nothing of its own on the network (no updates, no sync, no QUIC probing).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGES = Path(__file__).parent


def chromium_or_skip() -> str:
    """The system Chromium; missing, the browser tests skip, or fail where CI requires them."""
    path = shutil.which(CHROMIUM)
    try:
        import playwright  # noqa: F401
    except ImportError:
        path, wanted = None, "the playwright package (pip install -e '.[dev]')"
    else:
        wanted = f"Chromium at {CHROMIUM} (apt-get install chromium; or set CONTATO_TEST_CHROMIUM)"
    if path is None:
        reason = f"no browser tests without {wanted}"
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    executable = chromium_or_skip()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


class StaticSite:
    """This folder over HTTP on a free loopback port: a page's own origin."""

    def __init__(self) -> None:
        handler = functools.partial(_QuietHandler, directory=str(PAGES))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[StaticSite, StaticSite]]:
    """The dashboard's site (its origin in ALLOWED_ORIGINS) and a foreign one serving the same page."""
    with StaticSite() as dashboard, StaticSite() as foreign:
        yield dashboard, foreign


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sites: tuple[StaticSite, StaticSite]) -> Iterator[LiveServer]:
    directory = tmp_path_factory.mktemp("browser")
    with live_database() as env:
        server = LiveServer(directory, {**env, "ALLOWED_ORIGINS": sites[0].origin})
        server.start(timeout=120)
        try:
            yield server
        finally:
            server.stop()
