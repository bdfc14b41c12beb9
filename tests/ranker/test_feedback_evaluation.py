"""The click model's held-out figures against its baselines."""

import pandas as pd
import pytest

from offers.files import read_impressions
from offers.synthetic import generate_shop
from ranker.feedback_evaluation import evaluate_feedback


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The synthetic shop's log at 20,000 orders: ~12,000 impressions; its clicks depend
    on the offer, the position and the context (segment, device, basket)."""
    shop = generate_shop(tmp_path_factory.mktemp("shop"), n_orders=20_000, seed=7)
    return read_impressions(shop.paths["impressions"])


def test_the_click_model_predicts_later_clicks_better_than_its_baselines(log) -> None:
    figures = evaluate_feedback(log)

    loss, auc = figures["log_loss"], figures["auc"]
    assert loss["model"] < loss["offer_position_ctr"] < loss["overall_ctr"]
    assert auc["model"] > auc["offer_position_ctr"] > auc["overall_ctr"] == 0.5


def test_the_later_part_of_the_period_is_held_out(log) -> None:
    figures = evaluate_feedback(log, test_fraction=0.25)

    split_at = pd.Timestamp(figures["split_at"]).tz_localize(None)  # UTC, as shown_at
    assert figures["split_at"].endswith("Z")
    later = log[log["shown_at"] >= split_at]
    assert figures["train_impressions"] + figures["test_impressions"] == len(log)
    assert figures["test_impressions"] == len(later)
    assert figures["test_clicks"] == later["clicked"].sum()
    period = log["shown_at"].max() - log["shown_at"].min()
    assert split_at - log["shown_at"].min() == pytest.approx(0.75 * period, abs=pd.Timedelta("1s"))


def test_a_log_of_one_moment_has_no_held_out_figures(log) -> None:
    assert evaluate_feedback(log.assign(shown_at=log["shown_at"].iloc[0])) is None


def test_later_impressions_without_a_click_have_a_loss_but_no_auc(log) -> None:
    split_at = log["shown_at"].min() + (log["shown_at"].max() - log["shown_at"].min()) * 0.8
    unclicked = log.assign(clicked=log["clicked"].where(log["shown_at"] < split_at, 0))

    figures = evaluate_feedback(unclicked)

    assert figures["test_clicks"] == 0
    assert figures["auc"] is None
    assert set(figures["log_loss"]) == {"model", "overall_ctr", "offer_position_ctr"}
    assert all(0 < loss < 1 for loss in figures["log_loss"].values())
