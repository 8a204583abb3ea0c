"""Fuzzy name matching for customers and products: names, SKUs, aliases and pinyin."""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from rapidfuzz import fuzz, process

__all__ = [
    "MIN_SCORE",
    "SHORTLIST_SIZE",
    "SURE_MIN_GAP",
    "SURE_MIN_SCORE",
    "Candidate",
    "MatchResult",
    "NameIndex",
    "normalise",
]

# --- thresholds (scores are 0..100) -------------------------------------------------------

MIN_SCORE = 60.0
"""Candidates scoring below this are never returned ("xyzzy" finds nothing)."""

SURE_MIN_SCORE = 90.0
"""Without an exact match, the best candidate is only `sure` when it scores at least this ..."""

SURE_MIN_GAP = 8.0
"""... and is at least this many points ahead of the runner-up (the best other key)."""

# An exact match (normalised query == name, alias, SKU or full pinyin of one key only) is
# always sure. Two keys matching exactly (two "John Smith"s) are never sure.

# --- scoring -----------------------------------------------------------------------------
# score = max(ratio, token sort, words-left-out, token set, partial) - missing numbers

TOKEN_SORT_FACTOR = 0.95
"""Score factor for the same words in another order ("widget blue" vs "Blue Widget")."""

SUBSET_BASE = 88.0
SUBSET_SPAN = 10.0
"""All query words in a longer name (words left out): BASE + SPAN * typed share, 88..98."""

TOKEN_SET_FACTOR = 0.9
TOKEN_SET_FACTOR_SHORTER = 0.8
"""Score factors for the best word-set alignment with a longer / a shorter text."""

PARTIAL_FACTOR = 0.9
PARTIAL_FACTOR_FAR = 0.6
"""Score factors for the query inside a text 1.5-8 times / at least 8 times as long."""

PARTIAL_MIN = 75.0
"""Partial matches below this are noise ("red" in "garden", "bolt" in "blue") and ignored."""

NUMBER_PENALTY = 8.0
MAX_NUMBER_PENALTIES = 2
MAX_NUMBER_TOKENS = 8
"""Points off per query size/number ("m8", "40mm", "100") missing from the text, at most
twice; only the first MAX_NUMBER_TOKENS such words of a query are checked."""

PINYIN_QUERY_FACTOR = 0.9
"""Score factor when a Chinese query only matches through its pinyin (a homophone)."""

# --- shortlist (character n-gram index) --------------------------------------------------

SHORTLIST_SIZE = 200
"""Texts taken from the n-gram index, by grams shared with the query, for rapidfuzz scoring."""

GRAM_BUDGET = 120_000
"""Query grams are looked up rarest first until their lists add up to this many texts ..."""

MIN_QUERY_GRAMS = 4
"""... but at least this many grams are used (common grams like "mm " say little)."""

MAX_QUERY_GRAMS = 64
"""At most this many (the rarest) query grams are looked up: a pasted essay stays cheap."""

MAX_QUERY_CHARS = 200
"""Longer queries are cut to this many characters: names are short, and latency stays flat."""

WORD_GRAMS_CACHE = 8192
"""Words whose grams are kept (catalog words repeat; a bigger cache costs memory, not speed)."""

# --- normalisation -----------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"))
_PUNCT_RE = re.compile(
    r"(?<!\d)[.,]|[.,](?!\d)"  # . and , except inside numbers (2.5mm, 1,5)
    r"|[-_/\\;:|()\[\]{}'\"`~!?*+#=<>^·•・、。，；：（）【】「」『』《》〈〉〔〕‘’“”…—–]"
)

# Common Cyrillic/Greek look-alikes (after casefold) mapped to the Latin letter they mimic.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "i", "ї": "i",
        "ј": "j", "к": "k", "ӏ": "l", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
        "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ɡ": "g",
        # Greek
        "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v",
        "ο": "o", "ρ": "p", "τ": "t", "υ": "u", "χ": "x", "ζ": "z",
        # Sizes: "M8×40" as typed "m8x40"
        "×": "x",
    }
)  # fmt: skip

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK = _HAN + r"\u3040-\u30ff\u31f0-\u31ff\uac00-\ud7af"  # + kana, hangul: no spaces between words
_HAN_CHAR_RE = re.compile(f"[{_HAN}]")
_CJK_CHAR_RE = re.compile(f"[{_CJK}]")
# In match keys every CJK character stands alone ("m8 不 锈 钢 螺 丝"): Chinese has no spaces,
# and this way "螺丝" is a word of "不锈钢螺丝" for word-based scoring (order, words left out).
_CJK_SPLIT_RE = re.compile(f"(?<=[{_CJK}])(?=[^ ])|(?<=[^ ])(?=[{_CJK}])")
_CJK_RUN_RE = re.compile(f"[{_CJK}](?: [{_CJK}])*")
_HAN_RUN_RE = re.compile(f"[{_HAN}]+")
_DIGIT_RE = re.compile("[0-9]")


def normalise(text: str) -> str:
    """Return `text` NFKC-normalised, casefolded, punctuation and whitespace runs as one space."""
    if text.isascii():  # NFKC changes no ASCII, and casefold is lower (fast path)
        text = text.lower()
    else:
        text = unicodedata.normalize("NFKC", text).casefold()
        text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE)
    return " ".join(_PUNCT_RE.sub(" ", text).split())


def _fold(text: str) -> str:
    """Return `text` normalised with look-alike Cyrillic/Greek letters folded to Latin."""
    return normalise(text).translate(_CONFUSABLES)


def _spaced(folded: str) -> str:
    """Return the match key of folded text: every CJK character as a word of its own."""
    return _CJK_SPLIT_RE.sub(" ", folded) if _CJK_CHAR_RE.search(folded) else folded


def _match_key(text: str) -> str:
    """Return the comparison form of `text`: normalised, folded, CJK characters spaced."""
    return _spaced(_fold(text))


@lru_cache(maxsize=65536)
def _run_pinyin(run: str) -> tuple[str, ...]:
    """Return the default-reading pinyin syllables (no tones, ü as v) of a run of Han text."""
    from pypinyin import lazy_pinyin  # imported lazily: ~0.3 s, only needed for Chinese text

    return tuple(lazy_pinyin(run))


def _pinyin_forms(folded: str) -> tuple[str, str, str] | None:
    """Return (joined, spaced, initials) pinyin match keys of folded text, or None without Han.

    Each run of Han characters becomes one word: "m8 不锈钢螺丝" -> "m8 buxiugangluosi",
    "m8 bu xiu gang luo si" and "m8 bxgls".
    """
    if not _HAN_CHAR_RE.search(folded):
        return None
    joined: list[str] = []
    spaced: list[str] = []
    initials: list[str] = []
    end = 0
    for match in _HAN_RUN_RE.finditer(folded):
        other = folded[end : match.start()]
        syllables = [s for s in _run_pinyin(match.group()) if s]
        joined += [other, " ", "".join(syllables), " "]
        spaced += [other, " ", " ".join(syllables), " "]
        initials += [other, " ", "".join(s[0] for s in syllables), " "]
        end = match.end()
    joined_key, spaced_key, initials_key = (
        _spaced(" ".join("".join([*parts, folded[end:]]).split()))
        for parts in (joined, spaced, initials)
    )
    return joined_key, spaced_key, initials_key


def _grams(key: str) -> set[str]:
    """Return the index grams of a match key: padded trigrams per word, uni/bigrams for CJK."""
    if not _CJK_CHAR_RE.search(key):
        return set().union(*map(_word_grams, key.split(" ")))
    grams: set[str] = set()
    for match in _CJK_RUN_RE.finditer(key):
        run = match.group().replace(" ", "")
        grams.update(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams.union(*map(_word_grams, _CJK_RUN_RE.sub(" ", key).split()))


@lru_cache(maxsize=WORD_GRAMS_CACHE)
def _word_grams(word: str) -> frozenset[str]:
    """Return the trigrams of " word " (a word without CJK characters)."""
    if not word:
        return frozenset()
    padded = f" {word} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


def _score(query: str, choices: list[str]) -> np.ndarray:
    """Return 0..100 similarity of `query` to each choice (typos, word order, dropped words)."""
    if len(choices) == 1 and choices[0] == query:
        return np.full(1, 100.0, dtype=np.float32)
    lengths = np.fromiter(map(len, choices), dtype=np.float32, count=len(choices))
    q = [query]
    score = _cdist(q, choices, fuzz.ratio)
    np.maximum(score, TOKEN_SORT_FACTOR * _cdist(q, choices, fuzz.token_sort_ratio), out=score)
    token_set = _cdist(q, choices, fuzz.token_set_ratio)
    longer = lengths >= len(query)
    # Every query word is in the choice (words left out): the more of it typed, the better.
    coverage = np.minimum(len(query) / lengths, 1.0)
    subset = np.where(longer & (token_set >= 99.99), SUBSET_BASE + SUBSET_SPAN * coverage, 0.0)
    np.maximum(score, subset, out=score)
    token_set *= np.where(longer, TOKEN_SET_FACTOR, TOKEN_SET_FACTOR_SHORTER)
    np.maximum(score, token_set, out=score)
    # The query is part of a longer text ("luosi" in "buxiugangluosi", initials "ls" in "bxgls").
    ratio = lengths / len(query)
    factor = np.where(ratio >= 8.0, PARTIAL_FACTOR_FAR, np.where(ratio >= 1.5, PARTIAL_FACTOR, 0))
    todo = np.flatnonzero(score < factor * 100.0)
    if len(todo):
        partial = process.cdist(
            q,
            [choices[i] for i in todo.tolist()],
            scorer=fuzz.partial_ratio,
            dtype=np.float32,
            score_cutoff=PARTIAL_MIN,
        )[0]
        score[todo] = np.maximum(score[todo], factor[todo] * partial)
    _penalise_numbers(query, choices, score)
    return score


def _penalise_numbers(query: str, choices: list[str], score: np.ndarray) -> None:
    """Lower the score of choices missing a number/size of the query: "m8" is not "m10"."""
    numbers = [t for t in query.split(" ") if _DIGIT_RE.search(t)]
    if not numbers:
        return
    # One text " choice1\n choice2\n ...": every word starts after a space, so each size
    # is a literal search; positions map back to choices through their start offsets.
    blob = " " + "\n ".join(choices)
    starts = np.cumsum([0, *(len(c) + 2 for c in choices[:-1])])
    missing = np.zeros(len(choices), dtype=np.float32)
    for token in numbers[:MAX_NUMBER_TOKENS]:
        # The token as a word, or the start of one not going on with a digit ("40" in "40mm").
        pattern = re.compile(f" {re.escape(token)}(?![0-9])")
        hits = [m.start() for m in pattern.finditer(blob)]
        present = np.zeros(len(choices), dtype=bool)
        present[np.searchsorted(starts, hits, side="right") - 1] = True
        missing += ~present
    score -= NUMBER_PENALTY * np.minimum(missing, MAX_NUMBER_PENALTIES)


def _cdist(queries: list[str], choices: list[str], scorer: object) -> np.ndarray:
    """Return the scores of one query against all choices as float32."""
    return process.cdist(queries, choices, scorer=scorer, dtype=np.float32)[0]


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """One possible match: the entry's key and name, its score and the text that matched."""

    key: int
    name: str
    score: float
    matched: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    """Ranked candidates (best first) and whether the best one is safe to take without asking."""

    candidates: tuple[Candidate, ...]
    sure: bool

    @property
    def best(self) -> Candidate | None:
        """Return the best candidate, or None when nothing matched."""
        return self.candidates[0] if self.candidates else None


_EMPTY = MatchResult(candidates=(), sure=False)

# Kinds of match strings, in tie-break order (lower wins on equal score).
_NAME, _ALIAS, _SKU, _PINYIN, _INITIALS = range(5)
_SURE_WHEN_EXACT = frozenset({_NAME, _ALIAS, _SKU, _PINYIN})


@dataclass(slots=True)
class _Entry:
    """An indexed customer/product: display name and the slots of its match strings."""

    name: str
    slots: list[int] = field(default_factory=list)


# --- the index -------------------------------------------------------------------------------


class NameIndex:
    """In-memory index over names, SKUs and aliases; follows changes via upsert/remove."""

    # Not thread-safe: use it from one thread (the bot's event loop) or guard it with a lock.

    def __init__(self) -> None:
        """Create an empty index."""
        self._entries: dict[int, _Entry] = {}
        # One slot per match string (name, sku, alias, pinyin forms); freed slots are reused.
        self._slot_key = array("q")  # entry key per slot, -1 when free
        self._slot_text: list[str] = []
        self._slot_shown: list[str] = []
        self._slot_kind = array("b")
        self._slot_len = array("H")  # length of the text, to prefer short texts among ties
        self._free: list[int] = []
        self._postings: dict[str, array[int]] = {}
        self._exact: dict[str, int | list[int]] = {}  # text -> its slot (or slots, if shared)

    def __len__(self) -> int:
        """Return the number of entries."""
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        """Return whether entry `key` is indexed."""
        return key in self._entries

    def upsert(
        self, key: int, name: str, *, sku: str | None = None, aliases: Iterable[str] = ()
    ) -> None:
        """Add entry `key`, or replace its name, SKU and aliases if it exists."""
        texts: dict[str, tuple[str, int]] = {}  # match key -> (shown text, kind); first wins
        names = [(_fold(name), name, _NAME)]
        names += [(_fold(alias), alias, _ALIAS) for alias in aliases]
        for folded, shown, kind in names:
            texts.setdefault(_spaced(folded), (shown, kind))
        if sku is not None:
            texts.setdefault(_match_key(sku), (sku, _SKU))
        for folded, _, kind in names:
            forms = _pinyin_forms(folded)
            if forms is not None:
                joined, spaced, initials = forms
                texts.setdefault(joined, (joined, _PINYIN if kind == _NAME else _ALIAS))
                texts.setdefault(spaced, (spaced, _PINYIN if kind == _NAME else _ALIAS))
                texts.setdefault(initials, (initials, _INITIALS))
        texts.pop("", None)
        self.remove(key)
        entry = _Entry(name=name)
        for text, (shown, kind) in texts.items():
            entry.slots.append(self._add_slot(key, text, shown, kind))
        self._entries[key] = entry

    def remove(self, key: int) -> None:
        """Remove entry `key`; a missing key is ignored."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return
        for slot in entry.slots:
            text = self._slot_text[slot]
            for gram in _grams(text):
                posting = self._postings[gram]
                # Find with numpy (array.remove is slow), then move the last id into the hole.
                at = int(np.argmax(np.frombuffer(posting, dtype=np.int32) == slot))
                last = posting.pop()
                if at < len(posting):
                    posting[at] = last
                if not posting:
                    del self._postings[gram]
            shared = self._exact[text]
            if isinstance(shared, int):
                del self._exact[text]
            else:
                shared.remove(slot)
                if len(shared) == 1:
                    self._exact[text] = shared[0]
            self._slot_key[slot] = -1
            self._slot_text[slot] = ""
            self._slot_shown[slot] = ""
            self._free.append(slot)

    def search(self, query: str, *, limit: int = 5) -> MatchResult:
        """Return up to `limit` matches for `query`, best first, and whether the best is sure."""
        folded = _fold(query[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS].rstrip()
        text = _spaced(folded)
        if not text or limit <= 0 or not self._entries:
            return _EMPTY
        best: dict[int, tuple[float, bool, int, int]] = {}  # key -> (score, exact, kind, slot)
        self._score_into(best, text, 1.0)
        top = max((v[0] for v in best.values()), default=0.0)
        if top < SURE_MIN_SCORE and _HAN_CHAR_RE.search(text):
            # No good match as typed: try the query's pinyin, which finds homophones typed
            # with the wrong characters (罗丝 for 螺丝).
            forms = _pinyin_forms(folded)
            if forms is not None:
                self._score_into(best, forms[0], PINYIN_QUERY_FACTOR)
        if not best:
            return _EMPTY
        slot_text = self._slot_text
        ranked = sorted(
            best.items(),
            key=lambda kv: (-kv[1][0], not kv[1][1], kv[1][2], len(slot_text[kv[1][3]]), kv[0]),
        )
        _, (top_score, top_exact, top_kind, _) = ranked[0]
        runner_up = ranked[1][1][0] if len(ranked) > 1 else 0.0
        if top_exact and top_kind in _SURE_WHEN_EXACT:
            sure = not (len(ranked) > 1 and ranked[1][1][1] and ranked[1][1][2] in _SURE_WHEN_EXACT)
        else:
            sure = top_score >= SURE_MIN_SCORE and top_score - runner_up >= SURE_MIN_GAP
        candidates = tuple(
            Candidate(
                key=key,
                name=self._entries[key].name,
                score=round(score, 2),
                matched=self._slot_shown[slot],
            )
            for key, (score, _, _, slot) in ranked[:limit]
        )
        return MatchResult(candidates=candidates, sure=sure)

    # --- internals ---------------------------------------------------------------------------

    def _add_slot(self, key: int, text: str, shown: str, kind: int) -> int:
        """Store one match string of entry `key` and index its grams; return its slot."""
        if self._free:
            slot = self._free.pop()
            self._slot_key[slot] = key
            self._slot_text[slot] = text
            self._slot_shown[slot] = shown
            self._slot_kind[slot] = kind
            self._slot_len[slot] = min(len(text), 0xFFFF)
        else:
            slot = len(self._slot_key)
            self._slot_key.append(key)
            self._slot_text.append(text)
            self._slot_shown.append(shown)
            self._slot_kind.append(kind)
            self._slot_len.append(min(len(text), 0xFFFF))
        postings = self._postings
        for gram in _grams(text):
            try:
                postings[gram].append(slot)
            except KeyError:
                postings[gram] = array("i", (slot,))
        shared = self._exact.setdefault(text, slot)
        if isinstance(shared, list):
            shared.append(slot)
        elif shared != slot:
            self._exact[text] = [shared, slot]
        return slot

    def _shortlist(self, text: str) -> np.ndarray:
        """Return the slots sharing the most grams with `text` (at most SHORTLIST_SIZE)."""
        postings = self._postings
        found = sorted((len(postings[g]), g) for g in _grams(text) if g in postings)
        del found[MAX_QUERY_GRAMS:]
        if not found:
            return np.empty(0, dtype=np.intp)
        # Rare grams first, until the budget is spent: common grams ("mm ") say little and
        # cost most.
        keep, total = 0, 0
        for df, _ in found:
            total += df
            if total > GRAM_BUDGET and keep >= MIN_QUERY_GRAMS:
                break
            keep += 1
        arrays = [np.frombuffer(postings[g], dtype=np.int32) for _, g in found[:keep]]
        ids = np.concatenate(arrays) if len(arrays) > 1 else arrays[0].copy()
        del arrays  # release the buffers so the posting arrays can grow again
        counts = np.bincount(ids).astype(np.uint8)  # at most MAX_QUERY_GRAMS per slot
        if len(ids) <= SHORTLIST_SIZE:
            return np.flatnonzero(counts)
        # Binary search for the lowest count `lo` with at most SHORTLIST_SIZE slots at or
        # above it, then fill up with slots at `lo - 1` (ties, in slot order).
        lo, hi = 1, int(counts.max())
        while lo < hi:
            mid = (lo + hi) // 2
            if np.count_nonzero(counts >= mid) <= SHORTLIST_SIZE:
                hi = mid
            else:
                lo = mid + 1
        top = np.flatnonzero(counts >= lo)
        if len(top) > SHORTLIST_SIZE:  # more ties at the highest count than room
            return self._shortest(top, SHORTLIST_SIZE)
        room = SHORTLIST_SIZE - len(top)
        if room > 0 and lo > 1:
            ties = np.flatnonzero(counts == lo - 1)
            top = np.concatenate((top, self._shortest(ties, room)))
        return top

    def _shortest(self, slots: np.ndarray, n: int) -> np.ndarray:
        """Return the `n` slots with the shortest texts (all if there are no more than `n`)."""
        if len(slots) <= n:
            return slots
        lengths = np.frombuffer(self._slot_len, dtype=np.uint16)[slots]
        return slots[np.argpartition(lengths, n - 1)[:n]]

    def _score_into(
        self, best: dict[int, tuple[float, bool, int, int]], text: str, factor: float
    ) -> None:
        """Score the shortlist (plus exact hits) for `text` and keep each key's best slot."""
        slots = self._shortlist(text).tolist()
        exact = self._exact.get(text)
        if exact is not None:
            exact_slots = [exact] if isinstance(exact, int) else exact
            slots = list(dict.fromkeys([*exact_slots, *slots]))
        if not slots:
            return
        slot_text = self._slot_text
        scores = _score(text, [slot_text[s] for s in slots])
        keep = np.flatnonzero(scores * factor >= MIN_SCORE)
        slot_key, slot_kind = self._slot_key, self._slot_kind
        for i in keep.tolist():
            slot = slots[i]
            is_exact = factor == 1.0 and slot_text[slot] == text
            score = 100.0 if is_exact else float(scores[i]) * factor
            cand = (score, is_exact, slot_kind[slot], slot)
            key = slot_key[slot]
            old = best.get(key)
            if old is None or (cand[0], cand[1], -cand[2]) > (old[0], old[1], -old[2]):
                best[key] = cand
