"""Customer identifiers as Encore keeps them: never a raw email."""

import hashlib

import pandas as pd


def customer_key(customer_id: str) -> str:
    """The id to store and log: an email is replaced by a SHA-256 digest of its normal form."""
    if "@" not in customer_id:
        return customer_id
    digest = hashlib.sha256(customer_id.strip().lower().encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def customer_keys(customer_ids: pd.Series) -> pd.Series:
    """:func:`customer_key` over a column; ids without an ``@`` pass through untouched."""
    emails = customer_ids.str.contains("@", regex=False)
    if not emails.any():
        return customer_ids
    hashed = customer_ids.copy()
    hashed[emails] = customer_ids[emails].map(customer_key)
    return hashed
