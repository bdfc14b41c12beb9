"""Hold order lines' and returns' quantities as numbers with a fraction.

A shop that sells by weight or length exports ``2.375`` (kg) as a line's quantity;
read as an integer, such a line was skipped, and a wholesaler's history with it
(153,180 of 153,321 lines in a generated one) trained on what was left.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    for table in ("order_lines", "order_returns"):
        with op.batch_alter_table(table) as batch:  # SQLite rebuilds the table
            batch.alter_column(
                "quantity", type_=sa.Float(), existing_type=sa.Integer(), existing_nullable=False
            )
