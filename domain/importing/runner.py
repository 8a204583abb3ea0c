"""The two passes every import runs: check every row (pure), then write in one unit of work.

All or nothing, per file: every bad row is reported (line number and an English reason;
the header is line 1), and if any row is bad nothing from the file is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from domain.importing.common import Errors, Rejected
from domain.importing.csv_reader import Columns, CsvError, Rows, header_errors, read_rows
from domain.importing.progress import Progress, Tracker
from domain.importing.report import MAX_LISTED_ERRORS, ImportReport, RowError
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.transaction import run_in_transaction

Item = TypeVar("Item")
Counts = tuple[int, int, int]  # created, updated, unchanged


@dataclass(frozen=True, slots=True)
class Context:
    """What checking rows needs from the ledger's settings, read once before pass 1."""

    currency: str
    today: date


def run_import(
    kind: str,
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    columns: Columns,
    check: Callable[[Context, Rows, Errors, Tracker], list[Item]],
    write: Callable[[UnitOfWork, list[Item], Errors, Tracker], Counts],
    progress: Progress | None,
) -> ImportReport:
    """Read the file and check its header; pass 1 ``check`` (pure) then pass 2 ``write``.

    Pass 2 runs in one unit of work: it looks things up (SKUs, warehouses, sales reps…),
    adds what it finds wrong to the errors of pass 1, and writes only when there are none;
    otherwise it raises ``Rejected`` and the unit of work is rolled back. A retried unit of
    work (transient conflict) starts pass 2 again from pass 1's errors.
    """
    try:
        header, rows, problems = read_rows(Path(path))
    except CsvError as exc:
        return _refused(kind, exc.errors, rows=0)
    bad_header = header_errors(header, columns)
    if bad_header:
        return _refused(kind, bad_header, rows=len(rows))
    context = run_in_transaction(
        uow_factory, lambda uow: Context(uow.policy.currency, uow.clock.now().date())
    )
    tracker = Tracker(progress, len(rows))
    tracker.start()
    errors = Errors(problems)
    try:
        items = check(context, rows, errors, tracker)
        created, updated, unchanged = run_in_transaction(
            uow_factory, lambda uow: write(uow, items, errors.copy(), tracker)
        )
    except Rejected as rejected:
        return _refused(kind, rejected.errors, rows=len(rows))
    tracker.finish()
    return ImportReport(kind, created, updated, (), unchanged=unchanged, rows=len(rows))


def _refused(kind: str, errors: Sequence[RowError], *, rows: int) -> ImportReport:
    """The report of an import that wrote nothing: the first bad lines, the rest counted."""
    listed = tuple(errors[:MAX_LISTED_ERRORS])
    return ImportReport(kind, 0, 0, listed, rows=rows, more_errors=len(errors) - len(listed))
