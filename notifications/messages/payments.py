"""After a payment: the receipt the customer's contact reads, and a note to the salesperson."""

from __future__ import annotations

from typing import Any

from domain.model import Payment
from domain.money import Money
from handlers.context import Voice
from handlers.flows.balance import balance_phrase
from handlers.flows.payment import allocation_summary, method_label
from handlers.i18n import Html
from notifications.parts import Part, TextPart
from notifications.renderers import renderer


def _payment(voice: Voice, args: dict[str, Any]) -> Payment | None:
    return voice.uow.payments.get(int(args["payment"]))


def _balance(voice: Voice, payment: Payment) -> Html:
    customer = voice.uow.customers.get(payment.customer_id)
    zero = Money.zero(payment.amount.currency)
    balance = customer.balance if customer and customer.balance is not None else zero
    return balance_phrase(voice.t, balance)


@renderer("receipt")
def receipt(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """The amount, where it went, and the balance now, in the customer's language."""
    payment = _payment(voice, args)
    if payment is None:
        return []
    t = voice.t
    allocations = voice.uow.payments.allocations(payment_id=payment.id)
    lines = [
        t(
            "Thank you! We received your payment of {amount} ({number}, {method}).",
            amount=payment.amount,
            number=payment.number,
            method=method_label(t, payment.method),
        )
    ]
    if allocations:
        lines.append(
            t(
                "Applied to: {allocation}",
                allocation=allocation_summary(t, voice.uow, allocations),
            )
        )
    if payment.unallocated.minor > 0:
        lines.append(t("Kept as credit: {amount}", amount=payment.unallocated))
    lines.append(t("Your balance: {phrase}", phrase=_balance(voice, payment)))
    return [TextPart("\n".join(lines))]


@renderer("payment-note")
def payment_note(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """To the customer's salesperson: who paid what, where it went, what is still owed."""
    payment = _payment(voice, args)
    if payment is None:
        return []
    t, uow = voice.t, voice.uow
    customer = uow.customers.get(payment.customer_id)
    recorder = uow.users.get(payment.recorded_by) if payment.recorded_by is not None else None
    allocations = uow.payments.allocations(payment_id=payment.id)
    lines = [
        t(
            "💰 {customer} paid {amount} ({method}, {number}); recorded by {name}.",
            customer=customer.name if customer else "?",
            amount=payment.amount,
            method=method_label(t, payment.method),
            number=payment.number,
            name=recorder.name if recorder else "?",
        )
    ]
    if allocations:
        lines.append(
            t("Applied to: {allocation}", allocation=allocation_summary(t, uow, allocations))
        )
    lines.append(t("Balance now: {phrase}", phrase=_balance(voice, payment)))
    return [TextPart("\n".join(lines))]
