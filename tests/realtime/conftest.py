"""A real redis-server per test, on a free loopback port, that a test can stop and restart.

CONTATO_TEST_REDIS_SERVER names the binary (default: redis-server on PATH); Redis tests are
skipped only when no binary is found.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from realtime.broadcast import create_broadcast
from realtime.hub import EventHub
from tests.servers import REDIS_BINARY_ENV, RedisServer, redis_binary


@pytest.fixture
async def hub(db: None) -> AsyncIterator[EventHub]:
    """A started hub on the in-process broadcast; its short poll picks up unpublished events."""
    broadcast = create_broadcast("memory://")
    await broadcast.connect()
    event_hub = EventHub(broadcast, poll_interval=0.05)
    await event_hub.start()
    try:
        yield event_hub
    finally:
        await event_hub.stop()
        await broadcast.disconnect()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started redis-server; its ``url`` stays valid across ``stop()``/``start()``."""
    binary = redis_binary()
    if binary is None:
        wanted = os.environ.get(REDIS_BINARY_ENV) or "redis-server on PATH"
        reason = f"no redis-server binary ({wanted}); set {REDIS_BINARY_ENV} to its path"
        if os.environ.get("CONTATO_REQUIRE_SERVERS"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = RedisServer(binary, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
