"""SQL repositories: SQLAlchemy Core statements over the SQLModel tables, mapped to domain objects.

Nothing here commits; every statement goes through the unit of work's ``execute`` so that
lock and serialization failures surface as TransientConflict. ``try_*`` methods are single
conditional statements: the database, not Python, decides whether they apply.
"""

from __future__ import annotations

from collections import defaultdict, namedtuple
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, and_, bindparam, case, distinct, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.model import (
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
from domain.ports import ConversationRecord
from domain.quantity import Quantity
from storage.prepared import Prepared
from storage.tables import (
    AllocationRow,
    AuditRow,
    ChatTopicRow,
    ConversationRow,
    CustomerRow,
    DocSequenceRow,
    InviteRow,
    InvoiceRow,
    PaymentRow,
    ProcessedUpdateRow,
    ProductRow,
    SalesOrderLineRow,
    SalesOrderRow,
    SentMessageRow,
    ShipmentLineRow,
    ShipmentRow,
    StockBalanceRow,
    StockMoveRow,
    UserRow,
    WarehouseRow,
)

if TYPE_CHECKING:
    from storage.database import SqlUnitOfWork

USERS = UserRow.__table__
INVITES = InviteRow.__table__
CUSTOMERS = CustomerRow.__table__
PRODUCTS = ProductRow.__table__
WAREHOUSES = WarehouseRow.__table__
BALANCES = StockBalanceRow.__table__
MOVES = StockMoveRow.__table__
SEQUENCES = DocSequenceRow.__table__
ORDERS = SalesOrderRow.__table__
LINES = SalesOrderLineRow.__table__
SHIPMENTS = ShipmentRow.__table__
SHIPMENT_LINES = ShipmentLineRow.__table__
INVOICES = InvoiceRow.__table__
PAYMENTS = PaymentRow.__table__
ALLOCATIONS = AllocationRow.__table__
AUDIT = AuditRow.__table__
CONVERSATIONS = ConversationRow.__table__
PROCESSED = ProcessedUpdateRow.__table__
CHAT_TOPICS = ChatTopicRow.__table__
SENT = SentMessageRow.__table__

ALIAS_SEPARATOR = "|"

# Prebuilt statements for the hot paths. Building a Core statement and its cache key costs
# several times more than running it on SQLite, so these are built once, with bind parameters
# (named b_* so they never clash with the columns an UPDATE sets), and only the parameters
# change per call. They compile to the same SQL as building them inline did.


def _b(name: str, column: Any = None) -> Any:
    """A named bind parameter, typed like ``column`` when given (so TypeDecorators apply)."""
    return bindparam(name, type_=None if column is None else column.type)


def _b_in(name: str) -> Any:
    """An expanding bind parameter for ``IN (...)`` lists."""
    return bindparam(name, expanding=True)


def _with_lines(parent: Any, lines: Any, parent_key: Any, order_by: Any) -> Any:
    """``parent`` LEFT JOIN its ``lines``, the line columns labelled ``line_<name>``."""
    return (
        select(parent, *[column.label(f"line_{column.name}") for column in lines.c])
        .select_from(parent.outerjoin(lines, parent_key == parent.c.id))
        .order_by(order_by)
    )


_LINE_TUPLES: dict[Any, Any] = {}


def _joined_lines(rows: Sequence[Row[Any]], lines: Any) -> list[Any]:
    """The line part of ``_with_lines`` rows (their last columns), as the table's named tuples."""
    make = _LINE_TUPLES.get(lines)
    if make is None:
        make = _LINE_TUPLES[lines] = namedtuple(
            f"{lines.name}_row", [column.name for column in lines.c]
        )._make
    width = len(lines.c)
    return [make(row[-width:]) for row in rows if row.line_id is not None]


_INSERT_ID: dict[Any, Any] = {}
_LOCK_ROW: dict[Any, Any] = {}
IN_CHUNK = 500  # values per IN (…) list: well below SQLite's bound-parameter limit


class _Repo:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @property
    def _currency(self) -> str:
        return self._uow.policy.currency

    def _exec(self, statement: Any, params: Any = None) -> Any:
        return self._uow.execute(statement, params)

    def _insert_id(self, table: Any, values: dict[str, Any]) -> int:
        shape = (table, tuple(values))
        statement = _INSERT_ID.get(shape)
        if statement is None:
            statement = _INSERT_ID[shape] = Prepared(
                insert(table).returning(table.c.id), keys=tuple(values)
            )
        return int(self._exec(statement, values).scalar_one())

    def _lock_row(self, table: Any, row_id: int) -> None:
        """A row lock on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE).

        FOR NO KEY UPDATE, not FOR UPDATE: it serialises our lockers just the same, but does
        not block the FOR KEY SHARE that other transactions' foreign-key checks take when they
        insert rows pointing here (a stock move of this product), which would deadlock.
        """
        if self._uow.dialect == "postgresql":
            statement = _LOCK_ROW.get(table)
            if statement is None:
                statement = _LOCK_ROW[table] = (
                    select(table.c.id)
                    .where(table.c.id == _b("b_id"))
                    .with_for_update(key_share=True)
                )
            self._exec(statement, {"b_id": row_id})

    def _upsert_nothing(self, table: Any, values: dict[str, Any]) -> None:
        builder = pg_insert if self._uow.dialect == "postgresql" else sqlite_insert
        self._exec(builder(table).values(**values).on_conflict_do_nothing())


# --- users and invites ---------------------------------------------------------------------


_ROLES = {str(role): role for role in Role}  # a dict lookup: Role(text) costs several calls


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=_ROLES[row.role],
        telegram_user_id=row.telegram_user_id,
        customer_id=row.customer_id,
        language=row.language,
        active=bool(row.active),
        blocked_bot=bool(row.blocked_bot),
    )


_USER_BY_ID = Prepared(select(USERS).where(USERS.c.id == _b("b_id")))
_USER_BY_TELEGRAM_ID = Prepared(
    select(USERS).where(USERS.c.telegram_user_id == _b("b_telegram_id"))
)
_USERS_ALL = select(USERS).order_by(USERS.c.id)
_USERS_ACTIVE = _USERS_ALL.where(USERS.c.active.is_(True))
_USERS_IN_ROLES = Prepared(_USERS_ALL.where(USERS.c.role.in_(_b_in("b_roles"))))
_USERS_ACTIVE_IN_ROLES = Prepared(_USERS_ACTIVE.where(USERS.c.role.in_(_b_in("b_roles"))))


class SqlUsers(_Repo):
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
        return self._insert_id(
            USERS,
            {
                "name": name,
                "role": str(role),
                "telegram_user_id": telegram_user_id,
                "customer_id": customer_id,
                "language": language,
                "active": True,
                "blocked_bot": False,
                "created_at": created_at,
            },
        )

    def get(self, user_id: int) -> User | None:
        row = self._exec(_USER_BY_ID, {"b_id": user_id}).first()
        return _user(row) if row else None

    def by_telegram_id(self, telegram_user_id: int) -> User | None:
        row = self._exec(_USER_BY_TELEGRAM_ID, {"b_telegram_id": telegram_user_id}).first()
        return _user(row) if row else None

    def list(self, *, active_only: bool = True, roles: Sequence[Role] | None = None) -> list[User]:
        if roles is None:
            rows = self._exec(_USERS_ACTIVE if active_only else _USERS_ALL)
        else:
            statement = _USERS_ACTIVE_IN_ROLES if active_only else _USERS_IN_ROLES
            rows = self._exec(statement, {"b_roles": sorted(str(role) for role in roles)})
        return [_user(row) for row in rows]

    def set_active(self, user_id: int, active: bool) -> None:
        self._exec(update(USERS).where(USERS.c.id == user_id).values(active=active))

    def set_language(self, user_id: int, language: str | None) -> None:
        self._exec(update(USERS).where(USERS.c.id == user_id).values(language=language))

    def set_blocked(self, telegram_user_id: int, blocked: bool) -> None:
        self._exec(
            update(USERS)
            .where(USERS.c.telegram_user_id == telegram_user_id, USERS.c.blocked_bot != blocked)
            .values(blocked_bot=blocked)
        )

    def update_role(self, user_id: int, role: Role, customer_id: int | None) -> None:
        self._exec(
            update(USERS)
            .where(USERS.c.id == user_id)
            .values(role=str(role), customer_id=customer_id)
        )


def _invite(row: Row[Any]) -> Invite:
    return Invite(
        id=row.id,
        role=Role(row.role),
        customer_id=row.customer_id,
        name=row.name,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        used_by=row.used_by,
    )


class SqlInvites(_Repo):
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
        return self._insert_id(
            INVITES,
            {
                "token_hash": token_hash,
                "role": str(role),
                "customer_id": customer_id,
                "name": name,
                "created_by": created_by,
                "created_at": created_at,
                "expires_at": expires_at,
            },
        )

    def by_token_hash(self, token_hash: str) -> Invite | None:
        row = self._exec(select(INVITES).where(INVITES.c.token_hash == token_hash)).first()
        return _invite(row) if row else None

    def try_mark_used(self, invite_id: int, user_id: int, at: datetime) -> bool:
        result = self._exec(
            update(INVITES)
            .where(INVITES.c.id == invite_id, INVITES.c.used_at.is_(None))
            .values(used_at=at, used_by=user_id)
        )
        return result.rowcount == 1


# --- customers, products, warehouses ---------------------------------------------------------


_CUSTOMER_BY_ID_STATEMENT = select(CUSTOMERS).where(CUSTOMERS.c.id == _b("b_id"))
_CUSTOMER_BY_ID = Prepared(_CUSTOMER_BY_ID_STATEMENT)
_CUSTOMER_BY_ID_LOCKED = _CUSTOMER_BY_ID_STATEMENT.with_for_update(key_share=True)
_CUSTOMER_ADD_TO_BALANCE = Prepared(
    update(CUSTOMERS)
    .where(CUSTOMERS.c.id == _b("b_id"))
    .values(balance_minor=CUSTOMERS.c.balance_minor + _b("b_delta", CUSTOMERS.c.balance_minor))
)


_CUSTOMER_LISTS: dict[tuple[bool, bool, bool], Any] = {}


class SqlCustomers(_Repo):
    def _customer(self, row: Row[Any]) -> Customer:
        limit = row.credit_limit_minor
        return Customer(
            id=row.id,
            name=row.name,
            phone=row.phone,
            address=row.address,
            sales_rep_id=row.sales_rep_id,
            credit_limit=None if limit is None else Money(limit, self._currency),
            payment_terms_days=row.payment_terms_days,
            tier=Tier(row.tier),
            birthday=row.birthday,
            notes=row.notes,
            active=bool(row.active),
            balance=Money(row.balance_minor, self._currency),
        )

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
        return self._insert_id(
            CUSTOMERS,
            {
                "name": name,
                "name_key": name_key,
                "phone": phone,
                "phone_key": phone_key,
                "address": address,
                "sales_rep_id": sales_rep_id,
                "credit_limit_minor": credit_limit_minor,
                "payment_terms_days": payment_terms_days,
                "tier": str(tier),
                "birthday": birthday,
                "notes": notes,
                "active": True,
                "balance_minor": 0,
                "created_at": created_at,
            },
        )

    def get(self, customer_id: int) -> Customer | None:
        row = self._exec(_CUSTOMER_BY_ID, {"b_id": customer_id}).first()
        return self._customer(row) if row else None

    def by_phone_key(self, phone_key: str) -> list[Customer]:
        rows = self._exec(select(CUSTOMERS).where(CUSTOMERS.c.phone_key == phone_key))
        return [self._customer(row) for row in rows]

    def by_name_key(self, name_key: str) -> list[Customer]:
        rows = self._exec(select(CUSTOMERS).where(CUSTOMERS.c.name_key == name_key))
        return [self._customer(row) for row in rows]

    def list(
        self,
        *,
        active_only: bool = True,
        sales_rep_id: int | None = None,
        with_unassigned: bool = False,
    ) -> list[Customer]:
        shape = (active_only, sales_rep_id is not None, with_unassigned)
        query = _CUSTOMER_LISTS.get(shape)
        if query is None:  # built once per combination of filters
            query = select(CUSTOMERS).order_by(CUSTOMERS.c.id)
            if active_only:
                query = query.where(CUSTOMERS.c.active.is_(True))
            if sales_rep_id is not None:
                mine = CUSTOMERS.c.sales_rep_id == _b("b_rep")
                query = query.where(
                    or_(mine, CUSTOMERS.c.sales_rep_id.is_(None)) if with_unassigned else mine
                )
            _CUSTOMER_LISTS[shape] = query = Prepared(query)
        return [self._customer(row) for row in self._exec(query, {"b_rep": sales_rep_id})]

    def update(self, customer_id: int, **fields: object) -> None:
        values = {k: (str(v) if isinstance(v, Tier) else v) for k, v in fields.items()}
        values.pop("balance_minor", None)  # the balance only moves with the ledger
        self._exec(update(CUSTOMERS).where(CUSTOMERS.c.id == customer_id).values(**values))

    def lock(self, customer_id: int) -> None:
        self._lock_row(CUSTOMERS, customer_id)

    def get_locked(self, customer_id: int) -> Customer | None:
        statement = _CUSTOMER_BY_ID_LOCKED if self._uow.dialect == "postgresql" else _CUSTOMER_BY_ID
        row = self._exec(statement, {"b_id": customer_id}).first()
        return self._customer(row) if row else None

    def add_to_balance(self, customer_id: int, delta_minor: int) -> None:
        self._exec(_CUSTOMER_ADD_TO_BALANCE, {"b_id": customer_id, "b_delta": delta_minor})


def _split_aliases(text: str) -> tuple[str, ...]:
    return tuple(a for a in text.split(ALIAS_SEPARATOR) if a)


def _product_columns(fields: Mapping[str, object]) -> dict[str, Any]:
    """Column values for a product row: the aliases sequence becomes "a|b" text."""
    values = dict(fields)
    if "aliases" in values:
        values["aliases"] = ALIAS_SEPARATOR.join(values["aliases"])  # type: ignore[arg-type]
    return values


_PRODUCTS_BY_CHANGE = select(PRODUCTS).order_by(PRODUCTS.c.updated_at, PRODUCTS.c.id)
_PRODUCTS_CHANGED_SINCE = Prepared(
    _PRODUCTS_BY_CHANGE.where(PRODUCTS.c.updated_at >= _b("b_since", PRODUCTS.c.updated_at))
)
_PRODUCT_BY_ID = Prepared(select(PRODUCTS).where(PRODUCTS.c.id == _b("b_id")))
_PRODUCTS_BY_IDS = Prepared(select(PRODUCTS).where(PRODUCTS.c.id.in_(_b_in("b_ids"))))


class SqlProducts(_Repo):
    def _product(self, row: Row[Any]) -> Product:
        return Product(
            id=row.id,
            sku=row.sku,
            name=row.name,
            unit=row.unit,
            price=Money(row.price_minor, self._currency),
            cost=Money(row.cost_minor, self._currency),
            aliases=_split_aliases(row.aliases),
            reorder_point=Quantity(row.reorder_point_milli),
            reorder_qty=Quantity(row.reorder_qty_milli),
            active=bool(row.active),
        )

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
        return self._insert_id(
            PRODUCTS,
            {
                "sku": sku,
                "name": name,
                "unit": unit,
                "price_minor": price_minor,
                "cost_minor": cost_minor,
                "aliases": ALIAS_SEPARATOR.join(aliases),
                "reorder_point_milli": reorder_point_milli,
                "reorder_qty_milli": reorder_qty_milli,
                "active": active,
                "updated_at": updated_at,
            },
        )

    def get(self, product_id: int) -> Product | None:
        row = self._exec(_PRODUCT_BY_ID, {"b_id": product_id}).first()
        return self._product(row) if row else None

    def by_sku(self, sku: str) -> Product | None:
        row = self._exec(select(PRODUCTS).where(PRODUCTS.c.sku == sku)).first()
        return self._product(row) if row else None

    def get_many(self, product_ids: Sequence[int]) -> dict[int, Product]:
        ids = sorted(set(product_ids))
        if not ids:
            return {}
        rows = self._exec(_PRODUCTS_BY_IDS, {"b_ids": ids})
        return {row.id: self._product(row) for row in rows}

    def list(self, *, active_only: bool = True) -> list[Product]:
        query = select(PRODUCTS).order_by(PRODUCTS.c.id)
        if active_only:
            query = query.where(PRODUCTS.c.active.is_(True))
        return [self._product(row) for row in self._exec(query)]

    def update(self, product_id: int, **fields: object) -> None:
        values = dict(fields)
        if "aliases" in values:
            values["aliases"] = ALIAS_SEPARATOR.join(values["aliases"])  # type: ignore[arg-type]
        self._exec(update(PRODUCTS).where(PRODUCTS.c.id == product_id).values(**values))

    def lock(self, product_id: int) -> None:
        self._lock_row(PRODUCTS, product_id)

    def changed_since(self, since: datetime | None) -> tuple[list[Product], datetime | None]:
        if since is None:
            rows = list(self._exec(_PRODUCTS_BY_CHANGE))
        else:
            rows = list(self._exec(_PRODUCTS_CHANGED_SINCE, {"b_since": since}))
        newest = rows[-1].updated_at if rows else since
        return [self._product(row) for row in rows], newest

    def by_skus(self, skus: Sequence[str]) -> dict[str, Product]:
        wanted = sorted(set(skus))
        found: dict[str, Product] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            for row in self._exec(select(PRODUCTS).where(PRODUCTS.c.sku.in_(chunk))):
                found[row.sku] = self._product(row)
        return found

    def add_many(self, rows: Sequence[Mapping[str, object]]) -> list[int]:
        if not rows:
            return []
        values = [_product_columns(row) for row in rows]
        # One executemany; SQLAlchemy batches it as multi-row INSERT … RETURNING.
        statement = insert(PRODUCTS).returning(PRODUCTS.c.id, sort_by_parameter_order=True)
        return [int(product_id) for product_id in self._exec(statement, values).scalars()]

    def update_many(self, changes: Sequence[tuple[int, Mapping[str, object]]]) -> None:
        # executemany needs the same columns in every parameter set: group by column set.
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for product_id, fields in changes:
            values = _product_columns(fields)
            groups[tuple(sorted(values))].append({**values, "b_product_id": product_id})
        for columns, params in groups.items():
            statement = (
                update(PRODUCTS)
                .where(PRODUCTS.c.id == bindparam("b_product_id"))
                .values({column: bindparam(column) for column in columns})
            )
            self._exec(statement, params)


def _warehouse(row: Row[Any]) -> Warehouse:
    return Warehouse(id=row.id, code=row.code, name=row.name, is_default=bool(row.is_default))


_WAREHOUSES = Prepared(select(WAREHOUSES).order_by(WAREHOUSES.c.id))
_WAREHOUSE_BY_ID = Prepared(select(WAREHOUSES).where(WAREHOUSES.c.id == _b("b_id")))
_DEFAULT_WAREHOUSE = Prepared(
    select(WAREHOUSES).where(WAREHOUSES.c.is_default.is_(True)).order_by(WAREHOUSES.c.id)
)


class SqlWarehouses(_Repo):
    def add(self, *, code: str, name: str, is_default: bool) -> int:
        return self._insert_id(WAREHOUSES, {"code": code, "name": name, "is_default": is_default})

    def get(self, warehouse_id: int) -> Warehouse | None:
        row = self._exec(_WAREHOUSE_BY_ID, {"b_id": warehouse_id}).first()
        return _warehouse(row) if row else None

    def by_code(self, code: str) -> Warehouse | None:
        row = self._exec(select(WAREHOUSES).where(WAREHOUSES.c.code == code)).first()
        return _warehouse(row) if row else None

    def default(self) -> Warehouse | None:
        row = self._exec(_DEFAULT_WAREHOUSE).first()
        return _warehouse(row) if row else None

    def list(self) -> list[Warehouse]:
        return [_warehouse(row) for row in self._exec(_WAREHOUSES)]


# --- stock -----------------------------------------------------------------------------------


def _balance(row: Row[Any]) -> StockBalance:
    return StockBalance(
        product_id=row.product_id,
        warehouse_id=row.warehouse_id,
        on_hand=Quantity(row.on_hand_milli),
        reserved=Quantity(row.reserved_milli),
    )


_BALANCE_KEY = (
    BALANCES.c.product_id == _b("b_product_id"),
    BALANCES.c.warehouse_id == _b("b_warehouse_id"),
)
_ON_HAND_AFTER = BALANCES.c.on_hand_milli + _b("b_on_hand_delta", BALANCES.c.on_hand_milli)
_RESERVED_AFTER = BALANCES.c.reserved_milli + _b("b_reserved_delta", BALANCES.c.reserved_milli)
_STOCK_TRY_CHANGE = Prepared(
    update(BALANCES)
    .where(
        *_BALANCE_KEY,
        _ON_HAND_AFTER >= 0,
        _RESERVED_AFTER >= 0,
        _RESERVED_AFTER <= _ON_HAND_AFTER,
    )
    .values(on_hand_milli=_ON_HAND_AFTER, reserved_milli=_RESERVED_AFTER)
)
_BALANCE_EXISTS = Prepared(select(BALANCES.c.product_id).where(*_BALANCE_KEY))
_BALANCE = Prepared(select(BALANCES).where(*_BALANCE_KEY))
_BALANCES_OF_PRODUCT = Prepared(
    select(BALANCES)
    .where(BALANCES.c.product_id == _b("b_product_id"))
    .order_by(BALANCES.c.warehouse_id)
)
_BALANCES_IN_WAREHOUSE = Prepared(
    select(BALANCES).where(
        BALANCES.c.product_id.in_(_b_in("b_product_ids")),
        BALANCES.c.warehouse_id == _b("b_warehouse_id"),
    )
)


class SqlStock(_Repo):
    def try_change(
        self, product_id: int, warehouse_id: int, on_hand_delta: int, reserved_delta: int
    ) -> bool:
        key = {"b_product_id": product_id, "b_warehouse_id": warehouse_id}
        change = {**key, "b_on_hand_delta": on_hand_delta, "b_reserved_delta": reserved_delta}
        if self._exec(_STOCK_TRY_CHANGE, change).rowcount == 1:
            return True
        if on_hand_delta < 0 or reserved_delta < 0 or reserved_delta > on_hand_delta:
            return False  # a missing row is zero, and zero cannot go negative
        exists = self._exec(_BALANCE_EXISTS, key).first()
        if exists is not None:
            return False
        self._upsert_nothing(
            BALANCES,
            {
                "product_id": product_id,
                "warehouse_id": warehouse_id,
                "on_hand_milli": 0,
                "reserved_milli": 0,
            },
        )
        return bool(self._exec(_STOCK_TRY_CHANGE, change).rowcount == 1)

    def get(self, product_id: int, warehouse_id: int) -> StockBalance:
        row = self._exec(
            _BALANCE, {"b_product_id": product_id, "b_warehouse_id": warehouse_id}
        ).first()
        if row is None:
            return StockBalance(product_id, warehouse_id, Quantity(0), Quantity(0))
        return _balance(row)

    def for_product(self, product_id: int) -> list[StockBalance]:
        rows = self._exec(_BALANCES_OF_PRODUCT, {"b_product_id": product_id})
        return [_balance(row) for row in rows]

    def for_products(
        self, product_ids: Sequence[int], warehouse_id: int
    ) -> dict[int, StockBalance]:
        ids = sorted(set(product_ids))
        found: dict[int, StockBalance] = {
            pid: StockBalance(pid, warehouse_id, Quantity(0), Quantity(0)) for pid in ids
        }
        if ids:
            rows = self._exec(
                _BALANCES_IN_WAREHOUSE, {"b_product_ids": ids, "b_warehouse_id": warehouse_id}
            )
            for row in rows:
                found[row.product_id] = _balance(row)
        return found

    def all(self) -> list[StockBalance]:
        rows = self._exec(select(BALANCES).order_by(BALANCES.c.product_id, BALANCES.c.warehouse_id))
        return [_balance(row) for row in rows]

    def add_move(self, move: StockMove) -> int:
        return self._insert_id(
            MOVES,
            {
                "product_id": move.product_id,
                "warehouse_id": move.warehouse_id,
                "kind": str(move.kind),
                "on_hand_delta_milli": move.on_hand_delta.milli,
                "reserved_delta_milli": move.reserved_delta.milli,
                "unit_cost_minor": None if move.unit_cost is None else move.unit_cost.minor,
                "source_type": move.source_type,
                "source_id": move.source_id,
                "actor_id": move.actor_id,
                "at": move.at,
                "note": move.note,
            },
        )

    def moves(self, product_id: int | None = None) -> list[StockMove]:
        query = select(MOVES).order_by(MOVES.c.id)
        if product_id is not None:
            query = query.where(MOVES.c.product_id == product_id)
        return [
            StockMove(
                id=row.id,
                product_id=row.product_id,
                warehouse_id=row.warehouse_id,
                kind=MoveKind(row.kind),
                on_hand_delta=Quantity(row.on_hand_delta_milli),
                reserved_delta=Quantity(row.reserved_delta_milli),
                source_type=row.source_type,
                source_id=row.source_id,
                actor_id=row.actor_id,
                at=row.at,
                unit_cost=None
                if row.unit_cost_minor is None
                else Money(row.unit_cost_minor, self._currency),
                note=row.note,
            )
            for row in self._exec(query)
        ]


_SEQUENCE_BUMP = Prepared(
    update(SEQUENCES)
    .where(SEQUENCES.c.name == _b("b_name"))
    .values(value=SEQUENCES.c.value + 1)
    .returning(SEQUENCES.c.value)
)


class SqlSequences(_Repo):
    def next(self, name: str) -> int:
        value = self._exec(_SEQUENCE_BUMP, {"b_name": name}).scalar_one_or_none()
        if value is None:
            self._upsert_nothing(SEQUENCES, {"name": name, "value": 0})
            value = self._exec(_SEQUENCE_BUMP, {"b_name": name}).scalar_one()
        return int(value)


# --- orders and shipments --------------------------------------------------------------------


_ORDER_LINES = Prepared(
    select(LINES)
    .where(LINES.c.order_id.in_(_b_in("b_order_ids")))
    .order_by(LINES.c.order_id, LINES.c.line_no)
)
# One order and its lines in one round trip.
_ORDER_WITH_LINES = _with_lines(ORDERS, LINES, LINES.c.order_id, LINES.c.line_no)
_ORDER_BY_ID = Prepared(_ORDER_WITH_LINES.where(ORDERS.c.id == _b("b_id")))
_ORDER_BY_NUMBER = _ORDER_WITH_LINES.where(ORDERS.c.number == _b("b_number"))
_ORDER_BY_KEY = Prepared(_ORDER_WITH_LINES.where(ORDERS.c.idempotency_key == _b("b_key")))
_ORDER_FROM_STATUSES = (ORDERS.c.id == _b("b_id"), ORDERS.c.status.in_(_b_in("b_from")))
_ORDER_TRANSITION = (
    update(ORDERS).where(*_ORDER_FROM_STATUSES).values(status=_b("b_status", ORDERS.c.status))
)
_ORDER_DECIDE = (
    update(ORDERS)
    .where(*_ORDER_FROM_STATUSES)
    .values(
        status=_b("b_status", ORDERS.c.status),
        decided_by=_b("b_decided_by", ORDERS.c.decided_by),
        decided_at=_b("b_decided_at", ORDERS.c.decided_at),
    )
)
_LINE_RESERVED_AFTER = LINES.c.reserved_milli + _b("b_reserved_delta", LINES.c.reserved_milli)
_LINE_SHIPPED_AFTER = LINES.c.shipped_milli + _b("b_shipped_delta", LINES.c.shipped_milli)
_LINE_CHANGE = (
    update(LINES)
    .where(
        LINES.c.id == _b("b_id"),
        _LINE_RESERVED_AFTER >= 0,
        _LINE_SHIPPED_AFTER >= 0,
        _LINE_SHIPPED_AFTER <= LINES.c.quantity_milli,  # noqa: SIM300 (reads like the SQL)
    )
    .values(reserved_milli=_LINE_RESERVED_AFTER, shipped_milli=_LINE_SHIPPED_AFTER)
)
_INSERT_LINES = insert(LINES)


class SqlOrders(_Repo):
    def _orders(
        self, rows: Sequence[Row[Any]], fetched_lines: Sequence[Any] | None = None
    ) -> list[SalesOrder]:
        if not rows:
            return []
        ids = [row.id for row in rows]
        lines: dict[int, list[OrderLine]] = defaultdict(list)
        if fetched_lines is None:
            fetched_lines = list(self._exec(_ORDER_LINES, {"b_order_ids": ids}))
        for line in fetched_lines:
            lines[line.order_id].append(
                OrderLine(
                    id=line.id,
                    line_no=line.line_no,
                    product_id=line.product_id,
                    quantity=Quantity(line.quantity_milli),
                    unit_price=Money(line.unit_price_minor, self._currency),
                    discount_bp=line.discount_bp,
                    reserved=Quantity(line.reserved_milli),
                    shipped=Quantity(line.shipped_milli),
                    returned=Quantity(line.returned_milli),
                )
            )
        return [
            SalesOrder(
                id=row.id,
                number=row.number,
                customer_id=row.customer_id,
                sales_rep_id=row.sales_rep_id,
                created_by=row.created_by,
                status=OrderStatus(row.status),
                warehouse_id=row.warehouse_id,
                total=Money(row.total_minor, row.currency),
                created_at=row.created_at,
                idempotency_key=row.idempotency_key,
                lines=tuple(lines[row.id]),
                hold_reason=HoldReason(row.hold_reason) if row.hold_reason else None,
                decided_by=row.decided_by,
                decided_at=row.decided_at,
                note=row.note,
            )
            for row in rows
        ]

    def _one(self, statement: Any, params: dict[str, Any]) -> SalesOrder | None:
        """The order an ``_ORDER_WITH_LINES`` query finds (one row per line), if any."""
        rows = list(self._exec(statement, params))
        found = self._orders(rows[:1], _joined_lines(rows, LINES))
        return found[0] if found else None

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
        order_id = self._insert_id(
            ORDERS,
            {
                "number": number,
                "customer_id": customer_id,
                "sales_rep_id": sales_rep_id,
                "created_by": created_by,
                "status": str(status),
                "hold_reason": str(hold_reason) if hold_reason else None,
                "warehouse_id": warehouse_id,
                "total_minor": total_minor,
                "currency": currency,
                "created_at": created_at,
                "idempotency_key": idempotency_key,
                "note": note,
            },
        )
        if not lines:
            return order_id
        self._exec(
            _INSERT_LINES,
            [
                {
                    "order_id": order_id,
                    "line_no": number_in_order,
                    "product_id": product_id,
                    "quantity_milli": quantity,
                    "unit_price_minor": price,
                    "discount_bp": discount,
                    "reserved_milli": reserved,
                    "shipped_milli": 0,
                    "returned_milli": 0,
                }
                for number_in_order, (product_id, quantity, price, discount, reserved) in enumerate(
                    lines, start=1
                )
            ],
        )
        return order_id

    def get(self, order_id: int) -> SalesOrder | None:
        return self._one(_ORDER_BY_ID, {"b_id": order_id})

    def by_number(self, number: str) -> SalesOrder | None:
        return self._one(_ORDER_BY_NUMBER, {"b_number": number})

    def by_idempotency_key(self, key: str) -> SalesOrder | None:
        return self._one(_ORDER_BY_KEY, {"b_key": key})

    def lock(self, order_id: int) -> None:
        self._lock_row(ORDERS, order_id)

    def try_transition(
        self,
        order_id: int,
        from_statuses: Sequence[OrderStatus],
        to_status: OrderStatus,
        *,
        decided_by: int | None = None,
        decided_at: datetime | None = None,
    ) -> bool:
        params: dict[str, Any] = {
            "b_id": order_id,
            "b_from": [str(s) for s in from_statuses],
            "b_status": str(to_status),
        }
        statement = _ORDER_TRANSITION
        if decided_at is not None:
            statement = _ORDER_DECIDE
            params.update(b_decided_by=decided_by, b_decided_at=decided_at)
        return bool(self._exec(statement, params).rowcount == 1)

    def try_close(self, order_id: int) -> bool:
        open_invoice = (
            select(INVOICES.c.id)
            .where(
                INVOICES.c.order_id == _b("b_id"),
                INVOICES.c.status == str(InvoiceStatus.OPEN),
            )
            .exists()
        )
        result = self._exec(
            update(ORDERS)
            .where(
                ORDERS.c.id == _b("b_id"),
                ORDERS.c.status == str(OrderStatus.SHIPPED),
                ~open_invoice,
            )
            .values(status=str(OrderStatus.CLOSED)),
            {"b_id": order_id},
        )
        return result.rowcount == 1

    def try_change_line(self, line_id: int, reserved_delta: int, shipped_delta: int) -> bool:
        result = self._exec(
            _LINE_CHANGE,
            {"b_id": line_id, "b_reserved_delta": reserved_delta, "b_shipped_delta": shipped_delta},
        )
        return bool(result.rowcount == 1)

    def try_return_line(self, line_id: int, quantity_milli: int) -> bool:
        returned = LINES.c.returned_milli + quantity_milli
        result = self._exec(
            update(LINES)
            .where(LINES.c.id == line_id, returned >= 0, returned <= LINES.c.shipped_milli)
            .values(returned_milli=returned)
        )
        return result.rowcount == 1

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
        params: dict[str, Any] = {
            "b_customer_id": customer_id,
            "b_sales_rep_id": sales_rep_id,
            "b_statuses": None if statuses is None else [str(s) for s in statuses],
            "b_since": since,
            "b_limit": limit,
            "b_offset": offset,
        }
        shape = tuple(params[name] is not None for name in _ORDER_FILTERS)
        return self._orders(list(self._exec(_order_list_query(shape), params)))

    def find_twin(
        self, customer_id: int, since: datetime, quantities: Mapping[int, int]
    ) -> SalesOrder | None:
        if not quantities:
            return None
        params: dict[str, Any] = {
            "b_customer_id": customer_id,
            "b_since": since,
            "b_products": len(quantities),
        }
        for number, (product_id, milli) in enumerate(sorted(quantities.items())):
            params[f"b_p{number}"], params[f"b_q{number}"] = product_id, milli
        found = self._exec(_twin_query(len(quantities)), params).scalar()
        return None if found is None else self.get(int(found))


_ORDER_FILTERS = ("b_customer_id", "b_sales_rep_id", "b_statuses", "b_since")
_ORDER_LISTS: dict[tuple[bool, ...], Any] = {}


def _order_list_query(shape: tuple[bool, ...]) -> Any:
    """``SqlOrders.list``'s query for one combination of filters (built once per combination)."""
    query = _ORDER_LISTS.get(shape)
    if query is not None:
        return query
    by_customer, by_rep, by_status, by_time = shape
    conditions = []
    if by_customer:
        conditions.append(ORDERS.c.customer_id == _b("b_customer_id"))
    if by_rep:
        conditions.append(ORDERS.c.sales_rep_id == _b("b_sales_rep_id"))
    if by_status:
        conditions.append(ORDERS.c.status.in_(_b_in("b_statuses")))
    if by_time:
        conditions.append(ORDERS.c.created_at >= _b("b_since", ORDERS.c.created_at))
    query = _ORDER_LISTS[shape] = Prepared(
        select(ORDERS)
        .where(and_(True, *conditions))
        .order_by(ORDERS.c.created_at.desc(), ORDERS.c.id.desc())
        .limit(bindparam("b_limit"))
        .offset(bindparam("b_offset"))
    )
    return query


_TWIN_QUERIES: dict[int, Any] = {}


def _twin_query(products: int) -> Any:
    """Orders asking for exactly ``products`` given quantities (built once per count).

    Grouped in the database, so only the twin itself (if any) is loaded with its lines: the
    same customer, in the window, not cancelled, the same products, and per product the same
    total quantity over its lines.
    """
    query = _TWIN_QUERIES.get(products)
    if query is not None:
        return query
    same = [func.count(distinct(LINES.c.product_id)) == _b("b_products")]
    for number in range(products):
        asked = case((LINES.c.product_id == _b(f"b_p{number}"), LINES.c.quantity_milli), else_=0)
        same.append(func.sum(asked) == _b(f"b_q{number}"))
    query = _TWIN_QUERIES[products] = Prepared(
        select(ORDERS.c.id)
        .join_from(ORDERS, LINES, LINES.c.order_id == ORDERS.c.id)
        .where(
            ORDERS.c.customer_id == _b("b_customer_id"),
            ORDERS.c.created_at >= _b("b_since", ORDERS.c.created_at),
            ORDERS.c.status != str(OrderStatus.CANCELLED),
        )
        .group_by(ORDERS.c.id, ORDERS.c.created_at)
        .having(and_(*same))
        .order_by(ORDERS.c.created_at.desc(), ORDERS.c.id.desc())
        .limit(1)
    )
    return query


_SHIPMENT_LINES = (
    select(SHIPMENT_LINES)
    .where(SHIPMENT_LINES.c.shipment_id.in_(_b_in("b_shipment_ids")))
    .order_by(SHIPMENT_LINES.c.id)
)
# One shipment and its lines in one round trip.
_SHIPMENT_WITH_LINES = _with_lines(
    SHIPMENTS, SHIPMENT_LINES, SHIPMENT_LINES.c.shipment_id, SHIPMENT_LINES.c.id
)
_SHIPMENT_BY_ID = _SHIPMENT_WITH_LINES.where(SHIPMENTS.c.id == _b("b_id"))
_SHIPMENT_BY_KEY = _SHIPMENT_WITH_LINES.where(SHIPMENTS.c.idempotency_key == _b("b_key"))
_SHIPMENTS_FOR_ORDER = (
    select(SHIPMENTS).where(SHIPMENTS.c.order_id == _b("b_order_id")).order_by(SHIPMENTS.c.id)
)
_SHIPMENT_CONFIRM = (
    update(SHIPMENTS)
    .where(SHIPMENTS.c.id == _b("b_id"), SHIPMENTS.c.status == str(ShipmentStatus.DRAFT))
    .values(
        status=str(ShipmentStatus.CONFIRMED),
        confirmed_by=_b("b_by", SHIPMENTS.c.confirmed_by),
        confirmed_at=_b("b_at", SHIPMENTS.c.confirmed_at),
    )
)
_SHIPMENT_LINE_COST = (
    update(SHIPMENT_LINES)
    .where(
        SHIPMENT_LINES.c.shipment_id == _b("b_shipment_id"),
        SHIPMENT_LINES.c.order_line_id == _b("b_order_line_id"),
    )
    .values(unit_cost_minor=_b("b_cost", SHIPMENT_LINES.c.unit_cost_minor))
)
_INSERT_SHIPMENT_LINES = insert(SHIPMENT_LINES)


class SqlShipments(_Repo):
    def _shipments(
        self, rows: Sequence[Row[Any]], fetched_lines: Sequence[Any] | None = None
    ) -> list[Shipment]:
        if not rows:
            return []
        lines: dict[int, list[ShipmentLine]] = defaultdict(list)
        if fetched_lines is None:
            fetched_lines = list(
                self._exec(_SHIPMENT_LINES, {"b_shipment_ids": [row.id for row in rows]})
            )
        for line in fetched_lines:
            lines[line.shipment_id].append(
                ShipmentLine(
                    order_line_id=line.order_line_id,
                    product_id=line.product_id,
                    quantity=Quantity(line.quantity_milli),
                    unit_cost=None
                    if line.unit_cost_minor is None
                    else Money(line.unit_cost_minor, self._currency),
                )
            )
        return [
            Shipment(
                id=row.id,
                number=row.number,
                order_id=row.order_id,
                warehouse_id=row.warehouse_id,
                status=ShipmentStatus(row.status),
                created_by=row.created_by,
                created_at=row.created_at,
                lines=tuple(lines[row.id]),
                confirmed_by=row.confirmed_by,
                confirmed_at=row.confirmed_at,
                idempotency_key=row.idempotency_key,
            )
            for row in rows
        ]

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
        shipment_id = self._insert_id(
            SHIPMENTS,
            {
                "number": number,
                "order_id": order_id,
                "warehouse_id": warehouse_id,
                "status": str(ShipmentStatus.DRAFT),
                "created_by": created_by,
                "created_at": created_at,
                "idempotency_key": idempotency_key,
            },
        )
        if not lines:
            return shipment_id
        self._exec(
            _INSERT_SHIPMENT_LINES,
            [
                {
                    "shipment_id": shipment_id,
                    "order_line_id": line.order_line_id,
                    "product_id": line.product_id,
                    "quantity_milli": line.quantity.milli,
                    "unit_cost_minor": None if line.unit_cost is None else line.unit_cost.minor,
                }
                for line in lines
            ],
        )
        return shipment_id

    def get(self, shipment_id: int) -> Shipment | None:
        return self._one(_SHIPMENT_BY_ID, {"b_id": shipment_id})

    def by_idempotency_key(self, key: str) -> Shipment | None:
        return self._one(_SHIPMENT_BY_KEY, {"b_key": key})

    def _one(self, statement: Any, params: dict[str, Any]) -> Shipment | None:
        """The shipment a ``_SHIPMENT_WITH_LINES`` query finds (one row per line), if any."""
        rows = list(self._exec(statement, params))
        found = self._shipments(rows[:1], _joined_lines(rows, SHIPMENT_LINES))
        return found[0] if found else None

    def for_order(self, order_id: int) -> list[Shipment]:
        rows = list(self._exec(_SHIPMENTS_FOR_ORDER, {"b_order_id": order_id}))
        return self._shipments(rows)

    def try_confirm(self, shipment_id: int, by: int | None, at: datetime) -> bool:
        result = self._exec(_SHIPMENT_CONFIRM, {"b_id": shipment_id, "b_by": by, "b_at": at})
        return bool(result.rowcount == 1)

    def set_line_cost(self, shipment_id: int, order_line_id: int, unit_cost_minor: int) -> None:
        self._exec(
            _SHIPMENT_LINE_COST,
            {
                "b_shipment_id": shipment_id,
                "b_order_line_id": order_line_id,
                "b_cost": unit_cost_minor,
            },
        )


# --- receivables -----------------------------------------------------------------------------


def _invoice(row: Row[Any]) -> Invoice:
    return Invoice(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        order_id=row.order_id,
        shipment_id=row.shipment_id,
        amount=Money(row.amount_minor, row.currency),
        outstanding=Money(row.outstanding_minor, row.currency),
        issued_on=row.issued_on,
        due_on=row.due_on,
        status=InvoiceStatus(row.status),
    )


_INVOICE_BY_ID = Prepared(select(INVOICES).where(INVOICES.c.id == _b("b_id")))
_OPEN_INVOICES = (
    select(INVOICES)
    .where(INVOICES.c.status == str(InvoiceStatus.OPEN))
    .order_by(INVOICES.c.due_on, INVOICES.c.id)
)
_OPEN_INVOICES_OF = Prepared(
    _OPEN_INVOICES.where(INVOICES.c.customer_id.in_(_b_in("b_customer_ids")))
)
_INVOICES_FOR_CUSTOMER = (
    select(INVOICES).where(INVOICES.c.customer_id == _b("b_customer_id")).order_by(INVOICES.c.id)
)
_INVOICES_FOR_ORDER = (
    select(INVOICES).where(INVOICES.c.order_id == _b("b_order_id")).order_by(INVOICES.c.id)
)
_OUTSTANDING_AFTER = INVOICES.c.outstanding_minor - _b("b_amount", INVOICES.c.outstanding_minor)
_INVOICE_REDUCE_OUTSTANDING = (
    update(INVOICES)
    .where(INVOICES.c.id == _b("b_id"), _OUTSTANDING_AFTER >= 0)
    .values(
        outstanding_minor=_OUTSTANDING_AFTER,
        status=case(
            (_OUTSTANDING_AFTER == 0, str(InvoiceStatus.PAID)), else_=str(InvoiceStatus.OPEN)
        ),
    )
)


class SqlInvoices(_Repo):
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
        return self._insert_id(
            INVOICES,
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
                "status": str(InvoiceStatus.OPEN),
            },
        )

    def get(self, invoice_id: int) -> Invoice | None:
        row = self._exec(_INVOICE_BY_ID, {"b_id": invoice_id}).first()
        return _invoice(row) if row else None

    def open(self, customer_ids: Sequence[int] | None = None) -> list[Invoice]:
        if customer_ids is None:
            rows = self._exec(_OPEN_INVOICES)
        elif not customer_ids:
            return []
        else:
            rows = self._exec(_OPEN_INVOICES_OF, {"b_customer_ids": sorted(set(customer_ids))})
        return [_invoice(row) for row in rows]

    def for_customer(self, customer_id: int) -> list[Invoice]:
        rows = self._exec(_INVOICES_FOR_CUSTOMER, {"b_customer_id": customer_id})
        return [_invoice(row) for row in rows]

    def for_order(self, order_id: int) -> list[Invoice]:
        rows = self._exec(_INVOICES_FOR_ORDER, {"b_order_id": order_id})
        return [_invoice(row) for row in rows]

    def try_reduce_outstanding(self, invoice_id: int, amount_minor: int) -> bool:
        result = self._exec(
            _INVOICE_REDUCE_OUTSTANDING, {"b_id": invoice_id, "b_amount": amount_minor}
        )
        return bool(result.rowcount == 1)


def _payment(row: Row[Any]) -> Payment:
    return Payment(
        id=row.id,
        number=row.number,
        customer_id=row.customer_id,
        amount=Money(row.amount_minor, row.currency),
        unallocated=Money(row.unallocated_minor, row.currency),
        method=PaymentMethod(row.method),
        received_on=row.received_on,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        idempotency_key=row.idempotency_key,
        note=row.note,
    )


_PAYMENT_BY_ID = select(PAYMENTS).where(PAYMENTS.c.id == _b("b_id"))
_PAYMENT_BY_KEY = select(PAYMENTS).where(PAYMENTS.c.idempotency_key == _b("b_key"))
_PAYMENTS_FOR_CUSTOMER = (
    select(PAYMENTS).where(PAYMENTS.c.customer_id == _b("b_customer_id")).order_by(PAYMENTS.c.id)
)
_PAYMENTS_WITH_CREDIT = (
    select(PAYMENTS)
    .where(PAYMENTS.c.customer_id == _b("b_customer_id"), PAYMENTS.c.unallocated_minor > 0)
    .order_by(PAYMENTS.c.received_on, PAYMENTS.c.id)
)
_UNALLOCATED_AFTER = PAYMENTS.c.unallocated_minor - _b("b_amount", PAYMENTS.c.unallocated_minor)
_PAYMENT_REDUCE_UNALLOCATED = (
    update(PAYMENTS)
    .where(PAYMENTS.c.id == _b("b_id"), _UNALLOCATED_AFTER >= 0)
    .values(unallocated_minor=_UNALLOCATED_AFTER)
)
_INSERT_ALLOCATION = insert(ALLOCATIONS)
_ALLOCATIONS = select(ALLOCATIONS).order_by(ALLOCATIONS.c.id)
_ALLOCATIONS_OF_PAYMENT = _ALLOCATIONS.where(ALLOCATIONS.c.payment_id == _b("b_payment_id"))


class SqlPayments(_Repo):
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
        return self._insert_id(
            PAYMENTS,
            {
                "number": number,
                "customer_id": customer_id,
                "amount_minor": amount_minor,
                "unallocated_minor": amount_minor,
                "currency": currency,
                "method": str(method),
                "received_on": received_on,
                "recorded_by": recorded_by,
                "recorded_at": recorded_at,
                "idempotency_key": idempotency_key,
                "note": note,
            },
        )

    def get(self, payment_id: int) -> Payment | None:
        row = self._exec(_PAYMENT_BY_ID, {"b_id": payment_id}).first()
        return _payment(row) if row else None

    def by_idempotency_key(self, key: str) -> Payment | None:
        row = self._exec(_PAYMENT_BY_KEY, {"b_key": key}).first()
        return _payment(row) if row else None

    def for_customer(self, customer_id: int) -> list[Payment]:
        rows = self._exec(_PAYMENTS_FOR_CUSTOMER, {"b_customer_id": customer_id})
        return [_payment(row) for row in rows]

    def with_credit(self, customer_id: int) -> list[Payment]:
        rows = self._exec(_PAYMENTS_WITH_CREDIT, {"b_customer_id": customer_id})
        return [_payment(row) for row in rows]

    def try_reduce_unallocated(self, payment_id: int, amount_minor: int) -> bool:
        result = self._exec(
            _PAYMENT_REDUCE_UNALLOCATED, {"b_id": payment_id, "b_amount": amount_minor}
        )
        return bool(result.rowcount == 1)

    def add_allocation(
        self, payment_id: int, invoice_id: int, amount_minor: int, at: datetime
    ) -> None:
        self._exec(
            _INSERT_ALLOCATION,
            {
                "payment_id": payment_id,
                "invoice_id": invoice_id,
                "amount_minor": amount_minor,
                "at": at,
            },
        )

    def allocations(
        self, *, payment_id: int | None = None, invoice_id: int | None = None
    ) -> list[Allocation]:
        query = _ALLOCATIONS
        params: dict[str, Any] = {}
        if payment_id is not None:
            query = _ALLOCATIONS_OF_PAYMENT
            params["b_payment_id"] = payment_id
        if invoice_id is not None:
            query = query.where(ALLOCATIONS.c.invoice_id == invoice_id)
        return [
            Allocation(
                payment_id=row.payment_id,
                invoice_id=row.invoice_id,
                amount=Money(row.amount_minor, self._currency),
                at=row.at,
            )
            for row in self._exec(query, params or None)
        ]


_INSERT_AUDIT = insert(AUDIT)
_AUDIT_COLUMNS = (
    "at",
    "actor_id",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "source",
)
_ADD_AUDIT = Prepared(insert(AUDIT), keys=_AUDIT_COLUMNS)


class SqlAudit(_Repo):
    def add(self, entry: AuditEntry) -> None:
        self._exec(
            _ADD_AUDIT,
            {
                "at": entry.at,
                "actor_id": entry.actor_id,
                "actor_role": entry.actor_role,
                "action": entry.action,
                "object_type": entry.object_type,
                "object_id": entry.object_id,
                "before": entry.before,
                "after": entry.after,
                "source": entry.source,
            },
        )

    def add_many(self, entries: Sequence[AuditEntry]) -> None:
        if not entries:
            return
        self._exec(
            insert(AUDIT),
            [
                {
                    "at": entry.at,
                    "actor_id": entry.actor_id,
                    "actor_role": entry.actor_role,
                    "action": entry.action,
                    "object_type": entry.object_type,
                    "object_id": entry.object_id,
                    "before": entry.before,
                    "after": entry.after,
                    "source": entry.source,
                }
                for entry in entries
            ],
        )

    def list(
        self, *, object_type: str | None = None, object_id: str | None = None
    ) -> list[AuditEntry]:
        query = select(AUDIT).order_by(AUDIT.c.id)
        if object_type is not None:
            query = query.where(AUDIT.c.object_type == object_type)
        if object_id is not None:
            query = query.where(AUDIT.c.object_id == object_id)
        return [
            AuditEntry(
                id=row.id,
                at=row.at,
                actor_id=row.actor_id,
                actor_role=row.actor_role,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                before=row.before,
                after=row.after,
                source=row.source,
            )
            for row in self._exec(query)
        ]


# --- conversations and chats -----------------------------------------------------------------


_CONVERSATION_KEY = and_(
    CONVERSATIONS.c.chat_id == _b("b_chat_id"), CONVERSATIONS.c.user_id == _b("b_user_id")
)
_CONVERSATION_VALUES = ("flow", "step", "data", "version", "updated_at")
_CONVERSATION_GET = Prepared(select(CONVERSATIONS).where(_CONVERSATION_KEY))
_CONVERSATION_UPDATE = Prepared(
    update(CONVERSATIONS).where(_CONVERSATION_KEY), keys=_CONVERSATION_VALUES
)
_CONVERSATION_INSERT = Prepared(
    insert(CONVERSATIONS), keys=("chat_id", "user_id", *_CONVERSATION_VALUES)
)
_TOPIC_CHATS = Prepared(
    select(CHAT_TOPICS.c.chat_id)
    .where(CHAT_TOPICS.c.topic == _b("b_topic"))
    .order_by(CHAT_TOPICS.c.chat_id)
)
_PROCESSED_INSERT = {
    "sqlite": Prepared(sqlite_insert(PROCESSED).on_conflict_do_nothing(), keys=("update_id", "at")),
    "postgresql": pg_insert(PROCESSED).on_conflict_do_nothing(),
}


class SqlConversations(_Repo):
    def get(self, chat_id: int, user_id: int) -> ConversationRecord | None:
        row = self._exec(_CONVERSATION_GET, {"b_chat_id": chat_id, "b_user_id": user_id}).first()
        if row is None:
            return None
        return ConversationRecord(
            chat_id=row.chat_id,
            user_id=row.user_id,
            flow=row.flow,
            step=row.step,
            data=row.data,
            version=row.version,
            updated_at=row.updated_at,
        )

    def save(self, record: ConversationRecord) -> None:
        values = {
            "flow": record.flow,
            "step": record.step,
            "data": record.data,
            "version": record.version,
            "updated_at": record.updated_at,
        }
        changed = self._exec(
            _CONVERSATION_UPDATE,
            {"b_chat_id": record.chat_id, "b_user_id": record.user_id, **values},
        )
        if changed.rowcount == 0:
            self._exec(
                _CONVERSATION_INSERT,
                {"chat_id": record.chat_id, "user_id": record.user_id, **values},
            )


class SqlProcessedUpdates(_Repo):
    def try_record(self, update_id: int, at: datetime) -> bool:
        statement = _PROCESSED_INSERT[self._uow.dialect]
        result = self._exec(statement, {"update_id": update_id, "at": at})
        return result.rowcount == 1


class SqlChatTopics(_Repo):
    def chats(self, topic: str) -> list[int]:
        rows = self._exec(_TOPIC_CHATS, {"b_topic": topic})
        return [int(row.chat_id) for row in rows]

    def titles(self, topic: str) -> dict[int, str]:
        rows = self._exec(select(CHAT_TOPICS).where(CHAT_TOPICS.c.topic == topic))
        return {int(row.chat_id): row.title for row in rows}

    def set(self, chat_id: int, topic: str, on: bool, *, title: str = "") -> None:
        where = (CHAT_TOPICS.c.chat_id == chat_id, CHAT_TOPICS.c.topic == topic)
        if not on:
            self._exec(CHAT_TOPICS.delete().where(*where))
            return
        self._upsert_nothing(CHAT_TOPICS, {"chat_id": chat_id, "topic": topic, "title": title})
        self._exec(update(CHAT_TOPICS).where(*where).values(title=title))

    def move_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        for topic in [
            row.topic
            for row in self._exec(
                select(CHAT_TOPICS.c.topic).where(CHAT_TOPICS.c.chat_id == old_chat_id)
            )
        ]:
            self._upsert_nothing(CHAT_TOPICS, {"chat_id": new_chat_id, "topic": topic, "title": ""})
        self._exec(CHAT_TOPICS.delete().where(CHAT_TOPICS.c.chat_id == old_chat_id))
        self._exec(update(SENT).where(SENT.c.chat_id == old_chat_id).values(chat_id=new_chat_id))
        self._exec(
            update(CONVERSATIONS)
            .where(CONVERSATIONS.c.chat_id == old_chat_id)
            .values(chat_id=new_chat_id)
        )
        from storage.notification_repos import move_notification_rows

        move_notification_rows(self._uow, old_chat_id, new_chat_id)


class SqlSentMessages(_Repo):
    def add(self, key: str, chat_id: int, message_id: int, at: datetime) -> None:
        self._upsert_nothing(
            SENT, {"key": key, "chat_id": chat_id, "message_id": message_id, "at": at}
        )

    def for_key(self, key: str) -> list[tuple[int, int]]:
        rows = self._exec(select(SENT).where(SENT.c.key == key).order_by(SENT.c.id))
        return [(int(row.chat_id), int(row.message_id)) for row in rows]
