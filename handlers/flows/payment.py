"""/payment [customer]: record money received and show how it was allocated.

customer → open invoices and balance → amount (or "Pay all") → which invoice first (only when
there are several) → method → confirm card → Confirm. The payment is recorded only at
Confirm, under an idempotency key made when the draft began, so a double tap or a redelivered
press records one payment. A linked customer user gets a receipt in their own language.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from domain.errors import InvalidInput, NotFound
from domain.model import Allocation, Customer, Invoice, PaymentMethod, Role
from domain.money import Money
from domain.parsing import parse_money
from domain.ports import UnitOfWork
from domain.services.payments import PaymentResult, record_payment
from handlers.context import Context
from handlers.errors import describe_input_problem
from handlers.flow import Flow
from handlers.flows._customer_pick import (
    LABEL_CHARS,
    PICK_ACTION,
    ask_customer,
    customer_from_button,
    pickable_customers,
    short,
    visible_customer,
)
from handlers.flows.balance import balance_phrase, invoice_line
from handlers.i18n import N_, Html, Translator
from handlers.replies import InlineKeyboard

CUSTOMER = "payment:customer"
AMOUNT = "payment:amount"
INVOICE = "payment:invoice"
METHOD = "payment:method"
CONFIRM = "payment:confirm"

PAY_ALL = "all"
FIRST_INVOICE = "inv"
OLDEST_FIRST = "oldest"
METHOD_ACTION = "m"
CONFIRM_ACTION = "ok"
CANCEL_ACTION = "no"

MAX_INVOICES_SHOWN = 10
MAX_INVOICE_BUTTONS = 8
MAX_SUGGESTED = 6
METHODS = (PaymentMethod.CASH, PaymentMethod.BANK_TRANSFER, PaymentMethod.OTHER)


def method_label(t: Translator, method: PaymentMethod) -> str:
    return {
        PaymentMethod.CASH: t("Cash"),
        PaymentMethod.BANK_TRANSFER: t("Bank transfer"),
        PaymentMethod.OTHER: t("Other"),
    }.get(method, str(method))


def open_invoices(ctx: Context, customer_id: int) -> list[Invoice]:
    return ctx.uow.invoices.open([customer_id])


def allocation_summary(t: Translator, uow: UnitOfWork, allocations: Sequence[Allocation]) -> Html:
    """``INV-000001 paid in full, INV-000002 ¥200.00 left`` (safe HTML)."""
    parts: list[str] = []
    for allocation in allocations:
        invoice = uow.invoices.get(allocation.invoice_id)
        if invoice is None:
            continue
        if invoice.outstanding.minor == 0:
            parts.append(t("{number} paid in full", number=invoice.number))
        else:
            parts.append(
                t("{number} {amount} left", number=invoice.number, amount=invoice.outstanding)
            )
    if not parts:
        return Html(t("no open invoices"))
    return Html(", ".join(parts))


def _about_invoice(error: InvalidInput | NotFound) -> bool:
    """Whether a refusal was about the invoice chosen to pay first."""
    if isinstance(error, InvalidInput):
        return error.field == "invoice"
    return error.kind == "invoice"


class PaymentFlow(Flow):
    name = "payment"
    command = "payment"
    roles = frozenset({Role.OWNER, Role.SALES})
    description = N_("Record a payment")

    # --- entry and typed input ----------------------------------------------------------

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(self.name, CUSTOMER, key=f"pay:{uuid4().hex}")
        if not args.strip():
            self._ask_customer(ctx)
            return
        customer = ask_customer(ctx, args)
        if customer is not None:
            self._customer_chosen(ctx, customer)

    def on_text(self, ctx: Context, text: str) -> None:
        step = ctx.state.step
        if step == CUSTOMER:
            ctx.state.goto(CUSTOMER)  # buttons shown below replace the older ones
            customer = ask_customer(ctx, text)
            if customer is not None:
                self._customer_chosen(ctx, customer)
        elif step == AMOUNT:
            self._amount_typed(ctx, text)
        else:
            super().on_text(ctx, text)

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        step = ctx.state.step
        if step == CUSTOMER and action == PICK_ACTION:
            customer = customer_from_button(ctx, args)
            if customer is None:
                ctx.toast(ctx.t("This action has expired."))
                return
            self._customer_chosen(ctx, customer)
        elif step == AMOUNT and action == PAY_ALL:
            self._pay_all(ctx)
        elif step == INVOICE and action in (FIRST_INVOICE, OLDEST_FIRST):
            self._invoice_chosen(ctx, action, args)
        elif step == METHOD and action == METHOD_ACTION:
            self._method_chosen(ctx, args)
        elif step == CONFIRM and action == CONFIRM_ACTION:
            self._confirm(ctx)
        elif step == CONFIRM and action == CANCEL_ACTION:
            self._cancel(ctx)
        else:
            ctx.toast(ctx.t("This action has expired."))

    # --- customer ---------------------------------------------------------------------------

    def _ask_customer(self, ctx: Context) -> None:
        """Ask who paid, with buttons for the customers who owe the most."""
        owing = sorted(
            (c for c in pickable_customers(ctx) if c.balance is not None and c.balance.minor > 0),
            key=lambda c: (c.balance.minor if c.balance else 0, -c.id),
            reverse=True,
        )[:MAX_SUGGESTED]
        rows = [[ctx.button(short(c.name, LABEL_CHARS), PICK_ACTION, c.id)] for c in owing]
        ctx.say(
            ctx.t("Which customer paid? Type part of the name or the phone number."),
            InlineKeyboard.of(*rows) if rows else None,
        )

    def _customer_chosen(self, ctx: Context, customer: Customer) -> None:
        ctx.state.goto(AMOUNT, customer_id=customer.id)
        t = ctx.t
        invoices = open_invoices(ctx, customer.id)
        zero = Money.zero(ctx.uow.policy.currency)
        outstanding = sum((inv.outstanding for inv in invoices), zero)
        today = ctx.uow.clock.now().date()
        lines = [t("<b>{name}</b>", name=customer.name)]
        if invoices:
            lines.append(t("Open invoices:"))
            lines.extend(invoice_line(t, inv, today) for inv in invoices[:MAX_INVOICES_SHOWN])
            if len(invoices) > MAX_INVOICES_SHOWN:
                lines.append(
                    t("… and {count} more invoices", count=len(invoices) - MAX_INVOICES_SHOWN)
                )
            lines.append(t("Outstanding: {amount}", amount=outstanding))
        else:
            lines.append(t("No open invoices."))
        balance = customer.balance if customer.balance is not None else zero
        lines.append(t("Balance: {phrase}", phrase=balance_phrase(t, balance)))
        lines.append("")
        lines.append(t("How much was paid? Type the amount, e.g. 500 or 1,250.50."))
        keyboard = None
        if outstanding.minor > 0:
            label = t("Pay all ({amount})", amount=outstanding)
            keyboard = InlineKeyboard.of([ctx.button(label, PAY_ALL)])
        ctx.say("\n".join(lines), keyboard)

    # --- amount -----------------------------------------------------------------------------

    def _amount_typed(self, ctx: Context, text: str) -> None:
        try:
            amount = parse_money(text, ctx.uow.policy.currency)
        except InvalidInput as error:
            # The step does not change, so the "Pay all" button above stays usable.
            ctx.say(
                ctx.t(
                    "{problem} Type the amount again, e.g. 500 or 1,250.50, or /cancel.",
                    problem=Html(describe_input_problem(ctx.t, error)),
                )
            )
            return
        self._amount_chosen(ctx, amount)

    def _pay_all(self, ctx: Context) -> None:
        zero = Money.zero(ctx.uow.policy.currency)
        invoices = open_invoices(ctx, int(ctx.state.data["customer_id"]))
        outstanding = sum((inv.outstanding for inv in invoices), zero)
        if outstanding.minor <= 0:
            ctx.toast(ctx.t("Nothing is outstanding. Type the amount instead."))
            return
        self._amount_chosen(ctx, outstanding)

    def _amount_chosen(self, ctx: Context, amount: Money) -> None:
        ctx.state.goto(AMOUNT, amount=amount.minor, invoice_id=None)
        invoices = open_invoices(ctx, int(ctx.state.data["customer_id"]))
        if len(invoices) < 2:
            self._ask_method(ctx)
            return
        ctx.state.goto(INVOICE)
        rows = [
            [ctx.button(f"{inv.number} · {ctx.t.money(inv.outstanding)}", FIRST_INVOICE, inv.id)]
            for inv in invoices[:MAX_INVOICE_BUTTONS]
        ]
        rows.append([ctx.button(ctx.t("Oldest first"), OLDEST_FIRST)])
        ctx.say(
            ctx.t("Which invoice should {amount} pay first?", amount=amount),
            InlineKeyboard.of(*rows),
        )

    def _invoice_chosen(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        invoice_id: int | None = None
        if action == FIRST_INVOICE:
            ids = {inv.id for inv in open_invoices(ctx, int(ctx.state.data["customer_id"]))}
            if len(args) != 1 or not args[0].isdigit() or int(args[0]) not in ids:
                ctx.toast(ctx.t("That invoice is no longer open."))
                return
            invoice_id = int(args[0])
        ctx.state.goto(INVOICE, invoice_id=invoice_id)
        self._ask_method(ctx)

    # --- method and confirmation --------------------------------------------------------------

    def _ask_method(self, ctx: Context) -> None:
        ctx.state.goto(METHOD)
        buttons = [ctx.button(method_label(ctx.t, m), METHOD_ACTION, m.value) for m in METHODS]
        ctx.say(ctx.t("How was it paid?"), InlineKeyboard.of(buttons))

    def _method_chosen(self, ctx: Context, args: tuple[str, ...]) -> None:
        allowed = {m.value for m in METHODS}
        if len(args) != 1 or args[0] not in allowed:
            ctx.toast(ctx.t("This action has expired."))
            return
        ctx.state.goto(CONFIRM, method=args[0])
        ctx.say(self._card(ctx), self._card_keyboard(ctx))

    def _card(self, ctx: Context, note: str = "") -> str:
        t, data = ctx.t, ctx.state.data
        currency = ctx.uow.policy.currency
        amount = Money(int(data["amount"]), currency)
        customer = ctx.uow.customers.get(int(data["customer_id"]))
        invoices = open_invoices(ctx, int(data["customer_id"]))
        outstanding = sum((inv.outstanding for inv in invoices), Money.zero(currency))
        first = next((inv for inv in invoices if inv.id == data.get("invoice_id")), None)
        lines = [
            t("<b>Record this payment?</b>"),
            t("Customer: {name}", name=customer.name if customer else "?"),
            t("Amount: {amount}", amount=amount),
            t("Method: {method}", method=method_label(t, PaymentMethod(data["method"]))),
        ]
        if first is not None:
            lines.append(t("Pays {number} first, then the oldest.", number=first.number))
        elif invoices:
            lines.append(t("Pays the oldest invoices first."))
        lines.append(t("Outstanding now: {amount}", amount=outstanding))
        if amount > outstanding:
            lines.append(t("{amount} will be kept as credit.", amount=amount - outstanding))
        if note:
            lines.append("")
            lines.append(note)
        return "\n".join(lines)

    def _card_keyboard(self, ctx: Context) -> InlineKeyboard:
        return InlineKeyboard.of(
            [
                ctx.button(ctx.t("Confirm"), CONFIRM_ACTION),
                ctx.button(ctx.t("Cancel"), CANCEL_ACTION),
            ]
        )

    def _drop_card_buttons(self, ctx: Context, text: str) -> None:
        if ctx.incoming.message_id is not None:
            ctx.edit(ctx.incoming.message_id, text)

    def _cancel(self, ctx: Context) -> None:
        self._drop_card_buttons(ctx, self._card(ctx))
        ctx.state.clear()
        ctx.say(ctx.t("Cancelled. Nothing was saved."))

    def _confirm(self, ctx: Context) -> None:
        data: dict[str, Any] = ctx.state.data
        customer = visible_customer(ctx, int(data["customer_id"]))
        if customer is None:
            ctx.state.clear()
            ctx.say(
                ctx.t("You can no longer record payments for this customer. Nothing was saved.")
            )
            return
        card = self._card(ctx)
        try:
            result = record_payment(
                ctx.uow,
                actor=ctx.actor,
                customer_id=customer.id,
                amount=Money(int(data["amount"]), ctx.uow.policy.currency),
                method=PaymentMethod(data["method"]),
                idempotency_key=str(data["key"]),
                invoice_id=data.get("invoice_id"),
            )
        except (InvalidInput, NotFound) as error:
            if data.get("invoice_id") is None or not _about_invoice(error):
                raise
            # The chosen invoice was paid (or removed) meanwhile: fall back to oldest first.
            self._drop_card_buttons(ctx, card)
            ctx.state.goto(CONFIRM, invoice_id=None)
            note = ctx.t("The invoice you chose is already paid; the oldest invoices go first.")
            ctx.say(self._card(ctx, note), self._card_keyboard(ctx))
            return
        ctx.state.clear()
        self._drop_card_buttons(ctx, card)
        ctx.say(self._result_text(ctx.t, ctx, result))
        # A linked customer gets a receipt, the salesperson a note: through the outbox
        # (notifications/publisher.py, on the PaymentRecorded event).

    def _result_text(self, t: Translator, ctx: Context, result: PaymentResult) -> str:
        payment = result.payment
        customer = ctx.uow.customers.get(payment.customer_id)
        zero = Money.zero(payment.amount.currency)
        balance = customer.balance if customer and customer.balance is not None else zero
        recorded = t(
            "{number} recorded: {amount} — {allocation}",
            number=payment.number,
            amount=payment.amount,
            allocation=allocation_summary(t, ctx.uow, result.allocations),
        )
        return "\n".join([recorded, t("Balance now: {phrase}", phrase=balance_phrase(t, balance))])


FLOW = PaymentFlow()
