"""The /admin dashboard in a real browser: sign in, numbers and charts shown, pause and resume."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from playwright.sync_api import Page, expect

from offers.catalog import Offer
from offers.reports import report
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.browser


def test_dashboard_shows_the_reports_numbers_and_charts(admin_page, service) -> None:
    page, problems = admin_page
    service.flush_feedback()
    today = datetime.now(UTC).date()
    totals = report(service.store, service.shop_id, today - timedelta(days=29), today)["totals"]
    sign_in(page, service.url)

    tile = page.locator('[data-kpi="transactions"] dd')
    expect(tile).to_have_text(f"{totals['transactions']:,}")
    impressions = page.locator('[data-kpi="impressions"] dd')  # its number, then a note
    expect(impressions).to_have_text(f"{totals['impressions']:,}{totals['views']:,} viewable")
    expect(page.locator('[data-kpi="revenue"] dd')).to_have_text(f"{totals['revenue']:,.2f}")
    assert totals["transactions"] > 0
    for name in ("RPT per day", "CTR per day"):
        chart = page.get_by_role("img", name=name)
        expect(chart).to_be_visible()
        assert chart.evaluate("img => img.complete && img.naturalWidth > 0") is True
    expect(page.locator("tr[data-offer]")).to_have_count(len(service.store.offers(service.shop_id)))
    assert problems == []


def test_dashboard_pauses_and_resumes_an_offer(admin_page, service) -> None:
    page, problems = admin_page
    offer = service.store.offers(service.shop_id, status="active")[-1]
    row = page.locator(f'tr[data-offer="{offer.id}"]')
    try:
        sign_in(page, service.url)
        row.get_by_role("button", name=f"Pause {offer.title}").click()
        expect(row.locator(".status")).to_have_text("paused")
        assert service.store.offer(service.shop_id, offer.id).status == "paused"
        row.get_by_role("button", name=f"Resume {offer.title}").click()
        expect(row.locator(".status")).to_have_text("active")
        assert service.store.offer(service.shop_id, offer.id).status == "active"
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(service.url + "/admin/login")
        assert problems == []
    finally:  # the service is shared by the session's browser tests
        service.store.save_offers(
            service.shop_id, [msgspec.structs.replace(offer, status="active")]
        )


def test_keyboard_focus_stays_on_the_offer_after_pause_and_resume(admin_page, service) -> None:
    page, problems = admin_page
    offer = service.store.offers(service.shop_id, status="active")[-1]
    row = page.locator(f'tr[data-offer="{offer.id}"]')
    try:
        sign_in(page, service.url)
        row.get_by_role("button", name=f"Pause {offer.title}").focus()
        page.keyboard.press("Enter")
        expect(row.get_by_role("button", name=f"Resume {offer.title}")).to_be_focused()
        expect(page.get_by_role("status")).to_have_text(f"Paused {offer.title}")
        page.keyboard.press("Enter")
        expect(row.get_by_role("button", name=f"Pause {offer.title}")).to_be_focused()
        expect(page.get_by_role("status")).to_have_text(f"Resumed {offer.title}")
        assert problems == []
    finally:
        service.store.save_offers(
            service.shop_id, [msgspec.structs.replace(offer, status="active")]
        )


def page_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_dashboard_fits_a_320px_screen_and_only_the_table_scrolls(admin_page, service) -> None:
    page, problems = admin_page
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, service.url)
    assert page_width(page) <= 320
    title = page.get_by_role("heading", level=1)
    assert title.bounding_box()["height"] < 3 * 1.1 * 15 * 1.45  # wraps, not a word a line
    offers = page.get_by_role("region", name="Offers")
    assert offers.evaluate("box => box.scrollWidth > box.clientWidth") is True
    button = offers.get_by_role("button").first
    button.scroll_into_view_if_needed()
    expect(button).to_be_in_viewport()
    assert page_width(page) <= 320
    assert problems == []


@pytest.mark.parametrize("width", [320, 1280])
def test_a_long_unbroken_offer_title_does_not_widen_the_page(admin_page, service, width) -> None:
    page, problems = admin_page
    offer = msgspec.convert(
        {"id": "long-title", "kind": "partner", "title": "W" * 490, "advertiser": "x"}, Offer
    )
    service.store.save_offers(  # paused: never shown to the shoppers of the other tests
        service.shop_id, [msgspec.structs.replace(offer, status="paused")]
    )
    try:
        page.set_viewport_size({"width": width, "height": 900})
        sign_in(page, service.url)
        expect(page.locator('tr[data-offer="long-title"]')).to_be_visible()
        assert page_width(page) <= width
        table = page.locator('tr[data-offer="long-title"] >> xpath=ancestor::table')
        assert table.evaluate("table => table.offsetWidth") < 2000
        assert problems == []
    finally:
        service.store.delete_offer(service.shop_id, offer.id)
