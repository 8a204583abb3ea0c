"""Tests for the fuzzy customer/product name matcher (domain.matching)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.matching import (
    MIN_SCORE,
    SURE_MIN_GAP,
    SURE_MIN_SCORE,
    Candidate,
    MatchResult,
    NameIndex,
    normalise,
)

CATALOG: dict[int, tuple[str, str | None, tuple[str, ...]]] = {
    1: ("Blue Widget", "WDG-BLU", ()),
    2: ("Red Widget", "WDG-RED", ()),
    3: ("M8 Hex Bolt Zinc 40mm", "BLT-M8-40", ("hex bolt m8x40",)),
    4: ("M10 Hex Bolt Zinc 40mm", "BLT-M10-40", ()),
    5: ("螺丝", "CN-LS", ()),
    6: ("螺母", "CN-LM", ()),
    7: ("M8 不锈钢螺丝 40mm", "CN-M8-40", ()),
    8: ("扳手", None, ("spanner",)),
    9: ("Acme Trading Ltd", None, ("acme",)),
    10: ("Garden Hose Green 25m", "HOSE-25", ()),
}


def build(catalog: dict[int, tuple[str, str | None, tuple[str, ...]]] = CATALOG) -> NameIndex:
    """Return an index over `catalog`."""
    index = NameIndex()
    for key, (name, sku, aliases) in catalog.items():
        index.upsert(key, name, sku=sku, aliases=aliases)
    return index


@pytest.fixture(scope="module")
def index() -> NameIndex:
    """Return the shared read-only index over CATALOG."""
    return build()


def keys(result: MatchResult) -> list[int]:
    """Return the candidate keys, best first."""
    return [c.key for c in result.candidates]


# --- normalise -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Blue   Widget ", "blue widget"),
        ("ＷＩＤＧＥＴ", "widget"),
        ("Ｍ８\u3000ｂｏｌｔ", "m8 bolt"),
        ("BLT-M8-40", "blt m8 40"),
        ("hex_bolt/zinc, 40mm.", "hex bolt zinc 40mm"),
        ("2.5mm² cable", "2.5mm2 cable"),
        ("Straße", "strasse"),
        ("tab\there\nnewline", "tab here newline"),
        ("zero\u200bwidth", "zerowidth"),
        ("", ""),
        ("  - / ", ""),
    ],
)
def test_normalise(text: str, expected: str) -> None:
    """Width, case, punctuation and spacing differences disappear."""
    assert normalise(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    """Normalising twice changes nothing more."""
    once = normalise(text)
    assert normalise(once) == once
    assert once == once.strip()
    assert "  " not in once


# --- what a user sees -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("blue widgte", 1),
        ("bleu widget", 1),
        ("m8 hex blot zinc 40mm", 3),
        ("garden hsoe green 25m", 10),
        ("acme tradng", 9),
    ],
)
def test_typo_finds_the_product(index: NameIndex, query: str, key: int) -> None:
    """One or two wrong characters still find it first."""
    assert keys(index.search(query))[:1] == [key]


@pytest.mark.parametrize("query", ["luosi", "luo si", "LuoSi", "ls"])
def test_pinyin_finds_chinese_name(index: NameIndex, query: str) -> None:
    """Full pinyin (joined or spaced) and pinyin initials find 螺丝."""
    result = index.search(query)
    assert keys(result)[0] == 5
    assert result.best is not None
    assert result.best.name == "螺丝"


def test_pinyin_finds_longer_chinese_name(index: NameIndex) -> None:
    """Pinyin of a name with a spec finds it."""
    assert keys(index.search("m8 buxiugangluosi 40mm"))[0] == 7
    assert keys(index.search("bu xiu gang luo si m8"))[0] == 7


def test_chinese_characters_match(index: NameIndex) -> None:
    """Chinese text finds the exact name first and names containing it after."""
    result = index.search("螺丝")
    assert keys(result)[0] == 5
    assert result.sure
    assert 7 in keys(result)
    assert keys(index.search("不锈钢螺丝"))[0] == 7


def test_part_of_chinese_name_with_spec(index: NameIndex) -> None:
    """Chinese has no spaces: a word inside a longer run of characters still counts."""
    assert keys(index.search("螺丝 m8"))[0] == 7
    assert keys(index.search("40mm 不锈钢"))[0] == 7


def test_homophone_characters_find_by_pinyin(index: NameIndex) -> None:
    """罗丝 (same sound, wrong characters) finds 螺丝."""
    assert keys(index.search("罗丝"))[0] == 5


def test_full_width_and_extra_spaces(index: NameIndex) -> None:
    """Full-width letters and stray spaces match like plain text."""
    assert index.search("ＷＩＤＧＥＴ") == index.search("widget")
    result = index.search("   ＢＬＵＥ    ＷＩＤＧＥＴ  ")
    assert keys(result)[0] == 1
    assert result.sure
    assert result.best is not None
    assert result.best.score == 100.0


def test_cyrillic_homoglyph(index: NameIndex) -> None:
    """A Cyrillic і in "wіdget" (and Cyrillic е, о elsewhere) still matches well."""
    query = "blue w\u0456dg\u0435t"  # і and е are Cyrillic
    assert query != "blue widget"
    result = index.search(query)
    assert keys(result)[0] == 1
    assert result.best is not None
    assert result.best.score == 100.0
    assert keys(index.search("r\u0435d widg\u0435t"))[0] == 2


def test_swapped_word_order(index: NameIndex) -> None:
    """Word order does not matter much."""
    result = index.search("widget blue")
    assert keys(result)[0] == 1
    assert result.sure
    assert keys(index.search("zinc 40mm hex bolt m8"))[0] == 3


def test_dropped_word(index: NameIndex) -> None:
    """Leaving a word out still finds it."""
    result = index.search("m8 hex bolt 40mm")
    assert keys(result)[0] == 3
    assert keys(index.search("garden hose 25m"))[0] == 10


def test_all_words_typed_beats_a_near_miss() -> None:
    """Leaving out the brand beats a name that differs in a word typed."""
    index = build(
        {
            1: ("Unibond Red Foil Tape 25mm x 50m", None, ()),
            2: ("Grey Foil Tape 25mm x 50m", None, ()),
            3: ("Red Foil Tape 25mm x 5m", None, ()),
        }
    )
    assert keys(index.search("red foil tape 25mm x 50m")) == [1, 2, 3]


def test_sizes_must_match(index: NameIndex) -> None:
    """A different size ranks below the size typed."""
    result = index.search("m10 hex bolt")
    assert keys(result)[:2] == [4, 3]
    by_key = {c.key: c.score for c in result.candidates}
    assert by_key[4] - by_key[3] >= SURE_MIN_GAP


def test_ambiguous_is_not_sure_and_lists_both(index: NameIndex) -> None:
    """ "widget" could be either widget: ask, and offer both."""
    result = index.search("widget")
    assert not result.sure
    assert set(keys(result)[:2]) == {1, 2}


def test_ambiguous_size_is_not_sure(index: NameIndex) -> None:
    """ "hex bolt" could be M8 or M10."""
    result = index.search("hex bolt zinc 40mm")
    assert not result.sure
    assert set(keys(result)[:2]) == {3, 4}


@pytest.mark.parametrize("query", ["BLT-M8-40", "blt m8 40", "ｂｌｔ－ｍ８－４０"])
def test_exact_sku_is_sure(index: NameIndex, query: str) -> None:
    """An exact SKU is taken without asking."""
    result = index.search(query)
    assert result.sure
    assert result.best is not None
    assert result.best.key == 3
    assert result.best.matched == "BLT-M8-40"
    assert result.best.name == "M8 Hex Bolt Zinc 40mm"


@pytest.mark.parametrize(("query", "key"), [("acme", 9), ("Spanner", 8), ("hex bolt m8x40", 3)])
def test_exact_alias_is_sure(index: NameIndex, query: str, key: int) -> None:
    """An exact alias is taken without asking."""
    result = index.search(query)
    assert result.sure
    assert keys(result)[0] == key


def test_exact_name_is_sure_even_inside_longer_names() -> None:
    """ "Widget" exactly is sure although "Blue Widget" also contains it."""
    index = build({1: ("Widget", None, ()), 2: ("Blue Widget", None, ())})
    result = index.search("widget")
    assert result.sure
    assert keys(result) == [1, 2]


def test_same_exact_name_twice_is_not_sure() -> None:
    """Two customers with the same name: ask which."""
    index = build({1: ("John Smith", None, ()), 2: ("John Smith", None, ())})
    result = index.search("john smith")
    assert not result.sure
    assert sorted(keys(result)) == [1, 2]


@pytest.mark.parametrize("query", ["xyzzy", "qqqq", "zzzzzzzz", "!!!", "12345678"])
def test_garbage_returns_nothing(index: NameIndex, query: str) -> None:
    """Nothing below the minimum score is offered."""
    result = index.search(query)
    assert result.candidates == ()
    assert result.best is None
    assert not result.sure


@pytest.mark.parametrize(
    ("query", "expected"),
    [("widgets galore", {1, 2}), ("bolt", {3, 4}), ("red", {2}), ("hose", {10})],
)
def test_weak_matches_are_not_offered(index: NameIndex, query: str, expected: set[int]) -> None:
    """Only real candidates are offered, not names sharing a few letters."""
    assert set(keys(index.search(query, limit=20))) == expected


def test_numbers_typed_must_be_there() -> None:
    """All words typed, brand left out, beats a near-identical name with another number."""
    index = build(
        {
            1: ("Acme Hex Bolt M8 40mm Pack of 100", None, ()),
            2: ("Hex Bolt M8 40mm Pack of 10", None, ()),
            3: ("Hex Bolt M8 45mm Pack of 100", None, ()),
        }
    )
    assert keys(index.search("hex bolt m8 40mm pack of 100"))[0] == 1
    assert keys(index.search("hex bolt m8 45mm"))[0] == 3


@pytest.mark.parametrize("query", ["", " ", "\t\n", "\u3000"])
def test_empty_query_returns_nothing(index: NameIndex, query: str) -> None:
    """An empty or blank query finds nothing."""
    assert index.search(query) == MatchResult(candidates=(), sure=False)


def test_huge_query_is_cut_not_slow(index: NameIndex) -> None:
    """A pasted wall of text is cut to a name-sized query."""
    result = index.search("blue widget " * 20_000)
    assert keys(result)[0] == 1
    assert len(index.search("螺" * 100_000).candidates) <= 5


def test_times_sign_matches_x(index: NameIndex) -> None:
    """ "M8×40" (times sign) matches an alias typed "m8x40"."""
    result = index.search("hex bolt M8×40")
    assert result.sure
    assert keys(result)[0] == 3


def test_empty_index_returns_nothing() -> None:
    """Searching an empty index finds nothing."""
    assert NameIndex().search("widget") == MatchResult(candidates=(), sure=False)


def test_candidates_are_ranked_limited_and_above_minimum(index: NameIndex) -> None:
    """Best first, at most `limit`, every score within MIN_SCORE..100."""
    for limit in (1, 2, 5, 20):
        result = index.search("widget", limit=limit)
        assert 1 <= len(result.candidates) <= limit
        scores = [c.score for c in result.candidates]
        assert scores == sorted(scores, reverse=True)
        assert all(MIN_SCORE <= s <= 100 for s in scores)
    assert index.search("widget", limit=0).candidates == ()


def test_candidate_fields(index: NameIndex) -> None:
    """A candidate carries key, display name, score and the text that matched."""
    best = index.search("blue widget").best
    assert best == Candidate(key=1, name="Blue Widget", score=100.0, matched="Blue Widget")
    pinyin = index.search("luosi").best
    assert pinyin is not None
    assert (pinyin.key, pinyin.name, pinyin.matched) == (5, "螺丝", "luosi")


def test_thresholds_are_consistent() -> None:
    """The documented thresholds make sense together."""
    assert 0 < MIN_SCORE < SURE_MIN_SCORE <= 100
    assert 0 < SURE_MIN_GAP < 100 - MIN_SCORE


# --- following changes -----------------------------------------------------------------------


def test_upsert_renamed_product_finds_new_name_not_old() -> None:
    """After a rename the new name is found and the old one is not."""
    index = build()
    index.upsert(1, "Green Gizmo", sku="GZM-GRN")
    assert len(index) == len(CATALOG)
    assert keys(index.search("green gizmo"))[0] == 1
    assert index.search("green gizmo").sure
    assert 1 not in keys(index.search("blue widget", limit=20))
    assert 1 not in keys(index.search("WDG-BLU", limit=20))
    assert keys(index.search("gzm-grn"))[0] == 1
    # "widget" is no longer ambiguous: only the red one is left.
    assert keys(index.search("widget")) == [2]


def test_upsert_replaces_aliases_and_sku() -> None:
    """Aliases and SKU not given again are gone after an upsert."""
    index = build()
    index.upsert(9, "Acme Trading Ltd")
    assert all(c.matched != "acme" for c in index.search("acme", limit=20).candidates)
    index.upsert(9, "Acme Trading Ltd", aliases=["roadrunner supplies"])
    assert keys(index.search("roadrunner supplies"))[0] == 9


def test_remove_removes() -> None:
    """A removed entry is never offered again; removing twice is harmless."""
    index = build()
    index.remove(1)
    assert len(index) == len(CATALOG) - 1
    assert 1 not in keys(index.search("blue widget", limit=20))
    assert 1 not in keys(index.search("WDG-BLU", limit=20))
    index.remove(1)
    index.remove(12345)
    assert len(index) == len(CATALOG) - 1
    result = index.search("widget")
    assert keys(result) == [2]


def test_remove_chinese_entry_removes_pinyin() -> None:
    """Removing a Chinese name also removes its pinyin forms."""
    index = build()
    index.remove(5)
    assert 5 not in keys(index.search("luosi", limit=20))
    assert 5 not in keys(index.search("ls", limit=20))


def test_repeated_renames_do_not_grow_the_index() -> None:
    """Renaming one product many times reuses its storage."""
    index = build()
    size = len(index._slot_key)
    for i in range(50):
        index.upsert(1, f"Blue Widget Mk{i}", sku=f"WDG-{i}", aliases=[f"bw{i}"])
    assert len(index._slot_key) <= size + 2
    assert keys(index.search("blue widget mk49"))[0] == 1
    assert all(c.matched != "bw48" for c in index.search("bw48", limit=20).candidates)


def test_shortlist_finds_the_product_among_many() -> None:
    """With many similar names (more than one shortlist), mistakes still find the product."""
    colours = ["Red", "Blue", "Green", "Black", "White", "Yellow", "Grey", "Orange"]
    things = ["Widget", "Gadget", "Bucket", "Storage Box", "Garden Hose", "Cable Tie", "Mop"]
    sizes = ["Small", "Medium", "Large", "XL"]
    brands = ["Acme", "Bosch", "Stanley", "Makita", "Wera", "Bahco", "Irwin", "Draper"]
    catalog: dict[int, tuple[str, str | None, tuple[str, ...]]] = {}
    for b in brands:
        for c in colours:
            for t in things:
                for z in sizes:
                    catalog[len(catalog) + 1] = (f"{b} {c} {t} {z}", None, ())
    index = build(catalog)
    by_name = {name: key for key, (name, _, _) in catalog.items()}
    for query, name in [
        ("stanly green storage box large", "Stanley Green Storage Box Large"),
        ("bahco gray cable tie xl", "Bahco Grey Cable Tie XL"),
        ("large mop orange makita", "Makita Orange Mop Large"),
        ("wera yelow bukcet", None),
        ("irwin white gardn hose medium", "Irwin White Garden Hose Medium"),
    ]:
        got = keys(index.search(query))
        if name is None:
            assert all(catalog[k][0].startswith("Wera Yellow Bucket") for k in got[:4])
        else:
            assert got[0] == by_name[name], query


def test_matcher_imports_no_frameworks() -> None:
    """The matcher is pure domain code: no bot, ORM, scheduler or plotting imports."""
    forbidden = ["telegram", "aiogram", "sqlmodel", "sqlalchemy", "matplotlib", "apscheduler"]
    code = (
        "import sys, domain.matching\n"
        f"bad = [m for m in {forbidden!r} if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- properties ------------------------------------------------------------------------------

_PROPERTY_INDEX = build()
_NAME_CHARS = st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789 -螺丝母钉扳手胶带")
_NAMES = st.text(_NAME_CHARS, min_size=1, max_size=24)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80), st.integers(min_value=0, max_value=10))
def test_search_never_raises(query: str, limit: int) -> None:
    """Any text gives a well-formed result."""
    result = _PROPERTY_INDEX.search(query, limit=limit)
    assert len(result.candidates) <= limit
    assert not result.sure or result.candidates
    assert all(MIN_SCORE <= c.score <= 100 for c in result.candidates)
    assert len({c.key for c in result.candidates}) == len(result.candidates)


def _distinct(names: list[str]) -> bool:
    """Return whether the names stay distinct and non-empty however they are spaced."""
    squashed = [normalise(n).replace(" ", "") for n in names]
    return all(squashed) and len(set(squashed)) == len(squashed)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_NAMES, min_size=1, max_size=12).filter(_distinct), st.data())
def test_exact_name_query_returns_that_key_first(names: list[str], data: st.DataObject) -> None:
    """With unique names, searching a name exactly returns its key first, and surely."""
    index = NameIndex()
    for key, name in enumerate(names):
        index.upsert(key, name)
    key = data.draw(st.integers(min_value=0, max_value=len(names) - 1))
    result = index.search(names[key])
    assert keys(result)[0] == key
    assert result.sure


_OPS = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(min_value=0, max_value=6),
        st.one_of(st.sampled_from(["螺丝", "blue widget", "m8 bolt", "a"]), _NAMES),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_OPS, st.lists(_NAMES, min_size=1, max_size=5))
def test_updates_match_a_fresh_build(ops: list[tuple[bool, int, str]], queries: list[str]) -> None:
    """After any upserts and removes, results equal those of an index built from scratch."""
    live = NameIndex()
    model: dict[int, str] = {}
    for is_upsert, key, name in ops:
        if is_upsert:
            live.upsert(key, name, sku=f"SKU-{name}")
            model[key] = name
        else:
            live.remove(key)
            model.pop(key, None)
    fresh = NameIndex()
    for key, name in model.items():
        fresh.upsert(key, name, sku=f"SKU-{name}")
    assert len(live) == len(model)
    for query in [*queries, *model.values()]:
        got = live.search(query, limit=10)
        want = fresh.search(query, limit=10)
        assert [(c.key, c.score) for c in got.candidates] == [
            (c.key, c.score) for c in want.candidates
        ]
        assert got.sure == want.sure
        assert set(keys(got)) <= set(model)
    _assert_postings_consistent(live)


def _assert_postings_consistent(index: NameIndex) -> None:
    """Check (internals) that grams and exact texts list exactly the live texts with them."""
    from domain.matching import _grams

    used = sum(len(entry.slots) for entry in index._entries.values())
    assert len(index._slot_key) - len(index._free) == used
    expected: dict[str, list[int]] = {}
    exact: dict[str, list[int]] = {}
    for slot, (key, text) in enumerate(zip(index._slot_key, index._slot_text, strict=True)):
        if key != -1:
            exact.setdefault(text, []).append(slot)
            for gram in _grams(text):
                expected.setdefault(gram, []).append(slot)
    assert {g: sorted(p) for g, p in index._postings.items()} == expected
    assert {t: [s] if isinstance(s, int) else sorted(s) for t, s in index._exact.items()} == exact
