"""The system clock in the business's time zone (tests use a fixed clock instead)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


class SystemClock:
    """Timezone-aware now() in the configured zone, so "today" is the business's today."""

    def __init__(self, timezone: str) -> None:
        self.zone = ZoneInfo(timezone)

    def now(self) -> datetime:
        return datetime.now(self.zone)
