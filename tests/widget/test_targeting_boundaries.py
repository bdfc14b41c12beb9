"""Each targeting rule, schedule bound, status and cap, on both sides of its boundary, via HTTP.

The offer under test is the partner offer the model ranks first for the test basket
(a camera order); its rules and caps are replaced through ``PUT /v1/offers/{id}``, then
``POST /v1/rank?debug=1`` (secret key) says whether it was shown or why it was excluded.
The clock of the rank path is pinned (``widget.ranking.utcnow``) so schedule and
rolling-window boundaries are tested at the exact instant.
"""

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from offers import schema
from offers.catalog import Caps, Offer, Targeting
from offers.store import utcnow
from tests.widget.conftest import PK, SK, auth, flush_log, stored_rows

_customers = itertools.count()
NOW = utcnow().replace(microsecond=0)  # the pinned clock of the rank path
TOTAL = 150.0  # the order total sent when a case sets one


@dataclass(frozen=True)
class Basket:
    """What the cases refer to in the test basket."""

    country: str
    category: str
    sku: str
    lines_total: float


def put_offer(client: TestClient, offer: Offer) -> Offer:
    response = client.put(
        f"/v1/offers/{offer.id}", json=msgspec.to_builtins(offer), headers=auth(SK)
    )
    assert response.status_code in (200, 201), response.text
    return offer


def rank(
    client: TestClient, body: dict[str, Any], *, debug: bool = True, key: str = SK
) -> dict[str, Any]:
    url = "/v1/rank?debug=1" if debug else "/v1/rank"
    response = client.post(url, json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


def served(client: TestClient, body: dict[str, Any], offer_id: str) -> bool:
    """Whether a ranking as a page asks for it (recorded, spending caps) shows ``offer_id``;
    a ``debug=1`` ranking records nothing."""
    return offer_id in [offer["id"] for offer in rank(client, body, debug=False)["offers"]]


def verdict(answer: dict[str, Any], offer_id: str) -> str | None:
    """None when ``offer_id`` was shown, else the debug reason it was left out."""
    debug = answer["debug"]
    assert debug["shown"] == [offer["id"] for offer in answer["offers"]]
    if offer_id in debug["shown"]:
        assert offer_id not in debug["excluded"]
        return None
    return debug["excluded"][offer_id]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Set the rank path's clock (naive UTC); it starts at NOW."""

    def set_clock(moment: datetime) -> None:
        monkeypatch.setattr("widget.ranking.utcnow", lambda: moment)

    set_clock(NOW)
    return set_clock


@pytest.fixture
def basket(rank_body) -> Basket:
    order = rank_body()["order"]
    first = order["items"][0]
    lines_total = float(sum(item["price"] * item["quantity"] for item in order["items"]))
    return Basket(order["country"], first["category"], first["sku"], lines_total)


@pytest.fixture
def partner(client: TestClient, rank_body, clock) -> Offer:
    """The partner offer ranked first for the basket, stripped of every rule and cap."""
    answer = rank(client, rank_body("probe"), debug=False, key=PK)
    partners = [o["id"] for o in answer["offers"] if o["kind"] == "partner"]
    assert partners, "the test basket gets no partner offer"
    offer = client.get(f"/v1/offers/{partners[0]}", headers=auth(SK)).json()
    offer = msgspec.convert(offer, Offer)
    return put_offer(
        client,
        msgspec.structs.replace(
            offer, targeting=Targeting(), caps=Caps(), starts_at=None, ends_at=None
        ),
    )


def _body(**order: Any) -> Callable[[dict], None]:
    def edit(body: dict) -> None:
        for name, value in order.items():
            if value is None:
                body["order"].pop(name, None)
            else:
                body["order"][name] = value

    return edit


def _returning(value: bool | None) -> Callable[[dict], None]:
    def edit(body: dict) -> None:
        body["customer"]["is_returning"] = value

    return edit


def _placement(value: str) -> Callable[[dict], None]:
    def edit(body: dict) -> None:
        body["placement"] = value

    return edit


def _t(**rules: Any) -> Callable[[Basket], dict]:
    """Offer fields setting targeting ``rules``; ``{category}`` etc. name the basket's."""

    def fields(b: Basket) -> dict:
        def fill(value: Any) -> Any:
            if isinstance(value, list):
                return [fill(v) for v in value]
            if value == "LINES_TOTAL":
                return b.lines_total
            if isinstance(value, str):
                return value.format(country=b.country, category=b.category, sku=b.sku)
            return value

        return {"targeting": Targeting(**{k: fill(v) for k, v in rules.items()})}

    return fields


def _o(**fields: Any) -> Callable[[Basket], dict]:
    return lambda _b: fields


def _nothing(_body: dict) -> None:
    return None


S = timedelta(seconds=1)
# (offer fields, request edit, None = shown / the exclusion reason, formatted with the basket)
CASES = [
    # status
    pytest.param(_o(status="active"), _nothing, None, id="status active: shown"),
    pytest.param(_o(status="paused"), _nothing, "status paused", id="status paused: not"),
    pytest.param(_o(status="archived"), _nothing, "status archived", id="status archived: not"),
    # schedule: [starts_at, ends_at)
    pytest.param(_o(starts_at=NOW), _nothing, None, id="starts_at == now: shown"),
    pytest.param(_o(starts_at=NOW - S), _nothing, None, id="starts_at before now: shown"),
    pytest.param(
        _o(starts_at=NOW + S),
        _nothing,
        f"starts {(NOW + S):%Y-%m-%d %H:%M} UTC",
        id="starts_at 1 s after now: not",
    ),
    pytest.param(
        _o(starts_at=(NOW + 2 * 3600 * S).replace(tzinfo=timezone(timedelta(hours=2)))),
        _nothing,
        None,
        id="starts_at == now in +02:00: shown",
    ),
    pytest.param(_o(ends_at=NOW + S), _nothing, None, id="ends_at 1 s after now: shown"),
    pytest.param(
        _o(ends_at=NOW), _nothing, f"ended {NOW:%Y-%m-%d %H:%M} UTC", id="ends_at == now: not"
    ),
    pytest.param(
        _o(ends_at=NOW - S),
        _nothing,
        f"ended {(NOW - S):%Y-%m-%d %H:%M} UTC",
        id="ends_at before now: not",
    ),
    # placements (exact)
    pytest.param(_t(placements=["thank_you"]), _nothing, None, id="placement listed: shown"),
    pytest.param(
        _t(placements=["thank_you"]),
        _placement("order_status"),
        "placement order_status not in [thank_you]",
        id="placement not listed: not",
    ),
    pytest.param(
        _t(placements=["Thank_You"]),
        _nothing,
        "placement thank_you not in [Thank_You]",
        id="placement differs in case: not",
    ),
    # countries (case-insensitive; no country fails)
    pytest.param(_t(countries=["{country}"]), _nothing, None, id="country listed: shown"),
    pytest.param(
        _t(countries=["FR", "{country}"]), _body(country="fr"), None, id="country lower case: shown"
    ),
    pytest.param(
        _t(countries=["FR"]),
        _nothing,
        "country {country} not in [FR]",
        id="country not listed: not",
    ),
    pytest.param(
        _t(countries=["{country}"]),
        _body(country=None),
        "country unknown not in [{country}]",
        id="no country: not",
    ),
    # devices
    pytest.param(_t(devices=["mobile"]), _body(device="Mobile"), None, id="device listed: shown"),
    pytest.param(
        _t(devices=["tablet"]),
        _body(device="mobile"),
        "device mobile not in [tablet]",
        id="device not listed: not",
    ),
    pytest.param(
        _t(devices=["mobile"]), _nothing, "device unknown not in [mobile]", id="no device: not"
    ),
    # order totals (inclusive)
    pytest.param(_t(min_order_total=TOTAL), _body(total=TOTAL), None, id="total == min: shown"),
    pytest.param(
        _t(min_order_total=TOTAL),
        _body(total=TOTAL - 0.01),
        "order total 149.99 below minimum 150",
        id="total 0.01 below min: not",
    ),
    pytest.param(_t(min_order_total="LINES_TOTAL"), _nothing, None, id="lines' sum == min: shown"),
    pytest.param(_t(max_order_total=TOTAL), _body(total=TOTAL), None, id="total == max: shown"),
    pytest.param(
        _t(max_order_total=TOTAL),
        _body(total=TOTAL + 0.01),
        "order total 150.01 above maximum 150",
        id="total 0.01 above max: not",
    ),
    pytest.param(_t(max_order_total="LINES_TOTAL"), _nothing, None, id="lines' sum == max: shown"),
    # categories (exact)
    pytest.param(
        _t(required_categories=["Printers", "{category}"]),
        _nothing,
        None,
        id="required category in basket: shown",
    ),
    pytest.param(
        _t(required_categories=["Printers"]),
        _nothing,
        "no basket category in [Printers]",
        id="required category not in basket: not",
    ),
    pytest.param(
        _t(excluded_categories=["Printers"]),
        _nothing,
        None,
        id="excluded category not in basket: shown",
    ),
    pytest.param(
        _t(excluded_categories=["{category}"]),
        _nothing,
        "basket category {category} excluded",
        id="excluded category in basket: not",
    ),
    # skus (exact)
    pytest.param(
        _t(required_skus=["SKU-NOPE", "{sku}"]), _nothing, None, id="required sku in basket: shown"
    ),
    pytest.param(
        _t(required_skus=["SKU-NOPE"]),
        _nothing,
        "no basket sku in [SKU-NOPE]",
        id="required sku not in basket: not",
    ),
    pytest.param(
        _t(excluded_skus=["SKU-NOPE"]), _nothing, None, id="excluded sku not in basket: shown"
    ),
    pytest.param(
        _t(excluded_skus=["{sku}"]),
        _nothing,
        "basket sku {sku} excluded",
        id="excluded sku in basket: not",
    ),
    # customer new / returning (unknown counts as new)
    pytest.param(
        _t(customer="returning"), _returning(True), None, id="returning wanted, returning: shown"
    ),
    pytest.param(
        _t(customer="returning"),
        _returning(False),
        "customer new, offer targets returning",
        id="returning wanted, new: not",
    ),
    pytest.param(
        _t(customer="returning"),
        _returning(None),
        "customer new, offer targets returning",
        id="returning wanted, unknown: not",
    ),
    pytest.param(_t(customer="new"), _returning(False), None, id="new wanted, new: shown"),
    pytest.param(_t(customer="new"), _returning(None), None, id="new wanted, unknown: shown"),
    pytest.param(
        _t(customer="new"),
        _returning(True),
        "customer returning, offer targets new",
        id="new wanted, returning: not",
    ),
]


@pytest.mark.parametrize(("fields", "edit", "reason"), CASES)
def test_each_rule_on_both_sides_of_its_boundary(
    client: TestClient,
    rank_body,
    partner: Offer,
    basket: Basket,
    fields: Callable[[Basket], dict],
    edit: Callable[[dict], None],
    reason: str | None,
) -> None:
    put_offer(client, msgspec.structs.replace(partner, **fields(basket)))
    body = rank_body(f"boundary-{next(_customers)}")
    edit(body)
    expected = None if reason is None else reason.format(**vars(basket))
    assert verdict(rank(client, body), partner.id) == expected
    # and the plain answer (publishable key, another customer) agrees with debug
    plain = copy.deepcopy(body)
    plain["customer"]["id"] = f"plain-{next(_customers)}"
    shown = [o["id"] for o in rank(client, plain, debug=False, key=PK)["offers"]]
    assert (partner.id in shown) is (expected is None)


# caps


def _capped(client: TestClient, partner: Offer, **caps: Any) -> Offer:
    return put_offer(client, msgspec.structs.replace(partner, caps=Caps(**caps)))


def test_per_customer_per_day_cap_shows_n_times_then_not(
    client,
    rank_body,
    partner,
    clock,
) -> None:
    _capped(client, partner, per_customer_per_day=2)
    for _ in range(2):
        assert served(client, rank_body("day-capped"), partner.id)
    capped = "shown 2 times to this customer in 24 h (cap 2)"
    assert verdict(rank(client, rank_body("day-capped")), partner.id) == capped
    assert served(client, rank_body("day-other"), partner.id)
    # rolling window (at - 24 h, at]: the two impressions at NOW count until NOW + 24 h
    clock(NOW + timedelta(days=1) - timedelta(microseconds=1))
    assert verdict(rank(client, rank_body("day-capped")), partner.id) == capped
    clock(NOW + timedelta(days=1))
    assert served(client, rank_body("day-capped"), partner.id)


def test_per_customer_per_week_cap_shows_n_times_then_not(
    client,
    rank_body,
    partner,
    clock,
) -> None:
    _capped(client, partner, per_customer_per_week=2)
    assert served(client, rank_body("week-capped"), partner.id)
    clock(NOW + timedelta(days=3))  # days apart: the 24 h window alone would not stop it
    assert served(client, rank_body("week-capped"), partner.id)
    clock(NOW + timedelta(days=6))
    capped = "shown 2 times to this customer in 7 days (cap 2)"
    assert verdict(rank(client, rank_body("week-capped")), partner.id) == capped
    assert served(client, rank_body("week-other"), partner.id)
    clock(NOW + timedelta(days=7))  # the first impression leaves the window (at - 7 d, at]
    assert served(client, rank_body("week-capped"), partner.id)


def test_total_impressions_cap_counts_every_customer(client, rank_body, partner) -> None:
    # the fixture's probe request already showed the offer once (the cap counts it)
    _capped(client, partner, total_impressions=3)
    for n in range(2):
        assert served(client, rank_body(f"total-{n}"), partner.id)
    assert verdict(rank(client, rank_body("total-2")), partner.id) == "3 impressions (cap 3)"
    assert verdict(rank(client, rank_body("total-0")), partner.id) == "3 impressions (cap 3)"


def test_a_debug_ranking_records_nothing_and_spends_no_cap(
    client, rank_body, partner, database_url
) -> None:
    _capped(client, partner, per_customer_per_day=1)
    flush_log(client)
    before = [len(stored_rows(database_url, t)) for t in (schema.rank_requests, schema.impressions)]
    for _ in range(3):
        assert verdict(rank(client, rank_body("looked-at")), partner.id) is None
    flush_log(client)

    after = [len(stored_rows(database_url, t)) for t in (schema.rank_requests, schema.impressions)]
    assert after == before
    assert served(client, rank_body("looked-at"), partner.id)


def test_a_cap_of_zero_never_shows(client, rank_body, partner) -> None:
    _capped(client, partner, per_customer_per_day=0)
    reason = "shown 0 times to this customer in 24 h (cap 0)"
    assert verdict(rank(client, rank_body("zero")), partner.id) == reason
    # a customer without an id cannot be counted: per-customer caps do not apply
    assert verdict(rank(client, rank_body(None)), partner.id) is None


def test_budget_stops_a_partner_offer_once_conversions_reach_it(
    client,
    rank_body,
    partner,
) -> None:
    assert partner.value > 0
    _capped(client, partner, budget=2 * partner.value)  # two conversions spend it all

    def shown_token(customer: str) -> str:
        assert verdict(rank(client, rank_body(customer)), partner.id) is None
        answer = rank(client, rank_body(customer), debug=False)  # a debug look has no tokens
        return next(o["token"] for o in answer["offers"] if o["id"] == partner.id)

    def convert(token: str, order_id: str) -> None:
        body = {"token": token, "revenue": 40.0, "order_id": order_id}
        response = client.post("/v1/conversions", json=body, headers=auth(SK))
        assert response.status_code == 201, response.text

    convert(shown_token("budget-1"), "partner-order-1")  # spend = 1 x value < budget
    token = shown_token("budget-2")
    convert(token, "partner-order-2")  # spend = 2 x value == budget
    spent = f"budget spent: {2 * partner.value:.2f} of {2 * partner.value:.2f}"
    assert verdict(rank(client, rank_body("budget-3")), partner.id) == spent
    # a repeated conversion (same request, offer, order) is not counted twice
    again = {"token": token, "revenue": 40.0, "order_id": "partner-order-2"}
    assert client.post("/v1/conversions", json=again, headers=auth(SK)).status_code == 200
    _capped(client, partner, budget=2 * partner.value + 0.01)
    assert verdict(rank(client, rank_body("budget-4")), partner.id) is None


def test_a_per_customer_cap_added_through_the_api_applies_at_once(
    make_client,
    rank_body,
) -> None:
    """A cap set by ``PUT /v1/offers/{id}`` holds for this worker's next requests.

    The offer first has no per-customer cap through a background refresh (so the
    in-memory activity does not track its impressions), then gets one through the API.
    """
    client = make_client(extra={"refresh_seconds": 3600.0})  # no background refresh here
    answer = rank(client, rank_body("probe"), debug=False, key=PK)
    offer_id = next(o["id"] for o in answer["offers"] if o["kind"] == "partner")
    offer = msgspec.convert(client.get(f"/v1/offers/{offer_id}", headers=auth(SK)).json(), Offer)
    put_offer(client, msgspec.structs.replace(offer, caps=Caps()))
    client.portal.call(client.app_state["service"].refresh)  # as the periodic refresh does
    put_offer(client, msgspec.structs.replace(offer, caps=Caps(per_customer_per_day=1)))
    assert served(client, rank_body("late-cap"), offer_id)
    assert verdict(rank(client, rank_body("late-cap")), offer_id) == (
        "shown 1 times to this customer in 24 h (cap 1)"
    )
