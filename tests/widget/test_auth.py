import json

import pytest
from starlette.responses import PlainTextResponse
from starlette.testclient import TestClient

from tests.widget.conftest import ORIGIN, PK, SK, auth
from widget.auth import Cors, OriginList


def _error(status: int, message: str, field: str | None = None) -> dict:
    codes = {401: "unauthorized", 403: "forbidden"}
    return {"error": {"code": codes[status], "message": message, "field": field}}


def test_rank_without_a_key_is_401(client, rank_body):
    response = client.post("/v1/rank", json=rank_body())

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == _error(
        401, "missing API key: send `Authorization: Bearer pk_...` or the body field `key`"
    )


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(auth("pk_wrong"), id="unknown-publishable"),
        pytest.param(auth("sk_wrong"), id="unknown-secret"),
        pytest.param({"Authorization": "Basic abc"}, id="not-bearer"),
    ],
)
def test_rank_with_a_wrong_key_is_401(client, rank_body, headers):
    response = client.post("/v1/rank", json=rank_body(), headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_rank_with_an_unknown_body_key_is_401(client, rank_body):
    response = client.post("/v1/rank", json={**rank_body(), "key": "pk_wrong"})

    assert response.status_code == 401
    assert response.json() == _error(401, "unknown API key")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/offers"),
        ("POST", "/v1/offers"),
        ("GET", "/v1/offers/x"),
        ("POST", "/v1/conversions"),
    ],
)
def test_publishable_key_on_a_secret_endpoint_is_403(client, method, path):
    response = client.request(method, path, headers=auth(PK), json={})

    assert response.status_code == 403
    assert response.json() == _error(
        403,
        "this endpoint needs the secret key (sk_...); "
        "a publishable key may only rank, render and send events",
    )


def test_secret_key_on_a_secret_endpoint_without_origin_is_allowed(client):
    assert client.get("/v1/offers", headers=auth(SK)).status_code == 200


def test_secret_key_may_rank_server_to_server(client, rank_body):
    assert client.post("/v1/rank", json=rank_body(), headers=auth(SK)).status_code == 200


@pytest.mark.parametrize(
    "headers", [pytest.param({}, id="alone"), pytest.param(auth(PK), id="beside-a-header-key")]
)
def test_secret_key_in_a_page_body_is_403(client, rank_body, headers):
    body = json.dumps({**rank_body(), "key": SK})

    response = client.post("/v1/rank", content=body, headers=headers)

    assert response.status_code == 403
    assert response.json()["error"]["field"] == "key"


def test_publishable_key_from_a_foreign_origin_is_403(client, rank_body):
    headers = {**auth(), "Origin": "https://evil.example"}

    response = client.post("/v1/rank", json=rank_body(), headers=headers)

    assert response.status_code == 403
    assert response.json() == _error(
        403, "origin https://evil.example is not allowed for this shop (ENCORE_ALLOWED_ORIGINS)"
    )
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    "origin",
    [pytest.param(ORIGIN, id="allowed"), pytest.param("http://testserver", id="same-origin")],
)
def test_publishable_key_from_an_allowed_or_the_own_origin_is_served(client, rank_body, origin):
    response = client.post("/v1/rank", json=rank_body(), headers={**auth(), "Origin": origin})

    assert response.status_code == 200


def test_any_origin_when_the_shop_allows_star(make_client, rank_body):
    client = make_client(allowed_origins=("*",))

    response = client.post(
        "/v1/rank", json=rank_body(), headers={**auth(), "Origin": "https://a.example"}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://a.example"


def test_cors_headers_only_for_allowed_origins(client, rank_body):
    allowed = client.post("/v1/rank", json=rank_body(), headers={**auth(), "Origin": ORIGIN})
    refused = client.get("/healthz", headers={"Origin": "https://evil.example"})

    assert allowed.headers["access-control-allow-origin"] == ORIGIN
    assert allowed.headers["vary"] == "Origin"
    assert not [name for name in refused.headers if name.startswith("access-control-")]


def test_every_answer_varies_by_origin_and_carries_its_request_id(client, rank_body):
    response = client.post("/v1/rank", json=rank_body())

    assert response.status_code == 401
    assert response.headers["vary"] == "Origin"
    assert len(response.headers["x-request-id"]) == 24
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        pytest.param(ORIGIN, ORIGIN, id="allowed"),
        pytest.param("https://evil.example", None, id="refused"),
        pytest.param(None, None, id="no origin"),
    ],
)
def test_cors_joins_the_vary_header_an_answer_already_has(origin, allowed):
    async def accept_dependent(scope, receive, send):
        await PlainTextResponse("ok", headers={"Vary": "Accept"})(scope, receive, send)

    app = Cors(accept_dependent, OriginList((ORIGIN,)))

    response = TestClient(app).get("/", headers={"Origin": origin} if origin else {})

    assert response.headers.get_list("vary") == ["Accept, Origin"]
    assert response.headers.get("access-control-allow-origin") == allowed


def test_preflight_from_an_allowed_origin(client):
    response = client.options(
        "/v1/rank",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET, POST, PUT, PATCH, DELETE"
    assert "authorization" in response.headers["access-control-allow-headers"].lower()
    assert response.headers["access-control-max-age"] == "600"
    assert response.content == b""


def test_preflight_from_a_foreign_origin_is_a_json_403(client):
    response = client.options(
        "/v1/rank",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )

    assert response.status_code == 403
    assert response.json() == _error(
        403, "origin https://evil.example is not allowed for this shop"
    )
    assert "access-control-allow-origin" not in response.headers


def test_preflight_for_a_method_the_api_does_not_take_is_a_json_403(client):
    response = client.options(
        "/v1/rank",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "TRACE"},
    )

    assert response.status_code == 403
    assert response.json() == _error(403, "Disallowed CORS method")
    assert "access-control-allow-origin" not in response.headers


def test_a_malformed_host_header_is_not_a_server_error(client, rank_body):
    headers = {**auth(), "Origin": "https://evil.example", "Host": "[::1"}

    response = client.post("/v1/rank", json=rank_body(), headers=headers)

    assert response.status_code == 403
