"""`encore export`: the service's feedback log as impressions.csv, read back by training."""

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, make_url

from offers.export import MAX_CONTEXT_COLUMNS, export_impressions
from offers.feedback import FeedbackBatch, record_conversion, record_feedback
from offers.files import read_impressions
from offers.store import Shop, Store
from ranker.feedback import fit_feedback
from widget.cli import main

AT = datetime(2026, 6, 1, 12, 0)


def _impression(n: int, offer_id: str, position: int, context: dict) -> dict:
    return {
        "request_id": f"r{n}",
        "offer_id": offer_id,
        "shop_id": "shop",
        "shown_at": AT + timedelta(days=n),
        "customer_id": f"c{n}",
        "placement": "thank_you",
        "kind": "partner",
        "position": position,
        "propensity": 0.5,
        "score": 0.1,
        "model_version": "v1",
        "context": context,
    }


def _event(n: int, kind: str, offer_id: str) -> dict:
    return {
        "id": f"e{n}-{kind}-{offer_id}",
        "shop_id": "shop",
        "request_id": f"r{n}",
        "offer_id": offer_id,
        "customer_id": f"c{n}",
        "type": kind,
        "at": AT + timedelta(days=n, minutes=1),
    }


@pytest.fixture
def logged(store):
    """Three requests of two offers each, as the service logs them; in the first, `a` was
    viewed and clicked, then converted; in the second, `b` was only viewed."""
    store.save_shop(Shop("shop", "Shop", "pk_test_1"), "sk_test_1")
    contexts = [
        {"country": "FR", "device": "mobile", "is_returning": True, "channel": "=HYPERLINK()"},
        {"country": "DE", "device": "desktop", "is_returning": False},
        {"country": "FR", "device": "mobile", "is_returning": None, "n_items": 3},
    ]
    impressions = [
        _impression(n, offer_id, position, context)
        for n, context in enumerate(contexts)
        for position, offer_id in enumerate(("a", "b"), start=1)
    ]
    events = [_event(0, "view", "a"), _event(0, "click", "a"), _event(1, "view", "b")]
    record_feedback(store, FeedbackBatch(impressions=impressions, events=events))
    conversion = {
        "id": "k1",
        "shop_id": "shop",
        "request_id": "r0",
        "offer_id": "a",
        "customer_id": "c0",
        "order_id": "o-9",
        "revenue": 30.0,
        "at": AT + timedelta(days=2),
    }
    record_conversion(store, conversion)
    return store


def test_each_logged_impression_is_a_row_with_its_click_conversion_and_context(logged, tmp_path):
    exported = export_impressions(logged, "shop", tmp_path / "impressions.csv")

    rows = read_impressions(tmp_path / "impressions.csv")
    assert exported.n_impressions == len(rows) == 6
    assert (exported.n_clicked, exported.n_converted) == (1, 1)
    assert rows[["request_id", "offer_id", "position", "clicked", "converted"]].values.tolist() == [
        ["r0", "a", 1, 1, 1],
        ["r0", "b", 2, 0, 0],
        ["r1", "a", 1, 0, 0],
        ["r1", "b", 2, 0, 0],
        ["r2", "a", 1, 0, 0],
        ["r2", "b", 2, 0, 0],
    ]
    assert rows["shown_at"].iloc[2] == AT + timedelta(days=1)
    assert rows.loc[0, "ctx_channel"] == "=HYPERLINK()"  # read back as it was logged
    assert rows[["ctx_country", "ctx_device", "ctx_is_returning"]].values.tolist()[::2] == [
        ["FR", "mobile", "1"],
        ["DE", "desktop", "0"],
        ["FR", "mobile", ""],
    ]
    assert fit_feedback(rows).weights  # what `encore train --impressions` fits


def test_only_context_names_a_click_model_can_use_become_columns(store, tmp_path):
    """Attribute names come from anyone who can load the shop's page: the file must read
    back, and stay as narrow as what training can learn from."""
    store.save_shop(Shop("shop", "Shop", "pk_test_1"), "sk_test_1")
    contexts = [
        {
            "Channel" if n % 2 else "channel": "web" if n % 3 else "app",
            "order_ref": f"o{n}",  # a value per request: nothing to learn per value
            "utm source": "mail",
            "line\nbreak": "x",
            **({"rare": "y"} if n == 0 else {}),
        }
        for n in range(120)
    ]
    impressions = [_impression(n, "a", 1, context) for n, context in enumerate(contexts)]
    record_feedback(store, FeedbackBatch(impressions=impressions))
    path = tmp_path / "impressions.csv"

    exported = export_impressions(store, "shop", path)

    assert exported.context_columns == ("ctx_channel",)
    assert exported.summary().endswith(
        "context columns: ctx_channel (other context names left out: free text, rare, "
        "or not plain names)"
    )
    rows = read_impressions(path)
    assert rows["ctx_channel"].tolist() == [c.get("channel", c.get("Channel")) for c in contexts]


def test_a_context_name_on_2_percent_becomes_a_column_among_thousands_made_up(store, tmp_path):
    """24,000 made-up names, more than are counted at once, and `segment` on one impression
    in 25 of the period's second half only: 2% of them."""
    store.save_shop(Shop("shop", "Shop", "pk_test_1"), "sk_test_1")
    contexts = [
        {
            **({"segment": ("vip", "std")[n // 25 % 2]} if n >= 2000 and n % 25 == 0 else {}),
            **{f"junk_{n}_{k}": "x" for k in range(6)},
        }
        for n in range(4000)
    ]
    impressions = [
        {**_impression(n, "a", 1, context), "shown_at": AT + timedelta(minutes=n)}
        for n, context in enumerate(contexts)
    ]
    record_feedback(store, FeedbackBatch(impressions=impressions))

    exported = export_impressions(store, "shop", tmp_path / "impressions.csv")

    assert exported.context_columns == ("ctx_segment",)
    assert exported.names_left_out


def test_an_older_log_exports_the_orders_own_country_over_an_attribute_of_that_name(
    store, tmp_path
):
    """Before attribute names were folded at decoding, the log kept `Country` (a page's
    attribute) beside `country` (the order's); scoring reads the order's."""
    store.save_shop(Shop("shop", "Shop", "pk_test_1"), "sk_test_1")
    logged = {"Country": "DE", "country": "FR", "Device": "tablet", "device": "mobile"}
    record_feedback(store, FeedbackBatch(impressions=[_impression(0, "a", 1, logged)]))

    export_impressions(store, "shop", tmp_path / "impressions.csv")

    row = read_impressions(tmp_path / "impressions.csv").loc[0]
    assert (row["ctx_country"], row["ctx_device"]) == ("FR", "mobile")


@pytest.mark.parametrize("stored", ["null", "[]", '"country"'])
def test_a_context_edited_by_hand_into_no_object_exports_empty_cells(logged, tmp_path, stored):
    postgres = logged.engine.dialect.name == "postgresql"
    statement = "UPDATE impressions SET context = {} WHERE request_id = 'r0'"
    with logged.engine.begin() as connection:
        connection.exec_driver_sql(statement.format("%s::json" if postgres else "?"), (stored,))

    export_impressions(logged, "shop", tmp_path / "impressions.csv")

    rows = read_impressions(tmp_path / "impressions.csv")
    assert rows.loc[rows["request_id"] == "r0", "ctx_country"].tolist() == ["", ""]
    assert rows.loc[rows["request_id"] == "r1", "ctx_country"].tolist() == ["DE", "DE"]


def test_at_most_the_most_frequent_context_names_become_columns(store, tmp_path):
    store.save_shop(Shop("shop", "Shop", "pk_test_1"), "sk_test_1")
    contexts = [{f"a{k:02d}": "v" for k in range(n % 40)} for n in range(100)]
    record_feedback(
        store,
        FeedbackBatch(impressions=[_impression(n, "a", 1, c) for n, c in enumerate(contexts)]),
    )

    exported = export_impressions(store, "shop", tmp_path / "impressions.csv")

    assert exported.context_columns == tuple(f"ctx_a{k:02d}" for k in range(MAX_CONTEXT_COLUMNS))


def test_text_a_spreadsheet_would_run_is_written_as_text(logged, tmp_path):
    export_impressions(logged, "shop", tmp_path / "impressions.csv")

    assert ",'=HYPERLINK()" in (tmp_path / "impressions.csv").read_text()


def test_an_export_keeps_the_days_asked_for_and_can_be_gzipped(logged, tmp_path):
    path = tmp_path / "impressions.csv.gz"
    since, until = AT + timedelta(days=1), AT + timedelta(days=2)

    export_impressions(logged, "shop", path, since=since.replace(hour=0), until=until)

    assert read_impressions(path)["request_id"].unique().tolist() == ["r1"]


def test_export_command_writes_the_file_and_says_what_it_holds(logged, store_url, tmp_path, capsys):
    path = tmp_path / "feedback.csv"
    status = main(
        ["export", "--impressions", str(path), "--database", store_url, "--shop", "shop"]
        + ["--since", "2026-06-02", "--until", "2026-06-02"]
    )

    assert status == 0
    assert capsys.readouterr().out == (
        f"wrote {path}: 2 impressions, 0 clicked, 0 converted; context columns: "
        "ctx_country, ctx_device, ctx_is_returning\n"
    )
    assert read_impressions(path)["request_id"].tolist() == ["r1", "r1"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--shop", "nope"],
            "no shop `nope` in the store (ENCORE_SHOP_ID, or --shop)",
            id="unknown-shop",
        ),
        pytest.param(
            ["--shop", "shop", "--since", "2026-06-03", "--until", "2026-06-02"],
            "--until 2026-06-02 is before --since 2026-06-03",
            id="period-backwards",
        ),
        pytest.param(
            ["--shop", "shop", "--impressions", "{tmp}/missing/feedback.csv"],
            "--impressions {tmp}/missing/feedback.csv: no such folder {tmp}/missing",
            id="no-such-folder",
        ),
    ],
)
def test_export_refuses_bad_input_in_one_line_and_writes_nothing(
    logged, store_url, tmp_path, capsys, args, message
):
    out = tmp_path / "out"
    out.mkdir()
    argv = ["export", "--impressions", str(out / "feedback.csv"), "--database", store_url]
    argv += [arg.format(tmp=out) for arg in args]

    status = main(argv)

    assert status == 2
    assert capsys.readouterr().err == f"encore export: error: {message.format(tmp=out)}\n"
    assert list(out.iterdir()) == []


def test_a_failed_export_leaves_the_previous_file_whole(logged, tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "impressions.csv"
    path.write_text("the previous export\n")

    def fail(value: object) -> object:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("offers.export._written", fail)
    with pytest.raises(OSError):
        export_impressions(logged, "shop", path)

    assert path.read_text() == "the previous export\n"
    assert [p.name for p in path.parent.iterdir()] == ["impressions.csv"]


@pytest.mark.parametrize("name", ["encore.db", "encore.db-wal"])
def test_export_refuses_to_write_over_the_stores_own_files(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    database = "sqlite:///encore.db"
    store = Store.open(database)
    store.save_shop(Shop("default", "Shop", "pk_test_1"), "sk_test_1")
    store.close()

    status = main(["export", "--impressions", name, "--database", database])

    assert status == 2
    assert capsys.readouterr().err == (
        f"encore export: error: --impressions {name}: is a file of the store itself, "
        "which the export would replace: write it elsewhere\n"
    )
    store = Store.open(database)
    assert store.shop_settings("default") == {}
    store.close()


def test_export_from_a_store_that_does_not_exist_creates_nothing(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    database = tmp_path / "typo" / "dir" / "store.db"

    status = main(
        ["export", "--impressions", str(tmp_path / "out" / "x.csv")]
        + ["--database", f"sqlite:///{database}"]
    )

    assert status == 2
    assert capsys.readouterr().err == f"encore export: error: no such database: {database}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert list((tmp_path / "out").iterdir()) == []


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def foreign_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database that exists and holds one table of another application's."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'other.db'}"
        engine = create_engine(url)
    else:
        server = make_url(request.getfixturevalue("postgres_url"))
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql("DROP DATABASE IF EXISTS other_app")
            connection.exec_driver_sql("CREATE DATABASE other_app")
        url = server.set(database="other_app").render_as_string(hide_password=False)
        engine = create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    engine.dispose()
    yield url
    if request.param == "postgresql":
        with admin.connect() as connection:
            connection.exec_driver_sql("DROP DATABASE other_app")
        admin.dispose()


def test_export_from_a_database_without_encore_tables_creates_none(
    foreign_database, tmp_path, capsys
):
    status = main(
        ["export", "--impressions", str(tmp_path / "x.csv"), "--database", foreign_database]
    )

    assert status == 2
    assert capsys.readouterr().err == (
        "encore export: error: the database holds no Encore store "
        "(`encore import` or `encore serve` creates one)\n"
    )
    engine = create_engine(foreign_database)
    assert inspect(engine).get_table_names() == ["invoices"]
    engine.dispose()
    assert not (tmp_path / "x.csv").exists()
