"""The sandbox as a page would use it: a running Sandbox (the real bot over HTTP against the
emulator, the demo business in SQLite) and a client speaking the page's JSON and SSE API.

The demo database is prepared once per session (on a fixed clock) and copied for each test.
Tests wait for what the page would see arrive on the event stream, never for time to pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.bootstrap import message_settings
from bot.sandbox import ChatHistory, JobRunner, Sandbox, prepare_database
from bot.sandbox.cast import WAREHOUSE_GROUP_ID
from bot.settings import Settings
from domain.ports import LedgerPolicy
from notifications.publisher import OutboxPublisher
from storage.database import Database
from tests.conftest import TZ
from tests.fakes import FixedClock

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=TZ)  # a Monday afternoon
TIMEOUT = 15.0  # generous for a loaded CI machine; nothing waits this long when things work
OWNER, SALES, SALES2, WAREHOUSE, CUSTOMER, CUSTOMER2 = (
    100_001,
    100_002,
    100_003,
    100_004,
    100_005,
    100_006,
)
GROUP = WAREHOUSE_GROUP_ID


def sandbox_settings(framework: str = "ptb") -> Settings:
    """Settings as a fresh checkout has them (no .env, no environment), on ``framework``."""
    return Settings(  # type: ignore[call-arg]
        _env_file=None, telegram_bot_token=None, chaterp_framework=framework
    )


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sandbox") / "template.db"
    database = open_test_database(path)
    outcome = prepare_database(database)
    assert outcome.demo_loaded
    database.dispose()  # folds the WAL into the file, so a plain copy is complete
    return path


def open_test_database(path: Path) -> Database:
    """The sandbox's database as open_database makes it (events become outbox messages)."""
    return Database(
        f"sqlite:///{path}",
        clock=FixedClock(NOW),
        policy=LedgerPolicy(),
        publisher=OutboxPublisher(message_settings(sandbox_settings())),
    )


@dataclass
class PageClient:
    """What the page does, over HTTP: read and act through /api, listen on /api/events."""

    base: str
    session: aiohttp.ClientSession
    events: list[dict[str, Any]] = field(default_factory=list)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    async def get(self, path: str) -> Any:
        async with self.session.get(self.base + path) as response:
            assert response.status == 200, await response.text()
            return await response.json()

    async def post(self, path: str, body: Any, *, expect: int = 200, **headers: str) -> Any:
        async with self.session.post(self.base + path, json=body, headers=headers) as response:
            assert response.status == expect, await response.text()
            return await response.json()

    async def say(self, persona: int, text: str, chat: int | None = None) -> None:
        where = chat if chat is not None else persona
        await self.post(f"/api/chats/{where}/messages", {"persona": persona, "text": text})

    async def read(self, persona: int, chat: int | None = None) -> dict[str, Any]:
        where = chat if chat is not None else persona
        return await self.get(f"/api/chats/{where}/messages?persona={persona}")

    async def press(self, persona: int, message: dict[str, Any], label: str) -> str:
        data = button_data(message, label)
        result = await self.post(
            f"/api/chats/{message['chat_id']}/press",
            {"persona": persona, "message_id": message["id"], "data": data},
        )
        return str(result["callback_query_id"])

    # --- the event stream ---------------------------------------------------------------------

    async def listen(self) -> None:
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read_events(ready))
        await asyncio.wait_for(ready.wait(), TIMEOUT)

    async def _read_events(self, ready: asyncio.Event) -> None:
        async with self.session.get(self.base + "/api/events", timeout=None) as response:
            assert response.headers["Content-Type"].startswith("text/event-stream")
            ready.set()
            async for raw in response.content:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    self.events.append(json.loads(line[len("data: ") :]))
                    changed, self._changed = self._changed, asyncio.Event()
                    changed.set()

    async def stop_listening(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await self._reader

    async def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], what: str, *, after: int = 0
    ) -> dict[str, Any]:
        """The first event (from index ``after`` on) that matches, waiting for it to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            for event in self.events[after:]:
                if predicate(event):
                    return event
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [e.get("message", e).get("html", e.get("kind")) for e in self.events[-8:]]
                raise AssertionError(f"no event for {what} within {TIMEOUT} s; last: {seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def bot_says(self, chat: int, text: str, *, after: int = 0) -> dict[str, Any]:
        """The bot's message (new or edited) in ``chat`` whose text contains ``text``."""
        event = await self.wait_for(
            lambda e: e.get("chat_id") == chat
            and e["kind"] in ("message", "edited")
            and e["message"]["from"]["is_bot"]
            and text in e["message"]["html"],
            f"the bot saying {text!r} in chat {chat}",
            after=after,
        )
        return dict(event["message"])

    def mark(self) -> int:
        """An index for ``after=``: only events from now on count."""
        return len(self.events)


def button_data(message: dict[str, Any], label: str) -> str:
    for row in message["buttons"]:
        for button in row:
            if label in button["text"]:
                return str(button["data"])
    labels = [b["text"] for row in message["buttons"] for b in row]
    raise AssertionError(f"no button {label!r} on the message; buttons: {labels}")


@asynccontextmanager
async def running_sandbox(
    template: Path,
    folder: Path,
    *,
    jobs: JobRunner | None = None,
    fresh_copy: bool = True,
    port: int = 0,
    framework: str = "ptb",
) -> AsyncIterator[tuple[Sandbox, PageClient]]:
    """A sandbox on a free port over a copy of the demo database (kept between restarts when
    ``fresh_copy`` is False), with a page client already listening to events."""
    path = folder / "sandbox.db"
    if fresh_copy or not path.exists():
        shutil.copyfile(template, path)
    database = open_test_database(path)
    sandbox = Sandbox(
        sandbox_settings(framework),
        database,
        host="127.0.0.1",
        port=port,
        jobs=jobs,
        history=ChatHistory(folder / "sandbox.chats.json"),
    )
    await sandbox.start()
    if sandbox.front is not None and sandbox.front.notifications is not None:
        # What the scheduler made up at start (the morning's jobs) has gone out.
        await sandbox.front.notifications.idle(TIMEOUT)
    try:
        async with aiohttp.ClientSession() as session:
            page = PageClient(sandbox.url, session)
            await page.listen()
            try:
                yield sandbox, page
            finally:
                await page.stop_listening()
    finally:
        await sandbox.stop()
        database.dispose()


@pytest.fixture
async def sandbox_page(
    demo_template: Path, tmp_path: Path, framework: str
) -> AsyncIterator[tuple[Sandbox, PageClient]]:
    async with running_sandbox(demo_template, tmp_path, framework=framework) as running:
        yield running
