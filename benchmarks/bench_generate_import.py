"""Time `encore generate` and `encore import` on about 1M order lines.

Prints seconds, lines per second and peak memory for each step, and, as the
baseline measured in the same run, the time pandas alone takes to read the
same orders.csv (the floor for any importer that parses it).

    python benchmarks/bench_generate_import.py [--orders 400000] [--keep DIR]
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from work_folder import work_folder

# Runs the command under a fresh parent, so that its peak memory is its own.
_MEASURE = (
    "import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)"
)


def _run(label: str, command: list[str]) -> tuple[float, float]:
    """Run a command in a child process; return (seconds, peak MB of that command)."""
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{label} failed: {completed.stderr.strip()}")
    peak_kb = int(completed.stderr.strip().splitlines()[-1])
    if completed.stdout.strip():
        print(completed.stdout.strip())
    return seconds, peak_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--orders", type=int, default=400_000, help="orders to generate (~2.5 lines each)"
    )
    parser.add_argument(
        "--keep", type=Path, help="folder to keep the files in (default: a temp folder)"
    )
    args = parser.parse_args()
    with work_folder(args.keep, "encore-bench-") as folder:
        _measure(folder, args.orders)


def _measure(folder: Path, n_orders: int) -> None:
    encore = [sys.executable, "-m", "widget.cli"]

    gen_s, gen_mb = _run(
        "generate", [*encore, "generate", "--out", str(folder), "--orders", str(n_orders)]
    )
    n_lines = sum(1 for _ in (folder / "orders.csv").open()) - 1
    pandas_s, pandas_mb = _run(
        "pandas baseline",
        [
            sys.executable,
            "-c",
            f"import pandas as pd; pd.read_csv({str(folder / 'orders.csv')!r}, dtype=str)",
        ],
    )
    database = f"sqlite:///{folder / 'bench.db'}"
    imp_s, imp_mb = _run(
        "import",
        [*encore, "import", "--database", database, "--orders", str(folder / "orders.csv")],
    )
    again_s, again_mb = _run(
        "import again",
        [*encore, "import", "--database", database, "--orders", str(folder / "orders.csv")],
    )

    print(f"\norder lines: {n_lines:,}")
    print(f"{'step':<28}{'seconds':>9}{'lines/s':>12}{'peak MB':>9}{'x pandas read':>15}")
    for step, seconds, peak in [
        ("generate", gen_s, gen_mb),
        ("pandas read_csv (baseline)", pandas_s, pandas_mb),
        ("import into SQLite", imp_s, imp_mb),
        ("import again (idempotent)", again_s, again_mb),
    ]:
        print(
            f"{step:<28}{seconds:>9.1f}{n_lines / seconds:>12,.0f}{peak:>9.0f}"
            f"{seconds / pandas_s:>15.1f}"
        )


if __name__ == "__main__":
    main()
