"""What an import reports: every bad line (``RowError``) and the outcome (``ImportReport``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

MAX_LISTED_ERRORS = 50  # bad lines listed in a report; the rest are only counted


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line of the file cannot be imported (several problems are joined by "; ")."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def row_errors(by_line: Mapping[int, Sequence[str]]) -> tuple[RowError, ...]:
    """One ``RowError`` per line, in line order, its problems joined by "; "."""
    return tuple(RowError(line, "; ".join(reasons)) for line, reasons in sorted(by_line.items()))


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did, or (``ok`` False) why it did nothing.

    ``created``/``updated`` count products or customers; for stock ``created`` counts the
    receipts recorded. ``unchanged`` counts existing records the file left as they were.
    ``errors`` lists at most ``MAX_LISTED_ERRORS`` bad lines, in line order; ``more_errors``
    counts the bad lines beyond those. ``rows`` is the number of data rows in the file.
    """

    kind: str
    created: int
    updated: int
    errors: tuple[RowError, ...] = ()
    unchanged: int = 0
    rows: int = 0
    more_errors: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors and not self.more_errors

    def describe(self) -> str:
        """A few lines of English for a terminal or a chat message."""
        if self.ok:
            text = f"Imported {self.rows} rows of {self.kind}: {self.created} new"
            if self.kind != "stock":
                text += f", {self.updated} updated, {self.unchanged} unchanged"
            return text + "."
        lines = [f"Nothing was imported: {len(self.errors) + self.more_errors} bad line(s)."]
        lines += [f"  {error}" for error in self.errors]
        if self.more_errors:
            lines.append(f"  … and {self.more_errors} more bad line(s) not listed.")
        return "\n".join(lines)
