"""The ranking API: ``POST /v1/rank`` and ``POST /v1/widget``; ``/healthz``, ``/widget.js``.

A page's publishable key (or the secret key, server-side) may rank and render.
``POST /v1/widget`` answers a browser's snippet and a server alike: with
``Accept: text/html`` (preferred over JSON) it returns the fragment itself,
otherwise JSON ``{html, request_id, model_version, offers: [{id, token}]}`` so
the snippet can wire events to the offers it shows. ``routes`` gathers every
``/v1`` route of the service.

``?debug=1`` (secret key only: it reveals every offer's rules, caps and spend)
adds ``debug: {candidates, shown, excluded: {offer_id: reason}, holdout,
max_offers, relevance_floor}`` to the JSON answer; a publishable key gets a 403.
"""

import functools
from types import SimpleNamespace

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from offers.rank_request import RankRequest, rank_decoder
from offers.translations import translator
from widget import offers_api, report_api, tracking
from widget.bodies import decode, read_body
from widget.errors import ApiError
from widget.headers import header
from widget.query import single
from widget.ranking import Ranked
from widget.responses import accept_weights, json_response, prefers_html
from widget.service import Service, check_capacity, describe, service_of
from widget.tokens import Tracking


async def rank(request: Request) -> Response:
    service = service_of(request)
    ranked, _body = await _rank(request, service)
    answer = {
        "request_id": ranked.request_id,
        "model_version": ranked.model_version,
        "offers": ranked.offers,
    }
    if ranked.debug is not None:
        answer["debug"] = ranked.debug
    return json_response(answer)


async def widget(request: Request) -> Response:
    service = service_of(request)
    ranked, body = await _rank(request, service)
    html = render_fragment(service, ranked, placement=body.placement)
    if prefers_html(request):
        return HTMLResponse(html, headers={"X-Encore-Model-Version": ranked.model_version})
    offers = [{"id": offer["id"], "token": offer["token"]} for offer in ranked.offers]
    answer = {
        "html": html,
        "request_id": ranked.request_id,
        "model_version": ranked.model_version,
        "offers": offers,
    }
    if ranked.debug is not None:
        answer["debug"] = ranked.debug
    return json_response(answer)


async def _rank(request: Request, service: Service) -> tuple[Ranked, RankRequest]:
    body: RankRequest = decode(rank_decoder, await read_body(request))
    service.keys.publishable(request, body.key)
    debug = _wants_debug(request)
    if debug and not service.keys.sent_secret(request):
        raise ApiError(
            403, "`debug=1` needs the secret key (Authorization: Bearer sk_...)", field="debug"
        )
    check_capacity(service)
    service.models.maybe_reload()
    click_base = _click_base(request)
    ranked = service.ranker.rank(
        body, request.scope["encore.request_id"], lambda token: click_base + token, debug=debug
    )
    return ranked, body


def _click_base(request: Request) -> str:
    scope = request.scope
    server = scope.get("server")
    return _click_base_of(
        scope.get("scheme", "http"),
        header(scope, b"host"),
        None if server is None else tuple(server),
        scope.get("app_root_path", scope.get("root_path", "")),
    )


@functools.lru_cache(maxsize=64)
def _click_base_of(
    scheme: str, host: str | None, server: tuple[str, int] | None, root_path: str
) -> str:
    """``{base_url}v1/click/`` as Starlette builds it from these parts of the scope: they are
    the same on almost every request, and building the URL each time was 5% of a rank."""
    headers = [] if host is None else [(b"host", host.encode("latin-1"))]
    scope = {"type": "http", "scheme": scheme, "server": server, "root_path": root_path}
    return f"{Request({**scope, 'path': '/', 'headers': headers}).base_url}v1/click/"


_DEBUG_VALUES = {
    **dict.fromkeys(("", "0", "false", "no", "off"), False),
    **dict.fromkeys(("1", "true", "yes", "on"), True),
}


def _wants_debug(request: Request) -> bool:
    if not request.scope["query_string"]:  # the usual case: no query at all
        return False
    value = single(request.query_params, "debug") or ""
    wanted = _DEBUG_VALUES.get(value.strip().lower())
    if wanted is None:
        raise ApiError(
            422, f"`debug` must be 1 or 0 (or true, yes, on), got `{value[:40]}`", field="debug"
        )
    return wanted


def render_fragment(service: Service, ranked: Ranked, *, placement: str) -> str:
    template = service.templates.get_template("fragment.html")
    # Ask "How was your checkout?" under the offers, and alone for a holdout customer (the
    # report compares the two arms); not when nothing relevant was found: the page stays quiet.
    # Nor in a debug look at a ranking, which hands out no token (it records nothing).
    csat = service.csat and ranked.debug is None and bool(ranked.offers or ranked.holdout)
    csat_token = ""
    if csat:  # the answer's event carries this request-level token, and the customer's arm
        about = Tracking(
            service.shop.id, ranked.request_id, "", ranked.customer_id, 0, placement, ranked.holdout
        )
        csat_token = service.signer.sign(about)
    return template.render(
        lang=ranked.language,
        _=translator(ranked.language),
        request_id=ranked.request_id,
        placement=placement,
        model_version=ranked.model_version,
        csat=csat,
        csat_token=csat_token,
        # as attributes: Jinja reads ``offer.title`` of a dict by failing getattr first (an
        # exception per field, a third of the render)
        offers=[SimpleNamespace(**offer) for offer in ranked.offers],
    )


async def healthz(request: Request) -> Response:
    service = service_of(request)
    service.models.maybe_reload()
    return json_response(describe(service), headers={"Cache-Control": "no-store"})


async def widget_js(request: Request) -> Response:
    asset = service_of(request).widget_js
    if asset is None:
        raise ApiError(404, "widget.js is not installed with this service")
    gzipped = accepts_gzip(header(request.scope, b"accept-encoding") or "")
    headers = {
        "ETag": f'"{asset.etag}-gz"' if gzipped else f'"{asset.etag}"',
        "Cache-Control": "public, max-age=300",
        "Vary": "Accept-Encoding",
    }
    if headers["ETag"] in (header(request.scope, b"if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    content = asset.gzipped if gzipped else asset.content
    return Response(content, headers=headers, media_type="text/javascript; charset=utf-8")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip: named (or, when it is not, ``*``)
    with a weight above 0; ``gzip;q=0`` refuses it (RFC 9110, section 12.5.3)."""
    weights = accept_weights(accept_encoding)
    named = weights.get("gzip", weights.get("x-gzip"))
    return (weights.get("*", 0.0) if named is None else named) > 0


routes = [
    Route("/v1/rank", rank, methods=["POST"]),
    Route("/v1/widget", widget, methods=["POST"]),
    *tracking.routes,
    *offers_api.routes,
    *report_api.routes,
    Route("/healthz", healthz, methods=["GET"]),
    Route("/widget.js", widget_js, methods=["GET"]),
]
