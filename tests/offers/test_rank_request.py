"""The /v1/rank body, read as shops' templates write it (offers.rank_request)."""

import json
from datetime import UTC, datetime

import msgspec
import pytest

from offers.rank_request import Customer, Item, Order, RankRequest, rank_decoder


def decode(body: dict) -> RankRequest:
    return rank_decoder.decode(json.dumps(body).encode())


def test_whole_number_ids_are_read_as_their_digits() -> None:
    body = decode(
        {"order": {"id": 1001, "items": [{"sku": 4006381333931}]}, "customer": {"id": 42}}
    )

    assert (body.order.id, body.order.items[0].sku, body.customer.id) == (
        "1001",
        "4006381333931",
        "42",
    )


def test_ids_skus_and_categories_are_trimmed_as_files_are() -> None:
    body = decode(
        {
            "order": {"id": " 1001 ", "items": [{"sku": "SKU-1 ", "category": " Tents"}]},
            "customer": {"id": "c1\t"},
        }
    )

    assert (body.order.id, body.customer.id) == ("1001", "c1")
    assert (body.order.items[0].sku, body.order.items[0].category) == ("SKU-1", "Tents")


def test_numbers_written_as_strings_are_read_as_numbers() -> None:
    body = decode(
        {
            "order": {"total": "59.90", "items": [{"sku": "a", "price": "19.99", "quantity": "2"}]},
            "customer": {"is_returning": "true"},
            "limit": "2",
        }
    )

    assert (body.order.total, body.order.items[0].price, body.order.items[0].quantity) == (
        59.9,
        19.99,
        2,
    )
    assert (body.customer.is_returning, body.limit) == (True, 2)


def test_a_quantity_with_a_fraction_is_an_amount_sold_by_weight() -> None:
    body = decode({"order": {"items": [{"sku": "flour", "price": 1.2, "quantity": 2.5}]}})

    assert (body.order.items[0].quantity, body.order.grand_total) == (2.5, 3.0)


@pytest.mark.parametrize(
    ("written", "amount"),
    [("19.99", 19.99), ("1,299.00", 1299.0), ("1.299,00", 1299.0), ("19,99 €", 19.99)],
)
def test_amounts_written_as_text_are_read_as_in_files(written: str, amount: float) -> None:
    body = decode({"order": {"total": written, "items": [{"sku": "a", "price": written}]}})

    assert (body.order.total, body.order.items[0].price) == (amount, amount)


_OPTIONAL_FIELDS = [
    (struct, field.name)
    for struct in (Item, Order, Customer, RankRequest)
    for field in msgspec.structs.fields(struct)
    if field.required is False
]


def _body_with(struct: type, name: str, value: object) -> dict:
    """A minimal body with ``struct``'s field ``name`` set to ``value`` (left out for ...)."""
    body: dict = {"order": {"items": [{"sku": "a"}]}, "customer": {}}
    part = {
        RankRequest: body,
        Order: body["order"],
        Item: body["order"]["items"][0],
        Customer: body["customer"],
    }[struct]
    part[name] = value
    if value is ...:
        del part[name]
    return body


@pytest.mark.parametrize(
    ("struct", "name"), _OPTIONAL_FIELDS, ids=[f"{s.__name__}.{n}" for s, n in _OPTIONAL_FIELDS]
)
def test_null_in_an_optional_field_reads_as_the_field_left_out(struct: type, name: str) -> None:
    assert decode(_body_with(struct, name, None)) == decode(_body_with(struct, name, ...))


def test_an_attribute_set_to_null_is_dropped() -> None:
    body = decode({"order": {}, "attributes": {"channel": "web", "coupon": None}})

    assert body.attributes == {"channel": "web"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order": {"items": [{"sku": "a", "price": "call us"}]}}, "order.items[0]"),
        ({"order": {"items": [{"sku": "a", "price": "-5.00"}]}}, "order.items[0]"),
        ({"order": {"items": [{"sku": "a", "quantity": 0}]}}, "order.items[0].quantity"),
        ({"order": {"items": [{"sku": "a", "quantity": -2.5}]}}, "order.items[0].quantity"),
        ({"order": {"items": [{"sku": True}]}}, "order.items[0].sku"),
        ({"order": {"items": [{"sku": "  "}]}}, "order.items[0]"),
        ({"order": {"id": -1}}, "order.id"),
        ({"order": {"id": 1.5}}, "order.id"),
        ({"order": {}, "attributes": {"tags": ["a", "b"]}}, "attributes[...]"),
        ({"order": None}, "order"),
        ({"order": {}, "limit": 0}, "limit"),
    ],
)
def test_what_a_template_cannot_mean_is_still_refused_naming_the_field(
    body: dict, field: str
) -> None:
    with pytest.raises(msgspec.ValidationError) as refused:
        decode(body)

    assert str(refused.value).endswith(f"at `$.{field}`")


def test_an_order_placed_by_a_clock_running_ahead_counts_as_placed_now() -> None:
    order = Order(ordered_at="2999-01-01T00:00:00Z", items=[Item(sku="A")])

    assert order.placed_at is not None
    assert order.placed_at <= datetime.now(UTC).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2026-10-31T12:00:00Z", datetime(2026, 10, 31, 12)),
        ("2026-10-31 13:00:00 +0100", datetime(2026, 10, 31, 12)),
        ("2026-10-31T13:00:00+01", datetime(2026, 10, 31, 12)),
        ("2026-10-31 13:00:00 UTC+1", datetime(2026, 10, 31, 12)),  # as files read it
        ("2026-10-31 07:00:00 GMT-05:00", datetime(2026, 10, 31, 12)),
        ("20261031T120000Z", datetime(2026, 10, 31, 12)),
        ("20261031", datetime(2026, 10, 31)),  # a basic ISO date, not 1970's Unix time
        ("Sat Oct 31 2026 13:00:00 GMT+0100 (CET)", datetime(2026, 10, 31, 12)),
        (1793448000, datetime(2026, 10, 31, 12)),
        ("1793448000000", datetime(2026, 10, 31, 12)),
        (20261031, None),  # eight digits as a number: no Unix time files would read
        (10**400, None),
        (1e300, None),
        ("31/10/2026", None),
    ],
)
def test_ordered_at_is_read_as_pages_and_files_write_it(written: object, expected: object) -> None:
    order = Order(ordered_at=written, items=[Item(sku="A")])

    assert order.placed_at == expected


def test_a_huge_whole_number_as_ordered_at_ranks_as_of_now() -> None:
    body = rank_decoder.decode(b'{"order": {"ordered_at": 1' + b"0" * 400 + b', "items": []}}')

    assert body.order.placed_at is None


def test_a_whole_number_with_more_digits_than_python_writes_out_is_ignored() -> None:
    assert Order(ordered_at=10**5000, items=[Item(sku="A")]).placed_at is None


LONG_EMAIL = "x" * 120 + "@mail.example"  # 133 characters: past an id's 128


def test_an_order_or_customer_id_holding_a_long_email_is_read_for_its_digest() -> None:
    body = decode({"order": {"id": LONG_EMAIL, "items": []}, "customer": {"id": LONG_EMAIL}})

    assert (body.order.id, body.customer.id) == (LONG_EMAIL, LONG_EMAIL)


@pytest.mark.parametrize("where", ["order", "customer"])
def test_an_id_past_128_characters_without_an_email_is_refused(where: str) -> None:
    body: dict = {"order": {"items": []}}
    body.setdefault(where, {})["id"] = "x" * 129

    with pytest.raises(msgspec.ValidationError, match=r"`id` of length <= 128 \(or an email\)"):
        decode(body)
