"""Benchmark: `contato import` of a large persons CSV: rows per second and the importer's peak memory.

Writes a CSV of `--rows` persons (name, CPF, two phones, e-mail, stage; `;`-separated UTF-8), makes a
fresh PostgreSQL database (or a SQLite file with `--sqlite`), migrates it, and runs `contato import
FILE --kind persons --mode insert` in a child process (after a `contato migrate` of its own), timing it and reading its peak RSS
(getrusage of the child), with its CPU time, which says more than the wall time on a shared machine. Then runs the same file again with `--mode upsert` (every row an update).
No baseline: the figure to compare with is the file size (memory must not follow it). Not a test.

    .venv/bin/python bench/import.py                      # 1,000,000 rows on PostgreSQL
    .venv/bin/python bench/import.py --rows 100000 --sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

from side_by_side import DEFAULT_POSTGRES, admin, git_describe  # noqa: E402

from contato.seed import make_cpf  # noqa: E402

STAGES = ("suspeito", "prospecto", "cliente")


def write_file(path: Path, rows: int) -> int:
    with path.open("w", encoding="utf-8", newline="") as output:
        output.write("Nome;CPF;Telefone;Celular;E-mail;Estágio\r\n")
        for index in range(1, rows + 1):
            output.write(
                f"Pessoa Importada {index};{make_cpf(index)};(11) 3{index % 1000:03d}-{index % 10000:04d};"
                f"+55 21 9{index:08d};p{index}@exemplo.com.br;{STAGES[index % 3]}\r\n"
            )
    return path.stat().st_size


def run_import(path: Path, env: dict[str, str], mode: str) -> tuple[float, float, int, str]:
    """(wall seconds, CPU seconds of the importer, its peak RSS in KiB, its summary line)."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "contato", "import", str(path), "--kind", "persons", "--mode", mode, "--quiet"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    out, err = child.communicate()
    elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if child.returncode:
        raise SystemExit(f"import failed ({child.returncode}): {err[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, out.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of a PostgreSQL server")
    parser.add_argument("--sqlite", action="store_true", help="import into a SQLite file instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contato-import-bench-") as directory:
        work = Path(directory)
        path = work / "pessoas.csv"
        started = time.perf_counter()
        size = write_file(path, args.rows)
        print(f"{git_describe(ROOT)}; {args.rows:,} rows, {size / 2**20:.1f} MiB written in "
              f"{time.perf_counter() - started:.1f} s")
        database = None
        env = {**os.environ, "CONTATO_DATA_DIR": str(work / "data")}
        if args.sqlite:
            env["DATABASE_URL"] = f"sqlite://{work / 'bench.sqlite3'}"
        else:
            database = f"contato_import_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(admin(args.postgres.replace("postgres://", "postgresql://", 1), f'CREATE DATABASE "{database}"'))
            env["DATABASE_URL"] = args.postgres.rsplit("/", 1)[0] + f"/{database}"
        try:
            # Migrating a fresh database costs the CLI about 13 s of CPU: done first, so that the figures
            # below are the import's alone (the import's own migrate finds nothing to do).
            migrated = subprocess.run([sys.executable, "-m", "contato", "migrate"], env=env, capture_output=True,
                                      check=False)
            if migrated.returncode:
                raise SystemExit(f"migrate failed: {migrated.stderr[-2000:]!r}")
            cpu_before = sum(resource.getrusage(resource.RUSAGE_CHILDREN)[:2])
            for mode in ("insert", "upsert"):
                elapsed, cpu, peak_kib, summary = run_import(path, env, mode)
                print(f"{mode:>6}: {elapsed:7.1f} s, {args.rows / elapsed:9,.0f} rows/s ({cpu - cpu_before:.1f} s of "
                      f"importer CPU, load average {os.getloadavg()[0]:.1f}), peak RSS {peak_kib / 1024:6.1f} MiB "
                      f"({summary})")
                cpu_before = cpu
        finally:
            if database:
                asyncio.run(admin(args.postgres.replace("postgres://", "postgresql://", 1),
                                  f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
