"""Every refusal is the JSON error body, with the right status and code."""

import sys
from collections.abc import Iterator

import pytest

from tests.widget.conftest import ORIGIN, PK, SK, TestClient, auth
from widget.app import create_app

_OFFER = {"id": "new-offer", "kind": "partner", "title": "Hello", "advertiser": "Acme"}

CASES = [
    pytest.param(
        "POST", "/v1/rank", {"content": b"{not json"}, 400, "bad_request", None, id="400-not-json"
    ),
    pytest.param("POST", "/v1/rank", {"content": b""}, 400, "bad_request", None, id="400-empty"),
    pytest.param(
        "GET", "/v1/click/abc.def.ghi", {}, 400, "invalid_token", "token", id="400-forged-token"
    ),
    pytest.param("POST", "/v1/rank", {"json": {"order": {}}}, 401, "unauthorized", None, id="401"),
    pytest.param("GET", "/v1/offers", {"headers": auth(PK)}, 403, "forbidden", None, id="403"),
    pytest.param(
        "GET",
        "/v1/offers/none",
        {"headers": auth(SK)},
        404,
        "not_found",
        "offer_id",
        id="404-offer",
    ),
    pytest.param("GET", "/v1/nothing", {}, 404, "not_found", None, id="404-route"),
    pytest.param("DELETE", "/v1/rank", {}, 405, "method_not_allowed", None, id="405"),
    pytest.param(
        "POST",
        "/v1/offers",
        {"json": {**_OFFER, "id": "xs-sku-00014"}, "headers": auth(SK)},
        409,
        "conflict",
        "id",
        id="409",
    ),
    pytest.param(
        "POST",
        "/v1/rank",
        {"content": b"{" + b" " * 1_048_576 + b"}"},
        413,
        "payload_too_large",
        None,
        id="413",
    ),
    pytest.param(
        "POST",
        "/v1/rank",
        {"json": {"order": {"items": [{"sku": "a", "price": -1}]}, "key": PK}},
        422,
        "invalid",
        "order.items[0].price",
        id="422",
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code", "field"), CASES)
def test_every_refusal_is_the_json_error_body(client, method, path, kwargs, status, code, field):
    response = client.request(method, path, **kwargs)

    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]


def test_a_405_names_the_allowed_methods(client):
    response = client.delete("/v1/offers")

    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_validation_messages_name_the_field(client):
    body = {"order": {"items": [{"sku": "a", "quantity": 0}]}, "key": PK}

    response = client.post("/v1/rank", json=body)

    assert response.json()["error"] == {
        "code": "invalid",
        "message": "`order.items[0].quantity`: expected `float` > 0.0",
        "field": "order.items[0].quantity",
    }


@pytest.mark.parametrize(
    ("path", "key", "body", "field", "message"),
    [
        pytest.param(
            "/v1/rank", PK, b"[]", None, "the body must be a JSON object, got `array`", id="a-list"
        ),
        pytest.param(
            "/v1/events",
            PK,
            b'"click"',
            None,
            "the body must be a JSON object, got `str`",
            id="text",
        ),
        pytest.param(
            "/v1/conversions",
            SK,
            b"null",
            None,
            "the body must be a JSON object, got `null`",
            id="null",
        ),
        pytest.param(
            "/v1/rank",
            PK,
            b'{"order": {}, "attributes": {"tags": ["a", "b"]}}',
            "attributes",
            "`attributes`: expected `bool | int | float | str | null`, got `array`",
            id="an-attribute-that-is-a-list",
        ),
        pytest.param(
            "/v1/offers",
            SK,
            b'{"id": "big", "value": 1' + b"0" * 5000 + b"}",
            None,
            "integer value out of range",
            id="an-offer-number-of-5000-digits",
        ),
    ],
)
def test_a_422_names_the_field_at_fault_or_none_never_a_type_or_a_placeholder(
    client, path, key, body, field, message
):
    response = client.post(path, content=body, headers=auth(key))

    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid", "message": message, "field": field}


def test_a_missing_field_is_named(client):
    response = client.post("/v1/rank", json={"key": PK})

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "order"


def test_too_long_customer_id_is_422(client, rank_body):
    body = rank_body()
    body["customer"]["id"] = "x" * 129

    response = client.post("/v1/rank", json=body, headers=auth())

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "customer"


def test_nul_characters_are_refused(client, rank_body):
    body = rank_body()
    body["customer"]["id"] = "a\u0000b"

    response = client.post("/v1/rank", json=body, headers=auth())

    assert response.status_code == 422
    assert response.json()["error"]["message"] == "text must not contain NUL characters (\\u0000)"


@pytest.fixture
def python_recursion_limit() -> Iterator[None]:
    """Python's own limit, as a server runs with: other tests' libraries (hypothesis) raise it."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    yield
    sys.setrecursionlimit(limit)


_DEEP = b'{"placement": "thank_you", "x": ' + b"[" * 2000 + b"]" * 2000 + b"}"


@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("POST", "/v1/rank", PK),
        ("POST", "/v1/widget", PK),
        ("POST", "/v1/events", PK),
        ("POST", "/v1/offers", SK),
        ("PUT", "/v1/offers/xs-sku-00014", SK),
        ("PATCH", "/v1/offers/xs-sku-00014", SK),
    ],
)
def test_json_nested_thousands_deep_is_a_400_not_a_500(
    client, method, path, key, python_recursion_limit
):
    response = client.request(method, path, content=_DEEP, headers=auth(key))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "the body is not valid JSON: nested too deeply (arrays or objects over ~1,000 levels)"
    )


def test_a_conversion_nested_thousands_deep_is_refused_at_its_unknown_field(client):
    response = client.post("/v1/conversions", content=_DEEP, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "placement"


def test_a_bug_is_a_json_500_naming_the_request_not_a_traceback(make_settings, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr("widget.ranking.Ranker.rank", broken)
    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as client:
        response = client.post("/v1/rank", json={"order": {"items": []}}, headers=auth())
        from_the_shop = client.post(
            "/v1/rank", json={"order": {"items": []}}, headers={**auth(), "Origin": ORIGIN}
        )

    [request_id] = response.headers.get_list("x-request-id")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "internal_error",
            "message": f"internal error (request {request_id})",
            "field": None,
        }
    }
    assert "secret internals" not in response.text
    assert f"(request {request_id})" in caplog.text
    assert "RuntimeError: secret internals" in caplog.text
    # a page's script can read the 500 (and its request id), not a CORS failure
    assert from_the_shop.status_code == 500
    assert from_the_shop.headers["access-control-allow-origin"] == ORIGIN
    assert from_the_shop.headers["vary"] == "Origin"
    assert "access-control-allow-origin" not in response.headers
