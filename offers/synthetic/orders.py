"""The synthetic shop's customers and a year of their orders, returns included.

How the orders are made. 300 to 2,000 products of 128 types in 19 categories,
with lognormal prices around each type's median and a heavy-tailed popularity.
Anchors (cameras, printers, espresso machines, consoles...) have specific
compatible accessories and consumables (a camera's memory card and bag, a
printer's ink, same brand preferred). Customers belong to one of seven segments
with different category tastes, plus a favourite category of their own; they
join over the two years before and during the log (so the log opens in steady
state and "returning" means ordered before, perhaps before the log), and leave
after an order with probability 0.45 after the first, 0.2 later (a third of that
while they use a consumable). Order dates follow a Q4 peak, Black Friday (15% off
all but consumables), category seasons, a weekly and a daily pattern. When a
customer buys an anchor, each compatible item goes into the same basket with
probability 0.3 (accessory) or 0.45 (consumable), otherwise into the next order
with probability 0.5, then 0.225 in the one after (within 120 days). A consumable
bought is taken up as a habit (always when already in use, 0.85 when it came
with an anchor, 0.5 when browsed) and runs out after its cycle (coffee beans 30
days, ink 60, diapers 21...) times the quantity bought times the customer's own
pace, with 10% jitter. The next order comes when a consumable runs out, unless a
browsing order comes first; a consumable due within 4 days is re-bought with
probability 0.92 (10% of the time another brand of the same type), otherwise the
habit stops. About 5% of the rows are returns: the same order id and sku, a
negative quantity and the date of the return, 2 to ~30 days later.
"""

from dataclasses import dataclass

import numpy as np

from offers.synthetic.catalog import Catalog
from offers.synthetic.clock import BLACK_FRIDAY_DAYS, Clock
from offers.synthetic.world import (
    ACCESSORY,
    ANCHOR,
    CATEGORIES,
    CONSUMABLE,
    COUNTRIES,
    COUNTRY_SHARES,
    MAX_COMPAT,
    N_DAYS,
    PRODUCT_TYPES,
    SEGMENTS,
    STANDALONE,
    numbered_ids,
)

_SRC_DUE, _SRC_PENDING, _SRC_MAIN, _SRC_COMPAT, _SRC_FILL = range(5)


# Calendar-month multipliers (January first) of a category's share of baskets.
_CATEGORY_SEASONS: dict[str, tuple[float, ...]] = {
    "Outdoor & Camping": (0.5, 0.5, 0.8, 1.1, 1.5, 1.8, 1.8, 1.5, 1.0, 0.7, 0.6, 0.8),
    "Gaming": (0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.6, 2.2),
    "Cameras": (0.8, 0.8, 0.9, 0.9, 1.0, 1.1, 1.1, 1.0, 0.9, 1.0, 1.5, 1.8),
    "Fitness": (1.9, 1.4, 1.1, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 0.9, 0.8, 0.8),
    "Home & Garden": (0.7, 0.8, 1.3, 1.5, 1.5, 1.3, 1.1, 1.0, 0.9, 0.8, 0.8, 0.8),
}


_BLACK_FRIDAY_DISCOUNT = 0.15
_RETURN_RATE = {ANCHOR: 0.075, ACCESSORY: 0.06, CONSUMABLE: 0.02, STANDALONE: 0.055}
_RETURN_SHARE = 0.056  # returns / purchase lines before the period's end cuts some


class _GroupSampler:
    """Draws a product of a given group (category or type) in proportion to ``weights``."""

    def __init__(self, groups: np.ndarray, weights: np.ndarray) -> None:
        items = np.flatnonzero(weights > 0)
        items = items[np.argsort(groups[items], kind="stable")]
        group, cum = groups[items], np.cumsum(weights[items])
        n_groups = int(groups.max()) + 1
        total = np.bincount(group, weights[items], minlength=n_groups)
        before = np.concatenate([[0.0], np.cumsum(total)[:-1]])
        self.key = group + (cum - before[group]) / total[group]
        last = np.flatnonzero(np.r_[group[1:] != group[:-1], True])
        self.key[last] = group[last] + 1.0
        self.items = items
        self.has_group = total > 0

    def sample(self, groups: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One product per entry of ``groups`` (all with ``has_group``), ``u`` uniform in [0, 1)."""
        return self.items[np.searchsorted(self.key, groups + u, side="right")]


@dataclass(frozen=True)
class _History:
    """Customers and their orders, as parallel arrays (times in days since the start)."""

    segment: np.ndarray  # (n_customers,)
    country: np.ndarray
    order_customer: np.ndarray  # (n_orders,)
    order_time: np.ndarray
    order_k: np.ndarray  # 0 for a customer's first order
    order_device: np.ndarray
    line_order: np.ndarray  # (n_lines,)
    line_sku: np.ndarray
    line_quantity: np.ndarray


@dataclass
class _Customers:
    """What the simulation remembers of each customer between rounds (one order per round)."""

    segment: np.ndarray
    favourite: np.ndarray
    country: np.ndarray
    device_cum: np.ndarray  # (n, 3) cumulative device probabilities
    gap_mean: np.ndarray  # mean gap between browsing orders, operational days
    pace: np.ndarray  # how fast the household uses consumables up (cycle multiplier)
    t: np.ndarray  # time of the next order
    k: np.ndarray  # orders so far
    triggered: np.ndarray  # the next order is a refill
    active: np.ndarray
    pending: np.ndarray  # (n, MAX_COMPAT) complements of the last anchor not bought yet
    pending_k: np.ndarray
    pending_t: np.ndarray
    refill_sku: np.ndarray  # (n, _REFILL_SLOTS) consumables in use, -1 for none
    refill_due: np.ndarray  # (n, _REFILL_SLOTS) when each runs out, inf for none


_REFILL_SLOTS = 4
_FILL_MEAN = 0.9
_BURN_IN_DAYS = 730  # customers join from two years before the log, so it opens in steady state


def simulate_history(
    rng: np.random.Generator, catalog: Catalog, clock: Clock, taste: np.ndarray, n_orders: int
) -> _History:
    """Simulate batches of customers until there are enough orders; keep exactly ``n_orders``."""
    batches: list[_History] = []
    n_simulated, n_customers = 0, n_orders // 3 + 50
    while n_simulated < n_orders:
        batch = _simulate_batch(rng, catalog, clock, taste, n_customers)
        batches.append(batch)
        n_simulated += len(batch.order_time)
        per_customer = max(len(batch.order_time) / n_customers, 1.0)
        n_customers = int((n_orders - n_simulated) / per_customer * 1.2) + 50
    return _keep_orders(rng, _concat(batches), n_orders)


def _simulate_batch(
    rng: np.random.Generator, catalog: Catalog, clock: Clock, taste: np.ndarray, n_customers: int
) -> _History:
    cs = _new_customers(rng, clock, taste, n_customers)
    season = np.ones((12, len(CATEGORIES)))
    for name, months in _CATEGORY_SEASONS.items():
        season[:, CATEGORIES.index(name)] = months
    main_weight = taste[:, None, :] * season[None, :, :]  # (n_segments, 12, n_categories)
    samplers = {
        "main": _GroupSampler(catalog.category, catalog.popularity),
        "fill": _GroupSampler(catalog.category, catalog.popularity * (catalog.role != ANCHOR)),
        "type": _GroupSampler(catalog.ptype, catalog.popularity),
    }
    fill_weight = main_weight * samplers["fill"].has_group
    orders: list[tuple[np.ndarray, ...]] = []
    lines: list[tuple[np.ndarray, ...]] = []
    n_done = 0
    while (idx := np.flatnonzero(cs.active)).size:
        t, k = cs.t[idx], cs.k[idx]
        month = clock.month_of(t)
        parts = [
            (*_refill_lines(rng, catalog, cs, idx, t, samplers["type"]), _SRC_DUE),
            (*_pending_lines(rng, cs, idx, t, k), _SRC_PENDING),
        ]
        n_so_far = np.bincount(np.concatenate([p[0] for p in parts]), minlength=idx.size)
        wants_main = ~cs.triggered[idx] | (rng.random(idx.size) < 0.4) | (n_so_far == 0)
        row = np.flatnonzero(wants_main)
        category = _pick_categories(rng, main_weight, cs, idx[row], month[row], 2.5)
        sku = samplers["main"].sample(category, rng.random(row.size))
        parts.append((row, sku, _SRC_MAIN))
        parts.append((*_complement_lines(rng, catalog, cs, idx, t, k, row, sku), _SRC_COMPAT))
        row = np.repeat(np.arange(idx.size), rng.poisson(_FILL_MEAN, idx.size))
        category = _pick_categories(rng, fill_weight, cs, idx[row], month[row], 2.0)
        parts.append((row, samplers["fill"].sample(category, rng.random(row.size)), _SRC_FILL))

        row, sku, source = _dedupe_lines(parts, catalog.n_products)
        quantity = _quantities(rng, catalog.role[sku])
        _update_refills(rng, catalog, cs, idx, t, row, sku, quantity, source)
        device = np.minimum((rng.random(idx.size)[:, None] > cs.device_cum[idx]).sum(1), 2)
        orders.append((idx, t, k, device))
        lines.append((row + n_done, sku, quantity))
        n_done += idx.size
        _schedule_next(rng, clock, cs, idx, t, k)
    customer, t, k, device = (np.concatenate(c) for c in zip(*orders, strict=True))
    line_order, sku, quantity = (np.concatenate(c) for c in zip(*lines, strict=True))
    logged = t >= 0.0  # the burn-in year only sets the customers' state
    logged_line = logged[line_order]
    return _History(
        segment=cs.segment,
        country=cs.country,
        order_customer=customer[logged],
        order_time=t[logged],
        order_k=k[logged],
        order_device=device[logged],
        line_order=(np.cumsum(logged) - 1)[line_order[logged_line]],
        line_sku=sku[logged_line],
        line_quantity=quantity[logged_line],
    )


def _new_customers(rng: np.random.Generator, clock: Clock, taste: np.ndarray, n: int) -> _Customers:
    segment = rng.choice(len(SEGMENTS), n, p=[s[1] for s in SEGMENTS])
    taste_cum = np.cumsum(taste[segment], axis=1)
    favourite = (taste_cum <= (rng.random(n) * taste_cum[:, -1])[:, None]).sum(1)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARES)
    device_mix = rng.gamma(8.0 * np.array([s[2] for s in SEGMENTS])[segment])
    device_cum = np.cumsum(device_mix / device_mix.sum(1, keepdims=True), axis=1)
    device_cum[:, -1] = 1.0
    return _Customers(
        segment=segment,
        favourite=favourite,
        country=country,
        device_cum=device_cum,
        gap_mean=70.0 * rng.lognormal(0.0, 0.6, n),
        pace=rng.lognormal(0.0, 0.15, n),
        t=clock.from_op(rng.uniform(-_BURN_IN_DAYS, N_DAYS, n)),
        k=np.zeros(n, np.int64),
        triggered=np.zeros(n, bool),
        active=np.ones(n, bool),
        pending=np.full((n, MAX_COMPAT), -1),
        pending_k=np.zeros(n, np.int64),
        pending_t=np.zeros(n),
        refill_sku=np.full((n, _REFILL_SLOTS), -1),
        refill_due=np.full((n, _REFILL_SLOTS), np.inf),
    )


def _pick_categories(
    rng: np.random.Generator,
    weight: np.ndarray,
    cs: _Customers,
    customers: np.ndarray,
    month: np.ndarray,
    favourite_boost: float,
) -> np.ndarray:
    """One category per entry: segment taste x season, the customer's favourite boosted."""
    w = weight[cs.segment[customers], month]
    w[np.arange(len(w)), cs.favourite[customers]] *= favourite_boost
    cum = np.cumsum(w, axis=1)
    return (cum <= (rng.random(len(w)) * cum[:, -1])[:, None]).sum(1)


def _refill_lines(
    rng: np.random.Generator,
    catalog: Catalog,
    cs: _Customers,
    idx: np.ndarray,
    t: np.ndarray,
    type_sampler: _GroupSampler,
) -> tuple[np.ndarray, np.ndarray]:
    """Consumables due within 4 days: re-bought (sometimes another brand) or the habit stops."""
    due = cs.refill_due[idx]
    held = cs.refill_sku[idx]
    is_due = due <= t[:, None] + 4.0
    rebuy = is_due & (rng.random(due.shape) < 0.92)
    stop = is_due & ~rebuy
    cs.refill_due[idx] = np.where(stop, np.inf, due)
    cs.refill_sku[idx] = np.where(stop, -1, held)
    row, slot = np.nonzero(rebuy)
    sku = held[row, slot]
    switch = rng.random(sku.size) < 0.1
    sku[switch] = type_sampler.sample(catalog.ptype[sku[switch]], rng.random(int(switch.sum())))
    return row, sku


def _pending_lines(
    rng: np.random.Generator, cs: _Customers, idx: np.ndarray, t: np.ndarray, k: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Complements of the last anchor, bought one or two orders later (within 120 days)."""
    pending = cs.pending[idx]
    orders_since = np.maximum(k - cs.pending_k[idx], 1)
    p = np.where(t - cs.pending_t[idx] < 120.0, 0.5 * 0.45 ** (orders_since - 1), 0.0)
    buy = (pending >= 0) & (rng.random(pending.shape) < p[:, None])
    cs.pending[idx] = np.where(buy, -1, pending)
    row, col = np.nonzero(buy)
    return row, pending[row, col]


def _complement_lines(
    rng: np.random.Generator,
    catalog: Catalog,
    cs: _Customers,
    idx: np.ndarray,
    t: np.ndarray,
    k: np.ndarray,
    row: np.ndarray,
    sku: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Complements of an anchor that go in its basket; the others become pending."""
    compat = catalog.compat[sku]
    has = compat[:, 0] >= 0
    row, compat = row[has], compat[has]
    valid = compat >= 0
    p_same = np.where(catalog.role[compat] == CONSUMABLE, 0.45, 0.3)
    same = valid & (rng.random(compat.shape) < p_same)
    customers = idx[row]
    cs.pending[customers] = np.where(same, -1, compat)
    cs.pending_k[customers] = k[row]
    cs.pending_t[customers] = t[row]
    r, c = np.nonzero(same)
    return row[r], compat[r, c]


def _dedupe_lines(
    parts: list[tuple[np.ndarray, np.ndarray, int]], n_products: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One line per (order, sku), the first source that put it there wins; sorted by order."""
    row = np.concatenate([p[0] for p in parts])
    sku = np.concatenate([p[1] for p in parts])
    source = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    _, first = np.unique(row * n_products + sku, return_index=True)
    return row[first], sku[first], source[first]


def _quantities(rng: np.random.Generator, role: np.ndarray) -> np.ndarray:
    u = rng.random(len(role))
    consumable = 1 + (u > 0.72) + (u > 0.92)
    return np.where(role == CONSUMABLE, consumable, 1 + (u > 0.94)).astype(np.int64)


def _update_refills(
    rng: np.random.Generator,
    catalog: Catalog,
    cs: _Customers,
    idx: np.ndarray,
    t: np.ndarray,
    row: np.ndarray,
    sku: np.ndarray,
    quantity: np.ndarray,
    source: np.ndarray,
) -> None:
    """A consumable bought starts (or resets) its refill clock: cycle x quantity x pace, 10% jitter.

    A type already in use is always rescheduled; a new one is taken up with
    probability 0.85 when it came with an anchor, 0.5 when browsed. With every
    slot taken, the consumable due last gives way.
    """
    keep = catalog.role[sku] == CONSUMABLE
    row, sku, quantity, source = row[keep], sku[keep], quantity[keep], source[keep]
    ptype = catalog.ptype[sku]
    _, first = np.unique(row * len(PRODUCT_TYPES) + ptype, return_index=True)
    row, sku, quantity, source, ptype = (a[first] for a in (row, sku, quantity, source, ptype))
    from_anchor = (source == _SRC_PENDING) | (source == _SRC_COMPAT)
    takes_up = rng.random(row.size) < np.where(from_anchor, 0.85, 0.5)
    jitter = rng.lognormal(0.0, 0.1, row.size)
    due = t[row] + catalog.cycle[sku] * quantity * cs.pace[idx[row]] * jitter
    layer = np.arange(row.size) - np.searchsorted(row, row)  # rank of the line within its order
    for n in range(int(layer.max(initial=-1)) + 1):
        sel = layer == n
        customers = idx[row[sel]]
        held = cs.refill_sku[customers]
        same_type = np.where(held >= 0, catalog.ptype[held], -1) == ptype[sel][:, None]
        in_use = same_type.any(1)
        slot = np.where(in_use, same_type.argmax(1), cs.refill_due[customers].argmax(1))
        go = in_use | takes_up[sel]
        cs.refill_sku[customers[go], slot[go]] = sku[sel][go]
        cs.refill_due[customers[go], slot[go]] = due[sel][go]


def _schedule_next(
    rng: np.random.Generator,
    clock: Clock,
    cs: _Customers,
    idx: np.ndarray,
    t: np.ndarray,
    k: np.ndarray,
) -> None:
    """Churn, or the next order: a browsing visit or a consumable running out, whichever first."""
    has_refill = np.isfinite(cs.refill_due[idx]).any(1)
    churn = np.where(k == 0, 0.45, 0.2) * np.where(has_refill, 0.35, 1.0)
    stays = rng.random(idx.size) >= churn
    browse = clock.from_op(clock.to_op(t) + 1.0 + rng.exponential(cs.gap_mean[idx]))
    refill = np.maximum(
        np.floor(cs.refill_due[idx].min(1)) + clock.time_of_day(rng, idx.size), t + 0.5
    )
    triggered = refill < browse
    t_next = np.where(triggered, refill, browse)
    cs.t[idx] = t_next
    cs.k[idx] = k + 1
    cs.triggered[idx] = triggered
    cs.active[idx] = stays & (t_next < N_DAYS)


def _concat(batches: list[_History]) -> _History:
    customer_offset = np.cumsum([0] + [len(b.segment) for b in batches[:-1]])
    order_offset = np.cumsum([0] + [len(b.order_time) for b in batches[:-1]])
    return _History(
        segment=np.concatenate([b.segment for b in batches]),
        country=np.concatenate([b.country for b in batches]),
        order_customer=np.concatenate(
            [b.order_customer + o for b, o in zip(batches, customer_offset, strict=True)]
        ),
        order_time=np.concatenate([b.order_time for b in batches]),
        order_k=np.concatenate([b.order_k for b in batches]),
        order_device=np.concatenate([b.order_device for b in batches]),
        line_order=np.concatenate(
            [b.line_order + o for b, o in zip(batches, order_offset, strict=True)]
        ),
        line_sku=np.concatenate([b.line_sku for b in batches]),
        line_quantity=np.concatenate([b.line_quantity for b in batches]),
    )


def _keep_orders(rng: np.random.Generator, history: _History, n_orders: int) -> _History:
    """Exactly ``n_orders``: whole customers in random order, the last one cut after some orders."""
    n_customers = len(history.segment)
    counts = np.bincount(history.order_customer, minlength=n_customers)
    shuffled = rng.permutation(n_customers)
    position = np.empty(n_customers, np.int64)
    position[shuffled] = np.arange(n_customers)
    cum = np.cumsum(counts[shuffled])
    last = int(np.searchsorted(cum, n_orders))
    n_before = int(cum[last] - counts[shuffled[last]])
    first_k = np.full(n_customers, np.iinfo(np.int64).max)
    np.minimum.at(first_k, history.order_customer, history.order_k)
    rank = history.order_k - first_k[history.order_customer]
    pos = position[history.order_customer]
    keep_order = (pos < last) | ((pos == last) & (rank < n_orders - n_before))
    keep_customer = (position <= last) & (counts > 0)
    new_customer = np.cumsum(keep_customer) - 1
    new_order = np.cumsum(keep_order) - 1
    keep_line = keep_order[history.line_order]
    return _History(
        segment=history.segment[keep_customer],
        country=history.country[keep_customer],
        order_customer=new_customer[history.order_customer[keep_order]],
        order_time=history.order_time[keep_order],
        order_k=history.order_k[keep_order],
        order_device=history.order_device[keep_order],
        line_order=new_order[history.line_order[keep_line]],
        line_sku=history.line_sku[keep_line],
        line_quantity=history.line_quantity[keep_line],
    )


@dataclass(frozen=True)
class Shop:
    """The final order history: ids, purchases, and the rows of ``orders.csv`` in file order."""

    customer_ids: np.ndarray  # (n_customers,) C000001 is the first to order
    customer_segment: np.ndarray
    customer_country: np.ndarray
    order_ids: np.ndarray  # (n_orders,) in time order
    order_customer: np.ndarray
    order_time: np.ndarray  # days since the start
    order_k: np.ndarray
    order_device: np.ndarray
    order_total: np.ndarray
    order_categories: np.ndarray  # bitmask over CATEGORIES
    line_order: np.ndarray  # (n_lines,) purchases, sorted by order
    line_sku: np.ndarray
    row_order: np.ndarray  # (n_rows,) purchases and returns, as written
    row_sku: np.ndarray
    row_quantity: np.ndarray
    row_price: np.ndarray
    row_seconds: np.ndarray  # seconds since the start


def finish_orders(rng: np.random.Generator, catalog: Catalog, history: _History) -> Shop:
    """Ids in time order, prices paid (Black Friday discount), order totals and returns."""
    h = history
    n_customers, n_orders = len(h.segment), len(h.order_time)
    first_time = np.full(n_customers, np.inf)
    np.minimum.at(first_time, h.order_customer, h.order_time)
    customer_of = np.empty(n_customers, np.int64)
    customer_of[np.argsort(first_time, kind="stable")] = np.arange(n_customers)
    by_time = np.lexsort((customer_of[h.order_customer], h.order_time))
    order_of = np.empty(n_orders, np.int64)
    order_of[by_time] = np.arange(n_orders)
    order_customer = customer_of[h.order_customer[by_time]]
    order_time = h.order_time[by_time]
    seconds = np.floor(order_time * 86_400).astype(np.int64)

    line_order = order_of[h.line_order]
    by_order = np.argsort(line_order, kind="stable")
    line_order, line_sku = line_order[by_order], h.line_sku[by_order]
    line_quantity = h.line_quantity[by_order]
    day = seconds[line_order] // 86_400
    on_sale = (day >= BLACK_FRIDAY_DAYS[0]) & (day < BLACK_FRIDAY_DAYS[1])
    on_sale &= catalog.role[line_sku] != CONSUMABLE
    price = np.round(
        catalog.price[line_sku] * np.where(on_sale, 1 - _BLACK_FRIDAY_DISCOUNT, 1.0), 2
    )
    starts = np.searchsorted(line_order, np.arange(n_orders))
    categories = np.bitwise_or.reduceat(np.left_shift(1, catalog.category[line_sku]), starts)

    rate = np.array([_RETURN_RATE[r] for r in range(4)])[catalog.role[line_sku]]
    returned = np.flatnonzero(rng.random(line_sku.size) < rate * (_RETURN_SHARE / rate.mean()))
    delay = (2.0 + rng.lognormal(np.log(8.0), 0.6, returned.size)) * 86_400
    return_seconds = seconds[line_order[returned]] + delay.astype(np.int64)
    returned = returned[return_seconds < N_DAYS * 86_400]
    return_seconds = return_seconds[return_seconds < N_DAYS * 86_400]

    row_order = np.concatenate([line_order, line_order[returned]])
    row_sku = np.concatenate([line_sku, line_sku[returned]])
    row_seconds = np.concatenate([seconds[line_order], return_seconds])
    is_return = np.r_[np.zeros(line_sku.size, bool), np.ones(returned.size, bool)]
    rows = np.lexsort((is_return, row_sku, row_order, row_seconds))
    return Shop(
        customer_ids=numbered_ids("C", n_customers, 6),
        customer_segment=h.segment[np.argsort(customer_of)],
        customer_country=h.country[np.argsort(customer_of)],
        order_ids=numbered_ids("O", n_orders, 7),
        order_customer=order_customer,
        order_time=order_time,
        order_k=h.order_k[by_time],
        order_device=h.order_device[by_time],
        order_total=np.round(np.bincount(line_order, price * line_quantity, minlength=n_orders), 2),
        order_categories=categories,
        line_order=line_order,
        line_sku=line_sku,
        row_order=row_order[rows],
        row_sku=row_sku[rows],
        row_quantity=np.concatenate([line_quantity, -line_quantity[returned]])[rows],
        row_price=np.concatenate([price, price[returned]])[rows],
        row_seconds=row_seconds[rows],
    )
