"""GET /v1/report and the /admin dashboard, through the app (Starlette's TestClient)."""

import re
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from offers.catalog import Offer
from offers.reports import report
from offers.store import Store
from tests.feedback import (
    add_conversion,
    add_event,
    add_impression,
    add_request,
    seed_known_feedback,
)
from tests.widget.conftest import PK, SHOP_ID, SK, auth

PERIOD = "since=2024-03-01&until=2024-03-03"


@pytest.fixture
def shop_store(database_url: str) -> Store:
    """The app's own store (the test's copy of the imported shop), opened beside it."""
    opened = Store.open(database_url)
    yield opened
    opened.close()


# GET /v1/report


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        pytest.param({}, 401, "missing API key: send `Authorization: Bearer sk_...`", id="no key"),
        pytest.param(auth("sk_wrong"), 401, "unknown API key", id="unknown key"),
        pytest.param(
            {"Authorization": "Basic abc"},
            401,
            "the Authorization header must be `Bearer <key>`",
            id="not bearer",
        ),
        pytest.param(
            auth(PK),
            403,
            "this endpoint needs the secret key (sk_...); a publishable key may only rank, "
            "render and send events",
            id="publishable key",
        ),
    ],
)
def test_report_needs_the_secret_key(client, headers: dict, status: int, message: str) -> None:
    response = client.get(f"/v1/report?{PERIOD}", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["message"] == message


def test_report_answers_the_figures_of_the_store(client, shop_store) -> None:
    seed_known_feedback(shop_store, SHOP_ID)
    response = client.get(f"/v1/report?{PERIOD}&group_by=offer", headers=auth(SK))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body == report(
        shop_store, SHOP_ID, datetime(2024, 3, 1).date(), datetime(2024, 3, 3).date(), "offer"
    )
    assert body["totals"]["transactions"] == 5
    assert body["totals"]["rpt"] == 14100.0
    assert [group["key"] for group in body["groups"]] == ["A", "B", "C"]
    assert body["holdout"]["difference"]["rpt"] == 16833.33


def test_report_defaults_to_the_last_30_days_per_day(client) -> None:
    today = datetime.now(UTC).date()
    body = client.get("/v1/report", headers=auth(SK)).json()
    assert (body["since"], body["until"]) == (
        (today - timedelta(days=29)).isoformat(),
        today.isoformat(),
    )


def test_report_as_csv(client, shop_store) -> None:
    seed_known_feedback(shop_store, SHOP_ID)
    response = client.get(f"/v1/report?{PERIOD}&group_by=day&format=csv", headers=auth(SK))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="encore-report-2024-03-01-2024-03-03-day.csv"'
    )
    assert response.text.splitlines() == [
        "key,transactions,impressions,views,clicks,dismissals,conversions,revenue,ctr,conversion_rate,rpt",
        "2024-03-01,2,4,3,2,1,2,42.5,0.5,1.0,21250.0",
        "2024-03-02,2,1,1,1,0,2,28.0,1.0,2.0,14000.0",
        "2024-03-03,1,0,0,0,0,0,0.0,,,0.0",
        "total,5,5,4,3,1,4,70.5,0.6,1.333333,14100.0",
    ]


@pytest.mark.parametrize(
    ("query", "since", "until"),
    [
        pytest.param("since=0001-01-01&until=9999-12-31", "0001-01-01", "9999-12-31", id="all"),
        pytest.param("until=0001-01-02", "0001-01-01", "0001-01-02", id="30 days to year 1"),
    ],
)
def test_report_takes_the_first_and_last_days_there_are(client, query, since, until) -> None:
    response = client.get(f"/v1/report?{query}&group_by=day", headers=auth(SK))
    assert response.status_code == 200
    assert (response.json()["since"], response.json()["until"]) == (since, until)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        pytest.param(
            "since=March",
            "since",
            "`since` must be a date as YYYY-MM-DD, got 'March'",
            id="bad since",
        ),
        pytest.param(
            "until=2024-02-30",
            "until",
            "`until` must be a date as YYYY-MM-DD, got '2024-02-30'",
            id="bad until",
        ),
        pytest.param(
            "since=2024-03-02&until=2024-03-01",
            "until",
            "`until` must not be before `since`",
            id="reversed",
        ),
        pytest.param(
            "group_by=week",
            "group_by",
            "`group_by` must be one of offer, kind, placement, model_version, day",
            id="bad group",
        ),
        pytest.param("format=xml", "format", "`format` must be json or csv", id="bad format"),
    ],
)
def test_report_rejects_bad_parameters(client, query: str, field: str, message: str) -> None:
    response = client.get(f"/v1/report?{query}", headers=auth(SK))
    assert response.status_code == 422
    assert response.json() == {"error": {"code": "invalid", "message": message, "field": field}}


# /admin


def login(client, key: str = SK):
    return client.post("/admin/login", data={"secret_key": key}, follow_redirects=False)


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def seed_recent(store: Store) -> None:
    """Yesterday: two transactions, three impressions, one click and a 25.00 conversion."""
    at = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
    add_request(store, "q1", at, shop_id=SHOP_ID)
    add_request(store, "q2", at, shop_id=SHOP_ID, customer_id="c2")
    offer_ids = [offer.id for offer in store.offers(SHOP_ID, status="active")][:2]
    add_impression(store, "q1", offer_ids[0], at, shop_id=SHOP_ID)
    add_impression(store, "q1", offer_ids[1], at, shop_id=SHOP_ID, position=2)
    add_impression(store, "q2", offer_ids[0], at, shop_id=SHOP_ID, customer_id="c2")
    add_event(store, "q1", offer_ids[0], "click", at, shop_id=SHOP_ID)
    add_conversion(store, "q1", offer_ids[0], 25.0, at, shop_id=SHOP_ID)


def test_admin_without_a_session_goes_to_the_login_form(client) -> None:
    response = client.get("/admin", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")
    form = client.get("/admin/login")
    assert form.status_code == 200
    assert 'name="secret_key"' in form.text


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("sk_wrong", id="wrong"),
        pytest.param(PK, id="publishable"),
    ],
)
def test_admin_login_refuses_anything_but_the_secret_key(client, key: str) -> None:
    response = login(client, key)
    assert response.status_code == 401
    assert "That is not this shop&#39;s secret key" in response.text
    assert "set-cookie" not in response.headers


def test_admin_login_sets_a_signed_http_only_session(client) -> None:
    response = login(client)
    assert (response.status_code, response.headers["location"]) == (303, "/admin")
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("encore_admin=")
    assert "HttpOnly" in cookie and "Path=/admin" in cookie and "SameSite=strict" in cookie


def test_admin_refuses_a_tampered_session(client) -> None:
    login(client)
    value = client.cookies["encore_admin"]
    client.cookies.set(
        "encore_admin", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"), path="/admin"
    )
    response = client.get("/admin", follow_redirects=False)
    assert response.status_code == 303


def test_dashboard_shows_tiles_charts_offers_and_model(client, shop_store) -> None:
    seed_recent(shop_store)
    login(client)
    response = client.get("/admin")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    tiles = dict(re.findall(r'data-kpi="(\w+)"><dt>[^<]*</dt><dd>([^<]*)</dd>', page))
    assert tiles["transactions"] == "2"
    assert tiles["impressions"] == "3"
    assert tiles["ctr"] == "33.33%"
    assert tiles["conversions"] == "1"
    assert tiles["revenue"] == "25.00"
    assert tiles["rpt"] == "12,500.00"
    assert page.count('src="data:image/svg+xml;base64,') == 2
    assert 'alt="RPT per day"' in page and 'alt="CTR per day"' in page
    offers = shop_store.offers(SHOP_ID)
    assert page.count("<tr data-offer=") == len(offers)
    model = client.get("/healthz").json()
    assert f'data-model="{model["model"]["version"]}"' in page


def test_dashboard_escapes_offer_text(client, shop_store) -> None:
    offer = msgspec.convert(
        {"id": "xss", "kind": "partner", "title": "<script>alert(1)</script>", "advertiser": "x"},
        Offer,
    )
    shop_store.save_offers(SHOP_ID, [offer])
    login(client)
    page = client.get("/admin").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_pause_and_resume_an_offer(client, shop_store) -> None:
    login(client)
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    csrf = csrf_of(client.get("/admin").text)
    url = f"/admin/offers/{offer_id}/status"
    paused = client.post(
        url, data={"csrf": csrf, "status": "paused", "days": "7"}, follow_redirects=False
    )
    assert (paused.status_code, paused.headers["location"]) == (303, "/admin?days=7#offers")
    assert shop_store.offer(SHOP_ID, offer_id).status == "paused"
    service = client.app_state["service"]
    assert offer_id not in {offer.id for offer in service.catalog.active}
    assert f"Resume {shop_store.offer(SHOP_ID, offer_id).title}" in client.get("/admin").text
    resumed = client.post(url, data={"csrf": csrf, "status": "active"}, follow_redirects=False)
    assert resumed.status_code == 303
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"
    assert offer_id in {offer.id for offer in service.catalog.active}


@pytest.mark.parametrize(
    ("form", "status"),
    [
        pytest.param({"status": "paused"}, 403, id="no csrf"),
        pytest.param({"status": "paused", "csrf": "forged"}, 403, id="forged csrf"),
        pytest.param({"status": "archived", "csrf": None}, 422, id="bad status"),
    ],
)
def test_offer_status_change_needs_the_csrf_token_and_a_status(
    client, shop_store, form: dict, status: int
) -> None:
    login(client)
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    if form.get("csrf", "") is None:
        form = {**form, "csrf": csrf_of(client.get("/admin").text)}
    response = client.post(f"/admin/offers/{offer_id}/status", data=form, follow_redirects=False)
    assert response.status_code == status
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"


def test_offer_status_of_an_unknown_offer_is_404(client) -> None:
    login(client)
    csrf = csrf_of(client.get("/admin").text)
    response = client.post("/admin/offers/nope/status", data={"csrf": csrf, "status": "paused"})
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": "no offer `nope`",
        "field": "offer_id",
    }


def test_offer_status_without_a_session_goes_to_login(client, shop_store) -> None:
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    response = client.post(
        f"/admin/offers/{offer_id}/status", data={"status": "paused"}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"


def test_logout_ends_the_session(client) -> None:
    login(client)
    csrf = csrf_of(client.get("/admin").text)
    response = client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")
    assert 'encore_admin=""' in response.headers["set-cookie"]
    assert client.get("/admin", follow_redirects=False).status_code == 303
