"""Write feedback rows (requests, impressions, events, conversions) straight into a store.

Tests that check counts drive known rows in with these, then compare every figure
with a hand count.
"""

from datetime import datetime
from functools import partial

import msgspec
from sqlalchemy import insert

from offers import schema
from offers.catalog import Offer
from offers.csat import record_csat
from offers.store import Store


def add_request(
    store: Store,
    request_id: str,
    at: datetime,
    *,
    shop_id: str = "shop",
    customer_id: str = "c1",
    placement: str = "thank_you",
    model_version: str = "v1",
    holdout: bool = False,
    order_total: float = 50.0,
    n_offers: int = 0,
    order_id: str | None = None,
) -> None:
    """A rank request; its order id is ``order-<request_id>`` unless given."""
    _insert(
        store,
        schema.rank_requests,
        id=request_id,
        shop_id=shop_id,
        at=at,
        placement=placement,
        order_id=f"order-{request_id}" if order_id is None else order_id,
        customer_id=customer_id,
        order_total=order_total,
        holdout=holdout,
        model_version=model_version,
        n_offers=n_offers,
    )


def impression_row(
    request_id: str, offer_id: str, customer_id: str, shown_at: datetime, *, shop_id: str = "shop"
) -> dict:
    """An impression row as the service's log queues it."""
    return {
        "request_id": request_id,
        "offer_id": offer_id,
        "shop_id": shop_id,
        "shown_at": shown_at,
        "customer_id": customer_id,
        "placement": "thank_you",
        "kind": "partner",
        "position": 1,
        "propensity": 1.0,
        "score": 0.5,
        "model_version": "v",
        "context": {},
    }


def add_impression(
    store: Store,
    request_id: str,
    offer_id: str,
    shown_at: datetime,
    *,
    shop_id: str = "shop",
    customer_id: str = "c1",
    kind: str = "partner",
    placement: str = "thank_you",
    model_version: str = "v1",
    position: int = 1,
) -> None:
    _insert(
        store,
        schema.impressions,
        request_id=request_id,
        offer_id=offer_id,
        shop_id=shop_id,
        shown_at=shown_at,
        customer_id=customer_id,
        placement=placement,
        kind=kind,
        position=position,
        propensity=1.0,
        score=0.5,
        model_version=model_version,
        context={},
    )


def add_event(
    store: Store,
    request_id: str,
    offer_id: str,
    type_: str,
    at: datetime,
    *,
    shop_id: str = "shop",
    customer_id: str = "c1",
) -> None:
    _insert(
        store,
        schema.events,
        id=f"{request_id}:{offer_id}:{type_}",
        shop_id=shop_id,
        request_id=request_id,
        offer_id=offer_id,
        customer_id=customer_id,
        type=type_,
        at=at,
    )


def add_conversion(
    store: Store,
    request_id: str,
    offer_id: str,
    revenue: float,
    at: datetime,
    *,
    shop_id: str = "shop",
    customer_id: str = "c1",
) -> None:
    _insert(
        store,
        schema.conversions,
        id=f"{request_id}:{offer_id}",
        shop_id=shop_id,
        request_id=request_id,
        offer_id=offer_id,
        customer_id=customer_id,
        order_id=f"later-{request_id}",
        revenue=revenue,
        at=at,
    )


def seed_known_feedback(store: Store, shop_id: str = "shop") -> None:
    """Five transactions from 2024-03-01 to 2024-03-03 (two holdout), and rows that must not count.

    The hand count of every figure is in ``tests/offers/test_reports.py``.
    """
    request = partial(add_request, store, shop_id=shop_id)
    impression = partial(add_impression, store, shop_id=shop_id)
    event = partial(add_event, store, shop_id=shop_id)
    conversion = partial(add_conversion, store, shop_id=shop_id)
    store.save_offers(
        shop_id,
        [
            msgspec.convert({"id": "A", "kind": "cross_sell", "title": "A", "sku": "S9"}, Offer),
            msgspec.convert({"id": "B", "kind": "partner", "title": "B", "advertiser": "x"}, Offer),
            msgspec.convert({"id": "C", "kind": "partner", "title": "C", "advertiser": "y"}, Offer),
        ],
    )
    request("r1", datetime(2024, 3, 1, 10), customer_id="c1", model_version="v1")
    request("r2", datetime(2024, 3, 1, 23, 30), customer_id="c2", model_version="v1")
    request(
        "r3",
        datetime(2024, 3, 2, 9),
        customer_id="c3",
        model_version="v2",
        placement="order_status",
    )
    request("r4", datetime(2024, 3, 2, 12), customer_id="c4", model_version="v2", holdout=True)
    request(
        "r5",
        datetime(2024, 3, 3, 23, 59, 59),
        customer_id="c5",
        model_version="v2",
        holdout=True,
    )
    # Outside the window (before, and the first moment after) or another shop's.
    request("r6", datetime(2024, 2, 29, 23, 59, 59), customer_id="c6")
    request("r8", datetime(2024, 3, 4), customer_id="c8")
    request("r7", datetime(2024, 3, 2), shop_id="other")

    for request_id, offer_id, kind in [
        ("r1", "A", "cross_sell"),
        ("r1", "B", "partner"),
        ("r2", "A", "cross_sell"),
        ("r2", "C", "partner"),
        ("r3", "B", "partner"),
        ("r6", "A", "cross_sell"),
        ("r8", "A", "cross_sell"),
    ]:
        impression(request_id, offer_id, datetime(2024, 3, 1), kind=kind)
    impression("r7", "A", datetime(2024, 3, 2), shop_id="other")

    for request_id, offer_id, type_ in [
        ("r1", "A", "view"),
        ("r1", "B", "view"),
        ("r2", "A", "view"),
        ("r3", "B", "view"),
        ("r1", "A", "click"),
        ("r3", "B", "click"),
        ("r2", "A", "dismiss"),
        ("r6", "A", "view"),
        ("r6", "A", "click"),
        ("r8", "A", "click"),
    ]:
        event(request_id, offer_id, type_, datetime(2024, 3, 2))
    # The morning after a late order: still counts with the order's day.
    event("r2", "C", "click", datetime(2024, 3, 5, 0, 10))
    event("r7", "A", "click", datetime(2024, 3, 2), shop_id="other")

    conversion("r1", "A", 30.0, datetime(2024, 3, 1, 12))
    conversion("r2", "C", 12.5, datetime(2024, 3, 4))  # after `until`, still counts
    conversion("r3", "B", 20.0, datetime(2024, 3, 2, 10))
    conversion("r4", "A", 8.0, datetime(2024, 3, 2, 13))  # holdout: bought anyway
    conversion("r6", "A", 100.0, datetime(2024, 3, 1))
    conversion("r8", "A", 100.0, datetime(2024, 3, 4))
    conversion("r7", "A", 100.0, datetime(2024, 3, 2), shop_id="other")

    at = datetime(2024, 3, 5)
    for request_id, score in [("r1", 5), ("r2", 3), ("r4", 4), ("r5", 2), ("r6", 1)]:
        assert record_csat(store, shop_id, request_id, score, at) is True


def _insert(store: Store, table, **row) -> None:
    with store.engine.begin() as connection:
        connection.execute(insert(table), [row])
