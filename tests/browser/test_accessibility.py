"""The widget and the dashboard against axe-core's WCAG 2.2 A/AA rules, in Chromium.

axe walks the widget's open shadow root like the rest of the page: names of buttons
and links, ARIA roles and attributes, contrast, headings, landmarks, target sizes.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.browser.conftest import sign_in
from tests.browser.helpers import Shopper, host_page, serve_host_page, snippet
from tests.browser.test_widget import open_demo

pytestmark = pytest.mark.browser

WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def assert_no_violations(page: Page, within: str | None = None) -> None:
    """No violation on ``page``, or only within the elements that match ``within``."""
    options = {"runOnly": {"type": "tag", "values": WCAG_AA}}
    results = Axe().run(page, context=within, options=options)
    assert results.violations_count == 0, results.generate_report()


def test_thank_you_page_with_offers_passes_wcag_aa_on_desktop_and_phone(
    shopper: Shopper, service, purchase
) -> None:
    open_demo(shopper, service, purchase)
    assert_no_violations(shopper.page)
    shopper.page.set_viewport_size({"width": 360, "height": 740})
    assert_no_violations(shopper.page)


def test_widget_in_its_own_colours_passes_wcag_aa_on_an_unthemed_page(
    shopper: Shopper, service, purchase
) -> None:
    # the demo page sets its own accent; most shops will not
    page = host_page(script_src=service.url + "/widget.js", attributes=snippet(service, purchase))
    serve_host_page(shopper, service.url + "/test/unthemed", page)
    shopper.page.goto(service.url + "/test/unthemed")
    shopper.offers().first.wait_for()
    assert_no_violations(shopper.page, within=".encore-host")


def test_widget_passes_wcag_aa_after_a_dismissal_and_a_checkout_rating(
    shopper: Shopper, service, purchase
) -> None:
    open_demo(shopper, service, purchase)
    shopper.offers().first.locator("[data-encore-dismiss]").click()
    assert_no_violations(shopper.page)
    shopper.page.locator("[data-encore-score]").first.click()
    shopper.page.locator("[data-encore-csat-thanks]").wait_for()
    assert_no_violations(shopper.page)


def test_dashboard_and_its_sign_in_pass_wcag_aa(admin_page, service) -> None:
    page, _problems = admin_page
    page.goto(service.url + "/admin")
    assert_no_violations(page)
    sign_in(page, service.url)
    assert_no_violations(page)
    page.set_viewport_size({"width": 320, "height": 700})
    assert_no_violations(page)
