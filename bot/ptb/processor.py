"""Updates of one chat strictly in order, different chats concurrently, with a bounded total.

python-telegram-bot creates one task per update, in arrival order, and each task calls
``process_update`` → ``do_process_update`` without suspending until it has to wait. A task
therefore joins its chat's lane (an ``asyncio.Lock``, whose waiters are served first in,
first out) in arrival order, and only the lane's head then waits for one of the
``max_concurrent`` slots. The base class's own semaphore is sized so it never makes a task
wait (on some Python versions a semaphore may wake waiters out of order, which could reorder
one chat's updates before they reach their lane).

Lanes are dropped as soon as no update of the chat is waiting, so idle chats cost nothing.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

LaneKey = Hashable


@dataclass(slots=True)
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates of this chat waiting or running


def lane_key(update: object) -> LaneKey | None:
    """The chat an update belongs to (its lane); None for updates with no chat or user."""
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None:
        return ("chat", chat.id)
    user = update.effective_user
    if user is not None:
        return ("user", user.id)
    return None


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """One lane per chat (strict order), at most ``max_concurrent`` updates running at once."""

    def __init__(
        self,
        max_concurrent: int = 64,
        *,
        on_arrival: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates=sys.maxsize)
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self.on_arrival = on_arrival  # called as soon as an update arrives, before any wait
        self._slots = asyncio.Semaphore(max_concurrent)
        self._lanes: dict[LaneKey, _Lane] = {}
        self.running = 0  # updates holding a slot now (for tests and metrics)

    @property
    def lanes(self) -> int:
        """Chats with updates waiting or running."""
        return len(self._lanes)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self.on_arrival is not None:
            self.on_arrival(update)
        key = lane_key(update)
        if key is None:
            await self._run(coroutine)
            return
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.users += 1  # before any await: the lane exists until every user is done
        try:
            async with lane.lock:
                await self._run(coroutine)
        finally:
            lane.users -= 1
            if lane.users == 0 and self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _run(self, coroutine: Awaitable[Any]) -> None:
        try:
            async with self._slots:
                self.running += 1
                try:
                    await coroutine
                finally:
                    self.running -= 1
        except asyncio.CancelledError:
            close = getattr(coroutine, "close", None)
            if close is not None:
                close()  # cancelled while waiting: never started, do not warn "never awaited"
            raise

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: the Application waits for the update tasks itself."""
