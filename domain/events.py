"""Domain events raised by use cases; storage turns them into outbox rows."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrderPlaced:
    order_id: int
    number: str
    customer_id: int
    needs_approval: bool


@dataclass(frozen=True, slots=True)
class OrderDecided:
    order_id: int
    number: str
    approved: bool
    decided_by: int | None


@dataclass(frozen=True, slots=True)
class OrderCancelled:
    order_id: int
    number: str


@dataclass(frozen=True, slots=True)
class ShipmentConfirmed:
    shipment_id: int
    order_id: int
    invoice_id: int | None
    fully_shipped: bool


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    payment_id: int
    customer_id: int


@dataclass(frozen=True, slots=True)
class StockChanged:
    """On hand or reservations of a product changed (low-stock checks hang off this)."""

    product_id: int
    warehouse_id: int


@dataclass(frozen=True, slots=True)
class ShipmentProblemReported:
    """The warehouse reported a problem with an order it cannot ship as it stands."""

    order_id: int
    number: str
    reported_by: int | None
    reason: str
    at: str  # ISO time of the report: with the order id, the natural key of the message


@dataclass(frozen=True, slots=True)
class PaymentReminderRequested:
    """Someone asked the bot to remind a customer of their overdue invoices (once a day)."""

    customer_id: int
    requested_by: int | None
    day: str  # ISO date: with the customer, the natural key of the reminder


@dataclass(frozen=True, slots=True)
class ReportRequested:
    """An owner asked for the summary of a period in a chat (/report)."""

    chat_id: int
    period: str  # today | week | month
    language: str
    request: str  # what made the request unique (the update), for the message's key
