"""Shipping cards: Ship all / Partial / Problem, and every copy of a card edited when one acts.

The card goes to every chat chosen with /subscribe (or to warehouse staff privately) and is
tracked under ``ship:ORDER_ID``; whatever happens to the order, every copy is edited. Card
buttons (``ship:all|part|prob|show:ORDER_ID``) are not bound to anyone's conversation: any
owner or warehouse member may press them, and each press re-reads the order. "Partial" and
"Problem" then continue as a short conversation of the presser in that chat (flow
``shipping``: steps ``shipping:qty``, ``shipping:confirm``, ``shipping:reason``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from domain.errors import AlreadyShipped, DomainError, InvalidInput
from domain.model import (
    AuditEntry,
    Invoice,
    OrderLine,
    OrderStatus,
    Product,
    Role,
    SalesOrder,
    Shipment,
    ShipmentStatus,
)
from domain.parsing import parse_quantity
from domain.ports import UnitOfWork
from domain.quantity import Quantity
from domain.services.shipping import (
    MAX_REASON_CHARS,
    PROBLEM_ACTION,
    ShipmentResult,
    report_problem,
    ship_order,
)
from domain.services.users import people_to_tell, user_name
from handlers.callbacks import BadCallback, Callback
from handlers.context import Context, Speaker
from handlers.errors import describe_error, describe_input_problem
from handlers.flow import CardAction, Flow
from handlers.i18n import Html
from handlers.replies import Button, EditText, InlineKeyboard
from handlers.text import MAX_MESSAGE_CHARS

PREFIX = "ship"
FLOW_NAME = "shipping"
STEP_QTY = "shipping:qty"
STEP_CONFIRM = "shipping:confirm"
STEP_REASON = "shipping:reason"
SHIPPERS = frozenset({Role.OWNER, Role.WAREHOUSE})
WAITING = (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED)
DONE = (OrderStatus.SHIPPED, OrderStatus.CLOSED)
CARD_BUDGET = MAX_MESSAGE_CHARS - 300  # room for the header and the "… more lines" note

Location = tuple[int, int]  # (chat_id, message_id)


def card_key(order_id: int) -> str:
    """The key every copy of an order's shipping card is tracked under."""
    return f"ship:{order_id}"


# --- reading what a card needs --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    by_name: str
    reason: str
    at: datetime


def latest_problem(uow: UnitOfWork, order: SalesOrder) -> Problem | None:
    """The newest problem reported on the order, if it came after its latest shipment."""
    entries = [
        e
        for e in uow.audit.list(object_type="order", object_id=order.number)
        if e.action == PROBLEM_ACTION
    ]
    if not entries:
        return None
    entry = entries[-1]
    shipment = last_shipment(uow, order.id)
    if shipment is not None and shipment.confirmed_at and shipment.confirmed_at > entry.at:
        return None
    return Problem(user_name(uow, entry.actor_id), _reason_of(entry), entry.at)


def _reason_of(entry: AuditEntry) -> str:
    try:
        return str(json.loads(entry.after or "{}").get("reason", ""))
    except ValueError:
        return ""


def last_shipment(uow: UnitOfWork, order_id: int) -> Shipment | None:
    confirmed = [
        s for s in uow.shipments.for_order(order_id) if s.status is ShipmentStatus.CONFIRMED
    ]
    return max(confirmed, key=lambda s: (s.confirmed_at or s.created_at, s.id), default=None)


def invoice_for(uow: UnitOfWork, order_id: int, shipment_id: int) -> Invoice | None:
    found = [i for i in uow.invoices.for_order(order_id) if i.shipment_id == shipment_id]
    return found[0] if found else None


def already_shipped(uow: UnitOfWork, order: SalesOrder) -> AlreadyShipped:
    """The refusal for a second press: who shipped it, and when."""
    shipment = last_shipment(uow, order.id)
    if shipment is None:
        return AlreadyShipped(order.number, "", None)
    return AlreadyShipped(
        order.number, user_name(uow, shipment.confirmed_by), shipment.confirmed_at
    )


def refusal(ctx: Context, order: SalesOrder) -> str | None:
    """Why the order cannot ship now (already shipped, waiting for approval…), or None."""
    if order.status in WAITING:
        return None
    if order.status in DONE:
        return describe_error(ctx.t, already_shipped(ctx.uow, order))
    if order.status is OrderStatus.PENDING_APPROVAL:
        return ctx.t("{number} is waiting for an owner's approval.", number=order.number)
    return ctx.t("{number} was cancelled.", number=order.number)


# --- the card ---------------------------------------------------------------------------------


def _amount(ctx: Speaker, quantity: Quantity, product: Product | None) -> str:
    """``10 pcs`` (plain text; callers escape it through ``ctx.t``)."""
    unit = product.unit if product else ""
    return f"{ctx.t.quantity(quantity)} {unit}".strip()


def _name(product: Product | None, product_id: int) -> str:
    return product.name if product else f"#{product_id}"


def _waiting_line(
    ctx: Speaker, line: OrderLine, product: Product | None, warehouse: str, available: Quantity
) -> str:
    ready = Quantity(line.reserved.milli + max(available.milli, 0))
    if line.shipped.milli:
        text = ctx.t(
            "• {product}: {left} of {quantity} left, from {warehouse} · available now {ready}",
            product=_name(product, line.product_id),
            left=ctx.t.quantity(line.remaining),
            quantity=_amount(ctx, line.quantity, product),
            warehouse=warehouse,
            ready=_amount(ctx, ready, product),
        )
    else:
        text = ctx.t(
            "• {product}: {quantity} from {warehouse} · available now {ready}",
            product=_name(product, line.product_id),
            quantity=_amount(ctx, line.quantity, product),
            warehouse=warehouse,
            ready=_amount(ctx, ready, product),
        )
    return f"{text} ⚠️" if ready < line.remaining else text


def _fit(lines: list[str], budget: int = CARD_BUDGET) -> list[str]:
    """Keep a card within one Telegram message (cards are edited, and edits cannot split)."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        if used + len(line) + 1 > budget:
            kept.append(f"… +{len(lines) - index}")
            break
        kept.append(line)
        used += len(line) + 1
    return kept


def _buttons(ctx: Speaker, order_id: int) -> InlineKeyboard:
    return InlineKeyboard.of(
        [
            ctx.card_button(ctx.t("✅ Ship all"), PREFIX, "all", order_id),
            ctx.card_button(ctx.t("✂️ Partial"), PREFIX, "part", order_id),
            ctx.card_button(ctx.t("⚠️ Problem"), PREFIX, "prob", order_id),
        ]
    )


def render_card(
    ctx: Speaker,
    order: SalesOrder,
    shipment: Shipment | None,
    invoice: Invoice | None,
) -> tuple[str, InlineKeyboard | None]:
    """The card for the order as it stands; ``shipment`` is the one to announce on it."""
    uow = ctx.uow
    customer = uow.customers.get(order.customer_id)
    customer_name = customer.name if customer else f"#{order.customer_id}"
    warehouse = uow.warehouses.get(order.warehouse_id)
    code = warehouse.code if warehouse else f"#{order.warehouse_id}"
    product_ids = [line.product_id for line in order.lines]
    if shipment is not None:
        product_ids += [sl.product_id for sl in shipment.lines]
    products = uow.products.get_many(product_ids)
    waiting = order.status in WAITING

    head = {
        OrderStatus.CONFIRMED: "📦",
        OrderStatus.PARTIALLY_SHIPPED: "🚚",
        OrderStatus.SHIPPED: "✅",
        OrderStatus.CLOSED: "✅",
        OrderStatus.PENDING_APPROVAL: "⏳",
    }.get(order.status, "❌")
    header = [
        ctx.t(
            "{icon} <b>{number}</b> · {customer}",
            icon=head,
            number=order.number,
            customer=customer_name,
        )
    ]
    if order.status is OrderStatus.PENDING_APPROVAL:
        header.append(ctx.t("Waiting for an owner's approval."))
    elif order.status not in WAITING and order.status not in DONE:
        header.append(ctx.t("Cancelled."))

    body: list[str] = []
    if shipment is not None:
        by = user_name(uow, shipment.confirmed_by)
        when = shipment.confirmed_at or shipment.created_at
        if order.status in DONE:
            body.append(ctx.t("Shipped by {name} at {at}:", name=by, at=when))
        else:
            body.append(ctx.t("Partly shipped by {name} at {at}:", name=by, at=when))
        for sl in shipment.lines:
            product = products.get(sl.product_id)
            body.append(
                ctx.t(
                    "• {product}: {quantity}",
                    product=_name(product, sl.product_id),
                    quantity=_amount(ctx, sl.quantity, product),
                )
            )
        if invoice is not None:
            body.append(ctx.t("Invoice {number}", number=invoice.number))

    if order.status not in DONE:
        if shipment is not None:
            body.append(ctx.t("Still to ship:"))
        available = uow.stock.for_products(
            [line.product_id for line in order.lines], order.warehouse_id
        )
        for line in order.lines:
            if line.remaining.milli <= 0:
                continue
            balance = available.get(line.product_id)
            body.append(
                _waiting_line(
                    ctx,
                    line,
                    products.get(line.product_id),
                    code,
                    balance.available if balance else Quantity(0),
                )
            )
        if order.note:
            body.append(ctx.t("Note: {note}", note=order.note))
    if waiting:
        problem = latest_problem(uow, order)
        if problem is not None:
            body.append(
                ctx.t(
                    "⚠️ Problem reported by {name}: {reason}",
                    name=problem.by_name,
                    reason=problem.reason,
                )
            )
    text = "\n".join(header + _fit(body))
    return text, (_buttons(ctx, order.id) if waiting else None)


def shipping_card(ctx: Speaker, order: SalesOrder) -> tuple[str, InlineKeyboard]:
    """The shipping card of ``order`` and its buttons (none once it cannot ship any more).

    Post it with ``track=card_key(order.id)`` so every copy is edited when someone acts.
    """
    shipment = last_shipment(ctx.uow, order.id)
    invoice = invoice_for(ctx.uow, order.id, shipment.id) if shipment else None
    text, keyboard = render_card(ctx, order, shipment, invoice)
    return text, keyboard or InlineKeyboard(())


def shipping_chats(uow: UnitOfWork) -> list[int]:
    """Where new orders go: chats chosen with /subscribe, else warehouse staff privately."""
    chosen = uow.chat_topics.chats("shipping")
    if chosen:
        return chosen
    return [
        u.telegram_user_id
        for u in uow.users.list()
        if u.role is Role.WAREHOUSE and u.active and u.telegram_user_id is not None
    ]


def edit_copies(
    ctx: Context,
    order_id: int,
    text: str,
    keyboard: InlineKeyboard | None,
    also: Location | None = None,
) -> None:
    """Edit every tracked copy of the card (and ``also``, the copy pressed, if untracked)."""
    copies = list(dict.fromkeys(ctx.uow.sent_messages.for_key(card_key(order_id))))
    if also is not None and also not in copies:
        copies.append(also)
    for chat_id, message_id in copies:
        ctx.replies.append(EditText(message_id, text, keyboard, chat_id=chat_id))


# --- after a shipment ---------------------------------------------------------------------


def announce_shipment(ctx: Context, result: ShipmentResult, also: Location | None) -> None:
    """After a shipment: edit every copy of the card (the salesperson and the customer hear
    about it through the outbox, on the ShipmentConfirmed event)."""
    text, keyboard = render_card(ctx, result.order, result.shipment, result.invoice)
    edit_copies(ctx, result.order.id, text, keyboard, also)


# --- the card buttons -------------------------------------------------------------------------


class ShipAction(CardAction):
    """``ship:all|part|prob|show:ORDER_ID`` — re-checked against the order on every press."""

    prefix = PREFIX
    roles = SHIPPERS

    def press(self, ctx: Context, args: tuple[str, ...]) -> None:
        callback = Callback(PREFIX, args)
        if len(args) != 2:
            raise BadCallback("wrong number of parts")
        action, order_id = args[0], callback.int_at(1)
        handler = {
            "all": self._ship_all,
            "part": self._partial,
            "prob": self._problem,
            "show": self._show,
        }.get(action)
        order = ctx.uow.orders.get(order_id)
        if handler is None or order is None:
            raise BadCallback("unknown action or order")
        handler(ctx, order)

    @staticmethod
    def _pressed(ctx: Context) -> Location | None:
        if ctx.incoming.message_id is None:
            return None
        return (ctx.incoming.chat_id, ctx.incoming.message_id)

    def _ship_all(self, ctx: Context, order: SalesOrder) -> None:
        why = refusal(ctx, order)
        if why is not None:
            ctx.toast(why, alert=True)
            return
        result = ship_order(ctx.uow, actor=ctx.actor, order_id=order.id)
        announce_shipment(ctx, result, self._pressed(ctx))
        ctx.toast(ctx.t("Shipped."))

    def _partial(self, ctx: Context, order: SalesOrder) -> None:
        why = refusal(ctx, order)
        if why is not None:
            ctx.toast(why, alert=True)
            return
        state = ctx.state
        if (
            state.flow == FLOW_NAME
            and state.step in (STEP_QTY, STEP_CONFIRM)
            and state.data.get("order_id") == order.id
        ):
            ctx.toast(ctx.t("Answer the question below, or /cancel."))
            return
        todo = [line.id for line in order.lines if line.remaining.milli > 0]
        state.begin(
            FLOW_NAME, STEP_QTY, order_id=order.id, todo=todo, index=0, qty={}, card=self._card(ctx)
        )
        ask_quantity(ctx)

    def _problem(self, ctx: Context, order: SalesOrder) -> None:
        why = refusal(ctx, order)
        if why is not None:
            ctx.toast(why, alert=True)
            return
        state = ctx.state
        if (
            state.flow == FLOW_NAME
            and state.step == STEP_REASON
            and state.data.get("order_id") == order.id
        ):
            ctx.toast(ctx.t("Answer the question below, or /cancel."))
            return
        state.begin(FLOW_NAME, STEP_REASON, order_id=order.id, card=self._card(ctx))
        ask_reason(ctx)

    def _show(self, ctx: Context, order: SalesOrder) -> None:
        why = refusal(ctx, order)
        if why is not None:
            ctx.toast(why, alert=True)
            return
        pressed = ctx.incoming.message_id or 0
        for chat_id, message_id in ctx.uow.sent_messages.for_key(card_key(order.id)):
            if chat_id == ctx.incoming.chat_id and message_id > pressed:
                ctx.toast(ctx.t("The card of {number} is already below.", number=order.number))
                return
        text, keyboard = shipping_card(ctx, order)
        ctx.say(text, keyboard, track=card_key(order.id))

    def _card(self, ctx: Context) -> list[int] | None:
        pressed = self._pressed(ctx)
        return list(pressed) if pressed else None


# --- the presser's conversation: Partial and Problem ------------------------------------------


def _order(ctx: Context) -> SalesOrder | None:
    """The order of the conversation, if it can still ship; otherwise say why and stop."""
    order = ctx.uow.orders.get(int(ctx.state.data.get("order_id", 0)))
    if order is None:
        ctx.say(ctx.t("That order no longer exists."))
        ctx.state.clear()
        return None
    why = refusal(ctx, order)
    if why is not None:
        ctx.say(why)
        ctx.state.clear()
        return None
    return order


def _warehouse_code(ctx: Context, order: SalesOrder) -> str:
    warehouse = ctx.uow.warehouses.get(order.warehouse_id)
    return warehouse.code if warehouse else f"#{order.warehouse_id}"


def _card_location(ctx: Context) -> Location | None:
    card = ctx.state.data.get("card")
    if isinstance(card, list) and len(card) == 2:
        return (int(card[0]), int(card[1]))
    return None


def _current_line(ctx: Context, order: SalesOrder) -> OrderLine | None:
    todo: list[int] = ctx.state.data.get("todo", [])
    index = int(ctx.state.data.get("index", 0))
    lines = {line.id: line for line in order.lines}
    while index < len(todo):
        line = lines.get(todo[index])
        if line is not None and line.remaining.milli > 0:
            ctx.state.data["index"] = index
            return line
        index += 1  # shipped meanwhile by someone else: nothing to ask
    ctx.state.data["index"] = index
    return None


def ask_quantity(ctx: Context, problem: str | None = None) -> None:
    """Ask how much of the current line to ship (or show the summary after the last one)."""
    order = _order(ctx)
    if order is None:
        return
    line = _current_line(ctx, order)
    if line is None:
        show_summary(ctx, order)
        return
    ctx.state.goto(STEP_QTY)
    product = ctx.uow.products.get(line.product_id)
    ready = ready_now(ctx, order, line)
    todo: list[int] = ctx.state.data["todo"]
    index = int(ctx.state.data["index"])
    parts = [problem] if problem else []
    parts += [
        ctx.t(
            "<b>{number}</b> · line {index} of {count}",
            number=order.number,
            index=index + 1,
            count=len(todo),
        ),
        ctx.t(
            "{product}: {left} left · available now {ready}",
            product=_name(product, line.product_id),
            left=_amount(ctx, line.remaining, product),
            ready=_amount(ctx, ready, product),
        ),
        ctx.t("How many to ship now? Type a number; 0 skips this line."),
    ]
    first: list[Button] = []
    if ready >= line.remaining:
        left = Html(_amount(ctx, line.remaining, product))
        first.append(ctx.button(ctx.t("All {quantity}", quantity=left), "qall"))
    elif ready.milli > 0:
        most = Html(_amount(ctx, ready, product))
        first.append(ctx.button(ctx.t("Available {quantity}", quantity=most), "qall"))
    first.append(ctx.button(ctx.t("Skip"), "qskip"))
    keyboard = InlineKeyboard.of(first, [ctx.button(ctx.t("Cancel"), "no")])
    ctx.say("\n".join(parts), keyboard)


def ready_now(ctx: Context, order: SalesOrder, line: OrderLine) -> Quantity:
    """How much of ``line`` could ship now: its reservation plus the free stock, less what
    earlier lines of this draft take of the same product beyond their own reservations."""
    available = ctx.uow.stock.get(line.product_id, order.warehouse_id).available.milli
    chosen = _chosen(ctx)
    for other in order.lines:
        if other.id != line.id and other.product_id == line.product_id and other.id in chosen:
            available -= max(0, chosen[other.id].milli - other.reserved.milli)
    return Quantity(line.reserved.milli + max(available, 0))


def _chosen(ctx: Context) -> dict[int, Quantity]:
    raw: dict[str, int] = ctx.state.data.get("qty", {})
    return {int(line_id): Quantity(int(milli)) for line_id, milli in raw.items()}


def _summary_lines(ctx: Context, order: SalesOrder) -> tuple[list[str], list[str]]:
    chosen = _chosen(ctx)
    products = ctx.uow.products.get_many([line.product_id for line in order.lines])
    now: list[str] = []
    later: list[str] = []
    for line in order.lines:
        product = products.get(line.product_id)
        name = _name(product, line.product_id)
        quantity = chosen.get(line.id, Quantity(0))
        if quantity.milli > 0:
            now.append(
                ctx.t(
                    "• {product}: {quantity}",
                    product=name,
                    quantity=_amount(ctx, quantity, product),
                )
            )
        rest = line.remaining - quantity
        if rest.milli > 0:
            later.append(
                ctx.t("• {product}: {quantity}", product=name, quantity=_amount(ctx, rest, product))
            )
    return now, later


def show_summary(ctx: Context, order: SalesOrder, problem: str | None = None) -> None:
    now, later = _summary_lines(ctx, order)
    if not now:
        ctx.say(ctx.t("Nothing was chosen, so nothing was shipped."))
        ctx.state.clear()
        return
    ctx.state.goto(STEP_CONFIRM)
    customer = ctx.uow.customers.get(order.customer_id)
    parts = [problem] if problem else []
    parts.append(
        ctx.t(
            "Ship now from <b>{number}</b> · {customer}:",
            number=order.number,
            customer=customer.name if customer else "",
        )
    )
    parts += _fit(now, CARD_BUDGET // 2)
    if later:
        parts.append(ctx.t("Still to ship afterwards:"))
        parts += _fit(later, CARD_BUDGET // 2)
    keyboard = InlineKeyboard.of(
        [ctx.button(ctx.t("✅ Confirm"), "ok"), ctx.button(ctx.t("Cancel"), "no")]
    )
    ctx.say("\n".join(parts), keyboard)


def ask_reason(ctx: Context, problem: str | None = None) -> None:
    order = _order(ctx)
    if order is None:
        return
    ctx.state.goto(STEP_REASON)
    parts = [problem] if problem else []
    parts.append(
        ctx.t(
            "What is the problem with <b>{number}</b>? Type a short reason.",
            number=order.number,
        )
    )
    ctx.say("\n".join(parts), InlineKeyboard.of([ctx.button(ctx.t("Cancel"), "no")]))


class ShippingFlow(Flow):
    """The presser's side of Partial (quantities line by line) and Problem (a reason)."""

    name = FLOW_NAME
    command = None
    roles = SHIPPERS
    groups_too = True

    def on_text(self, ctx: Context, text: str) -> None:
        step = ctx.state.step
        if step == STEP_QTY:
            self._quantity(ctx, text)
        elif step == STEP_REASON:
            self._reason(ctx, text)
        elif step == STEP_CONFIRM:
            order = _order(ctx)
            if order is not None:
                show_summary(ctx, order, ctx.t("Please use the buttons: Confirm or Cancel."))
        else:
            ctx.state.clear()

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        step = ctx.state.step
        if action == "no":
            self._cancel(ctx)
        elif step == STEP_QTY and action in ("qall", "qskip"):
            self._take_button(ctx, everything=action == "qall")
        elif step == STEP_CONFIRM and action == "ok":
            self._confirm(ctx)
        else:
            ctx.toast(ctx.t("This action has expired."))

    # --- Partial ----------------------------------------------------------------------------

    def _quantity(self, ctx: Context, text: str) -> None:
        order = _order(ctx)
        if order is None:
            return
        line = _current_line(ctx, order)
        if line is None:
            show_summary(ctx, order)
            return
        product = ctx.uow.products.get(line.product_id)
        decimals = product.decimals if product else 0
        try:
            quantity = parse_quantity(text, decimals=decimals, allow_zero=True)
        except InvalidInput as error:
            ask_quantity(ctx, quantity_problem(ctx, error, product))
            return
        if quantity > line.remaining:
            ask_quantity(
                ctx,
                ctx.t(
                    "That is more than is left to ship ({left}).",
                    left=_amount(ctx, line.remaining, product),
                ),
            )
            return
        ready = ready_now(ctx, order, line)
        if quantity > ready:
            ask_quantity(
                ctx,
                ctx.t(
                    "Only {ready} can ship now (not enough in {warehouse}).",
                    ready=_amount(ctx, ready, product),
                    warehouse=_warehouse_code(ctx, order),
                ),
            )
            return
        self._take(ctx, order, line, quantity)

    def _take_button(self, ctx: Context, *, everything: bool) -> None:
        order = _order(ctx)
        if order is None:
            return
        line = _current_line(ctx, order)
        if line is None:
            show_summary(ctx, order)
            return
        most = min(line.remaining, ready_now(ctx, order, line))
        self._take(ctx, order, line, most if everything else Quantity(0))

    def _take(self, ctx: Context, order: SalesOrder, line: OrderLine, quantity: Quantity) -> None:
        chosen: dict[str, int] = dict(ctx.state.data.get("qty", {}))
        chosen[str(line.id)] = quantity.milli
        ctx.state.goto(STEP_QTY, qty=chosen, index=int(ctx.state.data["index"]) + 1)
        ask_quantity(ctx)

    def _confirm(self, ctx: Context) -> None:
        order = _order(ctx)
        if order is None:
            return
        quantities = {k: v for k, v in _chosen(ctx).items() if v.milli > 0}
        card = _card_location(ctx)
        summary = ctx.incoming.message_id
        ctx.state.clear()  # whatever happens, this draft is finished; the old buttons expire
        try:
            result = ship_order(ctx.uow, actor=ctx.actor, order_id=order.id, quantities=quantities)
        except DomainError as error:
            ctx.say(
                "\n".join(
                    [
                        describe_error(ctx.t, error),
                        ctx.t("Nothing was shipped. Press Partial on the card to start again."),
                    ]
                )
            )
            return
        if summary is not None:
            now = _shipped_lines(ctx, result)
            ctx.edit(
                summary,
                "\n".join(
                    [ctx.t("✅ Shipped from <b>{number}</b>:", number=order.number), *_fit(now)]
                ),
            )
        announce_shipment(ctx, result, card)

    def _cancel(self, ctx: Context) -> None:
        ctx.state.clear()
        ctx.say(ctx.t("Cancelled. Nothing was saved."))

    # --- Problem ----------------------------------------------------------------------------

    def _reason(self, ctx: Context, text: str) -> None:
        reason = " ".join((text or "").split())
        if not reason:
            ask_reason(ctx, ctx.t("Nothing was entered."))
            return
        if len(reason) > MAX_REASON_CHARS:
            ask_reason(
                ctx,
                ctx.t(
                    "That is too long: at most {limit} characters, please.",
                    limit=MAX_REASON_CHARS,
                ),
            )
            return
        order = _order(ctx)
        if order is None:
            return
        card = _card_location(ctx)
        ctx.state.clear()
        report_problem(ctx.uow, actor=ctx.actor, order_id=order.id, reason=reason)
        text_, keyboard = shipping_card(ctx, order)
        edit_copies(ctx, order.id, text_, keyboard if keyboard.rows else None, card)
        people = people_to_tell(
            ctx.uow, (order.sales_rep_id, order.created_by), leave_out=ctx.actor.user_id
        )
        told = [person.name for person in people]  # they hear it through the outbox
        if told:
            ctx.say(
                ctx.t(
                    "Problem noted on {number}; told {names}.",
                    number=order.number,
                    names=", ".join(told),
                )
            )
        else:
            ctx.say(ctx.t("Problem noted on {number}.", number=order.number))


def _shipped_lines(ctx: Context, result: ShipmentResult) -> list[str]:
    products = ctx.uow.products.get_many([sl.product_id for sl in result.shipment.lines])
    lines = [
        ctx.t(
            "• {product}: {quantity}",
            product=_name(products.get(sl.product_id), sl.product_id),
            quantity=_amount(ctx, sl.quantity, products.get(sl.product_id)),
        )
        for sl in result.shipment.lines
    ]
    if result.invoice is not None:
        lines.append(ctx.t("Invoice {number}", number=result.invoice.number))
    return lines


def quantity_problem(ctx: Context, error: InvalidInput, product: Product | None) -> str:
    """Why a typed quantity was refused, with the unit's rule for decimals."""
    text = describe_input_problem(ctx.t, error)
    if error.reason == "too_many_decimals" and product is not None:
        if product.decimals == 0:
            return " ".join([text, ctx.t("{unit} is counted in whole numbers.", unit=product.unit)])
        return " ".join(
            [
                text,
                ctx.t(
                    "{unit} allows at most {decimals} decimals.",
                    unit=product.unit,
                    decimals=product.decimals,
                ),
            ]
        )
    return text


FLOW = ShippingFlow()
ACTIONS = (ShipAction(),)
