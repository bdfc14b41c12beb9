"""Time and memory of `encore export` on a large feedback log, against a plain dump.

    python benchmarks/bench_export.py [--impressions 300000]

Logs that many impressions (three per request, a context of five attributes, 3% of
them clicked) into a freshly migrated SQLite store, as the service's writer does.
Then, in the same run, ``offers.export.export_impressions`` writes them as
impressions.csv, and the baseline dumps the same impressions table with sqlite3 and
csv.writer, the context left as its stored JSON text: what reading and writing the
rows costs before any of the export's work (flags from the events and conversions,
context columns from a first pass over the contexts, spreadsheet-safe text). Prints
seconds, rows per second (an untraced run) and peak memory (a second run, under
tracemalloc) of each, and their ratios.
"""

import argparse
import csv
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offers.export import export_impressions  # noqa: E402
from offers.feedback import FeedbackBatch, record_feedback  # noqa: E402
from offers.progress import progress  # noqa: E402
from offers.store import Shop, Store  # noqa: E402

SHOP = "bench"
PER_REQUEST = 3
BATCH_REQUESTS = 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impressions", type=int, default=300_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="encore-bench-export-") as scratch:
        folder = Path(scratch)
        database = folder / "log.db"
        store = Store.open(f"sqlite:///{database}")
        try:
            _log(store, args.impressions // PER_REQUEST)
            export_s, export_mb = _measured(
                lambda: export_impressions(store, SHOP, folder / "export.csv")
            )
        finally:
            store.close()
        dump_s, dump_mb = _measured(lambda: _dump(database, folder / "dump.csv"))
    n = args.impressions // PER_REQUEST * PER_REQUEST
    print(f"{n:,} impressions on SQLite")
    for name, seconds, peak in (
        ("encore export", export_s, export_mb),
        ("sqlite3 dump", dump_s, dump_mb),
    ):
        print(f"{name:14} {seconds:6.1f} s  {n / seconds:9,.0f} rows/s  peak {peak:6.1f} MB")
    print(f"export / dump: {export_s / dump_s:.2f} in time, {export_mb / dump_mb:.2f} in memory")


def _log(store: Store, n_requests: int) -> None:
    """What the service logs for ``n_requests`` rankings, and their clicks and conversions."""
    store.save_shop(Shop(SHOP, "Bench", "pk_bench_1"), "sk_bench_1")
    start = datetime(2026, 1, 1)
    for first in progress(range(0, n_requests, BATCH_REQUESTS), desc="logging", unit="batch"):
        batch = FeedbackBatch()
        for n in range(first, min(first + BATCH_REQUESTS, n_requests)):
            at = start + timedelta(seconds=n)
            context = {
                "channel": ("web", "app")[n % 2],
                "country": ("DE", "FR", "NL")[n % 3],
                "device": ("mobile", "desktop")[n % 5 == 0],
                "is_returning": n % 4 == 0,
                "n_items": 1 + n % 6,
            }
            for position in range(1, PER_REQUEST + 1):
                offer = f"offer-{(n + position) % 40}"
                batch.impressions.append(
                    {
                        "request_id": f"r{n:09d}",
                        "offer_id": offer,
                        "shop_id": SHOP,
                        "shown_at": at,
                        "customer_id": f"c{n % 50_000}",
                        "placement": "thank_you",
                        "kind": "partner",
                        "position": position,
                        "propensity": 1.0,
                        "score": 0.1,
                        "model_version": "v1",
                        "context": context,
                    }
                )
                if (n * PER_REQUEST + position) % 33 == 0:
                    batch.events.append(
                        {
                            "id": f"click-{n}-{position}",
                            "shop_id": SHOP,
                            "request_id": f"r{n:09d}",
                            "offer_id": offer,
                            "customer_id": f"c{n % 50_000}",
                            "type": "click",
                            "at": at + timedelta(seconds=30),
                        }
                    )
        record_feedback(store, batch)


def _dump(database: Path, out: Path) -> None:
    with sqlite3.connect(database) as connection, out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        rows = connection.execute(
            "SELECT request_id, shown_at, customer_id, placement, offer_id, position, "
            "propensity, context FROM impressions WHERE shop_id = ? ORDER BY shown_at",
            (SHOP,),
        )
        writer.writerows(rows)


def _measured(run: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds of ``run()``, then the peak traced megabytes of a second run."""
    started = time.perf_counter()
    run()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return seconds, peak


if __name__ == "__main__":
    main()
