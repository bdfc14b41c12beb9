"""Reading and validating the CSV files of DESIGN.md: orders, products, impressions.

This is the one place that parses those formats. Real exports are messy, so the
readers take gzipped files (known by their first bytes, whatever the name), quoted
fields, a UTF-8 byte order mark, `;`, tab or `|` separators, a trailing empty field
beyond the header, prices written as strings ("$1,299.00", "12,50"), mixed date
formats and time zones. Rows that cannot be used are skipped and counted by reason, among
them rows the store could not hold (PostgreSQL refuses a NUL character, and a
field longer than its column), so `encore train` reads a file as `encore
import` stores it, on SQLite or PostgreSQL. A file that cannot be used at all
raises :class:`InputError` with a one-line message that names the file and the
column or row.
"""

import argparse
import csv
import gzip
import io
import re
import stat
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import String, Table

from offers import schema
from offers.cells import read_text_cells
from offers.dates import DateOrder, parse_timestamps
from offers.errors import InputError, binary_kind, not_utf8, opening, wide_encoding_problem
from offers.identity import column_without_emails, customer_keys, without_emails
from offers.money import as_decimal_comma, parse_margin, parse_money
from offers.progress import progress

ORDER_REQUIRED = ("order_id", "customer_id", "ordered_at", "sku")
ORDER_OPTIONAL_TEXT = ("title", "category", "country", "currency", "device")
ORDER_COLUMNS = (*ORDER_REQUIRED, "quantity", "price", *ORDER_OPTIONAL_TEXT)
ORDER_FIELDS = ("customer_id", "ordered_at", "country", "currency", "device")  # one per order
PRODUCT_REQUIRED = ("sku", "title", "category", "price")
PRODUCT_OPTIONAL_TEXT = ("image_url", "url")
PRODUCT_COLUMNS = (*PRODUCT_REQUIRED, "margin", *PRODUCT_OPTIONAL_TEXT)
MAX_CONTEXT_VALUES = 50
"""An impressions file's ``ctx_`` column with more distinct values (ids, amounts, free text)
holds no pattern a click model can learn per value: training leaves it out."""
IMPRESSION_REQUIRED = (
    "request_id",
    "shown_at",
    "customer_id",
    "placement",
    "offer_id",
    "position",
    "propensity",
    "clicked",
    "converted",
)

# Counted beside the skip reasons, but these rows were read: rows of one order line,
# purchase or return, summed into its first row; rows kept without a price or margin
# that could not be read as an amount ("call us", "n/a"), which would otherwise be lost
# without a word; rows kept without a negative price (a discount or an adjustment
# written as a price, which would make the product look worth less than nothing).
# A negative margin is kept: selling at a loss is real, and the policy weighs it.
MERGED = "merged with another row of its line"
PRICE_DROPPED = "kept without their unreadable price"
PRICE_NEGATIVE = "kept without their negative price"
MARGIN_DROPPED = "kept without their unreadable margin"
# Shopify writes an order's fields (Email, Created at, Currency, Billing Country) on its
# first row only and leaves them blank on the rows of its other lines; those rows take
# them from the order's other rows rather than be skipped for no customer id.
FILLED = "with blank order fields taken from another row of their order"
KEPT = (MERGED, FILLED, PRICE_DROPPED, PRICE_NEGATIVE, MARGIN_DROPPED)
# A row dated after the moment the command runs (a year typed wrong, 2062 for 2026) is no
# order that happened nor an offer shown yet: kept, it stretched the period, and training's
# held-out split fell after every real order. A day's leeway covers clocks and time zones.
# The reason names the latest such date, so the line can be found.
FUTURE = "dated after now"
_CLOCK_LEEWAY = pd.Timedelta(days=1)

_MAX_LISTED = 30  # header names a message lists; Shopify's Lineitem sku is the 21st
_KNOWN_COLUMNS = frozenset((*ORDER_COLUMNS, *PRODUCT_COLUMNS, *IMPRESSION_REQUIRED))
_SEPARATORS = ",;\t|"
_QUOTED = re.compile(r'"[^"]*"')  # a quoted field; its doubled quotes are two such fields
_NUL = "NUL character in a field"
_SAVE_AS_UTF8 = "save the file as UTF-8 CSV"
_GZIP_MAGIC = b"\x1f\x8b"
_NOT_GZIP = "not gzip data (the name ends in .gz)"
_CUT_GZIP = "gzip data, cut short or damaged"
_REVERSED_DATE = "{} with day and month the other way round from the file's"
_FLOAT_ID = re.compile(r"^(\d+)\.0$")
_CONTEXT_SPELLING = {  # impressions' order context, spelled as /v1/rank reads it
    "ctx_country": lambda text: text.upper(),
    "ctx_currency": lambda text: text.upper(),
    "ctx_device": lambda text: text.lower(),
}
_MAX_QUANTITY = 2**31 - 1  # no order line's (a barcode in the cell); the store's old integer
_OUT_OF_RANGE = "quantity out of range"
_QUANTITY_DECIMALS = 9  # of a merged line's sum: past any export's, short of float noise
MAX_POSITION = 1_000  # slots in one widget; beyond, a typo (and beyond int64, garbage)


def _column_lengths(*tables: Table) -> dict[str, int]:
    return {
        column.name: column.type.length
        for table in tables
        for column in table.columns
        if isinstance(column.type, String) and column.name != "shop_id"
    }


_ORDER_LENGTHS = _column_lengths(schema.orders, schema.order_lines)
_PRODUCT_LENGTHS = _column_lengths(schema.products)


@dataclass
class OrderLines:
    """Order lines read from an orders file, split into purchases and returns."""

    lines: pd.DataFrame
    returns: pd.DataFrame
    n_read: int = 0
    skipped: Counter = field(default_factory=Counter)


def read_orders(path: str | Path, *, progress: bool = False) -> OrderLines:
    """Read a whole orders file: purchases sorted by time, returns apart, skips counted."""
    orders = merged(list(iter_orders(path, progress=progress)))
    orders.lines = orders.lines.sort_values(
        ["ordered_at", "order_id"], kind="stable", ignore_index=True
    )
    return orders


def merged(chunks: list[OrderLines]) -> OrderLines:
    """The chunks of one file (:func:`iter_orders`) as one: the rows of a line, or the partial
    refunds of one, that fell in different chunks summed, as within a chunk."""
    skipped = sum((c.skipped for c in chunks), Counter())
    lines = _merge_repeated_lines(pd.concat([c.lines for c in chunks], ignore_index=True), skipped)
    returns = _merge_repeated_lines(
        pd.concat([c.returns for c in chunks], ignore_index=True), skipped
    )
    return OrderLines(lines, returns, sum(c.n_read for c in chunks), _one_future_reason(+skipped))


def iter_orders(
    path: str | Path, *, chunksize: int = 250_000, progress: bool = False
) -> Iterator[OrderLines]:
    """Stream an orders file in chunks of cleaned lines (for large imports).

    The rows of a chunk's last order wait for the next chunk, so an order line split
    over rows that a chunk boundary falls between is still merged into one.
    """
    date_order = DateOrder()  # one for the file: every chunk reads 05/01 the same way
    seen = _RowsSeen()
    held = None
    decimal_comma = False
    for raw in _read_chunks(path, ORDER_REQUIRED, chunksize, progress):
        decimal_comma = raw.attrs["decimal_comma"]
        if held is not None:
            raw = pd.concat([held, raw])
        last_order = raw["order_id"] == (raw["order_id"].iloc[-1] if len(raw) else "")
        held = raw[last_order]
        if not last_order.all():
            yield _clean_orders(raw[~last_order], date_order, seen, decimal_comma)
    if held is not None:
        yield _clean_orders(held, date_order, seen, decimal_comma)


def read_products(path: str | Path) -> pd.DataFrame:
    """Read a products file; ``attrs["n_read"]`` and ``attrs["skipped"]`` tell what was left out."""
    chunks = list(_read_chunks(path, PRODUCT_REQUIRED, 250_000, False))
    raw = pd.concat(chunks, ignore_index=True)
    _hash_emails(raw, ("title", "category"), PRODUCT_COLUMNS)
    skipped: Counter = Counter()
    keep = _drop(_holds_nul(raw), _NUL, skipped)
    keep &= _drop(raw["sku"] == "", "no sku", skipped, keep)
    keep &= _fits(raw, _PRODUCT_LENGTHS, skipped, keep)
    products = raw[keep].copy()
    decimal_comma = chunks[0].attrs["decimal_comma"]
    products["price"] = _prices(raw, keep, skipped, decimal_comma)
    products["margin"] = _amounts(
        raw,
        "margin",
        keep,
        MARGIN_DROPPED,
        skipped,
        lambda m: parse_margin(m, products["price"], decimal_comma=decimal_comma),
    )
    for column in PRODUCT_OPTIONAL_TEXT:
        products[column] = products.get(column, "")
    repeated = products.duplicated("sku", keep="last")
    skipped["repeated sku (last row kept)"] += int(repeated.sum())
    products = products[~repeated].reset_index(drop=True)
    products.attrs.update(n_read=len(raw), skipped=+skipped)
    return products


def read_impressions(path: str | Path) -> pd.DataFrame:
    """Read a feedback log; ``attrs["n_read"]`` and ``attrs["skipped"]`` tell what was left out."""
    name = Path(path).name
    raw = pd.concat(
        list(_read_chunks(path, IMPRESSION_REQUIRED, 250_000, False)), ignore_index=True
    )
    skipped: Counter = Counter()
    shown_at, reversed_date = parse_timestamps(raw["shown_at"], DateOrder())
    position = pd.to_numeric(raw["position"], errors="coerce")
    propensity = pd.to_numeric(raw["propensity"], errors="coerce")
    clicked, converted = _flag(raw["clicked"]), _flag(raw["converted"])
    keep = _drop(_holds_nul(raw), _NUL, skipped)
    keep &= _drop(raw["offer_id"] == "", "no offer id", skipped, keep)
    keep &= _drop(reversed_date, _REVERSED_DATE.format("shown_at"), skipped, keep)
    keep &= _drop(shown_at.isna(), "unreadable shown_at", skipped, keep)
    keep &= _drop_future(shown_at, skipped, keep)
    keep &= _drop(
        ~position.between(1, MAX_POSITION) | (position % 1 != 0),
        f"position not a whole number from 1 to {MAX_POSITION}",
        skipped,
        keep,
    )
    keep &= _drop(
        ~((propensity > 0) & (propensity <= 1)), "propensity not in (0, 1]", skipped, keep
    )
    keep &= _drop(
        ~clicked.isin([0, 1]) | ~converted.isin([0, 1]),
        "clicked/converted not 0 or 1 (or true/false)",
        skipped,
        keep,
    )
    if not keep.any() and len(raw):
        raise InputError(f"{name}: no usable rows ({describe_skipped(skipped)})")
    impressions = raw[keep].copy()
    for column in ("request_id", "customer_id", "placement", "offer_id", *_context(impressions)):
        impressions[column] = read_text_cells(impressions[column])
    impressions["customer_id"] = _stored_ids(impressions["customer_id"])
    for column, spelled in _CONTEXT_SPELLING.items():  # as the service reads an order's
        if column in impressions.columns:
            impressions[column] = spelled(impressions[column].str)
    for column in _context(impressions):  # after the spelling, as the service logs them
        impressions[column] = column_without_emails(impressions[column])
    impressions["shown_at"] = shown_at[keep]
    impressions["position"] = position[keep].astype("int64")
    impressions["propensity"] = propensity[keep].astype("float64")
    impressions["clicked"] = clicked[keep].astype("int64")
    impressions["converted"] = converted[keep].astype("int64")
    impressions = impressions.reset_index(drop=True)
    impressions.attrs.update(n_read=len(raw), skipped=+skipped)
    return impressions


def _read_chunks(
    path: str | Path, required: tuple[str, ...], chunksize: int, show_progress: bool
) -> Iterator[pd.DataFrame]:
    path = Path(path)
    name = path.name
    rows_before = 0
    n_fields = 0
    try:  # the header and the rows are decoded alike, so their decoding errors read alike
        header, gzipped = _read_header(path)
        separator = _sniff_separator(header)
        written = next(csv.reader([header], delimiter=separator))
        columns = _column_names(written)
        n_fields = len(columns)
        _check_columns(name, columns, required, written)
        named = [bool(column) for column in columns]  # an unnamed column holds nothing we read
        reader = pd.read_csv(
            path,
            sep=separator,
            # Names given for one field more than the header has: pandas would otherwise
            # take the first field of a longer row as its index and shift every column.
            names=range(n_fields + 1),
            header=None,
            skiprows=1,
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding="utf-8-sig",
            compression="gzip" if gzipped else None,
            chunksize=chunksize,
            skipinitialspace=True,
        )
        bar = progress(
            total=path.stat().st_size, desc=f"reading {name}", unit="B", enabled=show_progress
        )
        with reader, bar:
            for chunk in _chunks(reader):
                chunk.index = pd.RangeIndex(rows_before, rows_before + len(chunk))
                rows_before += len(chunk)
                chunk = chunk.apply(lambda column: column.str.strip())
                _check_no_extra_field(name, chunk.pop(n_fields), n_fields)
                chunk.columns = columns
                chunk = chunk.loc[:, named]
                # Where a spreadsheet writes `;` between fields, its comma is the decimal mark.
                chunk.attrs["decimal_comma"] = separator == ";"
                yield chunk
                bar.update(_bytes_read(reader, bar.n))
    except pd.errors.ParserError as err:
        raise InputError(f"{name}: malformed CSV: {_parser_message(err, n_fields)}") from None
    except pd.errors.ParserWarning:  # see _chunks
        saw = _first_row_width(path, gzipped, separator)
        message = f"malformed CSV: row 1: expected {n_fields} fields, saw {saw}"
        raise InputError(f"{name}: {message}") from None
    except csv.Error as err:  # the header line, read by the csv module
        raise InputError(f"{name}: malformed CSV header ({err})") from None
    except UnicodeDecodeError as err:
        raise InputError(f"{name}: {not_utf8(err)}; {_SAVE_AS_UTF8}") from None
    except (gzip.BadGzipFile, EOFError, zlib.error):
        raise InputError(f"{name}: {_CUT_GZIP}") from None


def _chunks(reader: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The reader's chunks, with the warning pandas gives (rather than the error it gives
    for any later row) when the first row has two fields or more beyond the header raised
    as :class:`pd.errors.ParserWarning`: pandas drops those fields, and the warning would be
    printed, lines of it, before the command's own error or output."""
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            chunk = next(reader, None)
        if chunk is None:
            return
        yield chunk


def _first_row_width(path: Path, gzipped: bool, separator: str) -> int | str:
    """How many fields the row after the header has (``"more"`` when the csv module
    cannot read it, such as a field over its size limit)."""
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as text:
        rows = csv.reader(text, delimiter=separator)
        try:
            next(rows)
            return len(next(rows))
        except csv.Error:
            return "more"


def check_regular_file(path: Path, name: str) -> None:
    """Refuse, calling it ``name``, a path that is missing, a folder or no regular file: the
    readers open a file more than once (its first bytes, its header, its rows), and a pipe,
    such as the shell's ``<(cat orders.csv)``, gives its data once."""
    with opening(name):
        mode = path.stat().st_mode
    if stat.S_ISDIR(mode):
        raise InputError(f"{name}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: not a regular file (a pipe?): save it to a file and give that")


def _read_header(path: Path) -> tuple[str, bool]:
    """The header line, and whether the file is gzip data (by its first bytes, not its name)."""
    name = path.name
    check_regular_file(path, name)
    with opening(name):
        with open(path, "rb") as handle:
            gzipped = handle.read(2) == _GZIP_MAGIC
        if not gzipped and name.lower().endswith(".gz"):
            raise InputError(f"{name}: {_NOT_GZIP}")
        opener = gzip.open if gzipped else open
        with opener(path, "rb") as handle:
            kind = binary_kind(handle.peek(8)[:8])
            if kind:
                raise InputError(
                    f"{name}: {kind}, not CSV text (save it as a UTF-8 CSV file; "
                    ".csv.gz is read as is)"
                )
            with io.TextIOWrapper(handle, encoding="utf-8-sig", newline="") as text:
                header = text.readline().strip("\r\n")
                more = not header.strip() and any(line.strip() for line in text)
    if "\x00" in header:
        wide = wide_encoding_problem(header.encode())
        problem = f"{wide}; {_SAVE_AS_UTF8}" if wide else "not CSV text (it holds NUL bytes)"
        raise InputError(f"{name}: {problem}")
    if more:
        raise InputError(f"{name}: the first line is blank, where the header row belongs")
    if not header.strip():
        raise InputError(f"{name}: the file is empty (expected a header row)")
    return header, gzipped


def _column_names(header: list[str]) -> list[str]:
    """Header names lower-cased; ``Order ID`` or ``order-id`` is ``order_id`` (a name only
    becomes a known column, and only where the header does not already have it)."""
    names = [name.strip().lower() for name in header]
    canonical = [re.sub(r"[\s-]+", "_", name) for name in names]
    return [
        new
        if new in _KNOWN_COLUMNS and new not in names and canonical.count(new) == 1
        else _name_without_emails(name)
        for name, new in zip(names, canonical, strict=True)
    ]


def _name_without_emails(name: str) -> str:
    """An extra column's name with each email in it as its digest, as a request's attribute
    names are logged; a ``ctx_`` column keeps its prefix (``ctx_ann@shop.example`` is
    ``ctx_sha256:...``), which :func:`without_emails` would take as part of the address."""
    prefix = "ctx_" if name.startswith("ctx_") else ""
    return prefix + without_emails(name.removeprefix(prefix))


def _check_columns(
    name: str, columns: list[str], required: tuple[str, ...], written: list[str]
) -> None:
    """Every named column once (which of two would we read?), and the required ones there;
    when they are not, the columns ``written`` in the header that Encore does not know,
    since a platform's export holds them under its own names (Shopify's ``Name``, ``Created
    at``, ``Lineitem sku``) and the user renames them."""
    counts = Counter(column for column in columns if column)
    repeated = next((column for column, n in counts.items() if n > 1), None)
    if repeated is not None:
        times = "twice" if counts[repeated] == 2 else f"{counts[repeated]} times"
        raise InputError(f"{name}: column `{repeated}` appears {times}", field=repeated)
    missing = [c for c in required if c not in columns]
    if missing:
        listed = ", ".join(f"`{c}`" for c in missing)
        plural = "s" if len(missing) > 1 else ""
        message = f"{name}: missing required column{plural} {listed}"
        raise InputError(message + _rename_hint(columns, written), field=missing[0])


def _rename_hint(columns: list[str], written: list[str]) -> str:
    """``; rename the columns that hold them (the file's others: `Name`, `Email`, ...)``, or
    nothing when the header holds no column Encore does not know."""
    others = [
        text.strip()
        for column, text in zip(columns, written, strict=True)
        if column and column not in _KNOWN_COLUMNS
    ]
    if not others:
        return ""
    listed = ", ".join(f"`{text}`" for text in others[:_MAX_LISTED])
    more = f" and {len(others) - _MAX_LISTED} more" if len(others) > _MAX_LISTED else ""
    return f"; rename the columns that hold them (the file's others: {listed}{more})"


def _sniff_separator(header: str) -> str:
    """The separator the header has most of, outside quoted names (``"Notes, internal"``)."""
    unquoted = _QUOTED.sub("", header)
    counts = {sep: unquoted.count(sep) for sep in _SEPARATORS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _bytes_read(reader: object, already: int) -> int:
    """How far into the file (compressed bytes for a .gz) the reader has come since ``already``."""
    handle = getattr(getattr(reader, "handles", None), "handle", None)
    try:
        raw = getattr(handle.buffer, "fileobj", handle.buffer) if handle else None
        return max(raw.tell() - already, 0) if raw else 0
    except (AttributeError, OSError, ValueError):
        return 0


def _check_no_extra_field(name: str, extra: pd.Series, n_fields: int) -> None:
    """A row may end in one empty field more than the header (many exports end rows with
    a comma), never in one that holds something: its columns would not be the header's."""
    holding = extra[extra != ""]
    if len(holding):
        row = holding.index[0] + 1
        message = f"malformed CSV: row {row}: expected {n_fields} fields, saw {n_fields + 1}"
        raise InputError(f"{name}: {message}")


def _parser_message(err: Exception, n_fields: int) -> str:
    """pandas' message in the readers' words: a row too long, as the header's count of fields
    (pandas counts one more: the empty trailing field a row may have), or a quote left open."""
    text = str(err).strip().splitlines()[-1]
    match = re.search(r"Expected \d+ fields in line (\d+), saw (\d+)", text)
    if match:
        line, saw = match.groups()
        return f"row {int(line) - 1}: expected {n_fields} fields, saw {saw}"
    match = re.search(r"EOF inside string starting at row (\d+)", text)
    if match:  # pandas counts the header as row 0
        return f"row {match.group(1)}: a quote opens a field and nothing closes it"
    return text


class _RowsSeen:
    """Digests of the rows of a file's earlier chunks: a row written twice is a duplicate line
    wherever the two fall (two overlapping exports put one after the other, say), not a
    line split over two rows to be summed."""

    def __init__(self) -> None:
        self.sorted_digests: list[np.ndarray] = []  # one array a chunk: no re-sorting of all

    def repeated(self, raw: pd.DataFrame) -> pd.Series:
        """The rows of ``raw`` that repeat an earlier row, of ``raw`` or of an earlier chunk,
        by 64-bit digests of the rows (as fast as ``raw.duplicated()`` alone; two different
        rows of a million-row file share one with a chance of about 1 in 30 million)."""
        digests = pd.util.hash_pandas_object(raw, index=False)
        repeated = digests.duplicated()
        if raw.empty:
            return repeated
        for earlier in self.sorted_digests:
            at = np.searchsorted(earlier, digests).clip(max=len(earlier) - 1)
            repeated |= earlier[at] == digests.to_numpy()
        self.sorted_digests.append(np.sort(digests.to_numpy()))
        return repeated


def _clean_orders(
    raw: pd.DataFrame, date_order: DateOrder, seen: _RowsSeen, decimal_comma: bool
) -> OrderLines:
    skipped: Counter = Counter()
    keep = _drop(seen.repeated(raw), "duplicate line", skipped)
    raw["order_id"] = _stored_ids(raw["order_id"])  # some shops number orders by email
    raw["customer_id"] = _stored_ids(raw["customer_id"])
    _fill_order_fields(raw, keep, skipped)
    _hash_emails(raw, ORDER_OPTIONAL_TEXT, ORDER_COLUMNS)
    keep &= _drop(_holds_nul(raw), _NUL, skipped, keep)
    keep &= _drop(raw["order_id"] == "", "no order id", skipped, keep)
    keep &= _drop(raw["customer_id"] == "", "no customer id", skipped, keep)
    keep &= _drop(raw["sku"] == "", "no sku", skipped, keep)
    ordered_at, reversed_date = parse_timestamps(raw["ordered_at"], date_order)
    keep &= _drop(reversed_date, _REVERSED_DATE.format("ordered_at"), skipped, keep)
    keep &= _drop(ordered_at.isna(), "unreadable ordered_at", skipped, keep)
    keep &= _drop_future(ordered_at, skipped, keep)
    quantity_text = raw["quantity"] if "quantity" in raw else pd.Series("", index=raw.index)
    quantity = _quantities(quantity_text.replace("", "1"), decimal_comma)
    keep &= _drop(quantity.isna(), "unreadable quantity", skipped, keep)
    keep &= _drop(quantity.abs() > _MAX_QUANTITY, _OUT_OF_RANGE, skipped, keep)
    keep &= _fits(raw, _ORDER_LENGTHS, skipped, keep)

    lines = raw[keep].copy()
    lines["ordered_at"] = ordered_at[keep]
    lines["quantity"] = _whole_if_whole(quantity[keep])
    lines["price"] = _prices(raw, keep, skipped, decimal_comma)
    for column in ORDER_OPTIONAL_TEXT:
        if column not in lines:
            lines[column] = ""
    extra = [c for c in lines.columns if c not in ORDER_COLUMNS]
    lines = lines[[*ORDER_COLUMNS, *extra]]
    is_return = lines["quantity"] <= 0
    purchases = _merge_repeated_lines(lines[~is_return], skipped)
    returns = _merge_repeated_lines(lines[is_return], skipped)  # partial refunds add up
    return OrderLines(
        lines=purchases.reset_index(drop=True),
        returns=returns.reset_index(drop=True),
        n_read=len(raw),
        skipped=+skipped,
    )


def _fill_order_fields(raw: pd.DataFrame, keep: pd.Series, counts: Counter) -> None:
    """Blank order fields (:data:`ORDER_FIELDS`) of the kept rows filled, in place, from the
    first row of the same order that has them; the rows so filled counted as :data:`FILLED`."""
    has_order = raw["order_id"] != ""
    filled = pd.Series(False, index=raw.index)
    for column in ORDER_FIELDS:
        if column not in raw:
            continue
        blank = (raw[column] == "") & has_order & keep
        if not blank.any():
            continue
        given = raw[column].where(raw[column] != "")
        first = given.groupby(raw["order_id"]).transform("first")
        fill = blank & first.notna()
        raw.loc[fill, column] = first[fill]
        filled |= fill
    counts[FILLED] += int(filled.sum())


def _quantities(text: pd.Series, decimal_comma: bool) -> pd.Series:
    """Quantities as numbers (NaN where unreadable); ``1,000`` is 1 in a file whose comma is
    the decimal mark (an ERP's three decimals), unreadable elsewhere (one, or a thousand?)."""
    quantity = pd.to_numeric(text, errors="coerce")
    if decimal_comma:
        retry = quantity.isna() & text.str.contains(",", regex=False)
        quantity[retry] = pd.to_numeric(as_decimal_comma(text[retry]), errors="coerce")
    return quantity


def _whole_if_whole(quantity: pd.Series) -> pd.Series:
    """Quantities as integers, unless some have a fraction (2.375 kg: a shop that sells by
    weight); those are purchases and returns like any other."""
    return quantity.astype("int64") if (quantity % 1 == 0).all() else quantity.astype("float64")


def _hash_emails(raw: pd.DataFrame, texts: tuple[str, ...], known: tuple[str, ...]) -> None:
    """Each email in the columns ``texts`` and in the extra ones (not ``known``: attributes,
    where an export's Email column is no customer id) replaced by its digest, in place and
    before the length checks, so that what must fit its column is what is stored."""
    for column in raw.columns:
        if column in texts or column not in known:
            raw[column] = column_without_emails(raw[column])


def _stored_ids(ids: pd.Series) -> pd.Series:
    """Customer or order ids as stored: whole numbers as written, an id holding an email as
    one digest, as the API stores it (what must fit its column)."""
    return customer_keys(_whole_numbers_as_written(ids))


def _whole_numbers_as_written(ids: pd.Series) -> pd.Series:
    """Ids that went through a float column (``17850.0``: pandas writes a column of numbers
    with gaps so) as the whole numbers they were, the ids a shop's page sends."""
    looks_float = ids.str.endswith(".0")
    if not looks_float.any():
        return ids
    return ids.where(~looks_float, ids[looks_float].str.replace(_FLOAT_ID, r"\1", regex=True))


def _flag(text: pd.Series) -> pd.Series:
    """0/1 flags; ``true``/``false`` in any case too (what pandas writes for a bool column)."""
    words = text.str.lower().map({"true": "1", "false": "0"})
    return pd.to_numeric(words.fillna(text), errors="coerce")


def _merge_repeated_lines(lines: pd.DataFrame, counts: Counter) -> pd.DataFrame:
    """One row per (order_id, sku): an export that splits a line in two sums its quantities,
    as do two partial refunds of a line (the store keeps one return per line). The rows
    summed into another are counted as merged; a line whose sum the store cannot hold is
    skipped, each of its rows counted as out of range, as a row beyond it alone is."""
    repeated = lines.duplicated(["order_id", "sku"], keep=False)
    if not repeated.any():
        return lines
    grouped = lines[repeated].groupby(["order_id", "sku"], sort=False, as_index=False)
    merged = grouped.agg(
        {
            c: ("sum" if c == "quantity" else "first")
            for c in lines.columns
            if c not in ("order_id", "sku")
        }
    )
    # 1.1 + 2.2 kg is 3.3 as written, not the float sum 3.3000000000000003 (shown so in /demo)
    merged["quantity"] = merged["quantity"].round(_QUANTITY_DECIMALS)
    n_rows = grouped.size()["size"]
    beyond = merged["quantity"].abs() > _MAX_QUANTITY
    counts[_OUT_OF_RANGE] += int(n_rows[beyond].sum())
    counts[MERGED] += int(n_rows[~beyond].sum() - (~beyond).sum())
    return pd.concat([lines[~repeated], merged.loc[~beyond, lines.columns]], ignore_index=True)


def _holds_nul(raw: pd.DataFrame) -> pd.Series:
    """Rows with a NUL character in any field (no export means one; PostgreSQL refuses it)."""
    holds = pd.Series(False, index=raw.index)
    for column in raw.columns:
        holds |= raw[column].str.contains("\x00", regex=False)
    return holds


def _fits(
    raw: pd.DataFrame, lengths: dict[str, int], skipped: Counter, keep: pd.Series
) -> pd.Series:
    """The rows whose every field fits the store's column for it; the others counted."""
    fits = pd.Series(True, index=raw.index)
    for column, length in lengths.items():
        if column in raw:
            too_long = raw[column].str.len() > length
            reason = f"{column} longer than {length} characters"
            fits &= _drop(too_long, reason, skipped, keep & fits)
    return fits


def _drop(
    mask: pd.Series, reason: str, skipped: Counter, keep: pd.Series | None = None
) -> pd.Series:
    """Count the rows ``mask`` rejects (among those still kept) and return the rows to keep."""
    rejected = mask if keep is None else mask & keep
    n_rejected = int(rejected.sum())
    if n_rejected:
        skipped[reason] += n_rejected
    return ~mask


def _drop_future(moments: pd.Series, skipped: Counter, keep: pd.Series) -> pd.Series:
    """The rows not dated after now (see :data:`FUTURE`); the others counted."""
    future = moments > pd.Timestamp.now(tz="UTC").tz_localize(None) + _CLOCK_LEEWAY
    latest = moments[future & keep].max()
    if pd.isna(latest):
        return ~future
    return _drop(future, f"{FUTURE} (latest {latest:%Y-%m-%d})", skipped, keep)


def _one_future_reason(counts: Counter) -> Counter:
    """``counts`` with the future-dated rows of several chunks, each naming its own latest
    date, under one reason that names the latest of all."""
    future = sorted(reason for reason in counts if reason.startswith(FUTURE))
    if len(future) > 1:
        counts[future[-1]] = sum(counts.pop(reason) for reason in future)
    return counts


def _context(impressions: pd.DataFrame) -> list[str]:
    return [column for column in impressions.columns if column.startswith("ctx_")]


def path_argument(text: str) -> Path:
    """A path given on the command line; an empty one (which would mean the current folder)
    is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path")
    return Path(text)


def _prices(
    raw: pd.DataFrame, keep: pd.Series, counts: Counter, decimal_comma: bool
) -> pd.Series | float:
    """The ``price`` column of the kept rows as amounts, NaN where unreadable or negative."""
    prices = _amounts(
        raw, "price", keep, PRICE_DROPPED, counts, partial(parse_money, decimal_comma=decimal_comma)
    )
    if isinstance(prices, float):
        return prices
    negative = prices < 0
    counts[PRICE_NEGATIVE] += int(negative.sum())
    return prices.mask(negative)


def _amounts(
    raw: pd.DataFrame,
    column: str,
    keep: pd.Series,
    dropped: str,
    counts: Counter,
    parse: Callable[[pd.Series], pd.Series],
) -> pd.Series | float:
    """``column`` of the kept rows read as amounts (NaN when it is absent or blank); the
    rows whose text could not be read are counted as ``dropped``."""
    if column not in raw:
        return np.nan
    text = raw[column][keep]
    amounts = parse(text)
    counts[dropped] += int((amounts.isna() & (text != "")).sum())
    return amounts


def kept_and_skipped(counts: Counter) -> tuple[Counter, Counter]:
    """A reader's counts split in two: rows kept with a note (:data:`KEPT`), rows skipped."""
    kept = Counter({reason: counts[reason] for reason in KEPT if counts[reason]})
    skipped = Counter({reason: n for reason, n in counts.items() if reason not in KEPT and n})
    return kept, _one_future_reason(skipped)


def describe_skipped(skipped: Counter) -> str:
    """Skip reasons with their counts, most frequent first: ``no sku: 3, duplicate line: 1``."""
    return ", ".join(f"{reason}: {count}" for reason, count in skipped.most_common())
