"""However the service fails, the shop's page stays intact and the widget shows nothing."""

import socket
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Route, expect

from tests.browser.helpers import Shopper, host_page, serve_host_page, snippet

pytestmark = pytest.mark.browser


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answer_500(route: Route) -> None:
    route.fulfill(status=500, content_type="text/plain", body="Internal Server Error")


def answer_garbage(route: Route) -> None:
    route.fulfill(status=200, content_type="application/json", body="{not json")


def answer_no_html(route: Route) -> None:
    route.fulfill(status=200, content_type="application/json", body='{"offers": []}')


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(answer_500, id="500"),
        pytest.param(answer_garbage, id="bad-json"),
        pytest.param(answer_no_html, id="no-html"),
        pytest.param(lambda route: route.abort("connectionrefused"), id="connection-refused"),
    ],
)
def test_a_failing_widget_endpoint_renders_nothing(
    shopper: Shopper, service, purchase, answer
) -> None:
    shopper.page.route("**/v1/widget", answer)

    with shopper.page.expect_request("**/v1/widget"):
        shopper.page.goto(service.url + purchase.demo_path)
    expect(shopper.page.locator(".encore-host")).to_be_hidden()

    assert (
        shopper.page.locator(".encore-host").evaluate("el => el.getBoundingClientRect().height")
        == 0
    )
    assert shopper.offers().count() == 0
    assert len(shopper.encore_lines()) == 1
    shopper.assert_host_page_unharmed()


def test_a_slow_service_times_out_and_renders_nothing(shopper: Shopper, service, purchase) -> None:
    stalled: list[Route] = []
    now = datetime.now(UTC)
    shopper.page.clock.install(time=now)
    shopper.page.clock.pause_at(now + timedelta(seconds=1))
    shopper.page.route("**/v1/widget", lambda route: stalled.append(route))

    with shopper.page.expect_request("**/v1/widget"):
        shopper.page.goto(service.url + purchase.demo_path)
    expect(shopper.page.locator(".encore-host")).to_be_visible()
    shopper.page.clock.run_for(3_100)
    expect(shopper.page.locator(".encore-host")).to_be_hidden()

    assert shopper.encore_lines() == ["[encore] no offers: timed out after 3000 ms"]
    shopper.assert_host_page_unharmed()


@pytest.mark.parametrize(
    "where",
    [pytest.param("script", id="script-unreachable"), pytest.param("endpoint", id="endpoint-down")],
)
def test_a_service_that_is_down_leaves_the_page_intact(
    shopper: Shopper, service, purchase, where: str
) -> None:
    down = f"http://127.0.0.1:{closed_port()}"
    if where == "script":
        page = host_page(script_src=down + "/widget.js", attributes=snippet(service, purchase))
    else:
        page = host_page(
            script_src=service.url + "/widget.js",
            attributes=snippet(service, purchase, **{"data-endpoint": down}),
        )
    serve_host_page(shopper, service.url + "/test/thanks", page)

    with shopper.page.expect_event("requestfailed"):
        shopper.page.goto(service.url + "/test/thanks")
    shopper.page.wait_for_load_state("load")

    assert shopper.offers().count() == 0
    assert shopper.page.get_by_text("Footer of the shop").is_visible()
    shopper.assert_host_page_unharmed()


def test_an_order_that_cannot_be_written_as_json_renders_nothing(shopper: Shopper, service) -> None:
    page = host_page(
        script_src=service.url + "/widget.js",
        attributes={"data-key": service.publishable_key},
        before_script=(
            "<script>var order = {id: 'O1', items: []}; order.self = order;"
            " window.encore = {q: [['show', {order: order}]]};</script>"
        ),
    )
    serve_host_page(shopper, service.url + "/test/circular", page)

    shopper.page.goto(service.url + "/test/circular")

    expect(shopper.page.locator(".encore-host")).to_be_hidden()
    assert shopper.widget_requests() == []
    assert len(shopper.encore_lines()) == 1
    shopper.assert_host_page_unharmed()


def test_a_host_fetch_that_throws_at_once_leaves_no_error_in_the_page(
    shopper: Shopper, service, purchase
) -> None:
    now = datetime.now(UTC)
    shopper.page.clock.install(time=now)
    page = host_page(
        script_src=service.url + "/widget.js",
        attributes=snippet(service, purchase),
        before_script=(  # as a consent manager's wrapper may do
            "<script>var realFetch = window.fetch; window.fetch = function (url, init) {"
            " if (String(url).indexOf('/v1/') >= 0) throw new TypeError('blocked');"
            " return realFetch.apply(this, arguments); };</script>"
        ),
    )
    serve_host_page(shopper, service.url + "/test/thanks", page)

    shopper.page.goto(service.url + "/test/thanks")
    expect(shopper.page.locator(".encore-host")).to_be_hidden()
    shopper.page.clock.run_for(5_000)  # past the request's timeout
    shopper.page.evaluate("new Promise(done => setTimeout(done))")

    assert shopper.encore_lines() == ["[encore] no offers: blocked"]
    shopper.assert_host_page_unharmed()
