"""Shared fixtures: a fixed clock, the ledger policy, and units of work on every backend.

``uow_factory`` is parametrised over the in-memory fake, SQLite and PostgreSQL; PostgreSQL
runs only when CHATERP_TEST_DATABASE_URL is set (CI sets it) and skips with a reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from domain.model import Actor, Role
from domain.ports import LedgerPolicy, UnitOfWork, UnitOfWorkFactory
from domain.transaction import run_in_transaction
from tests.fakes import FakeDatabase, FixedClock

if TYPE_CHECKING:
    from storage.database import Database

T = TypeVar("T")
TZ = ZoneInfo("Asia/Shanghai")
PG_URL_ENV = "CHATERP_TEST_DATABASE_URL"
BACKENDS = ["fake", "sqlite", "postgres"]
BOT_FRAMEWORKS = ["ptb", "aiogram"]  # every test that starts the bot runs on each


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema, built once and copied for each test (fast)."""
    from storage.database import Database
    from storage.testing import create_schema

    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(
        f"sqlite:///{path}",
        clock=FixedClock(datetime(2026, 1, 1, tzinfo=TZ)),
        policy=LedgerPolicy(),
    )
    create_schema(db)
    db.dispose()  # closing the last connection folds the WAL into the file
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """One throwaway PostgreSQL schema for the session; tests empty it instead of rebuilding."""
    from storage.database import Database
    from storage.testing import create_schema, fresh_postgres_schema

    with fresh_postgres_schema(postgres_url()) as url:
        db = Database(url, clock=FixedClock(datetime(2026, 1, 1, tzinfo=TZ)), policy=LedgerPolicy())
        create_schema(db)
        db.dispose()
        yield url


def make_sql_factory(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> Iterator[UnitOfWorkFactory]:
    for db in make_database(kind, request, tmp_path, clock, policy):
        yield db.uow


def make_database(
    kind: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> Iterator[Database]:
    """A migrated, empty database of ``kind`` ("sqlite" or "postgres"), disposed after."""
    from storage.database import Database
    from storage.testing import truncate_all

    if kind == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    db = Database(url, clock=clock, policy=policy)
    if kind == "postgres":
        truncate_all(db)
    yield db
    db.dispose()


@pytest.fixture(params=BOT_FRAMEWORKS)
def framework(request: pytest.FixtureRequest) -> str:
    """The chat framework a test's bot runs on (python-telegram-bot or aiogram)."""
    return str(request.param)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def uow_factory(
    backend: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> Iterator[UnitOfWorkFactory]:
    if backend == "fake":
        yield FakeDatabase(clock=clock, policy=policy).uow
    else:
        yield from make_sql_factory(backend, request, tmp_path, clock, policy)


@pytest.fixture
def run(uow_factory: UnitOfWorkFactory) -> Callable[[Callable[[UnitOfWork], Any]], Any]:
    """Run one unit of work and commit: ``run(lambda uow: place_order(uow, ...))``."""

    def _run(work: Callable[[UnitOfWork], T]) -> T:
        return run_in_transaction(uow_factory, work)

    return _run


@pytest.fixture
def owner() -> Actor:
    return Actor(user_id=None, role=Role.OWNER, source="test", name="owner")
