"""The ledger as a Hypothesis state machine (RELIABILITY.md B12).

Random sequences of receipts, orders (backorders, credit holds), approvals, cancellations,
partial and full shipments, payments (overpayments, replayed idempotency keys), stock counts,
transfers and the passing of time run against the in-memory fake and against SQLite. Domain
refusals are ordinary outcomes; any other exception fails. After every step the books must
balance: stock equals its ledger, reservations equal what open orders hold, receivables equal
invoices minus payments, and no ledger row (stock move, allocation, audit entry) ever changes.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from domain.errors import DomainError
from domain.model import (
    OPEN_ORDER_STATUSES,
    Actor,
    Allocation,
    AuditEntry,
    Customer,
    Invoice,
    InvoiceStatus,
    OrderStatus,
    Payment,
    PaymentMethod,
    Role,
    SalesOrder,
    ShipmentStatus,
    StockBalance,
    StockMove,
)
from domain.money import Money
from domain.ports import LedgerPolicy, UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, add_warehouse, save_product
from domain.services.customers import CustomerDraft, create_customer
from domain.services.orders import (
    LineRequest,
    cancel_order,
    decide_order,
    line_amount,
    place_order,
)
from domain.services.payments import record_payment
from domain.services.receivables import customer_balance, statement
from domain.services.shipping import confirm_shipment, create_shipment, ship_order
from domain.services.stock import adjust_stock, receive_stock, transfer_stock
from domain.transaction import run_in_transaction
from tests.fakes import FakeDatabase, FixedClock

T = TypeVar("T")
CNY = "CNY"
TZ = ZoneInfo("Asia/Shanghai")
OWNER = Actor(user_id=None, role=Role.OWNER, source="property", name="owner")
START = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)

# (sku, unit, price in fen): pieces, a fractional unit, and a cheap item.
PRODUCTS = (("BOLT", "pcs", 1_250), ("ROPE", "m", 399), ("NUT", "pcs", 7))
# (name, credit limit in fen or None, payment terms in days)
CUSTOMERS = (("Open account", None, 30), ("Tight limit", 5_000, 7), ("Cash on delivery", 60_000, 0))
QUANTUM = {"pcs": 1_000, "m": 250}  # milli steps the strategies use per unit
SHIPPABLE = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED)


def qty(product_index: int, steps: int) -> Quantity:
    return Quantity(steps * QUANTUM[PRODUCTS[product_index][1]])


@dataclass(slots=True)
class Snapshot:
    """Everything the invariants read, taken in one unit of work."""

    balances: list[StockBalance]
    moves: list[StockMove]
    orders: list[SalesOrder]
    customers: list[Customer]
    invoices: list[Invoice]
    payments: list[Payment]
    allocations: list[Allocation]
    audit: list[AuditEntry]
    drafts: list[int] = field(default_factory=list)
    reports: dict[int, Report] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Report:
    """What the read side (balance, ageing, statement) says about one customer, in fen."""

    balance: int
    outstanding: int
    credit: int
    ageing_total: int
    statement_opening: int
    statement_lines: int  # Σ debit − credit of the statement lines
    statement_closing: int


def report(uow: UnitOfWork, customer_id: int) -> Report:
    """Balance, ageing and a statement whose window starts three weeks back (so it has an
    opening balance once enough time has passed)."""
    today = uow.clock.now().date()
    seen = customer_balance(uow, actor=OWNER, customer_id=customer_id)
    sheet = statement(
        uow,
        actor=OWNER,
        customer_id=customer_id,
        start=today - timedelta(days=21),
        end=today,
    )
    return Report(
        balance=seen.balance.minor,
        outstanding=seen.outstanding.minor,
        credit=seen.credit.minor,
        ageing_total=seen.ageing.total.minor,
        statement_opening=sheet.opening.minor,
        statement_lines=sum(line.debit.minor - line.credit.minor for line in sheet.lines),
        statement_closing=sheet.closing.minor,
    )


def read_everything(uow: UnitOfWork) -> Snapshot:
    customers = uow.customers.list(active_only=False)
    orders = uow.orders.list(limit=1_000_000)
    return Snapshot(
        balances=uow.stock.all(),
        moves=uow.stock.moves(),
        orders=sorted(orders, key=lambda o: o.id),
        customers=customers,
        invoices=[inv for c in customers for inv in uow.invoices.for_customer(c.id)],
        payments=[pay for c in customers for pay in uow.payments.for_customer(c.id)],
        allocations=uow.payments.allocations(),
        audit=uow.audit.list(),
        drafts=[
            s.id
            for o in orders
            for s in uow.shipments.for_order(o.id)
            if s.status is ShipmentStatus.DRAFT
        ],
        reports={c.id: report(uow, c.id) for c in customers},
    )


def pick(items: list[T], index: int) -> T | None:
    return items[index % len(items)] if items else None


def has_orders(*statuses: OrderStatus) -> Callable[[LedgerMachine], bool]:
    """Precondition: after the last step some order is in one of ``statuses`` (or any)."""
    return lambda machine: bool(machine.orders_in(*statuses))


class LedgerMachine(RuleBasedStateMachine):
    """Drives the use cases on one backend; subclasses choose the backend."""

    backend = "fake"

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(START)
        # No grace period: any invoice past its due date holds new orders, so overdue holds
        # (and ageing buckets) show up within a few steps of the clock moving on.
        self.policy = LedgerPolicy(currency=CNY, credit_hold_overdue_days=0)
        self._tmp: str | None = None
        self._dispose: Callable[[], None] = lambda: None
        self.factory = self._open_backend()
        self.products: list[int] = []
        self.warehouses: list[int] = []
        self.customers: list[int] = []
        self.order_keys: list[tuple[str, int, list[LineRequest]]] = []  # key, customer, lines
        self.payment_keys: list[tuple[str, int, int, str]] = []  # key, customer, amount, number
        self.counter = 0
        self.seen: tuple[tuple[StockMove, ...], tuple[Allocation, ...], tuple[AuditEntry, ...]]
        self.seen = ((), (), ())
        self.last = Snapshot([], [], [], [], [], [], [], [])  # refreshed after every step

    def _open_backend(self) -> UnitOfWorkFactory:
        if self.backend == "fake":
            return FakeDatabase(clock=self.clock, policy=self.policy).uow
        from storage.database import Database
        from storage.testing import create_schema

        self._tmp = tempfile.mkdtemp(prefix="ledger-sm-")
        db = Database(
            f"sqlite:///{Path(self._tmp) / 'ledger.db'}", clock=self.clock, policy=self.policy
        )
        create_schema(db)
        self._dispose = db.dispose
        return db.uow

    def teardown(self) -> None:
        self._dispose()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    # --- helpers ----------------------------------------------------------------------------

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        return run_in_transaction(self.factory, work, sleep=lambda _s: None)

    def attempt(self, label: str, work: Callable[[UnitOfWork], Any]) -> Any:
        """Run a use case; a domain refusal is a fine outcome (returns None).

        Outcomes are reported as Hypothesis events (``--hypothesis-show-statistics``).
        """
        try:
            result = self.run(work)
        except DomainError as refusal:
            event(f"{label}: {type(refusal).__name__}")
            return None
        event(f"{label}: ok")
        return result

    def snapshot(self) -> Snapshot:
        with self.factory() as uow:
            return read_everything(uow)

    def key(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def orders_in(self, *statuses: OrderStatus) -> list[SalesOrder]:
        """Orders (as of the last step) in one of ``statuses``, or all of them."""
        return [o for o in self.last.orders if not statuses or o.status in statuses]

    # --- set-up -----------------------------------------------------------------------------

    @initialize()
    def seed(self) -> None:
        def work(uow: UnitOfWork) -> None:
            for code in ("MAIN", "EAST"):
                self.warehouses.append(add_warehouse(uow, actor=OWNER, code=code, name=code).id)
            for sku, unit, price in PRODUCTS:
                draft = ProductDraft(
                    sku, sku.title(), unit, Money(price, CNY), Money(price // 2, CNY)
                )
                self.products.append(save_product(uow, actor=OWNER, draft=draft).product.id)
            for name, limit, terms in CUSTOMERS:
                created = create_customer(
                    uow,
                    actor=OWNER,
                    draft=CustomerDraft(
                        name=name,
                        credit_limit=None if limit is None else Money(limit, CNY),
                        payment_terms_days=terms,
                    ),
                    allow_similar=True,
                )
                assert created.customer is not None
                self.customers.append(created.customer.id)
            for index, product_id in enumerate(self.products):  # something to sell from the start
                receive_stock(
                    uow,
                    actor=OWNER,
                    product_id=product_id,
                    quantity=qty(index, 60),
                    unit_cost=Money(100, CNY),
                    warehouse_id=self.warehouses[0],
                )

        self.run(work)
        self.last = self.snapshot()

    # --- stock ------------------------------------------------------------------------------

    @rule(
        product=st.integers(0, len(PRODUCTS) - 1),
        warehouse=st.integers(0, 1),
        steps=st.integers(1, 40),
        cost=st.integers(0, 5_000),
    )
    def receive(self, product: int, warehouse: int, steps: int, cost: int) -> None:
        self.attempt(
            "receive",
            lambda uow: receive_stock(
                uow,
                actor=OWNER,
                product_id=self.products[product],
                quantity=qty(product, steps),
                unit_cost=Money(cost, CNY),
                warehouse_id=self.warehouses[warehouse],
            ),
        )

    @rule(
        product=st.integers(0, len(PRODUCTS) - 1),
        warehouse=st.integers(0, 1),
        steps=st.integers(0, 30),
        reason=st.sampled_from(["stock count", "damaged", "found behind the shelf", ""]),
    )
    def adjust(self, product: int, warehouse: int, steps: int, reason: str) -> None:
        self.attempt(
            "adjust",
            lambda uow: adjust_stock(
                uow,
                actor=OWNER,
                product_id=self.products[product],
                counted=qty(product, steps),
                reason=reason,
                warehouse_id=self.warehouses[warehouse],
            ),
        )

    @rule(
        product=st.integers(0, len(PRODUCTS) - 1),
        source=st.integers(0, 1),
        steps=st.integers(1, 10),
    )
    def transfer(self, product: int, source: int, steps: int) -> None:
        self.attempt(
            "transfer",
            lambda uow: transfer_stock(
                uow,
                actor=OWNER,
                product_id=self.products[product],
                quantity=qty(product, steps),
                from_warehouse_id=self.warehouses[source],
                to_warehouse_id=self.warehouses[1 - source],
            ),
        )

    # --- orders -----------------------------------------------------------------------------

    @rule(
        customer=st.integers(0, len(CUSTOMERS) - 1),
        lines=st.lists(
            st.tuples(
                st.integers(0, len(PRODUCTS) - 1),
                st.integers(1, 12),
                st.sampled_from([0, 0, 0, 500, 1_250, 10_000]),
            ),
            min_size=1,
            max_size=3,
        ),
        backorder=st.booleans(),
        warehouse=st.sampled_from([None, 0, 1]),
        replay=st.integers(0, 4),
        debtor=st.booleans(),
    )
    def place(
        self,
        customer: int,
        lines: list[tuple[int, int, int]],
        backorder: bool,
        warehouse: int | None,
        replay: int,
        debtor: bool,
    ) -> None:
        """A new order (``debtor``: from a customer with open invoices, to meet the overdue
        hold once time has passed), or a double tap replaying the last one."""
        customer_id = self.customers[customer]
        owing = [i.customer_id for i in self.last.invoices if i.status is InvoiceStatus.OPEN]
        if debtor and owing:
            customer_id = owing[customer % len(owing)]
        requests = [
            LineRequest(self.products[p], qty(p, steps), discount_bp=discount)
            for p, steps, discount in lines
        ]
        double_tap = replay == 0 and bool(self.order_keys)
        if double_tap:  # the same request again: it must return the first order
            key, customer_id, requests = self.order_keys[-1]
        else:
            key = self.key("SO")
        placed = self.attempt(
            "place",
            lambda uow: place_order(
                uow,
                actor=OWNER,
                customer_id=customer_id,
                lines=requests,
                idempotency_key=key,
                warehouse_id=None if warehouse is None else self.warehouses[warehouse],
                allow_backorder=backorder,
            ),
        )
        if double_tap:
            assert placed is not None and not placed.created, "a double tap was not idempotent"
            assert placed.order.idempotency_key == key
        elif placed is not None:
            assert placed.created
            self.order_keys.append((key, customer_id, requests))

    @precondition(has_orders(OrderStatus.PENDING_APPROVAL))
    @rule(which=st.integers(0, 1_000), approve=st.booleans())
    def decide(self, which: int, approve: bool) -> None:
        order = pick(self.orders_in(OrderStatus.PENDING_APPROVAL), which)
        assert order is not None
        self.attempt(
            "decide",
            lambda uow: decide_order(uow, actor=OWNER, order_id=order.id, approve=approve),
        )

    @precondition(has_orders(*OPEN_ORDER_STATUSES))
    @rule(which=st.integers(0, 1_000))
    def cancel(self, which: int) -> None:
        order = pick(self.orders_in(*OPEN_ORDER_STATUSES), which)
        assert order is not None
        self.attempt("cancel", lambda uow: cancel_order(uow, actor=OWNER, order_id=order.id))

    @precondition(has_orders())
    @rule(
        which=st.integers(0, 1_000),
        action=st.sampled_from(["approve", "reject", "cancel", "ship"]),
    )
    def meddle(self, which: int, action: str) -> None:
        """Any action on any order, whatever its state: the stale button pressed late."""
        order = pick(self.orders_in(), which)
        assert order is not None
        if action in ("approve", "reject"):
            self.attempt(
                f"meddle: {action}",
                lambda uow: decide_order(
                    uow, actor=OWNER, order_id=order.id, approve=action == "approve"
                ),
            )
        elif action == "cancel":
            self.attempt(
                "meddle: cancel", lambda uow: cancel_order(uow, actor=OWNER, order_id=order.id)
            )
        else:
            self.attempt(
                "meddle: ship", lambda uow: ship_order(uow, actor=OWNER, order_id=order.id)
            )

    # --- shipping ---------------------------------------------------------------------------

    @precondition(has_orders(*SHIPPABLE))
    @rule(
        which=st.integers(0, 1_000),
        how=st.sampled_from(["all", "all", "part", "part", "draft", "from elsewhere"]),
        data=st.data(),
    )
    def ship(self, which: int, how: str, data: st.DataObject) -> None:
        """Ship everything left, or chosen quantities (each within what remains), or make a
        draft to confirm later, or ship from the warehouse the order did not reserve in."""
        order = pick(self.orders_in(*SHIPPABLE), which)
        assert order is not None
        quantities: dict[int, Quantity] | None = None
        warehouse: int | None = None
        if how in ("part", "draft"):
            quantities = {}
            for line in order.lines:
                step = QUANTUM[PRODUCTS[self.products.index(line.product_id)][1]]
                steps = data.draw(st.integers(0, line.remaining.milli // step), label="steps")
                if steps:
                    quantities[line.id] = Quantity(steps * step)
        elif how == "from elsewhere":
            warehouse = next(w for w in self.warehouses if w != order.warehouse_id)
        if how == "draft":
            self.attempt(
                "ship: draft",
                lambda uow: create_shipment(
                    uow, actor=OWNER, order_id=order.id, quantities=quantities
                ),
            )
            return
        self.attempt(
            f"ship: {how}",
            lambda uow: ship_order(
                uow, actor=OWNER, order_id=order.id, quantities=quantities, warehouse_id=warehouse
            ),
        )

    @precondition(lambda self: bool(self.last.drafts))
    @rule(which=st.integers(0, 1_000))
    def confirm_draft(self, which: int) -> None:
        """Confirm a draft made earlier (possibly stale: the order moved on since)."""
        shipment_id = pick(self.last.drafts, which)
        self.attempt(
            "confirm draft",
            lambda uow: confirm_shipment(uow, actor=OWNER, shipment_id=shipment_id),
        )

    # --- money ------------------------------------------------------------------------------

    @rule(
        customer=st.integers(0, len(CUSTOMERS) - 1),
        amount=st.one_of(st.integers(1, 3_000), st.integers(1, 40_000)),  # some overpay
        replay=st.integers(0, 4),
        which=st.integers(0, 1_000),
        aim=st.booleans(),
    )
    def pay(self, customer: int, amount: int, replay: int, which: int, aim: bool) -> None:
        customer_id = self.customers[customer]
        if replay == 0 and self.payment_keys:
            key, customer_id, amount, number = self.payment_keys[-1]
            again = self.attempt(
                "pay",
                lambda uow: record_payment(
                    uow,
                    actor=OWNER,
                    customer_id=customer_id,
                    amount=Money(amount, CNY),
                    method=PaymentMethod.CASH,
                    idempotency_key=key,
                ),
            )
            assert again is not None and not again.created, "a replayed payment was refused"
            assert again.payment.number == number
            return
        invoice_id = None
        if aim:
            invoices = [i for i in self.last.invoices if i.customer_id == customer_id]
            chosen = pick(invoices, which)  # paid ones too: a refusal is fine
            invoice_id = None if chosen is None else chosen.id
        key = self.key("PAY")
        result = self.attempt(
            "pay",
            lambda uow: record_payment(
                uow,
                actor=OWNER,
                customer_id=customer_id,
                amount=Money(amount, CNY),
                method=PaymentMethod.BANK_TRANSFER,
                idempotency_key=key,
                invoice_id=invoice_id,
            ),
        )
        if result is not None:
            assert result.created
            self.payment_keys.append((key, customer_id, amount, result.payment.number))

    # --- time -------------------------------------------------------------------------------

    @rule(days=st.sampled_from([1, 6, 31, 45]))
    def time_passes(self, days: int) -> None:
        self.clock.advance(days=days)

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def books_balance(self) -> None:
        s = self.snapshot()
        check_stock(s)
        check_orders(s)
        check_money(s)
        self.check_append_only(s)
        self.last = s
        for order in s.orders:  # which states this example reached (statistics only)
            event(f"reached: order {order.status}")
            if order.hold_reason is not None:
                event(f"reached: {order.hold_reason} hold")
        if any(p.unallocated.minor for p in s.payments):
            event("reached: customer credit")
        if any(i.outstanding.minor and i.outstanding != i.amount for i in s.invoices):
            event("reached: partly paid invoice")

    def check_append_only(self, s: Snapshot) -> None:
        now = (tuple(s.moves), tuple(s.allocations), tuple(s.audit))
        for name, before, after in zip(
            ("moves", "allocations", "audit"), self.seen, now, strict=True
        ):
            assert after[: len(before)] == before, f"a {name} row changed or disappeared"
        self.seen = now


def check_stock(s: Snapshot) -> None:
    on_hand: dict[tuple[int, int], int] = defaultdict(int)
    reserved: dict[tuple[int, int], int] = defaultdict(int)
    for m in s.moves:
        on_hand[(m.product_id, m.warehouse_id)] += m.on_hand_delta.milli
        reserved[(m.product_id, m.warehouse_id)] += m.reserved_delta.milli
    balances = {(b.product_id, b.warehouse_id): b for b in s.balances}
    held: dict[tuple[int, int], int] = defaultdict(int)
    for order in s.orders:
        for line in order.lines:
            held[(line.product_id, order.warehouse_id)] += line.reserved.milli
    for key in set(balances) | set(on_hand) | set(held):
        balance = balances.get(key)
        have = balance.on_hand.milli if balance else 0
        kept = balance.reserved.milli if balance else 0
        assert have == on_hand[key], f"{key}: on hand {have} != Σ moves {on_hand[key]}"
        assert kept == reserved[key], f"{key}: reserved {kept} != Σ moves {reserved[key]}"
        assert 0 <= kept <= have, f"{key}: reserved {kept} / on hand {have}"
        assert kept == held[key], f"{key}: reserved {kept} != Σ open order lines {held[key]}"


def check_orders(s: Snapshot) -> None:
    cancelled_remainder = {
        e.object_id for e in s.audit if e.object_type == "order" and e.action == "order.cancel"
    }
    invoices_of: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in s.invoices:
        if invoice.order_id is not None:
            invoices_of[invoice.order_id].append(invoice)
    for order in s.orders:
        lines = order.lines
        assert lines, order.number
        for line in lines:
            assert 0 <= line.shipped.milli <= line.quantity.milli, (order.number, line)
            assert 0 <= line.reserved.milli <= line.remaining.milli, (order.number, line)
        shipped_any = any(line.shipped.milli for line in lines)
        shipped_all = all(line.remaining.milli == 0 for line in lines)
        holds = any(line.reserved.milli for line in lines)
        status = order.status
        if status in (OrderStatus.PENDING_APPROVAL, OrderStatus.CONFIRMED):
            assert not shipped_any, f"{order.number} {status} but something shipped"
        elif status is OrderStatus.PARTIALLY_SHIPPED:
            assert shipped_any and not shipped_all, f"{order.number} {status}"
        elif status in (OrderStatus.SHIPPED, OrderStatus.CLOSED):
            assert shipped_all or order.number in cancelled_remainder, (
                f"{order.number} {status} with lines left and no cancellation"
            )
            assert not holds, f"{order.number} {status} still holds stock"
        elif status is OrderStatus.CANCELLED:
            assert not shipped_any and not holds, f"{order.number} cancelled but shipped/held"
        if status is OrderStatus.CLOSED:
            assert all(i.status is InvoiceStatus.PAID for i in invoices_of[order.id])
        # Partial invoices add up to exactly what shipped, whatever the rounding.
        shipped_value = sum(
            line_amount(line.shipped, line.unit_price, line.discount_bp).minor for line in lines
        )
        invoiced = sum(i.amount.minor for i in invoices_of[order.id])
        assert invoiced == shipped_value, f"{order.number}: invoiced {invoiced} != {shipped_value}"


def check_money(s: Snapshot) -> None:
    to_invoice: dict[int, int] = defaultdict(int)
    from_payment: dict[int, int] = defaultdict(int)
    for a in s.allocations:
        assert a.amount.minor > 0
        to_invoice[a.invoice_id] += a.amount.minor
        from_payment[a.payment_id] += a.amount.minor
    for inv in s.invoices:
        assert 0 <= inv.outstanding.minor <= inv.amount.minor, inv
        assert inv.amount.minor - inv.outstanding.minor == to_invoice[inv.id], inv
        assert (inv.status is InvoiceStatus.PAID) == (inv.outstanding.minor == 0), inv
    for pay in s.payments:
        assert 0 <= pay.unallocated.minor <= pay.amount.minor, pay
        assert pay.amount.minor - pay.unallocated.minor == from_payment[pay.id], pay
    for customer in s.customers:
        assert customer.balance is not None
        mine = [i for i in s.invoices if i.customer_id == customer.id]
        paid = [p for p in s.payments if p.customer_id == customer.id]
        invoiced = sum(i.amount.minor for i in mine)
        received = sum(p.amount.minor for p in paid)
        outstanding = sum(i.outstanding.minor for i in mine)
        credit = sum(p.unallocated.minor for p in paid)
        assert customer.balance.minor == invoiced - received, customer.name
        assert customer.balance.minor == outstanding - credit, customer.name
        # Credit is always used up before anything stays open.
        assert not (outstanding and credit), f"{customer.name}: open {outstanding}, credit {credit}"
        # The read side tells the same story.
        seen = s.reports[customer.id]
        assert (seen.balance, seen.outstanding, seen.credit) == (
            customer.balance.minor,
            outstanding,
            credit,
        ), customer.name
        assert seen.ageing_total == outstanding, customer.name
        assert seen.statement_opening + seen.statement_lines == seen.statement_closing
        assert seen.statement_closing == customer.balance.minor, customer.name


class SqliteLedgerMachine(LedgerMachine):
    backend = "sqlite"


TestLedgerOnFake = LedgerMachine.TestCase
TestLedgerOnFake.settings = settings(  # the fake is cheap: more and longer runs
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerOnSqlite = SqliteLedgerMachine.TestCase
TestLedgerOnSqlite.settings = settings(
    max_examples=30,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
