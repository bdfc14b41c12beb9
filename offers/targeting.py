"""Which offers may be shown for one order: status, schedule, targeting rules and caps.

Every rule that is set must hold; the first one that fails is the offer's
reason for being left out, a short sentence a marketer can read
("country DE not in [FR, BE]"). The rules, as decided:

- ``status``: only ``active`` offers show; ``paused`` and ``archived`` never do.
- ``starts_at`` / ``ends_at``: a half-open window ``[starts_at, ends_at)``; a naive
  datetime is UTC.
- ``placements``, ``required_*``, ``excluded_*``, ``countries``, ``currencies``,
  ``devices``: an empty list is the same as no rule. Countries, currencies and devices
  compare case-insensitively (``de`` == ``DE``); placements, categories and skus are
  identifiers and compare exactly. An order with no country (currency, device) fails
  a country (currency, device) rule.
- ``min_order_total`` / ``max_order_total``: inclusive bounds
  (``min <= order_total <= max``), compared as numbers: in a shop that takes several
  currencies, ``currencies`` says which one the bounds are in.
- ``required_categories`` / ``required_skus``: at least one basket line matches;
  ``excluded_*``: no basket line matches.
- ``customer``: ``returning`` needs a customer known to have ordered before;
  an unknown customer (``is_returning`` is None, e.g. a guest) counts as new.
- A cross-sell of a sku already in the order never shows.
- Caps (see :mod:`offers.caps`): checked last, against the usage loaded for
  this customer and these offers.

This runs for every candidate of every ranking, so each offer's rules are
compiled once into checks (:func:`target`, at catalog load): only the rules
that are set, each with its lists normalised and its message parts made once.
:func:`screen` keeps the offers all checks pass; :func:`exclusion_reason`
runs the same checks and says which failed first.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from operator import attrgetter
from typing import NamedTuple

import msgspec
from msgspec.structs import force_setattr

from offers.caps import OfferUsage, cap_violation
from offers.catalog import Offer
from offers.rank_request import RankRequest


class OrderContext(msgspec.Struct, frozen=True):
    """The order being confirmed, as targeting sees it. Country and currency are kept
    upper-case and the device lower-case, as the rules compare them: once an order, not
    once a rule. (A msgspec struct: made once a ranking, ~2 us faster than a dataclass.)"""

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
    currency: str = ""

    def __post_init__(self) -> None:
        force_setattr(self, "country", self.country.upper())
        force_setattr(self, "currency", self.currency.upper())
        force_setattr(self, "device", self.device.lower())

    @classmethod
    def of_request(
        cls, body: RankRequest, *, shop_id: str, customer_id: str | None, at: datetime
    ) -> "OrderContext":
        """The order of a ranking request, as targeting sees it at ``at``."""
        order, items = body.order, body.order.items
        return cls(
            shop_id=shop_id,
            placement=body.placement,
            country=order.country,
            currency=order.currency,
            device=order.device,
            order_total=order.grand_total,
            categories=frozenset(item.category for item in items if item.category),
            skus=frozenset(item.sku for item in items),
            customer_id=customer_id,
            is_returning=body.customer.is_returning,
            at=at,
        )


Check = Callable[[OrderContext, datetime], str | None]
"""One rule of one offer: why it fails for this order at this moment (naive UTC), or None."""


class Targeted(NamedTuple):
    """An offer and the checks of its status, schedule and targeting, in the order they apply."""

    offer: Offer
    checks: tuple[Check, ...]


def target(offer: Offer) -> Targeted:
    """Compile the rules set on ``offer`` (the caps are checked apart, against usage)."""
    rules = offer.targeting
    checks: list[Check] = []
    if offer.status != "active":
        checks.append(_always(f"status {offer.status}"))
    if offer.starts_at is not None or offer.ends_at is not None:
        checks.append(_schedule(offer.starts_at, offer.ends_at))
    if rules.placements:
        checks.append(_one_of("placement", rules.placements, str))
    if rules.countries:
        checks.append(_one_of("country", rules.countries, str.upper))
    if rules.currencies:
        checks.append(_one_of("currency", rules.currencies, str.upper))
    if rules.devices:
        checks.append(_one_of("device", rules.devices, str.lower))
    if rules.min_order_total is not None or rules.max_order_total is not None:
        checks.append(_order_total(rules.min_order_total, rules.max_order_total))
    if rules.required_categories or rules.excluded_categories:
        checks.append(
            _basket_rule("category", rules.required_categories, rules.excluded_categories)
        )
    if rules.required_skus or rules.excluded_skus:
        checks.append(_basket_rule("sku", rules.required_skus, rules.excluded_skus))
    if rules.customer is not None:
        checks.append(_customer(rules.customer))
    if offer.kind == "cross_sell" and offer.sku is not None:
        checks.append(_already_bought(offer.sku))
    return Targeted(offer, tuple(checks))


def screen(targeted: Iterable[Targeted], context: OrderContext, usage: OfferUsage) -> list[Offer]:
    """The offers that may show for ``context``, in the given order (the ranking's hot path)."""
    at = utc_naive(context.at)
    customer_id = context.customer_id
    eligible: list[Offer] = []
    for offer, checks in targeted:
        for check in checks:
            if check(context, at) is not None:
                break
        else:
            if cap_violation(offer, usage, customer_id) is None:
                eligible.append(offer)
    return eligible


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
    """Why ``offer`` may not show for ``context`` (the first rule that fails), or None."""
    at = utc_naive(context.at) if at is None else at
    for check in target(offer).checks:
        reason = check(context, at)
        if reason is not None:
            return reason
    return cap_violation(offer, usage, context.customer_id)


def shown_to_nobody(offer: Offer, usage: OfferUsage, at: datetime) -> str | None:
    """Why an active ``offer`` can show for no order at ``at``: outside its schedule, or a
    lifetime cap (total impressions, budget) reached; None when some order may see it."""
    if offer.status != "active":
        return None
    return outside_schedule(offer, at) or cap_violation(offer, usage, None)


def outside_schedule(offer: Offer, at: datetime) -> str | None:
    """Why ``offer`` does not run at ``at`` by its schedule (``starts ...``, ``ended ...``),
    or None while it runs."""
    if offer.starts_at is None and offer.ends_at is None:
        return None
    return _schedule(offer.starts_at, offer.ends_at)(None, utc_naive(at))


def utc_naive(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo; a naive datetime is taken to be UTC already. A
    moment whose UTC falls outside the calendar (year 1 at +01:00, year 9999 at -14:00) is
    the calendar's first or last moment."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        return datetime.min if moment.year == datetime.min.year else datetime.max


def _always(reason: str) -> Check:
    return lambda _context, _at: reason


def _schedule(
    starts_at: datetime | None, ends_at: datetime | None
) -> Callable[[object, datetime], str | None]:
    """A :data:`Check` that needs no order: the schedule is the same for every one."""
    starts = None if starts_at is None else utc_naive(starts_at)
    ends = None if ends_at is None else utc_naive(ends_at)
    not_yet = "" if starts is None else f"starts {_moment(starts)}"
    over = "" if ends is None else f"ended {_moment(ends)}"

    def check(_context: object, at: datetime) -> str | None:
        if starts is not None and at < starts:
            return not_yet
        if ends is not None and at >= ends:
            return over
        return None

    return check


def _one_of(field: str, values: list[str], fold: Callable[[str], str]) -> Check:
    """The order's ``field`` (placement, country, currency, device) must be one of
    ``values``, folded as :class:`OrderContext` keeps that field (``str`` for exact)."""
    folded = [fold(value) for value in values]
    allowed, listed, of_order = frozenset(folded), _listed(folded), attrgetter(field)

    def check(context: OrderContext, _at: datetime) -> str | None:
        value = of_order(context)
        return None if value in allowed else f"{field} {value or 'unknown'} not in {listed}"

    return check


def _order_total(low: float | None, high: float | None) -> Check:
    def check(context: OrderContext, _at: datetime) -> str | None:
        total = context.order_total
        if low is not None and total < low:
            return f"order total {total:g} below minimum {low:g}"
        if high is not None and total > high:
            return f"order total {total:g} above maximum {high:g}"
        return None

    return check


def _basket_rule(name: str, required: list[str] | None, excluded: list[str] | None) -> Check:
    """At least one basket line in ``required``, none in ``excluded`` (of categories or skus)."""
    wanted = frozenset(required) if required else None
    refused = frozenset(excluded) if excluded else None
    listed = _listed(required) if required else ""

    def check(context: OrderContext, _at: datetime) -> str | None:
        basket = context.categories if name == "category" else context.skus
        if wanted is not None and basket.isdisjoint(wanted):
            return f"no basket {name} in {listed}"
        if refused is not None and not basket.isdisjoint(refused):
            return f"basket {name} {min(basket.intersection(refused))} excluded"
        return None

    return check


def _customer(wanted: str) -> Check:
    def check(context: OrderContext, _at: datetime) -> str | None:
        actual = "returning" if context.is_returning else "new"
        return None if actual == wanted else f"customer {actual}, offer targets {wanted}"

    return check


def _already_bought(sku: str) -> Check:
    def check(context: OrderContext, _at: datetime) -> str | None:
        return f"sku {sku} already in the order" if sku in context.skus else None

    return check


def _listed(values: Iterable[str]) -> str:
    return "[" + ", ".join(values) + "]"


def _moment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
