"""Building responses: JSON with orjson, offers with msgspec, and content negotiation."""

from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response

from offers.catalog import Offer
from widget.headers import header


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(content), status, headers=headers, media_type="application/json")


def offer_response(
    content: Offer | dict[str, list[Offer]],
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """An offer, or ``{"offers": [...]}``, as JSON. Each names its ``status``, which offers
    files leave out when it is the default: a client reading ``offer["status"]`` finds it."""
    if isinstance(content, Offer):
        content = _with_status(content)
    else:
        content = {"offers": [_with_status(offer) for offer in content["offers"]]}
    # msgspec: integers beyond 64 bits, which orjson refuses
    body = msgspec.json.encode(content)
    return Response(body, status, headers=headers, media_type="application/json")


def _with_status(offer: Offer) -> dict[str, Any]:
    return {**msgspec.to_builtins(offer), "status": offer.status}


def prefers_html(request: Request) -> bool:
    """``Accept`` names text/html and weighs it above application/json (or the same, named
    first): a browser, or a caller asking for markup. ``*/*`` alone (what fetch sends) is JSON."""
    weights = accept_weights(header(request.scope, b"accept") or "")
    html = weights.get("text/html", 0.0)
    json = weights.get("application/json", weights.get("application/*", weights.get("*/*", 0.0)))
    if html <= 0 or html < json:
        return False
    if html > json or "application/json" not in weights:
        return True
    named = list(weights)
    return named.index("text/html") < named.index("application/json")


def accept_weights(text: str) -> dict[str, float]:
    """Each name of an ``Accept`` or ``Accept-Encoding`` value with its weight ``q`` (1 when
    not given, 0 when unreadable), lower case, in the order written (RFC 9110, 12.4.2)."""
    weights = {}
    for entry in text.lower().split(","):
        name, *parameters = (part.strip() for part in entry.split(";"))
        weight = 1.0
        for key, _, value in (parameter.partition("=") for parameter in parameters):
            if key.strip() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if name:
            weights.setdefault(name, weight)
    return weights
