"""Offline training: order history in, a calibrated :class:`RelevanceModel` out.

1. Split the history at the date that leaves the last ``test_fraction`` of the
   period for testing; its length is the model's ``horizon``.
2. Training examples mirror the test exactly: at a few earlier cuts, the lookup
   tables are built from the orders before the cut, each customer's last order
   before the cut is a query, stage 1 retrieves candidates for it, and a
   candidate is positive when the customer bought it in the ``horizon`` after
   the cut. Negatives are what stage 1 retrieved and the customer did not buy.
3. The learners of :data:`ranker.scorer.LEARNERS` are compared by cross-validation
   over the training queries (:func:`cross_validate_learners`: whole queries per
   fold, hit rate at ``k`` per fold, averaged). The winner is refitted on three
   quarters of the queries, calibrated (isotonic) on the last quarter, then
   exported to arrays. The test split is never looked at.
4. The exported scorer is evaluated on the test split beside the baselines, and
   the lookup tables are rebuilt from the whole history for serving.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GroupKFold
from threadpoolctl import threadpool_limits

from offers.catalog import Offer
from offers.errors import InputError
from offers.progress import progress
from ranker._groups import top_per_group
from ranker.artifact import make_card
from ranker.candidates import DEFAULT_BUDGET, Budget, generate
from ranker.evaluate import evaluate_split
from ranker.features import FEATURES, build_features
from ranker.feedback import fit_feedback
from ranker.feedback_evaluation import evaluate_feedback
from ranker.index import ShopIndex, build_index
from ranker.interactions import Interactions, from_lines, iso_time
from ranker.model import RelevanceModel, rank_queries
from ranker.scorer import LEARNERS, EstimatorScorer, export_scorer, make_learner
from ranker.splits import NextOrderTask, next_order_task

N_WINDOWS = 3
MAX_QUERIES_PER_WINDOW = 8_000
CALIBRATION_SHARE = 0.25
CV_FOLDS = 3
CV_MAX_ROWS = 300_000  # rows the learners are compared on: a sample of whole queries


def train(
    lines: pd.DataFrame,
    *,
    products: pd.DataFrame | None = None,
    impressions: pd.DataFrame | None = None,
    offers: Sequence[Offer] = (),
    k: int = 3,
    test_fraction: float = 0.2,
    random_state: int = 0,
    show_progress: bool = False,
) -> RelevanceModel:
    """Train, evaluate on the time split, and return the model with its card.

    Parameters
    ----------
    lines : DataFrame of shape (n_lines, n_columns)
        Purchases, as ``read_orders(path).lines``.
    products : DataFrame, default=None
        As ``read_products(path)``: titles, categories, prices, margins.
    impressions : DataFrame, default=None
        As ``read_impressions(path)``: fits the feedback model (partner offers' click and
        conversion rates; with ``offers``, each cross-sell's appeal too).
    offers : sequence of Offer, default=()
        Kept in the artifact for ``encore recommend``; names the cross-sells of the log.
    k : int, default=3
        Cut-off of the metrics and of the learner selection.
    test_fraction : float, default=0.2
        Share of the period held out for the evaluation.
    random_state : int, default=0
    show_progress : bool, default=False

    Returns
    -------
    RelevanceModel
        ``model.card["metrics"]`` holds the model's and the baselines' figures, and with
        ``impressions`` ``model.card["feedback"]`` those of the click model
        (:func:`~ranker.feedback_evaluation.evaluate_feedback`).
    """
    # One native thread: on shared cores OpenMP's spin-waiting made boosting 5x slower
    # (1M order lines, 2 cores: 20 s with one thread, 114 s with two).
    with (
        threadpool_limits(limits=1),
        progress(total=5, desc="training", unit="step", enabled=show_progress) as bar,
    ):
        bar.set_postfix_str("encoding orders")
        log = from_lines(lines, products)
        split = log.split_time(test_fraction)
        _check_returning_customers(log, split)
        horizon = float(log.order_time[-1] - split)
        bar.update()
        bar.set_postfix_str("building examples")
        X, y, group = training_set(log.before(split), horizon, random_state=random_state)
        bar.update()
        bar.set_postfix_str("fitting")
        try:
            calibrated, selection = fit_scorer(X, y, group, k=k, random_state=random_state)
        except InputError as err:  # name the period: one stray date (1970) can stretch it
            raise InputError(f"{err} {_period(log, split)}") from None
        scorer = export_scorer(calibrated)
        bar.update()
        bar.set_postfix_str("evaluating")

        def rank(index: ShopIndex, task: NextOrderTask, k: int) -> np.ndarray:
            return rank_queries(
                EstimatorScorer(calibrated), index, task.queries, horizon=horizon, k=k
            )

        metrics = evaluate_split(log, rank, k=k, test_fraction=test_fraction)
        bar.update()
        bar.set_postfix_str("indexing")
        index = build_index(log)
        bar.update()
    card = make_card(
        log,
        metrics,
        trained_at=datetime.now(UTC),
        features=FEATURES,
        learner=selection,
        horizon=horizon,
        n_training_rows=len(y),
        n_lines=len(lines),
        n_orders=int(lines["order_id"].nunique()),
    )
    feedback = None
    if impressions is not None and len(impressions):
        cross_sells = {offer.id for offer in offers if offer.kind == "cross_sell"}
        feedback = fit_feedback(impressions, cross_sells)
        card["feedback"] = evaluate_feedback(impressions, test_fraction)
    return RelevanceModel(
        index,
        scorer,
        horizon=horizon,
        card=card,
        feedback=feedback,
        offers=offers,
        estimator=calibrated,
    )


def _check_returning_customers(log: Interactions, split: float) -> None:
    """Refuse, saying so, a history where no customer ordered twice before the split (a
    shop of one-off buyers), which the generic "too short to learn from" misdescribed."""
    before = log.before(split)
    if np.bincount(before.order_customer).max(initial=0) < 2:
        customers = len(np.unique(before.order_customer))
        raise InputError(
            "no customer placed two orders before the held-out period (customers: "
            f"{customers}, orders: {before.n_orders}): the model learns what customers buy "
            "in a later order; without a model, `encore serve` ranks by popularity "
            + _period(log, split)
        )


def _period(log: Interactions, split: float) -> str:
    first, last = iso_time(log.order_time[0]), iso_time(log.order_time[-1])
    return f"(orders from {first} to {last}, held out from {iso_time(split)})"


def training_set(
    log: Interactions,
    horizon: float,
    *,
    n_windows: int = N_WINDOWS,
    max_queries_per_window: int = MAX_QUERIES_PER_WINDOW,
    budget: Budget = DEFAULT_BUDGET,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labelled candidates at ``n_windows`` cuts, each ``horizon / 2`` apart.

    Parameters
    ----------
    log : Interactions
        The training history (the test period already removed).
    horizon : float
        Days after a cut whose purchases are the positives.
    n_windows, max_queries_per_window : int
        Cuts, and queries sampled at most per cut.
    budget : Budget
    random_state : int

    Returns
    -------
    X : ndarray of shape (n_rows, n_features), dtype float32
    y : ndarray of shape (n_rows,), dtype bool
    group : ndarray of shape (n_rows,)
        Query id of each row, unique across cuts.
    """
    rng = np.random.default_rng(random_state)
    parts, n_groups = [], 0
    for cut in _cuts(log, horizon, n_windows):
        index = build_index(log.before(cut))
        task = next_order_task(log, cut, horizon)
        n_queries = len(task.query_order)
        if n_queries > max_queries_per_window:
            task = task.take(np.sort(rng.choice(n_queries, max_queries_per_window, replace=False)))
        candidates = generate(index, task.queries, budget)
        X = build_features(index, task.queries, candidates, horizon).astype(np.float32)
        y = np.isin(candidates.query * index.n_skus + candidates.sku, task.truth_keys(index.n_skus))
        parts.append((X, y, candidates.query + n_groups))
        n_groups += len(task.query_order)
    if not parts:
        return np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, bool), np.zeros(0, np.int64)
    X, y, group = (np.concatenate(column) for column in zip(*parts, strict=True))
    return X, y, group


def _cuts(log: Interactions, horizon: float, n_windows: int) -> list[float]:
    """Cuts that leave ``horizon`` after them and at least ``horizon / 2`` of history before;
    else the middle of the history, if it has orders before it; else none."""
    start, end = float(log.order_time[0]), float(log.order_time[-1])
    cuts = [end - horizon - i * horizon / 2 for i in range(n_windows)]
    cuts = [cut for cut in cuts if cut - start >= horizon / 2]
    if cuts:
        return cuts
    middle = start + (end - start) / 2
    return [middle] if middle > start else []


def fit_scorer(
    X: np.ndarray, y: np.ndarray, group: np.ndarray, *, k: int = 3, random_state: int = 0
) -> tuple[CalibratedClassifierCV, dict]:
    """Choose a learner by cross-validation, refit it, calibrate it.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
    group : ndarray of shape (n_rows,)
        Query id of each row; folds and the calibration slice take whole queries.
    k : int, default=3
    random_state : int, default=0

    Returns
    -------
    calibrated : CalibratedClassifierCV
        The winner fitted on three quarters of the queries, frozen, with an
        isotonic calibration fitted on the other quarter.
    selection : dict
        ``name`` of the winner and the cross-validation summary of
        :func:`cross_validate_learners`.
    """
    if len(np.unique(y)) < 2:
        raise InputError(
            "the order history is too short to learn from: before the held-out period, "
            "no customer's later orders hold a product, among those it could suggest, "
            "that their earlier order did not"
        )
    cv = cross_validate_learners(X, y, group, k=k, random_state=random_state)
    best = max(LEARNERS, key=lambda name: cv["cv_hit_rate_at_k"][name])  # ties: the first
    fit_rows, calibration_rows = _calibration_split(group, y, random_state)
    learner = make_learner(best, random_state).fit(X[fit_rows], y[fit_rows])
    calibrated = CalibratedClassifierCV(
        FrozenEstimator(learner), method="isotonic", cv=_OneFoldOfEveryRow()
    )
    calibrated.fit(X[calibration_rows], y[calibration_rows])
    return calibrated, {"name": best, **cv}


class _OneFoldOfEveryRow:
    """A cross-validation splitter with a single fold that holds every row.

    The learner being calibrated is frozen, so there is nothing to cross-fit, and
    scikit-learn's default stratified 5-fold split fails (or warns) on a calibration
    slice with fewer than five rows of a class.
    """

    def split(
        self, X: np.ndarray, y: np.ndarray | None = None, groups: np.ndarray | None = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        rows = np.arange(len(X))
        yield rows, rows

    def get_n_splits(self, X: object = None, y: object = None, groups: object = None) -> int:
        return 1


def _calibration_split(
    group: np.ndarray, y: np.ndarray, random_state: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to fit the learner on and rows to calibrate it on: a quarter of the queries
    held out, or, when that quarter or the rest lacks bought or unbought candidates (a
    tiny history), every row for both."""
    rng = np.random.default_rng(random_state)
    groups = np.unique(group)
    held_out = np.isin(
        group, rng.choice(groups, max(1, int(CALIBRATION_SHARE * len(groups))), replace=False)
    )
    if len(np.unique(y[held_out])) == 2 and len(np.unique(y[~held_out])) == 2:
        return ~held_out, held_out
    every_row = np.ones(len(y), bool)
    return every_row, every_row


def cross_validate_learners(
    X: np.ndarray,
    y: np.ndarray,
    group: np.ndarray,
    *,
    learners: Sequence[str] = LEARNERS,
    k: int = 3,
    n_folds: int = CV_FOLDS,
    max_rows: int = CV_MAX_ROWS,
    random_state: int = 0,
) -> dict:
    """Hit rate at ``k`` of each learner, by cross-validation over whole queries.

    A single held-out slice of a few hundred queries is too noisy to choose
    between learners (on a real grocery sample the two swapped places from one
    seed to the next); folds that cover every query are steadier. Large training
    sets are first sampled down to about ``max_rows`` rows of whole queries, so
    the comparison costs a bounded time.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
    group : ndarray of shape (n_rows,)
        Query id of each row.
    learners : sequence of str, default=LEARNERS
    k : int, default=3
    n_folds : int, default=CV_FOLDS
        At most this many folds, fewer when there are fewer queries.
    max_rows : int, default=CV_MAX_ROWS
    random_state : int, default=0
        Seeds the query sample, the folds and the learners.

    Returns
    -------
    dict
        ``cv_hit_rate_at_k`` (learner name to the mean over folds),
        ``cv_fold_hit_rate_at_k`` (learner name to the list of fold scores),
        ``cv_folds`` and ``cv_queries`` (queries compared on). A fold whose
        training part holds a single class is skipped; with no usable fold every
        learner scores 0.
    """
    rng = np.random.default_rng(random_state)
    groups = np.unique(group)
    if len(y) > max_rows:
        n_sampled = max(n_folds, int(len(groups) * max_rows / len(y)))
        rows = np.isin(group, rng.choice(groups, n_sampled, replace=False))
        X, y, group = X[rows], y[rows], group[rows]
        groups = np.unique(group)
    n_folds = min(n_folds, len(groups))
    folds = []
    if n_folds >= 2:
        splitter = GroupKFold(n_folds, shuffle=True, random_state=random_state)
        folds = [
            (fit, score)
            for fit, score in splitter.split(X, y, group)
            if len(np.unique(y[fit])) == 2
        ]
    scores: dict[str, list[float]] = {name: [] for name in learners}
    for fit, score in folds:
        for name in learners:
            learner = make_learner(name, random_state).fit(X[fit], y[fit])
            raw = learner.decision_function(X[score])
            scores[name].append(_hit_rate(group[score], raw, y[score], k))
    return {
        "cv_hit_rate_at_k": {name: float(np.mean(s)) if s else 0.0 for name, s in scores.items()},
        "cv_fold_hit_rate_at_k": scores,
        "cv_folds": len(folds),
        "cv_queries": len(groups),
    }


def _hit_rate(group: np.ndarray, score: np.ndarray, y: np.ndarray, k: int) -> float:
    top = top_per_group(group, score, k)
    return float(len(np.unique(group[top][y[top]])) / len(np.unique(group)))
