"""The impressions model: position and propensity corrected click and conversion rates."""

import numpy as np
import pandas as pd
import pytest

from offers.catalog import Offer
from offers.files import read_impressions
from offers.synthetic import generate_shop
from ranker.feedback import fit_feedback
from ranker.model import RankContext


def _impressions(seed: int = 0, n: int = 20_000) -> pd.DataFrame:
    """Offers "a" and "b" are equally attractive, but the log shows "b" mostly at position 3."""
    rng = np.random.default_rng(seed)
    offer = rng.choice(["a", "b"], size=n)
    position = np.where(offer == "a", 1, np.where(rng.random(n) < 0.9, 3, 1))
    examined = rng.random(n) < position.astype(float) ** -1.0
    mobile = rng.random(n) < 0.5
    clicked = examined & (rng.random(n) < np.where(mobile, 0.1, 0.3))
    converted = clicked & (rng.random(n) < np.where(offer == "a", 0.5, 0.2))
    return pd.DataFrame(
        {
            "offer_id": offer,
            "position": position,
            "propensity": 0.5,
            "clicked": clicked.astype(int),
            "converted": converted.astype(int),
            "ctx_device": np.where(mobile, "mobile", "desktop"),
        }
    )


def test_click_rate_is_debiased_for_position() -> None:
    model = fit_feedback(_impressions())
    desktop = RankContext(customer_id=None, basket=[], device="desktop")
    a, b = (Offer(id=i, kind="partner", title=i, advertiser=i) for i in ("a", "b"))
    click_a = model.probability(a, desktop) / model.conversion_rate["a"]
    click_b = model.probability(b, desktop) / model.conversion_rate["b"]
    assert click_a == pytest.approx(0.3, abs=0.03)
    assert click_b == pytest.approx(0.3, abs=0.05)


def test_context_moves_the_click_rate() -> None:
    model = fit_feedback(_impressions())
    a = Offer(id="a", kind="partner", title="a", advertiser="a")
    mobile = model.probability(a, RankContext(customer_id=None, basket=[], device="mobile"))
    desktop = model.probability(a, RankContext(customer_id=None, basket=[], device="desktop"))
    assert mobile < desktop / 2


def test_a_request_without_a_logged_context_value_gets_the_logs_average() -> None:
    # half the log is mobile (click rate 0.1), half desktop (0.3)
    model = fit_feedback(_impressions())
    a = Offer(id="a", kind="partner", title="a", advertiser="a")

    def click(device: str | None) -> float:
        context = RankContext(customer_id=None, basket=[], device=device)
        return model.probability(a, context) / model.conversion_rate["a"]

    assert click("mobile") < click(None) < click("desktop")
    assert click(None) == pytest.approx(click("tablet"))  # a device the log never saw
    assert click(None) == pytest.approx(0.18, abs=0.03)


def test_conversion_rates_are_smoothed_per_offer() -> None:
    model = fit_feedback(_impressions())
    assert model.conversion_rate["a"] == pytest.approx(0.5, abs=0.05)
    assert model.conversion_rate["b"] == pytest.approx(0.2, abs=0.05)
    unseen = Offer(id="new", kind="partner", title="n", advertiser="n")
    assert model.probability(unseen, RankContext(customer_id=None, basket=[])) > 0


def test_a_log_without_clicks_gives_a_small_constant_rate() -> None:
    impressions = _impressions().assign(clicked=0, converted=0)
    model = fit_feedback(impressions)
    a = Offer(id="a", kind="partner", title="a", advertiser="a")
    assert model.weights == {}
    assert model.probability(a, RankContext(customer_id=None, basket=[])) == 0.0


def test_ids_and_amounts_are_not_context_and_booleans_match_the_log() -> None:
    impressions = _impressions(n=4_000)
    rng = np.random.default_rng(1)
    impressions["ctx_order_id"] = [f"O{i}" for i in range(len(impressions))]
    impressions["ctx_is_returning"] = np.where(rng.random(len(impressions)) < 0.5, "1", "0")
    impressions.loc[impressions["ctx_is_returning"] == "1", "clicked"] = 0
    model = fit_feedback(impressions)
    a = Offer(id="a", kind="partner", title="a", advertiser="a")
    returning = model.probability(a, RankContext(customer_id="c", basket=[], is_returning=True))
    new = model.probability(a, RankContext(customer_id="c", basket=[], is_returning=False))
    assert model.context_names == ("device", "is_returning")
    assert returning < new / 2


def test_an_attribute_counts_whatever_the_case_of_its_name_and_the_basket_size_counts() -> None:
    """The log's columns are read in lower case (`ctx_segment`, `ctx_n_items`), whatever the
    shop's page called the attribute."""
    log = _impressions()
    log["ctx_segment"] = log["ctx_device"].map({"mobile": "std", "desktop": "vip"})
    log["ctx_n_items"] = log["ctx_device"].map({"mobile": "1", "desktop": "3"})
    model = fit_feedback(log.drop(columns="ctx_device"))
    a = Offer(id="a", kind="partner", title="a", advertiser="a")

    def click(attributes: dict, n_items: int) -> float:
        basket = [("sku", "", 1.0, 1)] * n_items
        context = RankContext(customer_id=None, basket=basket, attributes=attributes)
        return model.probability(a, context)

    assert click({"Segment": "vip"}, 3) == click({"segment": "vip"}, 3)
    assert click({"Segment": "vip", "segment": "std"}, 3) == click({"segment": "vip"}, 3)
    assert click({"n_items": "1"}, 3) == click({}, 3)  # the basket's own count, as logged
    assert (
        click({"Segment": "std"}, 1) < click({"Segment": "std"}, 3) < click({"Segment": "vip"}, 3)
    )


def _log_mostly_of_one_offer(n: int = 20_000) -> pd.DataFrame:
    """ "big", clicked at 0.03 at the top slot, in 60% of the log; nine offers clicked at
    0.15 in the rest; all shown first with propensity 1 (as the service logs)."""
    rng = np.random.default_rng(3)
    offer = np.where(rng.random(n) < 0.6, "big", rng.choice(list("abcdefghi"), size=n))
    clicked = rng.random(n) < np.where(offer == "big", 0.03, 0.15)
    return pd.DataFrame(
        {
            "offer_id": offer,
            "position": 1,
            "propensity": 1.0,
            "clicked": clicked.astype(int),
            "converted": clicked.astype(int),
        }
    )


def _click_rate(model, offer_id: str, **context) -> float:
    offer = Offer(id=offer_id, kind="partner", title=offer_id, advertiser=offer_id)
    rate = model.conversion_rate.get(offer_id, model.default_conversion_rate)
    return model.probability(offer, RankContext(customer_id=None, basket=[], **context)) / rate


@pytest.fixture(scope="module")
def large_log(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The synthetic shop's log at 150,000 orders: ~90,000 impressions, exploring policy."""
    shop = generate_shop(tmp_path_factory.mktemp("large-shop"), n_orders=150_000, seed=7)
    return read_impressions(shop.paths["impressions"])


def test_an_offer_with_a_few_hundred_impressions_is_learned_from_its_clicks(large_log) -> None:
    """Two new offers, 300 impressions each at the top slot: one never clicked, one clicked
    30 times. A loosely solved model left both near a typical offer's rate in a large log."""
    new = []
    for offer_id, n_clicks in (("never-clicked", 0), ("clicked", 30)):
        rows = large_log.sample(300, random_state=1).assign(
            offer_id=offer_id, position=1, propensity=1.0, clicked=0
        )
        rows.iloc[:n_clicks, rows.columns.get_loc("clicked")] = 1
        new.append(rows.assign(converted=rows["clicked"]))
    model = fit_feedback(pd.concat([large_log, *new], ignore_index=True))

    typical = _click_rate(model, "an-offer-never-shown")
    assert _click_rate(model, "never-clicked") < typical / 2
    assert _click_rate(model, "clicked") > 2 * _click_rate(model, "never-clicked")


def test_a_new_offer_starts_at_a_typical_offer_s_rate_and_moves_with_its_clicks() -> None:
    log = _log_mostly_of_one_offer()
    once = pd.DataFrame(
        {"offer_id": ["once"], "position": 1, "propensity": 1.0, "clicked": 0, "converted": 0}
    )
    model = fit_feedback(pd.concat([log, once], ignore_index=True))

    never, shown_once = _click_rate(model, "never-shown"), _click_rate(model, "once")
    assert 0.1 < never < 0.15  # a typical offer of the log, not its most shown one
    assert shown_once < never  # one impression without a click: a little lower, not higher


@pytest.mark.parametrize("name", ["offer", "position"])
def test_a_page_attribute_named_like_the_model_s_own_features_is_learned(name) -> None:
    log = _impressions(n=8_000)
    log[f"ctx_{name}"] = np.where(log["ctx_device"] == "mobile", "footer", "header")
    model = fit_feedback(log.drop(columns="ctx_device"))

    footer = _click_rate(model, "a", attributes={name: "footer"})
    header = _click_rate(model, "a", attributes={name: "header"})
    assert model.context_names == (name,)
    assert footer < header / 2  # mobile's 0.1 against desktop's 0.3


def test_a_propensity_too_small_to_invert_weighs_as_much_as_the_clip() -> None:
    log = _impressions(n=4_000)
    rare = log.index % 5 == 0  # beside impressions logged at 0.8, so that weights differ
    tiny = log.assign(propensity=np.where(rare, 1e-320, 0.8))  # 1 / 1e-320 is beyond a float
    clipped = log.assign(propensity=np.where(rare, 1 / 20, 0.8))
    less_rare = log.assign(propensity=np.where(rare, 1 / 10, 0.8))

    assert fit_feedback(tiny).weights == fit_feedback(clipped).weights
    assert fit_feedback(tiny).weights != fit_feedback(less_rare).weights


def test_a_log_with_thousands_of_offers_is_solved_to_the_same_weights(monkeypatch) -> None:
    """Past a few thousand offers the solver changes (its Newton steps would hold a dense
    offers x offers matrix); the weights it finds must not."""
    log = _impressions(n=8_000)
    newton = fit_feedback(log).weights
    monkeypatch.setattr("ranker.feedback._MAX_NEWTON_FEATURES", 3)  # as if there were many

    many = fit_feedback(log).weights

    assert many.keys() == newton.keys()
    assert all(abs(many[name] - newton[name]) < 1e-3 for name in newton)


def _log_with_cross_sells(n: int = 20_000) -> pd.DataFrame:
    """Cross-sells clicked at 0.02 at the top slot, but "liked" at 0.10 and "ignored" at 0.005;
    a partner offer clicked at 0.2, so a typical offer of the whole log is clicked far more
    often than a typical cross-sell. Each is shown at positions 1 to 3."""
    rng = np.random.default_rng(5)
    offers = np.array(["liked", "ignored", *(f"xs{i}" for i in range(8)), "partner"])
    offer = rng.choice(offers, size=n, p=[0.05, 0.05, *[0.075] * 8, 0.3])
    position = rng.integers(1, 4, size=n)
    top_rate = np.select(
        [offer == "liked", offer == "ignored", offer == "partner"], [0.10, 0.005, 0.2], 0.02
    )
    clicked = rng.random(n) < top_rate * position.astype(float) ** -0.7
    return pd.DataFrame(
        {
            "offer_id": offer,
            "position": position,
            "propensity": 1 / 3,
            "clicked": clicked.astype(int),
            "converted": clicked.astype(int),
        }
    )


def test_each_cross_sell_gets_its_click_weight_against_a_typical_cross_sell() -> None:
    log = _log_with_cross_sells()
    cross_sells = {"liked", "ignored", *(f"xs{i}" for i in range(8))}

    weights = fit_feedback(log, cross_sells).cross_sell_weights

    assert weights.keys() == cross_sells  # partner offers and unseen offers have none
    assert weights["liked"] == pytest.approx(np.log(5), abs=0.4)  # 0.10 against 0.02
    assert weights["ignored"] < -0.8
    typical = [weights[f"xs{i}"] for i in range(8)]  # ~20 clicks each: noisy, but around 0,
    assert abs(np.mean(typical)) < 0.15  # the cross-sells' level, not the whole log's
    assert max(map(abs, typical)) < 0.5


def test_without_the_catalog_s_cross_sells_no_cross_sell_is_moved() -> None:
    assert fit_feedback(_log_with_cross_sells()).cross_sell_weights == {}
