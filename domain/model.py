"""Entities and value objects of the ledger, as plain dataclasses (no ORM)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.money import Money
from domain.quantity import Quantity


class Role(StrEnum):
    OWNER = "owner"
    SALES = "sales"
    WAREHOUSE = "warehouse"
    CUSTOMER = "customer"


class Tier(StrEnum):
    A = "A"
    B = "B"
    C = "C"


class OrderStatus(StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    CONFIRMED = "confirmed"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


OPEN_ORDER_STATUSES = (
    OrderStatus.PENDING_APPROVAL,
    OrderStatus.CONFIRMED,
    OrderStatus.PARTIALLY_SHIPPED,
)


class HoldReason(StrEnum):
    CREDIT_LIMIT = "credit_limit"
    OVERDUE = "overdue"


class ShipmentStatus(StrEnum):
    DRAFT = "draft"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class InvoiceStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"


class PaymentMethod(StrEnum):
    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"
    OTHER = "other"
    CREDIT_NOTE = "credit_note"  # issued for returned goods, never typed in as a payment


class MoveKind(StrEnum):
    RECEIPT = "receipt"
    RESERVATION = "reservation"
    RELEASE = "release"
    SHIPMENT = "shipment"
    ADJUSTMENT = "adjustment"
    TRANSFER_OUT = "transfer_out"
    TRANSFER_IN = "transfer_in"
    RETURN = "return"


FRACTIONAL_UNITS = frozenset(
    [
        "kg",
        "g",
        "t",
        "lb",
        "oz",
        "m",
        "cm",
        "mm",
        "km",
        "l",
        "ml",
        "ft",
        "yd",
        "公斤",
        "千克",
        "克",
        "吨",
        "斤",
        "米",
        "厘米",
        "升",
        "毫升",
    ]
)


def unit_decimals(unit: str) -> int:
    """How many decimals a unit allows: 3 for weights/lengths/volumes, else whole units."""
    return 3 if unit.strip().casefold() in FRACTIONAL_UNITS else 0


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a user (or the system/CLI), their role, and where the request came from."""

    user_id: int | None
    role: Role
    source: str = "cli"  # e.g. "tg:update:123456", "cli", "scheduler"
    name: str = "system"

    @classmethod
    def system(cls, source: str = "cli") -> Actor:
        return cls(user_id=None, role=Role.OWNER, source=source, name="system")


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    role: Role
    telegram_user_id: int | None = None
    customer_id: int | None = None
    language: str | None = None
    active: bool = True
    blocked_bot: bool = False  # Telegram said the user blocked the bot; skip sending to them


@dataclass(frozen=True, slots=True)
class Invite:
    id: int
    role: Role
    customer_id: int | None
    name: str
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = None


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    name: str
    phone: str = ""
    address: str = ""
    sales_rep_id: int | None = None
    credit_limit: Money | None = None  # None: no limit
    payment_terms_days: int = 30
    tier: Tier = Tier.C
    birthday: date | None = None
    notes: str = ""
    active: bool = True
    balance: Money | None = None  # invoices - payments - credit notes (negative: credit)


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    sku: str
    name: str
    unit: str
    price: Money
    cost: Money
    aliases: tuple[str, ...] = ()
    reorder_point: Quantity = Quantity(0)
    reorder_qty: Quantity = Quantity(0)
    active: bool = True

    @property
    def decimals(self) -> int:
        return unit_decimals(self.unit)


@dataclass(frozen=True, slots=True)
class Warehouse:
    id: int
    code: str
    name: str
    is_default: bool = False


@dataclass(frozen=True, slots=True)
class StockBalance:
    product_id: int
    warehouse_id: int
    on_hand: Quantity
    reserved: Quantity

    @property
    def available(self) -> Quantity:
        return self.on_hand - self.reserved


@dataclass(frozen=True, slots=True)
class StockMove:
    product_id: int
    warehouse_id: int
    kind: MoveKind
    on_hand_delta: Quantity
    reserved_delta: Quantity
    source_type: str
    source_id: int | None
    actor_id: int | None
    at: datetime
    unit_cost: Money | None = None
    note: str = ""
    id: int | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    id: int
    line_no: int
    product_id: int
    quantity: Quantity
    unit_price: Money
    discount_bp: int = 0  # basis points, 1000 = 10 %
    reserved: Quantity = Quantity(0)
    shipped: Quantity = Quantity(0)
    returned: Quantity = Quantity(0)

    @property
    def remaining(self) -> Quantity:
        return self.quantity - self.shipped

    @property
    def returnable(self) -> Quantity:
        return self.shipped - self.returned


@dataclass(frozen=True, slots=True)
class SalesOrder:
    id: int
    number: str
    customer_id: int
    sales_rep_id: int | None
    created_by: int | None
    status: OrderStatus
    warehouse_id: int
    total: Money
    created_at: datetime
    idempotency_key: str
    lines: tuple[OrderLine, ...] = ()
    hold_reason: HoldReason | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ShipmentLine:
    order_line_id: int
    product_id: int
    quantity: Quantity
    unit_cost: Money | None = None


@dataclass(frozen=True, slots=True)
class Shipment:
    id: int
    number: str
    order_id: int
    warehouse_id: int
    status: ShipmentStatus
    created_by: int | None
    created_at: datetime
    lines: tuple[ShipmentLine, ...] = ()
    confirmed_by: int | None = None
    confirmed_at: datetime | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    number: str
    customer_id: int
    order_id: int | None
    shipment_id: int | None
    amount: Money
    outstanding: Money
    issued_on: date
    due_on: date
    status: InvoiceStatus = InvoiceStatus.OPEN


@dataclass(frozen=True, slots=True)
class Payment:
    id: int
    number: str
    customer_id: int
    amount: Money
    unallocated: Money
    method: PaymentMethod
    received_on: date
    recorded_by: int | None
    recorded_at: datetime
    idempotency_key: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Allocation:
    payment_id: int
    invoice_id: int
    amount: Money
    at: datetime


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_id: int | None
    actor_role: str
    action: str
    object_type: str
    object_id: str
    before: str = ""
    after: str = ""
    source: str = ""
    id: int | None = None
