"""The snippet on the demo thank-you page in a real browser: rendering, isolation, feedback."""

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Route, expect

from tests.browser.helpers import Shopper, host_page, is_events_post, serve_host_page, snippet

pytestmark = pytest.mark.browser


FOCUS_OUTLINE = """() => {
  let el = document.activeElement;
  while (el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return getComputedStyle(el).outlineStyle;
}"""


def open_demo(shopper: Shopper, service, purchase) -> int:
    """Load the demo thank-you page for this purchase, wait for the offers, return how many."""
    shopper.page.goto(service.url + purchase.demo_path)
    shopper.offers().first.wait_for()
    return shopper.offers().count()


def style_of(shopper: Shopper, selector: str, prop: str) -> str:
    return shopper.page.locator(selector).first.evaluate(
        "(el, prop) => getComputedStyle(el).getPropertyValue(prop)", prop
    )


def test_demo_shows_one_to_three_offers_inside_a_shadow_root(
    shopper: Shopper, service, purchase
) -> None:
    n_offers = open_demo(shopper, service, purchase)

    assert 1 <= n_offers <= 3
    region = shopper.page.get_by_role("region", name="Offers for you")
    expect(region).to_be_visible()
    assert shopper.page.evaluate("document.querySelectorAll('[data-encore-token]').length") == 0
    assert (
        shopper.page.evaluate(
            "[...document.querySelectorAll('*')].filter(e => e.shadowRoot && e.shadowRoot"
            ".querySelector('[data-encore-token]')).length"
        )
        == 1
    )
    for offer in shopper.offers().all():
        title = offer.locator("h3").inner_text()
        expect(offer.get_by_role("button", name=f"Dismiss offer: {title}")).to_be_visible()
        assert "/v1/click/" in offer.get_by_role("link").get_attribute("href")
    shopper.assert_host_page_unharmed()


def test_space_is_reserved_while_loading_and_filled_without_a_flash(
    shopper: Shopper, service, purchase
) -> None:
    held: list[Route] = []
    shopper.page.route("**/v1/widget", lambda route: held.append(route))
    with shopper.page.expect_request("**/v1/widget"):
        shopper.page.goto(service.url + purchase.demo_path)
    host = shopper.page.locator(".encore-host")

    assert host.evaluate("el => el.getBoundingClientRect().height") == 150
    assert shopper.offers().count() == 0
    held[0].fallback()
    shopper.offers().first.wait_for()
    assert host.evaluate("el => el.getBoundingClientRect().height") > 150


@pytest.mark.parametrize(
    ("width", "stacked"),
    [
        pytest.param(1280, False, id="wide-side-by-side"),
        pytest.param(360, True, id="narrow-stacked"),
    ],
)
def test_offers_stack_on_narrow_screens(
    shopper: Shopper, service, purchase, width: int, stacked: bool
) -> None:
    shopper.page.set_viewport_size({"width": width, "height": 800})
    open_demo(shopper, service, purchase)

    boxes = [offer.bounding_box() for offer in shopper.offers().all()]
    assert len({round(box["x"]) for box in boxes}) == (1 if stacked else len(boxes))
    assert all(box["x"] + box["width"] <= width for box in boxes)


def test_the_demo_page_around_the_widget_fits_a_phone(shopper: Shopper, service, purchase) -> None:
    shopper.page.set_viewport_size({"width": 360, "height": 800})
    open_demo(shopper, service, purchase)

    page = shopper.page
    table = page.locator("table.order-summary").bounding_box()
    for last_cell in page.locator("table.order-summary tr > :last-child").all():
        box = last_cell.bounding_box()
        assert round(box["x"] + box["width"]) == round(table["x"] + table["width"])
    header = page.locator(".shop-header").bounding_box()
    link = page.locator(".shop-header a").bounding_box()
    assert link["y"] + link["height"] <= header["y"] + header["height"]
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def first_title_as(title: str) -> Callable[[Route], None]:
    """Route handler for /v1/widget: the service's answer, with the first offer's title replaced."""

    def retitle(route: Route) -> None:
        response = route.fetch()
        answer = response.json()
        answer["html"] = re.sub(
            r'(class="encore-name"[^>]*>)[^<]*', rf"\g<1>{title}", answer["html"], count=1
        )
        route.fulfill(response=response, json=answer)

    return retitle


def test_a_long_unbroken_offer_title_wraps_inside_its_card_on_a_phone(
    shopper: Shopper, service, purchase
) -> None:
    long_word = "Ultraleichtwanderstockset" * 4  # no space or hyphen to break at
    shopper.page.route("**/v1/widget", first_title_as(long_word))
    shopper.page.set_viewport_size({"width": 320, "height": 800})
    open_demo(shopper, service, purchase)

    name = shopper.page.locator(".encore-name").first
    assert name.inner_text() == long_word
    assert name.evaluate("el => el.scrollWidth <= el.clientWidth")
    assert shopper.page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_right_to_left_offer_title_keeps_its_own_direction_on_a_left_to_right_page(
    shopper: Shopper, service, purchase
) -> None:
    shopper.page.route("**/v1/widget", first_title_as("מבצע 50% הנחה"))
    open_demo(shopper, service, purchase)

    name = shopper.page.locator(".encore-name").first
    assert name.evaluate("el => getComputedStyle(el).direction") == "rtl"
    assert shopper.page.evaluate("getComputedStyle(document.body).direction") == "ltr"


@pytest.mark.parametrize(
    ("selector", "prop", "host_value"),
    [
        pytest.param(".encore-name", "color", "rgb(170, 17, 17)", id="div-color-does-not-inherit"),
        pytest.param(".encore-name", "text-transform", "uppercase", id="h3-rule-does-not-match"),
        pytest.param(".encore-name", "font-family", "Impact, fantasy", id="h3-font-does-not-match"),
        pytest.param(".encore-cta", "color", "rgb(170, 17, 17)", id="a-color-does-not-match"),
        pytest.param(".encore-cta", "font-weight", "900", id="a-weight-does-not-match"),
        pytest.param(".encore-dismiss", "background-color", "rgb(255, 105, 180)", id="button-rule"),
        pytest.param(".encore-list", "list-style-type", "square", id="ul-rule-does-not-match"),
    ],
)
def test_host_page_css_does_not_leak_into_the_widget(
    shopper: Shopper, service, purchase, selector: str, prop: str, host_value: str
) -> None:
    open_demo(shopper, service, purchase)

    assert style_of(shopper, selector, prop) != host_value


def test_host_page_themes_the_widget_with_custom_properties(
    shopper: Shopper, service, purchase
) -> None:
    open_demo(shopper, service, purchase)

    # demo.html sets --encore-accent: #2f6b4f and --encore-radius: 6px on :root.
    assert style_of(shopper, ".encore-cta", "background-color") == "rgb(47, 107, 79)"
    assert style_of(shopper, ".encore-offer", "border-top-left-radius") == "6px"


def test_widget_sends_one_impression_per_offer_shown(shopper: Shopper, service, purchase) -> None:
    shopper.page.goto(service.url + purchase.demo_path)
    with shopper.page.expect_request(is_events_post("impression")):
        shopper.offers().first.wait_for()

    tokens = [offer.get_attribute("data-encore-token") for offer in shopper.offers().all()]
    assert sorted(e["token"] for e in shopper.sent_events("impression")) == sorted(tokens)


def test_clicking_a_cta_records_the_click_and_opens_the_offer(
    shopper: Shopper, service, purchase
) -> None:
    open_demo(shopper, service, purchase)
    offer = shopper.offers().first
    offer_id = offer.get_attribute("data-encore-offer")

    offer.get_by_role("link").click()

    shopper.page.wait_for_url(service.cta_url(offer_id))

    assert service.events("click", purchase.customer["id"]) == [offer_id]
    assert shopper.errors == []


def test_dismiss_hides_the_offer_and_records_a_dismiss_event(
    shopper: Shopper, service, purchase
) -> None:
    n_offers = open_demo(shopper, service, purchase)
    offer = shopper.offers().first
    offer_id = offer.get_attribute("data-encore-offer")
    token = offer.get_attribute("data-encore-token")
    title = offer.locator("h3").inner_text()

    with shopper.page.expect_response(lambda r: is_events_post("dismiss")(r.request)) as answer:
        offer.get_by_role("button", name=f"Dismiss offer: {title}").click()

    assert answer.value.status == 202
    expect(shopper.page.locator(f"[data-encore-token='{token}']")).to_have_count(0)
    expect(shopper.offers()).to_have_count(n_offers - 1)
    assert [e["token"] for e in shopper.sent_events("dismiss")] == [token]
    assert service.events("dismiss", purchase.customer["id"]) == [offer_id]
    shopper.assert_host_page_unharmed()


def test_dismissing_every_offer_collapses_the_widget(shopper: Shopper, service, purchase) -> None:
    n_offers = open_demo(shopper, service, purchase)

    for _ in range(n_offers):
        shopper.page.locator(".encore-dismiss").first.click()

    expect(shopper.page.get_by_role("region", name="Offers for you")).to_have_count(0)
    host_height = shopper.page.evaluate(
        "[...document.querySelectorAll('*')].find(e => e.shadowRoot).getBoundingClientRect().height"
    )
    assert host_height == 0


def test_keyboard_reaches_cta_and_dismiss_and_enter_dismisses(
    shopper: Shopper, service, purchase
) -> None:
    n_offers = open_demo(shopper, service, purchase)
    titles = shopper.offers().locator("h3").all_inner_texts()

    focused = []
    for _ in range(6):
        shopper.page.keyboard.press("Tab")
        focused.append(shopper.deep_focus())
        if focused[-1] == "encore-cta":
            break
    # the dismiss button first: it sits at the top of the card, where the eye meets it
    assert focused[-2:] == [f"Dismiss offer: {titles[0]}", "encore-cta"], focused
    assert shopper.page.evaluate(FOCUS_OUTLINE) == "solid"
    shopper.page.keyboard.press("Shift+Tab")
    with shopper.page.expect_request(is_events_post("dismiss")):
        shopper.page.keyboard.press("Enter")

    expect(shopper.offers()).to_have_count(n_offers - 1)
    if n_offers > 1:  # on to the next card's dismiss button, and the dismissal is announced
        assert shopper.deep_focus() == f"Dismiss offer: {titles[1]}"
        announced = shopper.page.locator("[data-encore-announce]")
        expect(announced).to_have_text("Offer dismissed")
        assert announced.get_attribute("role") == "status"


def test_dismissing_the_last_offer_from_the_keyboard_moves_focus_on_past_the_widget(
    shopper: Shopper, service, purchase
) -> None:
    n_offers = open_demo(shopper, service, purchase)
    shopper.offers().first.locator(".encore-dismiss").focus()

    for left in range(n_offers - 1, -1, -1):
        shopper.page.keyboard.press("Enter")  # each dismiss moves focus to the next dismiss
        expect(shopper.offers()).to_have_count(left)

    assert shopper.deep_focus() == "order-status"


def test_the_dismiss_button_takes_clicks_over_a_sponsored_label_beneath_it(
    shopper: Shopper, service, purchase
) -> None:
    def sponsored_without_images(route: Route) -> None:  # each card's label at its very top
        response = route.fetch()
        answer = response.json()
        html = re.sub(r"<img [^>]*>", "", answer["html"])
        answer["html"] = html.replace(
            '<div class="encore-body">',
            '<div class="encore-body"><p class="encore-sponsored">Sponsored</p>',
        )
        route.fulfill(response=response, json=answer)

    shopper.page.route("**/v1/widget", sponsored_without_images)
    n_offers = open_demo(shopper, service, purchase)

    with shopper.page.expect_request(is_events_post("dismiss")):
        shopper.offers().first.locator(".encore-dismiss").click(timeout=3_000)
        shopper.page.evaluate("encore.flush()")

    expect(shopper.offers()).to_have_count(n_offers - 1)


def test_in_forced_colors_mode_the_offer_buttons_keep_a_visible_edge(
    shopper: Shopper, service, purchase
) -> None:
    shopper.page.emulate_media(forced_colors="active")  # Windows' high contrast themes
    open_demo(shopper, service, purchase)

    for selector in (".encore-cta", ".encore-dismiss"):
        border = (
            shopper.offers()
            .first.locator(selector)
            .evaluate(
                "el => [getComputedStyle(el).borderTopStyle, getComputedStyle(el).borderTopColor]"
            )
        )
        assert border[0] == "solid" and border[1] != "rgba(0, 0, 0, 0)", (selector, border)


def test_csat_tap_sends_the_score_and_thanks_the_shopper(
    shopper: Shopper, service, purchase
) -> None:
    open_demo(shopper, service, purchase)
    question = shopper.page.locator("[data-encore-csat]")
    token = question.get_attribute("data-encore-csat")

    with shopper.page.expect_response(lambda r: is_events_post("csat")(r.request)) as answer:
        question.get_by_role("button", name="4 out of 5").click()

    assert answer.value.status == 202
    assert [(e["score"], e["token"]) for e in shopper.sent_events("csat")] == [(4, token)]
    expect(question.get_by_role("status")).to_have_text("Thanks for your feedback!")
    expect(question.get_by_role("button")).to_have_count(0)
    assert shopper.deep_focus() == "encore-csat-thanks"
    assert service.csat_scores(purchase.customer["id"]) == [4]


def test_keyboard_dismissal_of_the_last_offer_on_a_page_ending_with_the_widget_focuses_back(
    shopper: Shopper, service, purchase
) -> None:
    unfocusable = "<button disabled>Disabled</button> <a href='#gone' hidden>Hidden</a>"
    attributes = snippet(service, purchase)
    page = host_page(script_src=service.url + "/widget.js", attributes=attributes, slot=unfocusable)
    serve_host_page(shopper, service.url + "/test/ends-with-widget", page)
    shopper.page.goto(service.url + "/test/ends-with-widget")
    shopper.offers().first.wait_for()
    n_offers = shopper.offers().count()
    shopper.offers().first.locator(".encore-dismiss").focus()

    for left in range(n_offers - 1, -1, -1):
        shopper.page.keyboard.press("Enter")
        expect(shopper.offers()).to_have_count(left)

    # nothing focusable follows the widget on this page; before it, past a disabled button and
    # a hidden link, its "Back to the shop" link
    assert shopper.page.evaluate("document.activeElement.textContent") == "Back to the shop"
