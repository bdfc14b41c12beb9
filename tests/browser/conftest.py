"""The real service on loopback, over a small generated shop and a trained model, and Chromium.

The shop and model are the service tests' session fixture (``shop_data``); one uvicorn
server per session runs ``widget.app.create_app(settings)`` over a copy of its store, in
a background thread. Every test confirms a fresh order for a fresh customer (see
:func:`purchase`), so one test's caps and dismissals never change the offers another sees.
"""

import asyncio
import csv
import itertools
import json
import os
import shutil
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import uvicorn
from playwright.sync_api import Page, expect
from sqlalchemy import select

from offers import schema
from offers.files import ORDER_COLUMNS
from offers.importer import import_files
from offers.store import Store
from tests.browser.helpers import Shopper, keep_offline
from tests.conftest import free_port, missing_service
from tests.widget import conftest as service_fixtures
from tests.widget.conftest import SHOP_ID, ShopData
from widget.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The service tests' session fixture: a small generated shop, imported, and a trained model.
shop_data = service_fixtures.shop_data
PUBLISHABLE_KEY = "pk_browser_tests"
SECRET_KEY = "sk_browser_tests"


@dataclass(frozen=True)
class Purchase:
    """One order just confirmed by a customer the service has never seen."""

    order: dict[str, Any]
    customer: dict[str, Any]
    demo_path: str


@dataclass
class Service:
    """The running service, and what tests read back from its store."""

    url: str
    store: Store
    shop_id: str
    publishable_key: str
    basket: list[dict[str, Any]]
    _app: "_Handle"
    _orders_dir: Path
    _numbers: Iterator[int] = field(default_factory=itertools.count)

    def flush_feedback(self) -> None:
        """Write the service's queued feedback (it is logged off the request path) now."""
        log = self._app.state["service"].log
        asyncio.run_coroutine_threadsafe(log.flush(), self._app.loop).result(timeout=30)

    def events(self, type_: str, customer_id: str) -> list[str]:
        """Offer ids of the recorded events of this type from this customer."""
        self.flush_feedback()
        events = schema.events
        query = select(events.c.offer_id).where(
            events.c.shop_id == self.shop_id,
            events.c.type == type_,
            events.c.customer_id == customer_id,
        )
        with self.store.engine.connect() as connection:
            return sorted(connection.execute(query).scalars())

    def csat_scores(self, customer_id: str) -> list[int]:
        answers = schema.csat_answers
        query = select(answers.c.score).where(
            answers.c.shop_id == self.shop_id, answers.c.customer_id == customer_id
        )
        with self.store.engine.connect() as connection:
            return list(connection.execute(query).scalars())

    def cta_url(self, offer_id: str) -> str:
        return self.store.offer(self.shop_id, offer_id).cta_url

    def new_purchase(self) -> Purchase:
        """Record a new order of the probed basket for a new customer, as the shop would."""
        n = next(self._numbers)
        order_id, customer_id = f"BT{n:05d}", f"browser-shopper-{n}"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        path = self._orders_dir / f"{order_id}.csv"
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(ORDER_COLUMNS)
            for item in self.basket:
                writer.writerow(
                    [
                        order_id,
                        customer_id,
                        now,
                        item["sku"],
                        item["quantity"],
                        item["price"],
                        item["title"],
                        item["category"],
                        "GB",
                        "GBP",
                        "desktop",
                    ]
                )
        import_files(self.store, self.shop_id, orders=path)
        order = {
            "id": order_id,
            "total": round(sum(i["price"] * i["quantity"] for i in self.basket), 2),
            "currency": "GBP",
            "country": "GB",
            "items": self.basket,
        }
        customer = {"id": customer_id, "is_returning": False}
        return Purchase(order, customer, f"/demo?order={order_id}")


class ShopSite:
    """A shop's own web server on another loopback port: the snippet runs cross-origin there.

    (A page Playwright answers itself counts as public to Chromium, which then refuses it
    any request to loopback: the pages must come from a real loopback server.)
    """

    def __init__(self, port: int) -> None:
        self.origin = f"http://127.0.0.1:{port}"
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                body = pages.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)

    def publish(self, path: str, page: str) -> str:
        """Serve ``page`` at ``path``; its URL."""
        self.pages[path] = page.encode()
        return self.origin + path


class _Handle:
    """Wraps the app to keep its event loop and lifespan state (the running Service)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop: asyncio.AbstractEventLoop | None = None
        self.state: dict[str, Any] = {}

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            self.loop = asyncio.get_running_loop()
            self.state = scope["state"]
        await self.app(scope, receive, send)


def _rank(url: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        url + "/v1/rank",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {PUBLISHABLE_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _basket_with_offers(url: str, orders: pd.DataFrame) -> list[dict[str, Any]]:
    """The basket of a recent order that gets the most offers (at least two) for a new customer."""
    purchases = orders[orders["quantity"].astype(int) > 0]
    best: list[dict[str, Any]] = []
    best_count = 0
    for n, order_id in enumerate(purchases["order_id"].drop_duplicates().iloc[::-1].iloc[:80]):
        lines = purchases[purchases["order_id"] == order_id]
        items = [
            {
                "sku": r.sku,
                "title": r.title,
                "category": r.category,
                "price": float(r.price),
                "quantity": int(r.quantity),
            }
            for r in lines.itertuples()
        ]
        body = {
            "order": {"id": f"probe-{n}", "items": items},
            "customer": {"id": f"probe-{n}"},
            "limit": 3,
        }
        count = len(_rank(url, body)["offers"])
        if count > best_count:
            best, best_count = items, count
        if count == 3:
            break
    assert best_count >= 2, "no recent basket of the generated shop gets two offers"
    return best


@pytest.fixture(scope="session")
def shop_site() -> Iterator[ShopSite]:
    site = ShopSite(free_port())
    thread = threading.Thread(target=site.server.serve_forever, name="shop-site", daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


@pytest.fixture(scope="session")
def service(
    shop_data: ShopData, shop_site: ShopSite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    from widget.app import create_app

    root = tmp_path_factory.mktemp("browser")
    shutil.copyfile(shop_data.database, root / "encore.db")
    database_url = f"sqlite:///{root / 'encore.db'}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        model_dir=str(shop_data.models / "current"),
        shop_id=SHOP_ID,
        publishable_key=PUBLISHABLE_KEY,
        secret_key=SECRET_KEY,
        signing_secret="browser-tests-signing-secret",
        allowed_origins=(shop_site.origin,),
        holdout_share=0.0,
        extra={"demo": True},
    )
    app = _Handle(create_app(settings))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="none", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="encore-browser-tests", daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():
        started.wait(0.02)
    if not server.started:
        pytest.fail("the service did not start (see the log above)")
    store = Store.open(database_url)
    orders_dir = root / "orders"
    orders_dir.mkdir()
    try:
        basket = _basket_with_offers(url, shop_data.orders)
        yield Service(url, store, settings.shop_id, PUBLISHABLE_KEY, basket, app, orders_dir)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()


@pytest.fixture
def purchase(service: Service) -> Purchase:
    return service.new_purchase()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        missing_service(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def shopper(browser: Any, service: Service) -> Iterator[Shopper]:
    """A fresh browser tab; nothing it loads leaves the machine."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.route("**/*", keep_offline(service.url))
    page = context.new_page()
    page.set_default_timeout(10_000)
    tab = Shopper(page)
    page.on("console", lambda message: tab.console.append(message))
    page.on("pageerror", lambda error: tab.errors.append(error))
    page.on("request", lambda request: tab.requests.append(request))
    yield tab
    context.close()


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
