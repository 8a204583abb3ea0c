"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from domain.model import Actor, PaymentMethod
from domain.money import Money
from domain.ports import LedgerPolicy
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, ensure_default_warehouse, save_product
from domain.services.customers import CustomerDraft, create_customer
from domain.services.orders import LineRequest, place_order
from domain.services.payments import record_payment
from domain.services.shipping import ship_order
from domain.services.stock import receive_stock
from domain.transaction import run_in_transaction
from storage.database import Database, build_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.tables import APPEND_ONLY_TABLES, metadata
from tests.conftest import postgres_url
from tests.fakes import FixedClock


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        built = build_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
        yield built
        built.dispose()
        return
    from storage.testing import fresh_postgres_schema

    with fresh_postgres_schema(postgres_url()) as url:
        built = build_engine(url)
        yield built
        built.dispose()


def test_upgrade_matches_the_models(engine: Engine) -> None:
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_upgrade_twice_is_harmless_and_downgrade_empties(engine: Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    assert "stock_move" in inspect(engine).get_table_names()


def test_migrated_ledger_tables_are_append_only(engine: Engine) -> None:
    """Rows written by real use cases on a migrated schema cannot be edited or deleted."""
    upgrade(engine)
    database = Database(
        engine.url.render_as_string(hide_password=False),
        clock=FixedClock(datetime(2026, 3, 2, 9, tzinfo=UTC)),
        policy=LedgerPolicy(),
    )
    _one_sale_paid(database)
    for table in APPEND_ONLY_TABLES:
        for statement in (f"UPDATE {table} SET id = id", f"DELETE FROM {table}"):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
                conn.execute(text(statement))
    database.dispose()


def _one_sale_paid(database: Database) -> None:
    """Receive, sell, ship and collect once, so every ledger table has rows."""
    owner = Actor.system("test")
    run = partial(run_in_transaction, database.uow)
    run(lambda uow: ensure_default_warehouse(uow))
    product = run(
        lambda uow: save_product(
            uow,
            actor=owner,
            draft=ProductDraft(
                sku="W-1",
                name="Widget",
                unit="pcs",
                price=Money(500, "CNY"),
                cost=Money(300, "CNY"),
            ),
        )
    ).product
    run(
        lambda uow: receive_stock(
            uow, actor=owner, product_id=product.id, quantity=Quantity.of(5), unit_cost=product.cost
        )
    )
    customer = run(
        lambda uow: create_customer(uow, actor=owner, draft=CustomerDraft(name="ACME"))
    ).customer
    assert customer is not None
    order = run(
        lambda uow: place_order(
            uow,
            actor=owner,
            customer_id=customer.id,
            lines=[LineRequest(product.id, Quantity.of(1))],
            idempotency_key="o1",
        )
    ).order
    run(lambda uow: ship_order(uow, actor=owner, order_id=order.id))
    run(
        lambda uow: record_payment(
            uow,
            actor=owner,
            customer_id=customer.id,
            amount=Money(500, "CNY"),
            method=PaymentMethod.CASH,
            idempotency_key="p1",
        )
    )
