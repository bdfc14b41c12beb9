"""The running service's invariants, under random sequences of what merchants, pages and
shoppers do (a Hypothesis state machine).

Each example starts the app (one worker) over a fresh copy of the test shop's store (a
SQLite file, or a PostgreSQL database made from a template) and drives it through offer
writes (create, replace, change, pause, archive, delete, with targeting, caps, budgets and
schedules), rankings and widget calls for a few customers (repeat visits of one order, a
guest, a holdout customer), events sent once or twice, click links, conversions, restarts
and reports, while keeping a model of what it should have done. What runs in the
background is made explicit, so a failure replays: the impression log is written and the
in-memory activity refreshed only when a rule says so (as the background tasks would at
that moment), and ranking, tracking and the refresh read the machine's clock, which a rule
moves forward.

Checked after every step, as a user would notice them:

- no 5xx, and every 4xx carries the JSON error body;
- an answer has at most ``min(limit, max_offers)`` offers, none twice, no two of one sku
  or advertiser, no cross-sell of a sku in the basket, and shows each offer as the
  catalog has it now (the widget's fragment too); a holdout customer is shown nothing;
- an offer shown is active, within its schedule, passes its targeting, has a link to
  open, and was not dismissed by this customer within the dismiss period; its
  per-customer caps, total impressions cap and budget were not reached before it was shown;
- a ``debug=1`` look at a ranking shows what the ranking then shows, and records nothing;
- a click link redirects to the offer's link while the offer is live, else is a 404; an
  event is refused or accepted as documented; a conversion is recorded once per purchase,
  and one of an offer a request did not show is a 404 naming the wrong id;
- ``/v1/offers`` answers what was written (by status too), by id; an archived offer stays so;
- the report (totals; by offer, kind, placement or day; the holdout arms) counts what
  was sent, each event and purchase once.
"""

import itertools
import json
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from markupsafe import escape  # as the templates escape
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from offers.holdout import in_holdout
from offers.store import utcnow
from tests.widget.conftest import PK, SK, ShopData, auth, flush_log, postgres_with_shop
from widget.app import create_app
from widget.offers_api import _merged  # RFC 7386, as a PATCH is applied
from widget.settings import Settings

HOLDOUT_SHARE = 0.25
DISMISS_DAYS = 2
TOKEN_DAYS = 30
NEVER = {"log_flush_seconds": 3600.0, "refresh_seconds": 3600.0}  # the rules flush and refresh
N_BASKETS = 12
ADVERTISERS = ("Acme Travel", "Shieldly", "Streamly")
COUNTRIES = ("US", "GB", "DE", "FR", "us")
CURRENCIES = ("USD", "EUR")
DEVICES = ("mobile", "desktop", "Tablet")
PLACEMENTS = ("thank_you", "order_status")
STEPS = (
    timedelta(minutes=1),
    timedelta(hours=3),
    timedelta(hours=23, minutes=59),
    timedelta(days=1),
    timedelta(days=DISMISS_DAYS, seconds=1),
    timedelta(days=8),
)


def _customers() -> tuple[list[str], str]:
    """Three customers outside the holdout and one in it, at HOLDOUT_SHARE."""
    ids = (f"cust-{n}" for n in itertools.count())
    exposed, held = [], None
    while len(exposed) < 3 or held is None:
        customer = next(ids)
        if in_holdout(customer, HOLDOUT_SHARE):
            held = held or customer
        elif len(exposed) < 3:
            exposed.append(customer)
    return exposed, held


EXPOSED, HELD_OUT = _customers()
CUSTOMERS = (*EXPOSED, HELD_OUT, None)  # None: a guest, never capped per customer


class Clock:
    """Now, for ranking, tracking and the refresh: naive UTC, moved by the machine."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class SqliteCopies:
    """Fresh copies of the imported shop's SQLite file, one per example."""

    def __init__(self, template: Path, folder: Path) -> None:
        self.template, self.folder = template, folder
        self.made = itertools.count()

    def new(self) -> str:
        path = self.folder / f"store-{next(self.made)}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def remove(self, url: str) -> None:
        Path(make_url(url).database).unlink(missing_ok=True)

    def close(self) -> None:
        pass


class PostgresCopies:
    """Fresh PostgreSQL databases made from one holding the imported shop (``CREATE DATABASE
    ... TEMPLATE``: ~15 ms, where emptying the tables and importing again takes ~170 ms and
    leaves the sequences where the last example left them). As a production server may be
    set up: an en-US collation (not the test server's C) and a server zone that is not UTC."""

    TEMPLATE = "encore_machine_shop"
    COPY = "encore_machine_example"

    def __init__(self, postgres_url: str, shop_data: ShopData) -> None:
        self.url = make_url(postgres_url)
        self.admin = create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self._sql(
            f"DROP DATABASE IF EXISTS {self.COPY}", f"DROP DATABASE IF EXISTS {self.TEMPLATE}"
        )
        english = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
        self._sql(f"CREATE DATABASE {self.TEMPLATE} {english}")
        postgres_with_shop(self._url(self.TEMPLATE), shop_data)

    def new(self) -> str:
        self._sql(
            f"CREATE DATABASE {self.COPY} TEMPLATE {self.TEMPLATE}",
            f"ALTER DATABASE {self.COPY} SET timezone TO 'Pacific/Kiritimati'",  # UTC+14
        )
        return self._url(self.COPY)

    def remove(self, url: str) -> None:
        self._sql(f"DROP DATABASE {self.COPY}")  # fails if the app left a connection open

    def close(self) -> None:
        self._sql(f"DROP DATABASE IF EXISTS {self.COPY}", f"DROP DATABASE {self.TEMPLATE}")
        self.admin.dispose()

    def _url(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def _sql(self, *statements: str) -> None:
        with self.admin.connect() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)


@dataclass(frozen=True)
class World:
    """What every example shares: how to start the app, the shop's baskets, the clock."""

    make_settings: Callable[..., Settings]
    stores: SqliteCopies | PostgresCopies
    baskets: list[dict[str, Any]]
    skus: list[str]
    categories: list[str]
    offered_skus: list[str]  # of the shop's own cross-sells: the model scores them
    product_urls: dict[str, str]  # products.csv's `url` of each sku
    clock: Clock


@dataclass(frozen=True)
class Shown:
    request_id: str
    offer_id: str
    customer: str  # "" for a guest
    at: datetime
    token: str
    kind: str


@dataclass(frozen=True)
class Request:
    request_id: str
    transaction: str
    holdout: bool
    at: datetime
    placement: str


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


def _invalid(offer: dict[str, Any]) -> bool:
    """The rules a generated offer may break (others it always keeps)."""
    starts, ends = offer.get("starts_at"), offer.get("ends_at")
    if starts and ends and _utc(ends) <= _utc(starts):
        return True
    rules = offer.get("targeting", {})
    low, high = rules.get("min_order_total"), rules.get("max_order_total")
    return low is not None and high is not None and high < low


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _targeting_problem(offer: dict[str, Any], body: dict[str, Any], at: datetime) -> str | None:
    """Why ``offer`` may not show for ``body`` at ``at`` by the README's rules (caps apart)."""
    if offer.get("status", "active") != "active":
        return "status"
    starts, ends = offer.get("starts_at"), offer.get("ends_at")
    if starts and at < _utc(starts):
        return "not started"
    if ends and at >= _utc(ends):
        return "ended"
    order, rules = body["order"], offer.get("targeting", {})
    items = order["items"]
    skus = {item["sku"] for item in items}
    categories = {item["category"] for item in items if item.get("category")}
    total = order.get("total")
    if total is None:
        total = sum(item["price"] * item.get("quantity", 1) for item in items)
    if rules.get("placements") and body["placement"] not in rules["placements"]:
        return "placement"
    for name, fold in (("countries", str.upper), ("currencies", str.upper), ("devices", str.lower)):
        key = {"countries": "country", "currencies": "currency", "devices": "device"}[name]
        listed = rules.get(name)
        if listed and fold(order.get(key) or "") not in {fold(v) for v in listed}:
            return key
    if rules.get("min_order_total") is not None and total < rules["min_order_total"]:
        return "min total"
    if rules.get("max_order_total") is not None and total > rules["max_order_total"]:
        return "max total"
    for name, basket in (("categories", categories), ("skus", skus)):
        if rules.get(f"required_{name}") and basket.isdisjoint(rules[f"required_{name}"]):
            return f"required {name}"
        if rules.get(f"excluded_{name}") and not basket.isdisjoint(rules[f"excluded_{name}"]):
            return f"excluded {name}"
    if rules.get("customer"):
        actual = "returning" if body["customer"].get("is_returning") is True else "new"
        if actual != rules["customer"]:
            return "customer"
    if offer["kind"] == "cross_sell" and offer.get("sku") in skus:
        return "sku in the basket"
    return None


def _some(data: st.DataObject, rules: dict[str, st.SearchStrategy], most: int) -> dict[str, Any]:
    """Up to ``most`` of ``rules``, drawn (mostly few: an offer with many rules rarely shows)."""
    names = data.draw(st.lists(st.sampled_from(sorted(rules)), max_size=most, unique=True))
    return {name: data.draw(rules[name]) for name in names}


def _offer_fields(data: st.DataObject, world: World, kind: str, now: datetime) -> dict[str, Any]:
    """The fields of an offer of ``kind`` (no id, title or status), a few rules and caps set."""
    basket = data.draw(st.sampled_from(world.baskets))
    skus = [item["sku"] for item in basket["order"]["items"]]
    sku_pool = st.sampled_from(skus + world.skus)
    category_pool = st.sampled_from(world.categories)
    targeting = _some(
        data,
        {
            "placements": st.lists(st.sampled_from(PLACEMENTS), min_size=1, max_size=2),
            "countries": st.lists(st.sampled_from(COUNTRIES), min_size=1, max_size=2),
            "currencies": st.lists(st.sampled_from(("usd", "EUR")), min_size=1, max_size=1),
            "devices": st.lists(st.sampled_from(DEVICES), min_size=1, max_size=2),
            "min_order_total": st.sampled_from([0.0, 50.0, 150.0]),
            "max_order_total": st.sampled_from([100.0, 400.0]),
            "required_categories": st.lists(category_pool, min_size=1, max_size=2),
            "excluded_categories": st.lists(category_pool, min_size=1, max_size=2),
            "required_skus": st.lists(sku_pool, min_size=1, max_size=2),
            "excluded_skus": st.lists(sku_pool, min_size=1, max_size=2),
            "customer": st.sampled_from(["new", "returning"]),
        },
        most=2,
    )
    caps = _some(
        data,
        {
            "per_customer_per_day": st.integers(0, 2),
            "per_customer_per_week": st.integers(0, 3),
            "total_impressions": st.integers(0, 4),
            "budget": st.sampled_from([0.0, 10.0, 25.0]),
        },
        most=2,
    )
    hours = st.sampled_from([-48, -1, 1, 5, 30])
    schedule = _some(
        data,
        {
            "starts_at": hours.map(lambda h: _iso(now + timedelta(hours=h))),
            "ends_at": hours.map(lambda h: _iso(now + timedelta(hours=h + 1))),
        },
        most=2,
    )
    offer = {"kind": kind, "targeting": targeting, "caps": caps, **schedule}
    if kind == "partner":
        offer["advertiser"] = data.draw(st.sampled_from(ADVERTISERS))
        offer["value"] = data.draw(st.sampled_from([0.0, 12.5, 500.0]))
        offer["category"] = data.draw(st.sampled_from(["", *world.categories[:4]]))
    else:
        offer["sku"] = data.draw(
            st.sampled_from(world.offered_skus) if data.draw(st.booleans()) else sku_pool
        )
        offer["category"] = data.draw(category_pool)
    return offer


class ServiceMachine(RuleBasedStateMachine):
    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.clock = world.clock
        self.client: TestClient | None = None
        self.offers: dict[str, dict[str, Any]] = {}
        self.created = itertools.count()
        self.orders: dict[str | None, list[dict[str, Any]]] = {c: [] for c in CUSTOMERS}
        self.requests: list[Request] = []
        self.shown: list[Shown] = []
        self.events: set[tuple[str, str, str]] = set()  # (type, request, offer) accepted
        self.dismissed: dict[tuple[str, str], list[datetime]] = {}
        self.conversions: dict[tuple[str, ...], tuple[str, float, bool, str]] = {}

    # the app

    @initialize(max_offers=st.sampled_from([3, 1, 5]), data=st.data())
    def start(self, max_offers: int, data: st.DataObject) -> None:
        """The shop's store as imported, plus a new partner offer and a new cross-sell whose
        rules and caps the machine draws."""
        self.clock.now = utcnow().replace(microsecond=0)
        self.database_url = self.world.stores.new()
        self.max_offers = max_offers
        self._start_app()
        listed = self.call("GET", "/v1/offers", key=SK)
        self.offers = {offer["id"]: offer for offer in listed.json()["offers"]}
        self._create_offer(data, "partner")
        self._create_offer(data, "cross_sell")

    def _start_app(self) -> None:
        settings = self.world.make_settings(
            database_url=self.database_url,
            max_offers=self.max_offers,
            holdout_share=HOLDOUT_SHARE,
            dismiss_days=DISMISS_DAYS,
            extra=NEVER,
        )
        self.client = TestClient(create_app(settings))
        self.client.__enter__()

    def teardown(self) -> None:
        if self.client is not None:
            self.client.__exit__(None, None, None)
            self.world.stores.remove(self.database_url)

    def call(self, method: str, url: str, *, key: str = PK, **kwargs: Any) -> Any:
        """The answer to a request; never a 5xx, and a 4xx has the JSON error body."""
        response = self.client.request(
            method, url, headers=auth(key), follow_redirects=False, **kwargs
        )
        assert response.status_code < 500, (method, url, response.status_code, response.text)
        if response.status_code >= 400:
            error = response.json()["error"]
            assert set(error) == {"code", "message", "field"}, response.text
            assert isinstance(error["code"], str) and error["message"], response.text
        return response

    # time and background work, made explicit

    @rule(step=st.sampled_from(STEPS))
    def time_passes(self, step: timedelta) -> None:
        self.clock.now += step

    @rule(work=st.sampled_from(["flush", "refresh", "flush", "restart"]))
    def background_work(self, work: str) -> None:
        """What the service does by itself: write its log, re-read the store, or restart
        (writing its log on the way down)."""
        if work == "flush":
            flush_log(self.client)
        elif work == "refresh":
            service = self.client.app_state["service"]
            self.client.portal.call(service.refresh)
        else:
            self.client.__exit__(None, None, None)
            self._start_app()

    # offers

    @rule(data=st.data(), edit=st.sampled_from(["create", "change", "change", "delete"]))
    def merchant_edits_offers(self, data: st.DataObject, edit: str) -> None:
        if edit == "create" or not self.offers:
            self._create_offer(data, data.draw(st.sampled_from(["partner", "cross_sell"])))
        elif edit == "change":
            self._change_offer(data, self._offer_to_edit(data))
        else:
            self._delete_offer(self._offer_to_edit(data))

    def _offer_to_edit(self, data: st.DataObject) -> str:
        """An offer, often one shown lately."""
        shown = sorted({s.offer_id for s in self.shown[-20:]} & set(self.offers))
        return data.draw(
            st.sampled_from(shown if shown and data.draw(st.booleans()) else sorted(self.offers))
        )

    def _create_offer(self, data: st.DataObject, kind: str) -> None:
        n = next(self.created)
        offer_id = f"{'New' if n % 2 else 'new'}-{kind}-{n}"  # listed by id, case and all
        offer = {"id": offer_id, "title": f"Offer {offer_id}", **self._new_fields(data, kind)}
        offer["status"] = data.draw(st.sampled_from(["active", "active", "paused"]))
        method = data.draw(st.sampled_from(["POST", "PUT"]))
        url = "/v1/offers" if method == "POST" else f"/v1/offers/{offer_id}"
        response = self.call(method, url, key=SK, json=offer)
        if _invalid(offer):
            assert response.status_code == 422, response.text
            return
        assert response.status_code == 201, response.text
        self.offers[offer_id] = response.json()

    def _new_fields(self, data: st.DataObject, kind: str) -> dict[str, Any]:
        fields = _offer_fields(data, self.world, kind, self.clock.now)
        if data.draw(st.integers(0, 3)):  # else none: a cross-sell takes its product's page
            fields["cta_url"] = f"https://example.com/go/{next(self.created)}"
        return fields

    def _change_offer(self, data: st.DataObject, offer_id: str) -> None:
        stored = self.offers[offer_id]
        fresh = self._new_fields(data, stored["kind"])
        names = data.draw(
            st.lists(
                st.sampled_from(
                    ["targeting", "caps", "starts_at", "ends_at", "status", "title", "cta_url"]
                ),
                min_size=1,
                max_size=3,
                unique=True,
            )
        )
        patch: dict[str, Any] = {}
        for name in names:
            if name == "status":
                patch[name] = data.draw(st.sampled_from(["active", "paused", "archived"]))
            elif name == "title":
                patch[name] = f"{stored['title']}!"
            elif name in ("starts_at", "ends_at") and data.draw(st.booleans()):
                patch[name] = None
            else:
                patch[name] = fresh.get(name, None)
        if "caps" in patch and data.draw(st.booleans()):
            patch["caps"] = {**patch["caps"], "per_customer_per_day": None}
        method = data.draw(st.sampled_from(["PATCH", "PUT"]))
        if method == "PUT":
            patch = _merged(stored, patch)
            changed = patch
        else:
            changed = _merged(stored, patch)
        response = self.call(method, f"/v1/offers/{offer_id}", key=SK, json=patch)
        reopened = stored["status"] == "archived" and changed.get("status", "active") != "archived"
        if reopened:
            assert response.status_code == 409, response.text
            assert response.json()["error"]["field"] == "status"
        elif _invalid(changed):
            assert response.status_code == 422, response.text
        else:
            assert response.status_code == 200, response.text
            self.offers[offer_id] = response.json()
        assert self.call("GET", f"/v1/offers/{offer_id}", key=SK).json() == self.offers[offer_id]

    def _delete_offer(self, offer_id: str) -> None:
        assert self.call("DELETE", f"/v1/offers/{offer_id}", key=SK).status_code == 204
        del self.offers[offer_id]
        assert self.call("GET", f"/v1/offers/{offer_id}", key=SK).status_code == 404

    # rankings

    @rule(data=st.data(), n_visits=st.integers(1, 4))
    def shoppers_see_offers(self, data: st.DataObject, n_visits: int) -> None:
        for _ in range(n_visits):
            self._visit(
                data,
                customer=data.draw(st.sampled_from(CUSTOMERS)),
                limit=data.draw(st.sampled_from([None, 1, 2, 3, 5, "2"])),
                endpoint=data.draw(st.sampled_from(["/v1/rank", "/v1/widget"])),
                peek=data.draw(st.booleans()),
            )

    def _visit(
        self, data: st.DataObject, *, customer: str | None, limit: Any, endpoint: str, peek: bool
    ) -> None:
        visits = self.orders[customer]
        if visits and data.draw(st.booleans()):  # back on the order's page: the same order
            body = data.draw(st.sampled_from(visits))
        else:
            body = self._new_order(data, customer)
            visits.append(body)
        body = {**body, "limit": limit} if limit is not None else body
        at = self.clock.now
        if peek:  # a merchant's look first: it must show what the page is then shown
            looked = self.call("POST", "/v1/rank?debug=1", key=SK, json=body)
            assert looked.status_code == 200, looked.text
            looked = looked.json()
            assert all(offer["token"] == "" for offer in looked["offers"])
        response = self.call("POST", endpoint, json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        offers = answer["offers"]
        if peek:
            assert [o["id"] for o in offers] == [o["id"] for o in looked["offers"]], looked["debug"]
        key = customer or ""
        self._check_answer(body, offers, key, at, endpoint)
        if endpoint == "/v1/widget":  # the fragment shows what the answer lists
            for offer in offers:
                assert escape(self.offers[offer["id"]]["title"]) in answer["html"]
        holdout = customer is not None and in_holdout(customer, HOLDOUT_SHARE)
        order_id = body["order"].get("id")
        transaction = f"order:{order_id}" if order_id else f"request:{answer['request_id']}"
        placement = body["placement"]
        self.requests.append(Request(answer["request_id"], transaction, holdout, at, placement))
        for offer in offers:
            kind = self.offers[offer["id"]]["kind"]
            self.shown.append(
                Shown(answer["request_id"], offer["id"], key, at, offer["token"], kind)
            )

    def _new_order(self, data: st.DataObject, customer: str | None) -> dict[str, Any]:
        basket = data.draw(st.sampled_from(self.world.baskets))
        order = dict(basket["order"])
        if data.draw(st.booleans()):  # a second basket's lines too: more skus to keep out
            extra = data.draw(st.sampled_from(self.world.baskets))["order"]["items"]
            seen = {item["sku"] for item in order["items"]}
            order["items"] = order["items"] + [i for i in extra if i["sku"] not in seen]
        for name, values in (("country", COUNTRIES), ("currency", CURRENCIES), ("device", DEVICES)):
            choice = data.draw(st.sampled_from([order.get(name), None, *values]))
            if choice is None:
                order.pop(name, None)
            else:
                order[name] = choice
        total = data.draw(st.sampled_from([None, 20.0, 150.0, 600.0]))
        if total is not None:
            order["total"] = total
        if customer is not None or data.draw(st.booleans()):
            order["id"] = f"o-{customer or 'guest'}-{len(self.requests)}"
        body = {
            "placement": data.draw(st.sampled_from(PLACEMENTS)),
            "order": order,
            "customer": {"is_returning": data.draw(st.sampled_from([True, False, None]))},
        }
        if customer is not None:
            body["customer"]["id"] = customer
        return body

    def _check_answer(
        self,
        body: dict[str, Any],
        offers: list[dict[str, Any]],
        customer: str,
        at: datetime,
        endpoint: str,
    ) -> None:
        limit = int(body.get("limit") or self.max_offers)
        assert len(offers) <= min(limit, self.max_offers), offers
        if customer and in_holdout(customer, HOLDOUT_SHARE):
            assert offers == []
        ids = [offer["id"] for offer in offers]
        assert len(set(ids)) == len(ids), ids
        assert set(ids) <= set(self.offers), ids  # nothing deleted
        catalog = [self.offers[offer_id] for offer_id in ids]
        skus = [o["sku"] for o in catalog if o.get("sku")]
        advertisers = [o["advertiser"] for o in catalog if o.get("advertiser")]
        assert len(set(skus)) == len(skus), ids
        assert len(set(advertisers)) == len(advertisers), ids
        for shown, offer in zip(offers, catalog, strict=True):
            if endpoint == "/v1/rank":
                for name in ("kind", "title", "body", "cta_label"):
                    assert shown[name] == offer.get(name, ""), (name, shown, offer)
                assert shown["position"] == ids.index(offer["id"]) + 1
            assert self._link(offer), (offer["id"], "shown, and its click leads nowhere", offer)
            problem = _targeting_problem(offer, body, at)
            assert problem is None, (offer["id"], problem, offer, body)
            assert self._cap_reached(offer, customer, at) is None, (offer["id"], offer)
            dismissed = [
                when
                for when in self.dismissed.get((customer, offer["id"]), [])
                if when >= at - timedelta(days=DISMISS_DAYS)
            ]
            assert not customer or not dismissed, (offer["id"], "dismissed", dismissed, at)

    def _cap_reached(self, offer: dict[str, Any], customer: str, at: datetime) -> str | None:
        """Which cap the offer had reached before this answer (by what the model saw)."""
        caps = offer.get("caps", {})
        mine = [s for s in self.shown if s.offer_id == offer["id"]]
        if customer:
            theirs = [s.at for s in mine if s.customer == customer and s.at <= at]
            for name, window in (("per_customer_per_day", 1), ("per_customer_per_week", 7)):
                shown = sum(1 for when in theirs if when > at - timedelta(days=window))
                if caps.get(name) is not None and shown >= caps[name]:
                    return f"{name}: {shown}"
        if caps.get("total_impressions") is not None and len(mine) >= caps["total_impressions"]:
            return f"total_impressions: {len(mine)}"
        if offer["kind"] == "partner" and caps.get("budget") is not None:
            converted = sum(
                1
                for o, _r, exposed, _q in self.conversions.values()
                if o == offer["id"] and exposed
            )
            if converted * offer.get("value", 0.0) >= caps["budget"]:
                return f"budget: {converted} conversions"
        return None

    # what pages and shoppers do with shown offers

    def _link(self, offer: dict[str, Any]) -> str:
        """Where a click on ``offer`` leads: its ``cta_url``, for a cross-sell without one its
        product's page."""
        if offer.get("cta_url") or offer["kind"] != "cross_sell":
            return offer.get("cta_url", "")
        return self.world.product_urls.get(offer["sku"], "")

    def _live(self, offer_id: str) -> bool:
        offer = self.offers.get(offer_id)
        if offer is None or offer.get("status", "active") != "active" or not self._link(offer):
            return False
        starts, ends = offer.get("starts_at"), offer.get("ends_at")
        now = self.clock.now
        return (not starts or _utc(starts) <= now) and (not ends or now < _utc(ends))

    @precondition(lambda self: self.shown)
    @rule(
        data=st.data(),
        types=st.lists(
            st.sampled_from(["impression", "view", "click", "dismiss", "accept"]),
            min_size=1,
            max_size=3,
        ),
        twice=st.booleans(),
        forged=st.booleans(),
    )
    def page_sends_events(
        self, data: st.DataObject, types: list[str], twice: bool, forged: bool
    ) -> None:
        shown = [data.draw(st.sampled_from(self.shown)) for _ in types]
        batch = [{"type": t, "token": s.token} for t, s in zip(types, shown, strict=True)]
        if forged:
            # an altered payload (not the signature's last characters: a base64 character
            # carries bits the signature does not use, so such a copy may still verify)
            batch.insert(0, {"type": "view", "token": "x" + shown[0].token})
        refused = [400] if forged else []
        refused += [
            404
            for t, s in zip(types, shown, strict=True)
            if t == "click" and not self._live(s.offer_id)
        ]
        for _ in range(2 if twice else 1):
            response = self.call("POST", "/v1/events", json={"events": batch})
            if len(refused) == len(batch):  # none valid: the first one's error
                assert response.status_code == refused[0], response.text
            else:
                assert response.status_code == 202, response.text
                assert response.json()["accepted"] == len(batch) - len(refused), response.text
        for event_type, s in zip(types, shown, strict=True):
            if event_type == "click" and not self._live(s.offer_id):
                continue
            about = (event_type, s.request_id, s.offer_id)
            if about not in self.events and event_type == "dismiss" and s.customer:
                self.dismissed.setdefault((s.customer, s.offer_id), []).append(self.clock.now)
            self.events.add(about)

    @precondition(lambda self: self.shown)
    @rule(data=st.data())
    def shopper_clicks(self, data: st.DataObject) -> None:
        shown = data.draw(st.sampled_from(self.shown))
        response = self.call("GET", f"/v1/click/{shown.token}")
        if self._live(shown.offer_id):
            assert response.status_code == 303, response.text
            assert response.headers["location"] == self._link(self.offers[shown.offer_id])
            self.events.add(("click", shown.request_id, shown.offer_id))
        else:
            assert response.status_code == 404, response.text

    @precondition(lambda self: self.shown)
    @rule(
        data=st.data(),
        by_token=st.booleans(),
        purchase=st.sampled_from(["a", "b", ""]),
        revenue=st.sampled_from([5.0, 12.25, 30.5]),
    )
    def shop_posts_a_conversion(
        self, data: st.DataObject, by_token: bool, purchase: str, revenue: float
    ) -> None:
        shown = data.draw(st.sampled_from(self.shown))
        order_id = f"{shown.customer or 'guest'}-purchase-{purchase}" if purchase else ""
        body: dict[str, Any] = {"order_id": order_id, "revenue": revenue}
        if by_token:
            body["token"] = shown.token
        else:
            body |= {"request_id": shown.request_id, "offer_id": shown.offer_id}
        if not by_token and data.draw(st.integers(0, 4)) == 0:  # an offer the request did not show
            others = {s.offer_id for s in self.shown if s.request_id == shown.request_id}
            body["offer_id"] = data.draw(
                st.sampled_from(sorted(set(self.offers) - others) + ["no-such-offer"])
            )
            response = self.call("POST", "/v1/conversions", key=SK, json=body)
            assert response.status_code == 404, response.text
            named = "offer_id" if body["offer_id"] not in self.offers else "request_id"
            assert response.json()["error"]["field"] == named, response.text
            return
        response = self.call("POST", "/v1/conversions", key=SK, json=body)
        if not by_token and self.clock.now - shown.at > timedelta(days=TOKEN_DAYS):
            assert response.status_code == 400, response.text
            return
        self._converted(response, shown.offer_id, order_id, shown.request_id, revenue, True)

    @precondition(lambda self: any(r.holdout for r in self.requests))
    @rule(data=st.data(), revenue=st.sampled_from([5.0, 8.75]))
    def holdout_customer_buys_anyway(self, data: st.DataObject, revenue: float) -> None:
        request = data.draw(st.sampled_from([r for r in self.requests if r.holdout]))
        offer_id = data.draw(st.sampled_from(sorted(self.offers) + ["no-such-offer"]))
        body = {
            "request_id": request.request_id,
            "offer_id": offer_id,
            "order_id": f"held-{request.transaction}",
            "revenue": revenue,
        }
        response = self.call("POST", "/v1/conversions", key=SK, json=body)
        if offer_id not in self.offers:
            assert response.status_code == 404, response.text
            assert response.json()["error"]["field"] == "offer_id"
        elif self.clock.now - request.at > timedelta(days=TOKEN_DAYS):
            assert response.status_code == 400, response.text
        else:
            order_id = body["order_id"]
            self._converted(response, offer_id, order_id, request.request_id, revenue, False)

    def _converted(
        self,
        response: Any,
        offer_id: str,
        order_id: str,
        request_id: str,
        revenue: float,
        exposed: bool,
    ) -> None:
        purchase = ("purchase", offer_id, order_id) if order_id else (request_id, offer_id)
        new = purchase not in self.conversions
        assert response.status_code == (201 if new else 200), response.text
        assert response.json()["recorded"] is new
        if new:
            self.conversions[purchase] = (offer_id, revenue, exposed, request_id)

    # the report

    @rule(group_by=st.sampled_from(["offer", "kind", "placement", "day"]))
    def merchant_reads_the_report(self, group_by: str) -> None:
        flush_log(self.client)
        url = f"/v1/report?since=0001-01-01&until=9999-12-31&group_by={group_by}"
        response = self.call("GET", url, key=SK)
        assert response.status_code == 200, response.text
        report = response.json()
        expected = self._figures(group_by)
        totals = {name: report["totals"][name] for name in _COUNTED}
        assert totals == self._figures(None)[None]
        groups = {g["key"]: {name: g[name] for name in _COUNTED} for g in report["groups"]}
        assert groups == expected
        held = {r.transaction for r in self.requests if r.holdout}
        held -= {r.transaction for r in self.requests if not r.holdout}
        arms = report["holdout"]
        held_revenue = [r for _o, r, exposed, _q in self.conversions.values() if not exposed]
        assert arms["holdout"]["transactions"] == len(held)
        assert arms["holdout"]["conversions"] == len(held_revenue)
        assert arms["holdout"]["revenue"] == round(sum(held_revenue), 2)
        assert arms["exposed"]["conversions"] == totals["conversions"]

    @rule(status=st.sampled_from(["active", "paused", "archived"]))
    def merchant_lists_offers(self, status: str) -> None:
        listed = self.call("GET", f"/v1/offers?status={status}", key=SK)
        assert listed.status_code == 200, listed.text
        expected = [offer for offer in self.offers.values() if offer["status"] == status]
        assert listed.json()["offers"] == sorted(expected, key=lambda o: o["id"])

    def _figures(self, group_by: str | None) -> dict[Any, dict[str, Any]]:
        """The report's figures per group, as the model counts what was sent: each request's
        feedback in the groups of its request (its day, placement) or of the offer shown."""
        requests = {r.request_id: r for r in self.requests}
        shown = {(s.request_id, s.offer_id): s for s in self.shown}

        def key(request_id: str, offer_id: str | None) -> Any:
            request = requests[request_id]
            if group_by == "placement":
                return request.placement
            if group_by == "day":
                return request.at.date().isoformat()
            if group_by == "offer":
                return offer_id
            return None if group_by is None else shown[request_id, offer_id].kind

        groups: dict[Any, Counter] = {}
        if group_by in (None, "placement", "day"):
            transactions: dict[Any, set[str]] = {}
            for r in self.requests:
                transactions.setdefault(key(r.request_id, None), set()).add(r.transaction)
            for group, orders in transactions.items():
                groups.setdefault(group, Counter())["transactions"] = len(orders)
        for s in self.shown:
            groups.setdefault(key(s.request_id, s.offer_id), Counter())["impressions"] += 1
        names = {"view": "views", "click": "clicks", "dismiss": "dismissals"}
        for event_type, request_id, offer_id in self.events:
            if event_type in names:
                groups[key(request_id, offer_id)][names[event_type]] += 1
        for offer_id, revenue, exposed, request_id in self.conversions.values():
            if exposed:
                groups[key(request_id, offer_id)]["conversions"] += 1
                groups[key(request_id, offer_id)]["revenue"] += revenue
        if group_by in ("offer", "kind"):  # every group holds the period's transactions
            everyone = len({r.transaction for r in self.requests})
            for counts in groups.values():
                counts["transactions"] = everyone
        blank = dict.fromkeys(_COUNTED, 0) | {"revenue": 0.0}
        figures = {g: blank | dict(c) for g, c in groups.items()}
        for counts in figures.values():
            counts["revenue"] = round(counts["revenue"], 2)
        if group_by is None and not figures:
            figures[None] = blank
        return figures

    @invariant()
    def nothing_waits_forever(self) -> None:
        if self.client is not None:
            assert self.client.app_state["service"].log.health()["failing_since"] is None


_COUNTED = (
    "transactions",
    "impressions",
    "views",
    "clicks",
    "dismissals",
    "conversions",
    "revenue",
)


@pytest.fixture
def stores(
    request: pytest.FixtureRequest, shop_data: ShopData, tmp_path: Path
) -> Iterator[SqliteCopies | PostgresCopies]:
    """Fresh copies of the shop's store, in the store ``request.param`` names."""
    if request.param == "sqlite":
        copies = SqliteCopies(shop_data.database, tmp_path)
    else:
        copies = PostgresCopies(request.getfixturevalue("postgres_url"), shop_data)
    yield copies
    copies.close()


@pytest.fixture
def world(
    stores: SqliteCopies | PostgresCopies,
    shop_data: ShopData,
    make_settings,
    monkeypatch: pytest.MonkeyPatch,
) -> World:
    clock = Clock(utcnow().replace(microsecond=0))
    for module in ("widget.ranking", "widget.tracking", "widget.service"):
        monkeypatch.setattr(f"{module}.utcnow", clock)
    catalog = json.loads((shop_data.files / "offers.json").read_text())
    products = pd.read_csv(shop_data.files / "products.csv", dtype=str)
    orders = shop_data.orders
    order_ids = sorted(orders["order_id"].unique())[:: max(1, orders["order_id"].nunique() // 40)]
    cameras = orders.loc[orders["category"] == "Cameras", "order_id"].iloc[0]
    baskets = []
    for order_id in [cameras, *order_ids][:N_BASKETS]:
        lines = orders[orders["order_id"] == order_id]
        items = [
            {"sku": r.sku, "category": r.category, "price": float(r.price), "quantity": 1}
            for r in lines.itertuples()
        ]
        first = lines.iloc[0]
        order = {"country": first["country"], "currency": first["currency"], "items": items}
        baskets.append({"order": {**order, "device": first["device"]}})
    return World(
        make_settings=make_settings,
        stores=stores,
        baskets=baskets,
        skus=sorted(orders["sku"].unique()),
        categories=sorted(orders["category"].dropna().unique()),
        product_urls=dict(zip(products["sku"], products["url"], strict=True)),
        offered_skus=sorted({o["sku"] for o in catalog if o["kind"] == "cross_sell"}),
        clock=clock,
    )


@pytest.mark.parametrize(
    ("stores", "max_examples"),
    [("sqlite", 40), pytest.param("postgresql", 12, marks=pytest.mark.postgres)],
    indirect=["stores"],
)
def test_the_service_keeps_its_invariants_whatever_is_done_in_any_order(
    world: World, max_examples: int
) -> None:
    run_state_machine_as_test(
        lambda: ServiceMachine(world),
        settings=settings(
            max_examples=max_examples,
            stateful_step_count=40,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
