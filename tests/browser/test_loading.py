"""How a page hands the snippet its order: data-* attributes, queued calls, targets, consent."""

import json

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Shopper, host_page, is_events_post, serve_host_page

pytestmark = pytest.mark.browser

STUB_OBJECT = (  # the README's stub
    "window.encore && window.encore.q ? window.encore : {q: [], "
    "show: function (o) { this.q.push(['show', o]) }, "
    "consent: function (v) { this.q.push(['consent', v]) }}"
)
STUB = f"<script>window.encore = {STUB_OBJECT};</script>"

# Holds the widget's /v1/widget request until the page calls release(); answerHandled settles
# once the widget has read the answer and run everything that follows it (microtasks drain
# before the timer's task).
HOLD_THE_ANSWER = """<script>
var release, gate = new Promise(function (go) { release = go; });
var parsed, answerRead = new Promise(function (done) { parsed = done; });
var answerHandled = answerRead.then(function () {
  return new Promise(function (go) { setTimeout(go); });
});
var realFetch = window.fetch.bind(window);
window.fetch = function (url, init) {
  if (!String(url).endsWith('/v1/widget')) return realFetch(url, init);
  return gate.then(function () { return realFetch(url, init); }).then(function (response) {
    return {ok: response.ok, status: response.status, json: function () {
      return response.json().then(function (value) { parsed(); return value; });
    }};
  });
};
</script>"""


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
    """Where the offers are: the id of the page's element that holds their host, or the
    host's class when it was placed right after the script."""
    return shopper.page.evaluate(
        "(() => { const h = [...document.querySelectorAll('*')].find(e => e.shadowRoot"
        " && e.shadowRoot.querySelector('[data-encore-token]'));"
        " return h && (h.parentElement.id || h.className); })()"
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
        pytest.param(
            lambda p: (
                {**order_attributes(p), "data-target": "#cell"},
                "",
                '<table><tr><td id="cell"></td></tr></table>',
            ),
            "cell",
            id="data-target-a-table-cell",
        ),
        pytest.param(
            lambda p: ({}, STUB + show_call(p), '<div id="encore">A shop element</div>'),
            "encore-host",
            id="show-before-load-on-a-page-with-an-element-named-encore",
        ),
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
        pytest.param("pending", "encore.consent('denied')", id="pending-then-denied-as-a-cmp-says"),
        pytest.param("pending", "encore.consent('0')", id="pending-then-zero"),
        pytest.param("DENIED", "encore.flush()", id="denied-in-capitals"),
        pytest.param("no", "encore.flush()", id="no"),
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


@pytest.mark.parametrize(
    ("consent", "call"),
    [
        pytest.param("pending", "encore.consent('granted')", id="pending-then-granted"),
        pytest.param("Granted", "", id="granted-in-the-tag"),
        pytest.param("denied", "encore.consent('granted')", id="denied-then-granted"),
        pytest.param(
            "pending",
            "encore.consent('denied'); encore.consent('granted')",
            id="pending-then-denied-then-granted",
        ),
    ],
)
def test_a_consent_tool_s_granted_shows_offers(
    shopper: Shopper, service, purchase, consent: str, call: str
) -> None:
    open_host_page(shopper, service, {**order_attributes(purchase), "data-consent": consent})
    if call:
        shopper.page.evaluate(call)

    shopper.offers().first.wait_for()
    shopper.assert_host_page_unharmed()


def test_consent_withdrawn_while_the_answer_is_on_its_way_keeps_nothing(
    shopper: Shopper, service, purchase
) -> None:
    open_host_page(shopper, service, order_attributes(purchase), before_script=HOLD_THE_ANSWER)

    shopper.page.evaluate("encore.consent(false); release()")
    shopper.page.evaluate("answerHandled")
    shopper.page.evaluate("encore.flush()")

    assert shopper.page.evaluate("Object.keys(sessionStorage)") == []
    assert shopper.offers().count() == 0
    assert shopper.sent_events() == []
    shopper.assert_host_page_unharmed()


@pytest.mark.parametrize("answer", ["offers", "an error"])
def test_a_target_holding_the_shop_s_own_content_keeps_it_shown(
    shopper: Shopper, service, purchase, answer: str
) -> None:
    if answer == "an error":
        shopper.page.route("**/v1/widget", lambda route: route.fulfill(status=500, body="down"))
    slot = '<div id="sidebar"><p id="shop-text">Track your parcel</p></div>'
    open_host_page(
        shopper, service, {**order_attributes(purchase), "data-target": "#sidebar"}, slot=slot
    )

    if answer == "offers":
        shopper.offers().first.wait_for()
    else:
        expect(shopper.page.locator("#sidebar .encore-host")).to_be_hidden()
    expect(shopper.page.locator("#shop-text")).to_be_visible()
    shopper.assert_host_page_unharmed()


def test_a_stub_kept_in_a_variable_shows_offers_after_the_script_loaded(
    shopper: Shopper, service, purchase
) -> None:
    kept = f"<script>var kept = window.encore = {STUB_OBJECT};</script>"
    open_host_page(shopper, service, {}, before_script=kept)

    shopper.page.evaluate(
        "([order, customer]) => kept.show({order, customer})", [purchase.order, purchase.customer]
    )

    shopper.offers().first.wait_for()
    shopper.assert_host_page_unharmed()


def test_two_tags_on_one_page_each_show_their_own_order(
    shopper: Shopper, service, purchase
) -> None:
    other = service.new_purchase()
    second_tag = (
        f'<script async src="{service.url}/widget.js" data-key="{service.publishable_key}" '
        f"data-target=\"#second\" data-order='{json.dumps(other.order)}' "
        f"data-customer='{json.dumps(other.customer)}'></script>"
    )
    open_host_page(
        shopper,
        service,
        order_attributes(purchase),
        before_script=second_tag,
        slot='<div id="second"></div>',
    )

    shopper.page.wait_for_function(
        "[...document.querySelectorAll('.encore-host')]"
        ".filter(h => h.shadowRoot && h.shadowRoot.querySelector('[data-encore-token]'))"
        ".length == 2"
    )
    assert shopper.page.locator("#second [data-encore-token]").count() > 0
    assert len(shopper.widget_requests()) == 2
    shopper.assert_host_page_unharmed()


def test_show_called_twice_for_one_order_ranks_it_once(shopper: Shopper, service, purchase):
    open_host_page(shopper, service, {}, slot='<div id="encore-offers"></div>')

    shopper.page.evaluate(
        "([order, customer]) => [1, 2].forEach(() => encore.show({order, customer}))",
        [purchase.order, purchase.customer],
    )
    shopper.offers().first.wait_for()

    assert len(shopper.widget_requests()) == 1
    shopper.assert_host_page_unharmed()


def test_show_without_an_order_asks_the_service_nothing(shopper: Shopper, service) -> None:
    open_host_page(shopper, service, {})

    with shopper.page.expect_console_message(lambda m: m.text.startswith("[encore]")):
        shopper.page.evaluate("encore.show({})")

    assert shopper.widget_requests() == []
    assert shopper.encore_lines() == ["[encore] no offers: no order to show offers for"]
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


# Sums the page's layout shifts as the browser reports them (after the frame they happen in).
COUNT_SHIFTS = """<script>
window.shifted = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (entry) { window.shifted += entry.value; });
}).observe({type: 'layout-shift', buffered: true});
</script>"""
RESERVED = (
    "<style>#encore-offers { --encore-min-height: 600px; }"
    " #encore-offers:empty { min-height: 600px; }</style>"
)


@pytest.mark.parametrize(
    ("page_css", "shift_at_least", "shift_below"),
    [
        # 0.1 is where Google's Core Web Vitals stop calling a page's layout shift good
        pytest.param("", 0.1, 1.0, id="the-default-150px"),
        pytest.param(RESERVED, 0.0, 0.1, id="space-reserved-as-the-readme-says"),
    ],
)
def test_space_reserved_as_the_readme_says_keeps_the_page_from_jumping(
    shopper: Shopper, service, purchase, page_css: str, shift_at_least: float, shift_below: float
) -> None:
    open_host_page(
        shopper,
        service,
        order_attributes(purchase),
        before_script=COUNT_SHIFTS,
        slot=page_css + '<div id="encore-offers"></div>',
    )
    shopper.offers().first.wait_for()
    shopper.page.evaluate(  # two frames: the shifts of the frame that drew the offers are reported
        "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )

    assert shift_at_least <= shopper.page.evaluate("window.shifted") < shift_below


# Adds a widget tag to the loaded page (so it runs after the first one); settles once it ran.
ADD_TAG = """([src, attributes, parent]) => new Promise(done => {
  const tag = document.createElement('script');
  tag.src = src;
  for (const [name, value] of Object.entries(attributes)) tag.setAttribute(name, value);
  tag.onload = () => done();
  (parent === 'head' ? document.head : document.body).appendChild(tag);
})"""


def add_tag(shopper: Shopper, service, attributes: dict[str, str], parent: str = "body") -> None:
    shopper.page.evaluate(ADD_TAG, [service.url + "/widget.js", attributes, parent])


def hosts_with_offers(shopper: Shopper) -> list[str]:
    """The id of the element holding each host that shows offers, in page order."""
    return shopper.page.evaluate(
        "[...document.querySelectorAll('.encore-host')]"
        ".filter(h => h.shadowRoot && h.shadowRoot.querySelector('[data-encore-token]'))"
        ".map(h => h.parentElement.id || h.parentElement.tagName)"
    )


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        pytest.param({"data-key": "pk_another_shop"}, "another shop", id="another-shop-s-key"),
        pytest.param(
            {"data-endpoint": "http://encore.elsewhere.example"}, "another service", id="elsewhere"
        ),
        pytest.param({"data-consent": "denied"}, "its own consent refused", id="consent-refused"),
    ],
)
def test_a_second_tag_of_another_shop_or_refusing_consent_sends_nothing(
    shopper: Shopper, service, purchase, extra: dict[str, str], why: str
) -> None:
    open_host_page(shopper, service, order_attributes(purchase))
    shopper.offers().first.wait_for()
    other = service.new_purchase()

    add_tag(
        shopper, service, {"data-key": service.publishable_key, **order_attributes(other), **extra}
    )

    sent = [request.post_data or "" for request in shopper.widget_requests()]
    assert len(sent) == 1 and other.order["id"] not in sent[0], why
    assert hosts_with_offers(shopper) == ["BODY"]


def test_the_same_tag_pasted_twice_shows_its_order_once(shopper: Shopper, service, purchase):
    open_host_page(shopper, service, order_attributes(purchase))
    shopper.offers().first.wait_for()

    add_tag(
        shopper,
        service,
        {
            "data-key": service.publishable_key,
            "data-placement": "thank_you",
            **order_attributes(purchase),
        },
    )

    assert len(shopper.widget_requests()) == 1
    assert hosts_with_offers(shopper) == ["BODY"]
    shopper.assert_host_page_unharmed()


@pytest.mark.parametrize(
    "endpoint",
    [
        pytest.param("/", id="root-relative"),
        pytest.param("//{host}", id="protocol-relative"),
        pytest.param("{origin}/", id="absolute-with-a-slash"),
    ],
)
def test_a_data_endpoint_written_relative_to_the_page_shows_offers(
    shopper: Shopper, service, purchase, endpoint: str
) -> None:
    origin = service.url
    written = endpoint.format(origin=origin, host=origin.split("//", 1)[1])

    open_host_page(shopper, service, {**order_attributes(purchase), "data-endpoint": written})

    expect(shopper.offers().first).to_be_visible()
    assert all(r.url == origin + "/v1/widget" for r in shopper.widget_requests())
    shopper.assert_host_page_unharmed()


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param("div:empty { display: none }", id="empty-divs-hidden"),
        pytest.param("div:not([id]) { display: none !important }", id="important-rule"),
    ],
)
def test_a_page_rule_hiding_plain_divs_does_not_hide_the_offers(
    shopper: Shopper, service, purchase, rule: str
) -> None:
    open_host_page(
        shopper, service, order_attributes(purchase), before_script=f"<style>{rule}</style>"
    )

    expect(shopper.offers().first).to_be_visible()
    shopper.assert_host_page_unharmed()


def test_a_second_tag_in_head_shows_its_offers_in_the_page(shopper: Shopper, service, purchase):
    open_host_page(shopper, service, order_attributes(purchase))
    shopper.offers().first.wait_for()
    other = service.new_purchase()

    add_tag(
        shopper, service, {"data-key": service.publishable_key, **order_attributes(other)}, "head"
    )

    shopper.page.wait_for_function(
        "document.querySelector('body > #encore-tag-1 .encore-host')?.shadowRoot"
        "?.querySelector('[data-encore-token]')"
    )
    expect(shopper.page.locator("#encore-tag-1 [data-encore-token]").first).to_be_visible()


def test_two_tags_keep_their_own_revisit_slots_so_a_reload_ranks_nothing_again(
    shopper: Shopper, service, purchase
) -> None:
    other = service.new_purchase()
    second = {"data-key": service.publishable_key, **order_attributes(other)}
    open_host_page(shopper, service, order_attributes(purchase))
    add_tag(shopper, service, second)
    shopper.page.wait_for_function(
        "[...document.querySelectorAll('.encore-host')]"
        ".filter(h => h.shadowRoot?.querySelector('[data-encore-token]')).length == 2"
    )

    shopper.page.reload()
    shopper.page.wait_for_function("window.encore && window.encore.loaded === true")
    add_tag(shopper, service, second)
    shopper.page.wait_for_function(
        "[...document.querySelectorAll('.encore-host')]"
        ".filter(h => h.shadowRoot?.querySelector('[data-encore-token]')).length == 2"
    )

    assert sorted(shopper.page.evaluate("Object.keys(sessionStorage)")) == [
        "encore:",
        "encore:encore-tag-1",
    ]
    assert len(shopper.widget_requests()) == 2  # both from the first visit


# The README's recipe for a page whose load event matters: the tag added once the page has loaded.
TAG_AFTER_LOAD = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Thanks</title>
</head><body><h1>Thank you for your order!</h1><div id="encore-offers"></div>
<script>
  addEventListener('load', function () {
    var tag = document.createElement('script');
    tag.src = %(src)s;
    tag.dataset.key = %(key)s;
    tag.dataset.order = JSON.stringify(%(order)s);
    tag.dataset.customer = JSON.stringify(%(customer)s);
    document.body.appendChild(tag);
  });
</script></body></html>"""


def test_a_tag_added_after_load_leaves_the_load_event_alone_and_shows_offers(
    shopper: Shopper, service, purchase
) -> None:
    src = service.url + "/widget.js"
    page = TAG_AFTER_LOAD % {
        "src": json.dumps(src),
        "key": json.dumps(service.publishable_key),
        "order": json.dumps(purchase.order),
        "customer": json.dumps(purchase.customer),
    }
    serve_host_page(shopper, service.url + "/test/after-load", page)

    shopper.page.goto(service.url + "/test/after-load")
    shopper.offers().first.wait_for()

    load_began, script_asked = shopper.page.evaluate(
        "src => [performance.getEntriesByType('navigation')[0].loadEventStart,"
        " performance.getEntriesByName(src)[0].startTime]",
        src,
    )
    assert 0 < load_began <= script_asked  # the page had loaded when widget.js was asked for
    assert host_of_offers(shopper) == "encore-offers"
    shopper.assert_host_page_unharmed()
