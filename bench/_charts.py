"""Chart rendering: the daily summary's chart set, ours beside plain pyplot drawing the same.

Usage: python bench/_charts.py [--runs 7]

Also importable (``bench/fanout.py`` prints these figures in its own table and JSON):
``run(runs: int) -> dict`` with the keys listed under "Figures" below.

What is measured
  One *set* is what a daily summary sends: the three charts (30 days of sales with the 7-day
  average, top 10 products, receivables ageing) as PNG bytes, once in English and once in
  Simplified Chinese (product names mix both), from the same figures: 6 PNGs.

  Ours: ``notifications.charts.render_charts`` (a bare matplotlib Figure on the Agg canvas,
  laid out in pixels, palette PNG). Baseline: the same charts written the plain way with
  ``matplotlib.pyplot`` (``plt.subplots``, ``ax.bar``/``barh``/``plot``, tick formatters,
  ``fig.tight_layout()``, ``fig.savefig(format="png")``, ``plt.close``): same size and
  resolution, same texts, colours and fonts (the same CJK fallback), same data.

  The figures are synthetic but shaped like the demo business's (seeded, so every run draws
  the same); no database is involved. Both sides render once untimed first (font caches);
  then ``runs`` times each, alternating which goes first, wall time per set. Reported: the
  medians, their ratio (goal: ours <= 0.6 x pyplot), and the largest PNG of each side
  (goal: <= 80 KB). Goals are reported, never asserted.

Figures: charts_ours_ms, charts_pyplot_ms, charts_ratio, charts_goal_ratio,
charts_ratio_ok, charts_max_png_kb, charts_png_ok, charts_pyplot_max_png_kb, charts_runs,
charts_cjk_font. The last line printed by ``__main__`` is one JSON object with them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # the baseline is pyplot on purpose
from matplotlib.ticker import FuncFormatter

from domain.model import Product
from domain.money import Money
from domain.quantity import Quantity
from domain.services.receivables import BUCKETS, Ageing
from domain.services.reports import (
    DailySales,
    Period,
    PeriodFigures,
    ProductSales,
    Summary,
)
from handlers.i18n import Translator
from notifications.charts import (
    AGEING_COLOURS,
    AVERAGE,
    BAR,
    MAX_PNG_BYTES,
    installed_fonts,
    render_charts,
)
from notifications.labels import BUCKET_LABELS, period_name, plain

GOAL_RATIO = 0.6
LANGUAGES = ("en", "zh_Hans")
TZ = ZoneInfo("Asia/Shanghai")
CURRENCY = "CNY"
NAMES = (
    "Carton box 60x40x40",
    "Stretch film 500mm",
    "电线 2.5mm² (m)",
    "Wall switch 86 type",
    "Packing tape 48mm clear",
    "铜线 (kg)",
    "Electric wire 4mm² (m)",
    "Steel angle bracket 50mm",
    "绝缘胶带 黑色",
    "Socket 5-hole 86 type",
)


def sample_summary(seed: int = 7) -> Summary:
    """Figures shaped like the demo business's: 30 days of sales, 10 products, ageing."""
    rng = random.Random(seed)
    today = date(2026, 3, 2)
    now = datetime(2026, 3, 2, 19, tzinfo=TZ)
    sales = [0 if rng.random() < 0.15 else rng.randint(80_000, 1_800_000) for _ in range(36)]
    daily = tuple(
        DailySales(
            day=today - timedelta(days=29 - i),
            sales=Money(sales[i + 6], CURRENCY),
            average=Money(sum(sales[i : i + 7]) // 7, CURRENCY),
        )
        for i in range(30)
    )
    revenues = sorted((rng.randint(100_000, 900_000) for _ in NAMES), reverse=True)
    top = tuple(
        ProductSales(
            product=Product(
                id=n,
                sku=f"SKU-{n:02d}",
                name=name,
                unit="pcs",
                price=Money(1_000, CURRENCY),
                cost=Money(600, CURRENCY),
            ),
            revenue=Money(revenue, CURRENCY),
            quantity=Quantity(revenue // 1000 * 1000),
        )
        for n, (name, revenue) in enumerate(zip(NAMES, revenues, strict=True), 1)
    )
    ageing = Ageing(CURRENCY)
    for name, minor in zip(BUCKETS, (7_171_569, 2_128_278, 372_300, 0, 95_000), strict=True):
        ageing.buckets[name] = Money(minor, CURRENCY)
    zero = Money.zero(CURRENCY)
    figures = PeriodFigures(
        period=Period.today(now),
        as_of=now,
        invoiced=daily[-1].sales,
        returned=zero,
        cost_of_goods=zero,
        orders=7,
        ordered=zero,
        cash_collected=zero,
        receivables=ageing,
        low_stock=(),
    )
    return Summary(figures=figures, daily=daily, top_products=top)


def ours(summary: Summary) -> list[bytes]:
    return [chart.png for language in LANGUAGES for chart in render_charts(summary, language)]


def pyplot_set(summary: Summary) -> list[bytes]:
    """The same three charts per language, written the usual pyplot way."""
    plt.rcParams["font.family"] = list(installed_fonts().families)
    return [png for language in LANGUAGES for png in _pyplot_charts(summary, language)]


def _pyplot_charts(summary: Summary, language: str) -> list[bytes]:
    t = Translator(language if installed_fonts().cjk else "en")
    money_axis = FuncFormatter(lambda value, _: t.money_short(Money(round(value * 100), CURRENCY)))
    pngs = []

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    days = summary.daily
    ax.bar(range(30), [d.sales.minor / 100 for d in days], color=BAR, label=t("Sales per day"))
    ax.plot(range(30), [d.average.minor / 100 for d in days], color=AVERAGE, linewidth=2.4,
            label=t("7-day average"))  # fmt: skip
    ticks = list(range(29, -1, -7))[::-1]
    ax.set_xticks(ticks, [t.short_day(days[i].day) for i in ticks])
    ax.yaxis.set_major_formatter(money_axis)
    ax.set_ylabel(plain(t("Sales ({currency})", currency=CURRENCY)))
    ax.set_title(plain(t("Sales per day, last {days} days", days=30)), loc="left",
                 fontweight="bold")  # fmt: skip
    ax.legend(loc="upper left", frameon=False)
    pngs.append(_save(fig))

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    top = list(reversed(summary.top_products))
    ax.barh([p.product.name for p in top], [p.revenue.minor / 100 for p in top], color=BAR)
    for row, product in enumerate(top):
        ax.text(product.revenue.minor / 100, row, " " + t.money(product.revenue), va="center")
    ax.xaxis.set_major_formatter(money_axis)
    ax.set_xlabel(plain(t("Sales ({currency})", currency=CURRENCY)))
    ax.set_title(plain(t("Top {count} products by sales", count=len(top))) + "\n"
                 + period_name(t, summary.period), loc="left")  # fmt: skip
    pngs.append(_save(fig))

    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=120)
    ageing = summary.figures.receivables
    amounts = [ageing.buckets[name] for name in BUCKETS]
    ax.bar([plain(t(BUCKET_LABELS[name])) for name in BUCKETS],
           [a.minor / 100 for a in amounts], color=AGEING_COLOURS)  # fmt: skip
    for column, amount in enumerate(amounts):
        if amount.minor:
            ax.text(column, amount.minor / 100, t.money(amount), ha="center", va="bottom")
    ax.yaxis.set_major_formatter(money_axis)
    ax.set_xlabel(plain(t("Days past due")))
    ax.set_ylabel(plain(t("Owed ({currency})", currency=CURRENCY)))
    ax.set_title(plain(t("Receivables by age")), loc="left", fontweight="bold")
    pngs.append(_save(fig))
    return pngs


def _save(fig: Any) -> bytes:
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def run(runs: int = 7) -> dict[str, Any]:
    """Median wall times of both renderers over ``runs`` alternating runs, and PNG sizes."""
    summary = sample_summary()
    ours_pngs = ours(summary)  # warm-up: font caches, imports
    pyplot_pngs = pyplot_set(summary)
    timings: dict[str, list[float]] = {"ours": [], "pyplot": []}
    sides = (("ours", ours), ("pyplot", pyplot_set))
    for run_no in range(runs):
        for name, render in sides if run_no % 2 == 0 else sides[::-1]:
            started = time.perf_counter()
            render(summary)
            timings[name].append((time.perf_counter() - started) * 1000)
    ours_ms = statistics.median(timings["ours"])
    pyplot_ms = statistics.median(timings["pyplot"])
    ratio = ours_ms / pyplot_ms
    largest = max(len(png) for png in ours_pngs)
    return {
        "charts_runs": runs,
        "charts_ours_ms": round(ours_ms, 1),
        "charts_pyplot_ms": round(pyplot_ms, 1),
        "charts_ratio": round(ratio, 3),
        "charts_goal_ratio": GOAL_RATIO,
        "charts_ratio_ok": ratio <= GOAL_RATIO,
        "charts_max_png_kb": round(largest / 1024, 1),
        "charts_png_ok": largest <= MAX_PNG_BYTES,
        "charts_pyplot_max_png_kb": round(max(len(png) for png in pyplot_pngs) / 1024, 1),
        "charts_cjk_font": installed_fonts().cjk,
    }


def print_table(figures: dict[str, Any], out: Any = sys.stdout) -> None:
    print(f"chart set (3 charts x {len(LANGUAGES)} languages), medians of "
          f"{figures['charts_runs']} runs", file=out)  # fmt: skip
    print(f"  {'renderer':<10} {'ms/set':>9} {'largest PNG':>12}", file=out)
    print(f"  {'ours':<10} {figures['charts_ours_ms']:>9.1f} "
          f"{figures['charts_max_png_kb']:>9.1f} KB", file=out)  # fmt: skip
    print(f"  {'pyplot':<10} {figures['charts_pyplot_ms']:>9.1f} "
          f"{figures['charts_pyplot_max_png_kb']:>9.1f} KB", file=out)  # fmt: skip
    verdict = "met" if figures["charts_ratio_ok"] else "NOT met"
    print(f"  ratio {figures['charts_ratio']:.2f} (goal <= {GOAL_RATIO}: {verdict}); "
          f"PNG <= 80 KB: {'met' if figures['charts_png_ok'] else 'NOT met'}; "
          f"CJK font: {'yes' if figures['charts_cjk_font'] else 'no (English labels)'}",
          file=out)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"load average (1 min): {load:.2f} on {os.cpu_count()} CPUs")
    figures = run(args.runs)
    print_table(figures)
    print(json.dumps({**figures, "load_average": round(load, 2)}))


if __name__ == "__main__":
    main()
