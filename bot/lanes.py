"""Updates of one chat strictly in order, different chats concurrently, with a bounded total.

Both front ends run each update in a task of its own, created in arrival order, and each task
enters :meth:`ChatLanes.turn` before it first suspends (python-telegram-bot through our update
processor, aiogram through its event isolation). A task therefore joins its chat's lane (an
``asyncio.Lock``, whose waiters are served first in, first out) in arrival order, and only the
lane's head then waits for one of the ``max_concurrent`` slots: a busy chat never holds more
than one slot, so it cannot starve the others.

Lanes are dropped as soon as no update of the chat is waiting, so idle chats cost nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

MAX_CONCURRENT_UPDATES = 64  # updates of different chats handled at the same time


@dataclass(slots=True)
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates of this chat waiting or running


class ChatLanes:
    """One lane per chat (strict order), at most ``max_concurrent`` updates running at once."""

    def __init__(self, max_concurrent: int = MAX_CONCURRENT_UPDATES) -> None:
        if max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")
        self.max_concurrent = max_concurrent
        self._slots = asyncio.Semaphore(max_concurrent)
        self._lanes: dict[Hashable, _Lane] = {}
        self.running = 0  # updates holding a slot now (for tests and metrics)

    @property
    def chats(self) -> int:
        """Chats with updates waiting or running."""
        return len(self._lanes)

    @asynccontextmanager
    async def turn(self, chat: Hashable | None) -> AsyncIterator[None]:
        """Wait for ``chat``'s earlier updates and for a free slot; hold both inside.
        ``None`` (an update with no chat) waits only for a slot."""
        if chat is None:
            async with self._slot():
                yield
            return
        lane = self._lanes.get(chat)
        if lane is None:
            lane = self._lanes[chat] = _Lane()
        lane.users += 1  # before any await: the lane exists until every user is done
        try:
            async with lane.lock, self._slot():
                yield
        finally:
            lane.users -= 1
            if lane.users == 0 and self._lanes.get(chat) is lane:
                del self._lanes[chat]

    @asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        async with self._slots:
            self.running += 1
            try:
                yield
            finally:
                self.running -= 1
