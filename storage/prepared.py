"""Hot statements run straight on SQLite's cursor, compiled once by SQLAlchemy.

Every update the bot handles runs about fifteen statements (the processed-update record, the
person, the conversation, the products and stock it shows…). Through SQLAlchemy Core each
``execute`` costs some 25 µs of Python (an execution context, result metadata, events) around
SQLite's own 5 µs, and on a two-core machine that is a good share of what an order costs.

A :class:`Prepared` statement is an ordinary SQLAlchemy Core statement, built once at import
time (its SQL fixed, its values bind parameters). On SQLite it is compiled once by SQLAlchemy
itself (same SQL, same bind and result type processing: aware UTC datetimes, booleans) and
then run on the connection's sqlite3 cursor; the rows come back as named tuples, read like
SQLAlchemy's rows (``row.name``, ``row[0]``). On PostgreSQL, or while anything listens to
the engine's statements (``echo``, a statement counter), it simply goes through SQLAlchemy.

Only statements whose compiled form is fixed (but for the length of ``IN`` lists) qualify: no
Python-side column defaults, no rendered literals; anything else raises when first compiled
(``Prepared`` is opt-in per statement; a test compiles every one the repositories hold).
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.sql import ClauseElement, Executable

Processor = Callable[[Any], Any] | None
_MISSING = object()
MAX_SHAPES = 64  # SQL texts kept per statement (one per combination of IN-list lengths)


class Prepared:
    """A fixed Core statement that runs on SQLite without SQLAlchemy's execution machinery."""

    __slots__ = ("_compiled", "keys", "statement")

    def __init__(self, statement: Executable, *, keys: Sequence[str] = ()) -> None:
        """``keys``: for an INSERT or UPDATE, the columns it sets (given as parameters)."""
        self.statement = statement
        self.keys = tuple(keys)
        self._compiled: dict[str, _Compiled] = {}

    def compiled_for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.statement, dialect, self.keys)
        return compiled


class _Compiled:
    """The SQL text, the parameters in order (with their defaults and processors) and how to
    turn a result row into a named tuple with SQLAlchemy's result processing applied."""

    def __init__(self, statement: Executable, dialect: Dialect, keys: Sequence[str]) -> None:
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
        if compiled.literal_execute_params or any(
            not bind.expanding for bind in compiled.post_compile_params
        ):
            raise ValueError(f"not a fixed statement (rendered parameters): {compiled}")
        if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
            raise ValueError(f"not a fixed statement (Python-side defaults): {compiled}")
        self.sql = compiled.string
        # IN lists: SQLAlchemy leaves "__[POSTCOMPILE_name]" in the SQL, one "?" per item here
        self.expanding = frozenset(compiled.bind_names[b] for b in compiled.post_compile_params)
        self._sql_by_sizes: dict[tuple[int, ...], str] = {}
        names = list(compiled.positiontup or ())
        processors = compiled._bind_processors
        self.params: list[tuple[str, Any, Processor]] = []
        for name in names:
            bind = compiled.binds[name]
            if bind.callable is not None:
                raise ValueError(f"not a fixed statement (callable parameter {name}): {compiled}")
            default = _MISSING if bind.required else bind.effective_value
            self.params.append((name, default, processors.get(name)))
        # An INSERT or UPDATE sets only the columns it was compiled for; a value for any other
        # would be dropped silently (SQLAlchemy would have set it), so it is refused instead.
        self.settable = frozenset(names) if keys else None
        columns = compiled._result_columns
        self.returns_rows = bool(columns)
        self.row: Callable[[Any], Any] | None = None
        # (column index, SQLAlchemy's result processor) for the columns that have one
        self.converters: tuple[tuple[int, Callable[[Any], Any]], ...] = ()
        if columns:
            keys = [column[0] for column in columns]
            if len(set(keys)) != len(keys):
                raise ValueError(f"duplicate result column names: {keys}")
            self.row = namedtuple("Row", keys)._make  # type: ignore[misc]
            processors = [column[3]._cached_result_processor(dialect, None) for column in columns]
            self.converters = tuple(
                (index, process) for index, process in enumerate(processors) if process is not None
            )

    def bind(self, params: Mapping[str, Any] | None) -> tuple[str, list[Any]] | None:
        """The SQL and its values for these parameters (None for an empty IN list, which
        SQLAlchemy renders its own way)."""
        given = params or {}
        if self.settable is not None and not self.settable.issuperset(given):
            unknown = sorted(set(given) - self.settable)
            raise KeyError(f"not among the columns this statement sets: {unknown}")
        values: list[Any] = []
        sizes: list[int] = []
        for name, default, processor in self.params:
            value = given.get(name, default)
            if value is _MISSING:
                raise KeyError(f"a value is required for bind parameter {name!r}")
            if name in self.expanding:
                if not value:
                    return None
                sizes.append(len(value))
                values.extend(item if processor is None else processor(item) for item in value)
            else:
                values.append(value if processor is None else processor(value))
        return self._text(tuple(sizes)), values

    def _text(self, sizes: tuple[int, ...]) -> str:
        if not sizes:
            return self.sql
        sql = self._sql_by_sizes.get(sizes)
        if sql is None:
            sql = self.sql
            expanding = (name for name, _, _ in self.params if name in self.expanding)
            for name, size in zip(expanding, sizes, strict=True):
                sql = sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join("?" * size))
            if len(self._sql_by_sizes) < MAX_SHAPES:
                self._sql_by_sizes[sizes] = sql
        return sql

    def run(
        self, connection: sqlite3.Connection, params: Mapping[str, Any] | None
    ) -> FastResult | None:
        """Run on ``connection``; None if this statement is better left to SQLAlchemy."""
        bound = self.bind(params)
        if bound is None:
            return None
        sql, values = bound
        try:
            cursor = connection.execute(sql, values)
            if not self.returns_rows:
                return FastResult([], cursor.rowcount)
            raw = cursor.fetchall()
            cursor.close()
        except sqlite3.Error as error:
            # the exception SQLAlchemy would have raised (IntegrityError, OperationalError…)
            raise DBAPIError.instance(sql, values, error, sqlite3.Error) from error
        make = self.row
        assert make is not None
        if not self.converters:
            return FastResult([make(row) for row in raw], len(raw))
        rows = []
        for row in raw:
            values = list(row)
            for index, process in self.converters:
                values[index] = process(values[index])  # they take None as SQLAlchemy's do
            rows.append(make(values))
        return FastResult(rows, len(rows))


class FastResult:
    """The part of SQLAlchemy's ``CursorResult`` the repositories use, over fetched rows."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one(self) -> Any:
        if len(self._rows) != 1:
            raise NoResultFound("no row") if not self._rows else MultipleResultsFound("rows")
        return self._rows[0]

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise MultipleResultsFound("more than one row")
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self._rows)
