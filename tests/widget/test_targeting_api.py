"""Targeting, caps and status through the ranking API: what the rank path really applies."""

import itertools
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient

from offers.catalog import Caps, Offer, Targeting
from offers.store import Store
from tests.widget.conftest import PK, SHOP_ID, SK, auth, flush_log

_customers = itertools.count()


@pytest.fixture
def shop_store(database_url: str) -> Store:
    opened = Store.open(database_url)
    yield opened
    opened.close()


def ranked_ids(
    client: TestClient, rank_body: Callable[..., dict], customer: str | None = None
) -> list[str]:
    body = rank_body(customer or f"targeting-{next(_customers)}")
    response = client.post("/v1/rank", json=body, headers=auth(PK))
    assert response.status_code == 200
    return [offer["id"] for offer in response.json()["offers"]]


def change(client: TestClient, store: Store, offer: Offer, **fields: Any) -> Offer:
    """Save a changed offer and let the service see it now (as a /v1/offers write does)."""
    changed = msgspec.structs.replace(offer, **fields)
    store.save_offers(SHOP_ID, [changed])
    service = client.app_state["service"]
    client.portal.call(service.refresh)
    return changed


@pytest.fixture
def shown_offer(client: TestClient, shop_store: Store, rank_body) -> Offer:
    """An offer the model shows for this basket to any new customer, before any change."""
    first, second = ranked_ids(client, rank_body), ranked_ids(client, rank_body)
    shown = [offer_id for offer_id in first if offer_id in second]
    assert shown, "the test basket gets no offers"
    offer = shop_store.offer(SHOP_ID, shown[0])
    # Start from no rules and no caps, so each test changes exactly one thing.
    return change(client, shop_store, offer, targeting=Targeting(), caps=Caps())


@pytest.mark.parametrize(
    ("fields", "shown"),
    [
        pytest.param({"status": "active"}, True, id="active"),
        pytest.param({"status": "paused"}, False, id="paused"),
        pytest.param({"targeting": Targeting(countries=["ZZ"])}, False, id="other country"),
        pytest.param(
            {"targeting": Targeting(placements=["order_status"])}, False, id="other placement"
        ),
        pytest.param(
            {"targeting": Targeting(min_order_total=1_000_000)}, False, id="order too small"
        ),
        pytest.param(
            {"targeting": Targeting(currencies=["eur"], min_order_total=1)}, True, id="euros"
        ),
        pytest.param(
            {"targeting": Targeting(currencies=["JPY"], min_order_total=1)}, False, id="yen"
        ),
        pytest.param({"targeting": Targeting(customer="new")}, False, id="new customers only"),
        pytest.param(
            {"targeting": Targeting(customer="returning")}, True, id="returning customers"
        ),
        pytest.param({"caps": Caps(total_impressions=0)}, False, id="total cap reached"),
    ],
)
def test_the_rank_path_applies_status_targeting_and_caps(
    client,
    shop_store,
    rank_body,
    shown_offer: Offer,
    fields: dict,
    shown: bool,
) -> None:
    change(client, shop_store, shown_offer, **fields)
    assert (shown_offer.id in ranked_ids(client, rank_body)) is shown


def test_a_per_customer_daily_cap_of_one_shows_an_offer_once(
    client, shop_store, rank_body, shown_offer
) -> None:
    change(client, shop_store, shown_offer, caps=Caps(per_customer_per_day=1))
    assert shown_offer.id in ranked_ids(client, rank_body, "capped-customer")
    assert shown_offer.id not in ranked_ids(client, rank_body, "capped-customer")
    assert shown_offer.id in ranked_ids(client, rank_body, "another-customer")


def debug_rank(client: TestClient, body: dict, key: str = SK) -> dict[str, Any]:
    response = client.post("/v1/rank?debug=1", json=body, headers=auth(key))
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"status": "paused"}, "status paused", id="paused"),
        pytest.param(
            {"targeting": Targeting(countries=["ZZ", "YY"])},
            "country {country} not in [ZZ, YY]",
            id="other country",
        ),
        pytest.param(
            {"targeting": Targeting(placements=["order_status"])},
            "placement thank_you not in [order_status]",
            id="other placement",
        ),
        pytest.param(
            {"targeting": Targeting(customer="new")},
            "customer returning, offer targets new",
            id="new customers only",
        ),
        # the fixture showed the offer twice
        pytest.param({"caps": Caps(total_impressions=2)}, "2 impressions (cap 2)", id="total cap"),
    ],
)
def test_debug_says_why_an_offer_was_excluded(
    client, shop_store, rank_body, shown_offer: Offer, fields: dict, reason: str
) -> None:
    flush_log(client)  # the fixture's two impressions are in the store before the refresh
    change(client, shop_store, shown_offer, **fields)
    body = rank_body("debug-customer")
    answer = debug_rank(client, body)
    debug = answer["debug"]
    assert debug["excluded"][shown_offer.id] == reason.format(country=body["order"]["country"])
    assert shown_offer.id not in debug["shown"]
    assert debug["shown"] == [offer["id"] for offer in answer["offers"]]
    assert debug["holdout"] is False
    assert debug["max_offers"] == 3


def test_debug_names_dismissed_offers_and_the_policy_cut(
    client, rank_body, shown_offer: Offer
) -> None:
    first = client.post("/v1/rank", json=rank_body("dismisser"), headers=auth(PK)).json()
    token = next(o["token"] for o in first["offers"] if o["id"] == shown_offer.id)
    events = {"events": [{"type": "dismiss", "token": token}]}
    assert client.post("/v1/events", json=events, headers=auth(PK)).status_code == 202
    debug = debug_rank(client, rank_body("dismisser"))["debug"]
    assert debug["excluded"][shown_offer.id] == "dismissed by this customer"
    # Every eligible, scored offer that is not shown says why: under the floor, or cut.
    cut = {k: v for k, v in debug["excluded"].items() if v.startswith("relevance ")}
    assert len(cut) == debug["candidates"] - len(debug["shown"])
    assert all(
        v.endswith("below the floor 0.02")
        or v.endswith("cut by the cap of 3 offers or the diversity rules")
        for v in cut.values()
    )


def test_debug_needs_the_secret_key(client, rank_body) -> None:
    response = client.post("/v1/rank?debug=1", json=rank_body(), headers=auth(PK))
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "debug"
    plain = client.post("/v1/rank", json=rank_body(), headers=auth(SK)).json()
    assert "debug" not in plain


def test_a_debug_ranking_hands_out_no_token_a_click_or_dismissal_could_count(
    client, rank_body
) -> None:
    catalog = client.app_state["service"].catalog.by_id
    body = rank_body("debug-look")

    ranked = debug_rank(client, body)["offers"]
    widget = client.post("/v1/widget?debug=1", json=body, headers=auth(SK)).json()

    assert ranked
    assert [offer["token"] for offer in ranked] == [""] * len(ranked)
    assert [offer["click_url"] for offer in ranked] == [
        catalog[offer["id"]].cta_url for offer in ranked
    ]
    assert widget["offers"] and {offer["token"] for offer in widget["offers"]} == {""}
    assert "/v1/click/" not in widget["html"] and "data-encore-csat" not in widget["html"]


@pytest.mark.parametrize("value", ["0", "False", "no", "OFF", ""])
def test_debug_switched_off_in_any_usual_spelling_ranks_for_a_page(client, rank_body, value):
    response = client.post(f"/v1/rank?debug={value}", json=rank_body(), headers=auth(PK))

    assert response.status_code == 200
    assert "debug" not in response.json()


@pytest.mark.parametrize("value", ["1", "True", "yes", "ON"])
def test_debug_switched_on_in_any_usual_spelling_explains(client, rank_body, value):
    response = client.post(f"/v1/rank?debug={value}", json=rank_body(), headers=auth(SK))

    assert "excluded" in response.json()["debug"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        pytest.param("debug=maybe", "`debug` must be 1 or 0 (or true, yes, on), got `maybe`"),
        pytest.param("debug=1&debug=0", "`debug` is given more than once", id="given twice"),
    ],
)
def test_a_debug_value_that_is_not_one_yes_or_no_is_422(client, rank_body, query, message):
    response = client.post(f"/v1/rank?{query}", json=rank_body(), headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid", "message": message, "field": "debug"}


def test_debug_explains_the_widget_and_the_holdout(make_client, rank_body) -> None:
    client = make_client(holdout_share=1.0)
    response = client.post("/v1/widget?debug=1", json=rank_body(), headers=auth(SK))
    assert response.status_code == 200
    debug = response.json()["debug"]
    assert debug["holdout"] is True and debug["shown"] == []
    assert set(debug["excluded"].values()) == {"customer in the holdout group (shown no offers)"}


def test_a_large_catalog_scores_only_the_cross_sells_of_the_order_s_likely_skus(
    client, rank_body, monkeypatch
) -> None:
    # As if every product were a cross-sell: beyond the bound, stage 1 picks what is scored.
    monkeypatch.setattr("widget.ranking.MAX_SCORED_OFFERS", 5)
    model = client.app_state["service"].models.model
    asked: list[tuple[frozenset[str], list[Offer]]] = []

    def likely_skus(context):
        likely = type(model).likely_skus(model, context)
        asked.append((likely, []))
        return likely

    def score_offers(context, offers):
        asked[-1][1].extend(offers)
        return type(model).score_offers(model, context, offers)

    monkeypatch.setattr(model, "likely_skus", likely_skus)
    monkeypatch.setattr(model, "score_offers", score_offers)
    answer = debug_rank(client, rank_body("big-catalog"))

    [(likely, scored)] = asked
    assert answer["offers"]
    assert {o.sku for o in scored if o.kind == "cross_sell"} <= likely
    left_out = [k for k, v in answer["debug"]["excluded"].items() if "likely skus" in v]
    assert left_out
    assert not {o.id for o in scored} & set(left_out)
