"""The catalog as the service holds it in memory."""

import logging

import msgspec

from offers.catalog import Offer
from widget.catalog_cache import CatalogCache


def _offer(offer_id: str, cta_url: str) -> Offer:
    document = {"id": offer_id, "kind": "partner", "title": "T", "advertiser": "a"}
    return msgspec.convert({**document, "cta_url": cta_url}, Offer)


def test_an_offer_stored_with_a_link_no_click_could_open_is_not_shown(caplog):
    cache = CatalogCache(store=None, shop_id="shop")
    offers = [_offer("good", "https://shop.example/p"), _offer("legacy", "https:/shop.example")]

    with caplog.at_level(logging.WARNING, logger="encore.widget"):
        cache.apply(offers)
        cache.apply(offers)  # the background refresh: warned once, not every few seconds

    assert [offer.id for offer in cache.active] == ["good"]
    assert "legacy" in cache.by_id  # still listed, and reachable through /v1/offers
    assert [r.getMessage() for r in caplog.records] == [
        "active offers not shown, with no cta_url a click could open (none, or not an http(s) "
        "URL with a host): legacy"
    ]
