"""GET /v1/report and the /admin dashboard, through the app (Starlette's TestClient)."""

import re
import time
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from itsdangerous.timed import TimestampSigner

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
from widget.admin_sessions import SESSION_MAX_AGE
from widget.charts import line_chart_svg

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
    assert body["totals"]["rpt"] == 12500.0
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
        "row,key,transactions,impressions,views,clicks,dismissals,conversions,revenue,ctr,conversion_rate,rpt",
        "group,2024-03-01,2,4,3,2,1,2,42.5,0.5,1.0,21250.0",
        "group,2024-03-02,2,1,1,1,0,1,20.0,1.0,1.0,10000.0",
        "group,2024-03-03,1,0,0,0,0,0,0.0,,,0.0",
        "total,,5,5,4,3,1,3,62.5,0.6,1.0,12500.0",
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
        pytest.param(
            "since=20240301",
            "since",
            "`since` must be a date as YYYY-MM-DD, got '20240301'",
            id="since-without-dashes",
        ),
        pytest.param(
            "since=2024-W09-5",
            "since",
            "`since` must be a date as YYYY-MM-DD, got '2024-W09-5'",
            id="since-as-an-iso-week",
        ),
        pytest.param(
            "since=2024-03-01&since=2024-02-01",
            "since",
            "`since` is given more than once",
            id="since-twice",
        ),
        pytest.param(
            "group_by=day&group_by=kind",
            "group_by",
            "`group_by` is given more than once",
            id="group-by-twice",
        ),
        pytest.param(
            "since=2999-01-01",
            "since",
            "`since` (2999-01-01) is after today, where `until` ends by default",
            id="since-in-the-future-without-until",
        ),
        *(
            pytest.param(
                query,
                name,
                f"unknown parameter `{name}`: expected `format`, `group_by`, `since`, `until`",
                id=f"misspelt-{name}",
            )
            for query, name in [
                ("from=2024-03-01&to=2024-03-02", "from"),
                ("groupby=offer", "groupby"),
            ]
        ),
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


def alert_of(page: str) -> str:
    return re.search(r'role="alert">([^<]*)<', page).group(1)


def set_status(client, offer_id: str, status: str, csrf: str, days: str = "7"):
    return client.post(
        f"/admin/offers/{offer_id}/status",
        data={"csrf": csrf, "status": status, "days": days},
        follow_redirects=False,
    )


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
    assert 'aria-describedby="login-error" aria-invalid="true"' in response.text
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
    assert response.headers["x-content-type-options"] == "nosniff"
    page = response.text
    tiles = dict(re.findall(r'data-kpi="(\w+)"><dt>[^<]*</dt><dd>([^<]*)', page))
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


def test_offers_deleted_since_they_were_shown_keep_a_row_so_the_table_adds_up(
    client, shop_store
) -> None:
    seed_recent(shop_store)
    shown = shop_store.offers(SHOP_ID, status="active")[0].id  # 2 impressions, the click
    shop_store.delete_offer(SHOP_ID, shown)
    login(client)

    page = client.get("/admin").text

    (row,) = re.findall(r"<tr data-offer-deleted>(.*?)</tr>", page, re.S)
    figures = re.findall(r'<td class="n">([^<]*)</td>', row)
    assert figures == ["2", "1", "50.00%", "1", "25.00", "12,500.00"]


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


def test_an_active_offer_that_can_show_to_nobody_says_why(client, shop_store) -> None:
    partner = {"kind": "partner", "advertiser": "x", "value": 10.0}
    offers = [
        {"id": "spent", "title": "Spent", **partner, "caps": {"budget": 25.0}},
        {"id": "over", "title": "Over", **partner, "ends_at": "2020-01-01T00:00:00Z"},
        {"id": "capped", "title": "Capped", **partner, "caps": {"total_impressions": 1}},
        {"id": "live", "title": "Live", **partner, "caps": {"budget": 100.0}},
    ]
    shop_store.save_offers(SHOP_ID, [msgspec.convert(o, Offer) for o in offers])
    now = datetime.now(UTC).replace(tzinfo=None)
    for n in range(3):
        add_request(shop_store, f"b{n}", now, shop_id=SHOP_ID, customer_id=f"c{n}")
        add_impression(shop_store, f"b{n}", "spent", now, shop_id=SHOP_ID)
        add_conversion(shop_store, f"b{n}", "spent", 10.0, now, shop_id=SHOP_ID)
    add_impression(shop_store, "b0", "capped", now, shop_id=SHOP_ID)
    login(client)

    page = client.get("/admin").text

    def status_cell(offer_id: str) -> str:
        row = re.search(rf'<tr data-offer="{offer_id}"[^>]*>(.*?)</tr>', page, re.S).group(1)
        cell = re.findall(r"<td>(.*?)</td>", row, re.S)[1]
        return " ".join(re.sub(r"<[^>]+>", " ", cell).split())

    spent = "budget spent: 30.00 of 25.00"
    assert status_cell("spent") == f"active not showing: {spent} budget: 30.00 of 25.00 spent"
    assert status_cell("over") == "active not showing: ended 2020-01-01 00:00 UTC"
    assert status_cell("capped") == "active not showing: 1 impressions (cap 1)"
    assert status_cell("live") == "active budget: 0.00 of 100.00 spent"


def test_an_active_offer_with_no_link_to_open_says_it_is_not_showing(client, shop_store) -> None:
    partner = next(o for o in shop_store.offers(SHOP_ID, status="active") if o.kind == "partner")
    unlinked = client.patch(f"/v1/offers/{partner.id}", json={"cta_url": None}, headers=auth(SK))
    assert unlinked.status_code == 200, unlinked.text
    login(client)

    page = client.get("/admin").text

    row = re.search(rf'<tr data-offer="{partner.id}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert "not showing: no cta_url a click could open" in row


def test_pause_and_resume_an_offer(client, shop_store) -> None:
    login(client)
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    csrf = csrf_of(client.get("/admin").text)
    url = f"/admin/offers/{offer_id}/status"
    paused = client.post(
        url, data={"csrf": csrf, "status": "paused", "days": "7"}, follow_redirects=False
    )
    assert (paused.status_code, paused.headers["location"]) == (
        303,
        f"/admin?days=7&paused={offer_id}",
    )
    assert shop_store.offer(SHOP_ID, offer_id).status == "paused"
    service = client.app_state["service"]
    assert offer_id not in {offer.id for offer in service.catalog.active}
    assert f"Resume {shop_store.offer(SHOP_ID, offer_id).title}" in client.get("/admin").text
    resumed = client.post(url, data={"csrf": csrf, "status": "active"}, follow_redirects=False)
    assert resumed.status_code == 303
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"
    assert offer_id in {offer.id for offer in service.catalog.active}


def test_after_pause_and_resume_the_page_says_so_and_focuses_that_row(client, shop_store):
    login(client)
    offer = shop_store.offers(SHOP_ID, status="active")[0]
    csrf = csrf_of(client.get("/admin").text)
    for status, said, button in [("paused", "Paused", "Resume"), ("active", "Resumed", "Pause")]:
        page = client.get(set_status(client, offer.id, status, csrf).headers["location"]).text
        assert f'<p class="notice" role="status">{said} {offer.title}</p>' in page
        assert page.count(" autofocus>") == 1
        assert f'aria-label="{button} {offer.title}" autofocus>' in page


def test_after_a_pause_a_crafted_link_names_no_other_offer(client) -> None:
    login(client)
    page = client.get("/admin?paused=nope").text
    assert 'role="status"' not in page and " autofocus>" not in page


def archive(store: Store) -> str:
    offer = store.offers(SHOP_ID, status="active")[0]
    store.save_offers(SHOP_ID, [msgspec.structs.replace(offer, status="archived")])
    return offer.id


@pytest.mark.parametrize(
    ("offer", "form", "status", "message"),
    [
        pytest.param(
            "active",
            {"status": "paused"},
            403,
            "This page was out of date (the dashboard was signed out or in again elsewhere), "
            "so nothing was changed. Go back to the dashboard and try again.",
            id="no csrf",
        ),
        pytest.param(
            "active",
            {"status": "paused", "csrf": "forged"},
            403,
            "This page was out of date (the dashboard was signed out or in again elsewhere), "
            "so nothing was changed. Go back to the dashboard and try again.",
            id="forged csrf",
        ),
        pytest.param(
            "active",
            {"status": "archived", "csrf": None},
            422,
            "The dashboard can only pause or resume an offer.",
            id="bad status",
        ),
        pytest.param(
            "nope",
            {"status": "paused", "csrf": None},
            404,
            "There is no offer “nope” any more, so nothing was changed.",
            id="deleted offer",
        ),
        pytest.param(
            "archived",
            {"status": "active", "csrf": None},
            409,
            "“{title}” is archived: it cannot be paused or resumed any more.",
            id="archived offer",
        ),
    ],
)
def test_refused_offer_changes_answer_a_page_saying_why(
    client, shop_store, offer: str, form: dict, status: int, message: str
) -> None:
    login(client)
    offer_id = {
        "active": lambda: shop_store.offers(SHOP_ID, status="active")[0].id,
        "archived": lambda: archive(shop_store),
        "nope": lambda: "nope",
    }[offer]()
    before = shop_store.offer(SHOP_ID, offer_id)
    if form.get("csrf", "") is None:
        form = {**form, "csrf": csrf_of(client.get("/admin").text)}
    response = client.post(
        f"/admin/offers/{offer_id}/status", data={**form, "days": "7"}, follow_redirects=False
    )
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    title = before.title if before else ""
    assert alert_of(response.text) == message.format(title=title)
    assert '<a class="button" href="/admin?days=7">Back to the dashboard</a>' in response.text
    assert shop_store.offer(SHOP_ID, offer_id) == before


def test_a_page_reloaded_after_a_later_change_names_no_stale_change(client, shop_store):
    login(client)
    offer = shop_store.offers(SHOP_ID, status="active")[0]
    csrf = csrf_of(client.get("/admin").text)
    after_pause = set_status(client, offer.id, "paused", csrf).headers["location"]
    set_status(client, offer.id, "active", csrf)

    page = client.get(after_pause).text  # what Back shows

    assert f"Paused {offer.title}" not in page
    assert 'class="notice"' not in page


def test_a_stale_tab_can_neither_change_an_offer_nor_sign_out(client, shop_store) -> None:
    login(client)
    stale = csrf_of(client.get("/admin").text)
    client.post("/admin/logout", data={"csrf": stale})
    login(client)  # signed out and in again in another tab
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    for response in (
        set_status(client, offer_id, "paused", stale),
        client.post("/admin/logout", data={"csrf": stale}, follow_redirects=False),
    ):
        assert response.status_code == 403
        assert alert_of(response.text).startswith("This page was out of date")
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"
    assert client.get("/admin", follow_redirects=False).status_code == 200


def test_offer_status_without_a_session_goes_to_login(client, shop_store) -> None:
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    response = client.post(
        f"/admin/offers/{offer_id}/status", data={"status": "paused"}, follow_redirects=False
    )
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"


def test_an_expired_session_asks_to_sign_in_again_and_changes_nothing(
    client, shop_store, monkeypatch
) -> None:
    signed_long_ago = int(time.time()) - SESSION_MAX_AGE - 60
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda _self: signed_long_ago)
        login(client)
    offer_id = shop_store.offers(SHOP_ID, status="active")[0].id
    response = set_status(client, offer_id, "paused", "any")
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/admin/login?notice=unsaved",
    )
    assert alert_of(client.get(response.headers["location"]).text) == (
        "Your session has expired or was signed out, so that change was not saved: "
        "sign in again and redo it."
    )
    assert shop_store.offer(SHOP_ID, offer_id).status == "active"
    opened = client.get("/admin", follow_redirects=False)
    assert opened.headers["location"] == "/admin/login?notice=expired"
    assert alert_of(client.get(opened.headers["location"]).text) == (
        "Your session has expired or was signed out: sign in again."
    )


def test_signing_out_ends_the_session_for_every_worker(make_client) -> None:
    worker, other_worker = make_client(), make_client()  # two apps over one store
    login(worker)
    copied = worker.cookies["encore_admin"]
    other_worker.cookies.set("encore_admin", copied, path="/admin")
    assert other_worker.get("/admin", follow_redirects=False).status_code == 200
    csrf = csrf_of(worker.get("/admin").text)
    worker.post("/admin/logout", data={"csrf": csrf})
    refused = other_worker.get("/admin", follow_redirects=False)
    assert (refused.status_code, refused.headers["location"]) == (
        303,
        "/admin/login?notice=expired",
    )
    login(worker)
    assert worker.get("/admin", follow_redirects=False).status_code == 200


def test_a_session_opened_with_a_secret_key_since_replaced_ends(make_client) -> None:
    before = make_client()
    login(before)
    cookie = before.cookies["encore_admin"]
    after = make_client(secret_key="sk_replaced_after_a_leak")  # restarted with a new key
    after.cookies.set("encore_admin", cookie, path="/admin")

    refused = after.get("/admin", follow_redirects=False)

    assert (refused.status_code, refused.headers["location"]) == (
        303,
        "/admin/login?notice=expired",
    )


@pytest.mark.parametrize(
    ("days", "heading"),
    [
        pytest.param("1", "Last day", id="1"),
        pytest.param("0", "Last day", id="0"),
        pytest.param("-5", "Last day", id="negative"),
        pytest.param("7", "Last 7 days", id="7"),
        pytest.param("9" * 5000, "Last 30 days", id="too many digits"),
        pytest.param("9999", "Last 366 days", id="over a year"),
    ],
)
def test_dashboard_names_its_period(client, days: str, heading: str) -> None:
    login(client)
    page = client.get(f"/admin?days={days}").text
    assert f'<h2 id="kpis">{heading}</h2>' in page
    assert re.search(r"<h1>Encore · \d{4}-\d\d-\d\d to \d{4}-\d\d-\d\d \(UTC days\)</h1>", page)


def test_charts_have_their_figures_as_tables_with_full_dates(client, shop_store) -> None:
    seed_recent(shop_store)
    login(client)
    page = client.get("/admin?days=7").text
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    assert page.count("<summary>") == 2
    assert f'<th scope="row">{yesterday}</th><td class="n">12,500.00</td>' in page
    assert f'<th scope="row">{yesterday}</th><td class="n">33.33%</td>' in page
    assert page.count('<tr><th scope="row">') == 2 * 7
    svg = line_chart_svg(["2024-12-30", "2024-12-31", "2025-01-01"], [1.0, None, 2.0], "RPT")
    assert "<!-- 2024-12-31 -->" in svg and "<!-- 12-31 -->" not in svg


@pytest.mark.parametrize("path", ["/admin/login", "/admin/logout"])
def test_a_dashboard_form_far_larger_than_any_it_sends_is_refused_unread(client, path) -> None:
    login(client)
    padding = "&pad=" + "A" * 2_000_000
    response = client.post(
        path,
        content=f"secret_key={SK}{padding}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )

    assert response.status_code == 413
    assert response.json()["error"]["message"] == "the body is larger than 8192 bytes"


def test_signing_in_reads_the_key_from_the_form_as_a_browser_encodes_it(client) -> None:
    response = client.post(
        "/admin/login",
        content=f"secret_key=+{SK.replace('_', '%5F')}+&other=",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )

    assert (response.status_code, response.headers["location"]) == (303, "/admin")


def test_logout_ends_the_session(client) -> None:
    login(client)
    csrf = csrf_of(client.get("/admin").text)
    response = client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/admin/login")
    assert 'encore_admin=""' in response.headers["set-cookie"]
    assert client.get("/admin", follow_redirects=False).status_code == 303
