"""One ranking: from a validated request body to the offers to show, logged.

parse (done) -> holdout -> the shop's active offers (of a large catalog, only the
cross-sells of the order's likely skus, stage 1) -> targeting and caps ->
minus what the customer dismissed lately -> model scores -> selection policy
(at most ``min(limit, max_offers)``) -> signed tracking tokens. Everything it
reads is in memory (catalog, recent activity, model), so it runs inline on the
event loop; what it logs goes to the impression log's queue.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import msgspec

from offers.catalog import Offer
from offers.holdout import in_holdout
from offers.identity import customer_key, without_emails
from offers.rank_request import RankRequest
from offers.store import utcnow
from offers.targeting import OrderContext, eligible_offers, screen
from offers.translations import language_of, translator
from ranker import OfferScores, RankContext, SelectionPolicy
from ranker.reasons import wording
from ranker.stage_one import MAX_SCORED_OFFERS, worth_scoring
from widget.catalog_cache import CatalogCache
from widget.impression_log import ImpressionLog
from widget.model_slot import ModelSlot
from widget.recent import RecentActivity
from widget.settings import Settings
from widget.tokens import TokenSigner, Tracking

logger = logging.getLogger("encore.widget")


class Ranked(msgspec.Struct, frozen=True):
    """The answer to one ranking request."""

    request_id: str
    model_version: str
    customer_id: str
    holdout: bool
    offers: list[dict[str, Any]]
    language: str  # of the offers' reasons, and the fragment's words
    debug: dict[str, Any] | None = None


class Ranker:
    """Ranks offers for one shop with what the service holds in memory."""

    def __init__(
        self,
        settings: Settings,
        catalog: CatalogCache,
        recent: RecentActivity,
        models: ModelSlot,
        signer: TokenSigner,
        log: ImpressionLog,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.recent = recent
        self.models = models
        self.signer = signer
        self.log = log
        self._policies = {
            k: SelectionPolicy(max_offers=k) for k in range(1, settings.max_offers + 1)
        }

    def rank(
        self,
        body: RankRequest,
        request_id: str,
        click_url: Callable[[str], str],
        *,
        debug: bool = False,
    ) -> Ranked:
        """Rank ``body``; with ``debug``, also say why each offer of the shop was left out, and
        record nothing (no transaction, impression or cap spent) nor sign tracking tokens (each
        offer's ``token`` is empty and its ``click_url`` the offer's own link)."""
        at = utcnow()
        customer = customer_key(body.customer.id) if body.customer.id else ""
        language = language_of(body.locale)
        model = self.models.model
        if in_holdout(customer or None, self.settings.holdout_share):
            if not debug:
                total = body.order.grand_total
                self._log(
                    body, request_id, customer, total, at, model.version, holdout=True, rows=[]
                )
            explained = _holdout_debug(self.catalog.offers) if debug else None
            return Ranked(request_id, model.version, customer, True, [], language, explained)
        order = OrderContext.of_request(
            body, shop_id=self.catalog.shop_id, customer_id=customer or None, at=at
        )
        context = RankContext.of_request(body, order.customer_id, _history_until(body, at))
        candidates, model = self._candidates(model, context, order, request_id)
        limit = min(body.limit or self.settings.max_offers, self.settings.max_offers)
        chosen, scores, model = (
            self._select(model, context, candidates, request_id, limit)
            if candidates
            else ([], None, model)
        )
        offers, rows, logged_context = [], [], _impression_context(body)
        translate = translator(language)
        for position, (offer, selection) in enumerate(chosen, start=1):
            tracking = Tracking(
                self.catalog.shop_id, request_id, offer.id, customer, position, body.placement
            )
            # a look at a ranking hands out nothing a click, dismissal or conversion could count
            token = "" if debug else self.signer.sign(tracking)
            offers.append(
                _shown(
                    offer,
                    token,
                    click_url(token) if token else offer.cta_url,
                    position,
                    selection.score,
                    wording(selection.reason, translate),
                )
            )
            rows.append(_impression(tracking, offer, selection, at, model.version, logged_context))
        if not debug:  # a merchant's look at a ranking must not change what it looks at
            for offer, _selection in chosen:
                self.recent.shown(customer, request_id, offer, at)
            total = order.order_total
            self._log(
                body, request_id, customer, total, at, model.version, holdout=False, rows=rows
            )
        explained = (
            self._explain(order, customer, candidates, chosen, scores, limit) if debug else None
        )
        return Ranked(request_id, model.version, customer, False, offers, language, explained)

    def _candidates(
        self, model: Any, context: RankContext, order: OrderContext, request_id: str
    ) -> tuple[list[Offer], Any]:
        """The offers to score, and the model that answers the rest of the request."""
        offers = self.catalog.candidates(order.categories, order.skus)
        if len(offers) > MAX_SCORED_OFFERS:
            likely, model = self._ask(model, "likely_skus", context, request_id)
            offers = [targeted for targeted in offers if worth_scoring(targeted.offer, likely)]
        customer, at = order.customer_id or "", order.at
        eligible = screen(offers, order, self.recent.usage(customer, at))
        dismissed = self.recent.dismissed_offer_ids(customer, at)
        if dismissed:
            eligible = [offer for offer in eligible if offer.id not in dismissed]
        return eligible, model

    def _select(
        self,
        model: Any,
        context: RankContext,
        candidates: list[Offer],
        request_id: str,
        limit: int,
    ) -> tuple[list[tuple[Offer, Any]], OfferScores, Any]:
        """The chosen offers, every candidate's scores, and the model that scored them."""
        scores, model = self._ask(model, "score_offers", context, request_id, candidates)
        selections = self._policies[limit].select(
            candidates, scores, basket_skus=[sku for sku, _, _, _ in context.basket]
        )
        chosen = [(candidates[selection.index], selection) for selection in selections]
        return chosen, scores, model

    def _ask(
        self, model: Any, question: str, context: RankContext, request_id: str, *args: Any
    ) -> tuple[Any, Any]:
        """``model.<question>(context, *args)`` and ``model``; if it fails, the popularity
        fallback's answer and the fallback, which then answers the rest of the request (the
        response and its log carry the version of the model that ranked)."""
        try:
            return getattr(model, question)(context, *args), model
        except Exception:
            logger.exception(
                "model %s failed on request %s; the fallback answers %s",
                model.version,
                request_id,
                question,
            )
            fallback = self.models.fallback()
            return getattr(fallback, question)(context, *args), fallback

    def _explain(
        self,
        context: OrderContext,
        customer: str,
        candidates: list[Offer],
        chosen: list[tuple[Offer, Any]],
        scores: OfferScores | None,
        limit: int,
    ) -> dict[str, Any]:
        """Why each offer of the shop was not shown (``debug=1``; off the hot path).

        Targeting runs again over the whole catalog (the hot path only sees the
        offers the catalog index lets through, which targeting would exclude anyway).
        """
        usage = self.recent.usage(customer, context.at)
        _eligible, excluded = eligible_offers(self.catalog.offers, context, usage)
        for offer_id in self.recent.dismissed_offer_ids(customer, context.at):
            if offer_id in self.catalog.by_id:
                excluded.setdefault(offer_id, "dismissed by this customer")
        shown = {offer.id for offer, _selection in chosen}
        for offer_id in shown:  # counted by their own impression, just recorded
            excluded.pop(offer_id, None)
        policy = self._policies[limit]
        for n, offer in enumerate(candidates):
            if offer.id not in shown and scores is not None:
                excluded[offer.id] = _not_selected(float(scores.probability[n]), policy, limit)
        for offer_id in self.catalog.unclickable:
            excluded.setdefault(offer_id, "no `cta_url` a click could open")
        for offer in self.catalog.offers:  # what is left was cut from a large catalog
            if offer.id not in shown:
                excluded.setdefault(offer.id, "not among this order's likely skus (stage 1)")
        return {
            "candidates": len(candidates),
            "shown": [offer.id for offer, _selection in chosen],
            "excluded": excluded,
            "holdout": False,
            "max_offers": limit,
            "relevance_floor": policy.relevance_floor,
        }

    def _log(
        self,
        body: RankRequest,
        request_id: str,
        customer: str,
        total: float,
        at: datetime,
        version: str,
        *,
        holdout: bool,
        rows: list[dict[str, Any]],
    ) -> None:
        request = {
            "id": request_id,
            "shop_id": self.catalog.shop_id,
            "at": at,
            "placement": body.placement,
            "order_id": customer_key(body.order.id),  # some shops number orders by email
            "customer_id": customer,
            "order_total": total,
            "holdout": holdout,
            "model_version": version,
            "n_offers": len(rows),
        }
        self.log.add_rank(request, rows)


def _holdout_debug(offers: list[Offer]) -> dict[str, Any]:
    reason = "customer in the holdout group (shown no offers)"
    return {
        "candidates": 0,
        "shown": [],
        "excluded": {offer.id: reason for offer in offers},
        "holdout": True,
    }


def _not_selected(probability: float, policy: SelectionPolicy, limit: int) -> str:
    if probability < policy.relevance_floor:
        return f"relevance {probability:.4f} below the floor {policy.relevance_floor:g}"
    return f"relevance {probability:.4f}: cut by the cap of {limit} offers or the diversity rules"


def _history_until(body: RankRequest, now: datetime) -> datetime:
    """When the model takes the customer's history: when the order was placed
    (``ordered_at``, never later than now), so that an order ranked again after a retrain
    that learned it does not find itself in that history. Targeting, schedules and caps
    apply as of now, when the offers are shown."""
    placed = body.order.placed_at
    return now if placed is None else min(placed, now)


def _impression_context(body: RankRequest) -> dict[str, Any]:
    """What an impression logs of its request: the attributes, and over them the order's
    :data:`~offers.rank_request.LOGGED_FIELDS`; an email anywhere in them as its digest."""
    order = body.order
    return {
        **{
            without_emails(name): without_emails(value) if isinstance(value, str) else value
            for name, value in body.attributes.items()
        },
        "country": without_emails(order.country),
        "currency": without_emails(order.currency),
        "device": without_emails(order.device),
        "is_returning": body.customer.is_returning,
        "n_items": len(order.items),
    }


def _shown(
    offer: Offer, token: str, click_url: str, position: int, score: float, reason: str
) -> dict[str, Any]:
    return {
        "id": offer.id,
        "kind": offer.kind,
        "title": offer.title,
        "body": offer.body,
        "image_url": offer.image_url,
        "cta_label": offer.cta_label,
        "click_url": click_url,
        "token": token,
        "position": position,
        "score": round(float(score), 6),
        "reason": reason,
    }


def _impression(
    tracking: Tracking,
    offer: Offer,
    selection: Any,
    at: datetime,
    version: str,
    context: dict[str, Any],
) -> dict[str, Any]:
    return {
        "request_id": tracking.request_id,
        "offer_id": offer.id,
        "shop_id": tracking.shop_id,
        "shown_at": at,
        "customer_id": tracking.customer_id,
        "placement": tracking.placement,
        "kind": offer.kind,
        "position": tracking.position,
        "propensity": float(selection.propensity),
        "score": float(selection.score),
        "model_version": version,
        "context": context,
    }
