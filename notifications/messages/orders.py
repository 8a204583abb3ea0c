"""Order cards and news: the owners' approval card, the warehouse's shipping card, and the
salesperson told that an owner approved or rejected their order."""

from __future__ import annotations

from typing import Any

from domain.model import OrderStatus
from handlers.context import Voice
from handlers.flows.order import APPROVAL_PREFIX, approval_text
from handlers.flows.shipping import WAITING, card_key, shipping_card
from handlers.replies import InlineKeyboard
from notifications.parts import Part, TextPart
from notifications.renderers import renderer


@renderer("approval-card")
def approval_card(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """Approve / Reject for an order held for credit (nothing once someone decided)."""
    order = voice.uow.orders.get(int(args["order"]))
    if order is None or order.status is not OrderStatus.PENDING_APPROVAL:
        return []
    keyboard = InlineKeyboard.of(
        [
            voice.card_button(voice.t("✅ Approve"), APPROVAL_PREFIX, order.id, "y"),
            voice.card_button(voice.t("❌ Reject"), APPROVAL_PREFIX, order.id, "n"),
        ]
    )
    return [TextPart(approval_text(voice, order), keyboard, track=f"{APPROVAL_PREFIX}:{order.id}")]


@renderer("shipping-card")
def ship_card(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """The card with Ship all / Partial / Problem (nothing once the order cannot ship)."""
    order = voice.uow.orders.get(int(args["order"]))
    if order is None or order.status not in WAITING:
        return []
    text, keyboard = shipping_card(voice, order)
    return [TextPart(text, keyboard if keyboard.rows else None, track=card_key(order.id))]


@renderer("order-decided")
def order_decided(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """To the salesperson: an owner approved or rejected their order."""
    uow, t = voice.uow, voice.t
    order = uow.orders.get(int(args["order"]))
    if order is None:
        return []
    customer = uow.customers.get(order.customer_id)
    decider = uow.users.get(order.decided_by) if order.decided_by is not None else None
    values = {
        "number": order.number,
        "customer": customer.name if customer else "?",
        "name": decider.name if decider else "?",
    }
    if order.status is OrderStatus.CANCELLED:
        text = t(
            "❌ {number} ({customer}) was rejected by {name}. The reserved stock was released.",
            **values,
        )
    else:
        text = t(
            "✅ {number} ({customer}) was approved by {name} and goes to the warehouse.",
            **values,
        )
    return [TextPart(text)]
