"""Caps: how often an offer may be shown, and how much a partner offer may spend.

As decided:

- ``per_customer_per_day`` counts this customer's impressions of the offer in the
  last 24 hours, ``per_customer_per_week`` in the last 7 days: rolling windows
  ``(at - 24 h, at]`` and ``(at - 7 days, at]``, so no time zone is needed.
  An offer is left out once the count has reached the cap (a cap of 0 never shows).
  A customer with no id cannot be counted, so per-customer caps do not apply to them.
- ``total_impressions`` counts every impression of the offer, ever.
- ``budget`` applies to partner offers: spend = conversions x ``value`` (the payout per
  conversion); the offer stops once spend reaches the budget. A cross-sell is the
  shop's own sale, not a cost, so its ``budget`` is not used.
- Impressions and conversions count as soon as they are in the store: requests in
  flight at the same moment may each pass a cap, so a cap can be overshot by at most
  the number of concurrent requests.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from types import MappingProxyType

from sqlalchemy import and_, func, literal, select, true, union_all

from offers import schema
from offers.catalog import Offer
from offers.holdout import bought_anyway
from offers.store import Store

DAY = timedelta(days=1)
WEEK = timedelta(days=7)
_EMPTY: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class OfferUsage:
    """What the caps need, per offer id; an id not present has no usage."""

    customer_day: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    customer_week: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    total_impressions: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    conversions: Mapping[str, int] = field(default_factory=lambda: _EMPTY)

    def spend(self, offer: Offer) -> float:
        """What a partner offer has cost so far: conversions x payout."""
        return self.conversions.get(offer.id, 0) * offer.value


def cap_violation(offer: Offer, usage: OfferUsage, customer_id: str | None) -> str | None:
    """Why a cap stops ``offer``, or None when no cap is reached."""
    caps = offer.caps  # each count is looked up only for a cap that is set (the usual: none)
    if customer_id and caps.per_customer_per_day is not None:
        shown_day = usage.customer_day.get(offer.id, 0)
        if shown_day >= caps.per_customer_per_day:
            return (
                f"shown {shown_day} times to this customer in 24 h "
                f"(cap {caps.per_customer_per_day})"
            )
    if customer_id and caps.per_customer_per_week is not None:
        shown_week = usage.customer_week.get(offer.id, 0)
        if shown_week >= caps.per_customer_per_week:
            return (
                f"shown {shown_week} times to this customer in 7 days "
                f"(cap {caps.per_customer_per_week})"
            )
    if caps.total_impressions is not None:
        shown = usage.total_impressions.get(offer.id, 0)
        if shown >= caps.total_impressions:
            return f"{shown} impressions (cap {caps.total_impressions})"
    if offer.kind == "partner" and caps.budget is not None:
        spent = usage.spend(offer)
        if spent >= caps.budget:
            return f"budget spent: {spent:.2f} of {caps.budget:.2f}"
    return None


def load_lifetime_usage(store: Store, shop_id: str, offers: Iterable[Offer]) -> OfferUsage:
    """Lifetime impressions and conversions of the offers that have a total or budget cap,
    in one indexed query. (The per-customer windows are counted in the service's memory,
    :mod:`widget.recent`, not in the store.)"""
    totals, budgets = [], []
    for offer in offers:
        if offer.caps.total_impressions is not None:
            totals.append(offer.id)
        if offer.kind == "partner" and offer.caps.budget is not None:
            budgets.append(offer.id)
    shown, converted = _lifetime_counts(store, shop_id, totals, budgets)
    return OfferUsage(total_impressions=shown, conversions=converted)


def _lifetime_counts(
    store: Store, shop_id: str, shown_ids: list[str], converted_ids: list[str]
) -> tuple[dict[str, int], dict[str, int]]:
    parts = []
    for label, table, ids, also in (
        ("shown", schema.impressions, shown_ids, true()),
        ("converted", schema.conversions, converted_ids, ~bought_anyway()),
    ):
        if ids:
            parts.append(
                select(literal(label).label("what"), table.c.offer_id, func.count().label("n"))
                .where(and_(table.c.shop_id == shop_id, table.c.offer_id.in_(ids), also))
                .group_by(table.c.offer_id)
            )
    if not parts:
        return {}, {}
    query = parts[0] if len(parts) == 1 else union_all(*parts)
    counts: dict[str, dict[str, int]] = {"shown": {}, "converted": {}}
    with store.engine.connect() as connection:
        for what, offer_id, n in connection.execute(query):
            counts[what][offer_id] = int(n)
    return counts["shown"], counts["converted"]
