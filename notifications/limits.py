"""Telegram's flood limits as aiolimiter buckets: overall, per private chat, per group.

Telegram allows about 30 messages a second overall, about one a second in one chat, and 20 a
minute in a group; beyond that it answers 429. The sender waits for a slot in the chat's
bucket and then in the global one before every message. Replies to people are never made to
wait: they only *count* in the same buckets (``note``), so the sender yields to them, and the
global budget is set a little under Telegram's so the replies always fit beside the sender.

A chat's bucket holds one message (no bursts): a message every ``1/rate`` seconds. The global
bucket holds two, so a waiter woken a millisecond late does not lose its slot (at 28/s that
would cost 3 %); any one-second window then holds at most ``rate + 2`` messages: 30 with the
default budget of 28, Telegram's limit.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

MAX_IDLE_BUCKETS = 5_000  # per-chat buckets kept before idle ones are dropped
GLOBAL_BURST = 2


@dataclass(frozen=True, slots=True)
class SendLimits:
    """Rates the sender keeps to (0 or less: no limit, for tests)."""

    global_per_second: float = 28.0
    chat_per_second: float = 1.0
    group_per_minute: float = 20.0


class Bucket(AsyncLimiter):
    """An aiolimiter bucket that can also be charged without waiting (a reply already sent)."""

    def refund(self) -> None:
        """Give back one message's slot (Telegram refused it with 429: it did not count)."""
        self._leak()
        self._level = max(0.0, self._level - 1)
        self._wake_next()

    def charge(self) -> None:
        """Count one message now: take a free slot, or run into debt the next waiter pays."""
        # aiolimiter has no public "consume without waiting"; its leak and level are the
        # bucket itself. A level above max_rate simply means waiters wait longer.
        self._leak()
        self._level += 1
        self._wake_next()


def _bucket(per_second: float, burst: int = 1) -> Bucket | None:
    if per_second <= 0:
        return None
    return Bucket(burst, burst / per_second)


def is_group(chat_id: int) -> bool:
    """Group and supergroup ids are negative; a private chat's id is the user's (positive)."""
    return chat_id < 0


class FloodBudget:
    """The buckets of one bot process, shared by the outbox sender and the replies."""

    def __init__(self, limits: SendLimits | None = None) -> None:
        self.limits = limits or SendLimits()
        self._global = _bucket(self.limits.global_per_second, GLOBAL_BURST)
        self._chats: dict[int, Bucket] = {}
        self._sent_at: dict[int, float] = {}  # when the sender last wrote to each chat
        self.waited = 0.0  # seconds the sender spent waiting for slots (for benchmarks)

    def _chat(self, chat_id: int) -> Bucket | None:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            rate = (
                self.limits.group_per_minute / 60
                if is_group(chat_id)
                else self.limits.chat_per_second
            )
            bucket = _bucket(rate)
            if bucket is None:
                return None
            if len(self._chats) >= MAX_IDLE_BUCKETS:
                self._prune()
            self._chats[chat_id] = bucket
        return bucket

    def _prune(self) -> None:
        for chat_id, bucket in list(self._chats.items()):
            if bucket.has_capacity():  # idle: a fresh bucket behaves the same
                del self._chats[chat_id]
                self._sent_at.pop(chat_id, None)

    async def acquire(self, chat_id: int) -> None:
        """Wait until a message to ``chat_id`` fits every limit (the chat's first: a slot in
        the global bucket is not held while waiting for a slow group)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        chat = self._chat(chat_id)
        if chat is not None:
            await chat.acquire()
            # A chat's slot can be taken long before the message goes (it then waits for a
            # global one), so the spacing is also kept from when the last one actually went:
            # one chat's messages go one after another, so that moment is known by now.
            spacing = chat.time_period / chat.max_rate
            last = self._sent_at.get(chat_id)
            if last is not None and loop.time() - last < spacing:
                await asyncio.sleep(spacing - (loop.time() - last))
        if self._global is not None:
            await self._global.acquire()
        if chat is not None:
            self._sent_at[chat_id] = loop.time()
        self.waited += loop.time() - started

    async def note(self, chat_id: int) -> None:
        """A reply is going to ``chat_id`` now: count it, never wait."""
        chat = self._chat(chat_id)
        if chat is not None:
            chat.charge()
        if self._global is not None:
            self._global.charge()

    def refund(self, chat_id: int) -> None:
        """A send refused with 429 did not count towards the overall limit (it still counts
        for its chat, which is the one being held back)."""
        if self._global is not None:
            self._global.refund()
