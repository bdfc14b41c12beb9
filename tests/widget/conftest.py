"""Service fixtures: a small generated shop and model per session, a fresh store per test."""

import json
import shutil
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import Table, select

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 (not yet in the dev extras); plain httpx still works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

from offers.importer import import_files
from offers.store import Store
from offers.synthetic import generate_shop
from tests.conftest import _empty_all_tables
from widget.app import create_app
from widget.demo_setup import point_current, train_into
from widget.settings import Settings

SHOP_ID = "test-shop"
PK = "pk_test_publishable"
SK = "sk_test_secret"
ORIGIN = "https://shop.example"
N_ORDERS = 1_500


@dataclass(frozen=True)
class ShopData:
    files: Path
    database: Path
    models: Path
    orders: pd.DataFrame


@pytest.fixture(scope="session")
def shop_data(tmp_path_factory: pytest.TempPathFactory) -> ShopData:
    root = tmp_path_factory.mktemp("shop")
    generate_shop(root / "files", n_orders=N_ORDERS, seed=3)
    database = root / "template.db"
    _import_shop(f"sqlite:///{database}", root / "files")
    train_into(root / "files", root / "models")
    orders = pd.read_csv(root / "files" / "orders.csv", dtype=str)
    return ShopData(root / "files", database, root / "models", orders)


def postgres_with_shop(postgres_url: str, shop_data: ShopData) -> str:
    """The test PostgreSQL emptied, then the shop's files imported as into the SQLite copy."""
    store = Store.open(postgres_url)
    _empty_all_tables(store)
    store.close()
    _import_shop(postgres_url, shop_data.files)
    return postgres_url


def _import_shop(database_url: str, files: Path) -> None:
    store = Store.open(database_url)
    try:
        import_files(
            store,
            SHOP_ID,
            products=files / "products.csv",
            offers=files / "offers.json",
            orders=files / "orders.csv",
        )
    finally:
        store.close()


@pytest.fixture
def database_url(shop_data: ShopData, tmp_path: Path) -> str:
    """A fresh copy of the imported shop's store for each test."""
    path = tmp_path / "encore.db"
    shutil.copyfile(shop_data.database, path)
    return f"sqlite:///{path}"


@pytest.fixture
def make_settings(shop_data: ShopData, database_url: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        extra = {
            "demo": True,
            "model_check_seconds": 0.0,
            "log_flush_seconds": 0.05,
            **overrides.pop("extra", {}),
        }
        values = {
            "database_url": database_url,
            "model_dir": str(shop_data.models / "current"),
            "shop_id": SHOP_ID,
            "publishable_key": PK,
            "secret_key": SK,
            "signing_secret": "test-signing-secret-0123456789",
            "allowed_origins": (ORIGIN,),
            "holdout_share": 0.0,
            **overrides,
        }
        return Settings(**values, extra=extra)

    return make


@pytest.fixture
def make_client(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """A started app (lifespan run) over a fresh store; shut down at the end of the test."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def rank_body(shop_data: ShopData) -> Callable[..., dict[str, Any]]:
    """A /v1/rank body for a real order of the shop (one with a camera, so cross-sells apply)."""
    orders = shop_data.orders
    order_id = orders.loc[orders["category"] == "Cameras", "order_id"].iloc[0]
    lines = orders[orders["order_id"] == order_id]

    def make(customer: str | None = "cust-test-1", **fields: Any) -> dict[str, Any]:
        """The body for ``customer``; ``fields`` replace top-level fields."""
        items = [
            {"sku": r.sku, "category": r.category, "price": float(r.price), "quantity": 1}
            for r in lines.itertuples()
        ]
        body = {
            "placement": "thank_you",
            "order": {
                "id": f"o-{customer}",
                "currency": "EUR",
                "country": lines["country"].iloc[0],
                "items": items,
            },
            "customer": {"id": customer, "is_returning": True},
            "attributes": {"channel": "web"},
        }
        body.update(fields)
        return body

    return make


def auth(key: str = PK) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def publish_model(shop_data: ShopData, models: Path, version: str) -> Path:
    """A newly trained model, as training leaves it: ``models/<version>``, then ``current`` swapped.

    (The session's model under a new version: retraining would take seconds per test.)
    """
    version_dir = models / version
    shutil.copytree((shop_data.models / "current").resolve(), version_dir)
    card = json.loads((version_dir / "card.json").read_text())
    (version_dir / "card.json").write_text(json.dumps({**card, "version": version}))
    point_current(models, version)
    return version_dir


def stored_rows(database_url: str, table: Table) -> list[dict]:
    """Every row of ``table`` in the store at ``database_url``."""
    store = Store.open(database_url)
    try:
        with store.engine.connect() as connection:
            return [dict(r) for r in connection.execute(select(table)).mappings()]
    finally:
        store.close()


def flush_log(client: TestClient) -> None:
    """Write the app's impression log now (it is written every few tenths of a second)."""
    client.portal.call(client.app_state["service"].log.flush)
