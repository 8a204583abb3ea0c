"""Shipments: whole or partial, confirmed once; each confirmation invoices what shipped."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from domain.errors import (
    AlreadyShipped,
    IdempotencyKeyReused,
    InvalidInput,
    InvalidState,
    NotFound,
    NothingToShip,
)
from domain.events import ShipmentConfirmed, ShipmentProblemReported, StockChanged
from domain.model import (
    Actor,
    Customer,
    Invoice,
    InvoiceStatus,
    MoveKind,
    OrderStatus,
    Product,
    Role,
    SalesOrder,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
)
from domain.money import Money
from domain.ports import UnitOfWork
from domain.quantity import Quantity
from domain.services.common import (
    audit,
    clean_text,
    document_number,
    get_warehouse,
    require_role,
    use_case,
)
from domain.services.orders import check_key, close_if_settled, get_order, line_amount
from domain.services.payments import apply_credit
from domain.services.stock import move
from domain.services.users import user_name

SHIPPERS = (Role.OWNER, Role.WAREHOUSE)
SHIPPABLE = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED)
PROBLEM_ACTION = "order.problem"
MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class ShipmentResult:
    shipment: Shipment
    order: SalesOrder
    invoice: Invoice | None


def _already_shipped(uow: UnitOfWork, order: SalesOrder) -> AlreadyShipped:
    confirmed = [
        s for s in uow.shipments.for_order(order.id) if s.status is ShipmentStatus.CONFIRMED
    ]
    last = max(confirmed, key=lambda s: (s.confirmed_at or s.created_at, s.id), default=None)
    if last is None:
        return AlreadyShipped(order.number, "", None)
    return AlreadyShipped(order.number, user_name(uow, last.confirmed_by), last.confirmed_at)


def _shippable_order(uow: UnitOfWork, order_id: int) -> SalesOrder:
    """The order, locked, if it can still ship; otherwise the right refusal."""
    uow.orders.lock(order_id)
    order = get_order(uow, order_id)
    if order.status in (OrderStatus.SHIPPED, OrderStatus.CLOSED):
        raise _already_shipped(uow, order)
    if order.status not in SHIPPABLE:
        raise InvalidState("order", order.number, str(order.status), "ship")
    return order


@use_case
def create_shipment(
    uow: UnitOfWork,
    *,
    actor: Actor,
    order_id: int,
    quantities: Mapping[int, Quantity] | None = None,
    warehouse_id: int | None = None,
    idempotency_key: str | None = None,
) -> Shipment:
    """A draft shipment for chosen quantities per order line (None: everything remaining)."""
    return _plan(uow, actor, order_id, quantities, warehouse_id, idempotency_key).shipment


@dataclass(frozen=True, slots=True)
class _Plan:
    """A draft shipment with the (locked) order and products it was planned from."""

    shipment: Shipment
    order: SalesOrder | None  # None when an idempotency key replayed an earlier shipment
    products: Mapping[int, Product]


def _plan(
    uow: UnitOfWork,
    actor: Actor,
    order_id: int,
    quantities: Mapping[int, Quantity] | None,
    warehouse_id: int | None,
    idempotency_key: str | None,
) -> _Plan:
    require_role(actor, SHIPPERS, "ship")
    key = check_key(idempotency_key) if idempotency_key is not None else None
    if key is not None:
        existing = uow.shipments.by_idempotency_key(key)
        if existing is not None:
            if existing.order_id != order_id:
                raise IdempotencyKeyReused(key)
            return _Plan(existing, None, {})
    order = _shippable_order(uow, order_id)
    warehouse = get_warehouse(uow, warehouse_id if warehouse_id is not None else order.warehouse_id)
    known = {line.id for line in order.lines}
    for line_id in quantities or {}:
        if line_id not in known:
            raise NotFound("order_line", line_id)
    products = uow.products.get_many([line.product_id for line in order.lines])
    planned: list[ShipmentLine] = []
    for line in order.lines:
        quantity = line.remaining if quantities is None else quantities.get(line.id, Quantity(0))
        if quantity.milli < 0:
            raise InvalidInput("quantity", "negative", str(quantity))
        if quantity.milli == 0:
            continue
        if quantity > line.remaining:
            raise InvalidInput(
                "quantity", "more_than_remaining", str(quantity), remaining=str(line.remaining)
            )
        if quantity.decimals > products[line.product_id].decimals:
            raise InvalidInput(
                "quantity",
                "too_many_decimals",
                str(quantity),
                decimals=products[line.product_id].decimals,
            )
        planned.append(
            ShipmentLine(order_line_id=line.id, product_id=line.product_id, quantity=quantity)
        )
    if not planned:
        raise NothingToShip(order.number)
    number = document_number(uow, "SH")
    now = uow.clock.now()
    shipment_id = uow.shipments.add(
        number=number,
        order_id=order.id,
        warehouse_id=warehouse.id,
        created_by=actor.user_id,
        created_at=now,
        idempotency_key=key,
        lines=planned,
    )
    shipment = Shipment(
        id=shipment_id,
        number=number,
        order_id=order.id,
        warehouse_id=warehouse.id,
        status=ShipmentStatus.DRAFT,
        created_by=actor.user_id,
        created_at=now,
        lines=tuple(planned),
        idempotency_key=key,
    )
    audit(
        uow,
        actor,
        "shipment.create",
        "shipment",
        shipment.number,
        after={
            "order": order.number,
            "lines": {str(sl.order_line_id): str(sl.quantity) for sl in planned},
        },
    )
    return _Plan(shipment, order, products)


@use_case
def confirm_shipment(uow: UnitOfWork, *, actor: Actor, shipment_id: int) -> ShipmentResult:
    """Ship: stock leaves, cost of goods is recorded and the shipped part is invoiced. Once."""
    require_role(actor, SHIPPERS, "ship")
    shipment = uow.shipments.get(shipment_id)
    if shipment is None:
        raise NotFound("shipment", shipment_id)
    return _confirm(uow, actor, shipment)


def _confirm(
    uow: UnitOfWork,
    actor: Actor,
    shipment: Shipment,
    order: SalesOrder | None = None,
    products: Mapping[int, Product] | None = None,
) -> ShipmentResult:
    """Confirm a draft shipment; ``ship_order`` passes the order and products it has just
    read under the order's lock, so they are not read again."""
    now = uow.clock.now()
    if not uow.shipments.try_confirm(shipment.id, actor.user_id, now):
        current = uow.shipments.get(shipment.id)
        assert current is not None
        if current.status is ShipmentStatus.CONFIRMED:
            raise AlreadyShipped(
                current.number, user_name(uow, current.confirmed_by), current.confirmed_at
            )
        raise InvalidState("shipment", current.number, str(current.status), "confirm")
    if order is None or products is None:
        order = _shippable_order(uow, shipment.order_id)
        products = uow.products.get_many([line.product_id for line in order.lines])
    # Invoicing needs the customer's lock; take it now, before any stock row. Placing an order
    # locks customer -> stock, so stock -> customer here would deadlock with it.
    customer = uow.customers.get_locked(order.customer_id)
    assert customer is not None
    lines = {line.id: line for line in order.lines}
    new_lines = dict(lines)
    amount = Money.zero(order.total.currency)
    for planned in sorted(shipment.lines, key=lambda sl: (sl.product_id, sl.order_line_id)):
        line = lines[planned.order_line_id]
        product = products[line.product_id]
        quantity = planned.quantity.milli
        if quantity > line.remaining.milli:
            raise InvalidInput(
                "quantity",
                "more_than_remaining",
                str(planned.quantity),
                remaining=str(line.remaining),
            )
        from_reservation = min(line.reserved.milli, quantity)
        if not uow.orders.try_change_line(line.id, -from_reservation, quantity):
            raise _already_shipped(uow, order)
        if shipment.warehouse_id == order.warehouse_id:
            to_reserve = quantity - from_reservation  # a backordered part: reserve it now
        else:
            # Moving a reservation between warehouses touches two balance rows of one
            # product; the product lock keeps opposite moves from deadlocking.
            uow.products.lock(product.id)
            if from_reservation:
                move(
                    uow,
                    actor,
                    product=product,
                    warehouse_id=order.warehouse_id,
                    kind=MoveKind.RELEASE,
                    on_hand_delta=0,
                    reserved_delta=-from_reservation,
                    source_type="shipment",
                    source_id=shipment.id,
                )
                uow.events.append(StockChanged(product.id, order.warehouse_id))
            to_reserve = quantity
        if to_reserve:
            move(
                uow,
                actor,
                product=product,
                warehouse_id=shipment.warehouse_id,
                kind=MoveKind.RESERVATION,
                on_hand_delta=0,
                reserved_delta=to_reserve,
                source_type="shipment",
                source_id=shipment.id,
            )
        move(
            uow,
            actor,
            product=product,
            warehouse_id=shipment.warehouse_id,
            kind=MoveKind.SHIPMENT,
            on_hand_delta=-quantity,
            reserved_delta=-quantity,
            source_type="shipment",
            source_id=shipment.id,
            unit_cost=product.cost,
        )
        uow.events.append(StockChanged(product.id, shipment.warehouse_id))
        uow.shipments.set_line_cost(shipment.id, line.id, product.cost.minor)
        shipped_after = line.shipped + planned.quantity
        new_lines[line.id] = dataclasses.replace(
            line, shipped=shipped_after, reserved=line.reserved - Quantity(from_reservation)
        )
        # Invoice the difference of cumulative amounts, so partial invoices add up to the order.
        amount += line_amount(shipped_after, line.unit_price, line.discount_bp)
        amount -= line_amount(line.shipped, line.unit_price, line.discount_bp)
    # What the order looks like now, without reading it back (each line change above was a
    # conditional update that succeeded).
    refreshed = dataclasses.replace(order, lines=tuple(new_lines[line.id] for line in order.lines))
    fully = all(line.remaining.milli == 0 for line in refreshed.lines)
    costs = {line.order_line_id: products[line.product_id].cost for line in shipment.lines}
    target = OrderStatus.SHIPPED if fully else OrderStatus.PARTIALLY_SHIPPED
    if target is not refreshed.status and not uow.orders.try_transition(
        order.id, SHIPPABLE, target
    ):
        raise _already_shipped(uow, refreshed)
    invoice = (
        issue_invoice(uow, actor, refreshed, customer, shipment.id, amount)
        if amount.minor > 0
        else None
    )
    audit(
        uow,
        actor,
        "shipment.confirm",
        "shipment",
        shipment.number,
        before={"order_status": order.status},
        after={
            "order_status": target,
            "invoice": invoice.number if invoice else None,
            "amount": amount.minor,
        },
    )
    uow.events.append(
        ShipmentConfirmed(shipment.id, order.id, invoice.id if invoice else None, fully)
    )
    shipped_order = dataclasses.replace(refreshed, status=target)
    if fully and (invoice is None or invoice.status is InvoiceStatus.PAID):
        close_if_settled(uow, order.id)  # paid from credit: nothing more to collect
        shipped_order = get_order(uow, order.id)
    confirmed = dataclasses.replace(
        shipment,
        status=ShipmentStatus.CONFIRMED,
        confirmed_by=actor.user_id,
        confirmed_at=now,
        lines=tuple(
            dataclasses.replace(line, unit_cost=costs[line.order_line_id])
            for line in shipment.lines
        ),
    )
    return ShipmentResult(confirmed, shipped_order, invoice)


@use_case
def ship_order(
    uow: UnitOfWork,
    *,
    actor: Actor,
    order_id: int,
    quantities: Mapping[int, Quantity] | None = None,
    warehouse_id: int | None = None,
    idempotency_key: str | None = None,
) -> ShipmentResult:
    """Create and confirm a shipment in one step (the "Ship all" / "Partial" buttons)."""
    plan = _plan(uow, actor, order_id, quantities, warehouse_id, idempotency_key)
    shipment = plan.shipment
    if shipment.status is ShipmentStatus.CONFIRMED:  # a replayed idempotency key
        order = get_order(uow, shipment.order_id)
        invoices = [
            inv for inv in uow.invoices.for_order(order.id) if inv.shipment_id == shipment.id
        ]
        return ShipmentResult(shipment, order, invoices[0] if invoices else None)
    return _confirm(uow, actor, shipment, plan.order, plan.products)


def issue_invoice(
    uow: UnitOfWork,
    actor: Actor,
    order: SalesOrder,
    customer: Customer,
    shipment_id: int,
    amount: Money,
) -> Invoice:
    """Receivable for what shipped, due after the customer's payment terms; credit applies first.

    ``customer`` was read under its lock, so its balance is current.
    """
    today = uow.clock.now().date()
    number = document_number(uow, "INV")
    invoice_id = uow.invoices.add(
        number=number,
        customer_id=customer.id,
        order_id=order.id,
        shipment_id=shipment_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        issued_on=today,
        due_on=today + timedelta(days=customer.payment_terms_days),
    )
    # The caller holds the customer lock. Credit (unallocated payments) exists exactly when
    # the balance is negative: payments settle open invoices before becoming credit.
    uow.customers.add_to_balance(customer.id, amount.minor)
    has_credit = customer.balance is not None and customer.balance.minor < 0
    if has_credit:
        apply_credit(uow, customer.id, invoice_id)
    audit(
        uow,
        actor,
        "invoice.issue",
        "invoice",
        number,
        after={"customer_id": customer.id, "amount": amount.minor, "order": order.number},
    )
    if has_credit:
        invoice = uow.invoices.get(invoice_id)
        assert invoice is not None
        return invoice
    return Invoice(
        id=invoice_id,
        number=number,
        customer_id=customer.id,
        order_id=order.id,
        shipment_id=shipment_id,
        amount=amount,
        outstanding=amount,
        issued_on=today,
        due_on=today + timedelta(days=customer.payment_terms_days),
    )


@use_case
def report_problem(uow: UnitOfWork, *, actor: Actor, order_id: int, reason: str) -> SalesOrder:
    """The warehouse cannot ship an order as it stands: the reason is kept (audit) and the
    salesperson hears about it."""
    require_role(actor, SHIPPERS, "report_problem")
    order = _shippable_order(uow, order_id)
    why = clean_text(reason, "reason", required=True, limit=MAX_REASON_CHARS)
    audit(uow, actor, PROBLEM_ACTION, "order", order.number, after={"reason": why})
    at = uow.clock.now().isoformat(timespec="microseconds")
    uow.events.append(ShipmentProblemReported(order.id, order.number, actor.user_id, why, at))
    return order
