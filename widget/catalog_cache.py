"""The shop's offers, held in memory so ranking never reads them from the store.

Reloaded after every write through this worker's ``/v1/offers`` endpoints, and
every few seconds in the background to pick up other workers' writes.

Targeting checks each offer's rules one by one, and most offers of a shop are
cross-sells that require a basket category (a camera's memory card needs a
camera). So the active offers are also indexed by the categories and skus they
require: :meth:`CatalogCache.candidates` returns only offers whose requirement
the basket can meet, which targeting would have excluded anyway, each with its
rules compiled once (:func:`offers.targeting.target`).
"""

from collections import defaultdict
from collections.abc import Iterable

from offers.catalog import Offer
from offers.store import Store
from offers.targeting import Targeted, target


class CatalogCache:
    """Every offer of one shop, and the active ones indexed by what they require."""

    def __init__(self, store: Store, shop_id: str) -> None:
        self.store = store
        self.shop_id = shop_id
        self.offers: list[Offer] = []
        self.active: list[Offer] = []
        self.by_id: dict[str, Offer] = {}
        self._targeted: list[Targeted] = []
        self._unconditional: list[int] = []
        self._by_category: dict[str, list[int]] = {}
        self._by_sku: dict[str, list[int]] = {}

    def fetch(self) -> list[Offer]:
        """Read the catalog (blocking: run it in a worker thread)."""
        return self.store.offers(self.shop_id)

    def apply(self, offers: list[Offer]) -> None:
        active = [offer for offer in offers if offer.status == "active"]
        unconditional, by_category, by_sku = [], defaultdict(list), defaultdict(list)
        for n, offer in enumerate(active):
            rules = offer.targeting
            if rules.required_categories:
                for category in set(rules.required_categories):
                    by_category[category].append(n)
            elif rules.required_skus:
                for sku in set(rules.required_skus):
                    by_sku[sku].append(n)
            else:
                unconditional.append(n)
        self.offers, self.active = offers, active
        self._targeted = [target(offer) for offer in active]
        self.by_id = {offer.id: offer for offer in offers}
        self._unconditional, self._by_category, self._by_sku = (
            unconditional,
            dict(by_category),
            dict(by_sku),
        )

    def candidates(self, categories: Iterable[str], skus: Iterable[str]) -> list[Targeted]:
        """Active offers whose required categories or skus the basket meets, in catalog order."""
        chosen = set(self._unconditional)
        for category in categories:
            chosen.update(self._by_category.get(category, ()))
        for sku in skus:
            chosen.update(self._by_sku.get(sku, ()))
        targeted = self._targeted
        return [targeted[n] for n in sorted(chosen)]
