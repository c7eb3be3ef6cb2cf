from __future__ import annotations

from pathlib import Path

import pytest

from contato.settings import Settings
from tests.outbound_factories import clock, outbound

__all__ = ["clock", "outbound"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The suite's test settings, with uploads (and staged imports) in the test's own directory."""
    return Settings(
        environment="test", password_hash_profile="CHEAPEST", login_max_failures=3, upload_dir=tmp_path / "uploads",
    )
