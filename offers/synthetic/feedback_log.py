"""The synthetic shop's offer feedback log: which offers a known logging policy showed,
with their exact propensities, and how customers responded.

Logging policy. One order in five, chosen at random, opens an offer
request: 85% on the ``thank_you`` page seconds after the order, 15% on the
``order_status`` page 1-72 hours later. The eligible offers are those whose
schedule, status (the paused offers ran until 2026-07-01) and targeting admit
the request (placement, country, order total, basket categories and skus,
new/returning customer, device); caps are not applied. The policy fills up to
three positions one after the other without replacement: at each position, with
probability 0.1 it draws uniformly among the eligible offers not yet placed,
otherwise from a softmax of ``log(1 + value)`` over them, that is in proportion
to 1 + value (the payout of a partner offer, the margin per sale of a
cross-sell). ``propensity`` is the exact marginal probability that the policy put
this offer at this position (the position marginal of this epsilon-mixed
Plackett-Luce ranking, summed over every possible earlier position), so for
each request and position it sums to 1 over the eligible offers (when there
are that many).

Response model. A shown offer is examined with probability
``position ** -0.7`` and, once examined, clicked with probability
``sigmoid(z)``, ``z = alpha[offer] + A[segment, offer] + 1.0 * complement +
0.3 * returning * is_cross_sell - 0.35 * mobile * is_partner + kappa[offer] *
log(order_total / 100) - 0.4 * (placement == "order_status")``. ``alpha`` is
drawn from N(-3.2, 0.4) for cross-sells (+0.3 per 10% discount) and set per
partner offer; ``A`` is the segment's affinity: for a cross-sell 0.6 times the log
of the segment's relative taste for the offer's category, for a partner offer a
designed boost (pet insurance +1.2 for pet owners...), each plus N(0, 0.2);
``complement`` is 1 when the basket holds a product that the cross-sold sku is
compatible with, or for a partner offer a product of one of its theme
categories; ``kappa`` is 0.5 for device insurance and 0 otherwise. A click
converts with probability ``sigmoid(gamma[offer] + 0.5 * A[segment, offer] +
0.7 * complement)``; there are no conversions without a click.
"""

from dataclasses import dataclass

import numpy as np

from offers.synthetic.catalog import Catalog
from offers.synthetic.offer_catalog import OfferModel
from offers.synthetic.orders import Shop
from offers.synthetic.tables import Column, coded_column, formatted_column, timestamp_column
from offers.synthetic.world import COUNTRIES, DEVICES, N_DAYS, PLACEMENTS, SEGMENTS, numbered_ids

# The known logging policy and response model (see the module docstring).
_LOG_SHARE = 0.2
_LOG_EPSILON = 0.1
_MAX_SHOWN = 3
_EXAMINATION_POWER = 0.7
_BLOCK_CELLS = 2_000_000  # requests x candidates**2 per block of the exact propensity computation


@dataclass(frozen=True)
class _Requests:
    """Offer requests in time order, one per logged order; arrays of shape (n_requests,)."""

    order: np.ndarray
    shown: np.ndarray  # days since the start
    placement: np.ndarray
    customer: np.ndarray
    segment: np.ndarray
    country: np.ndarray
    device: np.ndarray
    returning: np.ndarray  # ordered before, possibly before the log starts
    total: np.ndarray
    categories: np.ndarray


def simulate_impressions(
    rng: np.random.Generator, catalog: Catalog, shop: Shop, offers: OfferModel
) -> dict[str, Column]:
    """The feedback log: the known logging policy shows offers, the known response model answers."""
    requests = _requests(rng, shop)
    eligible, complement = _eligibility(requests, offers, catalog, shop)
    request, offer, position, propensity = _log_policy(rng, eligible, offers.value)
    clicked, converted = _responses(rng, requests, offers, complement, request, offer, position)
    seconds = np.floor(requests.shown * 86_400).astype(np.int64)
    return {
        "request_id": (numbered_ids("R", len(requests.order), 7), request),
        "shown_at": timestamp_column(seconds[request]),
        "customer_id": (shop.customer_ids, requests.customer[request]),
        "placement": coded_column(PLACEMENTS, requests.placement[request]),
        "offer_id": coded_column(offers.ids.tolist(), offer),
        "position": formatted_column(position, "{}"),
        "propensity": formatted_column(propensity, "{:.6g}"),
        "clicked": formatted_column(clicked.astype(np.int64), "{}"),
        "converted": formatted_column(converted.astype(np.int64), "{}"),
        "ctx_country": coded_column(COUNTRIES, requests.country[request]),
        "ctx_device": coded_column(DEVICES, requests.device[request]),
        "ctx_segment": coded_column([s[0] for s in SEGMENTS], requests.segment[request]),
        "ctx_order_total": formatted_column(requests.total[request], "{:.2f}"),
        "ctx_is_returning": formatted_column(requests.returning[request].astype(np.int64), "{}"),
        "ctx_order_id": (shop.order_ids, requests.order[request]),
    }


def _requests(rng: np.random.Generator, shop: Shop) -> _Requests:
    order = np.flatnonzero(rng.random(len(shop.order_ids)) < _LOG_SHARE)
    placement = (rng.random(order.size) < 0.15).astype(np.int64)
    delay = np.where(
        placement == 0, rng.uniform(3, 45, order.size) / 86_400, rng.uniform(1, 72, order.size) / 24
    )
    shown = shop.order_time[order] + delay
    by_time = np.argsort(shown, kind="stable")
    by_time = by_time[shown[by_time] < N_DAYS]
    order, placement, shown = order[by_time], placement[by_time], shown[by_time]
    customer = shop.order_customer[order]
    return _Requests(
        order=order,
        shown=shown,
        placement=placement,
        customer=customer,
        segment=shop.customer_segment[customer],
        country=shop.customer_country[customer],
        device=shop.order_device[order],
        returning=shop.order_k[order] > 0,
        total=shop.order_total[order],
        categories=shop.order_categories[order],
    )


def _eligibility(
    requests: _Requests, offers: OfferModel, catalog: Catalog, shop: Shop
) -> tuple[np.ndarray, np.ndarray]:
    """Which offers each request may show, and which complement its basket.

    Returns
    -------
    eligible, complement : ndarray of shape (n_requests, n_offers), dtype bool
    """

    def has_bit(masks: np.ndarray, bit: np.ndarray) -> np.ndarray:
        return ((masks[None, :] >> bit[:, None]) & 1).astype(bool)

    cats = requests.categories[:, None]
    total = requests.total[:, None]
    eligible = has_bit(offers.countries, requests.country)
    eligible &= has_bit(offers.devices, requests.device)
    eligible &= has_bit(offers.placements, requests.placement)
    eligible &= (offers.required_categories == 0) | ((cats & offers.required_categories) != 0)
    eligible &= (cats & offers.excluded_categories) == 0
    eligible &= (total >= offers.min_total) & (total <= offers.max_total)
    eligible &= (offers.customer == 0) | (offers.customer == 1 + requests.returning[:, None])
    shown = requests.shown[:, None]
    eligible &= (shown >= offers.start) & (shown < offers.end)

    request_of_order = np.full(len(shop.order_ids), -1)
    request_of_order[requests.order] = np.arange(len(requests.order))
    request = request_of_order[shop.line_order]
    logged = request >= 0
    request, sku = request[logged], shop.line_sku[logged]
    offer_of_sku = np.full(catalog.n_products, -1)
    offer_of_sku[offers.sku[offers.sku >= 0]] = np.flatnonzero(offers.sku >= 0)
    in_basket = offer_of_sku[sku] >= 0
    eligible[request[in_basket], offer_of_sku[sku[in_basket]]] = False

    complement = offers.is_partner & ((cats & offers.theme_categories) != 0)
    compat = catalog.compat[sku]
    compat_offer = np.where(compat >= 0, offer_of_sku[compat], -1)
    line, slot = np.nonzero(compat_offer >= 0)
    complement[request[line], compat_offer[line, slot]] = True
    return eligible, complement


def _log_policy(
    rng: np.random.Generator, eligible: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Run the logging policy on every request.

    Returns
    -------
    request, offer, position, propensity : ndarray of shape (n_impressions,)
        Sorted by request then position (1-based); ``propensity`` is the marginal
        probability of this offer at this position.
    """
    weight = 1.0 + value
    n_eligible = eligible.sum(axis=1)
    by_size = np.argsort(
        n_eligible, kind="stable"
    )  # similar widths together: cost ~ sum of width**2
    parts = []
    start = int(np.searchsorted(n_eligible[by_size], 1))
    while start < len(by_size):
        # about rows x widest**2 <= _BLOCK_CELLS: size the block by its first rows, then its last
        width = int(n_eligible[by_size[min(start + 256, len(by_size)) - 1]])
        stop = min(start + max(256, _BLOCK_CELLS // width**2), len(by_size))
        width = int(n_eligible[by_size[stop - 1]])
        stop = min(stop, start + max(256, _BLOCK_CELLS // width**2))
        requests = by_size[start:stop]
        width = int(n_eligible[requests[-1]])
        block = eligible[requests]
        candidate = np.argsort(~block, axis=1, kind="stable")[:, :width]
        w = np.where(np.take_along_axis(block, candidate, axis=1), weight[candidate], 0.0)
        marginal = _position_marginals(w, _LOG_EPSILON)
        chosen = _draw_slates(rng, w, _LOG_EPSILON)
        row, position = np.nonzero(chosen >= 0)
        column = chosen[row, position]
        parts.append(
            (
                requests[row],
                candidate[row, column],
                position + 1,
                marginal[position, row, column],
            )
        )
        start = stop
    if not parts:  # a tiny shop: no request, or none that any offer is eligible for
        nothing = np.zeros(0, dtype=np.intp)
        return nothing, nothing, nothing, np.zeros(0)
    request, offer, position, propensity = (np.concatenate(c) for c in zip(*parts, strict=True))
    in_order = np.lexsort((position, request))
    return request[in_order], offer[in_order], position[in_order], propensity[in_order]


def _draw_slates(rng: np.random.Generator, w: np.ndarray, epsilon: float) -> np.ndarray:
    """Sample up to ``_MAX_SHOWN`` candidates per row without replacement.

    Each position: with probability ``epsilon`` uniform over the candidates left,
    otherwise in proportion to ``w``. ``w`` of shape (n_rows, n_candidates), 0 for
    padding; returns candidate columns of shape (n_rows, _MAX_SHOWN), -1 when none is left.
    """
    left = w > 0
    chosen = np.full((len(w), _MAX_SHOWN), -1)
    rows = np.arange(len(w))
    for position in range(_MAX_SHOWN):
        lw = np.where(left, w, 0.0)
        total = lw.sum(axis=1, keepdims=True)
        n_left = left.sum(axis=1, keepdims=True)
        q = (1 - epsilon) * lw / np.where(total > 0, total, 1.0)
        q += epsilon * left / np.maximum(n_left, 1)
        cum = np.cumsum(q, axis=1)
        u = rng.random(len(w)) * cum[:, -1]
        pick = np.minimum((cum <= u[:, None]).sum(axis=1), w.shape[1] - 1)
        has = n_left[:, 0] > 0
        chosen[has, position] = pick[has]
        left[rows[has], pick[has]] = False
    return chosen


def _position_marginals(w: np.ndarray, epsilon: float) -> np.ndarray:
    """Exact P(candidate at position 1, 2, 3) under :func:`_draw_slates`.

    Position 2 sums over the first pick ``a``; position 3 over the ordered pairs
    ``(a, b)`` of the first two, using ``sum over pairs without o = total - row o - column o``.

    Parameters
    ----------
    w : ndarray of shape (n_rows, n_candidates)
        Weights >= 1 of the eligible candidates, 0 for padding.
    epsilon : float

    Returns
    -------
    marginal : ndarray of shape (3, n_rows, n_candidates)
    """
    ok = w > 0
    n = ok.sum(axis=1, keepdims=True)
    total = w.sum(axis=1, keepdims=True)
    p1 = (1 - epsilon) * w / np.where(total > 0, total, 1.0) + epsilon * ok / np.maximum(n, 1)
    rest_a = total - w  # weight left after a: 0, or >= 1 as weights are >= 1
    greedy_a = (1 - epsilon) / np.where(rest_a > 0.5, rest_a, np.inf)
    uniform_2 = epsilon * ok / np.maximum(n - 1, 1)
    pair = greedy_a[:, :, None] * w[:, None, :]  # (n_rows, a, b): P(a first, b second)
    pair += uniform_2[:, None, :]
    pair *= p1[:, :, None]
    diagonal = np.arange(w.shape[1])
    pair[:, diagonal, diagonal] = 0.0
    p2 = pair.sum(axis=1)
    rest_ab = rest_a[:, :, None] - w[:, None, :]
    pair /= np.maximum(rest_ab, 0.5, out=rest_ab)  # < 1 only when nothing is left for position 3
    row, column = pair.sum(axis=2), pair.sum(axis=1)
    without_o = row.sum(axis=1, keepdims=True) - row - column
    p3 = (1 - epsilon) * w * without_o
    p3 += epsilon * ok * np.clip(1 - p1 - p2, 0, 1) / np.maximum(n - 2, 1)
    return np.stack([p1, p2, p3])


def _responses(
    rng: np.random.Generator,
    requests: _Requests,
    offers: OfferModel,
    complement: np.ndarray,
    request: np.ndarray,
    offer: np.ndarray,
    position: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Clicks and conversions drawn from the known response model (see the module docstring)."""
    affinity = offers.affinity[requests.segment[request], offer]
    fits = complement[request, offer]
    partner = offers.is_partner[offer]
    z = (
        offers.alpha[offer]
        + affinity
        + 1.0 * fits
        + 0.3 * (requests.returning[request] & ~partner)
        - 0.35 * ((requests.device[request] == 0) & partner)
        + offers.kappa[offer] * np.log(requests.total[request] / 100.0)
        - 0.4 * (requests.placement[request] == 1)
    )
    examined = position.astype(float) ** -_EXAMINATION_POWER
    clicked = rng.random(offer.size) < examined * _sigmoid(z)
    accepts = _sigmoid(offers.gamma[offer] + 0.5 * affinity + 0.7 * fits)
    converted = clicked & (rng.random(offer.size) < accepts)
    return clicked, converted


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))
