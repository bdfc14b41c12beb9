"""Order history as integer-coded arrays: the one table every other ranker module reads.

Order lines arrive as a DataFrame (from :func:`offers.files.read_orders`); training,
evaluation and the lookup tables all work on the NumPy arrays of :class:`Interactions`
instead, with skus, customers and categories replaced by dense integer codes.
Times are float days since the Unix epoch, so intervals are plain subtractions.
"""

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from offers.errors import InputError

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True)
class Interactions:
    """Purchases, one row per (order, sku), sorted by order time.

    Attributes
    ----------
    order : ndarray of shape (n_lines,)
        Order code of each line; orders are numbered in time order, and a customer's
        orders placed at one moment share one code (one checkout).
    sku : ndarray of shape (n_lines,)
        Sku code of each line, an index into ``skus``.
    order_customer : ndarray of shape (n_orders,)
        Customer code of each order, an index into ``customers``.
    order_time : ndarray of shape (n_orders,)
        Order time in days since the Unix epoch, non-decreasing.
    skus : ndarray of shape (n_skus,)
        Sku ids. Skus of the product catalog that were never bought are included.
    customers : ndarray of shape (n_customers,)
        Customer ids.
    sku_category : ndarray of shape (n_skus,)
        Category code of each sku, an index into ``categories``.
    categories : ndarray of shape (n_categories,)
        Category names; code 0 is the empty category.
    sku_title : ndarray of shape (n_skus,)
        Product title of each sku (the sku id when no title is known).
    sku_price : ndarray of shape (n_skus,)
        Median unit price of each sku, NaN when unknown.
    sku_margin : ndarray of shape (n_skus,)
        Margin per sale of each sku from the product catalog, NaN when unknown.
    """

    order: np.ndarray
    sku: np.ndarray
    order_customer: np.ndarray
    order_time: np.ndarray
    skus: np.ndarray
    customers: np.ndarray
    sku_category: np.ndarray
    categories: np.ndarray
    sku_title: np.ndarray
    sku_price: np.ndarray
    sku_margin: np.ndarray

    @property
    def n_orders(self) -> int:
        return len(self.order_time)

    @property
    def n_skus(self) -> int:
        return len(self.skus)

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def line_time(self) -> np.ndarray:
        """Order time of each line, shape (n_lines,)."""
        return self.order_time[self.order]

    @property
    def line_customer(self) -> np.ndarray:
        """Customer code of each line, shape (n_lines,)."""
        return self.order_customer[self.order]

    def before(self, time: float) -> "Interactions":
        """The orders placed strictly before ``time``, with the same codes."""
        n_orders = int(np.searchsorted(self.order_time, time, side="left"))
        keep = self.order < n_orders
        return replace(
            self,
            order=self.order[keep],
            sku=self.sku[keep],
            order_customer=self.order_customer[:n_orders],
            order_time=self.order_time[:n_orders],
        )

    def split_time(self, test_fraction: float = 0.2) -> float:
        """The time that leaves the last ``test_fraction`` of the period after it.

        Raises :class:`~offers.errors.InputError` when every order was placed at
        the same moment: no split leaves orders on both sides.
        """
        start, end = self.order_time[0], self.order_time[-1]
        if end <= start:
            raise InputError(
                f"every order was placed at {iso_time(start)}: "
                "training and evaluation hold out the latest orders, so they need "
                "orders placed at different times"
            )
        return float(end - test_fraction * (end - start))


def iso_time(days: float) -> str:
    """ISO 8601 UTC timestamp of a time in days since the epoch."""
    return str(np.datetime64(int(round(days * _SECONDS_PER_DAY)), "s")) + "Z"


def from_lines(lines: pd.DataFrame, products: pd.DataFrame | None = None) -> Interactions:
    """Encode order lines (the ``lines`` of :func:`offers.files.read_orders`).

    Parameters
    ----------
    lines : DataFrame of shape (n_lines, n_columns)
        One row per (order_id, sku) with at least ``order_id``, ``customer_id``,
        ``ordered_at`` and ``sku``; ``price``, ``title`` and ``category`` are used
        when present.
    products : DataFrame, default=None
        The product catalog (:func:`offers.files.read_products`); its titles,
        categories, prices and margins win over those seen in orders.

    Returns
    -------
    Interactions
    """
    lines = lines.sort_values(["ordered_at", "customer_id", "order_id"], kind="stable")
    # A customer's orders placed at one moment are one checkout here: marketplaces split a
    # checkout into an order per seller or per line, and a date-only export puts a day's
    # orders at one moment. Apart, each hid the others from the query's history (the
    # lines strictly before it): 0.46 against the history baseline's 0.54, one order a line.
    order_codes = lines.groupby(["ordered_at", "customer_id"], sort=False).ngroup().to_numpy()
    once = ~pd.DataFrame({"order": order_codes, "sku": lines["sku"].to_numpy()}).duplicated()
    lines, order_codes = lines[once.to_numpy()], order_codes[once.to_numpy()]
    time = lines["ordered_at"].to_numpy("datetime64[ns]").astype("int64") / 1e9 / _SECONDS_PER_DAY
    first_line = np.unique(order_codes, return_index=True)[1]
    customer_codes, customers = pd.factorize(lines["customer_id"].to_numpy()[first_line])

    catalog = _catalog(lines, products)
    sku_code = pd.Index(catalog.index).get_indexer(lines["sku"])
    categories, sku_category = _categories(catalog["category"])
    return Interactions(
        order=order_codes.astype(np.int64),
        sku=sku_code.astype(np.int64),
        order_customer=customer_codes.astype(np.int64),
        order_time=time[first_line],
        skus=catalog.index.to_numpy(dtype=object),
        customers=np.asarray(customers, dtype=object),
        sku_category=sku_category,
        categories=categories,
        sku_title=catalog["title"].to_numpy(dtype=object),
        sku_price=catalog["price"].to_numpy(dtype=np.float64),
        sku_margin=catalog["margin"].to_numpy(dtype=np.float64),
    )


def _catalog(lines: pd.DataFrame, products: pd.DataFrame | None) -> pd.DataFrame:
    """One row per sku: title, category, price, margin; the product file wins."""
    empty = pd.Series("", index=lines.index)
    seen = pd.DataFrame(
        {
            "sku": lines["sku"],
            "title": lines.get("title", empty).replace("", np.nan),
            "category": lines.get("category", empty).replace("", np.nan),
            "price": pd.to_numeric(lines.get("price", np.nan), errors="coerce"),
        }
    )
    catalog = seen.groupby("sku", sort=True).agg(
        title=("title", "last"), category=("category", "last"), price=("price", "median")
    )
    catalog["margin"] = np.nan
    if products is not None and len(products):
        known = products.set_index("sku")[["title", "category", "price", "margin"]]
        known = known.replace("", np.nan)
        catalog = known.combine_first(catalog)
    catalog["title"] = catalog["title"].fillna(pd.Series(catalog.index, index=catalog.index))
    catalog["category"] = catalog["category"].fillna("")
    return catalog


def _categories(category: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Category names with "" first, and the code of each row."""
    names = np.unique(np.append(category.to_numpy(dtype=object).astype(str), ""))
    codes = np.searchsorted(names, category.to_numpy(dtype=object).astype(str))
    return names.astype(object), codes.astype(np.int64)
