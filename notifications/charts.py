"""The summary's charts as PNG bytes: matplotlib Figure + FigureCanvasAgg, never pyplot.

Three charts: sales of the last 30 days (bars) with the 7-day average (line); the top 10
products by revenue (horizontal bars); receivables by age. Text is in the reader's language,
money formatted for their locale, axes and currency labelled; an empty business gets the
same charts with a sentence where the bars would be. Each PNG is 5-20 KB (the limit is 80).
Each chart function returns the ``Plot`` (its ``texts`` are what the reader can read);
``render_charts`` encodes them.

Chinese needs a CJK font (Debian: ``fonts-noto-cjk``). When none is installed, a Chinese
chart is drawn with English labels and product names in Chinese are replaced by their SKU,
so nothing is drawn as empty boxes; ``Chart.language`` tells the caption which language the
chart really used.

Fast by construction (bench/_charts.py compares with plain pyplot): notifications/plot.py
lays the charts out in pixels on a bare Figure (no Axes, locators or tight layout, which draws
everything twice) and encodes a palette PNG. Rendering is CPU work: ``render_charts_async``
runs it in a worker thread (or a process pool you pass) so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path

from matplotlib import font_manager

from domain.money import Money, round_half_even
from domain.services.receivables import BUCKETS, Ageing
from domain.services.reports import DailySales, Period, ProductSales, Summary
from handlers.i18n import Translator
from notifications.labels import BUCKET_LABELS, period_name, plain
from notifications.plot import HEIGHT, MUTED, WIDTH, MoneyScale, Plot

MAX_PNG_BYTES = 80 * 1024
BASE_FONT = "DejaVu Sans"  # ships with matplotlib
# Installed CJK families we know, best first (Simplified Chinese faces before the others).
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Droid Sans Fallback",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "AR PL UMing CN",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "sourcehan", "droidsansfallback", "notosanssc", "uming")

BAR = "#4C78A8"
AVERAGE = "#E4572E"
AGEING_COLOURS = ("#54A24B", "#ECC94B", "#F58518", "#E45756", "#9D2B2B")
TOP_NAME_WIDTH = 30  # in Latin characters; CJK count double


@dataclass(frozen=True, slots=True)
class ChartFonts:
    """The font families to draw with; ``cjk`` is False when no CJK font is installed."""

    families: tuple[str, ...]
    cjk: bool

    @classmethod
    def latin_only(cls) -> ChartFonts:
        return cls((BASE_FONT,), cjk=False)


@cache
def installed_fonts() -> ChartFonts:
    """DejaVu Sans, with the best installed CJK family as the fallback for CJK characters."""
    family = find_cjk_family()
    if family is None:
        return ChartFonts.latin_only()
    return ChartFonts((BASE_FONT, family), cjk=True)


def find_cjk_family() -> str | None:
    """An installed CJK font family, or None.

    matplotlib caches the fonts it found the first time it ran; a CJK font installed after
    that is looked for on disk once and added.
    """
    found = _known_cjk_family()
    if found is not None:
        return found
    for path in font_manager.findSystemFonts():
        if any(hint in Path(path).name.casefold() for hint in _CJK_FILE_HINTS):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return _known_cjk_family()


def _known_cjk_family() -> str | None:
    names = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


@dataclass(frozen=True, slots=True)
class Chart:
    """One rendered chart."""

    name: str  # "sales" | "top_products" | "ageing"
    png: bytes
    language: str  # the language of its labels ("en" when Chinese had no font)


def render_charts(
    summary: Summary, language: str, *, fonts: ChartFonts | None = None
) -> tuple[Chart, ...]:
    """The summary's three charts in a language (blocking: see ``render_charts_async``)."""
    fonts = installed_fonts() if fonts is None else fonts
    drawn_in = language if fonts.cjk or language == "en" else "en"
    t = Translator(drawn_in)
    return (
        Chart("sales", sales_chart(summary.daily, t, fonts).png(), drawn_in),
        Chart(
            "top_products",
            top_products_chart(summary.top_products, summary.period, t, fonts).png(),
            drawn_in,
        ),
        Chart("ageing", ageing_chart(summary.figures.receivables, t, fonts).png(), drawn_in),
    )


async def render_charts_async(
    summary: Summary,
    language: str,
    *,
    fonts: ChartFonts | None = None,
    executor: Executor | None = None,
) -> tuple[Chart, ...]:
    """``render_charts`` off the event loop: the default thread pool, or ``executor`` (a
    ProcessPoolExecutor keeps the rendering off this process's GIL entirely)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(
        executor, partial(render_charts, summary, language, fonts=fonts)
    )


# --- the three charts ------------------------------------------------------------------------


def sales_chart(daily: Sequence[DailySales], t: Translator, fonts: ChartFonts) -> Plot:
    """Sales per day (bars) and the 7-day average (line), labelled every 7 days back from
    the last day (the one the reader cares about)."""
    plot = Plot(fonts.families)
    currency = daily[0].sales.currency if daily else "CNY"
    sales = [d.sales.minor for d in daily]
    averages = [d.average.minor for d in daily]
    count = len(daily)
    if any(sales) or any(averages):
        scale = MoneyScale.fit(currency, [*sales, *averages], headroom=1.05)
        labels = [t.money_short(tick) for tick in scale.ticks()]
        axis_title = plain(t("Sales ({currency})", currency=currency))
        plot.area(left=plot.y_axis_width(labels, axis_title), right=WIDTH - 24, bottom=42,
                  top=HEIGHT - 96)  # fmt: skip
        plot.money_y_axis(scale, labels, axis_title)
        zero = plot.y_at(scale.fraction(0))
        half = (plot.right - plot.left) / count * 0.36
        plot.rectangles(
            [
                (plot.slot_x(i, count) - half, zero, plot.slot_x(i, count) + half,
                 plot.y_at(scale.fraction(v)))
                for i, v in enumerate(sales)
                if v
            ],
            BAR,
        )  # fmt: skip
        plot.line(
            [plot.slot_x(i, count) for i in range(count)],
            [plot.y_at(scale.fraction(v)) for v in averages],
            AVERAGE,
        )
        plot.legend(
            [("bar", BAR, plain(t("Sales per day"))), ("line", AVERAGE, plain(t("7-day average")))]
        )
    else:
        plot.area(left=40, right=WIDTH - 24, bottom=42, top=HEIGHT - 96)
        plot.baseline()
    if not any(sales):
        plot.note(plain(t("No sales in these {days} days yet.", days=count)))
    for i in range(count - 1, -1, -7):
        plot.text(
            plot.slot_x(i, count), plot.bottom - 8, t.short_day(daily[i].day), ha="center", va="top"
        )
    plot.title(
        plain(t("Sales per day, last {days} days", days=count)),
        plain(
            t(
                "{days} · invoiced, less returns · total {total}",
                days=t.days(daily[0].day, daily[-1].day),
                total=t.money(Money(sum(sales), currency)),
            )
        )
        if daily
        else "",
    )
    return plot


def top_products_chart(
    top: Sequence[ProductSales], period: Period, t: Translator, fonts: ChartFonts
) -> Plot:
    """The products invoiced for the most in the period, biggest on top, amount after each."""
    plot = Plot(fonts.families)
    subtitle = plain(t("{period} · invoiced, before returns", period=period_name(t, period)))
    if not top:
        plot.title(plain(t("Top products by sales")), subtitle)
        plot.note(plain(t("No sales in this period.")))
        return plot
    currency = top[0].revenue.currency
    scale = MoneyScale.fit(currency, [p.revenue.minor for p in top])
    amounts = [t.money(p.revenue) for p in top]
    names = [_product_label(p, fonts) for p in top]
    widest_name = max(plot.measure(name, 9.5)[0] for name in names)
    widest_amount = max(plot.measure(amount, 9)[0] for amount in amounts)
    plot.area(left=20 + widest_name + 10, right=WIDTH - 30 - widest_amount, bottom=70,
              top=HEIGHT - 84)  # fmt: skip
    plot.money_x_axis(
        scale,
        [t.money_short(tick) for tick in scale.ticks()],
        plain(t("Sales ({currency})", currency=currency)),
    )
    rows = max(len(top), 5)  # a few products get bars as thick as in a full chart
    half = (plot.top - plot.bottom) / rows * 0.33
    start = plot.x_at(scale.fraction(0))
    bars = []
    for row, (product, name, amount) in enumerate(zip(top, names, amounts, strict=True)):
        y = plot.slot_y(row, rows)
        end = plot.x_at(scale.fraction(product.revenue.minor))
        bars.append((start, y - half, end, y + half))
        plot.text(plot.left - 10, y, name, ha="right", va="center")
        plot.text(end + 6, y, amount, size=9, colour=MUTED, va="center")
    plot.rectangles(bars, BAR)
    title = t.n("Top {count} product by sales", "Top {count} products by sales", len(top))
    plot.title(plain(title), subtitle)
    return plot


def ageing_chart(ageing: Ageing, t: Translator, fonts: ChartFonts) -> Plot:
    """Receivables by days past due, with each bucket's amount and share of the total."""
    plot = Plot(fonts.families)
    amounts = [ageing.buckets[name] for name in BUCKETS]
    total = ageing.total.minor
    count = len(BUCKETS)
    if any(a.minor for a in amounts):
        scale = MoneyScale.fit(ageing.currency, [a.minor for a in amounts], headroom=1.18)
        labels = [t.money_short(tick) for tick in scale.ticks()]
        axis_title = plain(t("Owed ({currency})", currency=ageing.currency))
        plot.area(left=plot.y_axis_width(labels, axis_title), right=WIDTH - 24, bottom=70,
                  top=HEIGHT - 96)  # fmt: skip
        plot.money_y_axis(scale, labels, axis_title)
        half = (plot.right - plot.left) / count * 0.31
        zero = plot.y_at(scale.fraction(0))
        bars, colours = [], []
        for column, amount in enumerate(amounts):
            if not amount.minor:
                continue
            x = plot.slot_x(column, count)
            top = plot.y_at(scale.fraction(amount.minor))
            bars.append((x - half, zero, x + half, top))
            colours.append(AGEING_COLOURS[column])
            share = round_half_even(amount.minor * 100, total) if total > 0 else 0
            plot.text(x, top + 6, f"{t.money(amount)} · {share}%", size=9, ha="center")
        plot.rectangles(bars, colours)
    else:
        plot.area(left=40, right=WIDTH - 24, bottom=70, top=HEIGHT - 96)
        plot.baseline()
        plot.note(plain(t("Nothing is owed.")))
    for column, name in enumerate(BUCKETS):
        plot.text(
            plot.slot_x(column, count), plot.bottom - 8, plain(t(BUCKET_LABELS[name])),
            size=10, ha="center", va="top",
        )  # fmt: skip
    plot.x_title(plain(t("Days past due")))
    plot.title(
        plain(t("Receivables by age")),
        plain(
            t(
                "Total {total} · overdue {overdue}",
                total=t.money(ageing.total),
                overdue=t.money(ageing.overdue),
            )
        ),
    )
    return plot


def _product_label(product: ProductSales, fonts: ChartFonts) -> str:
    """The product's name (shortened), or its SKU when the name needs a missing CJK font."""
    name = product.product.name
    if not fonts.cjk and has_wide_characters(name):
        return product.product.sku
    if _text_width(name) > TOP_NAME_WIDTH:
        while _text_width(name) > TOP_NAME_WIDTH - 1:
            name = name[:-1]
        name = name.rstrip() + "…"
    return name


def has_wide_characters(text: str) -> bool:
    """Contains CJK (wide) characters, which need a CJK font."""
    return any(unicodedata.east_asian_width(ch) in "WF" for ch in text)


def _text_width(text: str) -> int:
    """Width in Latin-character units (CJK characters count twice)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
