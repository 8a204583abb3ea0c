"""Translations (gettext catalogs managed with Babel) and locale-aware formatting.

Messages are written in English in the code as ``t("Order {number} placed", number=…)``;
the catalog in handlers/locales/<lang>/LC_MESSAGES/chaterp.po gives the translation, and
every value put into a message is HTML-escaped unless it is wrapped in ``Html``.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, format_interval, format_skeleton
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    get_currency_symbol,
)

from domain.money import Money
from domain.quantity import Quantity
from handlers.text import escape

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "chaterp"
LANGUAGES: dict[str, str] = {"en": "English", "zh_Hans": "简体中文"}
BABEL_LOCALE = {"en": "en", "zh_Hans": "zh_Hans_CN"}


def N_(message: str) -> str:
    """Mark a string for translation where it is defined (translated later, when shown)."""
    return message


class Html(str):
    """Text that is already safe HTML (built by us), so it is not escaped again."""

    __slots__ = ()


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The user's choice, else their Telegram app language, else the default."""
    if chosen in LANGUAGES:
        return chosen
    code = (telegram_code or "").replace("_", "-").casefold()
    if code.startswith("zh"):
        return "zh_Hans"
    if code.startswith("en"):
        return "en"
    return default if default in LANGUAGES else "en"


@cache
def _catalog(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALES_DIR, languages=[language], fallback=False)


@dataclass(frozen=True, slots=True)
class Translator:
    """Translated, escaped, locale-formatted text for one language."""

    language: str
    timezone: str = "Asia/Shanghai"

    def __call__(self, message: str, /, **values: object) -> str:
        return self._fill(_catalog(self.language).gettext(message), values)

    def n(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        """Plural form for ``count`` (``{count}`` is available in the text)."""
        text = _catalog(self.language).ngettext(singular, plural, count)
        return self._fill(text, {"count": count, **values})

    def _fill(self, text: str, values: dict[str, object]) -> str:
        if not values:
            return text
        safe = {
            key: value if isinstance(value, Html) else escape(self._plain(value))
            for key, value in values.items()
        }
        return text.format(**safe)

    def _plain(self, value: object) -> object:
        if isinstance(value, Money):
            return self.money(value)
        if isinstance(value, Quantity):
            return self.quantity(value)
        if isinstance(value, datetime):
            return self.when(value)
        if isinstance(value, date):
            return self.day(value)
        return value

    @property
    def locale(self) -> str:
        return BABEL_LOCALE.get(self.language, "en")

    def money(self, amount: Money) -> str:
        return _money(amount, self.locale)

    def money_short(self, amount: Money) -> str:
        """Compact money for chart axes: ``CN¥12.5K`` in English, ``¥1.25万`` in Chinese."""
        return format_compact_currency(
            amount.to_decimal(), amount.currency, locale=self.locale, fraction_digits=2
        )

    def currency_symbol(self, currency: str) -> str:
        """``CN¥`` in English, ``¥`` in Chinese."""
        return get_currency_symbol(currency, locale=self.locale)

    def quantity(self, quantity: Quantity) -> str:
        return _quantity(quantity, self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def short_day(self, value: date) -> str:
        """Day and month: ``Mar 2`` / ``3月2日``."""
        return format_skeleton("MMMd", value, locale=self.locale)

    def days(self, first: date, last: date) -> str:
        """A range of days: ``Mar 2 – 8, 2026`` / ``2026年3月2日至8日``."""
        if first == last:
            return self.day(first)
        return format_interval(first, last, skeleton="yMMMd", locale=self.locale)

    def month(self, value: date) -> str:
        """``March 2026`` / ``2026年3月``."""
        return format_skeleton("yMMMM", value, locale=self.locale)

    def when(self, value: datetime) -> str:
        local = value.astimezone(ZoneInfo(self.timezone))
        return format_datetime(local, format="short", locale=self.locale)


# Babel parses the locale and the number pattern on every call; the same prices, totals and
# quantities come back message after message, so their texts are kept (both are immutable).
FORMATTED_KEPT = 8192


@lru_cache(maxsize=FORMATTED_KEPT)
def _money(amount: Money, locale: str) -> str:
    return format_currency(amount.to_decimal(), amount.currency, locale=locale)


@lru_cache(maxsize=FORMATTED_KEPT)
def _quantity(quantity: Quantity, locale: str) -> str:
    return format_decimal(quantity.to_decimal(), format="#,##0.###", locale=locale)
