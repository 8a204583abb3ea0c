"""The process-wide product index follows the catalog: renames, new products, deactivations,
and changes that committed after a look but were stamped before it (within the margin)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from domain.matching import MatchResult
from domain.ports import UnitOfWork
from domain.transaction import run_in_transaction
from handlers.pickers import LATE_COMMIT_MARGIN, ProductIndex
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business


def test_the_index_follows_catalog_changes(
    database: FakeDatabase, business: Business, clock: FixedClock
) -> None:
    index = ProductIndex()

    def run(work: Callable[[UnitOfWork], Any]) -> Any:
        return run_in_transaction(database.uow, work)

    def search(text: str) -> MatchResult:
        result: MatchResult = run(lambda uow: index.search(uow, text))
        return result

    def change(product_id: int, *, stamped_ago: timedelta = timedelta(0), **fields: Any) -> None:
        run(
            lambda uow: uow.products.update(
                product_id, updated_at=uow.clock.now() - stamped_ago, **fields
            )
        )

    widget, bolt = business.widget, business.bolt
    found = search("blue widget")
    assert found.sure and found.best is not None and found.best.key == widget.id

    clock.advance(minutes=1)
    change(widget.id, name="Red gadget")
    renamed = search("red gadget")
    assert renamed.sure and renamed.best is not None and renamed.best.key == widget.id

    clock.advance(minutes=1)
    change(widget.id, active=False)
    assert widget.id not in {c.key for c in search("red gadget").candidates}

    # Committed after the last look, but stamped before the newest change that look saw
    # (a slower transaction on PostgreSQL).
    clock.advance(minutes=1)
    change(business.screw.id, name="Stainless screw M6")
    assert search("stainless screw").best is not None
    change(bolt.id, name="Hex screw", stamped_ago=LATE_COMMIT_MARGIN / 2)
    late = search("hex screw")
    assert late.sure and late.best is not None and late.best.key == bolt.id
    assert len(index) == 3  # widget is gone; bolt, screw and wire remain
