"""The synthetic shop's offers (cross-sells of its own products and partner offers) and
the hidden parameters of how customers respond to them (:mod:`.feedback_log`)."""

import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from offers.synthetic.catalog import Catalog
from offers.synthetic.world import (
    ACCESSORY,
    CATEGORIES,
    CONSUMABLE,
    COUNTRIES,
    DEVICES,
    PLACEMENTS,
    PRODUCT_TYPES,
    SEGMENTS,
    START,
    image_url_of,
    product_url_of,
)

_PAUSED_FROM_DAY = 242.0  # 2026-07-01: paused offers ran in the log until then


@dataclass(frozen=True)
class _PartnerSpec:
    """A partner offer as written to offers.json, and its hidden response-model parameters."""

    key: str
    advertiser: str
    theme: str
    title: str
    body: str
    cta_label: str
    value: float
    targeting: dict
    alpha: float
    gamma: float
    segment_boost: dict[str, float]
    theme_categories: tuple[str, ...] = ()
    kappa: float = 0.0
    status: str = "active"
    starts_at: str = "2025-11-01T00:00:00Z"
    ends_at: str | None = None


# fmt: off
_ELECTRONICS = ("Cameras", "Phones & Tablets", "Computers", "Gaming")
_PARTNERS: tuple[_PartnerSpec, ...] = (
    _PartnerSpec(
        key="shieldly-device", advertiser="Shieldly", theme="insurance",
        title="Protect your new device",
        body="Accident and theft cover for your new gear from $4.99 a month. Cancel anytime.",
        cta_label="Get covered", value=32.0,
        targeting={"placements": ["thank_you"], "countries": ["US", "GB", "CA", "AU"],
                   "min_order_total": 150.0, "required_categories": list(_ELECTRONICS)},
        alpha=-2.6, gamma=-1.2, segment_boost={"tech_enthusiast": 0.8, "home_office": 0.4},
        theme_categories=_ELECTRONICS, kappa=0.5,
    ),
    _PartnerSpec(
        key="shieldly-pet", advertiser="Shieldly", theme="insurance",
        title="Pet insurance, first month free",
        body="Vet bills covered up to 90%. Your first month is on us.",
        cta_label="Get a quote", value=28.0,
        targeting={"countries": ["US", "GB", "CA"], "required_categories": ["Pet Supplies"]},
        alpha=-2.8, gamma=-1.5, segment_boost={"pet_owner": 1.2},
        theme_categories=("Pet Supplies",),
    ),
    _PartnerSpec(
        key="pageturn-photo", advertiser="Pageturn Magazines", theme="magazine",
        title="3 issues of Shutter & Lens for $1",
        body="The photography magazine for people who actually shoot. Cancel anytime.",
        cta_label="Claim 3 issues", value=6.0,
        targeting={"required_categories": ["Cameras", "Camera Accessories"]},
        alpha=-2.4, gamma=-0.8, segment_boost={"tech_enthusiast": 0.4, "outdoor_active": 0.5},
        theme_categories=("Cameras",),
    ),
    _PartnerSpec(
        key="pageturn-home", advertiser="Pageturn Magazines", theme="magazine",
        title="Home & Table: 6 issues free",
        body="Recipes, rooms and gardens, delivered monthly.",
        cta_label="Start reading", value=5.0,
        targeting={"countries": ["US", "GB", "CA", "AU"]},
        alpha=-3.0, gamma=-1.0,
        segment_boost={"young_family": 0.4, "home_barista": 0.5, "everyday_shopper": 0.4},
        theme_categories=("Kitchen", "Home & Garden"),
    ),
    _PartnerSpec(
        key="bluetide-roundup", advertiser="Blue Tide Foundation", theme="charity",
        title="Round up for cleaner oceans",
        body="Add a dollar and we remove a kilo of plastic from the sea.",
        cta_label="Round up", value=1.5, targeting={},
        alpha=-2.9, gamma=0.5, segment_boost={"everyday_shopper": 0.3, "outdoor_active": 0.3},
    ),
    _PartnerSpec(
        key="bluetide-trees", advertiser="Blue Tide Foundation", theme="charity",
        title="Plant a tree with this order",
        body="One dollar plants one tree in a reforestation project.",
        cta_label="Plant a tree", value=1.0, targeting={},
        alpha=-2.7, gamma=0.3, segment_boost={"outdoor_active": 0.6},
        theme_categories=("Outdoor & Camping", "Home & Garden"), ends_at="2026-04-30T23:59:59Z",
    ),
    _PartnerSpec(
        key="streamly-trial", advertiser="Streamly", theme="streaming",
        title="30 days of Streamly, free",
        body="Films and series on every screen. No commitment.",
        cta_label="Start free trial", value=12.0,
        targeting={"countries": ["US", "GB", "DE", "FR", "NL", "CA"], "customer": "new",
                   "devices": ["mobile", "tablet"]},
        alpha=-2.5, gamma=-1.0, segment_boost={"tech_enthusiast": 0.5, "young_family": 0.5},
        theme_categories=("Gaming",),
    ),
    _PartnerSpec(
        key="streamly-kids", advertiser="Streamly", theme="streaming",
        title="Streamly Kids: 2 months free",
        body="Ad-free shows for little ones, with parental controls.",
        cta_label="Try Streamly Kids", value=10.0,
        targeting={"required_categories": ["Baby"]},
        alpha=-2.6, gamma=-1.0, segment_boost={"young_family": 1.0},
        theme_categories=("Baby",),
    ),
    _PartnerSpec(
        key="wanderly-hotels", advertiser="Wanderly", theme="travel",
        title="15% off your next hotel stay",
        body="Thousands of hotels across Europe, free cancellation.",
        cta_label="Get 15% off", value=18.0,
        targeting={"countries": ["DE", "FR", "NL", "GB"], "min_order_total": 40.0},
        alpha=-2.9, gamma=-1.6, segment_boost={"outdoor_active": 0.6},
        theme_categories=("Outdoor & Camping",),
    ),
    _PartnerSpec(
        key="wanderly-camps", advertiser="Wanderly", theme="travel",
        title="Campsites across Europe: 20% off",
        body="Pitches, cabins and glamping, bookable in two minutes.",
        cta_label="Find a campsite", value=20.0,
        targeting={"countries": ["DE", "FR", "NL", "GB"],
                   "required_categories": ["Outdoor & Camping"]},
        alpha=-2.5, gamma=-1.4, segment_boost={"outdoor_active": 1.0},
        theme_categories=("Outdoor & Camping",), starts_at="2026-03-01T00:00:00Z",
    ),
    _PartnerSpec(
        key="freshcrate-meals", advertiser="FreshCrate", theme="meal_kit",
        title="5 free meals with your first box",
        body="Fresh ingredients and easy recipes at your door.",
        cta_label="Claim 5 meals", value=22.0,
        targeting={"countries": ["US", "CA", "GB"], "customer": "returning"},
        alpha=-3.0, gamma=-1.3, segment_boost={"young_family": 0.8, "home_barista": 0.4},
        theme_categories=("Kitchen",),
    ),
    _PartnerSpec(
        key="freshcrate-family", advertiser="FreshCrate", theme="meal_kit",
        title="Family box: 50% off the first week",
        body="Four portions of every recipe, kid-approved.",
        cta_label="Get 50% off", value=25.0,
        targeting={"countries": ["US", "CA", "GB"]},
        alpha=-3.6, gamma=-1.8, segment_boost={"young_family": 0.3},
        theme_categories=("Baby",), status="paused",
    ),
    _PartnerSpec(
        key="fitpass-month", advertiser="FitPass", theme="fitness",
        title="Your first month at 900+ gyms for $1",
        body="One pass for gyms, pools and classes near you.",
        cta_label="Get the pass", value=15.0,
        targeting={"required_categories": ["Fitness", "Outdoor & Camping"], "devices": ["mobile"]},
        alpha=-2.6, gamma=-1.2, segment_boost={"outdoor_active": 1.0},
        theme_categories=("Fitness",),
    ),
    _PartnerSpec(
        key="fitpass-app", advertiser="FitPass", theme="fitness",
        title="FitPass app: 3 months free",
        body="Guided workouts at home, ten minutes a day.",
        cta_label="Download free", value=8.0, targeting={},
        alpha=-3.1, gamma=-0.9, segment_boost={"outdoor_active": 0.6, "everyday_shopper": 0.2},
        theme_categories=("Fitness",),
    ),
)
# fmt: on


class _Response(NamedTuple):
    """An offer's hidden parameters in the response model (see :mod:`.feedback_log`)."""

    alpha: float
    gamma: float
    kappa: float
    affinity: np.ndarray  # (n_segments,)
    theme_categories: int  # bitmask over CATEGORIES


@dataclass(frozen=True)
class OfferModel:
    """The offers as the logging policy and the response model see them; arrays of (n_offers,)."""

    ids: np.ndarray
    is_partner: np.ndarray
    value: np.ndarray
    sku: np.ndarray  # product index of a cross-sell, -1 for a partner offer
    countries: np.ndarray  # bitmasks over COUNTRIES, DEVICES, PLACEMENTS, CATEGORIES
    devices: np.ndarray
    placements: np.ndarray
    required_categories: np.ndarray  # 0: none required
    excluded_categories: np.ndarray
    min_total: np.ndarray
    max_total: np.ndarray
    customer: np.ndarray  # 0 anyone, 1 new, 2 returning
    start: np.ndarray  # days since the start
    end: np.ndarray
    alpha: np.ndarray
    gamma: np.ndarray
    kappa: np.ndarray
    affinity: np.ndarray  # (n_segments, n_offers)
    theme_categories: np.ndarray


def build_offers(
    rng: np.random.Generator, catalog: Catalog, taste: np.ndarray
) -> tuple[list[dict], OfferModel]:
    """``offers.json`` documents, and the same offers with their hidden response parameters."""
    offers = _cross_sell_offers(rng, catalog, taste) + _partner_offers(rng)
    docs = [doc for doc, _ in offers]
    return docs, _offer_model(docs, [response for _, response in offers], catalog)


def _cross_sell_offers(
    rng: np.random.Generator, catalog: Catalog, taste: np.ndarray
) -> list[tuple[dict, _Response]]:
    """Cross-sells of popular accessories and consumables, targeted at their anchors' categories."""
    candidates = np.flatnonzero(np.isin(catalog.role, (ACCESSORY, CONSUMABLE)))
    n_offers = min(int(np.clip(round(0.075 * catalog.n_products), 50, 150)), candidates.size)
    weight = catalog.popularity[candidates] ** 0.7
    chosen = np.sort(rng.choice(candidates, n_offers, replace=False, p=weight / weight.sum()))
    anchor_categories: dict[int, set[int]] = {}
    for anchor, slot in zip(*np.nonzero(catalog.compat >= 0), strict=True):
        anchor_categories.setdefault(int(catalog.compat[anchor, slot]), set()).add(
            int(catalog.category[anchor])
        )
    paused, expired = rng.choice(n_offers, 2, replace=False)
    discount = rng.choice([0, 5, 10, 15], n_offers, p=[0.4, 0.2, 0.3, 0.1])
    returning_only = rng.random(n_offers) < 0.25
    small_order_floor = rng.random(n_offers) < 0.2
    alpha = rng.normal(-3.2, 0.4, n_offers) + 0.03 * discount
    gamma = rng.normal(-1.0, 0.4, n_offers)
    relative_taste = np.log(taste / taste.mean(axis=1, keepdims=True))
    affinity = 0.6 * relative_taste[:, catalog.category[chosen]]
    affinity += rng.normal(0.0, 0.2, affinity.shape)
    offers = []
    for n, i in enumerate(chosen.tolist()):
        sku, title = catalog.sku[i].decode(), str(catalog.title[i])
        anchors = anchor_categories.get(i)
        targeting: dict = {
            "placements": list(PLACEMENTS),
            "required_categories": [
                CATEGORIES[c] for c in sorted(anchors or {catalog.category[i]})
            ],
            "excluded_skus": [sku],
        }
        if small_order_floor[n]:
            targeting["min_order_total"] = 25.0
        if returning_only[n] and not anchors and catalog.role[i] == CONSUMABLE:
            targeting["customer"] = "returning"
        doc = {
            "id": f"xs-{sku.lower()}",
            "kind": "cross_sell",
            "title": f"Add {title}",
            "body": f"Goes with your order: {discount[n]}% off if you add it today."
            if discount[n]
            else "Goes with your order and ships with it.",
            "cta_label": "Add to order",
            "cta_url": f"{product_url_of(title)}?utm_source=encore&utm_medium=cross_sell",
            "image_url": image_url_of(sku),
            "sku": sku,
            "value": float(catalog.margin[i]),
            "category": CATEGORIES[catalog.category[i]],
            "attributes": {
                "product_type": PRODUCT_TYPES[catalog.ptype[i]].name,
                "discount_pct": int(discount[n]),
            },
            "targeting": targeting,
            "caps": {"per_customer_per_day": 1, "per_customer_per_week": 3},
            "starts_at": "2025-11-01T00:00:00Z",
            "status": "paused" if n == paused else "active",
        }
        if n == expired:
            doc["ends_at"] = "2026-05-31T23:59:59Z"
        response = _Response(float(alpha[n]), float(gamma[n]), 0.0, affinity[:, n], 0)
        offers.append((doc, response))
    return offers


def _partner_offers(rng: np.random.Generator) -> list[tuple[dict, _Response]]:
    offers = []
    for spec in _PARTNERS:
        site = "https://" + re.sub(r"[^a-z0-9]+", "", spec.advertiser.lower()) + ".example"
        doc = {
            "id": f"partner-{spec.key}",
            "kind": "partner",
            "title": spec.title,
            "body": spec.body,
            "cta_label": spec.cta_label,
            "cta_url": f"{site}/offers/{spec.key}?ref=encore",
            "image_url": f"{site}/assets/{spec.key}.png",
            "advertiser": spec.advertiser,
            "value": spec.value,
            "category": spec.theme,
            "attributes": {"payout_model": "cpa"},
            "targeting": spec.targeting,
            "caps": {
                "per_customer_per_day": 1,
                "per_customer_per_week": 2,
                "total_impressions": 250_000,
                "budget": round(spec.value * 1_500, 2),
            },
            "starts_at": spec.starts_at,
            "status": spec.status,
        }
        if spec.ends_at:
            doc["ends_at"] = spec.ends_at
        boost = np.array([spec.segment_boost.get(s[0], 0.0) for s in SEGMENTS])
        affinity = boost + rng.normal(0.0, 0.2, len(SEGMENTS))
        themes = _bits(spec.theme_categories, CATEGORIES, 0)
        offers.append((doc, _Response(spec.alpha, spec.gamma, spec.kappa, affinity, themes)))
    return offers


def _offer_model(docs: list[dict], responses: list[_Response], catalog: Catalog) -> OfferModel:
    """Targeting and schedules read back from the documents, so the log obeys what was written."""
    sku_index = {s.decode(): i for i, s in enumerate(catalog.sku)}
    targeting = [doc["targeting"] for doc in docs]

    def column(values: list, dtype: type = np.int64) -> np.ndarray:
        return np.array(values, dtype=dtype)

    def masks(key: str, vocabulary: tuple[str, ...], default: int) -> np.ndarray:
        return column([_bits(t.get(key), vocabulary, default) for t in targeting])

    end = column([_days(doc.get("ends_at"), np.inf) for doc in docs], float)
    paused = column([doc["status"] == "paused" for doc in docs], bool)
    return OfferModel(
        ids=column([doc["id"] for doc in docs], object),
        is_partner=column([doc["kind"] == "partner" for doc in docs], bool),
        value=column([doc["value"] for doc in docs], float),
        sku=column([sku_index.get(doc.get("sku"), -1) for doc in docs]),
        countries=masks("countries", COUNTRIES, (1 << len(COUNTRIES)) - 1),
        devices=masks("devices", DEVICES, (1 << len(DEVICES)) - 1),
        placements=masks("placements", PLACEMENTS, (1 << len(PLACEMENTS)) - 1),
        required_categories=masks("required_categories", CATEGORIES, 0),
        excluded_categories=masks("excluded_categories", CATEGORIES, 0),
        min_total=column([t.get("min_order_total", -np.inf) for t in targeting], float),
        max_total=column([t.get("max_order_total", np.inf) for t in targeting], float),
        customer=column(
            [
                ("new", "returning").index(t["customer"]) + 1 if "customer" in t else 0
                for t in targeting
            ]
        ),
        start=column([_days(doc.get("starts_at"), 0.0) for doc in docs], float),
        end=np.where(paused, np.minimum(end, _PAUSED_FROM_DAY), end),
        alpha=column([r.alpha for r in responses], float),
        gamma=column([r.gamma for r in responses], float),
        kappa=column([r.kappa for r in responses], float),
        affinity=np.stack([r.affinity for r in responses], axis=1),
        theme_categories=column([r.theme_categories for r in responses]),
    )


def _bits(
    names: list[str] | tuple[str, ...] | None, vocabulary: tuple[str, ...], default: int
) -> int:
    return sum(1 << vocabulary.index(name) for name in names) if names else default


def _days(iso: str | None, default: float) -> float:
    if iso is None:
        return default
    return float((np.datetime64(iso.rstrip("Z"), "s") - START) / np.timedelta64(1, "D"))
