"""The popularity fallback: offers for a shop with no trained model yet.

It answers like a :class:`~ranker.model.RelevanceModel` (``version``, ``card``,
``score_offers``, ``recommend_skus``) from sku purchase counts alone. Its
probabilities are a prior, not calibrated: the shop's most-bought sku gets
``TOP_PROBABILITY`` and others in proportion to their counts, so popular
cross-sells pass the default relevance floor and the rest do not. With no
counts at all (a brand-new shop) every offer gets the same prior and the
offers' values decide.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from offers.catalog import Offer
from ranker.model import PRIOR_PROBABILITY, OfferScores, RankContext
from ranker.reasons import popular_in

VERSION = "popularity-fallback"
TOP_PROBABILITY = 0.05
LIKELY_SKUS = 60  # about what the relevance model's stage 1 puts forward per order


class PopularityModel:
    """Ranks by how many orders held each sku; skus of the basket's categories first.

    Parameters
    ----------
    sku_counts : mapping of str to float
        Orders (or units) per sku.
    sku_category : mapping of str to str, default=None
        Category of each sku, for "Popular in ..." and the category preference.
    """

    def __init__(
        self, sku_counts: Mapping[str, float], sku_category: Mapping[str, str] | None = None
    ) -> None:
        self.sku_counts = dict(sku_counts)
        self.sku_category = dict(sku_category or {})
        self.card = {"version": VERSION, "metrics": {}}
        top = max(self.sku_counts.values(), default=0.0)
        self._probability = (
            {sku: TOP_PROBABILITY * n / top for sku, n in self.sku_counts.items()} if top else {}
        )
        self._ranked = sorted(self.sku_counts, key=lambda sku: -self.sku_counts[sku])

    @property
    def version(self) -> str:
        return VERSION

    def recommend_skus(self, context: RankContext, k: int) -> list[str]:
        """The ``k`` most-bought skus not in the basket, those of the basket's categories first."""
        basket = {sku for sku, _, _, _ in context.basket}
        categories = {category for _, category, _, _ in context.basket if category}
        ranked = [sku for sku in self._ranked if sku not in basket]
        ranked.sort(key=lambda sku: self.sku_category.get(sku) not in categories)  # stable
        return ranked[:k]

    def likely_skus(self, context: RankContext) -> frozenset[str]:
        """The most-bought skus (those of the basket's categories first): stage 1 here."""
        return frozenset(self.recommend_skus(context, LIKELY_SKUS))

    def score_offers(self, context: RankContext, offers: Sequence[Offer]) -> OfferScores:
        """Popularity prior of each offer; see :meth:`RelevanceModel.score_offers`."""
        unknown_sku = 0.0 if self._probability else PRIOR_PROBABILITY
        probability, reasons = [], []
        for offer in offers:
            if offer.kind == "partner":
                probability.append(PRIOR_PROBABILITY)
            else:
                probability.append(self._probability.get(offer.sku, unknown_sku))
            reasons.append(popular_in(offer.category or self.sku_category.get(offer.sku or "", "")))
        return OfferScores(
            probability=np.array(probability, dtype=np.float64),
            value=np.array([offer.value for offer in offers], dtype=np.float64),
            reasons=reasons,
        )


def popularity_model(orders: pd.DataFrame | Mapping[str, float]) -> PopularityModel:
    """The fallback from order lines (``order_id``, ``sku``, optional ``category``) or sku counts.

    Parameters
    ----------
    orders : DataFrame of shape (n_lines, n_columns) or mapping of str to float

    Returns
    -------
    PopularityModel
    """
    if not isinstance(orders, pd.DataFrame):
        return PopularityModel(orders)
    if orders.empty:
        return PopularityModel({})
    counts = orders.drop_duplicates(["order_id", "sku"])["sku"].value_counts()
    categories = {}
    if "category" in orders:
        named = orders[orders["category"].fillna("") != ""]
        categories = (
            named.drop_duplicates("sku", keep="last").set_index("sku")["category"].to_dict()
        )
    return PopularityModel(counts.to_dict(), categories)
