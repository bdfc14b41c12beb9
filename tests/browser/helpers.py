"""What the browser tests share: a shopper's tab with what it logged, and host pages to load."""

import html
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import ConsoleMessage, Error, Locator, Page, Request, Route

# A 1x1 transparent GIF for offer images: no request leaves the machine.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c000000000100010000020144003b"
)

DEEP_FOCUS = """() => {
  let el = document.activeElement;
  while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
  return el ? (el.getAttribute('aria-label') || el.className || el.tagName) : null;
}"""


@dataclass
class Shopper:
    """A browser tab, with everything the page logged and the events it sent."""

    page: Page
    console: list[ConsoleMessage] = field(default_factory=list)
    errors: list[Error] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def offers(self) -> Locator:
        """The rendered offers (Playwright's CSS engine pierces open shadow roots)."""
        return self.page.locator("[data-encore-token]")

    def sent_events(self, type_: str | None = None) -> list[dict[str, Any]]:
        """Every event the widget has posted to /v1/events so far, in order."""
        events = [
            event
            for request in self.requests
            if request.url.endswith("/v1/events")
            for event in json.loads(request.post_data or "{}").get("events", [])
        ]
        return [e for e in events if type_ is None or e["type"] == type_]

    def widget_requests(self) -> list[Request]:
        return [r for r in self.requests if r.url.endswith("/v1/widget")]

    def deep_focus(self) -> str | None:
        """aria-label (else class) of the focused element, looking inside shadow roots."""
        return self.page.evaluate(DEEP_FOCUS)

    def encore_lines(self) -> list[str]:
        return [m.text for m in self.console if m.text.startswith("[encore]")]

    def assert_host_page_unharmed(self) -> None:
        """The shop's own page is intact and the widget threw nothing into it."""
        assert self.page.locator("h1").inner_text() == "Thank you for your order!"
        assert self.errors == []
        assert [m.text for m in self.console if "Uncaught" in m.text] == []
        assert len(self.encore_lines()) <= 1, self.encore_lines()
        for message in self.console:
            from_widget = message.location.get("url", "").endswith("/widget.js")
            if from_widget and not _reported_by_the_browser(message.text):
                assert message.text.startswith("[encore] "), message.text


def _reported_by_the_browser(text: str) -> bool:
    """A line the browser logs itself (a failed request, a blocked CSP action), not a throw."""
    return text.startswith("Failed to load resource") or "violates the following Content" in text


def is_events_post(type_: str) -> Callable[[Request], bool]:
    """A predicate for page.expect_request: a POST to /v1/events carrying an event of this type."""

    def matches(request: Request) -> bool:
        if not request.url.endswith("/v1/events"):
            return False
        events = json.loads(request.post_data or "{}").get("events", [])
        return any(event["type"] == type_ for event in events)

    return matches


def keep_offline(origin: str) -> Callable[[Route], None]:
    """Route handler: loopback goes through, anything else (offer pages, images) is answered here.

    Playwright does not route the hops of a redirect the browser follows by itself, so a
    navigation on the service (the /v1/click redirect) is fetched here without following
    redirects and handed to the browser, whose next hop then comes back through this handler.
    """

    def handle(route: Route) -> None:
        url = route.request.url
        if url.startswith(origin) and route.request.is_navigation_request():
            route.fulfill(response=route.fetch(max_redirects=0))
        elif url.startswith(("http://127.0.0.1:", "http://localhost:")):
            route.fallback()
        elif route.request.resource_type == "image":
            route.fulfill(status=200, content_type="image/gif", body=PIXEL)
        else:
            body = f"<!doctype html><title>Offer page</title><h1>{html.escape(url)}</h1>"
            route.fulfill(status=200, content_type="text/html", body=body)

    return handle


def host_page(
    *,
    script_src: str,
    attributes: dict[str, str],
    before_script: str = "",
    slot: str = "",
) -> str:
    """A minimal thank-you page that pastes the snippet with these data-* attributes."""
    attrs = " ".join(
        f"{name}='{html.escape(value, quote=True)}'" for name, value in attributes.items()
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Thanks</title>
<style>div {{ color: red }} a {{ color: red }}</style></head>
<body>
<h1>Thank you for your order!</h1>
<p><a href="#top">Back to the shop</a></p>
{slot}
{before_script}
<script async src="{html.escape(script_src)}" {attrs}></script>
<footer>Footer of the shop</footer>
</body></html>"""


def serve_host_page(shopper: Shopper, url: str, page: str) -> None:
    """Answer ``url`` in this tab with the host page ``page``."""
    shopper.page.route(url, lambda route: route.fulfill(content_type="text/html", body=page))


def snippet(service: Any, purchase: Any, **extra: str) -> dict[str, str]:
    """The snippet's data-* attributes for this purchase on the service's shop."""
    return {
        "data-key": service.publishable_key,
        "data-placement": "thank_you",
        "data-order": json.dumps(purchase.order),
        "data-customer": json.dumps(purchase.customer),
        **extra,
    }
