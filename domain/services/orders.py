"""Sales orders: placement with reservation and credit control, approval, cancellation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.errors import (
    AlreadyDecided,
    IdempotencyKeyReused,
    InsufficientStock,
    InvalidInput,
    InvalidState,
    NotAllowed,
    NotFound,
    Shortage,
)
from domain.events import OrderCancelled, OrderDecided, OrderPlaced, StockChanged
from domain.model import (
    OPEN_ORDER_STATUSES,
    Actor,
    Customer,
    HoldReason,
    MoveKind,
    OrderStatus,
    Product,
    Role,
    SalesOrder,
)
from domain.money import Money, round_half_even
from domain.ports import UnitOfWork
from domain.quantity import SCALE, Quantity
from domain.services.common import (
    audit,
    clean_text,
    document_number,
    get_customer,
    get_warehouse,
    require_role,
    use_case,
)
from domain.services.stock import check_quantity, move
from domain.services.users import user_name

ORDER_TAKERS = (Role.OWNER, Role.SALES)
MAX_LINES = 100
MAX_KEY_CHARS = 64
FULL_PERCENT_BP = 10_000


@dataclass(frozen=True, slots=True)
class LineRequest:
    product_id: int
    quantity: Quantity
    unit_price: Money | None = None  # None: the product's list price
    discount_bp: int = 0


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: SalesOrder
    created: bool  # False when the idempotency key replayed an earlier placement


def line_amount(quantity: Quantity, unit_price: Money, discount_bp: int) -> Money:
    """quantity x price x (1 - discount), rounded half-even once, in minor units."""
    numerator = quantity.milli * unit_price.minor * (FULL_PERCENT_BP - discount_bp)
    return Money(round_half_even(numerator, SCALE * FULL_PERCENT_BP), unit_price.currency)


def check_key(key: str) -> str:
    clean = (key or "").strip()
    if not clean or len(clean) > MAX_KEY_CHARS:
        raise InvalidInput("idempotency_key", "bad_key", key or "")
    return clean


def open_orders_value(uow: UnitOfWork, customer_id: int, currency: str) -> Money:
    """Value of what is ordered but not yet invoiced (pending, confirmed, partly shipped)."""
    total = Money.zero(currency)
    for order in uow.orders.list(
        customer_id=customer_id, statuses=OPEN_ORDER_STATUSES, limit=10_000
    ):
        for line in order.lines:
            total += line_amount(line.quantity, line.unit_price, line.discount_bp)
            total -= line_amount(line.shipped, line.unit_price, line.discount_bp)
    return total


def credit_hold(
    uow: UnitOfWork, customer: Customer, order_total: Money, today: date
) -> HoldReason | None:
    """Why an order must wait for an owner: overdue invoices, or over the credit limit."""
    for invoice in uow.invoices.open([customer.id]):
        if (today - invoice.due_on).days > uow.policy.credit_hold_overdue_days:
            return HoldReason.OVERDUE
    if customer.credit_limit is None:
        return None
    balance = customer.balance.minor if customer.balance is not None else 0
    exposure = (
        balance
        + open_orders_value(uow, customer.id, order_total.currency).minor
        + order_total.minor
    )
    return HoldReason.CREDIT_LIMIT if exposure > customer.credit_limit.minor else None


def _check_lines(
    uow: UnitOfWork, lines: Sequence[LineRequest]
) -> tuple[dict[int, Product], list[tuple[LineRequest, Money]]]:
    if not lines:
        raise InvalidInput("lines", "empty")
    if len(lines) > MAX_LINES:
        raise InvalidInput("lines", "too_many", str(len(lines)), maximum=MAX_LINES)
    products = uow.products.get_many([line.product_id for line in lines])
    priced: list[tuple[LineRequest, Money]] = []
    for line in lines:
        product = products.get(line.product_id)
        if product is None or not product.active:
            raise NotFound("product", line.product_id)
        check_quantity(product, line.quantity)
        price = product.price if line.unit_price is None else line.unit_price
        if price.currency != uow.policy.currency:
            raise InvalidInput("price", "wrong_currency", str(price))
        if price.minor < 0:
            raise InvalidInput("price", "negative", str(price))
        if not 0 <= line.discount_bp <= FULL_PERCENT_BP:
            raise InvalidInput("discount", "out_of_range", str(line.discount_bp))
        priced.append((line, price))
    return products, priced


@use_case
def place_order(
    uow: UnitOfWork,
    *,
    actor: Actor,
    customer_id: int,
    lines: Sequence[LineRequest],
    idempotency_key: str,
    warehouse_id: int | None = None,
    allow_backorder: bool = False,
    note: str = "",
) -> PlacedOrder:
    """Place an order: reserve stock, check credit, and number it; a replayed key returns it.

    With ``allow_backorder`` a line takes what is available now and the rest waits;
    otherwise any shortage refuses the whole order with every short line listed.
    """
    require_role(actor, ORDER_TAKERS, "place_order")
    key = check_key(idempotency_key)
    existing = uow.orders.by_idempotency_key(key)
    if existing is not None:
        asked = sorted((line.product_id, line.quantity.milli) for line in lines)
        placed = sorted((line.product_id, line.quantity.milli) for line in existing.lines)
        if existing.customer_id != customer_id or asked != placed:
            raise IdempotencyKeyReused(key)
        return PlacedOrder(existing, created=False)
    customer = get_customer(uow, customer_id)
    if not customer.active:
        raise InvalidState("customer", customer.name, "inactive", "place_order")
    warehouse = get_warehouse(uow, warehouse_id)
    products, priced = _check_lines(uow, lines)
    locked = uow.customers.get_locked(customer.id)  # fresh balance, held until commit
    assert locked is not None
    customer = locked

    available = {
        pid: balance.available.milli
        for pid, balance in uow.stock.for_products(list(products), warehouse.id).items()
    }
    # A shortage is reported per product: everything the order asks for against what was
    # available before any of its lines took some.
    on_shelf = dict(available)
    wanted: dict[int, int] = defaultdict(int)
    for line, _ in priced:
        wanted[line.product_id] += line.quantity.milli
    reserved: list[int] = []
    shortages: dict[int, Shortage] = {}
    for line, _ in priced:
        left = available.get(line.product_id, 0)
        take = min(line.quantity.milli, max(left, 0))
        if take < line.quantity.milli and not allow_backorder:
            product = products[line.product_id]
            shortages[product.id] = Shortage(
                product.id,
                product.sku,
                product.name,
                wanted[product.id],
                max(on_shelf.get(product.id, 0), 0),
            )
        available[line.product_id] = left - take
        reserved.append(take)
    if shortages:
        raise InsufficientStock(list(shortages.values()))

    total = sum(
        (line_amount(line.quantity, price, line.discount_bp) for line, price in priced),
        Money.zero(uow.policy.currency),
    )
    now = uow.clock.now()
    hold = credit_hold(uow, customer, total, now.date())
    status = OrderStatus.PENDING_APPROVAL if hold else OrderStatus.CONFIRMED
    number = document_number(uow, "SO")
    order_id = uow.orders.add(
        number=number,
        customer_id=customer.id,
        sales_rep_id=customer.sales_rep_id if customer.sales_rep_id is not None else actor.user_id,
        created_by=actor.user_id,
        status=status,
        hold_reason=hold,
        warehouse_id=warehouse.id,
        total_minor=total.minor,
        currency=total.currency,
        created_at=now,
        idempotency_key=key,
        note=clean_text(note, "note"),
        lines=[
            (line.product_id, line.quantity.milli, price.minor, line.discount_bp, take)
            for (line, price), take in zip(priced, reserved, strict=True)
        ],
    )
    per_product: dict[int, int] = defaultdict(int)
    for (line, _), take in zip(priced, reserved, strict=True):
        per_product[line.product_id] += take
    # Lock balance rows in product-id order so concurrent orders cannot deadlock.
    for product_id in sorted(per_product):
        if per_product[product_id]:
            move(
                uow,
                actor,
                product=products[product_id],
                warehouse_id=warehouse.id,
                kind=MoveKind.RESERVATION,
                on_hand_delta=0,
                reserved_delta=per_product[product_id],
                source_type="order",
                source_id=order_id,
            )
            uow.events.append(StockChanged(product_id, warehouse.id))
    audit(
        uow,
        actor,
        "order.place",
        "order",
        number,
        after={
            "customer_id": customer.id,
            "total": total.minor,
            "status": status,
            "hold": hold,
            "lines": len(priced),
            "backorder": sum(reserved) < sum(li.quantity.milli for li, _ in priced),
        },
    )
    uow.events.append(OrderPlaced(order_id, number, customer.id, needs_approval=hold is not None))
    order = uow.orders.get(order_id)
    assert order is not None
    return PlacedOrder(order, created=True)


def get_order(uow: UnitOfWork, order_id: int) -> SalesOrder:
    order = uow.orders.get(order_id)
    if order is None:
        raise NotFound("order", order_id)
    return order


def release_reservations(uow: UnitOfWork, actor: Actor, order: SalesOrder) -> None:
    """Give back what an order still holds, line by line, in product-id order."""
    products = uow.products.get_many([line.product_id for line in order.lines])
    for line in sorted(order.lines, key=lambda li: (li.product_id, li.id)):
        if line.reserved.milli <= 0:
            continue
        if not uow.orders.try_change_line(line.id, -line.reserved.milli, 0):
            raise InvalidState("order", order.number, str(order.status), "release")
        move(
            uow,
            actor,
            product=products[line.product_id],
            warehouse_id=order.warehouse_id,
            kind=MoveKind.RELEASE,
            on_hand_delta=0,
            reserved_delta=-line.reserved.milli,
            source_type="order",
            source_id=order.id,
        )
        uow.events.append(StockChanged(line.product_id, order.warehouse_id))


@use_case
def decide_order(
    uow: UnitOfWork, *, actor: Actor, order_id: int, approve: bool, reason: str = ""
) -> SalesOrder:
    """An owner approves (-> confirmed) or rejects (-> cancelled, stock released) a held order."""
    require_role(actor, (Role.OWNER,), "approve_order")
    order = get_order(uow, order_id)
    target = OrderStatus.CONFIRMED if approve else OrderStatus.CANCELLED
    now = uow.clock.now()
    if not uow.orders.try_transition(
        order.id, [OrderStatus.PENDING_APPROVAL], target, decided_by=actor.user_id, decided_at=now
    ):
        current = get_order(uow, order_id)
        if current.decided_by is not None or current.decided_at is not None:
            raise AlreadyDecided(
                current.number,
                str(current.status),
                user_name(uow, current.decided_by),
                current.decided_at,
            )
        raise InvalidState("order", current.number, str(current.status), "approve")
    if not approve:
        release_reservations(uow, actor, order)
    audit(
        uow,
        actor,
        "order.approve" if approve else "order.reject",
        "order",
        order.number,
        before={"status": order.status},
        after={"status": target, "reason": clean_text(reason, "reason")},
    )
    uow.events.append(OrderDecided(order.id, order.number, approve, actor.user_id))
    return get_order(uow, order.id)


@use_case
def cancel_order(uow: UnitOfWork, *, actor: Actor, order_id: int, reason: str = "") -> SalesOrder:
    """Cancel what has not shipped: nothing shipped -> cancelled; part shipped -> rest dropped."""
    require_role(actor, ORDER_TAKERS, "cancel_order")
    uow.orders.lock(order_id)
    order = get_order(uow, order_id)
    if actor.role is Role.SALES and actor.user_id not in (order.created_by, order.sales_rep_id):
        raise NotAllowed("cancel_other_reps_order", str(actor.role))
    if order.status in (OrderStatus.PENDING_APPROVAL, OrderStatus.CONFIRMED, OrderStatus.DRAFT):
        target = OrderStatus.CANCELLED
    elif order.status is OrderStatus.PARTIALLY_SHIPPED:
        target = OrderStatus.SHIPPED
    else:
        raise InvalidState("order", order.number, str(order.status), "cancel")
    if not uow.orders.try_transition(order.id, [order.status], target):
        raise InvalidState("order", order.number, str(order.status), "cancel")
    release_reservations(uow, actor, order)
    audit(
        uow,
        actor,
        "order.cancel",
        "order",
        order.number,
        before={"status": order.status},
        after={"status": target, "reason": clean_text(reason, "reason")},
    )
    uow.events.append(OrderCancelled(order.id, order.number))
    if target is OrderStatus.SHIPPED:
        close_if_settled(uow, order.id)
    return get_order(uow, order.id)


def close_if_settled(uow: UnitOfWork, order_id: int) -> None:
    """A fully shipped order whose invoices are all paid becomes closed."""
    uow.orders.try_close(order_id)
