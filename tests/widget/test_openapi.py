from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.routing import Route

from tests.widget.conftest import SK, postgres_with_shop
from widget import admin, api, demo
from widget.app import create_app


def test_every_route_is_documented(client):
    document = client.get("/openapi.json").json()
    routes = [
        r
        for r in (*api.routes, *demo.routes, *admin.routes)
        if isinstance(r, Route) and not r.path.startswith("/admin")
    ]

    assert document["openapi"] == "3.1.0"
    for route in routes:
        documented = document["paths"][route.path]
        assert {m.lower() for m in route.methods} - {"head"} <= set(documented)


def test_every_body_schema_is_generated_from_the_decoders(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["RankRequest"]["required"] == ["order"]
    assert schemas["Item"]["properties"]["quantity"] == {
        "anyOf": [{"type": "integer", "minimum": 1, "maximum": 100_000}, {"type": "null"}],
        "default": 1,
    }
    assert schemas["Offer"]["additionalProperties"] is False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def api_schema(request, make_settings, shop_data) -> Iterator[schemathesis.BaseSchema]:
    overrides = {}
    if request.param == "postgresql":  # it refuses what SQLite stores: NUL, over-long text
        overrides["database_url"] = postgres_with_shop(
            request.getfixturevalue("postgres_url"), shop_data
        )
    app = create_app(make_settings(**overrides))
    config = schemathesis.Config.from_dict(
        {"seed": 7, "generation": {"mode": "all"}, "headers": {"Authorization": f"Bearer {SK}"}}
    )
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    shutdown_lifespans()  # the app's lifespan: write its log, close its store


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_fuzzed_requests_never_get_a_server_error(case):
    response = case.call()

    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
