"""Customer returns: goods back into stock and a credit note for their value."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import IdempotencyKeyReused, InvalidInput, InvalidState, NotFound
from domain.events import StockChanged
from domain.model import Actor, MoveKind, OrderStatus, PaymentMethod, Role, SalesOrder
from domain.money import Money
from domain.ports import UnitOfWork
from domain.quantity import Quantity
from domain.services.common import audit, clean_text, get_warehouse, require_role, use_case
from domain.services.orders import check_key, get_order, line_amount
from domain.services.payments import PaymentResult, credit_customer
from domain.services.stock import move

RETURN_TAKERS = (Role.OWNER, Role.WAREHOUSE)
RETURNABLE = (OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED, OrderStatus.CLOSED)


@dataclass(frozen=True, slots=True)
class ReturnResult:
    order: SalesOrder
    credit_note: PaymentResult  # method credit_note; allocated to the order's open invoices first


@use_case
def return_goods(
    uow: UnitOfWork,
    *,
    actor: Actor,
    order_id: int,
    quantities: Mapping[int, Quantity],
    reason: str,
    idempotency_key: str,
    warehouse_id: int | None = None,
) -> ReturnResult:
    """Take shipped goods back (per order line): stock rises, and a credit note lowers the balance.

    The credit note is worth what the customer was invoiced for those units; it pays the
    order's open invoices first, and anything left stays as customer credit.
    """
    require_role(actor, RETURN_TAKERS, "return_goods")
    key = check_key(idempotency_key)
    why = clean_text(reason, "reason", required=True)
    existing = uow.payments.by_idempotency_key(key)
    if existing is not None:
        order = get_order(uow, order_id)
        if (
            existing.method is not PaymentMethod.CREDIT_NOTE
            or existing.customer_id != order.customer_id
        ):
            raise IdempotencyKeyReused(key)
        allocations = tuple(uow.payments.allocations(payment_id=existing.id))
        return ReturnResult(order, PaymentResult(existing, allocations, created=False))
    uow.orders.lock(order_id)
    order = get_order(uow, order_id)
    if order.status not in RETURNABLE:
        raise InvalidState("order", order.number, str(order.status), "return")
    uow.customers.lock(order.customer_id)
    warehouse = get_warehouse(uow, warehouse_id if warehouse_id is not None else order.warehouse_id)
    lines = {line.id: line for line in order.lines}
    products = uow.products.get_many([line.product_id for line in order.lines])
    credit = Money.zero(order.total.currency)
    returned: dict[str, str] = {}
    for line_id, quantity in sorted(quantities.items()):
        line = lines.get(line_id)
        if line is None:
            raise NotFound("order_line", line_id)
        if quantity.milli == 0:
            continue
        product = products[line.product_id]
        if quantity.milli < 0:
            raise InvalidInput("quantity", "negative", str(quantity))
        if quantity.decimals > product.decimals:
            raise InvalidInput(
                "quantity", "too_many_decimals", str(quantity), decimals=product.decimals
            )
        if quantity > line.returnable or not uow.orders.try_return_line(line.id, quantity.milli):
            raise InvalidInput(
                "quantity", "more_than_shipped", str(quantity), returnable=str(line.returnable)
            )
        move(
            uow,
            actor,
            product=product,
            warehouse_id=warehouse.id,
            kind=MoveKind.RETURN,
            on_hand_delta=quantity.milli,
            reserved_delta=0,
            source_type="return",
            source_id=order.id,
            unit_cost=product.cost,
            note=why,
        )
        uow.events.append(StockChanged(product.id, warehouse.id))
        after = line.returned + quantity
        credit += line_amount(after, line.unit_price, line.discount_bp)
        credit -= line_amount(line.returned, line.unit_price, line.discount_bp)
        returned[product.sku] = str(quantity)
    if not returned:
        raise InvalidInput("quantities", "empty")
    order_invoices = [inv.id for inv in uow.invoices.for_order(order.id)]
    note = (
        credit_customer(
            uow,
            actor,
            customer_id=order.customer_id,
            amount=credit,
            method=PaymentMethod.CREDIT_NOTE,
            key=key,
            first_invoice_ids=order_invoices,
            note=f"{order.number}: {why}",
        )
        if credit.minor > 0
        else None
    )
    if note is None:
        raise InvalidInput("quantities", "nothing_to_credit")
    audit(
        uow,
        actor,
        "order.return",
        "order",
        order.number,
        after={
            "returned": returned,
            "credit_note": note.payment.number,
            "amount": credit.minor,
            "warehouse": warehouse.code,
            "reason": why,
        },
    )
    return ReturnResult(get_order(uow, order.id), note)
