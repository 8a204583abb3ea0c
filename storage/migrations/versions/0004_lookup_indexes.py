"""lookup indexes: products changed since, a salesperson's customers, backordered lines

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 22:40:00

Without them three per-message queries read whole tables: the product index's "what changed
since" (every product search), the customers a salesperson may pick (every /order), and the
low-stock check's backorders (every order, shipment and receipt: every order line ever).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as storage.tables.LINE_WAITING when this revision was written (a migration never changes)
LINE_WAITING = "quantity_milli - shipped_milli - reserved_milli > 0"


def upgrade() -> None:
    op.create_index("ix_product_updated", "product", ["updated_at", "id"], unique=False)
    op.create_index("ix_customer_sales_rep", "customer", ["sales_rep_id"], unique=False)
    op.create_index(
        "ix_line_waiting",
        "sales_order_line",
        ["product_id"],
        unique=False,
        sqlite_where=sa.text(LINE_WAITING),
        postgresql_where=sa.text(LINE_WAITING),
    )


def downgrade() -> None:
    op.drop_index("ix_line_waiting", table_name="sales_order_line")
    op.drop_index("ix_customer_sales_rep", table_name="customer")
    op.drop_index("ix_product_updated", table_name="product")
