"""Fixtures for the Bot API emulator tests: a running emulator, a user, a raw HTTP client."""

from __future__ import annotations

import struct
import zlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.emulator import BotApiEmulator, User, running_emulator

# Shaped like a real token (digits, colon, 35 url-safe characters) so log-redaction checks bite.
TOKEN = "5012345678:AAHk3r7PqL2mN8sT4vX9zB1cD6eF0gJ5hW2"
BOT_USERNAME = "chaterp_bot"


def png_bytes(width: int = 3, height: int = 2) -> bytes:
    """A valid (tiny, red) PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


class FakeClock:
    """A settable Unix clock for callback-query age and flood control."""

    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[BotApiEmulator]:
    async with running_emulator(clock=clock, webhook_retry_delays=(0.01, 0.01, 0.01)) as emulator:
        emulator.add_bot(TOKEN, username=BOT_USERNAME, first_name="chaterp")
        yield emulator


@pytest.fixture
def alice(emu: BotApiEmulator) -> User:
    return emu.user(1001, "Alice", username="alice", language_code="en")


@pytest.fixture
async def api(emu: BotApiEmulator) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client whose base URL already contains the token: ``await api.post("/getMe")``."""
    async with httpx.AsyncClient(base_url=emu.base_url + TOKEN, timeout=10) as client:
        yield client


async def call(api: httpx.AsyncClient, method: str, **params: Any) -> httpx.Response:
    """POST a method with a JSON body."""
    return await api.post(f"/{method}", json=params)


async def ok(api: httpx.AsyncClient, method: str, **params: Any) -> Any:
    """Call a method that must succeed; return its result."""
    response = await call(api, method, **params)
    body = response.json()
    assert response.status_code == 200 and body["ok"], body
    return body["result"]


async def fails(api: httpx.AsyncClient, method: str, status: int, **params: Any) -> dict[str, Any]:
    """Call a method that must fail with ``status``; return the error body."""
    response = await call(api, method, **params)
    body = response.json()
    assert response.status_code == status, body
    assert body["ok"] is False and body["error_code"] == status, body
    return body
