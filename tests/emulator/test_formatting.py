"""Telegram's text parsing: HTML, MarkdownV2, legacy Markdown, entities in UTF-16 units."""

from __future__ import annotations

import pytest

from bot.emulator import ApiError, format_text, parse_html, render_html


def refusal(source: str, parse_mode: str) -> str:
    with pytest.raises(ApiError) as error:
        format_text(source, parse_mode)
    assert error.value.error_code == 400
    return error.value.description.removeprefix("Bad Request: can't parse entities: ")


def test_offsets_count_utf16_units_and_errors_count_utf8_bytes() -> None:
    text, entities = parse_html("😀 库存 <b>M8</b>")
    assert text == "😀 库存 M8"
    assert entities == [{"type": "bold", "offset": 6, "length": 2}]  # 😀 is 2 units
    assert refusal("库存 <x>", "HTML") == 'Unsupported start tag "x" at byte offset 7'


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("&lt;b&gt; &amp; &quot;", '<b> & "'),
        ("&#65;&#x42;", "AB"),
        ("a & b &nbsp;", "a & b &nbsp;"),  # an unknown reference is plain text
        ("&lt", "<"),  # the semicolon is optional
    ],
)
def test_html_entity_references(source: str, text: str) -> None:
    assert parse_html(source)[0] == text


def test_nested_tags_and_all_kinds() -> None:
    formatted = format_text(
        "<b>bold <i>both</i></b> <u>u</u> <s>s</s> <tg-spoiler>sp</tg-spoiler> "
        '<span class="tg-spoiler">sp2</span> <code>c</code> '
        '<pre><code class="language-python">x = 1</code></pre>'
        "<blockquote>q</blockquote>",
        "HTML",
    )
    kinds = [(e["type"], e.get("language")) for e in formatted.entities]
    assert kinds == [
        ("bold", None),
        ("italic", None),
        ("underline", None),
        ("strikethrough", None),
        ("spoiler", None),
        ("spoiler", None),
        ("code", None),
        ("pre", "python"),
        ("blockquote", None),
    ]


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("<b>x</a>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</a>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b", "Unclosed start tag at byte offset 0"),
        (
            "<a href=x y>z</a>",
            'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0',
        ),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<i><b>x</i></b>", 'Unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ('<tg-emoji emoji-id="abc">x</tg-emoji>', "Invalid custom emoji identifier specified"),
    ],
)
def test_html_refusals(source: str, detail: str) -> None:
    assert refusal(source, "HTML") == detail


def test_unusable_links_are_dropped_not_refused() -> None:
    formatted = format_text('<a href="javascript:alert(1)">x</a> y', "HTML")
    assert formatted.text == "x y" and formatted.entities == []


def test_text_mention_needs_a_known_user() -> None:
    def lookup(user_id: int) -> dict[str, object] | None:
        return {"id": user_id, "is_bot": False, "first_name": "Alice"} if user_id == 1 else None

    known = format_text('<a href="tg://user?id=1">Alice</a>', "HTML", user_lookup=lookup)
    assert known.entities[0]["type"] == "text_mention"
    assert known.entities[0]["user"]["id"] == 1
    unknown = format_text('<a href="tg://user?id=2">Bob</a>', "HTML", user_lookup=lookup)
    assert unknown.entities == []


def test_render_html_round_trips_formatting() -> None:
    source = (
        '<b>Order <i>#7</i></b> for <a href="https://e.com/">ACME &amp; Co</a> <code>x&lt;y</code>'
    )
    text, entities = parse_html(source)
    assert render_html(text, entities) == source
    assert parse_html(render_html(text, entities)) == (text, entities)


def test_render_html_repairs_overlapping_entities() -> None:
    entities = [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 3},
    ]
    html = render_html("abcde", entities)
    assert html == "<b>ab<i>c</i></b><i>de</i>"


@pytest.mark.parametrize(
    ("source", "detail"),
    [
        ("Total: 1.5", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("a _b", "Can't find end of Italic entity at byte offset 2"),
        ("[x](http://e.com", "Can't find end of a URL at byte offset 4"),
        ("(1)", "Character '(' is reserved and must be escaped with the preceding '\\'"),
    ],
)
def test_markdown_v2_refusals(source: str, detail: str) -> None:
    assert refusal(source, "MarkdownV2") == detail


def test_markdown_v2_entities() -> None:
    formatted = format_text(
        r"*b _bi_* __u__ ~s~ ||sp|| `c.d` [link](https://e.com/a\)b) Total: 1\.5", "MarkdownV2"
    )
    assert formatted.text == "b bi u s sp c.d link Total: 1.5"
    assert [e["type"] for e in formatted.entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert formatted.entities[-1]["url"] == "https://e.com/a)b"


def test_markdown_v2_pre_with_language_and_blockquote() -> None:
    formatted = format_text("```python\nprint(1)\n```\n>quoted\n>two", "MarkdownV2")
    assert formatted.text == "print(1)\n\nquoted\ntwo"
    assert formatted.entities == [
        {"type": "pre", "offset": 0, "length": 9, "language": "python"},
        {"type": "blockquote", "offset": 10, "length": 10},
    ]


def test_legacy_markdown() -> None:
    formatted = format_text("*b* _i_ `c` [l](http://e.com)", "Markdown")
    assert formatted.text == "b i c l"
    assert [e["type"] for e in formatted.entities] == ["bold", "italic", "code", "text_link"]
    assert refusal("*open", "Markdown") == "Can't find end of the entity starting at byte offset 0"


def test_unknown_parse_mode() -> None:
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        format_text("x", "BBCode")


def test_explicit_entities_are_used_as_given() -> None:
    formatted = format_text("hello world", entities=[{"type": "bold", "offset": 6, "length": 5}])
    assert formatted.entities == [{"type": "bold", "offset": 6, "length": 5}]


def test_caption_limit_and_empty_caption() -> None:
    assert format_text("", caption=True).text == ""
    with pytest.raises(ApiError, match="caption is too long"):
        format_text("x" * 1025, caption=True)


def test_auto_detected_entities() -> None:
    formatted = format_text("/ship@chaterp_bot for @alice see https://e.com #urgent a@b.co")
    kinds = [e["type"] for e in formatted.entities]
    assert kinds == ["bot_command", "mention", "url", "hashtag", "email"]
    in_code = format_text("<code>/start @alice</code>", "HTML")
    assert [e["type"] for e in in_code.entities] == ["code"]
