"""Training on a generated shop: the model beats every baseline, and the card says so."""

import numpy as np
import pytest

from offers.errors import InputError
from ranker.evaluate import evaluate_model
from ranker.features import FEATURES
from ranker.interactions import from_lines
from ranker.model import RelevanceModel
from ranker.scorer import LEARNERS
from ranker.train import train, training_set


def test_model_beats_the_best_baseline_by_ten_percent(trained_model: RelevanceModel) -> None:
    metrics = trained_model.card["metrics"]
    best = max(
        metrics[name]["hit_rate_at_k"] for name in ("popularity", "co_occurrence", "history")
    )
    assert metrics["n_queries"] >= 150
    assert metrics["hit_rate_at_k"] >= 1.10 * best
    assert metrics["ndcg_at_k"] > max(
        metrics[name]["ndcg_at_k"] for name in ("popularity", "co_occurrence", "history")
    )


def test_card_records_the_learner_selection(trained_model: RelevanceModel) -> None:
    learner = trained_model.card["learner"]
    assert learner["name"] in LEARNERS
    assert set(learner["validation_hit_rate_at_k"]) == set(LEARNERS)
    assert learner["validation_hit_rate_at_k"][learner["name"]] == max(
        learner["validation_hit_rate_at_k"].values()
    )
    assert trained_model.card["features"] == list(FEATURES)


def test_evaluating_on_the_training_history_reproduces_the_card(
    trained_model: RelevanceModel, order_lines
) -> None:
    metrics = evaluate_model(trained_model, order_lines, k=3)
    for name in ("hit_rate_at_k", "recall_at_k", "ndcg_at_k"):
        assert metrics[name] == pytest.approx(trained_model.card["metrics"][name], abs=1e-6)


def test_training_examples_are_what_stage_one_retrieves(order_lines) -> None:
    log = from_lines(order_lines)
    X, y, group = training_set(log, horizon=60.0, n_windows=2)
    assert X.shape == (len(y), len(FEATURES))
    assert X.dtype == np.float32
    assert 0 < y.mean() < 0.5
    assert len(np.unique(group)) > 100


def test_a_history_with_no_repeat_customer_is_refused(make_lines) -> None:
    lines = make_lines([(f"o{i}", f"c{i}", i, f"S{i % 3}") for i in range(30)])
    with pytest.raises(InputError) as caught:
        train(lines)
    assert str(caught.value) == (
        "the order history is too short to learn from: "
        "no customer ordered again after an earlier order"
    )
