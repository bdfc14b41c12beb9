"""The /admin dashboard in a real browser: sign in, numbers and charts shown, pause and resume."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from playwright.sync_api import Page, expect

from offers.reports import report
from tests.browser.conftest import SECRET_KEY
from tests.browser.helpers import keep_offline

pytestmark = pytest.mark.browser


@pytest.fixture
def admin_page(browser: Any, service: Any) -> Iterator[tuple[Page, list[str]]]:
    """A fresh tab (nothing leaves the machine) and the errors its pages log."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route("**/*", keep_offline(service.url))
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    yield page, problems
    context.close()


def sign_in(page: Page, url: str) -> None:
    page.goto(url + "/admin")
    expect(page).to_have_url(url + "/admin/login")
    page.get_by_label("Secret key").fill(SECRET_KEY)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(url + "/admin")


def test_dashboard_shows_the_reports_numbers_and_charts(admin_page, service) -> None:
    page, problems = admin_page
    service.flush_feedback()
    today = datetime.now(UTC).date()
    totals = report(service.store, service.shop_id, today - timedelta(days=29), today)["totals"]
    sign_in(page, service.url)

    tile = page.locator('[data-kpi="transactions"] dd')
    expect(tile).to_have_text(f"{totals['transactions']:,}")
    expect(page.locator('[data-kpi="impressions"] dd')).to_have_text(f"{totals['impressions']:,}")
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
