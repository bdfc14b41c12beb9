"""The selection policy: from scored offers to the few that are shown.

Relevance beats volume. :class:`SelectionPolicy` ranks the eligible offers by a
blend of relevance and expected value, then fills at most ``max_offers`` slots
greedily under diversity rules. Offers under the relevance floor are never
shown, so an order with nothing relevant gets fewer offers or none. With an
exploration rate, each slot is, with that probability, given to a uniformly
drawn admissible offer instead, and the propensity of every choice is returned
so the feedback log can be debiased later: the probability that the policy puts
that offer in that position (what ``impressions.csv``'s ``propensity`` means),
summed exactly over every way the earlier slots could have been filled.
"""

import sys
from collections.abc import Collection, Sequence
from numbers import Integral, Real
from typing import NamedTuple

import numpy as np
from sklearn.utils import check_random_state

from offers.catalog import Offer
from ranker.model import OfferScores
from ranker.reasons import Reason

MAX_OFFERS_LIMIT = 5


class Selection(NamedTuple):
    """One chosen offer, in display order.

    index : int
        Position of the offer in the list given to :meth:`SelectionPolicy.select`.
    score : float
        The blended relevance and value score it was ranked by.
    probability : float
        Calibrated P(accept).
    propensity : float
        Probability that the policy puts this offer in this position (1.0 without
        exploration).
    reason : Reason
        A short human reason to show with it.
    """

    index: int
    score: float
    probability: float
    propensity: float
    reason: Reason


class SelectionPolicy:
    """Choose at most ``max_offers`` relevant, diverse offers for one order.

    Parameters
    ----------
    max_offers : int, default=3
        Slots to fill, 1 to 5.
    relevance_floor : float, default=0.02
        Offers whose calibrated P(accept) is below this are never shown.
    value_weight : float, default=0.5
        0 ranks by P(accept) alone, 1 by expected value P(accept) x value
        (value scaled by the largest in the request); in between, a blend.
    max_per_category : int or None, default=1
        Offers of one (non-empty) category at most; None for no limit.
    max_partner_offers : int or None, default=1
        Partner offers at most; None for no limit.
    exploration_rate : float, default=0.0
        Probability that a slot goes to a uniformly drawn admissible offer. The
        propensities then sum over the sets of offers the earlier slots may hold: with
        ``m`` admissible offers that is up to C(m, max_offers - 1) sets per call.
    random_state : int, Generator, RandomState or None, default=None
        Seed of the exploration draws.
    """

    def __init__(
        self,
        max_offers: int = 3,
        relevance_floor: float = 0.02,
        value_weight: float = 0.5,
        max_per_category: int | None = 1,
        max_partner_offers: int | None = 1,
        exploration_rate: float = 0.0,
        random_state: int | np.random.Generator | np.random.RandomState | None = None,
    ) -> None:
        self.max_offers = max_offers
        self.relevance_floor = relevance_floor
        self.value_weight = value_weight
        self.max_per_category = max_per_category
        self.max_partner_offers = max_partner_offers
        self.exploration_rate = exploration_rate
        self.random_state = random_state
        check_int("max_offers", max_offers, low=1, high=MAX_OFFERS_LIMIT)
        check_fraction("relevance_floor", relevance_floor)
        check_fraction("value_weight", value_weight)
        check_int("max_per_category", max_per_category, low=1, optional=True)
        check_int("max_partner_offers", max_partner_offers, low=0, optional=True)
        check_fraction("exploration_rate", exploration_rate)

    def select(
        self,
        offers: Sequence[Offer],
        scores: OfferScores,
        *,
        basket_skus: Collection[str] = (),
        excluded_offer_ids: Collection[str] = (),
    ) -> list[Selection]:
        """Choose the offers to show, best first.

        Parameters
        ----------
        offers : sequence of Offer
            The eligible offers, shape (n_offers,).
        scores : OfferScores
            From :meth:`RelevanceModel.score_offers` on the same offers.
        basket_skus : collection of str, default=()
            Skus in the order: a cross-sell of one of them is never shown.
        excluded_offer_ids : collection of str, default=()
            Offers never to show (e.g. recently dismissed by this customer).

        Returns
        -------
        list of Selection
            At most ``max_offers``, possibly empty.
        """
        probability = np.asarray(scores.probability, dtype=np.float64).tolist()
        # NaN and negative values count as 0, infinity as the largest float
        largest = sys.float_info.max
        value = [
            min(v, largest) if v > 0 else 0.0
            for v in np.asarray(scores.value, dtype=np.float64).tolist()
        ]
        basket, excluded = set(basket_skus), set(excluded_offer_ids)
        admissible = [
            i
            for i, offer in enumerate(offers)
            if probability[i] >= self.relevance_floor
            and offer.id not in excluded
            and not (offer.kind == "cross_sell" and offer.sku in basket)
        ]
        top_value = max((value[i] for i in admissible), default=0.0)
        keep, weight = 1.0 - self.value_weight, self.value_weight
        blended = {
            i: probability[i] * (keep + weight * (value[i] / top_value if top_value > 0 else 0.0))
            for i in admissible
        }
        # ties (equal blends, or no value at all with value_weight 1) go to the more relevant
        ranked = sorted(admissible, key=lambda i: (-blended[i], -probability[i]))
        picks = self._fill(offers, ranked)
        propensity = (
            self._propensities(offers, ranked, len(picks)) if self.exploration_rate > 0 else {}
        )
        return [
            Selection(
                pick,
                blended[pick],
                probability[pick],
                propensity.get((position, pick), 1.0),
                scores.reasons[pick],
            )
            for position, pick in enumerate(picks)
        ]

    def _fill(self, offers: Sequence[Offer], ranked: list[int]) -> list[int]:
        """The offer of each slot, in order: the best the diversity rules allow after the
        slots above, or with exploration sometimes a drawn one."""
        picks: list[int] = []
        if self.exploration_rate == 0.0:  # one pass: what a slot may not take, no later one may
            taken = _Taken(self)
            for i in ranked:
                if taken.allows(offers[i]):
                    picks.append(i)
                    taken.add(offers[i])
                    if len(picks) == self.max_offers:
                        break
            return picks
        for _ in range(self.max_offers):
            allowed = self._allowed(offers, ranked, picks)
            if not allowed:
                break
            picks.append(self._draw(allowed))
        return picks

    def _allowed(
        self, offers: Sequence[Offer], ranked: list[int], picks: Collection[int]
    ) -> list[int]:
        """The offers, best first, that may fill the next slot after ``picks``."""
        taken = _Taken(self)
        for pick in picks:
            taken.add(offers[pick])
        return [i for i in ranked if i not in picks and taken.allows(offers[i])]

    def _draw(self, allowed: list[int]) -> int:
        """Epsilon-greedy choice among ``allowed`` (best first)."""
        if not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        if self._rng.random_sample() < self.exploration_rate:
            return allowed[self._rng.randint(len(allowed))]
        return allowed[0]

    def _choices(self, allowed: list[int]) -> list[tuple[int, float]]:
        """Each offer :meth:`_draw` may pick from ``allowed``, with its probability."""
        epsilon = self.exploration_rate
        uniform = epsilon / len(allowed)
        return [(allowed[0], 1.0 - epsilon + uniform)] + [(i, uniform) for i in allowed[1:]]

    def _propensities(
        self, offers: Sequence[Offer], ranked: list[int], n_slots: int
    ) -> dict[tuple[int, int], float]:
        """P(offer in position) for every (position, offer) of the first ``n_slots``.

        Which offers a slot allows depends on the set the earlier slots hold, not on
        their order, so the probability of each set is carried forward slot by slot.
        """
        reached: dict[frozenset[int], float] = {frozenset(): 1.0}
        propensity: dict[tuple[int, int], float] = {}
        for position in range(n_slots):
            following: dict[frozenset[int], float] = {}
            for held, p_held in reached.items():
                allowed = self._allowed(offers, ranked, held)
                if not allowed:
                    continue
                for pick, p_pick in self._choices(allowed):
                    p = p_held * p_pick
                    propensity[position, pick] = propensity.get((position, pick), 0.0) + p
                    following[held | {pick}] = following.get(held | {pick}, 0.0) + p
            reached = following
        return propensity

    def __repr__(self) -> str:
        params = ", ".join(f"{name}={getattr(self, name)!r}" for name in _PARAMS)
        return f"SelectionPolicy({params})"


_PARAMS = (
    "max_offers",
    "relevance_floor",
    "value_weight",
    "max_per_category",
    "max_partner_offers",
    "exploration_rate",
    "random_state",
)


class _Taken:
    """What the slots filled so far hold, for the policy's diversity rules."""

    def __init__(self, policy: SelectionPolicy) -> None:
        self.max_per_category = policy.max_per_category
        self.max_partner_offers = policy.max_partner_offers
        self.skus: set[str] = set()
        self.advertisers: set[str] = set()
        self.categories: dict[str, int] = {}
        self.n_partner = 0

    def allows(self, offer: Offer) -> bool:
        if offer.sku and offer.sku in self.skus:
            return False
        if offer.advertiser and _advertiser(offer) in self.advertisers:
            return False
        limit = self.max_per_category
        if offer.category and limit is not None and self.categories.get(offer.category, 0) >= limit:
            return False
        limit = self.max_partner_offers
        return not (offer.kind == "partner" and limit is not None and self.n_partner >= limit)

    def add(self, offer: Offer) -> None:
        if offer.sku:
            self.skus.add(offer.sku)
        if offer.advertiser:
            self.advertisers.add(_advertiser(offer))
        if offer.category:
            self.categories[offer.category] = self.categories.get(offer.category, 0) + 1
        self.n_partner += offer.kind == "partner"


def _advertiser(offer: Offer) -> str:
    """An advertiser as the one-per-advertiser rule knows it: ``Shieldly`` and ``shieldly ``
    are one advertiser, typed twice."""
    return offer.advertiser.strip().casefold()


def check_int(
    name: str, value: object, *, low: int, high: int | None = None, optional: bool = False
) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is an int in [low, high] (or None)."""
    if value is None and optional:
        return
    in_range = isinstance(value, Integral) and not isinstance(value, bool) and low <= value
    if not in_range or (high is not None and value > high):
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        allowed = " or None" if optional else ""
        raise ValueError(f"{name} must be an integer {bounds}{allowed}, got {value!r}")


def check_fraction(name: str, value: object) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a real number in [0, 1]."""
    if not (isinstance(value, Real) and not isinstance(value, bool) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
