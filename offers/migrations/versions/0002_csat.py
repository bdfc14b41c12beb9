"""Checkout-satisfaction answers; per-offer indexes for lifetime caps.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "csat_answers",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("shop_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(128), nullable=False),
        sa.Column("score", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("holdout", sa.Boolean, nullable=False),
    )
    op.create_index("ix_csat_answers_shop_at", "csat_answers", ["shop_id", "at"])
    op.create_index("ix_impressions_offer", "impressions", ["shop_id", "offer_id"])
    op.create_index("ix_conversions_offer", "conversions", ["shop_id", "offer_id"])
