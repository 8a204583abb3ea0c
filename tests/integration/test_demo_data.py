"""Demo data on real migrations: a believable business, consistent ledgers, loaded only once.

The demo is loaded once per backend (SQLite always; PostgreSQL when CHATERP_TEST_DATABASE_URL
is set) and the tests read it. Two more loads on in-memory SQLite check that the same seed
gives the same data and that the default "today" never writes anything after the clock's now.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.demo import (
    CUSTOMERS,
    PENDING_CUSTOMER,
    PRODUCTS,
    DemoSummary,
    is_empty,
    load_demo_data,
)
from domain.model import HoldReason, InvoiceStatus, OrderStatus, Role, SalesOrder
from domain.ports import LedgerPolicy
from domain.services.receivables import bucket_of
from storage.database import Database, SqlUnitOfWork
from storage.migrate import upgrade
from storage.tables import metadata
from storage.testing import fresh_postgres_schema
from tests.conftest import postgres_url
from tests.fakes import FixedClock

TZ = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 3, 2)
CUTOFF = datetime(2026, 3, 2, 18, 0, tzinfo=TZ)  # end of business on the last day
POLICY = LedgerPolicy(currency="CNY", credit_hold_overdue_days=30, invite_ttl_days=7)


@dataclass(frozen=True)
class Demo:
    database: Database
    summary: DemoSummary
    was_empty: bool


def _load(url: str, now: datetime, today: date | None = TODAY) -> Demo:
    database = Database(url, clock=FixedClock(now), policy=POLICY)
    upgrade(database.engine)
    was_empty = is_empty(database)
    return Demo(database, load_demo_data(database, today=today), was_empty)


@pytest.fixture(scope="module")
def sqlite_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    demo = _load(f"sqlite:///{path}", datetime(2026, 3, 2, 20, 0, tzinfo=TZ))
    yield demo
    demo.database.dispose()


@pytest.fixture(scope="module")
def postgres_demo() -> Iterator[Demo]:
    with fresh_postgres_schema(postgres_url()) as url:
        demo = _load(url, datetime(2026, 3, 2, 20, 0, tzinfo=TZ))
        yield demo
        demo.database.dispose()


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], scope="module"
)
def demo(request: pytest.FixtureRequest) -> Demo:
    return request.getfixturevalue(f"{request.param}_demo")  # type: ignore[no-any-return]


def _orders(uow: SqlUnitOfWork) -> list[SalesOrder]:
    return uow.orders.list(limit=100_000)


def _row_counts(database: Database) -> dict[str, int]:
    with database.reader() as uow:
        return {
            table.name: uow.execute(select(func.count()).select_from(table)).scalar_one()
            for table in metadata.sorted_tables
        }


def test_loads_into_an_empty_database(demo: Demo) -> None:
    assert demo.was_empty
    assert not is_empty(demo.database)
    assert not demo.summary.skipped


def test_counts_are_those_of_a_small_trading_business(demo: Demo) -> None:
    summary = demo.summary
    assert summary.products == len(PRODUCTS) == 40
    assert summary.customers == len(CUSTOMERS) == 12
    assert 70 <= summary.orders <= 220
    assert summary.invoices >= 60
    assert 20 <= summary.payments < summary.invoices
    assert summary.first_day == TODAY - timedelta(days=41)
    assert summary.last_day == TODAY
    with demo.database.reader() as uow:
        assert len(_orders(uow)) == summary.orders
        assert len(uow.invoices.open()) > 0
        assert len(uow.products.list()) == summary.products
        assert len(uow.customers.list()) == summary.customers


def test_personas_are_users_without_telegram_ids(demo: Demo) -> None:
    users = demo.summary.users
    expected = {
        "Li Wei": Role.OWNER,
        "Zhang Min": Role.SALES,
        "Wang Fang": Role.SALES,
        "Chen Gang": Role.WAREHOUSE,
        "Liu Yang": Role.CUSTOMER,
        "Mary Huang": Role.CUSTOMER,
    }
    assert set(users) == set(expected)
    with demo.database.reader() as uow:
        for name, role in expected.items():
            user = uow.users.get(users[name])
            assert user is not None
            assert (user.name, user.role, user.telegram_user_id) == (name, role, None)
            assert (user.customer_id is not None) == (role is Role.CUSTOMER)
        reps = {c.sales_rep_id for c in uow.customers.list()}
        assert reps == {users["Zhang Min"], users["Wang Fang"]}


def test_catalog_has_two_warehouses_and_fractional_units(demo: Demo) -> None:
    with demo.database.reader() as uow:
        warehouses = {w.code: w for w in uow.warehouses.list()}
        assert set(warehouses) == {"MAIN", "SOUTH"}
        assert warehouses["MAIN"].is_default and warehouses["MAIN"].name == "Main warehouse"
        assert warehouses["SOUTH"].name == "South depot"
        products = {p.sku: p for p in uow.products.list()}
        assert products["FB-M8-40"].aliases[0] == "六角螺栓 M8"
        assert {"pcs", "box", "roll", "m", "kg"} <= {p.unit for p in products.values()}
        assert all(p.price > p.cost for p in products.values()), "a product sells at a loss"
        by_id = {p.id: p for p in products.values()}
        fractional = [
            line
            for order in _orders(uow)
            for line in order.lines
            if by_id[line.product_id].unit in ("m", "kg") and line.quantity.decimals > 0
        ]
        assert fractional, "no order with a fractional quantity of metres or kilograms"
        assert {b.warehouse_id for b in uow.stock.all()} == {w.id for w in warehouses.values()}


def test_stock_is_never_negative_and_reservations_match_open_orders(demo: Demo) -> None:
    with demo.database.reader() as uow:
        balances = uow.stock.all()
        reserved: dict[tuple[int, int], int] = defaultdict(int)
        for order in _orders(uow):
            for line in order.lines:
                reserved[(line.product_id, order.warehouse_id)] += line.reserved.milli
        for balance in balances:
            assert balance.on_hand.milli >= 0
            assert 0 <= balance.reserved.milli <= balance.on_hand.milli
            assert balance.reserved.milli == reserved[(balance.product_id, balance.warehouse_id)]
        on_hand: dict[int, int] = defaultdict(int)
        for move in uow.stock.moves():
            on_hand[move.product_id] += move.on_hand_delta.milli
        for product_id, total in on_hand.items():
            assert total == sum(b.on_hand.milli for b in balances if b.product_id == product_id)


def test_some_products_are_at_or_below_their_reorder_point(demo: Demo) -> None:
    with demo.database.reader() as uow:
        on_hand: dict[int, int] = defaultdict(int)
        for balance in uow.stock.all():
            on_hand[balance.product_id] += balance.on_hand.milli
        products = uow.products.list()
        low = [p.sku for p in products if on_hand[p.id] <= p.reorder_point.milli]
        assert 1 <= len(low) <= len(products) // 2, low
        receipts = [m for m in uow.stock.moves() if m.kind == "receipt"]
        assert len({m.at.date() for m in receipts}) > 5, "only opening stock was received"


def test_receivables_mix_current_and_overdue_and_ledgers_agree(demo: Demo) -> None:
    with demo.database.reader() as uow:
        open_invoices = uow.invoices.open()
        buckets = Counter(bucket_of(invoice, TODAY) for invoice in open_invoices)
        assert buckets["current"] > 0
        assert buckets["1-30"] > 0
        assert buckets["31-60"] > 0
        assert buckets["61-90"] == buckets["90+"] == 0
        for customer in uow.customers.list():
            outstanding = sum(
                i.outstanding.minor for i in open_invoices if i.customer_id == customer.id
            )
            credit = sum(p.unallocated.minor for p in uow.payments.with_credit(customer.id))
            assert customer.balance is not None
            assert customer.balance.minor == outstanding - credit, customer.name
            for invoice in uow.invoices.for_customer(customer.id):
                assert invoice.due_on == invoice.issued_on + timedelta(
                    days=customer.payment_terms_days
                )
                if invoice.status is InvoiceStatus.PAID:
                    assert invoice.outstanding.minor == 0
        partly_paid = [i for i in open_invoices if 0 < i.outstanding.minor < i.amount.minor]
        assert partly_paid, "no invoice is partly paid"


def test_order_book_has_open_work_one_hold_and_one_cancellation(demo: Demo) -> None:
    with demo.database.reader() as uow:
        orders = _orders(uow)
        by_status = Counter(order.status for order in orders)
        assert by_status[OrderStatus.PENDING_APPROVAL] == 1
        assert by_status[OrderStatus.CANCELLED] == 1
        assert by_status[OrderStatus.CONFIRMED] >= 2
        assert by_status[OrderStatus.SHIPPED] + by_status[OrderStatus.CLOSED] > len(orders) // 2
        held = next(o for o in orders if o.status is OrderStatus.PENDING_APPROVAL)
        customer = uow.customers.get(held.customer_id)
        assert customer is not None and customer.name == next(
            c.name for c in CUSTOMERS if c.key == PENDING_CUSTOMER
        )
        assert held.hold_reason is HoldReason.CREDIT_LIMIT
        assert all(line.shipped.milli == 0 for line in held.lines)
        approved = [o for o in orders if o.hold_reason is not None and o.decided_by is not None]
        assert approved and all(o.decided_by == demo.summary.users["Li Wei"] for o in approved)
        partial = [o for o in orders if len({i.id for i in uow.invoices.for_order(o.id)}) > 1]
        assert partial, "no order was shipped in parts"


def test_history_spans_six_weeks_and_ends_at_the_cutoff(demo: Demo) -> None:
    first = TODAY - timedelta(days=41)
    with demo.database.reader() as uow:
        created = [order.created_at.astimezone(TZ) for order in _orders(uow)]
        assert min(created).date() >= first
        assert max(created) <= CUTOFF
        assert len({moment.date() for moment in created}) >= 30
        assert max(created).date() >= TODAY - timedelta(days=1)
        audit = uow.audit.list()
        assert max(entry.at for entry in audit) <= CUTOFF
        assert min(entry.at for entry in audit) < datetime.combine(first, datetime.min.time(), TZ)
        assert {entry.source for entry in audit} <= {"demo", "cli"}
        for customer in uow.customers.list():
            for payment in uow.payments.for_customer(customer.id):
                assert first <= payment.received_on <= TODAY
                assert payment.recorded_at <= CUTOFF


def test_second_load_is_skipped_and_changes_nothing(demo: Demo) -> None:
    before = _row_counts(demo.database)
    again = load_demo_data(demo.database, today=TODAY)
    assert again.skipped
    assert (again.orders, again.users) == (0, {})
    assert _row_counts(demo.database) == before


def _fingerprint(database: Database) -> list[tuple[str, str, int, str]]:
    with database.reader() as uow:
        return sorted(
            (o.number, o.created_at.isoformat(), o.total.minor, str(o.status)) for o in _orders(uow)
        )


def test_same_seed_and_day_give_the_same_data(sqlite_demo: Demo) -> None:
    again = _load("sqlite://", datetime(2026, 3, 2, 20, 0, tzinfo=TZ))
    try:
        assert again.summary == sqlite_demo.summary
        assert _fingerprint(again.database) == _fingerprint(sqlite_demo.database)
    finally:
        again.database.dispose()


def test_default_today_follows_the_clock_and_never_writes_the_future() -> None:
    now = datetime(2026, 3, 4, 10, 30, tzinfo=TZ)  # mid-morning of a Wednesday
    demo = _load("sqlite://", now, today=None)
    try:
        assert demo.summary.last_day == now.date()
        with demo.database.reader() as uow:
            orders = _orders(uow)
            assert max(entry.at for entry in uow.audit.list()) < now
            assert max(order.created_at for order in orders) < now
            statuses = Counter(order.status for order in orders)
            assert statuses[OrderStatus.PENDING_APPROVAL] == 1
            assert statuses[OrderStatus.CONFIRMED] >= 2
    finally:
        demo.database.dispose()
