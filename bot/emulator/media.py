"""Uploaded files: image size sniffing, Telegram-looking file ids, PhotoSize lists."""

from __future__ import annotations

import mimetypes
import secrets
import struct
from dataclasses import dataclass
from typing import Any

#: Telegram's largest photo side after recompression.
MAX_PHOTO_SIDE = 1280
#: Side lengths of the thumbnails Telegram makes for a photo.
THUMBNAIL_SIDES = (90, 320, 800)
MAX_DOWNLOAD_SIZE = 20 * 1024 * 1024
MAX_UPLOAD_SIZE = 50 * 1024 * 1024
MAX_PHOTO_UPLOAD_SIZE = 10 * 1024 * 1024

_FILE_ID_PREFIX = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}


@dataclass
class StoredFile:
    """A file Telegram keeps: the bytes plus what getFile and messages say about them."""

    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)

    def to_file(self) -> dict[str, Any]:
        """The ``File`` object getFile returns (``file_path`` only when downloadable)."""
        result: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_size <= MAX_DOWNLOAD_SIZE:
            result["file_path"] = self.file_path
        return result

    def to_document(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
        }
        if self.file_name:
            result["file_name"] = self.file_name
        if self.mime_type:
            result["mime_type"] = self.mime_type
        return result

    def to_photo_size(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.file_size,
            "width": self.width or 0,
            "height": self.height or 0,
        }


def new_file_ids(kind: str) -> tuple[str, str]:
    """A fresh ``(file_id, file_unique_id)`` shaped like Telegram's."""
    prefix = _FILE_ID_PREFIX.get(kind, "BQACAgIAAxkBAAI")
    return prefix + secrets.token_urlsafe(48), "AQAD" + secrets.token_urlsafe(9)


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, JPEG, GIF or WebP image, from its header; None otherwise."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return width & 0x3FFF, height & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


def photo_sides(width: int, height: int) -> list[tuple[int, int]]:
    """The (width, height) of each PhotoSize Telegram would make, smallest first."""
    longest = max(width, height, 1)

    def scaled(side: int) -> tuple[int, int]:
        scale = min(side / longest, 1.0)
        return max(1, round(width * scale)), max(1, round(height * scale))

    return [scaled(side) for side in THUMBNAIL_SIDES if side < longest] + [scaled(MAX_PHOTO_SIDE)]


def guess_mime_type(file_name: str | None, declared: str | None = None) -> str | None:
    """Telegram derives a document's mime type from its name; fall back on the part's type."""
    if file_name:
        guessed = mimetypes.guess_type(file_name, strict=False)[0]
        if guessed:
            return guessed
    if declared and declared not in ("application/octet-stream", ""):
        return declared
    return "application/octet-stream" if file_name or declared else None


def extension(file_name: str | None, mime_type: str | None, default: str) -> str:
    if file_name and "." in file_name:
        return file_name.rsplit(".", 1)[1].lower()[:10] or default
    if mime_type:
        guessed = mimetypes.guess_extension(mime_type, strict=False)
        if guessed:
            return guessed.lstrip(".")
    return default
