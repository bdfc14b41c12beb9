"""``encore export``: the service's feedback log as ``impressions.csv``.

Every impression the service logged becomes one row in DESIGN.md's format, so that
``encore train --impressions`` learns from how the shop's own offers were received:
``clicked`` when a click on that offer of that request was recorded, ``converted``
when a conversion was attributed to it (at any time after ``since``, also after
``until``: a click comes after its impression). The logged context (the request's
attributes, country, currency, device, is_returning, n_items) becomes ``ctx_``
columns, named and valued as the service reads them when it scores
(:func:`offers.rank_request.fold_names`: ``Segment`` and ``segment`` are one column,
with its first value; booleans as 1 and 0). Attribute names come from anyone who can
load the shop's page, so only those a click model can use become columns: plain names
(letters, digits, ``_``), with at most ``MAX_CONTEXT_VALUES`` distinct values, on at
least 1% of the impressions, the ``MAX_CONTEXT_COLUMNS`` most frequent. Customer ids
and attributes are already stored without emails; text that a spreadsheet would run as
a formula is written behind a ``'`` (:mod:`offers.cells`), which
:func:`offers.files.read_impressions` takes off.
"""

import csv
import gzip
import heapq
import io
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, Table, Text, cast, func, select

from offers import schema
from offers.cells import as_text_cell
from offers.errors import InputError
from offers.files import IMPRESSION_REQUIRED, MAX_CONTEXT_VALUES
from offers.progress import progress
from offers.rank_request import LOGGED_FIELDS, fold_names, logged_value
from offers.staging import staged
from offers.store import Store, utcnow

MAX_CONTEXT_COLUMNS = 20
_MIN_CONTEXT_SHARE = 0.01
_PLAIN_NAME = re.compile(r"[a-z0-9_]{1,64}")
_BATCH_ROWS = 5_000
_DISTINCT_CONTEXTS_HELD = 5_000  # texts counted or cells remembered at once
_NAMES_TRACKED = 10_000  # with at most 55 names a row: any name on 0.55% of rows is kept


@dataclass(frozen=True)
class Exported:
    path: Path
    n_impressions: int
    n_clicked: int
    n_converted: int
    context_columns: tuple[str, ...]
    names_left_out: bool  # context names no column was made for

    def summary(self) -> str:
        context = ", ".join(self.context_columns) or "none"
        left_out = (
            " (other context names left out: free text, rare, or not plain names)"
            if self.names_left_out
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
        events = schema.events
        clicked = _offers_of(connection, events, shop_id, since, events.c.type == "click")
        converted = _offers_of(connection, schema.conversions, shop_id, since)
        shown = _shown(shop_id, since, until)
        total = connection.execute(select(func.count()).select_from(shown.subquery())).scalar()
        names, left_out = _context_names(connection, shown, total, show_progress)
        columns = tuple(f"ctx_{name}" for name in names)
        cells = _ContextCells(names)
        in_order = _rows(connection, _in_order(shown), total, "writing", show_progress)
        n_written = n_clicked = n_converted = 0
        with (
            staged(path) as (temporary,),
            _open(temporary, gzipped=path.name.endswith(".gz")) as handle,
            closing(in_order) as rows,  # its cursor closed if writing fails
        ):
            writer = csv.writer(handle, lineterminator="\r\n")  # a cell holding either: quoted
            writer.writerow((*IMPRESSION_REQUIRED, *columns))
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
    return Exported(path, n_written, n_clicked, n_converted, columns, left_out)


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


def _offers_of(
    connection: Any, table: Table, shop_id: str, since: datetime | None, *conditions: Any
) -> set[tuple[str, str]]:
    """The (request, offer) pairs of a feedback table's rows (clicks, conversions)."""
    query = select(table.c.request_id, table.c.offer_id).where(
        table.c.shop_id == shop_id, *conditions
    )
    if since is not None:
        query = query.where(table.c.at >= since)
    return {(request_id, offer_id) for request_id, offer_id in connection.execute(query)}


def _context_names(
    connection: Any, shown: Select, total: int, show: bool
) -> tuple[list[str], bool]:
    """The context names to make columns of, sorted, and whether others were left out.

    Anyone who can load the shop's page can make names up, so counting every name could
    take any memory. One pass keeps a bounded count of the names that may be frequent
    (:class:`_NameCounts`); only a log of so many names that counts had to be dropped takes
    a second pass, to count the names left exactly.
    """
    contexts = select(shown.subquery().c.context)
    counts = _NameCounts()
    counts.add(_distinct_texts(connection, contexts, total, "finding context names", show))
    left_out = counts.left_out
    if counts.pruned:
        counts = _NameCounts(only=set(counts.rows))
        counts.add(_distinct_texts(connection, contexts, total, "counting context values", show))
    rows, values = counts.rows, counts.values
    usable = sorted(
        (
            name
            for name, n in rows.items()
            if len(values[name]) <= MAX_CONTEXT_VALUES and n >= _MIN_CONTEXT_SHARE * total
        ),
        key=lambda name: (-rows[name], name),
    )
    kept = usable[:MAX_CONTEXT_COLUMNS]
    return sorted(kept), left_out or len(rows) > len(kept)


class _NameCounts:
    """The impressions holding each plain context name (with a value), and up to one more
    than ``MAX_CONTEXT_VALUES`` of its distinct values; of the names ``only``, if given.

    Without ``only``, Misra and Gries's frequent items, in batches: when more than twice
    ``_NAMES_TRACKED`` names are counted, every count drops by the one ranked just after
    the top ``_NAMES_TRACKED``, and the names at zero go (``pruned``). Every plain name on
    1% of the rows is still counted then, and perhaps others, but too few times: a name
    loses at most (names seen) / ``_NAMES_TRACKED``, with at most 55 names a row (50
    attributes and the logged fields), 0.55% of the rows.
    """

    def __init__(self, only: set[str] | None = None) -> None:
        self.only = only
        self.rows: Counter[str] = Counter()
        self.values: dict[str, set[int]] = defaultdict(set)
        self.left_out = False  # a name that is not plain, or whose count was dropped
        self.pruned = False

    def add(self, texts: Iterable[tuple[str | None, int]]) -> None:
        for text, n in texts:
            for name, value in _folded(text).items():
                if value in (None, ""):
                    continue
                if self.only is None and not _PLAIN_NAME.fullmatch(name):
                    self.left_out = True
                elif self.only is None or name in self.only:
                    self.rows[name] += n
                    if len(self.values[name]) <= MAX_CONTEXT_VALUES:
                        self.values[name].add(hash(str(value)))
            if len(self.rows) > 2 * _NAMES_TRACKED:
                self._prune()

    def _prune(self) -> None:
        floor = heapq.nlargest(_NAMES_TRACKED + 1, self.rows.values())[-1]
        self.rows = Counter({name: n - floor for name, n in self.rows.items() if n > floor})
        self.values = defaultdict(set, {name: self.values[name] for name in self.rows})
        self.pruned = self.left_out = True


def _distinct_texts(
    connection: Any, contexts: Select, total: int, desc: str, show: bool
) -> Iterator[tuple[str | None, int]]:
    """Each context text with the impressions holding it, a batch of distinct texts at a
    time: a request's impressions share theirs, so each is decoded once a batch."""
    texts: Counter[str | None] = Counter()
    for (text,) in _rows(connection, contexts, total, desc, show):
        texts[text] += 1
        if len(texts) >= _DISTINCT_CONTEXTS_HELD:
            yield from texts.items()
            texts.clear()
    yield from texts.items()


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
    """A logged context as the service reads it: attributes by folded name, and the order's
    logged fields by their own (logs written before attribute names were folded at
    decoding may also hold ``Country`` beside ``country``). The standard library's decoder,
    not orjson: integers beyond 64 bits stay exact."""
    context = json.loads(text) if text else None
    if not isinstance(context, dict):  # a log edited by hand: nothing to read
        return {}
    folded = fold_names(context)
    folded.update((name, context[name]) for name in LOGGED_FIELDS if name in context)
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
    """A context value as the service reads it when scoring (:func:`logged_value`)."""
    return as_text_cell(logged_value(value))


def _open(path: Path, *, gzipped: bool) -> io.TextIOBase:
    if gzipped:
        return io.TextIOWrapper(gzip.open(path, "wb"), encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")
