"""The synthetic shop's fixed world: its dates, product types, brands, customer segments,
countries, devices and placements, and the shop's URLs."""

import re
from typing import NamedTuple

import numpy as np

START = np.datetime64("2025-11-01T00:00:00", "s")
N_DAYS = 365
_SHOP_URL = "https://demo-shop.example"
CURRENCY = "USD"


ANCHOR, ACCESSORY, CONSUMABLE, STANDALONE = range(4)
MAX_COMPAT = 8


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
_A, _C, _X, _S = ANCHOR, CONSUMABLE, ACCESSORY, STANDALONE
PRODUCT_TYPES: tuple[_ProductType, ...] = (
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


BRANDS: dict[str, tuple[str, ...]] = {
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
CATEGORIES: tuple[str, ...] = tuple(BRANDS)

# name, share of customers, (mobile, desktop, tablet), category tastes (unlisted: 0.35)
SEGMENTS: tuple[tuple[str, float, tuple[float, float, float], dict[str, float]], ...] = (
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
DEVICES = ("mobile", "desktop", "tablet")
COUNTRIES = ("US", "GB", "CA", "DE", "FR", "NL", "AU")
COUNTRY_SHARES = (0.40, 0.14, 0.10, 0.12, 0.08, 0.06, 0.10)
PLACEMENTS = ("thank_you", "order_status")
# fmt: on


def numbered_ids(prefix: str, n: int, min_digits: int) -> np.ndarray:
    """``prefix`` + 1-based zero-padded numbers, as a bytes array."""
    digits = max(min_digits, len(str(n)))
    numbers = np.arange(1, n + 1).astype("S")
    if n == 0:  # np.strings.zfill fails on an empty array
        return numbers
    return np.strings.add(prefix.encode(), np.strings.zfill(numbers, digits))


def product_url_of(title: str) -> str:
    return f"{_SHOP_URL}/products/{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}"


def image_url_of(sku: str) -> str:
    return f"{_SHOP_URL}/images/{sku.lower()}.jpg"
