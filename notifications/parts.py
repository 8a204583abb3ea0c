"""What an outbox row sends: a list of parts, stored as JSON in the row.

A part is a text message (HTML, an optional inline keyboard, an optional tracking key so every
copy of a card can be edited later), a photo or a document (bytes stored once in the blob table
by digest), or a *render* part: the name of a renderer and its arguments, turned into text or
photo parts by the sender just before sending (a shipping card then shows the order as it is
when it goes out, and the business transaction that queued it did no rendering at all).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.ports import UnitOfWork
from handlers.replies import Button, InlineKeyboard


@dataclass(frozen=True, slots=True)
class TextPart:
    html: str
    keyboard: InlineKeyboard | None = None
    track: str | None = None  # record the sent message under this key (sent_messages)


@dataclass(frozen=True, slots=True)
class PhotoPart:
    blob: str  # digest in the outbox's file store
    caption: str = ""
    filename: str = "chart.png"
    # The bytes, when a renderer just made them (stored under ``blob`` before sending; not in
    # the row's JSON).
    data: bytes | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class DocumentPart:
    blob: str
    filename: str
    caption: str = ""


@dataclass(frozen=True, slots=True)
class RenderPart:
    """Rendered at send time by the renderer named ``what`` (notifications/renderers.py)."""

    what: str
    language: str
    args: dict[str, Any] = field(default_factory=dict)


Part = TextPart | PhotoPart | DocumentPart | RenderPart


def _keyboard_json(keyboard: InlineKeyboard | None) -> list[list[list[str]]] | None:
    if keyboard is None or not keyboard.rows:
        return None
    return [[[button.text, button.data] for button in row] for row in keyboard.rows]


def _keyboard(data: list[list[list[str]]] | None) -> InlineKeyboard | None:
    if not data:
        return None
    return InlineKeyboard.of(*[[Button(text, value) for text, value in row] for row in data])


def dumps(parts: Sequence[Part]) -> str:
    items: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            item: dict[str, Any] = {"t": "text", "html": part.html}
            keyboard = _keyboard_json(part.keyboard)
            if keyboard:
                item["kb"] = keyboard
            if part.track:
                item["track"] = part.track
        elif isinstance(part, PhotoPart):
            item = {"t": "photo", "blob": part.blob, "caption": part.caption, "name": part.filename}
        elif isinstance(part, DocumentPart):
            item = {"t": "doc", "blob": part.blob, "caption": part.caption, "name": part.filename}
        else:
            item = {"t": "render", "what": part.what, "lang": part.language, "args": part.args}
        items.append(item)
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def loads(text: str) -> list[Part]:
    parts: list[Part] = []
    for item in json.loads(text or "[]"):
        kind = item.get("t")
        if kind == "text":
            parts.append(TextPart(item["html"], _keyboard(item.get("kb")), item.get("track")))
        elif kind == "photo":
            parts.append(PhotoPart(item["blob"], item.get("caption", ""), item.get("name", "")))
        elif kind == "doc":
            parts.append(DocumentPart(item["blob"], item.get("name", ""), item.get("caption", "")))
        elif kind == "render":
            parts.append(RenderPart(item["what"], item.get("lang", "en"), dict(item["args"])))
        else:
            raise ValueError(f"unknown outbox part {kind!r}")
    return parts


def rendered_photo(png: bytes, caption: str = "", filename: str = "chart.png") -> PhotoPart:
    """A photo a renderer made at send time (the sender stores it before sending)."""
    return PhotoPart(hashlib.sha256(png).hexdigest(), caption, filename, data=png)


def photo(uow: UnitOfWork, png: bytes, caption: str = "", filename: str = "chart.png") -> PhotoPart:
    """A photo part; the bytes go into the file store once, whoever else gets the same PNG."""
    return PhotoPart(uow.outbox.put_blob(png, uow.clock.now()), caption, filename)


def queue(
    uow: UnitOfWork,
    key: str,
    chat_id: int,
    parts: Sequence[Part],
    *,
    not_before: datetime | None = None,
) -> bool:
    """Queue a message in ``uow``'s transaction under its natural key (once per key)."""
    if not parts:
        return False
    return uow.outbox.add(
        key[:160], chat_id, dumps(parts), at=uow.clock.now(), not_before=not_before
    )
