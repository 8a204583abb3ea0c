"""Report figures on known data, on every backend (in-memory fake, SQLite, PostgreSQL).

The business of test_use_cases (Blue widget 12.50 at cost 8.00, 100 in stock; Jasmine rice
6.00/kg at cost 4.00, 50 kg; Acme Trading on 30-day terms) trades over a few days around
"now", Monday 2 March 2026 09:00 in Asia/Shanghai, including moments just after local
midnight (the previous day in UTC), so each figure is checked against numbers worked out by
hand.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.model import Actor, PaymentMethod
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, add_warehouse, save_product
from domain.services.low_stock import StockPosition, low_stock, stock_positions
from domain.services.orders import cancel_order
from domain.services.payments import record_payment
from domain.services.reports import (
    Period,
    PeriodFigures,
    Summary,
    daily_sales,
    period_figures,
    summary,
    top_products,
)
from domain.services.returns import return_goods
from tests.fakes import FixedClock
from tests.integration.test_use_cases import (
    Run,
    World,
    cny,
    line,
    new_product,
    place,
    qty,
    receive,
    seed,
    ship,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


@pytest.fixture
def world(run: Run, owner: Actor) -> World:
    return seed(run, owner)


def read(uow_factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], Any]) -> Any:
    """Run ``work`` in a read-only unit of work, as the report jobs do (never committed)."""
    database = getattr(uow_factory, "__self__", None)  # storage.Database behind db.uow
    factory = getattr(database, "reader", uow_factory)
    with factory() as uow:
        return work(uow)


@dataclass(frozen=True, slots=True)
class History:
    order_b_line: int


def trade(run: Run, world: World, clock: FixedClock) -> History:
    """The few days of trading every test below reads (amounts in the module docstring)."""
    # 10 January: 4 widgets (50.00), shipped the same day; due 9 February: 21 days overdue.
    clock.set(at(date(2026, 1, 10), 10))
    order_a = place(run, world, [line(world.widget, 4)], "a").order
    ship(run, world, order_a)
    # Friday 27 February: 10 widgets (125.00, cost 80.00).
    clock.set(at(date(2026, 2, 27), 10))
    order_b = place(run, world, [line(world.widget, 10)], "b").order
    ship(run, world, order_b)
    # Sunday 1 March, late evening: 2.5 kg rice (15.00, cost 10.00).
    clock.set(at(date(2026, 3, 1), 23, 30))
    order_c = place(run, world, [line(world.rice, "2.5")], "c").order
    clock.set(at(date(2026, 3, 1), 23, 45))
    ship(run, world, order_c)
    # Monday 2 March 00:30 local (still 1 March in UTC): 6 widgets less 10% (67.50), of
    # which 4 ship (45.00, cost 32.00).
    clock.set(at(date(2026, 3, 2), 0, 30))
    order_d = place(run, world, [line(world.widget, 6, discount_bp=1000)], "d").order
    clock.set(at(date(2026, 3, 2), 0, 40))
    ship(run, world, order_d, {order_d.lines[0].id: qty(4)})
    # 08:00 a payment of 30.00 (to the oldest invoice, January's).
    clock.set(at(date(2026, 3, 2), 8))
    run(
        lambda uow: record_payment(
            uow,
            actor=world.sales,
            customer_id=world.customer.id,
            amount=cny(3000),
            method=PaymentMethod.BANK_TRANSFER,
            idempotency_key="pay-1",
        )
    )
    # 08:30 one widget of order B comes back: a 12.50 credit note, 8.00 of cost back in stock.
    clock.set(at(date(2026, 3, 2), 8, 30))
    run(
        lambda uow: return_goods(
            uow,
            actor=world.warehouse,
            order_id=order_b.id,
            quantities={order_b.lines[0].id: qty(1)},
            reason="dented",
            idempotency_key="ret-1",
        )
    )
    # 09:00 two more orders: 2 kg rice (12.00) stays open, 1 widget is cancelled.
    clock.set(NOW)
    place(run, world, [line(world.rice, 2)], "e")
    cancelled = place(run, world, [line(world.widget, 1)], "f").order
    run(lambda uow: cancel_order(uow, actor=world.sales, order_id=cancelled.id))
    return History(order_b_line=order_b.lines[0].id)


def figures_of(uow_factory: UnitOfWorkFactory, period: Period) -> PeriodFigures:
    return read(uow_factory, lambda uow: period_figures(uow, period))


class TestPeriods:
    def test_named_periods_in_the_business_time_zone(self) -> None:
        monday_morning = NOW
        assert (Period.today(NOW).first, Period.today(NOW).last) == (date(2026, 3, 2),) * 2
        assert Period.yesterday(NOW).first == date(2026, 3, 1)
        week = Period.this_week(datetime(2026, 3, 5, 19, tzinfo=TZ))
        assert (week.first, week.last, week.days) == (date(2026, 3, 2), date(2026, 3, 5), 4)
        last_week = Period.last_week(monday_morning)
        assert (last_week.first, last_week.last) == (date(2026, 2, 23), date(2026, 3, 1))
        assert Period.this_month(NOW).first == date(2026, 3, 1)
        last_month = Period.last_month(NOW)
        assert (last_month.first, last_month.last, last_month.days) == (
            date(2026, 2, 1),
            date(2026, 2, 28),
            28,
        )
        january = Period.last_month(datetime(2026, 1, 1, 0, 5, tzinfo=TZ))
        assert (january.first, january.last) == (date(2025, 12, 1), date(2025, 12, 31))
        assert Period.named("Week", NOW) == Period.this_week(NOW)
        with pytest.raises(ValueError, match="unknown period"):
            Period.named("fortnight", NOW)
        with pytest.raises(ValueError, match="aware"):
            Period.today(datetime(2026, 3, 2, 9))

    def test_a_day_runs_from_local_midnight_to_local_midnight(self) -> None:
        day = Period.today(NOW)
        assert day.start == datetime(2026, 3, 2, tzinfo=TZ)
        assert day.end - day.start == timedelta(days=1)
        assert day.start.astimezone(ZoneInfo("UTC")).day == 1  # 16:00 UTC the day before
        # A day with a daylight-saving change is 23 hours long, still midnight to midnight.
        berlin = ZoneInfo("Europe/Berlin")
        spring = Period.day_of(date(2026, 3, 29), berlin)
        utc = ZoneInfo("UTC")
        assert spring.end.astimezone(utc) - spring.start.astimezone(utc) == timedelta(hours=23)


class TestPeriodFigures:
    def test_today(self, run: Run, world: World, clock: FixedClock, uow_factory: Any) -> None:
        trade(run, world, clock)
        today = figures_of(uow_factory, Period.today(NOW))
        assert today.invoiced == cny(4500)  # order D's partial shipment
        assert today.returned == cny(1250)  # the dented widget
        assert today.sales == cny(3250)
        assert today.cost_of_goods == cny(3200 - 800)
        assert today.gross_margin == cny(850)
        assert today.margin_percent() == Decimal("26.2")  # 8.50 / 32.50 = 26.15…%
        assert today.margin_percent(3) == Decimal("26.154")
        assert (today.orders, today.ordered) == (2, cny(6750 + 1200))  # D and E, not F
        assert today.cash_collected == cny(3000)
        assert today.as_of == NOW

    def test_yesterday_ends_at_local_midnight(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        sunday = figures_of(uow_factory, Period.yesterday(NOW))
        # Only order C: order D was placed at 00:30 local time, still Sunday in UTC.
        assert (sunday.invoiced, sunday.cost_of_goods) == (cny(1500), cny(1000))
        assert (sunday.orders, sunday.ordered) == (1, cny(1500))
        assert sunday.margin_percent() == Decimal("33.3")
        assert sunday.cash_collected == cny(0)

    def test_last_week_and_this_month(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        week = figures_of(uow_factory, Period.last_week(NOW))
        assert (week.sales, week.cost_of_goods, week.orders) == (cny(14000), cny(9000), 2)
        month = figures_of(uow_factory, Period.this_month(NOW))
        assert month.sales == cny(1500 + 4500 - 1250)
        assert month.cost_of_goods == cny(1000 + 3200 - 800)
        assert month.gross_margin == cny(1350)
        assert month.margin_percent() == Decimal("28.4")  # 13.50 / 47.50

    def test_receivables_are_a_snapshot_with_ageing(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        # Whatever the period, receivables are what is owed now.
        for period in (Period.today(NOW), Period.last_month(NOW)):
            ageing = figures_of(uow_factory, period).receivables
            # A 50.00 - 30.00 paid; B 125.00 - 12.50 credit note; C 15.00; D 45.00.
            assert ageing.total == cny(2000 + 11250 + 1500 + 4500)
            assert ageing.overdue == cny(2000)
            assert ageing.buckets["1-30"] == cny(2000)  # due 9 Feb: 21 days overdue

    def test_no_sales_no_percentage(self, run: Run, world: World, uow_factory: Any) -> None:
        empty = figures_of(uow_factory, Period.today(NOW))
        assert (empty.sales, empty.cost_of_goods, empty.orders) == (cny(0), cny(0), 0)
        assert empty.margin_percent() is None
        assert empty.receivables.total == cny(0)

    def test_a_loss_has_a_negative_margin(
        self, run: Run, world: World, uow_factory: Any
    ) -> None:
        # Sold below cost: 3 widgets at 5.00 (cost 8.00).
        order = place(run, world, [line(world.widget, 3, cny(500))], "cheap").order
        ship(run, world, order)
        today = figures_of(uow_factory, Period.today(NOW))
        assert today.gross_margin == cny(1500 - 2400)
        assert today.margin_percent() == Decimal("-60.0")


class TestDailySalesAndTopProducts:
    def test_thirty_days_with_a_seven_day_average(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        days = read(uow_factory, lambda uow: daily_sales(uow, last_day=date(2026, 3, 2)))
        assert len(days) == 30
        assert (days[0].day, days[-1].day) == (date(2026, 2, 1), date(2026, 3, 2))
        by_day = {d.day: d for d in days}
        assert by_day[date(2026, 2, 27)].sales == cny(12500)
        assert by_day[date(2026, 2, 27)].average == cny(1786)  # 125.00 / 7 = 17.857…
        assert by_day[date(2026, 3, 1)].sales == cny(1500)
        assert by_day[date(2026, 3, 2)].sales == cny(3250)  # net of the return
        assert by_day[date(2026, 3, 2)].average == cny(2464)  # 172.50 / 7 = 24.642…
        assert sum(d.sales.minor for d in days) == 12500 + 1500 + 3250
        # 6 March: 27 February has left the 7-day window (28 February to 6 March).
        later = read(uow_factory, lambda uow: daily_sales(uow, last_day=date(2026, 3, 6)))
        assert later[-1].average == cny(679)  # 47.50 / 7 = 6.785…

    def test_top_products_by_invoiced_revenue(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        week = read(uow_factory, lambda uow: top_products(uow, Period.last_week(NOW)))
        assert [(p.product.sku, p.revenue, p.quantity) for p in week] == [
            ("W-BLUE", cny(12500), qty(10)),
            ("R-JASMINE", cny(1500), qty("2.5")),
        ]
        today = read(uow_factory, lambda uow: top_products(uow, Period.today(NOW)))
        assert [(p.product.sku, p.revenue) for p in today] == [("W-BLUE", cny(4500))]
        february = read(uow_factory, lambda uow: top_products(uow, Period.last_month(NOW)))
        assert [(p.product.sku, p.revenue) for p in february] == [("W-BLUE", cny(12500))]
        before = Period.day_of(date(2026, 2, 26), TZ)
        assert read(uow_factory, lambda uow: top_products(uow, before)) == ()

    def test_partial_shipments_are_priced_like_their_invoices(
        self, run: Run, world: World, uow_factory: Any
    ) -> None:
        # 0.05 a piece less 50%: one piece is 2.5 fen. Invoices round the cumulative amount,
        # so three single shipments invoice 2 + 3 + 3 = 8 fen (= 3 x 2.5 rounded), not 6.
        nut = new_product(run, world.owner, "N-1", "Nut", "pcs", 5, 1)
        receive(run, world.warehouse, nut, 10, cny(1))
        order = place(run, world, [line(nut, 3, discount_bp=5000)], "nuts").order
        invoiced = 0
        for _ in range(3):
            result = ship(run, world, order, {order.lines[0].id: qty(1)})
            assert result.invoice is not None
            invoiced += result.invoice.amount.minor
        top = read(uow_factory, lambda uow: top_products(uow, Period.today(NOW)))
        assert invoiced == 8
        assert [(p.product.sku, p.revenue, p.quantity) for p in top] == [
            ("N-1", cny(8), qty(3))
        ]

    def test_top_ten_biggest_first_ties_by_name(
        self, run: Run, world: World, uow_factory: Any
    ) -> None:
        products = [
            new_product(run, world.owner, f"P-{n:02d}", f"Part {n:02d}", "pcs", 100 * (n % 6), 0)
            for n in range(1, 13)
        ]
        for product in products:
            receive(run, world.warehouse, product, 1, cny(0))
        # One order with every part that has a price, shipped at once.
        order = place(run, world, [line(p, 1) for p in products if p.price.minor], "all").order
        ship(run, world, order)
        top = read(uow_factory, lambda uow: top_products(uow, Period.today(NOW)))
        assert len(top) == 10
        assert [p.product.name for p in top] == [
            "Part 05",
            "Part 11",
            "Part 04",
            "Part 10",
            "Part 03",
            "Part 09",
            "Part 02",
            "Part 08",
            "Part 01",
            "Part 07",
        ]


class TestLowStock:
    def test_positions_per_warehouse_with_backorders(
        self, run: Run, world: World, uow_factory: Any
    ) -> None:
        south = run(lambda uow: add_warehouse(uow, actor=world.owner, code="SOUTH", name="South"))
        bolt = save(run, world, "B-8", "Bolt", point=25, reorder=100)
        save(run, world, "C-1", "Clip", point=5, reorder=0)
        save(run, world, "N-2", "Nail", point=0, reorder=0)  # not tracked, nothing waiting
        receive(run, world.warehouse, bolt, 20, cny(100))
        receive(run, world.warehouse, bolt, 4, cny(100), south)
        # 30 bolts ordered from MAIN: 20 reserved there, 10 wait for stock.
        place(run, world, [line(bolt, 30)], "bolts", allow_backorder=True)
        low: tuple[StockPosition, ...] = read(uow_factory, low_stock)
        # Nothing left to promise first (both here), then by name.
        assert [p.product.sku for p in low] == ["B-8", "C-1"]
        bolt_position, clip_position = low
        assert (clip_position.net, clip_position.suggested) == (qty(0), qty(6))
        assert bolt_position.available == qty(4)
        assert bolt_position.backordered == qty(10)
        assert bolt_position.net == qty(-6)
        assert bolt_position.suggested == qty(25 + 100 + 6)
        assert [
            (w.warehouse.code, w.on_hand, w.available, w.backordered)
            for w in bolt_position.warehouses
        ] == [("MAIN", qty(20), qty(0), qty(10)), ("SOUTH", qty(4), qty(4), qty(0))]
        assert clip_position.warehouses == ()
        assert all(p.product.sku != "R-JASMINE" for p in low)  # 50 kg, no reorder point

    def test_restocking_above_the_point_clears_it(
        self, run: Run, world: World, uow_factory: Any
    ) -> None:
        kg = save(run, world, "K-1", "Copper", point="2.5", reorder=0, unit="kg")
        receive(run, world.warehouse, kg, "1.2", cny(100))
        (position,) = read(uow_factory, lambda uow: stock_positions(uow, [product(uow, "K-1")]))
        assert position.is_low
        assert position.suggested == qty(2)  # 1.3 kg short: whole units, above the point
        receive(run, world.warehouse, kg, position.suggested.to_decimal(), cny(100))
        (after,) = read(uow_factory, lambda uow: stock_positions(uow, [product(uow, "K-1")]))
        assert not after.is_low
        assert after.suggested == qty(0)


class TestSummary:
    def test_one_call_gathers_everything(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        gathered: Summary = read(uow_factory, lambda uow: summary(uow, Period.today(NOW)))
        assert gathered.figures == figures_of(uow_factory, Period.today(NOW))
        assert gathered.daily[-1].day == date(2026, 3, 2)
        assert len(gathered.daily) == 30
        assert [p.product.sku for p in gathered.top_products] == ["W-BLUE"]
        assert gathered.currency == "CNY"

    def test_a_past_month_charts_the_days_up_to_its_end(
        self, run: Run, world: World, clock: FixedClock, uow_factory: Any
    ) -> None:
        trade(run, world, clock)
        gathered = read(uow_factory, lambda uow: summary(uow, Period.last_month(NOW)))
        assert gathered.daily[-1].day == date(2026, 2, 28)
        assert gathered.figures.sales == cny(12500)

    def test_an_empty_business(self, uow_factory: Any) -> None:
        gathered = read(uow_factory, lambda uow: summary(uow, Period.this_week(NOW)))
        assert [d.sales for d in gathered.daily] == [cny(0)] * 30
        assert gathered.top_products == ()
        assert gathered.figures.low_stock == ()


def save(
    run: Run,
    world: World,
    sku: str,
    name: str,
    *,
    point: int | str,
    reorder: int | str,
    unit: str = "pcs",
) -> Any:
    draft = ProductDraft(
        sku=sku,
        name=name,
        unit=unit,
        price=cny(1000),
        cost=cny(100),
        reorder_point=Quantity.of(point),
        reorder_qty=Quantity.of(reorder),
    )
    return run(lambda uow: save_product(uow, actor=world.owner, draft=draft)).product


def product(uow: UnitOfWork, sku: str) -> Any:
    found = uow.products.by_sku(sku)
    assert found is not None
    return found

