"""Customer identifiers as Encore keeps them: never a raw email, nor a percent-encoded one."""

import hashlib
import re
from collections.abc import Callable
from urllib.parse import unquote

import pandas as pd

# An address as exports and templates write one, or percent-encoded as a URL carries it
# (``jane%40shop.example``); the digest only needs to catch it, not validate it.
_EMAIL = re.compile(r"[\w.%+'-]+(?:@|%40)[\w-]+(?:\.[\w-]+)+")
_AT = re.compile("@|%40")


def customer_key(customer_id: str) -> str:
    """The id to store and log: an email is replaced by a SHA-256 digest of its normal form
    (percent-decoded, trimmed, lower case)."""
    if "%40" in customer_id and _EMAIL.fullmatch(unquote(customer_id).strip()):
        customer_id = unquote(customer_id)
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
    if "@" not in text and "%40" not in text:
        return text
    return _EMAIL.sub(lambda match: customer_key(match.group()), text)


def column_without_emails(values: pd.Series) -> pd.Series:
    """:func:`without_emails` over a text column; values without an ``@`` pass through."""
    return _map_those_with_at(values, without_emails)


def _map_those_with_at(values: pd.Series, change: Callable[[str], str]) -> pd.Series:
    with_at = values.str.contains(_AT)
    if not with_at.any():
        return values
    changed = values.copy()
    changed[with_at] = values[with_at].map(change)
    return changed
