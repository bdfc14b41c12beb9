"""Stage 1: cheap, broad candidate generation for a batch of orders.

For each query order the candidates are the union of: co-purchase neighbours
of the basket (cosine-normalised, not raw counts), skus customers buy in the
order after one holding the basket's skus, the customer's own history (most
bought first), what is popular in the basket's categories, what is popular
overall (cold start), and any skus the caller asks for (cross-sell offers).
Basket skus are never candidates. The raw signals gathered on the way (co-purchase
strength, the customer's count and last purchase, ...) are kept for the features.

:func:`generate` serves a batch of 100k training queries; :func:`generate_one`
serves the one order of a live request with the same steps minus the batch
group-bys (~3x faster there). A test holds the two bit-identical on generated
orders, so training and serving cannot drift apart.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ranker._groups import (
    Join,
    expand_ranges,
    run_lengths,
    run_starts,
    take_ragged,
    top_per_group,
    unique_keys,
)
from ranker.index import Neighbours, ShopIndex

HISTORY_DECAY = 0.8  # weight of a purchase n orders ago: HISTORY_DECAY ** n


@dataclass(frozen=True)
class Queries:
    """A batch of orders to rank for.

    Attributes
    ----------
    basket_indptr : ndarray of shape (n_queries + 1,)
        Each query's slice of the basket arrays.
    basket_sku : ndarray of shape (n_items,)
        Sku code of each basket item, -1 for a sku the index does not know.
    basket_category : ndarray of shape (n_items,)
        Category code of each basket item, -1 when unknown.
    basket_price : ndarray of shape (n_items,)
        Unit price of each basket item, NaN when unknown.
    customer : ndarray of shape (n_queries,)
        Customer code, -1 for a customer the index does not know.
    time : ndarray of shape (n_queries,)
        Order time, days since the epoch; only history before it is used.
    """

    basket_indptr: np.ndarray
    basket_sku: np.ndarray
    basket_category: np.ndarray
    basket_price: np.ndarray
    customer: np.ndarray
    time: np.ndarray

    @property
    def n_queries(self) -> int:
        return len(self.customer)

    @cached_property
    def item_query(self) -> np.ndarray:
        """Query of each basket item, shape (n_items,)."""
        return np.repeat(np.arange(self.n_queries), self.basket_size)

    @cached_property
    def basket_size(self) -> np.ndarray:
        """Items per basket, shape (n_queries,)."""
        return self.basket_indptr[1:] - self.basket_indptr[:-1]

    def take(self, rows: np.ndarray) -> "Queries":
        """The sub-batch of the queries ``rows`` (ascending), renumbered from 0."""
        indptr, items = take_ragged(self.basket_indptr, rows)
        return Queries(
            basket_indptr=indptr,
            basket_sku=self.basket_sku[items],
            basket_category=self.basket_category[items],
            basket_price=self.basket_price[items],
            customer=self.customer[rows],
            time=self.time[rows],
        )


@dataclass(frozen=True)
class Candidates:
    """Candidate (query, sku) pairs with the raw signals of each, sorted by query then sku.

    Every array has shape (n_pairs,) except the ``query_*`` ones, (n_queries,).
    ``anchor`` is the basket sku with the strongest co-purchase link (-1 if none).
    History fields are 0 (counts) or NaN (times) for skus the customer never bought.
    """

    query: np.ndarray
    sku: np.ndarray
    copurchase_sum: np.ndarray
    copurchase_max: np.ndarray
    copurchase_count: np.ndarray
    copurchase_lift: np.ndarray
    anchor: np.ndarray
    next_order_sum: np.ndarray
    history_count: np.ndarray
    history_decayed: np.ndarray
    history_last: np.ndarray
    history_first: np.ndarray
    category_affinity: np.ndarray
    basket_category_share: np.ndarray
    query_orders: np.ndarray
    query_first_order: np.ndarray
    query_last_order: np.ndarray
    query_basket_price: np.ndarray
    query_basket_size: np.ndarray


@dataclass(frozen=True)
class Budget:
    """How many candidates each source may add per query."""

    copurchase: int = 20
    next_order: int = 10
    history: int = 20
    category: int = 5
    popular: int = 5


DEFAULT_BUDGET = Budget()


def generate(
    index: ShopIndex,
    queries: Queries,
    budget: Budget = DEFAULT_BUDGET,
    extra: tuple[np.ndarray, np.ndarray] | None = None,
) -> Candidates:
    """Retrieve candidates for each query and gather their raw signals.

    Parameters
    ----------
    index : ShopIndex
    queries : Queries
    budget : Budget
        Candidates per source and query.
    extra : (query, sku) pair of ndarray of shape (n_extra,), default=None
        Pairs that must be scored whatever the sources say (cross-sell offers).

    Returns
    -------
    Candidates
    """
    n_skus = index.n_skus
    item_query = queries.item_query
    known = queries.basket_sku >= 0
    basket_keys = np.unique(item_query[known] * n_skus + queries.basket_sku[known])

    copurchase = _expand(index.copurchase, item_query[known], queries.basket_sku[known], n_skus)
    next_order = _expand(index.next_order, item_query[known], queries.basket_sku[known], n_skus)
    history = _history(index, queries)
    sources = [
        _best(copurchase["key"], copurchase["sum"], n_skus, budget.copurchase),
        _best(next_order["key"], next_order["sum"], n_skus, budget.next_order),
        _best(history["key"], history["count"] + history["last"] * 1e-6, n_skus, budget.history),
        _category_popular(index, queries, budget.category),
        _popular(index, queries.n_queries, budget.popular),
    ]
    if extra is not None:
        sources.append(extra[0] * n_skus + extra[1])
    keys = np.unique(np.concatenate(sources))
    keys = keys[~Join(basket_keys, keys).found]
    query, sku = np.divmod(keys, n_skus)
    affinity, basket_share = _category_signals(index, queries, history, query, sku)
    return Candidates(
        query=query,
        sku=sku,
        **_pair_signals(keys, copurchase, next_order, history),
        category_affinity=affinity,
        basket_category_share=basket_share,
        query_orders=history["query_orders"],
        query_first_order=history["query_first_order"],
        query_last_order=history["query_last_order"],
        query_basket_price=_basket_price(queries),
        query_basket_size=queries.basket_size.astype(np.float64),
    )


def generate_one(
    index: ShopIndex,
    queries: Queries,
    budget: Budget = DEFAULT_BUDGET,
    extra: np.ndarray | None = None,
) -> Candidates:
    """:func:`generate` for a batch of exactly one query, with far fewer array passes.

    A live request ranks one order: the batch group-bys (sort by query, scatter
    back) are mostly per-call overhead there. This path gives the same candidates
    and the same signals, bit for bit (``tests/ranker/test_candidates.py`` checks
    it against :func:`generate` on generated orders).

    Parameters
    ----------
    index : ShopIndex
    queries : Queries
        One query (``queries.n_queries == 1``).
    budget : Budget
    extra : ndarray of shape (n_extra,), default=None
        Sku codes that must be scored whatever the sources say.

    Returns
    -------
    Candidates
    """
    basket = queries.basket_sku[queries.basket_sku >= 0]
    copurchase = _expand_one(index.copurchase, basket)
    next_order = _expand_one(index.next_order, basket)
    history = _history_one(index, int(queries.customer[0]), float(queries.time[0]))
    sources = [
        _best_one(copurchase["key"], copurchase["sum"], budget.copurchase),
        _best_one(next_order["key"], next_order["sum"], budget.next_order),
        _best_one(history["key"], history["count"] + history["last"] * 1e-6, budget.history),
        _category_popular_one(index, queries.basket_category, budget.category),
        index.popular[: budget.popular],
    ]
    if extra is not None:
        sources.append(extra)
    sku = _unique(np.concatenate(sources))
    if len(basket):
        sku = sku[~Join(np.sort(basket), sku).found]
    return _assemble_one(index, queries, sku, copurchase, next_order, history)


def _assemble_one(
    index: ShopIndex,
    queries: Queries,
    sku: np.ndarray,
    copurchase: dict,
    next_order: dict,
    history: dict,
) -> Candidates:
    """The candidates ``sku`` of one query with their signals from the expanded sources."""
    category = index.sku_category[sku]
    n_categories = len(index.categories)
    past_lines = len(history["line_sku"])
    past = np.bincount(index.sku_category[history["line_sku"]], minlength=n_categories)
    known = queries.basket_category[queries.basket_category >= 0]
    n_items = len(queries.basket_sku)
    prices = [price for price in queries.basket_price.tolist() if price == price]  # not NaN
    total = 0.0
    for price in prices:  # summed in basket order, as np.bincount does
        total += price
    return Candidates(
        query=np.zeros(len(sku), np.int64),
        sku=sku,
        **_pair_signals(sku, copurchase, next_order, history),
        category_affinity=past[category] / max(past_lines, 1),
        basket_category_share=np.bincount(known, minlength=n_categories)[category]
        / max(n_items, 1),
        query_orders=history["query_orders"],
        query_first_order=history["query_first_order"],
        query_last_order=history["query_last_order"],
        query_basket_price=np.array([total / len(prices) if prices else np.nan]),
        query_basket_size=np.array([float(n_items)]),
    )


def _pair_signals(
    keys: np.ndarray, copurchase: dict, next_order: dict, history: dict
) -> dict[str, np.ndarray]:
    """The (query, sku) signals of each candidate key, looked up in the expanded sources."""
    by_copurchase = Join(copurchase["key"], keys)
    by_history = Join(history["key"], keys)
    return {
        "copurchase_sum": by_copurchase.get(copurchase["sum"], 0.0),
        "copurchase_max": by_copurchase.get(copurchase["max"], 0.0),
        "copurchase_count": by_copurchase.get(copurchase["count"], 0.0),
        "copurchase_lift": by_copurchase.get(copurchase["lift"], 0.0),
        "anchor": by_copurchase.get(copurchase["anchor"], -1),
        "next_order_sum": Join(next_order["key"], keys).get(next_order["sum"], 0.0),
        "history_count": by_history.get(history["count"], 0.0),
        "history_decayed": by_history.get(history["decayed"], 0.0),
        "history_last": by_history.get(history["last"], np.nan),
        "history_first": by_history.get(history["first"], np.nan),
    }


def _expand_one(neighbours: Neighbours, basket: np.ndarray) -> dict[str, np.ndarray]:
    """``_expand`` for one query, with the same sums in the same order.

    Reads the rows sorted by neighbour sku: equal keys still meet in basket order,
    so the sort below orders them as ``_expand`` does.
    """
    neighbours = neighbours.by_sku
    indptr = neighbours.indptr
    bounds = list(zip(indptr[basket].tolist(), indptr[basket + 1].tolist(), strict=True))
    if len(bounds) == 1:  # one basket sku: its neighbours are distinct and already sorted
        start, stop = bounds[0]
        strength = neighbours.strength[start:stop]
        return {
            "key": neighbours.sku[start:stop],
            "sum": strength,
            "max": strength,
            "count": neighbours.count[start:stop],
            "lift": neighbours.lift[start:stop],
            "anchor": np.full(stop - start, basket[0]),
        }
    position = np.concatenate([np.arange(start, stop) for start, stop in bounds] or [[]])
    owner = np.repeat(np.arange(len(bounds)), [stop - start for start, stop in bounds])
    return _sum_links(neighbours, basket, position.astype(np.intp), owner)


def _sum_links(
    table: Neighbours, basket: np.ndarray, position: np.ndarray, owner: np.ndarray
) -> dict[str, np.ndarray]:
    """Sum the rows ``position`` of ``table`` by neighbour sku; ``owner`` is each row's basket item.

    Rows must come in basket order: on a tie of strengths the later basket item anchors.
    """
    keys, strength = table.sku[position], table.strength[position]
    order = np.lexsort((strength, keys))  # by key, strongest link last
    keys, strength, owner, position = keys[order], strength[order], owner[order], position[order]
    starts, last = _runs(keys)
    return {
        "key": keys[starts],
        "sum": np.add.reduceat(strength, starts) if len(keys) else strength,
        "max": strength[last],
        "count": np.add.reduceat(table.count[position], starts)
        if len(keys)
        else table.count[position],
        "lift": np.maximum.reduceat(table.lift[position], starts)
        if len(keys)
        else table.lift[position],
        "anchor": basket[owner[last]],
    }


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last position of each run of equal values (``run_starts`` for small arrays)."""
    n = len(sorted_keys)
    first = np.empty(n + 1, bool)
    first[0] = first[n] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=first[1:n])
    return np.flatnonzero(first[:n]), np.flatnonzero(first[1:])


def _unique(values: np.ndarray) -> np.ndarray:
    """``np.unique`` of a small 1-d array with a fraction of its overhead."""
    values = np.sort(values)
    first = np.empty(len(values), bool)
    first[:1] = True
    np.not_equal(values[1:], values[:-1], out=first[1:])
    return values[first]


def _best_one(keys: np.ndarray, score: np.ndarray, n_top: int) -> np.ndarray:
    """``_best`` for one query: the ``n_top`` best keys, ties to the earlier."""
    return keys[np.argsort(-score, kind="stable")[:n_top]]


def _history_one(index: ShopIndex, customer: int, time: float) -> dict[str, np.ndarray]:
    """``_history`` for one query (a customer code, -1 when unknown, and a time)."""
    start = stop = 0
    if customer >= 0:
        start = int(index.history_indptr[customer])
        span = index.end_time - index.start_time + 2.0  # as ShopIndex.history_key_of
        key = customer * span + min(max(time - index.start_time, -1.0), span - 1.0)
        stop = max(int(np.searchsorted(index.history_key, key)), start)
    if stop == start:
        empty = np.zeros(0)
        return {
            "key": np.zeros(0, np.int64),
            "count": empty,
            "decayed": empty,
            "last": empty,
            "first": empty,
            "line_sku": np.zeros(0, np.int64),
            "query_orders": np.zeros(1),
            "query_first_order": np.full(1, np.nan),
            "query_last_order": np.full(1, np.nan),
        }
    line_sku = index.history_sku[start:stop]
    order = np.argsort(line_sku, kind="stable")
    keys = line_sku[order]
    starts, _ = _runs(keys)
    orders_before = index.history_orders[start]
    n_orders = int(index.history_orders[stop] - orders_before)
    age = n_orders - (index.history_orders[start + 1 : stop + 1] - orders_before)
    line_time = index.history_time[start:stop][order]
    return {
        "key": keys[starts],
        "count": np.add.reduceat(np.ones(len(keys)), starts),
        "decayed": np.add.reduceat(HISTORY_DECAY ** age[order], starts),
        "last": np.maximum.reduceat(line_time, starts),
        "first": np.minimum.reduceat(line_time, starts),
        "line_sku": line_sku,
        "query_orders": np.array([float(n_orders)]),
        "query_first_order": index.history_time[start : start + 1].astype(np.float64),
        "query_last_order": index.history_time[stop - 1 : stop].astype(np.float64),
    }


def _category_popular_one(index: ShopIndex, basket_category: np.ndarray, n_top: int) -> np.ndarray:
    """``_category_popular`` for one query."""
    indptr = index.category_popular_indptr
    skus = [
        index.category_popular[indptr[c] : min(indptr[c + 1], indptr[c] + n_top)]
        for c in sorted({c for c in basket_category.tolist() if c >= 0})
    ]
    if not skus:
        return np.zeros(0, np.int64)
    sku = np.concatenate(skus)
    return sku[np.argsort(-index.sku_share[sku], kind="stable")[:n_top]]


def _best(keys: np.ndarray, score: np.ndarray, n_skus: int, n_top: int) -> np.ndarray:
    return keys[top_per_group(keys // n_skus, score, n_top)]


def _expand(
    neighbours: Neighbours, item_query: np.ndarray, item_sku: np.ndarray, n_skus: int
) -> dict[str, np.ndarray]:
    """Neighbours of every basket item, summed (and maxed) per (query, sku)."""
    owner, position = expand_ranges(neighbours.indptr[item_sku], neighbours.indptr[item_sku + 1])
    keys = item_query[owner] * n_skus + neighbours.sku[position]
    strength = neighbours.strength[position]
    order = np.lexsort((strength, keys))  # by key, strongest link last
    keys, strength, owner, position = keys[order], strength[order], owner[order], position[order]
    starts = run_starts(keys)
    last = starts + run_lengths(starts, len(keys)) - 1
    return {
        "key": keys[starts],
        "sum": np.add.reduceat(strength, starts),
        "max": strength[last],
        "count": np.add.reduceat(neighbours.count[position], starts),
        "lift": np.maximum.reduceat(neighbours.lift[position], starts),
        "anchor": item_sku[owner[last]],
    }


def _history(index: ShopIndex, queries: Queries) -> dict[str, np.ndarray]:
    """Each query customer's purchases before the query time, per (query, sku)."""
    customer = np.maximum(queries.customer, 0)
    known = queries.customer >= 0
    start = np.where(known, index.history_indptr[customer], 0)
    stop = np.searchsorted(index.history_key, index.history_key_of(customer, queries.time))
    stop = np.where(known, stop, 0)
    owner, line = expand_ranges(start, stop)
    keys, order, starts = unique_keys(owner * index.n_skus + index.history_sku[line])
    time = index.history_time[line][order]
    has_orders = stop > start
    n_orders = index.history_orders[stop] - index.history_orders[start]
    age = n_orders[owner] - (index.history_orders[line + 1] - index.history_orders[start[owner]])
    return {
        "key": keys,
        "count": run_lengths(starts, len(order)).astype(np.float64),
        "decayed": np.add.reduceat(HISTORY_DECAY ** age[order], starts),
        "last": np.maximum.reduceat(time, starts),
        "first": np.minimum.reduceat(time, starts),
        "line_query": owner,
        "line_sku": index.history_sku[line],
        "query_orders": n_orders.astype(np.float64),
        "query_first_order": np.where(
            has_orders, index.history_time[np.where(has_orders, start, 0)], np.nan
        ),
        "query_last_order": np.where(
            has_orders, index.history_time[np.where(has_orders, stop - 1, 0)], np.nan
        ),
    }


def _category_popular(index: ShopIndex, queries: Queries, n_top: int) -> np.ndarray:
    """The trending best-sellers of each category in the basket."""
    category = queries.basket_category
    known = category >= 0
    pairs = np.unique(queries.item_query[known] * len(index.categories) + category[known])
    query, category = np.divmod(pairs, len(index.categories))
    indptr = index.category_popular_indptr
    owner, position = expand_ranges(
        indptr[category], np.minimum(indptr[category + 1], indptr[category] + n_top)
    )
    sku = index.category_popular[position]
    keys = query[owner] * index.n_skus + sku
    return keys[top_per_group(query[owner], index.sku_share[sku], n_top)]


def _popular(index: ShopIndex, n_queries: int, n_top: int) -> np.ndarray:
    top = index.popular[:n_top]
    return (np.arange(n_queries)[:, None] * index.n_skus + top[None, :]).ravel()


def _category_signals(
    index: ShopIndex, queries: Queries, history: dict, query: np.ndarray, sku: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Share of the customer's past lines, and of the basket, in each candidate's category."""
    n_categories = len(index.categories)
    category = index.sku_category[sku]
    pair_keys = query * n_categories + category

    past = history["line_query"] * n_categories + index.sku_category[history["line_sku"]]
    past_lines = np.bincount(history["line_query"], minlength=queries.n_queries)
    affinity = _share(past, pair_keys, past_lines[query])

    known = queries.basket_category >= 0
    in_basket = queries.item_query[known] * n_categories + queries.basket_category[known]
    return affinity, _share(in_basket, pair_keys, queries.basket_size[query])


def _share(group_keys: np.ndarray, keys: np.ndarray, totals: np.ndarray) -> np.ndarray:
    unique, _, starts = unique_keys(group_keys)
    counts = run_lengths(starts, len(group_keys))
    return Join(unique, keys).get(counts, 0) / np.maximum(totals, 1)


def _basket_price(queries: Queries) -> np.ndarray:
    """Mean known unit price of each basket, NaN when none is known."""
    priced = ~np.isnan(queries.basket_price)
    item_query = queries.item_query
    total = np.bincount(
        item_query[priced], queries.basket_price[priced], minlength=queries.n_queries
    )
    count = np.bincount(item_query[priced], minlength=queries.n_queries)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count
