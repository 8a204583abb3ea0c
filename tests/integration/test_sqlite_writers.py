"""Writers in different processes on one SQLite file: BEGIN IMMEDIATE waits for the other's
write lock in short naps (not SQLite's naps of up to 100 ms) and gives up after the timeout."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from storage import database
from storage.database import SQLITE_BUSY_TIMEOUT_MS, begin_immediate


def connect(path: Path) -> sqlite3.Connection:
    """A connection as another process would hold it (its own file handle)."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    return connection


def test_a_writer_gets_the_lock_once_the_other_commits(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    holder, waiter = connect(path), connect(path)
    holder.execute("CREATE TABLE t (n INTEGER)")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    released = threading.Event()

    def commit_later() -> None:
        time.sleep(0.05)
        holder.execute("COMMIT")
        released.set()

    threading.Thread(target=commit_later).start()
    begin_immediate(waiter)  # waits for the holder

    assert released.is_set()
    waiter.execute("INSERT INTO t VALUES (2)")
    waiter.execute("COMMIT")
    assert [n for (n,) in waiter.execute("SELECT n FROM t ORDER BY n")] == [1, 2]
    # and its own busy timeout is as before, for everything else it does
    assert waiter.execute("PRAGMA busy_timeout").fetchone() == (SQLITE_BUSY_TIMEOUT_MS,)


def test_a_writer_gives_up_after_the_timeout_as_a_database_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "w.db"
    holder, waiter = connect(path), connect(path)
    holder.execute("BEGIN IMMEDIATE")

    with pytest.raises(OperationalError, match="locked"):
        begin_immediate(waiter)

    assert not waiter.in_transaction
    holder.execute("COMMIT")
