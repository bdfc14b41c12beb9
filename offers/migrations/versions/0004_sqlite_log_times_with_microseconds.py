"""Give the feedback log's times written without microseconds on SQLite their ``.000000``.

The log wrote SQLite times as ``datetime.isoformat(" ")``, which leaves the fraction
out when it is zero (``2024-03-04 00:00:00``), while SQLAlchemy binds every bound as
``2024-03-04 00:00:00.000000``. SQLite compares them as text, so such a row fell
before a bound at its own time: a request at midnight counted in the day before. The
log now always writes the fraction; this fills it in where it was left out. Other
stores keep times as timestamps and have nothing to change.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"

_TIMES = (("rank_requests", "at"), ("impressions", "shown_at"), ("events", "at"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, column in _TIMES:
        op.execute(
            f"UPDATE {table} SET {column} = {column} || '.000000' WHERE length({column}) = 19"
        )
