"""The first schema: shops, catalog, order history, feedback.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def _key(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), primary_key=True)


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False)


def upgrade() -> None:
    op.create_table(
        "shops",
        _key("id", 64),
        _text("name", 200),
        sa.Column("publishable_key", sa.String(128), nullable=False, unique=True),
        sa.Column("secret_key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("allowed_origins", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "products",
        _key("shop_id", 64),
        _key("sku", 128),
        _text("title", 500),
        _text("category", 200),
        sa.Column("price", sa.Float),
        sa.Column("margin", sa.Float),
        _text("image_url", 2000),
        _text("url", 2000),
        sa.Column("attributes", sa.JSON, nullable=False),
    )
    op.create_table(
        "offers",
        _key("shop_id", 64),
        _key("id", 128),
        _text("kind", 16),
        _text("status", 16),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "orders",
        _key("shop_id", 64),
        _key("order_id", 128),
        _text("customer_id", 128),
        sa.Column("ordered_at", sa.DateTime, nullable=False),
        _text("country", 64),
        _text("currency", 16),
        _text("device", 64),
    )
    op.create_index("ix_orders_customer", "orders", ["shop_id", "customer_id"])
    op.create_table(
        "order_lines",
        _key("shop_id", 64),
        _key("order_id", 128),
        _key("sku", 128),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("price", sa.Float),
        _text("title", 500),
        _text("category", 200),
        sa.Column("attributes", sa.JSON, nullable=False),
    )
    op.create_table(
        "order_returns",
        _key("shop_id", 64),
        _key("order_id", 128),
        _key("sku", 128),
        _text("customer_id", 128),
        sa.Column("returned_at", sa.DateTime, nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("price", sa.Float),
    )
    op.create_table(
        "rank_requests",
        _key("id", 64),
        _text("shop_id", 64),
        sa.Column("at", sa.DateTime, nullable=False),
        _text("placement", 64),
        _text("order_id", 128),
        _text("customer_id", 128),
        sa.Column("order_total", sa.Float, nullable=False),
        sa.Column("holdout", sa.Boolean, nullable=False),
        _text("model_version", 128),
        sa.Column("n_offers", sa.Integer, nullable=False),
    )
    op.create_index("ix_rank_requests_shop_at", "rank_requests", ["shop_id", "at"])
    op.create_table(
        "impressions",
        _key("request_id", 64),
        _key("offer_id", 128),
        _text("shop_id", 64),
        sa.Column("shown_at", sa.DateTime, nullable=False),
        _text("customer_id", 128),
        _text("placement", 64),
        _text("kind", 16),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("propensity", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        _text("model_version", 128),
        sa.Column("context", sa.JSON, nullable=False),
    )
    op.create_index("ix_impressions_shop_shown", "impressions", ["shop_id", "shown_at"])
    op.create_index(
        "ix_impressions_customer", "impressions", ["shop_id", "customer_id", "offer_id"]
    )
    op.create_table(
        "events",
        _key("id", 64),
        _text("shop_id", 64),
        _text("request_id", 64),
        _text("offer_id", 128),
        _text("customer_id", 128),
        _text("type", 16),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_events_shop_at", "events", ["shop_id", "at"])
    op.create_index("ix_events_customer", "events", ["shop_id", "customer_id", "type"])
    op.create_table(
        "conversions",
        _key("id", 64),
        _text("shop_id", 64),
        _text("request_id", 64),
        _text("offer_id", 128),
        _text("customer_id", 128),
        _text("order_id", 128),
        sa.Column("revenue", sa.Float, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_conversions_shop_at", "conversions", ["shop_id", "at"])
