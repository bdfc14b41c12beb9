"""The readers take messy real exports and name the problem when they cannot."""

import bz2
import gzip
import io
import lzma
import zipfile

import pandas as pd
import pytest

from offers.catalog import read_offers
from offers.errors import InputError, opening
from offers.files import (
    FILLED,
    MERGED,
    ORDER_COLUMNS,
    iter_orders,
    read_impressions,
    read_orders,
    read_products,
)
from offers.identity import customer_key

HEADER = "order_id,customer_id,ordered_at,sku,quantity,price\n"
IMPRESSIONS_HEADER = (
    "request_id,shown_at,customer_id,placement,offer_id,position,propensity,clicked,converted\n"
)


def test_quoted_fields_with_commas_and_a_bom_are_read(write_file):
    path = write_file(
        "orders.csv",
        "\ufefforder_id,customer_id,ordered_at,sku,quantity,price,title\n"
        'O1,C1,2026-01-05T10:00:00Z,A,1,9.5,"Camera, 20MP ""Pro"""\n',
    )
    lines = read_orders(path).lines
    assert list(lines.columns[:4]) == ["order_id", "customer_id", "ordered_at", "sku"]
    assert lines.loc[0, "title"] == 'Camera, 20MP "Pro"'


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        pytest.param("12.5", 12.5, id="plain"),
        pytest.param("$1,299.00", 1299.0, id="currency-and-thousands"),
        pytest.param("12,50", 12.5, id="decimal-comma"),
        pytest.param("1.299,00 €", 1299.0, id="dot-thousands-and-decimal-comma"),
        pytest.param("12.345.678,90", 12345678.9, id="dot-thousands-twice"),
        pytest.param("1.299.000", 1299000.0, id="dot-thousands-alone"),
        pytest.param("1 299,00", 1299.0, id="space-thousands"),
        pytest.param("1,299", 1299.0, id="comma-thousands"),
        pytest.param("19.99 EUR", 19.99, id="currency-code"),
        pytest.param("", None, id="blank"),
        pytest.param("1e400", None, id="beyond-a-float"),
    ],
)
def test_prices_written_as_strings_are_numbers(write_file, price, expected):
    path = write_file("orders.csv", HEADER + f'O1,C1,2026-01-05,A,1,"{price}"\n')
    value = read_orders(path).lines.loc[0, "price"]
    assert pd.isna(value) if expected is None else value == expected


@pytest.mark.parametrize(
    ("ordered_at", "expected"),
    [
        pytest.param("2026-01-05T10:00:00Z", "2026-01-05 10:00:00", id="iso-utc"),
        pytest.param("2026-01-05 12:00:00+02:00", "2026-01-05 10:00:00", id="iso-offset"),
        pytest.param("2026-01-05", "2026-01-05 00:00:00", id="date-only"),
        pytest.param("01/05/2026 10:00", "2026-01-05 10:00:00", id="us-slashes"),
        pytest.param("05.01.2026 10:00", "2026-01-05 10:00:00", id="german-dots"),
        pytest.param("01/05/26 10:00:30", "2026-01-05 10:00:30", id="two-digit-year"),
        pytest.param("01/05/2026 10:00 PM", "2026-01-05 22:00:00", id="twelve-hour-clock"),
        pytest.param("Mon, 05 Jan 2026 10:00:00 +0000", "2026-01-05 10:00:00", id="rfc2822"),
        pytest.param("1736071200", "2025-01-05 10:00:00", id="unix-seconds"),
        pytest.param("1736071200123", "2025-01-05 10:00:00.123000", id="unix-milliseconds"),
        pytest.param("973036800", "2000-11-01 00:00:00", id="unix-seconds-before-2001"),
        pytest.param("2025-02-03 10:42:13 UTC", "2025-02-03 10:42:13", id="bigquery-export"),
        pytest.param("2025-02-03 10:42 PM", "2025-02-03 22:42:00", id="year-first-twelve-hour"),
        pytest.param(
            "2025-02-03T10:42:13.000+0100 (CET)", "2025-02-03 09:42:13", id="zone-named-after"
        ),
        pytest.param("2025-02-03 10:00:00 UTC+1", "2025-02-03 09:00:00", id="utc-plus-hours"),
        pytest.param("2025-02-03T10:00:00 GMT+0100", "2025-02-03 09:00:00", id="gmt-plus-hhmm"),
        pytest.param("03/02/2025 10:00 GMT-5", "2025-03-02 15:00:00", id="gmt-minus-numeric"),
    ],
)
def test_mixed_date_formats_become_utc(write_file, ordered_at, expected):
    path = write_file("orders.csv", HEADER + f'O1,C1,"{ordered_at}",A,1,1\n')
    assert str(read_orders(path).lines.loc[0, "ordered_at"]) == expected


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        pytest.param(
            ["05/01/2026", "13/02/2026", "02/03/2026"],
            ["2026-01-05", "2026-02-13", "2026-03-02"],
            id="day-first: 13/02 settles it for the whole file",
        ),
        pytest.param(
            ["01/05/2026", "02/13/2026", "03/02/2026"],
            ["2026-01-05", "2026-02-13", "2026-03-02"],
            id="month-first: 02/13 settles it",
        ),
        pytest.param(
            ["05/01/2026", "06/01/2026"],
            ["2026-05-01", "2026-06-01"],
            id="nothing settles it: slashes read month first",
        ),
        pytest.param(
            ["45/01/2026", "01/13/2026", "01/05/2026"],
            ["2026-01-05", "2026-01-13"],
            id="a first number above 31 is no day: 01/13 settles it",
        ),
    ],
)
def test_numeric_dates_are_read_day_or_month_first_for_the_whole_file(write_file, dates, expected):
    rows = "".join(f"O{n},C{n},{date},A,1,1\n" for n, date in enumerate(dates))
    lines = read_orders(write_file("orders.csv", HEADER + rows)).lines
    assert sorted(lines["ordered_at"].dt.strftime("%Y-%m-%d")) == expected


def test_a_date_the_other_way_round_from_the_file_is_skipped_not_guessed(write_file):
    rows = "O1,C1,13/01/2026,A,1,1\nO2,C1,14/01/2026,A,1,1\nO3,C1,01/15/2026,A,1,1\n"
    orders = read_orders(write_file("orders.csv", HEADER + rows))
    assert sorted(orders.lines["order_id"]) == ["O1", "O2"]
    assert orders.skipped == {
        "ordered_at with day and month the other way round from the file's": 1
    }


@pytest.mark.parametrize("separator", ["-", "/", "."])
def test_a_date_written_year_first_is_year_month_day_in_a_day_first_file(write_file, separator):
    year_first = separator.join(("2025", "02", "03")) + " 10:00 PM"
    rows = f"O1,C1,13/02/2025,A,1,1\nO2,C1,{year_first},A,1,1\n"
    lines = read_orders(write_file("orders.csv", HEADER + rows)).lines.set_index("order_id")
    assert str(lines.loc["O2", "ordered_at"]) == "2025-02-03 22:00:00"  # not March 2


@pytest.mark.parametrize("first", ["13/02/2025", "02/13/2025"], ids=["day-first", "month-first"])
def test_an_iso_date_with_a_month_13_is_skipped_whichever_way_the_file_reads(write_file, first):
    rows = f"O1,C1,{first},A,1,1\nO2,C1,2025-13-01,A,1,1\n"
    orders = read_orders(write_file("orders.csv", HEADER + rows))
    assert list(orders.lines["order_id"]) == ["O1"]
    assert orders.skipped == {"unreadable ordered_at": 1}


def test_later_chunks_keep_the_day_month_order_the_first_one_settled(write_file):
    rows = "O1,C1,13/01/2026,A,1,1\n" + "O2,C1,05/01/2026,A,1,1\n"
    chunks = list(iter_orders(write_file("orders.csv", HEADER + rows), chunksize=1))
    assert [str(c.lines.loc[0, "ordered_at"].date()) for c in chunks] == [
        "2026-01-13",
        "2026-01-05",
    ]


def test_header_names_written_as_words_are_the_known_columns(write_file):
    path = write_file(
        "orders.csv",
        "Order ID,Customer ID,Ordered At,SKU,Quantity,Price,Gift Wrap\n"
        "O1,C1,2026-01-05,A,2,9.5,yes\n",
    )
    lines = read_orders(path).lines
    assert list(lines.columns) == [*ORDER_COLUMNS, "gift wrap"]
    assert (lines.loc[0, "order_id"], lines.loc[0, "quantity"]) == ("O1", 2)


def test_ids_written_through_a_float_column_are_the_whole_numbers_they_were(write_file):
    # pandas writes a CustomerID column with gaps as floats: 17850.0, as in UCI's Online Retail
    path = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku\n"
        "536365.0,17850.0,2026-01-05,85123A\n"
        "536366,17850,2026-01-06,71053\n"
        "536367,A-12.0,2026-01-07,84406B\n",
    )
    lines = read_orders(path).lines
    assert lines["order_id"].tolist() == ["536365", "536366", "536367"]
    assert lines["customer_id"].tolist() == ["17850", "17850", "A-12.0"]


def test_a_header_with_both_spellings_keeps_the_exact_one(write_file):
    path = write_file("orders.csv", HEADER.strip() + ",Order ID\nO1,C1,2026-01-05,A,1,1,#1001\n")
    lines = read_orders(path).lines
    assert (lines.loc[0, "order_id"], lines.loc[0, "order id"]) == ("O1", "#1001")


def test_dates_beyond_what_a_timestamp_holds_are_skipped_not_a_crash(write_file):
    """9999-12-31 is many an ERP's "no date"; pandas' timestamps end in 2262."""
    rows = "O1,C1,9999-12-31,A,1,1\nO2,C1,1500-01-01,A,1,1\nO3,C1,01/01/3000,A,1,1\n"
    orders = read_orders(write_file("orders.csv", HEADER + rows + "O4,C1,2026-01-05,A,1,1\n"))
    assert list(orders.lines["order_id"]) == ["O4"]
    assert orders.skipped == {"unreadable ordered_at": 3}


def _hours_from_now(hours: int) -> str:
    return f"{pd.Timestamp.now(tz='UTC') + pd.Timedelta(hours=hours):%Y-%m-%dT%H:%M:%SZ}"


def test_lines_dated_after_now_are_skipped_and_counted_with_the_latest_date(write_file):
    """A year typed wrong (2062 for 2026) is no order that happened; a line a few hours
    ahead (a shop's clock, a time zone) is one."""
    rows = (
        "O1,C1,2026-01-05,A,1,1\n"
        "O2,C1,2062-01-05,A,1,1\n"
        f"O3,C1,{_hours_from_now(12)},A,1,1\n"
        "O4,C1,2061-07-01,A,-1,1\n"  # a return dated so, too
        "O5,C1,2062-02-05T01:00:00+05:00,B,1,1\n"  # the last order: a chunk of its own
    )
    result = read_orders(write_file("orders.csv", HEADER + rows))
    assert list(result.lines["order_id"]) == ["O1", "O3"]
    assert result.returns.empty
    assert result.skipped == {"dated after now (latest 2062-02-04)": 3}


def test_impressions_shown_after_now_are_skipped_and_counted_with_the_latest_date(write_file):
    rows = (
        "R1,2026-01-05,C1,thank_you,X,1,0.5,1,0\n"
        "R2,2099-01-05,C1,thank_you,X,1,0.5,1,0\n"
        f"R3,{_hours_from_now(12)},C1,thank_you,X,1,0.5,1,0\n"
        f"R4,{_hours_from_now(49)[:10]},C1,thank_you,X,1,0.5,1,0\n"
    )
    impressions = read_impressions(write_file("impressions.csv", IMPRESSIONS_HEADER + rows))
    assert list(impressions["request_id"]) == ["R1", "R3"]
    assert dict(impressions.attrs["skipped"]) == {"dated after now (latest 2099-01-05)": 2}


def test_messy_rows_are_skipped_and_counted_by_reason(write_file):
    path = write_file(
        "orders.csv",
        HEADER
        + "O1,C1,2026-01-05,A,1,1\n"
        + "O1,C1,2026-01-05,A,1,1\n"  # the same line twice
        + "O2,,2026-01-05,A,1,1\n"  # no customer
        + "O3,C2,yesterday,A,1,1\n"  # no readable date
        + "O4,C2,2026-01-05,A,two,1\n"  # no readable quantity
        + "O5,C2,2026-01-05,,1,1\n"  # no sku
        + "O6,C2,2026-01-05,A,3000000000,1\n",  # more than the store's integer holds
    )
    result = read_orders(path)
    assert result.n_read == 7
    assert list(result.lines["order_id"]) == ["O1"]
    assert dict(result.skipped) == {
        "duplicate line": 1,
        "no customer id": 1,
        "unreadable ordered_at": 1,
        "unreadable quantity": 1,
        "no sku": 1,
        "quantity out of range": 1,
    }


def test_returns_are_kept_apart_and_never_purchases(write_file):
    path = write_file(
        "orders.csv",
        HEADER + "O1,C1,2026-01-05,A,1,1\nO2,C1,2026-01-09,A,-1,1\nO3,C1,2026-01-09,B,0,1\n",
    )
    result = read_orders(path)
    assert list(result.lines["order_id"]) == ["O1"]
    assert list(result.returns["order_id"]) == ["O2", "O3"]


def test_a_quantity_with_a_fraction_is_a_purchase_or_a_return_as_its_sign_says(write_file):
    path = write_file(
        "orders.csv",
        HEADER + "O1,C1,2026-01-05,FLOUR,2.375,1.2\nO1,C1,2026-01-05,SALT,1,0.5\n"
        "O2,C1,2026-01-09,FLOUR,-0.5,1.2\n",
    )
    result = read_orders(path)
    assert list(result.lines["quantity"]) == [2.375, 1.0]
    assert list(result.returns["quantity"]) == [-0.5]
    assert not result.skipped


def test_a_line_split_in_two_is_merged_with_summed_quantity(write_file):
    path = write_file("orders.csv", HEADER + "O1,C1,2026-01-05,A,1,1\nO1,C1,2026-01-05,A,2,1\n")
    lines = read_orders(path).lines
    assert list(lines["quantity"]) == [3]


def test_partial_refunds_of_one_line_add_up(write_file):
    path = write_file(
        "orders.csv",
        HEADER + "O1,C1,2026-01-05,A,3,10\nO1,C1,2026-01-10,A,-1,10\nO1,C1,2026-01-20,A,-1,10\n",
    )
    result = read_orders(path)
    assert result.returns[["order_id", "sku", "quantity"]].values.tolist() == [["O1", "A", -2]]
    assert result.returns.loc[0, "ordered_at"] == pd.Timestamp("2026-01-10")
    assert result.skipped == {MERGED: 1}


def test_a_line_split_across_a_chunk_boundary_is_merged(write_file):
    rows = "O1,C1,2026-01-05,A,1,1\nO2,C1,2026-01-06,A,1,1\nO2,C1,2026-01-06,A,2,1\n"
    chunks = list(iter_orders(write_file("orders.csv", HEADER + rows), chunksize=2))
    lines = pd.concat([chunk.lines for chunk in chunks], ignore_index=True)
    assert lines[["order_id", "quantity"]].values.tolist() == [["O1", 1], ["O2", 3]]
    assert sum(chunk.n_read for chunk in chunks) == 3


def test_a_row_written_twice_in_different_chunks_is_read_once(write_file, monkeypatch):
    monkeypatch.setitem(iter_orders.__kwdefaults__, "chunksize", 2)
    row = "O1,C1,2026-01-05,A,2,1\n"
    orders = read_orders(write_file("orders.csv", HEADER + row + "O2,C1,2026-01-06,B,1,1\n" + row))
    assert orders.lines[["order_id", "quantity"]].values.tolist() == [["O1", 2], ["O2", 1]]
    assert orders.skipped == {"duplicate line": 1}


def test_a_line_whose_rows_add_up_beyond_the_store_is_skipped_as_a_row_beyond_it_is(write_file):
    rows = (
        "O1,C1,2026-01-05,A,2000000000,1\nO1,C1,2026-01-05,A,2000000000,2\n"
        "O1,C1,2026-01-05,B,1,1\nO1,C1,2026-01-05,B,2,1\n"
        "O2,C1,2026-01-09,A,-2000000000,1\nO2,C1,2026-01-10,A,-2000000000,1\n"
    )
    result = read_orders(write_file("orders.csv", HEADER + rows))
    assert result.lines[["order_id", "sku", "quantity"]].values.tolist() == [["O1", "B", 3]]
    assert result.returns.empty
    assert result.skipped == {"quantity out of range": 4, MERGED: 1}


def test_missing_quantity_means_one(write_file):
    path = write_file("orders.csv", "order_id,customer_id,ordered_at,sku\nO1,C1,2026-01-05,A\n")
    assert read_orders(path).lines.loc[0, "quantity"] == 1


def test_semicolon_separated_exports_are_read(write_file):
    path = write_file("orders.csv", "order_id;customer_id;ordered_at;sku\nO1;C1;2026-01-05;A\n")
    assert list(read_orders(path).lines["sku"]) == ["A"]


def test_extra_columns_are_kept(write_file):
    path = write_file("orders.csv", HEADER.strip() + ",coupon\nO1,C1,2026-01-05,A,1,1,SPRING\n")
    assert read_orders(path).lines.loc[0, "coupon"] == "SPRING"


def test_emails_as_customer_ids_are_hashed(write_file):
    path = write_file("orders.csv", HEADER + "O1,Ann@Example.com,2026-01-05,A,1,1\n")
    customer = read_orders(path).lines.loc[0, "customer_id"]
    assert customer.startswith("sha256:")
    assert "example" not in customer.lower()


def test_an_order_id_holding_an_email_is_stored_as_the_api_stores_it(write_file):
    path = write_file("orders.csv", HEADER + "Ann@Example.com-1001,C1,2026-01-05,A,1,1\n")
    order_id = read_orders(path).lines.loc[0, "order_id"]
    assert order_id == customer_key("Ann@Example.com-1001")
    assert order_id.startswith("sha256:")


def test_emails_in_extra_columns_are_kept_only_as_digests(write_file):
    # Shopify's order export has an Email column; notes hold addresses too.
    path = write_file(
        "orders.csv",
        HEADER.strip() + ",Email,Note\n"
        "O1,Ann@Example.com,2026-01-05,A,1,1,"
        "ann@example.com ,Ship to ann.b+gift@mail.example.org please\n",
    )
    line = read_orders(path).lines.loc[0]

    assert line["email"] == line["customer_id"]  # the same digest as the id: still joinable
    assert line["note"].startswith("Ship to sha256:") and line["note"].endswith(" please")
    assert "example" not in line["note"]


def test_impressions_spell_country_currency_and_device_as_the_service_reads_them(write_file):
    path = write_file(
        "impressions.csv",
        IMPRESSIONS_HEADER.strip() + ",ctx_country,ctx_currency,ctx_device\n"
        "R1,2026-01-05,C1,thank_you,X,1,0.5,1,0,fr,eur,Mobile\n"
        "R2,2026-01-05,C2,thank_you,X,1,0.5,1,0,,,\n",
    )
    rows = read_impressions(path)

    assert rows.loc[0, ["ctx_country", "ctx_currency", "ctx_device"]].tolist() == [
        "FR",
        "EUR",
        "mobile",
    ]
    assert rows.loc[1, ["ctx_country", "ctx_currency", "ctx_device"]].tolist() == ["", "", ""]


def test_emails_in_impression_context_columns_are_kept_only_as_digests(write_file):
    path = write_file(
        "impressions.csv",
        IMPRESSIONS_HEADER.strip() + ",ctx_email,ctx_device,ctx_country\n"
        "R1,2026-01-05,C1,thank_you,X,1,0.5,1,0,Ann@Example.com,mobile,ann@example.com\n",
    )
    row = read_impressions(path).loc[0]

    assert row["ctx_email"] == customer_key("ann@example.com")
    assert row["ctx_device"] == "mobile"
    # the digest the service logs for that country: folded to upper case, then hashed
    assert row["ctx_country"] == customer_key("ann@example.com")


ANN = "ann@shop.example"
BOB = "bob@corp.example"


@pytest.mark.parametrize(
    ("name", "content", "column"),
    [
        pytest.param(
            "orders.csv",
            HEADER.strip() + f",{BOB}\nO1,C1,2026-01-05,A,1,1,v\n",
            customer_key(BOB),
            id="orders",
        ),
        pytest.param(
            "products.csv",
            f"sku,title,category,price,{BOB}\nA,Mug,Kitchen,4,v\n",
            customer_key(BOB),
            id="products",
        ),
        pytest.param(
            "impressions.csv",
            IMPRESSIONS_HEADER.strip() + f",ctx_{BOB}\nR1,2026-01-05,C1,thank_you,X,1,0.5,1,0,v\n",
            f"ctx_{customer_key(BOB)}",  # still a context column, named as its digest
            id="impressions",
        ),
    ],
)
def test_an_email_written_as_a_column_name_is_kept_only_as_its_digest(
    write_file, name, content, column
):
    path = write_file(name, content)
    table = read_orders(path).lines if name == "orders.csv" else None
    if table is None:
        table = (read_products if name == "products.csv" else read_impressions)(path)

    assert table.loc[0, column] == "v"
    assert not [c for c in table.columns if "@" in c]


def test_emails_in_order_titles_categories_country_and_device_are_kept_only_as_digests(
    write_file,
):
    path = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,title,category,country,currency,device\n"
        f"O1,C1,2026-01-05,A,Mug for {ANN},{BOB},{ANN},EUR,{ANN}\n",
    )
    line = read_orders(path).lines.loc[0]

    assert line["title"] == f"Mug for {customer_key(ANN)}"  # the text around it kept
    assert line[["category", "country", "device"]].tolist() == [
        customer_key(BOB),
        customer_key(ANN),
        customer_key(ANN),
    ]


def test_an_email_as_currency_counts_as_its_digest_which_the_column_cannot_hold(write_file):
    path = write_file(
        "orders.csv",
        f"order_id,customer_id,ordered_at,sku,currency\nO1,C1,2026-01-05,A,{ANN}\n"
        "O2,C1,2026-01-05,A,EUR\n",
    )
    result = read_orders(path)

    assert list(result.lines["order_id"]) == ["O2"]
    assert result.skipped == {"currency longer than 16 characters": 1}


def test_emails_in_a_products_file_are_kept_only_as_digests(write_file):
    path = write_file(
        "products.csv",
        f"sku,title,category,price,supplier\nA,Mug by {ANN},{BOB},4,{BOB}\n",
    )
    product = read_products(path).loc[0]

    assert product["title"] == f"Mug by {customer_key(ANN)}"
    assert product[["category", "supplier"]].tolist() == [customer_key(BOB)] * 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            "order_id,customer_id,sku\nO1,C1,A\n",
            "orders.csv: missing required column `ordered_at`",
            id="missing-column",
        ),
        pytest.param(
            "order_id,sku\nO1,A\n",
            "orders.csv: missing required columns `customer_id`, `ordered_at`",
            id="missing-columns",
        ),
        pytest.param("", "orders.csv: the file is empty (expected a header row)", id="empty"),
        pytest.param("\n\n", "orders.csv: the file is empty (expected a header row)", id="blank"),
        pytest.param(
            "\n" + HEADER + "O1,C1,2026-01-05,A,1,1\n",
            "orders.csv: the first line is blank, where the header row belongs",
            id="blank-line-before-the-header",
        ),
        pytest.param(
            b"order_id,customer_id,ordered_at,sku\nO1,C\xe9,2026-01-05,A\n",
            "orders.csv: not UTF-8 text (byte 0xe9); save the file as UTF-8 CSV",
            id="latin-1",
        ),
        pytest.param(
            HEADER + "O1,C1,2026-01-05,A,1,1\nO2,C1,2026-01-05,A,1,1,extra,fields\n",
            "orders.csv: malformed CSV: row 2: expected 6 fields, saw 8",
            id="ragged-row",
        ),
        pytest.param(
            (HEADER + "O1,C1,2026-01-05,A,1,1\n").encode("utf-16"),
            "orders.csv: UTF-16 text, not UTF-8; save the file as UTF-8 CSV",
            id="utf-16-with-bom",
        ),
        pytest.param(
            (HEADER + "O1,C1,2026-01-05,A,1,1\n").encode("utf-16-le"),
            "orders.csv: UTF-16 text, not UTF-8; save the file as UTF-8 CSV",
            id="utf-16-without-bom",
        ),
        pytest.param(
            (HEADER + "O1,C1,2026-01-05,A,1,1\n").encode("utf-16-be"),
            "orders.csv: UTF-16 text, not UTF-8; save the file as UTF-8 CSV",
            id="utf-16-big-endian-without-bom",
        ),
        *(
            pytest.param(
                (HEADER + "O1,C1,2026-01-05,A,1,1\n").encode(encoding),
                "orders.csv: UTF-32 text, not UTF-8; save the file as UTF-8 CSV",
                id=encoding,
            )
            for encoding in ("utf-32", "utf-32-le", "utf-32-be")
        ),
        pytest.param(
            b"order_id,customer_id\x00\x00,ordered_at,sku\n",
            "orders.csv: not CSV text (it holds NUL bytes)",
            id="nul-in-header",
        ),
        pytest.param(
            "order_id,customer_id,ordered_at,sku," + "x" * 200_000,
            "orders.csv: malformed CSV header (field larger than field limit (131072))",
            id="a-header-line-of-200-kb",
        ),
    ],
)
def test_unusable_orders_files_are_one_clear_error(write_file, content, message):
    path = write_file("orders.csv", content)
    with pytest.raises(InputError) as raised:
        read_orders(path)
    assert str(raised.value) == message


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_header_quoting_a_name_with_commas_is_split_at_its_own_separator(write_file, separator):
    header = separator.join(["order_id", "customer_id", "ordered_at", "sku", '"Note, a, b, c, d"'])
    row = separator.join(["O1", "C1", "2026-01-05", "A", "gift"])
    orders = read_orders(write_file("orders.csv", f"{header}\n{row}\n"))
    assert orders.lines[["order_id", "sku", "note, a, b, c, d"]].values.tolist() == [
        ["O1", "A", "gift"]
    ]


def test_a_row_ending_in_one_empty_field_more_than_the_header_is_read_as_written(write_file):
    # Many exports end every row with a separator; pandas took the first field as an index.
    path = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,quantity\n"
        "O1,C1,2026-01-05T10:00:00Z,00123,1,\nO2,C1,2026-01-05T10:00:00Z,00123,2,\n",
    )
    result = read_orders(path)
    assert result.lines[["order_id", "sku", "quantity"]].values.tolist() == [
        ["O1", "00123", 1],
        ["O2", "00123", 2],
    ]
    assert result.skipped == {}


PRODUCTS_HEADER = "sku,title,category,price\n"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "orders.csv",
            "order_id,customer_id,ordered_at,sku,quantity\n"
            "O1,C1,2026-01-05T10:00:00Z,00123,1\nO2,C1,2026-01-05T10:00:00Z,00123,1,7\n",
            "orders.csv: malformed CSV: row 2: expected 5 fields, saw 6",
            id="orders",
        ),
        pytest.param(
            "orders.csv",
            HEADER.strip() + ",,\nO1,C1,2026-01-05,A,1,1,,\nO2,C1,2026-01-05,A,1,1,,,x\n",
            "orders.csv: malformed CSV: row 2: expected 8 fields, saw 9",
            id="orders-with-unnamed-columns",
        ),
        pytest.param(
            "products.csv",
            PRODUCTS_HEADER + "A,Cam,Cams,10,extra\n",
            "products.csv: malformed CSV: row 1: expected 4 fields, saw 5",
            id="products",
        ),
        pytest.param(
            "impressions.csv",
            IMPRESSIONS_HEADER + "R1,2026-01-05,C1,thank_you,X,1,0.5,1,0,extra\n",
            "impressions.csv: malformed CSV: row 1: expected 9 fields, saw 10",
            id="impressions",
        ),
    ],
)
def test_a_row_with_a_field_more_than_the_header_is_one_clear_error(
    write_file, name, content, message
):
    reader = {"orders": read_orders, "products": read_products}.get(name[:-4], read_impressions)
    with pytest.raises(InputError) as raised:
        reader(write_file(name, content))
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param(
            "orders.csv",
            "order_id,customer_id,ordered_at,sku\nO1,C1,2026-01-05,A\nO2,C1,2026-01-06,B\n"
            'O3,C1,"2026-01-06,B\nO4,C1,2026-01-07,C\n',
            id="orders",
        ),
        pytest.param(
            "products.csv",
            PRODUCTS_HEADER + 'A,Cam,Cams,10\nB,Bag,Bags,5\nC,"Cup,Cups,3\n',
            id="products",
        ),
    ],
)
def test_a_quote_left_open_names_its_row(write_file, name, content):
    reader = read_orders if name == "orders.csv" else read_products
    with pytest.raises(InputError) as raised:
        reader(write_file(name, content))
    assert str(raised.value) == (
        f"{name}: malformed CSV: row 3: a quote opens a field and nothing closes it"
    )


@pytest.mark.parametrize(
    "first_row",
    [
        pytest.param("O1,C1,2026-01-05,A,1,1,x,y", id="two-fields-more"),
        pytest.param("O1,C1,2026-01-05,A,1,1,,", id="two-empty-fields-more"),
    ],
)
def test_a_first_row_two_fields_beyond_the_header_is_one_clear_error(write_file, first_row):
    # pandas warned (two printed lines) and dropped them, for the first row only
    path = write_file("orders.csv", HEADER + first_row + "\nO2,C1,2026-01-05,A,1,1\n")
    with pytest.raises(InputError) as raised:
        read_orders(path)
    assert str(raised.value) == "orders.csv: malformed CSV: row 1: expected 6 fields, saw 8"


def test_header_columns_with_no_name_are_ignored(write_file):
    orders = read_orders(
        write_file("orders.csv", HEADER.strip() + ",,\nO1,C1,2026-01-05,A,2,1,,\n")
    )
    products = read_products(
        write_file("products.csv", ",sku,title,category,price,,\n0,A,Cam,Cams,10,,\n")
    )
    impressions = read_impressions(
        write_file(
            "impressions.csv",
            IMPRESSIONS_HEADER.strip() + ",,\nR1,2026-01-05,C1,thank_you,X,1,0.5,1,0,,\n",
        )
    )
    assert orders.lines[["order_id", "quantity"]].values.tolist() == [["O1", 2]]
    assert "" not in orders.lines.columns
    assert products[["sku", "price"]].values.tolist() == [["A", 10.0]]
    assert "" not in products.columns
    assert list(impressions["offer_id"]) == ["X"]
    assert "" not in impressions.columns


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "orders.csv",
            HEADER.strip() + ",Note,Note\nO1,C1,2026-01-05,A,1,1,a,b\n",
            "orders.csv: column `note` appears twice",
            id="orders-extra",
        ),
        pytest.param(
            "orders.csv",
            HEADER.strip() + ",SKU,sku\nO1,C1,2026-01-05,A,1,1,B,C\n",
            "orders.csv: column `sku` appears 3 times",
            id="orders-required",
        ),
        pytest.param(
            "products.csv",
            PRODUCTS_HEADER.strip() + ",Brand,brand\nA,Cam,Cams,10,X,Y\n",
            "products.csv: column `brand` appears twice",
            id="products-in-two-cases",
        ),
        pytest.param(
            "impressions.csv",
            IMPRESSIONS_HEADER.strip()
            + ",ctx_x,ctx_x\nR1,2026-01-05,C1,thank_you,X,1,0.5,1,0,a,b\n",
            "impressions.csv: column `ctx_x` appears twice",
            id="impressions",
        ),
    ],
)
def test_a_column_named_twice_is_one_clear_error(write_file, name, content, message):
    reader = {"orders": read_orders, "products": read_products}.get(name[:-4], read_impressions)
    with pytest.raises(InputError) as raised:
        reader(write_file(name, content))
    assert str(raised.value) == message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"^nope\.csv: no such file$"):
        read_orders(tmp_path / "nope.csv")


@pytest.mark.parametrize("reader", [read_orders, read_offers], ids=["orders", "offers"])
def test_a_folder_given_as_a_file_is_named(tmp_path, reader):
    folder = tmp_path / "shop.csv"
    folder.mkdir()
    with pytest.raises(InputError, match=r"^shop\.csv: is a folder, not a file$"):
        reader(folder)


def test_a_file_that_cannot_be_read_is_named_in_one_line():
    with (
        pytest.raises(
            InputError, match=r"^orders\.csv: cannot read the file \(permission denied\)$"
        ),
        opening("orders.csv"),
    ):
        raise PermissionError(13, "Permission denied")


def test_products_keep_the_last_row_of_a_repeated_sku(write_file):
    path = write_file(
        "products.csv",
        "sku,title,category,price,margin\nA,Old,Cams,10,2\nA,New,Cams,$12.00,\n,Nameless,Cams,1,1\n",
    )
    products = read_products(path)
    assert list(products["title"]) == ["New"]
    assert products.loc[0, "price"] == 12.0
    assert pd.isna(products.loc[0, "margin"])
    assert dict(products.attrs["skipped"]) == {"no sku": 1, "repeated sku (last row kept)": 1}


def test_a_negative_price_is_dropped_and_counted_but_a_negative_margin_is_kept(write_file):
    orders = write_file(
        "orders.csv", HEADER + "O1,C1,2026-01-05,A,1,-5.00\nO1,C1,2026-01-05,B,1,9.99\n"
    )
    products = write_file(
        "products.csv", "sku,title,category,price,margin\nA,Ann,Cat,-5,1\nB,Bob,Cat,9.99,-2\n"
    )

    read = read_orders(orders)
    catalog = read_products(products).set_index("sku")

    assert pd.isna(read.lines.loc[0, "price"]) and read.lines.loc[1, "price"] == 9.99
    assert read.skipped["kept without their negative price"] == 1
    assert pd.isna(catalog.loc["A", "price"]) and catalog.loc["B", "margin"] == -2.0
    assert catalog.attrs["skipped"]["kept without their negative price"] == 1


def test_a_margin_in_percent_is_that_share_of_the_price(write_file):
    path = write_file(
        "products.csv",
        'sku,title,category,price,margin\nA,Cam,Cams,"1.299,00",30%\nB,Card,Cards,20,"4,50"\n',
    )
    products = read_products(path).set_index("sku")
    assert products.loc["A", "margin"] == pytest.approx(389.7)
    assert products.loc["B", "margin"] == 4.5


def test_impressions_with_impossible_values_are_skipped(write_file):
    header = (
        "request_id,shown_at,customer_id,placement,offer_id,position,propensity,"
        "clicked,converted,ctx_country\n"
    )
    path = write_file(
        "impressions.csv",
        header
        + "R1,2026-01-05,C1,thank_you,X,1,0.5,1,0,DE\n"
        + "R2,2026-01-05,C1,thank_you,X,0,0.5,1,0,DE\n"
        + "R3,2026-01-05,C1,thank_you,X,1,1.5,1,0,DE\n"
        + "R4,2026-01-05,C1,thank_you,X,1,0.5,yes,0,DE\n"
        + "R5,2026-01-05,C1,thank_you,X,1,0.5,True,FALSE,DE\n"
        + "R6,2026-01-05,C1,thank_you,X,1e20,0.5,1,0,DE\n"  # beyond int64: it read as < 0
        + "R7,2026-01-05,C1,thank_you,X,99999999999999999999,0.5,1,0,DE\n",
    )
    impressions = read_impressions(path)
    assert list(impressions["request_id"]) == ["R1", "R5"]
    assert (impressions.loc[1, "clicked"], impressions.loc[1, "converted"]) == (1, 0)
    assert impressions.loc[0, "ctx_country"] == "DE"
    assert dict(impressions.attrs["skipped"]) == {
        "position not a whole number from 1 to 1000": 3,
        "propensity not in (0, 1]": 1,
        "clicked/converted not 0 or 1 (or true/false)": 1,
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        pytest.param(
            "orders.csv",
            HEADER + "K1,C1,2026-01-05,A,1,1\nN2,C1,2026-01-05,B\x00,1,1\n",
            id="orders",
        ),
        pytest.param(
            "products.csv",
            "sku,title,category,price\nK1,Mug,Kitchen,4\nN2,Tea\x00Pot,Kitchen,9\n",
            id="products",
        ),
        pytest.param(
            "impressions.csv",
            IMPRESSIONS_HEADER
            + "K1,2026-01-05,C1,thank_you,X,1,0.5,1,0\n"
            + "N2,2026-01-05,C1\x00,thank_you,X,1,0.5,1,0\n",
            id="impressions",
        ),
    ],
)
def test_rows_holding_a_nul_character_are_skipped_and_counted(write_file, name, content):
    path = write_file(name, content)
    if name == "orders.csv":
        result = read_orders(path)
        table, skipped = result.lines, result.skipped
    else:
        table = (read_products if name == "products.csv" else read_impressions)(path)
        skipped = table.attrs["skipped"]
    assert list(table.iloc[:, 0]) == ["K1"]
    assert skipped == {"NUL character in a field": 1}


def test_rows_with_a_field_longer_than_the_store_holds_are_skipped(write_file):
    long_email = "a" * 300 + "@example.com"  # stored as its 39-character digest, so it fits
    orders = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,currency\n"
        f"O1,{long_email},2026-01-05,A,USD\n"
        f"{'O' * 129},C1,2026-01-05,A,USD\n"
        f"O3,{'C' * 129},2026-01-05,A,USD\n"
        f"O4,C1,2026-01-05,A,{'X' * 17}\n",
    )
    result = read_orders(orders)
    assert list(result.lines["order_id"]) == ["O1"]
    assert result.skipped == {
        "order_id longer than 128 characters": 1,
        "customer_id longer than 128 characters": 1,
        "currency longer than 16 characters": 1,
    }
    products = read_products(
        write_file(
            "products.csv",
            "sku,title,category,price,url\n"
            f"A,{'T' * 500},Cams,1,https://shop.example/a\n"
            f"B,{'T' * 501},Cams,1,https://shop.example/b\n"
            f"C,Camera,Cams,1,https://shop.example/{'c' * 2000}\n",
        )
    )
    assert list(products["sku"]) == ["A"]
    assert products.attrs["skipped"] == {
        "title longer than 500 characters": 1,
        "url longer than 2000 characters": 1,
    }


def test_a_gzipped_file_reads_as_the_plain_one(write_file):
    content = HEADER + "O1,C1,2026-01-05,A,1,9.5\nO2,,2026-01-05,B,1,1\nO3,C2,2026-01-06,B,2,1\n"
    plain = read_orders(write_file("orders.csv", content))
    gzipped = read_orders(write_file("orders.csv.gz", gzip.compress(content.encode())))
    assert gzipped.lines.equals(plain.lines)
    assert (gzipped.n_read, gzipped.skipped) == (3, {"no customer id": 1})


_GZIPPED_ORDERS = gzip.compress(
    (HEADER + "".join(f"O{n},C{n},2026-01-05,A,1,1\n" for n in range(5000))).encode()
)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        pytest.param(
            "orders.csv.gz",
            b"order_id,customer_id,ordered_at,sku\n",
            "orders.csv.gz: not gzip data (the name ends in .gz)",
            id="not-gzip",
        ),
        pytest.param(
            "orders.csv.gz",
            _GZIPPED_ORDERS[:5000],
            "orders.csv.gz: gzip data, cut short or damaged",
            id="cut-short",
        ),
        pytest.param(
            "orders.csv",
            _GZIPPED_ORDERS[:5000],
            "orders.csv: gzip data, cut short or damaged",
            id="cut-short-without-gz-name",
        ),
        pytest.param(
            "ORDERS.CSV.GZ",
            _GZIPPED_ORDERS[:10] + b"\xff" * 200,
            "ORDERS.CSV.GZ: gzip data, cut short or damaged",
            id="damaged",
        ),
    ],
)
def test_a_gz_file_that_is_not_whole_gzip_is_one_clear_error(write_file, name, content, message):
    with pytest.raises(InputError) as raised:
        read_orders(write_file(name, content))
    assert str(raised.value) == message


@pytest.mark.parametrize("name", ["ONE.CSV.GZ", "orders.Csv.Gz", "orders.csv", "orders.txt"])
def test_gzipped_files_are_read_whatever_their_name(write_file, name):
    content = HEADER + "O1,C1,2026-01-05,A,1,9.5\n"
    plain = read_orders(write_file("plain.csv", content))
    gzipped = read_orders(write_file(name, gzip.compress(content.encode())))
    assert gzipped.lines.equals(plain.lines)


def _zipped(member: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, content)
    return buffer.getvalue()


ORDERS = (HEADER + "O1,C1,2026-01-05,A,1,1\n").encode()


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        pytest.param(
            "orders.xlsx",
            _zipped("xl/workbook.xml", b"<workbook/>"),
            "a ZIP archive (an Excel workbook is one)",
            id="excel-workbook",
        ),
        pytest.param(
            "orders.csv.zip",
            _zipped("orders.csv", ORDERS),
            "a ZIP archive (an Excel workbook is one)",
            id="zip",
        ),
        pytest.param(
            "orders.xls",
            bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504),
            "an Excel 97-2003 workbook",
            id="old-excel",
        ),
        pytest.param("orders.csv.bz2", bz2.compress(ORDERS), "bzip2 data", id="bzip2"),
        pytest.param("orders.csv.xz", lzma.compress(ORDERS), "xz data", id="xz"),
        pytest.param("orders.csv.zst", bytes.fromhex("28b52ffd") + ORDERS, "zstd data", id="zstd"),
    ],
)
def test_a_workbook_or_an_archive_is_named_for_what_it_is(write_file, name, content, kind):
    with pytest.raises(InputError) as raised:
        read_orders(write_file(name, content))
    assert str(raised.value) == (
        f"{name}: {kind}, not CSV text (save it as a UTF-8 CSV file; .csv.gz is read as is)"
    )


def test_rows_with_blank_order_fields_take_them_from_their_orders_first_row(write_file):
    path = write_file(
        "orders.csv",
        "order_id,customer_id,ordered_at,sku,quantity,country,currency\n"
        "#1001,ann@shop.example,2026-01-05 10:00:00 +0100,A,1,DE,EUR\n"
        "#1001,,,B,2,,\n"  # Shopify leaves the order's fields blank on its later lines
        "#1002,,,C,1,,\n",  # no row of the order has them: still no customer id
    )
    result = read_orders(path)
    lines = result.lines.set_index("sku")
    assert lines.loc["B", "customer_id"] == customer_key("ann@shop.example")
    assert lines.loc["B", "ordered_at"] == pd.Timestamp("2026-01-05 09:00:00")
    assert lines.loc[["A", "B"], ["country", "currency"]].values.tolist() == [["DE", "EUR"]] * 2
    assert result.skipped == {FILLED: 1, "no customer id": 1}


@pytest.mark.parametrize(
    ("quantity", "price", "expected"),
    [
        pytest.param("1,000", "19,990", [1, 19.99], id="three-decimals"),
        pytest.param("2,375", "12,5000", [2.375, 12.5], id="weight-and-four-decimals"),
        pytest.param("1.000,000", "1.299,00", [1000, 1299.0], id="dot-thousands"),
        pytest.param("3", "4.5", [3, 4.5], id="plain"),
        pytest.param("1,000.5", "$1,299.00", [1000.5, 1299.0], id="a-dot-after-the-comma"),
    ],
)
def test_a_semicolon_separated_file_reads_its_commas_as_decimal_marks(
    write_file, quantity, price, expected
):
    path = write_file(
        "orders.csv",
        "\ufefforder_id;customer_id;ordered_at;sku;quantity;price\r\n"
        f"RE-1;K1;02.11.2025;A;{quantity};{price}\r\n",
    )
    result = read_orders(path)
    assert result.lines.loc[0, ["quantity", "price"]].tolist() == expected
    assert not result.skipped


def test_rows_of_a_line_sold_by_weight_sum_to_the_quantity_as_written(write_file):
    path = write_file(
        "orders.csv",
        HEADER + "O1,C1,2026-01-05,A,1.1,2\nO1,C1,2026-01-05,A,2.2,2\nO2,C1,2026-01-06,B,0.1,2\n"
        "O2,C1,2026-01-06,B,0.2,2\n",
    )
    assert read_orders(path).lines["quantity"].tolist() == [3.3, 0.3]


def test_a_semicolon_separated_products_file_reads_its_margins_as_its_prices(write_file):
    path = write_file(
        "products.csv",
        "sku;title;category;price;margin\r\n"
        "A;Coffee;Food;19,990;5,250\r\n"
        "B;Mill;Food;1.299,00;300,000\r\n",
    )
    products = read_products(path)
    assert products["price"].tolist() == [19.99, 1299.0]
    assert products["margin"].tolist() == [5.25, 300.0]


def test_a_quantity_with_a_comma_in_a_comma_separated_file_is_unreadable(write_file):
    path = write_file("orders.csv", HEADER + 'O1,C1,2026-01-05,A,"1,000",1\n')
    assert read_orders(path).skipped == {"unreadable quantity": 1}


def test_a_missing_column_names_the_files_other_columns_to_rename(write_file):
    path = write_file(
        "orders_export.csv",
        "Name,Email,Created at,Lineitem quantity,Lineitem sku,Currency\n"
        "#1001,ann@shop.example,2026-01-05 10:00:00 +0100,1,A,EUR\n",
    )
    with pytest.raises(InputError) as raised:
        read_orders(path)
    assert str(raised.value) == (
        "orders_export.csv: missing required columns `order_id`, `customer_id`, `ordered_at`,"
        " `sku`; rename the columns that hold them (the file's others: `Name`, `Email`,"
        " `Created at`, `Lineitem quantity`, `Lineitem sku`)"
    )
