"""``encore export``: the service's feedback log as ``impressions.csv``.

Every impression the service logged becomes one row in DESIGN.md's format, so that
``encore train --impressions`` learns from how the shop's own offers were received:
``clicked`` when a click on that offer of that request was recorded, ``converted``
when a conversion was attributed to it (at any time after ``since``, also after
``until``: a click comes after its impression). The logged context (the request's
attributes, country, currency, device, is_returning, n_items) becomes ``ctx_``
columns, named and valued as the service reads them when it scores: names in lower
case (``Segment`` and ``segment`` are one column), booleans as 1 and 0. Attribute names
come from anyone who can load the shop's page, so only those a click model can use
become columns: plain names (letters, digits, ``_``), with at most
``MAX_CONTEXT_VALUES`` distinct values, on at least 1% of the impressions, the
``MAX_CONTEXT_COLUMNS`` most frequent. Customer ids and attributes are already stored
without emails; text that a spreadsheet would run as a formula is written behind a ``'``
(:mod:`offers.cells`), which :func:`offers.files.read_impressions` takes off.
"""

import csv
import gzip
import io
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Select, Text, cast, func, select

from offers import schema
from offers.cells import as_text_cell
from offers.errors import InputError
from offers.files import IMPRESSION_REQUIRED, MAX_CONTEXT_VALUES
from offers.progress import progress
from offers.store import Store, utcnow

MAX_CONTEXT_COLUMNS = 20
_MIN_CONTEXT_SHARE = 0.01
_PLAIN_NAME = re.compile(r"[a-z0-9_]{1,64}")
_BATCH_ROWS = 5_000
_DISTINCT_CONTEXTS_HELD = 50_000  # texts counted or cells remembered at once


@dataclass(frozen=True)
class Exported:
    path: Path
    n_impressions: int
    n_clicked: int
    n_converted: int
    context_columns: tuple[str, ...]
    n_names_left_out: int  # context names no column was made for

    def summary(self) -> str:
        context = ", ".join(self.context_columns) or "none"
        left_out = (
            f" ({self.n_names_left_out:,} other context names left out: free text, rare, "
            "or not plain names)"
            if self.n_names_left_out
            else ""
        )
        return (
            f"wrote {self.path}: {self.n_impressions:,} impressions, {self.n_clicked:,} clicked, "
            f"{self.n_converted:,} converted; context columns: {context}{left_out}"
        )


def export_impressions(
    store: Store,
    shop_id: str,
    path: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    show_progress: bool = False,
) -> Exported:
    """Write the impressions shown in ``[since, until)`` (naive UTC; None: no bound, and
    never later than now) to ``path`` (gzipped when its name ends in ``.gz``), whole or not
    at all. On PostgreSQL every read sees one snapshot of the store, so an export of a
    running service's log counts and writes the same rows."""
    now = utcnow()
    until = now if until is None else min(until, now)
    with store.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        shops = schema.shops
        if connection.execute(select(shops.c.id).where(shops.c.id == shop_id)).first() is None:
            raise InputError(f"no shop `{shop_id}` in the store (ENCORE_SHOP_ID, or --shop)")
        clicked = _pairs(connection, _clicks(shop_id, since))
        converted = _pairs(connection, _conversions(shop_id, since))
        shown = _shown(shop_id, since, until)
        total = connection.execute(select(func.count()).select_from(shown.subquery())).scalar()
        names, n_left_out = _context_names(connection, shown, total, show_progress)
        cells = _ContextCells(names)
        in_order = _rows(connection, _in_order(shown), total, "writing", show_progress)
        staged = path.with_name(f".{path.name}.partial")
        n_written = n_clicked = n_converted = 0
        try:
            with (
                _open(staged, gzipped=path.name.endswith(".gz")) as handle,
                closing(in_order) as rows,  # its cursor closed if writing fails
            ):
                writer = csv.writer(handle, lineterminator="\r\n")  # a cell holding either: quoted
                writer.writerow((*IMPRESSION_REQUIRED, *(f"ctx_{name}" for name in names)))
                for impression in rows:
                    key = (impression.request_id, impression.offer_id)
                    was_clicked, was_converted = key in clicked, key in converted
                    n_written += 1
                    n_clicked += was_clicked
                    n_converted += was_converted
                    writer.writerow(
                        (
                            as_text_cell(impression.request_id),
                            impression.shown_at.isoformat() + "Z",
                            as_text_cell(impression.customer_id),
                            as_text_cell(impression.placement),
                            as_text_cell(impression.offer_id),
                            impression.position,
                            impression.propensity,
                            int(was_clicked),
                            int(was_converted),
                            *cells.of(impression.context),
                        )
                    )
            os.replace(staged, path)
        finally:
            staged.unlink(missing_ok=True)
    columns = tuple(f"ctx_{name}" for name in names)
    return Exported(path, n_written, n_clicked, n_converted, columns, n_left_out)


def _shown(shop_id: str, since: datetime | None, until: datetime | None) -> Select:
    table = schema.impressions
    query = select(
        table.c.request_id,
        table.c.shown_at,
        table.c.customer_id,
        table.c.placement,
        table.c.offer_id,
        table.c.position,
        table.c.propensity,
        cast(table.c.context, Text).label("context"),  # as stored: decoded once per text
    ).where(table.c.shop_id == shop_id)
    if since is not None:
        query = query.where(table.c.shown_at >= since)
    if until is not None:
        query = query.where(table.c.shown_at < until)
    return query


def _in_order(shown: Select) -> Select:
    table = schema.impressions
    return shown.order_by(table.c.shown_at, table.c.request_id, table.c.position)


def _clicks(shop_id: str, since: datetime | None) -> Select:
    table = schema.events
    query = select(table.c.request_id, table.c.offer_id).where(
        table.c.shop_id == shop_id, table.c.type == "click"
    )
    return query if since is None else query.where(table.c.at >= since)


def _conversions(shop_id: str, since: datetime | None) -> Select:
    table = schema.conversions
    query = select(table.c.request_id, table.c.offer_id).where(table.c.shop_id == shop_id)
    return query if since is None else query.where(table.c.at >= since)


def _pairs(connection: Any, query: Select) -> set[tuple[str, str]]:
    return {(request_id, offer_id) for request_id, offer_id in connection.execute(query)}


def _context_names(connection: Any, shown: Select, total: int, show: bool) -> tuple[list[str], int]:
    """The context names to make columns of, sorted, and how many others were left out (a
    first pass over the impressions' contexts; most impressions share theirs with others,
    so each distinct text is decoded once)."""
    rows: Counter[str] = Counter()
    values: dict[str, set[str]] = defaultdict(set)
    texts: Counter[str | None] = Counter()

    def count() -> None:
        for text, n in texts.items():
            for name, value in _folded(text).items():
                if value not in (None, ""):
                    rows[name] += n
                    if len(values[name]) <= MAX_CONTEXT_VALUES:
                        values[name].add(str(value))
        texts.clear()

    contexts = select(shown.subquery().c.context)
    for (text,) in _rows(connection, contexts, total, "reading contexts", show):
        texts[text] += 1
        if len(texts) >= _DISTINCT_CONTEXTS_HELD:
            count()
    count()
    usable = [
        name
        for name, n in rows.most_common()
        if _PLAIN_NAME.fullmatch(name)
        and len(values[name]) <= MAX_CONTEXT_VALUES
        and n >= _MIN_CONTEXT_SHARE * total
    ]
    kept = usable[:MAX_CONTEXT_COLUMNS]
    return sorted(kept), len(rows) - len(kept)


class _ContextCells:
    """The ``ctx_`` cells of a logged context text, for the columns ``names``; remembered
    for the texts seen lately (a request's impressions share one)."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self._known: dict[str | None, tuple[object, ...]] = {}

    def of(self, text: str | None) -> tuple[object, ...]:
        cells = self._known.get(text)
        if cells is None:
            if len(self._known) >= _DISTINCT_CONTEXTS_HELD:
                self._known.clear()
            context = _folded(text)
            cells = self._known[text] = tuple(_written(context.get(name)) for name in self.names)
        return cells


def _folded(text: str | None) -> dict[str, Any]:
    """A logged context with its names as the service reads them: trimmed, lower case (the
    first value of names that fold to one)."""
    folded: dict[str, Any] = {}
    for name, value in (orjson.loads(text) if text else {}).items():
        key = name.strip().lower()
        if folded.get(key) in (None, ""):
            folded[key] = value
    return folded


def _rows(connection: Any, query: Select, total: int, desc: str, show: bool) -> Iterator[Any]:
    """The query's rows, streamed (a server-side cursor on PostgreSQL), with a progress bar."""
    streaming = connection.execution_options(stream_results=True, yield_per=_BATCH_ROWS)
    with (
        streaming.execute(query) as result,
        progress(total=total, desc=desc, unit="rows", enabled=show) as bar,
    ):
        for partition in result.partitions():
            yield from partition
            bar.update(len(partition))


def _written(value: object) -> object:
    """A context value as the service reads it when scoring: booleans as 1 and 0."""
    return int(value) if isinstance(value, bool) else as_text_cell(value)


def _open(path: Path, *, gzipped: bool) -> io.TextIOBase:
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "wb"), encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")
