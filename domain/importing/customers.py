"""``import_customers``: new names become customers, known ones are updated.

Matching existing records
    By name after ``normalise`` (case, width, punctuation and spacing ignored) and phone
    (last 10 digits): same name and same phone updates that customer; same name, a phone in
    the file and exactly one same-named customer without a phone updates it (fills the
    phone in); same name with a different phone is a new customer; a row without a phone
    matches the only customer of that name and is an error when several share it.
    Re-importing a file never duplicates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from domain.importing.common import Cells, Errors, parse_rows
from domain.importing.csv_reader import Columns, Rows
from domain.importing.progress import Progress, Tracker
from domain.importing.report import ImportReport
from domain.importing.runner import Context, Counts, run_import
from domain.importing.values import parse_birthday, parse_payment_terms
from domain.matching import normalise
from domain.model import Actor, Customer
from domain.money import Money
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.common import MAX_NAME_CHARS, clean_text, require_role
from domain.services.customers import (
    STAFF,
    CustomerDraft,
    create_customer,
    phone_key,
    update_customer,
    validate_phone,
)

CUSTOMER_COLUMNS = Columns(
    required=("name",),
    optional=("phone", "address", "credit_limit", "payment_terms_days", "sales_rep", "birthday"),
)


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


def _parse_customer(
    line: int, row: Mapping[str, str], currency: str, today: date, errors: Errors
) -> _CustomerRow | None:
    cells = Cells(line, row, errors)
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
    item: _CustomerRow, same_name: Sequence[Customer], errors: Errors
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
        uow: UnitOfWork, checked: list[_CustomerRow], errors: Errors, tracker: Tracker
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

    return run_import(
        "customers", uow_factory, path, CUSTOMER_COLUMNS, _check_customers, write, progress
    )


def _check_customers(
    context: Context, rows: Rows, errors: Errors, tracker: Tracker
) -> list[_CustomerRow]:
    """Pass 1: parse every row and refuse repeats within the file."""
    checked = parse_rows(
        rows,
        lambda line, row: _parse_customer(line, row, context.currency, context.today, errors),
        tracker,
    )
    _same_in_file(checked, errors)
    return checked


def _same_in_file(items: Sequence[_CustomerRow], errors: Errors) -> None:
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
