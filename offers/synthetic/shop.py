"""Generating a whole synthetic shop into a folder, all of it or nothing.

:func:`generate_shop` writes ``products.csv``, ``orders.csv``, ``offers.json`` and
``impressions.csv`` (formats in DESIGN.md) for a fictional shop over one year,
2025-11-01 to 2026-10-31 UTC. The same seed gives byte-identical files.
``products.csv`` adds ``brand`` and ``product_type`` columns, and its ``margin`` is
money per unit sold; ``impressions.csv`` adds ``ctx_order_id`` (the order the
request came from) to the context columns.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from offers.progress import progress as progress_bar
from offers.staging import staged
from offers.synthetic.catalog import build_catalog, catalog_size, segment_tastes
from offers.synthetic.clock import build_clock
from offers.synthetic.feedback_log import simulate_impressions
from offers.synthetic.offer_catalog import build_offers
from offers.synthetic.orders import finish_orders, simulate_history
from offers.synthetic.tables import orders_table, products_table, write_csv


@dataclass(frozen=True)
class ShopSummary:
    """What :func:`generate_shop` wrote.

    ``n_order_lines`` counts the data rows of ``orders.csv``, returns included;
    ``paths`` maps ``products``, ``orders``, ``offers`` and ``impressions`` to the files.
    """

    n_products: int
    n_customers: int
    n_orders: int
    n_order_lines: int
    n_offers: int
    n_impressions: int
    paths: dict[str, Path]


def generate_shop(
    out_dir: str | Path, *, n_orders: int = 20_000, seed: int = 0, progress: bool = False
) -> ShopSummary:
    """Write a synthetic shop: products, a year of orders, offers and an offer feedback log.

    Parameters
    ----------
    out_dir : str or Path
        Folder to write ``products.csv``, ``orders.csv``, ``offers.json`` and
        ``impressions.csv`` into; created if missing, files overwritten. On a
        failure the files there are left as they were and a folder created for
        this call is removed.
    n_orders : int, default=20_000
        Exact number of orders (about 2.5 lines each), at least 1. The catalog
        grows gently with it, from 300 to 2,000 products.
    seed : int, default=0
        At least 0. The same seed gives byte-identical files.
    progress : bool, default=False
        Show a progress bar over the phases (on a terminal only).

    Returns
    -------
    ShopSummary
    """
    if n_orders < 1:
        raise ValueError(f"n_orders must be at least 1, got {n_orders}")
    if seed < 0:
        raise ValueError(f"seed must be at least 0, got {seed}")
    out_dir = Path(out_dir)
    created = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]
    out_dir.mkdir(parents=True, exist_ok=True)  # before the work, so a bad path fails at once
    paths = {
        name: out_dir / f"{name}.{'json' if name == 'offers' else 'csv'}"
        for name in ("products", "orders", "offers", "impressions")
    }
    try:
        with staged(*paths.values()) as temporary:
            counts = _generate(dict(zip(paths, temporary, strict=True)), n_orders, seed, progress)
    except BaseException:  # Ctrl-C too: no folder left empty
        _remove_empty(created)
        raise
    return ShopSummary(**counts, paths=paths)


def _generate(paths: dict[str, Path], n_orders: int, seed: int, progress: bool) -> dict[str, int]:
    """Write the four files to ``paths`` and return the counts of :class:`ShopSummary`."""
    rng_catalog, rng_orders, rng_offers, rng_log = np.random.default_rng(seed).spawn(4)
    with progress_bar(total=5, desc="generating shop", unit="step", enabled=progress) as bar:
        bar.set_postfix_str("catalog")
        catalog = build_catalog(rng_catalog, catalog_size(n_orders))
        taste = segment_tastes(rng_catalog)
        bar.update()
        bar.set_postfix_str("orders")
        history = simulate_history(rng_orders, catalog, build_clock(), taste, n_orders)
        shop = finish_orders(rng_orders, catalog, history)
        bar.update()
        bar.set_postfix_str("offers")
        offer_docs, offer_model = build_offers(rng_offers, catalog, taste)
        bar.update()
        bar.set_postfix_str("impressions")
        impressions = simulate_impressions(rng_log, catalog, shop, offer_model)
        bar.update()
        bar.set_postfix_str("writing")
        write_csv(paths["products"], products_table(catalog))
        n_order_lines = write_csv(paths["orders"], orders_table(catalog, shop))
        paths["offers"].write_text(json.dumps(offer_docs, indent=2) + "\n", encoding="utf-8")
        n_impressions = write_csv(paths["impressions"], impressions)
        bar.update()
    return {
        "n_products": catalog.n_products,
        "n_customers": len(shop.customer_ids),
        "n_orders": len(shop.order_ids),
        "n_order_lines": n_order_lines,
        "n_offers": len(offer_docs),
        "n_impressions": n_impressions,
    }


def _remove_empty(folders: list[Path]) -> None:
    """Delete the folders (deepest first) that are left empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (something else wrote there) or already gone
            return
