"""Reading request bodies: at most 1 MB, decoded and validated in one pass."""

import zlib
from typing import Any, TypeVar

import msgspec
from starlette.requests import ClientDisconnect, Request

from offers.catalog import decode_offers_json
from offers.errors import TOO_DEEP, InputError, utf8_problem
from widget.errors import ApiError, from_input_error, from_validation
from widget.headers import header

MAX_BODY_BYTES = 1_048_576

T = TypeVar("T")


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refusing more than ``limit`` bytes (1 MB) whether or not
    ``Content-Length`` says so.

    Reads the ASGI messages itself: ``Request.stream()`` is an async generator, which
    asyncio hooks and tracks in a WeakSet on every request (more than reading costs).
    """
    length = header(request.scope, b"content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, "Content-Length must be a number of bytes")
        if int(length) > limit:
            raise _too_large(limit)
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            encoding = header(request.scope, b"content-encoding")
            return body if encoding is None else _decoded(body, encoding, limit)


def _decoded(body: bytes, encoding: str, limit: int) -> bytes:
    """A body sent compressed (``Content-Encoding: gzip`` or ``deflate``, as PHP and Node
    clients may), at most ``limit`` bytes once decompressed: a small bomb must not fill the
    memory."""
    coding = encoding.strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in _ZLIB_WINDOWS:
        raise ApiError(
            400, f"Content-Encoding `{encoding}` is not supported: send gzip, deflate or none"
        )
    parts, size = [], 0
    while body:  # gzip data may be several members, one after the other
        decompressor = zlib.decompressobj(_window(coding, body))
        try:
            part = decompressor.decompress(body, limit + 1 - size)
        except zlib.error:
            raise ApiError(400, f"the body is not valid {coding} data") from None
        size += len(part)
        if size > limit or decompressor.unconsumed_tail:
            raise _too_large(limit)
        if not decompressor.eof:
            raise ApiError(400, f"the body is not valid {coding} data (cut short)")
        parts.append(part)
        body = decompressor.unused_data
        if body and coding == "deflate":
            raise ApiError(400, "the body has bytes after its deflate data")
    return b"".join(parts)


# zlib's window bits: gzip's header and trailer, or zlib's (what HTTP calls deflate)
_GZIP_WINDOW = 16 + zlib.MAX_WBITS
_ZLIB_WINDOWS = {"gzip": _GZIP_WINDOW, "x-gzip": _GZIP_WINDOW, "deflate": zlib.MAX_WBITS}


def _window(coding: str, body: bytes) -> int:
    """zlib's window bits for ``body``: HTTP's deflate is zlib data, but some clients send
    raw deflate, without zlib's two-byte header (method 8, a multiple of 31)."""
    if coding == "deflate" and not (
        len(body) >= 2 and body[0] & 0x0F == 8 and int.from_bytes(body[:2]) % 31 == 0
    ):
        return -zlib.MAX_WBITS
    return _ZLIB_WINDOWS[coding]


def decode(decoder: "msgspec.json.Decoder[T]", body: bytes) -> T:
    """Decode and validate; 400 for a body that is not JSON, 422 naming the field otherwise."""
    _check_text(body)
    try:
        return decoder.decode(body)
    except msgspec.DecodeError as err:
        raise from_validation(err) from None
    except RecursionError:
        raise _too_deep() from None


def decode_offer_body(body: bytes) -> Any:
    """Decode a ``/v1/offers`` body (an offer, or a patch), validated afterwards, as an offers
    file is read (:func:`offers.catalog.decode_offers_json`: a key written twice is a 422)."""
    _check_text(body)
    try:
        return decode_offers_json(body)
    except msgspec.DecodeError as err:
        raise from_validation(err) from None
    except InputError as err:
        raise from_input_error(err) from None
    except RecursionError:
        raise _too_deep() from None


def _check_text(body: bytes) -> None:
    if not body.strip():
        raise ApiError(400, "the body is empty: send a JSON object")
    # PostgreSQL cannot store NUL in text, and a logged row that can never be written would
    # block the feedback log; no real order or offer has one.
    if b"\\u0000" in body:
        raise ApiError(422, "text must not contain NUL characters (\\u0000)")
    # msgspec skips an unknown field without decoding it: bad bytes there would pass. ASCII
    # text in UTF-16 or UTF-32 is ASCII bytes, padded with NULs.
    if (not body.isascii() or b"\x00" in body) and (problem := utf8_problem(body)) is not None:
        raise ApiError(400, f"the body is not valid JSON: {problem}")


def _too_deep() -> ApiError:
    return ApiError(400, f"the body is not valid JSON: {TOO_DEEP}")


def _too_large(limit: int) -> ApiError:
    size = " (1 MB)" if limit == MAX_BODY_BYTES else ""
    return ApiError(413, f"the body is larger than {limit} bytes{size}")
