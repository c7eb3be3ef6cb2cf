from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from contato.db import migrate
from contato.settings import Settings
from models import tortoise_config
from schema import build_schema
from tests.conftest import PG_ADMIN_URL
from tests.servers import migrated_sqlite_template

ROOT = Path(__file__).resolve().parents[2]


def test_committed_sdl_matches_the_schema() -> None:
    printed = build_schema(Settings()).as_str() + "\n"
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert printed == committed, "schema.graphql is stale: run `contato export-schema` and review the diff"


async def test_committed_migrations_match_the_models(pg_database: str | None) -> None:
    # given: a database built only by the committed migrations (the PostgreSQL run's shared one, or
    # the SQLite one `contato migrate` made for this run's live servers)
    url = pg_database or f"sqlite://{migrated_sqlite_template()}"
    config = tortoise_config(url)
    # when: Tortoise's autodetector compares the migrations' state with the models
    async with TortoiseContext() as ctx:
        await ctx.init(config=config)
        assert ctx.apps is not None
        writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()  # type: ignore[arg-type]
    # then
    assert writers == [], "models changed without a migration: run `tortoise makemigrations`"


async def test_migrate_is_idempotent(tmp_path: Path) -> None:
    # given: a database `contato migrate` has migrated
    database = tmp_path / "twice.sqlite3"
    shutil.copyfile(migrated_sqlite_template(), database)
    before = _schema_of(database)
    # when: migrated again
    await migrate(Settings(database_url=f"sqlite://{database}"))
    # then: nothing changed, nothing failed
    assert _schema_of(database) == before and before


def _schema_of(database: Path) -> list[tuple[str, str]]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return connection.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


def test_report_which_database_this_run_uses() -> None:
    assert PG_ADMIN_URL == "" or PG_ADMIN_URL.startswith("postgres")
