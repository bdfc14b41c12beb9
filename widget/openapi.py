"""``GET /openapi.json``: the API described as OpenAPI 3.1.

The paths are written out here; every body schema is generated from the
msgspec structs the service decodes with (and from :class:`offers.catalog.Offer`),
so the document says exactly what is accepted.
"""

from typing import Any

import msgspec
import msgspec.inspect

from offers.catalog import Offer
from offers.rank_request import RankRequest
from offers.reports import GROUP_BY
from widget import schemas
from widget.bodies import MAX_BODY_BYTES

_REF = "#/components/schemas/{name}"
_STRUCTS = (
    RankRequest,
    schemas.EventsRequest,
    schemas.ConversionRequest,
    schemas.RankResponse,
    schemas.WidgetResponse,
    schemas.EventsResponse,
    schemas.ConversionResponse,
    schemas.Health,
    schemas.ErrorBody,
    Offer,
)
_ERROR_MEANINGS = {
    400: "The body is not JSON, or a tracking token is forged, altered or expired.",
    401: "No key, or an unknown key.",
    403: "The key may not do this, or the request's Origin is not allowed.",
    404: "No such resource.",
    409: "An offer with this id already exists.",
    413: f"The body is larger than {MAX_BODY_BYTES} bytes.",
    422: "The body is JSON but not valid; `field` names the culprit.",
    429: "Too much waiting to be logged; retry after `Retry-After` seconds.",
    503: "The store did not answer (down or restarting): nothing was saved; retry after "
    "`Retry-After` seconds.",
}
_PUBLISHABLE = [{"publishableKey": []}, {"secretKey": []}]
_SECRET = [{"secretKey": []}]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF.format(name=name)}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    return {str(status): _json(_ref("ErrorBody"), _ERROR_MEANINGS[status]) for status in statuses}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


_REPORT = {
    "type": "object",
    "properties": {
        "since": {"type": "string", "format": "date"},
        "until": {"type": "string", "format": "date"},
        "totals": {"type": "object"},
        "groups": {
            "type": "array",
            "items": {"type": "object", "properties": {"key": {"type": "string"}}},
        },
        "holdout": {"type": "object"},
    },
    "required": ["since", "until", "totals", "groups", "holdout"],
}


_ARCHIVED = _json(
    _ref("ErrorBody"),
    "The offer is archived, and the change would pause or resume it: archived is for good.",
)


_DEBUG = {
    "name": "debug",
    "in": "query",
    "required": False,
    "description": "`1` (secret key only, else 403): add `debug`, why each offer was not "
    "shown, and record nothing; the offers then carry no tracking token.",
    "schema": {"type": "string", "enum": ["0", "1", "false", "true", "no", "yes", "off", "on"]},
}


def _offer_id() -> list[dict[str, Any]]:
    return [{"name": "offer_id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _paths() -> dict[str, Any]:
    offer_list = {
        "type": "object",
        "properties": {"offers": {"type": "array", "items": _ref("Offer")}},
        "required": ["offers"],
    }
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        "/v1/rank": {
            "post": {
                "summary": "Rank offers for an order",
                "description": "At most `limit` offers, never more than the shop's cap; possibly "
                "none (also for a holdout customer). A page may send its publishable key as the "
                "body field `key`.",
                "security": _PUBLISHABLE,
                "parameters": [_DEBUG],
                "requestBody": _body("RankRequest"),
                "responses": {
                    "200": _json(_ref("RankResponse"), "The offers to show, best first."),
                    **_errors(400, 401, 403, 413, 422, 429),
                },
            }
        },
        "/v1/widget": {
            "post": {
                "summary": "Rank and render the offers fragment",
                "description": "With `Accept: text/html` the fragment itself; otherwise JSON with "
                "the fragment "
                "and each shown offer's tracking token. No offers: an empty fragment.",
                "security": _PUBLISHABLE,
                "parameters": [_DEBUG],
                "requestBody": _body("RankRequest"),
                "responses": {
                    "200": {
                        "description": "The fragment.",
                        "content": {
                            "application/json": {"schema": _ref("WidgetResponse")},
                            **html["content"],
                        },
                    },
                    **_errors(400, 401, 403, 413, 422, 429),
                },
            }
        },
        "/v1/events": {
            "post": {
                "summary": "Record a batch of events about shown offers",
                "description": "Idempotent: the same event (type, token) sent twice counts once.",
                "security": _PUBLISHABLE,
                "requestBody": _body("EventsRequest"),
                "responses": {
                    "202": _json(_ref("EventsResponse"), "Accepted."),
                    **_errors(400, 401, 403, 404, 413, 422, 429, 503),
                },
            }
        },
        "/v1/click/{token}": {
            "get": {
                "summary": "Record a click and go to the offer",
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "303": {
                        "description": "To the offer's `cta_url`.",
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    },
                    **_errors(400, 403, 404),
                },
            }
        },
        "/v1/conversions": {
            "post": {
                "summary": "Attribute a conversion to a shown offer",
                "security": _SECRET,
                "requestBody": _body("ConversionRequest"),
                "responses": {
                    "201": _json(_ref("ConversionResponse"), "Recorded."),
                    "200": _json(
                        _ref("ConversionResponse"), "Already recorded (`recorded` is false)."
                    ),
                    **_errors(400, 401, 403, 404, 413, 422, 503),
                },
            }
        },
        "/v1/offers": {
            "get": {
                "summary": "List offers",
                "security": _SECRET,
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["active", "paused", "archived"]},
                    }
                ],
                "responses": {
                    "200": _json(offer_list, "The shop's offers."),
                    **_errors(401, 403, 422, 503),
                },
            },
            "post": {
                "summary": "Create an offer",
                "security": _SECRET,
                "requestBody": _body("Offer"),
                "responses": {
                    "201": _json(_ref("Offer"), "Created."),
                    **_errors(400, 401, 403, 409, 413, 422, 503),
                },
            },
        },
        "/v1/offers/{offer_id}": {
            "parameters": _offer_id(),
            "get": {
                "summary": "One offer",
                "security": _SECRET,
                "responses": {
                    "200": _json(_ref("Offer"), "The offer."),
                    **_errors(401, 403, 404, 503),
                },
            },
            "put": {
                "summary": "Create or replace an offer",
                "security": _SECRET,
                "requestBody": _body("Offer"),
                "responses": {
                    "200": _json(_ref("Offer"), "Replaced."),
                    "201": _json(_ref("Offer"), "Created."),
                    **_errors(400, 401, 403, 413, 422, 503),
                    "409": _json(
                        _ref("ErrorBody"),
                        f"{_ARCHIVED['description']} Or, rarely, the offer was created and "
                        "deleted by other requests while this one ran: send it again.",
                    ),
                },
            },
            "patch": {
                "summary": "Change some fields of an offer",
                "description": "A JSON Merge Patch (RFC 7386): `null` removes a field, objects "
                "such as `targeting` and `caps` merge. The result is validated as a whole offer.",
                "security": _SECRET,
                "requestBody": {
                    "required": True,
                    "content": {
                        media: {"schema": {"type": "object"}}
                        for media in ("application/merge-patch+json", "application/json")
                    },
                },
                "responses": {
                    "200": _json(_ref("Offer"), "Changed."),
                    **_errors(400, 401, 403, 404, 413, 422, 503),
                    "409": _ARCHIVED,
                },
            },
            "delete": {
                "summary": "Delete an offer",
                "security": _SECRET,
                "responses": {"204": {"description": "Deleted."}, **_errors(401, 403, 404, 503)},
            },
        },
        "/v1/report": {
            "get": {
                "summary": "Online performance over a period, grouped",
                "description": "Days `since` to `until` (ISO dates, both included; by default "
                "the last 30 days). `format=csv` answers one row per group and a totals row; "
                "the first column, `row`, says which (`group` or `total`).",
                "security": _SECRET,
                "parameters": [
                    _query("since", {"type": "string", "format": "date"}),
                    _query("until", {"type": "string", "format": "date"}),
                    _query("group_by", {"enum": list(GROUP_BY)}),
                    _query("format", {"enum": ["json", "csv"]}),
                ],
                "responses": {
                    "200": {
                        "description": "`{since, until, totals, groups: [{key, ...}], holdout}`; "
                        "totals and each group hold transactions, impressions, views, clicks, "
                        "dismissals, conversions, revenue, ctr, conversion_rate and rpt.",
                        "content": {
                            "application/json": {"schema": _REPORT},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(401, 403, 422, 503),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness, which model ranks, and the feedback log's backlog",
                "responses": {
                    "200": _json(
                        _ref("Health"),
                        "`model.fallback` is true when ranking by popularity, with the `reason`; "
                        "`model.rejected` says why a newly published model was not loaded; "
                        "`feedback_log.failing_since` is set while the store refuses writes.",
                    )
                },
            }
        },
        "/widget.js": {
            "get": {
                "summary": "The snippet",
                "responses": {
                    "200": {
                        "description": "JavaScript (gzipped when the request accepts gzip).",
                        "content": {"text/javascript": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "Not modified."},
                    **_errors(404),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")},
            }
        },
        "/demo": {
            "get": {
                "summary": "The demo shop's order-confirmation page (`encore demo` only)",
                "responses": {"200": {"description": "HTML.", **html}, **_errors(404)},
            }
        },
    }


def _mark_datetimes(components: dict[str, Any]) -> None:
    """msgspec describes a datetime as a bare string; say which strings are RFC 3339 times."""
    for info in msgspec.inspect.multi_type_info(_STRUCTS):
        for struct in _structs_in(info):
            properties = components[struct.cls.__name__]["properties"]
            for field in struct.fields:
                if _is_datetime(field.type):
                    _add_format(properties[field.encode_name])


def _structs_in(info: Any, seen: set | None = None) -> list[Any]:
    seen = set() if seen is None else seen
    found = []
    if isinstance(info, msgspec.inspect.StructType):
        if info.cls in seen:
            return []
        seen.add(info.cls)
        found.append(info)
        for field in info.fields:
            found += _structs_in(field.type, seen)
    for name in ("types", "item_type", "value_type"):
        for inner in _as_list(getattr(info, name, None)):
            found += _structs_in(inner, seen)
    return found


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, tuple) else [value]


def _is_datetime(info: Any) -> bool:
    if isinstance(info, msgspec.inspect.UnionType):
        return any(isinstance(t, msgspec.inspect.DateTimeType) for t in info.types)
    return isinstance(info, msgspec.inspect.DateTimeType)


def _add_format(schema: dict[str, Any]) -> None:
    for branch in schema.get("anyOf", [schema]):
        if branch.get("type") == "string":
            branch["format"] = "date-time"


def _offer_rules(components: dict[str, Any]) -> None:
    """The rules :func:`offers.catalog.parse_offer` checks beyond the struct's types."""
    offer = components["Offer"]
    properties = offer["properties"]
    properties["id"].update(minLength=1, maxLength=128, pattern=r"^\S(.*\S)?$")
    properties["title"].update(pattern=r"\S")
    properties["value"]["minimum"] = 0
    for cap in components["Caps"]["properties"].values():
        cap["anyOf"][0]["minimum"] = 0
    for bound in ("starts_at", "ends_at"):  # a date alone is midnight UTC
        properties[bound]["anyOf"].insert(1, {"type": "string", "format": "date"})
    offer["allOf"] = [
        {
            "if": {"properties": {"kind": {"const": kind}}},
            "then": {
                "required": [field],
                "properties": {field: {"type": "string", "minLength": 1}},
            },
        }
        for kind, field in (("cross_sell", "sku"), ("partner", "advertiser"))
    ]


def openapi_document() -> dict[str, Any]:
    _, components = msgspec.json.schema_components(_STRUCTS, ref_template=_REF)
    _mark_datetimes(components)
    _offer_rules(components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Encore",
            "version": "1",
            "description": "Post-purchase offers: rank, render, track. Errors are "
            '`{"error": {"code", "message", "field"}}`.',
        },
        "paths": _paths(),
        "components": {
            "schemas": components,
            "securitySchemes": {
                "publishableKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "pk_...: rank, render, events",
                },
                "secretKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "sk_...: everything, server-side",
                },
            },
        },
    }
