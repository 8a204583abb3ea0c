"""Stock positions against reorder points, and how much to reorder.

A product is *low* when what it can still promise (available across warehouses, minus what
open orders are waiting for: backorders) is at or under its reorder point. A product with
neither a reorder point nor a reorder quantity is not tracked: it is low only while customers
wait for it (backorders beyond what is available).

The suggested order brings that back to the reorder point plus the reorder quantity, rounded
up to whole units (purchasers buy whole units: a shortfall of 2.35 kg suggests 3 kg), and
always far enough that the product is no longer low once it arrives (one unit above the point
when no reorder quantity is set).

Examples (reorder point 25, reorder quantity 100): available 20 → order 105; available 20
with 10 backordered → order 115. Reorder point 5, no reorder quantity, nothing available →
order 6. Not tracked, 4 backordered, nothing available → order 4.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from domain.model import Product, Warehouse
from domain.ports import UnitOfWork
from domain.quantity import SCALE, Quantity


@dataclass(frozen=True, slots=True)
class WarehouseStock:
    """One warehouse's share of a product's stock."""

    warehouse: Warehouse
    on_hand: Quantity
    available: Quantity  # on hand minus reserved
    backordered: Quantity  # open orders from this warehouse waiting for stock


@dataclass(frozen=True, slots=True)
class StockPosition:
    """A product's stock across warehouses, compared with its reorder point."""

    product: Product
    available: Quantity
    backordered: Quantity
    warehouses: tuple[WarehouseStock, ...]  # those holding, reserving or owing any of it

    @property
    def net(self) -> Quantity:
        """What can still be promised: available minus backorders (may be negative)."""
        return self.available - self.backordered

    @property
    def is_low(self) -> bool:
        return is_low(self.product, self.net)

    @property
    def suggested(self) -> Quantity:
        """How much to order now (zero when not low)."""
        return suggested_reorder(self.product, self.net) if self.is_low else Quantity(0)


def is_tracked(product: Product) -> bool:
    """Has a reorder point or a reorder quantity (else only backorders make it low)."""
    return bool(product.reorder_point.milli or product.reorder_qty.milli)


def is_low(product: Product, net: Quantity) -> bool:
    """At or under the reorder point (untracked products: customers are waiting)."""
    if not is_tracked(product):
        return net.milli < 0
    return net <= product.reorder_point


def suggested_reorder(product: Product, net: Quantity) -> Quantity:
    """Whole units that bring ``net`` to reorder point + reorder quantity, and out of "low"."""
    wanted = product.reorder_point.milli + product.reorder_qty.milli - net.milli
    units = max(0, -(-wanted // SCALE))  # ceiling division: whole units
    if is_low(product, Quantity(net.milli + units * SCALE)):
        units += 1  # no reorder quantity set: one more unit to get above the point
    return Quantity(units * SCALE)


def stock_positions(uow: UnitOfWork, products: Sequence[Product]) -> list[StockPosition]:
    """The stock position of each product, in the order given."""
    if not products:
        return []
    wanted = {product.id for product in products}
    warehouses = {w.id: w for w in uow.warehouses.list()}
    if len(products) == 1:
        balances = uow.stock.for_product(products[0].id)
        owed = uow.reports.backordered([products[0].id])
    else:
        balances = [b for b in uow.stock.all() if b.product_id in wanted]
        owed = uow.reports.backordered(None if len(wanted) > 100 else sorted(wanted))
    shares: dict[int, dict[int, list[int]]] = defaultdict(dict)
    for balance in balances:
        shares[balance.product_id][balance.warehouse_id] = [
            balance.on_hand.milli,
            balance.available.milli,
            0,
        ]
    for (product_id, warehouse_id), quantity in owed.items():
        if product_id in wanted:
            shares[product_id].setdefault(warehouse_id, [0, 0, 0])[2] = quantity.milli
    return [
        _position(product, shares.get(product.id, {}), warehouses) for product in products
    ]


def _position(
    product: Product, shares: dict[int, list[int]], warehouses: dict[int, Warehouse]
) -> StockPosition:
    parts = tuple(
        WarehouseStock(warehouses[wid], Quantity(on_hand), Quantity(available), Quantity(owed))
        for wid, (on_hand, available, owed) in sorted(
            shares.items(), key=lambda item: _warehouse_order(warehouses[item[0]])
        )
        if on_hand or available or owed
    )
    return StockPosition(
        product=product,
        available=Quantity(sum(share[1] for share in shares.values())),
        backordered=Quantity(sum(share[2] for share in shares.values())),
        warehouses=parts,
    )


def _warehouse_order(warehouse: Warehouse) -> tuple[bool, str]:
    """The default warehouse first, then the others by code."""
    return (not warehouse.is_default, warehouse.code)


def low_stock(uow: UnitOfWork) -> tuple[StockPosition, ...]:
    """Every active product at or under its reorder point: nothing left to promise first,
    then by name."""
    return sort_low(p for p in stock_positions(uow, uow.products.list()) if p.is_low)


def sort_low(positions: Iterable[StockPosition]) -> tuple[StockPosition, ...]:
    return tuple(
        sorted(
            positions,
            key=lambda p: (p.net.milli > 0, p.product.name.casefold(), p.product.id),
        )
    )
