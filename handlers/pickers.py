"""Finding products and customers from what people type, with an index that follows the catalog.

The product index is built once per process and then kept current from ``changed_since`` (a
cheap query), so a 100,000-product catalog is not re-indexed per message. Customers are few
per business, so their index is rebuilt per lookup and always exact.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from domain.matching import MatchResult, NameIndex
from domain.model import Customer, Product, Role
from domain.ports import UnitOfWork

# A product change that committed late (on PostgreSQL a slower transaction may stamp its
# change before a quicker one that was seen already) is still picked up within this margin.
LATE_COMMIT_MARGIN = timedelta(seconds=5)


class ProductIndex:
    """A process-wide fuzzy index over names, SKUs and aliases of active products.

    Every search first asks the database what changed since its previous look (less a margin
    for late commits); a product that comes back unchanged is not indexed again.
    """

    def __init__(self) -> None:
        self._index = NameIndex()
        self._products: dict[int, Product] = {}
        self._complete_until: datetime | None = None  # changes before this are indexed
        self._lock = threading.Lock()

    def refresh(self, uow: UnitOfWork) -> None:
        """Bring the index up to date with products changed since the last look."""
        with self._lock:
            looked_at = uow.clock.now()
            changed, _ = uow.products.changed_since(self._complete_until)
            for product in changed:
                if self._products.get(product.id) == product:
                    continue  # seen already (the margin, and the inclusive bound, repeat it)
                if product.active:
                    self._index.upsert(
                        product.id, product.name, sku=product.sku, aliases=product.aliases
                    )
                    self._products[product.id] = product
                elif product.id in self._products:
                    self._index.remove(product.id)
                    del self._products[product.id]
            # Every change stamped before this has committed by now (within the margin).
            self._complete_until = looked_at - LATE_COMMIT_MARGIN

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
