"""Who may call what: publishable and secret keys, allowed origins, CORS.

A publishable key (``pk_``) may rank, render and send events, and only from the
shop's allowed origins (or the service's own origin, e.g. ``/demo``); a request
without an ``Origin`` header is server-to-server and is not origin-checked. The
secret key (``sk_``) may do everything, but only in the ``Authorization`` header.
"""

import hashlib
import hmac
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from offers.store import Shop, hash_secret
from widget.errors import ANSWER_HEADERS, ApiError, error_response
from widget.headers import header, raw_header
from widget.origins import AllowedOrigins


class KeyRing:
    """The keys of the one shop this service serves."""

    def __init__(self, shop: Shop, secret_key_hash: str) -> None:
        self.shop = shop
        self._publishable = shop.publishable_key.encode()
        self._secret_hash = secret_key_hash.encode()
        self._origins = AllowedOrigins(shop.allowed_origins)

    def publishable(self, request: Request, body_key: str | None = None) -> Shop:
        """The shop for a call a page may make (rank, widget, events)."""
        header_key = _bearer(request)
        key = header_key or body_key
        if not key:
            raise _unauthorized(
                "missing API key: send `Authorization: Bearer pk_...` or the body field `key`"
            )
        if body_key and self._is_secret(body_key):  # a body is what a page can see
            raise ApiError(
                403,
                "a secret key must never be sent from a page; use the publishable key",
                field="key",
            )
        if self._is_publishable(key):
            self._check_origin(request)
            return self.shop
        if self._is_secret(key):
            return self.shop
        raise _unauthorized("unknown API key")

    @property
    def secret_fingerprint(self) -> str:
        """Names the current secret key without revealing it: a dashboard session keeps it,
        so that a session opened with a key since replaced ends."""
        return hashlib.sha256(self._secret_hash).hexdigest()[:16]

    def sent_secret(self, request: Request) -> bool:
        """True when the request carries the secret key in its header (a server, not a page)."""
        key = _bearer(request)
        return key is not None and self._is_secret(key)

    def secret(self, request: Request) -> Shop:
        """The shop for a server-side call (offers, conversions, reports)."""
        key = _bearer(request)
        if not key:
            raise _unauthorized("missing API key: send `Authorization: Bearer sk_...`")
        if self._is_secret(key):
            return self.shop
        if self._is_publishable(key):
            raise ApiError(
                403,
                "this endpoint needs the secret key (sk_...); "
                "a publishable key may only rank, render and send events",
            )
        raise _unauthorized("unknown API key")

    def origin_allowed(self, origin: str, request: Request) -> bool:
        return origin in self._origins or origin == _own_origin(request)

    def _check_origin(self, request: Request) -> None:
        origin = header(request.scope, b"origin")
        if origin is not None and not self.origin_allowed(origin, request):
            raise ApiError(
                403, f"origin {origin} is not allowed for this shop (ENCORE_ALLOWED_ORIGINS)"
            )

    def _is_publishable(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self._publishable)

    def _is_secret(self, key: str) -> bool:
        return key.startswith("sk_") and hmac.compare_digest(
            hash_secret(key).encode(), self._secret_hash
        )


class Cors(CORSMiddleware):
    """Starlette's CORS for the shop's allowed origins (known once the shop is loaded),
    answering a refused preflight with the API's JSON error (403).

    Other requests get the headers Starlette's would add (``Access-Control-Allow-Origin``
    for an allowed origin, ``Vary: Origin`` always), written into the raw header list:
    Starlette's builds two ``Headers`` objects per request, on every ranking.
    """

    def __init__(self, app: ASGIApp, origins: "OriginList") -> None:
        super().__init__(
            app,
            allow_methods=("GET", "POST", "PUT", "PATCH", "DELETE"),
            allow_headers=("Authorization", "Content-Type"),
            max_age=600,
        )
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = raw_header(scope, b"origin")
        if origin is not None and scope["method"] == "OPTIONS":
            request_headers = Headers(scope=scope)
            if "access-control-request-method" in request_headers:
                await self.preflight_response(request_headers)(scope, receive, send)
                return
        allow = None
        if origin is not None and self.is_allowed_origin(origin.decode("latin-1")):
            allow = (b"access-control-allow-origin", origin)
        scope.setdefault(ANSWER_HEADERS, []).extend(_with_cors((), allow))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_cors(message.get("headers", ()), allow)
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def is_allowed_origin(self, origin: str) -> bool:
        return origin in self.origins.allowed

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code == 200:
            headers = {
                k: v
                for k, v in response.headers.items()
                if k.startswith("access-control-") or k == "vary"
            }
            return Response(status_code=204, headers=headers)
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin):
            return error_response(403, "forbidden", f"origin {origin} is not allowed for this shop")
        return error_response(403, "forbidden", response.body.decode())


class OriginList:
    """The allowed origins, filled in when the service starts."""

    def __init__(self, allowed: tuple[str, ...] = ()) -> None:
        self.allowed = AllowedOrigins(allowed)


def _with_cors(
    headers: Iterable[tuple[bytes, bytes]], allow: tuple[bytes, bytes] | None
) -> list[tuple[bytes, bytes]]:
    """The response headers with ``Vary: Origin`` (joined to any ``Vary`` already there)."""
    kept, vary = [], []
    for pair in headers:
        if pair[0] == b"vary":
            vary.append(pair[1])
        elif allow is None or pair[0] != allow[0]:
            kept.append(pair)
    if allow is not None:
        kept.append(allow)
    kept.append((b"vary", b", ".join([*vary, b"Origin"])))
    return kept


def _bearer(request: Request) -> str | None:
    authorization = header(request.scope, b"authorization")
    if authorization is None:
        return None
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("the Authorization header must be `Bearer <key>`")
    return key.strip()


def _own_origin(request: Request) -> str:
    # from the scope, not request.url: a malformed Host header must not fail URL parsing
    return f"{request.scope.get('scheme', 'http')}://{header(request.scope, b'host') or ''}"


def _unauthorized(message: str) -> ApiError:
    error = ApiError(401, message)
    error.headers["WWW-Authenticate"] = "Bearer"
    return error
