"""Timestamps as shop exports write them, read the same way across a whole file.

ISO 8601 (with or without an offset) is read directly. A numeric date such as
``05/01/2026`` is 5 January in Europe and May 1 in the US, and nothing in one
row tells which; read row by row, a day-first file came out mixed: ``13/02``
as 13 February but ``05/01`` as May 1. So a :class:`DateOrder` decides once per
file, on the first chunk of rows that holds numeric dates: a number from 13 to
31, first or second, is the day (the majority decides); in a chunk with no such
number, the separator does: dots day first (``05.01.2026``, as in Germany),
slashes and dashes month first. Rows that contradict the file's order are
refused (``reversed``), not guessed.
Unix times (``1736071200``, or ``1736071200123`` in milliseconds) are read as
such. Anything else (RFC 2822, ``Jan 5 2026``) is parsed row by row.
"""

import re
import warnings
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd

_UNIT = "datetime64[ns, UTC]"
_EARLIEST, _LATEST = pd.Timestamp("1678-01-01", tz="UTC"), pd.Timestamp("2261-12-31", tz="UTC")
_EPOCH = re.compile(r"\d{9,10}|\d{12,13}")  # Unix time: 1973-2286 in seconds or milliseconds
_YEAR_FIRST = re.compile(r"^\s*\d{4}([-/.])(\d{1,2})\1(\d{1,2})")
# "UTC+1", "GMT+01:00": read as the offset it says (dateutil follows POSIX, where GMT+1 is
# an hour behind UTC, the other way from what people who write it mean)
_NAMED_OFFSET = re.compile(r"\s*(?:UTC|GMT)\s*([+-])(\d{1,2})(?::?(\d\d))?\b")
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?!\d)(.*)$")


class DateOrder:
    """Whether a file's numeric dates put the day first; settled once, then held."""

    def __init__(self) -> None:
        self.day_first: bool | None = None

    def settle(self, first: pd.Series, second: pd.Series, separator: pd.Series) -> bool:
        """The order for these rows' first and second numbers (and every later row's)."""
        if self.day_first is None:
            days_first = int(first.between(13, 31).sum())
            days_second = int(second.between(13, 31).sum())
            if days_first or days_second:
                self.day_first = days_first >= days_second
            else:
                self.day_first = bool((separator == ".").mean() > 0.5)
        return self.day_first


def parse_timestamps(text: pd.Series, order: DateOrder) -> tuple[pd.Series, pd.Series]:
    """Naive UTC timestamps of ``text`` (NaT where unreadable), and which rows were refused
    because their day and month are the other way round from the file's."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = _bounded(pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce"))
        reversed_ = pd.Series(False, index=text.index)
        retry = parsed.isna() & (text != "")
        if retry.any():
            parts = text[retry].str.extract(_NUMERIC_DATE).dropna(subset=[0])
            if len(parts):
                first, second = parts[0].astype(int), parts[2].astype(int)
                day_first = order.settle(first, second, parts[1])
                day, month = (first, second) if day_first else (second, first)
                reversed_[parts.index] = (month > 12) & (month <= 31) & (day <= 12)
                iso = (
                    _four_digit_year(parts[3])
                    + "-"
                    + month.astype(str).str.zfill(2)
                    + "-"
                    + day.astype(str).str.zfill(2)
                    + parts[4]
                )
                fine = iso[month <= 12]
                parsed[fine.index] = _bounded(
                    pd.to_datetime(fine, format="ISO8601", utc=True, errors="coerce")
                )
            retry &= parsed.isna() & ~reversed_
            left = text[retry]
            digits = left[left.str.fullmatch(_EPOCH)]
            if len(digits):  # seconds, or milliseconds (13 digits) as JavaScript writes them
                in_millis = digits.str.len() >= 12
                for unit, part in (("s", digits[~in_millis]), ("ms", digits[in_millis])):
                    moments = pd.to_datetime(part.astype("int64"), unit=unit, utc=True)
                    parsed[part.index] = _bounded(moments)
                retry[digits.index] = False
            # RFC 2822, month names, 12-hour clocks, zones by name: slower, row by row. A
            # date written year first is year, month, day, whichever way the file writes
            # the others; 2025-13-01 is no date (it read as January 13 in a day-first file).
            year_first = text[retry].str.extract(_YEAR_FIRST).dropna()[[1, 2]]
            impossible = year_first.astype(int).pipe(lambda d: (d[1] > 12) | (d[2] > 31))
            retry[impossible[impossible].index] = False
            is_year_first = text.index.isin(year_first.index)
            for rows, day_first in (
                (retry & is_year_first, False),
                (retry & ~is_year_first, bool(order.day_first)),
            ):
                if rows.any():
                    written = text[rows].str.replace(_NAMED_OFFSET, _plain_offset, regex=True)
                    moments = pd.to_datetime(
                        written, format="mixed", dayfirst=day_first, utc=True, errors="coerce"
                    )
                    parsed[rows] = _bounded(moments)
    return parsed.dt.tz_localize(None), reversed_


def _plain_offset(named: re.Match[str]) -> str:
    sign, hours, minutes = named.groups()
    return f" {sign}{int(hours):02d}:{minutes or '00'}"


def _bounded(moments: pd.Series) -> pd.Series:
    """``moments`` in nanoseconds (pandas infers a unit from the values it read), NaT where
    that cannot hold them: a year such as 9999, an ERP's "no date", is unreadable, not an
    error."""
    return moments.where(moments.between(_EARLIEST, _LATEST)).astype(_UNIT)


def _four_digit_year(year: pd.Series) -> pd.Series:
    """``26`` -> ``2026``, ``85`` -> ``1985`` (as POSIX ``strptime`` reads ``%y``)."""
    value = year.astype(int)
    two_digits = year.str.len() == 2
    value = value.where(~two_digits, value + np.where(value < 69, 2000, 1900))
    return value.astype(str)


def midnight(day: date, days_later: int = 0) -> datetime:
    """Midnight starting ``day`` (naive UTC), moved by whole days; held within the datetimes
    there are, so a period from ``0001-01-01`` to ``9999-12-31`` means all time."""
    try:
        return datetime.combine(day, time()) + timedelta(days=days_later)
    except OverflowError:
        return datetime.max if days_later > 0 else datetime.min


_SPACED_OFFSET = re.compile(r"\s*([+-]\d\d:?\d\d)$|\s*(?:Z|UTC|GMT)$")
_JAVASCRIPT = re.compile(r"^\w{3} (\w{3} \d{1,2} \d{4} \d\d:\d\d:\d\d) GMT([+-]\d{4})\b")
_UNIX_TIME = re.compile(rf"({_EPOCH.pattern})(\.\d+)?")  # as files read it, and a fraction


def read_moment(value: object) -> datetime | None:
    """One moment as a shop's page writes it, in UTC without tzinfo; None when it cannot be
    read. Read: ISO 8601 (a date alone, ``T`` or a space, ``Z``, ``UTC`` or an offset, also
    after a space as Shopify's Liquid writes ``2026-10-31 12:00:00 +0100``, or after UTC or
    GMT as files read it: ``UTC+1`` is an hour ahead), JavaScript's
    ``String(new Date())``, and Unix time as files read it: 9-10 digits of seconds or 12-13
    of milliseconds, as a number or as text (``20261031`` is a date, not a Unix time)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, int) and not 0 <= value < 10**13:  # repr() of a huge int may fail
        return None
    text = (value if isinstance(value, str) else repr(value)).strip()
    if len(text) > 100:
        return None
    if unix := _UNIX_TIME.fullmatch(text):
        whole, fraction = unix.groups()
        seconds = float(whole + (fraction or "")) / (1000 if len(whole) >= 12 else 1)
        return _utc(lambda: datetime.fromtimestamp(seconds, UTC))
    if not isinstance(value, str):
        return None
    if match := _JAVASCRIPT.match(text):
        return _utc(lambda: datetime.strptime("".join(match.groups()), "%b %d %Y %H:%M:%S%z"))
    plain = _NAMED_OFFSET.sub(_plain_offset, text)
    iso = _SPACED_OFFSET.sub(lambda m: m.group(1) or "+00:00", plain, count=1)
    return _utc(lambda: datetime.fromisoformat(iso))


def _utc(read: Callable[[], datetime]) -> datetime | None:
    try:
        moment = read()
        return moment if moment.tzinfo is None else moment.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        return None
