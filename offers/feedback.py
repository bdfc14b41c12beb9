"""The feedback log in the store: rank requests, impressions, events, conversions.

Every write is idempotent: rows carry deterministic keys (a request id, an
event id hashed from its type and token, a conversion id hashed from what it
attributes), and a row whose key is already stored is left as it is. So a batch
written twice, or an event sent twice, counts once.
"""

import functools
import json
import operator
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy import JSON, DateTime, Table, select
from sqlalchemy.engine import Connection, Dialect

from offers import schema
from offers.store import Store, insert_if_new

_PARAMETERS_PER_STATEMENT = 999  # the least any SQLite build accepts


@dataclass
class FeedbackBatch:
    """Rows to write together; each a dict of its table's columns."""

    rank_requests: list[dict[str, Any]] = field(default_factory=list)
    impressions: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def record_feedback(store: Store, batch: FeedbackBatch) -> None:
    """Write a batch in one transaction; rows already stored are skipped."""
    with store.engine.begin() as connection:
        write_feedback(connection, batch)


def write_feedback(connection: Connection, batch: FeedbackBatch) -> None:
    """Write a batch in the connection's transaction; rows already stored are skipped."""
    _insert_new(connection, schema.rank_requests, batch.rank_requests, ["id"])
    _insert_new(connection, schema.impressions, batch.impressions, ["request_id", "offer_id"])
    _insert_new(connection, schema.events, batch.events, ["id"])


def record_conversion(store: Store, row: dict[str, Any]) -> bool:
    """Store one conversion; False when a conversion with this id was already stored, or
    one of the same purchase (``order_id``) of the same offer, whatever its id (ids made
    before a purchase was keyed by its order id alone)."""
    table = schema.conversions
    with store.engine.begin() as connection:
        if row["order_id"] and _purchase_recorded(connection, row):
            return False
        return insert_if_new(connection, table, row, ["id"])


def _purchase_recorded(connection: Connection, row: dict[str, Any]) -> bool:
    table = schema.conversions
    query = select(table.c.id).where(
        table.c.shop_id == row["shop_id"],
        table.c.offer_id == row["offer_id"],
        table.c.order_id == row["order_id"],
    )
    return connection.execute(query.limit(1)).first() is not None


def impression(store: Store, shop_id: str, request_id: str, offer_id: str) -> dict[str, Any] | None:
    """The impression of ``offer_id`` in request ``request_id``, if it was logged."""
    table = schema.impressions
    query = select(table).where(
        table.c.shop_id == shop_id, table.c.request_id == request_id, table.c.offer_id == offer_id
    )
    with store.engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def holdout_request(store: Store, shop_id: str, request_id: str) -> dict[str, Any] | None:
    """The ``customer_id`` and time (``at``) of ``request_id`` if it is a holdout request
    (shown no offers), else None."""
    table = schema.rank_requests
    query = select(table.c.customer_id, table.c.at).where(
        table.c.shop_id == shop_id, table.c.id == request_id, table.c.holdout.is_(True)
    )
    with store.engine.connect() as connection:
        row = connection.execute(query).mappings().first()
    return dict(row) if row else None


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
    store: Store,
    shop_id: str,
    offer_ids: Sequence[str],
    since: datetime,
    *,
    except_requests: str | None = None,
) -> list[tuple[str, str, str, datetime]]:
    """(request, offer, customer, shown_at) of known customers' impressions of ``offer_ids``;
    with ``except_requests``, not those of requests whose id starts with it."""
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
    if except_requests:
        query = query.where(~table.c.request_id.startswith(except_requests, autoescape=True))
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(query)]


def _insert_new(
    connection: Connection, table: Table, rows: Iterable[dict[str, Any]], keys: list[str]
) -> None:
    """Insert the rows whose keys are not stored yet.

    The log writes a request and a few impressions for every ranking, on the event loop
    (SQLite) or from a worker thread that shares the GIL with it (PostgreSQL). So this
    skips SQLAlchemy's per-row statement machinery (values taken in C by ``itemgetter``,
    only those that need it through their column type's bind processor), and sends many
    rows per statement: the driver lets the GIL go around every statement it runs, and
    taking it back from a busy event loop costs a thread switch; one statement per row
    made a 2,000-row batch wait ~0.6 s for the GIL, and the log fall behind, under load.
    """
    rows = list(rows)
    if not rows:
        return
    insert = _insert(connection.dialect, table, tuple(keys))
    processors = [(n, _once_per_value(p) if shared else p) for n, p, shared in insert.processors]
    for start in range(0, len(rows), insert.rows_per_statement):
        chunk = rows[start : start + insert.rows_per_statement]
        params: list[Any] = []
        for row in chunk:
            values = list(insert.values(row))
            for n, process in processors:
                values[n] = process(values[n])
            params += values
        connection.exec_driver_sql(insert.sql(len(chunk)), tuple(params))


class _Insert(NamedTuple):
    sql: Callable[[int], str]  # the statement for that many rows
    rows_per_statement: int
    values: Callable[[dict[str, Any]], tuple[Any, ...]]
    # (column position, bind processor, whether rows share its values: a request's time and
    # context are the same objects in its impressions, converted once)
    processors: list[tuple[int, Callable[[Any], Any], bool]]


@functools.cache
def _insert(dialect: Dialect, table: Table, keys: tuple[str, ...]) -> _Insert:
    preparer = dialect.identifier_preparer
    mark = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    marks, processors = [], []
    for n, column in enumerate(table.columns):
        if isinstance(column.type, JSON):  # serialised here; PostgreSQL casts the text
            marks.append(f"{mark}::json" if dialect.name == "postgresql" else mark)
            processors.append((n, _json_text, True))
            continue
        marks.append(mark)
        if isinstance(column.type, DateTime) and dialect.name == "sqlite":
            processors.append((n, _sqlite_datetime, True))
        elif (process := column.type.bind_processor(dialect)) is not None:
            processors.append((n, process, False))
    names = [column.name for column in table.columns]
    head = (
        f"INSERT INTO {preparer.format_table(table)} "
        f"({', '.join(preparer.quote(name) for name in names)}) VALUES "
    )
    row = f"({', '.join(marks)})"
    tail = f" ON CONFLICT ({', '.join(preparer.quote(key) for key in keys)}) DO NOTHING"

    @functools.cache
    def sql(n_rows: int) -> str:
        return head + ", ".join([row] * n_rows) + tail

    rows_per_statement = max(1, _PARAMETERS_PER_STATEMENT // len(names))
    return _Insert(sql, rows_per_statement, operator.itemgetter(*names), processors)


def _once_per_value(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``process``, remembering its answer per object for one insert (its rows keep every
    object alive meanwhile, so an id is never reused)."""
    done: dict[int, Any] = {}

    def once(value: Any) -> Any:
        key = id(value)
        if key not in done:
            done[key] = process(value)
        return done[key]

    return once


def _sqlite_datetime(value: Any) -> Any:
    # SQLAlchemy's text for a time on SQLite, done here once per shared value: always with
    # the fraction, which isoformat leaves out when it is zero (SQLite compares the text)
    return value.isoformat(" ", timespec="microseconds") if isinstance(value, datetime) else value


def _json_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # integers beyond 64 bits
        return json.dumps(value)
