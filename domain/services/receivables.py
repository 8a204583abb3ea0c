"""Receivables read side: balance, statement with running balance, ageing per customer and rep."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from domain.errors import AlreadyReminded, NotAllowed, NotFound, NothingOverdue
from domain.events import PaymentReminderRequested
from domain.model import Actor, Customer, Invoice, PaymentMethod, Role
from domain.money import Money
from domain.ports import UnitOfWork
from domain.services.common import audit, get_customer, require_role, use_case
from domain.services.users import user_name

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


def bucket_of(invoice: Invoice, today: date) -> str:
    """Ageing bucket by days past due (not yet due: current)."""
    overdue = (today - invoice.due_on).days
    if overdue <= 0:
        return "current"
    if overdue <= 30:
        return "1-30"
    if overdue <= 60:
        return "31-60"
    if overdue <= 90:
        return "61-90"
    return "90+"


@dataclass(slots=True)
class Ageing:
    currency: str
    buckets: dict[str, Money] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in BUCKETS:
            self.buckets.setdefault(name, Money.zero(self.currency))

    def add(self, invoice: Invoice, today: date) -> None:
        name = bucket_of(invoice, today)
        self.buckets[name] = self.buckets[name] + invoice.outstanding

    @property
    def total(self) -> Money:
        return sum(self.buckets.values(), Money.zero(self.currency))

    @property
    def overdue(self) -> Money:
        return self.total - self.buckets["current"]


def ageing_of(invoices: Iterable[Invoice], today: date, currency: str) -> Ageing:
    ageing = Ageing(currency)
    for invoice in invoices:
        ageing.add(invoice, today)
    return ageing


@dataclass(frozen=True, slots=True)
class CustomerBalance:
    customer: Customer
    balance: Money  # owed by the customer; negative is credit in their favour
    outstanding: Money  # sum of open invoices
    credit: Money  # unallocated payments
    ageing: Ageing
    open_invoices: tuple[Invoice, ...]


def check_can_see(uow: UnitOfWork, actor: Actor, customer: Customer) -> None:
    """Owner: everyone. Sales: their own customers. Customer: only themselves."""
    if actor.role is Role.OWNER:
        return
    if actor.role is Role.SALES and customer.sales_rep_id in (None, actor.user_id):
        return
    if actor.role is Role.CUSTOMER and actor.user_id is not None:
        user = uow.users.get(actor.user_id)
        if user is not None and user.customer_id == customer.id:
            return
        raise NotFound("customer", customer.id)  # same answer as for one that does not exist
    raise NotAllowed("see_customer", str(actor.role))


def customer_balance(uow: UnitOfWork, *, actor: Actor, customer_id: int) -> CustomerBalance:
    customer = get_customer(uow, customer_id)
    check_can_see(uow, actor, customer)
    currency = uow.policy.currency
    open_invoices = tuple(uow.invoices.open([customer.id]))
    outstanding = sum((inv.outstanding for inv in open_invoices), Money.zero(currency))
    credit = sum(
        (p.unallocated for p in uow.payments.with_credit(customer.id)), Money.zero(currency)
    )
    return CustomerBalance(
        customer=customer,
        balance=customer.balance if customer.balance is not None else Money.zero(currency),
        outstanding=outstanding,
        credit=credit,
        ageing=ageing_of(open_invoices, uow.clock.now().date(), currency),
        open_invoices=open_invoices,
    )


@dataclass(frozen=True, slots=True)
class StatementLine:
    on: date
    kind: str  # invoice | payment | credit_note
    number: str
    debit: Money
    credit: Money
    balance: Money


@dataclass(frozen=True, slots=True)
class Statement:
    customer: Customer
    start: date
    end: date
    opening: Money
    lines: tuple[StatementLine, ...]
    closing: Money


def statement(
    uow: UnitOfWork, *, actor: Actor, customer_id: int, start: date, end: date
) -> Statement:
    """Invoices and payments between two dates (inclusive) with a running balance (对账单)."""
    customer = get_customer(uow, customer_id)
    check_can_see(uow, actor, customer)
    currency = uow.policy.currency
    zero = Money.zero(currency)
    entries: list[tuple[date, int, str, str, Money, Money]] = []
    for inv in uow.invoices.for_customer(customer.id):
        entries.append((inv.issued_on, 0, "invoice", inv.number, inv.amount, zero))
    for pay in uow.payments.for_customer(customer.id):
        kind = "credit_note" if pay.method is PaymentMethod.CREDIT_NOTE else "payment"
        entries.append((pay.received_on, 1, kind, pay.number, zero, pay.amount))
    entries.sort(key=lambda e: (e[0], e[1], e[3]))
    opening = zero
    lines: list[StatementLine] = []
    running = zero
    for on, _, kind, number, debit, credit in entries:
        if on < start:
            opening = opening + debit - credit
            running = opening
            continue
        if on > end:
            continue
        running = running + debit - credit
        lines.append(StatementLine(on, kind, number, debit, credit, running))
    return Statement(customer, start, end, opening, tuple(lines), running)


def ageing_by_customer(uow: UnitOfWork, *, actor: Actor) -> dict[int, Ageing]:
    """Ageing of every customer the actor may see (sales: their own)."""
    if actor.role not in (Role.OWNER, Role.SALES):
        raise NotAllowed("ageing", str(actor.role))
    today = uow.clock.now().date()
    currency = uow.policy.currency
    customers = uow.customers.list(
        active_only=False, sales_rep_id=actor.user_id if actor.role is Role.SALES else None
    )
    ids = [c.id for c in customers]
    result: dict[int, Ageing] = {}
    for invoice in uow.invoices.open(ids):
        result.setdefault(invoice.customer_id, Ageing(currency)).add(invoice, today)
    return result


def ageing_by_sales_rep(uow: UnitOfWork, *, actor: Actor) -> dict[int | None, Ageing]:
    """Ageing per sales rep (None: customers without a rep); owners only."""
    if actor.role is not Role.OWNER:
        raise NotAllowed("ageing_by_rep", str(actor.role))
    today = uow.clock.now().date()
    currency = uow.policy.currency
    rep_of = {c.id: c.sales_rep_id for c in uow.customers.list(active_only=False)}
    result: dict[int | None, Ageing] = {}
    for invoice in uow.invoices.open():
        result.setdefault(rep_of.get(invoice.customer_id), Ageing(currency)).add(invoice, today)
    return result


# --- chasing overdue invoices ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverdueCustomer:
    """A customer with invoices past due: what they owe late, and since how long."""

    customer: Customer
    invoices: tuple[Invoice, ...]  # overdue, oldest due first

    @property
    def amount(self) -> Money:
        return sum((i.outstanding for i in self.invoices[1:]), self.invoices[0].outstanding)

    def days_overdue(self, today: date) -> int:
        """Days past due of the oldest overdue invoice."""
        return (today - self.invoices[0].due_on).days

    def older_than(self, days: int, today: date) -> tuple[Invoice, ...]:
        """The invoices overdue by more than ``days``."""
        return tuple(i for i in self.invoices if (today - i.due_on).days > days)


def overdue_customers(uow: UnitOfWork, today: date) -> list[OverdueCustomer]:
    """Every active customer with an open invoice past its due date, longest overdue first
    (then the larger amount)."""
    late: dict[int, list[Invoice]] = {}
    for invoice in uow.invoices.open():
        if invoice.due_on < today and invoice.outstanding.minor > 0:
            late.setdefault(invoice.customer_id, []).append(invoice)
    found: list[OverdueCustomer] = []
    for customer_id, invoices in late.items():
        customer = uow.customers.get(customer_id)
        if customer is None or not customer.active:
            continue
        invoices.sort(key=lambda i: (i.due_on, i.id))
        found.append(OverdueCustomer(customer, tuple(invoices)))
    found.sort(key=lambda o: (-o.days_overdue(today), -o.amount.minor, o.customer.name))
    return found


REMIND_ACTION = "customer.reminded"


@use_case
def remind_customer(uow: UnitOfWork, *, actor: Actor, customer_id: int) -> OverdueCustomer:
    """Ask the bot to send the customer's contacts a polite reminder of what is overdue: once
    a day per customer, by an owner or the customer's salesperson."""
    require_role(actor, (Role.OWNER, Role.SALES), "remind_customer")
    customer = get_customer(uow, customer_id)
    if actor.role is Role.SALES and customer.sales_rep_id not in (None, actor.user_id):
        raise NotAllowed("remind_other_reps_customer", str(actor.role))
    now = uow.clock.now()
    today = now.date()
    late = [o for o in overdue_customers(uow, today) if o.customer.id == customer.id]
    if not late:
        raise NothingOverdue(customer.name)
    for entry in reversed(uow.audit.list(object_type="customer", object_id=str(customer.id))):
        if entry.action == REMIND_ACTION and entry.at.astimezone(now.tzinfo).date() == today:
            raise AlreadyReminded(customer.name, user_name(uow, entry.actor_id), entry.at)
    overdue = late[0]
    audit(
        uow,
        actor,
        REMIND_ACTION,
        "customer",
        customer.id,
        after={"overdue": overdue.amount.minor, "invoices": [i.number for i in overdue.invoices]},
    )
    uow.events.append(PaymentReminderRequested(customer.id, actor.user_id, today.isoformat()))
    return overdue
