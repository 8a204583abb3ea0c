"""Shipments: whole or partial, confirmed once; each confirmation invoices what shipped."""

from __future__ import annotations

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
from domain.events import ShipmentConfirmed, StockChanged
from domain.model import (
    Actor,
    Invoice,
    MoveKind,
    OrderStatus,
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
    document_number,
    get_customer,
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
    require_role(actor, SHIPPERS, "ship")
    key = check_key(idempotency_key) if idempotency_key is not None else None
    if key is not None:
        existing = uow.shipments.by_idempotency_key(key)
        if existing is not None:
            if existing.order_id != order_id:
                raise IdempotencyKeyReused(key)
            return existing
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
    shipment_id = uow.shipments.add(
        number=document_number(uow, "SH"),
        order_id=order.id,
        warehouse_id=warehouse.id,
        created_by=actor.user_id,
        created_at=uow.clock.now(),
        idempotency_key=key,
        lines=planned,
    )
    shipment = uow.shipments.get(shipment_id)
    assert shipment is not None
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
    return shipment


@use_case
def confirm_shipment(uow: UnitOfWork, *, actor: Actor, shipment_id: int) -> ShipmentResult:
    """Ship: stock leaves, cost of goods is recorded and the shipped part is invoiced. Once."""
    require_role(actor, SHIPPERS, "ship")
    shipment = uow.shipments.get(shipment_id)
    if shipment is None:
        raise NotFound("shipment", shipment_id)
    now = uow.clock.now()
    if not uow.shipments.try_confirm(shipment.id, actor.user_id, now):
        current = uow.shipments.get(shipment.id)
        assert current is not None
        if current.status is ShipmentStatus.CONFIRMED:
            raise AlreadyShipped(
                current.number, user_name(uow, current.confirmed_by), current.confirmed_at
            )
        raise InvalidState("shipment", current.number, str(current.status), "confirm")
    order = _shippable_order(uow, shipment.order_id)
    # Invoicing locks the customer; take that lock now, before any stock row. Placing an order
    # locks customer -> stock, so stock -> customer here would deadlock with it.
    uow.customers.lock(order.customer_id)
    lines = {line.id: line for line in order.lines}
    products = uow.products.get_many([line.product_id for line in order.lines])
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
        # Invoice the difference of cumulative amounts, so partial invoices add up to the order.
        amount += line_amount(shipped_after, line.unit_price, line.discount_bp)
        amount -= line_amount(line.shipped, line.unit_price, line.discount_bp)
    refreshed = get_order(uow, order.id)
    fully = all(line.remaining.milli == 0 for line in refreshed.lines)
    target = OrderStatus.SHIPPED if fully else OrderStatus.PARTIALLY_SHIPPED
    if target is not refreshed.status and not uow.orders.try_transition(
        order.id, SHIPPABLE, target
    ):
        raise _already_shipped(uow, refreshed)
    invoice = (
        issue_invoice(uow, actor, refreshed, shipment.id, amount) if amount.minor > 0 else None
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
    close_if_settled(uow, order.id)
    confirmed = uow.shipments.get(shipment.id)
    assert confirmed is not None
    return ShipmentResult(
        confirmed, get_order(uow, order.id), uow.invoices.get(invoice.id) if invoice else None
    )


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
    shipment = create_shipment(
        uow,
        actor=actor,
        order_id=order_id,
        quantities=quantities,
        warehouse_id=warehouse_id,
        idempotency_key=idempotency_key,
    )
    if shipment.status is ShipmentStatus.CONFIRMED:  # a replayed idempotency key
        order = get_order(uow, shipment.order_id)
        invoices = [
            inv for inv in uow.invoices.for_order(order.id) if inv.shipment_id == shipment.id
        ]
        return ShipmentResult(shipment, order, invoices[0] if invoices else None)
    return confirm_shipment(uow, actor=actor, shipment_id=shipment.id)


def issue_invoice(
    uow: UnitOfWork, actor: Actor, order: SalesOrder, shipment_id: int, amount: Money
) -> Invoice:
    """Receivable for what shipped, due after the customer's payment terms; credit applies first."""
    customer = get_customer(uow, order.customer_id)
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
    uow.customers.lock(customer.id)
    uow.customers.add_to_balance(customer.id, amount.minor)
    apply_credit(uow, customer.id, invoice_id)
    audit(
        uow,
        actor,
        "invoice.issue",
        "invoice",
        number,
        after={"customer_id": customer.id, "amount": amount.minor, "order": order.number},
    )
    invoice = uow.invoices.get(invoice_id)
    assert invoice is not None
    return invoice
