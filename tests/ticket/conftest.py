"""Ticket fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from contato.settings import Settings
from tests.factories import Factory
from tests.ticket_factories import TicketFactory


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The suite's test settings, with uploads in the test's own directory."""
    return Settings(
        environment="test",
        password_hash_profile="CHEAPEST",
        login_max_failures=3,
        upload_dir=tmp_path / "uploads",
        upload_max_bytes=1024,
    )


@pytest.fixture
async def tickets(factory: Factory) -> TicketFactory:
    return TicketFactory(factory)
