"""``import_products``: a catalog file, upserted by SKU through ``write_products``.

Matching existing records
    By SKU (case-insensitive: SKUs are stored upper-case); a SKU twice in one file is an
    error. Products identical to the file are left untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from domain.importing.bulk_save import write_products
from domain.importing.common import Cells, Errors, parse_rows
from domain.importing.csv_reader import Columns, Rows
from domain.importing.progress import Progress, Tracker
from domain.importing.report import ImportReport
from domain.importing.runner import Context, Counts, run_import
from domain.model import Actor, Product, Role, unit_decimals
from domain.money import Money
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, validate_product
from domain.services.common import require_role

PRODUCT_COLUMNS = Columns(
    required=("sku", "name", "unit", "price"),
    optional=("cost", "reorder_point", "reorder_qty", "aliases"),
)
ALIAS_SEPARATOR = "|"


@dataclass(frozen=True, slots=True)
class _ProductRow:
    """A checked product row; ``None`` fields were empty (keep current / default)."""

    line: int
    draft: ProductDraft  # validated; defaults where the row was empty
    cost: Money | None
    reorder_point: Quantity | None
    reorder_qty: Quantity | None
    aliases: tuple[str, ...] | None

    def merged(self, current: Product | None) -> ProductDraft:
        """The draft to save: empty cells keep ``current``'s values."""
        if current is None:
            return self.draft
        return ProductDraft(
            sku=self.draft.sku,
            name=self.draft.name,
            unit=self.draft.unit,
            price=self.draft.price,
            cost=current.cost if self.cost is None else self.cost,
            aliases=current.aliases if self.aliases is None else self.draft.aliases,
            reorder_point=(
                current.reorder_point if self.reorder_point is None else self.reorder_point
            ),
            reorder_qty=current.reorder_qty if self.reorder_qty is None else self.reorder_qty,
            active=True,
        )


def import_products(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    *,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``sku,name,unit,price[,cost,reorder_point,reorder_qty,aliases]``; upsert by SKU.

    Raises NotAllowed unless the actor is an owner, OSError if the file cannot be read.
    """
    require_role(actor, (Role.OWNER,), "import_products")

    def write(
        uow: UnitOfWork, checked: list[_ProductRow], errors: Errors, tracker: Tracker
    ) -> Counts:
        existing = uow.products.by_skus([item.draft.sku for item in checked])
        drafts = [item.merged(existing.get(item.draft.sku)) for item in checked]
        result = write_products(uow, actor, drafts, existing, tracker.written)
        return result.created, result.updated, result.unchanged

    return run_import(
        "products", uow_factory, path, PRODUCT_COLUMNS, _check_products, write, progress
    )


def _check_products(
    context: Context, rows: Rows, errors: Errors, tracker: Tracker
) -> list[_ProductRow]:
    """Pass 1: parse and validate every row; a SKU may appear once. Raises ``Rejected``."""
    parsed = parse_rows(
        rows, lambda line, row: _parse_product(line, row, context.currency, errors), tracker
    )
    checked: list[_ProductRow] = []
    first_line: dict[str, int] = {}
    for item in parsed:
        earlier = first_line.setdefault(item.draft.sku, item.line)
        if earlier != item.line:
            errors.add(item.line, f"sku: {item.draft.sku} is already on line {earlier}")
        else:
            checked.append(item)
    errors.check()  # nothing in pass 2 can find more: stop before opening a transaction
    return checked


def _parse_product(
    line: int, row: Mapping[str, str], currency: str, errors: Errors
) -> _ProductRow | None:
    cells = Cells(line, row, errors)
    sku = cells.required("sku")
    cells.check_sku(sku)
    name = cells.required("name")
    unit = cells.required("unit")
    cells.required("price")
    price = cells.money("price", currency)
    cost = cells.money("cost", currency)
    decimals = unit_decimals(unit)
    reorder_point = cells.quantity("reorder_point", decimals, allow_zero=True)
    reorder_qty = cells.quantity("reorder_qty", decimals, allow_zero=True)
    alias_text = cells.text("aliases")
    aliases = (
        tuple(a.strip() for a in alias_text.split(ALIAS_SEPARATOR) if a.strip())
        if alias_text
        else None
    )
    zero = Money.zero(currency)
    draft = ProductDraft(
        sku=sku,
        name=name,
        unit=unit,
        price=price or zero,
        cost=cost or zero,
        aliases=aliases or (),
        reorder_point=reorder_point or Quantity(0),
        reorder_qty=reorder_qty or Quantity(0),
    )
    if errors.has(line):
        return None
    clean = errors.attempt(line, lambda: validate_product(draft, currency))
    if clean is None:
        return None
    return _ProductRow(line, clean, cost, reorder_point, reorder_qty, aliases)
