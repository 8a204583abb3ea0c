"""Finding products and customers from what people type, with an index that follows the catalog.

The product index is built once per process and then kept current from ``changed_since`` (a
cheap query), so a 100,000-product catalog is not re-indexed per message. Customers are few
per business, so their index is rebuilt per lookup and always exact.
"""

from __future__ import annotations

import threading
from datetime import datetime

from domain.matching import MatchResult, NameIndex
from domain.model import Customer, Product, Role
from domain.ports import UnitOfWork


class ProductIndex:
    """A process-wide fuzzy index over names, SKUs and aliases of active products."""

    def __init__(self) -> None:
        self._index = NameIndex()
        self._products: dict[int, Product] = {}
        self._seen: datetime | None = None
        self._lock = threading.Lock()

    def refresh(self, uow: UnitOfWork) -> None:
        """Bring the index up to date with products changed since the last look."""
        with self._lock:
            changed, newest = uow.products.changed_since(self._seen)
            for product in changed:
                if product.active:
                    self._index.upsert(
                        product.id, product.name, sku=product.sku, aliases=product.aliases
                    )
                    self._products[product.id] = product
                elif product.id in self._products:
                    self._index.remove(product.id)
                    del self._products[product.id]
            self._seen = newest

    def search(self, uow: UnitOfWork, text: str, *, limit: int = 5) -> MatchResult:
        self.refresh(uow)
        with self._lock:
            return self._index.search(text, limit=limit)

    def __len__(self) -> int:
        return len(self._products)


def visible_customers(uow: UnitOfWork, user_id: int | None, role: Role | None) -> list[Customer]:
    """Customers a person may pick: a salesperson their own (and unassigned), owners everyone."""
    if role is Role.SALES:
        if user_id is None:
            return [c for c in uow.customers.list() if c.sales_rep_id is None]
        return uow.customers.list(sales_rep_id=user_id, with_unassigned=True)
    if role is Role.OWNER:
        return uow.customers.list()
    return []


def search_customers(customers: list[Customer], text: str, *, limit: int = 6) -> MatchResult:
    index = NameIndex()
    for customer in customers:
        aliases = (customer.phone,) if customer.phone else ()
        index.upsert(customer.id, customer.name, aliases=aliases)
    return index.search(text, limit=limit)
