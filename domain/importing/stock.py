"""``import_stock``: every row is a stock receipt (``receive_stock``).

Matching existing records
    None: every row is a receipt; the same SKU may appear twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from domain.importing.common import Cells, Errors, parse_rows
from domain.importing.csv_reader import Columns, Rows
from domain.importing.progress import Progress, Tracker
from domain.importing.report import ImportReport
from domain.importing.runner import Context, Counts, run_import
from domain.model import Actor, Product, Warehouse
from domain.money import Money
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import ensure_default_warehouse
from domain.services.common import require_role
from domain.services.stock import STOCK_STAFF, check_quantity, receive_stock

STOCK_COLUMNS = Columns(required=("sku", "quantity"), optional=("warehouse", "cost"))


@dataclass(frozen=True, slots=True)
class _StockRow:
    line: int
    sku: str
    quantity: Quantity
    warehouse: str
    cost: Money | None


def _parse_stock(
    line: int, row: Mapping[str, str], currency: str, errors: Errors
) -> _StockRow | None:
    cells = Cells(line, row, errors)
    sku = cells.required("sku").upper()
    cells.check_sku(sku)
    cells.required("quantity")
    quantity = cells.quantity("quantity", 3, allow_zero=False)
    cost = cells.money("cost", currency)
    if quantity is None or errors.has(line):
        return None
    return _StockRow(line, sku, quantity, cells.text("warehouse").upper(), cost)


def import_stock(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    *,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Import receipts ``sku,quantity[,warehouse,cost]``: on hand up, moving-average cost.

    Every row is one ``receive_stock`` (noted "import FILE line N"); ``created`` counts them.
    Raises NotAllowed unless the actor is an owner or warehouse staff.
    """
    require_role(actor, STOCK_STAFF, "import_stock")
    file_name = Path(path).name

    def write(
        uow: UnitOfWork, checked: list[_StockRow], errors: Errors, tracker: Tracker
    ) -> Counts:
        products = uow.products.by_skus([item.sku for item in checked])
        warehouses = {w.code: w for w in uow.warehouses.list()}
        plan: list[tuple[_StockRow, Product, str]] = []
        for item in checked:
            product = products.get(item.sku)
            if product is None:
                errors.add(item.line, f"sku: no product with SKU {item.sku!r}")
                continue
            if item.warehouse and item.warehouse not in warehouses:
                errors.add(item.line, f"warehouse: no warehouse with code {item.warehouse!r}")
                continue
            errors.attempt(item.line, lambda p=product, q=item.quantity: check_quantity(p, q))
            if not errors.has(item.line):
                plan.append((item, product, item.warehouse))
        errors.check()
        default: Warehouse | None = None
        for index, (item, product, code) in enumerate(plan, 1):
            if code:
                warehouse = warehouses[code]
            else:
                default = default or ensure_default_warehouse(uow)
                warehouse = default
            cost = item.cost
            if cost is None:
                current = uow.products.get(product.id)
                cost = current.cost if current is not None else product.cost
            errors.attempt(
                item.line,
                lambda i=item, p=product, w=warehouse, c=cost: receive_stock(
                    uow,
                    actor=actor,
                    product_id=p.id,
                    quantity=i.quantity,
                    unit_cost=c,
                    warehouse_id=w.id,
                    note=f"import {file_name} line {i.line}",
                ),
            )
            tracker.written(index)
        errors.check()
        return len(plan), 0, 0

    return run_import("stock", uow_factory, path, STOCK_COLUMNS, _check_stock, write, progress)


def _check_stock(context: Context, rows: Rows, errors: Errors, tracker: Tracker) -> list[_StockRow]:
    """Pass 1: parse every row (SKUs, warehouses and units are checked in pass 2)."""
    return parse_rows(
        rows, lambda line, row: _parse_stock(line, row, context.currency, errors), tracker
    )
