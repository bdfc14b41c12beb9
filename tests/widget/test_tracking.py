"""Events, clicks and conversions: what happens to shown offers."""

import re
import time
from datetime import timedelta

import pandas as pd
import pytest
from msgspec.structs import replace
from sqlalchemy import update

from offers import schema
from offers.caps import load_lifetime_usage
from offers.holdout import in_holdout
from offers.store import Store, utcnow
from ranker.artifact import load_model
from tests.widget.conftest import SHOP_ID, SK, auth, flush_log, stored_rows
from widget.cli import main
from widget.tokens import Tracking


def test_events_are_idempotent(client, rank_body, database_url):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    event = {"type": "view", "token": offer["token"], "at": "2026-01-01T00:00:00Z"}

    answers = [
        client.post("/v1/events", json={"events": [event, event]}, headers=auth()) for _ in range(2)
    ]
    flush_log(client)

    assert [a.status_code for a in answers] == [202, 202]
    assert answers[0].json() == {"accepted": 2}
    [row] = stored_rows(database_url, schema.events)
    assert (row["type"], row["offer_id"], row["customer_id"]) == (
        "view",
        offer["id"],
        "cust-test-1",
    )


def test_altered_copies_of_a_token_count_once(client, rank_body, database_url):
    # itsdangerous' base64 decoding skips what it does not expect: these all verify
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    copies = [offer["token"] + tail for tail in ("", "=", "==", "!=", "~~~=")]

    views = client.post(
        "/v1/events",
        json={"events": [{"type": "view", "token": t} for t in copies]},
        headers=auth(),
    )
    clicks = [client.get(f"/v1/click/{t}", follow_redirects=False) for t in copies]
    flush_log(client)

    assert views.json() == {"accepted": len(copies)}
    assert {c.status_code for c in clicks} == {303}
    rows = stored_rows(database_url, schema.events)
    assert sorted(row["type"] for row in rows) == ["click", "view"]


def test_one_bad_token_in_a_batch_does_not_lose_the_other_events(client, rank_body, database_url):
    good = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]["token"]
    batch = [{"type": "view", "token": "not.a.token"}, {"type": "view", "token": good}]

    response = client.post("/v1/events", json={"events": batch}, headers=auth())
    flush_log(client)

    assert response.status_code == 202
    assert response.json() == {
        "accepted": 1,
        "refused": [
            {
                "code": "invalid_token",
                "message": "the tracking token is not valid",
                "field": "events[0].token",
            }
        ],
    }
    [row] = stored_rows(database_url, schema.events)
    assert row["type"] == "view"


def test_events_refuse_a_forged_token(client, rank_body):
    token = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]["token"]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    response = client.post(
        "/v1/events", json={"events": [{"type": "view", "token": forged}]}, headers=auth()
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid_token",
            "message": "the tracking token is not valid",
            "field": "events[0].token",
        }
    }


def test_csat_answer_is_recorded_once(client, rank_body, database_url):
    html = client.post("/v1/widget", json=rank_body(), headers=auth()).json()["html"]
    token = re.search(r'data-encore-csat="([^"]+)"', html).group(1)
    answer = {"events": [{"type": "csat", "score": 4, "token": token}]}

    client.post("/v1/events", json=answer, headers=auth())
    response = client.post("/v1/events", json=answer, headers=auth())

    assert response.status_code == 202
    [row] = stored_rows(database_url, schema.csat_answers)
    assert (row["score"], row["customer_id"], row["holdout"]) == (4, "cust-test-1", False)


def test_csat_event_needs_a_score(client, rank_body):
    token = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]["token"]

    response = client.post(
        "/v1/events", json={"events": [{"type": "csat", "token": token}]}, headers=auth()
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "events[0]"


def test_click_records_and_redirects_to_the_offer(client, rank_body, database_url):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    cta_url = client.get(f"/v1/offers/{offer['id']}", headers=auth(SK)).json()["cta_url"]

    response = client.get(f"/v1/click/{offer['token']}", follow_redirects=False)
    client.get(f"/v1/click/{offer['token']}", follow_redirects=False)
    flush_log(client)

    assert response.status_code == 303
    assert response.headers["location"] == cta_url
    [row] = stored_rows(database_url, schema.events)
    assert (row["type"], row["offer_id"], row["customer_id"]) == (
        "click",
        offer["id"],
        "cust-test-1",
    )


def test_a_head_request_on_a_click_link_redirects_but_is_not_a_click(
    client, rank_body, database_url
):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]

    response = client.head(f"/v1/click/{offer['token']}", follow_redirects=False)
    flush_log(client)

    assert response.status_code == 303
    assert stored_rows(database_url, schema.events) == []


def test_a_click_on_an_expired_token_opens_the_offer_but_is_not_counted(
    client, rank_body, database_url, monkeypatch
):
    # a thank-you page left open in a tab for over a month (tokens live 30 days)
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    cta_url = client.get(f"/v1/offers/{offer['id']}", headers=auth(SK)).json()["cta_url"]
    signer = client.app_state["service"].signer
    tracking, months_ago = signer.verify(offer["token"]), time.time() - 31 * 86_400
    with monkeypatch.context() as then:
        then.setattr(time, "time", lambda: months_ago)
        expired = signer.sign(tracking)

    response = client.get(f"/v1/click/{expired}", follow_redirects=False)
    flush_log(client)

    assert response.status_code == 303
    assert response.headers["location"] == cta_url
    assert stored_rows(database_url, schema.events) == []


def test_click_with_a_forged_token_is_a_json_400(client):
    response = client.get("/v1/click/not-a-token", follow_redirects=False)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_token"


def test_click_with_a_forged_token_in_a_browser_is_a_page(client):
    response = client.get(
        "/v1/click/not-a-token", headers={"Accept": "text/html"}, follow_redirects=False
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "the tracking token is not valid" in response.text


def test_a_click_on_an_offer_deleted_since_it_was_shown_says_so_and_records_nothing(
    client, rank_body, database_url
):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    assert client.delete(f"/v1/offers/{offer['id']}", headers=auth(SK)).status_code == 204

    page = client.get(
        f"/v1/click/{offer['token']}", headers={"Accept": "text/html"}, follow_redirects=False
    )
    answer = client.get(f"/v1/click/{offer['token']}", follow_redirects=False)
    flush_log(client)

    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "this offer is no longer available" in page.text
    assert "<main><h1>Offer unavailable</h1>" in page.text
    assert "width=device-width" in page.text  # readable on the phone it was clicked on
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "this offer is no longer available"
    assert stored_rows(database_url, schema.events) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"status": "paused"}, id="paused"),
        pytest.param({"status": "archived"}, id="archived"),
        pytest.param({"starts_at": None, "ends_at": "2020-01-01T00:00:00Z"}, id="ended"),
        pytest.param({"starts_at": "2999-01-01T00:00:00Z", "ends_at": None}, id="moved later"),
        pytest.param({"cta_url": None}, id="link removed"),  # a partner's: nothing to open
    ],
)
def test_a_click_on_an_offer_stopped_since_it_was_shown_opens_nothing(
    client, rank_body, database_url, change
):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    patched = client.patch(f"/v1/offers/{offer['id']}", json=change, headers=auth(SK))
    assert patched.status_code == 200, patched.text

    answer = client.get(f"/v1/click/{offer['token']}", follow_redirects=False)
    clicks = {"events": [{"type": "click", "token": offer["token"]}]}
    sent = client.post("/v1/events", json=clicks, headers=auth())
    flush_log(client)

    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "this offer is no longer available"
    assert sent.status_code == 404  # as the click link: a click on it counts for nothing
    assert sent.json()["error"]["message"] == "this offer is no longer available"
    assert stored_rows(database_url, schema.events) == []


def test_a_token_signed_for_another_shop_is_refused(client):
    signer = client.app_state["service"].signer
    token = signer.sign(Tracking("another-shop", "r1", "o1", "c1", 1, "thank_you"))

    response = client.post(
        "/v1/events", json={"events": [{"type": "view", "token": token}]}, headers=auth()
    )

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "this token belongs to another shop"
    assert response.json()["error"]["field"] == "events[0].token"


def test_a_conversion_by_the_satisfaction_question_token_is_refused(client, rank_body):
    html = client.post("/v1/widget", json=rank_body(), headers=auth()).json()["html"]
    token = re.search(r'data-encore-csat="([^"]+)"', html).group(1)

    response = client.post(
        "/v1/conversions", json={"token": token, "revenue": 10.0}, headers=auth(SK)
    )

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "this token is not about an offer",
        "field": "token",
    }


@pytest.mark.parametrize("event_type", ["click", "view", "dismiss"])
def test_the_satisfaction_question_token_is_no_offer_event(
    client, rank_body, database_url, event_type
):
    html = client.post("/v1/widget", json=rank_body(), headers=auth()).json()["html"]
    token = re.search(r'data-encore-csat="([^"]+)"', html).group(1)

    response = client.post(
        "/v1/events", json={"events": [{"type": event_type, "token": token}]}, headers=auth()
    )
    flush_log(client)

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "this token is not about an offer",
        "field": "events[0].token",
    }
    assert stored_rows(database_url, schema.events) == []


def test_one_purchase_posted_with_each_visit_s_token_counts_once(client, rank_body, database_url):
    body = rank_body(None)  # a guest: no per-customer cap hides an offer on the second visit
    first_visit = client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
    second_visit = client.post("/v1/rank", json=body, headers=auth()).json()["offers"]
    tokens = {offer["id"]: [offer["token"]] for offer in first_visit}
    for offer in second_visit:
        tokens.get(offer["id"], []).append(offer["token"])
    offer_id, (token, again) = next((k, v) for k, v in tokens.items() if len(v) == 2)

    first = client.post(
        "/v1/conversions",
        json={"token": token, "order_id": "P-9", "revenue": 100},
        headers=auth(SK),
    )
    second = client.post(
        "/v1/conversions",
        json={"token": again, "order_id": "P-9", "revenue": 100},
        headers=auth(SK),
    )
    other = client.post(
        "/v1/conversions",
        json={"token": again, "order_id": "P-10", "revenue": 50},
        headers=auth(SK),
    )

    assert (first.status_code, second.status_code, other.status_code) == (201, 200, 201)
    assert second.json()["recorded"] is False
    rows = stored_rows(database_url, schema.conversions)
    assert sorted((row["offer_id"], row["order_id"], row["revenue"]) for row in rows) == [
        (offer_id, "P-10", 50.0),
        (offer_id, "P-9", 100.0),
    ]


def test_a_purchase_recorded_under_an_id_of_before_is_not_counted_again(
    client, rank_body, database_url
):
    """A conversion stored when ids were made of the request (before an upgrade), posted
    again by a server's retry."""
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    conversion = {"token": offer["token"], "order_id": "P-11", "revenue": 25}
    assert client.post("/v1/conversions", json=conversion, headers=auth(SK)).status_code == 201
    store = Store.open(database_url)
    try:
        with store.engine.begin() as connection:
            connection.execute(schema.conversions.update().values(id="an-id-of-before"))
    finally:
        store.close()

    again = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert (again.status_code, again.json()["recorded"]) == (200, False)
    assert len(stored_rows(database_url, schema.conversions)) == 1


def test_conversion_by_token_is_recorded_once(client, rank_body, database_url):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    conversion = {"token": offer["token"], "order_id": "o-2", "revenue": 19.5}

    first = client.post("/v1/conversions", json=conversion, headers=auth(SK))
    second = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert (first.status_code, first.json()["recorded"]) == (201, True)
    assert (second.status_code, second.json()["recorded"]) == (200, False)
    [row] = stored_rows(database_url, schema.conversions)
    assert (row["offer_id"], row["order_id"], row["revenue"], row["customer_id"]) == (
        offer["id"],
        "o-2",
        19.5,
        "cust-test-1",
    )


def test_a_conversion_posted_with_a_numeric_order_id_and_revenue_text_is_recorded(
    client, rank_body, database_url
):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    conversion = {"token": offer["token"], "order_id": 1002, "revenue": "19.50"}

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 201
    [row] = stored_rows(database_url, schema.conversions)
    assert (row["order_id"], row["revenue"]) == ("1002", 19.5)


def test_a_refund_written_in_parentheses_is_no_conversion(client, rank_body, database_url):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    conversion = {"token": offer["token"], "order_id": "o-3", "revenue": "(5.00)"}

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "revenue"
    assert stored_rows(database_url, schema.conversions) == []


def _conversion_of_the_first_offer(ranked: dict) -> dict:
    return {"request_id": ranked["request_id"], "offer_id": ranked["offers"][0]["id"], "revenue": 5}


def test_conversion_by_request_and_offer(client, rank_body):
    ranked = client.post("/v1/rank", json=rank_body(), headers=auth()).json()
    flush_log(client)
    conversion = _conversion_of_the_first_offer(ranked)

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 201
    assert response.json()["offer_id"] == ranked["offers"][0]["id"]


def test_a_conversion_posted_the_moment_an_offer_is_ranked_finds_it(client, rank_body):
    ranked = client.post("/v1/rank", json=rank_body(), headers=auth()).json()
    conversion = _conversion_of_the_first_offer(ranked)

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 201


def test_a_conversion_with_an_unknown_field_is_refused_not_half_read(
    client, rank_body, database_url
):
    offer = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][0]
    conversion = {"token": offer["token"], "orderId": "5001", "revenue": 30}

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "orderId"
    assert "`orderId`" in response.json()["error"]["message"]
    assert stored_rows(database_url, schema.conversions) == []


def test_a_conversion_whose_ids_are_not_its_token_s_is_refused(client, rank_body):
    first, second = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"][:2]
    conversion = {"token": first["token"], "offer_id": second["id"], "revenue": 30}

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "offer_id"


def test_conversion_in_a_request_never_made_is_404_naming_the_request(client):
    offer_id = min(client.app_state["service"].catalog.by_id)
    conversion = {"request_id": "nope", "offer_id": offer_id, "revenue": 5}

    response = client.post("/v1/conversions", json=conversion, headers=auth(SK))

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "request_id"


def test_conversion_needs_a_token_or_request_and_offer(client):
    response = client.post("/v1/conversions", json={"revenue": 5}, headers=auth(SK))

    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "give the offer's `token`, or `request_id` and `offer_id`",
        "field": "token",
    }


def holdout_customer(share: float) -> str:
    """A customer id that falls in a holdout group of ``share``."""
    return next(c for c in (f"held-{n}" for n in range(1000)) if in_holdout(c, share))


def csat_token(html: str) -> str:
    return re.search(r'data-encore-csat="([^"]+)"', html).group(1)


def test_a_holdout_customer_is_asked_csat_alone_and_recorded_as_holdout(
    make_client, rank_body, database_url
):
    client = make_client(holdout_share=0.5)
    customer = holdout_customer(0.5)
    answer = client.post("/v1/widget", json=rank_body(customer), headers=auth()).json()
    assert answer["offers"] == []
    assert "data-encore-token" not in answer["html"]
    token = csat_token(answer["html"])
    assert client.app_state["service"].signer.verify(token).holdout is True

    events = {"events": [{"type": "csat", "score": 2, "token": token}]}
    assert client.post("/v1/events", json=events, headers=auth()).status_code == 202

    [row] = stored_rows(database_url, schema.csat_answers)
    assert (row["score"], row["customer_id"], row["holdout"]) == (2, customer, True)


def test_no_relevant_offers_means_no_question_outside_the_holdout(client, rank_body, database_url):
    store = Store.open(database_url)
    try:
        paused = [replace(o, status="paused") for o in store.offers(SHOP_ID)]
        store.save_offers(SHOP_ID, paused)
    finally:
        store.close()
    client.portal.call(client.app_state["service"].refresh)

    answer = client.post("/v1/widget", json=rank_body(), headers=auth()).json()

    assert (answer["offers"], answer["html"]) == ([], "")


def test_the_holdout_arm_comes_from_the_token_not_the_current_share(
    make_client, rank_body, database_url
):
    """The share may change between the page and the answer: the token's arm is what counts."""
    held = make_client(holdout_share=0.5)
    customer = holdout_customer(0.5)
    html = held.post("/v1/widget", json=rank_body(customer), headers=auth()).json()["html"]
    exposed = make_client(holdout_share=0.0)
    events = {"events": [{"type": "csat", "score": 5, "token": csat_token(html)}]}
    assert exposed.post("/v1/events", json=events, headers=auth()).status_code == 202
    [row] = stored_rows(database_url, schema.csat_answers)
    assert row["holdout"] is True


def test_a_holdout_customer_who_buys_anyway_counts_in_the_holdout_arm(make_client, rank_body):
    client = make_client(holdout_share=0.5)
    shown = client.post("/v1/rank", json=rank_body("exposed-1"), headers=auth()).json()
    offer = shown["offers"][0]
    held = client.post("/v1/rank", json=rank_body(holdout_customer(0.5)), headers=auth()).json()
    assert held["offers"] == []

    bought = [
        {"token": offer["token"], "order_id": "x1", "revenue": 10},
        {
            "request_id": held["request_id"],
            "offer_id": offer["id"],
            "order_id": "x2",
            "revenue": 10,
        },
    ]
    answers = [client.post("/v1/conversions", json=b, headers=auth(SK)) for b in bought]
    today = utcnow().date().isoformat()
    arms = client.get(f"/v1/report?since={today}&until={today}", headers=auth(SK)).json()

    assert [a.status_code for a in answers] == [201, 201]
    assert arms["holdout"]["holdout"]["revenue"] == 10.0
    assert arms["holdout"]["exposed"]["revenue"] == 10.0
    assert arms["holdout"]["difference"]["rpt"] == 0.0


@pytest.mark.parametrize(
    ("holdout", "in_catalog", "field", "why"),
    [
        (False, True, "request_id", "which is no holdout request"),
        (False, False, "offer_id", "and the catalog has no such offer"),
        (True, False, "offer_id", "and the catalog has no such offer"),
    ],
    ids=["exposed-request", "exposed-request-unknown-offer", "holdout-request-unknown-offer"],
)
def test_a_conversion_of_an_offer_a_request_did_not_show_is_404_saying_why(
    make_client, rank_body, holdout, in_catalog, field, why
):
    client = make_client(holdout_share=0.5)
    customer = holdout_customer(0.5) if holdout else "exposed-1"
    answer = client.post("/v1/rank", json=rank_body(customer), headers=auth()).json()
    shown = {offer["id"] for offer in answer["offers"]}
    catalog = client.app_state["service"].catalog.by_id
    offer_id = min(set(catalog) - shown) if in_catalog else "no-such-offer"
    body = {"request_id": answer["request_id"], "offer_id": offer_id, "order_id": "x", "revenue": 1}

    response = client.post("/v1/conversions", json=body, headers=auth(SK))

    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": f"offer `{offer_id}` was not shown in request `{answer['request_id']}`, {why}",
        "field": field,
    }


def _age_requests(client, days: int) -> None:
    """Date every stored request and impression ``days`` ago."""
    store = client.app_state["service"].store
    aged = utcnow() - timedelta(days=days)
    with store.engine.begin() as connection:
        connection.execute(update(schema.impressions).values(shown_at=aged))
        connection.execute(update(schema.rank_requests).values(at=aged))


@pytest.mark.parametrize(
    ("holdout", "days", "status"),
    [(False, 29, 201), (False, 31, 400), (True, 29, 201), (True, 31, 400)],
    ids=["shown-29-days-ago", "shown-31-days-ago", "held-out-29-days-ago", "held-out-31-days-ago"],
)
def test_a_conversion_by_request_id_counts_only_while_its_tokens_would(
    make_client, rank_body, database_url, holdout, days, status
):
    client = make_client(holdout_share=0.5)
    customer = holdout_customer(0.5) if holdout else "exposed-1"
    answer = client.post("/v1/rank", json=rank_body(customer), headers=auth()).json()
    catalog = client.app_state["service"].catalog.by_id
    offer_id = answer["offers"][0]["id"] if answer["offers"] else min(catalog)
    flush_log(client)
    _age_requests(client, days)
    body = {"request_id": answer["request_id"], "offer_id": offer_id, "order_id": "x", "revenue": 1}

    response = client.post("/v1/conversions", json=body, headers=auth(SK))

    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["field"] == "request_id"
        assert "over 30 days old" in response.json()["error"]["message"]
    assert len(stored_rows(database_url, schema.conversions)) == (status == 201)


def test_a_holdout_customer_s_purchase_spends_no_partner_budget(make_client, rank_body):
    client = make_client(holdout_share=0.5)
    service = client.app_state["service"]
    partner = next(o for o in service.catalog.offers if o.kind == "partner")
    held = client.post("/v1/rank", json=rank_body(holdout_customer(0.5)), headers=auth()).json()
    body = {"request_id": held["request_id"], "offer_id": partner.id, "order_id": "x", "revenue": 5}

    assert client.post("/v1/conversions", json=body, headers=auth(SK)).status_code == 201
    flush_log(client)

    assert load_lifetime_usage(service.store, SHOP_ID, [partner]).conversions == {}
    assert service.recent.usage(None, utcnow()).conversions.get(partner.id, 0) == 0


def test_a_cross_sell_without_links_takes_its_products_page_and_image(client, shop_data):
    product = pd.read_csv(shop_data.files / "products.csv", dtype=str).iloc[0]
    offer = {"id": "x-bare", "kind": "cross_sell", "title": "Also this", "sku": product["sku"]}
    assert client.post("/v1/offers", json=offer, headers=auth(SK)).status_code == 201
    signer = client.app_state["service"].signer
    token = signer.sign(Tracking(SHOP_ID, "r1", "x-bare", "c1", 1, "thank_you"))

    click = client.get(f"/v1/click/{token}", follow_redirects=False)
    stored = client.get("/v1/offers/x-bare", headers=auth(SK)).json()

    assert (click.status_code, click.headers["location"]) == (303, product["url"])
    assert client.app_state["service"].catalog.by_id["x-bare"].image_url == product["image_url"]
    assert "cta_url" not in stored and "image_url" not in stored  # the offer itself is unchanged


def test_an_offer_without_a_link_to_open_is_not_shown(client, rank_body):
    shown = client.post("/v1/rank", json=rank_body("cust-a"), headers=auth()).json()["offers"]
    partner = next(offer["id"] for offer in shown if offer["kind"] == "partner")
    unlinked = client.patch(f"/v1/offers/{partner}", json={"cta_url": None}, headers=auth(SK))
    assert unlinked.status_code == 200, unlinked.text

    again = client.post("/v1/rank", json=rank_body("cust-b"), headers=auth()).json()["offers"]
    clicks = [client.get(f"/v1/click/{offer['token']}", follow_redirects=False) for offer in again]

    assert partner not in [offer["id"] for offer in again]
    assert again and [click.status_code for click in clicks] == [303] * len(again)


def test_debug_says_an_offer_without_a_link_to_open_is_not_shown_for_that(client, rank_body):
    shown = client.post("/v1/rank", json=rank_body("cust-a"), headers=auth()).json()["offers"]
    partner = next(offer["id"] for offer in shown if offer["kind"] == "partner")
    client.patch(f"/v1/offers/{partner}", json={"cta_url": None}, headers=auth(SK))

    looked = client.post("/v1/rank?debug=1", json=rank_body("cust-b"), headers=auth(SK)).json()

    assert looked["debug"]["excluded"][partner] == "no `cta_url` a click could open"


def test_what_the_service_logged_trains_the_next_model(
    client, rank_body, shop_data, database_url, tmp_path, capsys
):
    """The loop a shop runs: serve, export the feedback log, train on it."""
    shown = [
        client.post("/v1/rank", json=rank_body(customer=f"loop-{n}"), headers=auth()).json()
        for n in range(8)
    ]
    clicked = shown[0]["offers"][0]
    assert client.get(f"/v1/click/{clicked['token']}", follow_redirects=False).status_code == 303
    conversion = {"token": clicked["token"], "order_id": "o-loop", "revenue": 40.0}
    assert client.post("/v1/conversions", json=conversion, headers=auth(SK)).status_code == 201
    flush_log(client)
    feedback, model = tmp_path / "feedback.csv", tmp_path / "model"
    orders = shop_data.files / "orders.csv"

    exported = main(
        ["export", "--impressions", str(feedback), "--database", database_url, "--shop", SHOP_ID]
    )
    trained = main(
        ["train", "--orders", str(orders), "--impressions", str(feedback), "--out", str(model)]
    )

    assert (exported, trained) == (0, 0)
    n_shown = sum(len(answer["offers"]) for answer in shown)
    assert f"{n_shown} impressions, 1 clicked, 1 converted" in capsys.readouterr().out
    learnt = load_model(model).feedback
    assert f"offer={clicked['id']}" in learnt.weights
    assert learnt.conversion_rate[clicked["id"]] > 0
