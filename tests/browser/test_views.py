"""A view counts only when half an offer has been on screen for one continuous second.

Time is Playwright's fake clock (page.clock): the test moves it, nothing sleeps.
"""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Locator, expect

from tests.browser.helpers import Shopper, is_events_post

pytestmark = pytest.mark.browser

# Short enough that the widget starts below the fold of the demo page.
VIEWPORT = {"width": 1000, "height": 420}


def pause_time(shopper: Shopper) -> None:
    """Fake timers that only move when the test says so (install alone lets them run)."""
    now = datetime.now(UTC)
    shopper.page.clock.install(time=now)
    shopper.page.clock.pause_at(now + timedelta(seconds=1))


def open_demo_below_the_fold(shopper: Shopper, service, purchase) -> None:
    shopper.page.set_viewport_size(VIEWPORT)
    pause_time(shopper)
    shopper.page.goto(service.url + purchase.demo_path)
    shopper.offers().first.wait_for(state="attached")
    expect(shopper.offers().first).not_to_be_in_viewport()
    with shopper.page.expect_request(is_events_post("impression")):
        shopper.page.clock.run_for(1000)


def bring_on_screen(offer: Locator) -> None:
    offer.scroll_into_view_if_needed()
    expect(offer).to_be_in_viewport(ratio=0.5)


def test_no_view_while_the_offers_stay_below_the_fold(shopper: Shopper, service, purchase) -> None:
    open_demo_below_the_fold(shopper, service, purchase)

    shopper.page.clock.run_for(10_000)

    assert shopper.sent_events("view") == []
    assert service.events("view", purchase.customer["id"]) == []


def test_a_view_is_sent_after_one_second_on_screen(shopper: Shopper, service, purchase) -> None:
    open_demo_below_the_fold(shopper, service, purchase)
    offer = shopper.offers().first
    offer_id = offer.get_attribute("data-encore-offer")

    bring_on_screen(offer)
    shopper.page.clock.run_for(900)
    assert shopper.sent_events("view") == []
    with shopper.page.expect_response(lambda r: is_events_post("view")(r.request)):
        shopper.page.clock.run_for(400)

    views = shopper.sent_events("view")
    assert views[0]["token"] == offer.get_attribute("data-encore-token")
    assert offer_id in service.events("view", purchase.customer["id"])


def test_leaving_the_screen_before_one_second_cancels_the_view(
    shopper: Shopper, service, purchase
) -> None:
    open_demo_below_the_fold(shopper, service, purchase)
    offer = shopper.offers().first

    bring_on_screen(offer)
    shopper.page.clock.run_for(700)
    shopper.page.evaluate("window.scrollTo(0, 0)")
    expect(offer).not_to_be_in_viewport()
    shopper.page.clock.run_for(5_000)

    assert shopper.sent_events("view") == []
    bring_on_screen(offer)
    with shopper.page.expect_request(is_events_post("view")):
        shopper.page.clock.run_for(1_300)


# The page's visibility as the browser reports it when the shopper switches tabs.
SET_VISIBILITY = """state => {
  Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => state});
  Object.defineProperty(document, 'hidden', {configurable: true, get: () => state === 'hidden'});
  document.dispatchEvent(new Event('visibilitychange'));
}"""


def test_time_in_a_tab_switched_away_from_does_not_count_towards_a_view(
    shopper: Shopper, service, purchase
) -> None:
    open_demo_below_the_fold(shopper, service, purchase)
    offer = shopper.offers().first

    bring_on_screen(offer)
    shopper.page.clock.run_for(500)
    shopper.page.evaluate(SET_VISIBILITY, "hidden")
    shopper.page.clock.run_for(5_000)

    assert shopper.sent_events("view") == []
    shopper.page.evaluate(SET_VISIBILITY, "visible")
    shopper.page.clock.run_for(900)
    assert shopper.sent_events("view") == []
    with shopper.page.expect_request(is_events_post("view")):
        shopper.page.clock.run_for(400)
