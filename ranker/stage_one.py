"""Which offers of a large catalog are worth scoring for one order.

Each offer scored costs ~4 us of Python (targeting, scoring, the selection
policy), so a shop that makes every product a cross-sell (thousands) would
spend milliseconds per order. Beyond :data:`MAX_SCORED_OFFERS`, only the
cross-sells whose sku is among the order's likely skus (the model's stage 1:
co-purchase, the next order, history, popular in its categories and overall)
go on to targeting and scoring; partner offers always do.
"""

from offers.catalog import Offer

MAX_SCORED_OFFERS = 200


def worth_scoring(offer: Offer, likely_skus: frozenset[str]) -> bool:
    """A partner offer always; a cross-sell when its sku is among the order's likely skus."""
    return offer.kind == "partner" or offer.sku in likely_skus
