"""Words shared by the summary text and its charts: period names and ageing buckets."""

from __future__ import annotations

import html
from datetime import datetime

from domain.services.reports import Period, PeriodKind
from handlers.flows.balance import BUCKET_LABELS
from handlers.i18n import Translator

__all__ = ["BUCKET_LABELS", "is_partial", "period_name", "plain", "summary_title"]


def plain(text: str) -> str:
    """A translated message as plain text (charts and captions are not HTML)."""
    return html.unescape(text)


def period_name(t: Translator, period: Period) -> str:
    """The days a period covers: ``Mar 2, 2026``, ``Mar 2 – 8, 2026``, ``March 2026``."""
    if period.kind is PeriodKind.MONTH and period.first.day == 1:
        return t.month(period.first)
    return t.days(period.first, period.last)


def is_partial(period: Period, as_of: datetime) -> bool:
    """The period has not ended yet when the figures were read (a week or month so far)."""
    return as_of < period.end


def summary_title(t: Translator, period: Period, as_of: datetime) -> str:
    """``Daily summary · Mar 2, 2026``; weeks and months not over yet say "so far"."""
    name = period_name(t, period)
    if period.kind is PeriodKind.DAY:
        return t("Daily summary · {days}", days=name)
    if period.kind is PeriodKind.WEEK:
        if is_partial(period, as_of):
            return t("Weekly summary · {days} (so far)", days=name)
        return t("Weekly summary · {days}", days=name)
    if is_partial(period, as_of):
        return t("Monthly summary · {days} (so far)", days=name)
    return t("Monthly summary · {days}", days=name)
