"""Request-time scoring of the skus offered with one order, compiled with numba.

:func:`score_order` computes in one compiled call what the batch path computes
for those skus: their signals as :func:`~ranker.candidates.generate_one` gathers
them, their features as :func:`~ranker.features.build_features` builds them and
their calibrated probability as :meth:`~ranker.scorer.Scorer.predict_proba` gives
it. With NumPy that chain is ~300 calls on arrays of ~15 rows per order, where
call overhead is nearly all of the cost.

Sums are taken in NumPy's order (``np.add.reduceat`` adds the first value to the
pairwise sum of the rest), so the signals are the batch path's to the bit.
``log``, ``log1p`` and ``pow`` come from the C library, which can differ from
NumPy's SIMD versions in the last bit, and a linear scorer's dot product from
BLAS's in the same way: ``tests/ranker/test_compiled_scoring.py`` holds the
probabilities to a relative 1e-12 of the batch path's (1e-14 absolute).

The feature formulas are restated here, not shared with ``features.py`` as a
jitted function: numba's cache is keyed on the cached function's own file, so
an update that changed only ``features.py`` would leave the cached kernel
computing the old formulas. The test above is what keeps the two equal. For
the same reason the kernel reads the constants it shares with the batch path
(``HISTORY_DECAY``, the "never" days) from its tables, not as globals.
"""

import math
from typing import NamedTuple

import numba
import numpy as np

from ranker.candidates import HISTORY_DECAY
from ranker.features import _NEVER_DAYS, FEATURES
from ranker.index import Neighbours, ShopIndex
from ranker.scorer import TIE_WEIGHT, LinearScorer, Scorer, TreeScorer

_N_FEATURES = len(FEATURES)
_PAIRWISE_BLOCK = 128  # NumPy's PW_BLOCKSIZE: longer runs are split in two


class Links(NamedTuple):
    """A :class:`~ranker.index.Neighbours` table with each sku's row sorted by neighbour sku."""

    indptr: np.ndarray
    sku: np.ndarray
    strength: np.ndarray
    count: np.ndarray
    lift: np.ndarray


class History(NamedTuple):
    """The customers' purchase lines of a :class:`~ranker.index.ShopIndex`.

    ``decay[n]`` is ``HISTORY_DECAY ** n`` for every age and count of orders a
    customer's history can give, computed by NumPy as the batch path computes it.
    """

    indptr: np.ndarray
    key: np.ndarray
    sku: np.ndarray
    time: np.ndarray
    orders: np.ndarray
    start_time: float
    end_time: float
    decay: np.ndarray


class SkuTables(NamedTuple):
    """Per-sku arrays, with the four features that depend on the sku alone computed by NumPy."""

    category: np.ndarray
    price: np.ndarray
    interval: np.ndarray
    popularity_log: np.ndarray
    trend_log: np.ndarray
    rebuy_rate: np.ndarray
    interval_log: np.ndarray
    n_categories: int


class ScorerTables(NamedTuple):
    """A :class:`~ranker.scorer.TreeScorer` or :class:`~ranker.scorer.LinearScorer` as arrays.

    ``offset`` is the trees' baseline or the linear intercept; ``coef`` is empty
    for trees, and the tree arrays are empty for a linear scorer.
    """

    calibration_x: np.ndarray
    calibration_y: np.ndarray
    tie_weight: float
    offset: float
    coef: np.ndarray
    depth: int
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    leaf_value: np.ndarray


class ScoringTables(NamedTuple):
    """Everything :func:`score_order` reads of one model.

    ``never_days`` is the features' "days since" for a sku or customer never seen.
    Like ``History.decay``, it is passed in rather than read as a global: numba's
    cache would keep the value a global had at compile time.
    """

    copurchase: Links
    next_order: Links
    history: History
    skus: SkuTables
    scorer: ScorerTables
    horizon: float
    never_days: float


class SkuScores(NamedTuple):
    """Scores of the offered skus of one order.

    sku : ndarray of shape (n_skus,)
        The sku codes scored.
    probability : ndarray of shape (n_skus,)
        Calibrated P(relevant).
    anchor : ndarray of shape (n_skus,)
        Basket sku of the strongest co-purchase link, -1 if none.
    history_count : ndarray of shape (n_skus,)
        Times the customer bought the sku before.
    history_last : ndarray of shape (n_skus,)
        When the customer last bought it (days since the epoch), NaN if never.
    """

    sku: np.ndarray
    probability: np.ndarray
    anchor: np.ndarray
    history_count: np.ndarray
    history_last: np.ndarray


def scoring_tables(index: ShopIndex, scorer: Scorer, horizon: float) -> tuple:
    """The arrays of a model that :func:`score_order` reads, built once per model.

    Parameters
    ----------
    index : ShopIndex
    scorer : TreeScorer or LinearScorer
    horizon : float
        Days ahead the scorer predicts purchases for.

    Returns
    -------
    tuple
        A :class:`ScoringTables` as plain nested tuples: numba types plain tuple
        arguments from a cached fingerprint, named ones in Python (~10 us a call).
    """
    orders_per_customer = np.diff(index.history_orders[index.history_indptr])
    max_orders = int(orders_per_customer.max(initial=0))
    tables = ScoringTables(
        copurchase=_links(index.copurchase),
        next_order=_links(index.next_order),
        history=History(
            indptr=_int64(index.history_indptr),
            key=_float64(index.history_key),
            sku=_int64(index.history_sku),
            time=_float64(index.history_time),
            orders=_int64(index.history_orders),
            start_time=float(index.start_time),
            end_time=float(index.end_time),
            decay=HISTORY_DECAY ** np.arange(max_orders + 2, dtype=np.float64),
        ),
        skus=SkuTables(
            category=_int64(index.sku_category),
            price=_float64(index.sku_price),
            interval=_float64(index.sku_interval),
            popularity_log=np.log(index.sku_share + 1e-6),
            trend_log=_float64(index.sku_trend),
            rebuy_rate=_float64(index.sku_rebuy),
            interval_log=np.log1p(index.sku_interval),
            n_categories=len(index.categories),
        ),
        scorer=_scorer_tables(scorer),
        horizon=float(horizon),
        never_days=_NEVER_DAYS,
    )
    return tuple(tuple(part) if isinstance(part, tuple) else part for part in tables)


def compile_kernel(tables: tuple) -> None:
    """Compile :func:`score_order` for these tables, or load it from numba's cache."""
    no_items = np.zeros(0, np.int64)
    score_order(tables, no_items, no_items, np.zeros(0), -1, 0.0, np.zeros(1, np.int64))


@numba.njit(cache=True, error_model="numpy")
def score_order(
    tables: tuple,
    basket_sku: np.ndarray,
    basket_category: np.ndarray,
    basket_price: np.ndarray,
    customer: int,
    time: float,
    sku: np.ndarray,
) -> SkuScores:
    """Calibrated P(relevant) of given skus for one order, and what their reasons need.

    Parameters
    ----------
    tables : tuple
        From :func:`scoring_tables`.
    basket_sku, basket_category : ndarray of shape (n_items,), int64
        Codes of each basket line, -1 when unknown.
    basket_price : ndarray of shape (n_items,), float64
        Unit price of each basket line, NaN when unknown.
    customer : int
        Customer code, -1 when unknown.
    time : float
        Order time, days since the epoch.
    sku : ndarray of shape (n_skus,), int64
        Distinct sku codes, ascending, none in the basket.

    Returns
    -------
    SkuScores
    """
    tables = _named(tables)
    basket = basket_sku[basket_sku >= 0]
    copurchase = _basket_links(tables.copurchase, basket, sku)
    next_order = _basket_links(tables.next_order, basket, sku)
    start, stop = _history_slice(tables.history, customer, time)
    history = _history_signals(tables.history, tables.skus, start, stop, sku)
    X = _features(
        tables,
        copurchase,
        next_order,
        history,
        start,
        stop,
        basket_category,
        basket_price,
        time,
        sku,
    )
    scorer = tables.scorer
    probability = _calibrated(
        scorer.calibration_x, scorer.calibration_y, scorer.tie_weight, _raw_scores(scorer, X)
    )
    count, last, anchor = history[0], history[2], copurchase[4]
    return SkuScores(sku, probability, anchor, count, last)


@numba.njit(cache=True)
def _features(
    tables: ScoringTables,
    copurchase: tuple,
    next_order: tuple,
    history: tuple,
    start: int,
    stop: int,
    basket_category: np.ndarray,
    basket_price: np.ndarray,
    time: float,
    sku: np.ndarray,
) -> np.ndarray:
    """:func:`~ranker.features.build_features` of the skus of one order, from their signals:
    the link sums of :func:`_basket_links`, the customer's lines ``start:stop`` and what
    :func:`_history_signals` found in them."""
    skus = tables.skus
    copurchase_sum, copurchase_max, copurchase_count, copurchase_lift, _ = copurchase
    next_order_sum = next_order[0]
    count, decayed, last, first, category_lines = history
    n_orders = tables.history.orders[stop] - tables.history.orders[start]
    orders = float(n_orders)
    first_order = tables.history.time[start] if stop > start else np.nan
    last_order = tables.history.time[stop - 1] if stop > start else np.nan
    basket_lines = np.zeros(skus.n_categories, np.int64)
    for category in basket_category:
        if category >= 0:
            basket_lines[category] += 1
    n_items = len(basket_category)
    price_total, n_priced = 0.0, 0
    for price in basket_price:  # in basket order, as np.bincount sums them
        if not math.isnan(price):
            price_total += price
            n_priced += 1
    basket_price_mean = price_total / n_priced if n_priced else np.nan
    span = time - (time if math.isnan(first_order) else first_order)
    orders_ahead = tables.horizon * max(orders, 1.0) / max(span, 1.0)
    decayed_norm = 1 - tables.history.decay[max(n_orders, 1)]
    X = np.empty((len(sku), _N_FEATURES))
    for row in range(len(sku)):
        code = sku[row]
        bought = count[row] > 0
        days_since = time - last[row] if bought else tables.never_days
        interval = skus.interval[code]
        if count[row] > 1:
            interval = (last[row] - first[row]) / max(count[row] - 1, 1.0)
        price_ratio = skus.price[code] / basket_price_mean
        priced = math.isfinite(price_ratio) and price_ratio > 0
        category = skus.category[code]
        x = X[row]
        x[0] = copurchase_sum[row]
        x[1] = copurchase_max[row]
        x[2] = math.log1p(copurchase_lift[row])
        x[3] = math.log1p(copurchase_count[row])
        x[4] = next_order_sum[row]
        x[5] = skus.popularity_log[code]
        x[6] = skus.trend_log[code]
        x[7] = math.log1p(count[row])
        x[8] = count[row] / max(orders, 1.0)
        x[9] = decayed[row] * (1 - tables.history.decay[1]) / decayed_norm
        x[10] = 1 - (1 - count[row] / max(orders, 1.0)) ** orders_ahead
        x[11] = math.log1p(days_since)
        x[12] = math.log((days_since + 1.0) / (interval + 1.0)) if bought else 0.0
        x[13] = skus.rebuy_rate[code]
        x[14] = skus.interval_log[code]
        x[15] = category_lines[category] / max(stop - start, 1)
        x[16] = basket_lines[category] / max(n_items, 1)
        x[17] = math.log(price_ratio if priced else 1.0)
        x[18] = math.log1p(orders)
        x[19] = math.log1p(time - last_order if orders > 0 else tables.never_days)
        x[20] = math.log1p(float(n_items))
    return X


@numba.njit(cache=True)
def _named(tables: tuple) -> ScoringTables:
    """:func:`scoring_tables`' plain tuples, named again."""
    copurchase, next_order, history, skus, scorer, horizon, never_days = tables
    return ScoringTables(
        Links(*copurchase),
        Links(*next_order),
        History(*history),
        SkuTables(*skus),
        ScorerTables(*scorer),
        horizon,
        never_days,
    )


@numba.njit(cache=True)
def _basket_links(
    table: Links, basket: np.ndarray, sku: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sum, max, count and lift of the links of each of ``sku`` to the basket, and its
    anchor (the basket sku of the strongest link, -1 if none), as ``_sum_links`` gives them.

    A sku's links are ordered by strength, ties in basket order (its stable sort),
    so the strongest is last and a tie goes to the later basket item.
    """
    n_skus, n_items = len(sku), len(basket)
    strength = np.empty((n_skus, n_items))
    count = np.empty((n_skus, n_items))
    owner = np.empty((n_skus, n_items), np.int64)
    lift = np.zeros(n_skus)
    n_links = np.zeros(n_skus, np.int64)
    for item in range(n_items):
        position, stop = table.indptr[basket[item]], table.indptr[basket[item] + 1]
        for row in range(n_skus):  # both ascending: one walk along the basket sku's links
            while position < stop and table.sku[position] < sku[row]:
                position += 1
            if position == stop:
                break
            if table.sku[position] != sku[row]:
                continue
            slot = n_links[row]
            while slot > 0 and strength[row, slot - 1] > table.strength[position]:
                strength[row, slot] = strength[row, slot - 1]
                count[row, slot] = count[row, slot - 1]
                owner[row, slot] = owner[row, slot - 1]
                slot -= 1
            strength[row, slot] = table.strength[position]
            count[row, slot] = table.count[position]
            owner[row, slot] = item
            if n_links[row] == 0 or table.lift[position] > lift[row]:
                lift[row] = table.lift[position]
            n_links[row] += 1
    total, strongest, total_count = np.zeros(n_skus), np.zeros(n_skus), np.zeros(n_skus)
    anchor = np.full(n_skus, -1, np.int64)
    for row in range(n_skus):
        last = n_links[row] - 1
        if last >= 0:
            total[row] = _reduceat_sum(strength[row, : last + 1])
            strongest[row] = strength[row, last]
            total_count[row] = _reduceat_sum(count[row, : last + 1])
            anchor[row] = basket[owner[row, last]]
    return total, strongest, total_count, lift, anchor


@numba.njit(cache=True)
def _history_slice(history: History, customer: int, time: float) -> tuple[int, int]:
    """The customer's lines before ``time``, as ``_history_one`` finds them."""
    if customer < 0:
        return 0, 0
    start = history.indptr[customer]
    span = history.end_time - history.start_time + 2.0
    key = customer * span + min(max(time - history.start_time, -1.0), span - 1.0)
    return start, max(np.searchsorted(history.key, key), start)


@numba.njit(cache=True)
def _history_signals(
    history: History, skus: SkuTables, start: int, stop: int, sku: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Count, decayed count, last and first purchase of each of ``sku`` among the lines
    ``start:stop``, and the lines in each category.

    A sku's decayed weights are summed in line order, as ``_history_one``'s stable
    sort leaves them.
    """
    n_skus = len(sku)
    count = np.zeros(n_skus)
    decayed = np.zeros(n_skus)
    last = np.full(n_skus, np.nan)
    first = np.full(n_skus, np.nan)
    category_lines = np.zeros(skus.n_categories, np.int64)
    row_of_line = np.full(stop - start, -1)
    first_weight = np.zeros(n_skus + 1, np.int64)  # counts, then where each sku's weights start
    for line in range(start, stop):
        category_lines[skus.category[history.sku[line]]] += 1
        row = np.searchsorted(sku, history.sku[line])
        if row < n_skus and sku[row] == history.sku[line]:
            row_of_line[line - start] = row
            first_weight[row + 1] += 1
    first_weight = np.cumsum(first_weight)
    weights = np.empty(first_weight[n_skus])
    orders_before = history.orders[start]
    n_orders = history.orders[stop] - orders_before
    for line in range(start, stop):
        row = row_of_line[line - start]
        if row < 0:
            continue
        age = n_orders - (history.orders[line + 1] - orders_before)
        weights[first_weight[row] + int(count[row])] = history.decay[age]
        when = history.time[line]
        last[row] = when if count[row] == 0 else max(last[row], when)
        first[row] = when if count[row] == 0 else min(first[row], when)
        count[row] += 1
    for row in range(n_skus):
        if count[row] > 0:
            decayed[row] = _reduceat_sum(weights[first_weight[row] : first_weight[row + 1]])
    return count, decayed, last, first, category_lines


@numba.njit(cache=True)
def _raw_scores(scorer: ScorerTables, X: np.ndarray) -> np.ndarray:
    """``decision_function`` of the rows of ``X``."""
    n_rows = len(X)
    raw = np.full(n_rows, scorer.offset)
    if len(scorer.coef):
        for row in range(n_rows):
            total = 0.0
            for j in range(X.shape[1]):
                total += X[row, j] * scorer.coef[j]
            raw[row] += total
        return raw
    n_inner = 2**scorer.depth - 1
    n_trees = len(scorer.feature) // n_inner
    node = np.empty(n_trees, np.int64)
    leaves = np.empty(n_trees)
    for row in range(n_rows):
        x = X[row]
        for tree in range(n_trees):
            node[tree] = tree * n_inner
        for _ in range(scorer.depth):
            for tree in range(n_trees):  # the trees' lookups are independent: they overlap
                at = node[tree]
                node[tree] = scorer.left[at] + (x[scorer.feature[at]] > scorer.threshold[at])
        for tree in range(n_trees):
            leaves[tree] = scorer.leaf_value[node[tree]]
        raw[row] += _pairwise_sum(leaves)
    return raw


@numba.njit(cache=True)
def _calibrated(xp: np.ndarray, fp: np.ndarray, tie_weight: float, raw: np.ndarray) -> np.ndarray:
    """:func:`~ranker.scorer.calibrate`: ``np.interp(raw, xp, fp)`` step for step, ties broken."""
    value = np.empty(len(raw))
    for row in range(len(raw)):
        x = raw[row]
        j = np.searchsorted(xp, x, side="right") - 1
        if j < 0:
            value[row] = fp[0]
        elif j == len(xp) - 1 or xp[j] == x:
            value[row] = fp[j]
        else:
            slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j])
            value[row] = slope * (x - xp[j]) + fp[j]
            if math.isnan(value[row]):  # as NumPy: from the other end, then a flat segment
                value[row] = slope * (x - xp[j + 1]) + fp[j + 1]
                if math.isnan(value[row]) and fp[j] == fp[j + 1]:
                    value[row] = fp[j]
        value[row] = (1.0 - tie_weight) * value[row] + tie_weight / (1.0 + math.exp(-x))
    return value


@numba.njit(cache=True)
def _reduceat_sum(values: np.ndarray) -> float:
    """``np.add.reduceat`` of non-empty ``values``: the first plus the pairwise sum of the rest."""
    return values[0] + _pairwise_sum(values[1:])


@numba.njit(cache=True)
def _pairwise_sum(values: np.ndarray) -> float:
    """Sum of ``values`` in the order of NumPy's pairwise summation.

    NumPy splits a run longer than a block in two (at a multiple of 8) and adds
    the sums of the halves. The splits are walked with a stack: numba's cache
    crashes on recursive functions (numba issue #6061).
    """
    if len(values) <= _PAIRWISE_BLOCK:
        return _block_sum(values)
    pending = [(0, len(values), False)]  # (start, stop, both halves summed)
    sums = np.empty(128)  # a stack: one per level of splits, and the block being summed
    n_sums = 0
    while pending:
        start, stop, halves_summed = pending.pop()
        if halves_summed:
            n_sums -= 1
            sums[n_sums - 1] += sums[n_sums]
        elif stop - start <= _PAIRWISE_BLOCK:
            sums[n_sums] = _block_sum(values[start:stop])
            n_sums += 1
        else:
            half = (stop - start) // 2
            half -= half % 8
            pending.append((start, stop, True))
            pending.append((start + half, stop, False))
            pending.append((start, start + half, False))
    return sums[0]


@numba.njit(cache=True)
def _block_sum(values: np.ndarray) -> float:
    """NumPy's pairwise sum of at most one block: eight running sums from 8 values on."""
    n = len(values)
    if n < 8:
        total = -0.0
        for value in values:
            total += value
        return total
    r0, r1, r2, r3 = values[0], values[1], values[2], values[3]
    r4, r5, r6, r7 = values[4], values[5], values[6], values[7]
    i = 8
    while i < n - n % 8:
        v = values[i : i + 8]
        r0, r1, r2, r3 = r0 + v[0], r1 + v[1], r2 + v[2], r3 + v[3]
        r4, r5, r6, r7 = r4 + v[4], r5 + v[5], r6 + v[6], r7 + v[7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for value in values[i:]:
        total += value
    return total


def _links(neighbours: Neighbours) -> Links:
    table = neighbours.by_sku
    return Links(
        indptr=_int64(table.indptr),
        sku=_int64(table.sku),
        strength=_float64(table.strength),
        count=_float64(table.count),
        lift=_float64(table.lift),
    )


def _scorer_tables(scorer: Scorer) -> ScorerTables:
    calibration = {
        "calibration_x": _float64(scorer.calibration_x),
        "calibration_y": _float64(scorer.calibration_y),
        "tie_weight": TIE_WEIGHT,
    }
    no_floats, no_ints = np.zeros(0), np.zeros(0, np.int64)
    if isinstance(scorer, TreeScorer):
        return ScorerTables(
            **calibration,
            offset=float(scorer.baseline),
            coef=no_floats,
            depth=int(scorer.depth),
            feature=_int64(scorer.feature),
            threshold=_float64(scorer.threshold),
            left=_int64(scorer.left),
            leaf_value=_float64(scorer.leaf_value),
        )
    if isinstance(scorer, LinearScorer):
        return ScorerTables(
            **calibration,
            offset=float(scorer.intercept),
            coef=_float64(scorer.coef),
            depth=0,
            feature=no_ints,
            threshold=no_floats,
            left=no_ints,
            leaf_value=no_floats,
        )
    raise TypeError(f"scorer must be a TreeScorer or a LinearScorer, got {type(scorer).__name__}")


def _int64(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)


def _float64(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)
