"""Shared fixtures: a fixed clock, the ledger policy, and units of work on every backend.

``uow_factory`` is parametrised over the in-memory fake, SQLite and PostgreSQL; PostgreSQL
runs only when CHATERP_TEST_DATABASE_URL is set (CI sets it) and skips with a reason otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from domain.model import Actor, Role
from domain.ports import LedgerPolicy, UnitOfWork, UnitOfWorkFactory
from domain.transaction import run_in_transaction
from tests.fakes import FakeDatabase, FixedClock

T = TypeVar("T")
TZ = ZoneInfo("Asia/Shanghai")
PG_URL_ENV = "CHATERP_TEST_DATABASE_URL"
BACKENDS = ["fake", "sqlite", "postgres"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=TZ))


@pytest.fixture
def policy() -> LedgerPolicy:
    return LedgerPolicy(currency="CNY", credit_hold_overdue_days=30, invite_ttl_days=7)


def postgres_url() -> str:
    url = os.environ.get(PG_URL_ENV, "")
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_URL_ENV} (CI sets it); skipped on this machine")
    return url


def make_sql_factory(
    kind: str, tmp_path: Path, clock: FixedClock, policy: LedgerPolicy
) -> Iterator[UnitOfWorkFactory]:
    from storage.database import Database
    from storage.testing import create_schema, fresh_postgres_schema

    if kind == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'test.db'}", clock=clock, policy=policy)
        create_schema(db)
        yield db.uow
        db.dispose()
    else:
        with fresh_postgres_schema(postgres_url()) as url:
            db = Database(url, clock=clock, policy=policy)
            create_schema(db)
            yield db.uow
            db.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uow_factory(
    backend: str, tmp_path: Path, clock: FixedClock, policy: LedgerPolicy
) -> Iterator[UnitOfWorkFactory]:
    if backend == "fake":
        yield FakeDatabase(clock=clock, policy=policy).uow
    else:
        yield from make_sql_factory(backend, tmp_path, clock, policy)


@pytest.fixture
def run(uow_factory: UnitOfWorkFactory) -> Callable[[Callable[[UnitOfWork], Any]], Any]:
    """Run one unit of work and commit: ``run(lambda uow: place_order(uow, ...))``."""

    def _run(work: Callable[[UnitOfWork], T]) -> T:
        return run_in_transaction(uow_factory, work)

    return _run


@pytest.fixture
def owner() -> Actor:
    return Actor(user_id=None, role=Role.OWNER, source="test", name="owner")
