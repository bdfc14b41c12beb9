"""The impressions model: position and propensity corrected click and conversion rates."""

import numpy as np
import pandas as pd
import pytest

from offers.catalog import Offer
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
