"""The app as wired by create_app: its lifespan, and one shopper's journey over PostgreSQL."""

import gc
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from anyio.from_thread import start_blocking_portal
from sqlalchemy import create_engine, func, make_url, select
from threadpoolctl import threadpool_info

from offers import schema
from offers.store import Store, StoreUnreachable
from tests.widget.conftest import SHOP_ID, SK, TestClient, auth, postgres_with_shop
from widget.app import create_app


def test_native_thread_pools_run_one_thread_while_serving(client):
    # numpy and scikit-learn are loaded with the model, so their pools are known by now
    serving = client.portal.call(threadpool_info)

    assert serving and {pool["num_threads"] for pool in serving} == {1}


def test_an_app_runs_one_native_thread_after_another_app_stopped_in_a_thread_that_lives_on(
    make_settings,
):
    with start_blocking_portal() as portal:  # a thread that outlives its app, as a host's may
        first = create_app(make_settings())
        with portal.wrap_async_context_manager(first.router.lifespan_context(first)):
            pass
        with TestClient(create_app(make_settings())) as client:  # another thread of its own
            serving = client.portal.call(threadpool_info)

    assert serving and {pool["num_threads"] for pool in serving} == {1}


def test_young_garbage_collections_are_rarer_while_serving_and_restored_after(make_settings):
    before = gc.get_threshold()
    with TestClient(create_app(make_settings())) as client:
        serving = client.portal.call(gc.get_threshold)

    assert serving == (20_000, *before[1:])
    assert gc.get_threshold() == before


@pytest.fixture
def postgres_client(postgres_url, shop_data, make_settings):
    url = postgres_with_shop(postgres_url, shop_data)
    store = Store.open(url)
    with TestClient(create_app(make_settings(database_url=url))) as client:
        yield client, store
    store.close()


def _count(store: Store, table, **where) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with store.engine.connect() as connection:
        return connection.execute(query).scalar_one()


@pytest.mark.postgres
def test_a_shoppers_journey_is_recorded_in_postgresql(postgres_client, rank_body):
    client, store = postgres_client
    ranked = client.post("/v1/widget", json=rank_body(), headers=auth()).json()
    [first, *_] = ranked["offers"]
    events = {
        "events": [
            {"type": "view", "token": first["token"]},
            {"type": "dismiss", "token": first["token"]},
        ]
    }
    client.post("/v1/events", json=events, headers=auth())
    client.get(f"/v1/click/{first['token']}", follow_redirects=False)
    conversion = {"token": first["token"], "order_id": "o-9", "revenue": 12.5}
    converted = client.post("/v1/conversions", json=conversion, headers=auth(SK))
    client.portal.call(client.app_state["service"].log.flush)

    assert converted.status_code == 201
    assert _count(store, schema.rank_requests, id=ranked["request_id"]) == 1
    assert _count(store, schema.impressions, request_id=ranked["request_id"]) == len(
        ranked["offers"]
    )
    assert _count(store, schema.events, request_id=ranked["request_id"]) == 3
    assert _count(store, schema.conversions, offer_id=first["id"]) == 1
    again = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"]
    assert first["id"] not in [offer["id"] for offer in again]


@pytest.mark.postgres
def test_offers_crud_on_postgresql(postgres_client):
    client, store = postgres_client
    offer = {
        "id": "pg-offer",
        "kind": "partner",
        "title": "Ünïcode ✓",
        "advertiser": "Acme",
        "attributes": {"big": 2**70},
    }

    created = client.post("/v1/offers", json=offer, headers=auth(SK))
    listed = client.get("/v1/offers", headers=auth(SK)).json()["offers"]
    deleted = client.delete("/v1/offers/pg-offer", headers=auth(SK))

    assert created.status_code == 201
    assert created.json()["attributes"] == {"big": 2**70}
    assert "pg-offer" in [o["id"] for o in listed]
    assert deleted.status_code == 204
    assert store.offer(SHOP_ID, "pg-offer") is None


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("method", "status", "field"),
    [("GET", 404, "offer_id"), ("DELETE", 404, "offer_id"), ("PUT", 422, "id")],
)
@pytest.mark.parametrize(
    "offer_id", [pytest.param("a%00b", id="nul"), pytest.param("x" * 129, id="too-long")]
)
def test_an_offer_id_no_offer_can_have_is_a_client_error_on_postgresql(
    postgres_client, method, status, field, offer_id
):
    client, _ = postgres_client
    body = {"kind": "partner", "title": "T", "advertiser": "A"} if method == "PUT" else None
    response = client.request(method, f"/v1/offers/{offer_id}", json=body, headers=auth(SK))
    assert response.status_code == status
    assert response.json()["error"]["field"] == field


@pytest.mark.postgres
def test_a_report_of_all_time_on_postgresql(postgres_client):
    client, _ = postgres_client
    query = "since=0001-01-01&until=9999-12-31&group_by=day"
    response = client.get(f"/v1/report?{query}", headers=auth(SK))
    assert response.status_code == 200
    assert response.json()["since"] == "0001-01-01"


@contextmanager
def _database_refusing_connections(url: str) -> Iterator[Callable[[], None]]:
    """An outage of the shop's database with the server up: new connections are refused and
    the open ones dropped. Yields the function that ends it (also called on leaving)."""
    name = make_url(url).database
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")

    def allow(allowed: bool) -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {allowed}')

    allow(False)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
    try:
        yield lambda: allow(True)
    finally:
        allow(True)
        admin.dispose()


class _Waiting(logging.Handler):
    """Set once the service says it is waiting for the store."""

    def __init__(self) -> None:
        super().__init__()
        self.said = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "trying again" in record.getMessage():
            self.said.set()


@pytest.mark.postgres
def test_a_worker_started_while_the_database_is_down_waits_for_it_and_serves(
    postgres_url, shop_data, make_settings, rank_body
):
    url = postgres_with_shop(postgres_url, shop_data)
    waiting, logger = _Waiting(), logging.getLogger("encore.widget")
    logger.addHandler(waiting)
    try:
        with _database_refusing_connections(url) as end_outage:
            back = threading.Thread(target=lambda: waiting.said.wait(30) and end_outage())
            back.start()
            with TestClient(create_app(make_settings(database_url=url))) as client:
                ranked = client.post("/v1/rank", json=rank_body(), headers=auth())
            back.join()
    finally:
        logger.removeHandler(waiting)

    assert waiting.said.is_set()
    assert ranked.status_code == 200 and ranked.json()["offers"]


@pytest.mark.postgres
def test_a_worker_gives_up_on_a_database_down_past_its_wait(postgres_url, shop_data, make_settings):
    url = postgres_with_shop(postgres_url, shop_data)
    app = create_app(make_settings(database_url=url, extra={"store_wait_seconds": 0.0}))

    with (
        _database_refusing_connections(url),
        pytest.raises(StoreUnreachable) as raised,
        TestClient(app),
    ):
        pass

    assert str(raised.value).startswith("cannot open the database: ")


@pytest.mark.postgres
def test_while_the_database_is_down_writes_are_503_to_retry_and_ranking_goes_on(
    postgres_client, postgres_url, rank_body
):
    client, store = postgres_client
    [offer, *_] = client.post("/v1/rank", json=rank_body(), headers=auth()).json()["offers"]
    conversion = {"token": offer["token"], "order_id": "o-1", "revenue": 20.0}
    client.portal.call(client.app_state["service"].log.flush)

    with _database_refusing_connections(postgres_url):
        refused = client.post("/v1/conversions", json=conversion, headers=auth(SK))
        listing = client.get("/v1/offers", headers=auth(SK))
        ranked = client.post("/v1/rank", json=rank_body("another"), headers=auth())

    assert (refused.status_code, listing.status_code, ranked.status_code) == (503, 503, 200)
    assert refused.headers["retry-after"] == "5"
    assert refused.json()["error"]["code"] == "unavailable"
    retried = client.post("/v1/conversions", json=conversion, headers=auth(SK))
    assert retried.status_code == 201
    assert _count(store, schema.conversions, order_id="o-1") == 1
