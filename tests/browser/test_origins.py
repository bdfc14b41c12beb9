"""The snippet on a shop's own origin, talking to the service across origins (CORS, text/plain)."""

import itertools
import json

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Shopper, host_page, is_events_post

pytestmark = pytest.mark.browser

_pages = itertools.count()


def open_shop_page(shopper: Shopper, service, purchase, shop_site, *, host: str) -> None:
    """Load a thank-you page from the shop's server (as 127.0.0.1 or localhost: two origins)."""
    page = host_page(
        script_src=service.url + "/widget.js",
        attributes={
            "data-key": service.publishable_key,
            "data-placement": "thank_you",
            "data-order": json.dumps(purchase.order),
            "data-customer": json.dumps(purchase.customer),
        },
    )
    url = shop_site.publish(f"/thanks-{next(_pages)}", page).replace("127.0.0.1", host)
    shopper.page.goto(url)


def test_an_allowed_shop_origin_gets_offers_and_sends_events(
    shopper: Shopper, service, purchase, shop_site
) -> None:
    with shopper.page.expect_response(lambda r: is_events_post("impression")(r.request)) as sent:
        open_shop_page(shopper, service, purchase, shop_site, host="127.0.0.1")
        shopper.offers().first.wait_for()

    assert sent.value.status == 202
    assert 1 <= shopper.offers().count() <= 3
    shopper.assert_host_page_unharmed()


def test_an_origin_the_shop_did_not_allow_gets_nothing(
    shopper: Shopper, service, purchase, shop_site
) -> None:
    open_shop_page(shopper, service, purchase, shop_site, host="localhost")

    expect(shopper.page.locator(".encore-host")).to_be_hidden()
    assert shopper.offers().count() == 0
    assert len(shopper.encore_lines()) == 1
    shopper.assert_host_page_unharmed()
