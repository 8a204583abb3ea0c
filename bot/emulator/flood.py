"""Telegram's flood control, opt-in: per chat, per group and per bot limits → 429.

Telegram documents roughly 1 message per second in a chat (short bursts are tolerated), 20
messages per minute in a group and 30 messages per second overall. Sends beyond that fail with
``429 Too Many Requests: retry after N`` and ``parameters.retry_after = N``.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass

from bot.emulator.errors import ApiError, too_many_requests
from bot.emulator.state import Clock


@dataclass(frozen=True)
class FloodLimits:
    """The limits to enforce. The defaults are Telegram's published ones."""

    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3
    per_group_per_minute: int = 20
    global_per_second: int = 30


@dataclass
class _Bucket:
    tokens: float
    updated: float


class FloodControl:
    """Counts successful sends and refuses the ones that would break a limit."""

    def __init__(self, limits: FloodLimits, clock: Clock) -> None:
        self.limits = limits
        self.clock = clock
        self._buckets: dict[tuple[int, int], _Bucket] = {}
        self._groups: dict[tuple[int, int], deque[float]] = {}
        self._global: dict[int, deque[float]] = {}
        self.refused: Counter[str] = Counter()  # refusals by the limit broken (benchmarks)

    def check(self, bot_id: int, chat_id: int, is_group: bool) -> None:
        """Raise a 429 :class:`ApiError` if a send now would break a limit; else count it."""
        now = self.clock()
        limits = self.limits
        waits: list[float] = []

        overall = self._global.setdefault(bot_id, deque())
        _expire(overall, now, 1.0)
        if len(overall) >= limits.global_per_second:
            waits.append(overall[0] + 1.0 - now)
            self.refused["global"] += 1

        bucket = self._buckets.get((bot_id, chat_id))
        if bucket is None:
            bucket = self._buckets[(bot_id, chat_id)] = _Bucket(limits.per_chat_burst, now)
        bucket.tokens = min(
            float(limits.per_chat_burst),
            bucket.tokens + (now - bucket.updated) * limits.per_chat_per_second,
        )
        bucket.updated = now
        if bucket.tokens < 1.0:
            waits.append((1.0 - bucket.tokens) / limits.per_chat_per_second)
            self.refused["chat"] += 1

        window: deque[float] | None = None
        if is_group:
            window = self._groups.setdefault((bot_id, chat_id), deque())
            _expire(window, now, 60.0)
            if len(window) >= limits.per_group_per_minute:
                waits.append(window[0] + 60.0 - now)
                self.refused["group"] += 1

        if waits:
            raise _refusal(max(waits))
        bucket.tokens -= 1.0
        overall.append(now)
        if window is not None:
            window.append(now)


def _expire(window: deque[float], now: float, span: float) -> None:
    while window and window[0] <= now - span:
        window.popleft()


def _refusal(wait: float) -> ApiError:
    return too_many_requests(max(1, math.ceil(wait)))
