"""A 50 MB file is read as a stream: memory follows the batch, not the file."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from contato.seed import make_cpf
from contato.settings import Settings
from models.data_import import ImportMode, ImportStatus
from models.user import Role
from resolvers.imports.reader import Table
from tests.factories import Factory
from tests.imports.helpers import run

TARGET = 50 * 1024 * 1024


def big_file(path: Path) -> int:
    """Persons whose unmapped notes column pads each row to about 1 KiB."""
    notes = "x" * 950
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as output:
        output.write("nome;cpf;telefone;observacao\r\n")
        while output.tell() < TARGET:
            rows += 1
            output.write(f"Pessoa {rows};{make_cpf(rows)};11{rows:08d};{notes}\r\n")
    return rows


async def test_a_50_mb_file_imports_in_bounded_memory(factory: Factory, settings: Settings, tmp_path: Path) -> None:
    # given
    admin = await factory.user(Role.ADMIN)
    path = tmp_path / "grande.csv"
    rows = big_file(path)
    assert path.stat().st_size >= TARGET
    # when: first the reader alone, then a whole DRY_RUN import, each under tracemalloc
    tracemalloc.start()
    try:
        table = Table(path)
        count = sum(1 for _ in table.rows({"nome": "name", "cpf": "document", "telefone": "phones"}))
        table.close()
        _, reader_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        job = await run(settings, admin, path, mode=ImportMode.DRY_RUN)
        _, import_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # then: everything was read, and neither held more than a few batches' worth
    assert count == rows
    assert (job.status, job.processed_rows, job.inserted, job.error_rows) == (ImportStatus.DONE, rows, rows, 0)
    assert reader_peak < 2 * 1024 * 1024, reader_peak
    assert import_peak < 16 * 1024 * 1024, import_peak
