"""`encore import` loads files into the store idempotently and reports what it skipped."""

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect, make_url, select

from offers import importer, schema
from offers.importer import import_files
from offers.store import Store
from widget.cli import main

ORDERS = (
    "order_id,customer_id,ordered_at,sku,quantity,price,title,category\n"
    'O1,C1,2026-01-05T10:00:00Z,CAM,1,"$1,299.00","Camera, 20MP",Cameras\n'
    "O1,C1,2026-01-05T10:00:00Z,SD64,2,19.50,SD card,Accessories\n"
    "O1,C1,2026-01-05T10:00:00Z,SD64,2,19.50,SD card,Accessories\n"
    "O2,,2026-01-06T10:00:00Z,BAG,1,35,Bag,Bags\n"
    "O3,C2,06/01/2026 11:00,BAG,1,35,Bag,Bags\n"
    "O4,C2,2026-01-09T10:00:00Z,BAG,-1,35,Bag,Bags\n"
)


@pytest.fixture
def database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("ENCORE_DATABASE_URL", url)
    return url


def test_importing_orders_reports_read_imported_and_skipped(write_file, database, capsys):
    path = write_file("orders.csv", ORDERS)
    assert main(["import", "--orders", str(path)]) == 0
    assert capsys.readouterr().out == (
        "orders.csv: 6 rows read, 3 imported, 1 returns imported, 2 skipped "
        "(duplicate line: 1, no customer id: 1)\n"
    )


def test_rows_kept_without_an_unreadable_price_or_margin_are_counted(write_file, database, capsys):
    orders = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,price\n"
        "O1,C1,2026-01-05,A,call us\nO2,C1,2026-01-06,B,\nO3,C1,2026-01-07,C,9.99\n",
    )
    products = write_file(
        "products.csv",
        "sku,title,category,price,margin\nA,Ann,Cat,n/a,2\nB,Bob,Cat,5,lots\nC,Cid,Cat,9.99,\n",
    )

    assert main(["import", "--orders", str(orders), "--products", str(products)]) == 0

    assert capsys.readouterr().out.splitlines() == [
        "products.csv: 3 rows read, 3 imported, 1 kept without their unreadable price, "
        "1 kept without their unreadable margin, 0 skipped",
        "orders.csv: 3 rows read, 3 imported, 1 kept without their unreadable price, 0 skipped",
    ]


def test_importing_the_same_file_twice_changes_nothing(write_file, database, capsys):
    path = write_file("orders.csv", ORDERS)
    main(["import", "--orders", str(path)])
    capsys.readouterr()
    assert main(["import", "--orders", str(path)]) == 0
    assert "0 imported, 3 already in the store" in capsys.readouterr().out
    store = Store.open(database)
    assert store.count(schema.order_lines, "default") == 3
    assert store.count(schema.order_returns, "default") == 1
    store.close()


REFUNDS = (
    "order_id,customer_id,ordered_at,sku,quantity,price\n"
    "O1,C1,2026-01-05T10:00:00Z,A,3,10.00\n"
    "O1,C1,2026-01-10T10:00:00Z,A,-1,10.00\n"
    "O1,C1,2026-01-20T10:00:00Z,A,-1,10.00\n"
)


def _returned(database: str) -> list[tuple]:
    store = Store.open(database)
    table = schema.order_returns
    with store.engine.connect() as connection:
        rows = connection.execute(select(table.c.order_id, table.c.sku, table.c.quantity)).all()
    store.close()
    return [tuple(row) for row in rows]


def test_partial_refunds_of_one_line_are_all_imported(write_file, database, capsys):
    path = write_file("orders.csv", REFUNDS)
    assert main(["import", "--orders", str(path)]) == 0
    assert capsys.readouterr().out == (
        "orders.csv: 3 rows read, 1 imported, 1 returns imported, "
        "1 merged with another row of its line, 0 skipped\n"
    )
    assert _returned(database) == [("O1", "A", -2)]


def test_importing_partial_refunds_twice_changes_nothing(write_file, database, capsys):
    path = write_file("orders.csv", REFUNDS)
    main(["import", "--orders", str(path)])
    capsys.readouterr()
    assert main(["import", "--orders", str(path)]) == 0
    assert "1 returns already in the store" in capsys.readouterr().out
    assert _returned(database) == [("O1", "A", -2)]


def _imported_in_chunks_of_two(path: Path, database: str) -> tuple[str, pd.DataFrame]:
    """The summary of importing ``path`` two rows at a time, and the lines then stored."""
    store = Store.open(database)
    try:
        [report] = import_files(store, "default", orders=path, chunksize=2)
        return report.summary(), store.order_lines("default")
    finally:
        store.close()


def test_a_line_split_across_import_chunks_is_imported_whole(write_file, database):
    path = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,quantity,price\n"
        "O1,C1,2026-01-05T10:00:00Z,A,1,10\n"
        "O2,C1,2026-01-06T10:00:00Z,A,1,10\n"
        "O2,C1,2026-01-06T10:00:00Z,A,2,10\n",
    )
    summary, lines = _imported_in_chunks_of_two(path, database)
    assert summary == (
        "orders.csv: 3 rows read, 2 imported, 1 merged with another row of its line, 0 skipped"
    )
    assert lines[["order_id", "quantity"]].values.tolist() == [["O1", 1], ["O2", 3]]


def test_partial_refunds_of_a_line_in_different_import_chunks_add_up(write_file, database):
    # refunds come later than their order, so in a long file they fall in other chunks
    path = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,quantity,price\n"
        "O1,C1,2026-01-05T10:00:00Z,A,3,10.00\n"
        "O2,C1,2026-01-06T10:00:00Z,B,1,10.00\n"
        "O1,C1,2026-01-10T10:00:00Z,A,-1,10.00\n"
        "O3,C1,2026-01-11T10:00:00Z,B,1,10.00\n"
        "O1,C1,2026-01-20T10:00:00Z,A,-1,10.00\n"
        "O4,C1,2026-01-21T10:00:00Z,B,1,10.00\n",
    )
    summary, _lines = _imported_in_chunks_of_two(path, database)
    assert summary == (
        "orders.csv: 6 rows read, 4 imported, 1 returns imported, "
        "1 merged with another row of its line, 0 skipped"
    )
    assert _returned(database) == [("O1", "A", -2)]


def test_a_row_written_twice_in_different_import_chunks_is_one_duplicate_line(write_file, database):
    # as two overlapping exports put one after the other have it
    row = "O1,C1,2026-01-05T10:00:00Z,A,2,10\n"
    path = write_file(
        "orders.csv", REFUNDS.splitlines()[0] + "\n" + row + "O2,C1,2026-01-06,B,1,5\n" + row
    )
    summary, lines = _imported_in_chunks_of_two(path, database)
    assert summary == ("orders.csv: 3 rows read, 2 imported, 1 skipped (duplicate line: 1)")
    assert lines[["order_id", "quantity"]].values.tolist() == [["O1", 2], ["O2", 1]]


def test_an_import_skips_orders_dated_after_now_as_training_does(write_file, database, capsys):
    path = write_file("orders.csv", ORDERS + "O5,C2,2062-01-09T10:00:00Z,BAG,1,35,Bag,Bags\n")
    assert main(["import", "--orders", str(path)]) == 0
    assert capsys.readouterr().out == (
        "orders.csv: 7 rows read, 3 imported, 1 returns imported, 3 skipped "
        "(duplicate line: 1, no customer id: 1, dated after now (latest 2062-01-09): 1)\n"
    )


def test_importing_a_catalog_and_offers(write_file, database, capsys):
    products = write_file("products.csv", "sku,title,category,price\nCAM,Camera,Cameras,499\n")
    offers = write_file(
        "offers.json",
        json.dumps([{"id": "x", "kind": "cross_sell", "title": "Card", "sku": "SD64"}]),
    )
    assert main(["import", "--products", str(products), "--offers", str(offers)]) == 0
    assert capsys.readouterr().out == (
        "products.csv: 1 rows read, 1 imported, 0 skipped\n"
        "offers.json: 1 rows read, 1 imported, 0 skipped\n"
    )


@pytest.mark.parametrize(
    ("file_status", "after"),
    [
        pytest.param(None, "paused", id="a-file-without-status-keeps-the-pause"),
        pytest.param("active", "active", id="a-file-that-says-active-resumes-it"),
    ],
)
def test_importing_offers_again_keeps_a_pause_unless_the_file_sets_a_status(
    write_file, database, capsys, file_status, after
):
    offer = {"id": "x", "kind": "cross_sell", "title": "Card", "sku": "SD64"}
    plain = write_file("offers.json", json.dumps([offer]))
    main(["import", "--offers", str(plain)])
    store = Store.open(database)
    store.change_offer("default", "x", lambda o: msgspec.structs.replace(o, status="paused"))
    again = write_file(
        "again.json",
        json.dumps([offer if file_status is None else {**offer, "status": file_status}]),
    )

    assert main(["import", "--offers", str(again)]) == 0

    assert store.offer("default", "x").status == after
    store.close()


def test_the_shop_flag_keeps_shops_apart(write_file, database):
    path = write_file("orders.csv", ORDERS)
    main(["import", "--orders", str(path), "--shop", "other"])
    store = Store.open(database)
    assert (
        store.count(schema.order_lines, "other"),
        store.count(schema.order_lines, "default"),
    ) == (3, 0)
    store.close()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param(
            {"orders.csv": "order_id,sku\nO1,A\n"},
            "encore import: error: orders.csv: "
            "missing required columns `customer_id`, `ordered_at`",
            id="missing-columns",
        ),
        pytest.param(
            {"orders.csv": "order_id,customer_id,ordered_at,sku,Note,Note\nO1,C1,2026-01-05,A,,\n"},
            "encore import: error: orders.csv: column `note` appears twice",
            id="column-named-twice",
        ),
        pytest.param(
            {"orders.csv": "order_id,customer_id,ordered_at,sku\nO1,C1,2026-01-05,A,x\n"},
            "encore import: error: orders.csv: malformed CSV: row 1: expected 4 fields, saw 5",
            id="field-beyond-the-header",
        ),
        pytest.param(
            {"orders.csv": "order_id,customer_id,ordered_at,sku\nO1,C1,2026-01-05,A,x,y\n"},
            "encore import: error: orders.csv: malformed CSV: row 1: expected 4 fields, saw 6",
            id="two-fields-beyond-the-header-in-the-first-row",
        ),
        pytest.param(
            {"offers.json": '[{"id": 1}]'},
            "encore import: error: offers.json: offer 1: `id`: expected `str`, got `int`",
            id="bad-offer",
        ),
        pytest.param(
            {
                "offers.json": '[{"id": "a\\nb", "kind": "partner", "title": "T", '
                '"advertiser": "A"}]'
            },
            "encore import: error: offers.json: offer 1 (`a\\nb`): `id` must be at most 128 "
            "characters, without `/` or control characters",
            id="an-id-holding-a-line-break-is-quoted-on-one-line",
        ),
        pytest.param(
            {},
            "encore import: error: nothing to import: give --offers, --orders and/or --products",
            id="nothing",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(write_file, database, capsys, files, message):
    args = ["import"]
    for name, content in files.items():
        args += [f"--{name.split('.')[0]}", str(write_file(name, content))]
    assert main(args) == 2
    assert capsys.readouterr().err == message + "\n"


def test_an_empty_shop_flag_is_refused_before_anything_is_stored(write_file, database, capsys):
    path = write_file("orders.csv", ORDERS)
    assert main(["import", "--orders", str(path), "--shop", ""]) == 2
    assert capsys.readouterr().err == (
        "encore import: error: the shop id must not be empty "
        "(ENCORE_SHOP_ID, or --shop for encore import)\n"
    )
    store = Store.open(database)
    assert store.count(schema.order_lines, "") == 0
    store.close()


def test_a_missing_file_is_named(database, capsys, tmp_path):
    assert main(["import", "--orders", str(tmp_path / "nope.csv")]) == 2
    assert (
        capsys.readouterr().err == f"encore import: error: {tmp_path / 'nope.csv'}: no such file\n"
    )


def test_a_folder_given_as_a_file_is_named_as_one(database, capsys, tmp_path):
    assert main(["import", "--products", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"encore import: error: {tmp_path}: is a folder, not a file\n"


def test_an_unsupported_database_is_one_line(write_file, monkeypatch, capsys):
    monkeypatch.setenv("ENCORE_DATABASE_URL", "mysql://x")
    path = write_file("orders.csv", ORDERS)
    assert main(["import", "--orders", str(path)]) == 2
    assert capsys.readouterr().err == (
        "encore import: error: "
        "database URL must start with sqlite:/// or postgresql://, got `mysql:`\n"
    )


def test_rows_the_store_cannot_hold_are_skipped_on_either_store(
    write_file, store_url, monkeypatch, capsys
):
    monkeypatch.setenv("ENCORE_DATABASE_URL", store_url)
    products = write_file(
        "products.csv",
        "sku,title,category,price\n"
        f"CAM,Camera,Cameras,99\nBAG,Bag\x00,Bags,35\nHAT,{'Hat' * 200},Hats,9\n",
    )
    orders = write_file(
        "orders.csv",
        ORDERS.replace("O3,C2", "O3,C2\x00") + "O5,C3,2026-01-10,BAG,3000000000,35,Bag,Bags\n",
    )
    assert main(["import", "--products", str(products), "--orders", str(orders)]) == 0
    assert capsys.readouterr().out == (
        "products.csv: 3 rows read, 1 imported, 2 skipped "
        "(NUL character in a field: 1, title longer than 500 characters: 1)\n"
        "orders.csv: 7 rows read, 2 imported, 1 returns imported, 4 skipped "
        "(duplicate line: 1, NUL character in a field: 1, no customer id: 1, "
        "quantity out of range: 1)\n"
    )
    store = Store.open(store_url)
    counts = (store.count(schema.products, "default"), store.count(schema.order_lines, "default"))
    assert counts == (1, 2)
    store.close()


def test_a_line_whose_merged_quantity_is_beyond_the_store_is_skipped_on_either_store(
    write_file, store_url, monkeypatch, capsys
):
    """Each row fits, but merged, the line (a purchase or a return) would not: PostgreSQL
    refused it with a traceback and SQLite stored the sum."""
    monkeypatch.setenv("ENCORE_DATABASE_URL", store_url)
    orders = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,quantity,price\n"
        "BIG,C1,2026-01-01,S1,2000000000,1\n"
        "BIG,C1,2026-01-01,S1,2000000000,2\n"
        "BIG,C1,2026-01-01,S2,1,5\n"
        "RET,C1,2026-01-02,S1,-2000000000,1\n"
        "RET,C1,2026-01-03,S1,-2000000000,1\n"
        "RET,C1,2026-01-03,S2,2,5\n",
    )

    assert main(["import", "--orders", str(orders)]) == 0

    assert capsys.readouterr().out == (
        "orders.csv: 6 rows read, 2 imported, 4 skipped (quantity out of range: 4)\n"
    )
    assert _stored(store_url)["order_lines"] == 2
    assert _returned(store_url) == []


def test_an_imported_catalog_and_order_history_store_no_email(
    write_file, store_url, monkeypatch, capsys
):
    monkeypatch.setenv("ENCORE_DATABASE_URL", store_url)
    products = write_file(
        "products.csv",
        "sku,title,category,price,supplier,ann@shop.example\n"
        "P1,Mug for ann@shop.example,bob@corp.example,1,bob@corp.example,1\n",
    )
    orders = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,title,category,country,device,bob@corp.example\n"
        "E1,C1,2026-01-01,P1,for ann@shop.example,ann@shop.example,ann@shop.example,"
        "ann@shop.example,v\n",
    )
    assert main(["import", "--products", str(products), "--orders", str(orders)]) == 0
    capsys.readouterr()

    store = Store.open(store_url)
    with store.engine.connect() as connection:
        stored = [
            tuple(row)
            for table in (schema.products, schema.orders, schema.order_lines)
            for row in connection.execute(select(table)).all()
        ]
    store.close()
    assert len(stored) == 3
    assert [row for row in stored if "@" in str(row)] == []


def _stored(store_url: str) -> dict[str, int]:
    store = Store.open(store_url)
    tables = (schema.products, schema.offers, schema.orders, schema.order_lines)
    counts = {table.name: store.count(table, "default") for table in tables}
    store.close()
    return counts


def test_an_import_that_fails_on_one_file_writes_none_of_them(
    write_file, store_url, monkeypatch, capsys
):
    monkeypatch.setenv("ENCORE_DATABASE_URL", store_url)
    products = write_file("products.csv", "sku,title,category,price\nCAM,Camera,Cameras,499\n")
    offers = write_file(
        "offers.json",
        json.dumps([{"id": "x", "kind": "cross_sell", "title": "Card", "sku": "SD64"}]),
    )
    orders = write_file("orders.csv", "order_id,customer_id,sku\nO1,C1,CAM\n")

    status = main(
        ["import", "--products", str(products), "--offers", str(offers), "--orders", str(orders)]
    )

    assert status == 2
    assert capsys.readouterr().err == (
        "encore import: error: orders.csv: missing required column `ordered_at`\n"
    )
    assert _stored(store_url) == {"products": 0, "offers": 0, "orders": 0, "order_lines": 0}


def test_an_orders_file_malformed_after_its_first_chunk_imports_nothing(
    write_file, store_url, monkeypatch, capsys
):
    monkeypatch.setenv("ENCORE_DATABASE_URL", store_url)
    monkeypatch.setitem(importer.read_files.__kwdefaults__, "chunksize", 2)
    good = "".join(f"O{n},C1,2026-01-0{n},A\n" for n in range(1, 5))
    orders = write_file(
        "orders.csv", "order_id,customer_id,ordered_at,sku\n" + good + "O5,C1,2026-01-05,A,x\n"
    )

    status = main(["import", "--orders", str(orders)])

    assert status == 2
    assert capsys.readouterr().err == (
        "encore import: error: orders.csv: malformed CSV: row 5: expected 4 fields, saw 5\n"
    )
    assert _stored(store_url) == {"products": 0, "offers": 0, "orders": 0, "order_lines": 0}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def new_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A store not made yet: a SQLite file in folders that do not exist, or an empty
    PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new' / 'sub' / 'store.db'}"
        return
    server = make_url(request.getfixturevalue("postgres_url"))
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE IF EXISTS new_store")
        connection.exec_driver_sql("CREATE DATABASE new_store")
    yield server.set(database="new_store").render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.exec_driver_sql("DROP DATABASE new_store WITH (FORCE)")
    admin.dispose()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "offers.json",
            '[{"id": "x", "kind": "banner", "title": "t"}]',
            "offers.json: offer 1: `kind`: invalid enum value 'banner'",
            id="a-bad-offer",
        ),
        pytest.param(
            "orders.csv",
            "order_id,customer_id,sku\nO,C,S\n",
            "orders.csv: missing required column `ordered_at`",
            id="a-missing-column",
        ),
        pytest.param(
            "orders.csv",
            "order_id,customer_id,ordered_at,sku\nO1,,2026-01-05,S\nO2,C,someday,S\n",
            "orders.csv: no usable order lines (no customer id: 1, unreadable ordered_at: 1)",
            id="no-usable-order-line",
        ),
        pytest.param(
            "products.csv",
            "sku,title,category,price\n,Mug,Kitchen,5\n",
            "products.csv: no usable products (no sku: 1)",
            id="no-usable-product",
        ),
    ],
)
def test_an_import_of_a_file_it_refuses_makes_no_store(
    write_file, new_database, tmp_path, capsys, name, content, message
):
    path = write_file(name, content)

    status = main(["import", f"--{name.split('.')[0]}", str(path), "--database", new_database])

    assert status == 2
    assert capsys.readouterr().err == f"encore import: error: {message}\n"
    if new_database.startswith("sqlite"):
        assert sorted(p.name for p in tmp_path.iterdir()) == [name]
    else:
        engine = create_engine(new_database)
        tables = inspect(engine).get_table_names()
        engine.dispose()
        assert tables == []


def test_the_store_stays_writable_while_an_import_reads_its_files(
    write_file, database, monkeypatch
):
    """A service writing to a SQLite store (a conversion, an offer) is not kept waiting
    while an import parses a large file: the write lock is taken once all is read."""
    Store.open(database).close()  # the service's store, already there
    products = write_file("products.csv", "sku,title,category,price\nCAM,Camera,Cameras,499\n")
    orders = write_file("orders.csv", ORDERS)
    store_file = database.removeprefix("sqlite:///")
    read_orders_in_chunks, writable_meanwhile = importer.iter_orders, []

    def reading(*args, **kwargs):
        other = sqlite3.connect(store_file, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # fails at once if another writer holds the lock
            other.execute("ROLLBACK")
            writable_meanwhile.append(True)
        except sqlite3.OperationalError:
            writable_meanwhile.append(False)
        finally:
            other.close()
        yield from read_orders_in_chunks(*args, **kwargs)

    monkeypatch.setattr(importer, "iter_orders", reading)
    assert main(["import", "--products", str(products), "--orders", str(orders)]) == 0
    assert writable_meanwhile == [True]


def test_an_orders_file_given_as_a_pipe_is_refused_in_one_line(piped, database, capsys):
    path = piped(ORDERS)
    assert main(["import", "--orders", path]) == 2
    assert capsys.readouterr().err == (
        f"encore import: error: {path}: not a regular file (a pipe?): save it to a file "
        "and give that\n"
    )
