"""Properties of the commands' file handling, over generated files: a valid orders file
reads back as written, a damaged one is refused in one line (exit 2) and changes nothing,
and no email of a file is kept raw."""

import contextlib
import csv
import gzip
import io
import json
import pickle
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offers.files import read_orders
from offers.importer import import_files
from offers.store import Store
from offers.synthetic import generate_shop
from ranker.artifact import load_model
from widget.cli import main

PROPERTY = settings(
    derandomize=True,
    deadline=None,
    max_examples=20,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
HEADER = ["order_id", "customer_id", "ordered_at", "sku", "quantity", "price", "title", "Gift Note"]

# Text as exports write it: any letters (Hebrew and Arabic too), digits, punctuation the
# CSV format must quote; never at its ends the whitespace the readers trim, nor an `@` or
# a `%` (emails are hashed, below), nor a NUL or another control character.
_LETTERS = st.characters(
    codec="utf-8",
    categories=["L", "N", "P", "S", "Zs"],
    exclude_characters="@%\x00",
)
_AWKWARD = st.sampled_from(["00123", "שלום", "مرحبا", 'a,"b"', "x;y", "t\tu", "é", "ß"])


def _text(max_size: int) -> st.SearchStrategy[str]:
    pieces = st.lists(st.one_of(_AWKWARD, st.text(_LETTERS, min_size=1, max_size=8)), min_size=1)
    return (
        pieces.map("".join)
        .map(lambda text: text[:max_size].strip())
        .filter(lambda text: text and not text.endswith(".0"))
    )


_ID = st.one_of(_text(128), st.from_regex(r"0{1,3}[0-9]{1,6}", fullmatch=True))
_TITLE = st.one_of(_text(60), st.just("line one\nline two"), st.just('a\r\nb, "c"'))
_START = datetime(2025, 1, 1, tzinfo=UTC)
_DATE_FORMATS = {  # as the README says they are read; each gives the moment exactly
    "iso_z": lambda at: at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    "iso_offset": lambda at: (at + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S+02:00"),
    "space": lambda at: at.strftime("%Y-%m-%d %H:%M:%S"),
    "unix": lambda at: str(int(at.timestamp())),
    "unix_ms": lambda at: str(int(at.timestamp()) * 1000),
    "dots_day_first": lambda at: at.strftime("%d.%m.%Y %H:%M:%S"),
    "rfc_2822": lambda at: at.strftime("%a, %d %b %Y %H:%M:%S +0000"),
}


@st.composite
def order_files(draw: st.DrawFn) -> tuple[bytes, list[dict]]:
    """An orders file with awkward but valid values, and the lines it holds."""
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    dates = draw(st.sampled_from(sorted(_DATE_FORMATS)))
    n_orders = draw(st.integers(1, 4))
    order_ids = draw(st.lists(_ID, min_size=n_orders, max_size=n_orders, unique=True))
    lines = []
    for order_id in order_ids:
        customer_id = draw(_ID)
        at = _START + timedelta(seconds=draw(st.integers(0, 300 * 86_400)))
        skus = draw(st.lists(_ID, min_size=1, max_size=3, unique=True))
        for sku in skus:
            quantity = draw(st.one_of(st.integers(1, 999), st.decimals("0.001", "99", places=3)))
            price = draw(st.decimals("0", "9999.99", places=2))
            lines.append(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "at": at,
                    "sku": sku,
                    "quantity": Decimal(quantity),
                    "price": price,
                    "title": draw(_TITLE),
                    "note": draw(_TITLE),
                }
            )
    buffer = io.StringIO()
    writer = csv.writer(
        buffer,
        delimiter=separator,
        lineterminator=newline,
        quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL])),
    )
    writer.writerow(HEADER)
    as_money = draw(st.booleans())
    for line in lines:
        quantity, price = str(line["quantity"]), str(line["price"])
        if as_money:  # as a shop writes an amount: $1,299.00; 1.299,00 € where `;` separates
            price = f"${line['price']:,.2f}"
        if separator == ";":  # a spreadsheet's `;` file writes a decimal comma
            trans = str.maketrans({".": ",", ",": "."})
            quantity, price = quantity.translate(trans), price.translate(trans)
            price = f"{price[1:]} €" if as_money else price
        writer.writerow(
            [
                line["order_id"],
                line["customer_id"],
                _DATE_FORMATS[dates](line["at"]),
                line["sku"],
                quantity,
                price,
                line["title"],
                line["note"],
            ]
        )
    bom = draw(st.sampled_from(["", "\ufeff"]))
    content = (bom + buffer.getvalue()).encode()
    return gzip.compress(content, mtime=0) if draw(st.booleans()) else content, lines


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8"), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    out.flush()
    return status, out.buffer.getvalue().decode(), err.getvalue()


def _stored_lines(url: str) -> list[dict]:
    """The store's order lines, with their attributes."""
    store = Store.open(url, create=False)
    try:
        rows = store.order_lines("default").to_dict("records")
    finally:
        store.close()
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        query = "SELECT order_id, sku, attributes FROM order_lines"
        attributes = {(o, sku): a for o, sku, a in connection.execute(query)}
    return [{**row, "attributes": attributes[row["order_id"], row["sku"]]} for row in rows]


def _imported_twice(folder: str, name: str, content: bytes, n_rows: int) -> str:
    """The URL of a new store in ``folder`` into which ``content``, written as ``name``.csv,
    was imported twice: all its ``n_rows`` rows the first time, none the second."""
    path, url = Path(folder, f"{name}.csv"), f"sqlite:///{folder}/store.db"
    path.write_bytes(content)
    expected = (f"{n_rows} rows read, {n_rows} imported", f"0 imported, {n_rows} already in")
    for summary in expected:
        status, out, err = _run(["import", f"--{name}", str(path), "--database", url])
        assert (status, err) == (0, "")
        assert summary in out
    return url


@PROPERTY
@given(order_files())
def test_a_valid_orders_file_is_stored_as_written_and_once(file: tuple[bytes, list[dict]]):
    content, lines = file
    with tempfile.TemporaryDirectory() as folder:
        url = _imported_twice(folder, "orders", content, len(lines))
        stored = {(row["order_id"], row["sku"]): row for row in _stored_lines(url)}
        assert len(stored) == len(lines)
        for line in lines:
            row = stored[line["order_id"], line["sku"]]
            assert row["customer_id"] == line["customer_id"]
            assert row["ordered_at"].replace(tzinfo=UTC) == line["at"]
            assert Decimal(str(row["quantity"])) == line["quantity"]
            assert Decimal(str(row["price"])) == line["price"]
            assert row["title"] == line["title"]
            assert json.loads(row["attributes"]) == {"gift note": line["note"]}


@st.composite
def product_files(draw: st.DrawFn) -> tuple[bytes, list[dict]]:
    """A products file with awkward but valid values, and the products it holds."""
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    skus = draw(st.lists(_ID, min_size=1, max_size=6, unique=True))
    products = [
        {
            "sku": sku,
            "title": draw(_TITLE),
            "category": draw(_text(40)),
            "price": draw(st.decimals("0", "99999.99", places=2)),
            "margin": draw(st.integers(0, 100)),
            "brand": draw(_text(20)),
        }
        for sku in skus
    ]
    buffer = io.StringIO()
    writer = csv.writer(
        buffer, delimiter=separator, lineterminator=draw(st.sampled_from(["\n", "\r\n"]))
    )
    writer.writerow(["SKU", "Title", "Category", "Price", "Margin", "Brand"])
    for product in products:
        price = f"{product['price']:,.2f}"
        if separator == ";":
            price = price.translate(str.maketrans({".": ",", ",": "."}))
        writer.writerow(
            [
                *(product[c] for c in ("sku", "title", "category")),
                price,
                f"{product['margin']}%",
                product["brand"],
            ]
        )
    return buffer.getvalue().encode(), products


@PROPERTY
@given(product_files())
def test_a_valid_products_file_is_stored_as_written_and_once(file: tuple[bytes, list[dict]]):
    content, products = file
    with tempfile.TemporaryDirectory() as folder:
        _imported_twice(folder, "products", content, len(products))
        with contextlib.closing(sqlite3.connect(f"{folder}/store.db")) as connection:
            query = "SELECT sku, title, category, price, margin, attributes FROM products"
            stored = {row[0]: row for row in connection.execute(query)}

    for product in products:
        _sku, title, category, price, margin, attributes = stored[product["sku"]]
        assert (title, category) == (product["title"], product["category"])
        assert Decimal(str(price)) == product["price"]
        assert margin == pytest.approx(float(product["price"]) * product["margin"] / 100)
        assert json.loads(attributes) == {"brand": product["brand"]}


@st.composite
def orders_with_repeated_rows(draw: st.DrawFn) -> str:
    """An orders file whose lines are split over rows, refunded in parts and written twice,
    its rows in any order (as concatenated or re-sorted exports have them)."""
    rows = []
    for n in range(draw(st.integers(1, 6))):
        day = 1 + n
        for sku in draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=2, unique=True)):
            parts = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
            rows += [f"O{n},C{n % 2},2026-01-0{day}T10:00:00Z,{sku},{q},9.5" for q in parts]
            refunds = draw(st.lists(st.integers(1, 9), max_size=2, unique=True))
            rows += [f"O{n},C{n % 2},2026-02-0{d}T10:00:00Z,{sku},-1,9.5" for d in refunds]
    rows += draw(st.lists(st.sampled_from(rows), max_size=3))  # exact duplicates
    rows = draw(st.permutations(rows))
    return "order_id,customer_id,ordered_at,sku,quantity,price\n" + "\n".join(rows) + "\n"


def _stored(url: str) -> tuple[list, list]:
    with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        lines = "SELECT order_id, sku, quantity FROM order_lines ORDER BY 1, 2"
        returns = "SELECT order_id, sku, quantity, returned_at FROM order_returns ORDER BY 1, 2"
        return connection.execute(lines).fetchall(), connection.execute(returns).fetchall()


@PROPERTY
@given(orders_with_repeated_rows(), st.integers(1, 8))
def test_a_file_imports_the_same_whatever_its_chunks_and_as_it_trains(content: str, chunksize: int):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "orders.csv")
        path.write_text(content)
        stored = []
        for size in (chunksize, 250_000):
            url = f"sqlite:///{folder}/store-{size}.db"
            store = Store.open(url)
            try:
                import_files(store, "default", orders=path, chunksize=size)
            finally:
                store.close()
            stored.append(_stored(url))
        read = read_orders(path)

    assert stored[0] == stored[1]
    lines, returns = stored[0]
    assert lines == sorted(
        read.lines[["order_id", "sku", "quantity"]].itertuples(index=False, name=None)
    )
    assert [r[:3] for r in returns] == sorted(
        read.returns[["order_id", "sku", "quantity"]].itertuples(index=False, name=None)
    )


# --- damaged files -------------------------------------------------------------------

_JUNK = [
    b"",
    b"\x00",
    b"\xff",
    b"\xc3",
    b'"',
    b",",
    b";",
    b"\n",
    b"\r",
    b"\r\n",
    b"x" * 200_000,
    b"\xef\xbb\xbf",
    b"\x1f\x8b",
    b"PK\x03\x04",
]


@st.composite
def damaged(draw: st.DrawFn, content: bytes) -> bytes:
    """``content`` with a few byte-level mutations, or replaced by junk."""
    kind = draw(st.sampled_from(["mutate", "truncate", "junk", "header"]))
    if kind == "junk":
        return draw(st.one_of(st.sampled_from(_JUNK), st.binary(max_size=300)))
    if kind == "truncate":
        return content[: draw(st.integers(0, len(content)))]
    if kind == "header":
        header, _, rest = content.partition(b"\n")
        names = header.split(b",")
        at = draw(st.integers(0, len(names) - 1))
        names[at] = draw(st.sampled_from([b"", b"renamed", names[0], names[at].upper() + b" "]))
        return b",".join(names) + b"\n" + rest
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(content)))
        action = draw(st.sampled_from(["insert", "delete", "duplicate"]))
        if action == "insert":
            content = content[:at] + draw(st.sampled_from(_JUNK)) + content[at:]
        elif action == "delete":
            content = content[:at] + content[at + draw(st.integers(1, 20)) :]
        else:
            content = content[:at] + content[at : at + 8] + content[at:]
    return content


def _assert_ok_or_one_line_error(command: str, status: int, err: str) -> None:
    assert status in (0, 2), err
    if status == 2:
        assert err.startswith(f"encore {command}: error: ")
        assert err.endswith("\n") and err.count("\n") == 1, err


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated shop and a model trained on it, shared by the properties."""
    folder = tmp_path_factory.mktemp("shop")
    generate_shop(folder, n_orders=300, seed=3)
    status, _out, err = _run(
        ["train", "--orders", str(folder / "orders.csv"), "--out", str(folder / "model")]
    )
    assert status == 0, err
    return folder


def _damaged_copy(shop: Path, name: str, data: st.DataObject, folder: str) -> Path:
    """The shop's file ``name`` (its first 20 KB), damaged, written into ``folder``."""
    file = f"{name}.json" if name == "offers" else f"{name}.csv"
    path = Path(folder, file)
    path.write_bytes(data.draw(damaged((shop / file).read_bytes()[:20_000])))
    return path


def _dump(database: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return list(connection.iterdump())


@PROPERTY
@given(st.sampled_from(["orders", "products", "offers"]), st.data())
def test_a_damaged_file_is_imported_or_refused_in_one_line_leaving_the_store_as_it_was(
    shop: Path, name: str, data: st.DataObject
):
    with tempfile.TemporaryDirectory() as folder:
        path, database = _damaged_copy(shop, name, data, folder), Path(folder, "store.db")
        url = f"sqlite:///{database}"
        baseline = ["--orders", str(shop / "orders.csv")]
        assert _run(["import", *baseline, "--database", url])[0] == 0
        before = _dump(database)

        status, _out, err = _run(["import", f"--{name}", str(path), "--database", url])

        _assert_ok_or_one_line_error("import", status, err)
        if status == 2:
            assert _dump(database) == before


@PROPERTY
@given(st.sampled_from(["products", "impressions", "offers"]), st.data())
def test_a_damaged_file_beside_the_orders_is_trained_on_or_refused_in_one_line(
    shop: Path, name: str, data: st.DataObject
):
    with tempfile.TemporaryDirectory() as folder:
        path, orders = _damaged_copy(shop, name, data, folder), str(shop / "orders.csv")

        status, _out, err = _run(
            ["train", "--orders", orders, f"--{name}", str(path), "--out", f"{folder}/model"]
        )

        _assert_ok_or_one_line_error("train", status, err)


@PROPERTY
@given(st.data())
def test_a_damaged_orders_file_is_trained_and_evaluated_on_or_refused_in_one_line(
    shop: Path, data: st.DataObject
):
    content = data.draw(damaged((shop / "orders.csv").read_bytes()))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "orders.csv")
        path.write_bytes(content)
        model = str(shop / "model")

        status, _out, err = _run(["evaluate", "--model", model, "--orders", str(path)])
        _assert_ok_or_one_line_error("evaluate", status, err)
        status, _out, err = _run(["train", "--orders", str(path), "--out", f"{folder}/model"])
        _assert_ok_or_one_line_error("train", status, err)


_RANK_LINES = (
    b'{"order": {"id": "O1", "ordered_at": "2026-09-01T10:00:00Z", "items": '
    b'[{"sku": "SKU-00010", "price": 39.99, "quantity": 1}]}, "customer": {"id": "C000002"}}\n'
    b'{"order": {"id": "O2", "items": [{"sku": "SKU-00193"}]}, "customer": {"id": "C9"}, '
    b'"placement": "thank_you", "limit": 2}\n'
)


@PROPERTY
@given(st.data())
def test_damaged_json_lines_are_ranked_or_refused_in_one_line(shop: Path, data: st.DataObject):
    content = data.draw(damaged(_RANK_LINES))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "orders.jsonl")
        path.write_bytes(content)

        status, _out, err = _run(
            ["recommend", "--model", str(shop / "model"), "--input", str(path)]
        )

        _assert_ok_or_one_line_error("recommend", status, err)


# --- emails ----------------------------------------------------------------------------


@st.composite
def files_with_emails(draw: st.DrawFn) -> tuple[dict[str, bytes], list[str]]:
    """Orders, products and impressions files and `encore recommend` input holding emails as
    customer and order ids, in titles, categories, extra columns and their names; and the
    emails."""
    emails = draw(st.lists(st.emails(), min_size=3, max_size=6, unique_by=str.lower))
    spelled = [draw(st.sampled_from([e, e.upper(), e.replace("@", "%40")])) for e in emails]
    around = draw(st.sampled_from(["{}", "for {}", "({}).", "{} and {}"]))
    orders, products, impressions = io.StringIO(), io.StringIO(), io.StringIO()
    order_rows = csv.writer(orders, delimiter=draw(st.sampled_from([",", ";"])))
    order_rows.writerow(
        ["Order ID", "customer_id", "ordered_at", "sku", "title", "category", "Email"]
        + [f"note {emails[0]}"]
    )
    product_rows = csv.writer(products)
    product_rows.writerow(["sku", "title", "category", "price", f"owner {emails[1]}"])
    impression_rows = csv.writer(impressions)
    impression_rows.writerow(
        ["request_id", "shown_at", "customer_id", "placement", "offer_id", "position"]
        + ["propensity", "clicked", "converted", "ctx_note", f"ctx_{emails[2]}"]
    )
    for n in range(40):
        email, other = spelled[n % len(spelled)], emails[(n + 1) % len(emails)]
        order_id = f"{email}-{n}" if n % 5 == 0 else f"O{n}"
        at, sku, title = (
            f"2026-0{1 + n % 9}-1{n % 10}T10:00:00Z",
            f"S{n % 7}",
            around.format(email, other),
        )
        order_rows.writerow([order_id, email, at, sku, title, other, email, other])
        product_rows.writerow([sku, title, other, "9.99", email])
        impression_rows.writerow(
            [f"R{n}", at, email, "thank_you", f"X{n % 3}", 1, 0.5, n % 2, 0, title, other]
        )
    rank = {
        "order": {"id": f"{emails[0]}-1", "items": [{"sku": "S1"}]},
        "customer": {"id": emails[1]},
        "attributes": {"note": around.format(emails[2], emails[0])},
    }
    files = {
        "orders.csv": orders.getvalue().encode(),
        "products.csv": products.getvalue().encode(),
        "impressions.csv": impressions.getvalue().encode(),
        "rank.jsonl": json.dumps(rank).encode() + b"\n",
    }
    return files, emails


def _raw_forms(email: str) -> list[bytes]:
    return [form.encode() for form in {email, email.lower(), email.upper()}]


@PROPERTY
@given(files_with_emails())
def test_no_email_of_the_files_is_kept_raw_in_the_store_the_model_or_recommendations(
    files_and_emails: tuple[dict[str, bytes], list[str]],
):
    files, emails = files_and_emails
    with tempfile.TemporaryDirectory() as folder:
        for name, content in files.items():
            Path(folder, name).write_bytes(content)
        url, model = f"sqlite:///{folder}/store.db", f"{folder}/model"
        orders = ["--orders", f"{folder}/orders.csv", "--products", f"{folder}/products.csv"]

        assert _run(["import", *orders, "--database", url])[0] == 0
        impressions = ["--impressions", f"{folder}/impressions.csv"]
        status, _out, err = _run(["train", *orders, *impressions, "--out", model])
        assert (status, err) == (0, "")
        status, recommended, err = _run(
            ["recommend", "--model", model, "--input", f"{folder}/rank.jsonl"]
        )
        assert (status, err) == (0, "")

        kept = b"".join(
            path.read_bytes()
            for path in Path(folder).rglob("*")
            if path.is_file() and path.name not in files
        )
        kept += pickle.dumps(load_model(Path(model))) + recommended.encode()
        for email in emails:
            for form in _raw_forms(email):
                assert form not in kept
