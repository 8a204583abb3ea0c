"""python-telegram-bot's update processor on our chat lanes (bot/lanes.py).

PTB creates one task per update, in arrival order, and each task calls ``process_update`` →
``do_process_update`` without suspending until it has to wait, so every update joins its
chat's lane in arrival order. The base class's own semaphore is sized so it never makes a
task wait (on some Python versions a semaphore may wake waiters out of order, which could
reorder one chat's updates before they reach their lane); the lanes bound the work instead.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.lanes import MAX_CONCURRENT_UPDATES, ChatLanes


def lane_key(update: object) -> Hashable | None:
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
        max_concurrent: int = MAX_CONCURRENT_UPDATES,
        *,
        on_arrival: Callable[[object], None] | None = None,
    ) -> None:
        super().__init__(max_concurrent_updates=sys.maxsize)
        self.lanes = ChatLanes(max_concurrent)
        self.on_arrival = on_arrival  # called as soon as an update arrives, before any wait

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        if self.on_arrival is not None:
            self.on_arrival(update)
        try:
            async with self.lanes.turn(lane_key(update)):
                await coroutine
        except asyncio.CancelledError:
            close = getattr(coroutine, "close", None)
            if close is not None:
                close()  # cancelled while waiting: never started, do not warn "never awaited"
            raise

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free: the Application waits for the update tasks itself."""
