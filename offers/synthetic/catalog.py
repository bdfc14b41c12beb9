"""The synthetic shop's products: prices, popularity, names and what goes with what."""

from dataclasses import dataclass

import numpy as np

from offers.synthetic.world import (
    ANCHOR,
    BRANDS,
    CATEGORIES,
    CONSUMABLE,
    MAX_COMPAT,
    PRODUCT_TYPES,
    SEGMENTS,
    numbered_ids,
)


@dataclass(frozen=True)
class Catalog:
    """Products as parallel arrays; ``compat[i]`` lists what goes with product ``i`` (-1 pads)."""

    sku: np.ndarray  # bytes
    title: np.ndarray
    brand: np.ndarray
    ptype: np.ndarray
    category: np.ndarray
    role: np.ndarray
    price: np.ndarray
    margin: np.ndarray  # money per unit sold
    cycle: np.ndarray
    popularity: np.ndarray
    compat: np.ndarray

    @property
    def n_products(self) -> int:
        return len(self.sku)


def catalog_size(n_orders: int) -> int:
    return int(np.clip(round(30 * n_orders**0.33), 300, 2000))


def build_catalog(rng: np.random.Generator, n_products: int) -> Catalog:
    types = PRODUCT_TYPES
    role_weight = np.array([0.8, 1.0, 1.2, 1.0])[[t.role for t in types]]
    per_type = 2 + rng.multinomial(n_products - 2 * len(types), role_weight / role_weight.sum())
    ptype = np.repeat(np.arange(len(types)), per_type)
    n = len(ptype)
    role = np.array([types[t].role for t in ptype])
    category = np.array([CATEGORIES.index(types[t].category) for t in ptype])
    median = np.array([types[t].price for t in ptype], dtype=float)
    price = np.floor(median * rng.lognormal(0.0, 0.3, n)) + 0.99
    margin_rate = np.clip(rng.normal(np.array([0.18, 0.45, 0.32, 0.35])[role], 0.06), 0.05, 0.7)
    margin = np.round(price * margin_rate, 2)
    cycle = np.array([types[t].cycle_days for t in ptype], dtype=float)
    brand, title = _names(rng, ptype, category)
    popularity = _popularity(rng, ptype, price)
    compat = _compatibility(rng, ptype, brand, popularity)
    return Catalog(
        sku=numbered_ids("SKU-", n, 5),
        title=title,
        brand=brand,
        ptype=ptype,
        category=category,
        role=role,
        price=price,
        margin=margin,
        cycle=cycle,
        popularity=popularity,
        compat=compat,
    )


def _names(
    rng: np.random.Generator, ptype: np.ndarray, category: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A brand of the product's category and a unique title for every product."""
    brands, titles, used = [], [], set()
    for t, c in zip(ptype.tolist(), category.tolist(), strict=True):
        spec = PRODUCT_TYPES[t]
        choices = BRANDS[CATEGORIES[c]]
        brand = choices[rng.integers(len(choices))]
        base = f"{brand} {spec.name}"
        if spec.variants:
            base += f" {spec.variants[rng.integers(len(spec.variants))]}"
        title = base
        while spec.role == ANCHOR and title == base or title in used:
            title = f"{base} {'AXSPMRZ'[rng.integers(7)]}{rng.integers(1, 100) * 10}"
        used.add(title)
        brands.append(brand)
        titles.append(title)
    return np.array(brands), np.array(titles)


def _popularity(rng: np.random.Generator, ptype: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Heavy-tailed demand: Zipf over a random rank within each type, cheaper sells more."""
    n = len(ptype)
    order = np.lexsort((rng.random(n), ptype))
    rank = np.empty(n)
    rank[order] = np.arange(n) - np.searchsorted(ptype[order], ptype[order]) + 1
    type_median = np.array([t.price for t in PRODUCT_TYPES])[ptype]
    type_appeal = rng.lognormal(0.0, 0.5, len(PRODUCT_TYPES))[ptype]
    noise = rng.lognormal(0.0, 0.4, n)
    return rank**-1.1 * noise * type_appeal * type_median**-0.3 * (price / type_median) ** -0.5


def _compatibility(
    rng: np.random.Generator, ptype: np.ndarray, brand: np.ndarray, popularity: np.ndarray
) -> np.ndarray:
    """Specific skus of each complement type for each product that has some, same brand first."""
    of_type = {t.name: np.flatnonzero(ptype == i) for i, t in enumerate(PRODUCT_TYPES)}
    compat = np.full((len(ptype), MAX_COMPAT), -1)
    for i in np.flatnonzero([bool(PRODUCT_TYPES[t].complements) for t in ptype]):
        chosen: list[int] = []
        for name in PRODUCT_TYPES[ptype[i]].complements:
            pool = of_type[name]
            weight = popularity[pool] * np.where(brand[pool] == brand[i], 6.0, 1.0)
            two = PRODUCT_TYPES[ptype[pool[0]]].role != CONSUMABLE and len(pool) >= 3
            n_pick = 2 if two and rng.random() < 0.25 else 1
            chosen += rng.choice(pool, n_pick, replace=False, p=weight / weight.sum()).tolist()
        chosen = chosen[:MAX_COMPAT]
        compat[i, : len(chosen)] = chosen
    return compat


def segment_tastes(rng: np.random.Generator) -> np.ndarray:
    """Relative taste of each segment for each category, shape (n_segments, n_categories)."""
    taste = np.full((len(SEGMENTS), len(CATEGORIES)), 0.35)
    for s, (_, _, _, liked) in enumerate(SEGMENTS):
        for name, weight in liked.items():
            taste[s, CATEGORIES.index(name)] = weight
    return taste * rng.lognormal(0.0, 0.15, taste.shape)
