"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22 07:34:30.977976
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import storage.tables
from storage.tables import append_only_ddl

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # customer.sales_rep_id and app_user.customer_id point at each other: SQLite takes the
    # foreign key inline (it cannot ALTER one in), PostgreSQL gets it once app_user exists.
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    sales_rep_fk = (
        [
            sa.ForeignKeyConstraint(
                ["sales_rep_id"], ["app_user.id"], name="fk_customer_sales_rep", ondelete="RESTRICT"
            )
        ]
        if is_sqlite
        else []
    )
    op.create_table(
        "customer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("phone_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("sales_rep_id", sa.Integer(), nullable=True),
        sa.Column("credit_limit_minor", sa.BigInteger(), nullable=True),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=1), nullable=False),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("balance_minor", sa.BigInteger(), nullable=False),
        sa.Column("created_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("tier IN ('A','B','C')", name="ck_customer_tier"),
        sa.CheckConstraint(
            "credit_limit_minor IS NULL OR credit_limit_minor >= 0", name="ck_customer_limit"
        ),
        sa.CheckConstraint("payment_terms_days >= 0", name="ck_customer_terms"),
        *sales_rep_fk,
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_name_key"), ["name_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_customer_phone_key"), ["phone_key"], unique=False)

    op.create_table(
        "doc_sequence",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "product",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("cost_minor", sa.BigInteger(), nullable=False),
        sa.Column("aliases", sqlmodel.sql.sqltypes.AutoString(length=2500), nullable=False),
        sa.Column("reorder_point_milli", sa.BigInteger(), nullable=False),
        sa.Column("reorder_qty_milli", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("cost_minor >= 0", name="ck_product_cost"),
        sa.CheckConstraint("price_minor >= 0", name="ck_product_price"),
        sa.CheckConstraint(
            "reorder_point_milli >= 0 AND reorder_qty_milli >= 0", name="ck_product_reorder"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku"),
    )
    op.create_table(
        "warehouse",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_table(
        "app_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("telegram_user_id", sa.BigInteger(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("language", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('owner','sales','warehouse','customer')", name="ck_user_role"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("telegram_user_id"),
    )
    if not is_sqlite:
        op.create_foreign_key(
            "fk_customer_sales_rep",
            "customer",
            "app_user",
            ["sales_rep_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.create_table(
        "stock_balance",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("on_hand_milli", sa.BigInteger(), nullable=False),
        sa.Column("reserved_milli", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("on_hand_milli >= 0", name="ck_stock_on_hand"),
        sa.CheckConstraint("reserved_milli <= on_hand_milli", name="ck_stock_available"),
        sa.CheckConstraint("reserved_milli >= 0", name="ck_stock_reserved"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("product_id", "warehouse_id"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("object_type", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("object_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_object", ["object_type", "object_id"], unique=False)

    op.create_table(
        "invite",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "role IN ('owner','sales','warehouse','customer')", name="ck_invite_role"
        ),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["used_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_table(
        "payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("unallocated_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.CheckConstraint(
            "method IN ('cash','bank_transfer','other','credit_note')", name="ck_payment_method"
        ),
        sa.CheckConstraint("amount_minor > 0", name="ck_payment_amount"),
        sa.CheckConstraint(
            "unallocated_minor >= 0 AND unallocated_minor <= amount_minor",
            name="ck_payment_unallocated",
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["recorded_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "sales_order",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("sales_rep_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("hold_reason", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("created_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft','pending_approval','confirmed','partially_shipped','shipped','closed','cancelled')",
            name="ck_order_status",
        ),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["decided_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["sales_rep_id"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sales_order_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "ix_sales_order_customer_status", ["customer_id", "status"], unique=False
        )

    op.create_table(
        "stock_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("on_hand_delta_milli", sa.BigInteger(), nullable=False),
        sa.Column("reserved_delta_milli", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=True),
        sa.Column("source_type", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stock_move", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stock_move_product_wh", ["product_id", "warehouse_id"], unique=False
        )

    op.create_table(
        "sales_order_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("discount_bp", sa.Integer(), nullable=False),
        sa.Column("reserved_milli", sa.BigInteger(), nullable=False),
        sa.Column("shipped_milli", sa.BigInteger(), nullable=False),
        sa.Column("returned_milli", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("discount_bp >= 0 AND discount_bp <= 10000", name="ck_line_discount"),
        sa.CheckConstraint(
            "returned_milli >= 0 AND returned_milli <= shipped_milli", name="ck_line_returned"
        ),
        sa.CheckConstraint("quantity_milli > 0", name="ck_line_quantity"),
        sa.CheckConstraint("reserved_milli >= 0", name="ck_line_reserved"),
        sa.CheckConstraint(
            "shipped_milli >= 0 AND shipped_milli <= quantity_milli", name="ck_line_shipped"
        ),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "line_no", name="uq_order_line_no"),
    )
    with op.batch_alter_table("sales_order_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sales_order_line_order_id"), ["order_id"], unique=False
        )

    op.create_table(
        "shipment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.Column("confirmed_by", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", storage.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft','confirmed','cancelled')", name="ck_shipment_status"
        ),
        sa.ForeignKeyConstraint(["confirmed_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by"], ["app_user.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouse.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shipment_order_id"), ["order_id"], unique=False)

    op.create_table(
        "invoice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.Integer(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("outstanding_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.CheckConstraint("status IN ('open','paid')", name="ck_invoice_status"),
        sa.CheckConstraint("amount_minor > 0", name="ck_invoice_amount"),
        sa.CheckConstraint(
            "outstanding_minor >= 0 AND outstanding_minor <= amount_minor",
            name="ck_invoice_outstanding",
        ),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["order_id"], ["sales_order.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("number"),
        sa.UniqueConstraint("shipment_id"),
    )
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.create_index("ix_invoice_customer_status", ["customer_id", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_order_id"), ["order_id"], unique=False)

    op.create_table(
        "shipment_line",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("unit_cost_minor", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("quantity_milli > 0", name="ck_shipment_line_qty"),
        sa.ForeignKeyConstraint(["order_line_id"], ["sales_order_line.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["product_id"], ["product.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipment.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("shipment_line", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_shipment_line_shipment_id"), ["shipment_id"], unique=False
        )

    op.create_table(
        "allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("at", storage.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_minor > 0", name="ck_allocation_amount"),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoice.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["payment_id"], ["payment.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_allocation_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_allocation_payment_id"), ["payment_id"], unique=False)

    for statement in append_only_ddl(op.get_bind().dialect.name):
        op.execute(sa.text(statement))
    # ### end Alembic commands ###


def downgrade() -> None:
    is_sqlite = op.get_bind().dialect.name == "sqlite"
    if not is_sqlite:
        op.drop_constraint("fk_customer_sales_rep", "customer", type_="foreignkey")
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table("allocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allocation_payment_id"))
        batch_op.drop_index(batch_op.f("ix_allocation_invoice_id"))

    op.drop_table("allocation")
    with op.batch_alter_table("shipment_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_line_shipment_id"))

    op.drop_table("shipment_line")
    with op.batch_alter_table("invoice", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_order_id"))
        batch_op.drop_index("ix_invoice_customer_status")

    op.drop_table("invoice")
    with op.batch_alter_table("shipment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shipment_order_id"))

    op.drop_table("shipment")
    with op.batch_alter_table("sales_order_line", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sales_order_line_order_id"))

    op.drop_table("sales_order_line")
    with op.batch_alter_table("stock_move", schema=None) as batch_op:
        batch_op.drop_index("ix_stock_move_product_wh")

    op.drop_table("stock_move")
    with op.batch_alter_table("sales_order", schema=None) as batch_op:
        batch_op.drop_index("ix_sales_order_customer_status")
        batch_op.drop_index(batch_op.f("ix_sales_order_created_at"))

    op.drop_table("sales_order")
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_customer_id"))

    op.drop_table("payment")
    op.drop_table("invite")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_object")

    op.drop_table("audit_entry")
    op.drop_table("stock_balance")
    op.drop_table("app_user")
    op.drop_table("warehouse")
    op.drop_table("product")
    op.drop_table("doc_sequence")
    with op.batch_alter_table("customer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_phone_key"))
        batch_op.drop_index(batch_op.f("ix_customer_name_key"))

    op.drop_table("customer")
    # ### end Alembic commands ###
    if not is_sqlite:
        op.execute(sa.text("DROP FUNCTION IF EXISTS chaterp_append_only()"))
