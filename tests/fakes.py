"""In-memory fakes of the storage ports: a settable clock and a unit of work over plain dicts.

``FakeDatabase`` keeps every committed row in dicts. Each ``FakeUnitOfWork`` works on its own
copy of that state (its transaction) and swaps it in on ``commit()``; leaving the ``with``
block without committing throws the copy away. ``savepoint()`` snapshots the working copy and
restores it when an exception escapes, like ``SAVEPOINT`` / ``ROLLBACK TO SAVEPOINT``.

The repositories apply the same rules a real database does: ``try_*`` methods are conditional
updates that change nothing and return False when their condition fails, unique business keys
raise ``DuplicateKey``, and list methods return rows in the order documented in
``domain/ports.py``.

Concurrency: like SQLite's single writer, a unit of work that changed something may only
commit if nobody else committed since it began; otherwise ``commit()`` raises
``TransientConflict`` (which ``run_in_transaction`` retries) so an update is never lost.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from types import TracebackType
from typing import Any

from domain.errors import DuplicateKey, TransientConflict
from domain.model import (
    OPEN_ORDER_STATUSES,
    Allocation,
    AuditEntry,
    Customer,
    HoldReason,
    Invite,
    Invoice,
    InvoiceStatus,
    MoveKind,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    Product,
    Role,
    SalesOrder,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    StockBalance,
    StockMove,
    Tier,
    User,
    Warehouse,
)
from domain.money import Money
from domain.ports import (
    Clock,
    ConversationRecord,
    DayTotals,
    EventPublisher,
    LedgerPolicy,
    MovedAtCost,
    OutboxMessage,
    ReportSubscription,
    ShippedLine,
)
from domain.quantity import Quantity

Row = dict[str, Any]

TABLES = (
    "users",
    "invites",
    "customers",
    "products",
    "warehouses",
    "stock_moves",
    "orders",
    "order_lines",
    "shipments",
    "shipment_lines",
    "invoices",
    "payments",
    "allocations",
    "audit",
    "outbox",
)

# table -> ((column, kind reported by DuplicateKey), ...); None never conflicts (as in SQL).
UNIQUE_KEYS: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (("telegram_user_id", "telegram_user"),),
    "invites": (("token_hash", "invite"),),
    "products": (("sku", "product"),),
    "warehouses": (("code", "warehouse"),),
    "orders": (("number", "order"), ("idempotency_key", "order_idempotency_key")),
    "shipments": (("number", "shipment"), ("idempotency_key", "shipment_idempotency_key")),
    "invoices": (("number", "invoice"),),
    "payments": (("number", "payment"), ("idempotency_key", "payment_idempotency_key")),
}

# Columns that ``update(**fields)`` may change, per table (anything else is a programming error).
CUSTOMER_PROFILE_COLUMNS = frozenset(
    {
        "name",
        "name_key",
        "phone",
        "phone_key",
        "address",
        "sales_rep_id",
        "credit_limit_minor",
        "payment_terms_days",
        "tier",
        "birthday",
        "notes",
        "active",
    }
)
PRODUCT_COLUMNS = frozenset(
    {
        "sku",
        "name",
        "unit",
        "price_minor",
        "cost_minor",
        "aliases",
        "reorder_point_milli",
        "reorder_qty_milli",
        "active",
        "updated_at",
    }
)


class FixedClock:
    """A clock that only moves when a test says so. Always timezone-aware."""

    def __init__(self, now: datetime) -> None:
        self._now = self._aware(now)

    @staticmethod
    def _aware(value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        return value

    def now(self) -> datetime:
        return self._now

    def set(self, now: datetime) -> None:
        self._now = self._aware(now)

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` (e.g. ``days=31``); returns the new time."""
        self._now = self._now + timedelta(**delta)
        return self._now


@dataclasses.dataclass(slots=True)
class FakeState:
    """Every row of the fake database. Row values are immutable, so a copy is shallow per row."""

    tables: dict[str, dict[int, Row]] = dataclasses.field(
        default_factory=lambda: {name: {} for name in TABLES}
    )
    last_ids: dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    sequences: dict[str, int] = dataclasses.field(default_factory=dict)
    # (product_id, warehouse_id) -> (on_hand_milli, reserved_milli)
    stock: dict[tuple[int, int], tuple[int, int]] = dataclasses.field(default_factory=dict)
    conversations: dict[tuple[int, int], ConversationRecord] = dataclasses.field(
        default_factory=dict
    )
    processed_updates: set[int] = dataclasses.field(default_factory=set)
    chat_topics: dict[tuple[int, str], str] = dataclasses.field(default_factory=dict)
    sent_messages: list[tuple[str, int, int]] = dataclasses.field(default_factory=list)
    blobs: dict[str, tuple[bytes, str | None, datetime]] = dataclasses.field(default_factory=dict)
    job_runs: dict[tuple[str, datetime], str] = dataclasses.field(default_factory=dict)
    low_stock: dict[int, tuple[int, bool]] = dataclasses.field(default_factory=dict)
    report_subscriptions: dict[int, ReportSubscription] = dataclasses.field(default_factory=dict)
    inactive_chats: dict[int, str] = dataclasses.field(default_factory=dict)

    def copy(self) -> FakeState:
        return FakeState(
            blobs=dict(self.blobs),
            job_runs=dict(self.job_runs),
            low_stock=dict(self.low_stock),
            report_subscriptions=dict(self.report_subscriptions),
            inactive_chats=dict(self.inactive_chats),
            conversations={key: dataclasses.replace(r) for key, r in self.conversations.items()},
            processed_updates=set(self.processed_updates),
            chat_topics=dict(self.chat_topics),
            sent_messages=list(self.sent_messages),
            tables={
                name: {row_id: dict(row) for row_id, row in rows.items()}
                for name, rows in self.tables.items()
            },
            last_ids=dict(self.last_ids),
            sequences=dict(self.sequences),
            stock=dict(self.stock),
        )


class FakeBell:
    """Rings this database's listeners after a commit queued outbox rows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.listeners: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback not in self.listeners:
                self.listeners.append(callback)

    def ring(self) -> None:
        with self._lock:
            listeners = list(self.listeners)
        for listener in listeners:
            listener()


class FakeDatabase:
    """The committed state plus the domain events committed units of work raised.

    With a ``publisher`` (notifications' event publisher) the events also become outbox rows in
    the committing transaction, as on SQL.
    """

    def __init__(
        self,
        clock: Clock,
        policy: LedgerPolicy | None = None,
        *,
        publisher: EventPublisher | None = None,
    ) -> None:
        self.clock = clock
        self.policy = policy if policy is not None else LedgerPolicy()
        self.state = FakeState()
        self.events: list[object] = []
        self.publisher = publisher
        self.bell = FakeBell()
        self.commits = 0
        self.commit_lock = threading.Lock()  # units of work in several threads (the sender)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    __call__ = uow  # a FakeDatabase is itself a UnitOfWorkFactory


# --- repositories ---------------------------------------------------------------------------


class _Repository:
    """Row helpers over the owning unit of work's current (transactional) state."""

    table = ""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _state(self) -> FakeState:
        return self._uow.state

    @property
    def _currency(self) -> str:
        return self._uow.policy.currency

    def _rows(self, table: str | None = None) -> dict[int, Row]:
        return self._state.tables[table or self.table]

    def _row(self, row_id: int, table: str | None = None) -> Row | None:
        return self._rows(table).get(row_id)

    def _check_unique(self, table: str, row: Row, row_id: int | None) -> None:
        for column, kind in UNIQUE_KEYS.get(table, ()):
            value = row.get(column)
            if value is None:
                continue
            for other_id, other in self._rows(table).items():
                if other_id != row_id and other.get(column) == value:
                    raise DuplicateKey(kind, str(value))

    def _insert(self, row: Row, table: str | None = None) -> int:
        name = table or self.table
        self._check_unique(name, row, None)
        row_id = self._state.last_ids[name] + 1
        self._state.last_ids[name] = row_id
        self._rows(name)[row_id] = {**row, "id": row_id}
        return row_id

    def _update(self, row_id: int, fields: dict[str, Any], table: str | None = None) -> None:
        """UPDATE … WHERE id = :id (no row: nothing happens, as in SQL)."""
        name = table or self.table
        row = self._row(row_id, name)
        if row is None:
            return
        changed = {**row, **fields}
        self._check_unique(name, changed, row_id)
        self._rows(name)[row_id] = changed

    @staticmethod
    def _known_columns(fields: dict[str, Any], allowed: frozenset[str], what: str) -> None:
        unknown = set(fields) - allowed
        if unknown:
            raise TypeError(f"{what}.update: unknown or read-only columns {sorted(unknown)}")


class FakeUserRepository(_Repository):
    table = "users"

    def add(
        self,
        *,
        name: str,
        role: Role,
        telegram_user_id: int | None,
        customer_id: int | None,
        language: str | None,
        created_at: datetime,
    ) -> int:
        return self._insert(
            {
                "name": name,
                "role": Role(role),
                "telegram_user_id": telegram_user_id,
                "customer_id": customer_id,
                "language": language,
                "created_at": created_at,
                "active": True,
                "blocked_bot": False,
            }
        )

    @staticmethod
    def _user(row: Row) -> User:
        return User(
            id=row["id"],
            name=row["name"],
            role=row["role"],
            telegram_user_id=row["telegram_user_id"],
            customer_id=row["customer_id"],
            language=row["language"],
            active=row["active"],
            blocked_bot=row["blocked_bot"],
        )

    def get(self, user_id: int) -> User | None:
        row = self._row(user_id)
        return None if row is None else self._user(row)

    def by_telegram_id(self, telegram_user_id: int) -> User | None:
        for row in self._rows().values():
            if row["telegram_user_id"] == telegram_user_id:
                return self._user(row)
        return None

    def list(self, *, active_only: bool = True, roles: Sequence[Role] | None = None) -> list[User]:
        return [
            self._user(row)
            for _, row in sorted(self._rows().items())
            if (row["active"] or not active_only) and (roles is None or row["role"] in roles)
        ]

    def set_active(self, user_id: int, active: bool) -> None:
        self._update(user_id, {"active": active})

    def set_language(self, user_id: int, language: str | None) -> None:
        self._update(user_id, {"language": language})

    def set_blocked(self, telegram_user_id: int, blocked: bool) -> None:
        for row_id, row in self._rows().items():
            if row["telegram_user_id"] == telegram_user_id:
                self._update(row_id, {"blocked_bot": blocked})

    def update_role(self, user_id: int, role: Role, customer_id: int | None) -> None:
        self._update(user_id, {"role": Role(role), "customer_id": customer_id})


class FakeInviteRepository(_Repository):
    table = "invites"

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
    ) -> int:
        return self._insert(
            {
                "token_hash": token_hash,
                "role": Role(role),
                "customer_id": customer_id,
                "name": name,
                "created_by": created_by,
                "created_at": created_at,
                "expires_at": expires_at,
                "used_at": None,
                "used_by": None,
            }
        )

    def by_token_hash(self, token_hash: str) -> Invite | None:
        for row in self._rows().values():
            if row["token_hash"] == token_hash:
                return Invite(
                    id=row["id"],
                    role=row["role"],
                    customer_id=row["customer_id"],
                    name=row["name"],
                    created_by=row["created_by"],
                    created_at=row["created_at"],
                    expires_at=row["expires_at"],
                    used_at=row["used_at"],
                    used_by=row["used_by"],
                )
        return None

    def try_mark_used(self, invite_id: int, user_id: int, at: datetime) -> bool:
        row = self._row(invite_id)
        if row is None or row["used_at"] is not None:
            return False
        self._update(invite_id, {"used_at": at, "used_by": user_id})
        return True


class FakeCustomerRepository(_Repository):
    table = "customers"

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
    ) -> int:
        return self._insert(
            {
                "name": name,
                "name_key": name_key,
                "phone": phone,
                "phone_key": phone_key,
                "address": address,
                "sales_rep_id": sales_rep_id,
                "credit_limit_minor": credit_limit_minor,
                "payment_terms_days": payment_terms_days,
                "tier": Tier(tier),
                "birthday": birthday,
                "notes": notes,
                "created_at": created_at,
                "active": True,
                "balance_minor": 0,
            }
        )

    def _customer(self, row: Row) -> Customer:
        limit = row["credit_limit_minor"]
        return Customer(
            id=row["id"],
            name=row["name"],
            phone=row["phone"],
            address=row["address"],
            sales_rep_id=row["sales_rep_id"],
            credit_limit=None if limit is None else Money(limit, self._currency),
            payment_terms_days=row["payment_terms_days"],
            tier=row["tier"],
            birthday=row["birthday"],
            notes=row["notes"],
            active=row["active"],
            balance=Money(row["balance_minor"], self._currency),
        )

    def get(self, customer_id: int) -> Customer | None:
        row = self._row(customer_id)
        return None if row is None else self._customer(row)

    def _where(self, column: str, value: object) -> list[Customer]:
        return [
            self._customer(row) for _, row in sorted(self._rows().items()) if row[column] == value
        ]

    def by_phone_key(self, phone_key: str) -> list[Customer]:
        return self._where("phone_key", phone_key)

    def by_name_key(self, name_key: str) -> list[Customer]:
        return self._where("name_key", name_key)

    def list(
        self,
        *,
        active_only: bool = True,
        sales_rep_id: int | None = None,
        with_unassigned: bool = False,
    ) -> list[Customer]:
        reps = {sales_rep_id, None} if with_unassigned else {sales_rep_id}
        return [
            self._customer(row)
            for _, row in sorted(self._rows().items())
            if (row["active"] or not active_only)
            and (sales_rep_id is None or row["sales_rep_id"] in reps)
        ]

    def update(self, customer_id: int, **fields: object) -> None:
        self._known_columns(fields, CUSTOMER_PROFILE_COLUMNS, "customers")
        if "tier" in fields:
            fields["tier"] = Tier(str(fields["tier"]))
        self._update(customer_id, fields)

    def get_locked(self, customer_id: int) -> Customer | None:
        return self.get(customer_id)

    def lock(self, customer_id: int) -> None:
        """Row locks are meaningless in one process; transactions are serialised at commit."""

    def add_to_balance(self, customer_id: int, delta_minor: int) -> None:
        row = self._row(customer_id)
        if row is not None:
            self._update(customer_id, {"balance_minor": row["balance_minor"] + delta_minor})


class FakeProductRepository(_Repository):
    table = "products"

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
    ) -> int:
        return self._insert(
            {
                "sku": sku,
                "name": name,
                "unit": unit,
                "price_minor": price_minor,
                "cost_minor": cost_minor,
                "aliases": tuple(aliases),
                "reorder_point_milli": reorder_point_milli,
                "reorder_qty_milli": reorder_qty_milli,
                "active": active,
                "updated_at": updated_at,
            }
        )

    def lock(self, product_id: int) -> None:
        """Nothing to lock: the fake has one writer (commits check for interleaving)."""

    def changed_since(self, since: datetime | None) -> tuple[list[Product], datetime | None]:
        rows = sorted(
            (row for row in self._rows().values() if since is None or row["updated_at"] >= since),
            key=lambda row: (row["updated_at"], row["id"]),
        )
        newest = rows[-1]["updated_at"] if rows else since
        return [self._product(row) for row in rows], newest

    def _product(self, row: Row) -> Product:
        return Product(
            id=row["id"],
            sku=row["sku"],
            name=row["name"],
            unit=row["unit"],
            price=Money(row["price_minor"], self._currency),
            cost=Money(row["cost_minor"], self._currency),
            aliases=tuple(row["aliases"]),
            reorder_point=Quantity(row["reorder_point_milli"]),
            reorder_qty=Quantity(row["reorder_qty_milli"]),
            active=row["active"],
        )

    def get(self, product_id: int) -> Product | None:
        row = self._row(product_id)
        return None if row is None else self._product(row)

    def by_sku(self, sku: str) -> Product | None:
        for row in self._rows().values():
            if row["sku"] == sku:
                return self._product(row)
        return None

    def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        found: dict[int, Product] = {}
        for product_id in product_ids:
            row = self._row(product_id)
            if row is not None:
                found[product_id] = self._product(row)
        return found

    def list(self, *, active_only: bool = True) -> list[Product]:
        return [
            self._product(row)
            for _, row in sorted(self._rows().items())
            if row["active"] or not active_only
        ]

    def update(self, product_id: int, **fields: object) -> None:
        self._known_columns(fields, PRODUCT_COLUMNS, "products")
        if "aliases" in fields:
            fields["aliases"] = tuple(fields["aliases"])  # type: ignore[call-overload]
        self._update(product_id, fields)

    def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        wanted = set(skus)
        return {
            row["sku"]: self._product(row) for row in self._rows().values() if row["sku"] in wanted
        }

    def add_many(self, rows: Sequence[Mapping[str, object]]) -> list[int]:
        return [self.add(**row) for row in rows]  # type: ignore[arg-type]

    def update_many(self, changes: Sequence[tuple[int, Mapping[str, object]]]) -> None:
        for product_id, fields in changes:
            self.update(product_id, **fields)


class FakeWarehouseRepository(_Repository):
    table = "warehouses"

    def add(self, *, code: str, name: str, is_default: bool) -> int:
        return self._insert({"code": code, "name": name, "is_default": is_default})

    @staticmethod
    def _warehouse(row: Row) -> Warehouse:
        return Warehouse(
            id=row["id"], code=row["code"], name=row["name"], is_default=row["is_default"]
        )

    def get(self, warehouse_id: int) -> Warehouse | None:
        row = self._row(warehouse_id)
        return None if row is None else self._warehouse(row)

    def by_code(self, code: str) -> Warehouse | None:
        for row in self._rows().values():
            if row["code"] == code:
                return self._warehouse(row)
        return None

    def default(self) -> Warehouse | None:
        for _, row in sorted(self._rows().items()):
            if row["is_default"]:
                return self._warehouse(row)
        return None

    def list(self) -> list[Warehouse]:
        return [self._warehouse(row) for _, row in sorted(self._rows().items())]


class FakeStockRepository(_Repository):
    table = "stock_moves"

    def try_change(
        self, product_id: int, warehouse_id: int, on_hand_delta: int, reserved_delta: int
    ) -> bool:
        on_hand, reserved = self._state.stock.get((product_id, warehouse_id), (0, 0))
        on_hand += on_hand_delta
        reserved += reserved_delta
        if on_hand < 0 or reserved < 0 or reserved > on_hand:
            return False
        self._state.stock[(product_id, warehouse_id)] = (on_hand, reserved)
        return True

    @staticmethod
    def _balance(product_id: int, warehouse_id: int, values: tuple[int, int]) -> StockBalance:
        return StockBalance(product_id, warehouse_id, Quantity(values[0]), Quantity(values[1]))

    def get(self, product_id: int, warehouse_id: int) -> StockBalance:
        values = self._state.stock.get((product_id, warehouse_id), (0, 0))
        return self._balance(product_id, warehouse_id, values)

    def for_product(self, product_id: int) -> list[StockBalance]:
        return [
            self._balance(pid, wid, values)
            for (pid, wid), values in sorted(self._state.stock.items())
            if pid == product_id
        ]

    def for_products(
        self, product_ids: Sequence[int], warehouse_id: int
    ) -> dict[int, StockBalance]:
        """Every requested product, zeros where no balance row exists yet (like ``get``)."""
        return {pid: self.get(pid, warehouse_id) for pid in dict.fromkeys(product_ids)}

    def all(self) -> list[StockBalance]:
        return [
            self._balance(pid, wid, values)
            for (pid, wid), values in sorted(self._state.stock.items())
        ]

    def add_move(self, move: StockMove) -> int:
        return self._insert({"move": move})

    def moves(self, product_id: int | None = None) -> list[StockMove]:
        return [
            dataclasses.replace(row["move"], id=row_id)
            for row_id, row in sorted(self._rows().items())
            if product_id is None or row["move"].product_id == product_id
        ]


class FakeSequenceRepository(_Repository):
    def next(self, name: str) -> int:
        value = self._state.sequences.get(name, 0) + 1
        self._state.sequences[name] = value
        return value


class FakeOrderRepository(_Repository):
    table = "orders"

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
        order_id = self._insert(
            {
                "number": number,
                "customer_id": customer_id,
                "sales_rep_id": sales_rep_id,
                "created_by": created_by,
                "status": OrderStatus(status),
                "hold_reason": None if hold_reason is None else HoldReason(hold_reason),
                "warehouse_id": warehouse_id,
                "total_minor": total_minor,
                "currency": currency,
                "created_at": created_at,
                "idempotency_key": idempotency_key,
                "note": note,
                "decided_by": None,
                "decided_at": None,
            }
        )
        for line_no, (product_id, quantity, price, discount_bp, reserved) in enumerate(lines, 1):
            if not 0 <= reserved <= quantity:
                raise ValueError(f"line {line_no}: reserved {reserved} outside 0..{quantity}")
            self._insert(
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "product_id": product_id,
                    "quantity_milli": quantity,
                    "unit_price_minor": price,
                    "discount_bp": discount_bp,
                    "reserved_milli": reserved,
                    "shipped_milli": 0,
                    "returned_milli": 0,
                },
                "order_lines",
            )
        return order_id

    def _order(self, row: Row) -> SalesOrder:
        currency = row["currency"]
        lines = sorted(
            (line for line in self._rows("order_lines").values() if line["order_id"] == row["id"]),
            key=lambda line: line["line_no"],
        )
        return SalesOrder(
            id=row["id"],
            number=row["number"],
            customer_id=row["customer_id"],
            sales_rep_id=row["sales_rep_id"],
            created_by=row["created_by"],
            status=row["status"],
            warehouse_id=row["warehouse_id"],
            total=Money(row["total_minor"], currency),
            created_at=row["created_at"],
            idempotency_key=row["idempotency_key"],
            lines=tuple(
                OrderLine(
                    id=line["id"],
                    line_no=line["line_no"],
                    product_id=line["product_id"],
                    quantity=Quantity(line["quantity_milli"]),
                    unit_price=Money(line["unit_price_minor"], currency),
                    discount_bp=line["discount_bp"],
                    reserved=Quantity(line["reserved_milli"]),
                    shipped=Quantity(line["shipped_milli"]),
                    returned=Quantity(line["returned_milli"]),
                )
                for line in lines
            ),
            hold_reason=row["hold_reason"],
            decided_by=row["decided_by"],
            decided_at=row["decided_at"],
            note=row["note"],
        )

    def _first(self, column: str, value: object) -> SalesOrder | None:
        for row in self._rows().values():
            if row[column] == value:
                return self._order(row)
        return None

    def get(self, order_id: int) -> SalesOrder | None:
        row = self._row(order_id)
        return None if row is None else self._order(row)

    def by_number(self, number: str) -> SalesOrder | None:
        return self._first("number", number)

    def by_idempotency_key(self, key: str) -> SalesOrder | None:
        return self._first("idempotency_key", key)

    def lock(self, order_id: int) -> None:
        """No-op: transactions are serialised at commit."""

    def try_transition(
        self,
        order_id: int,
        from_statuses: Sequence[OrderStatus],
        to_status: OrderStatus,
        *,
        decided_by: int | None = None,
        decided_at: datetime | None = None,
    ) -> bool:
        row = self._row(order_id)
        if row is None or row["status"] not in {OrderStatus(s) for s in from_statuses}:
            return False
        fields: Row = {"status": OrderStatus(to_status)}
        if decided_by is not None:
            fields["decided_by"] = decided_by
        if decided_at is not None:
            fields["decided_at"] = decided_at
        self._update(order_id, fields)
        return True

    def try_close(self, order_id: int) -> bool:
        row = self._row(order_id)
        if row is None or row["status"] != OrderStatus.SHIPPED:
            return False
        invoices = self._rows("invoices").values()
        if any(inv["order_id"] == order_id and inv["status"] == "open" for inv in invoices):
            return False
        self._update(order_id, {"status": OrderStatus.CLOSED})
        return True

    def try_change_line(self, line_id: int, reserved_delta: int, shipped_delta: int) -> bool:
        line = self._row(line_id, "order_lines")
        if line is None:
            return False
        reserved = line["reserved_milli"] + reserved_delta
        shipped = line["shipped_milli"] + shipped_delta
        if reserved < 0 or not 0 <= shipped <= line["quantity_milli"]:
            return False
        self._update(line_id, {"reserved_milli": reserved, "shipped_milli": shipped}, "order_lines")
        return True

    def try_return_line(self, line_id: int, quantity_milli: int) -> bool:
        line = self._row(line_id, "order_lines")
        if line is None:
            return False
        returned = line["returned_milli"] + quantity_milli
        if not 0 <= returned <= line["shipped_milli"]:
            return False
        self._update(line_id, {"returned_milli": returned}, "order_lines")
        return True

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
        wanted = None if statuses is None else {OrderStatus(s) for s in statuses}
        rows = [
            row
            for row in self._rows().values()
            if (customer_id is None or row["customer_id"] == customer_id)
            and (sales_rep_id is None or row["sales_rep_id"] == sales_rep_id)
            and (wanted is None or row["status"] in wanted)
            and (since is None or row["created_at"] >= since)
        ]
        rows.sort(key=lambda row: (row["created_at"], row["id"]), reverse=True)
        return [self._order(row) for row in rows[offset : offset + limit]]

    def find_twin(
        self, customer_id: int, since: datetime, quantities: Mapping[int, int]
    ) -> SalesOrder | None:
        if not quantities:
            return None
        for order in self.list(customer_id=customer_id, since=since, limit=len(self._rows())):
            if order.status is OrderStatus.CANCELLED:
                continue
            placed: Counter[int] = Counter()
            for line in order.lines:
                placed[line.product_id] += line.quantity.milli
            if placed == Counter(quantities):
                return order
        return None


class FakeShipmentRepository(_Repository):
    table = "shipments"

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
    ) -> int:
        shipment_id = self._insert(
            {
                "number": number,
                "order_id": order_id,
                "warehouse_id": warehouse_id,
                "status": ShipmentStatus.DRAFT,
                "created_by": created_by,
                "created_at": created_at,
                "confirmed_by": None,
                "confirmed_at": None,
                "idempotency_key": idempotency_key,
            }
        )
        for line in lines:
            self._insert(
                {
                    "shipment_id": shipment_id,
                    "order_line_id": line.order_line_id,
                    "product_id": line.product_id,
                    "quantity_milli": line.quantity.milli,
                    "unit_cost_minor": None if line.unit_cost is None else line.unit_cost.minor,
                },
                "shipment_lines",
            )
        return shipment_id

    def _lines(self, shipment_id: int) -> Iterator[tuple[int, Row]]:
        for line_id, line in sorted(self._rows("shipment_lines").items()):
            if line["shipment_id"] == shipment_id:
                yield line_id, line

    def _shipment(self, row: Row) -> Shipment:
        return Shipment(
            id=row["id"],
            number=row["number"],
            order_id=row["order_id"],
            warehouse_id=row["warehouse_id"],
            status=row["status"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            lines=tuple(
                ShipmentLine(
                    order_line_id=line["order_line_id"],
                    product_id=line["product_id"],
                    quantity=Quantity(line["quantity_milli"]),
                    unit_cost=None
                    if line["unit_cost_minor"] is None
                    else Money(line["unit_cost_minor"], self._currency),
                )
                for _, line in self._lines(row["id"])
            ),
            confirmed_by=row["confirmed_by"],
            confirmed_at=row["confirmed_at"],
            idempotency_key=row["idempotency_key"],
        )

    def get(self, shipment_id: int) -> Shipment | None:
        row = self._row(shipment_id)
        return None if row is None else self._shipment(row)

    def by_idempotency_key(self, key: str) -> Shipment | None:
        for row in self._rows().values():
            if row["idempotency_key"] == key:
                return self._shipment(row)
        return None

    def for_order(self, order_id: int) -> list[Shipment]:
        return [
            self._shipment(row)
            for _, row in sorted(self._rows().items())
            if row["order_id"] == order_id
        ]

    def try_confirm(self, shipment_id: int, by: int | None, at: datetime) -> bool:
        row = self._row(shipment_id)
        if row is None or row["status"] is not ShipmentStatus.DRAFT:
            return False
        self._update(
            shipment_id,
            {"status": ShipmentStatus.CONFIRMED, "confirmed_by": by, "confirmed_at": at},
        )
        return True

    def set_line_cost(self, shipment_id: int, order_line_id: int, unit_cost_minor: int) -> None:
        for line_id, line in self._lines(shipment_id):
            if line["order_line_id"] == order_line_id:
                self._update(line_id, {"unit_cost_minor": unit_cost_minor}, "shipment_lines")


class FakeInvoiceRepository(_Repository):
    table = "invoices"

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
    ) -> int:
        return self._insert(
            {
                "number": number,
                "customer_id": customer_id,
                "order_id": order_id,
                "shipment_id": shipment_id,
                "amount_minor": amount_minor,
                "outstanding_minor": amount_minor,
                "currency": currency,
                "issued_on": issued_on,
                "due_on": due_on,
                "status": InvoiceStatus.OPEN,
            }
        )

    @staticmethod
    def _invoice(row: Row) -> Invoice:
        return Invoice(
            id=row["id"],
            number=row["number"],
            customer_id=row["customer_id"],
            order_id=row["order_id"],
            shipment_id=row["shipment_id"],
            amount=Money(row["amount_minor"], row["currency"]),
            outstanding=Money(row["outstanding_minor"], row["currency"]),
            issued_on=row["issued_on"],
            due_on=row["due_on"],
            status=row["status"],
        )

    def _where(self, keep: Iterable[Row]) -> list[Invoice]:
        return [self._invoice(row) for row in sorted(keep, key=lambda row: row["id"])]

    def get(self, invoice_id: int) -> Invoice | None:
        row = self._row(invoice_id)
        return None if row is None else self._invoice(row)

    def open(self, customer_ids: Sequence[int] | None = None) -> list[Invoice]:
        wanted = None if customer_ids is None else set(customer_ids)
        rows = [
            row
            for row in self._rows().values()
            if row["status"] is InvoiceStatus.OPEN
            and (wanted is None or row["customer_id"] in wanted)
        ]
        rows.sort(key=lambda row: (row["due_on"], row["id"]))
        return [self._invoice(row) for row in rows]

    def for_customer(self, customer_id: int) -> list[Invoice]:
        return self._where(r for r in self._rows().values() if r["customer_id"] == customer_id)

    def for_order(self, order_id: int) -> list[Invoice]:
        return self._where(r for r in self._rows().values() if r["order_id"] == order_id)

    def try_reduce_outstanding(self, invoice_id: int, amount_minor: int) -> bool:
        row = self._row(invoice_id)
        if row is None:
            return False
        outstanding = row["outstanding_minor"] - amount_minor
        if outstanding < 0:
            return False
        status = InvoiceStatus.PAID if outstanding == 0 else InvoiceStatus.OPEN
        self._update(invoice_id, {"outstanding_minor": outstanding, "status": status})
        return True


class FakePaymentRepository(_Repository):
    table = "payments"

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
        return self._insert(
            {
                "number": number,
                "customer_id": customer_id,
                "amount_minor": amount_minor,
                "unallocated_minor": amount_minor,
                "currency": currency,
                "method": PaymentMethod(method),
                "received_on": received_on,
                "recorded_by": recorded_by,
                "recorded_at": recorded_at,
                "idempotency_key": idempotency_key,
                "note": note,
            }
        )

    @staticmethod
    def _payment(row: Row) -> Payment:
        return Payment(
            id=row["id"],
            number=row["number"],
            customer_id=row["customer_id"],
            amount=Money(row["amount_minor"], row["currency"]),
            unallocated=Money(row["unallocated_minor"], row["currency"]),
            method=row["method"],
            received_on=row["received_on"],
            recorded_by=row["recorded_by"],
            recorded_at=row["recorded_at"],
            idempotency_key=row["idempotency_key"],
            note=row["note"],
        )

    def get(self, payment_id: int) -> Payment | None:
        row = self._row(payment_id)
        return None if row is None else self._payment(row)

    def by_idempotency_key(self, key: str) -> Payment | None:
        for row in self._rows().values():
            if row["idempotency_key"] == key:
                return self._payment(row)
        return None

    def for_customer(self, customer_id: int) -> list[Payment]:
        return [
            self._payment(row)
            for _, row in sorted(self._rows().items())
            if row["customer_id"] == customer_id
        ]

    def with_credit(self, customer_id: int) -> list[Payment]:
        """Oldest first: by the day received, then in the order recorded (as in SQL)."""
        rows = sorted(self._rows().values(), key=lambda row: (row["received_on"], row["id"]))
        return [
            self._payment(row)
            for row in rows
            if row["customer_id"] == customer_id and row["unallocated_minor"] > 0
        ]

    def try_reduce_unallocated(self, payment_id: int, amount_minor: int) -> bool:
        row = self._row(payment_id)
        if row is None:
            return False
        unallocated = row["unallocated_minor"] - amount_minor
        if unallocated < 0:
            return False
        self._update(payment_id, {"unallocated_minor": unallocated})
        return True

    def add_allocation(
        self, payment_id: int, invoice_id: int, amount_minor: int, at: datetime
    ) -> None:
        self._insert(
            {
                "payment_id": payment_id,
                "invoice_id": invoice_id,
                "amount_minor": amount_minor,
                "at": at,
            },
            "allocations",
        )

    def allocations(
        self, *, payment_id: int | None = None, invoice_id: int | None = None
    ) -> list[Allocation]:
        payments = self._rows()
        return [
            Allocation(
                payment_id=row["payment_id"],
                invoice_id=row["invoice_id"],
                amount=Money(row["amount_minor"], payments[row["payment_id"]]["currency"]),
                at=row["at"],
            )
            for _, row in sorted(self._rows("allocations").items())
            if (payment_id is None or row["payment_id"] == payment_id)
            and (invoice_id is None or row["invoice_id"] == invoice_id)
        ]


class FakeAuditRepository(_Repository):
    table = "audit"

    def add(self, entry: AuditEntry) -> None:
        self._insert({"entry": entry})

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        for entry in entries:
            self.add(entry)

    def list(
        self, *, object_type: str | None = None, object_id: str | None = None
    ) -> list[AuditEntry]:
        return [
            dataclasses.replace(row["entry"], id=row_id)
            for row_id, row in sorted(self._rows().items())
            if (object_type is None or row["entry"].object_type == object_type)
            and (object_id is None or row["entry"].object_id == object_id)
        ]


# --- notifications --------------------------------------------------------------------------


class FakeOutboxRepository(_Repository):
    table = "outbox"

    def __init__(self, uow: FakeUnitOfWork) -> None:
        super().__init__(uow)
        self.added = 0

    @staticmethod
    def _message(row: Row) -> OutboxMessage:
        return OutboxMessage(
            id=row["id"],
            key=row["key"],
            chat_id=row["chat_id"],
            parts=row["parts"],
            status=row["status"],
            not_before=row["not_before"],
            created_at=row["created_at"],
            parts_sent=row["parts_sent"],
            message_ids=tuple(row["message_ids"]),
            attempts=row["attempts"],
            error=row["error"],
            claimed_by=row["claimed_by"],
            claimed_until=row["claimed_until"],
            sent_at=row["sent_at"],
        )

    def _by_key(self, key: str) -> Row | None:
        return next((row for row in self._rows().values() if row["key"] == key), None)

    def add(
        self, key: str, chat_id: int, parts: str, *, at: datetime, not_before: datetime | None
    ) -> bool:
        if self._by_key(key) is not None:
            return False
        self._insert(
            {
                "key": key,
                "chat_id": chat_id,
                "parts": parts,
                "status": "pending",
                "not_before": not_before or at,
                "created_at": at,
                "parts_sent": 0,
                "message_ids": (),
                "attempts": 0,
                "error": "",
                "claimed_by": None,
                "claimed_until": None,
                "sent_at": None,
            }
        )
        self.added += 1
        return True

    def get(self, key: str) -> OutboxMessage | None:
        row = self._by_key(key)
        return self._message(row) if row else None

    def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        rows = self._rows()
        busy = {
            row["chat_id"]
            for row in rows.values()
            if row["status"] == "pending"
            and row["claimed_until"] is not None
            and row["claimed_until"] > now
            and row["claimed_by"] != owner
        }
        due = [
            row_id
            for row_id, row in sorted(rows.items())
            if row["status"] == "pending"
            and row["not_before"] <= now
            and (row["claimed_until"] is None or row["claimed_until"] <= now)
            and row["chat_id"] not in busy
        ][:limit]
        for row_id in due:
            self._update(row_id, {"claimed_by": owner, "claimed_until": lease_until})
        return [self._message(rows[row_id]) for row_id in due]

    def renew(self, message_ids: Sequence[int], owner: str, lease_until: datetime) -> int:
        renewed = 0
        for message_id in message_ids:
            row = self._row(message_id)
            if row is not None and row["claimed_by"] == owner and row["status"] == "pending":
                self._update(message_id, {"claimed_until": lease_until})
                renewed += 1
        return renewed

    def progress(
        self, message_id: int, owner: str, parts_sent: int, message_ids: Sequence[int]
    ) -> bool:
        row = self._row(message_id)
        if row is None or row["claimed_by"] != owner or row["status"] != "pending":
            return False
        self._update(message_id, {"parts_sent": parts_sent, "message_ids": tuple(message_ids)})
        return True

    def finish(
        self, message_id: int, owner: str | None, status: str, at: datetime, error: str = ""
    ) -> bool:
        row = self._row(message_id)
        if row is None or row["status"] != "pending":
            return False
        if owner is not None and row["claimed_by"] != owner:
            return False
        self._update(
            message_id,
            {
                "status": status,
                "sent_at": at if status == "sent" else None,
                "claimed_until": None,
                "error": error[:300],
            },
        )
        return True

    def release(
        self, message_id: int, owner: str, not_before: datetime, error: str, *, failed: bool
    ) -> None:
        row = self._row(message_id)
        if row is None or row["claimed_by"] != owner:
            return
        self._update(
            message_id,
            {
                "claimed_by": None,
                "claimed_until": None,
                "not_before": not_before,
                "error": error[:300],
                "attempts": row["attempts"] + (1 if failed else 0),
            },
        )
        for other_id, other in list(self._rows().items()):
            if (
                other["chat_id"] == row["chat_id"]
                and other["status"] == "pending"
                and other_id > message_id
                and other["not_before"] < not_before
            ):
                self._update(other_id, {"not_before": not_before})

    def set_parts(self, message_id: int, owner: str, parts: str) -> None:
        row = self._row(message_id)
        if row is not None and row["claimed_by"] == owner:
            self._update(message_id, {"parts": parts})

    def skip_chat(self, chat_id: int, at: datetime, reason: str) -> int:
        skipped = 0
        for row_id, row in list(self._rows().items()):
            if row["chat_id"] == chat_id and row["status"] == "pending":
                self._update(
                    row_id, {"status": "skipped", "error": reason[:300], "claimed_until": None}
                )
                skipped += 1
        return skipped

    def pending(self, *, now: datetime | None = None) -> int:
        return sum(
            1
            for row in self._rows().values()
            if row["status"] == "pending"
            and (
                now is None
                or (
                    row["not_before"] <= now
                    and (row["claimed_until"] is None or row["claimed_until"] <= now)
                )
            )
        )

    def for_chat(self, chat_id: int) -> list[OutboxMessage]:
        return [
            self._message(row)
            for _, row in sorted(self._rows().items())
            if row["chat_id"] == chat_id
        ]

    def put_blob(self, data: bytes, at: datetime) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self._state.blobs.setdefault(digest, (data, None, at))
        return digest

    def blob(self, digest: str) -> tuple[bytes, str | None] | None:
        found = self._state.blobs.get(digest)
        return (found[0], found[1]) if found else None

    def set_file_id(self, digest: str, file_id: str) -> None:
        found = self._state.blobs.get(digest)
        if found is not None and found[1] is None:
            self._state.blobs[digest] = (found[0], file_id, found[2])

    def purge(self, before: datetime) -> int:
        rows = self._rows()
        gone = [i for i, r in rows.items() if r["status"] != "pending" and r["created_at"] < before]
        for row_id in gone:
            del rows[row_id]
        for digest, (_, _, at) in list(self._state.blobs.items()):
            if at < before and not any(digest in r["parts"] for r in rows.values()):
                del self._state.blobs[digest]
        return len(gone)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._uow.bell.subscribe(callback)

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        for row_id, row in list(self._rows().items()):
            if row["chat_id"] == old_chat_id and row["status"] == "pending":
                self._update(row_id, {"chat_id": new_chat_id})


class FakeJobRunRepository(_Repository):
    def try_claim(self, job: str, slot: datetime, by: str, at: datetime) -> bool:
        if (job, slot) in self._state.job_runs:
            return False
        self._state.job_runs[(job, slot)] = by
        return True

    def claimed(self, job: str, slot: datetime) -> bool:
        return (job, slot) in self._state.job_runs

    def last_slot(self, job: str) -> datetime | None:
        return max((slot for name, slot in self._state.job_runs if name == job), default=None)


class FakeLowStockRepository(_Repository):
    def try_begin(self, product_id: int, at: datetime) -> int | None:
        episode, low = self._state.low_stock.get(product_id, (0, False))
        if low:
            return None
        self._state.low_stock[product_id] = (episode + 1, True)
        return episode + 1

    def try_end(self, product_id: int, at: datetime) -> bool:
        episode, low = self._state.low_stock.get(product_id, (0, False))
        if not low:
            return False
        self._state.low_stock[product_id] = (episode, False)
        return True

    def low_products(self) -> set[int]:
        return {product for product, (_, low) in self._state.low_stock.items() if low}


class FakeReportSubscriptionRepository(_Repository):
    def get(self, chat_id: int) -> ReportSubscription | None:
        return self._state.report_subscriptions.get(chat_id)

    def list(self) -> list[ReportSubscription]:
        return [sub for _, sub in sorted(self._state.report_subscriptions.items())]

    def save(self, subscription: ReportSubscription, at: datetime) -> None:
        send_at = time(subscription.send_at.hour, subscription.send_at.minute)
        self._state.report_subscriptions[subscription.chat_id] = dataclasses.replace(
            subscription, send_at=send_at, title=subscription.title[:120]
        )

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        subs = self._state.report_subscriptions
        if old_chat_id in subs and new_chat_id not in subs:
            subs[new_chat_id] = dataclasses.replace(subs.pop(old_chat_id), chat_id=new_chat_id)


class FakeChatStateRepository(_Repository):
    def set_inactive(self, chat_id: int, reason: str, at: datetime) -> None:
        self._state.inactive_chats.setdefault(chat_id, reason[:200])

    def set_active(self, chat_id: int) -> bool:
        return self._state.inactive_chats.pop(chat_id, None) is not None

    def inactive(self) -> set[int]:
        return set(self._state.inactive_chats)


# --- unit of work ---------------------------------------------------------------------------


class FakeConversationRepository(_Repository):
    def get(self, chat_id: int, user_id: int) -> ConversationRecord | None:
        found = self._state.conversations.get((chat_id, user_id))
        return None if found is None else dataclasses.replace(found)

    def save(self, record: ConversationRecord) -> None:
        self._state.conversations[(record.chat_id, record.user_id)] = dataclasses.replace(record)


class FakeProcessedUpdateRepository(_Repository):
    def try_record(self, update_id: int, at: datetime) -> bool:
        if update_id in self._state.processed_updates:
            return False
        self._state.processed_updates.add(update_id)
        return True


class FakeChatTopicRepository(_Repository):
    def chats(self, topic: str) -> list[int]:
        return sorted(chat for chat, name in self._state.chat_topics if name == topic)

    def titles(self, topic: str) -> dict[int, str]:
        return {
            chat: title for (chat, name), title in self._state.chat_topics.items() if name == topic
        }

    def set(self, chat_id: int, topic: str, on: bool, *, title: str = "") -> None:
        if on:
            self._state.chat_topics[(chat_id, topic)] = title
        else:
            self._state.chat_topics.pop((chat_id, topic), None)

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        topics = self._state.chat_topics
        for chat, name in list(topics):
            if chat == old_chat_id:
                topics[(new_chat_id, name)] = topics.pop((chat, name))
        self._state.sent_messages[:] = [
            (key, new_chat_id if chat == old_chat_id else chat, message)
            for key, chat, message in self._state.sent_messages
        ]
        for (chat, user), record in list(self._state.conversations.items()):
            if chat == old_chat_id:
                del self._state.conversations[(chat, user)]
                record.chat_id = new_chat_id
                self._state.conversations[(new_chat_id, user)] = record
        self._uow.outbox.move_chat(old_chat_id, new_chat_id)
        self._uow.report_subscriptions.move_chat(old_chat_id, new_chat_id)
        self._state.inactive_chats.pop(old_chat_id, None)


class FakeSentMessageRepository(_Repository):
    def add(self, key: str, chat_id: int, message_id: int, at: datetime) -> None:
        if (key, chat_id, message_id) not in self._state.sent_messages:
            self._state.sent_messages.append((key, chat_id, message_id))

    def for_key(self, key: str) -> list[tuple[int, int]]:
        return [(chat, message) for name, chat, message in self._state.sent_messages if name == key]


class FakeReportRepository(_Repository):
    """The report queries, computed by scanning the rows (same rules as storage/reports.py)."""

    def daily_totals(self, first: date, last: date) -> list[DayTotals]:
        days: dict[date, list[int]] = {}
        for row in self._rows("invoices").values():
            if first <= row["issued_on"] <= last:
                days.setdefault(row["issued_on"], [0, 0, 0])[0] += row["amount_minor"]
        for row in self._rows("payments").values():
            if first <= row["received_on"] <= last:
                credit_note = row["method"] is PaymentMethod.CREDIT_NOTE
                days.setdefault(row["received_on"], [0, 0, 0])[1 if credit_note else 2] += row[
                    "amount_minor"
                ]
        money = self._money
        return [
            DayTotals(day, money(invoiced), money(credited), money(collected))
            for day, (invoiced, credited, collected) in sorted(days.items())
        ]

    def orders_placed(self, start: datetime, end: datetime) -> tuple[int, Money]:
        placed = [
            row
            for row in self._rows("orders").values()
            if start <= row["created_at"] < end
            and row["status"] not in (OrderStatus.DRAFT, OrderStatus.CANCELLED)
        ]
        return len(placed), self._money(sum(row["total_minor"] for row in placed))

    def moved_at_cost(
        self, kinds: Sequence[MoveKind], start: datetime, end: datetime
    ) -> list[MovedAtCost]:
        sums: dict[tuple[str, int, int], int] = {}
        wanted = {MoveKind(kind) for kind in kinds}
        for row in self._rows("stock_moves").values():
            move: StockMove = row["move"]
            if move.kind in wanted and start <= move.at < end:
                cost = 0 if move.unit_cost is None else move.unit_cost.minor
                key = (str(move.kind), move.product_id, cost)
                sums[key] = sums.get(key, 0) + move.on_hand_delta.milli
        return [
            MovedAtCost(MoveKind(kind), product_id, self._money(cost), Quantity(delta))
            for (kind, product_id, cost), delta in sorted(sums.items())
        ]

    def shipped_lines(self, start: datetime, end: datetime) -> list[ShippedLine]:
        shipments = self._rows("shipments")
        order_lines = self._rows("order_lines")
        confirmed = [
            (shipments[line["shipment_id"]]["confirmed_at"], line["shipment_id"], line)
            for line in self._rows("shipment_lines").values()
            if shipments[line["shipment_id"]]["status"] is ShipmentStatus.CONFIRMED
        ]
        confirmed.sort(key=lambda item: (item[0], item[1], item[2]["order_line_id"]))
        shipped: dict[int, int] = {}  # order line id -> shipped so far, in confirmation order
        found: list[ShippedLine] = []
        for at, _, line in confirmed:
            before = shipped.get(line["order_line_id"], 0)
            shipped[line["order_line_id"]] = before + line["quantity_milli"]
            if start <= at < end:
                order_line = order_lines[line["order_line_id"]]
                found.append(
                    ShippedLine(
                        product_id=line["product_id"],
                        quantity=Quantity(line["quantity_milli"]),
                        shipped_before=Quantity(before),
                        unit_price=self._money(order_line["unit_price_minor"]),
                        discount_bp=order_line["discount_bp"],
                    )
                )
        return found

    def backordered(
        self, product_ids: Sequence[int] | None = None
    ) -> dict[tuple[int, int], Quantity]:
        wanted = None if product_ids is None else set(product_ids)
        orders = self._rows("orders")
        waiting: dict[tuple[int, int], int] = {}
        for line in self._rows("order_lines").values():
            order = orders[line["order_id"]]
            remaining = line["quantity_milli"] - line["shipped_milli"] - line["reserved_milli"]
            if (
                order["status"] in OPEN_ORDER_STATUSES
                and remaining > 0
                and (wanted is None or line["product_id"] in wanted)
            ):
                key = (line["product_id"], order["warehouse_id"])
                waiting[key] = waiting.get(key, 0) + remaining
        return {key: Quantity(milli) for key, milli in sorted(waiting.items())}

    def _money(self, minor: int) -> Money:
        return Money(minor, self._currency)


class FakeUnitOfWork:
    """One transaction over a FakeDatabase: a private copy of the state until ``commit()``."""

    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self.clock: Clock = db.clock
        self.policy: LedgerPolicy = db.policy
        self.events: list[object] = []
        self.use_case_depth = 0
        self.isolate_use_cases = True
        self.committed = False
        self._begin()
        self.users = FakeUserRepository(self)
        self.invites = FakeInviteRepository(self)
        self.customers = FakeCustomerRepository(self)
        self.products = FakeProductRepository(self)
        self.warehouses = FakeWarehouseRepository(self)
        self.stock = FakeStockRepository(self)
        self.sequences = FakeSequenceRepository(self)
        self.orders = FakeOrderRepository(self)
        self.shipments = FakeShipmentRepository(self)
        self.invoices = FakeInvoiceRepository(self)
        self.payments = FakePaymentRepository(self)
        self.audit = FakeAuditRepository(self)
        self.conversations = FakeConversationRepository(self)
        self.updates = FakeProcessedUpdateRepository(self)
        self.chat_topics = FakeChatTopicRepository(self)
        self.sent_messages = FakeSentMessageRepository(self)
        self.outbox = FakeOutboxRepository(self)
        self.job_runs = FakeJobRunRepository(self)
        self.low_stock = FakeLowStockRepository(self)
        self.report_subscriptions = FakeReportSubscriptionRepository(self)
        self.chat_states = FakeChatStateRepository(self)
        self.bell = db.bell
        self.reports = FakeReportRepository(self)

    def _begin(self) -> None:
        self._base = self._db.state  # never mutated: commits replace db.state
        self.state = self._base.copy()

    def __enter__(self) -> FakeUnitOfWork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.rollback()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Undo only what happened inside when an exception escapes (and re-raise it)."""
        snapshot = self.state.copy()
        try:
            yield
        except BaseException:
            self.state = snapshot
            raise

    def commit(self) -> None:
        published: list[object] = []
        if self._db.publisher is not None:
            while self.events:
                batch, self.events = self.events, []
                published.extend(batch)
                self._db.publisher(self, batch)
        with self._db.commit_lock:
            if self.state != self._base:
                if self._db.state is not self._base:
                    self._begin()
                    self.events.clear()
                    self.outbox.added = 0
                    raise TransientConflict("another unit of work committed first")
                self._db.state = self.state
                self._db.commits += 1
        self._db.events.extend(published + self.events)
        self.events.clear()
        self.committed = True
        self._begin()
        if self.outbox.added:
            self.outbox.added = 0
            self._db.bell.ring()

    def rollback(self) -> None:
        self.events.clear()
        self.outbox.added = 0
        self._begin()
