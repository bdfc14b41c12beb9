"""/v1/offers: the catalog over HTTP, validated by the catalog's own rules."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import msgspec
import pytest
from sqlalchemy.exc import OperationalError

from offers.catalog import Offer
from tests.widget.conftest import SK, auth

PARTNER = {
    "id": "p-new",
    "kind": "partner",
    "title": "Free coffee for a month",
    "advertiser": "Beanly",
    "value": 900.0,
    "cta_url": "https://beanly.example/encore",
}


def test_create_then_read_an_offer(client):
    created = client.post("/v1/offers", json=PARTNER, headers=auth(SK))
    read = client.get("/v1/offers/p-new", headers=auth(SK))

    assert created.status_code == 201
    assert created.headers["location"] == "http://testserver/v1/offers/p-new"
    assert created.json() == {**PARTNER, "targeting": {}, "caps": {}, "status": "active"}
    assert read.status_code == 200
    assert read.json() == created.json()


def test_a_date_alone_is_stored_as_midnight_utc(client):
    offer = {**PARTNER, "starts_at": "2026-12-01", "ends_at": "2027-01-01"}
    created = client.post("/v1/offers", json=offer, headers=auth(SK))

    assert created.status_code == 201
    stored = client.get("/v1/offers/p-new", headers=auth(SK)).json()
    assert (stored["starts_at"], stored["ends_at"]) == (
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    )


def test_a_time_without_a_zone_beside_a_date_is_utc_not_a_500(client):
    offer = {**PARTNER, "starts_at": "2026-12-01T10:00:00", "ends_at": "2026-12-24"}
    created = client.post("/v1/offers", json=offer, headers=auth(SK))

    assert created.status_code == 201
    stored = client.get("/v1/offers/p-new", headers=auth(SK)).json()
    assert (stored["starts_at"], stored["ends_at"]) == (
        "2026-12-01T10:00:00Z",
        "2026-12-24T00:00:00Z",
    )


def test_catalog_writes_reach_ranking_at_once(client, rank_body):
    def ranked() -> list[dict]:
        body = rank_body(customer=None)
        return client.post("/v1/rank", json=body, headers=auth()).json()["offers"]

    # a cross-sell scores by its sku, so a copy under another id scores the same
    shown = next(offer["id"] for offer in ranked() if offer["kind"] == "cross_sell")
    copy = {**client.get(f"/v1/offers/{shown}", headers=auth(SK)).json(), "id": "copy"}
    client.delete(f"/v1/offers/{shown}", headers=auth(SK))
    after_delete = [offer["id"] for offer in ranked()]
    client.post("/v1/offers", json=copy, headers=auth(SK))
    after_create = [offer["id"] for offer in ranked()]

    assert shown not in after_delete and "copy" not in after_delete
    assert "copy" in after_create


def test_list_offers_by_status(client):
    client.post("/v1/offers", json={**PARTNER, "status": "paused"}, headers=auth(SK))

    everything = client.get("/v1/offers", headers=auth(SK)).json()["offers"]
    paused = client.get("/v1/offers", params={"status": "paused"}, headers=auth(SK)).json()[
        "offers"
    ]

    assert "p-new" in [o["id"] for o in everything]
    assert "p-new" in [o["id"] for o in paused]
    assert {o["status"] for o in paused} == {"paused"}
    assert {o["status"] for o in everything} == {"active", "paused"}  # active ones say so too
    assert len(paused) < len(everything)


def test_put_replaces_or_creates(client):
    created = client.put("/v1/offers/p-new", json=PARTNER, headers=auth(SK))
    replaced = client.put(
        "/v1/offers/p-new", json={**PARTNER, "title": "Two months"}, headers=auth(SK)
    )

    assert created.status_code == 201
    assert (replaced.status_code, replaced.json()["title"]) == (200, "Two months")
    assert client.get("/v1/offers/p-new", headers=auth(SK)).json()["title"] == "Two months"


def test_put_takes_the_id_from_the_url(client):
    body = {key: value for key, value in PARTNER.items() if key != "id"}

    response = client.put("/v1/offers/from-url", json=body, headers=auth(SK))

    assert (response.status_code, response.json()["id"]) == (201, "from-url")


def test_patch_pauses_an_offer_and_ranking_stops_showing_it(client, rank_body):
    def ranked() -> list[str]:
        body = rank_body(customer=None)
        return [
            o["id"] for o in client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
        ]

    shown = ranked()[0]
    before = client.get(f"/v1/offers/{shown}", headers=auth(SK)).json()

    patched = client.patch(f"/v1/offers/{shown}", json={"status": "paused"}, headers=auth(SK))

    assert patched.status_code == 200
    assert patched.json() == {**before, "status": "paused"}
    assert client.get(f"/v1/offers/{shown}", headers=auth(SK)).json() == patched.json()
    assert shown not in ranked()


def test_patches_sent_at_once_are_all_kept(client):
    client.post("/v1/offers", json=PARTNER, headers=auth(SK))
    start = threading.Barrier(12)

    def patch(n: int) -> int:
        start.wait()
        change = {"attributes": {f"k{n}": n}}
        return client.patch("/v1/offers/p-new", json=change, headers=auth(SK)).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(patch, range(12)))

    assert statuses == [200] * 12
    stored = client.get("/v1/offers/p-new", headers=auth(SK)).json()
    assert stored["attributes"] == {f"k{n}": n for n in range(12)}


@pytest.mark.parametrize("method", ["post", "put"])
def test_one_new_offer_created_at_once_by_many_is_created_once(client, method):
    start = threading.Barrier(12)

    def create(n: int) -> int:
        offer = {**PARTNER, "title": f"by client {n}"}
        start.wait()
        if method == "post":
            return client.post("/v1/offers", json=offer, headers=auth(SK)).status_code
        return client.put("/v1/offers/p-new", json=offer, headers=auth(SK)).status_code

    with ThreadPoolExecutor(12) as pool:
        statuses = Counter(pool.map(create, range(12)))

    # POST: one creates, the others are told it exists; PUT: one creates, the others replace
    assert statuses == {201: 1, 409 if method == "post" else 200: 11}
    [stored] = [
        o for o in client.get("/v1/offers", headers=auth(SK)).json()["offers"] if o["id"] == "p-new"
    ]
    assert stored["title"].startswith("by client ")


def test_patch_merges_objects_and_null_removes_a_field(client):
    offer = {
        **PARTNER,
        "body": "Any roast",
        "targeting": {"countries": ["DE"], "min_order_total": 20},
    }
    client.post("/v1/offers", json=offer, headers=auth(SK))
    patch = {
        "body": None,
        "targeting": {"min_order_total": None, "devices": ["mobile"]},
        "caps": {"budget": 500},
    }

    patched = client.patch("/v1/offers/p-new", json=patch, headers=auth(SK)).json()

    assert "body" not in patched
    assert patched["targeting"] == {"countries": ["DE"], "devices": ["mobile"]}
    assert patched["caps"] == {"budget": 500.0}
    assert patched["title"] == PARTNER["title"]


@pytest.mark.parametrize(
    ("offer_id", "patch", "status", "field"),
    [
        pytest.param("p-new", {"advertiser": None}, 422, "advertiser", id="breaks-the-offer"),
        pytest.param("p-new", {"caps": {"budget": "lots"}}, 422, "caps.budget", id="wrong-type"),
        pytest.param("p-new", {"id": "other"}, 422, "id", id="another-id"),
        pytest.param("p-new", ["status", "paused"], 422, None, id="not-an-object"),
        pytest.param("nope", {"status": "paused"}, 404, "offer_id", id="no-such-offer"),
    ],
)
def test_a_bad_patch_is_refused_and_changes_nothing(client, offer_id, patch, status, field):
    client.post("/v1/offers", json=PARTNER, headers=auth(SK))

    response = client.patch(f"/v1/offers/{offer_id}", json=patch, headers=auth(SK))

    assert (response.status_code, response.json()["error"]["field"]) == (status, field)
    assert client.get("/v1/offers/p-new", headers=auth(SK)).json() == {
        **PARTNER,
        "targeting": {},
        "caps": {},
        "status": "active",
    }


@pytest.mark.parametrize(
    ("method", "body"),
    [
        pytest.param("PATCH", {"status": "active"}, id="patch-resume"),
        pytest.param("PATCH", {"status": "paused"}, id="patch-pause"),
        pytest.param("PUT", {**PARTNER, "status": "active"}, id="put-active"),
        pytest.param("PUT", PARTNER, id="put-without-status"),
    ],
)
def test_an_archived_offer_cannot_be_resumed_through_the_api(client, method, body):
    client.post("/v1/offers", json=PARTNER, headers=auth(SK))
    archived = client.patch("/v1/offers/p-new", json={"status": "archived"}, headers=auth(SK))

    response = client.request(method, "/v1/offers/p-new", json=body, headers=auth(SK))

    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "conflict",
        "message": "offer `p-new` is archived, and archived offers cannot be paused or "
        'resumed: create a new offer instead (a change that keeps `"status": "archived"` '
        "is allowed)",
        "field": "status",
    }
    assert client.get("/v1/offers/p-new", headers=auth(SK)).json() == archived.json()


def test_an_archived_offer_can_be_edited_and_stays_archived(client):
    client.post("/v1/offers", json=PARTNER, headers=auth(SK))
    client.patch("/v1/offers/p-new", json={"status": "archived"}, headers=auth(SK))

    patched = client.patch("/v1/offers/p-new", json={"title": "Renamed"}, headers=auth(SK))
    replaced = client.put(
        "/v1/offers/p-new", json={**PARTNER, "status": "archived"}, headers=auth(SK)
    )

    assert (patched.status_code, patched.json()["title"]) == (200, "Renamed")
    assert patched.json()["status"] == "archived"
    assert replaced.status_code == 200
    assert replaced.json() == {**PARTNER, "targeting": {}, "caps": {}, "status": "archived"}


def test_delete_an_offer(client, rank_body):
    client.post("/v1/offers", json=PARTNER, headers=auth(SK))

    deleted = client.delete("/v1/offers/p-new", headers=auth(SK))
    again = client.delete("/v1/offers/p-new", headers=auth(SK))
    offers = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"]

    assert (deleted.status_code, deleted.content) == (204, b"")
    assert again.status_code == 404
    assert "p-new" not in [offer["id"] for offer in offers]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        pytest.param(
            {**PARTNER, "kind": "cross_sell"},
            "sku",
            "offer (`p-new`): a cross_sell offer needs a `sku`",
            id="cross-sell-without-sku",
        ),
        pytest.param(
            {**PARTNER, "advertiser": None},
            "advertiser",
            "offer (`p-new`): a partner offer needs an `advertiser`",
            id="partner-without-advertiser",
        ),
        pytest.param(
            {**PARTNER, "value": "lots"},
            "value",
            "offer: `value`: expected `float`, got `str`",
            id="wrong-type",
        ),
        pytest.param(
            {**PARTNER, "caps": {"per_customer_per_day": -1}},
            "caps.per_customer_per_day",
            "offer (`p-new`): `caps.per_customer_per_day` must be >= 0",
            id="negative-cap",
        ),
        pytest.param(
            {key: v for key, v in PARTNER.items() if key != "title"},
            "title",
            "offer: object missing required field `title`",
            id="missing-title",
        ),
        pytest.param(
            {**PARTNER, "id": "x" * 129},
            "id",
            f"offer (`{'x' * 129}`): `id` must be at most 128 characters, "
            "without `/` or control characters",
            id="long-id",
        ),
        pytest.param([PARTNER], None, "expected an offer: a JSON object", id="not-an-object"),
    ],
)
def test_invalid_offers_are_422_naming_the_field(client, body, field, message):
    response = client.post("/v1/offers", json=body, headers=auth(SK))

    assert response.status_code == 422
    assert response.json() == {"error": {"code": "invalid", "message": message, "field": field}}


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "shown"),
    [
        pytest.param(
            "POST",
            "/v1/offers",
            b'{"id": "p-new", "kind": "partner", "title": "T", "advertiser": "A", "value": 1e400}',
            "value",
            "inf",
            id="post",
        ),
        pytest.param(
            "PUT",
            "/v1/offers/p-new",
            b'{"kind": "partner", "title": "T", "advertiser": "A", "value": 1e400}',
            "value",
            "inf",
            id="put",
        ),
        pytest.param("PATCH", "/v1/offers/p-new", b'{"value": 1e400}', "value", "inf", id="patch"),
        pytest.param(
            "PATCH",
            "/v1/offers/p-new",
            b'{"targeting": {"min_order_total": -1e400}}',
            "targeting.min_order_total",
            "-inf",
            id="nested",
        ),
        pytest.param(
            "PATCH",
            "/v1/offers/p-new",
            b'{"attributes": {"weight": 1e400}}',
            "attributes.weight",
            "inf",
            id="attribute",
        ),
    ],
)
def test_a_number_too_large_for_a_float_is_422_naming_its_field(
    client, method, path, body, field, shown
):
    stored = client.put("/v1/offers/p-new", json=PARTNER, headers=auth(SK)).json()

    response = client.request(method, path, content=body, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": f"offer (`p-new`): `{field}` must be a finite number, got {shown}",
        "field": field,
    }
    assert client.get("/v1/offers/p-new", headers=auth(SK)).json() == stored


def test_put_with_another_id_in_the_body_is_422(client):
    response = client.put("/v1/offers/p-new", json={**PARTNER, "id": "other"}, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "`id` must be `p-new` (the id in the URL)",
        "field": "id",
    }


def test_an_offer_stored_before_the_id_rules_can_still_be_read_changed_and_deleted(client):
    service = client.app_state["service"]
    legacy = msgspec.convert({**PARTNER, "id": "p1 "}, Offer)  # as an older version stored it
    service.store.save_offers(service.shop.id, [legacy])

    read = client.get("/v1/offers/p1%20", headers=auth(SK))
    patched = client.patch("/v1/offers/p1%20", json={"title": "Patched"}, headers=auth(SK))
    replaced = client.put("/v1/offers/p1%20", json={**PARTNER, "id": "p1 "}, headers=auth(SK))
    deleted = client.delete("/v1/offers/p1%20", headers=auth(SK))
    brought_back = client.put("/v1/offers/p1%20", json={**PARTNER, "id": "p1 "}, headers=auth(SK))
    created = client.put("/v1/offers/p2%20", json={**PARTNER, "id": "p2 "}, headers=auth(SK))

    assert (read.status_code, read.json()["id"]) == (200, "p1 ")
    assert (patched.status_code, patched.json()["title"]) == (200, "Patched")
    assert replaced.status_code == 200
    assert deleted.status_code == 204
    assert brought_back.status_code == 422  # once deleted, the old id is a new offer's
    assert created.status_code == 422  # a new offer's id still follows the rules


def test_a_paging_parameter_the_list_does_not_know_is_422_not_ignored(client):
    response = client.get("/v1/offers", params={"limit": 2, "page": 2}, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "limit"


def test_an_unknown_status_filter_is_422(client):
    response = client.get("/v1/offers", params={"status": "gone"}, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "status"


def test_a_status_filter_given_twice_is_422_not_one_of_them_ignored(client):
    response = client.get(
        "/v1/offers", params=[("status", "paused"), ("status", "active")], headers=auth(SK)
    )

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "`status` is given more than once",
        "field": "status",
    }


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        pytest.param({"colour": "red"}, "colour", id="top-level"),
        pytest.param({"targeting": {"countrys": ["DE"]}}, "targeting.countrys", id="nested"),
    ],
)
def test_an_unknown_offer_field_is_named_in_the_error_body(client, extra, field):
    response = client.post("/v1/offers", json={**PARTNER, **extra}, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("method", "path", "body", "key"),
    [
        pytest.param(
            "POST",
            "/v1/offers",
            '{"id": "dup-a", "id": "dup-b", "kind": "partner", "title": "T", "advertiser": "A"}',
            "id",
            id="post",
        ),
        pytest.param(
            "POST",
            "/v1/offers",
            '{"id": "dup", "kind": "partner", "title": "T", "advertiser": "A", '
            '"targeting": {"countries": ["DE"], "countries": ["FR"]}}',
            "countries",
            id="post-nested",
        ),
        pytest.param(
            "PUT",
            "/v1/offers/p-new",
            '{"kind": "partner", "title": "A", "title": "B", "advertiser": "A"}',
            "title",
            id="put",
        ),
        pytest.param(
            "PATCH", "/v1/offers/p-new", '{"title": "A", "title": "B"}', "title", id="patch"
        ),
    ],
)
def test_a_key_written_twice_is_422_naming_it_not_read_as_its_last_value(
    client, method, path, body, key
):
    client.post("/v1/offers", json=PARTNER, headers=auth(SK))
    before = client.get("/v1/offers", headers=auth(SK)).json()

    response = client.request(method, path, content=body, headers=auth(SK))

    assert response.status_code == 422
    assert response.json() == {
        "error": {"code": "invalid", "message": f"key `{key}` appears twice", "field": key}
    }
    assert client.get("/v1/offers", headers=auth(SK)).json() == before


def test_an_offer_saved_just_before_the_store_stops_answering_is_answered_as_saved(client):
    """The write committed, then re-reading the catalog failed: the caller must not be told
    to retry a write that was done (the retry would be a 409)."""
    service = client.app_state["service"]
    refresh = service.refresh

    async def store_gone() -> None:
        service.refresh = refresh
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    service.refresh = store_gone
    created = client.post("/v1/offers", json=PARTNER, headers=auth(SK))

    assert created.status_code == 201
    assert client.get("/v1/offers/p-new", headers=auth(SK)).status_code == 200
