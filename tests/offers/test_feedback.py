from datetime import datetime, timedelta

from sqlalchemy import func, select

from offers import schema
from offers.feedback import FeedbackBatch, record_feedback

AT = datetime(2026, 6, 1, 12, 0)  # no microseconds: stored as the driver stores them


def _batch(n_requests: int) -> FeedbackBatch:
    """A request and three impressions per request, sharing its time and context objects."""
    batch = FeedbackBatch()
    for n in range(n_requests):
        at, context = AT + timedelta(microseconds=n % 2), {"country": "FR", "n": n, "big": 2**70}
        request_id = f"r{n:04d}"
        batch.rank_requests.append(
            {
                "id": request_id,
                "shop_id": "shop",
                "at": at,
                "placement": "thank_you",
                "order_id": f"o{n}",
                "customer_id": f"c{n}",
                "order_total": 10.5,
                "holdout": n % 3 == 0,
                "model_version": "v1",
                "n_offers": 3,
            }
        )
        for position in (1, 2, 3):
            batch.impressions.append(
                {
                    "request_id": request_id,
                    "offer_id": f"o{position}",
                    "shop_id": "shop",
                    "shown_at": at,
                    "customer_id": f"c{n}",
                    "placement": "thank_you",
                    "kind": "partner",
                    "position": position,
                    "propensity": 1,
                    "score": 0.25,
                    "model_version": "v1",
                    "context": context,
                }
            )
    return batch


def _rows(store, table) -> list[dict]:
    with store.engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(table)).mappings()]


def test_a_batch_of_many_statements_round_trips(store):
    batch = _batch(250)  # more rows than one statement holds

    record_feedback(store, batch)

    stored = sorted(
        _rows(store, schema.impressions), key=lambda r: (r["request_id"], r["offer_id"])
    )
    assert stored == [{**row, "propensity": 1.0} for row in batch.impressions]
    stored = sorted(_rows(store, schema.rank_requests), key=lambda r: r["id"])
    assert stored == batch.rank_requests


def test_rows_already_stored_or_repeated_in_the_batch_are_written_once(store):
    batch = _batch(120)
    record_feedback(store, batch)
    batch.impressions.append(batch.impressions[5])

    record_feedback(store, batch)

    with store.engine.connect() as connection:
        counts = [
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (schema.rank_requests, schema.impressions)
        ]
    assert counts == [120, 360]
