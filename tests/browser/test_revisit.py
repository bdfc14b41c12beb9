"""A revisit of the same thank-you page in the tab (a reload, the back button) shows what the
first visit showed, without ranking again."""

import json

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from offers import schema
from tests.browser.helpers import Shopper, host_page, is_events_post, serve_host_page

pytestmark = pytest.mark.browser


def open_demo(shopper: Shopper, service, purchase) -> list[str]:
    """Load the demo page for this purchase; the tokens of the offers it shows."""
    shopper.page.goto(service.url + purchase.demo_path)
    shopper.offers().first.wait_for()
    return tokens_shown(shopper)


def tokens_shown(shopper: Shopper) -> list[str]:
    return [offer.get_attribute("data-encore-token") for offer in shopper.offers().all()]


def reload(shopper: Shopper) -> None:
    shopper.page.reload()
    shopper.page.locator("[data-encore-csat]").wait_for()  # the fragment is in


def rank_requests_of(service, customer_id: str) -> int:
    service.flush_feedback()
    requests = schema.rank_requests
    query = select(func.count()).where(
        requests.c.shop_id == service.shop_id, requests.c.customer_id == customer_id
    )
    with service.store.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def test_a_reload_shows_the_same_offers_and_logs_no_second_ranking(
    shopper: Shopper, service, purchase
) -> None:
    first = open_demo(shopper, service, purchase)

    reload(shopper)

    assert tokens_shown(shopper) == first
    assert len(shopper.widget_requests()) == 1
    assert rank_requests_of(service, purchase.customer["id"]) == 1
    shopper.assert_host_page_unharmed()


def test_an_offer_dismissed_stays_dismissed_after_a_reload(
    shopper: Shopper, service, purchase
) -> None:
    first = open_demo(shopper, service, purchase)
    with shopper.page.expect_request(is_events_post("dismiss")):
        shopper.page.locator(".encore-dismiss").first.click()

    reload(shopper)

    assert tokens_shown(shopper) == first[1:]
    assert len(shopper.widget_requests()) == 1


def test_a_widget_closed_by_dismissing_every_offer_stays_closed_after_a_reload(
    shopper: Shopper, service, purchase
) -> None:
    for _ in open_demo(shopper, service, purchase):
        with shopper.page.expect_request(is_events_post("dismiss")):
            shopper.page.locator(".encore-dismiss").first.click()

    shopper.page.reload()
    shopper.page.wait_for_load_state("load")

    expect(shopper.page.locator(".encore-host")).to_be_hidden()
    assert shopper.offers().count() == 0
    assert len(shopper.widget_requests()) == 1


def test_an_answered_csat_question_is_not_asked_again_after_a_reload(
    shopper: Shopper, service, purchase
) -> None:
    first = open_demo(shopper, service, purchase)
    with shopper.page.expect_request(is_events_post("csat")):
        shopper.page.get_by_role("button", name="4 out of 5").click()

    shopper.page.reload()
    shopper.offers().first.wait_for()

    assert tokens_shown(shopper) == first
    expect(shopper.page.locator("[data-encore-csat]")).to_have_count(0)
    assert service.csat_scores(purchase.customer["id"]) == [4]


def test_another_order_in_the_same_tab_is_ranked_afresh(shopper: Shopper, service) -> None:
    first, second = service.new_purchase(), service.new_purchase()
    open_demo(shopper, service, first)

    open_demo(shopper, service, second)

    assert len(shopper.widget_requests()) == 2
    assert rank_requests_of(service, second.customer["id"]) == 1


def test_a_reload_15_minutes_later_ranks_again(shopper: Shopper, service, purchase) -> None:
    shopper.page.clock.install()
    first = open_demo(shopper, service, purchase)
    shopper.page.clock.fast_forward("15:01")

    reload(shopper)

    assert len(shopper.widget_requests()) == 2
    assert tokens_shown(shopper) != first  # new tokens: a new ranking


def test_offers_show_where_the_page_refuses_storage(shopper: Shopper, service, purchase) -> None:
    shopper.page.add_init_script(
        "Object.defineProperty(window, 'sessionStorage', {get() {"
        " throw new DOMException('The operation is insecure.', 'SecurityError'); }});"
    )
    open_demo(shopper, service, purchase)

    reload(shopper)

    assert len(shopper.widget_requests()) == 2  # nothing kept: each visit ranks
    assert shopper.encore_lines() == []
    shopper.assert_host_page_unharmed()


def test_an_answer_that_could_not_be_shown_is_not_kept_for_the_reload(
    shopper: Shopper, service, purchase
) -> None:
    shopper.page.route(
        "**/v1/widget",
        lambda route: route.fulfill(status=200, content_type="application/json", body="{}"),
    )
    with shopper.page.expect_request("**/v1/widget"):
        shopper.page.goto(service.url + purchase.demo_path)
    expect(shopper.page.locator(".encore-host")).to_be_hidden()
    shopper.page.unroute("**/v1/widget")

    reload(shopper)

    assert len(shopper.widget_requests()) == 2
    assert shopper.offers().count() >= 1


def test_two_widgets_of_one_order_keep_their_own_offers_after_a_reload(
    shopper: Shopper, service, purchase
) -> None:
    show = {"order": purchase.order, "customer": purchase.customer}
    queue = [["show", {**show, "target": f"#{slot}"}] for slot in ("first", "second")]
    page = host_page(
        script_src=service.url + "/widget.js",
        attributes={"data-key": service.publishable_key},
        slot="<div id='first'></div><div id='second'></div>",
        before_script=f"<script>window.encore = {{q: {json.dumps(queue)}}};</script>",
    )
    url = service.url + "/test/two-widgets"
    serve_host_page(shopper, url, page)
    shopper.page.goto(url)
    expect(shopper.page.locator("#second [data-encore-token]").first).to_be_visible()
    shown = {slot: slot_tokens(shopper, slot) for slot in ("first", "second")}

    shopper.page.reload()
    expect(shopper.page.locator("#second [data-encore-token]").first).to_be_visible()

    assert {slot: slot_tokens(shopper, slot) for slot in ("first", "second")} == shown
    assert len(shopper.widget_requests()) == 2


def slot_tokens(shopper: Shopper, slot: str) -> list[str]:
    offers = shopper.page.locator(f"#{slot} [data-encore-token]").all()
    return [offer.get_attribute("data-encore-token") for offer in offers]


def test_revoking_consent_forgets_what_was_kept(shopper: Shopper, service, purchase) -> None:
    open_demo(shopper, service, purchase)
    kept = "Object.keys(sessionStorage).filter(k => k.startsWith('encore:')).length"
    assert shopper.page.evaluate(kept) == 1

    shopper.page.evaluate("encore.consent(false)")

    assert shopper.page.evaluate(kept) == 0
    expect(shopper.page.locator(".encore-host")).to_be_hidden()
