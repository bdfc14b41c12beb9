"""The store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

This is the current shape of the schema; `offers/migrations/` holds the steps
that bring an existing database to it. Change both together.
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

shops = Table(
    "shops",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("publishable_key", String(128), nullable=False, unique=True),
    Column("secret_key_hash", String(64), nullable=False, unique=True),
    Column("allowed_origins", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", DateTime, nullable=False),
)

products = Table(
    "products",
    metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("title", String(500), nullable=False),
    Column("category", String(200), nullable=False),
    Column("price", Float),
    Column("margin", Float),
    Column("image_url", String(2000), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("attributes", JSON, nullable=False),
)

offers = Table(
    "offers",
    metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("id", String(128), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("document", JSON, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("order_id", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("ordered_at", DateTime, nullable=False),
    Column("country", String(64), nullable=False),
    Column("currency", String(16), nullable=False),
    Column("device", String(64), nullable=False),
    Index("ix_orders_customer", "shop_id", "customer_id"),
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("order_id", String(128), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("quantity", Float, nullable=False),
    Column("price", Float),
    Column("title", String(500), nullable=False),
    Column("category", String(200), nullable=False),
    Column("attributes", JSON, nullable=False),
)

order_returns = Table(
    "order_returns",
    metadata,
    Column("shop_id", String(64), primary_key=True),
    Column("order_id", String(128), primary_key=True),
    Column("sku", String(128), primary_key=True),
    Column("customer_id", String(128), nullable=False),
    Column("returned_at", DateTime, nullable=False),
    Column("quantity", Float, nullable=False),
    Column("price", Float),
)

rank_requests = Table(
    "rank_requests",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("at", DateTime, nullable=False),
    Column("placement", String(64), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("order_total", Float, nullable=False),
    Column("holdout", Boolean, nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("n_offers", Integer, nullable=False),
    Index("ix_rank_requests_shop_at", "shop_id", "at"),
)

impressions = Table(
    "impressions",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("offer_id", String(128), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("shown_at", DateTime, nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("placement", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("position", Integer, nullable=False),
    Column("propensity", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("model_version", String(128), nullable=False),
    Column("context", JSON, nullable=False),
    Index("ix_impressions_shop_shown", "shop_id", "shown_at"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("offer_id", String(128), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("type", String(16), nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_events_shop_at", "shop_id", "at"),
)

conversions = Table(
    "conversions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("offer_id", String(128), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("order_id", String(128), nullable=False),
    Column("revenue", Float, nullable=False),
    Column("at", DateTime, nullable=False),
    Index("ix_conversions_shop_at", "shop_id", "at"),
)

# Checkout-satisfaction answers (the CSAT guardrail): one per ranked request, the
# first answer counts. `holdout` is copied from the request so each arm's mean is
# one indexed aggregate.
csat_answers = Table(
    "csat_answers",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("shop_id", String(64), nullable=False),
    Column("customer_id", String(128), nullable=False),
    Column("score", Integer, nullable=False),
    Column("at", DateTime, nullable=False),
    Column("holdout", Boolean, nullable=False),
    Index("ix_csat_answers_shop_at", "shop_id", "at"),
)

# Lifetime counts per offer for caps (total impressions, partner budget); conversions
# also by purchase, which counts once per offer.
Index("ix_impressions_offer", impressions.c.shop_id, impressions.c.offer_id)
Index(
    "ix_conversions_offer_order",
    conversions.c.shop_id,
    conversions.c.offer_id,
    conversions.c.order_id,
)
