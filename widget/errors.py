"""Errors as the API answers them: ``{"error": {"code", "message", "field"}}``.

Bad client input is a 4xx with that body; a store that does not answer (down,
restarting) is a 503 with ``Retry-After``, logged in one line; anything unexpected
is logged with the request id and answered 500 with the same shape (never a
traceback).
"""

import logging
import re

import msgspec
import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from offers.errors import InputError, first_line
from offers.store import STORE_AWAY

logger = logging.getLogger("encore.widget")

ANSWER_HEADERS = "encore.answer_headers"
"""Scope key: the headers the middleware adds to every answer to this request (the request
id, CORS). Starlette answers a 500 outside all middleware, so its handler adds them itself."""

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
STORE_RETRY_SECONDS = 5


class ApiError(Exception):
    """A request the API refuses, with the status, a stable code and a readable message."""

    def __init__(
        self, status: int, message: str, *, field: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message
        self.field = field
        self.headers: dict[str, str] = {}


def error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict | None = None
) -> Response:
    body = orjson.dumps({"error": {"code": code, "message": message, "field": field}})
    return Response(body, status, headers=headers, media_type="application/json")


def from_validation(err: msgspec.ValidationError | msgspec.DecodeError) -> ApiError:
    """A body that is not JSON is a 400; JSON of the wrong shape is a 422 naming the field."""
    text = str(err)
    if isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError):
        return ApiError(400, f"the body is not valid JSON: {text}")
    field = None
    if " - at `$" in text:
        text, location = text.split(" - at `$", 1)
        # msgspec writes a dict's key as `[...]`, and every key when decoding without a type
        # (decode_offer_body): the field is the dict, or none
        field = location.rstrip("`").split("[...]")[0].lstrip(".") or None
    if text.startswith(("Object missing required field `", "Object contains unknown field `")):
        named = text.split("`")[1]
        field = f"{field}.{named}" if field else named
    message = text[0].lower() + text[1:]
    if field:
        return ApiError(422, f"`{field}`: {message}", field=field)
    if text.startswith("Expected `object`, got "):  # the body itself: a list, text, null...
        return ApiError(422, f"the body must be a JSON object, {text.split(', ', 1)[1]}")
    # a check of the whole body (RankRequest.__post_init__) names its field in the message
    named = re.match(r"Expected `(\w+)`", text)
    return ApiError(422, message, field=named.group(1) if named else None)


def from_input_error(err: InputError) -> ApiError:
    return ApiError(422, err.message, field=err.field)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status < 400:
        return Response(status_code=status, headers=exc.headers)
    message = exc.detail if exc.detail and status != 404 else _default_message(request, status)
    return error_response(status, _CODES.get(status, "error"), message, headers=exc.headers)


def log_outage(err: Exception, first: bool, message: str, *args: object) -> None:
    """An outage's first failure with its traceback; each one after it in one line."""
    if first:
        logger.error(message, *args, exc_info=err)
    else:
        logger.error(message + " (%s)", *args, first_line(err))


async def handle_store_away(request: Request, exc: Exception) -> Response:
    """The store did not answer: nothing of this request was stored; the client may retry.
    Answered inside the middleware (as a response, not an error), so the connection stays
    open for the client's other requests, which may not need the store."""
    logger.error(
        "the store is unavailable for %s %s (request %s): %s",
        request.method,
        request.url.path,
        request.scope.get("encore.request_id", "-"),
        first_line(exc),
    )
    message = f"the store is unavailable; nothing was saved: retry in {STORE_RETRY_SECONDS} seconds"
    headers = {"Retry-After": str(STORE_RETRY_SECONDS)}
    return error_response(503, "unavailable", message, headers=headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("encore.request_id", "-")
    logger.exception(
        "unexpected error in %s %s (request %s)", request.method, request.url.path, request_id
    )
    response = error_response(500, "internal_error", f"internal error (request {request_id})")
    response.raw_headers += request.scope.get(ANSWER_HEADERS, [])
    return response


def _default_message(request: Request, status: int) -> str:
    if status == 404:
        return f"no such endpoint: {request.method} {request.url.path}"
    return "request refused"


exception_handlers = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    **dict.fromkeys(STORE_AWAY, handle_store_away),
    Exception: handle_unexpected,
}
