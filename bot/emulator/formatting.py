"""Turn a ``text``/``caption`` parameter into what Telegram stores: plain text + entities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulator import errors
from bot.emulator.entities import (
    FORMAT_TYPES,
    Entity,
    detect_entities,
    drop_nested_in_code,
    sort_entities,
    strip_text,
    utf16_len,
)
from bot.emulator.errors import ApiError, bad_request
from bot.emulator.html import EntityParseError, UserLookup, parse_html
from bot.emulator.markdown import parse_markdown, parse_markdown_v2

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024


@dataclass(frozen=True)
class FormattedText:
    """A parsed text: what a Message carries, plus the source for the sandbox page."""

    text: str
    entities: list[Entity] = field(default_factory=list)
    source: str = ""
    parse_mode: str | None = None


def _parse(
    source: str, parse_mode: str | None, user_lookup: UserLookup | None
) -> tuple[str, list[Entity]]:
    mode = (parse_mode or "").strip().lower()
    if not mode:
        return source, []
    if mode == "html":
        return parse_html(source, user_lookup)
    if mode == "markdownv2":
        return parse_markdown_v2(source, user_lookup)
    if mode == "markdown":
        return parse_markdown(source, user_lookup)
    raise bad_request("unsupported parse_mode")


def _explicit_entities(text: str, raw: Any) -> list[Entity]:
    """Validate an ``entities``/``caption_entities`` parameter (formatting types only)."""
    if not isinstance(raw, list):
        raise EntityParseError("Can't parse entities JSON object")
    total = utf16_len(text)
    result: list[Entity] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise EntityParseError('Field "type" must be of type String')
        offset, length = item.get("offset"), item.get("length")
        if not isinstance(offset, int) or not isinstance(length, int):
            raise EntityParseError('Field "offset" must be of type Number')
        if item["type"] not in FORMAT_TYPES or length <= 0 or offset < 0:
            continue
        end = min(offset + length, total)
        if end > offset:
            result.append({**item, "offset": offset, "length": end - offset})
    return result


def format_text(
    source: str | None,
    parse_mode: str | None = None,
    entities: Any = None,
    *,
    caption: bool = False,
    user_lookup: UserLookup | None = None,
) -> FormattedText:
    """Parse, trim, auto-detect and length-check a text or caption like Telegram.

    A text must be 1..4096 characters after parsing (``message text is empty`` /
    ``message is too long``); a caption may be empty and at most 1024 characters.
    """
    source = source or ""
    if entities is not None:
        text, found = source, _explicit_entities(source, entities)
    else:
        text, found = _parse(source, parse_mode, user_lookup)
    text, found = strip_text(text, found)
    if not text:
        if caption:
            return FormattedText("", [], source, parse_mode)
        raise ApiError(400, errors.TEXT_EMPTY)
    limit = MAX_CAPTION_LENGTH if caption else MAX_TEXT_LENGTH
    if len(text) > limit:
        raise ApiError(400, errors.CAPTION_TOO_LONG if caption else errors.TEXT_TOO_LONG)
    found = drop_nested_in_code(found)
    found = sort_entities([*found, *detect_entities(text, found)])
    return FormattedText(text, found, source, parse_mode)
