"""Stock: receipts (moving-average cost), adjustments with a reason, transfers, reservations.

Every change is an append-only move plus a conditional update of the balance row in the same
transaction; the database refuses anything that would make on hand or available negative.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InsufficientStock, InvalidInput, Shortage
from domain.events import StockChanged
from domain.model import Actor, MoveKind, Product, Role, StockBalance, StockMove
from domain.money import Money, round_half_even
from domain.ports import UnitOfWork
from domain.quantity import SCALE, Quantity
from domain.services.common import (
    audit,
    clean_text,
    get_product,
    get_warehouse,
    require_role,
    use_case,
)

STOCK_STAFF = (Role.OWNER, Role.WAREHOUSE)


def check_quantity(product: Product, quantity: Quantity, field: str = "quantity") -> None:
    """Positive, and no more decimals than the product's unit allows."""
    if quantity.milli <= 0:
        raise InvalidInput(field, "zero" if quantity.milli == 0 else "negative", str(quantity))
    if quantity.decimals > product.decimals:
        raise InvalidInput(field, "too_many_decimals", str(quantity), decimals=product.decimals)


def move(
    uow: UnitOfWork,
    actor: Actor,
    *,
    product: Product,
    warehouse_id: int,
    kind: MoveKind,
    on_hand_delta: int,
    reserved_delta: int,
    source_type: str,
    source_id: int | None,
    unit_cost: Money | None = None,
    note: str = "",
) -> None:
    """Write one stock move and apply it to the balance, or raise InsufficientStock."""
    if not uow.stock.try_change(product.id, warehouse_id, on_hand_delta, reserved_delta):
        balance = uow.stock.get(product.id, warehouse_id)
        wanted = -on_hand_delta if on_hand_delta < 0 else reserved_delta
        have = (
            balance.on_hand.milli if kind is not MoveKind.RESERVATION else balance.available.milli
        )
        raise InsufficientStock([Shortage(product.id, product.sku, product.name, wanted, have)])
    uow.stock.add_move(
        StockMove(
            product_id=product.id,
            warehouse_id=warehouse_id,
            kind=kind,
            on_hand_delta=Quantity(on_hand_delta),
            reserved_delta=Quantity(reserved_delta),
            source_type=source_type,
            source_id=source_id,
            actor_id=actor.user_id,
            at=uow.clock.now(),
            unit_cost=unit_cost,
            note=note,
        )
    )


def moving_average_cost(
    old_qty: Quantity, old_cost: Money, added: Quantity, added_cost: Money
) -> Money:
    """Weighted average unit cost after a receipt, rounded half-even to minor units."""
    if old_qty.milli <= 0:
        return added_cost
    total_qty = old_qty.milli + added.milli
    total_value = old_qty.milli * old_cost.minor + added.milli * added_cost.minor
    return Money(round_half_even(total_value, total_qty), old_cost.currency)


def value_of(quantity: Quantity, unit_amount: Money) -> Money:
    """Price or cost of a quantity, rounded half-even to minor units."""
    return Money(round_half_even(quantity.milli * unit_amount.minor, SCALE), unit_amount.currency)


@dataclass(frozen=True, slots=True)
class StockChange:
    product: Product
    balance: StockBalance


@use_case
def receive_stock(
    uow: UnitOfWork,
    *,
    actor: Actor,
    product_id: int,
    quantity: Quantity,
    unit_cost: Money,
    warehouse_id: int | None = None,
    note: str = "",
) -> StockChange:
    """Goods in: on hand rises and the product's cost becomes the moving average."""
    require_role(actor, STOCK_STAFF, "receive_stock")
    product = get_product(uow, product_id)
    warehouse = get_warehouse(uow, warehouse_id)
    check_quantity(product, quantity)
    if unit_cost.currency != uow.policy.currency:
        raise InvalidInput("unit_cost", "wrong_currency", str(unit_cost))
    if unit_cost.minor < 0:
        raise InvalidInput("unit_cost", "negative", str(unit_cost))
    # The moving average reads on hand and cost, then writes a new cost: two receipts of one
    # product must not both start from the same values (the later write would drop the first
    # receipt from the average). The product's row lock serialises them on PostgreSQL; what
    # is read after it includes every receipt committed before.
    uow.products.lock(product.id)
    product = get_product(uow, product.id)
    on_hand_before = sum((b.on_hand for b in uow.stock.for_product(product.id)), Quantity(0))
    new_cost = moving_average_cost(on_hand_before, product.cost, quantity, unit_cost)
    move(
        uow,
        actor,
        product=product,
        warehouse_id=warehouse.id,
        kind=MoveKind.RECEIPT,
        on_hand_delta=quantity.milli,
        reserved_delta=0,
        source_type="receipt",
        source_id=None,
        unit_cost=unit_cost,
        note=clean_text(note, "note"),
    )
    if new_cost != product.cost:
        uow.products.update(product.id, cost_minor=new_cost.minor, updated_at=uow.clock.now())
    uow.events.append(StockChanged(product.id, warehouse.id))
    audit(
        uow,
        actor,
        "stock.receive",
        "product",
        product.id,
        before={"on_hand": str(on_hand_before), "cost": product.cost.minor},
        after={
            "received": str(quantity),
            "warehouse": warehouse.code,
            "unit_cost": unit_cost.minor,
            "cost": new_cost.minor,
        },
    )
    return StockChange(get_product(uow, product.id), uow.stock.get(product.id, warehouse.id))


@use_case
def adjust_stock(
    uow: UnitOfWork,
    *,
    actor: Actor,
    product_id: int,
    counted: Quantity,
    reason: str,
    warehouse_id: int | None = None,
) -> StockChange:
    """Set on hand to a counted quantity with a reason; the difference becomes a move."""
    require_role(actor, STOCK_STAFF, "adjust_stock")
    product = get_product(uow, product_id)
    warehouse = get_warehouse(uow, warehouse_id)
    why = clean_text(reason, "reason", required=True)
    if counted.milli < 0:
        raise InvalidInput("quantity", "negative", str(counted))
    if counted.decimals > product.decimals:
        raise InvalidInput("quantity", "too_many_decimals", str(counted), decimals=product.decimals)
    uow.products.lock(product.id)  # a count and a receipt of one product do not interleave
    before = uow.stock.get(product.id, warehouse.id)
    delta = counted.milli - before.on_hand.milli
    if delta == 0:
        return StockChange(product, before)
    if counted.milli < before.reserved.milli:
        raise InsufficientStock(
            [Shortage(product.id, product.sku, product.name, before.reserved.milli, counted.milli)]
        )
    move(
        uow,
        actor,
        product=product,
        warehouse_id=warehouse.id,
        kind=MoveKind.ADJUSTMENT,
        on_hand_delta=delta,
        reserved_delta=0,
        source_type="adjustment",
        source_id=None,
        unit_cost=product.cost,
        note=why,
    )
    uow.events.append(StockChanged(product.id, warehouse.id))
    audit(
        uow,
        actor,
        "stock.adjust",
        "product",
        product.id,
        before={"on_hand": str(before.on_hand), "warehouse": warehouse.code},
        after={"on_hand": str(counted), "reason": why},
    )
    return StockChange(product, uow.stock.get(product.id, warehouse.id))


@use_case
def transfer_stock(
    uow: UnitOfWork,
    *,
    actor: Actor,
    product_id: int,
    quantity: Quantity,
    from_warehouse_id: int,
    to_warehouse_id: int,
) -> StockChange:
    """Move available stock between warehouses (out and in moves in one transaction)."""
    require_role(actor, STOCK_STAFF, "transfer_stock")
    product = get_product(uow, product_id)
    source = get_warehouse(uow, from_warehouse_id)
    target = get_warehouse(uow, to_warehouse_id)
    if source.id == target.id:
        raise InvalidInput("warehouse", "same_warehouse", source.code)
    check_quantity(product, quantity)
    # Two opposite transfers of one product would take the two balance rows in opposite
    # orders; the product lock makes them queue instead of deadlocking.
    uow.products.lock(product.id)
    move(
        uow,
        actor,
        product=product,
        warehouse_id=source.id,
        kind=MoveKind.TRANSFER_OUT,
        on_hand_delta=-quantity.milli,
        reserved_delta=0,
        source_type="transfer",
        source_id=target.id,
    )
    move(
        uow,
        actor,
        product=product,
        warehouse_id=target.id,
        kind=MoveKind.TRANSFER_IN,
        on_hand_delta=quantity.milli,
        reserved_delta=0,
        source_type="transfer",
        source_id=source.id,
    )
    uow.events.append(StockChanged(product.id, source.id))
    uow.events.append(StockChanged(product.id, target.id))
    audit(
        uow,
        actor,
        "stock.transfer",
        "product",
        product.id,
        after={"quantity": str(quantity), "from": source.code, "to": target.code},
    )
    return StockChange(product, uow.stock.get(product.id, target.id))
