"""How a page hands the snippet its order: data-* attributes, queued calls, targets, consent."""

import json

import pytest

from tests.browser.helpers import Shopper, host_page, is_events_post

pytestmark = pytest.mark.browser

STUB = (
    "<script>window.encore = window.encore || {q: [], "
    "show: function (o) { this.q.push(['show', o]) }, "
    "consent: function (v) { this.q.push(['consent', v]) }};</script>"
)


def open_host_page(
    shopper: Shopper,
    service,
    attributes: dict[str, str],
    before_script: str = "",
    slot: str = "",
    headers: dict[str, str] | None = None,
) -> None:
    """Load a thank-you page (on the service's origin) that pastes the snippet, and wait for it."""
    page = host_page(
        script_src=service.url + "/widget.js",
        attributes={
            "data-key": service.publishable_key,
            "data-placement": "thank_you",
            **attributes,
        },
        before_script=before_script,
        slot=slot,
    )
    shopper.page.route(
        service.url + "/test/thanks",
        lambda route: route.fulfill(content_type="text/html", body=page, headers=headers or {}),
    )
    shopper.page.goto(service.url + "/test/thanks")
    shopper.page.wait_for_function("window.encore && window.encore.loaded === true")


def open_under_policy(shopper: Shopper, service, purchase, policy: str) -> None:
    """Load a thank-you page that pastes the snippet and sends this Content-Security-Policy."""
    open_host_page(
        shopper, service, order_attributes(purchase), headers={"Content-Security-Policy": policy}
    )


def order_attributes(purchase) -> dict[str, str]:
    return {
        "data-order": json.dumps(purchase.order),
        "data-customer": json.dumps(purchase.customer),
    }


def show_call(purchase, **extra: str) -> str:
    options = json.dumps({"order": purchase.order, "customer": purchase.customer, **extra})
    return f"<script>encore.show({options});</script>"


def queue_call(purchase) -> str:
    options = json.dumps({"order": purchase.order, "customer": purchase.customer})
    stub = "window.encore = window.encore || {q: []};"
    return f"<script>{stub} encore.q.push(['show', {options}]);</script>"


def host_of_offers(shopper: Shopper) -> str | None:
    """id (or class) of the element whose shadow root holds the offers."""
    return shopper.page.evaluate(
        "(() => { const h = [...document.querySelectorAll('*')].find(e => e.shadowRoot"
        " && e.shadowRoot.querySelector('[data-encore-token]'));"
        " return h && (h.id || h.className); })()"
    )


@pytest.mark.parametrize(
    ("make_page", "expected_host"),
    [
        pytest.param(
            lambda p: (order_attributes(p), "", ""), "encore-host", id="data-order-after-script"
        ),
        pytest.param(
            lambda p: (order_attributes(p), "", '<div id="encore-offers"></div>'),
            "encore-offers",
            id="data-order-into-encore-offers",
        ),
        pytest.param(
            lambda p: (
                {**order_attributes(p), "data-target": "#slot"},
                "",
                '<section id="slot"></section>',
            ),
            "slot",
            id="data-target",
        ),
        pytest.param(lambda p: ({}, STUB + show_call(p), ""), "encore-host", id="show-before-load"),
        pytest.param(
            lambda p: ({}, STUB + show_call(p, target="#slot"), '<div id="slot"></div>'),
            "slot",
            id="show-before-load-with-target",
        ),
        pytest.param(lambda p: ({}, queue_call(p), ""), "encore-host", id="queue-push-before-load"),
    ],
)
def test_offers_render_wherever_the_page_asks(
    shopper: Shopper, service, purchase, make_page, expected_host: str
) -> None:
    attributes, before_script, slot = make_page(purchase)

    open_host_page(shopper, service, attributes, before_script, slot)
    shopper.offers().first.wait_for()

    assert host_of_offers(shopper) == expected_host
    assert len(shopper.widget_requests()) == 1
    shopper.assert_host_page_unharmed()


def test_show_after_load_renders_offers(shopper: Shopper, service, purchase) -> None:
    open_host_page(shopper, service, {}, slot='<div id="encore-offers"></div>')
    assert shopper.widget_requests() == []

    shopper.page.evaluate(
        "([order, customer]) => encore.show({order, customer})", [purchase.order, purchase.customer]
    )
    shopper.offers().first.wait_for()

    assert host_of_offers(shopper) == "encore-offers"


def test_pending_consent_shows_and_sends_nothing_until_granted(
    shopper: Shopper, service, purchase
) -> None:
    open_host_page(shopper, service, {**order_attributes(purchase), "data-consent": "pending"})

    assert shopper.widget_requests() == []
    assert shopper.page.locator(".encore-host").count() == 0
    with shopper.page.expect_request("**/v1/widget"):
        shopper.page.evaluate("encore.consent(true)")
    shopper.offers().first.wait_for()
    shopper.assert_host_page_unharmed()


@pytest.mark.parametrize(
    ("consent", "call"),
    [
        pytest.param("pending", "encore.consent(false)", id="pending-then-refused"),
        pytest.param(
            "false", "encore.show({order: {id: 'x', items: []}})", id="refused-then-shown"
        ),
    ],
)
def test_refused_consent_shows_and_sends_nothing(
    shopper: Shopper, service, purchase, consent: str, call: str
) -> None:
    open_host_page(shopper, service, {**order_attributes(purchase), "data-consent": consent})

    shopper.page.evaluate(call)
    shopper.page.evaluate("encore.flush()")

    assert shopper.page.evaluate("document.querySelector('.encore-host')") is None
    assert [r.url for r in shopper.requests if "/v1/" in r.url] == []
    shopper.assert_host_page_unharmed()


def test_widget_is_styled_under_a_strict_content_security_policy(
    shopper: Shopper, service, purchase
) -> None:
    # No inline style or script allowed: the snippet's constructed stylesheet still applies.
    own = service.url
    policy = f"default-src 'none'; script-src {own}; connect-src {own}; img-src *; style-src 'self'"
    open_under_policy(shopper, service, purchase, policy)
    shopper.offers().first.wait_for()

    cta = shopper.page.locator(".encore-cta").first
    assert cta.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(43, 89, 195)"
    shopper.assert_host_page_unharmed()


def test_offers_show_and_dismiss_under_an_enforced_trusted_types_policy(
    shopper: Shopper, service, purchase
) -> None:
    # Such a page refuses strings for innerHTML: the snippet writes through its own policy.
    policy = "require-trusted-types-for 'script'; trusted-types encore"
    open_under_policy(shopper, service, purchase, policy)
    shopper.offers().first.wait_for()
    for _ in range(shopper.offers().count()):
        with shopper.page.expect_request(is_events_post("dismiss")):
            shopper.page.locator("[data-encore-dismiss]").first.click()
            shopper.page.evaluate("encore.flush()")

    assert shopper.page.locator(".encore-host").evaluate("el => el.shadowRoot.innerHTML") == ""
    assert shopper.encore_lines() == []
    shopper.assert_host_page_unharmed()


def test_a_trusted_types_policy_without_encore_gets_a_warning_naming_it(
    shopper: Shopper, service, purchase
) -> None:
    policy = "require-trusted-types-for 'script'; trusted-types shop-policy"
    open_under_policy(shopper, service, purchase, policy)
    shopper.page.wait_for_function("document.querySelector('.encore-host')")

    assert shopper.offers().count() == 0
    assert len(shopper.encore_lines()) == 1
    assert "trusted-types" in shopper.encore_lines()[0]
    shopper.assert_host_page_unharmed()


def test_on_a_right_to_left_page_the_dismiss_button_sits_at_the_start_corner(
    shopper: Shopper, service, purchase
) -> None:
    rtl = "<script>document.documentElement.dir = 'rtl';</script>"
    open_host_page(shopper, service, order_attributes(purchase), before_script=rtl)
    offer = shopper.offers().first
    offer.wait_for()

    card, dismiss = offer.bounding_box(), offer.locator("[data-encore-dismiss]").bounding_box()
    assert dismiss["x"] - card["x"] < 20  # the card's left edge: where a line ends in RTL
    shopper.assert_host_page_unharmed()


@pytest.mark.parametrize(
    ("attributes", "heading"),
    [
        pytest.param({}, "Angebote für Sie", id="the-page-lang"),
        pytest.param({"data-locale": "fr-FR"}, "Offres pour vous", id="data-locale-overrides"),
    ],
)
def test_the_widget_speaks_the_page_language(
    shopper: Shopper, service, purchase, attributes: dict[str, str], heading: str
) -> None:
    german_page = "<script>document.documentElement.lang = 'de-DE';</script>"
    open_host_page(
        shopper, service, {**order_attributes(purchase), **attributes}, before_script=german_page
    )
    shopper.offers().first.wait_for()

    assert shopper.page.locator(".encore-heading").inner_text() == heading
    shopper.assert_host_page_unharmed()


def test_offers_show_and_events_arrive_on_a_page_whose_arrays_have_a_to_json(
    shopper: Shopper, service, purchase
) -> None:
    # Prototype.js (old Magento shops) gives arrays a toJSON returning a string, so a plain
    # JSON.stringify sends `"items": "[...]"`, which the API refuses.
    prototype = (
        "<script>Array.prototype.toJSON = function () {"
        " return '[' + this.map(function (v) { return JSON.stringify(v); }).join(',') + ']'; };"
        "</script>"
    )
    open_host_page(shopper, service, order_attributes(purchase), before_script=prototype)
    with shopper.page.expect_request(is_events_post("impression")) as posted:
        shopper.offers().first.wait_for()

    assert posted.value.response().status == 202
    assert shopper.page.evaluate("typeof Array.prototype.toJSON") == "function"
    shopper.assert_host_page_unharmed()
