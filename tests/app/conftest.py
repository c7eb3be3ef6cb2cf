from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import served
from tests.servers import LiveServer


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One real server per test module, on PostgreSQL when the run is configured for it."""
    directory: Path = tmp_path_factory.mktemp("live")
    env: dict[str, str] = {
        "ALLOWED_ORIGINS": "https://wallboard.example",
        "WS_INIT_TIMEOUT_SECONDS": "1",
        "WS_MAX_SUBSCRIPTIONS": "2",
    }
    with served(directory, env) as server:
        yield server
