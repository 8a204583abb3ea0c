"""SQLModel tables: the only place that knows the schema (Alembic migrations follow it).

Amounts are integer minor units (``*_minor``), quantities integer thousandths (``*_milli``).
CHECK constraints keep stock and money valid even if code had a bug; ledgers (stock moves,
allocations, audit) are append-only, enforced by triggers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC (SQLite has no time zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; the domain always uses aware ones")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _big_int(**kwargs: object) -> object:
    """Minor units of money or thousandths of a quantity: always a 64-bit integer."""
    return Field(sa_type=BigInteger, **kwargs)  # type: ignore[arg-type]


def _when(**kwargs: object) -> object:
    return Field(sa_type=UTCDateTime, **kwargs)  # type: ignore[arg-type]


ROLES = "('owner','sales','warehouse','customer')"
# The condition of a backordered line; storage/reports.py filters with the same expression,
# which is what lets both databases use the partial index ix_line_waiting.
LINE_WAITING = "quantity_milli - shipped_milli - reserved_milli > 0"


class UserRow(SQLModel, table=True):
    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="ck_user_role"),)

    id: int | None = Field(default=None, primary_key=True)
    telegram_user_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    name: str = Field(max_length=120)
    role: str = Field(max_length=16)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", ondelete="RESTRICT")
    language: str | None = Field(default=None, max_length=16)
    active: bool = True
    # The user blocked the bot (Telegram answered 403): nothing is sent until they write again.
    blocked_bot: bool = False
    created_at: datetime = _when()


class InviteRow(SQLModel, table=True):
    __tablename__ = "invite"
    __table_args__ = (CheckConstraint(f"role IN {ROLES}", name="ck_invite_role"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", ondelete="RESTRICT")
    name: str = Field(default="", max_length=120)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    created_at: datetime = _when()
    expires_at: datetime = _when()
    used_at: datetime | None = _when(default=None)
    used_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint(
            "credit_limit_minor IS NULL OR credit_limit_minor >= 0", name="ck_customer_limit"
        ),
        CheckConstraint("payment_terms_days >= 0", name="ck_customer_terms"),
        CheckConstraint("tier IN ('A','B','C')", name="ck_customer_tier"),
        # a salesperson's customers are looked up at every /order, /payment and /balance
        Index("ix_customer_sales_rep", "sales_rep_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    name_key: str = Field(max_length=120, index=True)
    phone: str = Field(default="", max_length=40)
    phone_key: str = Field(default="", max_length=16, index=True)
    address: str = Field(default="", max_length=500)
    # use_alter: users point at customers and customers at users.
    sales_rep_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer,
            ForeignKey(
                "app_user.id", ondelete="RESTRICT", use_alter=True, name="fk_customer_sales_rep"
            ),
            nullable=True,
        ),
    )
    credit_limit_minor: int | None = _big_int(default=None)
    payment_terms_days: int = 30
    tier: str = Field(default="C", max_length=1)
    birthday: date | None = None
    notes: str = Field(default="", max_length=500)
    active: bool = True
    balance_minor: int = _big_int(default=0)
    created_at: datetime = _when()


class ProductRow(SQLModel, table=True):
    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="ck_product_price"),
        CheckConstraint("cost_minor >= 0", name="ck_product_cost"),
        CheckConstraint(
            "reorder_point_milli >= 0 AND reorder_qty_milli >= 0", name="ck_product_reorder"
        ),
        # the product index asks what changed since its last look before every search
        Index("ix_product_updated", "updated_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    sku: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    unit: str = Field(max_length=12)
    price_minor: int = _big_int()
    cost_minor: int = _big_int()
    aliases: str = Field(default="", max_length=2500)  # "|"-separated
    reorder_point_milli: int = _big_int(default=0)
    reorder_qty_milli: int = _big_int(default=0)
    active: bool = True
    updated_at: datetime = _when()


class WarehouseRow(SQLModel, table=True):
    __tablename__ = "warehouse"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=120)
    is_default: bool = False


class StockBalanceRow(SQLModel, table=True):
    __tablename__ = "stock_balance"
    __table_args__ = (
        CheckConstraint("on_hand_milli >= 0", name="ck_stock_on_hand"),
        CheckConstraint("reserved_milli >= 0", name="ck_stock_reserved"),
        CheckConstraint("reserved_milli <= on_hand_milli", name="ck_stock_available"),
    )

    product_id: int = Field(primary_key=True, foreign_key="product.id", ondelete="RESTRICT")
    warehouse_id: int = Field(primary_key=True, foreign_key="warehouse.id", ondelete="RESTRICT")
    on_hand_milli: int = _big_int(default=0)
    reserved_milli: int = _big_int(default=0)


class StockMoveRow(SQLModel, table=True):
    __tablename__ = "stock_move"
    __table_args__ = (Index("ix_stock_move_product_wh", "product_id", "warehouse_id"),)

    id: int | None = Field(default=None, primary_key=True)
    product_id: int = Field(foreign_key="product.id", ondelete="RESTRICT")
    warehouse_id: int = Field(foreign_key="warehouse.id", ondelete="RESTRICT")
    kind: str = Field(max_length=16)
    on_hand_delta_milli: int = _big_int()
    reserved_delta_milli: int = _big_int()
    unit_cost_minor: int | None = _big_int(default=None)
    source_type: str = Field(max_length=16)
    source_id: int | None = None
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    at: datetime = _when()
    note: str = Field(default="", max_length=500)


class DocSequenceRow(SQLModel, table=True):
    __tablename__ = "doc_sequence"

    name: str = Field(primary_key=True, max_length=16)
    value: int = _big_int(default=0)


ORDER_STATUSES = (
    "('draft','pending_approval','confirmed','partially_shipped','shipped','closed','cancelled')"
)


class SalesOrderRow(SQLModel, table=True):
    __tablename__ = "sales_order"
    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES}", name="ck_order_status"),
        Index("ix_sales_order_customer_status", "customer_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="RESTRICT")
    sales_rep_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    status: str = Field(max_length=20)
    hold_reason: str | None = Field(default=None, max_length=20)
    warehouse_id: int = Field(foreign_key="warehouse.id", ondelete="RESTRICT")
    total_minor: int = _big_int()
    currency: str = Field(max_length=3)
    created_at: datetime = _when(index=True)
    idempotency_key: str = Field(max_length=64, unique=True)
    decided_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    decided_at: datetime | None = _when(default=None)
    note: str = Field(default="", max_length=500)


class SalesOrderLineRow(SQLModel, table=True):
    __tablename__ = "sales_order_line"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no", name="uq_order_line_no"),
        CheckConstraint("quantity_milli > 0", name="ck_line_quantity"),
        CheckConstraint("reserved_milli >= 0", name="ck_line_reserved"),
        CheckConstraint(
            "shipped_milli >= 0 AND shipped_milli <= quantity_milli", name="ck_line_shipped"
        ),
        CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="ck_line_discount"),
        CheckConstraint(
            "returned_milli >= 0 AND returned_milli <= shipped_milli", name="ck_line_returned"
        ),
        # Lines still waiting for stock (backorders), for every low-stock check: a partial
        # index holds only those, so the check does not read every order line ever written.
        Index(
            "ix_line_waiting",
            "product_id",
            sqlite_where=text(LINE_WAITING),
            postgresql_where=text(LINE_WAITING),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    order_id: int = Field(foreign_key="sales_order.id", ondelete="RESTRICT", index=True)
    line_no: int
    product_id: int = Field(foreign_key="product.id", ondelete="RESTRICT")
    quantity_milli: int = _big_int()
    unit_price_minor: int = _big_int()
    discount_bp: int = 0
    reserved_milli: int = _big_int(default=0)
    shipped_milli: int = _big_int(default=0)
    returned_milli: int = _big_int(default=0)


class ShipmentRow(SQLModel, table=True):
    __tablename__ = "shipment"
    __table_args__ = (
        CheckConstraint("status IN ('draft','confirmed','cancelled')", name="ck_shipment_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    order_id: int = Field(foreign_key="sales_order.id", ondelete="RESTRICT", index=True)
    warehouse_id: int = Field(foreign_key="warehouse.id", ondelete="RESTRICT")
    status: str = Field(default="draft", max_length=12)
    created_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    created_at: datetime = _when()
    confirmed_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    confirmed_at: datetime | None = _when(default=None)
    idempotency_key: str | None = Field(default=None, max_length=64, unique=True)


class ShipmentLineRow(SQLModel, table=True):
    __tablename__ = "shipment_line"
    __table_args__ = (CheckConstraint("quantity_milli > 0", name="ck_shipment_line_qty"),)

    id: int | None = Field(default=None, primary_key=True)
    shipment_id: int = Field(foreign_key="shipment.id", ondelete="RESTRICT", index=True)
    order_line_id: int = Field(foreign_key="sales_order_line.id", ondelete="RESTRICT")
    product_id: int = Field(foreign_key="product.id", ondelete="RESTRICT")
    quantity_milli: int = _big_int()
    unit_cost_minor: int | None = _big_int(default=None)


class InvoiceRow(SQLModel, table=True):
    __tablename__ = "invoice"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_invoice_amount"),
        CheckConstraint(
            "outstanding_minor >= 0 AND outstanding_minor <= amount_minor",
            name="ck_invoice_outstanding",
        ),
        CheckConstraint("status IN ('open','paid')", name="ck_invoice_status"),
        Index("ix_invoice_customer_status", "customer_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="RESTRICT")
    order_id: int | None = Field(
        default=None, foreign_key="sales_order.id", ondelete="RESTRICT", index=True
    )
    shipment_id: int | None = Field(
        default=None, foreign_key="shipment.id", ondelete="RESTRICT", unique=True
    )
    amount_minor: int = _big_int()
    outstanding_minor: int = _big_int()
    currency: str = Field(max_length=3)
    issued_on: date
    due_on: date
    status: str = Field(default="open", max_length=8)


class PaymentRow(SQLModel, table=True):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="ck_payment_amount"),
        CheckConstraint(
            "unallocated_minor >= 0 AND unallocated_minor <= amount_minor",
            name="ck_payment_unallocated",
        ),
        CheckConstraint(
            "method IN ('cash','bank_transfer','other','credit_note')", name="ck_payment_method"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)
    customer_id: int = Field(foreign_key="customer.id", ondelete="RESTRICT", index=True)
    amount_minor: int = _big_int()
    unallocated_minor: int = _big_int()
    currency: str = Field(max_length=3)
    method: str = Field(max_length=16)
    received_on: date
    recorded_by: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    recorded_at: datetime = _when()
    idempotency_key: str = Field(max_length=64, unique=True)
    note: str = Field(default="", max_length=500)


class AllocationRow(SQLModel, table=True):
    __tablename__ = "allocation"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="ck_allocation_amount"),)

    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="payment.id", ondelete="RESTRICT", index=True)
    invoice_id: int = Field(foreign_key="invoice.id", ondelete="RESTRICT", index=True)
    amount_minor: int = _big_int()
    at: datetime = _when()


class AuditRow(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when()
    actor_id: int | None = Field(default=None, foreign_key="app_user.id", ondelete="RESTRICT")
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=40)
    object_type: str = Field(max_length=20)
    object_id: str = Field(max_length=40)
    before: str = Field(default="", sa_type=Text)
    after: str = Field(default="", sa_type=Text)
    source: str = Field(default="", max_length=80)


class ConversationRow(SQLModel, table=True):
    """Where each user is in each chat's conversation; saved with the business change."""

    __tablename__ = "conversation"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    user_id: int = Field(sa_type=BigInteger, primary_key=True)
    flow: str | None = Field(default=None, max_length=32)
    step: str | None = Field(default=None, max_length=64)
    data: str = Field(default="{}", sa_type=Text)
    version: int = Field(default=0, sa_type=BigInteger)
    updated_at: datetime = _when()


class ProcessedUpdateRow(SQLModel, table=True):
    """Telegram update ids already handled: a redelivered update changes nothing."""

    __tablename__ = "processed_update"

    update_id: int = Field(sa_type=BigInteger, primary_key=True)
    at: datetime = _when(index=True)


class ChatTopicRow(SQLModel, table=True):
    """Which chats receive what (for example "shipping": cards of new orders to ship)."""

    __tablename__ = "chat_topic"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    topic: str = Field(max_length=32, primary_key=True)
    title: str = Field(default="", max_length=120)


class SentMessageRow(SQLModel, table=True):
    """Where a card was sent, so every copy can be edited when someone acts on one."""

    __tablename__ = "sent_message"
    __table_args__ = (UniqueConstraint("key", "chat_id", "message_id", name="uq_sent_message"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)
    at: datetime = _when()


OUTBOX_STATUSES = "('pending','sent','failed','skipped')"


class OutboxMessageRow(SQLModel, table=True):
    """A message the system sends on its own, written in the transaction that caused it.

    ``key`` is the natural de-duplication key (``low-stock:<product>:<episode>:<chat>``…): a
    second row with the same key is never written, so it is never sent twice. ``parts`` is the
    JSON list of what to send (notifications/outbox.py). A sender claims due rows for a lease
    (``claimed_by``/``claimed_until``), records progress part by part, and finishes them.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"status IN {OUTBOX_STATUSES}", name="ck_outbox_status"),
        CheckConstraint("parts_sent >= 0 AND attempts >= 0", name="ck_outbox_counts"),
        # Pending messages in id order (claims take the oldest first and stop early), leases
        # held (the chats other senders are busy with), one chat's messages.
        Index("ix_outbox_due", "status", "id"),
        Index("ix_outbox_lease", "status", "claimed_until"),
        Index("ix_outbox_chat", "chat_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=160, unique=True)
    chat_id: int = Field(sa_type=BigInteger)
    parts: str = Field(sa_type=Text)
    status: str = Field(default="pending", max_length=8)
    not_before: datetime = _when()
    created_at: datetime = _when()
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = _when(default=None)
    parts_sent: int = 0
    message_ids: str = Field(default="", max_length=500)  # comma-separated, in part order
    attempts: int = 0  # failed tries so far (a flood wait is not a failure)
    error: str = Field(default="", max_length=300)
    sent_at: datetime | None = _when(default=None)


class OutboxBlobRow(SQLModel, table=True):
    """A file sent by the outbox (a chart), stored once by digest and uploaded once: after the
    first upload Telegram's ``file_id`` is kept and every other chat gets it by id."""

    __tablename__ = "outbox_blob"

    digest: str = Field(primary_key=True, max_length=64)  # SHA-256, hex
    data: bytes = Field(sa_type=LargeBinary)
    file_id: str | None = Field(default=None, max_length=250)
    created_at: datetime = _when()


class JobRunRow(SQLModel, table=True):
    """One scheduled run claimed by one instance: (job, slot) is unique, so two instances or a
    restart never run the same slot twice."""

    __tablename__ = "job_run"

    job: str = Field(primary_key=True, max_length=64)
    slot: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    claimed_by: str = Field(max_length=64)
    claimed_at: datetime = _when()


class LowStockStateRow(SQLModel, table=True):
    """Whether a product is in a low-stock episode now, and how many episodes it has had."""

    __tablename__ = "low_stock_state"
    __table_args__ = (CheckConstraint("episode >= 0", name="ck_low_stock_episode"),)

    product_id: int = Field(primary_key=True, foreign_key="product.id", ondelete="RESTRICT")
    episode: int = 0
    low: bool = False
    changed_at: datetime = _when()


class ReportSubscriptionRow(SQLModel, table=True):
    """Which summaries a chat receives and at what time (an owner's private chat without a row
    gets the daily summary at the default time)."""

    __tablename__ = "report_subscription"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    daily: bool = True
    weekly: bool = False
    monthly: bool = False
    send_at: str = Field(default="19:00", max_length=5)  # HH:MM in TIMEZONE
    title: str = Field(default="", max_length=120)
    updated_at: datetime = _when()


class InactiveChatRow(SQLModel, table=True):
    """A group or supergroup that refused the bot (403): nothing is sent there until it is back."""

    __tablename__ = "inactive_chat"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    reason: str = Field(default="", max_length=200)
    since: datetime = _when()


APPEND_ONLY_TABLES = ("stock_move", "allocation", "audit_entry")


def append_only_ddl(dialect: str) -> list[str]:
    """Triggers that refuse UPDATE and DELETE on the ledger tables."""
    statements: list[str] = []
    if dialect == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for action in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} "
                    f"BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
    elif dialect == "postgresql":
        statements.append(
            "CREATE OR REPLACE FUNCTION chaterp_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY_TABLES:
            statements.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            statements.append(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION chaterp_append_only()"
            )
    return statements


metadata = SQLModel.metadata
