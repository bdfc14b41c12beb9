"""Drop the per-customer indexes of impressions and events.

The service counts per-customer caps and dismissals in memory (``widget.recent``)
and reads the log by shop and time, so no query used them; every write paid for
them: the impressions' index, keyed by customer, took 30% of the log's CPU
(customer ids arrive in no order, unlike the time-ordered request ids).

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.drop_index("ix_impressions_customer", table_name="impressions")
    op.drop_index("ix_events_customer", table_name="events")
