"""MessageEntity helpers shared by the parsers: UTF-16 offsets, clean-up and auto-detection.

Telegram measures entity offsets and lengths in UTF-16 code units (an emoji outside the BMP
counts as 2), so every parser here counts that way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

Entity = dict[str, Any]

#: Entities inside which Telegram allows no other entity.
CODE_TYPES = frozenset({"code", "pre"})
#: Types that Telegram finds by itself in any message text.
AUTO_TYPES = frozenset({"mention", "hashtag", "cashtag", "bot_command", "url", "email"})
#: Formatting types: the ones that a parse_mode or an ``entities`` parameter can create.
FORMAT_TYPES = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "pre",
        "text_link",
        "text_mention",
        "custom_emoji",
        "blockquote",
        "expandable_blockquote",
    }
)
_TYPE_ORDER = {
    name: rank
    for rank, name in enumerate(
        [
            "blockquote",
            "expandable_blockquote",
            "pre",
            "code",
            "text_link",
            "text_mention",
            "url",
            "email",
            "mention",
            "hashtag",
            "cashtag",
            "bot_command",
            "bold",
            "italic",
            "underline",
            "strikethrough",
            "spoiler",
            "custom_emoji",
        ]
    )
}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def utf16_offsets(text: str) -> list[int]:
    """``result[i]`` is the UTF-16 offset of ``text[i]``; ``result[len(text)]`` is the total."""
    offsets = [0] * (len(text) + 1)
    unit = 0
    for index, ch in enumerate(text):
        offsets[index] = unit
        unit += 2 if ord(ch) > 0xFFFF else 1
    offsets[len(text)] = unit
    return offsets


def utf16_slice(text: str, offset: int, length: int) -> str:
    """The part of ``text`` an entity covers."""
    encoded = text.encode("utf-16-le")
    return encoded[2 * offset : 2 * (offset + length)].decode("utf-16-le", errors="replace")


def byte_offset(text: str, index: int) -> int:
    """UTF-8 byte offset of ``text[index]`` (Telegram's error messages count bytes)."""
    return len(text[:index].encode("utf-8"))


def sort_entities(entities: Iterable[Entity]) -> list[Entity]:
    """Telegram's order: by offset, longer (outer) first, then a fixed type order."""
    return sorted(
        entities,
        key=lambda e: (e["offset"], -e["length"], _TYPE_ORDER.get(e["type"], 99)),
    )


def strip_text(text: str, entities: list[Entity]) -> tuple[str, list[Entity]]:
    """Trim surrounding whitespace as Telegram does, moving and clipping the entities."""
    stripped = text.strip()
    if not stripped:
        return "", []
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result: list[Entity] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result


def drop_nested_in_code(entities: list[Entity]) -> list[Entity]:
    """Remove entities that sit inside ``code``/``pre`` (Telegram allows nothing there)."""
    code = [e for e in entities if e["type"] in CODE_TYPES]
    kept = []
    for entity in entities:
        start, end = entity["offset"], entity["offset"] + entity["length"]
        if not any(
            c is not entity and c["offset"] <= start and end <= c["offset"] + c["length"]
            for c in code
        ):
            kept.append(entity)
    return kept


# Auto-detection ------------------------------------------------------------------------------

_COMMON_TLDS = (
    "com|org|net|io|ru|cn|de|uk|me|dev|app|info|biz|co|edu|gov|tv|ai|xyz|site|online|shop"
)
_URL = re.compile(
    r"(?<![\w@/.-])(?:(?:https?|ftp|tg)://[^\s<>\"]+|(?:[a-z0-9-]+\.)+(?:"
    + _COMMON_TLDS
    + r")(?::\d{1,5})?(?:/[^\s<>\"]*)?)(?<![.,;:!?)\]])",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}(?![\w-])", re.IGNORECASE)
_COMMAND = re.compile(r"(?<![\w/\\])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?!\w)")
_HASHTAG = re.compile(r"(?<![\w#])#\w{0,255}[^\W\d]\w{0,255}")
_CASHTAG = re.compile(r"(?<![\w$])\$[A-Z]{3,8}(?![\w])")


def detect_entities(text: str, existing: Iterable[Entity] = ()) -> list[Entity]:
    """The entities Telegram finds by itself (commands, mentions, links…).

    Nothing is detected inside ``code``, ``pre`` or an explicit link, and detected spans never
    overlap each other.
    """
    units = utf16_offsets(text)
    blocked: list[tuple[int, int]] = [
        (e["offset"], e["offset"] + e["length"])
        for e in existing
        if e["type"] in CODE_TYPES | {"text_link", "text_mention"}
    ]
    found: list[Entity] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= t for s, t in blocked)

    for entity_type, pattern in (
        ("email", _EMAIL),
        ("url", _URL),
        ("bot_command", _COMMAND),
        ("mention", _MENTION),
        ("hashtag", _HASHTAG),
        ("cashtag", _CASHTAG),
    ):
        for match in pattern.finditer(text):
            start, end = units[match.start()], units[match.end()]
            if free(start, end):
                found.append({"type": entity_type, "offset": start, "length": end - start})
                blocked.append((start, end))
    return found
