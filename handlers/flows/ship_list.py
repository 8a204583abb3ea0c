"""/ship: orders waiting to ship, oldest first, each with a "Show" button that posts its card."""

from __future__ import annotations

from domain.model import OrderStatus, SalesOrder
from handlers.context import Context
from handlers.flow import Flow
from handlers.flows.shipping import PREFIX, SHIPPERS, latest_problem
from handlers.i18n import N_
from handlers.replies import InlineKeyboard
from handlers.text import split_message

MAX_SHOWN = 20  # one message, one button per order: the oldest come first
MAX_OPEN = 10_000


def waiting_orders(ctx: Context) -> list[SalesOrder]:
    """Confirmed and partly shipped orders, oldest first."""
    orders = ctx.uow.orders.list(
        statuses=(OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED), limit=MAX_OPEN
    )
    return sorted(orders, key=lambda order: (order.created_at, order.id))


class ShipListFlow(Flow):
    name = "ship_list"
    command = "ship"
    roles = SHIPPERS
    groups_too = True
    description = N_("Orders waiting to ship")

    def start(self, ctx: Context, args: str) -> None:
        orders = waiting_orders(ctx)
        if not orders:
            ctx.say(ctx.t("Nothing is waiting to ship."))
            return
        shown = orders[:MAX_SHOWN]
        customers = {c.id: c.name for c in ctx.uow.customers.list(active_only=False)}
        lines = [
            ctx.t.n(
                "📦 {count} order waits to ship, oldest first:",
                "📦 {count} orders wait to ship, oldest first:",
                len(orders),
            )
        ]
        buttons = []
        for position, order in enumerate(shown, start=1):
            remaining = sum(1 for line in order.lines if line.remaining.milli > 0)
            text = ctx.t.n(
                "{position}. <b>{number}</b> · {customer} · {placed} · {count} line to ship",
                "{position}. <b>{number}</b> · {customer} · {placed} · {count} lines to ship",
                remaining,
                position=position,
                number=order.number,
                customer=customers.get(order.customer_id, f"#{order.customer_id}"),
                placed=order.created_at,
            )
            if order.status is OrderStatus.PARTIALLY_SHIPPED:
                text += " · " + ctx.t("partly shipped")
            if latest_problem(ctx.uow, order) is not None:
                text += " · " + ctx.t("⚠️ problem")
            lines.append(text)
            buttons.append(
                [
                    ctx.card_button(
                        ctx.t("Show {number}", number=order.number), PREFIX, "show", order.id
                    )
                ]
            )
        if len(orders) > len(shown):
            lines.append(ctx.t("…and {count} more.", count=len(orders) - len(shown)))
        chunks = split_message("\n".join(lines))
        for chunk in chunks[:-1]:
            ctx.say(chunk)
        ctx.say(chunks[-1], InlineKeyboard.of(*buttons))


FLOW = ShipListFlow()
