"""A synthetic shop: catalog, a year of orders, offers and an offer feedback log.

:func:`generate_shop` writes ``products.csv``, ``orders.csv``, ``offers.json`` and
``impressions.csv`` (formats in DESIGN.md) for a fictional shop over one year,
2025-11-01 to 2026-10-31 UTC. The same seed gives byte-identical files.
``products.csv`` adds ``brand`` and ``product_type`` columns, and its ``margin`` is
money per unit sold; ``impressions.csv`` adds ``ctx_order_id`` (the order the
request came from) to the context columns.

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

Logging policy. One order in five, chosen at random, opens an offer
request: 85% on the ``thank_you`` page seconds after the order, 15% on the
``order_status`` page 1-72 hours later. The eligible offers are those whose
schedule, status (the paused offers ran until 2026-07-01) and targeting admit
the request (placement, country, order total, basket categories and skus,
new/returning customer, device); caps are not applied. The policy fills up to
three positions one after the other without replacement: at each position, with
probability 0.1 it draws uniformly among the eligible offers not yet placed,
otherwise from a softmax of ``log(1 + value)`` over them, that is in proportion
to 1 + value (the payout of a partner offer, the margin per sale of a
cross-sell). ``propensity`` is the exact marginal probability that the policy put
this offer at this position (the position marginal of this epsilon-mixed
Plackett-Luce ranking, summed over every possible earlier position), so for
each request and position it sums to 1 over the eligible offers (when there
are that many).

Response model. A shown offer is examined with probability
``position ** -0.7`` and, once examined, clicked with probability
``sigmoid(z)``, ``z = alpha[offer] + A[segment, offer] + 1.0 * complement +
0.3 * returning * is_cross_sell - 0.35 * mobile * is_partner + kappa[offer] *
log(order_total / 100) - 0.4 * (placement == "order_status")``. ``alpha`` is
drawn from N(-3.2, 0.4) for cross-sells (+0.3 per 10% discount) and set per
partner offer; ``A`` is the segment's affinity: for a cross-sell 0.6 times the log
of the segment's relative taste for the offer's category, for a partner offer a
designed boost (pet insurance +1.2 for pet owners...), each plus N(0, 0.2);
``complement`` is 1 when the basket holds a product that the cross-sold sku is
compatible with, or for a partner offer a product of one of its theme
categories; ``kappa`` is 0.5 for device insurance and 0 otherwise. A click
converts with probability ``sigmoid(gamma[offer] + 0.5 * A[segment, offer] +
0.7 * complement)``; there are no conversions without a click.
"""

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from offers.progress import progress as progress_bar

__all__ = ["ShopSummary", "generate_shop"]

_START = np.datetime64("2025-11-01T00:00:00", "s")
_N_DAYS = 365
_SHOP_URL = "https://demo-shop.example"
_CURRENCY = "USD"
_PAUSED_FROM_DAY = 242.0  # 2026-07-01: paused offers ran in the log until then

_ANCHOR, _ACCESSORY, _CONSUMABLE, _STANDALONE = range(4)
_MAX_COMPAT = 8
_SRC_DUE, _SRC_PENDING, _SRC_MAIN, _SRC_COMPAT, _SRC_FILL = range(5)

# A column to write: (vocabulary as a bytes array, codes); row i holds vocabulary[codes[i]].
_Column = tuple[np.ndarray, np.ndarray]


class _ProductType(NamedTuple):
    name: str
    category: str
    role: int
    price: float
    cycle_days: float = 0.0
    complements: tuple[str, ...] = ()
    variants: tuple[str, ...] = ()


# fmt: off
# The data tables below are laid out as tables; the code after them is ruff-formatted.
_T = _ProductType
_A, _C, _X, _S = _ANCHOR, _CONSUMABLE, _ACCESSORY, _STANDALONE
_PRODUCT_TYPES: tuple[_ProductType, ...] = (
    _T("Trail Camera", "Cameras", _A, 129, 0, ("Memory Card", "AA Batteries", "Camera Mount")),
    _T("Action Camera", "Cameras", _A, 249, 0, ("Memory Card", "Spare Battery", "Camera Mount")),
    _T("Mirrorless Camera", "Cameras", _A, 899, 0,
       ("Memory Card", "Camera Bag", "Spare Battery", "Tripod", "Lens Cleaning Kit")),
    _T("Dash Cam", "Cameras", _A, 99, 0, ("Memory Card", "Car Charger")),
    _T("Memory Card", "Camera Accessories", _X, 19, 0, (), ("32GB", "64GB", "128GB", "256GB")),
    _T("Camera Bag", "Camera Accessories", _X, 49),
    _T("Spare Battery", "Camera Accessories", _X, 29),
    _T("Tripod", "Camera Accessories", _X, 59),
    _T("Camera Mount", "Camera Accessories", _X, 19),
    _T("Lens Cleaning Kit", "Camera Accessories", _X, 14),
    _T("AA Batteries", "Camera Accessories", _C, 9, 45, (), ("8-Pack", "16-Pack")),
    _T("Inkjet Printer", "Printers", _A, 129, 0, ("Ink Cartridge", "Photo Paper", "USB Cable")),
    _T("Laser Printer", "Printers", _A, 249, 0, ("Toner Cartridge", "Copy Paper")),
    _T("Label Printer", "Printers", _A, 89, 0, ("Label Roll",)),
    _T("Ink Cartridge", "Printer Supplies", _C, 24, 60, (), ("Black", "Color", "XL Black")),
    _T("Toner Cartridge", "Printer Supplies", _C, 69, 120),
    _T("Photo Paper", "Printer Supplies", _C, 15, 90, (), ("A4 50 Sheets", "4x6 100 Sheets")),
    _T("Label Roll", "Printer Supplies", _C, 12, 30),
    _T("Copy Paper", "Office Supplies", _C, 9, 45, (), ("500 Sheets", "2500 Sheets")),
    _T("Gel Pens", "Office Supplies", _C, 8, 60, (), ("12-Pack", "24-Pack")),
    _T("Office Chair", "Office Supplies", _A, 249, 0, ("Chair Mat", "Lumbar Cushion")),
    _T("Chair Mat", "Office Supplies", _X, 39),
    _T("Lumbar Cushion", "Office Supplies", _X, 29),
    _T("Desk Lamp", "Office Supplies", _S, 39),
    _T("Notebook", "Office Supplies", _S, 12, 0, (), ("A5", "A4")),
    _T("Espresso Machine", "Coffee Machines", _A, 399, 0,
       ("Espresso Beans", "Milk Frother", "Descaling Solution")),
    _T("Pod Coffee Maker", "Coffee Machines", _A, 119, 0, ("Coffee Pods", "Descaling Solution")),
    _T("Burr Grinder", "Coffee Machines", _A, 149, 0, ("Espresso Beans",)),
    _T("Pour-Over Kit", "Coffee Machines", _A, 39, 0, ("Coffee Filters", "Ground Coffee")),
    _T("Espresso Beans", "Coffee & Tea", _C, 18, 30, (), ("1kg", "500g")),
    _T("Coffee Pods", "Coffee & Tea", _C, 14, 21, (), ("50-Pack", "100-Pack")),
    _T("Ground Coffee", "Coffee & Tea", _C, 10, 28),
    _T("Loose Leaf Tea", "Coffee & Tea", _C, 12, 45),
    _T("Coffee Filters", "Coffee & Tea", _C, 5, 60),
    _T("Descaling Solution", "Coffee & Tea", _C, 11, 90),
    _T("Milk Frother", "Kitchen", _X, 39),
    _T("Water Filter Pitcher", "Kitchen", _A, 35, 0, ("Water Filter Cartridge",)),
    _T("Water Filter Cartridge", "Kitchen", _C, 15, 45, (), ("3-Pack", "6-Pack")),
    _T("Chef's Knife", "Kitchen", _S, 69),
    _T("Cast Iron Skillet", "Kitchen", _S, 45),
    _T("Blender", "Kitchen", _S, 89),
    _T("Cutting Board", "Kitchen", _S, 25),
    _T("Smartphone", "Phones & Tablets", _A, 599, 0,
       ("Phone Case", "Screen Protector", "USB-C Charger", "Wireless Earbuds")),
    _T("Tablet", "Phones & Tablets", _A, 399, 0, ("Tablet Case", "Stylus", "USB-C Charger")),
    _T("Phone Case", "Phone Accessories", _X, 19),
    _T("Screen Protector", "Phone Accessories", _X, 12),
    _T("USB-C Charger", "Phone Accessories", _X, 25, 0, (), ("20W", "45W", "65W")),
    _T("Wireless Earbuds", "Phone Accessories", _X, 79),
    _T("Tablet Case", "Phone Accessories", _X, 29),
    _T("Stylus", "Phone Accessories", _X, 49),
    _T("Car Charger", "Phone Accessories", _X, 19),
    _T("Power Bank", "Phone Accessories", _S, 35, 0, (), ("10000mAh", "20000mAh")),
    _T("Laptop", "Computers", _A, 1099, 0,
       ("Laptop Sleeve", "Wireless Mouse", "USB-C Hub", "External SSD")),
    _T("Monitor", "Computers", _A, 279, 0, ("HDMI Cable", "Monitor Arm")),
    _T("Laptop Sleeve", "Computer Accessories", _X, 29),
    _T("Wireless Mouse", "Computer Accessories", _X, 25),
    _T("USB-C Hub", "Computer Accessories", _X, 45),
    _T("External SSD", "Computer Accessories", _X, 99, 0, (), ("500GB", "1TB", "2TB")),
    _T("HDMI Cable", "Computer Accessories", _X, 12),
    _T("Monitor Arm", "Computer Accessories", _X, 79),
    _T("USB Cable", "Computer Accessories", _X, 9),
    _T("Mechanical Keyboard", "Computer Accessories", _S, 89),
    _T("Game Console", "Gaming", _A, 449, 0, ("Controller", "Gaming Headset", "Game Gift Card")),
    _T("Handheld Console", "Gaming", _A, 299, 0, ("Carrying Case", "Game Gift Card")),
    _T("Controller", "Gaming", _X, 59),
    _T("Gaming Headset", "Gaming", _X, 79),
    _T("Carrying Case", "Gaming", _X, 24),
    _T("Game Gift Card", "Gaming", _C, 25, 45, (), ("25 USD", "50 USD")),
    _T("Video Game", "Gaming", _S, 59),
    _T("Dog Crate", "Pet Supplies", _A, 89, 0, ("Dog Bed", "Dog Food", "Dog Treats")),
    _T("Cat Tree", "Pet Supplies", _A, 79, 0, ("Cat Litter", "Cat Food", "Cat Toy Set")),
    _T("Dog Food", "Pet Supplies", _C, 49, 30, (), ("12kg", "6kg")),
    _T("Cat Food", "Pet Supplies", _C, 34, 28),
    _T("Cat Litter", "Pet Supplies", _C, 19, 21),
    _T("Dog Treats", "Pet Supplies", _C, 9, 21),
    _T("Dog Bed", "Pet Supplies", _X, 59),
    _T("Cat Toy Set", "Pet Supplies", _X, 15),
    _T("Dog Leash", "Pet Supplies", _S, 19),
    _T("Stroller", "Baby", _A, 349, 0, ("Stroller Organizer", "Rain Cover", "Diapers")),
    _T("Bottle Warmer", "Baby", _A, 45, 0, ("Baby Bottles", "Baby Formula")),
    _T("Baby Monitor", "Baby", _S, 129),
    _T("Stroller Organizer", "Baby", _X, 25),
    _T("Rain Cover", "Baby", _X, 29),
    _T("Baby Bottles", "Baby", _X, 19),
    _T("Diapers", "Baby", _C, 39, 21, (), ("Size 2", "Size 3", "Size 4")),
    _T("Baby Wipes", "Baby", _C, 15, 21),
    _T("Baby Formula", "Baby", _C, 29, 14),
    _T("Tent", "Outdoor & Camping", _A, 199, 0,
       ("Sleeping Bag", "Camping Lantern", "Tent Footprint")),
    _T("Camping Stove", "Outdoor & Camping", _A, 59, 0, ("Gas Canister", "Cookware Set")),
    _T("Sleeping Bag", "Outdoor & Camping", _X, 89),
    _T("Camping Lantern", "Outdoor & Camping", _X, 29),
    _T("Tent Footprint", "Outdoor & Camping", _X, 35),
    _T("Cookware Set", "Outdoor & Camping", _X, 45),
    _T("Gas Canister", "Outdoor & Camping", _C, 8, 40),
    _T("Hiking Backpack", "Outdoor & Camping", _S, 119),
    _T("Headlamp", "Outdoor & Camping", _S, 29),
    _T("Treadmill", "Fitness", _A, 899, 0, ("Treadmill Mat", "Treadmill Lubricant")),
    _T("Dumbbell Set", "Fitness", _A, 129, 0, ("Workout Bench", "Lifting Gloves")),
    _T("Treadmill Mat", "Fitness", _X, 49),
    _T("Treadmill Lubricant", "Fitness", _C, 14, 120),
    _T("Workout Bench", "Fitness", _X, 149),
    _T("Lifting Gloves", "Fitness", _X, 19),
    _T("Protein Powder", "Fitness", _C, 45, 30, ("Shaker Bottle",),
       ("Vanilla 2kg", "Chocolate 2kg", "Unflavored 1kg")),
    _T("Shaker Bottle", "Fitness", _X, 12),
    _T("Yoga Mat", "Fitness", _S, 35),
    _T("Resistance Bands", "Fitness", _S, 19),
    _T("Electric Toothbrush", "Beauty & Personal Care", _A, 89, 0,
       ("Toothbrush Heads", "Travel Case")),
    _T("Electric Shaver", "Beauty & Personal Care", _A, 129, 0,
       ("Shaver Cleaning Cartridge", "Travel Case")),
    _T("Safety Razor", "Beauty & Personal Care", _A, 35, 0, ("Razor Blades", "Shaving Cream")),
    _T("Toothbrush Heads", "Beauty & Personal Care", _C, 19, 90, (), ("4-Pack", "8-Pack")),
    _T("Shaver Cleaning Cartridge", "Beauty & Personal Care", _C, 22, 60),
    _T("Razor Blades", "Beauty & Personal Care", _C, 12, 45),
    _T("Shaving Cream", "Beauty & Personal Care", _C, 9, 40),
    _T("Travel Case", "Beauty & Personal Care", _X, 15),
    _T("Shampoo", "Beauty & Personal Care", _C, 12, 40),
    _T("Sunscreen", "Beauty & Personal Care", _C, 15, 60),
    _T("Moisturizer", "Beauty & Personal Care", _C, 25, 50),
    _T("Robot Vacuum", "Home & Garden", _A, 299, 0, ("Vacuum Filters", "Side Brushes")),
    _T("Air Purifier", "Home & Garden", _A, 179, 0, ("HEPA Filter",)),
    _T("Lawn Mower", "Home & Garden", _A, 329, 0, ("Mower Blade", "Grass Seed")),
    _T("Vacuum Filters", "Home & Garden", _C, 19, 60),
    _T("Side Brushes", "Home & Garden", _C, 14, 90),
    _T("HEPA Filter", "Home & Garden", _C, 39, 90),
    _T("Mower Blade", "Home & Garden", _X, 29),
    _T("Grass Seed", "Home & Garden", _C, 24, 60),
    _T("Plant Food", "Home & Garden", _C, 11, 45),
    _T("Garden Hose", "Home & Garden", _S, 39),
    _T("Smart Bulb", "Home & Garden", _S, 19, 0, (), ("2-Pack", "4-Pack")),
)
del _T, _A, _C, _X, _S

_BRANDS: dict[str, tuple[str, ...]] = {
    "Cameras": ("Vireo", "Optika", "Halden", "Lumis"),
    "Camera Accessories": ("Vireo", "Optika", "Lumis", "Kestrel", "Ardent"),
    "Printers": ("Inkwell", "Printex", "Corvan"),
    "Printer Supplies": ("Inkwell", "Printex", "Corvan", "Tonerly"),
    "Office Supplies": ("Deskwise", "Papyra", "Corvan"),
    "Coffee Machines": ("Brevo", "Caffera", "Moka & Co"),
    "Coffee & Tea": ("Caffera", "Brevo", "Roastery No. 9", "Leafhouse"),
    "Kitchen": ("Brevo", "Hearthly", "Steelcraft", "Purewell"),
    "Phones & Tablets": ("Nova", "Pixen", "Orbit"),
    "Phone Accessories": ("Nova", "Pixen", "Voltly", "Armorline"),
    "Computers": ("Nova", "Quanta", "Larkbook"),
    "Computer Accessories": ("Quanta", "Voltly", "Keystone", "Datavault"),
    "Gaming": ("Playforge", "Quanta", "Arcadia"),
    "Pet Supplies": ("Pawsome", "Tailwind", "Whisker & Co"),
    "Baby": ("Littlenest", "Cubby", "Bramble"),
    "Outdoor & Camping": ("Ridgeline", "Northtrail", "Emberly"),
    "Fitness": ("Ironleaf", "Flexa", "Stridewell"),
    "Beauty & Personal Care": ("Glossa", "Brightsmile", "Keenedge", "Puremist"),
    "Home & Garden": ("Greenthumb", "Robonest", "Aerora", "Hearthly"),
}
_CATEGORIES: tuple[str, ...] = tuple(_BRANDS)

# name, share of customers, (mobile, desktop, tablet), category tastes (unlisted: 0.35)
_SEGMENTS: tuple[tuple[str, float, tuple[float, float, float], dict[str, float]], ...] = (
    ("tech_enthusiast", 0.18, (0.50, 0.45, 0.05), {
        "Cameras": 3, "Camera Accessories": 3, "Phones & Tablets": 3, "Phone Accessories": 4,
        "Computers": 2.5, "Computer Accessories": 3, "Gaming": 3}),
    ("home_office", 0.15, (0.30, 0.65, 0.05), {
        "Printers": 3, "Printer Supplies": 4, "Office Supplies": 4, "Computers": 2,
        "Computer Accessories": 3, "Coffee & Tea": 1.5}),
    ("home_barista", 0.13, (0.55, 0.35, 0.10), {
        "Coffee Machines": 3, "Coffee & Tea": 5, "Kitchen": 3}),
    ("young_family", 0.15, (0.70, 0.15, 0.15), {
        "Baby": 6, "Kitchen": 2, "Home & Garden": 2, "Beauty & Personal Care": 2}),
    ("pet_owner", 0.12, (0.60, 0.30, 0.10), {
        "Pet Supplies": 6, "Home & Garden": 2, "Outdoor & Camping": 1.5}),
    ("outdoor_active", 0.14, (0.65, 0.30, 0.05), {
        "Outdoor & Camping": 5, "Fitness": 4, "Cameras": 1.5, "Camera Accessories": 1.5}),
    ("everyday_shopper", 0.13, (0.55, 0.30, 0.15), {
        "Beauty & Personal Care": 3, "Home & Garden": 2, "Kitchen": 2, "Coffee & Tea": 1.5}),
)
_DEVICES = ("mobile", "desktop", "tablet")
_COUNTRIES = ("US", "GB", "CA", "DE", "FR", "NL", "AU")
_COUNTRY_SHARES = (0.40, 0.14, 0.10, 0.12, 0.08, 0.06, 0.10)
_PLACEMENTS = ("thank_you", "order_status")

# Calendar-month multipliers (January first) of a category's share of baskets.
_CATEGORY_SEASONS: dict[str, tuple[float, ...]] = {
    "Outdoor & Camping": (0.5, 0.5, 0.8, 1.1, 1.5, 1.8, 1.8, 1.5, 1.0, 0.7, 0.6, 0.8),
    "Gaming": (0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0, 1.6, 2.2),
    "Cameras": (0.8, 0.8, 0.9, 0.9, 1.0, 1.1, 1.1, 1.0, 0.9, 1.0, 1.5, 1.8),
    "Fitness": (1.9, 1.4, 1.1, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 0.9, 0.8, 0.8),
    "Home & Garden": (0.7, 0.8, 1.3, 1.5, 1.5, 1.3, 1.1, 1.0, 0.9, 0.8, 0.8, 0.8),
}
_MONTH_VOLUME = (0.8, 0.75, 0.9, 0.95, 1.0, 1.0, 0.95, 0.95, 1.0, 1.1, 1.45, 1.75)
_WEEKDAY_VOLUME = (1.05, 1.0, 1.0, 1.0, 0.95, 0.85, 1.15)  # Monday first
_HOUR_VOLUME = (0.3, 0.2, 0.15, 0.12, 0.12, 0.18, 0.35, 0.6, 0.85, 1.0, 1.05, 1.1,
                1.15, 1.1, 1.05, 1.05, 1.1, 1.2, 1.35, 1.5, 1.55, 1.4, 1.0, 0.6)
_BLACK_FRIDAY_DAYS = (27, 31)  # 2025-11-28 to 2025-12-01 (Cyber Monday), days since the start
_BLACK_FRIDAY_DISCOUNT = 0.15
_RETURN_RATE = {_ANCHOR: 0.075, _ACCESSORY: 0.06, _CONSUMABLE: 0.02, _STANDALONE: 0.055}
_RETURN_SHARE = 0.056  # returns / purchase lines before the period's end cuts some

# The known logging policy and response model (see the module docstring).
_LOG_SHARE = 0.2
_LOG_EPSILON = 0.1
_MAX_SHOWN = 3
_EXAMINATION_POWER = 0.7
_BLOCK_CELLS = 2_000_000  # requests x candidates**2 per block of the exact propensity computation


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
    partial = {name: path.with_name(f".{path.name}.partial") for name, path in paths.items()}
    try:
        counts = _generate(partial, n_orders, seed, progress)
        for name, path in partial.items():
            path.replace(paths[name])
    except BaseException:  # Ctrl-C too: no half-written shop, no folder left empty
        _remove(partial.values(), created)
        raise
    return ShopSummary(**counts, paths=paths)


def _generate(paths: dict[str, Path], n_orders: int, seed: int, progress: bool) -> dict[str, int]:
    """Write the four files to ``paths`` and return the counts of :class:`ShopSummary`."""
    rng_catalog, rng_orders, rng_offers, rng_log = np.random.default_rng(seed).spawn(4)
    with progress_bar(total=5, desc="generating shop", unit="step", enabled=progress) as bar:
        bar.set_postfix_str("catalog")
        catalog = _build_catalog(rng_catalog, _n_products(n_orders))
        taste = _segment_tastes(rng_catalog)
        bar.update()
        bar.set_postfix_str("orders")
        history = _simulate_history(rng_orders, catalog, _build_clock(), taste, n_orders)
        shop = _finish_orders(rng_orders, catalog, history)
        bar.update()
        bar.set_postfix_str("offers")
        offer_docs, offer_model = _build_offers(rng_offers, catalog, taste)
        bar.update()
        bar.set_postfix_str("impressions")
        impressions = _simulate_impressions(rng_log, catalog, shop, offer_model)
        bar.update()
        bar.set_postfix_str("writing")
        _write_csv(paths["products"], _products_table(catalog))
        n_order_lines = _write_csv(paths["orders"], _orders_table(catalog, shop))
        paths["offers"].write_text(json.dumps(offer_docs, indent=2) + "\n", encoding="utf-8")
        n_impressions = _write_csv(paths["impressions"], impressions)
        bar.update()
    return {
        "n_products": catalog.n_products,
        "n_customers": len(shop.customer_ids),
        "n_orders": len(shop.order_ids),
        "n_order_lines": n_order_lines,
        "n_offers": len(offer_docs),
        "n_impressions": n_impressions,
    }


def _remove(files: Iterable[Path], folders: list[Path]) -> None:
    """Delete the files, then the folders (deepest first) that are left empty."""
    for path in files:
        path.unlink(missing_ok=True)
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:  # not empty (something else wrote there) or already gone
            return


# ---------------------------------------------------------------- catalog


@dataclass(frozen=True)
class _Catalog:
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


def _n_products(n_orders: int) -> int:
    return int(np.clip(round(30 * n_orders**0.33), 300, 2000))


def _build_catalog(rng: np.random.Generator, n_products: int) -> _Catalog:
    types = _PRODUCT_TYPES
    role_weight = np.array([0.8, 1.0, 1.2, 1.0])[[t.role for t in types]]
    per_type = 2 + rng.multinomial(n_products - 2 * len(types), role_weight / role_weight.sum())
    ptype = np.repeat(np.arange(len(types)), per_type)
    n = len(ptype)
    role = np.array([types[t].role for t in ptype])
    category = np.array([_CATEGORIES.index(types[t].category) for t in ptype])
    median = np.array([types[t].price for t in ptype], dtype=float)
    price = np.floor(median * rng.lognormal(0.0, 0.3, n)) + 0.99
    margin_rate = np.clip(rng.normal(np.array([0.18, 0.45, 0.32, 0.35])[role], 0.06), 0.05, 0.7)
    margin = np.round(price * margin_rate, 2)
    cycle = np.array([types[t].cycle_days for t in ptype], dtype=float)
    brand, title = _names(rng, ptype, category)
    popularity = _popularity(rng, ptype, price)
    compat = _compatibility(rng, ptype, brand, popularity)
    return _Catalog(
        sku=_ids("SKU-", n, 5),
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
        spec = _PRODUCT_TYPES[t]
        choices = _BRANDS[_CATEGORIES[c]]
        brand = choices[rng.integers(len(choices))]
        base = f"{brand} {spec.name}"
        if spec.variants:
            base += f" {spec.variants[rng.integers(len(spec.variants))]}"
        title = base
        while spec.role == _ANCHOR and title == base or title in used:
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
    type_median = np.array([t.price for t in _PRODUCT_TYPES])[ptype]
    type_appeal = rng.lognormal(0.0, 0.5, len(_PRODUCT_TYPES))[ptype]
    noise = rng.lognormal(0.0, 0.4, n)
    return rank**-1.1 * noise * type_appeal * type_median**-0.3 * (price / type_median) ** -0.5


def _compatibility(
    rng: np.random.Generator, ptype: np.ndarray, brand: np.ndarray, popularity: np.ndarray
) -> np.ndarray:
    """Specific skus of each complement type for each product that has some, same brand first."""
    of_type = {t.name: np.flatnonzero(ptype == i) for i, t in enumerate(_PRODUCT_TYPES)}
    compat = np.full((len(ptype), _MAX_COMPAT), -1)
    for i in np.flatnonzero([bool(_PRODUCT_TYPES[t].complements) for t in ptype]):
        chosen: list[int] = []
        for name in _PRODUCT_TYPES[ptype[i]].complements:
            pool = of_type[name]
            weight = popularity[pool] * np.where(brand[pool] == brand[i], 6.0, 1.0)
            two = _PRODUCT_TYPES[ptype[pool[0]]].role != _CONSUMABLE and len(pool) >= 3
            n_pick = 2 if two and rng.random() < 0.25 else 1
            chosen += rng.choice(pool, n_pick, replace=False, p=weight / weight.sum()).tolist()
        chosen = chosen[:_MAX_COMPAT]
        compat[i, : len(chosen)] = chosen
    return compat


def _segment_tastes(rng: np.random.Generator) -> np.ndarray:
    """Relative taste of each segment for each category, shape (n_segments, n_categories)."""
    taste = np.full((len(_SEGMENTS), len(_CATEGORIES)), 0.35)
    for s, (_, _, _, liked) in enumerate(_SEGMENTS):
        for name, weight in liked.items():
            taste[s, _CATEGORIES.index(name)] = weight
    return taste * rng.lognormal(0.0, 0.15, taste.shape)


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


# ---------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Clock:
    """Order intensity over the year (season, Black Friday, weekday, hour of day).

    Times are days since the start; the year repeats before and after it.
    Operational time runs at one expected order per day of a steady customer:
    gaps drawn in it come out seasonal in real time.
    """

    hours: np.ndarray  # (n_hours + 1,) hour boundaries
    cum: np.ndarray  # (n_hours + 1,) operational days at each boundary, ends at _N_DAYS
    month: np.ndarray  # (_N_DAYS,) calendar month of each day, 0 = January
    hour_share: np.ndarray  # (24,)

    def to_op(self, days: np.ndarray) -> np.ndarray:
        years, day = np.divmod(days, _N_DAYS)
        return years * _N_DAYS + np.interp(day * 24.0, self.hours, self.cum)

    def from_op(self, op_days: np.ndarray) -> np.ndarray:
        years, op = np.divmod(op_days, _N_DAYS)
        return years * _N_DAYS + np.interp(op, self.cum, self.hours) / 24.0

    def month_of(self, days: np.ndarray) -> np.ndarray:
        return self.month[np.floor(days).astype(np.int64) % _N_DAYS]

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return (rng.choice(24, n, p=self.hour_share) + rng.random(n)) / 24.0


def _build_clock() -> _Clock:
    days = _START.astype("datetime64[D]") + np.arange(_N_DAYS)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    day_volume = np.array(_MONTH_VOLUME)[month] * np.array(_WEEKDAY_VOLUME)[weekday]
    day_volume[slice(*_BLACK_FRIDAY_DAYS)] *= 2.5
    hour_share = np.array(_HOUR_VOLUME) / sum(_HOUR_VOLUME)
    cum = np.concatenate([[0.0], np.cumsum(np.outer(day_volume, hour_share).ravel())])
    return _Clock(np.arange(len(cum), dtype=float), cum * _N_DAYS / cum[-1], month, hour_share)


# ---------------------------------------------------------------- customers and orders


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
    pending: np.ndarray  # (n, _MAX_COMPAT) complements of the last anchor not bought yet
    pending_k: np.ndarray
    pending_t: np.ndarray
    refill_sku: np.ndarray  # (n, _REFILL_SLOTS) consumables in use, -1 for none
    refill_due: np.ndarray  # (n, _REFILL_SLOTS) when each runs out, inf for none


_REFILL_SLOTS = 4
_FILL_MEAN = 0.9
_BURN_IN_DAYS = 730  # customers join from two years before the log, so it opens in steady state


def _simulate_history(
    rng: np.random.Generator, catalog: _Catalog, clock: _Clock, taste: np.ndarray, n_orders: int
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
    rng: np.random.Generator, catalog: _Catalog, clock: _Clock, taste: np.ndarray, n_customers: int
) -> _History:
    cs = _new_customers(rng, clock, taste, n_customers)
    season = np.ones((12, len(_CATEGORIES)))
    for name, months in _CATEGORY_SEASONS.items():
        season[:, _CATEGORIES.index(name)] = months
    main_weight = taste[:, None, :] * season[None, :, :]  # (n_segments, 12, n_categories)
    samplers = {
        "main": _GroupSampler(catalog.category, catalog.popularity),
        "fill": _GroupSampler(catalog.category, catalog.popularity * (catalog.role != _ANCHOR)),
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


def _new_customers(
    rng: np.random.Generator, clock: _Clock, taste: np.ndarray, n: int
) -> _Customers:
    segment = rng.choice(len(_SEGMENTS), n, p=[s[1] for s in _SEGMENTS])
    taste_cum = np.cumsum(taste[segment], axis=1)
    favourite = (taste_cum <= (rng.random(n) * taste_cum[:, -1])[:, None]).sum(1)
    country = rng.choice(len(_COUNTRIES), n, p=_COUNTRY_SHARES)
    device_mix = rng.gamma(8.0 * np.array([s[2] for s in _SEGMENTS])[segment])
    device_cum = np.cumsum(device_mix / device_mix.sum(1, keepdims=True), axis=1)
    device_cum[:, -1] = 1.0
    return _Customers(
        segment=segment,
        favourite=favourite,
        country=country,
        device_cum=device_cum,
        gap_mean=70.0 * rng.lognormal(0.0, 0.6, n),
        pace=rng.lognormal(0.0, 0.15, n),
        t=clock.from_op(rng.uniform(-_BURN_IN_DAYS, _N_DAYS, n)),
        k=np.zeros(n, np.int64),
        triggered=np.zeros(n, bool),
        active=np.ones(n, bool),
        pending=np.full((n, _MAX_COMPAT), -1),
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
    catalog: _Catalog,
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
    catalog: _Catalog,
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
    p_same = np.where(catalog.role[compat] == _CONSUMABLE, 0.45, 0.3)
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
    return np.where(role == _CONSUMABLE, consumable, 1 + (u > 0.94)).astype(np.int64)


def _update_refills(
    rng: np.random.Generator,
    catalog: _Catalog,
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
    keep = catalog.role[sku] == _CONSUMABLE
    row, sku, quantity, source = row[keep], sku[keep], quantity[keep], source[keep]
    ptype = catalog.ptype[sku]
    _, first = np.unique(row * len(_PRODUCT_TYPES) + ptype, return_index=True)
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
    clock: _Clock,
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
    cs.active[idx] = stays & (t_next < _N_DAYS)


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


# ---------------------------------------------------------------- ids, prices, returns


@dataclass(frozen=True)
class _Shop:
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
    order_categories: np.ndarray  # bitmask over _CATEGORIES
    line_order: np.ndarray  # (n_lines,) purchases, sorted by order
    line_sku: np.ndarray
    row_order: np.ndarray  # (n_rows,) purchases and returns, as written
    row_sku: np.ndarray
    row_quantity: np.ndarray
    row_price: np.ndarray
    row_seconds: np.ndarray  # seconds since the start


def _finish_orders(rng: np.random.Generator, catalog: _Catalog, history: _History) -> _Shop:
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
    on_sale = (day >= _BLACK_FRIDAY_DAYS[0]) & (day < _BLACK_FRIDAY_DAYS[1])
    on_sale &= catalog.role[line_sku] != _CONSUMABLE
    price = np.round(
        catalog.price[line_sku] * np.where(on_sale, 1 - _BLACK_FRIDAY_DISCOUNT, 1.0), 2
    )
    starts = np.searchsorted(line_order, np.arange(n_orders))
    categories = np.bitwise_or.reduceat(np.left_shift(1, catalog.category[line_sku]), starts)

    rate = np.array([_RETURN_RATE[r] for r in range(4)])[catalog.role[line_sku]]
    returned = np.flatnonzero(rng.random(line_sku.size) < rate * (_RETURN_SHARE / rate.mean()))
    delay = (2.0 + rng.lognormal(np.log(8.0), 0.6, returned.size)) * 86_400
    return_seconds = seconds[line_order[returned]] + delay.astype(np.int64)
    returned = returned[return_seconds < _N_DAYS * 86_400]
    return_seconds = return_seconds[return_seconds < _N_DAYS * 86_400]

    row_order = np.concatenate([line_order, line_order[returned]])
    row_sku = np.concatenate([line_sku, line_sku[returned]])
    row_seconds = np.concatenate([seconds[line_order], return_seconds])
    is_return = np.r_[np.zeros(line_sku.size, bool), np.ones(returned.size, bool)]
    rows = np.lexsort((is_return, row_sku, row_order, row_seconds))
    return _Shop(
        customer_ids=_ids("C", n_customers, 6),
        customer_segment=h.segment[np.argsort(customer_of)],
        customer_country=h.country[np.argsort(customer_of)],
        order_ids=_ids("O", n_orders, 7),
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


def _ids(prefix: str, n: int, min_digits: int) -> np.ndarray:
    """``prefix`` + 1-based zero-padded numbers, as a bytes array."""
    digits = max(min_digits, len(str(n)))
    numbers = np.arange(1, n + 1).astype("S")
    if n == 0:  # np.strings.zfill fails on an empty array
        return numbers
    return np.strings.add(prefix.encode(), np.strings.zfill(numbers, digits))


# ---------------------------------------------------------------- offers


class _Response(NamedTuple):
    """An offer's hidden parameters in the response model (see the module docstring)."""

    alpha: float
    gamma: float
    kappa: float
    affinity: np.ndarray  # (n_segments,)
    theme_categories: int  # bitmask over _CATEGORIES


@dataclass(frozen=True)
class _OfferModel:
    """The offers as the logging policy and the response model see them; arrays of (n_offers,)."""

    ids: np.ndarray
    is_partner: np.ndarray
    value: np.ndarray
    sku: np.ndarray  # product index of a cross-sell, -1 for a partner offer
    countries: np.ndarray  # bitmasks over _COUNTRIES, _DEVICES, _PLACEMENTS, _CATEGORIES
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


def _build_offers(
    rng: np.random.Generator, catalog: _Catalog, taste: np.ndarray
) -> tuple[list[dict], _OfferModel]:
    """``offers.json`` documents, and the same offers with their hidden response parameters."""
    offers = _cross_sell_offers(rng, catalog, taste) + _partner_offers(rng)
    docs = [doc for doc, _ in offers]
    return docs, _offer_model(docs, [response for _, response in offers], catalog)


def _cross_sell_offers(
    rng: np.random.Generator, catalog: _Catalog, taste: np.ndarray
) -> list[tuple[dict, _Response]]:
    """Cross-sells of popular accessories and consumables, targeted at their anchors' categories."""
    candidates = np.flatnonzero(np.isin(catalog.role, (_ACCESSORY, _CONSUMABLE)))
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
            "placements": list(_PLACEMENTS),
            "required_categories": [
                _CATEGORIES[c] for c in sorted(anchors or {catalog.category[i]})
            ],
            "excluded_skus": [sku],
        }
        if small_order_floor[n]:
            targeting["min_order_total"] = 25.0
        if returning_only[n] and not anchors and catalog.role[i] == _CONSUMABLE:
            targeting["customer"] = "returning"
        doc = {
            "id": f"xs-{sku.lower()}",
            "kind": "cross_sell",
            "title": f"Add {title}",
            "body": f"Goes with your order: {discount[n]}% off if you add it today."
            if discount[n]
            else "Goes with your order and ships with it.",
            "cta_label": "Add to order",
            "cta_url": f"{_product_url(title)}?utm_source=encore&utm_medium=cross_sell",
            "image_url": _image_url(sku),
            "sku": sku,
            "value": float(catalog.margin[i]),
            "category": _CATEGORIES[catalog.category[i]],
            "attributes": {
                "product_type": _PRODUCT_TYPES[catalog.ptype[i]].name,
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
        boost = np.array([spec.segment_boost.get(s[0], 0.0) for s in _SEGMENTS])
        affinity = boost + rng.normal(0.0, 0.2, len(_SEGMENTS))
        themes = _bits(spec.theme_categories, _CATEGORIES, 0)
        offers.append((doc, _Response(spec.alpha, spec.gamma, spec.kappa, affinity, themes)))
    return offers


def _offer_model(docs: list[dict], responses: list[_Response], catalog: _Catalog) -> _OfferModel:
    """Targeting and schedules read back from the documents, so the log obeys what was written."""
    sku_index = {s.decode(): i for i, s in enumerate(catalog.sku)}
    targeting = [doc["targeting"] for doc in docs]

    def column(values: list, dtype: type = np.int64) -> np.ndarray:
        return np.array(values, dtype=dtype)

    def masks(key: str, vocabulary: tuple[str, ...], default: int) -> np.ndarray:
        return column([_bits(t.get(key), vocabulary, default) for t in targeting])

    end = column([_days(doc.get("ends_at"), np.inf) for doc in docs], float)
    paused = column([doc["status"] == "paused" for doc in docs], bool)
    return _OfferModel(
        ids=column([doc["id"] for doc in docs], object),
        is_partner=column([doc["kind"] == "partner" for doc in docs], bool),
        value=column([doc["value"] for doc in docs], float),
        sku=column([sku_index.get(doc.get("sku"), -1) for doc in docs]),
        countries=masks("countries", _COUNTRIES, (1 << len(_COUNTRIES)) - 1),
        devices=masks("devices", _DEVICES, (1 << len(_DEVICES)) - 1),
        placements=masks("placements", _PLACEMENTS, (1 << len(_PLACEMENTS)) - 1),
        required_categories=masks("required_categories", _CATEGORIES, 0),
        excluded_categories=masks("excluded_categories", _CATEGORIES, 0),
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
    return float((np.datetime64(iso.rstrip("Z"), "s") - _START) / np.timedelta64(1, "D"))


def _product_url(title: str) -> str:
    return f"{_SHOP_URL}/products/{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}"


def _image_url(sku: str) -> str:
    return f"{_SHOP_URL}/images/{sku.lower()}.jpg"


# ---------------------------------------------------------------- feedback log


@dataclass(frozen=True)
class _Requests:
    """Offer requests in time order, one per logged order; arrays of shape (n_requests,)."""

    order: np.ndarray
    shown: np.ndarray  # days since the start
    placement: np.ndarray
    customer: np.ndarray
    segment: np.ndarray
    country: np.ndarray
    device: np.ndarray
    returning: np.ndarray  # ordered before, possibly before the log starts
    total: np.ndarray
    categories: np.ndarray


def _simulate_impressions(
    rng: np.random.Generator, catalog: _Catalog, shop: _Shop, offers: _OfferModel
) -> dict[str, _Column]:
    """The feedback log: the known logging policy shows offers, the known response model answers."""
    requests = _requests(rng, shop)
    eligible, complement = _eligibility(requests, offers, catalog, shop)
    request, offer, position, propensity = _log_policy(rng, eligible, offers.value)
    clicked, converted = _responses(rng, requests, offers, complement, request, offer, position)
    seconds = np.floor(requests.shown * 86_400).astype(np.int64)
    return {
        "request_id": (_ids("R", len(requests.order), 7), request),
        "shown_at": _timestamps(seconds[request]),
        "customer_id": (shop.customer_ids, requests.customer[request]),
        "placement": _coded(_PLACEMENTS, requests.placement[request]),
        "offer_id": _coded(offers.ids.tolist(), offer),
        "position": _formatted(position, "{}"),
        "propensity": _formatted(propensity, "{:.6g}"),
        "clicked": _formatted(clicked.astype(np.int64), "{}"),
        "converted": _formatted(converted.astype(np.int64), "{}"),
        "ctx_country": _coded(_COUNTRIES, requests.country[request]),
        "ctx_device": _coded(_DEVICES, requests.device[request]),
        "ctx_segment": _coded([s[0] for s in _SEGMENTS], requests.segment[request]),
        "ctx_order_total": _formatted(requests.total[request], "{:.2f}"),
        "ctx_is_returning": _formatted(requests.returning[request].astype(np.int64), "{}"),
        "ctx_order_id": (shop.order_ids, requests.order[request]),
    }


def _requests(rng: np.random.Generator, shop: _Shop) -> _Requests:
    order = np.flatnonzero(rng.random(len(shop.order_ids)) < _LOG_SHARE)
    placement = (rng.random(order.size) < 0.15).astype(np.int64)
    delay = np.where(
        placement == 0, rng.uniform(3, 45, order.size) / 86_400, rng.uniform(1, 72, order.size) / 24
    )
    shown = shop.order_time[order] + delay
    by_time = np.argsort(shown, kind="stable")
    by_time = by_time[shown[by_time] < _N_DAYS]
    order, placement, shown = order[by_time], placement[by_time], shown[by_time]
    customer = shop.order_customer[order]
    return _Requests(
        order=order,
        shown=shown,
        placement=placement,
        customer=customer,
        segment=shop.customer_segment[customer],
        country=shop.customer_country[customer],
        device=shop.order_device[order],
        returning=shop.order_k[order] > 0,
        total=shop.order_total[order],
        categories=shop.order_categories[order],
    )


def _eligibility(
    requests: _Requests, offers: _OfferModel, catalog: _Catalog, shop: _Shop
) -> tuple[np.ndarray, np.ndarray]:
    """Which offers each request may show, and which complement its basket.

    Returns
    -------
    eligible, complement : ndarray of shape (n_requests, n_offers), dtype bool
    """

    def has_bit(masks: np.ndarray, bit: np.ndarray) -> np.ndarray:
        return ((masks[None, :] >> bit[:, None]) & 1).astype(bool)

    cats = requests.categories[:, None]
    total = requests.total[:, None]
    eligible = has_bit(offers.countries, requests.country)
    eligible &= has_bit(offers.devices, requests.device)
    eligible &= has_bit(offers.placements, requests.placement)
    eligible &= (offers.required_categories == 0) | ((cats & offers.required_categories) != 0)
    eligible &= (cats & offers.excluded_categories) == 0
    eligible &= (total >= offers.min_total) & (total <= offers.max_total)
    eligible &= (offers.customer == 0) | (offers.customer == 1 + requests.returning[:, None])
    shown = requests.shown[:, None]
    eligible &= (shown >= offers.start) & (shown < offers.end)

    request_of_order = np.full(len(shop.order_ids), -1)
    request_of_order[requests.order] = np.arange(len(requests.order))
    request = request_of_order[shop.line_order]
    logged = request >= 0
    request, sku = request[logged], shop.line_sku[logged]
    offer_of_sku = np.full(catalog.n_products, -1)
    offer_of_sku[offers.sku[offers.sku >= 0]] = np.flatnonzero(offers.sku >= 0)
    in_basket = offer_of_sku[sku] >= 0
    eligible[request[in_basket], offer_of_sku[sku[in_basket]]] = False

    complement = offers.is_partner & ((cats & offers.theme_categories) != 0)
    compat = catalog.compat[sku]
    compat_offer = np.where(compat >= 0, offer_of_sku[compat], -1)
    line, slot = np.nonzero(compat_offer >= 0)
    complement[request[line], compat_offer[line, slot]] = True
    return eligible, complement


def _log_policy(
    rng: np.random.Generator, eligible: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the logging policy on every request.

    Returns
    -------
    request, offer, position, propensity : ndarray of shape (n_impressions,)
        Sorted by request then position (1-based); ``propensity`` is the marginal
        probability of this offer at this position.
    """
    weight = 1.0 + value
    n_eligible = eligible.sum(axis=1)
    by_size = np.argsort(
        n_eligible, kind="stable"
    )  # similar widths together: cost ~ sum of width**2
    parts = []
    start = int(np.searchsorted(n_eligible[by_size], 1))
    while start < len(by_size):
        # about rows x widest**2 <= _BLOCK_CELLS: size the block by its first rows, then its last
        width = int(n_eligible[by_size[min(start + 256, len(by_size)) - 1]])
        stop = min(start + max(256, _BLOCK_CELLS // width**2), len(by_size))
        width = int(n_eligible[by_size[stop - 1]])
        stop = min(stop, start + max(256, _BLOCK_CELLS // width**2))
        requests = by_size[start:stop]
        width = int(n_eligible[requests[-1]])
        block = eligible[requests]
        candidate = np.argsort(~block, axis=1, kind="stable")[:, :width]
        w = np.where(np.take_along_axis(block, candidate, axis=1), weight[candidate], 0.0)
        marginal = _position_marginals(w, _LOG_EPSILON)
        chosen = _draw_slates(rng, w, _LOG_EPSILON)
        row, position = np.nonzero(chosen >= 0)
        column = chosen[row, position]
        parts.append(
            (
                requests[row],
                candidate[row, column],
                position + 1,
                marginal[position, row, column],
            )
        )
        start = stop
    if not parts:  # a tiny shop: no request, or none that any offer is eligible for
        nothing = np.zeros(0, dtype=np.intp)
        return nothing, nothing, nothing, np.zeros(0)
    request, offer, position, propensity = (np.concatenate(c) for c in zip(*parts, strict=True))
    in_order = np.lexsort((position, request))
    return request[in_order], offer[in_order], position[in_order], propensity[in_order]


def _draw_slates(rng: np.random.Generator, w: np.ndarray, epsilon: float) -> np.ndarray:
    """Sample up to ``_MAX_SHOWN`` candidates per row without replacement.

    Each position: with probability ``epsilon`` uniform over the candidates left,
    otherwise in proportion to ``w``. ``w`` of shape (n_rows, n_candidates), 0 for
    padding; returns candidate columns of shape (n_rows, _MAX_SHOWN), -1 when none is left.
    """
    left = w > 0
    chosen = np.full((len(w), _MAX_SHOWN), -1)
    rows = np.arange(len(w))
    for position in range(_MAX_SHOWN):
        lw = np.where(left, w, 0.0)
        total = lw.sum(axis=1, keepdims=True)
        n_left = left.sum(axis=1, keepdims=True)
        q = (1 - epsilon) * lw / np.where(total > 0, total, 1.0)
        q += epsilon * left / np.maximum(n_left, 1)
        cum = np.cumsum(q, axis=1)
        u = rng.random(len(w)) * cum[:, -1]
        pick = np.minimum((cum <= u[:, None]).sum(axis=1), w.shape[1] - 1)
        has = n_left[:, 0] > 0
        chosen[has, position] = pick[has]
        left[rows[has], pick[has]] = False
    return chosen


def _position_marginals(w: np.ndarray, epsilon: float) -> np.ndarray:
    """Exact P(candidate at position 1, 2, 3) under :func:`_draw_slates`.

    Position 2 sums over the first pick ``a``; position 3 over the ordered pairs
    ``(a, b)`` of the first two, using ``sum over pairs without o = total - row o - column o``.

    Parameters
    ----------
    w : ndarray of shape (n_rows, n_candidates)
        Weights >= 1 of the eligible candidates, 0 for padding.
    epsilon : float

    Returns
    -------
    marginal : ndarray of shape (3, n_rows, n_candidates)
    """
    ok = w > 0
    n = ok.sum(axis=1, keepdims=True)
    total = w.sum(axis=1, keepdims=True)
    p1 = (1 - epsilon) * w / np.where(total > 0, total, 1.0) + epsilon * ok / np.maximum(n, 1)
    rest_a = total - w  # weight left after a: 0, or >= 1 as weights are >= 1
    greedy_a = (1 - epsilon) / np.where(rest_a > 0.5, rest_a, np.inf)
    uniform_2 = epsilon * ok / np.maximum(n - 1, 1)
    pair = greedy_a[:, :, None] * w[:, None, :]  # (n_rows, a, b): P(a first, b second)
    pair += uniform_2[:, None, :]
    pair *= p1[:, :, None]
    diagonal = np.arange(w.shape[1])
    pair[:, diagonal, diagonal] = 0.0
    p2 = pair.sum(axis=1)
    rest_ab = rest_a[:, :, None] - w[:, None, :]
    pair /= np.maximum(rest_ab, 0.5, out=rest_ab)  # < 1 only when nothing is left for position 3
    row, column = pair.sum(axis=2), pair.sum(axis=1)
    without_o = row.sum(axis=1, keepdims=True) - row - column
    p3 = (1 - epsilon) * w * without_o
    p3 += epsilon * ok * np.clip(1 - p1 - p2, 0, 1) / np.maximum(n - 2, 1)
    return np.stack([p1, p2, p3])


def _responses(
    rng: np.random.Generator,
    requests: _Requests,
    offers: _OfferModel,
    complement: np.ndarray,
    request: np.ndarray,
    offer: np.ndarray,
    position: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Clicks and conversions drawn from the known response model (module docstring)."""
    affinity = offers.affinity[requests.segment[request], offer]
    fits = complement[request, offer]
    partner = offers.is_partner[offer]
    z = (
        offers.alpha[offer]
        + affinity
        + 1.0 * fits
        + 0.3 * (requests.returning[request] & ~partner)
        - 0.35 * ((requests.device[request] == 0) & partner)
        + offers.kappa[offer] * np.log(requests.total[request] / 100.0)
        - 0.4 * (requests.placement[request] == 1)
    )
    examined = position.astype(float) ** -_EXAMINATION_POWER
    clicked = rng.random(offer.size) < examined * _sigmoid(z)
    accepts = _sigmoid(offers.gamma[offer] + 0.5 * affinity + 0.7 * fits)
    converted = clicked & (rng.random(offer.size) < accepts)
    return clicked, converted


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


# ---------------------------------------------------------------- files


def _products_table(catalog: _Catalog) -> dict[str, _Column]:
    every = np.arange(catalog.n_products)
    return {
        "sku": (catalog.sku, every),
        "title": _coded(catalog.title.tolist(), every),
        "category": _coded(_CATEGORIES, catalog.category),
        "price": _formatted(catalog.price, "{:.2f}"),
        "image_url": _coded([_image_url(s) for s in catalog.sku.astype(str)], every),
        "url": _coded([_product_url(t) for t in catalog.title], every),
        "margin": _formatted(catalog.margin, "{:.2f}"),
        "brand": _coded(catalog.brand.tolist(), every),
        "product_type": _coded([t.name for t in _PRODUCT_TYPES], catalog.ptype),
    }


def _orders_table(catalog: _Catalog, shop: _Shop) -> dict[str, _Column]:
    customer = shop.order_customer[shop.row_order]
    return {
        "order_id": (shop.order_ids, shop.row_order),
        "customer_id": (shop.customer_ids, customer),
        "ordered_at": _timestamps(shop.row_seconds),
        "sku": (catalog.sku, shop.row_sku),
        "quantity": _formatted(shop.row_quantity, "{}"),
        "price": _formatted(shop.row_price, "{:.2f}"),
        "title": _coded(catalog.title.tolist(), shop.row_sku),
        "category": _coded(_CATEGORIES, catalog.category[shop.row_sku]),
        "country": _coded(_COUNTRIES, shop.customer_country[customer]),
        "currency": _coded([_CURRENCY], np.zeros_like(customer)),
        "device": _coded(_DEVICES, shop.order_device[shop.row_order]),
    }


def _coded(names: list[str] | tuple[str, ...], codes: np.ndarray) -> _Column:
    return np.array([_csv_field(name).encode() for name in names], dtype="S"), codes


def _formatted(values: np.ndarray, template: str) -> _Column:
    """Numbers formatted once per distinct value (no CSV quoting needed)."""
    unique, codes = np.unique(values, return_inverse=True)
    return np.array([template.format(v).encode() for v in unique.tolist()], dtype="S"), codes


def _timestamps(seconds: np.ndarray) -> _Column:
    unique, codes = np.unique(seconds, return_inverse=True)
    moments = _START + unique.astype("timedelta64[s]")
    return np.datetime_as_string(moments, unit="s", timezone="UTC").astype("S"), codes


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(path: Path, columns: dict[str, _Column], chunk_rows: int = 100_000) -> int:
    """Write the columns as CSV and return the number of data rows.

    pandas ``to_csv`` took ~18 s for 1M order lines on a 2-core machine, so each
    chunk is built as one byte matrix of NUL-padded fields, the padding dropped.
    """
    n_rows = len(next(iter(columns.values()))[1])
    ends = [ord(",")] * (len(columns) - 1) + [ord("\n")]
    with path.open("wb") as handle:
        handle.write((",".join(columns) + "\n").encode())
        for start in range(0, n_rows, chunk_rows):
            parts = []
            for (vocabulary, codes), end in zip(columns.values(), ends, strict=True):
                field = vocabulary[codes[start : start + chunk_rows]]
                parts.append(field.view(np.uint8).reshape(len(field), vocabulary.itemsize))
                parts.append(np.full((len(field), 1), end, np.uint8))
            matrix = np.concatenate(parts, axis=1)
            handle.write(matrix[matrix != 0].tobytes())
    return n_rows
