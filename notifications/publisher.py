"""Domain events → outbox rows, inside the transaction that raised them (just before commit).

The storage unit of work calls the publisher with the events it collected; each event type
has one handler here (cosmicpython's ``EVENT_HANDLERS``). A handler only decides who hears
about it and queues a render part per recipient under a natural key; the text is rendered by
the sender when the message goes out. So the business transaction stays cheap, and a bug in a
message can never undo a shipment.

Low stock: every product whose stock changed is checked once per transaction with the rule of
/stock and the digest (domain/services/low_stock.py); becoming low starts an episode (one
alert to each recipient), and only a restock out of "low" ends it, so a product that stays
low is not announced again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from domain.errors import TransientConflict
from domain.events import (
    OrderDecided,
    OrderPlaced,
    PaymentRecorded,
    PaymentReminderRequested,
    ReportRequested,
    ShipmentConfirmed,
    ShipmentProblemReported,
    StockChanged,
)
from domain.model import PaymentMethod
from domain.ports import UnitOfWork
from domain.services.low_stock import stock_positions
from handlers.context import EngineSettings
from notifications import recipients
from notifications.parts import RenderPart, queue
from notifications.recipients import Recipient

logger = logging.getLogger(__name__)

Handler = Callable[[UnitOfWork, Any], None]


def _send(
    uow: UnitOfWork,
    settings: EngineSettings,
    key: str,
    people: Sequence[Recipient],
    what: str,
    **args: Any,
) -> None:
    """Queue the ``what`` message for each recipient under ``key:<chat>``."""
    for person in people:
        language = person.language or settings.default_language
        queue(uow, f"{key}:{person.chat_id}", person.chat_id, [RenderPart(what, language, args)])


class OutboxPublisher:
    """The EventPublisher the composition root gives the database (storage calls it)."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._handlers: dict[type, Handler] = {
            OrderPlaced: self._order_placed,
            OrderDecided: self._order_decided,
            ShipmentConfirmed: self._shipment_confirmed,
            ShipmentProblemReported: self._problem,
            PaymentRecorded: self._payment,
            PaymentReminderRequested: self._reminder,
            ReportRequested: self._report,
        }

    def __call__(self, uow: UnitOfWork, events: Sequence[object]) -> None:
        stock: dict[int, None] = {}
        for event in events:
            if isinstance(event, StockChanged):
                stock[event.product_id] = None
                continue
            handler = self._handlers.get(type(event))
            if handler is not None:
                self._guarded(handler, uow, event)
        if stock:
            self._guarded(self._low_stock, uow, list(stock))

    @staticmethod
    def _guarded(handler: Handler, uow: UnitOfWork, event: Any) -> None:
        try:
            handler(uow, event)
        except TransientConflict:
            raise  # the whole unit of work is retried
        except Exception:
            # A broken message must not undo the business change it reports.
            logger.exception("could not queue the messages for %r", event)

    def _send(
        self, uow: UnitOfWork, key: str, people: Sequence[Recipient], what: str, **args: Any
    ) -> None:
        _send(uow, self.settings, key, people, what, **args)

    # --- orders -------------------------------------------------------------------------------

    def _order_placed(self, uow: UnitOfWork, event: OrderPlaced) -> None:
        if event.needs_approval:
            owners = recipients.owners(uow)
            key = f"order:{event.order_id}:approve"
            self._send(uow, key, owners, "approval-card", order=event.order_id)
        else:
            self._shipping_cards(uow, event.order_id)

    def _shipping_cards(self, uow: UnitOfWork, order_id: int) -> None:
        chats = recipients.shipping(uow)
        self._send(uow, f"order:{order_id}:ship-card", chats, "shipping-card", order=order_id)

    def _order_decided(self, uow: UnitOfWork, event: OrderDecided) -> None:
        order = uow.orders.get(event.order_id)
        if order is None:
            return
        told = recipients.order_sales(uow, order, leave_out=event.decided_by)
        self._send(uow, f"order:{order.id}:decided", told, "order-decided", order=order.id)
        if event.approved:
            self._shipping_cards(uow, order.id)

    # --- shipping -----------------------------------------------------------------------------

    def _shipment_confirmed(self, uow: UnitOfWork, event: ShipmentConfirmed) -> None:
        order = uow.orders.get(event.order_id)
        shipment = uow.shipments.get(event.shipment_id)
        if order is None or shipment is None:
            return
        key = f"shipment:{shipment.id}"
        fully = event.fully_shipped
        sales = recipients.order_sales(uow, order, leave_out=shipment.confirmed_by)
        self._send(uow, f"{key}:sales", sales, "shipped-sales", shipment=shipment.id, fully=fully)
        contacts = recipients.customer_contacts(uow, order.customer_id)
        self._send(
            uow, f"{key}:customer", contacts, "shipped-customer", shipment=shipment.id, fully=fully
        )

    def _problem(self, uow: UnitOfWork, event: ShipmentProblemReported) -> None:
        order = uow.orders.get(event.order_id)
        if order is None:
            return
        told = recipients.order_sales(uow, order, leave_out=event.reported_by)
        key = f"problem:{order.id}:{event.at}"
        args = {"order": order.id, "by": event.reported_by, "reason": event.reason}
        self._send(uow, key, told, "shipping-problem", **args)

    # --- money --------------------------------------------------------------------------------

    def _payment(self, uow: UnitOfWork, event: PaymentRecorded) -> None:
        payment = uow.payments.get(event.payment_id)
        if payment is None or payment.method is PaymentMethod.CREDIT_NOTE:
            return  # a credit note for returned goods is not money received
        key = f"payment:{payment.id}"
        contacts = recipients.customer_contacts(uow, payment.customer_id)
        self._send(uow, f"{key}:receipt", contacts, "receipt", payment=payment.id)
        customer = uow.customers.get(payment.customer_id)
        if customer is not None:
            reps = recipients.by_user_ids(
                uow, [customer.sales_rep_id], leave_out=payment.recorded_by
            )
            self._send(uow, f"{key}:sales", reps, "payment-note", payment=payment.id)

    def _reminder(self, uow: UnitOfWork, event: PaymentReminderRequested) -> None:
        contacts = recipients.customer_contacts(uow, event.customer_id)
        key = f"reminder:{event.customer_id}:{event.day}"
        self._send(uow, key, contacts, "payment-reminder", customer=event.customer_id)

    def _report(self, uow: UnitOfWork, event: ReportRequested) -> None:
        part = RenderPart("summary", event.language, {"period": event.period})
        queue(uow, f"report:{event.chat_id}:{event.request}", event.chat_id, [part])

    # --- stock --------------------------------------------------------------------------------

    def _low_stock(self, uow: UnitOfWork, product_ids: list[int]) -> None:
        now = uow.clock.now()
        products = uow.products.get_many(product_ids)
        for product_id in sorted(product_ids):
            product = products.get(product_id)
            # One product at a time: the position of one product is two indexed queries.
            low = (
                product is not None
                and product.active
                and stock_positions(uow, [product])[0].is_low
            )
            if not low:
                uow.low_stock.try_end(product_id, now)
                continue
            episode = uow.low_stock.try_begin(product_id, now)
            if episode is not None:
                key = f"low-stock:{product_id}:{episode}"
                people = recipients.low_stock(uow)
                self._send(uow, key, people, "low-stock-alert", product=product_id)
