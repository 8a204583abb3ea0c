"""Benchmark the ledger's order -> ship -> pay cycle against the same work in hand-written SQL.

Usage: python bench/ledger.py [--cycles 300] [--runs 5] [--backends sqlite,postgres]
                              [--pg-url URL] [--warmup 10] [--seed 1]

What is measured
  One *cycle* is three units of work, each committed on its own:
    1. ``place_order`` with 2-3 lines (stock reserved, credit checked, order numbered, audited),
    2. ``ship_order`` for everything (shipment, stock out, cost of goods, invoice, balance),
    3. ``record_payment`` of the invoice amount (allocation, invoice paid, balance, order closed),
  each through ``run_in_transaction(db.uow, ...)``: domain services, repositories on
  SQLAlchemy Core, the use-case savepoints and the retry loop, exactly as the bot runs them.
  The wall time of each whole cycle is taken with ``time.perf_counter_ns`` (and, as a figure
  that suffers less from a busy machine, this process's CPU time for it).

  Beside it, in the same run and on the same kind of database, a *raw* baseline does the
  equivalent SQL work with the bare driver (``sqlite3`` with the same pragmas and BEGIN
  IMMEDIATE; ``psycopg`` 3 with its defaults) in three transactions per cycle: the reads the
  business rules need (customer row, locked FOR UPDATE on PostgreSQL like ours; order row
  likewise; product prices and costs; the overdue and open-orders credit check; open invoices;
  payments with credit), the same conditional updates of stock balances, order lines,
  invoices and payments, the same stock moves, document-number bumps and audit rows. It does
  not re-read what it just wrote and uses no savepoints and no SQLAlchemy; the gap between
  the two is what our layers cost. (Its INSERTs name their columns by hand; a NOT NULL column
  added to the schema later is filled with the model's integer default, see
  ``with_required_columns``.)

How
  Each run builds, per backend, two fresh databases with the schema from
  ``storage.tables.metadata`` (``create_all`` plus the append-only triggers): for SQLite two
  temporary files with our engine settings (WAL, synchronous=NORMAL, foreign keys, busy
  timeout); for PostgreSQL two fresh schemas from ``fresh_postgres_schema``. Both are seeded
  identically through the domain (a warehouse, a user, 50 products with plenty of stock,
  20 customers with a credit limit); seeding is not timed. The same pseudo-random cycle plan
  (customer, products, quantities) is then replayed on both, ours and raw alternating cycle by
  cycle (and which goes first alternating too) so both see the same machine noise.
  ``--warmup`` untimed cycles fill the statement caches first; after the timed cycles, ten
  more untimed ones count the SQL statements each side sends per cycle. Then the two
  databases must be in the same state (row counts, balances, stock, sequences), and a
  one-row insert + commit is timed on the raw connection: the durability floor under each of
  a cycle's three commits (on PostgreSQL this is the WAL flush and can dominate everything).

  Per run: p50/p90/p99 of the cycle times (linear interpolation between ranks). Reported:
  the median of each over ``--runs`` runs, the ratio of the ours/raw p50s, a per-unit-of-work
  breakdown, and whether ours meets the goal (p50 <= 5 ms on SQLite, <= 12 ms on PostgreSQL;
  reported, never asserted). The 1-minute load average at the start is printed too: on a
  shared machine, read the numbers with it.

The PostgreSQL URL defaults to $CHATERP_TEST_DATABASE_URL, then $CHATERP_BENCH_DATABASE_URL,
then postgresql://postgres@127.0.0.1:5432/test; if the server is unreachable only SQLite is
benched (and "postgres" is null in the JSON). The last line printed is one JSON object with
all the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import psycopg
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from domain.model import Actor, PaymentMethod, Role
from domain.money import Money
from domain.ports import LedgerPolicy, UnitOfWork
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, ensure_default_warehouse, save_product
from domain.services.customers import CustomerDraft, create_customer
from domain.services.orders import LineRequest, place_order
from domain.services.payments import record_payment
from domain.services.shipping import ship_order
from domain.services.stock import receive_stock
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from storage.database import SQLITE_BUSY_TIMEOUT_MS, Database
from storage.tables import metadata
from storage.testing import create_schema, fresh_postgres_schema

# --- goals (reported, never asserted) ---------------------------------------------------------

GOAL_P50_MS = {"sqlite": 5.0, "postgres": 12.0}

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL_ENVS = ("CHATERP_TEST_DATABASE_URL", "CHATERP_BENCH_DATABASE_URL")
BACKENDS = ("sqlite", "postgres")

CURRENCY = "CNY"
PRODUCTS = 50
CUSTOMERS = 20
STOCK_UNITS = 1_000_000  # per product: far more than any run ships
CREDIT_LIMIT_MINOR = 10**12  # every customer has a limit, so the credit check runs in full
PAYMENT_TERMS_DAYS = 30
OPEN_STATUSES = ("pending_approval", "confirmed", "partially_shipped")


class WallClock:
    """The real time, timezone-aware, like the bot's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class CyclePlan:
    customer_index: int
    lines: tuple[tuple[int, int], ...]  # (product index, quantity in milli)


def make_plan(count: int, rng: random.Random) -> list[CyclePlan]:
    """2-3 distinct products per order, 1-5 units each, customers at random."""
    plans = []
    for _ in range(count):
        picked = rng.sample(range(PRODUCTS), rng.choice((2, 3)))
        plans.append(
            CyclePlan(
                customer_index=rng.randrange(CUSTOMERS),
                lines=tuple((p, rng.randint(1, 5) * 1000) for p in picked),
            )
        )
    return plans


# --- seeding (untimed, through the domain, identical for ours and raw) ------------------------


@dataclass(frozen=True, slots=True)
class Seeded:
    actor: Actor
    warehouse_id: int
    product_ids: tuple[int, ...]
    customer_ids: tuple[int, ...]


def seed(db: Database, rng: random.Random) -> Seeded:
    system = Actor.system("bench")

    def work(uow: UnitOfWork) -> Seeded:
        warehouse = ensure_default_warehouse(uow)
        user = add_user(uow, actor=system, name="Bench Owner", role=Role.OWNER)
        actor = Actor(user_id=user.id, role=Role.OWNER, source="bench", name=user.name)
        product_ids = []
        for i in range(PRODUCTS):
            price = rng.randint(100, 50_000)
            draft = ProductDraft(
                sku=f"BENCH-{i:03d}",
                name=f"Bench product {i}",
                unit="pcs",
                price=Money(price, CURRENCY),
                cost=Money(price * 6 // 10, CURRENCY),
            )
            product = save_product(uow, actor=actor, draft=draft).product
            receive_stock(
                uow,
                actor=actor,
                product_id=product.id,
                quantity=Quantity(STOCK_UNITS * 1000),
                unit_cost=product.cost,
                warehouse_id=warehouse.id,
            )
            product_ids.append(product.id)
        customer_ids = []
        for i in range(CUSTOMERS):
            draft_c = CustomerDraft(
                name=f"Bench customer {i}",
                phone=f"+86 138 0000 {i:04d}",
                credit_limit=Money(CREDIT_LIMIT_MINOR, CURRENCY),
                payment_terms_days=PAYMENT_TERMS_DAYS,
            )
            created = create_customer(uow, actor=actor, draft=draft_c, allow_similar=True)
            assert created.customer is not None
            customer_ids.append(created.customer.id)
        return Seeded(actor, warehouse.id, tuple(product_ids), tuple(customer_ids))

    return run_in_transaction(db.uow, work)


# --- ours: the domain through run_in_transaction ----------------------------------------------


class OursCycle:
    def __init__(self, db: Database, seeded: Seeded, tag: str) -> None:
        self.db = db
        self.seeded = seeded
        self.tag = tag

    def run(self, n: int, plan: CyclePlan) -> tuple[int, int, int]:
        """One cycle; returns the nanoseconds each of its three units of work took."""
        s = self.seeded
        actor = s.actor
        customer_id = s.customer_ids[plan.customer_index]
        lines = [LineRequest(s.product_ids[p], Quantity(q)) for p, q in plan.lines]
        t0 = time.perf_counter_ns()
        placed = run_in_transaction(
            self.db.uow,
            lambda uow: place_order(
                uow,
                actor=actor,
                customer_id=customer_id,
                lines=lines,
                idempotency_key=f"{self.tag}-so-{n}",
            ),
        )
        t1 = time.perf_counter_ns()
        shipped = run_in_transaction(
            self.db.uow, lambda uow: ship_order(uow, actor=actor, order_id=placed.order.id)
        )
        t2 = time.perf_counter_ns()
        invoice = shipped.invoice
        assert invoice is not None
        run_in_transaction(
            self.db.uow,
            lambda uow: record_payment(
                uow,
                actor=actor,
                customer_id=customer_id,
                amount=invoice.amount,
                method=PaymentMethod.CASH,
                idempotency_key=f"{self.tag}-pay-{n}",
            ),
        )
        return t1 - t0, t2 - t1, time.perf_counter_ns() - t2


# --- raw: the same transactions with the bare driver ------------------------------------------

SQL: dict[str, str] = {
    "customer": (
        "SELECT id, active, sales_rep_id, credit_limit_minor, balance_minor, payment_terms_days "
        "FROM customer WHERE id = ?"
    ),
    # Orders have 2-3 lines: a 2-line order repeats its first product id in the third slot.
    "products": "SELECT id, price_minor, cost_minor, active FROM product WHERE id IN (?, ?, ?)",
    "overdue": (
        "SELECT count(*) FROM invoice WHERE customer_id = ? AND status = 'open' AND due_on < ?"
    ),
    "open_orders_value": (
        "SELECT coalesce(sum((l.quantity_milli - l.shipped_milli) * l.unit_price_minor), 0) "
        "FROM sales_order_line l JOIN sales_order o ON o.id = l.order_id "
        "WHERE o.customer_id = ? AND o.status IN (?, ?, ?)"
    ),
    "next_number": "UPDATE doc_sequence SET value = value + 1 WHERE name = ? RETURNING value",
    "insert_order": (
        "INSERT INTO sales_order (number, customer_id, sales_rep_id, created_by, status, "
        "hold_reason, warehouse_id, total_minor, currency, created_at, idempotency_key, note) "
        "VALUES (?, ?, ?, ?, 'confirmed', NULL, ?, ?, ?, ?, ?, '') RETURNING id"
    ),
    "insert_line": (
        "INSERT INTO sales_order_line (order_id, line_no, product_id, quantity_milli, "
        "unit_price_minor, discount_bp, reserved_milli, shipped_milli) "
        "VALUES (?, ?, ?, ?, ?, 0, ?, 0)"
    ),
    "change_stock": (
        "UPDATE stock_balance SET on_hand_milli = on_hand_milli + ?, "
        "reserved_milli = reserved_milli + ? "
        "WHERE product_id = ? AND warehouse_id = ? AND on_hand_milli + ? >= 0 "
        "AND reserved_milli + ? >= 0 AND reserved_milli + ? <= on_hand_milli + ?"
    ),
    "insert_move": (
        "INSERT INTO stock_move (product_id, warehouse_id, kind, on_hand_delta_milli, "
        "reserved_delta_milli, unit_cost_minor, source_type, source_id, actor_id, at, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '')"
    ),
    "insert_audit": (
        "INSERT INTO audit_entry (at, actor_id, actor_role, action, object_type, object_id, "
        '"before", "after", source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'
    ),
    "order_for_shipping": (
        "SELECT id, number, status, customer_id, warehouse_id FROM sales_order WHERE id = ?"
    ),
    "order_lines": (
        "SELECT l.id, l.product_id, l.quantity_milli, l.shipped_milli, l.reserved_milli, "
        "l.unit_price_minor, p.cost_minor FROM sales_order_line l "
        "JOIN product p ON p.id = l.product_id WHERE l.order_id = ? ORDER BY l.product_id, l.id"
    ),
    "insert_shipment": (
        "INSERT INTO shipment (number, order_id, warehouse_id, status, created_by, created_at, "
        "confirmed_by, confirmed_at, idempotency_key) "
        "VALUES (?, ?, ?, 'confirmed', ?, ?, ?, ?, NULL) RETURNING id"
    ),
    "insert_shipment_line": (
        "INSERT INTO shipment_line (shipment_id, order_line_id, product_id, quantity_milli, "
        "unit_cost_minor) VALUES (?, ?, ?, ?, ?)"
    ),
    "change_line": (
        "UPDATE sales_order_line SET reserved_milli = reserved_milli + ?, "
        "shipped_milli = shipped_milli + ? "
        "WHERE id = ? AND reserved_milli + ? >= 0 AND shipped_milli + ? >= 0 "
        "AND shipped_milli + ? <= quantity_milli"
    ),
    "ship_order": (
        "UPDATE sales_order SET status = 'shipped' "
        "WHERE id = ? AND status IN ('confirmed', 'partially_shipped')"
    ),
    "insert_invoice": (
        "INSERT INTO invoice (number, customer_id, order_id, shipment_id, amount_minor, "
        "outstanding_minor, currency, issued_on, due_on, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open') RETURNING id"
    ),
    "add_to_balance": "UPDATE customer SET balance_minor = balance_minor + ? WHERE id = ?",
    "payments_with_credit": (
        "SELECT id, unallocated_minor FROM payment WHERE customer_id = ? "
        "AND unallocated_minor > 0 ORDER BY received_on, id"
    ),
    "open_invoices": (
        "SELECT id, order_id, outstanding_minor FROM invoice "
        "WHERE customer_id = ? AND status = 'open' ORDER BY due_on, id"
    ),
    "insert_payment": (
        "INSERT INTO payment (number, customer_id, amount_minor, unallocated_minor, currency, "
        "method, received_on, recorded_by, recorded_at, idempotency_key, note) "
        "VALUES (?, ?, ?, ?, ?, 'cash', ?, ?, ?, ?, '') RETURNING id"
    ),
    "reduce_outstanding": (
        "UPDATE invoice SET outstanding_minor = outstanding_minor - ?, "
        "status = CASE WHEN outstanding_minor - ? = 0 THEN 'paid' ELSE 'open' END "
        "WHERE id = ? AND outstanding_minor - ? >= 0"
    ),
    "insert_allocation": (
        "INSERT INTO allocation (payment_id, invoice_id, amount_minor, at) VALUES (?, ?, ?, ?)"
    ),
    "close_order": (
        "UPDATE sales_order SET status = 'closed' WHERE id = ? AND status = 'shipped' "
        "AND NOT EXISTS (SELECT 1 FROM invoice WHERE order_id = ? AND status <> 'paid')"
    ),
}


INSERT_SHAPE = re.compile(r"INSERT INTO (\w+) \(([^)]*)\) VALUES \((.*)\)(.*)")


def with_required_columns(sql: dict[str, str]) -> dict[str, str]:
    """Add to each INSERT the NOT NULL columns it leaves out, with the model's default.

    The schema grows (a new counter column, say) while this file names its columns by hand;
    filling such a column with the integer the application writes keeps the baseline running
    and doing the same work. A required column without an integer default stops the bench.
    """
    models = {getattr(model, "__tablename__", None): model for model in SQLModel.__subclasses__()}
    done = dict(sql)
    for key, statement in sql.items():
        shape = INSERT_SHAPE.fullmatch(statement)
        if shape is None:
            continue
        table_name, columns, values, tail = shape.groups()
        named = {c.strip().strip('"') for c in columns.split(",")}
        extra: list[tuple[str, str]] = []
        for column in metadata.tables[table_name].columns:
            if column.primary_key or column.nullable or column.name in named:
                continue
            default = models[table_name].model_fields[column.name].default
            if isinstance(default, bool) or not isinstance(default, int):
                raise SystemExit(f"raw baseline: add {table_name}.{column.name} to {key!r}")
            extra.append((column.name, str(default)))
        if extra:
            columns += "".join(f", {name}" for name, _ in extra)
            values += "".join(f", {literal}" for _, literal in extra)
            # Only our own SQL, column names from the metadata and integer literals.
            done[key] = f"INSERT INTO {table_name} ({columns}) VALUES ({values}){tail}"  # noqa: S608
    return done


class RawCycle:
    """The cycle's SQL by hand: sqlite3 or psycopg, three transactions, no layers."""

    def __init__(self, conn: Any, dialect: str, seeded: Seeded, tag: str) -> None:
        self.conn = conn
        self.pg = dialect == "postgresql"
        self.seeded = seeded
        self.tag = tag
        sql = with_required_columns(SQL)
        self.sql = {k: v.replace("?", "%s") for k, v in sql.items()} if self.pg else sql
        if self.pg:
            for key in ("customer", "order_for_shipping"):
                self.sql[key] += " FOR UPDATE"
        self.statements = 0
        self._in_transaction(self._create_sequences)
        self.statements = 0

    # driver plumbing

    def _x(self, sql: str, params: Sequence[Any] = ()) -> Any:
        self.statements += 1
        return self.conn.execute(sql, params)

    def _q(self, key: str, params: Sequence[Any] = ()) -> Any:
        self.statements += 1
        return self.conn.execute(self.sql[key], params)

    def _many(self, key: str, rows: Sequence[Sequence[Any]]) -> None:
        self.statements += 1
        if self.pg:
            with self.conn.cursor() as cur:
                cur.executemany(self.sql[key], rows)
        else:
            self.conn.executemany(self.sql[key], rows)

    def _changed(self, key: str, params: Sequence[Any]) -> None:
        if self._q(key, params).rowcount != 1:
            raise RuntimeError(f"raw {key} did not apply: {params}")

    def _begin(self) -> None:
        if not self.pg:  # psycopg opens the transaction itself on the first statement
            self._x("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        if self.pg:
            self.conn.commit()
        else:
            self.conn.execute("COMMIT")

    def _rollback(self) -> None:
        if self.pg:
            self.conn.rollback()
        else:
            self.conn.execute("ROLLBACK")

    def _when(self, value: datetime) -> Any:
        """Datetimes as SQLAlchemy stores them: naive UTC text on SQLite, aware on PostgreSQL."""
        return value if self.pg else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def _day(self, value: date) -> Any:
        return value if self.pg else value.isoformat()

    def _number(self, prefix: str) -> str:
        return f"{prefix}-{self._q('next_number', (prefix,)).fetchone()[0]:06d}"

    def _audit(self, rows: Sequence[tuple[str, str, str, dict[str, Any]]]) -> None:
        now = self._when(datetime.now(UTC))
        uid = self.seeded.actor.user_id
        self._many(
            "insert_audit",
            [
                (
                    now,
                    uid,
                    "owner",
                    action,
                    kind,
                    ident,
                    "",
                    json.dumps(after, sort_keys=True),
                    "bench",
                )
                for action, kind, ident, after in rows
            ],
        )

    def _in_transaction(self, work: Callable[[], Any]) -> Any:
        self._begin()
        try:
            result = work()
        except BaseException:
            self._rollback()
            raise
        self._commit()
        return result

    def _create_sequences(self) -> None:
        insert = "INSERT INTO doc_sequence (name, value) VALUES (?, 0) ON CONFLICT DO NOTHING"
        for name in ("SO", "SH", "INV", "PAY"):
            self._x(insert.replace("?", "%s") if self.pg else insert, (name,))

    # the three units of work

    def _place(self, n: int, customer_id: int, lines: Sequence[tuple[int, int]]) -> int:
        s = self.seeded
        uid = s.actor.user_id
        now = datetime.now(UTC)
        customer = self._q("customer", (customer_id,)).fetchone()
        if customer is None or not customer[1]:
            raise RuntimeError("customer missing or inactive")
        ids = [pid for pid, _ in lines]
        padded = (ids + ids)[:3]
        products = {row[0]: row for row in self._q("products", padded).fetchall()}
        if any(pid not in products or not products[pid][3] for pid in ids):
            raise RuntimeError("product missing or inactive")
        total = sum(products[pid][1] * qty // 1000 for pid, qty in lines)
        overdue_before = self._day(now.date() - timedelta(days=30))
        if self._q("overdue", (customer_id, overdue_before)).fetchone()[0]:
            raise RuntimeError("customer has overdue invoices")
        if customer[3] is not None:
            open_value = self._q("open_orders_value", (customer_id, *OPEN_STATUSES)).fetchone()
            if customer[4] + open_value[0] // 1000 + total > customer[3]:
                raise RuntimeError("over the credit limit")
        number = self._number("SO")
        order_id = self._q(
            "insert_order",
            (
                number,
                customer_id,
                customer[2] if customer[2] is not None else uid,
                uid,
                s.warehouse_id,
                total,
                CURRENCY,
                self._when(now),
                f"{self.tag}-so-{n}",
            ),
        ).fetchone()[0]
        self._many(
            "insert_line",
            [
                (order_id, i, pid, qty, products[pid][1], qty)
                for i, (pid, qty) in enumerate(lines, start=1)
            ],
        )
        at = self._when(now)
        for pid, qty in sorted(lines):
            self._changed("change_stock", (0, qty, pid, s.warehouse_id, 0, qty, qty, 0))
            self._q(
                "insert_move",
                (pid, s.warehouse_id, "reservation", 0, qty, None, "order", order_id, uid, at),
            )
        self._audit(
            [
                (
                    "order.place",
                    "order",
                    number,
                    {
                        "customer_id": customer_id,
                        "total": total,
                        "status": "confirmed",
                        "lines": len(lines),
                    },
                )
            ]
        )
        return int(order_id)

    def _ship(self, order_id: int) -> tuple[int, int, int]:
        s = self.seeded
        uid = s.actor.user_id
        now = datetime.now(UTC)
        order = self._q("order_for_shipping", (order_id,)).fetchone()
        if order is None or order[2] not in ("confirmed", "partially_shipped"):
            raise RuntimeError("order cannot ship")
        _, order_number, _, customer_id, warehouse_id = order
        customer = self._q("customer", (customer_id,)).fetchone()  # locked before stock rows
        lines = self._q("order_lines", (order_id,)).fetchall()
        number = self._number("SH")
        at = self._when(now)
        shipment_id = self._q(
            "insert_shipment", (number, order_id, warehouse_id, uid, at, uid, at)
        ).fetchone()[0]
        self._many(
            "insert_shipment_line",
            [
                (shipment_id, lid, pid, qty - shipped, cost)
                for lid, pid, qty, shipped, _, _, cost in lines
            ],
        )
        amount = 0
        for lid, pid, qty, shipped, reserved, price, cost in lines:
            todo = qty - shipped
            take = min(reserved, todo)
            self._changed("change_line", (-take, todo, lid, -take, todo, todo))
            self._changed(
                "change_stock", (-todo, -todo, pid, warehouse_id, -todo, -todo, -todo, -todo)
            )
            self._q(
                "insert_move",
                (
                    pid,
                    warehouse_id,
                    "shipment",
                    -todo,
                    -todo,
                    cost,
                    "shipment",
                    shipment_id,
                    uid,
                    at,
                ),
            )
            amount += qty * price // 1000 - shipped * price // 1000
        self._changed("ship_order", (order_id,))
        invoice_number = self._number("INV")
        today = now.date()
        invoice_id = self._q(
            "insert_invoice",
            (
                invoice_number,
                customer_id,
                order_id,
                shipment_id,
                amount,
                amount,
                CURRENCY,
                self._day(today),
                self._day(today + timedelta(days=customer[5])),
            ),
        ).fetchone()[0]
        self._changed("add_to_balance", (amount, customer_id))
        credit = self._q("payments_with_credit", (customer_id,)).fetchall()
        if credit:
            raise RuntimeError("the bench never leaves customer credit")
        self._audit(
            [
                ("shipment.create", "shipment", number, {"order": order_number}),
                (
                    "invoice.issue",
                    "invoice",
                    invoice_number,
                    {"customer_id": customer_id, "amount": amount, "order": order_number},
                ),
                (
                    "shipment.confirm",
                    "shipment",
                    number,
                    {"order_status": "shipped", "invoice": invoice_number, "amount": amount},
                ),
            ]
        )
        return int(invoice_id), int(customer_id), int(amount)

    def _pay(self, n: int, customer_id: int, amount: int) -> None:
        uid = self.seeded.actor.user_id
        now = datetime.now(UTC)
        if self._q("customer", (customer_id,)).fetchone() is None:
            raise RuntimeError("customer missing")
        invoices = self._q("open_invoices", (customer_id,)).fetchall()
        plan: list[tuple[int, int | None, int, int]] = []
        left = amount
        for invoice_id, order_id, outstanding in invoices:
            if left <= 0:
                break
            take = min(left, outstanding)
            plan.append((invoice_id, order_id, take, outstanding))
            left -= take
        number = self._number("PAY")
        at = self._when(now)
        payment_id = self._q(
            "insert_payment",
            (
                number,
                customer_id,
                amount,
                left,
                CURRENCY,
                self._day(now.date()),
                uid,
                at,
                f"{self.tag}-pay-{n}",
            ),
        ).fetchone()[0]
        for invoice_id, _, take, _ in plan:
            self._changed("reduce_outstanding", (take, take, invoice_id, take))
            self._q("insert_allocation", (payment_id, invoice_id, take, at))
        self._changed("add_to_balance", (-amount, customer_id))
        for _, order_id, take, outstanding in plan:
            if order_id is not None and take == outstanding:
                self._q("close_order", (order_id, order_id))
        self._audit(
            [
                (
                    "payment.record",
                    "payment",
                    number,
                    {
                        "customer_id": customer_id,
                        "amount": amount,
                        "method": "cash",
                        "credit": left,
                    },
                )
            ]
        )

    def run(self, n: int, plan: CyclePlan) -> tuple[int, int, int]:
        """One cycle; returns the nanoseconds each of its three transactions took."""
        s = self.seeded
        customer_id = s.customer_ids[plan.customer_index]
        lines = [(s.product_ids[p], q) for p, q in plan.lines]
        t0 = time.perf_counter_ns()
        order_id = self._in_transaction(lambda: self._place(n, customer_id, lines))
        t1 = time.perf_counter_ns()
        _, _, amount = self._in_transaction(lambda: self._ship(order_id))
        t2 = time.perf_counter_ns()
        self._in_transaction(lambda: self._pay(n, customer_id, amount))
        return t1 - t0, t2 - t1, time.perf_counter_ns() - t2

    def commit_latency_ms(self, samples: int = 30) -> float:
        """Median time of a one-row insert + commit in a scratch table: the durability floor."""
        self._in_transaction(
            lambda: self._x("CREATE TABLE bench_commit_probe (x INTEGER)"),
        )
        times = []
        insert = "INSERT INTO bench_commit_probe (x) VALUES (1)"
        for _ in range(samples):
            start = time.perf_counter_ns()
            self._in_transaction(lambda: self._x(insert))
            times.append((time.perf_counter_ns() - start) / 1e6)
        self._in_transaction(lambda: self._x("DROP TABLE bench_commit_probe"))
        return statistics.median(times)


# --- databases --------------------------------------------------------------------------------


@dataclass
class Pair:
    """Ours and raw, each on its own fresh database of the same kind."""

    ours: OursCycle
    raw: RawCycle
    ours_db: Database
    raw_conn: Any


def _sqlite_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        "PRAGMA foreign_keys=ON",
        f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    ):
        conn.execute(pragma)
    return conn


def _psycopg_connect(url: str) -> psycopg.Connection[Any]:
    parsed = make_url(url)
    options = parsed.query.get("options")
    conninfo = parsed.set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    return psycopg.connect(conninfo, options=options if isinstance(options, str) else None)


@contextmanager
def counting_statements(db: Database) -> Iterator[list[int]]:
    """Count the statements ``db`` sends while inside (only around untimed cycles)."""
    counted = [0]

    def count(*_args: Any) -> None:
        counted[0] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@contextmanager
def databases(backend: str, pg_url: str, seed_value: int) -> Iterator[Pair]:
    """Two freshly created and seeded databases of one kind: one for ours, one for raw."""
    policy = LedgerPolicy(currency=CURRENCY, credit_hold_overdue_days=30)
    clock = WallClock()
    with tempfile.TemporaryDirectory(prefix="chaterp-bench-") as tmp:
        if backend == "sqlite":
            ours_url = f"sqlite:///{Path(tmp) / 'ours.db'}"
            raw_url = f"sqlite:///{Path(tmp) / 'raw.db'}"
            with _open_pair(ours_url, raw_url, policy, clock, seed_value) as pair:
                yield pair
        else:
            with (
                fresh_postgres_schema(pg_url) as ours_url,
                fresh_postgres_schema(pg_url) as raw_url,
                _open_pair(ours_url, raw_url, policy, clock, seed_value) as pair,
            ):
                yield pair


@contextmanager
def _open_pair(
    ours_url: str, raw_url: str, policy: LedgerPolicy, clock: WallClock, seed_value: int
) -> Iterator[Pair]:
    ours_db = Database(ours_url, clock=clock, policy=policy)
    raw_seed_db = Database(raw_url, clock=clock, policy=policy)
    raw_conn: Any = None
    try:
        for db in (ours_db, raw_seed_db):
            create_schema(db)
        ours_seeded = seed(ours_db, random.Random(f"catalog-{seed_value}"))
        raw_seeded = seed(raw_seed_db, random.Random(f"catalog-{seed_value}"))
        raw_seed_db.dispose()
        dialect = raw_seed_db.dialect
        if dialect == "sqlite":
            raw_conn = _sqlite_connect(Path(make_url(raw_url).database or ""))
        else:
            raw_conn = _psycopg_connect(raw_url)
        tag = f"r{seed_value}"
        yield Pair(
            ours=OursCycle(ours_db, ours_seeded, tag),
            raw=RawCycle(raw_conn, dialect, raw_seeded, tag),
            ours_db=ours_db,
            raw_conn=raw_conn,
        )
    finally:
        if raw_conn is not None:
            raw_conn.close()
        ours_db.dispose()
        raw_seed_db.dispose()


FINGERPRINT = {
    "orders": "SELECT count(*) FROM sales_order",
    "closed_orders": "SELECT count(*) FROM sales_order WHERE status = 'closed'",
    "order_lines": "SELECT count(*) FROM sales_order_line",
    "shipments": "SELECT count(*) FROM shipment",
    "shipment_lines": "SELECT count(*) FROM shipment_line",
    "invoices": "SELECT count(*) FROM invoice",
    "paid_invoices": "SELECT count(*) FROM invoice WHERE status = 'paid'",
    "invoiced": "SELECT coalesce(sum(amount_minor), 0) FROM invoice",
    "payments": "SELECT count(*) FROM payment",
    "allocations": "SELECT count(*) FROM allocation",
    "stock_moves": "SELECT count(*) FROM stock_move",
    "audit_rows": "SELECT count(*) FROM audit_entry",
    "balances": "SELECT coalesce(sum(balance_minor), 0) FROM customer",
    "on_hand": "SELECT coalesce(sum(on_hand_milli), 0) FROM stock_balance",
    "reserved": "SELECT coalesce(sum(reserved_milli), 0) FROM stock_balance",
    "sequences": "SELECT coalesce(sum(value), 0) FROM doc_sequence",
}


def fingerprints(pair: Pair) -> tuple[dict[str, int], dict[str, int]]:
    with pair.ours_db.engine.connect() as conn:
        ours = {k: int(conn.execute(text(q)).scalar_one()) for k, q in FINGERPRINT.items()}
    raw = {k: int(pair.raw_conn.execute(q).fetchone()[0]) for k, q in FINGERPRINT.items()}
    if isinstance(pair.raw_conn, psycopg.Connection):
        pair.raw_conn.rollback()
    return ours, raw


# --- measuring --------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (like numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


STEPS = ("place", "ship", "pay")
COUNTED_CYCLES = 10  # untimed cycles after the timed ones, to count statements per cycle


@dataclass
class RunResult:
    ours_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    ours_steps_ms: list[tuple[float, float, float]] = field(default_factory=list)
    raw_steps_ms: list[tuple[float, float, float]] = field(default_factory=list)
    ours_cpu_ms: list[float] = field(default_factory=list)
    raw_cpu_ms: list[float] = field(default_factory=list)
    ours_statements: float = 0.0
    raw_statements: float = 0.0
    commit_ms: float = 0.0
    mismatch: dict[str, tuple[int, int]] = field(default_factory=dict)


def one_run(
    backend: str, pg_url: str, run_no: int, cycles: int, warmup: int, seed: int
) -> RunResult:
    """Fresh databases, warm-up, then ``cycles`` timed cycles of ours and raw, alternating."""
    seed_value = seed * 1000 + run_no
    plans = make_plan(warmup + cycles + COUNTED_CYCLES, random.Random(f"plan-{seed_value}"))
    result = RunResult()
    with databases(backend, pg_url, seed_value) as pair:
        for n, plan in enumerate(plans[:warmup]):
            pair.ours.run(n, plan)
            pair.raw.run(n, plan)
        ours_first = run_no % 2 == 0
        for n, plan in enumerate(plans[warmup : warmup + cycles], start=warmup):
            for is_ours in (True, False) if ours_first else (False, True):
                cycle: OursCycle | RawCycle = pair.ours if is_ours else pair.raw
                cpu = time.process_time_ns()
                start = time.perf_counter_ns()
                steps = cycle.run(n, plan)
                elapsed = (time.perf_counter_ns() - start) / 1e6
                cpu_ms = (time.process_time_ns() - cpu) / 1e6
                steps_ms = (steps[0] / 1e6, steps[1] / 1e6, steps[2] / 1e6)
                if is_ours:
                    result.ours_ms.append(elapsed)
                    result.ours_cpu_ms.append(cpu_ms)
                    result.ours_steps_ms.append(steps_ms)
                else:
                    result.raw_ms.append(elapsed)
                    result.raw_cpu_ms.append(cpu_ms)
                    result.raw_steps_ms.append(steps_ms)
            ours_first = not ours_first
        # A few more cycles, untimed, to count the statements each side sends per cycle.
        extra = plans[warmup + cycles :]
        with counting_statements(pair.ours_db) as counted:
            for n, plan in enumerate(extra, start=warmup + cycles):
                pair.ours.run(n, plan)
        pair.raw.statements = 0
        for n, plan in enumerate(extra, start=warmup + cycles):
            pair.raw.run(n, plan)
        result.ours_statements = counted[0] / len(extra)
        result.raw_statements = pair.raw.statements / len(extra)
        ours_fp, raw_fp = fingerprints(pair)
        result.mismatch = {k: (ours_fp[k], raw_fp[k]) for k in ours_fp if ours_fp[k] != raw_fp[k]}
        result.commit_ms = pair.raw.commit_latency_ms()
    return result


def summarise(backend: str, runs: list[RunResult]) -> dict[str, Any]:
    """Per-run percentiles, then the median of each over the runs."""

    def med(values: list[list[float]], pct: float) -> float:
        return statistics.median(percentile(v, pct) for v in values)

    ours = [r.ours_ms for r in runs]
    raw = [r.raw_ms for r in runs]
    figures: dict[str, Any] = {
        "ours_p50_ms": round(med(ours, 50), 3),
        "ours_p90_ms": round(med(ours, 90), 3),
        "ours_p99_ms": round(med(ours, 99), 3),
        "raw_p50_ms": round(med(raw, 50), 3),
        "raw_p90_ms": round(med(raw, 90), 3),
        "raw_p99_ms": round(med(raw, 99), 3),
        "ratio": round(med(ours, 50) / med(raw, 50), 2),
        "goal_p50_ms": GOAL_P50_MS[backend],
    }
    figures["met"] = figures["ours_p50_ms"] <= GOAL_P50_MS[backend]
    figures["ours_cpu_p50_ms"] = round(med([r.ours_cpu_ms for r in runs], 50), 3)
    figures["raw_cpu_p50_ms"] = round(med([r.raw_cpu_ms for r in runs], 50), 3)
    for side, per_run in (
        ("ours", [r.ours_steps_ms for r in runs]),
        ("raw", [r.raw_steps_ms for r in runs]),
    ):
        figures[f"{side}_step_p50_ms"] = {
            step: round(med([[cycle[i] for cycle in steps] for steps in per_run], 50), 3)
            for i, step in enumerate(STEPS)
        }
    figures["ours_statements_per_cycle"] = round(runs[-1].ours_statements, 1)
    figures["raw_statements_per_cycle"] = round(runs[-1].raw_statements, 1)
    figures["commit_p50_ms"] = round(statistics.median(r.commit_ms for r in runs), 3)
    figures["same_end_state"] = not any(r.mismatch for r in runs)
    return figures


def pg_reachable(url: str) -> str | None:
    """None when a connection works, else why not."""
    try:
        parsed = make_url(url)
        conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


def default_pg_url() -> str:
    for name in PG_URL_ENVS:
        if os.environ.get(name):
            return os.environ[name]
    return DEFAULT_PG_URL


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cycles", type=int, default=300, help="timed cycles per run")
    parser.add_argument("--runs", type=int, default=5, help="runs, each on fresh databases")
    parser.add_argument("--warmup", type=int, default=10, help="untimed cycles before each run")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated")
    parser.add_argument("--pg-url", default=default_pg_url(), help="PostgreSQL server URL")
    parser.add_argument("--seed", type=int, default=1, help="seed of catalog and cycle plans")
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = sorted(set(backends) - set(BACKENDS))
    if unknown or not backends:
        parser.error(f"--backends: choose from {', '.join(BACKENDS)}")
    if args.cycles < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("--cycles and --runs must be >= 1, --warmup >= 0")
    args.backends = backends
    return args


def print_table(results: dict[str, dict[str, Any]], out: TextIO) -> None:
    header = (
        f"{'backend':<10}{'ours p50':>9}{'p90':>8}{'p99':>8}   {'raw p50':>8}{'p90':>8}{'p99':>8}"
        f"{'ratio':>8}{'goal p50':>10}{'met?':>6}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for backend, f in results.items():
        print(
            f"{backend:<10}{f['ours_p50_ms']:>9.2f}{f['ours_p90_ms']:>8.2f}"
            f"{f['ours_p99_ms']:>8.2f}   {f['raw_p50_ms']:>8.2f}{f['raw_p90_ms']:>8.2f}"
            f"{f['raw_p99_ms']:>8.2f}{f['ratio']:>7.1f}x{f['goal_p50_ms']:>8.0f}ms"
            f"{'yes' if f['met'] else 'NO':>6}",
            file=out,
        )
    print("(ms per cycle; each percentile is the median of the per-run values)", file=out)


def print_breakdown(results: dict[str, dict[str, Any]], out: TextIO) -> None:
    header = (
        f"{'backend':<10}{'side':<6}"
        + "".join(f"{step + ' p50':>11}" for step in STEPS)
        + f"{'cpu p50':>10}{'statements':>12}{'commit p50':>12}{'same end state':>16}"
    )
    print(header, file=out)
    print("-" * len(header), file=out)
    for backend, f in results.items():
        for side in ("ours", "raw"):
            steps = f[f"{side}_step_p50_ms"]
            print(
                f"{backend if side == 'ours' else '':<10}{side:<6}"
                + "".join(f"{steps[step]:>11.2f}" for step in STEPS)
                + f"{f[f'{side}_cpu_p50_ms']:>10.2f}"
                + f"{f[f'{side}_statements_per_cycle']:>12.1f}"
                + (
                    f"{f['commit_p50_ms']:>12.2f}{'yes' if f['same_end_state'] else 'NO':>16}"
                    if side == "raw"
                    else ""
                ),
                file=out,
            )
    print(
        "(ms per unit of work; cpu = this process's CPU time per cycle; statements per cycle; "
        "commit = a one-row insert + commit on the raw connection, the durability floor under "
        "each of a cycle's three commits)",
        file=out,
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    out = sys.stdout
    skipped: dict[str, str] = {}
    backends = list(args.backends)
    if "postgres" in backends:
        why = pg_reachable(args.pg_url)
        if why is not None:
            shown = make_url(args.pg_url).render_as_string(hide_password=True)
            print(f"PostgreSQL unreachable at {shown} ({why}); benching SQLite only", file=out)
            backends = ["sqlite"]
            skipped["postgres"] = f"unreachable: {why}"

    print(
        f"ledger cycle = place_order (2-3 lines) -> ship_order (all) -> record_payment; "
        f"{args.cycles} timed cycles x {args.runs} runs, {args.warmup} warm-up cycles per run",
        file=out,
    )
    load = os.getloadavg()[0]
    print(f"load average {load:.2f} on {os.cpu_count()} CPUs at start", file=out)
    results: dict[str, dict[str, Any]] = {}
    for backend in backends:
        runs: list[RunResult] = []
        for run_no in range(args.runs):
            run = one_run(backend, args.pg_url, run_no, args.cycles, args.warmup, args.seed)
            runs.append(run)
            print(
                f"  {backend} run {run_no + 1}/{args.runs}: "
                f"ours p50 {percentile(run.ours_ms, 50):.2f} ms, "
                f"raw p50 {percentile(run.raw_ms, 50):.2f} ms",
                file=out,
            )
            for key, (ours_v, raw_v) in run.mismatch.items():
                print(f"    end state differs: {key}: ours {ours_v}, raw {raw_v}", file=out)
        results[backend] = summarise(backend, runs)

    print(file=out)
    print_table(results, out)
    print(file=out)
    print_breakdown(results, out)
    print(file=out)

    figures: dict[str, Any] = {
        "sqlite": results.get("sqlite"),
        "postgres": results.get("postgres"),
        "cycles": args.cycles,
        "runs": args.runs,
        "warmup": args.warmup,
        "seed": args.seed,
        "load_average": round(load, 2),
        "cpus": os.cpu_count(),
    }
    if skipped:
        figures["skipped"] = skipped
    print(json.dumps(figures), file=out)
    return figures


if __name__ == "__main__":
    main()
