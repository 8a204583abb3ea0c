"""Reading order lines as people type them: ``10 blue widget, 5 m8 bolt``, ``widget x10``,
``螺丝 20``, ``2.5 kg copper wire``: the quantity first or last, one or several per message.

Pure text handling: which product a name means is decided by the caller (the fuzzy index).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidInput
from domain.model import FRACTIONAL_UNITS
from domain.parsing import parse_quantity
from domain.quantity import Quantity

MAX_MESSAGE_CHARS = 2000  # a whole message of order lines
MAX_LINE_CHARS = 120  # one line: a quantity and a product name
MAX_LINES_PER_MESSAGE = 30

COUNT_UNITS = frozenset(
    [
        "pcs",
        "pc",
        "piece",
        "pieces",
        "box",
        "boxes",
        "bx",
        "ctn",
        "ctns",
        "carton",
        "cartons",
        "pack",
        "packs",
        "pkt",
        "set",
        "sets",
        "unit",
        "units",
        "roll",
        "rolls",
        "pair",
        "pairs",
        "bag",
        "bags",
        "个",
        "件",
        "只",
        "箱",
        "盒",
        "包",
        "卷",
        "套",
        "袋",
        "支",
        "根",
        "条",
        "把",
        "台",
        "张",
        "瓶",
        "桶",
        "对",
        "双",
    ]
)
_UNITS = "|".join(
    re.escape(unit) for unit in sorted(FRACTIONAL_UNITS | COUNT_UNITS, key=len, reverse=True)
)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_NUMBER = r"[-+−]?\d+(?:[.,]\d+)*"
_TIMES = r"[x×*]"

# "10 blue widget", "10x widget", "2.5 kg copper wire", "10个螺丝"; not "1e9 widget".
_LEADING = re.compile(
    rf"^(?P<q>{_NUMBER})(?:\s*{_TIMES}(?=\s|[{_CJK}]))?"
    rf"(?:\s*(?P<u>{_UNITS})(?![a-z0-9]))?"
    rf"(?:\s+|(?=[{_CJK}]))(?P<name>.*\S.*)$",
    re.I,
)
# "widget x10", "widget ×10", "螺丝 20", "螺丝20个", "widget 10 pcs"; not "bolt m8".
_TRAILING = re.compile(
    rf"^(?P<name>.*?\S)(?:\s+{_TIMES}?\s*|\s*[×*]\s*|(?<=[{_CJK}])\s*)"
    rf"(?P<q>{_NUMBER})\s*(?P<u>{_UNITS})?$",
    re.I,
)
# A first or last word that was meant as a number but is not one: "NaN", "1e9", "-inf".
_NUMBERISH = re.compile(r"^[-+−]?(?:\d|nan$|inf)", re.I)
_ONLY_NUMBER = re.compile(rf"{_NUMBER}\s*{_TIMES}?")
# Lines are separated by new lines, semicolons, and commas that are not inside a number.
_SEPARATORS = re.compile(r"[\n;；，、]+|,(?!\d)|(?<!\d),")


@dataclass(frozen=True, slots=True)
class TypedLine:
    """One line as typed: the product text and the quantity, or why it cannot be used."""

    text: str  # the line as typed (trimmed)
    name: str = ""
    quantity: Quantity | None = None
    problem: str | None = None  # no_quantity | too_long | an InvalidInput reason


def split_lines(message: str) -> list[str]:
    """The non-empty lines of a message (commas inside numbers like ``1,5`` do not split)."""
    return [part.strip() for part in _SEPARATORS.split(message) if part.strip()]


def read_line(line: str) -> TypedLine:
    """Quantity and product text of one line, quantity first or last."""
    text = " ".join(line.split())
    if len(text) > MAX_LINE_CHARS:
        return TypedLine(text[:40] + "…", problem="too_long")
    plain = unicodedata.normalize("NFKC", text)
    if _ONLY_NUMBER.fullmatch(plain):
        return TypedLine(text, problem="no_product")
    match = _LEADING.match(plain) or _TRAILING.match(plain)
    if match is None:
        words = plain.split()
        if words and (_NUMBERISH.match(words[0]) or _NUMBERISH.match(words[-1])):
            return TypedLine(text, problem="not_a_number")
        return TypedLine(text, problem="no_quantity")
    name = match.group("name").strip()
    if not any(char.isalnum() for char in name):
        return TypedLine(text, problem="no_product")
    try:
        quantity = parse_quantity(match.group("q").replace("−", "-"), decimals=3)
    except InvalidInput as error:
        return TypedLine(text, name=name, problem=error.reason)
    return TypedLine(text, name=name, quantity=quantity)
