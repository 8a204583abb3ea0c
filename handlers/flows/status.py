"""/status ORDER: where an order stands — lines, shipments, invoices.

Staff see any order. A customer sees only their own; for anyone else's order they get exactly
the same reply as for an order that does not exist (no way to probe which numbers are taken),
and the denied look-up is written to the audit log.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from domain.model import OrderStatus, Role, SalesOrder, ShipmentStatus
from domain.services.common import audit
from handlers.context import Context
from handlers.flow import ALL_ROLES, Flow
from handlers.i18n import N_, Html

ASK = "status:number"
NUMBER = re.compile(r"^(?:(?:#|no\.?|so)[\s-]*)?0*(\d{1,9})$", re.IGNORECASE)
MAX_NUMBER_CHARS = 30
MAX_LINES_SHOWN = 30


def status_label(ctx: Context, status: OrderStatus) -> Html:
    """The translated name of an order status (safe HTML)."""
    labels = {
        OrderStatus.DRAFT: ctx.t("draft"),
        OrderStatus.PENDING_APPROVAL: ctx.t("waiting for approval"),
        OrderStatus.CONFIRMED: ctx.t("confirmed"),
        OrderStatus.PARTIALLY_SHIPPED: ctx.t("partly shipped"),
        OrderStatus.SHIPPED: ctx.t("shipped"),
        OrderStatus.CLOSED: ctx.t("closed"),
        OrderStatus.CANCELLED: ctx.t("cancelled"),
    }
    return Html(labels.get(OrderStatus(status), str(status)))


def local_day(ctx: Context, moment: datetime) -> date:
    """The calendar day of ``moment`` in the business's time zone."""
    return moment.astimezone(ZoneInfo(ctx.settings.timezone)).date()


def order_number(text: str) -> str | None:
    """``SO-000123`` from ``SO-000123``, ``so123``, ``#123`` or ``123``; None if not a number."""
    clean = " ".join(text.split())
    if not clean or len(clean) > MAX_NUMBER_CHARS:
        return None
    match = NUMBER.match(clean)
    if match is None:
        return None
    value = int(match.group(1))
    return f"SO-{value:06d}" if value > 0 else None


class StatusFlow(Flow):
    name = "status"
    command = "status"
    roles = ALL_ROLES
    description = N_("Where an order stands")

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(self.name, ASK)  # cleared once an answer is given
        if not args.strip():
            ctx.say(ctx.t("Which order? Send its number, for example SO-000123 or 123."))
            return
        self._look_up(ctx, args)

    def on_text(self, ctx: Context, text: str) -> None:
        self._look_up(ctx, text)

    def _look_up(self, ctx: Context, text: str) -> None:
        number = order_number(text)
        if number is None:
            ctx.say(
                ctx.t("That is not an order number. Send it like SO-000123 or 123, or /cancel.")
            )
            return
        ctx.state.clear()
        order = ctx.uow.orders.by_number(number)
        if ctx.role is Role.CUSTOMER:
            own = ctx.user.customer_id if ctx.user else None
            if order is not None and (own is None or order.customer_id != own):
                audit(
                    ctx.uow,
                    ctx.actor,
                    "order.status_denied",
                    "order",
                    order.number,
                    after={"customer_id": own},
                )
                order = None
        if order is None:
            # The same words for "not yours" and "does not exist" (no order number echoed).
            ctx.say(ctx.t("Order not found. Check the number and try again."))
            return
        ctx.say(order_card(ctx, order))


def order_card(ctx: Context, order: SalesOrder) -> str:
    """The full status of one order: lines, shipments and invoices."""
    t = ctx.t
    customer = ctx.uow.customers.get(order.customer_id)
    lines = [
        t(
            "<b>{number}</b> · {customer}",
            number=order.number,
            customer=customer.name if customer else "?",
        ),
        t("Status: {status}", status=Html(f"<b>{status_label(ctx, order.status)}</b>")),
        t(
            "Placed: {day} · Total: {total}",
            day=local_day(ctx, order.created_at),
            total=order.total,
        ),
    ]
    products = ctx.uow.products.get_many([line.product_id for line in order.lines])
    lines.append("")
    lines.append(t("Lines:"))
    for line in order.lines[:MAX_LINES_SHOWN]:
        product = products.get(line.product_id)
        unit = product.unit if product else ""
        lines.append(
            t(
                "• {name}: ordered {ordered} {unit}, shipped {shipped} {unit}",
                name=product.name if product else f"#{line.product_id}",
                ordered=line.quantity,
                shipped=line.shipped,
                unit=unit,
            )
        )
    if len(order.lines) > MAX_LINES_SHOWN:
        lines.append(t("… and {count} more lines", count=len(order.lines) - MAX_LINES_SHOWN))
    shipments = [
        s for s in ctx.uow.shipments.for_order(order.id) if s.status is ShipmentStatus.CONFIRMED
    ]
    if shipments:
        lines.append("")
        lines.append(t("Shipments:"))
        for shipment in shipments:
            lines.append(
                t(
                    "• {number} — {day}",
                    number=shipment.number,
                    day=local_day(ctx, shipment.confirmed_at or shipment.created_at),
                )
            )
    invoices = ctx.uow.invoices.for_order(order.id)
    if invoices:
        lines.append("")
        lines.append(t("Invoices:"))
        for invoice in invoices:
            lines.append(
                t(
                    "• {number} — {amount}, outstanding {outstanding}, due {due}",
                    number=invoice.number,
                    amount=invoice.amount,
                    outstanding=invoice.outstanding,
                    due=invoice.due_on,
                )
            )
    return "\n".join(lines)


FLOW = StatusFlow()
