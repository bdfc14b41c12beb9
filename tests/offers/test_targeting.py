from datetime import datetime

import msgspec
import pytest
from msgspec.structs import replace

from offers.caps import OfferUsage
from offers.catalog import Offer
from offers.targeting import OrderContext, eligible_offers, exclusion_reason, screen, target

AT = datetime(2024, 3, 1, 12, 0)
CONTEXT = OrderContext(
    shop_id="shop",
    placement="thank_you",
    country="FR",
    device="mobile",
    order_total=50.0,
    categories=frozenset({"shoes", "socks"}),
    skus=frozenset({"S1", "S2"}),
    customer_id="c1",
    is_returning=False,
    at=AT,
)
NO_USAGE = OfferUsage()


def make_offer(**fields: object) -> Offer:
    base = {"id": "o1", "kind": "partner", "title": "Offer", "advertiser": "Ads", "value": 10.0}
    return msgspec.convert({**base, **fields}, Offer)


RULE_CASES = [
    pytest.param({}, {}, None, id="no rules"),
    pytest.param({"status": "active"}, {}, None, id="status active"),
    pytest.param({"status": "paused"}, {}, "status paused", id="status paused"),
    pytest.param({"status": "archived"}, {}, "status archived", id="status archived"),
    pytest.param({"starts_at": "2024-03-01T12:00:00"}, {}, None, id="starts now"),
    pytest.param(
        {"starts_at": "2024-03-01T12:00:01"},
        {},
        "starts 2024-03-01 12:00 UTC",
        id="starts later",
    ),
    pytest.param({"ends_at": "2024-03-01T12:00:01"}, {}, None, id="ends later"),
    pytest.param(
        {"ends_at": "2024-03-01T12:00:00"}, {}, "ended 2024-03-01 12:00 UTC", id="ends now"
    ),
    pytest.param({"starts_at": "2024-03-01T14:00:00+02:00"}, {}, None, id="aware start reached"),
    pytest.param(
        {"starts_at": "0001-01-01T00:00:00+01:00", "ends_at": "9999-12-31T23:59:59-14:00"},
        {},
        None,
        id="bounds whose utc is off the calendar",
    ),
    pytest.param(
        {"ends_at": "2024-03-01T00:00:00"},
        {"at": datetime.fromisoformat("9999-12-31T23:59:59-14:00")},
        "ended 2024-03-01 00:00 UTC",
        id="an order time whose utc is off the calendar",
    ),
    pytest.param(
        {"starts_at": "2024-03-01T12:30:00+00:30"}, {}, None, id="aware start is utc 12:00"
    ),
    pytest.param(
        {"ends_at": "2024-03-01T13:00:00+01:00"},
        {},
        "ended 2024-03-01 12:00 UTC",
        id="aware end",
    ),
    pytest.param(
        {"starts_at": "2024-03-01T00:00:00"},
        {"at": datetime.fromisoformat("2024-03-01T01:00:00+02:00")},
        "starts 2024-03-01 00:00 UTC",
        id="aware context time",
    ),
    pytest.param({"targeting": {"placements": ["thank_you"]}}, {}, None, id="placement in"),
    pytest.param(
        {"targeting": {"placements": ["order_status"]}},
        {},
        "placement thank_you not in [order_status]",
        id="placement out",
    ),
    pytest.param({"targeting": {"placements": []}}, {}, None, id="placement empty list"),
    pytest.param({"targeting": {"countries": ["fr", "BE"]}}, {}, None, id="country in any case"),
    pytest.param(
        {"targeting": {"countries": ["FR", "BE"]}},
        {"country": "de"},
        "country DE not in [FR, BE]",
        id="country out",
    ),
    pytest.param(
        {"targeting": {"countries": ["FR"]}},
        {"country": ""},
        "country unknown not in [FR]",
        id="country unknown",
    ),
    pytest.param(
        {"targeting": {"currencies": ["eur"], "min_order_total": 50}},
        {"currency": "EUR"},
        None,
        id="currency in any case",
    ),
    pytest.param(
        {"targeting": {"currencies": ["EUR"], "min_order_total": 50}},
        {"currency": "JPY"},
        "currency JPY not in [EUR]",
        id="a total bound in euros does not admit 50 yen",
    ),
    pytest.param(
        {"targeting": {"currencies": ["EUR"]}},
        {},
        "currency unknown not in [EUR]",
        id="currency unknown",
    ),
    pytest.param({"targeting": {"min_order_total": 50}}, {}, None, id="min total inclusive"),
    pytest.param(
        {"targeting": {"min_order_total": 50.01}},
        {},
        "order total 50 below minimum 50.01",
        id="min total above",
    ),
    pytest.param({"targeting": {"max_order_total": 50}}, {}, None, id="max total inclusive"),
    pytest.param(
        {"targeting": {"max_order_total": 49.99}},
        {},
        "order total 50 above maximum 49.99",
        id="max total below",
    ),
    pytest.param(
        {"targeting": {"required_categories": ["bags", "socks"]}},
        {},
        None,
        id="category required",
    ),
    pytest.param(
        {"targeting": {"required_categories": ["bags"]}},
        {},
        "no basket category in [bags]",
        id="category required missing",
    ),
    pytest.param(
        {"targeting": {"excluded_categories": ["bags"]}},
        {},
        None,
        id="category excluded absent",
    ),
    pytest.param(
        {"targeting": {"excluded_categories": ["bags", "socks"]}},
        {},
        "basket category socks excluded",
        id="category excluded present",
    ),
    pytest.param({"targeting": {"required_skus": ["S9", "S2"]}}, {}, None, id="sku required"),
    pytest.param(
        {"targeting": {"required_skus": ["S9"]}},
        {},
        "no basket sku in [S9]",
        id="sku required missing",
    ),
    pytest.param({"targeting": {"excluded_skus": ["S9"]}}, {}, None, id="sku excluded absent"),
    pytest.param(
        {"targeting": {"excluded_skus": ["S1"]}},
        {},
        "basket sku S1 excluded",
        id="sku excluded present",
    ),
    pytest.param({"targeting": {"customer": "new"}}, {}, None, id="new customer"),
    pytest.param(
        {"targeting": {"customer": "new"}},
        {"is_returning": True},
        "customer returning, offer targets new",
        id="new offer returning customer",
    ),
    pytest.param(
        {"targeting": {"customer": "returning"}},
        {"is_returning": True},
        None,
        id="returning customer",
    ),
    pytest.param(
        {"targeting": {"customer": "returning"}},
        {},
        "customer new, offer targets returning",
        id="returning offer new customer",
    ),
    pytest.param(
        {"targeting": {"customer": "new"}},
        {"is_returning": None},
        None,
        id="unknown counts as new",
    ),
    pytest.param(
        {"targeting": {"customer": "returning"}},
        {"is_returning": None, "customer_id": None},
        "customer new, offer targets returning",
        id="guest is not returning",
    ),
    pytest.param({"targeting": {"devices": ["Mobile"]}}, {}, None, id="device in any case"),
    pytest.param(
        {"targeting": {"devices": ["desktop"]}},
        {},
        "device mobile not in [desktop]",
        id="device out",
    ),
    pytest.param(
        {"targeting": {"devices": ["desktop"]}},
        {"device": ""},
        "device unknown not in [desktop]",
        id="device unknown",
    ),
    pytest.param(
        {"kind": "cross_sell", "sku": "S3", "advertiser": None},
        {},
        None,
        id="cross-sell new sku",
    ),
    pytest.param(
        {"kind": "cross_sell", "sku": "S1", "advertiser": None},
        {},
        "sku S1 already in the order",
        id="cross-sell sku in basket",
    ),
    pytest.param(
        {"targeting": {"countries": ["FR"], "min_order_total": 10, "devices": ["mobile"]}},
        {},
        None,
        id="all rules hold",
    ),
    pytest.param(
        {"targeting": {"countries": ["FR"], "min_order_total": 100, "devices": ["desktop"]}},
        {},
        "device mobile not in [desktop]",
        id="first failing rule is the reason",
    ),
    pytest.param(
        {"status": "paused", "targeting": {"countries": ["DE"]}},
        {},
        "status paused",
        id="status before targeting",
    ),
]


@pytest.mark.parametrize(("fields", "context", "expected"), RULE_CASES)
def test_each_targeting_rule_shows_or_hides_the_offer(
    fields: dict, context: dict, expected: str | None
) -> None:
    offer = make_offer(**fields)
    assert exclusion_reason(offer, replace(CONTEXT, **context), NO_USAGE) == expected


@pytest.mark.parametrize(("fields", "context", "expected"), RULE_CASES)
def test_screen_keeps_an_offer_exactly_when_no_rule_excludes_it(
    fields: dict, context: dict, expected: str | None
) -> None:
    offer = make_offer(**fields)
    kept = screen([target(offer)], replace(CONTEXT, **context), NO_USAGE)
    assert kept == ([offer] if expected is None else [])


CAP_CASES = [
    pytest.param(
        {"caps": {"per_customer_per_day": 2}},
        OfferUsage(customer_day={"o1": 1}, customer_week={"o1": 1}),
        {},
        None,
        id="day cap below",
    ),
    pytest.param(
        {"caps": {"per_customer_per_day": 2}},
        OfferUsage(customer_day={"o1": 2}, customer_week={"o1": 2}),
        {},
        "shown 2 times to this customer in 24 h (cap 2)",
        id="day cap reached",
    ),
    pytest.param(
        {"caps": {"per_customer_per_day": 0}},
        NO_USAGE,
        {},
        "shown 0 times to this customer in 24 h (cap 0)",
        id="day cap zero",
    ),
    pytest.param(
        {"caps": {"per_customer_per_day": 2}},
        OfferUsage(customer_day={"o1": 5}),
        {"customer_id": None},
        None,
        id="day cap does not apply to a guest",
    ),
    pytest.param(
        {"caps": {"per_customer_per_week": 3}},
        OfferUsage(customer_week={"o1": 2}),
        {},
        None,
        id="week cap below",
    ),
    pytest.param(
        {"caps": {"per_customer_per_week": 3}},
        OfferUsage(customer_week={"o1": 3}),
        {},
        "shown 3 times to this customer in 7 days (cap 3)",
        id="week cap reached",
    ),
    pytest.param(
        {"caps": {"total_impressions": 100}},
        OfferUsage(total_impressions={"o1": 99}),
        {},
        None,
        id="total cap below",
    ),
    pytest.param(
        {"caps": {"total_impressions": 100}},
        OfferUsage(total_impressions={"o1": 100}),
        {},
        "100 impressions (cap 100)",
        id="total cap reached",
    ),
    pytest.param(
        {"caps": {"total_impressions": 100}},
        OfferUsage(total_impressions={"o1": 100}),
        {"customer_id": None},
        "100 impressions (cap 100)",
        id="total cap applies to a guest",
    ),
    pytest.param(
        {"caps": {"budget": 100}},
        OfferUsage(conversions={"o1": 9}),
        {},
        None,
        id="budget below",
    ),
    pytest.param(
        {"caps": {"budget": 100}},
        OfferUsage(conversions={"o1": 10}),
        {},
        "budget spent: 100.00 of 100.00",
        id="budget reached",
    ),
    pytest.param(
        {"caps": {"budget": 100}, "kind": "cross_sell", "sku": "S9", "advertiser": None},
        OfferUsage(conversions={"o1": 50}),
        {},
        None,
        id="budget not used by a cross-sell",
    ),
    pytest.param(
        {"caps": {"total_impressions": 100}},
        OfferUsage(total_impressions={"other": 500}),
        {},
        None,
        id="another offer's usage",
    ),
]


@pytest.mark.parametrize(("fields", "usage", "context", "expected"), CAP_CASES)
def test_each_cap_shows_or_hides_the_offer(
    fields: dict, usage: OfferUsage, context: dict, expected: str | None
) -> None:
    offer = make_offer(**fields)
    assert exclusion_reason(offer, replace(CONTEXT, **context), usage) == expected


@pytest.mark.parametrize(("fields", "usage", "context", "expected"), CAP_CASES)
def test_screen_keeps_an_offer_exactly_when_no_cap_excludes_it(
    fields: dict, usage: OfferUsage, context: dict, expected: str | None
) -> None:
    offer = make_offer(**fields)
    kept = screen([target(offer)], replace(CONTEXT, **context), usage)
    assert kept == ([offer] if expected is None else [])


def test_eligible_offers_keeps_order_and_gives_each_excluded_reason() -> None:
    offers = [
        make_offer(id="a"),
        make_offer(id="b", targeting={"countries": ["DE"]}),
        make_offer(id="c"),
        make_offer(id="d", status="paused"),
    ]
    eligible, excluded = eligible_offers(offers, CONTEXT, NO_USAGE)
    assert [offer.id for offer in eligible] == ["a", "c"]
    assert excluded == {"b": "country FR not in [DE]", "d": "status paused"}


def test_eligible_offers_of_an_empty_catalog_is_empty() -> None:
    assert eligible_offers([], CONTEXT, NO_USAGE) == ([], {})


def test_screen_keeps_the_given_order() -> None:
    offers = [make_offer(id=name) for name in "cab"] + [
        make_offer(id="d", targeting={"countries": ["DE"]})
    ]

    assert screen([target(o) for o in offers], CONTEXT, NO_USAGE) == offers[:3]
