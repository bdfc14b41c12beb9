"""Ranking and rendering: /v1/rank, /v1/widget, /healthz, /widget.js."""

import json
from pathlib import Path

import pytest
import rjsmin

import widget
from offers import schema
from offers.holdout import in_holdout
from offers.identity import customer_key
from tests.widget.conftest import ORIGIN, PK, SK, auth, flush_log, stored_rows
from widget.api import accepts_gzip
from widget.cli import main
from widget.service import Asset

SERVED_SCRIPT = rjsmin.jsmin(
    (Path(widget.__file__).parent / "static" / "widget.js").read_bytes(), keep_bang_comments=True
)


def test_rank_returns_offers_with_every_field(client, rank_body):
    response = client.post("/v1/rank", json=rank_body(), headers=auth())

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"request_id", "model_version", "offers"}
    assert response.headers["x-request-id"] == body["request_id"]
    assert 1 <= len(body["offers"]) <= 3
    for position, offer in enumerate(body["offers"], start=1):
        assert set(offer) == {
            "id",
            "kind",
            "title",
            "body",
            "image_url",
            "cta_label",
            "click_url",
            "token",
            "position",
            "score",
            "reason",
        }
        assert offer["position"] == position
        assert offer["click_url"] == f"http://testserver/v1/click/{offer['token']}"


def test_click_urls_follow_the_host_each_request_was_sent_to(client, rank_body):
    for n, host in enumerate(("encore.example", "shop.example:8443", "encore.example")):
        body, headers = rank_body(customer=f"guest-{n}"), {**auth(), "Host": host}

        offers = client.post("/v1/rank", json=body, headers=headers).json()["offers"]

        assert offers
        assert {o["click_url"] for o in offers} == {
            f"http://{host}/v1/click/{o['token']}" for o in offers
        }


@pytest.mark.parametrize(
    ("limit", "max_offers", "most"), [(1, 3, 1), (5, 3, 3), (2, 2, 2), (None, 2, 2), (10, 3, 3)]
)
def test_rank_never_returns_more_than_the_limit_or_the_shop_cap(
    make_client, rank_body, limit, max_offers, most
):
    client = make_client(max_offers=max_offers)
    body = rank_body(limit=limit) if limit else rank_body()

    offers = client.post("/v1/rank", json=body, headers=auth()).json()["offers"]

    assert 1 <= len(offers) <= most


def test_a_body_as_a_shop_template_writes_it_ranks_like_the_documented_one(
    make_client, rank_body, database_url
):
    clean = rank_body(customer="1001")
    clean["order"]["id"] = "5001"
    templated = json.loads(json.dumps(clean))
    templated["order"]["id"] = 5001
    templated["customer"]["id"] = 1001
    templated["order"]["device"] = None
    for item in templated["order"]["items"]:
        item.update(
            sku=f" {item['sku']} ",  # merchants' skus often carry a stray space; files are trimmed
            category=f"{item['category']} ",
            price=f"{item['price']:.2f}",
            quantity=str(item["quantity"]),
            title=None,
        )
    templated["attributes"]["coupon"] = None

    # two services, so that what the first shows does not count against the customer's caps
    first, client = make_client(), make_client()
    expected = first.post("/v1/rank", json=clean, headers=auth()).json()["offers"]
    response = client.post("/v1/rank", json=templated, headers=auth())
    flush_log(client)

    assert response.status_code == 200
    offers = response.json()["offers"]
    assert offers
    assert [(o["id"], o["score"]) for o in offers] == [(o["id"], o["score"]) for o in expected]
    logged = [
        r
        for r in stored_rows(database_url, schema.rank_requests)
        if r["id"] == response.json()["request_id"]
    ]
    assert [(r["order_id"], r["customer_id"]) for r in logged] == [("5001", "1001")]


def test_rank_shows_what_encore_recommend_ranks_for_the_same_orders(
    client, shop_data, tmp_path, capsys
):
    """The shop's latest orders, which the model was trained on, sent again with their
    `ordered_at`: the service scores each from the customer's history as it was then, as
    the command line does, not with the order itself already in that history."""
    orders = shop_data.orders[shop_data.orders["quantity"].astype(int) > 0]
    bodies = []
    for order_id in orders["order_id"].drop_duplicates().iloc[-40:]:
        lines = orders[orders["order_id"] == order_id]
        first = lines.iloc[0]
        order = {
            "id": order_id,
            "ordered_at": first["ordered_at"],
            "currency": first["currency"],
            "country": first["country"],
            "device": first["device"],
            "items": [
                {"sku": r.sku, "category": r.category, "price": float(r.price), "quantity": 1}
                for r in lines.itertuples()
            ],
        }
        customer = {"id": first["customer_id"], "is_returning": True}
        bodies.append({"placement": "thank_you", "order": order, "customer": customer})
    (tmp_path / "orders.jsonl").write_text("".join(json.dumps(b) + "\n" for b in bodies))
    model = str(shop_data.models / "current")
    assert main(["recommend", "--model", model, "--input", str(tmp_path / "orders.jsonl")]) == 0
    recommended = [json.loads(line)["offers"] for line in capsys.readouterr().out.splitlines()]

    ranked = [  # debug: ranked for a look, so that no cap or impression counts in between
        client.post("/v1/rank?debug=1", json=body, headers=auth(SK)).json()["offers"]
        for body in bodies
    ]

    assert any(ranked)
    assert [[(o["id"], o["score"]) for o in offers] for offers in ranked] == [
        [(o["id"], o["score"]) for o in offers] for offers in recommended
    ]


@pytest.mark.parametrize(
    "written",
    [
        "2026-10-31 13:00:00 +0100",
        "2026-10-31 12:00:00 UTC",
        "Sat Oct 31 2026 13:00:00 GMT+0100 (Central European Standard Time)",
        "2026-10-31T12:00:00.000Z",
        1793448000,
        1793448000.0,
        "1793448000",
        1793448000000,
    ],
    ids=[
        "liquid",
        "ruby",
        "javascript-date",
        "fraction-of-a-second",
        "unix-seconds",
        "unix-seconds-float",
        "unix-seconds-text",
        "unix-milliseconds",
    ],
)
def test_rank_reads_ordered_at_as_shop_templates_write_it(client, rank_body, shop_data, written):
    regular = shop_data.orders.groupby("customer_id")["order_id"].nunique().idxmax()

    def ranked(ordered_at: object) -> list:
        body = rank_body(customer=regular)
        body["order"]["ordered_at"] = ordered_at
        answer = client.post("/v1/rank?debug=1", json=body, headers=auth(SK))
        return [(offer["id"], offer["score"]) for offer in answer.json()["offers"]]

    assert ranked(written) == ranked("2026-10-31T12:00:00Z") != ranked("2026-01-31T12:00:00Z")


@pytest.mark.parametrize("unread", ["last Tuesday", "", True, "x" * 500, [2026], {}])
def test_rank_still_shows_offers_for_an_ordered_at_it_cannot_read(client, rank_body, unread):
    body = rank_body()
    body["order"]["ordered_at"] = unread

    response = client.post("/v1/rank", json=body, headers=auth())

    assert response.status_code == 200 and response.json()["offers"]


def test_rank_shows_a_holdout_customer_nothing_and_records_the_request(
    make_client, rank_body, database_url
):
    client = make_client(holdout_share=0.5)
    customer = next(f"c{n}" for n in range(100) if in_holdout(f"c{n}", 0.5))

    response = client.post("/v1/rank", json=rank_body(customer=customer), headers=auth())
    flush_log(client)

    assert response.status_code == 200
    assert response.json()["offers"] == []
    [row] = stored_rows(database_url, schema.rank_requests)
    assert (row["id"], row["customer_id"], row["holdout"], row["n_offers"]) == (
        response.json()["request_id"],
        customer,
        True,
        0,
    )


def test_rank_logs_the_request_and_one_impression_per_offer(client, rank_body, database_url):
    body = client.post("/v1/rank", json=rank_body(), headers=auth()).json()
    flush_log(client)

    [request] = stored_rows(database_url, schema.rank_requests)
    impressions = sorted(stored_rows(database_url, schema.impressions), key=lambda r: r["position"])
    assert (request["id"], request["n_offers"], request["holdout"]) == (
        body["request_id"],
        len(body["offers"]),
        False,
    )
    assert [(i["offer_id"], i["position"], i["model_version"]) for i in impressions] == [
        (o["id"], o["position"], body["model_version"]) for o in body["offers"]
    ]
    assert all(0 < i["propensity"] <= 1 and i["context"]["channel"] == "web" for i in impressions)


def test_rank_logs_country_currency_and_device_as_targeting_and_the_models_read_them(
    client, rank_body, database_url
):
    body = rank_body()
    body["order"].update(country=body["order"]["country"].lower(), currency="eur", device="Mobile")

    assert client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
    flush_log(client)

    [impression, *_] = stored_rows(database_url, schema.impressions)
    context = impression["context"]
    assert (context["country"], context["currency"], context["device"]) == (
        body["order"]["country"].upper(),
        "EUR",
        "mobile",
    )


def test_rank_logs_attributes_by_folded_name_under_the_orders_own_fields(
    client, rank_body, database_url
):
    body = rank_body(attributes={"Segment": "vip", "segment": "std", "Country": "de"})

    assert client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
    flush_log(client)

    [impression, *_] = stored_rows(database_url, schema.impressions)
    context = impression["context"]
    assert (context["segment"], context["country"]) == ("vip", body["order"]["country"])
    assert "Segment" not in context and "Country" not in context


def test_rank_hashes_an_email_before_storing_it(client, rank_body, database_url):
    client.post("/v1/rank", json=rank_body(customer="Ann@Example.com"), headers=auth())
    flush_log(client)

    [request] = stored_rows(database_url, schema.rank_requests)
    assert request["customer_id"].startswith("sha256:")


@pytest.mark.parametrize(
    "email", ["Ann@Example.com", "ann%40example.com", "ann." + "x" * 130 + "@example.com"]
)
def test_rank_stores_emails_in_ids_and_attributes_only_as_digests(
    client, rank_body, database_url, email
):
    body = rank_body(customer=email)
    body["order"]["id"] = email  # some shops number orders by email, however long
    body["attributes"] = {"email": email, "note": "gift from bo@example.org"}
    offer = client.post("/v1/rank", json=body, headers=auth()).json()["offers"][0]
    conversion = {"token": offer["token"], "order_id": f"{email}-1002", "revenue": 1}
    assert client.post("/v1/conversions", json=conversion, headers=auth(SK)).status_code == 201
    flush_log(client)

    [request] = stored_rows(database_url, schema.rank_requests)
    impressions = stored_rows(database_url, schema.impressions)
    conversions = stored_rows(database_url, schema.conversions)
    assert impressions
    assert {i["context"]["email"] for i in impressions} == {request["customer_id"]}
    assert request["order_id"] == request["customer_id"]
    stored = json.dumps([request, *impressions, *conversions], default=str).lower()
    assert "example" not in stored


@pytest.mark.parametrize(
    ("customer", "attributes"),
    [
        pytest.param("jane.doe%2540shop.example", {}, id="customer-id-encoded-twice"),
        pytest.param("c1", {"jane.doe@shop.example": "newsletter"}, id="attribute-name"),
        pytest.param("c2", {"email": "jane.doe@shop"}, id="domain-without-a-dot"),
        pytest.param("c3", {"email": "jane.doe@[192.0.2.1]"}, id="address-literal"),
    ],
)
def test_rank_stores_no_email_however_it_is_written(
    client, rank_body, database_url, customer, attributes
):
    body = rank_body(customer, attributes=attributes)
    assert client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
    flush_log(client)

    stored = stored_rows(database_url, schema.rank_requests)
    stored += stored_rows(database_url, schema.impressions)
    assert "jane.doe" not in json.dumps(stored, default=str)


@pytest.mark.parametrize("field", ["country", "currency", "device"])
def test_an_order_field_holding_an_email_is_logged_as_its_digest(
    client, rank_body, database_url, field
):
    body = rank_body("c1")
    body["order"][field] = "JD@shop.example"  # within currency's 16 characters
    assert client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
    flush_log(client)

    impressions = stored_rows(database_url, schema.impressions)
    assert impressions
    assert {i["context"][field] for i in impressions} == {customer_key("jd@shop.example")}
    assert "jd@shop" not in json.dumps(impressions, default=str).lower()


@pytest.mark.parametrize("placement", ["jane.doe@shop.example", "thank_you\r=1"])
def test_a_placement_holding_an_email_or_a_control_character_is_refused(
    client, rank_body, database_url, placement
):
    response = client.post("/v1/rank", json=rank_body(placement=placement), headers=auth())
    flush_log(client)

    assert response.status_code == 422
    assert "`placement`" in response.json()["error"]["message"]
    assert response.json()["error"]["field"] == "placement"
    assert stored_rows(database_url, schema.rank_requests) == []


def test_an_order_id_full_of_emails_is_stored_as_one_digest_and_a_bare_40_is_no_email(
    client, rank_body, database_url
):
    body = rank_body(customer="cust%401")
    body["order"]["id"] = "a@x.io;" * 18
    client.post("/v1/rank", json=body, headers=auth())
    flush_log(client)

    [request] = stored_rows(database_url, schema.rank_requests)
    assert request["order_id"].startswith("sha256:") and len(request["order_id"]) == 39
    assert request["customer_id"] == "cust%401"


def test_a_model_that_fails_on_a_request_is_replaced_by_the_fallback_for_it(
    client, database_url, rank_body, monkeypatch, caplog
):
    model = client.app_state["service"].models.model

    def broken(*_args, **_kwargs):
        raise FloatingPointError("a corrupt table")

    monkeypatch.setattr(model, "score_offers", broken)
    response = client.post("/v1/rank", json=rank_body(), headers=auth())
    flush_log(client)

    assert response.status_code == 200
    assert 1 <= len(response.json()["offers"]) <= 3
    assert "failed on request" in caplog.text
    assert "the fallback answers score_offers" in caplog.text
    # what the fallback ranked is credited to it, in the answer and in the reports
    assert response.json()["model_version"] == "popularity-fallback"
    request_id = response.json()["request_id"]
    [request] = [
        r for r in stored_rows(database_url, schema.rank_requests) if r["id"] == request_id
    ]
    assert request["model_version"] == "popularity-fallback"
    shown = [
        r for r in stored_rows(database_url, schema.impressions) if r["request_id"] == request_id
    ]
    assert {row["model_version"] for row in shown} == {"popularity-fallback"}


def test_rank_leaves_out_offers_the_customer_dismissed(client, rank_body):
    first = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    dismissed = {"events": [{"type": "dismiss", "token": first["token"]}]}
    assert client.post("/v1/events", json=dismissed, headers=auth()).status_code == 202

    again = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"]

    assert first["id"] not in [offer["id"] for offer in again]


def test_rank_respects_a_per_customer_daily_cap(client, rank_body):
    shown = [
        client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"] for _ in range(2)
    ]

    # every offer of the generated shop may be shown once a day to a customer
    assert not {o["id"] for o in shown[0]} & {o["id"] for o in shown[1]}


def test_widget_answers_json_with_the_fragment_and_tokens(client, rank_body):
    response = client.post("/v1/widget", json=rank_body(), headers=auth())

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"html", "request_id", "model_version", "offers"}
    assert body["html"].startswith('<section class="encore"')
    for offer in body["offers"]:
        assert set(offer) == {"id", "token"}
        assert f'data-encore-token="{offer["token"]}"' in body["html"]


def test_widget_answers_html_when_asked(client, rank_body):
    response = client.post(
        "/v1/widget", json=rank_body(), headers={**auth(), "Accept": "text/html"}
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text.startswith('<section class="encore"')
    assert response.headers["x-encore-model-version"]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        ("text/html", "text/html"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html"),
        ("text/html, application/json", "text/html"),
        ("application/json;q=0, text/html;q=0.1", "text/html"),
        ("*/*", "application/json"),
        ("", "application/json"),
        ("application/json, text/html", "application/json"),
        ("text/html;q=0.1, application/json", "application/json"),
        ("text/html;q=0", "application/json"),
    ],
)
def test_widget_answers_the_media_type_the_accept_header_weighs_highest(
    client, rank_body, accept, media_type
):
    response = client.post("/v1/widget", json=rank_body(), headers={**auth(), "Accept": accept})

    assert response.headers["content-type"].startswith(media_type)


def test_widget_renders_nothing_for_no_offers_when_csat_is_off(make_client, rank_body):
    client = make_client(holdout_share=0.5)
    service = client.app_state["service"]
    service.shop.settings["csat"] = False  # a holdout customer would otherwise see the question
    customer = next(f"c{n}" for n in range(100) if in_holdout(f"c{n}", 0.5))

    body = client.post("/v1/widget", json=rank_body(customer=customer), headers=auth()).json()

    assert (body["html"], body["offers"]) == ("", [])


def test_widget_escapes_hostile_offer_text(client, rank_body):
    offers = client.get("/v1/offers", headers=auth(SK)).json()["offers"]
    for offer in offers:
        offer["title"] = '<script>alert("x")</script>'
        offer["body"] = "<img src=x onerror=alert(1)>"
        assert (
            client.put(f"/v1/offers/{offer['id']}", json=offer, headers=auth(SK)).status_code == 200
        )

    html = client.post("/v1/widget", json=rank_body(), headers=auth()).json()["html"]

    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in html and "<img src=x" not in html


def test_snippet_may_send_its_key_in_a_text_plain_body(client, rank_body):
    body = json.dumps({**rank_body(), "key": PK})

    response = client.post(
        "/v1/widget", content=body, headers={"Content-Type": "text/plain", "Origin": ORIGIN}
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_healthz_names_the_model(client):
    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["model"]["fallback"] is False and body["model"]["reason"] is None
    assert body["model"]["version"] != "popularity-fallback"


def test_healthz_counts_the_feedback_rows_waiting_and_written(client, rank_body):
    before = client.get("/healthz").json()["feedback_log"]
    offers = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"]
    queued = client.get("/healthz").json()["feedback_log"]
    flush_log(client)
    after = client.get("/healthz").json()["feedback_log"]

    def logged(health: dict) -> int:  # the writer may run between any two requests
        return health["pending"] + health["written"]

    rows = 1 + len(offers)  # the request and one impression per offer
    assert logged(queued) == logged(before) + rows
    assert (after["pending"], after["written"]) == (0, logged(before) + rows)
    assert after["failing_since"] is None and after["locked_batches"] == 0


def test_widget_js_is_served_as_cacheable_javascript(client):
    response = client.get("/widget.js")
    again = client.get("/widget.js", headers={"If-None-Match": response.headers["etag"]})

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.content == SERVED_SCRIPT
    assert (again.status_code, again.content) == (304, b"")


def test_an_install_without_widget_js_answers_404_and_still_ranks(
    make_client, rank_body, monkeypatch, tmp_path
):
    read = Asset.read  # the service reads its asset from a folder where it is missing
    monkeypatch.setattr(Asset, "read", lambda _path: read(tmp_path / "widget.js"))
    client = make_client()

    response = client.get("/widget.js")

    assert response.status_code == 404
    assert response.json()["error"]["message"] == "widget.js is not installed with this service"
    assert client.post("/v1/rank", json=rank_body(), headers=auth()).status_code == 200


@pytest.mark.parametrize(
    ("accept_encoding", "gzip"),
    [
        ("gzip, deflate, br", True),
        ("GZIP", True),
        ("br;q=1.0, gzip;q=0.8", True),
        ("*", True),
        ("br, *;q=0.1", True),
        ("", False),
        ("identity", False),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_gzip_is_sent_only_where_accept_encoding_admits_it(accept_encoding, gzip):
    assert accepts_gzip(accept_encoding) is gzip


def test_widget_js_goes_gzipped_to_browsers_that_accept_it(client):
    source = SERVED_SCRIPT
    gzipped = client.get("/widget.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    plain = client.get("/widget.js", headers={"Accept-Encoding": "identity"})
    refused = client.get("/widget.js", headers={"Accept-Encoding": "gzip;q=0, br"})

    assert gzipped.headers["content-encoding"] == "gzip"
    assert int(gzipped.headers["content-length"]) < len(source) / 2
    assert gzipped.content == source  # as the browser unpacks it
    assert "content-encoding" not in plain.headers
    assert "content-encoding" not in refused.headers
    assert int(plain.headers["content-length"]) == len(source)
    assert gzipped.headers["etag"] != plain.headers["etag"]
    assert gzipped.headers["vary"] == plain.headers["vary"] == "Accept-Encoding, Origin"


def test_click_urls_follow_the_scheme_and_host_a_request_arrived_with(client, rank_body):
    # Behind a TLS proxy, uvicorn's proxy headers (FORWARDED_ALLOW_IPS) make the scope https.
    url = "https://encore.example/v1/rank"

    offers = client.post(url, json=rank_body(), headers=auth()).json()["offers"]

    assert offers
    assert all(o["click_url"].startswith("https://encore.example/v1/click/") for o in offers)
