"""The store keeps what it is given, the same on SQLite and PostgreSQL."""

import contextlib
import multiprocessing
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec
import pandas as pd
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from offers import schema
from offers import store as store_module
from offers.catalog import Caps, Offer, Targeting
from offers.errors import InputError
from offers.files import ORDER_COLUMNS, OrderLines
from offers.store import Shop, Store, _alembic_config


def order_lines(*rows: tuple) -> OrderLines:
    frame = pd.DataFrame(rows, columns=list(ORDER_COLUMNS))
    frame["ordered_at"] = pd.to_datetime(frame["ordered_at"])
    purchases = frame[frame["quantity"] > 0].reset_index(drop=True)
    returns = frame[frame["quantity"] <= 0].reset_index(drop=True)
    return OrderLines(purchases, returns, len(frame), Counter())


LINES = order_lines(
    ("O1", "C1", "2026-01-05 10:00", "CAM", 1, 499.0, "Camera", "Cameras", "DE", "EUR", "mobile"),
    (
        "O1",
        "C1",
        "2026-01-05 10:00",
        "SD64",
        2,
        19.5,
        "SD card",
        "Accessories",
        "DE",
        "EUR",
        "mobile",
    ),
    ("O2", "C2", "2026-01-06 11:30", "BAG", 1, float("nan"), "Bag", "Bags", "FR", "EUR", "desktop"),
    ("O3", "C2", "2026-01-09 09:00", "BAG", -1, 35.0, "Bag", "Bags", "FR", "EUR", "desktop"),
)


def test_a_new_store_is_created_at_the_latest_schema_version(store):
    assert store.schema_version() == Store.latest_schema_version()
    for table in schema.metadata.sorted_tables:
        with store.engine.connect() as connection:
            connection.execute(table.select().limit(1)).all()


def test_the_migrations_build_exactly_the_tables_and_indexes_schema_py_declares(store):
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert differences == []


def _store_at_revision(url: str, revision: str) -> None:
    """A store as an earlier Encore left it: its tables migrated up to ``revision``."""
    engine = create_engine(url)
    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def test_migrating_gives_log_times_written_without_a_fraction_their_microseconds(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _store_at_revision(url, "0003")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO rank_requests VALUES "
            "('r1', 'shop', '2024-03-04 00:00:00', 'thank_you', 'o1', 'c1', 1.0, 0, 'v1', 0)"
        )
    engine.dispose()

    store = Store.open(url)  # as an earlier version left it: migrates on open
    with store.engine.connect() as connection:
        at = connection.exec_driver_sql("SELECT at FROM rank_requests").scalar_one()
    store.close()

    assert at == "2024-03-04 00:00:00.000000"


def test_a_store_opened_while_another_process_migrates_it_waits_past_the_busy_timeout(tmp_path):
    # A migration that rebuilds the order lines of a big SQLite store takes longer than the
    # 5 s other writes wait (18 s for 4.9M lines): a process started beside it must wait.
    path = tmp_path / "old.db"
    _store_at_revision(f"sqlite:///{path}", "0005")
    migrating = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    migrating.execute("PRAGMA journal_mode=WAL")
    migrating.execute("BEGIN IMMEDIATE")
    done = threading.Timer(6.0, migrating.rollback)
    done.start()
    try:
        store = Store.open(f"sqlite:///{path}")
    finally:
        done.join()
        migrating.close()
    version = store.schema_version()
    store.close()

    assert version == Store.latest_schema_version()


def test_a_migration_whose_copy_fails_names_why_and_leaves_the_store_as_it_was(
    tmp_path, monkeypatch
):
    # A full disk while 0006 copies the order lines into their new table: SQLite rolls the
    # transaction back, new table and all, so Alembic's clean-up (dropping that table) fails
    # too, and its `no such table: _alembic_tmp_order_lines` hid `database or disk is full`.
    # An interrupted statement is rolled back the same way, and can be made to happen here.
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _store_at_revision(url, "0005")
    engine = create_engine(url)
    with engine.begin() as connection:
        Store(engine, connection).save_order_lines("shop", LINES)
    engine.dispose()
    tune = store_module._tune_sqlite

    def tune_and_fail_the_copy(dbapi_connection: Any, record: Any) -> None:
        tune(dbapi_connection, record)
        copying = threading.Event()

        def interrupt_once() -> bool:  # the copy, not the clean-up after it
            interrupt = copying.is_set()
            copying.clear()
            return interrupt

        dbapi_connection.set_progress_handler(interrupt_once, 1)
        dbapi_connection.set_trace_callback(
            lambda sql: copying.set() if sql.startswith("INSERT INTO _alembic_tmp_") else None
        )

    monkeypatch.setattr(store_module, "_tune_sqlite", tune_and_fail_the_copy)
    with pytest.raises(InputError) as raised:
        Store.open(url)
    monkeypatch.undo()
    store = Store.open(url)  # the next start migrates
    stored = store.order_lines("shop")
    store.close()

    assert str(raised.value) == "cannot prepare the database's tables: interrupted"
    assert list(stored["quantity"]) == [1, 2, 1]


def test_order_lines_round_trip(store):
    store.save_order_lines("shop", LINES)
    stored = store.order_lines("shop")
    assert list(stored["order_id"]) == ["O1", "O1", "O2"]
    assert list(stored["sku"]) == ["CAM", "SD64", "BAG"]
    assert list(stored["quantity"]) == [1, 2, 1]
    assert stored.loc[1, "price"] == 19.5
    assert pd.isna(stored.loc[2, "price"])
    assert str(stored.loc[2, "ordered_at"]) == "2026-01-06 11:30:00"
    assert store.count(schema.order_returns, "shop") == 1


def test_a_quantity_with_a_fraction_is_stored_as_it_was_read(store):
    by_weight = order_lines(
        ("O1", "C1", "2026-01-05 10:00", "FLOUR", 2.375, 1.2, "", "", "", "", ""),
        ("O2", "C1", "2026-01-09 10:00", "FLOUR", -0.5, 1.2, "", "", "", "", ""),
    )
    store.save_order_lines("shop", by_weight)
    with store.engine.connect() as connection:
        returned = connection.execute(select(schema.order_returns.c.quantity)).scalar_one()
    assert list(store.order_lines("shop")["quantity"]) == [2.375]
    assert returned == -0.5


def test_saving_the_same_lines_twice_changes_nothing(store):
    first = store.save_order_lines("shop", LINES)
    second = store.save_order_lines("shop", LINES)
    assert (first[0].new, first[1].new) == (3, 1)
    assert (second[0].new, second[0].unchanged, second[1].new) == (0, 3, 0)
    assert store.count(schema.order_lines, "shop") == 3


def test_shops_are_isolated_from_each_other(store):
    store.save_order_lines("a", LINES)
    assert store.count(schema.order_lines, "b") == 0
    assert store.order_lines("b").empty


def test_offers_round_trip_with_targeting_and_caps(store):
    offer = Offer(
        id="ins-1",
        kind="partner",
        title="Protect your camera",
        advertiser="Safe&Co",
        value=4.5,
        targeting=Targeting(countries=["DE"], min_order_total=100.0),
        caps=Caps(per_customer_per_day=1, budget=500.0),
    )
    assert store.save_offers("shop", [offer]).new == 1
    assert store.offer("shop", "ins-1") == offer
    assert store.offers("shop") == [offer]


def test_saving_offers_counts_new_updated_and_unchanged(store):
    a = Offer(id="a", kind="cross_sell", title="A", sku="A")
    b = Offer(id="b", kind="cross_sell", title="B", sku="B")
    store.save_offers("shop", [a, b])
    count = store.save_offers("shop", [a, Offer(id="b", kind="cross_sell", title="B2", sku="B")])
    assert (count.new, count.updated, count.unchanged) == (0, 1, 1)
    assert store.offer("shop", "b").title == "B2"


def test_changes_to_one_offer_at_once_are_all_kept(store):
    store.save_offers("shop", [Offer(id="a", kind="cross_sell", title="A", sku="A")])
    start = threading.Barrier(12)

    def add_attribute(n: int) -> None:
        start.wait()
        store.change_offer(
            "shop",
            "a",
            lambda offer: msgspec.structs.replace(
                offer, attributes={**offer.attributes, f"k{n}": n}
            ),
        )

    with ThreadPoolExecutor(12) as pool:
        list(pool.map(add_attribute, range(12)))

    assert store.offer("shop", "a").attributes == {f"k{n}": n for n in range(12)}


def test_a_change_that_fails_changes_nothing_and_a_missing_offer_is_none(store):
    offer = Offer(id="a", kind="cross_sell", title="A", sku="A")
    store.save_offers("shop", [offer])

    def refuse(_offer: Offer) -> Offer:
        raise ValueError("no")

    with pytest.raises(ValueError):
        store.change_offer("shop", "a", refuse)
    assert store.offer("shop", "a") == offer
    assert store.change_offer("shop", "none", lambda o: o) is None


def test_offers_are_listed_by_status_and_deleted(store):
    store.save_offers(
        "shop",
        [
            Offer(id="a", kind="cross_sell", title="A", sku="A"),
            Offer(id="p", kind="cross_sell", title="P", sku="P", status="paused"),
        ],
    )
    assert [o.id for o in store.offers("shop", status="active")] == ["a"]
    assert store.delete_offer("shop", "a") is True
    assert store.delete_offer("shop", "a") is False
    assert [o.id for o in store.offers("shop")] == ["p"]


def test_products_are_updated_in_place(store):
    products = pd.DataFrame(
        {
            "sku": ["A"],
            "title": ["Old"],
            "category": ["C"],
            "price": [1.0],
            "margin": [float("nan")],
            "image_url": [""],
            "url": [""],
            "colour": ["red"],
        }
    )
    assert store.save_products("shop", products).new == 1
    assert store.save_products("shop", products).unchanged == 1
    products.loc[0, "title"] = "New"
    assert store.save_products("shop", products).updated == 1


def test_product_links_are_found_by_sku_within_the_shop(store):
    products = pd.DataFrame(
        {
            "sku": ["A", "B"],
            "title": ["Cam", "Card"],
            "category": ["C", "C"],
            "price": [1.0, 2.0],
            "image_url": ["https://x.example/a.png", ""],
            "url": ["https://x.example/a", "https://x.example/b"],
        }
    )
    store.save_products("shop", products)
    store.save_products("other", products.assign(url="https://other.example/"))

    links = store.product_links("shop", ["A", "B", "B", "missing"])

    assert links == {
        "A": ("https://x.example/a", "https://x.example/a.png"),
        "B": ("https://x.example/b", ""),
    }


def test_shops_are_found_by_secret_key_and_secret_keys_are_not_stored(store):
    store.save_shop(Shop("s1", "Shop", "pk_live_1", ("https://shop.example",)), "sk_live_1")
    found = store.shop_by_secret_key("sk_live_1")
    assert (found.id, found.allowed_origins) == ("s1", ("https://shop.example",))
    assert store.shop_by_secret_key("sk_live_2") is None
    with store.engine.connect() as connection:
        stored = connection.execute(schema.shops.select()).mappings().one()
    assert "sk_live_1" not in str(dict(stored))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "mysql://x",
            "database URL must start with sqlite:/// or postgresql://, got `mysql:`",
            id="unsupported",
        ),
        pytest.param(
            "postgresql://nobody@127.0.0.1:1/none", "cannot open the database: ", id="unreachable"
        ),
        pytest.param(
            "postgresql://shop:s3cret@db.example:fivefour/encore",
            "database URL is not valid: expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
            id="port-not-a-number",
        ),
        pytest.param(
            "postgresql://shop:s3cret@[::1/encore",
            "database URL is not valid: expected sqlite:///PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
            id="unclosed-bracket",
        ),
        *(
            pytest.param(
                url,
                "an in-memory SQLite database is lost when the command ends, and each "
                "connection sees its own: give a file, sqlite:///PATH",
                id=f"in-memory-{url}",
            )
            for url in ("sqlite://", "sqlite:///", "sqlite:///:memory:")
        ),
    ],
)
def test_a_bad_database_url_is_one_clear_error(url, message):
    with pytest.raises(InputError) as raised:
        Store.open(url)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_a_file_that_is_not_a_database_is_one_clear_error(tmp_path):
    path = tmp_path / "encore.db"
    path.write_text("not a database, whatever its name says")
    with pytest.raises(InputError) as raised:
        Store.open(f"sqlite:///{path}")
    assert str(raised.value) == "cannot open the database: file is not a database"


def test_a_store_migrated_by_a_newer_encore_is_one_clear_error(store_url):
    store = Store.open(store_url)
    with store.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    store.close()

    try:
        with pytest.raises(InputError) as raised:
            Store.open(store_url)
    finally:
        _put_back_the_schema_version(store_url)

    assert str(raised.value).startswith(
        "the database's tables are at schema version 9999, which this Encore does not know "
        f"(its newest is {Store.latest_schema_version()}): a newer Encore migrated them"
    )


def _put_back_the_schema_version(url: str) -> None:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE alembic_version SET version_num = %s"
            if engine.dialect.name == "postgresql"
            else "UPDATE alembic_version SET version_num = ?",
            (Store.latest_schema_version(),),
        )
    engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_offers_are_listed_by_id_character_by_character_whatever_the_databases_language(
    request, tmp_path, backend
):
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path / 'encore.db'}"
        else:
            english = "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            postgres_url = request.getfixturevalue("postgres_url")
            url = stack.enter_context(_new_database(postgres_url, "encore_english", english))
        store = Store.open(url)
        ids = ["b", "a-2", "B", "a1"]
        store.save_offers("shop", [Offer(id=i, kind="cross_sell", title=i, sku=i) for i in ids])
        listed = [offer.id for offer in store.offers("shop")]
        store.close()

    assert listed == ["B", "a-2", "a1", "b"]


@pytest.mark.postgres
def test_a_database_role_that_may_not_create_tables_is_one_clear_error(postgres_url):
    with _new_database(postgres_url, "encore_no_rights") as url:
        admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with admin.begin() as connection:  # PostgreSQL 15: only the owner creates in public
            connection.exec_driver_sql("DROP ROLE IF EXISTS encore_app")
            connection.exec_driver_sql("CREATE ROLE encore_app LOGIN")
        admin.dispose()

        with pytest.raises(InputError) as raised:
            Store.open(url.replace("//encore@", "//encore_app@"))

    assert str(raised.value) == (
        "cannot prepare the database's tables: permission denied for schema public"
    )


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_two_processes_opening_a_new_store_at_once_both_succeed(request, tmp_path, backend):
    spawn = multiprocessing.get_context("spawn")
    for attempt in range(3):  # without the lock, one of the two failed in most tries
        with contextlib.ExitStack() as stack:
            if backend == "sqlite":
                url = f"sqlite:///{tmp_path / f'new-{attempt}.db'}"
            else:
                postgres_url = request.getfixturevalue("postgres_url")
                url = stack.enter_context(_new_database(postgres_url, f"encore_race_{attempt}"))
            both_ready = spawn.Barrier(2)
            openers = [spawn.Process(target=_open_with, args=(url, both_ready)) for _ in "ab"]
            for opener in openers:
                opener.start()
            for opener in openers:
                opener.join(timeout=120)
            assert [opener.exitcode for opener in openers] == [0, 0]


def _open_with(url: str, both_ready: Any) -> None:
    both_ready.wait()
    Store.open(url).close()


@contextlib.contextmanager
def _new_database(postgres_url: str, name: str, options: str = "") -> Iterator[str]:
    """A new, empty database on the test server (dropped after), as its owner's URL;
    ``options`` follow ``CREATE DATABASE name``."""
    server = create_engine(
        postgres_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE DATABASE {name} {options}")
    try:
        yield postgres_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()


def test_opening_an_up_to_date_store_waits_for_no_write_lock(tmp_path):
    url = f"sqlite:///{tmp_path / 'encore.db'}"
    Store.open(url).close()
    writer = sqlite3.connect(tmp_path / "encore.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long import, say, holding the write lock

    try:
        Store.open(url).close()  # refused after the 5 s busy timeout when it took the lock
    finally:
        writer.execute("ROLLBACK")
        writer.close()
