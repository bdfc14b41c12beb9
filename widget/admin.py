"""The merchant's dashboard, ``/admin``: the shop's figures, charts and offers, and
buttons that pause or resume an offer.

It asks for the shop's secret key once (``/admin/login``) and then keeps a session
(:mod:`widget.admin_sessions`), whose CSRF token every form posts back. Its forms
are answered with pages, not the API's JSON errors.
"""

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, quote

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from offers.caps import OfferUsage, load_lifetime_usage
from offers.catalog import Offer, is_offer_id
from offers.reports import report
from offers.store import Store, utcnow
from offers.targeting import shown_to_nobody
from ranker.baselines import BASELINES
from widget.admin_sessions import (
    SESSION_COOKIE,
    csrf_ok,
    end_sessions,
    session_of,
    start_session,
)
from widget.bodies import read_body
from widget.charts import line_chart_svg, svg_data_uri
from widget.report_api import DEFAULT_DAYS, Period, parse_period
from widget.service import Service, service_of

_MAX_FORM_BYTES = 8_192
_LOGIN_NOTICES = {
    "expired": "Your session has expired or was signed out: sign in again.",
    "unsaved": (
        "Your session has expired or was signed out, so that change was not saved: "
        "sign in again and redo it."
    ),
}
_STALE_FORM = (
    "This page was out of date (the dashboard was signed out or in again elsewhere), "
    "so nothing was changed. Go back to the dashboard and try again."
)
# ?paused=<offer id> after a change: (what the page says, the status the offer then has)
_DONE = {"paused": ("Paused", "paused"), "resumed": ("Resumed", "active")}
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}

_NO_FIGURES = {
    "impressions": 0,
    "clicks": 0,
    "conversions": 0,
    "revenue": 0.0,
    "ctr": None,
    "rpt": None,
}
_NO_LINK = "no cta_url a click could open"  # the catalog leaves such an active offer out


async def _form(request: Request) -> dict[str, str]:
    """The fields of a dashboard form (URL-encoded, as its pages send them); a body over
    8 KB, which no form of the dashboard comes near, is refused (413) unread."""
    body = await read_body(request, limit=_MAX_FORM_BYTES)
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _to_login(request: Request | None = None, notice: str = "expired") -> Response:
    """To the login form; saying why when the request came with a session no longer valid."""
    stale = request is not None and SESSION_COOKIE in request.cookies
    target = f"/admin/login?notice={notice}" if stale else "/admin/login"
    return RedirectResponse(target, status_code=303, headers=_HEADERS)


def _refused(request: Request, status_code: int, message: str, back: str = "/admin") -> Response:
    """A dashboard form's answer when nothing was changed: a page saying why."""
    context = {"message": message, "back": back}
    return _render(request, "admin_refused.html", context, status_code=status_code)


def _days(values: Any) -> int:
    """The dashboard's period from ``values["days"]``: 1 to 366 days, 30 unless a number."""
    try:
        days = int(values.get("days") or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return min(max(days, 1), 366)


# /admin: pages


async def login_page(request: Request) -> Response:
    if await session_of(request) is not None:
        return RedirectResponse("/admin", status_code=303, headers=_HEADERS)
    notice = _LOGIN_NOTICES.get(request.query_params.get("notice", ""))
    return _render(request, "admin_login.html", {"error": notice})


async def login(request: Request) -> Response:
    form = await _form(request)
    key = form.get("secret_key", "").strip()
    service = service_of(request)
    shop = await run_in_threadpool(service.store.shop_by_secret_key, key) if key else None
    if shop is None or shop.id != service.shop.id:
        error = "That is not this shop's secret key (it starts with sk_)."
        return _render(request, "admin_login.html", {"error": error}, status_code=401)
    response = RedirectResponse("/admin", status_code=303, headers=_HEADERS)
    start_session(request, response, shop)
    return response


async def logout(request: Request) -> Response:
    session = await session_of(request)
    if session is not None:
        if not csrf_ok(await _form(request), session):
            return _refused(request, 403, _STALE_FORM)
        service = service_of(request)
        await run_in_threadpool(end_sessions, service.store, service.shop.id)
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


async def dashboard(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return _to_login(request)
    params = request.query_params
    context = await run_in_threadpool(_dashboard_context, service_of(request), _days(params))
    context["csrf"] = session.csrf
    # After a pause or resume: say so, and give that row's button the focus back.
    # A page reloaded (or reached by Back) after a later change says nothing stale.
    listed = {row["offer"].id: row["offer"] for row in context["offers"]}
    for key, (verb, status) in _DONE.items():
        offer = listed.get(params.get(key, ""))
        if offer is not None and offer.status == status:
            context["changed"] = offer.id
            context["notice"] = f"{verb} {offer.title}"
    return _render(request, "admin.html", context)


async def set_offer_status(request: Request) -> Response:
    session = await session_of(request)
    if session is None:
        return _to_login(request, "unsaved")
    form = await _form(request)
    back = f"/admin?days={_days(form)}"
    if not csrf_ok(form, session):
        return _refused(request, 403, _STALE_FORM, back)
    status = form.get("status", "")
    if status not in ("active", "paused"):
        return _refused(request, 422, "The dashboard can only pause or resume an offer.", back)
    offer_id = request.path_params["offer_id"]
    service = service_of(request)
    offer = await run_in_threadpool(_save_status, service.store, service.shop.id, offer_id, status)
    if offer is None:
        message = f"There is no offer “{offer_id}” any more, so nothing was changed."
        return _refused(request, 404, message, back)
    if offer.status == "archived":
        message = f"“{offer.title}” is archived: it cannot be paused or resumed any more."
        return _refused(request, 409, message, back)
    await service.offers_changed()  # this worker at once; others on their next refresh
    done = "paused" if status == "paused" else "resumed"
    target = f"{back}&{done}={quote(offer_id, safe='')}"
    return RedirectResponse(target, status_code=303, headers=_HEADERS)


def _save_status(store: Store, shop_id: str, offer_id: str, status: str) -> Offer | None:
    """The offer with ``status``, unless it is archived (that is for good); read and written
    in one transaction, so an offer archived meanwhile stays archived."""

    def with_status(offer: Offer) -> Offer:
        if offer.status == "archived":
            return offer
        return msgspec.structs.replace(offer, status=status)

    return store.change_offer(shop_id, offer_id, with_status) if is_offer_id(offer_id) else None


def _dashboard_context(service: Service, days: int) -> dict[str, Any]:
    store, shop_id = service.store, service.shop.id
    period = parse_period(None, None)
    period = Period(period.until - timedelta(days=days - 1), period.until)
    daily = report(store, shop_id, period.since, period.until, "day")
    per_offer = report(store, shop_id, period.since, period.until, "offer")
    by_offer = {group["key"]: group for group in per_offer["groups"]}
    listed = store.offers(shop_id)
    usage = load_lifetime_usage(store, shop_id, listed)
    now, unclickable = utcnow(), service.catalog.unclickable
    offers = [
        {
            "offer": offer,
            "figures": by_offer.get(offer.id, _NO_FIGURES),
            "not_showing": _NO_LINK
            if offer.id in unclickable
            else shown_to_nobody(offer, usage, now),
            "budget": _budget(offer, usage),
        }
        for offer in listed
    ]
    ids = {offer.id for offer in listed}
    deleted = [group for key, group in by_offer.items() if key not in ids]
    series = _daily_series(period, daily["groups"])
    return {
        "rpt_figures": list(zip(series["days"], series["rpt"], strict=True)),
        "ctr_figures": list(zip(series["days"], series["ctr"], strict=True)),
        "period": period,
        "days": days,
        "totals": daily["totals"],
        "holdout": daily["holdout"],
        "offers": offers,
        "deleted": _summed(deleted) if deleted else None,
        "n_deleted": len(deleted),
        "rpt_chart": svg_data_uri(line_chart_svg(series["days"], series["rpt"], "RPT per day")),
        "ctr_chart": svg_data_uri(
            line_chart_svg(series["days"], series["ctr"], "CTR per day", percent=True)
        ),
        "model": _model_card(service.models.model, service.models.reason),
    }


def _budget(offer: Offer, usage: OfferUsage) -> str | None:
    """``12.50 of 25.00 spent`` for a partner offer with a budget."""
    if offer.kind != "partner" or offer.caps.budget is None:
        return None
    return f"{usage.spend(offer):,.2f} of {offer.caps.budget:,.2f} spent"


def _summed(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of offers deleted since they were shown, as one row: the tiles count them,
    so the table must too. A per-offer ``rpt`` is over all the period's transactions, so
    the rows' ``rpt`` add up."""
    figures = {
        name: sum(group[name] for group in groups)
        for name in ("impressions", "clicks", "conversions", "revenue", "rpt")
    }
    clicks, impressions = figures["clicks"], figures["impressions"]
    figures["ctr"] = clicks / impressions if impressions else None
    return figures


def _daily_series(period: Period, groups: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """One point per day of the period; a day without transactions is a gap."""
    by_day = {group["key"]: group for group in groups}
    days = [(period.since + timedelta(days=n)).isoformat() for n in range(period.days)]
    return {
        "days": days,
        "rpt": [by_day.get(day, {}).get("rpt") for day in days],
        "ctr": [by_day.get(day, {}).get("ctr") for day in days],
    }


def _model_card(model: Any, fallback_reason: str | None) -> dict[str, Any] | None:
    if model is None:
        return None
    metrics = model.card.get("metrics") or {}
    return {
        "version": str(model.version),
        "fallback_reason": fallback_reason,
        "trained_at": model.card.get("trained_at"),
        "data": model.card.get("data") or {},
        "metrics": metrics,
        "baselines": {
            name: metrics[name] for name in BASELINES if isinstance(metrics.get(name), dict)
        },
    }


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    return service_of(request).templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=_HEADERS
    )


routes = [
    Route("/admin", dashboard, methods=["GET"]),
    Route("/admin/login", login_page, methods=["GET"]),
    Route("/admin/login", login, methods=["POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/offers/{offer_id}/status", set_offer_status, methods=["POST"]),
]
