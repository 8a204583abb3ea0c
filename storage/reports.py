"""Read-only report queries (the ReportRepository port): sums grouped in the database.

PostgreSQL returns SUM over BIGINT as NUMERIC (a Decimal); every sum is turned back into an
exact int here, so the domain only ever sees integer minor units and thousandths.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, literal_column, select

from domain.model import OPEN_ORDER_STATUSES, MoveKind, OrderStatus, PaymentMethod
from domain.money import Money
from domain.ports import DayTotals, MovedAtCost, ShippedLine
from domain.quantity import Quantity
from storage.prepared import Prepared
from storage.repositories import (
    INVOICES,
    LINES,
    MOVES,
    ORDERS,
    PAYMENTS,
    SHIPMENT_LINES,
    SHIPMENTS,
    _b,
    _b_in,
    _Repo,
)

_CONFIRMED = SHIPMENTS.c.status == "confirmed"
_IS_CREDIT_NOTE = PAYMENTS.c.method == str(PaymentMethod.CREDIT_NOTE)

_INVOICED_BY_DAY = (
    select(INVOICES.c.issued_on.label("day"), func.sum(INVOICES.c.amount_minor).label("amount"))
    .where(INVOICES.c.issued_on >= _b("b_first"), INVOICES.c.issued_on <= _b("b_last"))
    .group_by(INVOICES.c.issued_on)
)
_PAID_BY_DAY = (
    select(
        PAYMENTS.c.received_on.label("day"),
        func.sum(case((_IS_CREDIT_NOTE, PAYMENTS.c.amount_minor), else_=0)).label("credited"),
        func.sum(case((_IS_CREDIT_NOTE, 0), else_=PAYMENTS.c.amount_minor)).label("collected"),
    )
    .where(PAYMENTS.c.received_on >= _b("b_first"), PAYMENTS.c.received_on <= _b("b_last"))
    .group_by(PAYMENTS.c.received_on)
)
_ORDERS_PLACED = select(
    func.count(ORDERS.c.id).label("orders"),
    func.coalesce(func.sum(ORDERS.c.total_minor), 0).label("total"),
).where(
    ORDERS.c.created_at >= _b("b_start", ORDERS.c.created_at),
    ORDERS.c.created_at < _b("b_end", ORDERS.c.created_at),
    ORDERS.c.status.not_in([str(OrderStatus.DRAFT), str(OrderStatus.CANCELLED)]),
)
_MOVED_AT_COST = (
    select(
        MOVES.c.kind,
        MOVES.c.product_id,
        MOVES.c.unit_cost_minor.label("unit_cost"),
        func.sum(MOVES.c.on_hand_delta_milli).label("delta"),
    )
    .where(
        MOVES.c.kind.in_(_b_in("b_kinds")),
        MOVES.c.at >= _b("b_start", MOVES.c.at),
        MOVES.c.at < _b("b_end", MOVES.c.at),
    )
    .group_by(MOVES.c.kind, MOVES.c.product_id, MOVES.c.unit_cost_minor)
    .order_by(MOVES.c.kind, MOVES.c.product_id)
)


def _shipped_lines_statement() -> Any:
    """Shipment lines confirmed in [b_start, b_end), each with what its order line had
    shipped before it (a running sum over every confirmed shipment of that order line, in
    confirmation order), and the order line's price and discount."""
    in_period = and_(
        SHIPMENTS.c.confirmed_at >= _b("b_start", SHIPMENTS.c.confirmed_at),
        SHIPMENTS.c.confirmed_at < _b("b_end", SHIPMENTS.c.confirmed_at),
    )
    touched = (
        select(SHIPMENT_LINES.c.order_line_id)
        .join(SHIPMENTS, SHIPMENTS.c.id == SHIPMENT_LINES.c.shipment_id)
        .where(_CONFIRMED, in_period)
    )
    before = func.sum(SHIPMENT_LINES.c.quantity_milli).over(
        partition_by=SHIPMENT_LINES.c.order_line_id,
        order_by=(SHIPMENTS.c.confirmed_at, SHIPMENTS.c.id),
        rows=(None, -1),
    )
    history = (
        select(
            SHIPMENT_LINES.c.product_id,
            SHIPMENT_LINES.c.order_line_id,
            SHIPMENT_LINES.c.quantity_milli,
            SHIPMENTS.c.id.label("shipment_id"),
            SHIPMENTS.c.confirmed_at,
            func.coalesce(before, 0).label("shipped_before"),
        )
        .join(SHIPMENTS, SHIPMENTS.c.id == SHIPMENT_LINES.c.shipment_id)
        .where(_CONFIRMED, SHIPMENT_LINES.c.order_line_id.in_(touched))
        .subquery()
    )
    return (
        select(history, LINES.c.unit_price_minor, LINES.c.discount_bp)
        .join(LINES, LINES.c.id == history.c.order_line_id)
        .where(
            history.c.confirmed_at >= _b("b_start", SHIPMENTS.c.confirmed_at),
            history.c.confirmed_at < _b("b_end", SHIPMENTS.c.confirmed_at),
        )
        .order_by(history.c.shipment_id, history.c.order_line_id)
    )


_SHIPPED_LINES = _shipped_lines_statement()
_REMAINING = LINES.c.quantity_milli - LINES.c.shipped_milli - LINES.c.reserved_milli
_BACKORDERED = (
    select(
        LINES.c.product_id,
        ORDERS.c.warehouse_id,
        func.sum(_REMAINING).label("waiting"),
    )
    .join(ORDERS, ORDERS.c.id == LINES.c.order_id)
    # "> 0" as a literal, as in the partial index ix_line_waiting (a bound parameter would
    # keep the planners from proving the index covers the query)
    .where(
        ORDERS.c.status.in_([str(s) for s in OPEN_ORDER_STATUSES]),
        _REMAINING > literal_column("0"),  # noqa: SIM300 (worded as the index is)
    )
    .group_by(LINES.c.product_id, ORDERS.c.warehouse_id)
)
_BACKORDERED_OF = Prepared(_BACKORDERED.where(LINES.c.product_id.in_(_b_in("b_product_ids"))))


class SqlReports(_Repo):
    def daily_totals(self, first: date, last: date) -> list[DayTotals]:
        window = {"b_first": first, "b_last": last}
        days: dict[date, list[int]] = {}
        for row in self._exec(_INVOICED_BY_DAY, window):
            days.setdefault(row.day, [0, 0, 0])[0] = int(row.amount)
        for row in self._exec(_PAID_BY_DAY, window):
            sums = days.setdefault(row.day, [0, 0, 0])
            sums[1], sums[2] = int(row.credited), int(row.collected)
        money = self._money
        return [
            DayTotals(day, money(invoiced), money(credited), money(collected))
            for day, (invoiced, credited, collected) in sorted(days.items())
        ]

    def orders_placed(self, start: datetime, end: datetime) -> tuple[int, Money]:
        row = self._exec(_ORDERS_PLACED, {"b_start": start, "b_end": end}).one()
        return int(row.orders), self._money(int(row.total))

    def moved_at_cost(
        self, kinds: Sequence[MoveKind], start: datetime, end: datetime
    ) -> list[MovedAtCost]:
        if not kinds:
            return []
        params = {"b_kinds": [str(k) for k in kinds], "b_start": start, "b_end": end}
        return [
            MovedAtCost(
                kind=MoveKind(row.kind),
                product_id=row.product_id,
                unit_cost=self._money(row.unit_cost or 0),
                on_hand_delta=Quantity(int(row.delta)),
            )
            for row in self._exec(_MOVED_AT_COST, params)
        ]

    def shipped_lines(self, start: datetime, end: datetime) -> list[ShippedLine]:
        return [
            ShippedLine(
                product_id=row.product_id,
                quantity=Quantity(row.quantity_milli),
                shipped_before=Quantity(int(row.shipped_before)),
                unit_price=self._money(row.unit_price_minor),
                discount_bp=row.discount_bp,
            )
            for row in self._exec(_SHIPPED_LINES, {"b_start": start, "b_end": end})
        ]

    def backordered(
        self, product_ids: Sequence[int] | None = None
    ) -> dict[tuple[int, int], Quantity]:
        if product_ids is None:
            rows = self._exec(_BACKORDERED)
        elif not product_ids:
            return {}
        else:
            rows = self._exec(_BACKORDERED_OF, {"b_product_ids": sorted(set(product_ids))})
        return {
            (row.product_id, row.warehouse_id): Quantity(int(row.waiting))
            for row in rows
            if int(row.waiting) > 0
        }

    def _money(self, minor: int) -> Money:
        return Money(minor, self._currency)
