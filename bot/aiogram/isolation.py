"""aiogram's FSM hooks, used only for ordering: no state is ever kept in aiogram.

aiogram serialises the updates of one conversation with its *event isolation*, which its FSM
middleware applies around every update. We plug our chat lanes (bot/lanes.py) in as that
isolation, keyed by chat (``FSMStrategy.CHAT``): one chat's updates strictly in order,
different chats concurrently, a bounded number at once — and idle chats leave nothing behind
(aiogram's own ``SimpleEventIsolation`` keeps a lock per chat forever and bounds nothing).

The FSM middleware also wants a storage. Conversation state lives in the database, committed
with the business change (a restart or another instance carries on where it was), so the
storage here holds nothing and refuses writes: a handler that tried to keep state in aiogram
would fail loudly in tests instead of losing it on the next restart.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, StorageKey

from bot.lanes import ChatLanes

NOT_HERE = "conversation state lives in the database (handlers/), never in aiogram's FSM"


class ChatLaneIsolation(BaseEventIsolation):
    """Event isolation on :class:`ChatLanes`: in order per chat, bounded overall."""

    def __init__(self, lanes: ChatLanes) -> None:
        self.lanes = lanes

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self.lanes.turn(key.chat_id):
            yield

    async def close(self) -> None:
        """Nothing to free: lanes are dropped when their chat goes idle."""


class NoStateStorage(BaseStorage):
    """An FSM storage that is always empty and refuses to hold anything."""

    async def set_state(self, key: StorageKey, state: str | State | None = None) -> None:
        if state is not None:
            raise RuntimeError(NOT_HERE)

    async def get_state(self, key: StorageKey) -> str | None:
        return None

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if data:
            raise RuntimeError(NOT_HERE)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return {}

    async def close(self) -> None:
        """Nothing to close."""
