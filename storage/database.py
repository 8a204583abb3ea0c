"""Engine set-up for SQLite and PostgreSQL, and the SQL unit of work."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.sql import Executable

from domain.errors import TransientConflict
from domain.ports import Clock, EventPublisher, LedgerPolicy
from storage import notification_repos as notes
from storage import repositories as repos
from storage.prepared import Prepared
from storage.reports import SqlReports

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_FIRST_NAP_S = 0.0002  # a writer waiting for another process's write lock tries again
SQLITE_LONGEST_NAP_S = 0.004  # after these naps, doubling in between
# SQLSTATEs worth retrying the whole unit for: serialization failure, deadlock, lock timeout,
# and a unique key lost to a concurrent insert (the retry then finds the winner's row).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "23505"})


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs written without a driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def build_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine with our SQLite pragmas (WAL, foreign keys, busy timeout, BEGIN IMMEDIATE)."""
    url = normalise_url(url)
    if make_url(url).get_backend_name() != "sqlite":
        # No pre-ping (a round trip per transaction): a connection found dead is invalidated
        # and the whole unit of work retried (see is_retryable); old ones are recycled.
        return create_engine(url, echo=echo, pool_recycle=1800, pool_size=10, max_overflow=20)
    engine = create_engine(url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front, so two read-then-write units cannot interleave.
        if conn.get_execution_options().get("chaterp_readonly"):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            begin_immediate(conn.connection.driver_connection)

    return engine


def begin_immediate(raw: Any) -> None:
    """``BEGIN IMMEDIATE`` on a sqlite3 connection, waiting for another process's write lock
    in short naps. SQLite's own busy handler naps 1, 2, 5 … up to 100 ms between tries, so a
    writer that met the lock for a moment (the bot's outbox sender beside the engine process)
    could wait 50 ms or more after it was free; here a waiter tries again within 4 ms."""
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        nap = SQLITE_FIRST_NAP_S
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error).lower() or time.monotonic() > deadline:
                    # as SQLAlchemy would have raised it: the unit of work translates it
                    raise OperationalError("BEGIN IMMEDIATE", None, error) from error
            time.sleep(nap)
            nap = min(nap * 2, SQLITE_LONGEST_NAP_S)
    finally:
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")


def is_retryable(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True  # the server closed the connection (restart, idle timeout): try again
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    text = str(exc.orig).lower()
    # SQLite reports a lost unique-key race (only possible across processes) without a SQLSTATE.
    return any(
        marker in text
        for marker in ("database is locked", "database table is locked", "unique constraint failed")
    )


class SqlUnitOfWork:
    """One database transaction on one connection; rolled back unless committed."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        policy: LedgerPolicy,
        *,
        readonly: bool = False,
        writer_lock: threading.RLock | None = None,
        publisher: EventPublisher | None = None,
        bell: notes.OutboxBell | None = None,
    ):
        self._engine = engine
        self._publisher = publisher
        self._bell = bell or notes.OutboxBell()
        self._readonly = readonly
        self._writer_lock = None if readonly else writer_lock
        self.clock = clock
        self.policy = policy
        self.events: list[object] = []
        self.use_case_depth = 0
        self.isolate_use_cases = True
        self.committed = False
        self.conn: Connection | None = None
        self.dialect = engine.dialect.name
        self._sqlite: sqlite3.Connection | None = None  # for Prepared statements

    def __enter__(self) -> SqlUnitOfWork:
        if self._writer_lock is not None:
            # SQLite has one writer at a time anyway; queueing this process's writers here
            # wakes the next one the moment the lock is free, instead of SQLite's busy
            # handler napping up to 100 ms between retries (which made multi-second tails).
            # Other processes are still kept out by BEGIN IMMEDIATE and the busy timeout.
            self._writer_lock.acquire()
        try:
            return self._begin()
        except BaseException:
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise

    def _begin(self) -> SqlUnitOfWork:
        conn = self._engine.connect()
        if self._readonly:
            conn = conn.execution_options(chaterp_readonly=True)
            if self.dialect == "postgresql":
                # A report reads several tables: one snapshot, so its figures agree.
                conn = conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
        try:
            conn.begin()
        except DBAPIError as exc:
            conn.close()
            raise self._translate(exc) from exc
        self.conn = conn
        if self.dialect == "sqlite" and not self._engine.echo:
            self._sqlite = conn.connection.driver_connection
        self.users = repos.SqlUsers(self)
        self.invites = repos.SqlInvites(self)
        self.customers = repos.SqlCustomers(self)
        self.products = repos.SqlProducts(self)
        self.warehouses = repos.SqlWarehouses(self)
        self.stock = repos.SqlStock(self)
        self.sequences = repos.SqlSequences(self)
        self.orders = repos.SqlOrders(self)
        self.shipments = repos.SqlShipments(self)
        self.invoices = repos.SqlInvoices(self)
        self.payments = repos.SqlPayments(self)
        self.audit = repos.SqlAudit(self)
        self.conversations = repos.SqlConversations(self)
        self.updates = repos.SqlProcessedUpdates(self)
        self.chat_topics = repos.SqlChatTopics(self)
        self.sent_messages = repos.SqlSentMessages(self)
        self.outbox = notes.SqlOutbox(self, self._bell)
        self.job_runs = notes.SqlJobRuns(self)
        self.low_stock = notes.SqlLowStock(self)
        self.report_subscriptions = notes.SqlReportSubscriptions(self)
        self.chat_states = notes.SqlChatStates(self)
        self.reports = SqlReports(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.conn is not None
        try:
            if not self.committed:
                self.conn.rollback()
        finally:
            self.conn.close()
            self.conn = None
            self._sqlite = None
            if self._writer_lock is not None:
                self._writer_lock.release()

    def execute(self, statement: Executable | Prepared, params: Any = None) -> Any:
        """Run a statement, turning concurrency failures into TransientConflict.

        A :class:`Prepared` statement runs on SQLite's own cursor (unless something listens to
        the engine's statements); everything else through SQLAlchemy.
        """
        assert self.conn is not None, "unit of work used outside its with-block"
        try:
            if isinstance(statement, Prepared):
                if self._sqlite is not None and not self._engine.dispatch.before_cursor_execute:
                    compiled = statement.compiled_for(self._engine.dialect)
                    result = compiled.run(self._sqlite, params)
                    if result is not None:
                        return result
                statement = statement.statement
            return self.conn.execute(statement, params)
        except DBAPIError as exc:
            raise self._translate(exc) from exc

    @staticmethod
    def _translate(exc: DBAPIError) -> Exception:
        if is_retryable(exc):
            return TransientConflict(str(exc.orig))
        return exc

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        assert self.conn is not None
        nested = self.conn.begin_nested()
        try:
            yield
        except BaseException:
            if nested.is_active:
                nested.rollback()
            raise
        else:
            nested.commit()

    def commit(self) -> None:
        assert self.conn is not None
        self._publish_events()
        try:
            self.conn.commit()
        except DBAPIError as exc:
            raise self._translate(exc) from exc
        self.committed = True
        if self.outbox.added:
            self.outbox.added = 0
            self._bell.ring()

    def _publish_events(self) -> None:
        """Domain events become outbox rows in this transaction (when a publisher is wired)."""
        if self._publisher is None:
            return
        while self.events:
            events, self.events = self.events, []
            self._publisher(self, events)

    def rollback(self) -> None:
        assert self.conn is not None
        self.conn.rollback()


class Database:
    """The storage side of the composition root: an engine plus unit-of-work factories."""

    def __init__(
        self,
        url: str,
        *,
        clock: Clock,
        policy: LedgerPolicy,
        echo: bool = False,
        publisher: EventPublisher | None = None,
    ):
        self.url = normalise_url(url)
        self.publisher = publisher
        self.bell = notes.OutboxBell()  # rung after commits that queued outbox rows
        self.engine = build_engine(self.url, echo=echo)
        # Re-entrant: a nested unit of work in one thread falls through to SQLite, as before.
        self._writer_lock = threading.RLock() if self.engine.dialect.name == "sqlite" else None
        self.clock = clock
        self.policy = policy

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            self.engine,
            self.clock,
            self.policy,
            writer_lock=self._writer_lock,
            publisher=self.publisher,
            bell=self.bell,
        )

    def reader(self) -> SqlUnitOfWork:
        """A unit of work for reports: on SQLite it does not take the write lock."""
        return SqlUnitOfWork(self.engine, self.clock, self.policy, readonly=True, bell=self.bell)

    def dispose(self) -> None:
        self.engine.dispose()
