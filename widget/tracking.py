"""What happens to shown offers: events from the page, clicks, conversions from the shop.

Events (``POST /v1/events``, publishable key) and clicks (``GET /v1/click/{token}``,
no key: the signed token is the credential) go through the impression log's
queue; ids are deterministic (type and token), so repeats count once.
Conversions (``POST /v1/conversions``, secret key) are written at once and
attributed by the offer's token, or by ``request_id`` and ``offer_id``.
"""

import contextlib
import hashlib
from collections.abc import Callable
from datetime import timedelta
from html import escape
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from offers.catalog import Offer
from offers.csat import record_csat
from offers.feedback import holdout_request, impression, record_conversion
from offers.identity import customer_key
from offers.store import utcnow
from offers.targeting import outside_schedule
from widget.bodies import decode, read_body
from widget.errors import ApiError
from widget.responses import json_response, prefers_html
from widget.schemas import ConversionRequest, conversion_decoder, events_decoder
from widget.service import Service, check_capacity, service_of
from widget.tokens import TokenExpired, Tracking, event_id

T = TypeVar("T")


async def events(request: Request) -> Response:
    service = service_of(request)
    body = decode(events_decoder, await read_body(request))
    shop = service.keys.publishable(request, body.key)
    check_capacity(service)
    at = utcnow()
    rows, answers, refused = [], [], []
    for n, event in enumerate(body.events):
        try:
            tracking = _verify(service, event.token, field=f"events[{n}].token")
        except ApiError as err:  # the batch's other events still count
            refused.append(err)
            continue
        if event.type == "csat":
            answers.append((tracking, event.score))
        elif not tracking.offer_id:  # the CSAT question's token
            refused.append(_not_about_an_offer(f"events[{n}].token"))
        elif event.type == "click" and _live_offer(service, tracking.offer_id) is None:
            refused.append(_no_longer_available())  # as its click link answers
        else:
            rows.append(_event_row(shop.id, event.type, tracking, at))
    service.log.add_events(rows)
    for row in rows:
        if row["type"] == "dismiss":
            service.recent.dismissed(row["customer_id"], row["offer_id"], at)
    for tracking, score in answers:  # the arm comes from the token: the share may change since
        await run_in_threadpool(
            record_csat,
            service.store,
            shop.id,
            tracking.request_id,
            score,
            at,
            customer_id=tracking.customer_id,
            holdout=tracking.holdout,
        )
    if len(refused) == len(body.events):
        raise refused[0]
    answer: dict[str, Any] = {"accepted": len(body.events) - len(refused)}
    if refused:
        answer["refused"] = [
            {"code": err.code, "message": err.message, "field": err.field} for err in refused
        ]
    return json_response(answer, 202)


async def click(request: Request) -> Response:
    service = service_of(request)
    token = request.path_params["token"]
    try:
        offer, tracking, counts = _clicked_offer(service, token)
    except ApiError as err:
        if prefers_html(request):
            return HTMLResponse(_gone_page(err.message), err.status)
        raise
    if counts and request.method == "GET":  # a HEAD is a link checker or an unfurler, not a click
        service.log.add_events([_event_row(service.shop.id, "click", tracking, utcnow())])
    return RedirectResponse(offer.cta_url, 303, headers={"Cache-Control": "no-store"})


def _clicked_offer(service: Service, token: str) -> tuple[Offer, Tracking, bool]:
    """The offer a click opens, what its token says, and whether the click counts: a token
    past its age (a tab left open for weeks) still opens a live offer, uncounted. An offer
    that is not live (:func:`_live_offer`) opens nothing: the shop stopped sending shoppers
    there."""
    try:
        tracking, counts = _verify(service, token, field="token"), True
    except TokenExpired as err:
        tracking, counts = _of_this_shop(service, err.tracking, field="token"), False
    offer = _live_offer(service, tracking.offer_id)
    if offer is None:
        raise _no_longer_available()
    return offer, tracking, counts


def _live_offer(service: Service, offer_id: str) -> Offer | None:
    """The offer, unless deleted, paused, archived, outside its schedule (ended, or moved to
    start later), or left with no link a click can open: a click on it opens nothing and
    counts for nothing."""
    offer = service.catalog.by_id.get(offer_id)
    if offer is None or offer.status != "active" or offer_id in service.catalog.unclickable:
        return None
    return None if outside_schedule(offer, utcnow()) else offer


def _no_longer_available() -> ApiError:
    return ApiError(404, "this offer is no longer available")


def _not_about_an_offer(field: str) -> ApiError:
    return ApiError(422, "this token is not about an offer", field=field)


async def conversions(request: Request) -> Response:
    service = service_of(request)
    shop = service.keys.secret(request)
    body = decode(conversion_decoder, await read_body(request))
    if body.token is not None:
        tracking = _verify(service, body.token, field="token")
        request_id, offer_id, customer = (
            tracking.request_id,
            tracking.offer_id,
            tracking.customer_id,
        )
        if not offer_id:
            raise _not_about_an_offer("token")
        _check_agrees(body, tracking)
        exposed = True
    elif body.request_id is not None and body.offer_id is not None:
        request_id, offer_id = body.request_id, body.offer_id
        offered, exposed = await _attributed(service, shop.id, request_id, offer_id)
        _check_within_token_age(service, request_id, offered)
        customer = offered["customer_id"]
    else:
        raise ApiError(
            422, "give the offer's `token`, or `request_id` and `offer_id`", field="token"
        )
    conversion_id = _conversion_id(shop.id, request_id, offer_id, body.order_id)
    row = {
        "id": conversion_id,
        "shop_id": shop.id,
        "request_id": request_id,
        "offer_id": offer_id,
        "customer_id": customer,
        "order_id": customer_key(body.order_id),
        "revenue": body.revenue,
        "at": utcnow(),
    }
    recorded = await run_in_threadpool(record_conversion, service.store, row)
    if recorded and exposed:  # a holdout conversion costs a partner's budget nothing
        service.recent.converted(offer_id)
    answer = {
        "id": conversion_id,
        "request_id": request_id,
        "offer_id": offer_id,
        "recorded": recorded,
    }
    return json_response(answer, 201 if recorded else 200)


def _conversion_id(shop_id: str, request_id: str, offer_id: str, order_id: str) -> str:
    """Deterministic, so a conversion posted again is stored once. With the purchase's
    ``order_id``, made of the offer and the purchase alone: a customer who came back to the
    confirmation page was shown the offer twice, and a server posting the one purchase with
    each visit's token would otherwise count it twice (and spend a partner's budget twice)."""
    about = ("purchase", shop_id, offer_id, order_id) if order_id else (request_id, offer_id, "")
    return hashlib.sha256("\0".join(about).encode()).hexdigest()[:32]


def _check_agrees(body: ConversionRequest, tracking: Tracking) -> None:
    for field in ("request_id", "offer_id"):
        sent = getattr(body, field)
        if sent is not None and sent != getattr(tracking, field):
            raise ApiError(
                422, f"`{field}` is not the token's (`{getattr(tracking, field)}`)", field=field
            )


async def _attributed(
    service: Service, shop_id: str, request_id: str, offer_id: str
) -> tuple[dict[str, Any], bool]:
    """Whom ``offer_id`` in ``request_id`` was offered to and when (``customer_id``, ``at``),
    and whether they were shown it: a holdout customer who bought the offered product anyway
    was not, and that purchase is the holdout arm's revenue."""
    shown = await _stored(service, lambda: impression(service.store, shop_id, request_id, offer_id))
    if shown is not None:
        return {"customer_id": shown["customer_id"], "at": shown["shown_at"]}, True
    if offer_id not in service.catalog.by_id:
        raise ApiError(
            404,
            f"offer `{offer_id}` was not shown in request `{request_id}`, "
            "and the catalog has no such offer",
            field="offer_id",
        )
    held_out = await _stored(service, lambda: holdout_request(service.store, shop_id, request_id))
    if held_out is None:
        raise ApiError(
            404,
            f"offer `{offer_id}` was not shown in request `{request_id}`, "
            "which is no holdout request",
            field="request_id",
        )
    return held_out, False


def _check_within_token_age(service: Service, request_id: str, offered: dict[str, Any]) -> None:
    """A request's conversions count for as long as its offers' tokens do: after that a
    conversion posted by its id would change a period the tokens have closed."""
    days = service.settings.token_max_age_days
    if utcnow() - offered["at"] > timedelta(days=days):
        raise ApiError(
            400,
            f"request `{request_id}` is over {days} days old, as its tracking tokens: "
            "its conversions no longer count",
            field="request_id",
        )


async def _stored(service: Service, find: Callable[[], T | None]) -> T | None:
    """What ``find`` reads in the store; a row still in this worker's log queue (an offer
    ranked a moment ago, whose conversion a server posts at once) is written first."""
    found = await run_in_threadpool(find)
    if found is None and service.log.pending:
        with contextlib.suppress(Exception):  # the log keeps its rows and retries by itself
            await service.log.flush()
        found = await run_in_threadpool(find)
    return found


def _verify(service: Service, token: str, *, field: str) -> Tracking:
    try:
        tracking = service.signer.verify(token)
    except ApiError as err:
        err.field = field
        raise
    return _of_this_shop(service, tracking, field=field)


def _of_this_shop(service: Service, tracking: Tracking, *, field: str) -> Tracking:
    if tracking.shop_id != service.shop.id:
        raise ApiError(403, "this token belongs to another shop", field=field)
    return tracking


def _event_row(shop_id: str, event_type: str, tracking: Tracking, at: Any) -> dict[str, Any]:
    return {
        "id": event_id(event_type, tracking),
        "shop_id": shop_id,
        "request_id": tracking.request_id,
        "offer_id": tracking.offer_id,
        "customer_id": tracking.customer_id,
        "type": event_type,
        "at": at,
    }


def _gone_page(message: str) -> str:
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        "<title>Offer unavailable</title><link rel=icon href='data:,'>"
        "<body style='font-family:sans-serif;max-width:32em;margin:4em auto;padding:0 1em'>"
        f"<main><h1>Offer unavailable</h1><p>Sorry: {escape(message)}.</p></main>"
    )


routes = [
    Route("/v1/events", events, methods=["POST"]),
    Route("/v1/click/{token}", click, methods=["GET"], name="click"),
    Route("/v1/conversions", conversions, methods=["POST"]),
]
