"""/receive: goods in — product → quantity → unit cost → warehouse → confirm.

Steps ``receive:product`` (typed name; ambiguous matches come back as buttons),
``receive:qty``, ``receive:cost`` (a "current cost" button), ``receive:warehouse`` (buttons,
skipped when there is only one) and ``receive:confirm``. Stock changes only at Confirm; the
conversation is cleared in the same transaction, so a second press of Confirm is expired.
"""

from __future__ import annotations

from domain.errors import DomainError, InvalidInput
from domain.model import Product, Role, Warehouse
from domain.money import Money
from domain.parsing import parse_money, parse_quantity
from domain.quantity import Quantity
from domain.services.stock import receive_stock, value_of
from handlers.context import Context
from handlers.errors import describe_error, describe_input_problem
from handlers.flow import Flow
from handlers.flows.shipping import quantity_problem
from handlers.flows.stock import MAX_QUERY_CHARS, product_label, warehouses_in_order
from handlers.i18n import N_, Html
from handlers.replies import Button, InlineKeyboard

FLOW_NAME = "receive"
STEP_PRODUCT = "receive:product"
STEP_QTY = "receive:qty"
STEP_COST = "receive:cost"
STEP_WAREHOUSE = "receive:warehouse"
STEP_CONFIRM = "receive:confirm"


class ReceiveFlow(Flow):
    name = FLOW_NAME
    command = "receive"
    roles = frozenset({Role.OWNER, Role.WAREHOUSE})
    groups_too = False
    description = N_("Receive goods into stock")

    def start(self, ctx: Context, args: str) -> None:
        ctx.state.begin(FLOW_NAME, STEP_PRODUCT)
        if args.strip():
            self._find_product(ctx, args.strip())
        else:
            self._ask_product(ctx)

    def on_text(self, ctx: Context, text: str) -> None:
        step = ctx.state.step
        if step == STEP_PRODUCT:
            self._find_product(ctx, text.strip())
        elif step == STEP_QTY:
            self._quantity(ctx, text)
        elif step == STEP_COST:
            self._cost(ctx, text)
        elif step == STEP_WAREHOUSE:
            self._typed_warehouse(ctx, text)
        elif step == STEP_CONFIRM:
            self._ask_confirm(ctx, ctx.t("Please use the buttons: Confirm or Cancel."))
        else:
            ctx.state.clear()

    def on_button(self, ctx: Context, action: str, args: tuple[str, ...]) -> None:
        step = ctx.state.step
        chosen = args[0] if args else ""
        if action == "no":
            ctx.state.clear()
            ctx.say(ctx.t("Cancelled. Nothing was saved."))
        elif step == STEP_PRODUCT and action == "prod" and chosen.isdigit():
            if int(chosen) not in ctx.state.data.get("ids", []):
                ctx.toast(ctx.t("This action has expired."))
                return
            self._take_product(ctx, int(chosen))
        elif step == STEP_COST and action == "cur":
            product = self._product(ctx)
            if product is not None:
                self._take_cost(ctx, product.cost)
        elif step == STEP_WAREHOUSE and action == "wh" and chosen.isdigit():
            warehouse = ctx.uow.warehouses.get(int(chosen))
            if warehouse is None:
                ctx.toast(ctx.t("This action has expired."))
                return
            self._take_warehouse(ctx, warehouse)
        elif step == STEP_CONFIRM and action == "ok":
            self._confirm(ctx)
        else:
            ctx.toast(ctx.t("This action has expired."))

    # --- product ----------------------------------------------------------------------------

    def _ask_product(self, ctx: Context, problem: str | None = None) -> None:
        ctx.state.goto(STEP_PRODUCT)
        parts = [problem] if problem else []
        parts.append(ctx.t("Which product came in? Type part of its name or its SKU."))
        ctx.say("\n".join(parts))

    def _find_product(self, ctx: Context, text: str) -> None:
        if not text:
            self._ask_product(ctx, ctx.t("Nothing was entered."))
            return
        if len(text) > MAX_QUERY_CHARS:
            self._ask_product(ctx, ctx.t("That is too long."))
            return
        result = ctx.products.search(ctx.uow, text)
        products = ctx.uow.products.get_many([c.key for c in result.candidates])
        candidates = [products[c.key] for c in result.candidates if c.key in products]
        if not candidates:
            self._ask_product(
                ctx,
                ctx.t("No product matches “{text}”. Try part of the name or the SKU.", text=text),
            )
            return
        if result.sure:
            self._take_product(ctx, candidates[0].id)
            return
        ctx.state.goto(STEP_PRODUCT, ids=[p.id for p in candidates])
        buttons: list[list[Button]] = [
            [ctx.button(product_label(p), "prod", p.id)] for p in candidates
        ]
        buttons.append([ctx.button(ctx.t("Cancel"), "no")])
        ctx.say(
            ctx.t("Which product do you mean? Or type another name."),
            InlineKeyboard.of(*buttons),
        )

    def _product(self, ctx: Context) -> Product | None:
        product = ctx.uow.products.get(int(ctx.state.data.get("product_id", 0)))
        if product is None or not product.active:
            ctx.state.goto(STEP_PRODUCT, product_id=None)
            self._ask_product(ctx, ctx.t("That product is no longer in the catalog."))
            return None
        return product

    def _take_product(self, ctx: Context, product_id: int) -> None:
        ctx.state.goto(STEP_QTY, product_id=product_id, ids=[])
        self._ask_quantity(ctx)

    # --- quantity ---------------------------------------------------------------------------

    def _ask_quantity(self, ctx: Context, problem: str | None = None) -> None:
        product = self._product(ctx)
        if product is None:
            return
        ctx.state.goto(STEP_QTY)
        parts = [problem] if problem else []
        parts.append(
            ctx.t(
                "How many {unit} of <b>{name}</b> came in?",
                unit=product.unit,
                name=product.name,
            )
        )
        ctx.say("\n".join(parts), InlineKeyboard.of([ctx.button(ctx.t("Cancel"), "no")]))

    def _quantity(self, ctx: Context, text: str) -> None:
        product = self._product(ctx)
        if product is None:
            return
        try:
            quantity = parse_quantity(text, decimals=product.decimals)
        except InvalidInput as error:
            self._ask_quantity(ctx, quantity_problem(ctx, error, product))
            return
        ctx.state.goto(STEP_COST, qty=quantity.milli)
        self._ask_cost(ctx)

    # --- unit cost --------------------------------------------------------------------------

    def _ask_cost(self, ctx: Context, problem: str | None = None) -> None:
        product = self._product(ctx)
        if product is None:
            return
        ctx.state.goto(STEP_COST)
        parts = [problem] if problem else []
        parts.append(ctx.t("Unit cost per {unit}? Type an amount.", unit=product.unit))
        current = Html(ctx.t.money(product.cost))
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("Current cost {cost}", cost=current), "cur")],
            [ctx.button(ctx.t("Cancel"), "no")],
        )
        ctx.say("\n".join(parts), keyboard)

    def _cost(self, ctx: Context, text: str) -> None:
        try:
            cost = parse_money(text, ctx.uow.policy.currency, field="unit_cost")
        except InvalidInput as error:
            self._ask_cost(ctx, describe_input_problem(ctx.t, error))
            return
        self._take_cost(ctx, cost)

    def _take_cost(self, ctx: Context, cost: Money) -> None:
        ctx.state.goto(STEP_WAREHOUSE, cost=cost.minor)
        warehouses = warehouses_in_order(ctx.uow)
        if len(warehouses) == 1:
            self._take_warehouse(ctx, warehouses[0])
            return
        self._ask_warehouse(ctx)

    # --- warehouse --------------------------------------------------------------------------

    def _ask_warehouse(self, ctx: Context, problem: str | None = None) -> None:
        ctx.state.goto(STEP_WAREHOUSE)
        parts = [problem] if problem else []
        parts.append(ctx.t("Into which warehouse?"))
        buttons = [
            [ctx.button(f"{w.code} · {w.name}", "wh", w.id)] for w in warehouses_in_order(ctx.uow)
        ]
        buttons.append([ctx.button(ctx.t("Cancel"), "no")])
        ctx.say("\n".join(parts), InlineKeyboard.of(*buttons))

    def _typed_warehouse(self, ctx: Context, text: str) -> None:
        typed = " ".join(text.split()).casefold()
        for warehouse in warehouses_in_order(ctx.uow):
            if typed in (warehouse.code.casefold(), warehouse.name.casefold()):
                self._take_warehouse(ctx, warehouse)
                return
        self._ask_warehouse(ctx, ctx.t("Please choose a warehouse with the buttons."))

    def _take_warehouse(self, ctx: Context, warehouse: Warehouse) -> None:
        ctx.state.goto(STEP_CONFIRM, wh=warehouse.id)
        self._ask_confirm(ctx)

    # --- confirm ----------------------------------------------------------------------------

    def _draft(self, ctx: Context) -> tuple[Product, Quantity, Money, Warehouse] | None:
        product = self._product(ctx)
        if product is None:
            return None
        warehouse = ctx.uow.warehouses.get(int(ctx.state.data.get("wh", 0)))
        if warehouse is None:
            self._ask_warehouse(ctx, ctx.t("That warehouse no longer exists."))
            return None
        quantity = Quantity(int(ctx.state.data["qty"]))
        cost = Money(int(ctx.state.data["cost"]), ctx.uow.policy.currency)
        return product, quantity, cost, warehouse

    def _ask_confirm(self, ctx: Context, problem: str | None = None) -> None:
        draft = self._draft(ctx)
        if draft is None:
            return
        product, quantity, cost, warehouse = draft
        ctx.state.goto(STEP_CONFIRM)
        parts = [problem] if problem else []
        parts.append(
            ctx.t(
                "Receive {quantity} {unit} <b>{name}</b> into {warehouse} at {cost} each "
                "({total})?",
                quantity=quantity,
                unit=product.unit,
                name=product.name,
                warehouse=warehouse.code,
                cost=cost,
                total=value_of(quantity, cost),
            )
        )
        keyboard = InlineKeyboard.of(
            [ctx.button(ctx.t("✅ Confirm"), "ok"), ctx.button(ctx.t("Cancel"), "no")]
        )
        ctx.say("\n".join(parts), keyboard)

    def _confirm(self, ctx: Context) -> None:
        draft = self._draft(ctx)
        if draft is None:
            return
        product, quantity, cost, warehouse = draft
        try:
            change = receive_stock(
                ctx.uow,
                actor=ctx.actor,
                product_id=product.id,
                quantity=quantity,
                unit_cost=cost,
                warehouse_id=warehouse.id,
            )
        except DomainError as error:
            ctx.state.clear()
            ctx.say("\n".join([describe_error(ctx.t, error), ctx.t("Nothing was received.")]))
            return
        ctx.state.clear()
        text = ctx.t(
            "✅ Received {quantity} {unit} {name} into {warehouse}; on hand now {on_hand}; "
            "cost now {cost}",
            quantity=quantity,
            unit=product.unit,
            name=product.name,
            warehouse=warehouse.code,
            on_hand=change.balance.on_hand,
            cost=change.product.cost,
        )
        if ctx.incoming.message_id is not None:
            ctx.edit(ctx.incoming.message_id, text)
        else:  # pragma: no cover - button presses always name their message
            ctx.say(text)


FLOW = ReceiveFlow()
