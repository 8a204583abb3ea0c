"""Payments: allocated to open invoices oldest first; overpayment becomes customer credit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.errors import IdempotencyKeyReused, InvalidInput, NotFound, TransientConflict
from domain.events import PaymentRecorded
from domain.model import Actor, Allocation, Invoice, Payment, PaymentMethod, Role
from domain.money import Money
from domain.ports import UnitOfWork
from domain.services.common import (
    audit,
    clean_text,
    document_number,
    require_role,
    use_case,
)
from domain.services.orders import check_key, close_if_settled

COLLECTORS = (Role.OWNER, Role.SALES)


@dataclass(frozen=True, slots=True)
class PaymentResult:
    payment: Payment
    allocations: tuple[Allocation, ...]
    created: bool  # False when the idempotency key replayed an earlier payment

    @property
    def credit_left(self) -> Money:
        return self.payment.unallocated


def _allocate(uow: UnitOfWork, payment_id: int, invoice: Invoice, amount: int) -> None:
    """Move ``amount`` from a payment to an invoice; both sides are conditional updates."""
    if not uow.invoices.try_reduce_outstanding(invoice.id, amount):
        raise TransientConflict(f"invoice {invoice.number} changed under us")
    if not uow.payments.try_reduce_unallocated(payment_id, amount):
        raise TransientConflict(f"payment {payment_id} changed under us")
    uow.payments.add_allocation(payment_id, invoice.id, amount, uow.clock.now())


def _settle_orders(uow: UnitOfWork, order_ids: set[int]) -> None:
    for order_id in sorted(order_ids):
        close_if_settled(uow, order_id)


def apply_credit(uow: UnitOfWork, customer_id: int, invoice_id: int) -> None:
    """Use the customer's unallocated payments (oldest first) on a new invoice."""
    invoice = uow.invoices.get(invoice_id)
    assert invoice is not None
    due = invoice.outstanding.minor
    for payment in uow.payments.with_credit(customer_id):
        if due <= 0:
            break
        take = min(due, payment.unallocated.minor)
        _allocate(uow, payment.id, invoice, take)
        due -= take


@use_case
def record_payment(
    uow: UnitOfWork,
    *,
    actor: Actor,
    customer_id: int,
    amount: Money,
    method: PaymentMethod,
    idempotency_key: str,
    invoice_id: int | None = None,
    received_on: date | None = None,
    note: str = "",
) -> PaymentResult:
    """Record money received; a replayed idempotency key returns the first result unchanged."""
    require_role(actor, COLLECTORS, "record_payment")
    key = check_key(idempotency_key)
    existing = uow.payments.by_idempotency_key(key)
    if existing is not None:
        if existing.customer_id != customer_id or existing.amount != amount:
            raise IdempotencyKeyReused(key)
        return PaymentResult(
            existing, tuple(uow.payments.allocations(payment_id=existing.id)), created=False
        )
    if amount.currency != uow.policy.currency:
        raise InvalidInput("amount", "wrong_currency", str(amount))
    if amount.minor <= 0:
        raise InvalidInput("amount", "zero" if amount.minor == 0 else "negative", str(amount))
    method = PaymentMethod(method)
    if method is PaymentMethod.CREDIT_NOTE:
        raise InvalidInput("method", "credit_note_only_from_returns", str(method))
    customer = uow.customers.get_locked(customer_id)
    if customer is None:
        raise NotFound("customer", customer_id)
    open_invoices = uow.invoices.open([customer.id])
    if invoice_id is not None:
        chosen = [inv for inv in open_invoices if inv.id == invoice_id]
        if not chosen:
            known = uow.invoices.get(invoice_id)
            if known is None or known.customer_id != customer.id:
                raise NotFound("invoice", invoice_id)
            raise InvalidInput("invoice", "already_paid", known.number)
    return credit_customer(
        uow,
        actor,
        customer_id=customer.id,
        amount=amount,
        method=method,
        key=key,
        first_invoice_ids=[invoice_id] if invoice_id is not None else [],
        received_on=received_on,
        note=note,
        open_invoices=open_invoices,
    )


def credit_customer(
    uow: UnitOfWork,
    actor: Actor,
    *,
    customer_id: int,
    amount: Money,
    method: PaymentMethod,
    key: str,
    first_invoice_ids: Sequence[int] = (),
    received_on: date | None = None,
    note: str = "",
    open_invoices: Sequence[Invoice] | None = None,
) -> PaymentResult:
    """Money in (a payment, or a credit note for returned goods): allocate and lower the balance.

    Goes to ``first_invoice_ids`` first, then open invoices oldest due first; what is left
    stays on the document as customer credit for later invoices. The caller holds the
    customer lock and has checked the amount.
    """
    if open_invoices is None:
        open_invoices = uow.invoices.open([customer_id])
    preferred = [inv for inv_id in first_invoice_ids for inv in open_invoices if inv.id == inv_id]
    ordered = preferred + [inv for inv in open_invoices if inv not in preferred]
    now = uow.clock.now()
    is_credit_note = method is PaymentMethod.CREDIT_NOTE
    number = document_number(uow, "CN" if is_credit_note else "PAY")
    received = received_on or now.date()
    text = clean_text(note, "note")
    payment_id = uow.payments.add(
        number=number,
        customer_id=customer_id,
        amount_minor=amount.minor,
        currency=amount.currency,
        method=method,
        received_on=received,
        recorded_by=actor.user_id,
        recorded_at=now,
        idempotency_key=key,
        note=text,
    )
    allocations: list[Allocation] = []
    left = amount.minor
    touched_orders: set[int] = set()
    for invoice in ordered:
        if left <= 0:
            break
        take = min(left, invoice.outstanding.minor)
        if take <= 0:
            continue
        _allocate(uow, payment_id, invoice, take)
        allocations.append(Allocation(payment_id, invoice.id, Money(take, amount.currency), now))
        left -= take
        if invoice.order_id is not None and take == invoice.outstanding.minor:
            touched_orders.add(invoice.order_id)
    uow.customers.add_to_balance(customer_id, -amount.minor)
    _settle_orders(uow, touched_orders)
    audit(
        uow,
        actor,
        "credit_note.issue" if is_credit_note else "payment.record",
        "payment",
        number,
        after={
            "customer_id": customer_id,
            "amount": amount.minor,
            "method": method,
            "allocated": {str(a.invoice_id): a.amount.minor for a in allocations},
            "credit": left,
        },
    )
    uow.events.append(PaymentRecorded(payment_id, customer_id))
    payment = Payment(
        id=payment_id,
        number=number,
        customer_id=customer_id,
        amount=amount,
        unallocated=Money(left, amount.currency),
        method=method,
        received_on=received,
        recorded_by=actor.user_id,
        recorded_at=now,
        idempotency_key=key,
        note=text,
    )
    return PaymentResult(payment, tuple(allocations), created=True)
