"""/orders: the orders that matter to each role, 8 per page with ◀ ▶ buttons.

- salesperson: their own orders (created by them or for their customers) of recent weeks
- warehouse: orders waiting to ship (confirmed or partly shipped), oldest first
- owner: today's orders (since local midnight)
- customer: their own orders

Page buttons are card buttons (``pg:<kind>:<page>``) so they keep working after the
conversation moved on; every press re-reads the presser's role and lists only what that role
may see. A forged kind is refused, an out-of-range page shows the nearest page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.model import OrderStatus, Role, SalesOrder
from handlers.callbacks import BadCallback
from handlers.context import Context
from handlers.flow import ALL_ROLES, CardAction, Flow
from handlers.flows.status import local_day, status_label
from handlers.i18n import N_
from handlers.replies import InlineKeyboard

PAGE_SIZE = 8
MAX_SCAN = 2000  # orders read per list at most (a page is sliced from these)
RECENT_DAYS = 90  # a salesperson's "recent" orders
PAGE_PREFIX = "pg"
MAX_PAGE_DIGITS = 6
SHIPPABLE = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED)
KIND_OF_ROLE = {Role.SALES: "s", Role.WAREHOUSE: "w", Role.OWNER: "o", Role.CUSTOMER: "c"}


def _local_midnight(ctx: Context) -> datetime:
    now = ctx.uow.clock.now().astimezone(ZoneInfo(ctx.settings.timezone))
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def orders_for(ctx: Context) -> list[SalesOrder]:
    """Every order the current person's list shows, in display order."""
    user, role = ctx.user, ctx.role
    if user is None:
        return []
    orders = ctx.uow.orders
    if role is Role.SALES:
        since = ctx.uow.clock.now() - timedelta(days=RECENT_DAYS)
        mine = {o.id: o for o in orders.list(sales_rep_id=user.id, since=since, limit=MAX_SCAN)}
        for order in orders.list(since=since, limit=MAX_SCAN):
            if order.created_by == user.id:
                mine.setdefault(order.id, order)
        return sorted(mine.values(), key=lambda o: (o.created_at, o.id), reverse=True)
    if role is Role.WAREHOUSE:
        waiting = orders.list(statuses=SHIPPABLE, limit=MAX_SCAN)
        return sorted(waiting, key=lambda o: (o.created_at, o.id))
    if role is Role.OWNER:
        return orders.list(since=_local_midnight(ctx), limit=MAX_SCAN)
    if role is Role.CUSTOMER and user.customer_id is not None:
        return orders.list(customer_id=user.customer_id, limit=MAX_SCAN)
    return []


def _header(ctx: Context, kind: str, count: int) -> str:
    if kind == "s":
        return ctx.t("<b>Your recent orders</b> ({count})", count=count)
    if kind == "w":
        return ctx.t("<b>Waiting to ship</b> ({count}), oldest first", count=count)
    if kind == "o":
        return ctx.t("<b>Today's orders</b> ({count})", count=count)
    return ctx.t("<b>Your orders</b> ({count})", count=count)


def _empty(ctx: Context, kind: str) -> str:
    if kind == "s":
        return ctx.t("You have no orders in the last {days} days.", days=RECENT_DAYS)
    if kind == "w":
        return ctx.t("Nothing is waiting to ship.")
    if kind == "o":
        return ctx.t("No orders yet today.")
    return ctx.t("You have no orders yet.")


def _line(ctx: Context, order: SalesOrder, with_customer: bool) -> str:
    day = local_day(ctx, order.created_at)
    status = status_label(ctx, order.status)
    if not with_customer:
        return ctx.t(
            "{number} · {day} · {status} · {total}",
            number=order.number,
            day=day,
            status=status,
            total=order.total,
        )
    customer = ctx.uow.customers.get(order.customer_id)
    return ctx.t(
        "{number} · {day} · {customer} · {status} · {total}",
        number=order.number,
        day=day,
        customer=customer.name if customer else "?",
        status=status,
        total=order.total,
    )


def render_page(ctx: Context, page: int) -> tuple[str, InlineKeyboard | None]:
    """The text and ◀ ▶ keyboard of ``page`` (clamped to the pages that exist) for this role."""
    kind = KIND_OF_ROLE.get(ctx.role) if ctx.role else None
    if kind is None:
        return ctx.t("Your role does not allow this."), None
    orders = orders_for(ctx)
    if not orders:
        return _empty(ctx, kind), None
    pages = (len(orders) + PAGE_SIZE - 1) // PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    shown = orders[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    lines = [_header(ctx, kind, len(orders))]
    lines.extend(_line(ctx, order, with_customer=kind != "c") for order in shown)
    if pages == 1:
        return "\n".join(lines), None
    lines.append(ctx.t("Page {page} of {pages}", page=page + 1, pages=pages))
    buttons = []
    if page > 0:
        buttons.append(ctx.card_button("◀", PAGE_PREFIX, kind, page - 1))
    if page < pages - 1:
        buttons.append(ctx.card_button("▶", PAGE_PREFIX, kind, page + 1))
    return "\n".join(lines), InlineKeyboard.of(buttons)


class OrdersFlow(Flow):
    name = "orders"
    command = "orders"
    roles = ALL_ROLES
    description = N_("My orders")

    def start(self, ctx: Context, args: str) -> None:
        text, keyboard = render_page(ctx, 0)
        ctx.say(text, keyboard)


class OrdersPageAction(CardAction):
    """◀ ▶ on an orders list: re-reads the role and shows only what it may see."""

    prefix = PAGE_PREFIX
    roles = ALL_ROLES

    def press(self, ctx: Context, args: tuple[str, ...]) -> None:
        if len(args) != 2 or not args[1].isdigit() or len(args[1]) > MAX_PAGE_DIGITS:
            raise BadCallback("not a page")
        kind = KIND_OF_ROLE.get(ctx.role) if ctx.role else None
        message_id = ctx.incoming.message_id
        if kind is None or args[0] != kind or not ctx.incoming.is_private or message_id is None:
            # Made for another role's list, or pressed outside the person's own chat.
            ctx.toast(ctx.t("This action has expired."))
            return
        text, keyboard = render_page(ctx, int(args[1]))
        ctx.edit(message_id, text, keyboard)


FLOW = OrdersFlow()
ACTIONS = (OrdersPageAction(),)
