"""/balance [customer]: what a customer owes, their credit, and open invoices by age.

A salesperson sees their own customers, an owner everyone (with no name: a list, largest
balance first, with buttons for the top ones); a customer sees only their own balance.
"""

from __future__ import annotations

from datetime import date

from domain.model import Customer, Invoice, Role
from domain.money import Money
from domain.services.receivables import BUCKETS, CustomerBalance, customer_balance
from handlers.context import Context
from handlers.flow import Flow
from handlers.flows._customer_pick import (
    LABEL_CHARS,
    PICK_ACTION,
    ask_customer,
    customer_from_button,
    pickable_customers,
    short,
)
from handlers.i18n import N_, Html, Translator
from handlers.replies import InlineKeyboard

PICK = "balance:pick"
MAX_LISTED = 30
MAX_BUTTONS = 6
MAX_INVOICES_SHOWN = 20


BUCKET_LABELS: dict[str, str] = {
    "current": N_("Not yet due"),
    "1-30": N_("1–30 days"),
    "31-60": N_("31–60 days"),
    "61-90": N_("61–90 days"),
    "90+": N_("Over 90 days"),
}


def bucket_label(t: Translator, bucket: str) -> Html:
    """The translated name of an ageing bucket (current, 1–30 … days overdue)."""
    return Html(t(BUCKET_LABELS[bucket]) if bucket in BUCKET_LABELS else bucket)


def balance_phrase(t: Translator, balance: Money) -> Html:
    """``owes ¥1,200.00`` / ``credit ¥300.00`` / ``nothing owed`` (safe HTML)."""
    if balance.minor > 0:
        return Html(t("owes {amount}", amount=balance))
    if balance.minor < 0:
        return Html(t("credit {amount}", amount=-balance))
    return Html(t("nothing owed"))


def invoice_line(t: Translator, invoice: Invoice, today: date) -> str:
    """``• INV-000001 · due Apr 1, 2026 · ¥125.00 · 3 days overdue``."""
    overdue = (today - invoice.due_on).days
    if overdue > 0:
        return t.n(
            "• {number} · due {due} · {amount} · {count} day overdue",
            "• {number} · due {due} · {amount} · {count} days overdue",
            overdue,
            number=invoice.number,
            due=invoice.due_on,
            amount=invoice.outstanding,
        )
    return t(
        "• {number} · due {due} · {amount}",
        number=invoice.number,
        due=invoice.due_on,
        amount=invoice.outstanding,
    )


def balance_card(ctx: Context, info: CustomerBalance) -> str:
    """Balance, credit, ageing buckets and open invoices of one customer."""
    t = ctx.t
    today = ctx.uow.clock.now().date()
    lines = [
        t("<b>{name}</b>", name=info.customer.name),
        t("Balance: {phrase}", phrase=balance_phrase(ctx.t, info.balance)),
    ]
    if info.credit.minor > 0 and info.credit != -info.balance:
        lines.append(t("Unused credit: {amount}", amount=info.credit))
    if not info.open_invoices:
        lines.append(t("No open invoices."))
        return "\n".join(lines)
    lines.append(t("Open invoices: {amount}", amount=info.outstanding))
    lines.append("")
    lines.append(t("Ageing:"))
    for bucket in BUCKETS:
        amount = info.ageing.buckets[bucket]
        if amount.minor:
            lines.append(t("• {bucket}: {amount}", bucket=bucket_label(t, bucket), amount=amount))
    lines.append("")
    lines.append(t("Invoices:"))
    for invoice in info.open_invoices[:MAX_INVOICES_SHOWN]:
        lines.append(invoice_line(t, invoice, today))
    hidden = len(info.open_invoices) - MAX_INVOICES_SHOWN
    if hidden > 0:
        lines.append(t("… and {count} more invoices", count=hidden))
    return "\n".join(lines)


class BalanceFlow(Flow):
    name = "balance"
    command = "balance"
    roles = frozenset({Role.OWNER, Role.SALES, Role.CUSTOMER})
    description = N_("Balance and open invoices")

    def start(self, ctx: Context, args: str) -> None:
        if ctx.role is Role.CUSTOMER:
            self._own_balance(ctx)
            return
        ctx.state.begin(self.name, PICK)
        if not args.strip():
            self._list(ctx)
            return
        customer = ask_customer(ctx, args)
        if customer is not None:
            self._show(ctx, customer)

    def on_text(self, ctx: Context, text: str) -> None:
        ctx.state.goto(PICK)  # new buttons below replace the older ones
        customer = ask_customer(ctx, text)
        if customer is not None:
            self._show(ctx, customer)

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        customer = customer_from_button(ctx, args) if action == PICK_ACTION else None
        if customer is None:
            ctx.toast(ctx.t("This action has expired."))
            return
        self._show(ctx, customer)

    def _own_balance(self, ctx: Context) -> None:
        customer_id = ctx.user.customer_id if ctx.user else None
        if customer_id is None:
            ctx.say(ctx.t("Your account is not linked to a customer. Please ask us to link it."))
            return
        ctx.say(
            balance_card(ctx, customer_balance(ctx.uow, actor=ctx.actor, customer_id=customer_id))
        )

    def _show(self, ctx: Context, customer: Customer) -> None:
        ctx.state.clear()
        info = customer_balance(ctx.uow, actor=ctx.actor, customer_id=customer.id)
        ctx.say(balance_card(ctx, info))

    def _list(self, ctx: Context) -> None:
        """Every customer this person may see, largest balance first, with buttons for the top."""
        zero = Money.zero(ctx.uow.policy.currency)
        customers = sorted(
            pickable_customers(ctx),
            key=lambda c: ((c.balance or zero).minor, -c.id),
            reverse=True,
        )
        if not customers:
            ctx.state.clear()
            ctx.say(ctx.t("You have no customers yet."))
            return
        lines = [ctx.t("<b>Customer balances</b>, largest first:")]
        for customer in customers[:MAX_LISTED]:
            lines.append(
                ctx.t(
                    "• {name} — {phrase}",
                    name=customer.name,
                    phrase=balance_phrase(ctx.t, customer.balance or zero),
                )
            )
        if len(customers) > MAX_LISTED:
            lines.append(ctx.t("… and {count} more", count=len(customers) - MAX_LISTED))
        lines.append("")
        lines.append(ctx.t("Tap a customer or type a name for details."))
        rows = [
            [ctx.button(short(c.name, LABEL_CHARS), PICK_ACTION, c.id)]
            for c in customers[:MAX_BUTTONS]
        ]
        ctx.say("\n".join(lines), InlineKeyboard.of(*rows))


FLOW = BalanceFlow()
