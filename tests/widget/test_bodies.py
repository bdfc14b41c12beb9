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


def test_a_bad_content_length_is_400(client):
    response = client.post("/v1/rank", content=b"{}", headers={"Content-Length": "abc"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "key", "body"),
    [
        ("/v1/rank", PK, b'{"placement": "thank_you", "order": {"id": "\xff\xfe", "items": []}}'),
        ("/v1/offers", SK, b'{"id": "p-\xff", "kind": "partner"}'),
    ],
    ids=["rank", "offers"],
)
def test_text_that_is_not_utf8_is_400_not_a_server_error(client, path, key, body):
    response = client.post(path, content=body, headers=auth(key))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "bad_request",
        "message": "the body is not valid JSON: not UTF-8 text (byte 0xff)",
        "field": None,
    }
