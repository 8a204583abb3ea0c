"""Turning one cell's text into a value, or raising ``InvalidInput`` (which ``reasons`` words).

Money and quantities go through ``domain.parsing`` (amounts as people type them:
``1,200.50``, ``¥1 200``, full-width digits), cached because catalog files repeat them.
Birthday and payment terms are parsed here: they exist only in customer files (the
package docstring says why a birthday needs its year).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal
from functools import lru_cache

from domain.errors import InvalidInput
from domain.money import Money
from domain.parsing import parse_decimal, parse_money, parse_quantity
from domain.quantity import Quantity
from domain.services.customers import MAX_PAYMENT_TERMS_DAYS

MIN_BIRTH_YEAR = 1900
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_DAY = re.compile(r"\d{1,2}[-/.]\d{1,2}")


# Catalog files repeat the same prices and quantities; results are immutable, so remember
# the recent ones (refusals are not cached: they raise, and bad cells are rare).
@lru_cache(maxsize=4096)
def parse_money_cell(text: str, currency: str, column: str) -> Money:
    return parse_money(text, currency, field=column, allow_zero=True)


@lru_cache(maxsize=4096)
def parse_quantity_cell(text: str, decimals: int, column: str, allow_zero: bool) -> Quantity:
    return parse_quantity(text, decimals=decimals, field=column, allow_zero=allow_zero)


def parse_birthday(text: str, today: date) -> date:
    """An ISO ``YYYY-MM-DD`` date between 1900 and today; MM-DD is refused with a hint."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if _MONTH_DAY.fullmatch(cleaned):
        raise InvalidInput("birthday", "year_missing", text)
    if not _ISO_DATE.fullmatch(cleaned):
        raise InvalidInput("birthday", "not_a_date", text)
    try:
        value = date.fromisoformat(cleaned)
    except ValueError as exc:
        raise InvalidInput("birthday", "no_such_date", text) from exc
    if value > today:
        raise InvalidInput("birthday", "in_future", text)
    if value.year < MIN_BIRTH_YEAR:
        raise InvalidInput("birthday", "too_early", text, minimum=MIN_BIRTH_YEAR)
    return value


def parse_payment_terms(text: str) -> int:
    """Whole days, 0..MAX_PAYMENT_TERMS_DAYS."""
    value = parse_decimal(text, "payment_terms_days")
    if value != value.to_integral_value():
        raise InvalidInput("payment_terms_days", "not_whole_days", text)
    if not Decimal(0) <= value <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(
            "payment_terms_days", "out_of_range", text, maximum=MAX_PAYMENT_TERMS_DAYS
        )
    return int(value)
