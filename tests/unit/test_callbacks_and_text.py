"""Callback data (pack/unpack, 64 bytes, never trusted) and HTML text (escape, split_message)."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.callbacks import MAX_BYTES, BadCallback, Callback, pack, unpack
from handlers.text import MAX_MESSAGE_CHARS, bold, escape, split_message

# --- pack / unpack --------------------------------------------------------------------------------


def test_pack_and_unpack_round_trip() -> None:
    data = pack("ship", "all", 123)
    assert data == "ship:all:123"
    assert unpack(data) == Callback("ship", ("all", "123"))
    assert unpack(data).int_at(1) == 123
    assert unpack("c:7:set:zh_Hans") == Callback("c", ("7", "set", "zh_Hans"))
    assert unpack("pg") == Callback("pg", ())


def test_pack_allows_exactly_64_bytes_and_no_more() -> None:
    exactly = pack("p", "a" * 40, "b" * 21)  # 1 + 1 + 40 + 1 + 21 = 64
    assert len(exactly.encode()) == MAX_BYTES == 64
    assert unpack(exactly).parts == ("a" * 40, "b" * 21)
    with pytest.raises(ValueError, match="longer than 64 bytes"):
        pack("p", "a" * 40, "b" * 22)


@pytest.mark.parametrize(
    "part",
    ["a:b", "a b", "", "螺丝", "café", "<b>", "x\n", "1,5", "a/b", "🙂", "a" * 41, "'; --"],
)
def test_pack_refuses_characters_we_do_not_allow(part: str) -> None:
    if part == "":
        assert pack("x", part) == "x:"  # an empty part is allowed after a prefix
        with pytest.raises(ValueError):
            pack(part)  # …but never as the prefix
        return
    with pytest.raises(ValueError, match="characters we do not allow"):
        pack("x", part)


def test_pack_refuses_an_empty_prefix() -> None:
    with pytest.raises(ValueError):
        pack("", "1")


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "a" * 65,
        "é" * 33,  # 33 characters, 66 bytes
        "c:1:" + "x" * 61,
        ":1",
        "c:1:螺丝",
        "c:1:a b",
        "c:1:<b>",
        "c:1:x\n",
        "\x00",
        "c:" + "1" * 41,
    ],
)
def test_unpack_refuses_what_we_did_not_make(data: str | None) -> None:
    with pytest.raises(BadCallback):
        unpack(data)


def test_unpack_measures_bytes_not_characters() -> None:
    # 64 ASCII bytes are fine; 64 characters of which one is two bytes are not.
    unpack("c:" + "1" * 40 + ":" + "a" * 21)
    with pytest.raises(BadCallback):
        unpack("c:" + "1" * 40 + ":" + "a" * 20 + "é")


@pytest.mark.parametrize("part", ["abc", "-1", "1.5", "", "1" * 19, "１２", "²", "0x1"])
def test_int_at_refuses_non_ids(part: str) -> None:
    with pytest.raises(BadCallback):
        Callback("x", (part,)).int_at(0)


def test_int_at_refuses_a_missing_part_and_accepts_ids() -> None:
    with pytest.raises(BadCallback):
        Callback("x", ()).int_at(0)
    assert Callback("x", ("0", "9" * 18)).int_at(1) == 10**18 - 1


@given(st.lists(st.from_regex(r"[A-Za-z0-9_.-]{1,12}", fullmatch=True), min_size=1, max_size=6))
def test_pack_unpack_property(parts: list[str]) -> None:
    try:
        data = pack(*parts)
    except ValueError:
        assert len(":".join(parts).encode()) > MAX_BYTES
        return
    assert len(data.encode()) <= MAX_BYTES
    callback = unpack(data)
    assert (callback.prefix, *callback.parts) == tuple(parts)


@given(st.text(max_size=80))
def test_unpack_never_crashes_on_any_text(data: str) -> None:
    try:
        callback = unpack(data)
    except BadCallback:
        return
    assert len(data.encode()) <= MAX_BYTES
    assert data.isascii()
    assert pack(callback.prefix, *callback.parts) == data


# --- escape -------------------------------------------------------------------------------------


def test_escape_makes_user_text_inert() -> None:
    assert escape("<b>x</a>") == "&lt;b&gt;x&lt;/a&gt;"
    assert escape("Tom & Jerry") == "Tom &amp; Jerry"
    assert escape("&amp;") == "&amp;amp;"  # typed entities are shown, not interpreted
    assert escape('say "hi"') == 'say "hi"'  # quotes are fine in text nodes
    assert escape("_a_ *b* `c`") == "_a_ *b* `c`"  # Markdown means nothing in HTML mode
    assert escape("'); DROP TABLE orders;--") == "'); DROP TABLE orders;--"
    assert escape(12.5) == "12.5"
    assert escape("螺丝 🙂") == "螺丝 🙂"
    assert bold("<i>") == "<b>&lt;i&gt;</b>"


@given(st.text())
def test_escaped_text_parses_back_to_itself(value: str) -> None:
    escaped = escape(value)
    assert "<" not in escaped and ">" not in escaped
    assert html.unescape(escaped) == value


# --- split_message ------------------------------------------------------------------------------


class _TagChecker(HTMLParser):
    """Telegram-style strictness: every tag closed, in order, and nothing left open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def balanced(chunk: str) -> bool:
    checker = _TagChecker()
    checker.feed(chunk)
    checker.close()
    return checker.ok and not checker.stack


def entities_whole(chunk: str) -> bool:
    """No ``&`` that does not start a complete entity (a cut inside ``&amp;`` breaks HTML)."""
    return all(
        re.match(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z]+);", chunk[m.start() :])
        for m in re.finditer("&", chunk)
    )


def visible(text: str) -> str:
    """What a person reads: tags dropped, entities decoded, whitespace ignored."""
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^<>]*>", "", text)))


def check(text: str, limit: int) -> list[str]:
    chunks = split_message(text, limit)
    assert all(len(chunk) <= limit for chunk in chunks)
    assert all(visible(chunk) for chunk in chunks) or visible(text) == ""
    assert "".join(visible(chunk) for chunk in chunks) == visible(text)
    assert all(balanced(chunk) and entities_whole(chunk) for chunk in chunks)
    return chunks


def test_short_text_is_one_chunk() -> None:
    assert split_message("hello") == ["hello"]
    assert split_message("x" * MAX_MESSAGE_CHARS) == ["x" * MAX_MESSAGE_CHARS]


def test_splits_at_line_breaks_within_4096() -> None:
    lines = [f"• line {n:04d} " + "x" * 40 for n in range(300)]
    text = "\n".join(lines)
    chunks = check(text, MAX_MESSAGE_CHARS)
    assert len(chunks) == 4
    assert "\n".join(chunks) == text  # cut only at line breaks, and nothing lost
    assert all(chunk.split("\n")[0] in lines for chunk in chunks)


def test_a_long_single_line_is_cut_at_spaces() -> None:
    words = " ".join(f"word{n}" for n in range(2000))  # about 17,000 characters, no line break
    chunks = check(words, MAX_MESSAGE_CHARS)
    assert len(chunks) >= 5
    assert all(re.fullmatch(r"word\d+( word\d+)*", chunk) for chunk in chunks)
    assert " ".join(chunks) == words


def test_a_long_line_without_spaces_is_cut_hard() -> None:
    text = "a" * 10_000
    chunks = check(text, MAX_MESSAGE_CHARS)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]


def test_a_cut_never_splits_an_entity() -> None:
    for lead in range(4):  # every alignment of the 4-character entity against the cut
        text = "x" * lead + escape("<" * 5000)  # a 5,000-character "<<<<…" note when shown
        chunks = check(text, MAX_MESSAGE_CHARS)
        assert all(chunk.endswith("&lt;") for chunk in chunks)


def test_tags_are_closed_and_reopened_across_chunks() -> None:
    rows = "\n".join(f"{n:03d} | widget | 12.50" for n in range(400))
    text = f"<b>Stock</b>\n<pre>{rows}</pre>\nend"
    chunks = check(text, MAX_MESSAGE_CHARS)
    assert len(chunks) >= 3
    assert chunks[0].startswith("<b>Stock</b>\n<pre>") and chunks[0].endswith("</pre>")
    assert all(chunk.startswith("<pre>") for chunk in chunks[1:])
    assert chunks[-1].endswith("</pre>\nend")


def test_a_link_spanning_a_cut_keeps_its_target() -> None:
    text = '<a href="https://t.me/x?a=1&amp;b=2">' + "word " * 2000 + "</a>"
    chunks = check(text, MAX_MESSAGE_CHARS)
    assert all(chunk.startswith('<a href="https://t.me/x?a=1&amp;b=2">') for chunk in chunks)


def test_a_long_bold_run_is_cut_inside_and_stays_bold() -> None:
    text = "<b>" + "x" * 10_000 + "</b>"
    chunks = check(text, MAX_MESSAGE_CHARS)
    assert all(c.startswith("<b>") and c.endswith("</b>") and len(c) == 4096 for c in chunks[:-1])


def test_tags_longer_than_the_limit_cannot_be_split() -> None:
    with pytest.raises(ValueError, match="tags alone"):
        split_message('<a href="https://example.com/' + "x" * 100 + '">y</a>' + "z" * 50, 60)


def test_blank_lines_never_make_an_empty_chunk() -> None:
    text = "a" * 4095 + "\n   \n\n" + "b" * 4096 + "\n\n\n"
    chunks = check(text, MAX_MESSAGE_CHARS)
    assert chunks == ["a" * 4095, "b" * 4096]


def test_chinese_and_emoji_are_counted_as_characters() -> None:
    text = "\n".join(["螺丝 M6 不锈钢 🙂" * 20] * 50)
    check(text, MAX_MESSAGE_CHARS)


_PIECES = st.sampled_from(
    [
        "a",
        "bb",
        " ",
        "\n",
        "螺",
        "🙂",
        "&amp;",
        "&lt;",
        "<b>",
        "</b>",
        "<i>x</i>",
        "word ",
        "y" * 57,
        "   ",
        '<a href="https://t.me/x">z</a>',
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=400), st.integers(min_value=100, max_value=300))
def test_split_message_property(pieces: list[str], limit: int) -> None:
    # Build well-formed HTML: close whatever <b> is still open.
    text, depth = "", 0
    for piece in pieces:
        if piece == "</b>":
            if depth == 0:
                continue
            depth -= 1
        elif piece == "<b>":
            if depth == 3:  # keep nesting shallow, as messages do
                continue
            depth += 1
        text += piece
    text += "</b>" * depth
    check(text, limit)
