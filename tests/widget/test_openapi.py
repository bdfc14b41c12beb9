from collections.abc import Iterator
from typing import Any

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
        "anyOf": [{"type": "number", "exclusiveMinimum": 0, "maximum": 100_000}, {"type": "null"}],
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
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    _close_responses(schema.raw_schema)
    yield schema
    shutdown_lifespans()  # the app's lifespan: write its log, close its store


def _close_responses(document: dict[str, Any]) -> None:
    """Every schema that answers use refuses properties it does not list, so that a field the
    service answers and the document leaves out fails the response check (the document itself
    leaves them open: a client must not break on a field added later)."""
    schemas = document["components"]["schemas"]
    operations = [op for item in document["paths"].values() for op in item.values()]
    unseen = _refs([op["responses"] for op in operations if isinstance(op, dict)])
    closed: set[str] = set()
    while unseen:
        name = unseen.pop()
        schemas[name]["additionalProperties"] = False
        closed.add(name)
        unseen |= _refs(schemas[name]) - closed


def _refs(node: Any) -> set[str]:
    """The names of the component schemas ``node`` refers to, at any depth."""
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[1]} if "$ref" in node else set()
        return found.union(*map(_refs, node.values()))
    if isinstance(node, list):
        return set().union(*map(_refs, node))
    return set()


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
