"""The relevance model at request time: one order in, calibrated scores out.

:class:`RelevanceModel` joins the lookup tables (:class:`~ranker.index.ShopIndex`),
the exported stage-2 scorer (:class:`~ranker.scorer.Scorer`) and, when
impressions were given at training time, the feedback model that scores partner
offers and moves each cross-sell by its own click rate. Per request it looks codes
up in dicts and scores the offered skus in one compiled call
(:mod:`ranker.compiled_scoring`); no pandas, no scikit-learn call.
"""

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import NamedTuple

import msgspec
import numpy as np
from sklearn.calibration import CalibratedClassifierCV

from offers.catalog import Offer
from offers.identity import customer_key
from offers.rank_request import RankRequest
from ranker._groups import top_k_per_query
from ranker.candidates import (
    DEFAULT_BUDGET,
    Budget,
    Candidates,
    Queries,
    generate,
    generate_one,
)
from ranker.compiled_scoring import SkuScores, compile_kernel, score_order, scoring_tables
from ranker.features import build_features
from ranker.feedback import FeedbackModel
from ranker.index import ShopIndex
from ranker.reasons import (
    BOUGHT_WITH,
    BUY_AGAIN,
    GOES_WITH,
    PICKED_FOR_ORDER,
    POPULAR_IN,
    TIME_TO_RESTOCK,
    Reason,
    popular_in,
)
from ranker.scorer import EstimatorScorer, Scorer

_DUE_RATIO = 0.8  # a sku is "due" once this share of its usual interval has passed
_CHUNK_QUERIES = 5_000  # queries ranked at once in batch (bounds memory)
_DEFAULT_REASON: Reason = (PICKED_FOR_ORDER, "")


class RankContext(msgspec.Struct):
    """One order being confirmed.

    ``basket`` holds one ``(sku, category, price, quantity)`` tuple per line.
    """

    customer_id: str | None
    basket: list[tuple[str, str, float, int]]
    order_total: float = 0.0
    placement: str = "thank_you"
    country: str = ""
    device: str = ""
    is_returning: bool | None = None
    at: datetime | None = None
    attributes: dict = {}
    currency: str = ""

    @classmethod
    def of_request(
        cls, body: RankRequest, customer_id: str | None, at: datetime | None
    ) -> "RankContext":
        """What the model reads of a ranking request, with the customer's history as of
        ``at`` (None: now)."""
        order = body.order
        return cls(
            customer_id=customer_id,
            basket=[(i.sku, i.category, i.price, i.quantity) for i in order.items],
            order_total=order.grand_total,
            placement=body.placement,
            country=order.country,
            currency=order.currency,
            device=order.device,
            is_returning=body.customer.is_returning,
            at=at,
            attributes=dict(body.attributes),
        )

    @property
    def n_items(self) -> int:
        """Lines in the basket, as the service logs them with each impression."""
        return len(self.basket)


class OfferScores(NamedTuple):
    """Scores of the offers of one request, aligned with the offers.

    probability : ndarray of shape (n_offers,)
        Calibrated P(accept): for a cross-sell, that the customer buys the sku;
        for a partner offer, that the shown offer converts.
    value : ndarray of shape (n_offers,)
        Value of an acceptance: margin (else price) for a cross-sell, payout for a partner offer.
    reasons : list of Reason
        A short reason to show with each offer, as (message, subject).
    """

    probability: np.ndarray
    value: np.ndarray
    reasons: list[Reason]


class RelevanceModel:
    """Scores offers and recommends skus for one order.

    Parameters
    ----------
    index : ShopIndex
        Lookup tables of the shop's history.
    scorer : Scorer
        Exported, calibrated stage-2 model.
    horizon : float
        Days ahead the scorer predicts purchases for.
    card : dict
        The model card (see :mod:`ranker.artifact`).
    feedback : FeedbackModel, default=None
        Scores partner offers from how earlier impressions were received, and moves a
        cross-sell's relevance by how its own impressions were.
    offers : sequence of Offer, default=()
        The offer catalog given at training time (used by ``encore recommend``).
    budget : Budget, default=DEFAULT_BUDGET
        Candidates per source.
    estimator : CalibratedClassifierCV
        The fitted scikit-learn model ``scorer`` was exported from: batch
        evaluation and analysis (calibration, permutation importance) use it;
        requests never do.
    """

    def __init__(
        self,
        index: ShopIndex,
        scorer: Scorer,
        *,
        horizon: float,
        card: dict,
        feedback: FeedbackModel | None = None,
        offers: Sequence[Offer] = (),
        budget: Budget = DEFAULT_BUDGET,
        estimator: CalibratedClassifierCV,
    ) -> None:
        self.index = index
        self.scorer = scorer
        self.horizon = horizon
        self.card = card
        self.feedback = feedback
        self.offers = list(offers)
        self.budget = budget
        self.estimator = estimator

    @property
    def version(self) -> str:
        return self.card["version"]

    def recommend_skus(self, context: RankContext, k: int) -> list[str]:
        """The ``k`` most relevant skus for this order, best first, never one in the basket."""
        queries = self.queries_of(context)
        candidates = generate_one(self.index, queries, self.budget)
        score = self._probability(queries, candidates)
        known = queries.basket_sku[queries.basket_sku >= 0]
        skus = self.index.skus
        return [skus[code] for code in _top_k(candidates.sku, score, self.index.popular, known, k)]

    def likely_skus(self, context: RankContext) -> frozenset[str]:
        """Stage 1 for this order: the skus its candidate sources put forward (co-purchase,
        the next order, the customer's history, popular in its categories and overall)."""
        candidates = generate_one(self.index, self.queries_of(context), self.budget)
        skus = self.index.skus
        return frozenset(skus[code] for code in candidates.sku.tolist())

    def score_offers(self, context: RankContext, offers: Sequence[Offer]) -> OfferScores:
        """Calibrated P(accept), value and reason of each offer for this order.

        Only the offered skus are scored (a row's features depend on its own
        (order, sku) pair alone), from their links to the basket and the
        customer's history, looked up directly: no stage-1 candidates. The
        numeric work is one compiled call,
        :func:`~ranker.compiled_scoring.score_order`.

        Parameters
        ----------
        context : RankContext
        offers : sequence of Offer
            The eligible offers (targeting and caps already applied).

        Returns
        -------
        OfferScores
            Arrays of shape (n_offers,).
        """
        basket_sku, basket_category, basket_price, customer = self._basket_codes(context)
        sku_code = self.index.sku_code
        codes = [sku_code.get(o.sku, -1) if o.kind == "cross_sell" else -1 for o in offers]
        basket = set(basket_sku)
        scored = sorted({code for code in codes if code >= 0 and code not in basket})
        scored_sku: dict[int, tuple[float, Reason]] = {}
        if scored:
            now = _days(context.at)
            scores = score_order(
                self._scoring_tables,
                np.array(basket_sku, dtype=np.int64),
                np.array(basket_category, dtype=np.int64),
                np.array(basket_price, dtype=np.float64),
                customer,
                now,
                np.array(scored, dtype=np.int64),
            )
            found = zip(scores.probability.tolist(), self._reasons(scores, now), strict=True)
            scored_sku = dict(zip(scored, found, strict=True))
        basket_categories = {category for _, category, _, _ in context.basket if category}
        context_logit = self.feedback.context_logit(context) if self.feedback else 0.0
        appeal = self.feedback.cross_sell_weights if self.feedback else {}
        sku_value, floor = self._sku_value, self.scorer.floor
        probabilities, values, reasons = [], [], []
        for offer, code in zip(offers, codes, strict=True):
            if offer.kind == "partner":
                p, reason = self._score_partner(offer, context_logit, basket_categories)
            elif code in scored_sku:
                p, reason = scored_sku[code]
                if offer.id in appeal:  # the log-odds move by the offer's own click weight
                    odds = p * math.exp(appeal[offer.id])
                    p = odds / (1.0 - p + odds)
            else:
                p = floor
                reason = (POPULAR_IN, offer.category) if offer.category else _DEFAULT_REASON
            # a cross-sell without a value of its own is worth its sku's margin, else price
            value = sku_value[code] if offer.value <= 0 and code >= 0 else offer.value
            probabilities.append(p)
            values.append(value if math.isfinite(value) else 0.0)
            reasons.append(reason)
        return OfferScores(
            probability=np.array(probabilities, dtype=np.float64),
            value=np.array(values, dtype=np.float64),
            reasons=reasons,
        )

    def queries_of(self, context: RankContext) -> Queries:
        """The one-query batch of an order."""
        skus, categories, prices, customer = self._basket_codes(context)
        return Queries(
            basket_indptr=np.array([0, len(skus)]),
            basket_sku=np.array(skus, dtype=np.int64),
            basket_category=np.array(categories, dtype=np.int64),
            basket_price=np.array(prices, dtype=np.float64),
            customer=np.array([customer]),
            time=np.array([_days(context.at)]),
        )

    def warm_up(self) -> None:
        """Build what requests read and compile the scoring kernel now, not on a first request."""
        for name, member in vars(RelevanceModel).items():
            if isinstance(member, cached_property):
                getattr(self, name)
        compile_kernel(self._scoring_tables)

    def _basket_codes(self, context: RankContext) -> tuple[list[int], list[int], list[float], int]:
        """Sku code, category code and unit price of each of the basket's skus (-1 or NaN
        when unknown), and the customer's code (-1 when unknown).

        Read as training reads an order: a sku once however many lines hold it, and a sku
        the model knows with its own category and price, whatever the request says (a
        discount or a category written in another case would otherwise move the scores).
        The request's category and price stand for a sku the model does not know.
        """
        index = self.index
        skus, categories, prices = [], [], []
        seen = set()
        for sku, category, price, _ in context.basket:
            if sku in seen:
                continue
            seen.add(sku)
            code = index.sku_code.get(sku, -1)
            skus.append(code)
            if code >= 0:
                categories.append(index.sku_category[code])
                prices.append(index.sku_price[code])
            else:
                categories.append(index.category_code.get(category, -1) if category else -1)
                prices.append(price if price and price > 0 else np.nan)
        customer = -1
        if context.customer_id:
            customer = index.customer_code.get(customer_key(context.customer_id), -1)
        return skus, categories, prices, customer

    def _probability(self, queries: Queries, candidates: Candidates) -> np.ndarray:
        if not len(candidates.sku):
            return np.zeros(0)
        return self.scorer.predict_proba(
            build_features(self.index, queries, candidates, self.horizon)
        )

    def _score_partner(
        self, offer: Offer, context_logit: float, basket_categories: set[str]
    ) -> tuple[float, Reason]:
        probability = (
            self.feedback.offer_probability(offer, context_logit)
            if self.feedback
            else PRIOR_PROBABILITY
        )
        if offer.category and offer.category in basket_categories:
            return probability, (GOES_WITH, offer.category)
        return probability, _DEFAULT_REASON

    def _reasons(self, signals: SkuScores, now: float) -> list[Reason]:
        """A short human reason for each sku of ``signals``."""
        titles, interval, category_name = self._sku_title, self._sku_interval, self._sku_category
        reasons = []
        for sku, count, last, anchor in zip(
            signals.sku.tolist(),
            signals.history_count.tolist(),
            signals.history_last.tolist(),
            signals.anchor.tolist(),
            strict=True,
        ):
            bought = count > 0
            if bought and now - last >= _DUE_RATIO * interval[sku]:
                reasons.append((TIME_TO_RESTOCK, titles[sku]))
            elif anchor >= 0:
                reasons.append((BOUGHT_WITH, titles[anchor]))
            elif bought:
                reasons.append((BUY_AGAIN, titles[sku]))
            else:
                reasons.append(popular_in(category_name[sku]))
        return reasons

    # Per-sku lists for per-offer work in plain Python (indexing NumPy arrays one item at a
    # time is ~10x slower) and the scoring kernel's tables. Built on first use (or by
    # warm_up) and never pickled.

    @cached_property
    def _scoring_tables(self) -> tuple:
        return scoring_tables(self.index, self.scorer, self.horizon)

    @cached_property
    def _sku_title(self) -> list[str]:
        return self.index.sku_title.tolist()

    @cached_property
    def _sku_interval(self) -> list[float]:
        return self.index.sku_interval.tolist()

    @cached_property
    def _sku_category(self) -> list[str]:
        return self.index.categories[self.index.sku_category].tolist()

    @cached_property
    def _sku_value(self) -> list[float]:
        """What a cross-sell of each sku is worth: its margin, else its price."""
        margin, price = self.index.sku_margin, self.index.sku_price
        return np.where(margin > 0, margin, price).tolist()

    def __getstate__(self) -> dict:
        return {name: value for name, value in self.__dict__.items() if not name.startswith("_")}


PRIOR_PROBABILITY = 0.02
"""P(accept) of an offer nothing is known about (a partner offer with no impressions)."""


def rank_queries(
    scorer: Scorer | EstimatorScorer,
    index: ShopIndex,
    queries: Queries,
    *,
    horizon: float,
    k: int,
    budget: Budget = DEFAULT_BUDGET,
) -> np.ndarray:
    """Top-``k`` skus of each query by the scorer, topped up with popular skus.

    Parameters
    ----------
    scorer : Scorer or EstimatorScorer
        Exported arrays for a few queries, the estimator itself for a large batch.
    index : ShopIndex
    queries : Queries
    horizon : float
        The scorer's horizon in days.
    k : int
    budget : Budget, default=DEFAULT_BUDGET

    Returns
    -------
    ranked : ndarray of shape (n_queries, k)
        Sku codes, best first, never a basket sku; -1 where the shop has too few skus.
    """
    chunks = [np.zeros((0, k), np.int64)]
    for start in range(0, queries.n_queries, _CHUNK_QUERIES):
        stop = min(start + _CHUNK_QUERIES, queries.n_queries)
        part = (
            queries if stop - start == queries.n_queries else queries.take(np.arange(start, stop))
        )
        candidates = generate(index, part, budget)
        score = (
            scorer.predict_proba(build_features(index, part, candidates, horizon))
            if len(candidates.sku)
            else np.zeros(0)
        )
        known = part.basket_sku >= 0
        chunks.append(
            top_k_per_query(
                candidates.query,
                candidates.sku,
                score,
                n_queries=part.n_queries,
                n_skus=index.n_skus,
                k=k,
                fill=index.popular,
                exclude=part.item_query[known] * index.n_skus + part.basket_sku[known],
            )
        )
    return np.concatenate(chunks)


def _top_k(
    sku: np.ndarray, score: np.ndarray, popular: np.ndarray, basket: np.ndarray, k: int
) -> np.ndarray:
    """:func:`~ranker._groups.top_k_per_query` for one query, as its codes without the -1s.

    ``sku`` (ascending, no basket sku) with ``score``; ``popular`` fills up to ``k``
    with scores below any probability; ties go to the lower sku code.
    """
    fill = popular[: k + len(basket)]
    fill_score = -1.0 - np.arange(len(fill)) / max(len(fill), 1)
    taken = set(basket.tolist()).union(sku.tolist())
    keep = np.array([code not in taken for code in fill.tolist()], dtype=bool)
    sku = np.concatenate((sku, fill[keep]))
    score = np.concatenate((np.asarray(score, np.float64), fill_score[keep]))
    return sku[np.lexsort((sku, -score))[:k]]


def _days(at: datetime | None) -> float:
    """Days since the epoch of ``at`` (naive means UTC), now when None."""
    if at is None:
        at = datetime.now(UTC)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.timestamp() / 86_400.0
