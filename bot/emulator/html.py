"""Telegram's ``parse_mode=HTML``, parsed as strictly as the real server parses it.

The parser follows tdlib's ``parse_html`` (the code behind the Bot API): the same tags, the
same entity references, the same error messages with UTF-8 byte offsets, e.g.
``Unsupported start tag "script" at byte offset 0`` or
``Unmatched end tag at byte offset 4, expected "</b>", found "</a>"``.

:func:`render_html` goes the other way (text + entities → HTML) for the sandbox page.
"""

from __future__ import annotations

import html as std_html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.emulator.entities import Entity, byte_offset, utf16_len
from bot.emulator.errors import CANT_PARSE_ENTITIES, ApiError

UserLookup = Callable[[int], dict[str, Any] | None]

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_SPACES = " \t\r\n\v\0"
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class EntityParseError(ApiError):
    """``400 Bad Request: can't parse entities: …``."""

    def __init__(self, detail: str) -> None:
        super().__init__(400, CANT_PARSE_ENTITIES + detail)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the result
    result_index: int  # index into the result characters (for <a> without href)
    expandable: bool = False


def decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode ``&lt;``/``&gt;``/``&amp;``/``&quot;``/``&#NN;``/``&#xHH;`` at ``pos``.

    Returns the character and the position after the reference, or None when ``&`` does not
    start a supported reference (it is then an ordinary character, as in Telegram). The
    closing ``;`` is optional, as in tdlib.
    """
    n = len(text)
    end = pos + 1
    if end < n and text[end] == "#":
        end += 1
        value = 0
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                value = value * 16 + int(text[end], 16)
                end += 1
                if value >= 0x10FFFF:
                    return None
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                value = value * 10 + int(text[end])
                end += 1
                if value >= 0x10FFFF:
                    return None
        if value == 0 or end - pos >= 10 or 0xD800 <= value <= 0xDFFF:
            return None
        char = chr(value)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED:
            return None
        char = _NAMED[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(source: str, user_lookup: UserLookup | None = None) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML into plain text and MessageEntity dicts (UTF-16 offsets).

    Raises :class:`EntityParseError` on anything Telegram would refuse.
    """
    n = len(source)

    def at(k: int) -> str:
        return source[k] if k < n else "\0"

    def fail(detail: str) -> EntityParseError:
        return EntityParseError(detail)

    result: list[str] = []
    entities: list[Entity] = []
    stack: list[_Open] = []
    units = 0
    i = 0
    while i < n:
        c = source[i]
        if c == "&":
            decoded = decode_entity(source, i)
            if decoded is not None:
                char, i = decoded
                result.append(char)
                units += utf16_len(char)
                continue
        if c != "<":
            result.append(c)
            units += utf16_len(c)
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _SPACES and at(i) != ">":
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(source, begin)}")
            tag = source[begin + 1 : i].lower()
            if tag not in SUPPORTED_TAGS:
                raise fail(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(source, begin)}'
                )
            argument = ""
            expandable = False
            while at(i) != ">":
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) == ">":
                    break
                name_begin = i
                while at(i) not in _SPACES and at(i) not in "=>":
                    i += 1
                attribute = source[name_begin:i]
                if not attribute:
                    raise fail(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(source, begin)}"
                    )
                while i < n and at(i) in _SPACES:
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attribute == "expandable":
                        expandable = True
                        continue
                    raise fail(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {byte_offset(source, begin)}'
                    )
                i += 1
                while i < n and at(i) in _SPACES:
                    i += 1
                if i >= n:
                    raise fail(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(source, begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i).isascii() and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = source[token_begin:i].lower()
                    if at(i) not in _SPACES and at(i) != ">":
                        raise fail(
                            "Unexpected end of name token at byte offset "
                            f"{byte_offset(source, token_begin)}"
                        )
                else:
                    quote = source[i]
                    i += 1
                    value_begin = i
                    chars: list[str] = []
                    while i < n and source[i] != quote:
                        if source[i] == "&":
                            decoded = decode_entity(source, i)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(source[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    if i >= n:
                        raise fail(
                            f"Unclosed start tag at byte offset {byte_offset(source, value_begin)}"
                        )
                    value = "".join(chars)
                if tag == "a" and attribute == "href":
                    argument = value
                elif tag == "code" and attribute == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise fail(
                    f'Tag "span" must have class "tg-spoiler" at byte offset '
                    f"{byte_offset(source, begin)}"
                )
            stack.append(_Open(tag, argument, units, len(result), expandable))
            i += 1  # the '>'
            continue

        # An end tag.
        if not stack:
            raise fail(f"Unexpected end tag at byte offset {byte_offset(source, begin)}")
        while at(i) not in _SPACES and at(i) != ">":
            i += 1
        end_name = source[begin + 2 : i]
        while i < n and at(i) in _SPACES:
            i += 1
        if at(i) != ">":
            raise fail(f"Unclosed end tag at byte offset {byte_offset(source, begin)}")
        opened = stack.pop()
        if end_name and end_name != opened.tag:
            raise fail(
                f"Unmatched end tag at byte offset {byte_offset(source, begin)}, "
                f'expected "</{opened.tag}>", found "</{end_name}>"'
            )
        if units > opened.offset:
            entity = _close(opened, units - opened.offset, result, entities, user_lookup)
            if entity is not None:
                entities.append(entity)
        i += 1
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return "".join(result), clean_entities(entities)


def _close(
    opened: _Open,
    length: int,
    result: list[str],
    entities: list[Entity],
    user_lookup: UserLookup | None,
) -> Entity | None:
    """The entity a closed tag makes, or None (an unusable link is silently dropped)."""
    base: Entity = {"offset": opened.offset, "length": length}
    tag = opened.tag
    if tag in _SIMPLE:
        return {"type": _SIMPLE[tag], **base}
    if tag == "blockquote":
        kind = "expandable_blockquote" if opened.expandable else "blockquote"
        return {"type": kind, **base}
    if tag == "tg-emoji":
        if not opened.argument.isdigit() or int(opened.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        return {"type": "custom_emoji", **base, "custom_emoji_id": opened.argument}
    if tag == "a":
        url = opened.argument or "".join(result[opened.result_index :])
        user_id = link_user_id(url)
        if user_id is not None:
            user = user_lookup(user_id) if user_lookup else None
            return {"type": "text_mention", **base, "user": user} if user else None
        checked = check_url(url)
        return {"type": "text_link", **base, "url": checked} if checked else None
    last = entities[-1] if entities else None
    same_span = last is not None and last["offset"] == opened.offset and last["length"] == length
    if tag == "pre":
        if same_span and last is not None and last["type"] == "code" and last.get("_language"):
            last["type"] = "pre"
            last["language"] = last.pop("_language")
            return None
        return {"type": "pre", **base}
    # code
    if same_span and last is not None and last["type"] == "pre" and opened.argument:
        last["language"] = opened.argument
        return None
    entity: Entity = {"type": "code", **base}
    if opened.argument:
        entity["_language"] = opened.argument
    return entity


def link_user_id(url: str) -> int | None:
    """The user id of a ``tg://user?id=N`` link, else None."""
    prefix = "tg://user?id="
    if url.lower().startswith(prefix) and url[len(prefix) :].isdigit():
        return int(url[len(prefix) :])
    return None


def check_url(url: str) -> str | None:
    """Telegram's URL check, simplified: the normalised URL, or None when it is unusable."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return None
    lowered = url.lower()
    if lowered.startswith(("tg://", "ton://")):
        return url
    scheme = "http://"
    rest = url
    for candidate in ("http://", "https://", "ftp://"):
        if lowered.startswith(candidate):
            scheme, rest = url[: len(candidate)].lower(), url[len(candidate) :]
            break
    else:
        if "://" in url or lowered.startswith(("javascript:", "data:", "mailto:")):
            return None
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if not host or host.startswith(".") or "@" in host:
        return None
    if "/" not in rest and "?" not in rest and "#" not in rest:
        rest += "/"
    return scheme + rest


def clean_entities(entities: list[Entity]) -> list[Entity]:
    """Drop parser-internal keys (a ``<code class>`` that never met its ``<pre>``)."""
    for entity in entities:
        entity.pop("_language", None)
    return entities


# Rendering ------------------------------------------------------------------------------------


def _open_tag(entity: Entity) -> tuple[str, str] | None:
    kind = entity["type"]
    simple = {
        "bold": "b",
        "italic": "i",
        "underline": "u",
        "strikethrough": "s",
        "spoiler": "tg-spoiler",
        "code": "code",
        "blockquote": "blockquote",
    }
    if kind in simple:
        return f"<{simple[kind]}>", f"</{simple[kind]}>"
    if kind == "expandable_blockquote":
        return "<blockquote expandable>", "</blockquote>"
    if kind == "pre":
        if entity.get("language"):
            language = std_html.escape(str(entity["language"]), quote=True)
            return f'<pre><code class="language-{language}">', "</code></pre>"
        return "<pre>", "</pre>"
    if kind == "text_link":
        return f'<a href="{std_html.escape(str(entity["url"]), quote=True)}">', "</a>"
    if kind == "text_mention":
        return f'<a href="tg://user?id={int(entity["user"]["id"])}">', "</a>"
    if kind == "custom_emoji":
        emoji_id = std_html.escape(str(entity["custom_emoji_id"]), quote=True)
        return f'<tg-emoji emoji-id="{emoji_id}">', "</tg-emoji>"
    return None  # auto-detected types render as plain text


def render_html(text: str, entities: list[Entity] | None) -> str:
    """Text + formatting entities → Telegram HTML (escaped; nesting repaired when needed).

    ``parse_html(render_html(t, e))`` gives back ``t`` and the formatting entities of ``e``.
    """
    tagged = []
    for entity in entities or []:
        tags = _open_tag(entity)
        if tags and entity["length"] > 0:
            start = entity["offset"]
            tagged.append((start, start + entity["length"], tags))
    tagged.sort(key=lambda item: (item[0], -item[1]))
    out: list[str] = []
    stack: list[tuple[int, int, tuple[str, str]]] = []
    position = 0
    pending = list(tagged)

    def boundary(unit: int) -> None:
        # Close everything that ends here (reopening anything closed on the way).
        while any(end <= unit for _, end, _ in stack):
            reopen = []
            while stack:
                item = stack.pop()
                out.append(item[2][1])
                if item[1] <= unit:
                    break
                reopen.append(item)
            for item in reversed(reopen):
                out.append(item[2][0])
                stack.append(item)
        while pending and pending[0][0] <= unit:
            item = pending.pop(0)
            out.append(item[2][0])
            stack.append(item)

    for ch in text:
        boundary(position)
        out.append(std_html.escape(ch, quote=False))
        position += utf16_len(ch)
    boundary(position)
    while stack:
        out.append(stack.pop()[2][1])
    return "".join(out)
