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

import logging
from collections import defaultdict
from collections.abc import Iterable

import msgspec

from offers.catalog import Offer, allowed_url
from offers.store import Store
from offers.targeting import Targeted, target

logger = logging.getLogger("encore.widget")


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
        self.unclickable: set[str] = set()  # active, but with no link a click could open

    def fetch(self) -> list[Offer]:
        """Read the catalog (blocking: run it in a worker thread). A cross-sell without a
        ``cta_url`` or ``image_url`` takes its product's ``url`` and ``image_url`` from
        products.csv: a click on an offer with no link would lead nowhere."""
        offers = self.store.offers(self.shop_id)
        unlinked = [
            o.sku for o in offers if o.kind == "cross_sell" and not (o.cta_url and o.image_url)
        ]
        if not unlinked:
            return offers
        links = self.store.product_links(self.shop_id, unlinked)
        return [_with_product_links(offer, links) for offer in offers]

    def apply(self, offers: list[Offer]) -> None:
        active: list[Offer] = []
        unclickable: set[str] = set()
        for offer in (o for o in offers if o.status == "active"):
            if _clickable(offer):
                active.append(offer)
            else:
                unclickable.add(offer.id)
        if unclickable - self.unclickable:  # once, not at every refresh
            logger.warning(
                "active offers not shown, with no cta_url a click could open (none, or not an "
                "http(s) URL with a host): %s",
                ", ".join(sorted(unclickable - self.unclickable)),
            )
        self.unclickable = unclickable
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


def _clickable(offer: Offer) -> bool:
    """Whether a click can open the offer: no link (a partner offer without ``cta_url``, a
    cross-sell whose product has no page) or one stored before today's rules (no host, a
    backslash) would show an offer whose click answers "no longer available"."""
    return allowed_url("cta_url", offer.cta_url)


def _with_product_links(offer: Offer, links: dict[str, tuple[str, str]]) -> Offer:
    if offer.kind != "cross_sell":  # a partner's link is the advertiser's, never a product's
        return offer
    url, image_url = links.get(offer.sku or "", ("", ""))
    changes = {}
    if not offer.cta_url and url and allowed_url("cta_url", url):
        changes["cta_url"] = url
    if not offer.image_url and image_url and allowed_url("image_url", image_url):
        changes["image_url"] = image_url
    return msgspec.structs.replace(offer, **changes) if changes else offer
