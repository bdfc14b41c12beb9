"""Customer identifiers as Encore keeps them: never a raw email, nor a percent-encoded one."""

import hashlib
import re
from collections.abc import Callable
from urllib.parse import unquote

import pandas as pd

# An address as exports and templates write one (``jane@shop.example``, ``jane@shop``,
# ``jane@[192.0.2.1]``), or percent-encoded, once or more, as URLs carry it
# (``jane%40shop.example``, ``jane%2540shop.example``: then with a dotted domain, so that
# an id such as ``cust%401`` is no email). The digest only needs to catch it, not validate it.
_LOCAL = r"[\w.!#$%&'*+/=?^`{|}~-]+"
_LABEL = r"[\w-]+"
_ENCODED_AT = r"%(?:25)*40"
_EMAIL = re.compile(
    rf"{_LOCAL}(?:@(?:\[[^\]\s]+\]|{_LABEL}(?:\.{_LABEL})*)"
    rf"|{_ENCODED_AT}{_LABEL}(?:\.{_LABEL})+)"
)
_AT = re.compile(f"@|{_ENCODED_AT}")
_MAX_DECODES = 3


def customer_key(customer_id: str) -> str:
    """The id to store and log: an email is replaced by a SHA-256 digest of its normal form
    (percent-decoded, trimmed, lower case)."""
    if "%" in customer_id:
        decoded = _percent_decoded(customer_id)
        if "@" in decoded and _EMAIL.fullmatch(customer_id.strip()):
            customer_id = decoded
    if "@" not in customer_id:
        return customer_id
    digest = hashlib.sha256(customer_id.strip().lower().encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def customer_keys(customer_ids: pd.Series) -> pd.Series:
    """:func:`customer_key` over a column; ids without an ``@`` pass through untouched."""
    return _map_those_with_at(customer_ids, customer_key)


def without_emails(text: str) -> str:
    """``text`` with each email in it replaced by its :func:`customer_key` digest.

    For attribute values (an export's ``Email`` column, a note, a page's context): a value
    that is an email becomes the same digest as that customer's id.
    """
    if not _AT.search(text):
        return text
    return _EMAIL.sub(lambda match: customer_key(match.group()), text)


def has_email(text: str) -> bool:
    """Whether ``text`` holds something :func:`without_emails` would replace."""
    return bool(_AT.search(text)) and _EMAIL.search(text) is not None


def column_without_emails(values: pd.Series) -> pd.Series:
    """:func:`without_emails` over a text column; values without an ``@`` pass through."""
    return _map_those_with_at(values, without_emails)


def _percent_decoded(text: str) -> str:
    for _ in range(_MAX_DECODES):
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text


def _map_those_with_at(values: pd.Series, change: Callable[[str], str]) -> pd.Series:
    with_at = values.str.contains(_AT)
    if not with_at.any():
        return values
    changed = values.copy()
    changed[with_at] = values[with_at].map(change)
    return changed
