"""The use cases end to end, on every backend (in-memory fake, SQLite, PostgreSQL).

Every test seeds a small business through the use cases themselves (a default warehouse,
staff, two products, a customer, stock), does what a person would do in the chat, and checks
what that person or the ledger would see afterwards. Nothing here knows which backend runs.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.errors import (
    AlreadyDecided,
    AlreadyRegistered,
    AlreadyShipped,
    DuplicateKey,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidInput,
    InvalidState,
    InviteInvalid,
    NotAllowed,
    NotFound,
    TransientConflict,
)
from domain.model import (
    Actor,
    AuditEntry,
    Customer,
    HoldReason,
    Invoice,
    InvoiceStatus,
    MoveKind,
    OrderStatus,
    PaymentMethod,
    Product,
    Role,
    SalesOrder,
    ShipmentLine,
    ShipmentStatus,
    StockBalance,
    StockMove,
    Tier,
    User,
    Warehouse,
)
from domain.money import Money
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import (
    ProductDraft,
    SavedProduct,
    add_warehouse,
    ensure_default_warehouse,
    save_product,
)
from domain.services.customers import CreateCustomerResult, CustomerDraft, create_customer
from domain.services.orders import (
    LineRequest,
    PlacedOrder,
    cancel_order,
    decide_order,
    place_order,
)
from domain.services.payments import PaymentResult, record_payment
from domain.services.receivables import (
    ageing_by_sales_rep,
    customer_balance,
    statement,
)
from domain.services.returns import return_goods
from domain.services.shipping import (
    ShipmentResult,
    confirm_shipment,
    create_shipment,
    ship_order,
)
from domain.services.stock import adjust_stock, receive_stock, transfer_stock
from domain.services.users import (
    accept_invite,
    add_user,
    create_invite,
    revoke_user,
    token_hash,
)
from tests.fakes import FakeDatabase, FixedClock

Run = Callable[[Callable[[UnitOfWork], Any]], Any]

CURRENCY = "CNY"


def cny(minor: int) -> Money:
    return Money(minor, CURRENCY)


def qty(value: int | str) -> Quantity:
    return Quantity.of(value)


# --- the seeded business ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class World:
    owner: Actor
    owner2: Actor
    sales: Actor
    sales2: Actor
    warehouse: Actor
    main: Warehouse
    widget: Product  # W-BLUE, pcs, 12.50, cost 8.00, 100 in stock
    rice: Product  # R-JASMINE, kg, 6.00, cost 4.00, 50 kg in stock
    customer: Customer  # Acme Trading, sales rep: sales, 30 days, no credit limit


def as_actor(user: User) -> Actor:
    return Actor(user_id=user.id, role=user.role, source="test", name=user.name)


def seed(run: Run, system: Actor) -> World:
    main = run(lambda uow: ensure_default_warehouse(uow))

    def user(name: str, role: Role, telegram_user_id: int) -> Actor:
        created = run(
            lambda uow: add_user(
                uow, actor=system, name=name, role=role, telegram_user_id=telegram_user_id
            )
        )
        return as_actor(created)

    owner = user("Olga Owner", Role.OWNER, 1001)
    owner2 = user("Bob Boss", Role.OWNER, 1002)
    sales = user("Sam Sales", Role.SALES, 1003)
    sales2 = user("Sue Sales", Role.SALES, 1004)
    warehouse = user("Wang Warehouse", Role.WAREHOUSE, 1005)
    widget = new_product(run, owner, "W-BLUE", "Blue widget", "pcs", 1250, 800)
    rice = new_product(run, owner, "R-JASMINE", "Jasmine rice", "kg", 600, 400)
    customer = new_customer(run, sales, "Acme Trading", phone="+86 138 0013 8000")
    receive(run, warehouse, widget, 100, cny(800))
    receive(run, warehouse, rice, 50, cny(400))
    return World(owner, owner2, sales, sales2, warehouse, main, widget, rice, customer)


@pytest.fixture
def world(run: Run, owner: Actor) -> World:
    return seed(run, owner)


# --- helpers: doing things ----------------------------------------------------------------


def new_product(
    run: Run, actor: Actor, sku: str, name: str, unit: str, price: int, cost: int
) -> Product:
    draft = ProductDraft(sku=sku, name=name, unit=unit, price=cny(price), cost=cny(cost))
    saved: SavedProduct = run(lambda uow: save_product(uow, actor=actor, draft=draft))
    return saved.product


def new_customer(run: Run, actor: Actor, name: str, **fields: Any) -> Customer:
    draft = CustomerDraft(name=name, **fields)
    result: CreateCustomerResult = run(
        lambda uow: create_customer(uow, actor=actor, draft=draft, allow_similar=True)
    )
    assert result.customer is not None
    return result.customer


def receive(
    run: Run,
    actor: Actor,
    product: Product,
    quantity: int | str,
    unit_cost: Money,
    warehouse: Warehouse | None = None,
) -> None:
    run(
        lambda uow: receive_stock(
            uow,
            actor=actor,
            product_id=product.id,
            quantity=qty(quantity),
            unit_cost=unit_cost,
            warehouse_id=None if warehouse is None else warehouse.id,
        )
    )


def line(
    product: Product, quantity: int | str, price: Money | None = None, discount_bp: int = 0
) -> LineRequest:
    return LineRequest(product.id, qty(quantity), price, discount_bp)


def place(
    run: Run,
    world: World,
    lines: Sequence[LineRequest],
    key: str,
    *,
    customer: Customer | None = None,
    actor: Actor | None = None,
    allow_backorder: bool = False,
) -> PlacedOrder:
    return run(
        lambda uow: place_order(
            uow,
            actor=actor or world.sales,
            customer_id=(customer or world.customer).id,
            lines=lines,
            idempotency_key=key,
            allow_backorder=allow_backorder,
        )
    )


def ship(
    run: Run,
    world: World,
    order: SalesOrder,
    quantities: Mapping[int, Quantity] | None = None,
    *,
    actor: Actor | None = None,
) -> ShipmentResult:
    return run(
        lambda uow: ship_order(
            uow, actor=actor or world.warehouse, order_id=order.id, quantities=quantities
        )
    )


def pay(
    run: Run,
    world: World,
    amount: Money,
    key: str,
    *,
    customer: Customer | None = None,
    invoice: Invoice | None = None,
) -> PaymentResult:
    return run(
        lambda uow: record_payment(
            uow,
            actor=world.sales,
            customer_id=(customer or world.customer).id,
            amount=amount,
            method=PaymentMethod.BANK_TRANSFER,
            idempotency_key=key,
            invoice_id=None if invoice is None else invoice.id,
        )
    )


# --- helpers: looking at things -----------------------------------------------------------


def stock(run: Run, product: Product, warehouse: Warehouse | None = None) -> StockBalance:
    def read(uow: UnitOfWork) -> StockBalance:
        target = warehouse or uow.warehouses.default()
        assert target is not None
        return uow.stock.get(product.id, target.id)

    return run(read)


def order_of(run: Run, order_id: int) -> SalesOrder:
    found: SalesOrder | None = run(lambda uow: uow.orders.get(order_id))
    assert found is not None
    return found


def customer_of(run: Run, customer_id: int) -> Customer:
    found: Customer | None = run(lambda uow: uow.customers.get(customer_id))
    assert found is not None
    return found


def invoice_of(run: Run, invoice_id: int) -> Invoice:
    found: Invoice | None = run(lambda uow: uow.invoices.get(invoice_id))
    assert found is not None
    return found


def product_of(run: Run, product_id: int) -> Product:
    found: Product | None = run(lambda uow: uow.products.get(product_id))
    assert found is not None
    return found


def audit_log(run: Run) -> list[AuditEntry]:
    return run(lambda uow: uow.audit.list())


def actions(run: Run) -> list[str]:
    return [entry.action for entry in audit_log(run)]


def moves(run: Run, product: Product) -> list[StockMove]:
    return run(lambda uow: uow.stock.moves(product.id))


def assert_stock_ledger_balances(run: Run) -> None:
    """Every balance row equals the sum of its moves, and never goes negative."""

    def read(uow: UnitOfWork) -> tuple[dict[Any, tuple[int, int]], dict[Any, tuple[int, int]]]:
        sums: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
        for move in uow.stock.moves():
            total = sums[(move.product_id, move.warehouse_id)]
            total[0] += move.on_hand_delta.milli
            total[1] += move.reserved_delta.milli
        rows = {
            (b.product_id, b.warehouse_id): (b.on_hand.milli, b.reserved.milli)
            for b in uow.stock.all()
        }
        return {key: (v[0], v[1]) for key, v in sums.items()}, rows

    from_moves, rows = run(read)
    assert rows, "expected some stock"
    for key in set(from_moves) | set(rows):
        assert from_moves.get(key, (0, 0)) == rows.get(key, (0, 0)), key
        on_hand, reserved = rows.get(key, (0, 0))
        assert 0 <= reserved <= on_hand, key


def assert_money_ledger_balances(run: Run, customer: Customer) -> None:
    """Balance = invoices - payments = outstanding - unallocated credit."""

    def read(uow: UnitOfWork) -> tuple[int, int, int, int, int]:
        found = uow.customers.get(customer.id)
        assert found is not None and found.balance is not None
        invoices = uow.invoices.for_customer(customer.id)
        payments = uow.payments.for_customer(customer.id)
        for invoice in invoices:
            allocated = sum(a.amount.minor for a in uow.payments.allocations(invoice_id=invoice.id))
            assert allocated == invoice.amount.minor - invoice.outstanding.minor, invoice.number
        return (
            found.balance.minor,
            sum(i.amount.minor for i in invoices),
            sum(p.amount.minor for p in payments),
            sum(i.outstanding.minor for i in invoices),
            sum(p.unallocated.minor for p in payments),
        )

    balance, invoiced, paid, outstanding, credit = run(read)
    assert balance == invoiced - paid
    assert balance == outstanding - credit


# === customers ============================================================================


class TestCustomers:
    def test_create_customer_cleans_input_and_applies_defaults(
        self, run: Run, world: World
    ) -> None:
        result: CreateCustomerResult = run(
            lambda uow: create_customer(
                uow,
                actor=world.sales,
                draft=CustomerDraft(name="  Beta    Foods ", phone="021-5555 0101"),
            )
        )

        assert result.similar == ()
        assert result.customer is not None
        stored = customer_of(run, result.customer.id)
        assert stored == result.customer
        assert stored.name == "Beta Foods"
        assert stored.phone == "021-5555 0101"
        assert stored.payment_terms_days == 30
        assert stored.sales_rep_id == world.sales.user_id  # a salesperson's own customer
        assert stored.credit_limit is None
        assert stored.tier is Tier.C
        assert stored.balance == cny(0)

    def test_credit_limit_and_terms_are_kept(self, run: Run, world: World) -> None:
        customer = new_customer(
            run, world.owner, "Gamma Ltd", credit_limit=cny(50_000), payment_terms_days=45
        )

        assert customer.credit_limit == cny(50_000)
        assert customer.payment_terms_days == 45
        assert customer.sales_rep_id is None  # an owner creating it does not become the rep

    @pytest.mark.parametrize("name", ["acme  TRADING", "Acme Tradng"])
    def test_similar_name_returns_candidates_and_creates_nothing(
        self, run: Run, world: World, name: str
    ) -> None:
        result: CreateCustomerResult = run(
            lambda uow: create_customer(uow, actor=world.sales, draft=CustomerDraft(name=name))
        )

        assert result.customer is None
        assert [c.id for c in result.similar] == [world.customer.id]
        assert [c.id for c in run(lambda uow: uow.customers.list())] == [world.customer.id]

    def test_same_phone_is_similar_even_with_another_name(self, run: Run, world: World) -> None:
        draft = CustomerDraft(name="Zeta Hardware", phone="13800138000")
        result: CreateCustomerResult = run(
            lambda uow: create_customer(uow, actor=world.sales, draft=draft)
        )

        assert result.customer is None
        assert [c.name for c in result.similar] == ["Acme Trading"]

    def test_allow_similar_creates_it_anyway(self, run: Run, world: World) -> None:
        result: CreateCustomerResult = run(
            lambda uow: create_customer(
                uow, actor=world.sales, draft=CustomerDraft(name="Acme Trading"), allow_similar=True
            )
        )

        assert result.customer is not None
        assert result.customer.id != world.customer.id
        assert len(run(lambda uow: uow.customers.list())) == 2

    @pytest.mark.parametrize(
        ("draft", "field", "reason"),
        [
            (CustomerDraft(name="   "), "name", "empty"),
            (CustomerDraft(name="Delta", phone="call me maybe"), "phone", "not_a_phone"),
            (CustomerDraft(name="Delta", phone="12-3"), "phone", "not_a_phone"),
            (
                CustomerDraft(name="Delta", payment_terms_days=366),
                "payment_terms_days",
                "out_of_range",
            ),
            (
                CustomerDraft(name="Delta", payment_terms_days=-1),
                "payment_terms_days",
                "out_of_range",
            ),
            (CustomerDraft(name="Delta", credit_limit=cny(-1)), "credit_limit", "negative"),
        ],
    )
    def test_bad_input_is_refused_with_a_reason(
        self, run: Run, world: World, draft: CustomerDraft, field: str, reason: str
    ) -> None:
        audit_before = len(audit_log(run))

        with pytest.raises(InvalidInput) as refused:
            run(lambda uow: create_customer(uow, actor=world.sales, draft=draft))

        assert (refused.value.field, refused.value.reason) == (field, reason)
        assert len(run(lambda uow: uow.customers.list())) == 1
        assert len(audit_log(run)) == audit_before

    def test_warehouse_staff_cannot_create_customers(self, run: Run, world: World) -> None:
        with pytest.raises(NotAllowed):
            run(
                lambda uow: create_customer(
                    uow, actor=world.warehouse, draft=CustomerDraft(name="Epsilon")
                )
            )


# === catalog ==============================================================================


class TestCatalog:
    def test_seeded_products_are_as_saved(self, run: Run, world: World) -> None:
        widget = product_of(run, world.widget.id)

        assert (widget.sku, widget.name, widget.unit) == ("W-BLUE", "Blue widget", "pcs")
        assert (widget.price, widget.cost) == (cny(1250), cny(800))
        assert widget.decimals == 0
        assert product_of(run, world.rice.id).decimals == 3

    def test_save_product_upserts_by_sku(self, run: Run, world: World) -> None:
        draft = ProductDraft(
            sku=" w-blue ",
            name="Blue widget XL",
            unit="pcs",
            price=cny(1300),
            cost=cny(800),
            aliases=("blue w", "蓝色小部件", "blue w"),
        )

        saved: SavedProduct = run(lambda uow: save_product(uow, actor=world.owner, draft=draft))

        assert saved.created is False
        assert saved.product.id == world.widget.id
        assert saved.product.sku == "W-BLUE"
        assert saved.product.name == "Blue widget XL"
        assert saved.product.price == cny(1300)
        assert saved.product.aliases == ("blue w", "蓝色小部件")
        assert product_of(run, world.widget.id) == saved.product
        assert len(run(lambda uow: uow.products.list())) == 2
        assert actions(run).count("product.update") == 1

    def test_new_sku_creates(self, run: Run, world: World) -> None:
        draft = ProductDraft(sku="b-m8", name="M8 bolt", unit="pcs", price=cny(30), cost=cny(10))

        saved: SavedProduct = run(lambda uow: save_product(uow, actor=world.owner, draft=draft))

        assert saved.created is True
        assert saved.product.sku == "B-M8"
        assert run(lambda uow: uow.products.by_sku("B-M8")) == saved.product

    @pytest.mark.parametrize("sku", ["", "  ", "-W", "has space", "X" * 41, "W*1"])
    def test_bad_sku_is_refused(self, run: Run, world: World, sku: str) -> None:
        draft = ProductDraft(sku=sku, name="Thing", unit="pcs", price=cny(100), cost=cny(50))

        with pytest.raises(InvalidInput) as refused:
            run(lambda uow: save_product(uow, actor=world.owner, draft=draft))

        assert refused.value.reason == "bad_sku"
        assert len(run(lambda uow: uow.products.list())) == 2

    def test_only_owners_edit_the_catalog(self, run: Run, world: World) -> None:
        draft = ProductDraft(sku="W-BLUE", name="Cheap", unit="pcs", price=cny(1), cost=cny(1))

        with pytest.raises(NotAllowed):
            run(lambda uow: save_product(uow, actor=world.sales, draft=draft))

        assert product_of(run, world.widget.id).price == cny(1250)


# === stock ================================================================================


class TestStock:
    def test_receive_raises_on_hand_and_averages_cost(self, run: Run, world: World) -> None:
        gear = new_product(run, world.owner, "G-1", "Gear", "pcs", 2000, 0)

        receive(run, world.warehouse, gear, 10, cny(800))
        assert product_of(run, gear.id).cost == cny(800)
        receive(run, world.warehouse, gear, 10, cny(1000))

        assert product_of(run, gear.id).cost == cny(900)
        balance = stock(run, gear)
        assert (balance.on_hand, balance.reserved) == (qty(20), qty(0))
        receipts = [m for m in moves(run, gear) if m.kind is MoveKind.RECEIPT]
        assert [(m.on_hand_delta, m.unit_cost) for m in receipts] == [
            (qty(10), cny(800)),
            (qty(10), cny(1000)),
        ]
        assert_stock_ledger_balances(run)

    @pytest.mark.parametrize(
        ("first", "second", "average"),
        [(100, 101, 100), (101, 102, 102)],  # x.5 fen rounds to the even neighbour
    )
    def test_average_cost_rounds_half_even(
        self, run: Run, world: World, first: int, second: int, average: int
    ) -> None:
        nut = new_product(run, world.owner, "N-1", "Nut", "pcs", 500, 0)

        receive(run, world.warehouse, nut, 1, cny(first))
        receive(run, world.warehouse, nut, 1, cny(second))

        assert product_of(run, nut.id).cost == cny(average)

    def test_kg_product_takes_decimals_pcs_product_does_not(self, run: Run, world: World) -> None:
        receive(run, world.warehouse, world.rice, "2.5", cny(400))
        assert stock(run, world.rice).on_hand == qty("52.5")

        with pytest.raises(InvalidInput) as refused:
            receive(run, world.warehouse, world.widget, "2.5", cny(800))

        assert refused.value.reason == "too_many_decimals"
        assert stock(run, world.widget).on_hand == qty(100)

    @pytest.mark.parametrize(("quantity", "reason"), [("0", "zero"), ("-1", "negative")])
    def test_receive_needs_a_positive_quantity(
        self, run: Run, world: World, quantity: str, reason: str
    ) -> None:
        with pytest.raises(InvalidInput) as refused:
            receive(run, world.warehouse, world.widget, quantity, cny(800))

        assert refused.value.reason == reason
        assert stock(run, world.widget).on_hand == qty(100)

    def test_adjust_sets_the_counted_quantity_with_a_reason(self, run: Run, world: World) -> None:
        run(
            lambda uow: adjust_stock(
                uow,
                actor=world.warehouse,
                product_id=world.widget.id,
                counted=qty(95),
                reason="monthly count",
            )
        )

        assert stock(run, world.widget).on_hand == qty(95)
        adjustment = moves(run, world.widget)[-1]
        assert adjustment.kind is MoveKind.ADJUSTMENT
        assert adjustment.on_hand_delta == qty(-5)
        assert adjustment.note == "monthly count"
        assert adjustment.actor_id == world.warehouse.user_id
        assert actions(run)[-1] == "stock.adjust"
        assert_stock_ledger_balances(run)

    def test_adjust_needs_a_reason(self, run: Run, world: World) -> None:
        with pytest.raises(InvalidInput) as refused:
            run(
                lambda uow: adjust_stock(
                    uow,
                    actor=world.warehouse,
                    product_id=world.widget.id,
                    counted=qty(90),
                    reason="   ",
                )
            )

        assert (refused.value.field, refused.value.reason) == ("reason", "empty")
        assert stock(run, world.widget).on_hand == qty(100)

    def test_adjust_below_reserved_is_refused(self, run: Run, world: World) -> None:
        place(run, world, [line(world.widget, 10)], "o-1")

        with pytest.raises(InsufficientStock) as refused:
            run(
                lambda uow: adjust_stock(
                    uow,
                    actor=world.warehouse,
                    product_id=world.widget.id,
                    counted=qty(5),
                    reason="broken",
                )
            )

        (shortage,) = refused.value.shortages
        assert (shortage.sku, shortage.requested_milli, shortage.available_milli) == (
            "W-BLUE",
            10_000,
            5_000,
        )
        balance = stock(run, world.widget)
        assert (balance.on_hand, balance.reserved) == (qty(100), qty(10))

    def test_transfer_moves_stock_between_warehouses(self, run: Run, world: World) -> None:
        north: Warehouse = run(
            lambda uow: add_warehouse(uow, actor=world.owner, code="north", name="North depot")
        )

        run(
            lambda uow: transfer_stock(
                uow,
                actor=world.warehouse,
                product_id=world.widget.id,
                quantity=qty(30),
                from_warehouse_id=world.main.id,
                to_warehouse_id=north.id,
            )
        )

        assert north.code == "NORTH" and not north.is_default
        assert stock(run, world.widget, world.main).on_hand == qty(70)
        assert stock(run, world.widget, north).on_hand == qty(30)
        kinds = [(m.kind, m.warehouse_id, m.on_hand_delta) for m in moves(run, world.widget)[-2:]]
        assert kinds == [
            (MoveKind.TRANSFER_OUT, world.main.id, qty(-30)),
            (MoveKind.TRANSFER_IN, north.id, qty(30)),
        ]
        assert actions(run)[-1] == "stock.transfer"
        assert_stock_ledger_balances(run)

    def test_transfer_cannot_take_reserved_stock(self, run: Run, world: World) -> None:
        north: Warehouse = run(
            lambda uow: add_warehouse(uow, actor=world.owner, code="NORTH", name="North depot")
        )
        place(run, world, [line(world.widget, 80)], "o-1")

        with pytest.raises(InsufficientStock):
            run(
                lambda uow: transfer_stock(
                    uow,
                    actor=world.warehouse,
                    product_id=world.widget.id,
                    quantity=qty(30),
                    from_warehouse_id=world.main.id,
                    to_warehouse_id=north.id,
                )
            )

        assert stock(run, world.widget, world.main).on_hand == qty(100)
        assert stock(run, world.widget, north).on_hand == qty(0)
        assert_stock_ledger_balances(run)

    def test_every_change_leaves_moves_and_an_audit_entry(self, run: Run, world: World) -> None:
        assert actions(run).count("stock.receive") == 2  # the seed's two receipts
        audit_before = len(audit_log(run))
        order = place(run, world, [line(world.widget, 10), line(world.rice, "2.5")], "o-1").order
        ship(run, world, order, {order.lines[0].id: qty(4)})
        run(lambda uow: cancel_order(uow, actor=world.sales, order_id=order.id))

        kinds = [m.kind for m in moves(run, world.widget)]
        assert kinds == [
            MoveKind.RECEIPT,
            MoveKind.RESERVATION,
            MoveKind.SHIPMENT,
            MoveKind.RELEASE,
        ]
        widget = stock(run, world.widget)
        assert (widget.on_hand, widget.reserved) == (qty(96), qty(0))
        rice = stock(run, world.rice)
        assert (rice.on_hand, rice.reserved) == (qty(50), qty(0))
        assert actions(run)[audit_before:] == [
            "order.place",
            "shipment.create",
            "invoice.issue",
            "shipment.confirm",
            "order.cancel",
        ]
        assert_stock_ledger_balances(run)


# === orders ===============================================================================


class TestOrders:
    def test_place_reserves_stock_and_numbers_the_order(self, run: Run, world: World) -> None:
        placed = place(run, world, [line(world.widget, 10), line(world.rice, "2.5")], "o-1")

        order = placed.order
        assert placed.created is True
        assert order.number == "SO-000001"
        assert order.status is OrderStatus.CONFIRMED
        assert order.hold_reason is None
        assert order.total == cny(12_500 + 1_500)
        assert order.sales_rep_id == world.sales.user_id
        assert order.created_by == world.sales.user_id
        assert [(li.line_no, li.quantity, li.reserved) for li in order.lines] == [
            (1, qty(10), qty(10)),
            (2, qty("2.5"), qty("2.5")),
        ]
        widget = stock(run, world.widget)
        assert (widget.on_hand, widget.reserved, widget.available) == (qty(100), qty(10), qty(90))
        assert stock(run, world.rice).available == qty("47.5")
        assert order_of(run, order.id) == order
        assert actions(run)[-1] == "order.place"
        assert_stock_ledger_balances(run)

        second = place(run, world, [line(world.widget, 1)], "o-2").order

        assert second.number == "SO-000002"
        listed = run(lambda uow: uow.orders.list(customer_id=world.customer.id))
        assert [o.number for o in listed] == ["SO-000002", "SO-000001"]  # newest first

    def test_price_override_and_discount(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 3, cny(333), discount_bp=1000)], "o-1").order

        assert order.lines[0].unit_price == cny(333)
        assert order.lines[0].discount_bp == 1000
        assert order.total == cny(899)  # 3 x 3.33 x 0.9 = 8.991

    def test_same_idempotency_key_returns_the_same_order(self, run: Run, world: World) -> None:
        first = place(run, world, [line(world.widget, 10)], "tg:update:77")
        again = place(run, world, [line(world.widget, 10)], "tg:update:77")

        assert again.created is False
        assert again.order.id == first.order.id
        assert again.order.number == "SO-000001"
        assert stock(run, world.widget).reserved == qty(10)
        assert len(run(lambda uow: uow.orders.list())) == 1
        assert actions(run).count("order.place") == 1

    def test_same_key_with_other_lines_is_refused(self, run: Run, world: World) -> None:
        place(run, world, [line(world.widget, 10)], "tg:update:78")
        with pytest.raises(IdempotencyKeyReused):
            place(run, world, [line(world.widget, 11)], "tg:update:78")
        assert stock(run, world.widget).reserved == qty(10)

    def test_shortage_lists_every_short_line_and_changes_nothing(
        self, run: Run, world: World
    ) -> None:
        audit_before = len(audit_log(run))

        with pytest.raises(InsufficientStock) as refused:
            place(
                run,
                world,
                [line(world.widget, 60), line(world.rice, 60), line(world.widget, 60)],
                "o-1",
            )

        short = {s.sku: (s.requested_milli, s.available_milli) for s in refused.value.shortages}
        assert short == {"W-BLUE": (120_000, 100_000), "R-JASMINE": (60_000, 50_000)}
        assert run(lambda uow: uow.orders.list()) == []
        assert run(lambda uow: uow.orders.by_idempotency_key("o-1")) is None
        assert stock(run, world.widget).reserved == qty(0)
        assert stock(run, world.rice).reserved == qty(0)
        assert len(audit_log(run)) == audit_before
        assert place(run, world, [line(world.widget, 1)], "o-2").order.number == "SO-000001"

    def test_backorder_reserves_what_is_available(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 150)], "o-1", allow_backorder=True).order

        assert order.status is OrderStatus.CONFIRMED
        assert (order.lines[0].quantity, order.lines[0].reserved) == (qty(150), qty(100))
        assert order.total == cny(150 * 1250)
        assert stock(run, world.widget).available == qty(0)

    def test_over_the_credit_limit_waits_for_approval(self, run: Run, world: World) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(10_000))

        order = place(run, world, [line(world.widget, 10)], "o-1", customer=capped).order

        assert order.status is OrderStatus.PENDING_APPROVAL
        assert order.hold_reason is HoldReason.CREDIT_LIMIT
        assert stock(run, world.widget).reserved == qty(10)  # held, but the goods are kept

    def test_exactly_at_the_credit_limit_is_fine(self, run: Run, world: World) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(10_000))

        order = place(run, world, [line(world.widget, 8)], "o-1", customer=capped).order

        assert order.total == cny(10_000)
        assert order.status is OrderStatus.CONFIRMED

    def test_open_orders_count_towards_the_credit_limit(self, run: Run, world: World) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(10_000))
        first = place(run, world, [line(world.widget, 6)], "o-1", customer=capped).order
        second = place(run, world, [line(world.widget, 2)], "o-2", customer=capped).order
        third = place(run, world, [line(world.widget, 1)], "o-3", customer=capped).order

        assert [first.status, second.status] == [OrderStatus.CONFIRMED] * 2
        assert third.status is OrderStatus.PENDING_APPROVAL

    @pytest.mark.parametrize(
        ("days_later", "status", "hold"),
        [
            (60, OrderStatus.CONFIRMED, None),  # 30 days past due: not yet on hold
            (61, OrderStatus.PENDING_APPROVAL, HoldReason.OVERDUE),
        ],
    )
    def test_an_invoice_over_30_days_overdue_holds_new_orders(
        self,
        run: Run,
        world: World,
        clock: FixedClock,
        days_later: int,
        status: OrderStatus,
        hold: HoldReason | None,
    ) -> None:
        first = place(run, world, [line(world.widget, 1)], "o-1").order
        ship(run, world, first)  # invoice due in 30 days

        clock.advance(days=days_later)
        order = place(run, world, [line(world.widget, 1)], "o-2").order

        assert (order.status, order.hold_reason) == (status, hold)

    def test_owner_approves_a_held_order(self, run: Run, world: World, clock: FixedClock) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(100))
        held = place(run, world, [line(world.widget, 10)], "o-1", customer=capped).order
        clock.advance(minutes=5)

        decided: SalesOrder = run(
            lambda uow: decide_order(uow, actor=world.owner, order_id=held.id, approve=True)
        )

        assert decided.status is OrderStatus.CONFIRMED
        assert decided.decided_by == world.owner.user_id
        assert decided.decided_at == clock.now()
        assert stock(run, world.widget).reserved == qty(10)
        assert actions(run)[-1] == "order.approve"

    def test_owner_rejects_a_held_order_and_stock_is_released(self, run: Run, world: World) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(100))
        held = place(run, world, [line(world.widget, 10)], "o-1", customer=capped).order

        decided: SalesOrder = run(
            lambda uow: decide_order(
                uow, actor=world.owner, order_id=held.id, approve=False, reason="too risky"
            )
        )

        assert decided.status is OrderStatus.CANCELLED
        assert decided.lines[0].reserved == qty(0)
        assert stock(run, world.widget).reserved == qty(0)
        assert moves(run, world.widget)[-1].kind is MoveKind.RELEASE
        assert actions(run)[-1] == "order.reject"
        assert_stock_ledger_balances(run)

    def test_second_decision_names_the_first_decider(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(100))
        held = place(run, world, [line(world.widget, 10)], "o-1", customer=capped).order
        run(lambda uow: decide_order(uow, actor=world.owner, order_id=held.id, approve=True))
        approved_at = clock.now()
        clock.advance(minutes=1)

        with pytest.raises(AlreadyDecided) as refused:
            run(lambda uow: decide_order(uow, actor=world.owner2, order_id=held.id, approve=False))

        assert refused.value.by_name == "Olga Owner"
        assert refused.value.state == "confirmed"
        assert refused.value.at == approved_at
        assert order_of(run, held.id).status is OrderStatus.CONFIRMED
        assert stock(run, world.widget).reserved == qty(10)

    def test_sales_cannot_approve(self, run: Run, world: World) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(100))
        held = place(run, world, [line(world.widget, 10)], "o-1", customer=capped).order

        with pytest.raises(NotAllowed):
            run(lambda uow: decide_order(uow, actor=world.sales, order_id=held.id, approve=True))

        assert order_of(run, held.id).status is OrderStatus.PENDING_APPROVAL

    def test_cancel_releases_the_reservation(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10), line(world.rice, 5)], "o-1").order

        cancelled: SalesOrder = run(
            lambda uow: cancel_order(uow, actor=world.sales, order_id=order.id, reason="changed")
        )

        assert cancelled.status is OrderStatus.CANCELLED
        assert stock(run, world.widget).available == qty(100)
        assert stock(run, world.rice).available == qty(50)
        assert actions(run)[-1] == "order.cancel"
        assert_stock_ledger_balances(run)

    def test_another_salesperson_cannot_cancel(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order

        with pytest.raises(NotAllowed):
            run(lambda uow: cancel_order(uow, actor=world.sales2, order_id=order.id))

        assert order_of(run, order.id).status is OrderStatus.CONFIRMED

    def test_find_twin_matches_quantities_per_product_newest_first(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        since = clock.now()
        first = place(run, world, [line(world.widget, 3), line(world.rice, 2)], "o-1").order
        clock.advance(minutes=1)
        # The same quantities split over two widget lines.
        split = place(
            run, world, [line(world.widget, 1), line(world.rice, 2), line(world.widget, 2)], "o-2"
        ).order
        place(run, world, [line(world.widget, 3)], "o-3")  # a product less
        place(run, world, [line(world.widget, 3), line(world.rice, 3)], "o-4")  # more rice
        wanted = {world.widget.id: 3000, world.rice.id: 2000}

        def twin(since: datetime, customer: Customer | None = None) -> SalesOrder | None:
            target = (customer or world.customer).id
            return run(lambda uow: uow.orders.find_twin(target, since, wanted))

        found = twin(since)
        assert found is not None and found.id == split.id  # the newest of the two
        assert [li.quantity for li in found.lines] == [qty(1), qty(2), qty(2)]
        assert run(lambda uow: uow.orders.find_twin(world.customer.id, since, {})) is None
        assert twin(clock.now() + timedelta(seconds=1)) is None  # too old
        other = new_customer(run, world.sales, "Other Shop")
        assert twin(since, other) is None

        run(lambda uow: cancel_order(uow, actor=world.sales, order_id=split.id))
        found = twin(since)
        assert found is not None and found.id == first.id  # a cancelled order is no twin

    def test_customers_of_a_rep_with_or_without_the_unassigned(
        self, run: Run, world: World
    ) -> None:
        nobodys = new_customer(run, world.owner, "Walk-in Shop")
        theirs = new_customer(run, world.sales2, "Sue's Shop")

        def names(**filters: Any) -> list[str]:
            return [c.name for c in run(lambda uow: uow.customers.list(**filters))]

        rep = world.sales.user_id
        assert names(sales_rep_id=rep) == [world.customer.name]
        assert names(sales_rep_id=rep, with_unassigned=True) == [world.customer.name, nobodys.name]
        assert names() == [world.customer.name, nobodys.name, theirs.name]

    def test_warehouse_role_cannot_place_orders(self, run: Run, world: World) -> None:
        with pytest.raises(NotAllowed):
            place(run, world, [line(world.widget, 1)], "o-1", actor=world.warehouse)

        assert run(lambda uow: uow.orders.list()) == []


# === shipping =============================================================================


class TestShipping:
    def test_ship_all_invoices_the_order(self, run: Run, world: World, clock: FixedClock) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        today = clock.now().date()

        result = ship(run, world, order)

        assert result.order.status is OrderStatus.SHIPPED
        assert result.shipment.number == "SH-000001"
        assert result.shipment.status is ShipmentStatus.CONFIRMED
        assert result.shipment.confirmed_by == world.warehouse.user_id
        widget = stock(run, world.widget)
        assert (widget.on_hand, widget.reserved) == (qty(90), qty(0))
        invoice = result.invoice
        assert invoice is not None
        assert invoice.number == "INV-000001"
        assert invoice.amount == order.total == cny(12_500)
        assert invoice.outstanding == cny(12_500)
        assert invoice.status is InvoiceStatus.OPEN
        assert (invoice.issued_on, invoice.due_on) == (today, today + timedelta(days=30))
        assert customer_of(run, world.customer.id).balance == cny(12_500)
        assert [e.action for e in audit_log(run)[-3:]] == [
            "shipment.create",
            "invoice.issue",
            "shipment.confirm",
        ]
        assert_stock_ledger_balances(run)
        assert_money_ledger_balances(run, world.customer)

    def test_due_date_follows_the_customers_terms(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        quick = new_customer(run, world.sales, "Quick Pay", payment_terms_days=7)
        order = place(run, world, [line(world.widget, 1)], "o-1", customer=quick).order

        invoice = ship(run, world, order).invoice

        assert invoice is not None
        assert invoice.due_on == clock.now().date() + timedelta(days=7)

    def test_shipping_again_names_who_shipped_first(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        ship(run, world, order)
        shipped_at = clock.now()
        clock.advance(minutes=3)

        with pytest.raises(AlreadyShipped) as refused:
            ship(run, world, order, actor=world.owner)

        assert refused.value.by_name == "Wang Warehouse"
        assert refused.value.at == shipped_at
        assert stock(run, world.widget).on_hand == qty(90)
        assert len(run(lambda uow: uow.invoices.for_order(order.id))) == 1

    def test_confirming_a_shipment_twice_says_who_and_when(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        draft = run(lambda uow: create_shipment(uow, actor=world.warehouse, order_id=order.id))
        assert draft.status is ShipmentStatus.DRAFT
        assert stock(run, world.widget).on_hand == qty(100)  # a draft moves nothing
        run(lambda uow: confirm_shipment(uow, actor=world.warehouse, shipment_id=draft.id))
        confirmed_at = clock.now()
        clock.advance(seconds=2)

        with pytest.raises(AlreadyShipped) as refused:
            run(lambda uow: confirm_shipment(uow, actor=world.owner, shipment_id=draft.id))

        assert refused.value.reference == draft.number
        assert refused.value.by_name == "Wang Warehouse"
        assert refused.value.at == confirmed_at
        assert stock(run, world.widget).on_hand == qty(90)
        assert len(run(lambda uow: uow.invoices.for_order(order.id))) == 1

    def test_partial_shipments_add_up_to_the_order_total(self, run: Run, world: World) -> None:
        # 3.33 less 10 % is 2.997 a piece: rounding each shipment alone would invoice 9.00
        order = place(run, world, [line(world.widget, 3, cny(333), discount_bp=1000)], "o-1").order
        line_id = order.lines[0].id

        first = ship(run, world, order, {line_id: qty(1)})

        assert first.order.status is OrderStatus.PARTIALLY_SHIPPED
        assert first.order.lines[0].shipped == qty(1)
        assert first.invoice is not None
        assert first.invoice.amount == cny(300)

        second = ship(run, world, order, {line_id: qty(1)})
        third = ship(run, world, order, {line_id: qty(1)})

        assert second.order.status is OrderStatus.PARTIALLY_SHIPPED
        assert third.order.status is OrderStatus.SHIPPED
        amounts = [r.invoice.amount for r in (first, second, third) if r.invoice is not None]
        assert amounts == [cny(300), cny(299), cny(300)]
        assert sum(amounts, cny(0)) == order.total == cny(899)
        assert third.invoice is not None and third.invoice.number == "INV-000003"
        assert customer_of(run, world.customer.id).balance == cny(899)
        assert stock(run, world.widget).on_hand == qty(97)
        assert_money_ledger_balances(run, world.customer)

    def test_partial_shipment_invoices_only_the_shipped_lines(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10), line(world.rice, "2.5")], "o-1").order

        result = ship(run, world, order, {order.lines[1].id: qty("1.25")})

        assert result.invoice is not None
        assert result.invoice.amount == cny(750)
        assert [(li.shipped, li.reserved) for li in result.order.lines] == [
            (qty(0), qty(10)),
            (qty("1.25"), qty("1.25")),
        ]
        assert stock(run, world.rice).on_hand == qty("48.75")

        rest = ship(run, world, order)

        assert rest.order.status is OrderStatus.SHIPPED
        assert rest.invoice is not None
        assert rest.invoice.amount == cny(12_500 + 750) == order.total - result.invoice.amount

    def test_more_than_remaining_is_refused(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        ship(run, world, order, {order.lines[0].id: qty(4)})

        with pytest.raises(InvalidInput) as refused:
            ship(run, world, order, {order.lines[0].id: qty(7)})

        assert refused.value.reason == "more_than_remaining"
        assert order_of(run, order.id).lines[0].shipped == qty(4)
        assert stock(run, world.widget).on_hand == qty(96)
        assert len(run(lambda uow: uow.shipments.for_order(order.id))) == 1

    def test_backordered_line_is_reserved_when_it_ships(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 150)], "o-1", allow_backorder=True).order
        receive(run, world.warehouse, world.widget, 50, cny(800))

        result = ship(run, world, order)

        assert result.order.status is OrderStatus.SHIPPED
        assert result.order.lines[0].shipped == qty(150)
        widget = stock(run, world.widget)
        assert (widget.on_hand, widget.reserved) == (qty(0), qty(0))
        assert result.invoice is not None and result.invoice.amount == cny(150 * 1250)
        assert_stock_ledger_balances(run)

    def test_backordered_line_without_stock_refuses_and_changes_nothing(
        self, run: Run, world: World
    ) -> None:
        order = place(run, world, [line(world.widget, 150)], "o-1", allow_backorder=True).order
        audit_before = len(audit_log(run))

        with pytest.raises(InsufficientStock) as refused:
            ship(run, world, order)

        (shortage,) = refused.value.shortages
        assert shortage.sku == "W-BLUE"
        after = order_of(run, order.id)
        assert after.status is OrderStatus.CONFIRMED
        assert (after.lines[0].reserved, after.lines[0].shipped) == (qty(100), qty(0))
        widget = stock(run, world.widget)
        assert (widget.on_hand, widget.reserved) == (qty(100), qty(100))
        assert run(lambda uow: uow.shipments.for_order(order.id)) == []
        assert run(lambda uow: uow.invoices.for_order(order.id)) == []
        assert len(audit_log(run)) == audit_before
        assert_stock_ledger_balances(run)

    def test_shipment_move_records_the_product_cost(self, run: Run, world: World) -> None:
        receive(run, world.warehouse, world.widget, 100, cny(1000))  # average cost now 9.00
        order = place(run, world, [line(world.widget, 10)], "o-1").order

        result = ship(run, world, order)

        (shipment_move,) = [m for m in moves(run, world.widget) if m.kind is MoveKind.SHIPMENT]
        assert shipment_move.unit_cost == cny(900)
        assert shipment_move.on_hand_delta == qty(-10)
        assert shipment_move.reserved_delta == qty(-10)
        assert shipment_move.source_type == "shipment"
        assert shipment_move.source_id == result.shipment.id
        assert result.shipment.lines[0].unit_cost == cny(900)

    def test_sales_cannot_ship(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order

        with pytest.raises(NotAllowed):
            ship(run, world, order, actor=world.sales)

        assert stock(run, world.widget).on_hand == qty(100)

    def test_a_held_order_cannot_ship(self, run: Run, world: World) -> None:
        capped = new_customer(run, world.sales, "Capped Co", credit_limit=cny(100))
        held = place(run, world, [line(world.widget, 10)], "o-1", customer=capped).order

        with pytest.raises(InvalidState) as refused:
            ship(run, world, held)

        assert refused.value.state == "pending_approval"
        assert stock(run, world.widget).on_hand == qty(100)


# === payments =============================================================================


def shipped_invoices(
    run: Run, world: World, clock: FixedClock, sizes: Sequence[int]
) -> list[Invoice]:
    """One order per size (widgets), each shipped a day after the previous one."""
    invoices = []
    for number, size in enumerate(sizes, 1):
        order = place(run, world, [line(world.widget, size)], f"o-{number}").order
        invoice = ship(run, world, order).invoice
        assert invoice is not None
        invoices.append(invoice)
        clock.advance(days=1)
    return invoices


class TestPayments:
    def test_payment_goes_to_the_oldest_invoice_first(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        older, newer = shipped_invoices(run, world, clock, [10, 4])  # 125.00, 50.00

        result = pay(run, world, cny(13_000), "p-1")

        assert result.created is True
        assert result.payment.number == "PAY-000001"
        assert [(a.invoice_id, a.amount) for a in result.allocations] == [
            (older.id, cny(12_500)),
            (newer.id, cny(500)),
        ]
        assert invoice_of(run, older.id).status is InvoiceStatus.PAID
        assert invoice_of(run, newer.id).outstanding == cny(4_500)
        assert result.credit_left == cny(0)
        assert customer_of(run, world.customer.id).balance == cny(4_500)
        assert_money_ledger_balances(run, world.customer)

    def test_a_chosen_invoice_is_paid_first(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        older, newer = shipped_invoices(run, world, clock, [10, 4])

        result = pay(run, world, cny(6_000), "p-1", invoice=newer)

        assert [(a.invoice_id, a.amount) for a in result.allocations] == [
            (newer.id, cny(5_000)),
            (older.id, cny(1_000)),
        ]
        assert invoice_of(run, newer.id).status is InvoiceStatus.PAID
        assert invoice_of(run, older.id).outstanding == cny(11_500)

    def test_overpayment_becomes_credit_used_by_the_next_invoice(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        (first,) = shipped_invoices(run, world, clock, [10])

        paid = pay(run, world, cny(20_000), "p-1")

        assert paid.payment.unallocated == cny(7_500)
        assert customer_of(run, world.customer.id).balance == cny(-7_500)
        assert invoice_of(run, first.id).status is InvoiceStatus.PAID

        order = place(run, world, [line(world.widget, 10)], "o-2").order
        invoice = ship(run, world, order).invoice

        assert invoice is not None
        assert invoice.outstanding == cny(5_000)
        allocations = run(lambda uow: uow.payments.allocations(invoice_id=invoice.id))
        assert [(a.payment_id, a.amount) for a in allocations] == [(paid.payment.id, cny(7_500))]
        payment = run(lambda uow: uow.payments.get(paid.payment.id))
        assert payment.unallocated == cny(0)
        assert customer_of(run, world.customer.id).balance == cny(5_000)
        assert_money_ledger_balances(run, world.customer)

    def test_credit_that_covers_a_whole_invoice_closes_the_order(
        self, run: Run, world: World
    ) -> None:
        pay(run, world, cny(50_000), "p-1")  # paid up front: all credit
        order = place(run, world, [line(world.widget, 10)], "o-1").order

        result = ship(run, world, order)

        assert result.invoice is not None
        assert result.invoice.status is InvoiceStatus.PAID
        assert result.order.status is OrderStatus.CLOSED
        assert customer_of(run, world.customer.id).balance == cny(-37_500)
        assert_money_ledger_balances(run, world.customer)

    def test_replaying_a_key_returns_the_same_payment(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        shipped_invoices(run, world, clock, [10])
        first = pay(run, world, cny(5_000), "tg:update:9")

        again = pay(run, world, cny(5_000), "tg:update:9")

        assert again.created is False
        assert again.payment.id == first.payment.id
        assert again.allocations == first.allocations
        assert customer_of(run, world.customer.id).balance == cny(7_500)
        assert len(run(lambda uow: uow.payments.for_customer(world.customer.id))) == 1

    def test_same_key_with_another_amount_is_refused(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        shipped_invoices(run, world, clock, [10])
        pay(run, world, cny(5_000), "tg:update:9")

        with pytest.raises(IdempotencyKeyReused) as refused:
            pay(run, world, cny(6_000), "tg:update:9")

        assert refused.value.key == "tg:update:9"
        assert customer_of(run, world.customer.id).balance == cny(7_500)

    @pytest.mark.parametrize(("minor", "reason"), [(0, "zero"), (-100, "negative")])
    def test_amount_must_be_positive(self, run: Run, world: World, minor: int, reason: str) -> None:
        audit_before = len(audit_log(run))

        with pytest.raises(InvalidInput) as refused:
            pay(run, world, cny(minor), "p-1")

        assert refused.value.reason == reason
        assert run(lambda uow: uow.payments.for_customer(world.customer.id)) == []
        assert len(audit_log(run)) == audit_before

    def test_paying_a_shipped_order_in_full_closes_it(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        ship(run, world, order)

        pay(run, world, cny(12_000), "p-1")
        assert order_of(run, order.id).status is OrderStatus.SHIPPED  # 5.00 still open

        pay(run, world, cny(500), "p-2")
        assert order_of(run, order.id).status is OrderStatus.CLOSED
        assert customer_of(run, world.customer.id).balance == cny(0)

    def test_a_partly_shipped_order_stays_open_when_its_invoice_is_paid(
        self, run: Run, world: World
    ) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        ship(run, world, order, {order.lines[0].id: qty(4)})

        pay(run, world, cny(5_000), "p-1")

        assert order_of(run, order.id).status is OrderStatus.PARTIALLY_SHIPPED


# === receivables ==========================================================================


class TestReceivables:
    def test_customer_balance_after_a_partial_payment(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        (invoice,) = shipped_invoices(run, world, clock, [10])
        pay(run, world, cny(10_000), "p-1")

        seen = run(
            lambda uow: customer_balance(uow, actor=world.sales, customer_id=world.customer.id)
        )

        assert seen.balance == cny(2_500)
        assert seen.outstanding == cny(2_500)
        assert seen.credit == cny(0)
        assert [i.id for i in seen.open_invoices] == [invoice.id]
        assert seen.ageing.buckets["current"] == cny(2_500)
        assert seen.ageing.overdue == cny(0)

    def test_customer_balance_shows_credit(self, run: Run, world: World) -> None:
        pay(run, world, cny(3_000), "p-1")

        seen = run(
            lambda uow: customer_balance(uow, actor=world.owner, customer_id=world.customer.id)
        )

        assert (seen.balance, seen.outstanding, seen.credit) == (cny(-3_000), cny(0), cny(3_000))

    def test_ageing_buckets_by_days_past_due(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        cash = new_customer(run, world.sales, "Cash Only", payment_terms_days=0)
        start = clock.now()
        orders = [
            place(run, world, [line(world.widget, n)], f"o-{n}", customer=cash).order
            for n in (1, 2, 3, 4, 5)
        ]
        # shipped (and due, terms 0) on these days; looked at on day 95
        for order, day in zip(orders, (0, 5, 35, 65, 95), strict=True):
            clock.set(start + timedelta(days=day))
            ship(run, world, order)

        seen = run(lambda uow: customer_balance(uow, actor=world.owner, customer_id=cash.id))

        assert seen.ageing.buckets == {
            "current": cny(5 * 1250),  # 0 days past due
            "1-30": cny(4 * 1250),  # 30
            "31-60": cny(3 * 1250),  # 60
            "61-90": cny(2 * 1250),  # 90
            "90+": cny(1 * 1250),  # 95
        }
        assert seen.ageing.total == seen.outstanding == cny(15 * 1250)
        assert seen.ageing.overdue == cny(10 * 1250)
        assert [i.amount for i in seen.open_invoices] == [cny(n * 1250) for n in (1, 2, 3, 4, 5)]

    def test_statement_with_opening_running_and_closing_balance(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        day0 = clock.now()
        orders = [place(run, world, [line(world.widget, n)], f"o-{n}").order for n in (10, 5, 2)]

        def on(day: int) -> date:
            clock.set(day0 + timedelta(days=day))
            return clock.now().date()

        on(0)
        first = ship(run, world, orders[0]).invoice  # 125.00
        start = on(5)
        pay(run, world, cny(10_000), "p-1")
        on(10)
        second = ship(run, world, orders[1]).invoice  # 62.50
        end = on(12)
        pay(run, world, cny(5_000), "p-2")
        on(20)
        ship(run, world, orders[2])  # after the period
        assert first is not None and second is not None

        seen = run(
            lambda uow: statement(
                uow, actor=world.sales, customer_id=world.customer.id, start=start, end=end
            )
        )

        assert seen.opening == cny(12_500)
        assert [(ln.kind, ln.number, ln.debit, ln.credit, ln.balance) for ln in seen.lines] == [
            ("payment", "PAY-000001", cny(0), cny(10_000), cny(2_500)),
            ("invoice", second.number, cny(6_250), cny(0), cny(8_750)),
            ("payment", "PAY-000002", cny(0), cny(5_000), cny(3_750)),
        ]
        assert [ln.on for ln in seen.lines] == [start, start + timedelta(days=5), end]
        assert seen.closing == cny(3_750)
        assert customer_of(run, world.customer.id).balance == cny(3_750 + 2_500)

    def test_ageing_by_sales_rep(self, run: Run, world: World) -> None:
        theirs = new_customer(run, world.sales2, "Sue's Shop")
        nobodys = new_customer(run, world.owner, "Walk-in")
        for n, customer in enumerate((world.customer, theirs, nobodys, world.customer), 1):
            order = place(
                run, world, [line(world.widget, n)], f"o-{n}", customer=customer, actor=world.owner
            ).order
            ship(run, world, order)

        by_rep = run(lambda uow: ageing_by_sales_rep(uow, actor=world.owner))

        totals = {rep: ageing.total for rep, ageing in by_rep.items()}
        assert totals == {
            world.sales.user_id: cny((1 + 4) * 1250),
            world.sales2.user_id: cny(2 * 1250),
            None: cny(3 * 1250),
        }

    def test_only_owners_see_ageing_by_rep(self, run: Run, world: World) -> None:
        with pytest.raises(NotAllowed):
            run(lambda uow: ageing_by_sales_rep(uow, actor=world.sales))

    def test_a_customer_sees_only_their_own_account(self, run: Run, world: World) -> None:
        other = new_customer(run, world.sales, "Other Co")
        user = run(
            lambda uow: add_user(
                uow,
                actor=world.owner,
                name="Acme buyer",
                role=Role.CUSTOMER,
                telegram_user_id=3001,
                customer_id=world.customer.id,
            )
        )
        buyer = as_actor(user)
        pay(run, world, cny(1_000), "p-1")

        own = run(lambda uow: customer_balance(uow, actor=buyer, customer_id=world.customer.id))
        assert own.customer.id == world.customer.id
        assert own.credit == cny(1_000)

        with pytest.raises(NotFound):
            run(lambda uow: customer_balance(uow, actor=buyer, customer_id=other.id))
        today = date(2026, 1, 1)
        with pytest.raises(NotFound):
            run(
                lambda uow: statement(
                    uow, actor=buyer, customer_id=other.id, start=today, end=today
                )
            )

    def test_a_salesperson_cannot_see_another_reps_customer(self, run: Run, world: World) -> None:
        own = run(
            lambda uow: customer_balance(uow, actor=world.sales, customer_id=world.customer.id)
        )
        assert own.customer.id == world.customer.id

        with pytest.raises(NotAllowed):
            run(
                lambda uow: customer_balance(uow, actor=world.sales2, customer_id=world.customer.id)
            )

        seen = run(
            lambda uow: customer_balance(uow, actor=world.owner, customer_id=world.customer.id)
        )
        assert seen.customer.id == world.customer.id


# === users and invites ====================================================================


class TestUsersAndInvites:
    def invite(self, run: Run, world: World, role: Role, customer_id: int | None = None) -> str:
        issued = run(
            lambda uow: create_invite(
                uow, actor=world.owner, role=role, customer_id=customer_id, name=""
            )
        )
        return str(issued.token)

    def accept(self, run: Run, token: str, telegram_user_id: int, name: str = "Newbie") -> User:
        return run(
            lambda uow: accept_invite(
                uow, token=token, telegram_user_id=telegram_user_id, display_name=name
            )
        )

    def test_invite_token_is_url_safe_short_and_stored_hashed(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        issued = run(lambda uow: create_invite(uow, actor=world.owner, role=Role.WAREHOUSE))

        assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", issued.token)
        assert issued.invite.role is Role.WAREHOUSE
        assert issued.invite.expires_at == clock.now() + timedelta(days=7)
        assert run(lambda uow: uow.invites.by_token_hash(issued.token)) is None
        assert run(lambda uow: uow.invites.by_token_hash(token_hash(issued.token))) is not None
        other = run(lambda uow: create_invite(uow, actor=world.owner, role=Role.WAREHOUSE))
        assert other.token != issued.token

    def test_accepting_binds_the_role_and_customer(self, run: Run, world: World) -> None:
        token = self.invite(run, world, Role.CUSTOMER, world.customer.id)

        user = self.accept(run, token, 5001, "Acme buyer")

        assert (user.role, user.customer_id, user.telegram_user_id) == (
            Role.CUSTOMER,
            world.customer.id,
            5001,
        )
        assert user.name == "Acme buyer"
        assert run(lambda uow: uow.users.by_telegram_id(5001)) == user
        seen = run(
            lambda uow: customer_balance(uow, actor=as_actor(user), customer_id=world.customer.id)
        )
        assert seen.customer.id == world.customer.id

    def test_a_customer_invite_needs_a_customer(self, run: Run, world: World) -> None:
        with pytest.raises(InvalidInput):
            self.invite(run, world, Role.CUSTOMER)

    def test_an_invite_works_once(self, run: Run, world: World) -> None:
        token = self.invite(run, world, Role.SALES)
        self.accept(run, token, 5001)

        with pytest.raises(InviteInvalid) as refused:
            self.accept(run, token, 5002)

        assert refused.value.reason == "used"
        assert run(lambda uow: uow.users.by_telegram_id(5002)) is None

    def test_an_invite_expires(self, run: Run, world: World, clock: FixedClock) -> None:
        token = self.invite(run, world, Role.SALES)
        clock.advance(days=8)

        with pytest.raises(InviteInvalid) as refused:
            self.accept(run, token, 5001)

        assert refused.value.reason == "expired"
        assert run(lambda uow: uow.users.by_telegram_id(5001)) is None

    @pytest.mark.parametrize("token", ["garbage token!", "A" * 32, "", "x" * 65])
    def test_an_unknown_token_is_refused(self, run: Run, world: World, token: str) -> None:
        with pytest.raises(InviteInvalid) as refused:
            self.accept(run, token, 5001)

        assert refused.value.reason == "unknown"

    def test_a_registered_telegram_user_cannot_join_again(self, run: Run, world: World) -> None:
        token = self.invite(run, world, Role.SALES)

        with pytest.raises(AlreadyRegistered) as refused:
            self.accept(run, token, 1003)  # Sam Sales

        assert refused.value.user_id == world.sales.user_id
        used = run(lambda uow: uow.invites.by_token_hash(token_hash(token)))
        assert used.used_at is None  # the invite is still good for someone else

    def test_revoking_deactivates_and_a_new_invite_reactivates(
        self, run: Run, world: World
    ) -> None:
        assert world.sales.user_id is not None
        revoked = run(lambda uow: revoke_user(uow, actor=world.owner, user_id=world.sales.user_id))

        assert revoked.active is False
        active_ids = [u.id for u in run(lambda uow: uow.users.list())]
        assert world.sales.user_id not in active_ids
        assert world.sales.user_id in [
            u.id for u in run(lambda uow: uow.users.list(active_only=False))
        ]
        assert actions(run)[-1] == "user.revoke"

        back = self.accept(run, self.invite(run, world, Role.WAREHOUSE), 1003)

        assert (back.id, back.role, back.active) == (world.sales.user_id, Role.WAREHOUSE, True)

    def test_owners_cannot_revoke_themselves(self, run: Run, world: World) -> None:
        assert world.owner.user_id is not None
        with pytest.raises(InvalidInput):
            run(lambda uow: revoke_user(uow, actor=world.owner, user_id=world.owner.user_id))

        assert run(lambda uow: uow.users.get(world.owner.user_id)).active is True


# === audit ================================================================================


class TestAudit:
    def test_a_successful_use_case_leaves_one_entry_with_actor_and_action(
        self, run: Run, world: World
    ) -> None:
        customer = new_customer(run, world.sales, "Audited Ltd")

        entries = run(
            lambda uow: uow.audit.list(object_type="customer", object_id=str(customer.id))
        )

        (entry,) = entries
        assert entry.action == "customer.create"
        assert entry.actor_id == world.sales.user_id
        assert entry.actor_role == "sales"
        assert entry.source == "test"
        assert "Audited Ltd" in entry.after

    def test_refused_use_cases_leave_no_entry(self, run: Run, world: World) -> None:
        before = audit_log(run)

        with pytest.raises(InsufficientStock):
            place(run, world, [line(world.widget, 1000)], "o-1")
        with pytest.raises(NotAllowed):
            place(run, world, [line(world.widget, 1)], "o-2", actor=world.warehouse)
        with pytest.raises(InvalidInput):
            pay(run, world, cny(0), "p-1")

        assert audit_log(run) == before


# === savepoints: a refusal undoes only itself ==============================================


class TestSavepoints:
    def test_failed_order_then_good_order_in_one_unit_of_work(
        self, uow_factory: UnitOfWorkFactory, run: Run, world: World
    ) -> None:
        with uow_factory() as uow:
            with pytest.raises(InsufficientStock):
                place_order(
                    uow,
                    actor=world.sales,
                    customer_id=world.customer.id,
                    lines=[line(world.widget, 10), line(world.rice, 500)],
                    idempotency_key="o-bad",
                )
            placed = place_order(
                uow,
                actor=world.sales,
                customer_id=world.customer.id,
                lines=[line(world.widget, 10)],
                idempotency_key="o-good",
            )
            uow.commit()

        assert placed.order.number == "SO-000001"
        orders = run(lambda uow: uow.orders.list())
        assert [o.idempotency_key for o in orders] == ["o-good"]
        assert stock(run, world.widget).reserved == qty(10)
        assert stock(run, world.rice).reserved == qty(0)
        assert actions(run).count("order.place") == 1
        assert_stock_ledger_balances(run)

    def test_a_failure_after_writes_is_undone_and_earlier_work_kept(
        self, uow_factory: UnitOfWorkFactory, run: Run, world: World
    ) -> None:
        order = place(run, world, [line(world.widget, 150)], "o-1", allow_backorder=True).order

        with uow_factory() as uow:
            extra = place_order(
                uow,
                actor=world.sales,
                customer_id=world.customer.id,
                lines=[line(world.rice, 5)],
                idempotency_key="o-2",
            )
            # creates a shipment (number, lines, audit) and then runs out of widgets
            with pytest.raises(InsufficientStock):
                ship_order(uow, actor=world.warehouse, order_id=order.id)
            assert uow.shipments.for_order(order.id) == []
            receive_stock(
                uow,
                actor=world.warehouse,
                product_id=world.widget.id,
                quantity=qty(50),
                unit_cost=cny(800),
            )
            shipped = ship_order(uow, actor=world.warehouse, order_id=order.id)
            uow.commit()

        assert shipped.shipment.number == "SH-000001"
        assert run(lambda uow: uow.orders.get(extra.order.id)) is not None
        shipments = run(lambda uow: uow.shipments.for_order(order.id))
        assert [s.number for s in shipments] == ["SH-000001"]
        assert order_of(run, order.id).status is OrderStatus.SHIPPED
        assert actions(run).count("shipment.create") == 1
        assert stock(run, world.widget).on_hand == qty(0)
        assert stock(run, world.rice).reserved == qty(5)
        assert_stock_ledger_balances(run)

    def test_nothing_is_saved_without_commit(
        self, uow_factory: UnitOfWorkFactory, run: Run, world: World
    ) -> None:
        with uow_factory() as uow:
            place_order(
                uow,
                actor=world.sales,
                customer_id=world.customer.id,
                lines=[line(world.widget, 10)],
                idempotency_key="o-1",
            )
            assert uow.stock.get(world.widget.id, world.main.id).reserved == qty(10)

        assert run(lambda uow: uow.orders.list()) == []
        assert stock(run, world.widget).reserved == qty(0)


# === ports contract: the conditional updates and unique keys the use cases rely on =========
#
# The use cases check most conditions before writing, so only a race reaches these guards;
# they are exercised directly here so every backend is held to the same rules.


def test_the_fake_implements_every_port_method() -> None:
    """The fake keeps up with domain/ports.py: same methods, same parameter names."""
    fake = FakeDatabase(FixedClock(datetime(2026, 3, 2, tzinfo=UTC))).uow()
    missing: list[str] = []
    for attribute, port in typing.get_type_hints(UnitOfWork).items():
        if not getattr(port, "_is_protocol", False):
            continue
        repository = getattr(fake, attribute)
        for name, method in inspect.getmembers(port, inspect.isfunction):
            if name.startswith("_"):
                continue
            implemented = getattr(repository, name, None)
            wanted = list(inspect.signature(method).parameters)[1:]
            if implemented is None or list(inspect.signature(implemented).parameters) != wanted:
                missing.append(f"{attribute}.{name}")
    assert missing == []
    assert callable(fake.savepoint) and callable(fake.commit) and callable(fake.rollback)


class TestPortsContract:
    def test_stock_balance_never_goes_invalid(self, run: Run, world: World) -> None:
        nut = new_product(run, world.owner, "N-1", "Nut", "pcs", 500, 0)
        where = world.main.id

        def attempt(on_hand: int, reserved: int) -> bool:
            return run(lambda uow: uow.stock.try_change(nut.id, where, on_hand, reserved))

        assert attempt(0, 1_000) is False  # a missing row counts as zero
        assert attempt(-1_000, 0) is False
        assert run(lambda uow: uow.stock.for_product(nut.id)) == []
        assert attempt(5_000, 0) is True  # ... and is created
        assert attempt(0, 6_000) is False
        assert attempt(0, 5_000) is True
        assert attempt(-1_000, 0) is False  # reserved would exceed on hand
        assert attempt(0, -6_000) is False
        balance = stock(run, nut)
        assert (balance.on_hand, balance.reserved) == (qty(5), qty(5))

    def test_order_line_reserved_and_shipped_stay_in_range(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10)], "o-1").order
        line_id = order.lines[0].id

        def attempt(reserved: int, shipped: int) -> bool:
            return run(lambda uow: uow.orders.try_change_line(line_id, reserved, shipped))

        assert attempt(-10_001, 0) is False
        assert attempt(0, 10_001) is False
        assert attempt(0, -1) is False
        assert attempt(-10_000, 10_000) is True
        assert attempt(0, 1) is False
        after = order_of(run, order.id).lines[0]
        assert (after.reserved, after.shipped) == (qty(0), qty(10))

    def test_order_transitions_only_from_the_given_statuses(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 1)], "o-1").order

        def attempt(sources: list[OrderStatus], target: OrderStatus) -> bool:
            return run(lambda uow: uow.orders.try_transition(order.id, sources, target))

        assert attempt([OrderStatus.PENDING_APPROVAL], OrderStatus.CANCELLED) is False
        assert order_of(run, order.id).status is OrderStatus.CONFIRMED
        assert attempt([OrderStatus.DRAFT, OrderStatus.CONFIRMED], OrderStatus.CANCELLED) is True
        assert order_of(run, order.id).status is OrderStatus.CANCELLED

    def test_invoice_outstanding_and_payment_credit_never_go_negative(
        self, run: Run, world: World
    ) -> None:
        order = place(run, world, [line(world.widget, 1)], "o-1").order
        invoice = ship(run, world, order).invoice
        assert invoice is not None
        payment = pay(run, world, cny(2_000), "p-1").payment  # 12.50 to the invoice, 7.50 credit

        assert run(lambda uow: uow.payments.try_reduce_unallocated(payment.id, 751)) is False
        assert run(lambda uow: uow.payments.try_reduce_unallocated(payment.id, 750)) is True
        assert run(lambda uow: uow.payments.get(payment.id)).unallocated == cny(0)

        fresh = run(
            lambda uow: uow.invoices.add(
                number="INV-T1",
                customer_id=world.customer.id,
                order_id=None,
                shipment_id=None,
                amount_minor=1_000,
                currency=CURRENCY,
                issued_on=date(2026, 3, 2),
                due_on=date(2026, 4, 1),
            )
        )
        assert run(lambda uow: uow.invoices.try_reduce_outstanding(fresh, 1_001)) is False
        assert run(lambda uow: uow.invoices.try_reduce_outstanding(fresh, 400)) is True
        assert invoice_of(run, fresh).status is InvoiceStatus.OPEN
        assert run(lambda uow: uow.invoices.try_reduce_outstanding(fresh, 600)) is True
        paid = invoice_of(run, fresh)
        assert (paid.outstanding, paid.status) == (cny(0), InvoiceStatus.PAID)
        assert run(lambda uow: uow.invoices.try_reduce_outstanding(fresh, 1)) is False

    def test_shipment_confirms_once_and_invite_is_used_once(
        self, run: Run, world: World, clock: FixedClock
    ) -> None:
        order = place(run, world, [line(world.widget, 1)], "o-1").order
        draft = run(lambda uow: create_shipment(uow, actor=world.warehouse, order_id=order.id))
        by = world.warehouse.user_id
        now = clock.now()
        assert run(lambda uow: uow.shipments.try_confirm(draft.id, by, now)) is True
        assert run(lambda uow: uow.shipments.try_confirm(draft.id, None, now)) is False
        assert run(lambda uow: uow.shipments.get(draft.id)).confirmed_by == by

        issued = run(lambda uow: create_invite(uow, actor=world.owner, role=Role.SALES))
        first, second = world.sales.user_id, world.sales2.user_id
        invite_id = issued.invite.id
        assert run(lambda uow: uow.invites.try_mark_used(invite_id, first, now)) is True
        assert run(lambda uow: uow.invites.try_mark_used(invite_id, second, now)) is False
        used = run(lambda uow: uow.invites.by_token_hash(token_hash(issued.token)))
        assert (used.used_by, used.used_at) == (first, now)

    def test_sequences_count_per_name_from_one(self, run: Run, world: World) -> None:
        assert run(lambda uow: [uow.sequences.next("T1"), uow.sequences.next("T1")]) == [1, 2]
        assert run(lambda uow: uow.sequences.next("T2")) == 1
        assert run(lambda uow: uow.sequences.next("T1")) == 3

    @pytest.mark.parametrize(
        "duplicate",
        [
            "sku",
            "warehouse",
            "telegram_user",
            "order_key",
            "order_number",
            "payment_key",
            "payment_number",
            "shipment_key",
            "invoice_number",
        ],
    )
    def test_unique_business_keys(
        self, run: Run, world: World, clock: FixedClock, duplicate: str
    ) -> None:
        order = place(run, world, [line(world.widget, 2)], "o-1").order
        shipped = ship(run, world, order, {order.lines[0].id: qty(1)}).shipment
        one_line = [ShipmentLine(order.lines[0].id, world.widget.id, qty(1))]
        order_lines = [(world.widget.id, 1_000, 1250, 0, 0)]
        run(
            lambda uow: uow.shipments.add(
                number="SH-T1",
                order_id=order.id,
                warehouse_id=world.main.id,
                created_by=None,
                created_at=clock.now(),
                idempotency_key="sh-key",
                lines=one_line,
            )
        )
        pay(run, world, cny(100), "p-1")
        now = clock.now()
        today = now.date()
        customer_id = world.customer.id
        cases: dict[str, Callable[[UnitOfWork], object]] = {
            "sku": lambda uow: uow.products.add(
                sku="W-BLUE",
                name="Copy",
                unit="pcs",
                price_minor=1,
                cost_minor=1,
                aliases=(),
                reorder_point_milli=0,
                reorder_qty_milli=0,
                active=True,
                updated_at=now,
            ),
            "warehouse": lambda uow: uow.warehouses.add(code="MAIN", name="Copy", is_default=False),
            "telegram_user": lambda uow: uow.users.add(
                name="Copy",
                role=Role.SALES,
                telegram_user_id=1003,
                customer_id=None,
                language=None,
                created_at=now,
            ),
            "order_key": lambda uow: add_order(uow, "SO-T1", "o-1"),
            "order_number": lambda uow: add_order(uow, order.number, "o-new"),
            "payment_key": lambda uow: add_payment(uow, "PAY-T1", "p-1"),
            "payment_number": lambda uow: add_payment(uow, "PAY-000001", "p-new"),
            "shipment_key": lambda uow: uow.shipments.add(
                number="SH-T2",
                order_id=order.id,
                warehouse_id=world.main.id,
                created_by=None,
                created_at=now,
                idempotency_key="sh-key",
                lines=one_line,
            ),
            "invoice_number": lambda uow: uow.invoices.add(
                number="INV-000001",
                customer_id=customer_id,
                order_id=None,
                shipment_id=None,
                amount_minor=1,
                currency=CURRENCY,
                issued_on=today,
                due_on=today,
            ),
        }

        def add_order(uow: UnitOfWork, number: str, key: str) -> int:
            return uow.orders.add(
                number=number,
                customer_id=customer_id,
                sales_rep_id=None,
                created_by=None,
                status=OrderStatus.CONFIRMED,
                hold_reason=None,
                warehouse_id=world.main.id,
                total_minor=0,
                currency=CURRENCY,
                created_at=now,
                idempotency_key=key,
                note="",
                lines=order_lines,
            )

        def add_payment(uow: UnitOfWork, number: str, key: str) -> int:
            return uow.payments.add(
                number=number,
                customer_id=customer_id,
                amount_minor=1,
                currency=CURRENCY,
                method=PaymentMethod.CASH,
                received_on=today,
                recorded_by=None,
                recorded_at=now,
                idempotency_key=key,
                note="",
            )

        # DuplicateKey, or TransientConflict where storage treats the violation as a lost race
        # (domain/errors.py); never a raw driver error, and nothing written.
        with pytest.raises((DuplicateKey, TransientConflict)):
            run(cases[duplicate])

        assert shipped.number == "SH-000001"
        assert len(run(lambda uow: uow.products.list())) == 2
        assert len(run(lambda uow: uow.orders.list())) == 1
        assert len(run(lambda uow: uow.payments.for_customer(customer_id))) == 1


# === returns ==============================================================================


def give_back(
    run: Run, world: World, order: SalesOrder, quantities: Mapping[int, Quantity], key: str
) -> Any:
    return run(
        lambda uow: return_goods(
            uow,
            actor=world.warehouse,
            order_id=order.id,
            quantities=quantities,
            reason="damaged in transit",
            idempotency_key=key,
        )
    )


class TestReturns:
    def test_return_restocks_and_credits_the_invoice(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 10, discount_bp=1000)], "o-ret").order
        shipped = ship(run, world, order)
        assert shipped.invoice is not None and shipped.invoice.amount == cny(11250)

        result = give_back(run, world, order, {order.lines[0].id: qty(2)}, "ret-1")

        note = result.credit_note
        assert note.payment.number == "CN-000001"
        assert note.payment.method is PaymentMethod.CREDIT_NOTE
        assert note.payment.amount == cny(2250)  # 2 x 12.50 less 10 %
        assert invoice_of(run, shipped.invoice.id).outstanding == cny(9000)
        assert result.order.lines[0].returned == qty(2)
        assert stock(run, world.widget).on_hand == qty(92)
        assert [m.kind for m in moves(run, world.widget)][-1] is MoveKind.RETURN
        assert customer_of(run, world.customer.id).balance == cny(9000)
        assert "order.return" in actions(run)
        assert_stock_ledger_balances(run)
        assert_money_ledger_balances(run, world.customer)

    def test_return_of_a_paid_order_leaves_credit(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 4)], "o-paid").order
        ship(run, world, order)
        pay(run, world, cny(5000), "p-all")

        result = give_back(run, world, order, {order.lines[0].id: qty(1)}, "ret-paid")

        assert result.credit_note.credit_left == cny(1250)
        assert customer_of(run, world.customer.id).balance == cny(-1250)
        assert_money_ledger_balances(run, world.customer)

    def test_replayed_return_counts_once_and_over_return_is_refused(
        self, run: Run, world: World
    ) -> None:
        order = place(run, world, [line(world.widget, 3)], "o-twice").order
        ship(run, world, order)
        line_id = order.lines[0].id
        first = give_back(run, world, order, {line_id: qty(2)}, "ret-same")
        again = give_back(run, world, order, {line_id: qty(2)}, "ret-same")
        assert again.credit_note.created is False
        assert again.credit_note.payment.number == first.credit_note.payment.number
        with pytest.raises(InvalidInput) as refused:
            give_back(run, world, order, {line_id: qty(2)}, "ret-more")
        assert refused.value.reason == "more_than_shipped"
        assert stock(run, world.widget).on_hand == qty(99)

    def test_unshipped_orders_and_sales_staff_cannot_return(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 3)], "o-open").order
        with pytest.raises(InvalidState):
            give_back(run, world, order, {order.lines[0].id: qty(1)}, "ret-open")
        ship(run, world, order)
        with pytest.raises(NotAllowed):
            run(
                lambda uow: return_goods(
                    uow,
                    actor=world.sales,
                    order_id=order.id,
                    quantities={order.lines[0].id: qty(1)},
                    reason="x",
                    idempotency_key="ret-sales",
                )
            )

    def test_statement_shows_the_credit_note(self, run: Run, world: World) -> None:
        order = place(run, world, [line(world.widget, 2)], "o-stmt").order
        ship(run, world, order)
        give_back(run, world, order, {order.lines[0].id: qty(1)}, "ret-stmt")
        today = date(2026, 3, 2)
        found = run(
            lambda uow: statement(
                uow, actor=world.owner, customer_id=world.customer.id, start=today, end=today
            )
        )
        assert [(entry.kind, entry.balance) for entry in found.lines] == [
            ("invoice", cny(2500)),
            ("credit_note", cny(1250)),
        ]

    def test_payments_cannot_be_typed_in_as_credit_notes(self, run: Run, world: World) -> None:
        with pytest.raises(InvalidInput):
            run(
                lambda uow: record_payment(
                    uow,
                    actor=world.sales,
                    customer_id=world.customer.id,
                    amount=cny(100),
                    method=PaymentMethod.CREDIT_NOTE,
                    idempotency_key="fake-cn",
                )
            )
