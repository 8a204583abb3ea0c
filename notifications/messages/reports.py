"""The daily / weekly / monthly summary (text and three charts), rendered when it goes out.

The figures and charts come from notifications/report.py; one rendering serves everyone who
reads the same period in the same language (kept for a few minutes), and its photos are the
same bytes, so the sender uploads each chart once and re-sends it by file_id.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from domain.services.reports import Period
from handlers.context import Voice
from notifications.parts import Part, TextPart, rendered_photo
from notifications.renderers import renderer
from notifications.report import Report, build_report, gather_report

CACHE_SECONDS = 300.0
CACHE_SIZE = 16

_cache: OrderedDict[tuple[str, str, str], tuple[float, Report]] = OrderedDict()
_lock = threading.Lock()


def _cached(key: tuple[str, str, str]) -> Report | None:
    with _lock:
        found = _cache.get(key)
        if found is None or time.monotonic() - found[0] > CACHE_SECONDS:
            return None
        return found[1]


def _keep(key: tuple[str, str, str], report: Report) -> None:
    with _lock:
        _cache[key] = (time.monotonic(), report)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)


def clear_cache() -> None:
    with _lock:
        _cache.clear()


@renderer("summary")
def summary_report(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """``period``: today, week, month, last_week, last_month…; ``at``: the moment it is
    about (a scheduled run's slot; default now)."""
    zone = ZoneInfo(voice.settings.timezone)
    at = datetime.fromisoformat(args["at"]) if args.get("at") else voice.uow.clock.now()
    period = Period.named(str(args.get("period", "today")), at.astimezone(zone))
    key = (f"{period.kind}:{period.first}:{period.last}", voice.t.language, at.isoformat()[:16])
    report = _cached(key)
    if report is None:
        report = build_report(gather_report(voice.uow, period), voice.t.language)
        _keep(key, report)
    parts: list[Part] = [TextPart(report.text)]
    parts += [rendered_photo(p.png, p.caption, f"{p.name}.png") for p in report.photos]
    return parts
