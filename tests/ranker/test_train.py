"""Training on a generated shop: the model beats every baseline, and the card says so."""

import numpy as np
import pandas as pd
import pytest

from offers.errors import InputError
from ranker.evaluate import evaluate_model
from ranker.features import FEATURES
from ranker.interactions import from_lines
from ranker.model import RankContext, RelevanceModel
from ranker.scorer import LEARNERS
from ranker.train import cross_validate_learners, fit_scorer, train, training_set


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
    assert set(learner["cv_hit_rate_at_k"]) == set(LEARNERS)
    assert learner["cv_hit_rate_at_k"][learner["name"]] == max(learner["cv_hit_rate_at_k"].values())
    assert learner["cv_folds"] == 3
    assert all(len(scores) == 3 for scores in learner["cv_fold_hit_rate_at_k"].values())
    assert trained_model.card["features"] == list(FEATURES)


def test_evaluating_on_the_training_history_reproduces_the_card(
    trained_model: RelevanceModel, order_lines
) -> None:
    metrics = evaluate_model(trained_model, order_lines, k=3)
    for name in ("hit_rate_at_k", "recall_at_k", "ndcg_at_k"):
        assert metrics[name] == pytest.approx(trained_model.card["metrics"][name], abs=1e-6)


def test_evaluating_on_orders_the_model_learned_from_is_refused(
    trained_model: RelevanceModel, order_lines
) -> None:
    trained_until = trained_model.card["metrics"]["split_at"]
    earlier = order_lines[order_lines["ordered_at"] < trained_until.removesuffix("Z")]

    with pytest.raises(InputError) as raised:
        evaluate_model(trained_model, earlier, k=3)

    assert f"before {trained_until}, where the model's training data ends" in str(raised.value)


def test_training_examples_are_what_stage_one_retrieves(order_lines) -> None:
    log = from_lines(order_lines)
    X, y, group = training_set(log, horizon=60.0, n_windows=2)
    assert X.shape == (len(y), len(FEATURES))
    assert X.dtype == np.float32
    assert 0 < y.mean() < 0.5
    assert len(np.unique(group)) > 100


def test_free_baskets_give_finite_features(order_lines) -> None:
    """A basket of free items (coupons, samples) has no price to compare with."""
    lines = order_lines.copy()
    single_line_orders = lines.groupby("order_id")["sku"].transform("size") == 1
    free_skus = lines.loc[single_line_orders, "sku"].drop_duplicates().iloc[::3]
    lines.loc[lines["sku"].isin(free_skus), "price"] = 0.0
    X, _, _ = training_set(from_lines(lines), horizon=60.0, n_windows=2)
    price_ratio = X[:, FEATURES.index("price_ratio_log")]
    assert np.isfinite(X).all()
    assert (price_ratio == 0).any() and (price_ratio != 0).any()


def test_a_history_with_no_repeat_customer_is_refused(make_lines) -> None:
    lines = make_lines([(f"o{i}", f"c{i}", i, f"S{i % 3}") for i in range(30)])
    with pytest.raises(InputError) as caught:
        train(lines)
    assert str(caught.value).startswith(
        "no customer placed two orders before the held-out period (customers: 24, "
        "orders: 24): the model learns what customers buy in a later order; without a "
        "model, `encore serve` ranks by popularity (orders from "
    )


def test_a_stray_order_dated_1970_is_named_when_it_leaves_too_little_to_learn(
    order_lines,
) -> None:
    stray = order_lines.iloc[:1].assign(order_id="stray", ordered_at=pd.Timestamp("1970-01-01"))
    with pytest.raises(InputError) as caught:
        train(pd.concat([stray, order_lines], ignore_index=True))
    assert "(orders from 1970-01-01T00:00:00Z to " in str(caught.value)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("seed", [8, 14, 17, 19, 21, 28])
def test_a_tiny_history_trains_or_is_refused_in_one_sentence_without_warnings(
    make_lines, seed: int
) -> None:
    """Histories of 2-60 orders: some leave a calibration slice of under five rows, or one
    with no bought candidate. Each trains, or stops with an InputError; nothing else."""
    rng = np.random.default_rng(seed)
    n_orders, n_customers, n_skus = (
        int(rng.integers(*bounds)) for bounds in ((2, 60), (1, 15), (1, 20))
    )
    rows = []
    for order in range(n_orders):
        customer, day = int(rng.integers(0, n_customers)), int(rng.integers(0, 90))
        basket = rng.choice(n_skus, size=int(rng.integers(1, min(n_skus, 5) + 1)), replace=False)
        rows += [(f"o{order}", f"c{customer}", day, f"S{sku}") for sku in basket]
    try:
        model = train(make_lines(rows))
    except InputError:
        return
    context = RankContext(customer_id="c0", basket=[("S0", "", 0.0, 1)])
    assert len(model.recommend_skus(context, 3)) <= 3


def _queries(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows of whole queries where one learner clearly wins.

    ``"xor"``: relevant when two features have opposite signs (no linear score
    ranks that); ``"linear"``: relevant by the sum of 60 weak features, few rows
    per query (boosted trees of depth 5 see a few features at a time).
    """
    rng = np.random.default_rng(0)
    n_queries, per_query, n_features = (400, 10, 2) if kind == "xor" else (300, 20, 60)
    X = rng.normal(size=(n_queries * per_query, n_features))
    if kind == "xor":
        y = (X[:, 0] > 0) ^ (X[:, 1] > 0)
    else:
        y = X.sum(axis=1) + rng.normal(scale=2.0, size=len(X)) > 1.5 * np.sqrt(n_features)
    return X, y, np.repeat(np.arange(n_queries), per_query)


@pytest.mark.parametrize(
    ("kind", "winner"),
    [
        pytest.param("xor", "gradient_boosting", id="interaction-trees-win"),
        pytest.param("linear", "logistic", id="many-weak-linear-signals-logistic-wins"),
    ],
)
def test_cross_validation_chooses_the_learner_that_fits_the_data(kind: str, winner: str) -> None:
    X, y, group = _queries(kind)
    _, selection = fit_scorer(X, y, group, k=1)
    assert selection["name"] == winner
    scores = selection["cv_hit_rate_at_k"]
    loser = next(name for name in LEARNERS if name != winner)
    assert scores[winner] > scores[loser] + 0.1
    assert all(
        win > lose
        for win, lose in zip(
            selection["cv_fold_hit_rate_at_k"][winner],
            selection["cv_fold_hit_rate_at_k"][loser],
            strict=True,
        )
    )


def test_cross_validation_is_deterministic_for_a_seed() -> None:
    X, y, group = _queries("xor")
    first = cross_validate_learners(X, y, group, random_state=3)
    assert cross_validate_learners(X, y, group, random_state=3) == first
    assert first["cv_folds"] == 3
    assert first["cv_queries"] == 400


def test_cross_validation_samples_whole_queries_down_to_max_rows() -> None:
    X, y, group = _queries("xor")
    result = cross_validate_learners(X, y, group, max_rows=1_000)
    assert result["cv_queries"] == 100
    assert result["cv_folds"] == 3


def test_cross_validation_with_too_few_queries_scores_nothing() -> None:
    X, y, group = _queries("xor")
    result = cross_validate_learners(X[:10], y[:10], group[:10])
    assert result["cv_folds"] == 0
    assert result["cv_hit_rate_at_k"] == {name: 0.0 for name in LEARNERS}
