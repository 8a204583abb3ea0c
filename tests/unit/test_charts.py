"""The summary's charts: valid, small PNGs that say the right things in the reader's language.

What a reader sees is checked two ways: the texts each chart draws (titles, axis labels with
the currency, tick amounts and dates formatted for the locale), and the pixels of the PNG
(bars in the bar colour where there are sales, none where there are none).
"""

from __future__ import annotations

import asyncio
import io
import pickle
import subprocess
import sys
import warnings
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from domain.model import Product
from domain.money import Money
from domain.quantity import Quantity
from domain.services.receivables import Ageing
from domain.services.reports import DailySales, Period, PeriodFigures, ProductSales, Summary
from handlers.i18n import Translator
from notifications.charts import (
    AGEING_COLOURS,
    AVERAGE,
    BAR,
    CJK_FAMILIES,
    MAX_PNG_BYTES,
    ChartFonts,
    ageing_chart,
    installed_fonts,
    render_charts,
    render_charts_async,
    sales_chart,
    top_products_chart,
)
from notifications.plot import HEIGHT, WIDTH, MoneyScale, nice_step

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 19, tzinfo=TZ)
LATIN = ChartFonts.latin_only()


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def product(n: int, name: str) -> Product:
    return Product(
        id=n, sku=f"SKU-{n}", name=name, unit="pcs", price=cny(1000), cost=cny(500)
    )


def make_summary(
    *, sales: list[int] | None = None, top: list[tuple[str, int]] | None = None,
    owed: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0),
) -> Summary:  # fmt: skip
    """A summary with these daily sales (minor units, 30 days to 2 March), products and ageing."""
    per_day = sales if sales is not None else [0] * 30
    daily = tuple(
        DailySales(
            day=date(2026, 3, 2) - timedelta(days=29 - i),
            sales=cny(amount),
            average=cny(sum(per_day[max(0, i - 6) : i + 1]) // 7),
        )
        for i, amount in enumerate(per_day)
    )
    ageing = Ageing("CNY")
    for bucket, minor in zip(ageing.buckets, owed, strict=True):
        ageing.buckets[bucket] = cny(minor)
    figures = PeriodFigures(
        period=Period.today(NOW),
        as_of=NOW,
        invoiced=daily[-1].sales,
        returned=cny(0),
        cost_of_goods=cny(0),
        orders=0,
        ordered=cny(0),
        cash_collected=cny(0),
        receivables=ageing,
        low_stock=(),
    )
    products = tuple(
        ProductSales(product(n, name), cny(minor), Quantity(1000))
        for n, (name, minor) in enumerate(top or [], 1)
    )
    return Summary(figures=figures, daily=daily, top_products=products)


BUSY = make_summary(
    sales=[(i * 37_000) % 1_500_000 for i in range(30)],
    top=[("Carton box 60x40x40", 883_680), ("电线 2.5mm² (m)", 365_821), ("Nut", 1_200)],
    owed=(7_171_569, 2_128_278, 372_300, 0, 95_000),
)
EMPTY = make_summary()

needs_cjk = pytest.mark.skipif(
    not installed_fonts().cjk,
    reason="no CJK font installed (Debian: apt-get install fonts-noto-cjk)",
)


def image(png: bytes) -> Image.Image:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    Image.open(io.BytesIO(png)).verify()  # the whole file is well-formed
    return Image.open(io.BytesIO(png)).convert("RGB")


def pixels_of(png: bytes, colour: str) -> int:
    """How many pixels are (almost exactly) this colour."""
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    counts = image(png).getcolors(maxcolors=WIDTH * HEIGHT) or []
    return sum(
        count
        for count, rgb in counts
        if all(abs(a - b) <= 6 for a, b in zip(rgb, wanted, strict=True))
    )


class TestThePngs:
    @pytest.mark.parametrize("language", ["en", "zh_Hans"])
    @pytest.mark.parametrize("summary", [BUSY, EMPTY], ids=["busy", "empty"])
    def test_three_valid_small_pngs(self, summary: Summary, language: str) -> None:
        charts = render_charts(summary, language)
        assert [c.name for c in charts] == ["sales", "top_products", "ageing"]
        for chart in charts:
            assert image(chart.png).size == (WIDTH, HEIGHT)
            assert len(chart.png) <= MAX_PNG_BYTES

    def test_bars_show_where_there_is_money_and_nowhere_else(self) -> None:
        busy = {c.name: c.png for c in render_charts(BUSY, "en", fonts=LATIN)}
        empty = {c.name: c.png for c in render_charts(EMPTY, "en", fonts=LATIN)}
        assert pixels_of(busy["sales"], BAR) > 5_000
        assert pixels_of(busy["sales"], AVERAGE) > 300
        assert pixels_of(busy["top_products"], BAR) > 5_000
        for colour, owed in zip(AGEING_COLOURS, (1, 1, 1, 0, 1), strict=True):
            assert (pixels_of(busy["ageing"], colour) > 200) == bool(owed), colour
        for png in empty.values():
            assert pixels_of(png, BAR) == 0
            assert all(pixels_of(png, colour) == 0 for colour in AGEING_COLOURS)

    def test_a_day_of_returns_goes_below_zero(self) -> None:
        summary = make_summary(sales=[50_000] * 29 + [-30_000])
        plot = sales_chart(summary.daily, Translator("en"), LATIN)
        assert "-CN¥400" in plot.texts  # the axis reaches below the -CN¥300 of returns
        assert pixels_of(plot.png(), BAR) > 1_000


class TestWhatTheChartsSay:
    def test_sales_in_english(self) -> None:
        texts = sales_chart(BUSY.daily, Translator("en"), LATIN).texts
        assert "Sales per day, last 30 days" in texts
        assert "Sales (CNY)" in texts  # the axis names its currency
        assert {"CN¥0", "CN¥2.5K", "CN¥5K", "CN¥7.5K", "CN¥10K", "CN¥12.5K"} <= set(texts)
        assert {"Feb 2", "Feb 9", "Feb 16", "Feb 23", "Mar 2"} <= set(texts)
        assert {"Sales per day", "7-day average"} <= set(texts)
        total = cny(sum(d.sales.minor for d in BUSY.daily)).plain()
        assert f"Feb 1\u2009–\u2009Mar 2, 2026 · invoiced, less returns · total CN¥{total}" in texts

    @needs_cjk
    def test_sales_in_chinese(self) -> None:
        texts = sales_chart(BUSY.daily, Translator("zh_Hans"), installed_fonts()).texts
        assert "近 30 天每日销售额" in texts
        assert "销售额（CNY）" in texts
        assert {"¥0", "¥2500", "¥5000", "¥7500", "¥1万", "¥1.25万"} <= set(texts)
        assert {"2月2日", "3月2日"} <= set(texts)

    def test_top_products_with_amounts(self) -> None:
        plot = top_products_chart(BUSY.top_products, BUSY.period, Translator("en"), LATIN)
        assert "Top 3 products by sales" in plot.texts
        assert "Mar 2, 2026 · invoiced, before returns" in plot.texts
        assert {"Carton box 60x40x40", "CN¥8,836.80", "Nut", "CN¥12.00"} <= set(plot.texts)

    def test_without_a_cjk_font_chinese_names_become_skus(self) -> None:
        plot = top_products_chart(BUSY.top_products, BUSY.period, Translator("en"), LATIN)
        assert "SKU-2" in plot.texts
        assert not any("电线" in text for text in plot.texts)

    @needs_cjk
    def test_with_a_cjk_font_chinese_names_are_drawn(self) -> None:
        plot = top_products_chart(
            BUSY.top_products, BUSY.period, Translator("en"), installed_fonts()
        )
        assert "电线 2.5mm² (m)" in plot.texts

    def test_long_names_are_shortened(self) -> None:
        summary = make_summary(top=[("Stainless steel hex socket cap screw M8 x 40", 100)])
        plot = top_products_chart(summary.top_products, summary.period, Translator("en"), LATIN)
        assert "Stainless steel hex socket ca…" in plot.texts

    def test_ageing_with_amounts_and_shares(self) -> None:
        texts = ageing_chart(BUSY.figures.receivables, Translator("en"), LATIN).texts
        assert "Owed (CNY)" in texts
        assert "Days past due" in texts
        assert [
            t for t in texts if t.endswith(("due", "days")) and t != "Days past due"
        ] == ["Not yet due", "1–30 days", "31–60 days", "61–90 days", "Over 90 days"]
        assert "CN¥71,715.69 · 73%" in texts  # of CN¥97,671.47 in all
        assert "Total CN¥97,671.47 · overdue CN¥25,955.78" in texts

    def test_an_empty_business_is_told_so(self) -> None:
        t = Translator("en")
        assert "No sales in these 30 days yet." in sales_chart(EMPTY.daily, t, LATIN).texts
        top = top_products_chart((), EMPTY.period, t, LATIN).texts
        assert top == ["Top products by sales", "Mar 2, 2026 · invoiced, before returns",
                       "No sales in this period."]  # fmt: skip
        ageing = ageing_chart(EMPTY.figures.receivables, t, LATIN).texts
        assert "Nothing is owed." in ageing
        assert not any(text.startswith("CN¥") for text in ageing)  # no axis without amounts

    def test_dollar_signs_are_not_mathematics(self) -> None:
        summary = make_summary(top=[("$5 $10 gift card", 500)])
        plot = top_products_chart(summary.top_products, summary.period, Translator("en"), LATIN)
        assert "$5 $10 gift card" in plot.texts
        image(plot.png())  # mathtext would have failed or eaten the dollars


class TestFonts:
    @pytest.mark.parametrize("fonts", [LATIN, None], ids=["latin only", "installed"])
    def test_no_glyph_is_ever_missing(self, fonts: ChartFonts | None) -> None:
        """matplotlib warns for every character it draws as an empty box."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for language in ("en", "zh_Hans"):
                render_charts(BUSY, language, fonts=fonts)

    def test_without_a_cjk_font_a_chinese_chart_is_drawn_in_english(self) -> None:
        charts = render_charts(BUSY, "zh_Hans", fonts=LATIN)
        assert {c.language for c in charts} == {"en"}

    @needs_cjk
    def test_with_a_cjk_font_it_is_drawn_in_chinese(self) -> None:
        assert {c.language for c in render_charts(BUSY, "zh_Hans")} == {"zh_Hans"}


class TestScale:
    @pytest.mark.parametrize(
        ("span", "step"),
        [(1, 1), (7, 2), (12, 5), (100, 20), (1_234, 250), (9_999, 2_000), (50_001, 20_000)],
    )
    def test_round_steps(self, span: int, step: int) -> None:
        assert nice_step(span) == step

    def test_ticks_are_whole_currency_units_around_every_value(self) -> None:
        scale = MoneyScale.fit("CNY", [-3_050, 17, 1_249_999])
        ticks = [tick.minor for tick in scale.ticks()]
        assert ticks[0] <= -3_050 and ticks[-1] >= 1_249_999
        assert 0 in ticks
        assert all(tick % 100 == 0 for tick in ticks)
        assert 4 <= len(ticks) <= 8
        assert scale.fraction(scale.low) == 0 and scale.fraction(scale.high) == 1

    def test_nothing_to_show_still_has_an_axis(self) -> None:
        scale = MoneyScale.fit("JPY", [0, 0])
        assert [tick.minor for tick in scale.ticks()] == [0, 1]


class TestOffTheLoop:
    async def test_rendering_leaves_the_event_loop_free(self) -> None:
        answered: list[bool] = []

        async def reply() -> None:
            answered.append(rendering.done())

        rendering = asyncio.create_task(render_charts_async(BUSY, "en", fonts=LATIN))
        await asyncio.gather(reply(), reply())
        charts = await rendering
        assert answered == [False, False]  # answered while the charts were still drawing
        assert len(charts) == 3

    def test_the_figures_cross_a_process_boundary(self) -> None:
        """A ProcessPoolExecutor may render: the summary pickles and comes back equal."""
        assert pickle.loads(pickle.dumps(BUSY)) == BUSY


@needs_cjk
def test_a_font_installed_after_matplotlib_cached_its_list_is_found() -> None:
    """matplotlib lists fonts once and caches the list; a CJK font added later is looked for
    on disk (in a fresh process, so this one's font list stays as it is)."""
    script = (
        "from matplotlib import font_manager as fm\n"
        "fm.fontManager.ttflist = [f for f in fm.fontManager.ttflist\n"
        "    if not any(k in f.fname.lower() for k in ('cjk', 'wqy', 'sourcehan', 'droid'))]\n"
        "from notifications.charts import find_cjk_family, _known_cjk_family\n"
        "assert _known_cjk_family() is None\n"
        "print(find_cjk_family())\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert found in CJK_FAMILIES
