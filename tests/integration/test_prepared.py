"""Prepared statements on SQLite's own cursor give what SQLAlchemy gives, and step aside when
they should (PostgreSQL, an empty IN list, someone listening to the engine's statements)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import bindparam, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain.errors import TransientConflict
from domain.model import Role
from domain.ports import LedgerPolicy
from storage.database import Database, SqlUnitOfWork
from storage.prepared import FastResult, Prepared, _Compiled
from storage.repositories import PROCESSED, USERS, _b, _b_in
from tests.conftest import make_database
from tests.fakes import FixedClock

AT = datetime(2026, 12, 5, 9, 30, 15, 123456, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")

USER_BY_TELEGRAM_ID = Prepared(select(USERS).where(USERS.c.telegram_user_id == _b("b_id")))
USERS_WITH_IDS = Prepared(
    select(USERS.c.id, USERS.c.name).where(USERS.c.id.in_(_b_in("b_ids"))).order_by(USERS.c.id)
)
ADD_PROCESSED = Prepared(insert(PROCESSED), keys=("update_id", "at"))
RENAME = Prepared(
    update(USERS).where(USERS.c.role == _b("b_role")).values(name=_b("b_name", USERS.c.name))
)


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock, policy: LedgerPolicy
) -> Iterator[Database]:
    yield from make_database(str(request.param), request, tmp_path, clock, policy)


def add_people(uow: SqlUnitOfWork) -> list[int]:
    ids = []
    for number, role in enumerate((Role.OWNER, Role.SALES, Role.SALES), start=1):
        ids.append(
            uow.users.add(
                telegram_user_id=1000 + number,
                name=f"Person {number}",
                role=role,
                customer_id=None,
                language=None,
                created_at=AT + timedelta(minutes=number),
            )
        )
    return ids


def test_rows_read_like_sqlalchemy_rows(database: Database) -> None:
    with database.uow() as uow:
        add_people(uow)
        fast = uow.execute(USER_BY_TELEGRAM_ID, {"b_id": 1002}).one()
        plain = uow.execute(USER_BY_TELEGRAM_ID.statement, {"b_id": 1002}).one()

    assert tuple(fast) == tuple(plain)
    assert fast.name == "Person 2" and fast.role == "sales"
    assert fast.created_at == AT + timedelta(minutes=2)  # aware UTC, microseconds kept
    assert fast.created_at.tzinfo is not None
    assert fast.active is True and fast.blocked_bot is False  # booleans, not 1 and 0


def test_on_sqlite_they_skip_sqlalchemys_execution(database: Database) -> None:
    with database.uow() as uow:
        result = uow.execute(USER_BY_TELEGRAM_ID, {"b_id": 1})
    assert isinstance(result, FastResult) == (database.dialect == "sqlite")


def test_in_lists_of_any_length_and_an_empty_one(database: Database) -> None:
    with database.uow() as uow:
        ids = add_people(uow)
        found = {
            size: [row.name for row in uow.execute(USERS_WITH_IDS, {"b_ids": ids[:size]})]
            for size in (0, 1, 2, 3, 1)
        }
    assert found == {
        0: [],
        1: ["Person 1"],
        2: ["Person 1", "Person 2"],
        3: ["Person 1", "Person 2", "Person 3"],
    }


def test_writes_count_rows_and_keep_datetimes_in_utc(database: Database) -> None:
    with database.uow() as uow:
        add_people(uow)
        renamed = uow.execute(RENAME, {"b_role": "sales", "b_name": "Rep"}).rowcount
        # the same moment in Shanghai time is stored and read back as UTC
        uow.execute(ADD_PROCESSED, {"update_id": 7, "at": AT.astimezone(SHANGHAI)})
        stored = uow.execute(select(PROCESSED.c.at)).scalar_one()
        names = sorted(uow.execute(select(USERS.c.name)).scalars())
    assert renamed == 2
    assert names == ["Person 1", "Rep", "Rep"]
    assert stored == AT


def test_a_broken_unique_key_is_the_same_error_as_through_sqlalchemy(database: Database) -> None:
    with database.uow() as uow:
        uow.execute(ADD_PROCESSED, {"update_id": 7, "at": AT})
        with pytest.raises((IntegrityError, TransientConflict)) as fast:
            uow.execute(ADD_PROCESSED, {"update_id": 7, "at": AT})
    with database.uow() as uow:
        uow.execute(ADD_PROCESSED.statement, {"update_id": 7, "at": AT})
        with pytest.raises((IntegrityError, TransientConflict)) as plain:
            uow.execute(ADD_PROCESSED.statement, {"update_id": 7, "at": AT})
    assert type(fast.value) is type(plain.value)


def test_a_value_for_a_column_the_insert_was_not_prepared_for_is_never_dropped(
    database: Database,
) -> None:
    """SQLAlchemy sets every column it is given a value for; a prepared INSERT sets the ones
    it was compiled for, so on SQLite another one is refused rather than lost."""
    add_rep = Prepared(
        insert(USERS),
        keys=("telegram_user_id", "name", "role", "active", "blocked_bot", "created_at"),
    )
    person = {
        "telegram_user_id": 77,
        "name": "Zhang Min",
        "role": "sales",
        "active": True,
        "blocked_bot": False,
        "created_at": AT,
        "language": "zh",
    }
    with database.uow() as uow:
        try:
            uow.execute(add_rep, person)
        except KeyError as refused:
            assert "language" in str(refused)
            assert database.dialect == "sqlite"
        else:
            stored = uow.execute(select(USERS.c.language).where(USERS.c.telegram_user_id == 77))
            assert stored.scalar_one() == "zh"


def test_a_missing_parameter_is_refused(database: Database) -> None:
    with database.uow() as uow, pytest.raises(Exception, match="b_id"):
        uow.execute(USER_BY_TELEGRAM_ID, {})


def test_statement_listeners_still_see_every_statement(database: Database) -> None:
    seen: list[str] = []

    def listen(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        with database.uow() as uow:
            uow.execute(USER_BY_TELEGRAM_ID, {"b_id": 1})
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
    assert any("FROM app_user" in statement for statement in seen)


def test_statements_that_cannot_be_fixed_are_refused_when_compiled(database: Database) -> None:
    rendered = Prepared(select(USERS).where(USERS.c.id == bindparam("x", 5, literal_execute=True)))
    with pytest.raises(ValueError, match="not a fixed statement"):
        rendered.compiled_for(database.engine.dialect)


def test_every_prepared_statement_of_the_repositories_compiles_for_sqlite() -> None:
    """Each one is fixed (a rendered literal or a Python-side default would be refused)."""
    from sqlalchemy.dialects import sqlite

    from storage import notification_repos, reports, repositories

    found = [
        statement
        for module in (repositories, notification_repos, reports)
        for value in vars(module).values()
        for statement in (value.values() if isinstance(value, dict) else [value])
        if isinstance(statement, Prepared)
    ]
    assert len(found) > 30
    dialect = sqlite.dialect()
    for statement in found:  # compiled apart: the statements' own cache stays the engines'
        assert _Compiled(statement.statement, dialect, statement.keys).sql
