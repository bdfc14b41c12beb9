"""Building responses: JSON with orjson, offers with msgspec, and content negotiation."""

from typing import Any

import msgspec
import orjson
from starlette.requests import Request
from starlette.responses import Response


def json_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(content), status, headers=headers, media_type="application/json")


def offer_response(
    content: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    # msgspec encodes the Offer structs directly, and integers beyond 64 bits that orjson refuses
    body = msgspec.json.encode(content)
    return Response(body, status, headers=headers, media_type="application/json")


def prefers_html(request: Request) -> bool:
    """``Accept`` names text/html before (or without) application/json: a browser, or a caller
    asking for markup."""
    accept = request.headers.get("accept", "")
    html, json = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json < 0 or html < json)
