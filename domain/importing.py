"""CSV imports of products, customers and stock receipts: all or nothing, per file.

``chaterp import products|customers|stock FILE.csv`` calls ``import_products``,
``import_customers`` or ``import_stock``. Each reads the whole file, checks every row and
reports *every* bad row (line number and an English reason; the header is line 1). If any
row is bad nothing from the file is written; otherwise the whole file is written in one unit
of work, through the same validation and audit entries as the chat uses.

File format
    UTF-8 with or without a byte-order mark, a header row, one record per row. Comma
    separated; a file whose header has no comma but a semicolon or a tab (some spreadsheet
    exports) uses that instead. Column names are matched ignoring case and surrounding
    spaces (``Reorder Point`` = ``reorder_point``). A required column missing from the header
    is one error; a column nobody knows (``prcie``) is an error too, so a typo never silently
    drops data. Blank lines are skipped; cells are trimmed.

Columns (required in **bold**)
    products:  **sku, name, unit, price**, cost, reorder_point, reorder_qty, aliases (``a|b``)
    customers: **name**, phone, address, credit_limit, payment_terms_days, sales_rep, birthday
    stock:     **sku, quantity**, warehouse, cost

Empty cells ("an import never erases")
    An empty optional cell (or an optional column left out) gives the default on a new
    record and leaves the current value alone on an existing one:

    * products: cost 0 (it becomes the real unit cost with the first stock receipt, which
      sets the moving average), reorder point/quantity 0, no aliases. Re-importing never
      resets a product's moving-average cost unless the cell says so.
    * customers: no credit limit, the policy's payment terms, no sales rep, no birthday.
      To remove a limit or a rep, use the chat.
    * stock: warehouse = the default warehouse; cost = the product's current unit cost
      (the moving average then stays as it is).

Matching existing records
    products:  by SKU (case-insensitive: SKUs are stored upper-case); a SKU twice in one
               file is an error. Products identical to the file are left untouched.
    customers: by name after ``normalise`` (case, width, punctuation and spacing ignored)
               and phone (last 10 digits): same name and same phone updates that customer;
               same name, a phone in the file and exactly one same-named customer without a
               phone updates it (fills the phone in); same name with a different phone is a
               new customer; a row without a phone matches the only customer of that name
               and is an error when several share it. Re-importing a file never duplicates.
    stock:     every row is a receipt (``receive_stock``); the same SKU may appear twice.

Values
    Amounts and quantities as people type them (``1,200.50``, ``¥1 200``, full-width digits);
    price, cost and credit limit may be 0; quantities need more than 0 for stock and at most
    the unit's decimals (3 for kg/m/l…, else whole units). ``sales_rep`` is a user name,
    case-insensitive, among active users with role sales or owner. ``birthday`` is an ISO
    date ``YYYY-MM-DD`` only: a birthday without a year would need an invented year, which
    would show wrong ages, so ``MM-DD`` is refused with a hint.

Speed
    Products are written in batches (``save_products``: one SKU lookup per 500 rows, batched
    inserts/updates and audit entries), so 100,000 products take seconds, not minutes; see
    ``bench/import_products.py``. Customers and stock rows go through ``create_customer`` /
    ``update_customer`` / ``receive_stock`` one by one.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from domain.errors import DomainError, InvalidInput, NotAllowed
from domain.matching import normalise
from domain.model import Actor, AuditEntry, Customer, Product, Role, Warehouse, unit_decimals
from domain.money import Money
from domain.parsing import parse_decimal, parse_money, parse_quantity
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import (
    SKU_PATTERN,
    ProductDraft,
    ensure_default_warehouse,
    validate_product,
)
from domain.services.common import MAX_NAME_CHARS, audit_text, clean_text, require_role, use_case
from domain.services.customers import (
    MAX_PAYMENT_TERMS_DAYS,
    STAFF,
    CustomerDraft,
    create_customer,
    phone_key,
    update_customer,
    validate_phone,
)
from domain.services.stock import STOCK_STAFF, check_quantity, receive_stock
from domain.transaction import run_in_transaction

__all__ = [
    "CUSTOMER_COLUMNS",
    "MAX_LISTED_ERRORS",
    "PRODUCT_COLUMNS",
    "STOCK_COLUMNS",
    "BulkSaveResult",
    "Columns",
    "CsvError",
    "ImportReport",
    "Progress",
    "RowError",
    "import_customers",
    "import_products",
    "import_stock",
    "read_csv",
    "save_products",
]

T = TypeVar("T")
Progress = Callable[[int, int], None]
"""``progress(done, total)``: work units done so far and in all (see ``_Tracker``)."""

MAX_LISTED_ERRORS = 50  # bad lines listed in a report; the rest are only counted
PROGRESS_EVERY = 1000  # work units between progress calls
WRITE_BATCH = 1000  # products per batched insert/update
ALIAS_SEPARATOR = "|"
HEADER_LINE = 1
MIN_BIRTH_YEAR = 1900
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MONTH_DAY = re.compile(r"\d{1,2}[-/.]\d{1,2}")


# --- reports ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one line of the file cannot be imported (several problems are joined by "; ")."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


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


PRODUCT_COLUMNS = Columns(
    required=("sku", "name", "unit", "price"),
    optional=("cost", "reorder_point", "reorder_qty", "aliases"),
)
CUSTOMER_COLUMNS = Columns(
    required=("name",),
    optional=("phone", "address", "credit_limit", "payment_terms_days", "sales_rep", "birthday"),
)
STOCK_COLUMNS = Columns(required=("sku", "quantity"), optional=("warehouse", "cost"))


# --- reading CSV -----------------------------------------------------------------------------


def read_csv(
    path_or_text: str | bytes | os.PathLike[str],
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and ``(line_no, row)`` pairs of a CSV file; raises ``CsvError`` if malformed.

    ``path_or_text`` is a path (``Path`` or other path-like), the raw bytes of a file, or the CSV
    text itself (a ``str`` is always text, never a file name). The header row is line 1 and
    line numbers count physical lines, so a quoted cell spanning lines moves the next row
    down. Header names are lower-cased with spaces as ``_``; cells are trimmed; blank lines
    are skipped; missing trailing cells are empty.
    """
    header, rows, problems = _read(path_or_text)
    if problems:
        raise CsvError([RowError(line, "; ".join(reasons)) for line, reasons in problems.items()])
    return header, rows


def _read(
    source: str | bytes | os.PathLike[str],
) -> tuple[list[str], list[tuple[int, dict[str, str]]], dict[int, list[str]]]:
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
    rows: list[tuple[int, dict[str, str]]] = []
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


def _header_errors(header: Sequence[str], columns: Columns) -> list[RowError]:
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


# --- explaining refusals ---------------------------------------------------------------------

_REASONS = {
    "empty": "missing (required)",
    "not_a_number": "not a number",
    "negative": "must not be negative",
    "zero": "must be more than 0",
    "bad_sku": "not a valid SKU (letters, digits and . _ / -, up to 40 characters)",
    "bad_code": "not a valid code",
    "not_a_phone": "not a phone number",
    "wrong_currency": "wrong currency",
    "unknown_warehouse": "no warehouse with this code",
    "not_a_salesperson": "not a salesperson or owner",
    "out_of_range": "out of range",
    "duplicate": "appears twice",
    "year_missing": "needs the year: write YYYY-MM-DD",
    "not_a_date": "not a date (write YYYY-MM-DD)",
    "no_such_date": "no such date",
    "in_future": "is in the future",
    "too_early": f"is before {MIN_BIRTH_YEAR}",
    "not_whole_days": "must be a whole number of days",
}


def describe_refusal(exc: DomainError) -> str:
    """English text for a domain refusal, like ``price: not a number ('abc')``."""
    if not isinstance(exc, InvalidInput):
        if isinstance(exc, NotAllowed):
            return f"not allowed ({exc.action.replace('_', ' ')})"
        return str(exc)
    reason = _REASONS.get(exc.reason, exc.reason.replace("_", " "))
    limits = exc.limits
    if exc.reason == "too_long" and "maximum" in limits:
        reason = f"too long (at most {limits['maximum']} characters)"
    elif exc.reason == "too_large" and "maximum" in limits:
        reason = f"too large (at most {limits['maximum']})"
    elif exc.reason == "too_many_decimals":
        reason = f"too many decimals (at most {limits.get('decimals', 0)})"
    elif exc.reason == "too_many" and "maximum" in limits:
        reason = f"too many (at most {limits['maximum']})"
    elif exc.reason == "out_of_range" and "maximum" in limits:
        reason = f"out of range (0 to {limits['maximum']})"
    shown = exc.text[:40]
    if shown and exc.reason != "empty":
        reason += f" ({shown!r})"
    return f"{exc.field}: {reason}"


class _Errors:
    """Problems per line, collected across all passes; raises ``_Rejected`` when asked."""

    def __init__(self, initial: Mapping[int, list[str]] | None = None) -> None:
        self.by_line: dict[int, list[str]] = defaultdict(list)
        for line, reasons in (initial or {}).items():
            self.by_line[line].extend(reasons)

    def add(self, line: int, reason: str) -> None:
        self.by_line[line].append(reason)

    def copy(self) -> _Errors:
        return _Errors(self.by_line)

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
            raise _Rejected(
                tuple(
                    RowError(line, "; ".join(reasons))
                    for line, reasons in sorted(self.by_line.items())
                )
            )


class _Rejected(Exception):
    """Raised inside the unit of work so that nothing from the file is committed."""

    def __init__(self, errors: tuple[RowError, ...]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad line(s)")


# --- progress --------------------------------------------------------------------------------


class _Tracker:
    """Progress over two passes: every row counts once when checked, once when written.

    ``total`` is twice the number of rows, so the bar is half full when checking ends (a
    file with bad rows stops there). Calls are throttled to every ``PROGRESS_EVERY`` units
    and never go backwards, even when the unit of work is retried from the start.
    """

    def __init__(self, callback: Progress | None, rows: int) -> None:
        self.callback = callback
        self.rows = rows
        self.total = 2 * rows
        self.reported = -1

    def checked(self, count: int) -> None:
        self._report(count)

    def written(self, count: int) -> None:
        self._report(self.rows + count)

    def _report(self, done: int, *, force: bool = False) -> None:
        if self.callback is None or done <= self.reported:
            return
        if force or done - max(self.reported, 0) >= PROGRESS_EVERY or done == self.total:
            self.reported = done
            self.callback(done, self.total)

    def start(self) -> None:
        if self.callback is not None:
            self.reported = 0
            self.callback(0, self.total)

    def finish(self) -> None:
        self._report(self.total, force=True)


# --- the shared driver ------------------------------------------------------------------------

Rows = list[tuple[int, dict[str, str]]]
Item = TypeVar("Item")
Counts = tuple[int, int, int]  # created, updated, unchanged


@dataclass(frozen=True, slots=True)
class _Context:
    """What checking rows needs from the ledger's settings, read once before pass 1."""

    currency: str
    today: date


def _import(
    kind: str,
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    columns: Columns,
    check: Callable[[_Context, Rows, _Errors, _Tracker], list[Item]],
    write: Callable[[UnitOfWork, list[Item], _Errors, _Tracker], Counts],
    progress: Progress | None,
) -> ImportReport:
    """Read the file and check its header; pass 1 ``check`` (pure) then pass 2 ``write``.

    Pass 2 runs in one unit of work: it looks things up (SKUs, warehouses, sales reps…),
    adds what it finds wrong to the errors of pass 1, and writes only when there are none;
    otherwise it raises ``_Rejected`` and the unit of work is rolled back. A retried unit of
    work (transient conflict) starts pass 2 again from pass 1's errors.
    """
    try:
        header, rows, problems = _read(Path(path))
    except CsvError as exc:
        return ImportReport(kind, 0, 0, exc.errors[:MAX_LISTED_ERRORS])
    header_errors = _header_errors(header, columns)
    if header_errors:
        return ImportReport(kind, 0, 0, tuple(header_errors), rows=len(rows))
    context = run_in_transaction(
        uow_factory, lambda uow: _Context(uow.policy.currency, uow.clock.now().date())
    )
    tracker = _Tracker(progress, len(rows))
    tracker.start()
    errors = _Errors(problems)
    try:
        items = check(context, rows, errors, tracker)
        created, updated, unchanged = run_in_transaction(
            uow_factory, lambda uow: write(uow, items, errors.copy(), tracker)
        )
    except _Rejected as rejected:
        listed = rejected.errors[:MAX_LISTED_ERRORS]
        return ImportReport(
            kind,
            0,
            0,
            listed,
            rows=len(rows),
            more_errors=len(rejected.errors) - len(listed),
        )
    tracker.finish()
    return ImportReport(kind, created, updated, (), unchanged=unchanged, rows=len(rows))


class _Cells:
    """One row's cells, parsed field by field; every refusal is recorded, none raised."""

    def __init__(self, line: int, row: Mapping[str, str], errors: _Errors) -> None:
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
        return self.parse(column, lambda text: _money(text, currency, column))

    def quantity(self, column: str, decimals: int, *, allow_zero: bool) -> Quantity | None:
        return self.parse(column, lambda text: _quantity(text, decimals, column, allow_zero))


# Catalog files repeat the same prices and quantities; results are immutable, so remember
# the recent ones (refusals are not cached: they raise, and bad cells are rare).
@lru_cache(maxsize=4096)
def _money(text: str, currency: str, column: str) -> Money:
    return parse_money(text, currency, field=column, allow_zero=True)


@lru_cache(maxsize=4096)
def _quantity(text: str, decimals: int, column: str, allow_zero: bool) -> Quantity:
    return parse_quantity(text, decimals=decimals, field=column, allow_zero=allow_zero)


# --- products ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkSaveResult:
    created: int
    updated: int
    unchanged: int


def _catalog_fields(draft: ProductDraft) -> dict[str, object]:
    """The columns ``save_product`` writes (and audits) for a draft, in its order."""
    return {
        "name": draft.name,
        "unit": draft.unit,
        "price_minor": draft.price.minor,
        "cost_minor": draft.cost.minor,
        "aliases": tuple(draft.aliases),
        "reorder_point_milli": draft.reorder_point.milli,
        "reorder_qty_milli": draft.reorder_qty.milli,
        "active": draft.active,
    }


def _same(product: Product, draft: ProductDraft) -> bool:
    return (
        product.name == draft.name
        and product.unit == draft.unit
        and product.price == draft.price
        and product.cost == draft.cost
        and product.aliases == tuple(draft.aliases)
        and product.reorder_point == draft.reorder_point
        and product.reorder_qty == draft.reorder_qty
        and product.active == draft.active
    )


@use_case
def save_products(
    uow: UnitOfWork, *, actor: Actor, drafts: Sequence[ProductDraft]
) -> BulkSaveResult:
    """``save_product`` for many drafts at once: create new SKUs, update existing ones.

    Same validation, same rows and the same audit entries (``product.create`` /
    ``product.update``) as calling ``save_product`` per draft, except that a product the
    draft leaves exactly as it is gets no write and no audit entry. A SKU twice is refused.
    Costs a few queries per thousand drafts instead of five per draft.
    """
    require_role(actor, (Role.OWNER,), "save_product")
    currency = uow.policy.currency
    clean = [validate_product(draft, currency) for draft in drafts]
    seen: set[str] = set()
    for draft in clean:
        if draft.sku in seen:
            raise InvalidInput("sku", "duplicate", draft.sku)
        seen.add(draft.sku)
    existing = uow.products.by_skus([draft.sku for draft in clean])
    return _write_products(uow, actor, clean, existing, lambda done: None)


def _write_products(
    uow: UnitOfWork,
    actor: Actor,
    clean: Sequence[ProductDraft],
    existing: Mapping[str, Product],
    written: Callable[[int], None],
) -> BulkSaveResult:
    """Write validated drafts (unique SKUs) in batches, with ``save_product``'s audit.

    Per batch: one multi-row insert for new SKUs, one batched update for changed ones, and
    their audit entries in the drafts' order. ``written(n)`` follows the drafts done.
    """
    created = updated = unchanged = 0
    for start in range(0, len(clean), WRITE_BATCH):
        batch = clean[start : start + WRITE_BATCH]
        now = uow.clock.now()
        new = [draft for draft in batch if draft.sku not in existing]
        changed = {
            draft.sku: existing[draft.sku]
            for draft in batch
            if draft.sku in existing and not _same(existing[draft.sku], draft)
        }
        new_ids: dict[str, int] = {}
        if new:
            rows = [{"sku": d.sku, **_catalog_fields(d), "updated_at": now} for d in new]
            new_ids = dict(zip((d.sku for d in new), uow.products.add_many(rows), strict=True))
        if changed:
            uow.products.update_many(
                [
                    (changed[d.sku].id, {**_catalog_fields(d), "updated_at": now})
                    for d in batch
                    if d.sku in changed
                ]
            )
        entries: list[AuditEntry] = []
        for draft in batch:
            fields = _catalog_fields(draft)
            if draft.sku in new_ids:
                after = {"sku": draft.sku, **fields}
                entries.append(
                    _audit_entry(uow, actor, "product.create", new_ids[draft.sku], None, after)
                )
            elif draft.sku in changed:
                product = changed[draft.sku]
                before = {
                    "name": product.name,
                    "price_minor": product.price.minor,
                    "cost_minor": product.cost.minor,
                }
                entries.append(
                    _audit_entry(uow, actor, "product.update", product.id, before, fields)
                )
        uow.audit.add_many(entries)
        created += len(new)
        updated += len(changed)
        unchanged += len(batch) - len(new) - len(changed)
        written(start + len(batch))
    return BulkSaveResult(created, updated, unchanged)


def _audit_entry(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    product_id: int,
    before: dict[str, object] | None,
    after: dict[str, object],
) -> AuditEntry:
    """The entry ``audit()`` would add (same text, via the same summary function)."""
    return AuditEntry(
        at=uow.clock.now(),
        actor_id=actor.user_id,
        actor_role=str(actor.role),
        action=action,
        object_type="product",
        object_id=str(product_id),
        before=audit_text(before),
        after=audit_text(after),
        source=actor.source,
    )


@dataclass(frozen=True, slots=True)
class _ProductRow:
    """A checked product row; ``None`` fields were empty (keep current / default)."""

    line: int
    draft: ProductDraft  # validated; defaults where the row was empty
    cost: Money | None
    reorder_point: Quantity | None
    reorder_qty: Quantity | None
    aliases: tuple[str, ...] | None

    def merged(self, current: Product | None) -> ProductDraft:
        """The draft to save: empty cells keep ``current``'s values."""
        if current is None:
            return self.draft
        return ProductDraft(
            sku=self.draft.sku,
            name=self.draft.name,
            unit=self.draft.unit,
            price=self.draft.price,
            cost=current.cost if self.cost is None else self.cost,
            aliases=current.aliases if self.aliases is None else self.draft.aliases,
            reorder_point=(
                current.reorder_point if self.reorder_point is None else self.reorder_point
            ),
            reorder_qty=current.reorder_qty if self.reorder_qty is None else self.reorder_qty,
            active=True,
        )


def _parse_product(
    line: int, row: Mapping[str, str], currency: str, errors: _Errors
) -> _ProductRow | None:
    cells = _Cells(line, row, errors)
    sku = cells.required("sku")
    if sku and not SKU_PATTERN.fullmatch(sku.upper()):
        errors.add(line, describe_refusal(InvalidInput("sku", "bad_sku", sku)))
    name = cells.required("name")
    unit = cells.required("unit")
    if not cells.text("price"):
        errors.add(line, "price: missing (required)")
    price = cells.money("price", currency)
    cost = cells.money("cost", currency)
    decimals = unit_decimals(unit)
    reorder_point = cells.quantity("reorder_point", decimals, allow_zero=True)
    reorder_qty = cells.quantity("reorder_qty", decimals, allow_zero=True)
    alias_text = cells.text("aliases")
    aliases = (
        tuple(a.strip() for a in alias_text.split(ALIAS_SEPARATOR) if a.strip())
        if alias_text
        else None
    )
    zero = Money.zero(currency)
    draft = ProductDraft(
        sku=sku,
        name=name,
        unit=unit,
        price=price or zero,
        cost=cost or zero,
        aliases=aliases or (),
        reorder_point=reorder_point or Quantity(0),
        reorder_qty=reorder_qty or Quantity(0),
    )
    if errors.has(line):
        return None
    clean = errors.attempt(line, lambda: validate_product(draft, currency))
    if clean is None:
        return None
    return _ProductRow(line, clean, cost, reorder_point, reorder_qty, aliases)


def import_products(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    *,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``sku,name,unit,price[,cost,reorder_point,reorder_qty,aliases]``; upsert by SKU.

    Raises NotAllowed unless the actor is an owner, OSError if the file cannot be read.
    """
    require_role(actor, (Role.OWNER,), "import_products")

    def write(
        uow: UnitOfWork, checked: list[_ProductRow], errors: _Errors, tracker: _Tracker
    ) -> Counts:
        existing = uow.products.by_skus([item.draft.sku for item in checked])
        drafts = [item.merged(existing.get(item.draft.sku)) for item in checked]
        result = _write_products(uow, actor, drafts, existing, tracker.written)
        return result.created, result.updated, result.unchanged

    return _import("products", uow_factory, path, PRODUCT_COLUMNS, _check_products, write, progress)


def _check_products(
    context: _Context, rows: Rows, errors: _Errors, tracker: _Tracker
) -> list[_ProductRow]:
    """Pass 1: parse and validate every row; a SKU may appear once. Raises ``_Rejected``."""
    checked: list[_ProductRow] = []
    first_line: dict[str, int] = {}
    for index, (line, row) in enumerate(rows, 1):
        item = _parse_product(line, row, context.currency, errors)
        if item is not None:
            earlier = first_line.setdefault(item.draft.sku, line)
            if earlier != line:
                errors.add(line, f"sku: {item.draft.sku} is already on line {earlier}")
            else:
                checked.append(item)
        tracker.checked(index)
    errors.check()  # nothing in pass 2 can find more: stop before opening a transaction
    return checked


# --- customers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CustomerRow:
    """A checked customer row; ``None`` fields were empty (keep current / default)."""

    line: int
    name: str
    name_key: str
    phone: str | None
    address: str | None
    credit_limit: Money | None
    payment_terms_days: int | None
    sales_rep: str | None
    birthday: date | None

    def draft(self, current: Customer | None, sales_rep_id: int | None) -> CustomerDraft:
        """The profile to save: on an existing customer empty cells keep its values."""
        if current is None:
            return CustomerDraft(
                name=self.name,
                phone=self.phone or "",
                address=self.address or "",
                sales_rep_id=sales_rep_id,
                credit_limit=self.credit_limit,
                payment_terms_days=self.payment_terms_days,
                birthday=self.birthday,
            )
        return CustomerDraft(
            name=self.name,
            phone=current.phone if self.phone is None else self.phone,
            address=current.address if self.address is None else self.address,
            sales_rep_id=current.sales_rep_id if self.sales_rep is None else sales_rep_id,
            credit_limit=current.credit_limit if self.credit_limit is None else self.credit_limit,
            payment_terms_days=(
                current.payment_terms_days
                if self.payment_terms_days is None
                else self.payment_terms_days
            ),
            tier=current.tier,
            birthday=current.birthday if self.birthday is None else self.birthday,
            notes=current.notes,
        )


def parse_birthday(text: str, today: date) -> date:
    """An ISO ``YYYY-MM-DD`` date between 1900 and today; MM-DD is refused with a hint."""
    cleaned = unicodedata.normalize("NFKC", text).strip()
    if _MONTH_DAY.fullmatch(cleaned):
        raise InvalidInput("birthday", "year_missing", text)
    if not _ISO_DATE.fullmatch(cleaned):
        raise InvalidInput("birthday", "not_a_date", text)
    try:
        value = date.fromisoformat(cleaned)
    except ValueError as exc:
        raise InvalidInput("birthday", "no_such_date", text) from exc
    if value > today:
        raise InvalidInput("birthday", "in_future", text)
    if value.year < MIN_BIRTH_YEAR:
        raise InvalidInput("birthday", "too_early", text, minimum=MIN_BIRTH_YEAR)
    return value


def parse_payment_terms(text: str) -> int:
    """Whole days, 0..MAX_PAYMENT_TERMS_DAYS."""
    value = parse_decimal(text, "payment_terms_days")
    if value != value.to_integral_value():
        raise InvalidInput("payment_terms_days", "not_whole_days", text)
    if not Decimal(0) <= value <= MAX_PAYMENT_TERMS_DAYS:
        raise InvalidInput(
            "payment_terms_days", "out_of_range", text, maximum=MAX_PAYMENT_TERMS_DAYS
        )
    return int(value)


def _parse_customer(
    line: int, row: Mapping[str, str], currency: str, today: date, errors: _Errors
) -> _CustomerRow | None:
    cells = _Cells(line, row, errors)
    raw_name = cells.required("name")
    name = (
        errors.attempt(line, lambda: clean_text(raw_name, "name", limit=MAX_NAME_CHARS))
        if raw_name
        else None
    )
    phone = cells.parse("phone", validate_phone)
    address = cells.parse("address", lambda text: clean_text(text, "address"))
    credit_limit = cells.money("credit_limit", currency)
    terms = cells.parse("payment_terms_days", parse_payment_terms)
    sales_rep = " ".join(cells.text("sales_rep").split()) or None
    birthday = cells.parse("birthday", lambda text: parse_birthday(text, today))
    if not name or errors.has(line):
        return None
    return _CustomerRow(
        line=line,
        name=name,
        name_key=normalise(name),
        phone=phone,
        address=address,
        credit_limit=credit_limit,
        payment_terms_days=terms,
        sales_rep=sales_rep,
        birthday=birthday,
    )


def _match_customer(
    item: _CustomerRow, same_name: Sequence[Customer], errors: _Errors
) -> Customer | None:
    """The existing customer this row is (None: a new one); see the module docstring."""
    if not same_name:
        return None
    key = phone_key(item.phone or "")
    if key:
        same_phone = [c for c in same_name if phone_key(c.phone) == key]
        if len(same_phone) == 1:
            return same_phone[0]
        if len(same_phone) > 1:
            ids = ", ".join(f"#{c.id}" for c in same_phone)
            errors.add(item.line, f"name: several customers have this name and phone ({ids})")
            return None
        no_phone = [c for c in same_name if not phone_key(c.phone)]
        return no_phone[0] if len(no_phone) == 1 else None
    if len(same_name) == 1:
        return same_name[0]
    ids = ", ".join(f"#{c.id}" for c in same_name)
    errors.add(
        item.line,
        f"name: {len(same_name)} customers are called {item.name!r} ({ids});"
        " add the phone number to say which",
    )
    return None


def _sales_reps(uow: UnitOfWork) -> dict[str, list[int]]:
    """Active sales and owner users by case-insensitive name."""
    reps: dict[str, list[int]] = defaultdict(list)
    for user in uow.users.list(active_only=True):
        if user.role in STAFF:
            reps[" ".join(user.name.split()).casefold()].append(user.id)
    return reps


def import_customers(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    *,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``name[,phone,address,credit_limit,payment_terms_days,sales_rep,birthday]``.

    New names become customers (``create_customer`` without the look-alike question);
    names already known update that customer (``update_customer``); see the module
    docstring for the matching rule. Raises NotAllowed unless the actor is sales or owner.
    """
    require_role(actor, STAFF, "import_customers")

    def write(
        uow: UnitOfWork, checked: list[_CustomerRow], errors: _Errors, tracker: _Tracker
    ) -> Counts:
        reps = _sales_reps(uow)
        by_name: dict[str, list[Customer]] = defaultdict(list)
        for customer in uow.customers.list(active_only=False):
            by_name[normalise(customer.name)].append(customer)
        plan: list[tuple[_CustomerRow, Customer | None, int | None]] = []
        claimed: dict[int, int] = {}
        for item in checked:
            rep_id = None
            if item.sales_rep is not None:
                ids = reps.get(item.sales_rep.casefold(), [])
                if len(ids) != 1:
                    problem = "no active salesperson or owner" if not ids else "several users"
                    errors.add(item.line, f"sales_rep: {problem} called {item.sales_rep!r}")
                    continue
                rep_id = ids[0]
            current = _match_customer(item, by_name.get(item.name_key, ()), errors)
            if current is not None:
                earlier = claimed.setdefault(current.id, item.line)
                if earlier != item.line:
                    errors.add(item.line, f"name: same customer (#{current.id}) as line {earlier}")
                    continue
            plan.append((item, current, rep_id))
        errors.check()
        created = updated = unchanged = 0
        for index, (item, current, rep_id) in enumerate(plan, 1):
            draft = item.draft(current, rep_id)
            if current is None:
                errors.attempt(
                    item.line,
                    lambda d=draft: create_customer(uow, actor=actor, draft=d, allow_similar=True),
                )
                created += 1
            elif _customer_unchanged(current, draft, uow.policy.default_payment_terms_days):
                unchanged += 1
            else:
                errors.attempt(
                    item.line,
                    lambda d=draft, c=current: update_customer(
                        uow, actor=actor, customer_id=c.id, draft=d
                    ),
                )
                updated += 1
            tracker.written(index)
        errors.check()
        return created, updated, unchanged

    return _import(
        "customers", uow_factory, path, CUSTOMER_COLUMNS, _check_customers, write, progress
    )


def _check_customers(
    context: _Context, rows: Rows, errors: _Errors, tracker: _Tracker
) -> list[_CustomerRow]:
    """Pass 1: parse every row and refuse repeats within the file."""
    checked: list[_CustomerRow] = []
    for index, (line, row) in enumerate(rows, 1):
        item = _parse_customer(line, row, context.currency, context.today, errors)
        if item is not None:
            checked.append(item)
        tracker.checked(index)
    _same_in_file(checked, errors)
    return checked


def _same_in_file(items: Sequence[_CustomerRow], errors: _Errors) -> None:
    """Refuse a row that repeats an earlier one: same name and same (or a missing) phone."""
    earlier: dict[str, list[_CustomerRow]] = defaultdict(list)
    for item in items:
        key = phone_key(item.phone or "")
        for other in earlier[item.name_key]:
            other_key = phone_key(other.phone or "")
            if not key or not other_key or key == other_key:
                errors.add(item.line, f"name: same customer as line {other.line}")
                break
        earlier[item.name_key].append(item)


def _customer_unchanged(current: Customer, draft: CustomerDraft, default_terms: int) -> bool:
    terms = default_terms if draft.payment_terms_days is None else draft.payment_terms_days
    return (
        current.name == draft.name
        and current.phone == draft.phone
        and current.address == draft.address
        and current.sales_rep_id == draft.sales_rep_id
        and current.credit_limit == draft.credit_limit
        and current.payment_terms_days == terms
        and current.birthday == draft.birthday
    )


# --- stock ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _StockRow:
    line: int
    sku: str
    quantity: Quantity
    warehouse: str
    cost: Money | None


def _parse_stock(
    line: int, row: Mapping[str, str], currency: str, errors: _Errors
) -> _StockRow | None:
    cells = _Cells(line, row, errors)
    sku = cells.required("sku").upper()
    if sku and not SKU_PATTERN.fullmatch(sku):
        errors.add(line, describe_refusal(InvalidInput("sku", "bad_sku", sku)))
    if not cells.text("quantity"):
        errors.add(line, "quantity: missing (required)")
    quantity = cells.quantity("quantity", 3, allow_zero=False)
    cost = cells.money("cost", currency)
    if quantity is None or errors.has(line):
        return None
    return _StockRow(line, sku, quantity, cells.text("warehouse").upper(), cost)


def import_stock(
    uow_factory: UnitOfWorkFactory,
    path: Path | str,
    *,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Import receipts ``sku,quantity[,warehouse,cost]``: on hand up, moving-average cost.

    Every row is one ``receive_stock`` (noted "import FILE line N"); ``created`` counts them.
    Raises NotAllowed unless the actor is an owner or warehouse staff.
    """
    require_role(actor, STOCK_STAFF, "import_stock")
    file_name = Path(path).name

    def write(
        uow: UnitOfWork, checked: list[_StockRow], errors: _Errors, tracker: _Tracker
    ) -> Counts:
        products = uow.products.by_skus([item.sku for item in checked])
        warehouses = {w.code: w for w in uow.warehouses.list()}
        plan: list[tuple[_StockRow, Product, str]] = []
        for item in checked:
            product = products.get(item.sku)
            if product is None:
                errors.add(item.line, f"sku: no product with SKU {item.sku!r}")
                continue
            if item.warehouse and item.warehouse not in warehouses:
                errors.add(item.line, f"warehouse: no warehouse with code {item.warehouse!r}")
                continue
            errors.attempt(item.line, lambda p=product, q=item.quantity: check_quantity(p, q))
            if not errors.has(item.line):
                plan.append((item, product, item.warehouse))
        errors.check()
        default: Warehouse | None = None
        for index, (item, product, code) in enumerate(plan, 1):
            if code:
                warehouse = warehouses[code]
            else:
                default = default or ensure_default_warehouse(uow)
                warehouse = default
            cost = item.cost
            if cost is None:
                current = uow.products.get(product.id)
                cost = current.cost if current is not None else product.cost
            errors.attempt(
                item.line,
                lambda i=item, p=product, w=warehouse, c=cost: receive_stock(
                    uow,
                    actor=actor,
                    product_id=p.id,
                    quantity=i.quantity,
                    unit_cost=c,
                    warehouse_id=w.id,
                    note=f"import {file_name} line {i.line}",
                ),
            )
            tracker.written(index)
        errors.check()
        return len(plan), 0, 0

    return _import("stock", uow_factory, path, STOCK_COLUMNS, _check_stock, write, progress)


def _check_stock(
    context: _Context, rows: Rows, errors: _Errors, tracker: _Tracker
) -> list[_StockRow]:
    """Pass 1: parse every row (SKUs, warehouses and units are checked in pass 2)."""
    checked: list[_StockRow] = []
    for index, (line, row) in enumerate(rows, 1):
        item = _parse_stock(line, row, context.currency, errors)
        if item is not None:
            checked.append(item)
        tracker.checked(index)
    return checked
