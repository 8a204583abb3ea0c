"""Reading an import file: decoding, delimiter, header names, rows, and the header check.

File format (all kinds)
    UTF-8 with or without a byte-order mark, a header row, one record per row. Comma
    separated; a file whose header has no comma but a semicolon or a tab (some spreadsheet
    exports) uses that instead. Column names are matched ignoring case and surrounding
    spaces (``Reorder Point`` = ``reorder_point``). A required column missing from the header
    is one error; a column nobody knows (``prcie``) is an error too, so a typo never silently
    drops data. Blank lines are skipped; cells are trimmed.
"""

from __future__ import annotations

import csv
import io
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from domain.errors import DomainError
from domain.importing.report import RowError, row_errors

HEADER_LINE = 1

Rows = list[tuple[int, dict[str, str]]]
"""``(line_no, row)`` pairs; a row maps column names (as read) to trimmed cells."""


class CsvError(DomainError):
    """The file is not readable CSV (encoding, quoting, header); ``errors`` says where."""

    code = "invalid_csv"

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


@dataclass(frozen=True, slots=True)
class Columns:
    """The header a kind of file needs (``required``) and may have (``optional``)."""

    required: tuple[str, ...]
    optional: tuple[str, ...]

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional


def read_csv(path_or_text: str | bytes | os.PathLike[str]) -> tuple[list[str], Rows]:
    """Header and ``(line_no, row)`` pairs of a CSV file; raises ``CsvError`` if malformed.

    ``path_or_text`` is a path (``Path`` or other path-like), the raw bytes of a file, or the CSV
    text itself (a ``str`` is always text, never a file name). The header row is line 1 and
    line numbers count physical lines, so a quoted cell spanning lines moves the next row
    down. Header names are lower-cased with spaces as ``_``; cells are trimmed; blank lines
    are skipped; missing trailing cells are empty.
    """
    header, rows, problems = read_rows(path_or_text)
    if problems:
        raise CsvError(row_errors(problems))
    return header, rows


def read_rows(
    source: str | bytes | os.PathLike[str],
) -> tuple[list[str], Rows, dict[int, list[str]]]:
    """Like ``read_csv`` but row problems (extra cells…) come back instead of raising.

    Problems that make the whole file unreadable (encoding, quoting, empty or bad header)
    still raise ``CsvError``.
    """
    text = _decode(source)
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = ";" if ";" in first_line else "\t" if "\t" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            records.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise CsvError([RowError(start, f"cannot read this line as CSV ({exc})")]) from exc
    records = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    if not records:
        raise CsvError([RowError(HEADER_LINE, "the file is empty; it needs a header row")])
    header_line, header_cells = records[0]
    header = [_column_name(cell) for cell in header_cells]
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise CsvError([RowError(header_line, f"column {name!r} appears twice in the header")])
        seen.add(name)
    rows: Rows = []
    problems: dict[int, list[str]] = defaultdict(list)
    for line, cells in records[1:]:
        values = [cell.strip() for cell in cells]
        extra = [value for value in values[len(header) :] if value]
        if extra:
            problems[line].append(
                f"{len(values)} values but the header has {len(header)} columns"
                f" (first extra value {extra[0][:40]!r})"
            )
        values += [""] * (len(header) - len(values))
        row: dict[str, str] = {}
        for name, value in zip(header, values, strict=False):
            if name:
                row[name] = value
            elif value:
                problems[line].append(f"value {value[:40]!r} is in a column without a header")
        rows.append((line, row))
    return header, rows, dict(problems)


def _decode(source: str | bytes | os.PathLike[str]) -> str:
    if isinstance(source, str):
        return source.removeprefix("\ufeff")
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise CsvError(
            [
                RowError(
                    line,
                    f"not UTF-8 text (byte 0x{byte}); save the file as 'CSV UTF-8' and try again",
                )
            ]
        ) from exc


def _column_name(cell: str) -> str:
    return "_".join(cell.strip().casefold().replace("-", " ").split())


def header_errors(header: Sequence[str], columns: Columns) -> list[RowError]:
    """Line 1's problems: required columns missing (one error), unknown columns (one error)."""
    present = {name for name in header if name}
    errors = []
    missing = [name for name in columns.required if name not in present]
    if missing:
        errors.append(
            RowError(
                HEADER_LINE,
                f"missing required column(s): {', '.join(missing)}"
                f" (the header needs {','.join(columns.required)};"
                f" optional: {','.join(columns.optional)})",
            )
        )
    unknown = [name for name in header if name and name not in columns.known]
    if unknown:
        errors.append(
            RowError(
                HEADER_LINE,
                f"unknown column(s): {', '.join(unknown)}"
                f" (known columns: {','.join(columns.known)})",
            )
        )
    return errors
