"""Parsing numbers as people type them: ``1,500.50``, ``1 500``, ``１５００``, ``¥1,200``."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from domain.errors import InvalidInput
from domain.money import Money, currency_exponent
from domain.quantity import SCALE, Quantity

MAX_AMOUNT_MAJOR = Decimal(100_000_000)  # a sane cap for one payment, price or limit
MAX_QUANTITY = Decimal(1_000_000)
MAX_INPUT_CHARS = 40

_CURRENCY_MARKS = re.compile(r"[¥￥$€£₽₹₩元圆块]|\b(?:rmb|cny|usd|eur|gbp|rub|jpy|krw|inr)\b", re.I)
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f'’_]+")
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")
_GROUPED_COMMAS = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")


def _ascii_digits(text: str) -> str:
    """Replace any Unicode decimal digit (full-width, Arabic-Indic…) with its ASCII digit."""
    if text.isascii():
        return text
    out = []
    for char in text:
        if not char.isascii() and char.isdecimal():
            out.append(str(unicodedata.decimal(char)))
        else:
            out.append(char)
    return "".join(out)


def parse_decimal(text: str, field: str = "number") -> Decimal:
    """Decimal from chat text, or InvalidInput with reason empty/not_a_number/too_long."""
    raw = text or ""
    if len(raw) > MAX_INPUT_CHARS:
        raise InvalidInput(field, "too_long", raw)
    cleaned = unicodedata.normalize("NFKC", raw)
    cleaned = _ascii_digits(cleaned)
    cleaned = _CURRENCY_MARKS.sub("", cleaned)
    cleaned = _SPACES.sub("", cleaned).replace("−", "-")
    if not cleaned:
        raise InvalidInput(field, "empty", raw)
    if "," in cleaned and "." in cleaned:
        # The later separator is the decimal point: 1,500.50 and 1.500,50.
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        elif _GROUPED_COMMAS.fullmatch(cleaned):
            cleaned = cleaned.replace(",", "")
        else:
            raise InvalidInput(field, "not_a_number", raw)
    elif "," in cleaned:
        # 1,500 / 12,345,678 are thousands; 1,5 and 2,25 are a decimal comma.
        cleaned = (
            cleaned.replace(",", "")
            if _GROUPED_COMMAS.fullmatch(cleaned)
            else cleaned.replace(",", ".")
        )
    if not _PLAIN_NUMBER.fullmatch(cleaned):
        # Also rejects NaN, Infinity and exponent forms like 1e9.
        raise InvalidInput(field, "not_a_number", raw)
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise InvalidInput(field, "not_a_number", raw) from exc


def _check_sign(value: Decimal, raw: str, field: str, allow_zero: bool) -> None:
    if value < 0:
        raise InvalidInput(field, "negative", raw)
    if value == 0 and not allow_zero:
        raise InvalidInput(field, "zero", raw)


def parse_money(
    text: str, currency: str, *, field: str = "amount", allow_zero: bool = False
) -> Money:
    """Money from text like ``¥1,200.50``; at most the currency's decimals; capped."""
    value = parse_decimal(text, field)
    _check_sign(value, text, field, allow_zero)
    if value > MAX_AMOUNT_MAJOR:
        raise InvalidInput(field, "too_large", text, maximum=MAX_AMOUNT_MAJOR)
    exponent = currency_exponent(currency)
    if -int(value.normalize().as_tuple().exponent) > exponent:
        raise InvalidInput(field, "too_many_decimals", text, decimals=exponent)
    return Money.from_decimal(value, currency)


def parse_quantity(
    text: str, *, decimals: int = 3, field: str = "quantity", allow_zero: bool = False
) -> Quantity:
    """Quantity from text like ``2.5`` or ``1 500``; ``decimals`` is what the unit allows."""
    value = parse_decimal(text, field)
    _check_sign(value, text, field, allow_zero)
    if value > MAX_QUANTITY:
        raise InvalidInput(field, "too_large", text, maximum=MAX_QUANTITY)
    if -int(value.normalize().as_tuple().exponent) > decimals:
        raise InvalidInput(field, "too_many_decimals", text, decimals=decimals)
    return Quantity(int(value * SCALE))


def parse_percent_bp(text: str, *, field: str = "discount") -> int:
    """Discount percent (``5``, ``12.5%``) as basis points, 0..10000."""
    value = parse_decimal(text.replace("%", ""), field)
    _check_sign(value, text, field, allow_zero=True)
    if value > 100:
        raise InvalidInput(field, "too_large", text, maximum=100)
    basis_points = value * 100
    if basis_points != basis_points.to_integral_value():
        raise InvalidInput(field, "too_many_decimals", text, decimals=2)
    return int(basis_points)
