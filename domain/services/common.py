"""Helpers shared by the use cases: role checks, audit entries, savepoints, lookups."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Collection
from typing import Any, Concatenate, ParamSpec, TypeVar

from domain.errors import InvalidInput, NotAllowed, NotFound
from domain.model import Actor, AuditEntry, Customer, Product, Role, Warehouse
from domain.ports import UnitOfWork

P = ParamSpec("P")
T = TypeVar("T")

MAX_NAME_CHARS = 120
MAX_TEXT_CHARS = 500


def use_case(
    fn: Callable[Concatenate[UnitOfWork, P], T],
) -> Callable[Concatenate[UnitOfWork, P], T]:
    """Run the use case in a savepoint so a refusal undoes its partial writes and events.

    The caller's transaction (conversation state, processed update) stays usable after a
    domain error; only what this use case wrote is rolled back. A use case called by another
    one runs inside the caller's savepoint (no use case catches another's refusal), and a
    unit of work whose caller lets any refusal abort it (``isolate_use_cases`` off, the
    default of run_in_transaction) needs no savepoint at all: two round trips saved each.
    """

    @functools.wraps(fn)
    def wrapper(uow: UnitOfWork, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if uow.use_case_depth or not uow.isolate_use_cases:
            return fn(uow, *args, **kwargs)
        events_before = len(uow.events)
        uow.use_case_depth += 1
        try:
            with uow.savepoint():
                return fn(uow, *args, **kwargs)
        except BaseException:
            del uow.events[events_before:]
            raise
        finally:
            uow.use_case_depth -= 1

    return wrapper


def require_role(actor: Actor, allowed: Collection[Role], action: str) -> None:
    if actor.role not in allowed:
        raise NotAllowed(action, str(actor.role))


def audit(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Append an audit entry in the current transaction (a rollback removes it too)."""
    uow.audit.add(
        AuditEntry(
            at=uow.clock.now(),
            actor_id=actor.user_id,
            actor_role=str(actor.role),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=audit_text(before),
            after=audit_text(after),
            source=actor.source,
        )
    )


def audit_text(data: dict[str, Any] | None) -> str:
    if not data:
        return ""
    return json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)


def clean_text(
    value: str, field: str, *, required: bool = False, limit: int = MAX_TEXT_CHARS
) -> str:
    """Trim and length-check free text; stored literally (bound parameters, escaped on output)."""
    text = " ".join((value or "").split())
    if required and not text:
        raise InvalidInput(field, "empty", value or "")
    if len(text) > limit:
        raise InvalidInput(field, "too_long", value, maximum=limit)
    return text


def get_customer(uow: UnitOfWork, customer_id: int) -> Customer:
    customer = uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    return customer


def get_product(uow: UnitOfWork, product_id: int) -> Product:
    product = uow.products.get(product_id)
    if product is None:
        raise NotFound("product", product_id)
    return product


def get_warehouse(uow: UnitOfWork, warehouse_id: int | None) -> Warehouse:
    warehouse = (
        uow.warehouses.default() if warehouse_id is None else uow.warehouses.get(warehouse_id)
    )
    if warehouse is None:
        raise NotFound("warehouse", warehouse_id if warehouse_id is not None else "default")
    return warehouse


def document_number(uow: UnitOfWork, prefix: str) -> str:
    """Human document number like ``SO-000123``."""
    return f"{prefix}-{uow.sequences.next(prefix):06d}"
