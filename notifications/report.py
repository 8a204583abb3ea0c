"""The daily / weekly / monthly summary as an owner reads it: HTML text and chart photos.

Two steps, so each runs where it belongs:

1. ``gather_report(uow, period)`` reads every figure inside the caller's unit of work
   (use a read-only one: ``Database.reader()``; nothing is written). Fast: a few queries.
2. ``render_report(summary, language)`` (async, charts in a worker thread) or
   ``build_report`` (blocking) turns the figures into a ``Report`` after the transaction is
   closed: the translated text and the three charts with their captions.

The figures hold no language, so one ``gather_report`` serves every recipient; render once per
language and send the same photos to everyone who reads it (re-sent by file_id). Example::

    with database.reader() as uow:
        summary = gather_report(uow, "today")
    report = await render_report(summary, "zh_Hans")
    # report.text: HTML message; report.photos: (png, caption) x 3
"""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial

from domain.ports import UnitOfWork
from domain.services.reports import Period, Summary, summary
from handlers.flows.stock import low_stock_line
from handlers.i18n import Html, Translator
from handlers.text import bold
from notifications.charts import Chart, ChartFonts, render_charts
from notifications.labels import period_name, summary_title

LOW_STOCK_LINES = 5  # the rest is "and N more" (the whole list is /stock)
MAX_CAPTION_CHARS = 1024


@dataclass(frozen=True, slots=True)
class Photo:
    name: str  # "sales" | "top_products" | "ageing"
    png: bytes
    caption: str  # HTML, within Telegram's 1024 characters


@dataclass(frozen=True, slots=True)
class Report:
    language: str
    text: str  # HTML, within one Telegram message
    photos: tuple[Photo, ...]


def gather_report(uow: UnitOfWork, period: Period | str = "today") -> Summary:
    """Step 1, inside a (read-only) unit of work: every figure of the period.

    ``period``: a Period, or a name (``today``, ``yesterday``, ``week``, ``last_week``,
    ``month``, ``last_month``) taken relative to the unit of work's clock (business time).
    """
    if isinstance(period, str):
        period = Period.named(period, uow.clock.now())
    return summary(uow, period)


async def render_report(
    figures: Summary,
    language: str,
    *,
    executor: Executor | None = None,
    fonts: ChartFonts | None = None,
) -> Report:
    """Step 2, outside the transaction: text and charts, rendered without blocking the loop
    (the default thread pool, or ``executor``)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        executor, partial(build_report, figures, language, fonts=fonts)
    )


def build_report(figures: Summary, language: str, *, fonts: ChartFonts | None = None) -> Report:
    """Step 2, blocking: the translated text and the charts with captions."""
    t = Translator(language)
    charts = render_charts(figures, language, fonts=fonts)
    return Report(
        language=language,
        text=report_text(figures, t),
        photos=tuple(Photo(c.name, c.png, chart_caption(figures, c, t)) for c in charts),
    )


def report_text(figures: Summary, t: Translator) -> str:
    """The summary message: sales, orders, margin, cash, receivables and low stock."""
    f = figures.figures
    lines = [
        "📊 <b>" + summary_title(t, f.period, f.as_of) + "</b>",
        "",
        t(
            "💰 Sales: {amount} (invoiced {invoiced}, returns {returned})",
            amount=_bold(t.money(f.sales)),
            invoiced=f.invoiced,
            returned=f.returned,
        )
        if f.returned
        else t("💰 Sales: {amount}", amount=_bold(t.money(f.sales))),
    ]
    lines.append(t("🧾 Orders: {count} placed · {amount}", count=f.orders, amount=f.ordered))
    percent = f.margin_percent()
    if percent is None:
        lines.append(t("📈 Gross margin: {amount}", amount=_bold(t.money(f.gross_margin))))
    else:
        lines.append(
            t(
                "📈 Gross margin: {amount} ({percent}%)",
                amount=_bold(t.money(f.gross_margin)),
                percent=percent,
            )
        )
    lines.append(t("💵 Cash collected: {amount}", amount=_bold(t.money(f.cash_collected))))
    receivables = f.receivables
    lines.append(
        t(
            "🏦 Receivables: {total} · overdue {overdue}",
            total=_bold(t.money(receivables.total)),
            overdue=_bold(t.money(receivables.overdue)),
        )
    )
    lines.append("")
    low = f.low_stock
    if not low:
        lines.append(t("No product is at or under its reorder point. 👍"))
    else:
        lines.append(
            t.n(
                "⚠️ {count} product at or under its reorder point:",
                "⚠️ {count} products at or under their reorder point:",
                len(low),
            )
        )
        lines.extend(low_stock_line(t, position) for position in low[:LOW_STOCK_LINES])
        if len(low) > LOW_STOCK_LINES:
            lines.append(t("…and {count} more: /stock", count=len(low) - LOW_STOCK_LINES))
    # At most LOW_STOCK_LINES product lines (names are at most 120 characters): well within
    # one Telegram message.
    return "\n".join(lines)


def chart_caption(figures: Summary, chart: Chart, t: Translator) -> str:
    """What the photo shows, in the reader's language (and why its labels are in English
    when the server has no Chinese font)."""
    f = figures.figures
    if chart.name == "sales":
        caption = t(
            "Sales per day over the last {days} days, with the 7-day average.",
            days=len(figures.daily),
        )
    elif chart.name == "top_products" and not figures.top_products:
        caption = t("No sales in this period ({period}).", period=period_name(t, f.period))
    elif chart.name == "top_products":
        period = period_name(t, f.period)  # (outside the call: Babel's extractor needs that)
        caption = t.n(
            "Top {count} product by sales, {period}.",
            "Top {count} products by sales, {period}.",
            len(figures.top_products),
            period=period,
        )
    else:
        caption = t(
            "Receivables by age: {total}, of which {overdue} overdue.",
            total=f.receivables.total,
            overdue=f.receivables.overdue,
        )
    if chart.language != t.language:
        caption += "\n" + t("(Chart labels in English: no Chinese font is installed.)")
    return caption[:MAX_CAPTION_CHARS]


def _bold(text: str) -> Html:
    return Html(bold(text))
