"""The feedback log in the store: rank requests, impressions, events, conversions.

Every write is idempotent: rows carry deterministic keys (a request id, an
event id hashed from its type and token, a conversion id hashed from what it
attributes), and a row whose key is already stored is left as it is. So a batch
written twice, or an event sent twice, counts once.
"""

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import JSON, Table, select
from sqlalchemy.engine import Connection, Dialect

from offers import schema
from offers.store import Store, dialect_insert

_ROWS_PER_STATEMENT = 2_000


@dataclass
class FeedbackBatch:
    """Rows to write together; each a dict of its table's columns."""

    rank_requests: list[dict[str, Any]] = field(default_factory=list)
    impressions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rank_requests) + len(self.impressions) + len(self.events)


def record_feedback(store: Store, batch: FeedbackBatch) -> None:
    """Write a batch in one transaction; rows already stored are skipped."""
    with store.engine.begin() as connection:
        _insert_new(connection, schema.rank_requests, batch.rank_requests, ["id"])
        _insert_new(connection, schema.impressions, batch.impressions, ["request_id", "offer_id"])
        _insert_new(connection, schema.events, batch.events, ["id"])


def record_conversion(store: Store, row: dict[str, Any]) -> bool:
    """Store one conversion; False when a conversion with this id was already stored."""
    table = schema.conversions
    with store.engine.begin() as connection:
        statement = (
            dialect_insert(connection, table).on_conflict_do_nothing(index_elements=["id"])
        ).returning(table.c.id)  # rowcount is not reported for this statement by every driver
        return connection.execute(statement, row).first() is not None


def impression(store: Store, shop_id: str, request_id: str, offer_id: str) -> dict[str, Any] | None:
    """The impression of ``offer_id`` in request ``request_id``, if it was logged."""
    table = schema.impressions
    query = select(table).where(
        table.c.shop_id == shop_id, table.c.request_id == request_id, table.c.offer_id == offer_id
    )
    with store.engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def dismissed_offer_ids(store: Store, shop_id: str, customer_id: str, since: datetime) -> set[str]:
    """Offers this customer dismissed at or after ``since``."""
    table = schema.events
    query = select(table.c.offer_id).where(
        table.c.shop_id == shop_id,
        table.c.customer_id == customer_id,
        table.c.type == "dismiss",
        table.c.at >= since,
    )
    with store.engine.connect() as connection:
        return set(connection.execute(query).scalars())


def dismissals_since(
    store: Store, shop_id: str, since: datetime
) -> list[tuple[str, str, datetime]]:
    """Every (customer, offer, at) dismissal of known customers at or after ``since``."""
    table = schema.events
    query = select(table.c.customer_id, table.c.offer_id, table.c.at).where(
        table.c.shop_id == shop_id,
        table.c.type == "dismiss",
        table.c.customer_id != "",
        table.c.at >= since,
    )
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def impressions_since(
    store: Store, shop_id: str, offer_ids: Sequence[str], since: datetime
) -> list[tuple[str, str, str, datetime]]:
    """(request, offer, customer, shown_at) of known customers' impressions of ``offer_ids``."""
    if not offer_ids:
        return []
    table = schema.impressions
    query = select(
        table.c.request_id, table.c.offer_id, table.c.customer_id, table.c.shown_at
    ).where(
        table.c.shop_id == shop_id,
        table.c.offer_id.in_(list(offer_ids)),
        table.c.customer_id != "",
        table.c.shown_at >= since,
    )
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def _insert_new(
    connection: Connection, table: Table, rows: Iterable[dict[str, Any]], keys: list[str]
) -> None:
    """Insert the rows whose keys are not stored yet.

    The log writes a request and a few impressions for every ranking, so this skips
    SQLAlchemy's per-row statement machinery (half the cost of a batch): the values go
    through each column type's own bind processor, then to the driver's executemany.
    """
    rows = list(rows)
    if not rows:
        return
    sql, columns = _insert_statement(connection.dialect, table, tuple(keys))
    for start in range(0, len(rows), _ROWS_PER_STATEMENT):
        batch = rows[start : start + _ROWS_PER_STATEMENT]
        params = [
            tuple(row[name] if process is None else process(row[name]) for name, process in columns)
            for row in batch
        ]
        connection.exec_driver_sql(sql, params)


@functools.cache
def _insert_statement(
    dialect: Dialect, table: Table, keys: tuple[str, ...]
) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]:
    preparer = dialect.identifier_preparer
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    names, marks, columns = [], [], []
    for column in table.columns:
        names.append(preparer.quote(column.name))
        if isinstance(column.type, JSON):  # serialised here; PostgreSQL casts the text
            marks.append(f"{mark}::json" if dialect.name == "postgresql" else mark)
            columns.append((column.name, _json_text))
        else:
            marks.append(mark)
            columns.append((column.name, column.type.bind_processor(dialect)))
    sql = (
        f"INSERT INTO {preparer.format_table(table)} ({', '.join(names)}) "
        f"VALUES ({', '.join(marks)}) "
        f"ON CONFLICT ({', '.join(preparer.quote(key) for key in keys)}) DO NOTHING"
    )
    return sql, columns


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value)
