"""``parse_mode=MarkdownV2`` and legacy ``Markdown``, following tdlib's parsers.

MarkdownV2 is the mode bots most often get wrong: every one of ``_*[]()~`>#+-=|{}.!`` outside
an entity must be escaped, else Telegram answers
``can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'``.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.emulator.entities import Entity, byte_offset, utf16_len
from bot.emulator.html import EntityParseError, UserLookup, check_url, link_user_id

RESERVED_V2 = "_*[]()~`>#+-=|{}.!"
_SPACES = " \t\r\n\v\0"
_CODE_KINDS = ("code", "pre", "pre_code")
_TDLIB_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


@dataclass
class _Open:
    kind: str
    argument: str
    offset: int  # UTF-16 offset in the result
    byte: int  # UTF-8 byte offset in the source (for error messages)
    result_index: int


def _escapable(ch: str) -> bool:
    return 0 < ord(ch) <= 126


def _reserved(ch: str) -> EntityParseError:
    return EntityParseError(
        f"Character '{ch}' is reserved and must be escaped with the preceding '\\'"
    )


def _is_end(kind: str, c: str, nxt: str, nxt2: str) -> bool:
    return {
        "bold": c == "*",
        "italic": c == "_" and nxt != "_",
        "code": c == "`",
        "pre": c == "`" and nxt == "`" and nxt2 == "`",
        "pre_code": c == "`" and nxt == "`" and nxt2 == "`",
        "text_link": c == "]",
        "underline": c == "_" and nxt == "_",
        "strikethrough": c == "~",
        "spoiler": c == "|" and nxt == "|",
        "custom_emoji": c == "]",
    }[kind]


def _skip_pre_header(source: str, i: int) -> tuple[int, str, str]:
    """After an opening `````, read the optional language and one leading newline."""
    n = len(source)

    def at(k: int) -> str:
        return source[k] if k < n else "\0"

    kind, language = "pre", ""
    language_end = i
    while at(language_end) not in _SPACES and at(language_end) != "`":
        language_end += 1
    if i != language_end and language_end < n and source[language_end] != "`":
        kind, language = "pre_code", source[i:language_end]
        i = language_end
    if at(i) in "\n\r":
        i += 2 if at(i + 1) in "\n\r" and at(i) != at(i + 1) else 1
    return i, kind, language


def _link_entity(url: str, base: Entity, user_lookup: UserLookup | None) -> Entity | None:
    user_id = link_user_id(url)
    if user_id is not None:
        user = user_lookup(user_id) if user_lookup else None
        return {"type": "text_mention", **base, "user": user} if user else None
    checked = check_url(url)
    return {"type": "text_link", **base, "url": checked} if checked else None


def parse_markdown_v2(
    source: str, user_lookup: UserLookup | None = None
) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2 into plain text and entities; raises :class:`EntityParseError`."""
    n = len(source)

    def at(k: int) -> str:
        return source[k] if k < n else "\0"

    result: list[str] = []
    entities: list[Entity] = []
    stack: list[_Open] = []
    quote_start: int | None = None
    units = 0
    i = 0
    while i < n:
        c = source[i]
        in_code = bool(stack) and stack[-1].kind in _CODE_KINDS
        if c == "\\" and i + 1 < n and _escapable(source[i + 1]):
            result.append(source[i + 1])
            units += 1
            i += 2
            continue
        if not in_code and c == ">" and (i == 0 or source[i - 1] == "\n"):
            if quote_start is None:
                quote_start = units
            i += 1
            continue
        if c == "\n" and quote_start is not None and not in_code and at(i + 1) != ">":
            if units > quote_start:
                entities.append(
                    {"type": "blockquote", "offset": quote_start, "length": units - quote_start}
                )
            quote_start = None
        if c not in ("`" if in_code else RESERVED_V2):
            result.append(c)
            units += utf16_len(c)
            i += 1
            continue

        if not (stack and _is_end(stack[-1].kind, c, at(i + 1), at(i + 2))):
            start_byte = byte_offset(source, i)
            argument = ""
            if c == "_":
                kind = "underline" if at(i + 1) == "_" else "italic"
                i += 2 if kind == "underline" else 1
            elif c in "*~[":
                kind = {"*": "bold", "~": "strikethrough", "[": "text_link"}[c]
                i += 1
            elif c == "|" and at(i + 1) == "|":
                kind = "spoiler"
                i += 2
            elif c == "!" and at(i + 1) == "[":
                kind = "custom_emoji"
                i += 2
            elif c == "`" and at(i + 1) == "`" and at(i + 2) == "`":
                i, kind, argument = _skip_pre_header(source, i + 3)
            elif c == "`":
                kind = "code"
                i += 1
            else:
                raise _reserved(c)
            stack.append(_Open(kind, argument, units, start_byte, len(result)))
            continue

        opened = stack.pop()
        base: Entity = {"offset": opened.offset, "length": units - opened.offset}
        entity: Entity | None
        if opened.kind in ("underline", "spoiler"):
            i += 2
        elif opened.kind in ("pre", "pre_code"):
            i += 3
        else:
            i += 1
        if opened.kind in ("text_link", "custom_emoji"):
            if at(i) == "(":
                i += 1
                url_begin = i
                chars: list[str] = []
                while i < n and source[i] != ")":
                    if source[i] == "\\" and i + 1 < n and _escapable(source[i + 1]):
                        chars.append(source[i + 1])
                        i += 2
                        continue
                    chars.append(source[i])
                    i += 1
                if at(i) != ")":
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {byte_offset(source, url_begin)}"
                    )
                i += 1
                url = "".join(chars)
            elif opened.kind == "custom_emoji":
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            else:
                url = "".join(result[opened.result_index :])
            if opened.kind == "custom_emoji":
                prefix = "tg://emoji?id="
                emoji_id = url[len(prefix) :] if url.startswith(prefix) else ""
                if not emoji_id.isdigit():
                    raise EntityParseError("Invalid custom emoji URL specified")
                entity = {"type": "custom_emoji", **base, "custom_emoji_id": emoji_id}
            else:
                entity = _link_entity(url, base, user_lookup)
        elif opened.kind == "pre_code":
            entity = {"type": "pre", **base, "language": opened.argument}
        else:
            entity = {"type": opened.kind, **base}
        if entity is not None and entity["length"] > 0:
            entities.append(entity)
    if stack:
        opened = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_TDLIB_NAMES[opened.kind]} entity at byte offset {opened.byte}"
        )
    if quote_start is not None and units > quote_start:
        entities.append(
            {"type": "blockquote", "offset": quote_start, "length": units - quote_start}
        )
    return "".join(result), entities


def parse_markdown(source: str, user_lookup: UserLookup | None = None) -> tuple[str, list[Entity]]:
    """Parse legacy ``Markdown`` (``*bold*``, ``_italic_``, `` `code` ``, ``[text](url)``)."""
    n = len(source)

    def at(k: int) -> str:
        return source[k] if k < n else "\0"

    result: list[str] = []
    entities: list[Entity] = []
    units = 0
    i = 0
    while i < n:
        c = source[i]
        if c == "\\" and at(i + 1) in "_*`[":
            result.append(source[i + 1])
            units += 1
            i += 2
            continue
        if c not in "_*`[":
            result.append(c)
            units += utf16_len(c)
            i += 1
            continue
        begin = i
        end_char = "]" if c == "[" else c
        i += 1
        is_pre = False
        language = ""
        if c == "`" and at(i) == "`" and at(i + 1) == "`":
            is_pre = True
            i, _, language = _skip_pre_header(source, i + 2)
        offset = units
        start_index = len(result)
        while i < n and (
            source[i] != end_char or (is_pre and not (at(i + 1) == "`" and at(i + 2) == "`"))
        ):
            result.append(source[i])
            units += utf16_len(source[i])
            i += 1
        if i >= n:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {byte_offset(source, begin)}"
            )
        base: Entity = {"offset": offset, "length": units - offset}
        entity: Entity | None = None
        if c == "[":
            if at(i + 1) == "(":
                i += 2
                url_chars = []
                while i < n and source[i] != ")":
                    url_chars.append(source[i])
                    i += 1
                url = "".join(url_chars)
            else:
                url = "".join(result[start_index:])
            entity = _link_entity(url, base, user_lookup) if base["length"] else None
        elif base["length"]:
            if is_pre:
                entity = {"type": "pre", **base}
                if language:
                    entity["language"] = language
            else:
                entity = {"type": {"_": "italic", "*": "bold", "`": "code"}[c], **base}
        if entity is not None:
            entities.append(entity)
        i += 3 if is_pre else 1
    return "".join(result), entities
