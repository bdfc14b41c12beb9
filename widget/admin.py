"""The merchant's side: ``GET /v1/report`` and the ``/admin`` dashboard.

The report answers the secret key (``Authorization: Bearer sk_...``). The
dashboard asks for that key once (``/admin/login``) and then keeps a session in
a cookie signed with itsdangerous (the deployment's signing secret, under its
own salt), which also holds the CSRF token every form posts back. Signing out
counts up a session generation kept in the shop's settings in the store, so the
sessions signed before it stop working in every worker. The dashboard's forms
are answered with pages, not the API's JSON errors. Both read the running
:class:`widget.service.Service` from ``request.state.service``.
"""

import base64
import hmac
import io
import math
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote

import msgspec
import orjson
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from offers.caps import OfferUsage, load_lifetime_usage
from offers.catalog import Offer, is_offer_id
from offers.reports import GROUP_BY, report, report_csv
from offers.store import Shop, Store, utcnow
from offers.targeting import shown_to_nobody
from ranker.baselines import BASELINES
from widget.bodies import read_body
from widget.errors import ApiError
from widget.shop import SIGNING_SECRET

if TYPE_CHECKING:
    from widget.service import Service

DEFAULT_DAYS = 30
SESSION_COOKIE = "encore_admin"
SESSION_MAX_AGE = 8 * 3600
_SESSION_SALT = "encore.admin.session.v1"
_SESSION_GENERATION = "admin_session_generation"  # in the shop's settings
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
_FORMATS = ("json", "csv")
_REPORT_PARAMETERS = {"since", "until", "group_by", "format"}
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


@dataclass(frozen=True)
class Period:
    """Days ``since``..``until``, both included."""

    since: date
    until: date

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1


# GET /v1/report


async def report_endpoint(request: Request) -> Response:
    service = _service(request)
    shop = service.keys.secret(request)
    params = request.query_params
    unknown = sorted(set(params) - _REPORT_PARAMETERS)
    if unknown:  # `from=` or `groupby=` would otherwise answer the default report unsaid
        known = ", ".join(f"`{name}`" for name in sorted(_REPORT_PARAMETERS))
        raise ApiError(422, f"unknown parameter `{unknown[0]}`: expected {known}", field=unknown[0])
    period = parse_period(params.get("since"), params.get("until"))
    group_by = params.get("group_by") or "day"
    if group_by not in GROUP_BY:
        raise ApiError(422, f"`group_by` must be one of {', '.join(GROUP_BY)}", field="group_by")
    output = params.get("format") or "json"
    if output not in _FORMATS:
        raise ApiError(422, "`format` must be json or csv", field="format")
    result = await run_in_threadpool(
        report, service.store, shop.id, period.since, period.until, group_by
    )
    if output == "csv":
        name = f"encore-report-{period.since}-{period.until}-{group_by}.csv"
        return Response(
            report_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return Response(orjson.dumps(result), media_type="application/json")


def parse_period(since: str | None, until: str | None, today: date | None = None) -> Period:
    """The report period from ISO dates; by default the last 30 days up to today (UTC)."""
    last = _parse_date(until, "until") if until else today or datetime.now(UTC).date()
    first = (
        _parse_date(since, "since")
        if since
        else date.fromordinal(max(last.toordinal() - (DEFAULT_DAYS - 1), 1))  # not before 0001
    )
    if last < first:
        if not until:
            message = f"`since` ({first}) is after today, where `until` ends by default"
            raise ApiError(422, message, field="since")
        raise ApiError(422, "`until` must not be before `since`", field="until")
    return Period(first, last)


def _parse_date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ApiError(
            422, f"`{field}` must be a date as YYYY-MM-DD, got {value!r}", field=field
        ) from None


# /admin: session


@dataclass(frozen=True)
class Session:
    shop_id: str
    csrf: str


def _service(request: Request) -> "Service":
    return request.state.service


def _serializer(service: "Service") -> URLSafeTimedSerializer:
    # ENCORE_SIGNING_SECRET, else the one generated once and kept in the shop's settings.
    secret = service.settings.signing_secret or service.shop.settings[SIGNING_SECRET]
    return URLSafeTimedSerializer(secret, salt=_SESSION_SALT)


async def _session(request: Request) -> Session | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    service = _service(request)
    try:
        data = _serializer(service).loads(cookie, max_age=SESSION_MAX_AGE)
    except BadSignature:
        return None
    if (
        not isinstance(data, dict)
        or data.get("shop") != service.shop.id
        or data.get("key") != service.keys.secret_fingerprint  # opened with a replaced key
        or "csrf" not in data
    ):
        return None
    # Read at every request: another worker may have signed the shop out.
    generation = await run_in_threadpool(_session_generation, service.store, service.shop.id)
    if data.get("generation", 0) != generation:
        return None
    return Session(service.shop.id, str(data["csrf"]))


def _session_generation(store: Store, shop_id: str) -> int:
    return int(store.shop_settings(shop_id).get(_SESSION_GENERATION, 0))


def _end_sessions(store: Store, shop_id: str) -> None:
    """Count up the shop's session generation: every session signed before is refused."""
    store.change_shop_settings(
        shop_id,
        lambda settings: {
            **settings,
            _SESSION_GENERATION: int(settings.get(_SESSION_GENERATION, 0)) + 1,
        },
    )


def _set_session(request: Request, response: Response, shop: Shop) -> None:
    value = _serializer(_service(request)).dumps(
        {
            "shop": shop.id,
            "key": _service(request).keys.secret_fingerprint,
            "csrf": secrets.token_urlsafe(24),
            "generation": int(shop.settings.get(_SESSION_GENERATION, 0)),
        }
    )
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_MAX_AGE,
        path="/admin",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def _form(request: Request) -> dict[str, str]:
    """The fields of a dashboard form (URL-encoded, as its pages send them); a body over
    8 KB, which no form of the dashboard comes near, is refused (413) unread."""
    body = await read_body(request, limit=_MAX_FORM_BYTES)
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


def _csrf_ok(form: dict[str, str], session: Session) -> bool:
    """Whether the form came from a page of this session (not from a stale tab, or a forgery)."""
    return hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode())


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
    if await _session(request) is not None:
        return RedirectResponse("/admin", status_code=303, headers=_HEADERS)
    notice = _LOGIN_NOTICES.get(request.query_params.get("notice", ""))
    return _render(request, "admin_login.html", {"error": notice})


async def login(request: Request) -> Response:
    form = await _form(request)
    key = form.get("secret_key", "").strip()
    service = _service(request)
    shop = await run_in_threadpool(service.store.shop_by_secret_key, key) if key else None
    if shop is None or shop.id != service.shop.id:
        error = "That is not this shop's secret key (it starts with sk_)."
        return _render(request, "admin_login.html", {"error": error}, status_code=401)
    response = RedirectResponse("/admin", status_code=303, headers=_HEADERS)
    _set_session(request, response, shop)
    return response


async def logout(request: Request) -> Response:
    session = await _session(request)
    if session is not None:
        if not _csrf_ok(await _form(request), session):
            return _refused(request, 403, _STALE_FORM)
        service = _service(request)
        await run_in_threadpool(_end_sessions, service.store, service.shop.id)
    response = _to_login()
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response


async def dashboard(request: Request) -> Response:
    session = await _session(request)
    if session is None:
        return _to_login(request)
    params = request.query_params
    context = await run_in_threadpool(_dashboard_context, _service(request), _days(params))
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
    session = await _session(request)
    if session is None:
        return _to_login(request, "unsaved")
    form = await _form(request)
    back = f"/admin?days={_days(form)}"
    if not _csrf_ok(form, session):
        return _refused(request, 403, _STALE_FORM, back)
    status = form.get("status", "")
    if status not in ("active", "paused"):
        return _refused(request, 422, "The dashboard can only pause or resume an offer.", back)
    offer_id = request.path_params["offer_id"]
    service = _service(request)
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


def _dashboard_context(service: "Service", days: int) -> dict[str, Any]:
    store, shop_id = service.store, service.shop.id
    period = parse_period(None, None)
    period = Period(period.until - timedelta(days=days - 1), period.until)
    daily = report(store, shop_id, period.since, period.until, "day")
    per_offer = report(store, shop_id, period.since, period.until, "offer")
    by_offer = {group["key"]: group for group in per_offer["groups"]}
    listed = store.offers(shop_id)
    usage = load_lifetime_usage(store, shop_id, listed)
    now = utcnow()
    offers = [
        {
            "offer": offer,
            "figures": by_offer.get(offer.id, _NO_FIGURES),
            "not_showing": shown_to_nobody(offer, usage, now),
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
        "rpt_chart": _svg_data_uri(line_chart_svg(series["days"], series["rpt"], "RPT per day")),
        "ctr_chart": _svg_data_uri(
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


def line_chart_svg(
    days: list[str], values: list[float | None], title: str, *, percent: bool = False
) -> str:
    """A small line chart as SVG text (matplotlib's object API: no pyplot state, thread-safe)."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    figure = Figure(figsize=(6.4, 2.4), dpi=100, layout="constrained")
    FigureCanvasSVG(figure)
    axes = figure.add_subplot()
    points = [math.nan if v is None else v for v in values]
    axes.plot(range(len(days)), points, marker="o", markersize=3, linewidth=1.5, color="#2f6f4f")
    axes.set_title(title, fontsize=10, loc="left")
    axes.set_ylim(bottom=0)
    axes.set_xlim(-0.5, len(days) - 0.5)  # the whole period, days without data included
    axes.xaxis.set_major_locator(MaxNLocator(6, integer=True))
    axes.xaxis.set_major_formatter(lambda x, _pos: days[int(x)] if 0 <= x < len(days) else "")
    if percent:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    if all(v is None for v in values):
        axes.text(0.5, 0.5, "no transactions yet", transform=axes.transAxes, ha="center")
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8)
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def _svg_data_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


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
    return _service(request).templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=_HEADERS
    )


routes = [
    Route("/v1/report", report_endpoint, methods=["GET"]),
    Route("/admin", dashboard, methods=["GET"]),
    Route("/admin/login", login_page, methods=["GET"]),
    Route("/admin/login", login, methods=["POST"]),
    Route("/admin/logout", logout, methods=["POST"]),
    Route("/admin/offers/{offer_id}/status", set_offer_status, methods=["POST"]),
]
