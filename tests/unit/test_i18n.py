"""Languages: picking one, locale formatting, escaping of values, and the catalogs themselves."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages import mofile, pofile
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from domain.money import Money
from domain.quantity import Quantity
from handlers.i18n import LOCALES_DIR, Html, Translator, pick_language

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALES_DIR / "chaterp.pot"
PO = LOCALES_DIR / "zh_Hans" / "LC_MESSAGES" / "chaterp.po"
MO = LOCALES_DIR / "zh_Hans" / "LC_MESSAGES" / "chaterp.mo"
KEYWORDS = {"t": None, "n": (1, 2), "N_": None}  # as in the Makefile's `pybabel extract`
UTC = ZoneInfo("UTC")

en = Translator("en")
zh = Translator("zh_Hans")


# --- which language -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chosen", "telegram", "default", "expected"),
    [
        ("zh_Hans", "en", "en", "zh_Hans"),  # the /language choice wins
        ("en", "zh-hans", "zh_Hans", "en"),
        (None, "zh-hans", "en", "zh_Hans"),  # else the Telegram app language
        (None, "zh-CN", "en", "zh_Hans"),
        (None, "zh_TW", "en", "zh_Hans"),
        (None, "ZH", "en", "zh_Hans"),
        (None, "en-GB", "zh_Hans", "en"),
        (None, "EN", "zh_Hans", "en"),
        (None, "de", "zh_Hans", "zh_Hans"),  # else DEFAULT_LANGUAGE
        (None, None, "en", "en"),
        (None, "", "zh_Hans", "zh_Hans"),
        ("fr", None, "zh_Hans", "zh_Hans"),  # a stored choice we no longer offer is ignored
        ("", "zh", "en", "zh_Hans"),
        (None, None, "xx", "en"),  # a bad default falls back to English
        (None, "ru", "klingon", "en"),
    ],
)
def test_pick_language(
    chosen: str | None, telegram: str | None, default: str, expected: str
) -> None:
    assert pick_language(chosen, telegram, default) == expected


# --- formatting -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("money", "english", "chinese"),
    [
        (Money(123450, "CNY"), "CN¥1,234.50", "¥1,234.50"),
        (Money(-50, "CNY"), "-CN¥0.50", "-¥0.50"),
        (Money(0, "CNY"), "CN¥0.00", "¥0.00"),
        (Money(123456789012, "CNY"), "CN¥1,234,567,890.12", "¥1,234,567,890.12"),
        (Money(123450, "USD"), "$1,234.50", "US$1,234.50"),
        (Money(1000, "EUR"), "€10.00", "€10.00"),
    ],
)
def test_money_in_both_languages(money: Money, english: str, chinese: str) -> None:
    assert en.money(money) == english
    assert zh.money(money) == chinese
    assert en("Total: {amount}", amount=money) == f"Total: {english}"


@pytest.mark.parametrize(
    ("quantity", "text"),
    [("1234.5", "1,234.5"), ("0.125", "0.125"), ("10", "10"), ("1000000", "1,000,000")],
)
def test_quantities_keep_their_exact_decimals(quantity: str, text: str) -> None:
    assert en.quantity(Quantity.of(quantity)) == text
    assert zh.quantity(Quantity.of(quantity)) == text
    assert en("{q} box", q=Quantity.of(quantity)) == f"{text} box"


def test_dates_and_times_in_the_business_time_zone() -> None:
    assert en.day(date(2026, 3, 2)) == "Mar 2, 2026"
    assert zh.day(date(2026, 3, 2)) == "2026年3月2日"
    morning_utc = datetime(2026, 3, 2, 1, 5, tzinfo=UTC)  # 09:05 in Shanghai
    assert en.when(morning_utc) == "3/2/26, 9:05\u202fAM"
    assert zh.when(morning_utc) == "2026/3/2 09:05"
    new_year = datetime(2026, 12, 31, 18, 30, tzinfo=UTC)  # already 2027 in Shanghai
    assert zh.when(new_year) == "2027/1/1 02:30"
    assert Translator("en", "Europe/London").when(morning_utc) == "3/2/26, 1:05\u202fAM"
    assert en("Due {day}", day=date(2026, 3, 2)) == "Due Mar 2, 2026"
    assert zh("{at}", at=morning_utc) == "2026/3/2 09:05"


# --- escaping -------------------------------------------------------------------------------


def test_values_are_escaped_and_html_is_left_alone() -> None:
    assert en("Customer {name}", name="<b>x</a>") == "Customer &lt;b&gt;x&lt;/a&gt;"
    assert en("Customer {name}", name="Tom & Jerry") == "Customer Tom &amp; Jerry"
    assert en("Note: {note}", note="_a_ *b*") == "Note: _a_ *b*"
    assert en("{a} {b}", a=Html("<b>ok</b>"), b="<b>no</b>") == "<b>ok</b> &lt;b&gt;no&lt;/b&gt;"
    assert zh("Customer {name}", name="<i>") == zh("Customer {name}", name=Html("&lt;i&gt;"))


def test_values_are_not_formatted_twice() -> None:
    assert en("Hello {name}", name="{name} {0} {x.y}") == "Hello {name} {0} {x.y}"
    assert en("No values keeps {braces} as written") == "No values keeps {braces} as written"


def test_money_and_quantity_values_are_escaped_too() -> None:
    # Babel output is plain text; escaping it must not change it (no & or < in it).
    assert en("{m}", m=Money(123450, "CNY")) == "CN¥1,234.50"


def test_plurals() -> None:
    assert en.n("{count} order", "{count} orders", 1) == "1 order"
    assert en.n("{count} order", "{count} orders", 2) == "2 orders"
    assert en.n("{count} order for {name}", "{count} orders for {name}", 3, name="<b>") == (
        "3 orders for &lt;b&gt;"
    )


# --- the catalogs -----------------------------------------------------------------------------


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return pofile.read_po(handle)


def _ids(message_id: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """A message id or string as a tuple (plural forms come as tuples, or lists from .mo)."""
    return tuple(message_id) if isinstance(message_id, tuple | list) else (message_id,)


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", text))


def _tags(text: str) -> list[str]:
    return sorted(re.findall(r"</?[A-Za-z][^<>]*>", text))


def test_translations_keep_placeholders_and_tags() -> None:
    """A translation that renames {name} would crash at runtime; one that drops </b> is refused
    by Telegram. Checked for every translation present (empty ones fall back to English)."""
    for message in _read_po(PO):
        if not message.id or not message.string:
            continue
        sources = _ids(message.id)
        for string in _ids(message.string):
            if not string:
                continue
            assert _placeholders(string) <= set().union(*map(_placeholders, sources)), message.id
            assert _placeholders(string) >= _placeholders(sources[-1]) - {"count"}, message.id
            assert _tags(string) == _tags(sources[0]), message.id


def test_every_message_has_a_chinese_translation() -> None:
    po = {message.id: message for message in _read_po(PO) if message.id}
    missing = []
    for message in _read_po(POT):
        if not message.id:
            continue
        translated = po.get(message.id)
        strings = _ids(translated.string) if translated is not None else ("",)
        if translated is None or translated.fuzzy or not all(strings):
            missing.append(message.id)
    assert missing == []


def test_compiled_catalog_matches_the_po_file() -> None:
    with MO.open("rb") as handle:
        compiled = mofile.read_mo(handle)
    expected = {
        _ids(message.id): _ids(message.string)
        for message in _read_po(PO)
        if message.id and message.string and not message.fuzzy and all(_ids(message.string))
    }
    found = {_ids(message.id): _ids(message.string) for message in compiled if message.id}
    assert found == expected
    assert expected, "nothing is translated yet"


def test_template_lists_every_message_in_the_code() -> None:
    """``make i18n`` was run after the last change to a message."""
    in_code: set[str | tuple[str, ...]] = set()
    for folder in ("handlers", "notifications"):
        if not (ROOT / folder).is_dir():
            continue
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / folder,
            method_map=[("**.py", "python")],
            keywords=KEYWORDS,
            comment_tags=(),
        ):
            in_code.add(message)
    in_template = {message.id for message in _read_po(POT) if message.id}
    assert sorted(map(str, in_code - in_template)) == []
    assert sorted(map(str, in_template - in_code)) == []


def test_chinese_catalog_loads() -> None:
    """The compiled catalog is found under the name we use (zh_Hans), not just English."""
    from handlers.i18n import _catalog

    catalog = _catalog("zh_Hans")
    assert catalog.info().get("language") == "zh_Hans"
