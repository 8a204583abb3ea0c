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
