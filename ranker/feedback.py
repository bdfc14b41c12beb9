"""Learning from how shown offers were received (``impressions.csv``).

A logged impression is biased twice: the logging policy chose what to show
(its ``propensity``), and lower positions are seen less. :func:`fit_feedback`
corrects both:

- each impression is weighted by ``1 / propensity`` (inverse propensity
  scoring, clipped so one rare impression cannot dominate), and the weights are
  scaled to average 1: they move impressions against each other but add none,
  so an offer logged at a small propensity is smoothed as much as any other;
- the position enters the click model as a feature and is set to 1 when
  scoring, so the model predicts the click-through rate at the top slot;
- per offer, the conversion rate of a click is smoothed towards the overall rate.

Cross-sells are scored by the relevance model, from the order history; what the log
adds for them is each offer's own appeal: a second click regression of the same kind,
on the cross-sell impressions alone, whose shrunk offer weights say how much more or
less often each cross-sell is clicked than a typical cross-sell at the same position,
in the same context (its smoothed, debiased click-through rate, on the log-odds
scale). Fitting it apart makes its level the cross-sells' own, so a cross-sell shown
a few times, or never, stays at 0. :class:`~ranker.model.RelevanceModel` adds that
weight to the log-odds of the offer's relevance.

The click model is a ``LogisticRegression`` on one-hot offer and context
features (the ``ctx_*`` columns with few distinct values: country, device,
segment..., not ids or amounts; each keeps its ``ctx_`` in the model, so a
page's attribute named ``offer`` or ``position`` is a feature of its own), solved
to convergence: with a loose tolerance the solver stopped before the gradient of
an offer with a few hundred impressions counted, leaving it at the prior
whatever its clicks. It is exported to a dict of weights, so scoring an offer
at request time is a few dict lookups.

An offer's weight is shrunk by the penalty towards 0, the level of a typical
offer (the intercept), and an offer the log never showed gets that level too:
a new offer starts where an offer shown once starts, and moves with its clicks.
A context value is read from the request's logged fields (country, device...),
else from its ``attributes`` by folded name; booleans are written ``1`` / ``0``
as in the log. A value the request lacks, or one the log never had, counts as
the log's average value: the mean weight of that feature's values over the
logged impressions (the traffic's mix, which the penalty's level is not).
"""

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from offers.catalog import Offer
from offers.files import MAX_CONTEXT_VALUES
from offers.rank_request import LOGGED_FIELDS, fold_names, logged_value

MAX_WEIGHT = 20.0  # clip of the inverse-propensity weight
_PRIOR_CLICKS = 20.0  # strength of the prior on an offer's conversion rate per click
_TOLERANCE = 1e-8  # of the click model's solver: see the module docstring
_MAX_NEWTON_FEATURES = 2_000  # offers and context values: see _click_regression


@dataclass(frozen=True)
class FeedbackModel:
    """P(convert) of an offer shown at the top slot, in a given context.

    Attributes
    ----------
    intercept : float
        Log-odds of a click at position 1 for an average offer.
    weights : dict of str to float
        Weight of each one-hot feature ``"offer=<id>"``, ``"ctx_<name>=<value>"``.
    conversion_rate : dict of str to float
        Smoothed P(convert | click) per offer id.
    default_conversion_rate : float
        P(convert | click) of an offer never clicked.
    context_names : tuple of str
        Context attributes the model reads (``ctx_`` stripped).
    mean_weights : dict of str to float
        Per context column (``ctx_<name>``), the mean weight of its values over the
        logged impressions: what a missing or unseen value counts as.
    cross_sell_weights : dict of str to float
        Per cross-sell offer id, its click log-odds against a typical cross-sell's
        (the offers the log showed and training knew as cross-sells).
    """

    intercept: float
    weights: dict
    conversion_rate: dict
    default_conversion_rate: float
    context_names: tuple[str, ...]
    mean_weights: dict
    cross_sell_weights: dict

    def probability(self, offer: Offer, context: object) -> float:
        """P(the offer converts) if shown first in ``context`` (a RankContext)."""
        return self.offer_probability(offer, self.context_logit(context))

    def context_logit(self, context: object) -> float:
        """The part of the click log-odds that ``context`` gives every offer."""
        logit = self.intercept
        values = _context_values(context, self.context_names)
        for name in self.context_names:
            column = f"ctx_{name}"
            weight = self.weights.get(f"{column}={values.get(name)}")
            logit += self.mean_weights.get(column, 0.0) if weight is None else weight
        return logit

    def offer_probability(self, offer: Offer, context_logit: float) -> float:
        """P(the offer converts) if shown first, given :meth:`context_logit` of the request."""
        logit = context_logit + self.weights.get(f"offer={offer.id}", 0.0)
        click = 1.0 / (1.0 + math.exp(-logit))
        return click * self.conversion_rate.get(offer.id, self.default_conversion_rate)


@dataclass(frozen=True)
class ClickModel:
    """The fitted click regression, on the logged offer, position and context."""

    vectorizer: DictVectorizer
    estimator: LogisticRegression | None  # None for a log without both clicks and non-clicks
    context_columns: list[str]
    click_rate: float  # of the log it was fitted on

    def click_probability(self, impressions: pd.DataFrame) -> np.ndarray:
        """P(click) of each impression, at its logged position and in its logged context."""
        if self.estimator is None:
            return np.full(len(impressions), self.click_rate)
        records = _records(impressions, self.context_columns).to_dict("records")
        return self.estimator.predict_proba(self.vectorizer.transform(records))[:, 1]

    def weights(self, prefix: str = "") -> dict[str, float]:
        """The regression's weight of each feature named ``prefix...``, the prefix taken off
        (``"offer="``: each logged offer's); none when it has no estimator."""
        if self.estimator is None:
            return {}
        names = self.vectorizer.feature_names_
        return {
            name.removeprefix(prefix): weight
            for name, weight in zip(names, self.estimator.coef_[0].tolist(), strict=True)
            if name.startswith(prefix)
        }


def fit_click_model(impressions: pd.DataFrame) -> ClickModel:
    """The propensity-weighted click regression of :func:`fit_feedback`."""
    context_columns = [
        c
        for c in impressions.columns
        if c.startswith("ctx_") and impressions[c].nunique() <= MAX_CONTEXT_VALUES
    ]
    vectorizer = DictVectorizer()
    X = vectorizer.fit_transform(_records(impressions, context_columns).to_dict("records"))
    clicked = impressions["clicked"].to_numpy()
    estimator = None
    if len(np.unique(clicked)) == 2:
        weight = 1.0 / np.maximum(impressions["propensity"].to_numpy(), 1.0 / MAX_WEIGHT)
        estimator = _click_regression(n_features=X.shape[1])
        estimator.fit(X, clicked, sample_weight=weight / weight.mean())
    return ClickModel(vectorizer, estimator, context_columns, float(clicked.mean()))


def fit_feedback(
    impressions: pd.DataFrame, cross_sells: Collection[str] = frozenset()
) -> FeedbackModel:
    """Fit the position-debiased, propensity-weighted click and conversion model.

    Parameters
    ----------
    impressions : DataFrame of shape (n_impressions, n_columns)
        As read by :func:`offers.files.read_impressions`.
    cross_sells : collection of str, default=frozenset()
        Ids of the catalog's cross-sell offers, whose impressions also fit
        ``cross_sell_weights`` (none without them: the log does not say an offer's kind).

    Returns
    -------
    FeedbackModel
    """
    click_model = fit_click_model(impressions)
    context_columns = click_model.context_columns
    intercept, weights = _logit(click_model.click_rate), click_model.weights()
    if click_model.estimator is not None:
        intercept = float(click_model.estimator.intercept_[0]) + weights.get("position=1", 0.0)
    clicks = impressions[impressions["clicked"] == 1]
    overall = float(clicks["converted"].mean()) if len(clicks) else 0.0
    per_offer = clicks.groupby("offer_id")["converted"].agg(["sum", "count"])
    smoothed = (per_offer["sum"] + _PRIOR_CLICKS * overall) / (per_offer["count"] + _PRIOR_CLICKS)
    return FeedbackModel(
        intercept=intercept,
        weights={name: w for name, w in weights.items() if not name.startswith("position=")},
        conversion_rate={str(k): float(v) for k, v in smoothed.items()},
        default_conversion_rate=overall,
        context_names=tuple(c.removeprefix("ctx_") for c in context_columns),
        mean_weights={
            name: _mean_weight(impressions[name].astype(str), name, weights)
            for name in context_columns
        },
        cross_sell_weights=_offer_weights(impressions[impressions["offer_id"].isin(cross_sells)]),
    )


def _offer_weights(impressions: pd.DataFrame) -> dict[str, float]:
    """Each logged offer's weight in a click regression of these impressions alone."""
    return fit_click_model(impressions).weights("offer=") if len(impressions) else {}


def _click_regression(n_features: int) -> LogisticRegression:
    """Newton steps converge in a few iterations but hold a dense features x features
    matrix (10,000 offers: 297 s and 2.7 GB); past a few thousand features L-BFGS, run to a
    tighter tolerance, reaches the same weights (within 3e-4) in seconds (12 s there)."""
    if n_features <= _MAX_NEWTON_FEATURES:
        return LogisticRegression(solver="newton-cholesky", tol=_TOLERANCE, max_iter=100)
    return LogisticRegression(solver="lbfgs", tol=_TOLERANCE / 100, max_iter=10_000)


def _records(impressions: pd.DataFrame, context_columns: list[str]) -> pd.DataFrame:
    """The regression's features as text: offer, context columns (``ctx_`` kept) and position."""
    records = impressions[["offer_id", *context_columns, "position"]].astype(str)
    records.columns = ["offer", *context_columns, "position"]
    return records


def _mean_weight(values: pd.Series, name: str, weights: Mapping[str, float]) -> float:
    """The weight of feature ``name`` averaged over the logged impressions."""
    counts = values.value_counts()
    total = sum(n * weights.get(f"{name}={value}", 0.0) for value, n in counts.items())
    return float(total / counts.sum()) if len(counts) else 0.0


def _context_values(context: object, names: tuple[str, ...]) -> Mapping[str, str]:
    """The context's values by name, as the log holds them: the order's logged fields
    (country, device...), else its attributes by their folded names."""
    attributes = fold_names(getattr(context, "attributes", None) or {})
    values = {}
    for name in names:
        value = getattr(context, name, None) if name in LOGGED_FIELDS else attributes.get(name)
        if value not in (None, ""):
            values[name] = str(logged_value(value))
    return values


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return float(np.log(p / (1 - p)))
