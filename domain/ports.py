"""What the domain needs from storage: repositories and a unit of work (implemented in storage/).

Repositories never commit. Methods named ``try_*`` are conditional updates settled by the
database: they return False (and change nothing) when the condition does not hold, so two
racing transactions can never both succeed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from domain.model import (
    Allocation,
    AuditEntry,
    Customer,
    HoldReason,
    Invite,
    Invoice,
    MoveKind,
    OrderStatus,
    Payment,
    PaymentMethod,
    Product,
    Role,
    SalesOrder,
    Shipment,
    ShipmentLine,
    StockBalance,
    StockMove,
    Tier,
    User,
    Warehouse,
)
from domain.money import Money
from domain.quantity import Quantity


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware current time."""
        ...


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    """Business settings the use cases need (from bot settings)."""

    currency: str = "CNY"
    credit_hold_overdue_days: int = 30
    invite_ttl_days: int = 7
    default_payment_terms_days: int = 30


class UserRepository(Protocol):
    def add(
        self,
        *,
        name: str,
        role: Role,
        telegram_user_id: int | None,
        customer_id: int | None,
        language: str | None,
        created_at: datetime,
    ) -> int: ...
    def get(self, user_id: int) -> User | None: ...
    def by_telegram_id(self, telegram_user_id: int) -> User | None: ...
    def list(self, *, active_only: bool = True, roles: Sequence[Role] | None = None) -> list[User]:
        """Users by id; only those with one of ``roles`` when given."""
        ...

    def set_active(self, user_id: int, active: bool) -> None: ...
    def set_language(self, user_id: int, language: str | None) -> None: ...
    def update_role(self, user_id: int, role: Role, customer_id: int | None) -> None: ...
    def set_blocked(self, telegram_user_id: int, blocked: bool) -> None:
        """Telegram said 403 (blocked) or the user wrote again (unblocked)."""
        ...


class InviteRepository(Protocol):
    def add(
        self,
        *,
        token_hash: str,
        role: Role,
        customer_id: int | None,
        name: str,
        created_by: int | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> int: ...
    def by_token_hash(self, token_hash: str) -> Invite | None: ...
    def try_mark_used(self, invite_id: int, user_id: int, at: datetime) -> bool:
        """Set used_at/used_by only if still unused."""
        ...


class CustomerRepository(Protocol):
    def add(
        self,
        *,
        name: str,
        name_key: str,
        phone: str,
        phone_key: str,
        address: str,
        sales_rep_id: int | None,
        credit_limit_minor: int | None,
        payment_terms_days: int,
        tier: Tier,
        birthday: date | None,
        notes: str,
        created_at: datetime,
    ) -> int: ...
    def get(self, customer_id: int) -> Customer | None: ...
    def by_phone_key(self, phone_key: str) -> list[Customer]: ...
    def by_name_key(self, name_key: str) -> list[Customer]: ...
    def list(
        self,
        *,
        active_only: bool = True,
        sales_rep_id: int | None = None,
        with_unassigned: bool = False,
    ) -> list[Customer]:
        """By id; ``sales_rep_id`` keeps that rep's customers (and, ``with_unassigned``,
        those without a rep)."""
        ...

    def update(self, customer_id: int, **fields: object) -> None:
        """Change profile fields (not the balance)."""
        ...

    def lock(self, customer_id: int) -> None:
        """Serialise money and credit decisions for one customer (row lock on PostgreSQL)."""
        ...

    def get_locked(self, customer_id: int) -> Customer | None:
        """``lock`` and ``get`` in one statement: the customer as of holding the lock."""
        ...

    def add_to_balance(self, customer_id: int, delta_minor: int) -> None: ...


class ProductRepository(Protocol):
    def add(
        self,
        *,
        sku: str,
        name: str,
        unit: str,
        price_minor: int,
        cost_minor: int,
        aliases: Sequence[str],
        reorder_point_milli: int,
        reorder_qty_milli: int,
        active: bool,
        updated_at: datetime,
    ) -> int: ...
    def get(self, product_id: int) -> Product | None: ...
    def by_sku(self, sku: str) -> Product | None: ...
    def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]: ...
    def list(self, *, active_only: bool = True) -> list[Product]: ...
    def update(self, product_id: int, **fields: object) -> None:
        """Change catalog fields; keys are column names (price_minor, cost_minor, aliases…)."""
        ...

    def lock(self, product_id: int) -> None:
        """Serialise cost and count decisions for one product (row lock on PostgreSQL)."""
        ...

    def changed_since(self, since: datetime | None) -> tuple[list[Product], datetime | None]:
        """Products (active or not) updated at or after ``since`` (all when None), and the
        newest updated_at seen: what an in-memory name index needs to follow the catalog."""
        ...

    def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        """Products (active or not) with these exact SKUs, keyed by SKU; unknown SKUs are absent.

        Bulk counterpart of ``by_sku`` for imports: a few queries for any number of SKUs.
        """
        ...

    def add_many(self, rows: Sequence[Mapping[str, object]]) -> list[int]:
        """Insert many products in one batch; each row holds ``add()``'s keyword arguments.

        Returns the new ids in row order. Same rules as ``add()`` (a taken SKU is refused).
        """
        ...

    def update_many(self, changes: Sequence[tuple[int, Mapping[str, object]]]) -> None:
        """``update(product_id, **fields)`` for many ``(product_id, fields)`` pairs in one batch."""
        ...


class WarehouseRepository(Protocol):
    def add(self, *, code: str, name: str, is_default: bool) -> int: ...
    def get(self, warehouse_id: int) -> Warehouse | None: ...
    def by_code(self, code: str) -> Warehouse | None: ...
    def default(self) -> Warehouse | None: ...
    def list(self) -> list[Warehouse]: ...


class StockRepository(Protocol):
    def try_change(
        self, product_id: int, warehouse_id: int, on_hand_delta: int, reserved_delta: int
    ) -> bool:
        """Apply deltas (thousandths) to the balance row if it stays valid.

        Valid means on_hand >= 0, reserved >= 0 and reserved <= on_hand. A missing row counts
        as zero and is created. The check and the write are one conditional UPDATE.
        """
        ...

    def get(self, product_id: int, warehouse_id: int) -> StockBalance: ...
    def for_product(self, product_id: int) -> list[StockBalance]: ...
    def for_products(
        self, product_ids: Sequence[int], warehouse_id: int
    ) -> dict[int, StockBalance]: ...
    def all(self) -> list[StockBalance]: ...
    def add_move(self, move: StockMove) -> int: ...
    def moves(self, product_id: int | None = None) -> list[StockMove]: ...


class SequenceRepository(Protocol):
    def next(self, name: str) -> int:
        """Next value of a named document counter (SO, SH, INV, PAY), gap-free per commit."""
        ...


class OrderRepository(Protocol):
    def add(
        self,
        *,
        number: str,
        customer_id: int,
        sales_rep_id: int | None,
        created_by: int | None,
        status: OrderStatus,
        hold_reason: HoldReason | None,
        warehouse_id: int,
        total_minor: int,
        currency: str,
        created_at: datetime,
        idempotency_key: str,
        note: str,
        lines: Sequence[tuple[int, int, int, int, int]],
    ) -> int:
        """Insert an order; lines are (product_id, quantity_milli, unit_price_minor,
        discount_bp, reserved_milli) in line order."""
        ...

    def get(self, order_id: int) -> SalesOrder | None: ...
    def by_number(self, number: str) -> SalesOrder | None: ...
    def by_idempotency_key(self, key: str) -> SalesOrder | None: ...
    def lock(self, order_id: int) -> None: ...
    def try_transition(
        self,
        order_id: int,
        from_statuses: Sequence[OrderStatus],
        to_status: OrderStatus,
        *,
        decided_by: int | None = None,
        decided_at: datetime | None = None,
    ) -> bool: ...
    def try_close(self, order_id: int) -> bool:
        """shipped -> closed, only when none of the order's invoices is still open."""
        ...

    def try_change_line(self, line_id: int, reserved_delta: int, shipped_delta: int) -> bool:
        """Change a line's reserved/shipped if 0 <= reserved, 0 <= shipped <= quantity."""
        ...

    def try_return_line(self, line_id: int, quantity_milli: int) -> bool:
        """returned += quantity if returned stays <= shipped."""
        ...

    def list(
        self,
        *,
        customer_id: int | None = None,
        sales_rep_id: int | None = None,
        statuses: Sequence[OrderStatus] | None = None,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[SalesOrder]:
        """Newest first."""
        ...

    def find_twin(
        self, customer_id: int, since: datetime, quantities: Mapping[int, int]
    ) -> SalesOrder | None:
        """The newest order of ``customer_id`` placed at or after ``since``, not cancelled,
        that asks for exactly ``quantities`` (product id → thousandths, summed over its lines)."""
        ...


class ShipmentRepository(Protocol):
    def add(
        self,
        *,
        number: str,
        order_id: int,
        warehouse_id: int,
        created_by: int | None,
        created_at: datetime,
        idempotency_key: str | None,
        lines: Sequence[ShipmentLine],
    ) -> int: ...
    def get(self, shipment_id: int) -> Shipment | None: ...
    def by_idempotency_key(self, key: str) -> Shipment | None: ...
    def for_order(self, order_id: int) -> list[Shipment]: ...
    def try_confirm(self, shipment_id: int, by: int | None, at: datetime) -> bool:
        """draft -> confirmed, only once."""
        ...

    def set_line_cost(self, shipment_id: int, order_line_id: int, unit_cost_minor: int) -> None: ...


class InvoiceRepository(Protocol):
    def add(
        self,
        *,
        number: str,
        customer_id: int,
        order_id: int | None,
        shipment_id: int | None,
        amount_minor: int,
        currency: str,
        issued_on: date,
        due_on: date,
    ) -> int: ...
    def get(self, invoice_id: int) -> Invoice | None: ...
    def open(self, customer_ids: Sequence[int] | None = None) -> list[Invoice]:
        """Open invoices, oldest due first (then id)."""
        ...

    def for_customer(self, customer_id: int) -> list[Invoice]: ...
    def for_order(self, order_id: int) -> list[Invoice]: ...
    def try_reduce_outstanding(self, invoice_id: int, amount_minor: int) -> bool:
        """outstanding -= amount if it stays >= 0; status becomes paid at zero."""
        ...


class PaymentRepository(Protocol):
    def add(
        self,
        *,
        number: str,
        customer_id: int,
        amount_minor: int,
        currency: str,
        method: PaymentMethod,
        received_on: date,
        recorded_by: int | None,
        recorded_at: datetime,
        idempotency_key: str,
        note: str,
    ) -> int:
        """Insert with unallocated = amount."""
        ...

    def get(self, payment_id: int) -> Payment | None: ...
    def by_idempotency_key(self, key: str) -> Payment | None: ...
    def for_customer(self, customer_id: int) -> list[Payment]: ...
    def with_credit(self, customer_id: int) -> list[Payment]:
        """Payments with unallocated > 0, oldest first."""
        ...

    def try_reduce_unallocated(self, payment_id: int, amount_minor: int) -> bool: ...
    def add_allocation(
        self, payment_id: int, invoice_id: int, amount_minor: int, at: datetime
    ) -> None: ...
    def allocations(
        self, *, payment_id: int | None = None, invoice_id: int | None = None
    ) -> list[Allocation]: ...


class AuditRepository(Protocol):
    def add(self, entry: AuditEntry) -> None: ...
    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        """``add()`` for many entries in one batch, kept in order (imports)."""
        ...

    def list(
        self, *, object_type: str | None = None, object_id: str | None = None
    ) -> list[AuditEntry]: ...


@dataclass(slots=True)
class ConversationRecord:
    """Where one user is in a conversation in one chat (flow, step, draft), kept in the DB."""

    chat_id: int
    user_id: int  # Telegram user id
    flow: str | None
    step: str | None
    data: str  # JSON draft
    version: int
    updated_at: datetime


class ConversationRepository(Protocol):
    def get(self, chat_id: int, user_id: int) -> ConversationRecord | None: ...
    def save(self, record: ConversationRecord) -> None:
        """Insert or replace the row for (chat_id, user_id)."""
        ...


class ProcessedUpdateRepository(Protocol):
    def try_record(self, update_id: int, at: datetime) -> bool:
        """Remember an update id; False if it was already processed (a redelivery)."""
        ...


class ChatTopicRepository(Protocol):
    """Which chats receive what (e.g. "shipping": new orders to ship)."""

    def chats(self, topic: str) -> list[int]: ...
    def set(self, chat_id: int, topic: str, on: bool, *, title: str = "") -> None: ...
    def titles(self, topic: str) -> dict[int, str]: ...
    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group became a supergroup: follow its new id everywhere."""
        ...


class SentMessageRepository(Protocol):
    """Messages sent under a key (an order card in several chats), to edit all copies later."""

    def add(self, key: str, chat_id: int, message_id: int, at: datetime) -> None: ...
    def for_key(self, key: str) -> list[tuple[int, int]]: ...


# --- notifications: outbox, scheduled runs, low-stock episodes, report subscriptions ---------


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A queued message to one chat: ``parts`` is JSON (see notifications/outbox.py)."""

    id: int
    key: str
    chat_id: int
    parts: str
    status: str  # pending | sent | failed | skipped
    not_before: datetime
    created_at: datetime
    parts_sent: int = 0
    message_ids: tuple[int, ...] = ()
    attempts: int = 0
    error: str = ""
    claimed_by: str | None = None
    claimed_until: datetime | None = None
    sent_at: datetime | None = None


class OutboxRepository(Protocol):
    """Messages the system sends on its own, written with the change that caused them."""

    def add(
        self, key: str, chat_id: int, parts: str, *, at: datetime, not_before: datetime | None
    ) -> bool:
        """Queue a message unless one with ``key`` exists (then nothing changes): True if queued."""
        ...

    def get(self, key: str) -> OutboxMessage | None: ...
    def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        """Lease up to ``limit`` due pending messages, oldest first, skipping rows another
        sender holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and chats another live sender
        is working on (so one chat's messages keep their order)."""
        ...

    def renew(self, message_ids: Sequence[int], owner: str, lease_until: datetime) -> int:
        """Extend the lease of messages still held by ``owner`` (how many were)."""
        ...

    def progress(
        self, message_id: int, owner: str, parts_sent: int, message_ids: Sequence[int]
    ) -> bool:
        """Record the parts sent so far (while the lease is ours); False if it was lost."""
        ...

    def finish(
        self, message_id: int, owner: str | None, status: str, at: datetime, error: str = ""
    ) -> bool:
        """sent | failed | skipped, once (only a pending row); False if it was not ours."""
        ...

    def release(
        self, message_id: int, owner: str, not_before: datetime, error: str, *, failed: bool
    ) -> None:
        """Give the lease back to try later; the chat's later messages wait too (order)."""
        ...

    def set_parts(self, message_id: int, owner: str, parts: str) -> None:
        """Replace the parts (a message rendered at send time keeps what it rendered)."""
        ...

    def skip_chat(self, chat_id: int, at: datetime, reason: str) -> int:
        """A chat that refuses the bot: its pending messages become skipped (how many)."""
        ...

    def pending(self, *, now: datetime | None = None) -> int:
        """Messages still to send; with ``now``, only those a sender could claim now (due and
        not leased)."""
        ...

    def for_chat(self, chat_id: int) -> list[OutboxMessage]: ...
    def put_blob(self, data: bytes, at: datetime) -> str:
        """Store a file once (by SHA-256); returns its digest."""
        ...

    def blob(self, digest: str) -> tuple[bytes, str | None] | None:
        """The file's bytes and Telegram file_id (None until first uploaded)."""
        ...

    def set_file_id(self, digest: str, file_id: str) -> None: ...
    def purge(self, before: datetime) -> int:
        """Delete finished messages older than ``before`` and files no message needs."""
        ...

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) whenever a unit of work of this database commits
        new messages: how a sender in the same process is woken at once."""
        ...


class JobRunRepository(Protocol):
    """Scheduled runs claimed by (job, slot)."""

    def try_claim(self, job: str, slot: datetime, by: str, at: datetime) -> bool:
        """Claim the slot; False if someone already did (nothing changes)."""
        ...

    def claimed(self, job: str, slot: datetime) -> bool: ...
    def last_slot(self, job: str) -> datetime | None: ...


class LowStockRepository(Protocol):
    """Low-stock episodes per product: one alert per episode."""

    def try_begin(self, product_id: int, at: datetime) -> int | None:
        """Mark the product low; the new episode number, or None if it already was low."""
        ...

    def try_end(self, product_id: int, at: datetime) -> bool:
        """Restocked above the point: the episode is over (True if it was low)."""
        ...

    def low_products(self) -> set[int]: ...


@dataclass(frozen=True, slots=True)
class ReportSubscription:
    """The summaries a chat receives, at ``send_at`` in the business time zone."""

    chat_id: int
    daily: bool = True
    weekly: bool = False
    monthly: bool = False
    send_at: time = time(19, 0)
    title: str = ""


class ReportSubscriptionRepository(Protocol):
    def get(self, chat_id: int) -> ReportSubscription | None: ...
    def list(self) -> list[ReportSubscription]: ...
    def save(self, subscription: ReportSubscription, at: datetime) -> None: ...


class ChatStateRepository(Protocol):
    """Group chats the bot can no longer write to (403); private chats use users.blocked_bot."""

    def set_inactive(self, chat_id: int, reason: str, at: datetime) -> None: ...
    def set_active(self, chat_id: int) -> bool:
        """The bot is back in the chat; True if it had been inactive."""
        ...

    def inactive(self) -> set[int]: ...


@dataclass(frozen=True, slots=True)
class DayTotals:
    """Money that moved on one business day (the report read side)."""

    day: date
    invoiced: Money  # invoices issued: goods shipped
    credited: Money  # credit notes issued: goods returned
    collected: Money  # payments received (credit notes are not cash)


@dataclass(frozen=True, slots=True)
class MovedAtCost:
    """Stock moves of one kind, product and unit cost, summed (cost of goods)."""

    kind: MoveKind
    product_id: int
    unit_cost: Money
    on_hand_delta: Quantity  # signed sum: negative for shipments, positive for returns


@dataclass(frozen=True, slots=True)
class ShippedLine:
    """One line of a confirmed shipment, priced like its invoice was."""

    product_id: int
    quantity: Quantity
    shipped_before: Quantity  # what the order line had shipped in earlier confirmed shipments
    unit_price: Money
    discount_bp: int


class ReportRepository(Protocol):
    """Read-only queries for reports; periods are half-open ``[start, end)``."""

    def daily_totals(self, first: date, last: date) -> list[DayTotals]:
        """Per business day from ``first`` to ``last`` (inclusive) that had any of the
        three; days without any are absent. Oldest first."""
        ...

    def orders_placed(self, start: datetime, end: datetime) -> tuple[int, Money]:
        """How many orders were placed in the period and their total (cancelled ones and
        drafts excluded)."""
        ...

    def moved_at_cost(
        self, kinds: Sequence[MoveKind], start: datetime, end: datetime
    ) -> list[MovedAtCost]:
        """Stock moves of these kinds in the period, summed per (kind, product, unit cost)."""
        ...

    def shipped_lines(self, start: datetime, end: datetime) -> list[ShippedLine]:
        """Lines of the shipments confirmed in the period."""
        ...

    def backordered(
        self, product_ids: Sequence[int] | None = None
    ) -> dict[tuple[int, int], Quantity]:
        """Open orders' quantities not yet reserved nor shipped (waiting for stock), per
        (product_id, warehouse_id); only non-zero entries; all products when None."""
        ...


class UnitOfWork(Protocol):
    """One database transaction. Nothing is saved unless ``commit()`` is called."""

    users: UserRepository
    invites: InviteRepository
    customers: CustomerRepository
    products: ProductRepository
    warehouses: WarehouseRepository
    stock: StockRepository
    sequences: SequenceRepository
    orders: OrderRepository
    shipments: ShipmentRepository
    invoices: InvoiceRepository
    payments: PaymentRepository
    audit: AuditRepository
    conversations: ConversationRepository
    updates: ProcessedUpdateRepository
    chat_topics: ChatTopicRepository
    sent_messages: SentMessageRepository
    outbox: OutboxRepository
    job_runs: JobRunRepository
    low_stock: LowStockRepository
    report_subscriptions: ReportSubscriptionRepository
    chat_states: ChatStateRepository
    reports: ReportRepository
    clock: Clock
    policy: LedgerPolicy
    events: list[object]
    use_case_depth: int  # how many use cases are running (nested ones share one savepoint)
    # Each use case in its own savepoint, so the caller can catch a refusal and go on (the
    # chat engine). Off, a refusal aborts the whole unit of work anyway.
    isolate_use_cases: bool

    def savepoint(self) -> AbstractContextManager[None]:
        """Nested transaction: a raised exception undoes only what happened inside."""
        ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...


class EventPublisher(Protocol):
    """Turns the domain events of a unit of work into outbox rows, in the same transaction,
    just before it commits (notifications/publisher.py; wired by the composition root)."""

    def __call__(self, uow: UnitOfWork, events: Sequence[object]) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> AbstractContextManager[UnitOfWork]:
        """A fresh unit of work; leaving the block rolls back anything not committed."""
        ...
