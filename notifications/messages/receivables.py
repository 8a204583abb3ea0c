"""Overdue receivables: each salesperson's list with "Remind customer" buttons, the owners'
escalation of what is overdue for too long, and the polite reminder a customer reads."""

from __future__ import annotations

from datetime import date
from typing import Any

from domain.model import Customer, Role
from domain.services.receivables import OverdueCustomer, overdue_customers
from domain.services.users import user_name
from handlers.context import Voice
from handlers.flows.remind import REMIND_PREFIX, has_contacts
from handlers.replies import Button, InlineKeyboard
from handlers.text import MAX_MESSAGE_CHARS
from notifications.parts import Part, TextPart
from notifications.renderers import renderer

MAX_REMIND_BUTTONS = 8
MAX_LISTED = 40  # customers listed in one message; the rest is "and N more"
LABEL_CHARS = 28


def _day(args: dict[str, Any]) -> date:
    return date.fromisoformat(str(args["day"]))


def late_days(voice: Voice, days: int) -> str:
    return voice.t.n("{count} day overdue", "{count} days overdue", days)


def _line(voice: Voice, late: OverdueCustomer, today: date, *, rep: str | None = None) -> str:
    count = len(late.invoices)
    values = {
        "customer": late.customer.name,
        "amount": late.amount,
        "late": late_days(voice, late.days_overdue(today)),
    }
    if rep is not None:
        if count == 1:
            return voice.t("• {customer} ({rep}): {amount} · {late}", rep=rep, **values)
        return voice.t.n(
            "• {customer} ({rep}): {amount} · {late} ({count} invoice)",
            "• {customer} ({rep}): {amount} · {late} ({count} invoices)",
            count,
            rep=rep,
            **values,
        )
    if count == 1:
        return voice.t("• {customer}: {amount} · {late}", **values)
    return voice.t.n(
        "• {customer}: {amount} · {late} ({count} invoice)",
        "• {customer}: {amount} · {late} ({count} invoices)",
        count,
        **values,
    )


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


def _buttons(voice: Voice, customers: list[Customer]) -> InlineKeyboard | None:
    rows: list[list[Button]] = []
    for customer in customers:
        if len(rows) >= MAX_REMIND_BUTTONS:
            break
        if has_contacts(voice.uow, customer.id):
            label = voice.t("📨 Remind {customer}", customer=_short(customer.name))
            rows.append([voice.card_button(label, REMIND_PREFIX, customer.id)])
    return InlineKeyboard.of(*rows) if rows else None


def _message(
    voice: Voice,
    title: str,
    late: list[OverdueCustomer],
    today: date,
    *,
    reps: bool = False,
) -> list[Part]:
    if not late:
        return []
    lines = [title]
    shown: list[OverdueCustomer] = []
    for item in late[:MAX_LISTED]:
        rep = user_name(voice.uow, item.customer.sales_rep_id) if reps else None
        lines.append(_line(voice, item, today, rep=rep))
        shown.append(item)
    if len(late) > MAX_LISTED:
        lines.append(voice.t("…and {count} more.", count=len(late) - MAX_LISTED))
    total = sum((item.amount for item in late[1:]), late[0].amount)
    lines.append(voice.t("Total overdue: {amount}", amount=total))
    text = "\n".join(lines)[:MAX_MESSAGE_CHARS]
    keyboard = _buttons(voice, [item.customer for item in shown])
    return [TextPart(text, keyboard)]


@renderer("overdue-list")
def overdue_list(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """A salesperson's overdue customers (``user``), or for owners the customers nobody
    looks after (``unassigned``)."""
    today = _day(args)
    late = overdue_customers(voice.uow, today)
    if args.get("unassigned"):
        mine = [o for o in late if o.customer.sales_rep_id is None]
        title = voice.t("💰 <b>Overdue, customers without a salesperson</b> · {day}", day=today)
    else:
        mine = [o for o in late if o.customer.sales_rep_id == int(args["user"])]
        title = voice.t("💰 <b>Your overdue customers</b> · {day}", day=today)
    return _message(voice, title, mine, today)


@renderer("overdue-escalation")
def overdue_escalation(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """To owners: customers with invoices overdue more than ``days`` days."""
    today, days = _day(args), int(args["days"])
    late = [o for o in overdue_customers(voice.uow, today) if o.older_than(days, today)]
    title = voice.t(
        "⚠️ <b>Overdue more than {days} days</b> · {day}", days=days, day=today
    )
    return _message(voice, title, late, today, reps=True)


@renderer("payment-reminder")
def payment_reminder(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """The polite note a customer's contact reads, in their language."""
    uow, t = voice.uow, voice.t
    today = uow.clock.now().date()
    late = [o for o in overdue_customers(uow, today) if o.customer.id == int(args["customer"])]
    if not late:
        return []  # paid in the meantime: nothing to remind of
    item = late[0]
    lines = [
        t("Hello {customer}!", customer=item.customer.name),
        t("A friendly reminder: these invoices are past their due date."),
    ]
    for invoice in item.invoices:
        lines.append(
            t(
                "• {number} · {amount} · due {due} ({late})",
                number=invoice.number,
                amount=invoice.outstanding,
                due=invoice.due_on,
                late=late_days(voice, (today - invoice.due_on).days),
            )
        )
    lines.append(t("Total due: {amount}", amount=item.amount))
    rep = uow.users.get(item.customer.sales_rep_id) if item.customer.sales_rep_id else None
    if rep is not None and rep.role is not Role.CUSTOMER:
        lines.append(
            t(
                "If you have already paid, thank you, and please ignore this message. "
                "{name} will be glad to help with any question.",
                name=rep.name,
            )
        )
    else:
        lines.append(t("If you have already paid, thank you, and please ignore this message."))
    return [TextPart("\n".join(lines))]
