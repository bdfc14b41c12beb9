import gzip
import json
import zlib
from collections.abc import Iterator

import pytest

from tests.widget.conftest import PK, SK, auth

ONE_MB = 1_048_576


def _chunks(total: int, size: int = 65_536) -> Iterator[bytes]:
    yield b'{"key": "' + PK.encode() + b'", "pad": "'
    sent = 0
    while sent < total:
        yield b"x" * size
        sent += size
    yield b'"}'


def test_a_body_declared_over_1_mb_is_413(client):
    response = client.post("/v1/rank", content=b"x" * (ONE_MB + 1))

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "the body is larger than 1048576 bytes (1 MB)",
        "field": None,
    }


def test_a_streamed_body_over_1_mb_is_413_without_content_length(client):
    response = client.post("/v1/rank", content=_chunks(ONE_MB + 1))

    assert response.request.headers.get("content-length") is None
    assert response.status_code == 413


def test_a_body_of_exactly_1_mb_is_read(client, rank_body):
    body = b'{"key": "' + PK.encode() + b'", "order": {}, "attributes": {"pad": "'
    body += b"x" * (ONE_MB - len(body) - 3) + b'"}}'

    response = client.post("/v1/rank", content=body)

    assert len(body) == ONE_MB
    assert response.status_code == 200


def _raw_deflate(body: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(body) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("gzip", lambda body: gzip.compress(body[:9]) + gzip.compress(body[9:])),  # 2 members
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("identity", bytes),
    ],
    ids=["gzip", "gzip-members", "deflate", "raw-deflate", "identity"],
)
def test_a_compressed_body_is_read(client, rank_body, encoding, compress):
    body = json.dumps(rank_body()).encode()

    response = client.post(
        "/v1/rank", content=compress(body), headers={**auth(), "Content-Encoding": encoding}
    )

    assert response.status_code == 200
    assert response.json()["offers"]


@pytest.mark.parametrize(
    ("encoding", "content", "status", "message"),
    [
        ("br", b"{}", 400, "Content-Encoding `br` is not supported: send gzip, deflate or none"),
        ("gzip", b"{}", 400, "the body is not valid gzip data"),
        ("gzip", gzip.compress(b"{}") + b"junk", 400, "the body is not valid gzip data"),
        ("gzip", gzip.compress(b"{}")[:-12], 400, "the body is not valid gzip data (cut short)"),
        (
            "gzip",
            gzip.compress(b" " * (ONE_MB + 1)),
            413,
            "the body is larger than 1048576 bytes (1 MB)",
        ),
    ],
    ids=["unsupported", "not-gzip", "trailing-bytes", "cut-short", "bomb"],
)
def test_a_body_that_cannot_be_decompressed_is_a_clear_4xx(
    client, encoding, content, status, message
):
    response = client.post(
        "/v1/rank", content=content, headers={**auth(), "Content-Encoding": encoding}
    )

    assert response.status_code == status
    assert response.json()["error"]["message"] == message


def test_a_bad_content_length_is_400(client):
    response = client.post("/v1/rank", content=b"{}", headers={"Content-Length": "abc"})

    assert response.status_code == 400


def test_a_body_sent_as_utf16_is_named_so(client):
    body = '{"placement": "thank_you", "order": {"id": "o1", "items": []}}'.encode("utf-16-le")

    response = client.post("/v1/rank", content=body, headers=auth(PK))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "the body is not valid JSON: UTF-16 text, not UTF-8"
    )


@pytest.mark.parametrize(
    ("path", "key", "body"),
    [
        ("/v1/rank", PK, b'{"placement": "thank_you", "order": {"id": "\xff\xfe", "items": []}}'),
        ("/v1/offers", SK, b'{"id": "p-\xff", "kind": "partner"}'),
        ("/v1/rank", PK, b'{"order": {"id": "o1", "items": []}, "\xff\xfe": 1}'),
        ("/v1/widget", PK, b'{"order": {"id": "o1", "items": [], "z": "\xff"}}'),
        ("/v1/events", PK, b'{"events": [], "note\xff": 1}'),
    ],
    ids=["rank", "offers", "rank-unknown-key", "widget-unknown-field", "events-unknown-key"],
)
def test_text_that_is_not_utf8_is_400_not_a_server_error(client, path, key, body):
    response = client.post(path, content=body, headers=auth(key))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "the body is not valid JSON: not UTF-8 text (byte 0xff)",
        "field": None,
    }
