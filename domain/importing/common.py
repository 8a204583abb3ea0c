"""Row checking shared by every kind of file: collected errors, cell parsing, pass 1's loop.

No refusal stops checking: every problem of every line is recorded (``Errors``) and the
file is refused as a whole (``Rejected``) when a pass is done, so a report lists them all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import TypeVar

from domain.errors import DomainError, InvalidInput
from domain.importing.csv_reader import Rows
from domain.importing.progress import Tracker
from domain.importing.reasons import describe_refusal
from domain.importing.report import RowError, row_errors
from domain.importing.values import parse_money_cell, parse_quantity_cell
from domain.money import Money
from domain.quantity import Quantity
from domain.services.catalog import SKU_PATTERN

T = TypeVar("T")


class Rejected(Exception):
    """Raised inside the unit of work so that nothing from the file is committed."""

    def __init__(self, errors: tuple[RowError, ...]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad line(s)")


class Errors:
    """Problems per line, collected across all passes; raises ``Rejected`` when asked."""

    def __init__(self, initial: Mapping[int, list[str]] | None = None) -> None:
        self.by_line: dict[int, list[str]] = defaultdict(list)
        for line, reasons in (initial or {}).items():
            self.by_line[line].extend(reasons)

    def add(self, line: int, reason: str) -> None:
        self.by_line[line].append(reason)

    def copy(self) -> Errors:
        return Errors(self.by_line)

    def has(self, line: int) -> bool:
        return line in self.by_line

    def attempt(self, line: int, parse: Callable[[], T]) -> T | None:
        """``parse()``, or None with the refusal recorded against ``line``."""
        try:
            return parse()
        except DomainError as exc:
            self.add(line, describe_refusal(exc))
            return None

    def check(self) -> None:
        if self.by_line:
            raise Rejected(row_errors(self.by_line))


class Cells:
    """One row's cells, parsed field by field; every refusal is recorded, none raised."""

    def __init__(self, line: int, row: Mapping[str, str], errors: Errors) -> None:
        self.line = line
        self.row = row
        self.errors = errors

    def text(self, column: str) -> str:
        return self.row.get(column, "")

    def required(self, column: str) -> str:
        value = self.text(column)
        if not value:
            self.errors.add(self.line, f"{column}: missing (required)")
        return value

    def parse(self, column: str, parse: Callable[[str], T]) -> T | None:
        """``parse(cell)``; None when the cell is empty or refused (recorded)."""
        value = self.text(column)
        if not value:
            return None
        return self.errors.attempt(self.line, lambda: parse(value))

    def money(self, column: str, currency: str) -> Money | None:
        return self.parse(column, lambda text: parse_money_cell(text, currency, column))

    def quantity(self, column: str, decimals: int, *, allow_zero: bool) -> Quantity | None:
        return self.parse(
            column, lambda text: parse_quantity_cell(text, decimals, column, allow_zero)
        )

    def check_sku(self, sku: str) -> None:
        """Record a refusal unless ``sku`` (shown as given) is empty or a valid SKU."""
        if sku and not SKU_PATTERN.fullmatch(sku.upper()):
            self.errors.add(self.line, describe_refusal(InvalidInput("sku", "bad_sku", sku)))


def parse_rows(
    rows: Rows, parse: Callable[[int, Mapping[str, str]], T | None], tracker: Tracker
) -> list[T]:
    """Pass 1's loop: ``parse(line, row)`` every row, keeping the rows it accepts."""
    checked: list[T] = []
    for index, (line, row) in enumerate(rows, 1):
        item = parse(line, row)
        if item is not None:
            checked.append(item)
        tracker.checked(index)
    return checked
