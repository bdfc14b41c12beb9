"""CPU cost of writing the feedback log to SQLite, against the driver's own floor.

    python benchmarks/bench_feedback_log.py [--requests 60000] [--rounds 3]

Writes what that many rank requests log (a request row and two impressions
each, ids from the service's generator, a new customer each) in 500-row
transactions, as the service's writer does (``offers.feedback.write_feedback``),
into a freshly migrated store. The baseline, in the same run, writes the same
rows with sqlite3's ``executemany`` of ready-made tuples into another migrated
store (same tables and indexes): what any writer pays SQLite itself. Prints CPU
microseconds per request for both, and their ratio; medians over the rounds.
"""

import argparse
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from offers.feedback import FeedbackBatch, write_feedback  # noqa: E402
from offers.schema import impressions, rank_requests  # noqa: E402
from offers.store import Store  # noqa: E402
from widget.request_ids import new_request_id  # noqa: E402

REQUESTS_PER_BATCH = 167  # ~500 rows, the service's batch
CONTEXT = {"channel": "web", "country": "DE", "device": "mobile", "currency": "EUR"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    service_us, floor_us = [], []
    for _ in range(args.rounds):
        batches = _batches(args.requests)
        with tempfile.TemporaryDirectory(prefix="encore-bench-log-") as folder:
            service_us.append(_service_writer(Path(folder) / "service.db", batches))
            floor_us.append(_driver_floor(Path(folder) / "floor.db", batches))
    service, floor = statistics.median(service_us), statistics.median(floor_us)
    print(f"{args.requests:,} requests (1 request row + 2 impressions each), 500-row transactions")
    print(f"service writer (write_feedback): {service:6.1f} us CPU per request")
    print(f"driver floor (executemany):      {floor:6.1f} us CPU per request")
    print(f"service / floor: {service / floor:.2f}")


def _batches(n_requests: int) -> list[FeedbackBatch]:
    start = datetime(2026, 1, 1)
    batches = []
    for first in range(0, n_requests, REQUESTS_PER_BATCH):
        batch = FeedbackBatch()
        for n in range(first, min(first + REQUESTS_PER_BATCH, n_requests)):
            request_id, customer = new_request_id(), os.urandom(8).hex()
            at = start + timedelta(milliseconds=n)
            batch.rank_requests.append(_request(request_id, customer, at))
            batch.impressions += [
                _impression(request_id, offer_id, customer, at, position)
                for position, offer_id in enumerate(("offer-a", "offer-b"), start=1)
            ]
        batches.append(batch)
    return batches


def _service_writer(path: Path, batches: list[FeedbackBatch]) -> float:
    store = Store.open(f"sqlite:///{path}")
    store.migrate()
    try:
        with store.engine.connect() as connection:
            started = time.process_time()
            for batch in batches:
                with connection.begin():
                    write_feedback(connection, batch)
            return _per_request(time.process_time() - started, batches)
    finally:
        store.close()


def _driver_floor(path: Path, batches: list[FeedbackBatch]) -> float:
    store = Store.open(f"sqlite:///{path}")
    store.migrate()
    store.close()
    tables = [(rank_requests, "rank_requests"), (impressions, "impressions")]
    ready = [
        [[_plain(row, table) for row in getattr(batch, name)] for table, name in tables]
        for batch in batches
    ]
    statements = [
        f"INSERT OR IGNORE INTO {table.name} VALUES ({', '.join('?' * len(table.columns))})"
        for table, _name in tables
    ]
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    try:
        started = time.process_time()
        for rows_of_tables in ready:
            connection.execute("BEGIN")
            for statement, rows in zip(statements, rows_of_tables, strict=True):
                connection.executemany(statement, rows)
            connection.execute("COMMIT")
        return _per_request(time.process_time() - started, batches)
    finally:
        connection.close()


def _plain(row: dict[str, Any], table: Any) -> tuple:
    values = []
    for column in table.columns:
        value = row[column.name]
        if isinstance(value, datetime):
            value = value.isoformat(" ")
        elif isinstance(value, dict):
            value = json.dumps(value)
        values.append(value)
    return tuple(values)


def _per_request(seconds: float, batches: list[FeedbackBatch]) -> float:
    return seconds * 1e6 / sum(len(batch.rank_requests) for batch in batches)


def _request(request_id: str, customer: str, at: datetime) -> dict[str, Any]:
    return {
        "id": request_id,
        "shop_id": "demo",
        "at": at,
        "placement": "thank_you",
        "order_id": f"order-{request_id}",
        "customer_id": customer,
        "order_total": 42.5,
        "holdout": False,
        "model_version": "bench",
        "n_offers": 2,
    }


def _impression(
    request_id: str, offer_id: str, customer: str, at: datetime, position: int
) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "offer_id": offer_id,
        "shop_id": "demo",
        "shown_at": at,
        "customer_id": customer,
        "placement": "thank_you",
        "kind": "cross_sell",
        "position": position,
        "propensity": 1.0,
        "score": 0.3,
        "model_version": "bench",
        "context": CONTEXT,
    }


if __name__ == "__main__":
    main()
