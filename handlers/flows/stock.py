"""/stock [text]: a product's stock per warehouse; alone, what is at or under its reorder point."""

from __future__ import annotations

from domain.model import Product, StockBalance, Warehouse
from domain.ports import UnitOfWork
from domain.quantity import Quantity
from domain.services.low_stock import StockPosition, is_tracked, low_stock, stock_positions
from handlers.callbacks import BadCallback, Callback
from handlers.context import Context
from handlers.flow import STAFF, CardAction, Flow
from handlers.i18n import N_, Translator
from handlers.replies import Button, InlineKeyboard
from handlers.text import split_message

FLOW_NAME = "stock"
PREFIX = "stock"
STEP_PICK = "stock:pick"
MAX_QUERY_CHARS = 100
MAX_LABEL_CHARS = 48


def warehouses_in_order(uow: UnitOfWork) -> list[Warehouse]:
    """The default warehouse first, then the others by code."""
    return sorted(uow.warehouses.list(), key=lambda w: (not w.is_default, w.code))


def product_label(product: Product) -> str:
    """A button label for a product: its name (shortened) and SKU, as plain text."""
    name = product.name
    if len(name) > MAX_LABEL_CHARS:
        name = name[: MAX_LABEL_CHARS - 1] + "…"
    return f"{name} · {product.sku}"


def stock_text(ctx: Context, product: Product) -> str:
    """On hand, reserved and available per warehouse, and the reorder point."""
    balances = {b.warehouse_id: b for b in ctx.uow.stock.for_product(product.id)}
    lines = [
        ctx.t(
            "📦 <b>{name}</b> · {sku} · {unit}",
            name=product.name,
            sku=product.sku,
            unit=product.unit,
        )
    ]
    warehouses = warehouses_in_order(ctx.uow)
    total_on_hand = Quantity(0)
    total_available = Quantity(0)
    for warehouse in warehouses:
        balance = balances.get(warehouse.id) or StockBalance(
            product.id, warehouse.id, Quantity(0), Quantity(0)
        )
        total_on_hand += balance.on_hand
        total_available += balance.available
        lines.append(
            ctx.t(
                "{warehouse}: on hand {on_hand} · reserved {reserved} · available {available}",
                warehouse=warehouse.code,
                on_hand=balance.on_hand,
                reserved=balance.reserved,
                available=balance.available,
            )
        )
    if len(warehouses) > 1:
        lines.append(
            ctx.t(
                "All warehouses: on hand {on_hand} · available {available}",
                on_hand=total_on_hand,
                available=total_available,
            )
        )
    position = stock_positions(ctx.uow, [product])[0]
    if position.backordered:
        lines.append(
            ctx.t(
                "Backordered (waiting for stock): {quantity} {unit}",
                quantity=position.backordered,
                unit=product.unit,
            )
        )
    if product.reorder_point.milli > 0:
        lines.append(
            ctx.t(
                "Reorder point: {point} {unit}",
                point=product.reorder_point,
                unit=product.unit,
            )
        )
    else:
        lines.append(ctx.t("No reorder point set."))
    if position.is_low and is_tracked(product):
        lines.append(
            ctx.t(
                "⚠️ At or under the reorder point: order {quantity} {unit}.",
                quantity=position.suggested,
                unit=product.unit,
            )
        )
    elif position.is_low:
        lines.append(
            ctx.t(
                "⚠️ Orders are waiting for stock: order {quantity} {unit}.",
                quantity=position.suggested,
                unit=product.unit,
            )
        )
    return "\n".join(lines)


def low_stock_line(t: Translator, position: StockPosition) -> str:
    """``• Name (SKU): available 3 pcs · backordered 2 pcs · reorder point 10 → order 19 pcs``;
    also the line format of the low-stock digest and the daily summary."""
    product = position.product
    parts = [
        t(
            "• <b>{name}</b> ({sku}): available {available} {unit}",
            name=product.name,
            sku=product.sku,
            available=position.available,
            unit=product.unit,
        )
    ]
    if position.backordered:
        parts.append(
            t("backordered {quantity} {unit}", quantity=position.backordered, unit=product.unit)
        )
    parts.append(t("reorder point {point}", point=product.reorder_point))
    line = " · ".join(parts)
    if position.suggested:
        line += " → " + t(
            "order {quantity} {unit}", quantity=position.suggested, unit=product.unit
        )
    return line


class StockPickAction(CardAction):
    """``stock:PRODUCT_ID``: a product picked among matches (read-only, so any staff may press)."""

    prefix = PREFIX
    roles = STAFF

    def press(self, ctx: Context, args: tuple[str, ...]) -> None:
        if len(args) != 1:
            raise BadCallback("wrong number of parts")
        product = ctx.uow.products.get(Callback(PREFIX, args).int_at(0))
        if product is None or not product.active:
            raise BadCallback("no such product")
        if ctx.state.flow == FLOW_NAME:
            ctx.state.clear()
        ctx.say(stock_text(ctx, product))


class StockFlow(Flow):
    name = FLOW_NAME
    command = "stock"
    roles = STAFF
    groups_too = True
    description = N_("Stock of a product, or what is running low")

    def start(self, ctx: Context, args: str) -> None:
        text = args.strip()
        if text:
            self._search(ctx, text)
        else:
            self._low(ctx)

    def on_text(self, ctx: Context, text: str) -> None:
        self._search(ctx, text.strip())  # a new name instead of a button: search again

    def _search(self, ctx: Context, text: str) -> None:
        if not text:
            ctx.state.clear()
            ctx.say(ctx.t("Type part of a product name or its SKU, e.g. /stock bolt."))
            return
        if len(text) > MAX_QUERY_CHARS:
            ctx.state.clear()
            ctx.say(ctx.t("That is too long. Type part of a product name or its SKU."))
            return
        result = ctx.products.search(ctx.uow, text)
        products = ctx.uow.products.get_many([c.key for c in result.candidates])
        candidates = [products[c.key] for c in result.candidates if c.key in products]
        if not candidates:
            ctx.state.clear()
            ctx.say(
                ctx.t("No product matches “{text}”. Try part of the name or the SKU.", text=text)
            )
            return
        if result.sure or len(candidates) == 1:
            ctx.state.clear()
            ctx.say(stock_text(ctx, candidates[0]))
            return
        if ctx.incoming.is_private:
            # Typing another name next searches again; in a group, chat goes on undisturbed.
            ctx.state.begin(FLOW_NAME, STEP_PICK)
        else:
            ctx.state.clear()
        buttons: list[list[Button]] = [
            [ctx.card_button(product_label(p), PREFIX, p.id)] for p in candidates
        ]
        ctx.say(ctx.t("Which product do you mean?"), InlineKeyboard.of(*buttons))

    def _low(self, ctx: Context) -> None:
        low = low_stock(ctx.uow)
        if not low:
            ctx.say(ctx.t("No product is at or under its reorder point. 👍"))
            return
        lines = [
            ctx.t.n(
                "⚠️ {count} product at or under its reorder point:",
                "⚠️ {count} products at or under their reorder point:",
                len(low),
            )
        ]
        lines.extend(low_stock_line(ctx.t, position) for position in low)
        for chunk in split_message("\n".join(lines)):
            ctx.say(chunk)


FLOW = StockFlow()
ACTIONS = (StockPickAction(),)
