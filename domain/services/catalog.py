"""Catalog: products (upsert by SKU) and warehouses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import DuplicateKey, InvalidInput
from domain.model import Actor, Product, Role, Warehouse
from domain.money import Money
from domain.ports import UnitOfWork
from domain.quantity import Quantity
from domain.services.common import (
    MAX_NAME_CHARS,
    audit,
    clean_text,
    get_product,
    require_role,
    use_case,
)

SKU_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,39}")
MAX_ALIASES = 20
DEFAULT_WAREHOUSE_CODE = "MAIN"


@dataclass(frozen=True, slots=True)
class ProductDraft:
    sku: str
    name: str
    unit: str
    price: Money
    cost: Money
    aliases: Sequence[str] = ()
    reorder_point: Quantity = Quantity(0)
    reorder_qty: Quantity = Quantity(0)
    active: bool = True


@dataclass(frozen=True, slots=True)
class SavedProduct:
    product: Product
    created: bool


def validate_product(draft: ProductDraft, currency: str) -> ProductDraft:
    """Checked and cleaned copy of a product draft, or InvalidInput."""
    sku = (draft.sku or "").strip().upper()
    if not SKU_PATTERN.fullmatch(sku):
        raise InvalidInput("sku", "bad_sku", draft.sku)
    for field, money in (("price", draft.price), ("cost", draft.cost)):
        if money.currency != currency:
            raise InvalidInput(field, "wrong_currency", str(money))
        if money.minor < 0:
            raise InvalidInput(field, "negative", str(money))
    for field, qty in (("reorder_point", draft.reorder_point), ("reorder_qty", draft.reorder_qty)):
        if qty.milli < 0:
            raise InvalidInput(field, "negative", str(qty))
    aliases = tuple(
        dict.fromkeys(
            clean_text(a, "alias", limit=MAX_NAME_CHARS) for a in draft.aliases if a.strip()
        )
    )
    if len(aliases) > MAX_ALIASES:
        raise InvalidInput("aliases", "too_many", str(len(aliases)), maximum=MAX_ALIASES)
    return ProductDraft(
        sku=sku,
        name=clean_text(draft.name, "name", required=True, limit=MAX_NAME_CHARS),
        unit=clean_text(draft.unit, "unit", required=True, limit=12),
        price=draft.price,
        cost=draft.cost,
        aliases=aliases,
        reorder_point=draft.reorder_point,
        reorder_qty=draft.reorder_qty,
        active=draft.active,
    )


@use_case
def save_product(uow: UnitOfWork, *, actor: Actor, draft: ProductDraft) -> SavedProduct:
    """Create a product, or update the one with the same SKU."""
    require_role(actor, (Role.OWNER,), "save_product")
    clean = validate_product(draft, uow.policy.currency)
    fields = {
        "name": clean.name,
        "unit": clean.unit,
        "price_minor": clean.price.minor,
        "cost_minor": clean.cost.minor,
        "aliases": tuple(clean.aliases),
        "reorder_point_milli": clean.reorder_point.milli,
        "reorder_qty_milli": clean.reorder_qty.milli,
        "active": clean.active,
    }
    existing = uow.products.by_sku(clean.sku)
    if existing is None:
        product_id = uow.products.add(sku=clean.sku, updated_at=uow.clock.now(), **fields)  # type: ignore[arg-type]
        audit(
            uow, actor, "product.create", "product", product_id, after={"sku": clean.sku, **fields}
        )
        return SavedProduct(get_product(uow, product_id), created=True)
    uow.products.update(existing.id, updated_at=uow.clock.now(), **fields)
    audit(
        uow,
        actor,
        "product.update",
        "product",
        existing.id,
        before={
            "name": existing.name,
            "price_minor": existing.price.minor,
            "cost_minor": existing.cost.minor,
        },
        after=fields,
    )
    return SavedProduct(get_product(uow, existing.id), created=False)


@use_case
def ensure_default_warehouse(uow: UnitOfWork, *, name: str = "Main warehouse") -> Warehouse:
    """The default warehouse, created on first use."""
    warehouse = uow.warehouses.default()
    if warehouse is not None:
        return warehouse
    warehouse_id = uow.warehouses.add(code=DEFAULT_WAREHOUSE_CODE, name=name, is_default=True)
    audit(
        uow,
        Actor.system(),
        "warehouse.create",
        "warehouse",
        warehouse_id,
        after={"code": DEFAULT_WAREHOUSE_CODE},
    )
    found = uow.warehouses.get(warehouse_id)
    assert found is not None
    return found


@use_case
def add_warehouse(uow: UnitOfWork, *, actor: Actor, code: str, name: str) -> Warehouse:
    require_role(actor, (Role.OWNER,), "add_warehouse")
    clean_code = (code or "").strip().upper()
    if not SKU_PATTERN.fullmatch(clean_code):
        raise InvalidInput("warehouse_code", "bad_code", code)
    if uow.warehouses.by_code(clean_code) is not None:
        raise DuplicateKey("warehouse", clean_code)
    is_default = uow.warehouses.default() is None
    warehouse_id = uow.warehouses.add(
        code=clean_code,
        name=clean_text(name, "name", required=True, limit=MAX_NAME_CHARS),
        is_default=is_default,
    )
    audit(
        uow,
        actor,
        "warehouse.create",
        "warehouse",
        warehouse_id,
        after={"code": clean_code, "name": name},
    )
    found = uow.warehouses.get(warehouse_id)
    assert found is not None
    return found


def warehouse_by_code(uow: UnitOfWork, code: str | None) -> Warehouse:
    """The warehouse with this code, or the default one when code is empty."""
    if not code or not code.strip():
        return ensure_default_warehouse(uow)
    warehouse = uow.warehouses.by_code(code.strip().upper())
    if warehouse is None:
        raise InvalidInput("warehouse", "unknown_warehouse", code)
    return warehouse
