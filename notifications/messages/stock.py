"""Low stock: the alert when a product falls to or under its reorder point (once per episode)."""

from __future__ import annotations

from typing import Any

from domain.services.low_stock import low_stock, stock_positions
from handlers.context import Voice
from handlers.flows.stock import low_stock_line
from handlers.text import split_message
from notifications.parts import Part, TextPart
from notifications.renderers import renderer


@renderer("low-stock-alert")
def low_stock_alert(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """What is left, the reorder point and how much to order (the line of /stock and the
    digest); nothing when it was restocked before the alert went out."""
    product = voice.uow.products.get(int(args["product"]))
    if product is None or not product.active:
        return []
    (position,) = stock_positions(voice.uow, [product])
    if not position.is_low:
        return []
    lines = [voice.t("📉 Low stock:"), low_stock_line(voice.t, position)]
    return [TextPart("\n".join(lines))]


MAX_DIGEST_LINES = 60  # the whole list is /stock


@renderer("low-stock-digest")
def low_stock_digest(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """Everything at or under its reorder point, with the suggested quantities (nothing is
    sent when nothing is low)."""
    low = low_stock(voice.uow)
    if not low:
        return []
    t = voice.t
    lines = [
        t.n(
            "📉 <b>Low stock</b>: {count} product at or under its reorder point",
            "📉 <b>Low stock</b>: {count} products at or under their reorder point",
            len(low),
        )
    ]
    lines.extend(low_stock_line(t, position) for position in low[:MAX_DIGEST_LINES])
    if len(low) > MAX_DIGEST_LINES:
        lines.append(t("…and {count} more: /stock", count=len(low) - MAX_DIGEST_LINES))
    return [TextPart(chunk) for chunk in split_message("\n".join(lines))]
