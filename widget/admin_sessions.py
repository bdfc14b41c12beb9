"""The dashboard's sessions: a cookie signed with itsdangerous, holding a CSRF token.

The cookie is signed with the deployment's signing secret, under its own salt. It
names the shop, a fingerprint of the secret key it was opened with (a replaced key
ends it) and the shop's session generation: signing out counts that generation up
in the shop's settings in the store, so the sessions signed before it stop working
in every worker.
"""

import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from offers.store import Shop, Store
from widget.service import Service, service_of
from widget.shop import SIGNING_SECRET

SESSION_COOKIE = "encore_admin"
SESSION_MAX_AGE = 8 * 3600
_SALT = "encore.admin.session.v1"
_GENERATION = "admin_session_generation"  # in the shop's settings


@dataclass(frozen=True)
class Session:
    shop_id: str
    csrf: str


async def session_of(request: Request) -> Session | None:
    """The request's valid session, if it has one."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    service = service_of(request)
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
    generation = await run_in_threadpool(_generation, service.store, service.shop.id)
    if data.get("generation", 0) != generation:
        return None
    return Session(service.shop.id, str(data["csrf"]))


def start_session(request: Request, response: Response, shop: Shop) -> None:
    """Set the cookie of a new session for ``shop`` on ``response``."""
    service = service_of(request)
    value = _serializer(service).dumps(
        {
            "shop": shop.id,
            "key": service.keys.secret_fingerprint,
            "csrf": secrets.token_urlsafe(24),
            "generation": int(shop.settings.get(_GENERATION, 0)),
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


def end_sessions(store: Store, shop_id: str) -> None:
    """Count up the shop's session generation: every session signed before is refused."""
    store.change_shop_settings(
        shop_id,
        lambda settings: {**settings, _GENERATION: int(settings.get(_GENERATION, 0)) + 1},
    )


def csrf_ok(form: dict[str, str], session: Session) -> bool:
    """Whether the form came from a page of this session (not from a stale tab, or a forgery)."""
    return hmac.compare_digest(form.get("csrf", "").encode(), session.csrf.encode())


def _serializer(service: Service) -> URLSafeTimedSerializer:
    # ENCORE_SIGNING_SECRET, else the one generated once and kept in the shop's settings.
    secret = service.settings.signing_secret or service.shop.settings[SIGNING_SECRET]
    return URLSafeTimedSerializer(secret, salt=_SALT)


def _generation(store: Store, shop_id: str) -> int:
    return int(store.shop_settings(shop_id).get(_GENERATION, 0))
