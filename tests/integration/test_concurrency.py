"""Real threads racing real databases (RELIABILITY.md B7-B10, B12): no oversell, no double
shipment, no double payment, and totals that add up afterwards.

Every scenario runs on SQLite (a WAL file; BEGIN IMMEDIATE serialises writers) and on
PostgreSQL (READ COMMITTED; conditional UPDATEs and row locks decide). Workers start together
behind a barrier. On PostgreSQL a second barrier *inside* the transaction ("rendezvous") holds
every worker right after it has read the state it will act on, so each race is forced: all
workers decide on the same stale read and the database has to refuse the losers. (SQLite takes
the write lock at BEGIN, so no two units can ever be inside a transaction at once there.)
"""

from __future__ import annotations

import functools
import random
import shutil
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from domain.errors import AlreadyShipped, DomainError, InsufficientStock, TransientConflict
from domain.model import (
    OPEN_ORDER_STATUSES,
    Actor,
    Allocation,
    Customer,
    Invoice,
    MoveKind,
    OrderStatus,
    Payment,
    PaymentMethod,
    Role,
    SalesOrder,
    Shipment,
    ShipmentStatus,
    StockMove,
)
from domain.money import Money
from domain.ports import LedgerPolicy, UnitOfWork
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, add_warehouse, save_product
from domain.services.customers import CustomerDraft, create_customer
from domain.services.orders import LineRequest, PlacedOrder, cancel_order, place_order
from domain.services.payments import PaymentResult, record_payment
from domain.services.shipping import (
    ShipmentResult,
    confirm_shipment,
    create_shipment,
    ship_order,
)
from domain.services.stock import StockChange, receive_stock, transfer_stock
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from storage.database import Database
from storage.testing import truncate_all
from tests.fakes import FixedClock

T = TypeVar("T")
CNY = "CNY"
OWNER = Actor(user_id=None, role=Role.OWNER, source="test", name="owner")
START_TIMEOUT_S = 30.0
RENDEZVOUS_TIMEOUT_S = 20.0


def units(n: int) -> Quantity:
    return Quantity(n * 1000)


def cny(minor: int) -> Money:
    return Money(minor, CNY)


# --- backends --------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, policy: LedgerPolicy
) -> Iterator[Database]:
    """An empty database with the full schema: a WAL SQLite file copied from the session
    template, or the session's PostgreSQL schema emptied (see tests/conftest.py)."""
    if request.param == "sqlite":
        path = tmp_path / "race.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    database = Database(url, clock=clock, policy=policy)
    if database.dialect == "postgresql":
        truncate_all(database)
    yield database
    database.dispose()


def run(db: Database, work: Callable[[UnitOfWork], T]) -> T:
    return run_in_transaction(db.uow, work)


# --- racing helpers ---------------------------------------------------------------------------


class Rendezvous:
    """A barrier that workers reach from inside their transaction, once per thread.

    ``gate(uow, "stock", "for_products")`` returns a view of ``uow`` whose
    ``stock.for_products`` waits for every other worker after returning its (now possibly
    stale) result. Retries of the same thread pass straight through. Disabled (a plain
    pass-through) when the backend serialises whole transactions, as SQLite does.
    """

    def __init__(self, parties: int, *, enabled: bool) -> None:
        self.enabled = enabled
        self._barrier = threading.Barrier(parties, timeout=RENDEZVOUS_TIMEOUT_S)
        self._arrived: set[int] = set()
        self._lock = threading.Lock()

    def wait_once(self) -> None:
        if not self.enabled:
            return
        me = threading.get_ident()
        with self._lock:
            if me in self._arrived:
                return
            self._arrived.add(me)
        self._barrier.wait()  # BrokenBarrierError fails the worker, and so the test

    def gate(self, uow: UnitOfWork, repo: str, method: str, *, before: bool = False) -> UnitOfWork:
        if not self.enabled:
            return uow
        hooked = _HookedRepo(getattr(uow, repo), method, self.wait_once, before=before)
        return cast(UnitOfWork, _UowView(uow, repo, hooked))


class _HookedRepo:
    """A repository whose ``method`` calls ``hook`` before or after delegating."""

    def __init__(
        self, target: object, method: str, hook: Callable[[], None], *, before: bool
    ) -> None:
        self._target = target
        self._method = method
        self._hook = hook
        self._before = before

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name != self._method:
            return value

        def hooked(*args: Any, **kwargs: Any) -> Any:
            if self._before:
                self._hook()
            result = value(*args, **kwargs)
            if not self._before:
                self._hook()
            return result

        return hooked


class _UowView:
    """``uow`` with one repository replaced; everything else (savepoint, events…) delegated."""

    def __init__(self, uow: UnitOfWork, repo: str, replacement: object) -> None:
        self._uow = uow
        self._repo = repo
        self._replacement = replacement

    def __getattr__(self, name: str) -> Any:
        return self._replacement if name == self._repo else getattr(self._uow, name)


def race(workers: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """Run each callable in its own thread, released together; results or raised errors."""
    start = threading.Barrier(len(workers), timeout=START_TIMEOUT_S)

    def go(worker: Callable[[], T]) -> T | Exception:
        start.wait()
        try:
            return worker()
        except Exception as exc:  # the test inspects it
            return exc

    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        return list(pool.map(go, workers))


def split(results: Sequence[T | Exception]) -> tuple[list[T], list[Exception]]:
    ok = [r for r in results if not isinstance(r, Exception)]
    errors = [r for r in results if isinstance(r, Exception)]
    return ok, errors


def only(errors: Sequence[Exception], kind: type[Exception]) -> None:
    """Every error is a ``kind`` (anything else, e.g. an IntegrityError, is re-raised)."""
    for error in errors:
        if not isinstance(error, kind):
            raise error


# --- seeding and reading back -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class World:
    main: int  # default warehouse id
    second: int
    products: tuple[int, ...]
    customers: tuple[int, ...]
    staff: tuple[Actor, ...]  # warehouse people with names, for "shipped by X"


def seed(
    db: Database,
    *,
    products: int = 2,
    customers: int = 8,
    stock: int = 0,
    price_minor: int = 1_000,
) -> World:
    """Warehouses, products (``stock`` units of each in MAIN), customers and two shippers."""

    def work(uow: UnitOfWork) -> World:
        main = add_warehouse(uow, actor=OWNER, code="MAIN", name="Main")
        second = add_warehouse(uow, actor=OWNER, code="EAST", name="East")
        product_ids = tuple(
            save_product(
                uow,
                actor=OWNER,
                draft=ProductDraft(
                    sku=f"P{i}",
                    name=f"Product {i}",
                    unit="pcs",
                    price=cny(price_minor),
                    cost=cny(500),
                ),
            ).product.id
            for i in range(products)
        )
        customer_ids = []
        for i in range(customers):
            created = create_customer(
                uow, actor=OWNER, draft=CustomerDraft(name=f"Customer {i}"), allow_similar=True
            )
            assert created.customer is not None
            customer_ids.append(created.customer.id)
        staff = []
        for name in ("Wang", "Li"):
            user = add_user(uow, actor=OWNER, name=name, role=Role.WAREHOUSE)
            staff.append(Actor(user.id, Role.WAREHOUSE, source="test", name=name))
        if stock:
            for pid in product_ids:
                receive_stock(
                    uow, actor=OWNER, product_id=pid, quantity=units(stock), unit_cost=cny(500)
                )
        return World(main.id, second.id, product_ids, tuple(customer_ids), tuple(staff))

    return run(db, work)


@dataclass(frozen=True, slots=True)
class Books:
    """Everything the assertions look at, read in one transaction."""

    balances: dict[tuple[int, int], tuple[int, int]]  # (product, wh) -> (on hand, reserved)
    moves: list[StockMove]
    orders: list[SalesOrder]
    invoices: list[Invoice]
    payments: list[Payment]
    allocations: list[Allocation]
    customer_balance: dict[int, int]
    product_cost: dict[int, int]


def books(db: Database, world: World) -> Books:
    def work(uow: UnitOfWork) -> Books:
        invoices = [inv for cid in world.customers for inv in uow.invoices.for_customer(cid)]
        payments = [pay for cid in world.customers for pay in uow.payments.for_customer(cid)]
        return Books(
            balances={
                (b.product_id, b.warehouse_id): (b.on_hand.milli, b.reserved.milli)
                for b in uow.stock.all()
            },
            moves=uow.stock.moves(),
            orders=uow.orders.list(limit=100_000),
            invoices=invoices,
            payments=payments,
            allocations=uow.payments.allocations(),
            customer_balance={cid: _minor(uow.customers.get(cid)) for cid in world.customers},
            product_cost={
                pid: uow.products.get_many([pid])[pid].cost.minor for pid in world.products
            },
        )

    with db.uow() as uow:
        return work(uow)


def _minor(customer: Customer | None) -> int:
    assert customer is not None and customer.balance is not None
    return int(customer.balance.minor)


def assert_conserved(b: Books) -> None:
    """Stock and money add up: balances == Σ ledger, nothing negative, reservations match."""
    on_hand: dict[tuple[int, int], int] = defaultdict(int)
    reserved: dict[tuple[int, int], int] = defaultdict(int)
    for m in b.moves:
        on_hand[(m.product_id, m.warehouse_id)] += m.on_hand_delta.milli
        reserved[(m.product_id, m.warehouse_id)] += m.reserved_delta.milli
    keys = set(b.balances) | set(on_hand)
    for key in keys:
        have, held = b.balances.get(key, (0, 0))
        assert have == on_hand[key], f"{key}: on hand {have} != Σ moves {on_hand[key]}"
        assert held == reserved[key], f"{key}: reserved {held} != Σ moves {reserved[key]}"
        assert 0 <= held <= have, f"{key}: reserved {held}, on hand {have}"

    by_orders: dict[tuple[int, int], int] = defaultdict(int)
    for order in b.orders:
        for line in order.lines:
            assert 0 <= line.shipped.milli <= line.quantity.milli
            assert line.reserved.milli >= 0
            if order.status not in OPEN_ORDER_STATUSES:
                assert line.reserved.milli == 0, f"{order.number} {order.status} holds stock"
            by_orders[(line.product_id, order.warehouse_id)] += line.reserved.milli
    for key in keys | set(by_orders):
        assert b.balances.get(key, (0, 0))[1] == by_orders[key], f"{key}: reserved vs orders"

    allocated_to: dict[int, int] = defaultdict(int)
    allocated_from: dict[int, int] = defaultdict(int)
    for a in b.allocations:
        allocated_to[a.invoice_id] += a.amount.minor
        allocated_from[a.payment_id] += a.amount.minor
    for inv in b.invoices:
        assert 0 <= inv.outstanding.minor <= inv.amount.minor
        assert inv.amount.minor - inv.outstanding.minor == allocated_to[inv.id], inv.number
    for pay in b.payments:
        assert 0 <= pay.unallocated.minor <= pay.amount.minor
        assert pay.amount.minor - pay.unallocated.minor == allocated_from[pay.id], pay.number
    for cid, balance in b.customer_balance.items():
        invoiced = sum(i.amount.minor for i in b.invoices if i.customer_id == cid)
        paid = sum(p.amount.minor for p in b.payments if p.customer_id == cid)
        assert balance == invoiced - paid, f"customer {cid}: {balance} != {invoiced} - {paid}"


def place(
    world: World, customer: int, key: str, lines: Sequence[tuple[int, int]], **kw: Any
) -> Callable[[UnitOfWork], PlacedOrder]:
    requests = [LineRequest(pid, units(n)) for pid, n in lines]
    return lambda uow: place_order(
        uow, actor=OWNER, customer_id=customer, lines=requests, idempotency_key=key, **kw
    )


# --- B7/B8: oversell --------------------------------------------------------------------------


def test_eight_orders_of_two_against_ten_on_hand(db: Database) -> None:
    world = seed(db, products=1, customers=8, stock=10)
    product = world.products[0]
    meet = Rendezvous(8, enabled=db.dialect == "postgresql")

    def worker(i: int) -> Callable[[], PlacedOrder]:
        work = place(world, world.customers[i], f"oversell-{i}", [(product, 2)])
        return lambda: run(db, lambda uow: work(meet.gate(uow, "stock", "for_products")))

    placed, errors = split(race([worker(i) for i in range(8)]))

    only(errors, InsufficientStock)
    assert (len(placed), len(errors)) == (5, 3)
    b = books(db, world)
    assert b.balances[(product, world.main)] == (10_000, 10_000)  # on hand 10, available 0
    reservations = [m for m in b.moves if m.kind is MoveKind.RESERVATION]
    assert sum(m.reserved_delta.milli for m in reservations) == 10_000
    assert len(reservations) == 5
    assert sorted(o.idempotency_key for o in b.orders) == sorted(
        p.order.idempotency_key for p in placed
    )
    assert_conserved(b)


def test_two_orders_of_eight_against_ten_on_hand(db: Database) -> None:
    world = seed(db, products=1, customers=2, stock=10)
    product = world.products[0]
    meet = Rendezvous(2, enabled=db.dialect == "postgresql")

    def worker(i: int) -> Callable[[], PlacedOrder]:
        work = place(world, world.customers[i], f"big-{i}", [(product, 8)])
        return lambda: run(db, lambda uow: work(meet.gate(uow, "stock", "for_products")))

    placed, errors = split(race([worker(0), worker(1)]))

    only(errors, InsufficientStock)
    assert len(placed) == 1 and len(errors) == 1
    b = books(db, world)
    assert b.balances[(product, world.main)] == (10_000, 8_000)
    assert_conserved(b)


def test_orders_racing_the_first_receipt_of_a_product(db: Database) -> None:
    """No balance row exists yet: two orders of 8 race a receipt of 10 (B7, "no row yet")."""
    world = seed(db, products=1, customers=2)
    product = world.products[0]
    receipt = lambda: run(  # noqa: E731
        db,
        lambda uow: receive_stock(
            uow, actor=OWNER, product_id=product, quantity=units(10), unit_cost=cny(500)
        ),
    )
    orders = [
        (lambda i=i: run(db, place(world, world.customers[i], f"early-{i}", [(product, 8)])))
        for i in range(2)
    ]
    results = race([orders[0], receipt, orders[1]])

    received, _ = split(results[1:2])
    assert len(received) == 1, results[1]
    placed, errors = split([results[0], results[2]])
    only(errors, InsufficientStock)
    assert len(placed) <= 1
    b = books(db, world)
    assert b.balances[(product, world.main)] == (10_000, 8_000 * len(placed))
    assert_conserved(b)


def test_concurrent_receipts_keep_the_moving_average_cost(db: Database) -> None:
    """Three receipts of one product, all having read the product before any writes: on hand
    == Σ receipts and the cost is the moving average of all three (no lost update)."""
    world = seed(db, products=1, customers=1)
    product = world.products[0]
    costs = (300, 600, 1_500)  # average 800 in any order; no single receipt's own cost is 800
    meet = Rendezvous(3, enabled=db.dialect == "postgresql")

    def worker(cost: int) -> Callable[[], StockChange]:
        def work(uow: UnitOfWork) -> StockChange:
            return receive_stock(
                meet.gate(uow, "products", "get"),
                actor=OWNER,
                product_id=product,
                quantity=units(5),
                unit_cost=cny(cost),
            )

        return lambda: run(db, work)

    _, errors = split(race([worker(c) for c in costs]))

    assert not errors, errors
    b = books(db, world)
    assert b.balances == {(product, world.main): (15_000, 0)}
    assert [m.kind for m in b.moves] == [MoveKind.RECEIPT] * 3
    assert b.product_cost[product] == 800, "moving-average cost lost a concurrent receipt"
    assert_conserved(b)


def test_two_writers_create_the_first_balance_row_at_once(db: Database) -> None:
    """EAST has no balance row yet; a receipt into EAST and a transfer MAIN -> EAST both
    find it missing and insert it: one row, both quantities counted, no crash."""
    world = seed(db, products=1, customers=1, stock=10)
    product = world.products[0]
    meet = Rendezvous(2, enabled=db.dialect == "postgresql")

    def receipt(uow: UnitOfWork) -> StockChange:
        return receive_stock(
            meet.gate(uow, "products", "get"),
            actor=OWNER,
            product_id=product,
            quantity=units(4),
            unit_cost=cny(500),
            warehouse_id=world.second,
        )

    def transfer(uow: UnitOfWork) -> StockChange:
        return transfer_stock(
            meet.gate(uow, "products", "get"),
            actor=OWNER,
            product_id=product,
            quantity=units(3),
            from_warehouse_id=world.main,
            to_warehouse_id=world.second,
        )

    _, errors = split(race([lambda: run(db, receipt), lambda: run(db, transfer)]))

    assert not errors, errors
    b = books(db, world)
    assert b.balances == {(product, world.main): (7_000, 0), (product, world.second): (7_000, 0)}
    assert_conserved(b)


# --- B10: double shipment ---------------------------------------------------------------------


def _confirmed_order(db: Database, world: World, lines: Sequence[tuple[int, int]]) -> SalesOrder:
    return run(db, place(world, world.customers[0], "to-ship", lines)).order


def test_two_people_confirm_the_same_shipment(db: Database) -> None:
    world = seed(db, products=2, customers=1, stock=10)
    order = _confirmed_order(db, world, [(world.products[0], 3), (world.products[1], 4)])
    draft = run(db, lambda uow: create_shipment(uow, actor=world.staff[0], order_id=order.id))
    meet = Rendezvous(2, enabled=db.dialect == "postgresql")

    def worker(actor: Actor) -> Callable[[], ShipmentResult]:
        return lambda: run(
            db,
            lambda uow: confirm_shipment(
                meet.gate(uow, "shipments", "get"), actor=actor, shipment_id=draft.id
            ),
        )

    shipped, errors = split(race([worker(world.staff[0]), worker(world.staff[1])]))

    only(errors, AlreadyShipped)
    assert len(shipped) == 1 and len(errors) == 1
    winner = next(a for a in world.staff if a.user_id == shipped[0].shipment.confirmed_by)
    loser_error = cast(AlreadyShipped, errors[0])
    assert loser_error.by_name == winner.name
    assert loser_error.reference == draft.number
    b = books(db, world)
    shipment_moves = [m for m in b.moves if m.kind is MoveKind.SHIPMENT]
    assert sorted((m.product_id, -m.on_hand_delta.milli) for m in shipment_moves) == [
        (world.products[0], 3_000),
        (world.products[1], 4_000),
    ]
    assert all(m.source_id == draft.id for m in shipment_moves)
    assert len(b.invoices) == 1 and b.invoices[0].amount.minor == 7 * 1_000
    assert b.customer_balance[world.customers[0]] == 7_000
    assert [o.status for o in b.orders] == [OrderStatus.SHIPPED]
    assert b.balances[(world.products[0], world.main)] == (7_000, 0)
    assert_conserved(b)


def test_two_people_ship_the_same_order(db: Database) -> None:
    world = seed(db, products=2, customers=1, stock=10)
    order = _confirmed_order(db, world, [(world.products[0], 2), (world.products[1], 5)])
    meet = Rendezvous(2, enabled=db.dialect == "postgresql")

    def worker(actor: Actor) -> Callable[[], ShipmentResult]:
        return lambda: run(
            db,
            lambda uow: ship_order(
                meet.gate(uow, "orders", "lock", before=True), actor=actor, order_id=order.id
            ),
        )

    shipped, errors = split(race([worker(world.staff[0]), worker(world.staff[1])]))

    only(errors, AlreadyShipped)
    assert len(shipped) == 1 and len(errors) == 1
    winner = next(a for a in world.staff if a.user_id == shipped[0].shipment.confirmed_by)
    assert cast(AlreadyShipped, errors[0]).by_name == winner.name

    def shipments(uow: UnitOfWork) -> list[Shipment]:
        return uow.shipments.for_order(order.id)

    found = run(db, shipments)
    assert [s.status for s in found] == [ShipmentStatus.CONFIRMED]
    b = books(db, world)
    assert len([m for m in b.moves if m.kind is MoveKind.SHIPMENT]) == 2
    assert len(b.invoices) == 1 and b.invoices[0].amount.minor == 7_000
    assert b.customer_balance[world.customers[0]] == 7_000
    assert_conserved(b)


# --- B9: double payment -----------------------------------------------------------------------


def _invoice_of(db: Database, world: World, amount_minor: int) -> int:
    """Ship one unit priced ``amount_minor`` to customer 0 and return the invoice id."""
    order = _confirmed_order(db, world, [(world.products[0], 1)])
    result = run(db, lambda uow: ship_order(uow, actor=world.staff[0], order_id=order.id))
    assert result.invoice is not None and result.invoice.amount.minor == amount_minor
    return result.invoice.id


def pay(
    db: Database, meet: Rendezvous, customer: int, amount: int, key: str
) -> Callable[[], PaymentResult]:
    return lambda: run(
        db,
        lambda uow: record_payment(
            meet.gate(uow, "payments", "by_idempotency_key"),
            actor=OWNER,
            customer_id=customer,
            amount=cny(amount),
            method=PaymentMethod.BANK_TRANSFER,
            idempotency_key=key,
        ),
    )


def test_same_payment_twice_at_once_is_recorded_once(db: Database) -> None:
    world = seed(db, products=1, customers=1, stock=5, price_minor=50_000)
    invoice_id = _invoice_of(db, world, 50_000)
    customer = world.customers[0]
    meet = Rendezvous(2, enabled=db.dialect == "postgresql")

    results, errors = split(race([pay(db, meet, customer, 30_000, "pay-once")] * 2))

    assert not errors, errors
    assert {r.payment.number for r in results} == {results[0].payment.number}
    assert sorted(r.created for r in results) == [False, True]
    b = books(db, world)
    assert len(b.payments) == 1
    assert [(a.invoice_id, a.amount.minor) for a in b.allocations] == [(invoice_id, 30_000)]
    assert b.invoices[0].outstanding.minor == 20_000
    assert b.customer_balance[customer] == 20_000
    assert_conserved(b)


def test_two_payments_of_the_full_amount_at_once(db: Database) -> None:
    world = seed(db, products=1, customers=1, stock=5, price_minor=50_000)
    invoice_id = _invoice_of(db, world, 50_000)
    customer = world.customers[0]
    meet = Rendezvous(2, enabled=db.dialect == "postgresql")

    _, errors = split(
        race([pay(db, meet, customer, 50_000, "pay-a"), pay(db, meet, customer, 50_000, "pay-b")])
    )

    assert not errors, errors
    b = books(db, world)
    assert b.invoices[0].outstanding.minor == 0
    assert sum(a.amount.minor for a in b.allocations) == 50_000
    assert {a.invoice_id for a in b.allocations} == {invoice_id}
    assert sorted(p.unallocated.minor for p in b.payments) == [0, 50_000]  # one becomes credit
    assert b.customer_balance[customer] == 50_000 - 100_000
    assert_conserved(b)


# --- B12: a crowd of random operations conserves everything ------------------------------------

WORKERS = 20
OPERATIONS = 5


class ConflictLog:
    """A unit-of-work factory that records every TransientConflict its units end with."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self.messages: list[str] = []
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[UnitOfWork]:
        try:
            with self._db.uow() as uow:
                yield uow
        except TransientConflict as exc:
            with self._lock:
                self.messages.append(str(exc))
            raise

    def deadlocks(self) -> list[str]:
        return [m for m in self.messages if "deadlock" in m.lower()]


def _random_worker(
    factory: ConflictLog, world: World, index: int, seed_value: int
) -> Callable[[], int]:
    """Seeded operations (receive / place / cancel / ship / pay); returns how many applied."""
    rng = random.Random(seed_value * 1_000 + index)

    def receive(uow: UnitOfWork, product: int, quantity: Quantity, warehouse: int) -> Any:
        return receive_stock(
            uow,
            actor=OWNER,
            product_id=product,
            quantity=quantity,
            unit_cost=cny(rng.choice((400, 500, 700))),
            warehouse_id=warehouse,
        )

    def worker() -> int:
        mine: list[int] = []
        applied = 0
        for step in range(OPERATIONS):
            op = rng.choice(("receive", "place", "place", "cancel", "ship", "pay"))
            if op in ("cancel", "ship") and not mine:
                op = "receive"
            work: Callable[[UnitOfWork], Any]
            if op == "receive":
                work = functools.partial(
                    receive,
                    product=rng.choice(world.products),
                    quantity=units(rng.randint(1, 6)),
                    warehouse=rng.choice((world.main, world.main, world.second)),
                )
            elif op == "place":
                picked = rng.sample(world.products, rng.randint(1, 2))
                work = place(
                    world,
                    rng.choice(world.customers),
                    f"w{index}-s{step}",
                    [(p, rng.randint(1, 4)) for p in picked],
                    allow_backorder=rng.random() < 0.3,
                )
            elif op == "cancel":
                work = functools.partial(cancel_order, actor=OWNER, order_id=rng.choice(mine))
            elif op == "ship":
                work = functools.partial(
                    ship_order, actor=world.staff[index % 2], order_id=rng.choice(mine)
                )
            else:
                work = functools.partial(
                    record_payment,
                    actor=OWNER,
                    customer_id=rng.choice(world.customers),
                    amount=cny(rng.choice((500, 2_000, 7_000))),
                    method=PaymentMethod.CASH,
                    idempotency_key=f"w{index}-s{step}",
                )
            try:
                result = run_in_transaction(factory, work)
            except DomainError:
                continue
            applied += 1
            if isinstance(result, PlacedOrder):
                mine.append(result.order.id)
        return applied

    return worker


@pytest.mark.parametrize("seed_value", [1, 2])
def test_crowd_of_random_operations_conserves_stock_and_money(
    db: Database, seed_value: int
) -> None:
    world = seed(db, products=3, customers=4, stock=5)
    log = ConflictLog(db)
    results = race([_random_worker(log, world, i, seed_value) for i in range(WORKERS)])

    applied, errors = split(results)
    assert not errors, errors  # anything but a domain refusal is a bug
    assert sum(applied) > WORKERS  # the crowd actually did things
    b = books(db, world)
    assert_conserved(b)
    receipts = sum(m.on_hand_delta.milli for m in b.moves if m.kind is MoveKind.RECEIPT)
    shipped = -sum(m.on_hand_delta.milli for m in b.moves if m.kind is MoveKind.SHIPMENT)
    assert sum(on for on, _ in b.balances.values()) == receipts - shipped
    assert sum(line.shipped.milli for o in b.orders for line in o.lines) == shipped
    assert not log.deadlocks(), log.deadlocks()  # lock order: customer before stock rows


# --- ledgers are append-only in the database itself -------------------------------------------


@pytest.mark.parametrize("table", ["stock_move", "allocation", "audit_entry"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_ledger_tables_refuse_update_and_delete(db: Database, table: str, statement: str) -> None:
    world = seed(db, products=1, customers=1, stock=5, price_minor=50_000)
    _invoice_of(db, world, 50_000)
    pay(db, Rendezvous(1, enabled=False), world.customers[0], 10_000, "ledger")()
    with db.engine.connect() as conn:
        (rows,) = conn.execute(text(f"SELECT count(*) FROM {table}")).one()
        assert rows > 0
    with db.engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement.format(table=table)))
    with db.engine.connect() as conn:
        assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == rows
