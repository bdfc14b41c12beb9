"""Amounts as shop exports write them: ``12.5``, ``$1,299.00``, ``1.299,00 EUR``, ``30%``.

A plain number is read directly. Otherwise currency signs, codes and spaces go,
and the separators are read as people write them: with both a dot and a
comma, the last one is the decimal mark (``1.299,00`` and ``1,299.00`` are
both 1299); a comma alone before one or two digits is a decimal comma
(``12,50``), and otherwise groups thousands (``1,299``), as do repeated dots
(``1.299.000``). A lone dot stays a decimal point (``1.299`` is 1.299). An amount in
parentheses is negative, as accounting writes a refund (``(5.00)`` is -5).
In a file whose every comma is a decimal mark (``decimal_comma``: a ``;``-separated
export, as a spreadsheet writes one where the comma is the decimal mark), a comma is
one whatever follows it (``19,990`` and ``12,5000`` are 19.99 and 12.5) and dots group
thousands; where a dot comes after the last comma, the dot is still the decimal mark
(``$1,299.00``).
"""

import math
import re

import numpy as np
import pandas as pd

_NOT_PART_OF_A_NUMBER = re.compile(r"[^\d,.\-]")
_NOT_PART_OF_AN_AMOUNT = re.compile(r"[^\d,.\-()]")
_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")
_DOTTED_THOUSANDS = re.compile(r"-?\d{1,3}(?:\.\d{3}){2,}")
_COMMA_LAST = re.compile(r",[^.]*$")  # a comma with no dot after it (``1,299.00``: a dot is last)


def read_amount(text: str) -> float:
    """One amount; NaN if unreadable or too large for a float (``1e400``)."""
    try:
        number = float(text)
    except ValueError:
        number = _read_written_amount(text)
    return number if math.isfinite(number) else math.nan


def parse_money(text: pd.Series, *, decimal_comma: bool = False) -> pd.Series:
    """The amounts of ``text`` (:func:`read_amount` of each, plain numbers read as a column)."""
    number = pd.to_numeric(text, errors="coerce")
    retry = number.isna() & (text != "")
    if retry.any():
        written = text[retry]
        if decimal_comma:
            written = as_decimal_comma(written)
        number[retry] = written.map(_read_written_amount)
    number = number.astype("float64")
    return number.where(np.isfinite(number))


def _read_written_amount(text: str) -> float:
    bare = _NOT_PART_OF_AN_AMOUNT.sub("", text)  # signs and codes around the parentheses too
    if len(bare) > 2 and bare[0] == "(" and bare[-1] == ")":
        return -_read_written_amount(bare[1:-1])
    cleaned = _NOT_PART_OF_A_NUMBER.sub("", text)
    last_comma, last_dot = cleaned.rfind(","), cleaned.rfind(".")
    if last_comma > last_dot and (last_dot >= 0 or _DECIMAL_COMMA.fullmatch(cleaned)):
        cleaned = cleaned.replace(".", "").replace(",", ".")
    elif _DOTTED_THOUSANDS.fullmatch(cleaned):
        cleaned = cleaned.replace(".", "")
    try:
        return float(cleaned.replace(",", ""))
    except ValueError:
        return math.nan


def as_decimal_comma(text: pd.Series) -> pd.Series:
    """``text`` written with a decimal point, where a comma is the decimal mark: dots (the
    thousands) dropped and the comma made a point; where a dot comes after the last comma
    (``1,299.00``), the dot is the decimal mark and the commas are dropped."""
    comma_last = text.str.contains(_COMMA_LAST)
    decimal = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    return decimal.where(comma_last, text.str.replace(",", "", regex=False))


def parse_margin(text: pd.Series, price: pd.Series, *, decimal_comma: bool = False) -> pd.Series:
    """Margins as amounts, read as the prices beside them; ``30%`` is that share of the price."""
    margin = parse_money(text, decimal_comma=decimal_comma)
    percent = text.str.strip().str.endswith("%")
    return margin.where(~percent, price * margin / 100)
