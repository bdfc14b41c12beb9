"""Amounts as shop exports write them: ``12.5``, ``$1,299.00``, ``1.299,00 EUR``, ``30%``.

A plain number is read directly. Otherwise currency signs, codes and spaces go,
and the separators are read as people write them: with both a dot and a
comma, the last one is the decimal mark (``1.299,00`` and ``1,299.00`` are
both 1299); a comma alone before one or two digits is a decimal comma
(``12,50``), and otherwise groups thousands (``1,299``), as do repeated dots
(``1.299.000``). A lone dot stays a decimal point (``1.299`` is 1.299).
"""

import re

import numpy as np
import pandas as pd

_DECIMAL_COMMA = re.compile(r"-?\d+,\d{1,2}")
_DOTTED_THOUSANDS = re.compile(r"-?\d{1,3}(?:\.\d{3}){2,}")


def parse_money(text: pd.Series) -> pd.Series:
    """The amounts of ``text``; blank, unreadable or too large for a float (``1e400``) -> NaN."""
    number = pd.to_numeric(text, errors="coerce")
    retry = number.isna() & (text != "")
    if retry.any():
        cleaned = text[retry].str.replace(r"[^\d,.\-]", "", regex=True)
        last_comma, last_dot = cleaned.str.rfind(","), cleaned.str.rfind(".")
        decimal_comma = (last_comma > last_dot) & (
            (last_dot >= 0) | cleaned.str.fullmatch(_DECIMAL_COMMA)
        )
        dotted_thousands = cleaned.str.fullmatch(_DOTTED_THOUSANDS)
        european = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        plain = cleaned.where(~dotted_thousands, cleaned.str.replace(".", "", regex=False))
        plain = plain.str.replace(",", "", regex=False)
        number[retry] = pd.to_numeric(plain.where(~decimal_comma, european), errors="coerce")
    number = number.astype("float64")
    return number.where(np.isfinite(number))


def parse_margin(text: pd.Series, price: pd.Series) -> pd.Series:
    """Margins as amounts; ``30%`` is that share of the price."""
    margin = parse_money(text)
    percent = text.str.strip().str.endswith("%")
    return margin.where(~percent, price * margin / 100)
