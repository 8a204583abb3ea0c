"""Callback data: built and parsed only here, at most 64 bytes, and never trusted.

Format: ``prefix:part:part…`` with ASCII parts. Conversation buttons use the prefix ``c`` and
carry the conversation version they were made for, so a button from an older step is
recognised as expired; card buttons (``ship``, ``appr``…) carry ids that are re-checked
against the database and the presser's role on every press.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64
SEPARATOR = ":"
PART = re.compile(r"[A-Za-z0-9_.-]{0,40}")
CONVERSATION_PREFIX = "c"


class BadCallback(ValueError):
    """Callback data we did not make (forged, truncated, or from an older version)."""


@dataclass(frozen=True, slots=True)
class Callback:
    prefix: str
    parts: tuple[str, ...]

    def int_at(self, index: int) -> int:
        """The part at ``index`` as a non-negative int, or BadCallback."""
        try:
            value = self.parts[index]
        except IndexError as exc:
            raise BadCallback("missing part") from exc
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            raise BadCallback("not an id")
        return int(value)


def pack(prefix: str, *parts: object) -> str:
    """Callback data for a button; raises ValueError if it would not fit (a programming error)."""
    texts = [prefix, *(str(part) for part in parts)]
    if not prefix:
        raise ValueError("callback data needs a prefix")
    for text in texts:
        if not PART.fullmatch(text):
            raise ValueError(f"callback part {text!r} has characters we do not allow")
    data = SEPARATOR.join(texts)
    if not 1 <= len(data.encode()) <= MAX_BYTES:
        raise ValueError(f"callback data {data!r} is longer than {MAX_BYTES} bytes")
    return data


def unpack(data: str | None) -> Callback:
    if not data or len(data.encode()) > MAX_BYTES:
        raise BadCallback("empty or too long")
    texts = data.split(SEPARATOR)
    if not all(PART.fullmatch(text) for text in texts) or not texts[0]:
        raise BadCallback("unexpected characters")
    return Callback(prefix=texts[0], parts=tuple(texts[1:]))
