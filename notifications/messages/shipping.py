"""After a shipment: the salesperson's note and the customer's "your order has shipped"; a
problem reported by the warehouse, to the salesperson."""

from __future__ import annotations

from typing import Any

from domain.model import OrderStatus
from handlers.context import Voice
from handlers.flows.shipping import DONE
from notifications.parts import Part, TextPart
from notifications.renderers import renderer


def _shipment(voice: Voice, args: dict[str, Any]) -> tuple[Any, Any, Any] | None:
    uow = voice.uow
    shipment = uow.shipments.get(int(args["shipment"]))
    if shipment is None:
        return None
    order = uow.orders.get(shipment.order_id)
    if order is None:
        return None
    invoices = [i for i in uow.invoices.for_order(order.id) if i.shipment_id == shipment.id]
    return shipment, order, invoices[0] if invoices else None


@renderer("shipped-sales")
def shipped_for_sales(voice: Voice, args: dict[str, Any]) -> list[Part]:
    found = _shipment(voice, args)
    if found is None:
        return []
    _, order, invoice = found
    customer = voice.uow.customers.get(order.customer_id)
    values = {
        "number": order.number,
        "customer": customer.name if customer else "",
        "invoice": invoice.number if invoice else "—",
    }
    if args.get("fully", order.status in DONE):
        text = voice.t("✅ {number} for {customer} has shipped (invoice {invoice}).", **values)
    else:
        text = voice.t(
            "🚚 {number} for {customer} has partly shipped (invoice {invoice}); "
            "the rest is still to ship.",
            **values,
        )
    return [TextPart(text)]


@renderer("shipped-customer")
def shipped_for_customer(voice: Voice, args: dict[str, Any]) -> list[Part]:
    """What the customer's contact reads: what left the warehouse, and the invoice."""
    found = _shipment(voice, args)
    if found is None:
        return []
    shipment, order, invoice = found
    t = voice.t
    products = voice.uow.products.get_many([line.product_id for line in shipment.lines])
    fully = bool(args.get("fully", order.status in (OrderStatus.SHIPPED, OrderStatus.CLOSED)))
    if fully:
        lines = [t("📦 Your order {number} has shipped:", number=order.number)]
    else:
        lines = [t("📦 Part of your order {number} has shipped:", number=order.number)]
    for line in shipment.lines:
        product = products.get(line.product_id)
        name = product.name if product else "#" + str(line.product_id)
        unit = product.unit if product else ""
        lines.append(t("• {quantity} {unit} {name}", quantity=line.quantity, unit=unit, name=name))
    if invoice is not None:
        lines.append(
            t(
                "Invoice {number}: {amount}, due {due}.",
                number=invoice.number,
                amount=invoice.amount,
                due=invoice.due_on,
            )
        )
    if not fully:
        lines.append(t("The rest follows as soon as it is ready."))
    return [TextPart("\n".join(lines))]


@renderer("shipping-problem")
def shipping_problem(voice: Voice, args: dict[str, Any]) -> list[Part]:
    order = voice.uow.orders.get(int(args["order"]))
    if order is None:
        return []
    reporter = voice.uow.users.get(int(args["by"])) if args.get("by") is not None else None
    name = reporter.name if reporter is not None else voice.t("the warehouse")
    text = voice.t(
        "⚠️ Problem with {number}: {reason} (reported by {name})",
        number=order.number,
        reason=str(args.get("reason", "")),
        name=name,
    )
    return [TextPart(text)]
