"""Report figures: sales, orders, margin, cash, receivables and low stock for a period.

Definitions (what the owner reads in the daily, weekly and monthly summaries):

- **Sales** are *invoiced* sales: goods shipped in the period (each confirmed shipment is
  invoiced that day), less credit notes for goods returned in the period. Orders placed but
  not yet shipped are counted separately under **orders** (how many, and their value), so
  sales and margin always describe goods that actually left the warehouse.
- **Cost of goods** is the cost recorded on the stock ledger when the goods shipped (moving
  average cost), less the cost of goods returned; **gross margin** is sales minus cost of
  goods, and its percentage is computed exactly and rounded half-even only when shown.
- **Cash collected**: payments received in the period (credit notes are not cash).
- **Receivables** (total, overdue, ageing) and **low stock** are a snapshot taken when the
  figures are gathered, not as of the end of the period.

Periods are business days in the business time zone (``uow.clock.now()``'s zone): an invoice
belongs to the day it was issued, an order to the local day it was placed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum

from domain.model import MoveKind, Product
from domain.money import Money, round_half_even
from domain.ports import DayTotals, UnitOfWork
from domain.quantity import SCALE, Quantity
from domain.services.low_stock import StockPosition, low_stock
from domain.services.orders import line_amount
from domain.services.receivables import Ageing, ageing_of

CHART_DAYS = 30
AVERAGE_DAYS = 7
TOP_PRODUCTS = 10


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class Period:
    """Whole business days from ``first`` to ``last`` (inclusive) in a time zone."""

    kind: PeriodKind
    first: date
    last: date
    zone: tzinfo

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"period ends ({self.last}) before it starts ({self.first})")

    @property
    def start(self) -> datetime:
        """The first moment of the period (local midnight)."""
        return datetime.combine(self.first, time(0), self.zone)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time(0), self.zone)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def contains(self, day: date) -> bool:
        return self.first <= day <= self.last

    # --- named periods, relative to now (an aware datetime in the business time zone) ------

    @classmethod
    def day_of(cls, day: date, zone: tzinfo) -> Period:
        return cls(PeriodKind.DAY, day, day, zone)

    @classmethod
    def today(cls, now: datetime) -> Period:
        return cls.day_of(now.date(), _zone(now))

    @classmethod
    def yesterday(cls, now: datetime) -> Period:
        return cls.day_of(now.date() - timedelta(days=1), _zone(now))

    @classmethod
    def this_week(cls, now: datetime) -> Period:
        """Monday to today."""
        today = now.date()
        return cls(PeriodKind.WEEK, today - timedelta(days=today.weekday()), today, _zone(now))

    @classmethod
    def last_week(cls, now: datetime) -> Period:
        """The whole week (Monday to Sunday) before this one."""
        monday = now.date() - timedelta(days=now.date().weekday() + 7)
        return cls(PeriodKind.WEEK, monday, monday + timedelta(days=6), _zone(now))

    @classmethod
    def this_month(cls, now: datetime) -> Period:
        """The 1st to today."""
        today = now.date()
        return cls(PeriodKind.MONTH, today.replace(day=1), today, _zone(now))

    @classmethod
    def last_month(cls, now: datetime) -> Period:
        """The whole month before this one."""
        last = now.date().replace(day=1) - timedelta(days=1)
        return cls(PeriodKind.MONTH, last.replace(day=1), last, _zone(now))

    @classmethod
    def named(cls, name: str, now: datetime) -> Period:
        """``today``, ``yesterday``, ``week``, ``last_week``, ``month`` or ``last_month``."""
        make = _NAMED.get(name.strip().casefold())
        if make is None:
            raise ValueError(f"unknown period {name!r}; expected one of {', '.join(_NAMED)}")
        return make(now)


_NAMED = {
    "today": Period.today,
    "yesterday": Period.yesterday,
    "week": Period.this_week,
    "last_week": Period.last_week,
    "month": Period.this_month,
    "last_month": Period.last_month,
}
PERIOD_NAMES = tuple(_NAMED)


def _zone(now: datetime) -> tzinfo:
    if now.tzinfo is None:
        raise ValueError("periods need an aware datetime in the business time zone")
    return now.tzinfo


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    """The numbers of a period, as defined in this module's docstring."""

    period: Period
    as_of: datetime  # when receivables and low stock were read
    invoiced: Money
    returned: Money  # credit notes for returned goods
    cost_of_goods: Money  # shipped minus returned, at ledger cost
    orders: int
    ordered: Money
    cash_collected: Money
    receivables: Ageing  # open invoices by age, as of ``as_of``
    low_stock: tuple[StockPosition, ...]

    @property
    def sales(self) -> Money:
        """Invoiced less returns."""
        return self.invoiced - self.returned

    @property
    def gross_margin(self) -> Money:
        return self.sales - self.cost_of_goods

    def margin_percent(self, decimals: int = 1) -> Decimal | None:
        """Gross margin as a percentage of sales, rounded half-even; None without sales."""
        if self.sales.minor <= 0:
            return None
        scaled = round_half_even(self.gross_margin.minor * 100 * 10**decimals, self.sales.minor)
        return Decimal(scaled).scaleb(-decimals)


@dataclass(frozen=True, slots=True)
class DailySales:
    day: date
    sales: Money  # invoiced less returns, that day
    average: Money  # mean of the AVERAGE_DAYS days ending this day, rounded half-even


@dataclass(frozen=True, slots=True)
class ProductSales:
    product: Product
    revenue: Money  # invoiced for it in the period (before returns)
    quantity: Quantity  # shipped in the period


@dataclass(frozen=True, slots=True)
class Summary:
    """Everything the daily / weekly / monthly summary shows, read in one transaction."""

    figures: PeriodFigures
    daily: tuple[DailySales, ...]  # CHART_DAYS days ending on the period's last day
    top_products: tuple[ProductSales, ...]

    @property
    def period(self) -> Period:
        return self.figures.period

    @property
    def currency(self) -> str:
        return self.figures.sales.currency


def summary(
    uow: UnitOfWork, period: Period, *, chart_days: int = CHART_DAYS, top: int = TOP_PRODUCTS
) -> Summary:
    """Gather a summary: call inside a (read-only) unit of work, render outside it."""
    chart_last = min(period.last, uow.clock.now().date())
    chart_first = chart_last - timedelta(days=chart_days - 1)
    window_first = chart_first - timedelta(days=AVERAGE_DAYS - 1)
    totals = _totals_by_day(uow, min(period.first, window_first), max(period.last, chart_last))
    return Summary(
        figures=period_figures(uow, period, totals),
        daily=daily_sales(uow, last_day=chart_last, days=chart_days, totals=totals),
        top_products=top_products(uow, period, limit=top),
    )


def period_figures(
    uow: UnitOfWork, period: Period, totals: Mapping[date, DayTotals] | None = None
) -> PeriodFigures:
    """Sales, margin, orders, cash, receivables and low stock of a period."""
    currency = uow.policy.currency
    zero = Money.zero(currency)
    if totals is None:
        totals = _totals_by_day(uow, period.first, period.last)
    in_period = [t for day, t in totals.items() if period.contains(day)]
    orders, ordered = uow.reports.orders_placed(period.start, period.end)
    now = uow.clock.now()
    return PeriodFigures(
        period=period,
        as_of=now,
        invoiced=sum((t.invoiced for t in in_period), zero),
        returned=sum((t.credited for t in in_period), zero),
        cost_of_goods=cost_of_goods(uow, period),
        orders=orders,
        ordered=ordered,
        cash_collected=sum((t.collected for t in in_period), zero),
        receivables=receivables_ageing(uow, now.date()),
        low_stock=low_stock(uow),
    )


def cost_of_goods(uow: UnitOfWork, period: Period) -> Money:
    """Cost of goods shipped less cost of goods returned, from the stock ledger.

    Summed exactly (quantity x unit cost in thousandths) and rounded half-even once.
    """
    kinds = (MoveKind.SHIPMENT, MoveKind.RETURN)
    exact = sum(
        -row.on_hand_delta.milli * row.unit_cost.minor
        for row in uow.reports.moved_at_cost(kinds, period.start, period.end)
    )
    return Money(round_half_even(exact, SCALE), uow.policy.currency)


def daily_sales(
    uow: UnitOfWork,
    *,
    last_day: date,
    days: int = CHART_DAYS,
    totals: Mapping[date, DayTotals] | None = None,
) -> tuple[DailySales, ...]:
    """Sales of each of ``days`` days ending on ``last_day``, with the trailing average."""
    first = last_day - timedelta(days=days - 1)
    window_first = first - timedelta(days=AVERAGE_DAYS - 1)
    if totals is None:
        totals = _totals_by_day(uow, window_first, last_day)
    currency = uow.policy.currency
    per_day = [
        _net(totals.get(window_first + timedelta(days=offset)))
        for offset in range(days + AVERAGE_DAYS - 1)
    ]
    result: list[DailySales] = []
    running = sum(per_day[: AVERAGE_DAYS - 1])
    for index in range(days):
        today = per_day[index + AVERAGE_DAYS - 1]
        running += today
        result.append(
            DailySales(
                day=first + timedelta(days=index),
                sales=Money(today, currency),
                average=Money(round_half_even(running, AVERAGE_DAYS), currency),
            )
        )
        running -= per_day[index]
    return tuple(result)


def top_products(
    uow: UnitOfWork, period: Period, *, limit: int = TOP_PRODUCTS
) -> tuple[ProductSales, ...]:
    """The products invoiced for the most in the period, biggest first (then by name).

    Each shipped line is priced as its invoice was: the order line's cumulative amount after
    the shipment less before it, so partial shipments add up to the order line exactly.
    """
    currency = uow.policy.currency
    revenue: dict[int, int] = defaultdict(int)
    shipped: dict[int, int] = defaultdict(int)
    for line in uow.reports.shipped_lines(period.start, period.end):
        after = line.shipped_before + line.quantity
        revenue[line.product_id] += (
            line_amount(after, line.unit_price, line.discount_bp).minor
            - line_amount(line.shipped_before, line.unit_price, line.discount_bp).minor
        )
        shipped[line.product_id] += line.quantity.milli
    products = uow.products.get_many(list(revenue))
    ranked = sorted(
        (pid for pid in revenue if pid in products),
        key=lambda pid: (-revenue[pid], products[pid].name.casefold(), pid),
    )
    return tuple(
        ProductSales(products[pid], Money(revenue[pid], currency), Quantity(shipped[pid]))
        for pid in ranked[:limit]
    )


def receivables_ageing(uow: UnitOfWork, as_of: date | None = None) -> Ageing:
    """Open invoices by age (current, 1-30, 31-60, 61-90, 90+ days past due) as of a day
    (today by default); the buckets are receivables.Ageing's."""
    day = uow.clock.now().date() if as_of is None else as_of
    return ageing_of(uow.invoices.open(), day, uow.policy.currency)


def _totals_by_day(uow: UnitOfWork, first: date, last: date) -> dict[date, DayTotals]:
    return {totals.day: totals for totals in uow.reports.daily_totals(first, last)}


def _net(totals: DayTotals | None) -> int:
    return 0 if totals is None else totals.invoiced.minor - totals.credited.minor
