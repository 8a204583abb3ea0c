"""Money, quantities and parsing what people type: exact, and refusing with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.money import Money, currency_exponent, round_half_even
from domain.parsing import parse_money, parse_percent_bp, parse_quantity
from domain.quantity import Quantity


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("1,500.50", 150050),
        ("1 500", 150000),
        ("1500", 150000),
        ("１５００", 150000),
        ("2.5", 250),
        ("¥1,200", 120000),
        ("1,5", 150),
        ("1.500,50", 150050),
        ("٣٤", 3400),
        ("12 345 678", 1234567800),
        ("  7元 ", 700),
        ("RMB 30", 3000),
    ],
)
def test_amounts_as_people_type_them(text: str, minor: int) -> None:
    assert parse_money(text, "CNY") == Money(minor, "CNY")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("-3", "negative"),
        ("0", "zero"),
        ("1e9", "not_a_number"),
        ("NaN", "not_a_number"),
        ("inf", "not_a_number"),
        ("Infinity", "not_a_number"),
        ("abc", "not_a_number"),
        ("", "empty"),
        ("   ", "empty"),
        ("999999999", "too_large"),
        ("1.234", "too_many_decimals"),
        ("1,2,3", "not_a_number"),
        ("1" * 60, "too_long"),
        ("'); DROP TABLE orders;--", "not_a_number"),
    ],
)
def test_bad_amounts_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_money(text, "CNY")
    assert refused.value.reason == reason


def test_currency_exponent_follows_iso_4217() -> None:
    assert currency_exponent("CNY") == 2
    assert currency_exponent("jpy") == 0
    assert currency_exponent("KWD") == 3
    assert parse_money("1,200", "JPY") == Money(1200, "JPY")
    with pytest.raises(InvalidInput) as refused:
        parse_money("12.5", "JPY")
    assert refused.value.reason == "too_many_decimals"
    with pytest.raises(ValueError):
        currency_exponent("€")


def test_quantities_respect_the_unit() -> None:
    assert parse_quantity("2.5") == Quantity(2500)
    assert parse_quantity("1 500", decimals=0) == Quantity(1_500_000)
    assert parse_quantity("0,125") == Quantity(125)
    with pytest.raises(InvalidInput) as refused:
        parse_quantity("2.5", decimals=0)
    assert refused.value.reason == "too_many_decimals"
    with pytest.raises(InvalidInput) as refused:
        parse_quantity("0")
    assert refused.value.reason == "zero"
    assert parse_quantity("0", allow_zero=True) == Quantity(0)


def test_discount_percent() -> None:
    assert parse_percent_bp("12.5%") == 1250
    assert parse_percent_bp("0") == 0
    for bad in ("101", "-1", "1.255"):
        with pytest.raises(InvalidInput):
            parse_percent_bp(bad)


def test_money_refuses_floats_and_mixed_currencies() -> None:
    with pytest.raises(TypeError):
        Money(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Quantity.of(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Money(1, "CNY") + Money(1, "USD")
    assert str(Money(-123456, "CNY")) == "-1,234.56 CNY"
    assert Money(5, "CNY") - Money(7, "CNY") == Money(-2, "CNY")


def test_round_half_even() -> None:
    assert round_half_even(5, 10) == 0
    assert round_half_even(15, 10) == 2
    assert round_half_even(25, 10) == 2
    assert round_half_even(-15, 10) == -2


@given(st.integers(min_value=1, max_value=10_000_000_000))
def test_formatted_money_parses_back(minor: int) -> None:
    money = Money(minor, "CNY")
    assert parse_money(money.plain(), "CNY") == money


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal(999_999), places=3))
def test_quantity_text_round_trips(value: Decimal) -> None:
    quantity = parse_quantity(str(value))
    assert quantity.to_decimal() == value
    assert parse_quantity(str(quantity)) == quantity


@given(st.text(max_size=50))
def test_parsing_never_crashes(text: str) -> None:
    try:
        parse_money(text, "CNY")
    except InvalidInput as refused:
        assert refused.reason
