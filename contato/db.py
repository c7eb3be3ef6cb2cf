"""Database lifecycle for commands that run outside the server (migrate, seed, create-user)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tortoise import Tortoise
from tortoise.migrations.api import migrate as run_migrations

from contato.settings import Settings
from models import tortoise_config


def ensure_data_dir(settings: Settings) -> None:
    url = settings.effective_database_url
    if url.startswith("sqlite://") and ":memory:" not in url:
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)


async def migrate(settings: Settings) -> None:
    """Apply every committed migration; a no-op when the database is current."""
    ensure_data_dir(settings)
    try:
        await run_migrations(config=tortoise_config(settings.effective_database_url))
    finally:
        await Tortoise.close_connections()


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[None]:
    ensure_data_dir(settings)
    await Tortoise.init(config=tortoise_config(settings.effective_database_url))
    try:
        yield
    finally:
        await Tortoise.close_connections()
