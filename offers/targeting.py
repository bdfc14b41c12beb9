"""Which offers may be shown for one order: status, schedule, targeting rules and caps.

Every rule that is set must hold; the first one that fails is the offer's
reason for being left out, a short sentence a marketer can read
("country DE not in [FR, BE]"). The rules, as decided:

- ``status``: only ``active`` offers show; ``paused`` and ``archived`` never do.
- ``starts_at`` / ``ends_at``: a half-open window ``[starts_at, ends_at)``; a naive
  datetime is UTC.
- ``placements``, ``required_*``, ``excluded_*``, ``countries``, ``devices``: an empty
  list is the same as no rule. Countries and devices compare case-insensitively
  (``de`` == ``DE``); placements, categories and skus are identifiers and compare
  exactly. An order with no country (or device) fails a country (device) rule.
- ``min_order_total`` / ``max_order_total``: inclusive bounds
  (``min <= order_total <= max``).
- ``required_categories`` / ``required_skus``: at least one basket line matches;
  ``excluded_*``: no basket line matches.
- ``customer``: ``returning`` needs a customer known to have ordered before;
  an unknown customer (``is_returning`` is None, e.g. a guest) counts as new.
- A cross-sell of a sku already in the order never shows.
- Caps (see :mod:`offers.caps`): checked last, against the usage loaded for
  this customer and these offers.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from offers.caps import OfferUsage, cap_violation
from offers.catalog import Offer


@dataclass(frozen=True)
class OrderContext:
    """The order being confirmed, as targeting sees it."""

    shop_id: str
    placement: str
    country: str
    device: str
    order_total: float
    categories: frozenset[str]
    skus: frozenset[str]
    customer_id: str | None
    is_returning: bool | None
    at: datetime


def eligible_offers(
    offers: Sequence[Offer], context: OrderContext, usage: OfferUsage
) -> tuple[list[Offer], dict[str, str]]:
    """Split ``offers`` into those that may show for ``context`` and the others.

    Returns the eligible offers (in the given order) and, for each left-out
    offer id, the reason.
    """
    at = utc_naive(context.at)
    eligible: list[Offer] = []
    excluded: dict[str, str] = {}
    for offer in offers:
        reason = exclusion_reason(offer, context, usage, at=at)
        if reason is None:
            eligible.append(offer)
        else:
            excluded[offer.id] = reason
    return eligible, excluded


def exclusion_reason(
    offer: Offer, context: OrderContext, usage: OfferUsage, *, at: datetime | None = None
) -> str | None:
    """Why ``offer`` may not show for ``context``, or None when it may."""
    at = utc_naive(context.at) if at is None else at
    # The rules in a fixed order (the first that fails is the reason), each looked at only
    # when set: this runs for every candidate of every ranking, and most set one or two.
    rules = offer.targeting
    reason = (
        _status(offer, context, at)
        or (_schedule(offer, context, at) if offer.starts_at or offer.ends_at else None)
        or (_placement(offer, context, at) if rules.placements else None)
        or (_country(offer, context, at) if rules.countries else None)
        or (_device(offer, context, at) if rules.devices else None)
        or (
            _order_total(offer, context, at)
            if rules.min_order_total is not None or rules.max_order_total is not None
            else None
        )
        or (
            _categories(offer, context, at)
            if rules.required_categories or rules.excluded_categories
            else None
        )
        or (_skus(offer, context, at) if rules.required_skus or rules.excluded_skus else None)
        or (_customer(offer, context, at) if rules.customer is not None else None)
        or _already_bought(offer, context, at)
    )
    return reason or cap_violation(offer, usage, context.customer_id)


def utc_naive(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo; a naive datetime is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _status(offer: Offer, _context: OrderContext, _at: datetime) -> str | None:
    return None if offer.status == "active" else f"status {offer.status}"


def _schedule(offer: Offer, _context: OrderContext, at: datetime) -> str | None:
    if offer.starts_at is not None and at < utc_naive(offer.starts_at):
        return f"starts {_moment(offer.starts_at)}"
    if offer.ends_at is not None and at >= utc_naive(offer.ends_at):
        return f"ended {_moment(offer.ends_at)}"
    return None


def _placement(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    placements = offer.targeting.placements
    if placements and context.placement not in placements:
        return f"placement {context.placement or 'unknown'} not in {_listed(placements)}"
    return None


def _country(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    countries = offer.targeting.countries
    if countries and context.country.upper() not in {c.upper() for c in countries}:
        country = context.country.upper() or "unknown"
        return f"country {country} not in {_listed(c.upper() for c in countries)}"
    return None


def _device(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    devices = offer.targeting.devices
    if devices and context.device.lower() not in {d.lower() for d in devices}:
        return f"device {context.device.lower() or 'unknown'} not in {_listed(devices)}"
    return None


def _order_total(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    low, high = offer.targeting.min_order_total, offer.targeting.max_order_total
    total = context.order_total
    if low is not None and total < low:
        return f"order total {total:g} below minimum {low:g}"
    if high is not None and total > high:
        return f"order total {total:g} above maximum {high:g}"
    return None


def _categories(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    return _basket_rule(
        "category",
        context.categories,
        offer.targeting.required_categories,
        offer.targeting.excluded_categories,
    )


def _skus(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    return _basket_rule(
        "sku", context.skus, offer.targeting.required_skus, offer.targeting.excluded_skus
    )


def _customer(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    wanted = offer.targeting.customer
    if wanted is None:
        return None
    actual = "returning" if context.is_returning else "new"
    return None if actual == wanted else f"customer {actual}, offer targets {wanted}"


def _already_bought(offer: Offer, context: OrderContext, _at: datetime) -> str | None:
    if offer.kind == "cross_sell" and offer.sku in context.skus:
        return f"sku {offer.sku} already in the order"
    return None


def _basket_rule(
    name: str, basket: frozenset[str], required: list[str] | None, excluded: list[str] | None
) -> str | None:
    if required and basket.isdisjoint(required):
        return f"no basket {name} in {_listed(required)}"
    if excluded and not basket.isdisjoint(excluded):
        return f"basket {name} {min(basket.intersection(excluded))} excluded"
    return None


def _listed(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _moment(moment: datetime) -> str:
    return utc_naive(moment).strftime("%Y-%m-%d %H:%M UTC")
