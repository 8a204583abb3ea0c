"""CSV imports end to end on every backend (fake, SQLite, PostgreSQL).

Each test writes a small CSV file the way a shop owner's spreadsheet would, imports it, and
checks what the ledger shows afterwards: the catalog, customers, stock balances, moving
average costs and the audit trail; and, for a bad file, that nothing at all changed.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from domain.errors import NotAllowed
from domain.importing import (
    MAX_LISTED_ERRORS,
    CsvError,
    ImportReport,
    RowError,
    import_customers,
    import_products,
    import_stock,
    read_csv,
    save_products,
)
from domain.model import Actor, AuditEntry, Customer, Product, Role, StockBalance, Warehouse
from domain.money import Money
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.catalog import (
    ProductDraft,
    add_warehouse,
    ensure_default_warehouse,
    save_product,
)
from domain.services.customers import CustomerDraft, create_customer
from domain.services.stock import receive_stock
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from tests.fakes import FakeDatabase, FakeUnitOfWork, FixedClock

Run = Callable[[Callable[[UnitOfWork], Any]], Any]

PRODUCTS_HEADER = "sku,name,unit,price,cost,reorder_point,reorder_qty,aliases"
CUSTOMERS_HEADER = "name,phone,address,credit_limit,payment_terms_days,sales_rep,birthday"


def cny(minor: int) -> Money:
    return Money(minor, "CNY")


def write_csv(folder: Path, name: str, *lines: str, bom: bool = False) -> Path:
    """A UTF-8 CSV file with Windows line ends, as spreadsheets save them."""
    path = folder / name
    text = "\r\n".join(lines) + "\r\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def catalog(uow_factory: UnitOfWorkFactory) -> dict[str, Product]:
    with uow_factory() as uow:
        return {p.sku: p for p in uow.products.list(active_only=False)}


def customers(uow_factory: UnitOfWorkFactory) -> list[Customer]:
    with uow_factory() as uow:
        return uow.customers.list(active_only=False)


def audit_trail(uow_factory: UnitOfWorkFactory, object_type: str) -> list[AuditEntry]:
    with uow_factory() as uow:
        return uow.audit.list(object_type=object_type)


def balances(uow_factory: UnitOfWorkFactory, sku: str) -> list[StockBalance]:
    with uow_factory() as uow:
        product = uow.products.by_sku(sku)
        assert product is not None
        return uow.stock.for_product(product.id)


def on_hand(uow_factory: UnitOfWorkFactory, sku: str, warehouse: Warehouse) -> Quantity:
    with uow_factory() as uow:
        product = uow.products.by_sku(sku)
        assert product is not None
        return uow.stock.get(product.id, warehouse.id).on_hand


def audited(entry: AuditEntry) -> tuple[str, str, str, str, str]:
    return (entry.action, entry.actor_role, entry.source, entry.before, entry.after)


def lines_of(report: ImportReport) -> list[int]:
    return [error.line for error in report.errors]


# --- products -----------------------------------------------------------------------------


def test_products_import_creates_then_reimport_updates_by_sku(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    first = write_csv(
        tmp_path,
        "products.csv",
        PRODUCTS_HEADER,
        "W-BLUE,Blue widget,pcs,12.50,8,5,20,blue|bw",
        "R-JASMINE,Jasmine rice,kg,6,4,2.5,10.25,",
    )
    report = import_products(uow_factory, first, actor=owner)
    assert report == ImportReport("products", created=2, updated=0, errors=(), rows=2)
    assert report.ok

    second = write_csv(
        tmp_path,
        "products2.csv",
        PRODUCTS_HEADER,
        "w-blue,Blue widget XL,pcs,13.00,8,5,20,blue|bw",  # same SKU, other case
        "R-JASMINE,Jasmine rice,kg,6,4,2.5,10.25,",  # identical: left alone
        "N-NEW,New thing,pcs,1,,,,",
    )
    report = import_products(uow_factory, second, actor=owner)
    assert (report.created, report.updated, report.unchanged, report.ok) == (1, 1, 1, True)

    products = catalog(uow_factory)
    assert sorted(products) == ["N-NEW", "R-JASMINE", "W-BLUE"]
    widget = products["W-BLUE"]
    assert (widget.name, widget.price, widget.cost) == ("Blue widget XL", cny(1300), cny(800))
    assert widget.aliases == ("blue", "bw")
    assert (widget.reorder_point, widget.reorder_qty) == (Quantity.of(5), Quantity.of(20))
    rice = products["R-JASMINE"]
    assert (rice.reorder_point, rice.reorder_qty) == (Quantity.of("2.5"), Quantity.of("10.25"))
    new = products["N-NEW"]
    assert (new.cost, new.reorder_point, new.aliases) == (cny(0), Quantity(0), ())

    actions = [(e.action, e.object_id) for e in audit_trail(uow_factory, "product")]
    ids = {sku: str(p.id) for sku, p in products.items()}
    assert actions == [
        ("product.create", ids["W-BLUE"]),
        ("product.create", ids["R-JASMINE"]),
        ("product.update", ids["W-BLUE"]),
        ("product.create", ids["N-NEW"]),
    ]


@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_products_file_with_or_without_bom(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path, bom: bool
) -> None:
    path = write_csv(tmp_path, "p.csv", "sku,name,unit,price", "A-1,Apple,pcs,3", bom=bom)
    report = import_products(uow_factory, path, actor=owner)
    assert report.ok, report.describe()
    assert catalog(uow_factory)["A-1"].price == cny(300)


def test_a_bad_row_in_the_middle_imports_nothing_and_every_bad_line_is_reported(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "p.csv",
        PRODUCTS_HEADER,  # line 1
        "A-1,Apple,pcs,3,,,,",  # 2
        "A-2,Pear,pcs,abc,,,,",  # 3: price not a number
        '"A-3","Long\nname",pcs,4,,,,',  # 4-5: a quoted cell over two lines (fine)
        "bad sku,,pcs,-1,,,,",  # 6: three problems on one line
        "A-5,Rope,m,2,,1.2345,,",  # 7: more decimals than metres allow
        "A-1,Apple again,pcs,3,,,,",  # 8: SKU already on line 2
        "A-7,Nut,pcs,1,,,,,extra",  # 9: a value beyond the header
    )
    report = import_products(uow_factory, path, actor=owner)

    assert not report.ok
    assert (report.created, report.updated) == (0, 0)
    assert report.errors == (
        RowError(3, "price: not a number ('abc')"),
        RowError(
            6,
            "sku: not a valid SKU (letters, digits and . _ / -, up to 40 characters)"
            " ('bad sku'); name: missing (required); price: must not be negative ('-1')",
        ),
        RowError(7, "reorder_point: too many decimals (at most 3) ('1.2345')"),
        RowError(8, "sku: A-1 is already on line 2"),
        RowError(9, "9 values but the header has 8 columns (first extra value 'extra')"),
    )
    assert catalog(uow_factory) == {}
    assert audit_trail(uow_factory, "product") == []


def test_only_the_first_bad_lines_are_listed_but_all_are_counted(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    rows = [f"S-{i},Thing {i},pcs,{'x' if i % 2 else '1'}" for i in range(200)]
    path = write_csv(tmp_path, "p.csv", "sku,name,unit,price", *rows)
    report = import_products(uow_factory, path, actor=owner)
    assert len(report.errors) == MAX_LISTED_ERRORS
    assert report.more_errors == 100 - MAX_LISTED_ERRORS
    assert lines_of(report) == [i + 2 for i in range(200) if i % 2][:MAX_LISTED_ERRORS]
    assert "… and 50 more bad line(s) not listed." in report.describe()
    assert catalog(uow_factory) == {}


def test_missing_required_columns_are_one_clear_error(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "p.csv", "sku,name,cost", "A-1,Apple,1")
    report = import_products(uow_factory, path, actor=owner)
    assert len(report.errors) == 1
    error = report.errors[0]
    assert error.line == 1
    assert error.reason.startswith("missing required column(s): unit, price")
    assert catalog(uow_factory) == {}


def test_unknown_columns_are_refused_so_typos_do_not_drop_data(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "p.csv", "SKU, Name ,Unit,Price,Prcie", "A-1,Apple,pcs,1,2")
    report = import_products(uow_factory, path, actor=owner)
    assert [(e.line, e.reason.split(" (")[0]) for e in report.errors] == [
        (1, "unknown column(s): prcie")
    ]
    assert catalog(uow_factory) == {}


def test_aliases_split_on_pipe_chinese_names_and_grouped_prices(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "p.csv",
        PRODUCTS_HEADER,
        'T-1,茉莉花茶 特级,斤,"1,200.50",¥800,,,花茶| 茉莉 ||jasmine tea|花茶',
        "T-2,乌龙茶,包,１５,,,,",  # full-width digits, as a Chinese IME types them
    )
    report = import_products(uow_factory, path, actor=owner)
    assert report.ok, report.describe()
    products = catalog(uow_factory)
    tea = products["T-1"]
    assert (tea.name, tea.unit) == ("茉莉花茶 特级", "斤")
    assert (tea.price, tea.cost) == (cny(120050), cny(80000))
    assert tea.aliases == ("花茶", "茉莉", "jasmine tea")  # trimmed, blanks and repeats dropped
    assert products["T-2"].price == cny(1500)


def test_reimport_without_cost_keeps_the_moving_average_cost(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor, tmp_path: Path
) -> None:
    path = write_csv(tmp_path, "p.csv", PRODUCTS_HEADER, "W-1,Widget,pcs,10,,3,,a|b")
    assert import_products(uow_factory, path, actor=owner).ok
    widget = catalog(uow_factory)["W-1"]
    run(lambda uow: ensure_default_warehouse(uow))
    run(
        lambda uow: receive_stock(
            uow, actor=owner, product_id=widget.id, quantity=Quantity.of(4), unit_cost=cny(650)
        )
    )
    again = write_csv(tmp_path, "p2.csv", "sku,name,unit,price,cost,aliases", "W-1,Widget,pcs,11,,")
    report = import_products(uow_factory, again, actor=owner)
    assert (report.updated, report.ok) == (1, True)
    widget = catalog(uow_factory)["W-1"]
    assert (widget.price, widget.cost) == (cny(1100), cny(650))
    assert (widget.aliases, widget.reorder_point) == (("a", "b"), Quantity.of(3))


def test_save_products_writes_what_save_product_writes(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor
) -> None:
    """The bulk path keeps the audit trail identical to one save_product per draft."""
    drafts = [
        ProductDraft("a-1", " Apple ", "pcs", cny(100), cny(50), aliases=("x", "x", "y")),
        ProductDraft("B-2", "Bean", "kg", cny(200), cny(90)),
    ]
    changed = ProductDraft("B-2", "Bean", "kg", cny(250), cny(90))
    run(lambda uow: save_product(uow, actor=owner, draft=drafts[0]))
    run(lambda uow: save_product(uow, actor=owner, draft=drafts[1]))
    run(lambda uow: save_product(uow, actor=owner, draft=changed))
    one_by_one = [audited(e) for e in audit_trail(uow_factory, "product")]

    renamed = [
        ProductDraft(f"X{d.sku}", d.name, d.unit, d.price, d.cost, d.aliases) for d in drafts
    ]
    result = run(lambda uow: save_products(uow, actor=owner, drafts=renamed))
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    changed_renamed = ProductDraft("XB-2", "Bean", "kg", cny(250), cny(90))
    first = renamed[0]
    result = run(lambda uow: save_products(uow, actor=owner, drafts=[first, changed_renamed]))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)

    bulk = [audited(e) for e in audit_trail(uow_factory, "product")[3:]]
    assert bulk == [(*head, after.replace('"sku": "', '"sku": "X')) for *head, after in one_by_one]
    products = catalog(uow_factory)
    assert products["XA-1"].aliases == products["A-1"].aliases == ("x", "y")
    assert products["XB-2"].price == products["B-2"].price == cny(250)


def test_progress_is_reported_monotonically_up_to_the_total(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    rows = [f"P-{i},Thing {i},pcs,{i % 90 + 1}" for i in range(2500)]
    path = write_csv(tmp_path, "p.csv", "sku,name,unit,price", *rows)
    calls: list[tuple[int, int]] = []
    report = import_products(
        uow_factory, path, actor=owner, progress=lambda done, total: calls.append((done, total))
    )
    assert report.created == 2500
    assert calls[0] == (0, 5000) and calls[-1] == (5000, 5000)
    done = [d for d, _ in calls]
    assert done == sorted(set(done)) and len(calls) >= 6  # checking and writing both report
    assert {t for _, t in calls} == {5000}
    assert len(catalog(uow_factory)) == 2500


def test_a_retried_import_writes_once_and_progress_never_goes_back(
    clock: FixedClock, owner: Actor, tmp_path: Path
) -> None:
    """Someone commits while the import writes: its unit of work is retried from scratch."""
    db = FakeDatabase(clock=clock)
    rows = [f"P-{i},Thing {i},pcs,1" for i in range(1500)]
    path = write_csv(tmp_path, "p.csv", "sku,name,unit,price", *rows)
    calls: list[int] = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if done > 1500 and db.commits == 0:  # writing: a concurrent commit sneaks in
            run_in_transaction(db.uow, lambda uow: ensure_default_warehouse(uow))

    units: list[FakeUnitOfWork] = []

    def factory() -> FakeUnitOfWork:
        units.append(db.uow())
        return units[-1]

    report = import_products(factory, path, actor=owner, progress=progress)
    assert (report.ok, report.created) == (True, 1500)
    assert len(units) == 3  # reading the settings, the write that lost, the retry
    assert db.commits == 2  # the warehouse, then the import's second attempt
    assert calls == sorted(set(calls)) and calls[-1] == 3000
    assert len(catalog(db.uow)) == 1500
    assert len(audit_trail(db.uow, "product")) == 1500


def test_only_owners_import_products(uow_factory: UnitOfWorkFactory, tmp_path: Path) -> None:
    path = write_csv(tmp_path, "p.csv", "sku,name,unit,price", "A-1,Apple,pcs,3")
    clerk = Actor(user_id=None, role=Role.WAREHOUSE, source="test", name="clerk")
    with pytest.raises(NotAllowed):
        import_products(uow_factory, path, actor=clerk)
    assert catalog(uow_factory) == {}


# --- customers ----------------------------------------------------------------------------


def test_customers_import_with_sales_rep_by_name_birthday_and_defaults(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor, tmp_path: Path
) -> None:
    li = run(lambda uow: add_user(uow, actor=owner, name="Li Na", role=Role.SALES))
    boss = run(lambda uow: add_user(uow, actor=owner, name="Zhang Boss", role=Role.OWNER))
    path = write_csv(
        tmp_path,
        "c.csv",
        CUSTOMERS_HEADER,
        'Acme Trading,+86 138 0013 8000,"1 Road, Shanghai","5,000",45,li na,1980-05-17',
        "王小明,13900001111,,,,ZHANG BOSS,",
        "Cash Only Ltd,,,0,0,,",
    )
    report = import_customers(uow_factory, path, actor=owner)
    assert report == ImportReport("customers", created=3, updated=0, errors=(), rows=3)

    by_name = {c.name: c for c in customers(uow_factory)}
    acme = by_name["Acme Trading"]
    assert (acme.phone, acme.address) == ("+86 138 0013 8000", "1 Road, Shanghai")
    assert (acme.credit_limit, acme.payment_terms_days) == (cny(500000), 45)
    assert (acme.sales_rep_id, acme.birthday) == (li.id, date(1980, 5, 17))
    wang = by_name["王小明"]
    assert wang.credit_limit is None  # empty: no limit
    assert wang.payment_terms_days == 30  # empty: the policy default
    assert (wang.sales_rep_id, wang.birthday) == (boss.id, None)
    cash = by_name["Cash Only Ltd"]
    assert (cash.credit_limit, cash.payment_terms_days, cash.sales_rep_id) == (cny(0), 0, None)
    assert [e.action for e in audit_trail(uow_factory, "customer")] == ["customer.create"] * 3


def test_reimporting_customers_updates_instead_of_duplicating(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor, tmp_path: Path
) -> None:
    run(
        lambda uow: create_customer(
            uow, actor=owner, draft=CustomerDraft(name="Wang Wei", phone="13800138000")
        )
    )
    run(lambda uow: create_customer(uow, actor=owner, draft=CustomerDraft(name="Bright Co")))
    path = write_csv(
        tmp_path,
        "c.csv",
        "name,phone,credit_limit",
        "wang  wei,+86 138-0013-8000,100",  # same customer: normalised name, same phone
        "Wang Wei,13911112222,",  # same name, another phone: another person
        "BRIGHT CO.,021 5555 0000,",  # the only Bright Co had no phone: fill it in
    )
    report = import_customers(uow_factory, path, actor=owner)
    assert (report.created, report.updated, report.unchanged, report.ok) == (1, 2, 0, True)
    again = import_customers(uow_factory, path, actor=owner)
    assert (again.created, again.updated, again.unchanged, again.ok) == (0, 0, 3, True)

    people = sorted((c.name, c.phone, c.credit_limit) for c in customers(uow_factory))
    assert people == [
        ("BRIGHT CO.", "021 5555 0000", None),
        ("Wang Wei", "13911112222", None),
        ("wang wei", "+86 138-0013-8000", cny(10000)),
    ]


def test_bad_customer_rows_are_all_reported_and_nothing_is_saved(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor, tmp_path: Path
) -> None:
    run(lambda uow: add_user(uow, actor=owner, name="Wu Store", role=Role.WAREHOUSE))
    for phone in ("13800000001", "13800000002"):
        draft = CustomerDraft(name="Twin Shop", phone=phone)
        run(lambda uow, d=draft: create_customer(uow, actor=owner, draft=d, allow_similar=True))
    path = write_csv(
        tmp_path,
        "c.csv",
        CUSTOMERS_HEADER,
        "Good Co,,,,,,",  # 2: fine on its own
        "A,,,,,Nobody,",  # 3
        "B,,,,,Wu Store,",  # 4: a warehouse user is not a sales rep
        "C,,,,,,05-17",  # 5
        "D,,,,,,2031-01-01",  # 6
        "E,abc,,-5,400,,1999-02-30",  # 7
        "Twin Shop,,,,,,",  # 8: which of the two?
        "good co,,,,,,",  # 9: repeats line 2
    )
    report = import_customers(uow_factory, path, actor=owner)
    assert report.errors == (
        RowError(3, "sales_rep: no active salesperson or owner called 'Nobody'"),
        RowError(4, "sales_rep: no active salesperson or owner called 'Wu Store'"),
        RowError(5, "birthday: needs the year: write YYYY-MM-DD ('05-17')"),
        RowError(6, "birthday: is in the future ('2031-01-01')"),
        RowError(
            7,
            "phone: not a phone number ('abc'); credit_limit: must not be negative ('-5');"
            " payment_terms_days: out of range (0 to 365) ('400');"
            " birthday: no such date ('1999-02-30')",
        ),
        RowError(
            8,
            "name: 2 customers are called 'Twin Shop' (#1, #2); add the phone number to say which",
        ),
        RowError(9, "name: same customer as line 2"),
    )
    assert sorted(c.name for c in customers(uow_factory)) == ["Twin Shop", "Twin Shop"]


# --- stock --------------------------------------------------------------------------------


@pytest.fixture
def stocked_catalog(uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path) -> Path:
    path = write_csv(
        tmp_path,
        "catalog.csv",
        "sku,name,unit,price,cost",
        "W-1,Widget,pcs,10,6",
        "R-1,Rice,kg,5,",
    )
    assert import_products(uow_factory, path, actor=owner).ok
    return path


@pytest.mark.usefixtures("stocked_catalog")
def test_stock_import_raises_on_hand_and_moving_average_cost(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor, tmp_path: Path
) -> None:
    main = run(lambda uow: ensure_default_warehouse(uow))
    north = run(lambda uow: add_warehouse(uow, actor=owner, code="NORTH", name="North depot"))
    path = write_csv(
        tmp_path,
        "stock.csv",
        "sku,warehouse,quantity,cost",
        "W-1,,10,4.00",  # cost 6 with nothing on hand -> 4.00
        "w-1,north,30,8",  # (10*4 + 30*8) / 40 = 7.00
        "W-1,MAIN,10,",  # empty cost: received at the current 7.00, average unchanged
        "R-1,NORTH,2.5,3.20",
    )
    report = import_stock(uow_factory, path, actor=owner)
    assert (report.ok, report.created, report.rows) == (True, 4, 4)

    assert on_hand(uow_factory, "W-1", main) == Quantity.of(20)
    assert on_hand(uow_factory, "W-1", north) == Quantity.of(30)
    assert on_hand(uow_factory, "R-1", north) == Quantity.of("2.5")
    products = catalog(uow_factory)
    assert products["W-1"].cost == cny(700)
    assert products["R-1"].cost == cny(320)
    with uow_factory() as uow:
        moves = uow.stock.moves(products["W-1"].id)
    assert [(m.on_hand_delta, m.unit_cost, m.note) for m in moves] == [
        (Quantity.of(10), cny(400), "import stock.csv line 2"),
        (Quantity.of(30), cny(800), "import stock.csv line 3"),
        (Quantity.of(10), cny(700), "import stock.csv line 4"),
    ]


@pytest.mark.usefixtures("stocked_catalog")
def test_stock_import_reports_unknown_sku_and_warehouse_and_receives_nothing(
    uow_factory: UnitOfWorkFactory, run: Run, owner: Actor, tmp_path: Path
) -> None:
    run(lambda uow: ensure_default_warehouse(uow))
    path = write_csv(
        tmp_path,
        "stock.csv",
        "sku,warehouse,quantity,cost",
        "W-1,,10,4",  # 2: fine
        "NOPE-9,,1,1",  # 3
        "W-1,SOUTH,1,1",  # 4
        "W-1,,1.5,1",  # 5: widgets are whole pieces
        "R-1,,0,1",  # 6
        "R-1,,,",  # 7
    )
    report = import_stock(uow_factory, path, actor=owner)
    assert report.errors == (
        RowError(3, "sku: no product with SKU 'NOPE-9'"),
        RowError(4, "warehouse: no warehouse with code 'SOUTH'"),
        RowError(5, "quantity: too many decimals (at most 0) ('1.5')"),
        RowError(6, "quantity: must be more than 0 ('0')"),
        RowError(7, "quantity: missing (required)"),
    )
    assert balances(uow_factory, "W-1") == []
    assert catalog(uow_factory)["W-1"].cost == cny(600)
    assert audit_trail(uow_factory, "product")[-1].action == "product.create"


# --- reading CSV ------------------------------------------------------------------------------


def test_read_csv_counts_physical_lines_and_skips_blank_ones() -> None:
    header, rows = read_csv('\ufeffSKU,Name\r\n\r\nA,"two\r\nlines"\r\nB,b\r\n,\r\nC\r\n')
    assert header == ["sku", "name"]
    assert rows == [
        (3, {"sku": "A", "name": "two\r\nlines"}),
        (5, {"sku": "B", "name": "b"}),
        (7, {"sku": "C", "name": ""}),
    ]


def test_read_csv_accepts_semicolons_and_bytes() -> None:
    header, rows = read_csv(b"sku;name;price\nA;Apple;1,50\n")
    assert header == ["sku", "name", "price"]
    assert rows == [(2, {"sku": "A", "name": "Apple", "price": "1,50"})]


def test_read_csv_refuses_broken_files_with_the_line() -> None:
    with pytest.raises(CsvError) as broken:
        read_csv('sku,name\nA,"unclosed\nB,b\n')
    assert broken.value.errors[0].line == 2
    with pytest.raises(CsvError) as empty:
        read_csv("\n\n")
    assert empty.value.errors == (RowError(1, "the file is empty; it needs a header row"),)
    with pytest.raises(CsvError) as twice:
        read_csv("sku,SKU\nA,B\n")
    assert twice.value.errors == (RowError(1, "column 'sku' appears twice in the header"),)


def test_a_file_that_is_not_utf8_is_reported_at_its_line(
    uow_factory: UnitOfWorkFactory, owner: Actor, tmp_path: Path
) -> None:
    path = tmp_path / "gbk.csv"
    path.write_bytes("sku,name,unit,price\nA-1,Apple,pcs,1\nA-2,苹果,pcs,2\n".encode("gbk"))
    report = import_products(uow_factory, path, actor=owner)
    assert lines_of(report) == [3]
    assert "not UTF-8" in report.errors[0].reason
    assert catalog(uow_factory) == {}
