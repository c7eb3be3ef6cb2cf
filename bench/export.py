"""Benchmark: `contato export operations` streams in flat memory: rows per second, first bytes, peak RSS.

Makes a fresh PostgreSQL database (or a SQLite file with `--sqlite`), seeds it with `contato seed --size
N --operations M`, then runs `contato export operations --output -` in a child process, reading its
output as it comes: the time to the header and to the first data row (the export has not been built
by then), the whole time, rows per second, and the child's peak RSS (getrusage). Run it at two sizes
to see the memory stay flat. No baseline. Not a test.

    .venv/bin/python bench/export.py                                  # 200,000 persons, 1,000,000 operations
    .venv/bin/python bench/export.py --persons 1000000 --operations 5000000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from side_by_side import DEFAULT_POSTGRES, admin, git_describe  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--operations", type=int, default=1_000_000)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="admin URL of a PostgreSQL server")
    parser.add_argument("--sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="contato-export-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "CONTATO_DATA_DIR": str(work / "data"), "PASSWORD_HASH_PROFILE": "CHEAPEST"}
        database = None
        admin_url = args.postgres.replace("postgres://", "postgresql://", 1)
        if args.sqlite:
            env["DATABASE_URL"] = f"sqlite://{work / 'bench.sqlite3'}"
        else:
            database = f"contato_export_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(admin(admin_url, f'CREATE DATABASE "{database}"'))
            env["DATABASE_URL"] = args.postgres.rsplit("/", 1)[0] + f"/{database}"
        try:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "contato", "seed", "--size", str(args.persons), "--operations",
                 str(args.operations)], env=env, check=True, capture_output=True,
            )
            print(f"{git_describe(ROOT)}; seeded {args.persons:,} persons, {args.operations:,} operations in "
                  f"{time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "contato", "export", "operations", "--output", "-"],
                env=env, stdout=subprocess.PIPE,
            )
            assert child.stdout is not None
            child.stdout.readline()
            header_at = time.perf_counter() - started
            child.stdout.readline()
            first_row_at = time.perf_counter() - started
            rows, size = 1, 0
            while chunk := child.stdout.read(1 << 20):
                rows += chunk.count(b"\n")
                size += len(chunk)
            _, _, usage = os.wait4(child.pid, 0)  # this child's own rusage, not the seed's
            child.returncode = 0
            elapsed = time.perf_counter() - started
            peak = usage.ru_maxrss
            print(f"export: {rows:,} rows, {size / 2**20:.0f} MiB in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s); "
                  f"header after {header_at * 1000:.0f} ms, first row after {first_row_at * 1000:.0f} ms; "
                  f"peak RSS of the exporting process {peak / 1024:.1f} MiB")
        finally:
            if database:
                asyncio.run(admin(admin_url, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
