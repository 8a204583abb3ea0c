"""/order: customer → lines typed as free text → review → confirm; owner approvals; warehouse cards.

Steps:
- ``order:customer``: part of a name or phone → a sure match is taken, else up to six buttons
  (and "➕ New customer", which runs /customer and comes back here with the new customer).
- ``order:lines``: ``10 blue widget, 5 m8 bolt``, ``widget x10``, ``螺丝 20``… Each line is
  matched against the catalog; questions (which product? not enough stock?) are queued in the
  draft and asked one at a time with buttons.
- ``order:review``: lines, amounts, total and credit status → Confirm / Edit / Cancel.
- ``order:duplicate``: the same lines for the same customer in the last ten minutes → ask.

The draft (``ctx.state.data``) holds ``draft`` (a random id: the idempotency key of the order),
``wh`` (warehouse id), ``cust`` (customer id), ``lines`` ([{p, q, bo}]: product id, quantity
in thousandths, backorder allowed) and ``queue`` (open questions).

Card buttons: ``appr:<order id>:y|n`` (owners approve or reject an order held for credit).
"""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import timedelta
from typing import Any

from domain.errors import AlreadyDecided, InvalidInput
from domain.model import (
    Customer,
    HoldReason,
    OrderStatus,
    Product,
    Role,
    SalesOrder,
)
from domain.money import Money
from domain.quantity import Quantity
from domain.services.common import get_warehouse
from domain.services.customers import phone_key
from domain.services.orders import (
    MAX_LINES,
    LineRequest,
    credit_hold,
    decide_order,
    line_amount,
    open_orders_value,
    place_order,
)
from domain.services.stock import check_quantity
from handlers.callbacks import BadCallback
from handlers.context import Context, Speaker
from handlers.errors import describe_input_problem
from handlers.flow import CardAction, Flow
from handlers.flows._order_lines import (
    MAX_LINES_PER_MESSAGE,
    MAX_MESSAGE_CHARS,
    TypedLine,
    read_line,
    split_lines,
)
from handlers.i18n import N_, Html
from handlers.pickers import search_customers, visible_customers
from handlers.replies import Button, EditText, InlineKeyboard

FLOW_NAME = "order"
STEP_CUSTOMER = "order:customer"
STEP_LINES = "order:lines"
STEP_REVIEW = "order:review"
STEP_DUPLICATE = "order:duplicate"

ORDER_ROLES = frozenset({Role.OWNER, Role.SALES})
DUPLICATE_WINDOW = timedelta(minutes=10)
NOT_CANCELLED = tuple(status for status in OrderStatus if status is not OrderStatus.CANCELLED)
MAX_CUSTOMER_CHOICES = 6
MAX_PRODUCT_CHOICES = 5
MAX_SEARCH_CHARS = 120
MIN_PHONE_DIGITS = 5
LABEL_CHARS = 40
QUOTE_CHARS = 40
CARD_LINES = 15  # lines listed on approval and fallback shipping cards
APPROVAL_PREFIX = "appr"
SHIPPING_TOPIC = "shipping"


# --- small helpers --------------------------------------------------------------------------


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """Text cut to ``limit`` characters (button labels, quotes of what was typed)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plain(value: object) -> Html:
    """A value for a button label: shortened, and not HTML-escaped (labels are plain text)."""
    return Html(_short(str(value)))


def in_language(ctx: Context, language: str | None) -> Context:
    """The same step context, speaking ``language`` (a message for someone else)."""
    return ctx.in_language(language)


def _qty(ctx: Speaker, quantity: Quantity, product: Product) -> str:
    return ctx.t("{quantity} {unit}", quantity=quantity, unit=product.unit)


def _qty_label(ctx: Context, quantity: Quantity, product: Product) -> str:
    """Quantity and unit as plain text (for button labels, which are not HTML)."""
    return f"{ctx.t.quantity(quantity)} {product.unit}"


def _data(ctx: Context) -> dict[str, Any]:
    return ctx.state.data


def _lines(ctx: Context) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = _data(ctx).setdefault("lines", [])
    return lines


def _queue(ctx: Context) -> list[dict[str, Any]]:
    queue: list[dict[str, Any]] = _data(ctx).setdefault("queue", [])
    return queue


def _available(ctx: Context, product_id: int) -> Quantity:
    balance = ctx.uow.stock.get(product_id, int(_data(ctx)["wh"]))
    return Quantity(max(balance.available.milli, 0))


def _customer(ctx: Context, customer_id: int | None) -> Customer | None:
    """The customer if this person may take orders for them (re-checked every time).

    The rule of ``handlers.pickers.visible_customers`` for one customer: owners any active
    customer, a salesperson their own and unassigned ones.
    """
    if customer_id is None or ctx.user is None:
        return None
    customer = ctx.uow.customers.get(int(customer_id))
    if customer is None or not customer.active:
        return None
    if ctx.role is Role.OWNER:
        return customer
    if ctx.role is Role.SALES and customer.sales_rep_id in (None, ctx.user.id):
        return customer
    return None


def _order_total(ctx: Context, products: dict[int, Product]) -> Money:
    total = Money.zero(ctx.uow.policy.currency)
    for line in _lines(ctx):
        product = products.get(int(line["p"]))
        if product is not None:
            total += line_amount(Quantity(int(line["q"])), product.price, 0)
    return total


def _last_order(ctx: Context, customer_id: int) -> SalesOrder | None:
    """The customer's most recent order that was not cancelled."""
    found = ctx.uow.orders.list(customer_id=customer_id, statuses=NOT_CANCELLED, limit=1)
    return found[0] if found else None


# --- the flow -------------------------------------------------------------------------------


class OrderFlow(Flow):
    name = FLOW_NAME
    command = "order"
    roles = ORDER_ROLES
    description = N_("New order")

    def start(self, ctx: Context, args: str) -> None:
        warehouse = get_warehouse(ctx.uow, None)
        ctx.state.begin(
            FLOW_NAME, STEP_CUSTOMER, draft=secrets.token_hex(8), wh=warehouse.id, lines=[]
        )
        if args.strip():
            self._find_customer(ctx, args)
        else:
            self._ask_customer(ctx)

    # --- routing ------------------------------------------------------------------------

    def on_text(self, ctx: Context, text: str) -> None:
        step = ctx.state.step
        if step == STEP_CUSTOMER:
            self._find_customer(ctx, text)
        elif step == STEP_LINES:
            if _queue(ctx):
                ctx.say(ctx.t("Please answer the question first, or /cancel."))
                self._ask_next(ctx)
            else:
                self._add_typed(ctx, text)
        elif step == STEP_REVIEW:
            self._add_typed(ctx, text)
        else:
            ctx.say(ctx.t("Please use the buttons above, or /cancel."))

    def on_contact(self, ctx: Context, phone: str) -> None:
        """A shared contact at the customer step picks the customer with that phone number."""
        if ctx.state.step != STEP_CUSTOMER:
            self.on_text(ctx, phone)
            return
        key = phone_key(phone)
        found = [c for c in ctx.uow.customers.by_phone_key(key) if _customer(ctx, c.id)]
        if len(key) >= MIN_PHONE_DIGITS and len(found) == 1:
            self._select_customer(ctx, found[0].id)
        else:
            self._find_customer(ctx, phone)

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        step = ctx.state.step
        handlers = {
            "cancel": (None, lambda: self._cancel(ctx)),
            "newcust": (STEP_CUSTOMER, lambda: self._new_customer(ctx)),
            "cust": (STEP_CUSTOMER, lambda: self._pick_customer(ctx, args)),
            "pick": (STEP_LINES, lambda: self._pick_product(ctx, args)),
            "skip": (STEP_LINES, lambda: self._skip(ctx)),
            "reduce": (STEP_LINES, lambda: self._short_decision(ctx, "reduce")),
            "backorder": (STEP_LINES, lambda: self._short_decision(ctx, "backorder")),
            "drop": (STEP_LINES, lambda: self._short_decision(ctx, "drop")),
            "done": (STEP_LINES, lambda: self._done(ctx)),
            "repeat": (STEP_LINES, lambda: self._repeat(ctx)),
            "rmmenu": (STEP_LINES, lambda: self._show_lines(ctx, [], removing=True)),
            "rm": (STEP_LINES, lambda: self._remove(ctx, args)),
            "confirm": (STEP_REVIEW, lambda: self._confirm(ctx)),
            "edit": (STEP_REVIEW, lambda: self._show_lines(ctx, [], removing=True)),
            "again": (STEP_DUPLICATE, lambda: self._place_again(ctx)),
            "notagain": (STEP_DUPLICATE, lambda: self._not_again(ctx)),
        }
        found = handlers.get(action)
        if found is None or (found[0] is not None and found[0] != step):
            ctx.toast(ctx.t("This action has expired."))
            return
        if step == STEP_REVIEW and action in ("confirm", "edit", "cancel"):
            self._close_review(ctx)
        found[1]()

    # --- customer -----------------------------------------------------------------------

    def _ask_customer(self, ctx: Context, lead: str = "") -> None:
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("➕ New customer"), "newcust")],
            [ctx.button(ctx.t("✖ Cancel"), "cancel")],
        )
        question = ctx.t("🧾 New order. Which customer? Type part of the name or phone.")
        ctx.say(f"{lead}\n\n{question}" if lead else question, keyboard)
        ctx.state.goto(STEP_CUSTOMER)

    def _find_customer(self, ctx: Context, text: str) -> None:
        query = " ".join(text.split())
        if not query:
            self._ask_customer(ctx)
            return
        if len(query) > MAX_SEARCH_CHARS:
            self._ask_customer(ctx, ctx.t("That is too long."))
            return
        assert ctx.user is not None
        _data(ctx)["hint"] = query
        customers = visible_customers(ctx.uow, ctx.user.id, ctx.role)
        result = search_customers(customers, query, limit=MAX_CUSTOMER_CHOICES)
        best = result.best
        if best is not None and result.sure:
            self._select_customer(ctx, best.key)
            return
        if not result.candidates:
            self._ask_customer(
                ctx, ctx.t("No customer matches “{text}”.", text=_short(query, QUOTE_CHARS))
            )
            return
        rows = [[ctx.button(_short(c.name), "cust", c.key)] for c in result.candidates]
        rows.append([ctx.button(ctx.t("➕ New customer"), "newcust")])
        rows.append([ctx.button(ctx.t("✖ Cancel"), "cancel")])
        ctx.say(
            ctx.t("Which customer do you mean by “{text}”?", text=_short(query, QUOTE_CHARS)),
            InlineKeyboard.of(*rows),
        )
        ctx.state.goto(STEP_CUSTOMER)

    def _pick_customer(self, ctx: Context, args: tuple[str, ...]) -> None:
        if len(args) != 1 or not args[0].isdigit():
            ctx.toast(ctx.t("This action has expired."))
            return
        self._select_customer(ctx, int(args[0]))

    def _select_customer(self, ctx: Context, customer_id: int) -> None:
        customer = _customer(ctx, customer_id)
        if customer is None:
            self._ask_customer(ctx, ctx.t("That customer cannot be chosen."))
            return
        _data(ctx)["cust"] = customer.id
        _data(ctx).pop("hint", None)
        self._show_lines(ctx, [])

    def _new_customer(self, ctx: Context) -> None:
        from handlers.flows.customer import FLOW as CUSTOMER_FLOW

        resume = dict(_data(ctx))
        hint = str(resume.pop("hint", ""))
        CUSTOMER_FLOW.start_for_order(ctx, resume, hint)

    # --- lines --------------------------------------------------------------------------

    def _add_typed(self, ctx: Context, text: str) -> None:
        """Add every line of a message; questions about some of them are queued."""
        if len(text) > MAX_MESSAGE_CHARS:
            ctx.say(self._too_long(ctx))
            self._show_lines(ctx, [])
            return
        parts = split_lines(text)
        if not parts:
            self._show_lines(ctx, [])
            return
        if len(parts) > MAX_LINES_PER_MESSAGE:
            ctx.say(self._too_long(ctx))
            self._show_lines(ctx, [])
            return
        notes: list[str] = []
        for part in parts:
            typed = read_line(part)
            if typed.problem is not None or typed.quantity is None:
                notes.append(self._line_problem(ctx, typed))
                continue
            result = ctx.products.search(ctx.uow, typed.name, limit=MAX_PRODUCT_CHOICES)
            best = result.best
            if best is None:
                notes.append(
                    ctx.t("✗ “{text}”: no such product.", text=_short(typed.text, QUOTE_CHARS))
                )
            elif result.sure:
                product = ctx.uow.products.get(best.key)
                if product is None or not product.active:
                    notes.append(
                        ctx.t("✗ “{text}”: no such product.", text=_short(typed.text, QUOTE_CHARS))
                    )
                else:
                    self._add(ctx, product, typed.quantity, typed.text, notes)
            else:
                _queue(ctx).append(
                    {
                        "k": "pick",
                        "text": _short(typed.name, QUOTE_CHARS),
                        "q": typed.quantity.milli,
                        "c": [c.key for c in result.candidates],
                    }
                )
        self._show_lines(ctx, notes)

    @staticmethod
    def _too_long(ctx: Context) -> str:
        return ctx.t(
            "That message is too long. Send at most {count} lines at a time.",
            count=MAX_LINES_PER_MESSAGE,
        )

    def _line_problem(self, ctx: Context, typed: TypedLine) -> str:
        quoted = _short(typed.text, QUOTE_CHARS)
        if typed.problem == "no_quantity":
            return ctx.t("✗ “{text}”: how many? Write it like “10 blue widget”.", text=quoted)
        if typed.problem == "no_product":
            return ctx.t("✗ “{text}”: which product?", text=quoted)
        reason = describe_input_problem(ctx.t, InvalidInput("quantity", typed.problem or ""))
        return ctx.t("✗ “{text}”: {reason}", text=quoted, reason=Html(reason))

    def _add(
        self, ctx: Context, product: Product, quantity: Quantity, typed: str, notes: list[str]
    ) -> None:
        """Add ``quantity`` of ``product`` to the draft, or queue a question about stock."""
        try:
            check_quantity(product, quantity)
        except InvalidInput as error:
            if error.reason == "too_many_decimals":
                notes.append(
                    ctx.t(
                        "✗ “{text}”: {name} is sold in whole {unit}.",
                        text=_short(typed, QUOTE_CHARS),
                        name=product.name,
                        unit=product.unit,
                    )
                )
            else:
                notes.append(
                    ctx.t(
                        "✗ “{text}”: {reason}",
                        text=_short(typed, QUOTE_CHARS),
                        reason=Html(describe_input_problem(ctx.t, error)),
                    )
                )
            return
        lines = _lines(ctx)
        line = next((li for li in lines if int(li["p"]) == product.id), None)
        if line is None and len(lines) >= MAX_LINES:
            notes.append(ctx.t("✗ An order can have at most {count} lines.", count=MAX_LINES))
            return
        before = Quantity(int(line["q"])) if line is not None else Quantity(0)
        wanted = before + quantity
        available = _available(ctx, product.id)
        backorder = bool(line is not None and line.get("bo"))
        if wanted > available and not backorder:
            _queue(ctx).append({"k": "short", "p": product.id, "add": quantity.milli})
            return
        self._set_line(ctx, product.id, wanted, backorder)
        notes.append(self._added_note(ctx, product, wanted, available, merged=line is not None))

    def _set_line(self, ctx: Context, product_id: int, quantity: Quantity, backorder: bool) -> None:
        lines = _lines(ctx)
        for line in lines:
            if int(line["p"]) == product_id:
                line["q"], line["bo"] = quantity.milli, backorder
                return
        lines.append({"p": product_id, "q": quantity.milli, "bo": backorder})

    def _added_note(
        self,
        ctx: Context,
        product: Product,
        quantity: Quantity,
        available: Quantity,
        *,
        merged: bool = False,
    ) -> str:
        text = ctx.t(
            "✓ {quantity} {name} · {price} each · {available} available",
            quantity=Html(_qty(ctx, quantity, product)),
            name=product.name,
            price=product.price,
            available=Html(_qty(ctx, available, product)),
        )
        if quantity > available:
            text += ctx.t(
                " · backorder {quantity}", quantity=Html(_qty(ctx, quantity - available, product))
            )
        if merged:
            text += ctx.t(" (in total)")
        return text

    # --- questions, one at a time --------------------------------------------------------

    def _ask_next(self, ctx: Context) -> bool:
        """Ask the first open question; False when there is none (or none left to ask)."""
        queue = _queue(ctx)
        while queue:
            item = queue[0]
            if item["k"] == "pick" and self._ask_pick(ctx, item):
                return True
            if item["k"] == "short" and self._ask_short(ctx, item):
                return True
            queue.pop(0)
        return False

    def _ask_pick(self, ctx: Context, item: dict[str, Any]) -> bool:
        products = ctx.uow.products.get_many([int(key) for key in item["c"]])
        rows: list[list[Button]] = []
        for index, key in enumerate(item["c"]):
            product = products.get(int(key))
            if product is not None and product.active:
                label = f"{_short(product.name)} · {_short(product.sku)}"
                rows.append([ctx.button(label, "pick", index)])
        if not rows:
            return False
        rows.append([ctx.button(ctx.t("Skip this line"), "skip")])
        ctx.say(
            ctx.t(
                "Which product is “{text}”? (quantity {quantity})",
                text=item["text"],
                quantity=Quantity(int(item["q"])),
            ),
            InlineKeyboard.of(*rows),
        )
        ctx.state.goto(STEP_LINES)
        return True

    def _ask_short(self, ctx: Context, item: dict[str, Any]) -> bool:
        product = ctx.uow.products.get(int(item["p"]))
        if product is None or not product.active:
            return False
        line = next((li for li in _lines(ctx) if int(li["p"]) == product.id), None)
        before = Quantity(int(line["q"])) if line is not None else Quantity(0)
        wanted = before + Quantity(int(item["add"]))
        available = _available(ctx, product.id)
        if wanted <= available:  # stock arrived meanwhile
            self._set_line(ctx, product.id, wanted, bool(line and line.get("bo")))
            return False
        rows: list[list[Button]] = []
        if available > before and available.milli > 0:
            rows.append(
                [
                    ctx.button(
                        ctx.t(
                            "Reduce to {quantity}",
                            quantity=_plain(_qty_label(ctx, available, product)),
                        ),
                        "reduce",
                    )
                ]
            )
        rows.append([ctx.button(ctx.t("Backorder the rest"), "backorder")])
        if before.milli > 0:
            keep = ctx.t("Keep {quantity}", quantity=_plain(_qty_label(ctx, before, product)))
            rows.append([ctx.button(keep, "drop")])
        else:
            rows.append([ctx.button(ctx.t("Remove the line"), "drop")])
        ctx.say(
            ctx.t(
                "⚠️ Only {available} of {name} available; you asked for {wanted}.",
                available=Html(_qty(ctx, available, product)),
                name=product.name,
                wanted=Html(_qty(ctx, wanted, product)),
            ),
            InlineKeyboard.of(*rows),
        )
        ctx.state.goto(STEP_LINES)
        return True

    def _current(self, ctx: Context, kind: str) -> dict[str, Any] | None:
        queue = _queue(ctx)
        if not queue or queue[0]["k"] != kind:
            return None
        return queue[0]

    def _pick_product(self, ctx: Context, args: tuple[str, ...]) -> None:
        item = self._current(ctx, "pick")
        if item is None or len(args) != 1 or not args[0].isdigit():
            ctx.toast(ctx.t("This action has expired."))
            return
        index = int(args[0])
        if index >= len(item["c"]):
            ctx.toast(ctx.t("This action has expired."))
            return
        _queue(ctx).pop(0)
        notes: list[str] = []
        product = ctx.uow.products.get(int(item["c"][index]))
        if product is None or not product.active:
            notes.append(ctx.t("✗ “{text}”: no such product.", text=item["text"]))
        else:
            before = len(_queue(ctx))
            self._add(ctx, product, Quantity(int(item["q"])), item["text"], notes)
            if len(_queue(ctx)) > before:  # not enough stock: ask that next
                _queue(ctx).insert(0, _queue(ctx).pop())
        self._show_lines(ctx, notes)

    def _skip(self, ctx: Context) -> None:
        item = self._current(ctx, "pick")
        if item is None:
            ctx.toast(ctx.t("This action has expired."))
            return
        _queue(ctx).pop(0)
        self._show_lines(ctx, [ctx.t("Skipped “{text}”.", text=item["text"])])

    def _short_decision(self, ctx: Context, decision: str) -> None:
        item = self._current(ctx, "short")
        product = ctx.uow.products.get(int(item["p"])) if item is not None else None
        if item is None or product is None:
            ctx.toast(ctx.t("This action has expired."))
            return
        _queue(ctx).pop(0)
        line = next((li for li in _lines(ctx) if int(li["p"]) == product.id), None)
        before = Quantity(int(line["q"])) if line is not None else Quantity(0)
        wanted = before + Quantity(int(item["add"]))
        available = _available(ctx, product.id)
        notes: list[str] = []
        if decision == "reduce" and available.milli > 0:
            self._set_line(ctx, product.id, min(available, wanted), False)
            notes.append(self._added_note(ctx, product, min(available, wanted), available))
        elif decision == "backorder":
            self._set_line(ctx, product.id, wanted, True)
            notes.append(self._added_note(ctx, product, wanted, available))
        elif before.milli > 0:
            notes.append(
                ctx.t(
                    "Kept {quantity} {name}.",
                    quantity=Html(_qty(ctx, before, product)),
                    name=product.name,
                )
            )
        else:
            notes.append(ctx.t("Removed {name}.", name=product.name))
        self._show_lines(ctx, notes)

    # --- the draft so far ----------------------------------------------------------------

    def _show_lines(self, ctx: Context, notes: list[str], *, removing: bool = False) -> None:
        """Results of the last input, then the next question or the draft with its buttons."""
        ctx.state.goto(STEP_LINES)
        if _queue(ctx):
            if notes:
                ctx.say("\n".join(notes))
            if self._ask_next(ctx):
                return
        customer = _customer(ctx, _data(ctx).get("cust"))
        if customer is None:
            self._ask_customer(ctx, ctx.t("That customer cannot be chosen."))
            return
        lines = _lines(ctx)
        products = ctx.uow.products.get_many([int(li["p"]) for li in lines])
        if lines:
            summary = ctx.t.n(
                "<b>{customer}</b>: {count} line, {total}.",
                "<b>{customer}</b>: {count} lines, {total}.",
                len(lines),
                customer=customer.name,
                total=_order_total(ctx, products),
            )
            hint = (
                ctx.t("Tap a line to remove it, or type more items.")
                if removing
                else ctx.t("Type more items, or tap Done.")
            )
        else:
            summary = ctx.t("🧾 Order for <b>{customer}</b>: no items yet.", customer=customer.name)
            hint = ctx.t("Type the items, e.g. “10 blue widget, 5 m8 bolt” or “螺丝 20”.")
        rows: list[list[Button]] = []
        if removing and lines:
            for index, line in enumerate(lines):
                product = products.get(int(line["p"]))
                if product is not None:
                    label = ctx.t(
                        "✖ {quantity} {name}",
                        quantity=_plain(_qty_label(ctx, Quantity(int(line["q"])), product)),
                        name=_plain(product.name),
                    )
                    rows.append([ctx.button(label, "rm", index)])
        if lines:
            rows.append([ctx.button(ctx.t("✅ Done"), "done")])
        elif _last_order(ctx, customer.id) is not None:
            rows.append([ctx.button(ctx.t("🔁 Repeat last order"), "repeat")])
        if lines and not removing:
            rows.append([ctx.button(ctx.t("➖ Remove a line"), "rmmenu")])
        rows.append([ctx.button(ctx.t("✖ Cancel"), "cancel")])
        ctx.say(
            "\n".join([*notes, "", summary, hint] if notes else [summary, hint]),
            InlineKeyboard.of(*rows),
        )

    def _remove(self, ctx: Context, args: tuple[str, ...]) -> None:
        lines = _lines(ctx)
        if len(args) != 1 or not args[0].isdigit() or int(args[0]) >= len(lines):
            ctx.toast(ctx.t("This action has expired."))
            return
        line = lines.pop(int(args[0]))
        product = ctx.uow.products.get(int(line["p"]))
        name = product.name if product is not None else "?"
        self._show_lines(ctx, [ctx.t("Removed {name}.", name=name)], removing=bool(lines))

    def _repeat(self, ctx: Context) -> None:
        customer = _customer(ctx, _data(ctx).get("cust"))
        last = _last_order(ctx, customer.id) if customer is not None else None
        if last is None:
            ctx.toast(ctx.t("This customer has no earlier order."))
            return
        notes = [ctx.t("🔁 Repeating {number}:", number=last.number)]
        products = ctx.uow.products.get_many([line.product_id for line in last.lines])
        for line in last.lines:
            product = products.get(line.product_id)
            if product is None or not product.active:
                notes.append(
                    ctx.t("✗ A product of {number} is no longer sold.", number=last.number)
                )
                continue
            self._add(ctx, product, line.quantity, product.name, notes)
        self._show_lines(ctx, notes)

    def _done(self, ctx: Context) -> None:
        if not _lines(ctx):
            self._show_lines(ctx, [])
            return
        self._review(ctx)

    # --- review and confirm ----------------------------------------------------------------

    def _review(self, ctx: Context) -> None:
        customer = _customer(ctx, _data(ctx).get("cust"))
        if customer is None:
            self._ask_customer(ctx, ctx.t("That customer cannot be chosen."))
            return
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("✅ Confirm"), "confirm")],
            [
                ctx.button(ctx.t("✏️ Edit"), "edit"),
                ctx.button(ctx.t("✖ Cancel"), "cancel"),
            ],
        )
        text = self._review_text(ctx, customer)
        ctx.say(text, keyboard)
        ctx.state.goto(STEP_REVIEW, card=text)

    def _close_review(self, ctx: Context) -> None:
        """A review-card button was pressed: the card keeps the text it was shown with (kept in
        the draft) and loses its buttons, so nobody presses a stale Confirm; the choice that
        follows comes as a new message."""
        card = _data(ctx).pop("card", None)
        if ctx.incoming.message_id is not None and isinstance(card, str):
            ctx.edit(ctx.incoming.message_id, card)

    def _review_text(self, ctx: Context, customer: Customer) -> str:
        lines = _lines(ctx)
        products = ctx.uow.products.get_many([int(li["p"]) for li in lines])
        text = [ctx.t("🧾 <b>Order for {customer}</b>", customer=customer.name)]
        total = Money.zero(ctx.uow.policy.currency)
        for number, line in enumerate(lines, 1):
            product = products[int(line["p"])]
            quantity = Quantity(int(line["q"]))
            amount = line_amount(quantity, product.price, 0)
            total += amount
            row = ctx.t(
                "{no}. {name} — {quantity} × {price} = {amount}",
                no=number,
                name=product.name,
                quantity=Html(_qty(ctx, quantity, product)),
                price=product.price,
                amount=amount,
            )
            available = _available(ctx, product.id)
            if line.get("bo") and quantity > available:
                row += ctx.t(
                    " (backorder {quantity})",
                    quantity=Html(_qty(ctx, quantity - available, product)),
                )
            text.append(row)
        text.append(ctx.t("<b>Total: {total}</b>", total=total))
        hold = credit_hold(ctx.uow, customer, total, ctx.uow.clock.now().date())
        if hold is HoldReason.CREDIT_LIMIT:
            text.append(ctx.t("⚠️ Over the credit limit: an owner must approve this order."))
        elif hold is HoldReason.OVERDUE:
            text.append(ctx.t("⚠️ Overdue invoices: an owner must approve this order."))
        else:
            text.append(ctx.t("Credit: within limit ✓"))
        return "\n".join(text)

    def _confirm(self, ctx: Context) -> None:
        customer = _customer(ctx, _data(ctx).get("cust"))
        if customer is None:
            self._ask_customer(ctx, ctx.t("That customer cannot be chosen."))
            return
        done = ctx.uow.orders.by_idempotency_key(self._key(ctx))
        if done is not None:  # this draft was placed already (a replayed Confirm)
            ctx.state.clear()
            ctx.say(self._placed_text(ctx, done))
            return
        if not self._still_valid(ctx):
            return
        if not _data(ctx).get("dup_ok"):
            twin = self._recent_twin(ctx, customer.id)
            if twin is not None:
                self._ask_duplicate(ctx, twin)
                return
        self._place(ctx, customer)

    def _still_valid(self, ctx: Context) -> bool:
        """Products still sold and stock still there; otherwise ask again (False)."""
        lines = _lines(ctx)
        products = ctx.uow.products.get_many([int(li["p"]) for li in lines])
        notes: list[str] = []
        for line in list(lines):
            product = products.get(int(line["p"]))
            if product is None or not product.active:
                lines.remove(line)
                notes.append(ctx.t("✗ A product is no longer sold and was removed."))
            elif not line.get("bo") and Quantity(int(line["q"])) > _available(ctx, product.id):
                lines.remove(line)
                _queue(ctx).append({"k": "short", "p": product.id, "add": int(line["q"])})
        if not notes and not _queue(ctx):
            return True
        notes.insert(0, ctx.t("Stock or the catalog changed while you were ordering."))
        self._show_lines(ctx, notes)
        return False

    def _recent_twin(self, ctx: Context, customer_id: int) -> SalesOrder | None:
        """An order for the same customer with the same lines in the last ten minutes."""
        wanted: Counter[int] = Counter()
        for line in _lines(ctx):
            wanted[int(line["p"])] += int(line["q"])
        since = ctx.uow.clock.now() - DUPLICATE_WINDOW
        return ctx.uow.orders.find_twin(customer_id, since, wanted)

    def _ask_duplicate(self, ctx: Context, twin: SalesOrder) -> None:
        minutes = int((ctx.uow.clock.now() - twin.created_at).total_seconds() // 60)
        if minutes < 1:
            text = ctx.t(
                "This looks like {number} placed less than a minute ago. Place it again?",
                number=twin.number,
            )
        else:
            text = ctx.t.n(
                "This looks like {number} placed {count} minute ago. Place it again?",
                "This looks like {number} placed {count} minutes ago. Place it again?",
                minutes,
                number=twin.number,
            )
        keyboard = InlineKeyboard.of(
            [
                ctx.button(ctx.t("Yes, place it"), "again"),
                ctx.button(ctx.t("No"), "notagain"),
            ]
        )
        ctx.say(text, keyboard)
        ctx.state.goto(STEP_DUPLICATE)

    def _place_again(self, ctx: Context) -> None:
        _data(ctx)["dup_ok"] = True
        self._confirm(ctx)

    def _not_again(self, ctx: Context) -> None:
        ctx.state.clear()
        ctx.say(ctx.t("OK, not placed. Nothing was saved."))

    @staticmethod
    def _key(ctx: Context) -> str:
        """The idempotency key of this draft's order."""
        return f"order:{_data(ctx)['draft']}"

    def _place(self, ctx: Context, customer: Customer) -> None:
        lines = _lines(ctx)
        placed = place_order(
            ctx.uow,
            actor=ctx.actor,
            customer_id=customer.id,
            lines=[LineRequest(int(li["p"]), Quantity(int(li["q"]))) for li in lines],
            idempotency_key=self._key(ctx),
            warehouse_id=int(_data(ctx)["wh"]),
            allow_backorder=any(li.get("bo") for li in lines),
        )
        # The owners' approval card or the warehouse's shipping card goes through the
        # outbox (notifications/publisher.py, on the OrderPlaced event).
        ctx.state.clear()
        ctx.say(self._placed_text(ctx, placed.order))

    def _placed_text(self, ctx: Context, order: SalesOrder) -> str:
        """The "SO-000123 placed" reply, or why the order waits for an owner."""
        backordered = any(line.reserved < line.quantity for line in order.lines)
        if order.status is OrderStatus.PENDING_APPROVAL:
            reason = (
                ctx.t("overdue invoices")
                if order.hold_reason is HoldReason.OVERDUE
                else ctx.t("over credit limit")
            )
            text = ctx.t(
                "⏳ {number} is waiting for an owner's approval ({reason}). Total {total}.",
                number=order.number,
                reason=Html(reason),
                total=order.total,
            )
        else:
            text = ctx.t(
                "✅ {number} placed. Total {total}.", number=order.number, total=order.total
            )
        if backordered:
            text += "\n" + ctx.t("Some items are on backorder and will follow later.")
        return text

    def _cancel(self, ctx: Context) -> None:
        ctx.state.clear()
        ctx.say(ctx.t("Cancelled. Nothing was saved."))


def resume_with_customer(ctx: Context, resume: dict[str, Any], customer_id: int | None) -> None:
    """Back from /customer: continue the stashed order draft, with the new customer if any."""
    ctx.state.begin(FLOW_NAME, STEP_CUSTOMER, **resume)
    if customer_id is None:
        FLOW._ask_customer(ctx)
    else:
        FLOW._select_customer(ctx, customer_id)


# --- cards for owners (approval) and the warehouse (shipping) --------------------------------


def order_card_lines(ctx: Speaker, order: SalesOrder) -> list[str]:
    """Customer, total, who took it and the first lines of an order (HTML)."""
    customer = ctx.uow.customers.get(order.customer_id)
    creator = ctx.uow.users.get(order.created_by) if order.created_by is not None else None
    text = [
        ctx.t(
            "<b>{number}</b> · {customer}",
            number=order.number,
            customer=customer.name if customer else "?",
        ),
        ctx.t("Total: {total}", total=order.total),
    ]
    if creator is not None:
        text.append(ctx.t("Taken by: {name}", name=creator.name))
    products = ctx.uow.products.get_many([line.product_id for line in order.lines])
    for line in order.lines[:CARD_LINES]:
        product = products.get(line.product_id)
        if product is not None:
            text.append(
                ctx.t(
                    "• {quantity} {name}",
                    quantity=Html(_qty(ctx, line.quantity, product)),
                    name=product.name,
                )
            )
    if len(order.lines) > CARD_LINES:
        text.append(ctx.t("… and {count} more", count=len(order.lines) - CARD_LINES))
    return text


def approval_text(ctx: Speaker, order: SalesOrder, decided_by: str | None = None) -> str:
    """The approval card: the order, and why it waits (or who decided)."""
    text = order_card_lines(ctx, order)
    if decided_by is not None:
        if order.status is OrderStatus.CANCELLED:
            text.append(ctx.t("❌ Rejected by {name}", name=decided_by))
        else:
            text.append(ctx.t("✅ Approved by {name}", name=decided_by))
        return "\n".join(text)
    customer = ctx.uow.customers.get(order.customer_id)
    if order.hold_reason is HoldReason.OVERDUE:
        text.append(ctx.t("⏳ Needs approval: the customer has overdue invoices."))
    elif customer is not None and customer.credit_limit is not None:
        currency = order.total.currency
        text.append(
            ctx.t(
                "⏳ Needs approval: over the credit limit of {limit} (owed {balance}, open "
                "orders {open} including this one).",
                limit=customer.credit_limit,
                balance=customer.balance or Money.zero(currency),
                open=open_orders_value(ctx.uow, customer.id, currency),
            )
        )
    else:
        text.append(ctx.t("⏳ Needs approval: over the credit limit."))
    return "\n".join(text)


class ApprovalAction(CardAction):
    """Approve / Reject on an owner's card: every copy is edited; the salesperson is told and
    an approved order's shipping card goes out through the outbox (the OrderDecided event)."""

    prefix = APPROVAL_PREFIX
    roles = frozenset({Role.OWNER})

    def press(self, ctx: Context, args: tuple[str, ...]) -> None:
        if len(args) != 2 or not args[0].isdigit() or len(args[0]) > 18:
            raise BadCallback("not an approval")
        if args[1] not in ("y", "n"):
            raise BadCallback("not an approval")
        order_id, approve = int(args[0]), args[1] == "y"
        assert ctx.user is not None
        try:
            order = decide_order(ctx.uow, actor=ctx.actor, order_id=order_id, approve=approve)
        except AlreadyDecided as error:
            if error.state == str(OrderStatus.CANCELLED):
                text = ctx.t(
                    "{number} was already rejected by {name}.",
                    number=error.reference,
                    name=error.by_name,
                )
            else:
                text = ctx.t(
                    "{number} was already approved by {name}.",
                    number=error.reference,
                    name=error.by_name,
                )
            ctx.toast(text, alert=True)
            return
        self._edit_cards(ctx, order, ctx.user.name)
        if order.status is OrderStatus.CONFIRMED:
            ctx.toast(ctx.t("Approved."))
        else:
            ctx.toast(ctx.t("Rejected."))

    def _edit_cards(self, ctx: Context, order: SalesOrder, name: str) -> None:
        for chat_id, message_id in ctx.uow.sent_messages.for_key(f"{APPROVAL_PREFIX}:{order.id}"):
            reader = ctx.uow.users.by_telegram_id(chat_id)
            local = in_language(ctx, reader.language if reader else None)
            ctx.replies.append(
                EditText(message_id, approval_text(local, order, name), None, chat_id=chat_id)
            )


FLOW = OrderFlow()
ACTIONS = (ApprovalAction(),)
