"""A synthetic shop: catalog, a year of orders, offers and an offer feedback log.

:func:`generate_shop` writes ``products.csv``, ``orders.csv``, ``offers.json`` and
``impressions.csv`` (formats in DESIGN.md) for a fictional shop over one year,
2025-11-01 to 2026-10-31 UTC. The same seed gives byte-identical files.

The modules follow the data: the shop's fixed world (:mod:`.world`: product types,
brands, segments, countries), its catalog (:mod:`.catalog`), the calendar
(:mod:`.clock`), customers and their orders (:mod:`.orders`), the offers and their
hidden response model (:mod:`.offer_catalog`), the logged offer requests and
responses (:mod:`.feedback_log`), and the CSV files (:mod:`.tables`);
:mod:`.shop` runs them in turn.
"""

from offers.synthetic.shop import ShopSummary, generate_shop

__all__ = ["ShopSummary", "generate_shop"]
