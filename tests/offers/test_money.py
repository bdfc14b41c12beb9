"""Amounts as shop exports and servers write them."""

import math

import pytest

from offers.money import read_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("19.99", 19.99, id="plain"),
        pytest.param("$1,299.00", 1299.0, id="sign-and-thousands"),
        pytest.param("1.299,00 EUR", 1299.0, id="code-and-decimal-comma"),
        pytest.param("-5", -5.0, id="minus"),
        pytest.param("(5.00)", -5.0, id="accounting-negative"),
        pytest.param("($1,299.00)", -1299.0, id="accounting-negative-with-sign"),
        pytest.param(" (12,50 €) ", -12.5, id="accounting-negative-decimal-comma"),
        pytest.param("$(5.00)", -5.0, id="sign-before-the-parentheses"),
        pytest.param("(5.00) EUR", -5.0, id="code-after-the-parentheses"),
        pytest.param("€ (5,00)", -5.0, id="sign-and-space-before"),
        pytest.param("()", math.nan, id="parentheses-alone"),
        pytest.param("abc", math.nan, id="no-number"),
    ],
)
def test_amounts_are_read_as_people_write_them(text, expected):
    amount = read_amount(text)
    assert math.isnan(amount) if math.isnan(expected) else amount == expected
