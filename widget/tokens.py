"""Signed tracking tokens: what an event, a click or a conversion says it is about.

A token carries (shop, request, offer, customer, position, placement), plus
``holdout`` for the CSAT token of a holdout customer's request (only when true,
so offer tokens stay as short as before and tokens without it still verify), signed and
timestamped in itsdangerous' format so a forged, altered or expired token is refused.
The payload is readable (base64 JSON), so it holds only the stored customer key
(an email is already hashed), never anything secret.

A rank signs a token per offer, and itsdangerous' ``sign`` costs ~20 us (the key
derived and an OpenSSL HMAC set up per call), so :meth:`TokenSigner.sign` writes
the same bytes itself with the key itsdangerous derives, copying a keyed stdlib
``hmac`` object per token (~7 us); itsdangerous still verifies every token.
"""

import hashlib
import hmac
import time
from typing import Any, NamedTuple

import orjson
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes, want_bytes

from widget.errors import ApiError

_SALT = "encore.tracking.v1"


class Tracking(NamedTuple):
    """What a token is about."""

    shop_id: str
    request_id: str
    offer_id: str
    customer_id: str
    position: int
    placement: str
    holdout: bool = False


class TokenExpired(ApiError):
    """A token correctly signed, but older than tokens live: says what it was about."""

    def __init__(self, tracking: Tracking) -> None:
        super().__init__(400, "the tracking token has expired", field="token", code="invalid_token")
        self.tracking = tracking


class _Json:
    @staticmethod
    def dumps(obj: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(data: str | bytes) -> Any:
        return orjson.loads(data)


class TokenSigner:
    """Signs and verifies tracking tokens with the deployment's signing secret."""

    def __init__(self, secret: str, max_age_days: int) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret, salt=_SALT, serializer=_Json, signer_kwargs={"digest_method": hashlib.sha256}
        )
        signer = self._serializer.make_signer(_SALT)
        self._mac = hmac.new(signer.derive_key(), digestmod=signer.digest_method)
        self._sep = want_bytes(signer.sep)
        self._second = -1
        self._timestamp = b""
        self.max_age_seconds = max_age_days * 86_400

    def sign(self, tracking: Tracking) -> str:
        """``payload.timestamp.signature``: what itsdangerous' ``TimestampSigner`` answers for
        the base64 JSON payload (uncompressed: zlib never shortens a payload this small)."""
        payload = tuple(tracking) if tracking.holdout else tracking[:_N_BASE]
        value = base64_encode(orjson.dumps(payload)) + self._sep + self._now()
        mac = self._mac.copy()
        mac.update(value)
        return (value + self._sep + base64_encode(mac.digest())).decode()

    def verify(self, token: str) -> Tracking:
        """What the token carries; ApiError 400 if forged, altered or malformed, TokenExpired
        (an ApiError 400 too) if expired."""
        expired = False
        try:
            payload = self._serializer.loads(token, max_age=self.max_age_seconds)
        except SignatureExpired as err:  # raised only once the signature has checked out
            expired, payload = True, _payload_or_none(self._serializer, err.payload)
        except (BadData, ValueError, UnicodeError):
            payload = None
        if not _well_formed(payload):
            raise ApiError(
                400, "the tracking token is not valid", field="token", code="invalid_token"
            )
        if expired:
            raise TokenExpired(Tracking(*payload))
        return Tracking(*payload)

    def _now(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            self._second, self._timestamp = second, base64_encode(int_to_bytes(second))
        return self._timestamp


def event_id(event_type: str, tracking: Tracking) -> str:
    """Deterministic, so the same event sent twice is stored once.

    Made of what the verified token says, not of its text: itsdangerous' base64
    decoding skips characters it does not expect, so altered copies of one token
    (an ``=`` appended, say) still verify, and each would otherwise count again.
    """
    about = "\0".join((event_type, tracking.shop_id, tracking.request_id, tracking.offer_id))
    return hashlib.sha256(about.encode()).hexdigest()[:32]


_N_BASE = len(Tracking._fields) - 1  # every field but the optional ``holdout``


def _payload_or_none(serializer: URLSafeTimedSerializer, payload: Any) -> Any:
    try:
        return serializer.load_payload(payload)
    except (BadData, ValueError, UnicodeError):
        return None


def _well_formed(payload: Any) -> bool:
    if not isinstance(payload, list) or len(payload) not in (_N_BASE, _N_BASE + 1):
        return False
    if len(payload) > _N_BASE and payload[_N_BASE] is not True:
        return False
    *texts, position, placement = payload[:_N_BASE]
    return all(isinstance(t, str) for t in (*texts, placement)) and type(position) is int
