"""The holdout group: a stable share of customers who are never shown offers.

Comparing them with everyone else measures what the offers add (revenue per
thousand transactions) and what they cost (checkout satisfaction).

As decided: a customer's arm is a pure function of their id (SHA-256 of the id,
read as a number in [0, 1)), so it never changes between orders, workers or
restarts, and needs no storage. A customer with no id (a guest) is never in the
holdout: without an id their orders could not be kept in one arm.
"""

import hashlib

from sqlalchemy import ColumnElement, select

from offers import schema

_SALT = b"encore-holdout:"
_SCALE = float(2**64)


def holdout_position(customer_id: str) -> float:
    """Where ``customer_id`` falls in [0, 1), uniformly over ids."""
    digest = hashlib.sha256(_SALT + customer_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def in_holdout(customer_id: str | None, share: float) -> bool:
    """True when this customer belongs to the holdout group of size ``share`` (e.g. 0.05)."""
    if not customer_id or share <= 0:
        return False
    return holdout_position(customer_id) < share


def bought_anyway() -> ColumnElement[bool]:
    """A conversion of a holdout request: a purchase the offer did not bring (it was not
    shown). It counts in the holdout arm alone, never in an offer's figures or budget."""
    # an alias: a query that already joins the requests must not correlate this one away
    request, conversions = schema.rank_requests.alias("converted_request"), schema.conversions
    return (
        select(request.c.id)
        .where(
            request.c.shop_id == conversions.c.shop_id,
            request.c.id == conversions.c.request_id,
            request.c.holdout.is_(True),
        )
        .exists()
    )
