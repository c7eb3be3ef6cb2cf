"""Import files for tests, and running an import to its end through the use cases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contato.settings import Settings
from models.data_import import Import, ImportKind, ImportMode
from models.user import User
from resolvers import imports
from resolvers.context import Context


def write_csv(path: Path, rows: list[list[str]], separator: str = ";", encoding: str = "utf-8") -> Path:
    text = "".join(separator.join(cells) + "\r\n" for cells in rows)
    path.write_bytes(text.encode(encoding))
    return path


async def run(
    settings: Settings, user: User, path: Path, kind: ImportKind = ImportKind.PERSONS,
    mode: ImportMode = ImportMode.INSERT, **request: Any,
) -> Import:
    ctx = Context(settings=settings, user=user)
    job = await imports.create_import(
        ctx, imports.ImportRequest(kind=kind, mode=mode, **request), path, path.name, owns_file=False
    )
    return await imports.run_import(job.pk, zone=settings.zone)


async def errors_of(job: Import) -> list[tuple[int, str, str]]:
    return [(row, column, code) async for page in imports.error_rows(job.pk) for row, column, code, _ in page]
