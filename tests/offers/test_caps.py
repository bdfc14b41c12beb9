from datetime import datetime, timedelta

import msgspec
import pytest

from offers.caps import OfferUsage, load_lifetime_usage
from offers.catalog import Offer
from offers.targeting import OrderContext, eligible_offers
from tests.feedback import add_conversion, add_impression
from widget.recent import RecentActivity

AT = datetime(2024, 3, 8, 12, 0)


def make_offer(offer_id: str, **fields: object) -> Offer:
    base = {"id": offer_id, "kind": "partner", "title": "Offer", "advertiser": "Ads", "value": 10.0}
    return msgspec.convert({**base, **fields}, Offer)


def seed_impressions(store) -> None:
    shown = [
        ("r1", AT - timedelta(hours=1)),
        ("r2", AT - timedelta(hours=23, minutes=59)),
        ("r3", AT - timedelta(hours=24)),  # out of the 24 h window, in the week
        ("r4", AT - timedelta(days=6, hours=23)),
        ("r5", AT - timedelta(days=7)),  # out of the week
        ("r6", AT + timedelta(minutes=1)),  # after the request
    ]
    for request_id, shown_at in shown:
        add_impression(store, request_id, "A", shown_at)
    add_impression(store, "r7", "A", AT, customer_id="c2")
    add_impression(store, "r8", "B", AT - timedelta(hours=1))
    add_impression(store, "r9", "A", AT, shop_id="other")
    for n in range(3):
        add_conversion(store, f"r{n + 1}", "B", 99.0, AT)
    add_conversion(store, "r1", "A", 99.0, AT)
    add_conversion(store, "r9", "B", 99.0, AT, shop_id="other")


def test_lifetime_usage_counts_every_impression_and_conversion_of_the_shop(store) -> None:
    seed_impressions(store)
    offers = [
        make_offer(offer_id, caps={"total_impressions": 100, "budget": 100})
        for offer_id in ("A", "B", "C")
    ]
    usage = load_lifetime_usage(store, "shop", offers)
    assert dict(usage.total_impressions) == {"A": 7, "B": 1}
    assert dict(usage.conversions) == {"A": 1, "B": 3}
    assert (dict(usage.customer_day), dict(usage.customer_week)) == ({}, {})


def test_lifetime_usage_counts_only_what_the_offers_caps_need(store) -> None:
    seed_impressions(store)
    offers = [
        make_offer("A", caps={"per_customer_per_day": 5}),
        make_offer("B", caps={"budget": 100}),
        make_offer("C"),
    ]
    usage = load_lifetime_usage(store, "shop", offers)
    assert usage == OfferUsage(total_impressions={}, conversions={"B": 3})


@pytest.mark.parametrize(
    ("caps", "kind", "shown"),
    [
        pytest.param({"per_customer_per_day": 3}, "partner", True, id="day cap 3 after 2"),
        pytest.param({"per_customer_per_day": 2}, "partner", False, id="day cap 2 after 2"),
        pytest.param({"per_customer_per_week": 5}, "partner", True, id="week cap 5 after 4"),
        pytest.param({"per_customer_per_week": 4}, "partner", False, id="week cap 4 after 4"),
        pytest.param({"total_impressions": 8}, "partner", True, id="total cap 8 after 7"),
        pytest.param({"total_impressions": 7}, "partner", False, id="total cap 7 after 7"),
        pytest.param({"budget": 10.01}, "partner", True, id="budget above spend"),
        pytest.param({"budget": 10}, "partner", False, id="budget equal to spend"),
        pytest.param({"budget": 10}, "cross_sell", True, id="cross-sell budget unused"),
    ],
)
def test_caps_from_the_store_show_or_hide_the_offer(
    store, caps: dict, kind: str, shown: bool
) -> None:
    seed_impressions(store)
    extra = {"sku": "S9", "advertiser": None} if kind == "cross_sell" else {}
    offer = make_offer("A", kind=kind, caps=caps, **extra)
    context = OrderContext(
        shop_id="shop",
        placement="thank_you",
        country="FR",
        device="mobile",
        order_total=50.0,
        categories=frozenset(),
        skus=frozenset(),
        customer_id="c1",
        is_returning=None,
        at=AT,
    )
    recent = RecentActivity(store, "shop", dismiss_days=30)
    recent.apply(recent.fetch([offer], AT))
    eligible, _ = eligible_offers([offer], context, recent.usage("c1", AT))
    assert (eligible == [offer]) is shown
