"""CSV imports of products, customers and stock receipts: all or nothing, per file.

``chaterp import products|customers|stock FILE.csv`` calls ``import_products``,
``import_customers`` or ``import_stock``. Each reads the whole file, checks every row and
reports *every* bad row (line number and an English reason; the header is line 1). If any
row is bad nothing from the file is written; otherwise the whole file is written in one unit
of work, through the same validation and audit entries as the chat uses.

File format
    UTF-8 CSV with a header row; see ``csv_reader`` (delimiters, column names, blank lines).

Columns (required in **bold**)
    products:  **sku, name, unit, price**, cost, reorder_point, reorder_qty, aliases (``a|b``)
    customers: **name**, phone, address, credit_limit, payment_terms_days, sales_rep, birthday
    stock:     **sku, quantity**, warehouse, cost

Empty cells ("an import never erases")
    An empty optional cell (or an optional column left out) gives the default on a new
    record and leaves the current value alone on an existing one:

    * products: cost 0 (it becomes the real unit cost with the first stock receipt, which
      sets the moving average), reorder point/quantity 0, no aliases. Re-importing never
      resets a product's moving-average cost unless the cell says so.
    * customers: no credit limit, the policy's payment terms, no sales rep, no birthday.
      To remove a limit or a rep, use the chat.
    * stock: warehouse = the default warehouse; cost = the product's current unit cost
      (the moving average then stays as it is).

Matching existing records
    products by SKU, customers by name and phone, stock not at all (every row is a
    receipt): the rules are in the docstrings of ``products``, ``customers`` and ``stock``.

Values
    Amounts and quantities as people type them (``1,200.50``, ``¥1 200``, full-width digits);
    price, cost and credit limit may be 0; quantities need more than 0 for stock and at most
    the unit's decimals (3 for kg/m/l…, else whole units). ``sales_rep`` is a user name,
    case-insensitive, among active users with role sales or owner. ``birthday`` is an ISO
    date ``YYYY-MM-DD`` only: a birthday without a year would need an invented year, which
    would show wrong ages, so ``MM-DD`` is refused with a hint.

Speed
    Products are written in batches (``save_products``: one SKU lookup per 500 rows, batched
    inserts/updates and audit entries), so 100,000 products take seconds, not minutes; see
    ``bench/import_products.py``. Customers and stock rows go through ``create_customer`` /
    ``update_customer`` / ``receive_stock`` one by one.

Modules
    ``report`` (RowError, ImportReport), ``csv_reader`` (decoding, rows, header check),
    ``values`` (cell parsers), ``reasons`` (refusals in English), ``common`` (row checking),
    ``progress``, ``runner`` (the two passes), ``bulk_save`` (save_products), and one
    module per kind: ``products``, ``customers``, ``stock``.
"""

from __future__ import annotations

from domain.importing.bulk_save import BulkSaveResult, save_products
from domain.importing.csv_reader import Columns, CsvError, read_csv
from domain.importing.customers import CUSTOMER_COLUMNS, import_customers
from domain.importing.products import PRODUCT_COLUMNS, import_products
from domain.importing.progress import Progress
from domain.importing.reasons import describe_refusal as describe_refusal
from domain.importing.report import MAX_LISTED_ERRORS, ImportReport, RowError
from domain.importing.stock import STOCK_COLUMNS, import_stock
from domain.importing.values import parse_birthday as parse_birthday
from domain.importing.values import parse_payment_terms as parse_payment_terms

__all__ = [
    "CUSTOMER_COLUMNS",
    "MAX_LISTED_ERRORS",
    "PRODUCT_COLUMNS",
    "STOCK_COLUMNS",
    "BulkSaveResult",
    "Columns",
    "CsvError",
    "ImportReport",
    "Progress",
    "RowError",
    "import_customers",
    "import_products",
    "import_stock",
    "read_csv",
    "save_products",
]
