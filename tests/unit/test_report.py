"""The summary an owner reads: figures gathered in one unit of work, then text and photos.

The business and its few days of trading are test_reports' (amounts worked out there), on the
in-memory fake; the storage side of the same figures is tested on every backend there.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.model import Actor
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, save_product
from domain.services.reports import Period, PeriodKind, Summary
from domain.transaction import run_in_transaction
from handlers.i18n import Translator
from notifications.charts import ChartFonts, installed_fonts
from notifications.labels import summary_title
from notifications.report import (
    LOW_STOCK_LINES,
    build_report,
    gather_report,
    render_report,
    report_text,
)
from tests.fakes import FakeDatabase, FixedClock
from tests.integration.test_reports import NOW, trade
from tests.integration.test_use_cases import World, cny, seed

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def database(clock: FixedClock) -> FakeDatabase:
    return FakeDatabase(clock)


@pytest.fixture
def world(database: FakeDatabase) -> World:
    return seed(lambda work: run_in_transaction(database, work), Actor.system("test"))


def run(database: FakeDatabase) -> Any:
    return lambda work: run_in_transaction(database, work)


def gathered(database: FakeDatabase, period: Period | str = "today") -> Summary:
    with database.uow() as uow:  # read only: nothing is committed
        return gather_report(uow, period)


def test_the_daily_summary_in_english_and_chinese(
    database: FakeDatabase, world: World, clock: FixedClock
) -> None:
    trade(run(database), world, clock)
    clock.set(datetime(2026, 3, 2, 19, tzinfo=TZ))
    figures = gathered(database)
    assert report_text(figures, Translator("en")).splitlines() == [
        "📊 <b>Daily summary · Mar 2, 2026</b>",
        "",
        "💰 Sales: <b>CN¥32.50</b> (invoiced CN¥45.00, returns CN¥12.50)",
        "🧾 Orders: 2 placed · CN¥79.50",
        "📈 Gross margin: <b>CN¥8.50</b> (26.2%)",
        "💵 Cash collected: <b>CN¥30.00</b>",
        "🏦 Receivables: <b>CN¥192.50</b> · overdue <b>CN¥20.00</b>",
        "",
        "No product is at or under its reorder point. 👍",
    ]
    assert report_text(figures, Translator("zh_Hans")).splitlines() == [
        "📊 <b>每日汇总 · 2026年3月2日</b>",
        "",
        "💰 销售额：<b>¥32.50</b>（开票 ¥45.00，退货 ¥12.50）",
        "🧾 订单：2 笔 · ¥79.50",
        "📈 毛利：<b>¥8.50</b>（26.2%）",
        "💵 回款：<b>¥30.00</b>",
        "🏦 应收账款：<b>¥192.50</b> · 逾期 <b>¥20.00</b>",
        "",
        "没有商品到达再订货点。👍",
    ]


def test_named_periods_follow_the_clock(database: FakeDatabase, world: World) -> None:
    week = gathered(database, "last_week")
    assert (week.period.first, week.period.last) == (date(2026, 2, 23), date(2026, 3, 1))
    assert week.daily[-1].day == date(2026, 3, 1)
    with pytest.raises(ValueError, match="unknown period"):
        gathered(database, "decade")


def test_low_stock_shows_a_few_lines_and_how_many_more(
    database: FakeDatabase, world: World
) -> None:
    for n in range(LOW_STOCK_LINES + 2):
        draft = ProductDraft(
            sku=f"LOW-{n}",
            name=f"Low part {n}",
            unit="pcs",
            price=cny(100),
            cost=cny(50),
            reorder_point=Quantity.of(10),
            reorder_qty=Quantity.of(20),
        )
        run(database)(lambda uow, draft=draft: save_product(uow, actor=world.owner, draft=draft))
    lines = report_text(gathered(database), Translator("en")).splitlines()
    assert lines[-7:] == [
        "⚠️ 7 products at or under their reorder point:",
        "• <b>Low part 0</b> (LOW-0): available 0 pcs · reorder point 10 → order 30 pcs",
        "• <b>Low part 1</b> (LOW-1): available 0 pcs · reorder point 10 → order 30 pcs",
        "• <b>Low part 2</b> (LOW-2): available 0 pcs · reorder point 10 → order 30 pcs",
        "• <b>Low part 3</b> (LOW-3): available 0 pcs · reorder point 10 → order 30 pcs",
        "• <b>Low part 4</b> (LOW-4): available 0 pcs · reorder point 10 → order 30 pcs",
        "…and 2 more: /stock",
    ]
    assert report_text(gathered(database), Translator("zh_Hans")).splitlines()[-1] == (
        "……另有 2 个，见 /stock"
    )


def test_an_empty_business_reads_as_zeros(clock: FixedClock) -> None:
    empty = FakeDatabase(clock)
    text = report_text(gathered(empty, "month"), Translator("en"))
    assert text.splitlines()[:7] == [
        "📊 <b>Monthly summary · March 2026 (so far)</b>",
        "",
        "💰 Sales: <b>CN¥0.00</b>",
        "🧾 Orders: 0 placed · CN¥0.00",
        "📈 Gross margin: <b>CN¥0.00</b>",  # no percentage of nothing
        "💵 Cash collected: <b>CN¥0.00</b>",
        "🏦 Receivables: <b>CN¥0.00</b> · overdue <b>CN¥0.00</b>",
    ]


def test_names_are_escaped(database: FakeDatabase, world: World) -> None:
    draft = ProductDraft(
        sku="X-1",
        name="<b>x</a> & co",
        unit="pcs",
        price=cny(100),
        cost=cny(50),
        reorder_point=Quantity.of(1),
    )
    run(database)(lambda uow: save_product(uow, actor=world.owner, draft=draft))
    text = report_text(gathered(database), Translator("en"))
    assert "• <b>&lt;b&gt;x&lt;/a&gt; &amp; co</b> (X-1)" in text


class TestTitles:
    """Date ranges are Babel's, with thin spaces (U+2009) around the dash."""

    @pytest.mark.parametrize(
        ("period", "english", "chinese"),
        [
            (Period.today(NOW), "Daily summary · Mar 2, 2026", "每日汇总 · 2026年3月2日"),
            (
                Period.last_week(NOW),
                "Weekly summary · Feb 23\u2009–\u2009Mar 1, 2026",
                "每周汇总 · 2026年2月23日\u2009–\u20093月1日",
            ),
            (
                Period.this_week(datetime(2026, 3, 4, 19, tzinfo=TZ)),
                "Weekly summary · Mar 2\u2009–\u20094, 2026 (so far)",
                "每周汇总 · 2026年3月2日\u2009–\u20094日（截至目前）",
            ),
            (Period.last_month(NOW), "Monthly summary · February 2026", "每月汇总 · 2026年2月"),
        ],
    )
    def test_period_titles(self, period: Period, english: str, chinese: str) -> None:
        as_of = datetime(2026, 3, 4, 19, tzinfo=TZ)
        assert summary_title(Translator("en"), period, as_of) == english
        assert summary_title(Translator("zh_Hans"), period, as_of) == chinese

    def test_a_month_so_far(self) -> None:
        month = Period(PeriodKind.MONTH, date(2026, 3, 1), date(2026, 3, 2), TZ)
        assert summary_title(Translator("en"), month, NOW) == (
            "Monthly summary · March 2026 (so far)"
        )


class TestPhotos:
    def test_three_photos_with_captions(
        self, database: FakeDatabase, world: World, clock: FixedClock
    ) -> None:
        trade(run(database), world, clock)
        report = build_report(gathered(database, "week"), "en", fonts=ChartFonts.latin_only())
        assert [(p.name, p.caption) for p in report.photos] == [
            ("sales", "Sales per day over the last 30 days, with the 7-day average."),
            ("top_products", "Top 1 product by sales, Mar 2, 2026."),
            ("ageing", "Receivables by age: CN¥192.50, of which CN¥20.00 overdue."),
        ]
        assert all(p.png.startswith(b"\x89PNG") for p in report.photos)

    def test_captions_say_when_the_chart_could_not_be_drawn_in_chinese(
        self, database: FakeDatabase, world: World
    ) -> None:
        report = build_report(gathered(database), "zh_Hans", fonts=ChartFonts.latin_only())
        assert [p.caption for p in report.photos] == [
            "近 30 天每日销售额及 7 日平均。\n（服务器未安装中文字体，图表文字显示为英文。）",
            "该期间（2026年3月2日）没有销售。\n（服务器未安装中文字体，图表文字显示为英文。）",
            "应收账款账龄：合计 ¥0.00，其中逾期 ¥0.00。\n"
            "（服务器未安装中文字体，图表文字显示为英文。）",
        ]

    @pytest.mark.skipif(not installed_fonts().cjk, reason="no CJK font installed")
    def test_with_a_chinese_font_no_note(self, database: FakeDatabase, world: World) -> None:
        report = build_report(gathered(database), "zh_Hans")
        assert all("中文字体" not in p.caption for p in report.photos)

    async def test_render_report_is_build_report_off_the_loop(
        self, database: FakeDatabase, world: World
    ) -> None:
        figures = gathered(database)
        fonts = ChartFonts.latin_only()
        off_loop = await render_report(figures, "en", fonts=fonts)
        assert off_loop == build_report(figures, "en", fonts=fonts)

