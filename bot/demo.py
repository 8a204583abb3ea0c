"""Demo data: a small hardware / fasteners / packaging wholesaler with six weeks of history.

``load_demo_data`` fills an empty database so that reports and charts have something to show:
four staff users and two customer contacts, two warehouses, 40 products with English and
Chinese names, 12 customers, and about six weeks of receipts, orders, shipments (some partial),
invoices and payments ending today. Everything goes through the real use cases, one unit of work
each, with a clock moved to each historical moment, so stock moves, audit entries, invoice dates
and due dates read like a real history. The same seed and day give the same data.

At the end there is a mix of current and overdue invoices (some 31-60 days overdue), a few
products below their reorder point, confirmed orders waiting for the warehouse, one cancelled
order and one order waiting for the owner's approval (over the customer's credit limit).
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.engine import make_url

from domain.model import (
    Actor,
    HoldReason,
    Invoice,
    InvoiceStatus,
    OrderStatus,
    PaymentMethod,
    Role,
    Tier,
)
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
from domain.services.orders import (
    LineRequest,
    PlacedOrder,
    cancel_order,
    decide_order,
    line_amount,
    open_orders_value,
    place_order,
)
from domain.services.payments import PaymentResult, record_payment
from domain.services.shipping import ShipmentResult, ship_order
from domain.services.stock import receive_stock
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from storage.database import Database, SqlUnitOfWork
from storage.tables import CustomerRow, ProductRow

T = TypeVar("T")

TZ = ZoneInfo("Asia/Shanghai")
SOURCE = "demo"
HISTORY_DAYS = 42  # six weeks, the last one being today
OPENING = time(8, 0)
CLOSING = time(18, 0)

MAIN = "MAIN"
SOUTH = "SOUTH"
WAREHOUSES = ((MAIN, "Main warehouse"), (SOUTH, "South depot"))

OWNER = "Li Wei"
SALES_1 = "Zhang Min"
SALES_2 = "Wang Fang"
WAREHOUSE = "Chen Gang"
STAFF = (
    (OWNER, Role.OWNER),
    (SALES_1, Role.SALES),
    (SALES_2, Role.SALES),
    (WAREHOUSE, Role.WAREHOUSE),
)


class ProductSeed(NamedTuple):
    """One catalog line; quantities are in the product's unit, money in yuan."""

    sku: str
    name: str
    unit: str
    price: str
    cost: str
    aliases: tuple[str, ...]
    reorder_point: str
    reorder_qty: str
    order_qty: tuple[str, str, str]  # smallest, largest and step of a typical order line
    category: str  # fastener | packaging | electrical | hardware
    popularity: int  # relative weight when a customer picks products
    south: bool  # also stocked at the South depot


class CustomerSeed(NamedTuple):
    key: str  # handle used inside this module only
    name: str
    phone: str
    address: str
    rep: str  # persona name of the sales rep
    credit_limit: str | None  # yuan; None: no limit
    terms: int  # payment terms in days
    tier: Tier
    birthday: tuple[int, int] | None  # (birth year, days from today): a birthday coming up
    payer: str  # how they pay: a key of PAYMENT_HABITS
    warehouse: str
    buys: tuple[str, ...]  # product categories they order
    weight: int  # how often they order, relative
    notes: str = ""


PRODUCTS: tuple[ProductSeed, ...] = (
    # Fasteners: bolts by the piece, screws and rivets by the box.
    ProductSeed("FB-M8-40", "M8 hex bolt 40mm", "pcs", "0.45", "0.28",
                ("六角螺栓 M8", "M8 bolt", "外六角螺栓 M8x40"), "7000", "15000",
                ("500", "5000", "100"), "fastener", 5, True),
    ProductSeed("FN-M8", "M8 hex nut", "pcs", "0.12", "0.07", ("螺母 M8", "M8 nut"),
                "8000", "16000", ("500", "6000", "100"), "fastener", 5, True),
    ProductSeed("FW-M8", "Flat washer M8", "pcs", "0.05", "0.03", ("平垫 M8", "M8 washer"),
                "8000", "16000", ("1000", "8000", "500"), "fastener", 3, False),
    ProductSeed("SW-M8", "Spring washer M8", "pcs", "0.06", "0.03", ("弹垫 M8",),
                "3000", "6000", ("1000", "5000", "500"), "fastener", 2, False),
    ProductSeed("FB-M6-30", "M6 hex bolt 30mm", "pcs", "0.32", "0.19", ("六角螺栓 M6",),
                "2000", "4000", ("500", "4000", "100"), "fastener", 3, False),
    ProductSeed("FB-M10-60", "M10 hex bolt 60mm", "pcs", "0.95", "0.60",
                ("六角螺栓 M10", "M10 bolt"), "1500", "3000", ("200", "2000", "50"),
                "fastener", 3, True),
    ProductSeed("SS-M6", "螺丝 M6 不锈钢", "pcs", "0.38", "0.22",
                ("Stainless screw M6", "M6 screw SS", "不锈钢螺丝 M6"), "5000", "10000",
                ("500", "4000", "100"), "fastener", 4, True),
    ProductSeed("WS-4X40", "Wood screw 4x40 (box/200)", "box", "18.00", "11.50",
                ("木螺丝 4x40", "wood screw"), "40", "80", ("5", "50", "1"), "fastener", 3, False),
    ProductSeed("ST-3.5X25", "Self-tapping screw 3.5x25 (box/500)", "box", "26.00", "16.80",
                ("自攻螺丝 3.5x25", "self tapper"), "40", "90", ("5", "40", "1"),
                "fastener", 3, True),
    ProductSeed("DS-3.5X35", "Drywall screw 3.5x35 (box/1000)", "box", "42.00", "27.50",
                ("干壁钉", "石膏板螺丝", "drywall screw"), "12", "25", ("2", "30", "1"),
                "fastener", 2, False),
    ProductSeed("EB-M10", "Expansion bolt M10x80", "pcs", "1.20", "0.72",
                ("膨胀螺丝 M10", "膨胀螺栓", "anchor bolt M10"), "600", "1300",
                ("100", "1000", "50"), "fastener", 3, False),
    ProductSeed("RV-4X10", "Aluminium rivet 4x10 (box/1000)", "box", "35.00", "22.00",
                ("铝拉铆钉", "抽芯铆钉 4x10", "pop rivet"), "10", "20", ("2", "20", "1"),
                "fastener", 2, False),
    # Packaging.
    ProductSeed("PT-48-CL", "Packing tape 48mm clear", "roll", "4.50", "2.70",
                ("胶带 透明", "封箱胶带", "clear tape"), "1200", "2400", ("36", "720", "36"),
                "packaging", 5, True),
    ProductSeed("PT-48-BR", "Packing tape 48mm brown", "roll", "4.80", "2.90",
                ("胶带 黄色", "brown tape"), "300", "600", ("36", "360", "36"),
                "packaging", 3, True),
    ProductSeed("SF-500", "Stretch film 500mm", "roll", "38.00", "26.00",
                ("缠绕膜", "stretch wrap", "拉伸膜"), "80", "160", ("4", "60", "2"),
                "packaging", 3, True),
    ProductSeed("CB-403030", "Carton box 40x30x30", "pcs", "3.20", "1.90",
                ("纸箱 中号", "medium carton"), "1500", "3000", ("100", "1500", "50"),
                "packaging", 4, True),
    ProductSeed("CB-604040", "Carton box 60x40x40", "pcs", "5.60", "3.40",
                ("纸箱 大号", "large carton"), "600", "1200", ("50", "800", "50"),
                "packaging", 3, True),
    ProductSeed("BUB-1M50", "Bubble wrap 1m x 50m", "roll", "55.00", "36.00",
                ("气泡膜", "bubble wrap", "气泡袋卷"), "6", "12", ("2", "30", "1"),
                "packaging", 3, False),
    ProductSeed("CT-200", "Cable ties 200mm (100 pcs)", "box", "6.50", "3.80",
                ("扎带 200mm", "尼龙扎带", "zip ties"), "500", "1100", ("20", "300", "10"),
                "packaging", 4, True),
    ProductSeed("CT-300", "Cable ties 300mm (100 pcs)", "box", "9.80", "5.90", ("扎带 300mm",),
                "60", "130", ("10", "150", "5"), "packaging", 2, True),
    ProductSeed("PP-15", "PP strapping band 15mm", "roll", "42.00", "29.00",
                ("打包带", "strapping band"), "30", "60", ("2", "40", "1"), "packaging", 2, True),
    ProductSeed("ZB-2030", "Ziplock bag 20x30 (100 pcs)", "box", "12.00", "7.20",
                ("自封袋 20x30", "zip bag"), "80", "180", ("10", "120", "5"), "packaging", 2, True),
    ProductSeed("KP-80", "Kraft paper 80g (kg)", "kg", "9.50", "6.40",
                ("牛皮纸", "kraft paper"), "50", "100", ("10", "200", "0.5"),
                "packaging", 2, False),
    # Electrical: wire by the metre or kilogram (fractional quantities).
    ProductSeed("EW-2.5", "电线 2.5mm² (m)", "m", "2.80", "1.95",
                ("Electric wire 2.5mm²", "BV 2.5", "电线 2.5平方"), "1500", "3000",
                ("50", "1000", "0.5"), "electrical", 5, True),
    ProductSeed("EW-4", "Electric wire 4mm² (m)", "m", "4.30", "3.05",
                ("电线 4平方", "BV 4"), "450", "900", ("50", "600", "0.5"), "electrical", 3, True),
    ProductSeed("CW-KG", "Copper wire (kg)", "kg", "78.00", "66.00",
                ("铜线", "裸铜线", "copper wire"), "25", "50", ("1", "50", "0.25"),
                "electrical", 3, False),
    ProductSeed("GW-KG", "Galvanized steel wire (kg)", "kg", "8.50", "6.20",
                ("镀锌铁丝", "铁丝", "binding wire"), "120", "250", ("10", "200", "0.5"),
                "electrical", 2, True),
    ProductSeed("PVC-20", "PVC conduit 20mm (m)", "m", "1.60", "0.95",
                ("PVC 线管", "穿线管 20", "conduit"), "700", "1500", ("50", "1000", "10"),
                "electrical", 3, True),
    ProductSeed("IT-BK", "Insulation tape black", "roll", "2.20", "1.20",
                ("电工胶布", "黑胶布", "electrical tape"), "700", "1400", ("20", "500", "10"),
                "electrical", 4, True),
    ProductSeed("SW-86", "Wall switch 86 type", "pcs", "8.50", "5.10",
                ("开关 86型", "墙壁开关", "light switch"), "160", "320", ("20", "300", "5"),
                "electrical", 2, True),
    ProductSeed("SK-5H", "Socket 5-hole 86 type", "pcs", "9.80", "5.90",
                ("五孔插座", "插座", "wall socket"), "200", "400", ("20", "300", "5"),
                "electrical", 3, True),
    # General hardware.
    ProductSeed("WG-BLUE", "Blue widget", "pcs", "12.00", "7.50", ("蓝色小部件", "widget"),
                "30", "60", ("10", "150", "5"), "hardware", 2, False),
    ProductSeed("HG-4SS", "Hinge 4 inch stainless", "pcs", "6.80", "4.10",
                ("合页 4寸", "不锈钢合页", "door hinge"), "220", "450", ("20", "400", "10"),
                "hardware", 3, True),
    ProductSeed("PL-40", "Padlock 40mm", "pcs", "15.00", "9.20", ("挂锁 40mm", "挂锁"),
                "40", "80", ("10", "100", "5"), "hardware", 3, False),
    ProductSeed("GL-12", "Work gloves (12 pairs)", "box", "28.00", "18.50",
                ("劳保手套", "gloves", "线手套"), "45", "90", ("5", "60", "1"),
                "hardware", 3, True),
    ProductSeed("SL-300", "Silicone sealant 300ml", "pcs", "11.50", "7.20",
                ("玻璃胶", "sealant", "硅酮胶"), "168", "336", ("24", "240", "12"),
                "hardware", 3, True),
    ProductSeed("AR-400", "Anti-rust spray 400ml", "pcs", "16.00", "10.50",
                ("防锈剂", "除锈剂", "rust spray"), "48", "96", ("12", "120", "6"),
                "hardware", 2, False),
    ProductSeed("NR-8", "Nylon rope 8mm (m)", "m", "0.90", "0.55", ("尼龙绳 8mm", "rope"),
                "350", "700", ("50", "1000", "10"), "hardware", 2, True),
    ProductSeed("CH-6", "Galvanized chain 6mm (m)", "m", "12.50", "8.30",
                ("镀锌铁链", "铁链 6mm", "chain"), "30", "65", ("5", "100", "0.5"),
                "hardware", 2, False),
    ProductSeed("AB-50", "Steel angle bracket 50mm", "pcs", "1.10", "0.62",
                ("角码 50mm", "L bracket"), "800", "1600", ("100", "1500", "50"),
                "hardware", 3, True),
)  # fmt: skip

# The supplier of these is out of stock: nothing arrives during the demo period, so they end
# at or below their reorder point (the low-stock report has something to show).
SUPPLIER_OUT_OF_STOCK = frozenset({"EB-M10", "BUB-1M50", "PL-40", "CW-KG"})

SUPPLIERS = {
    "fastener": "Yongnian Fastener Factory (永年标准件厂)",
    "packaging": "Yiwu Packaging Materials (义乌包装材料)",
    "electrical": "Ningbo Wire & Cable (宁波电线电缆)",
    "hardware": "Wenzhou Hardware Co. (温州五金)",
}


class PaymentHabit(NamedTuple):
    """When a customer pays an invoice: a random day in [first, last] after ``counted_from``."""

    description: str
    counted_from: str  # "issued" | "due" | "delivery" (hours after) | "statement"
    first: int
    last: int
    part_chance: float  # chance of paying in two parts (the first a round sum)


PAYMENT_HABITS = {
    "cash": PaymentHabit("pays cash on delivery, sometimes days later", "delivery", 0, 3, 0),
    "prompt": PaymentHabit("pays within 3-10 days of the invoice", "issued", 3, 10, 0),
    "on_time": PaymentHabit("pays around the due date", "due", -3, 3, 0),
    "late": PaymentHabit("pays 5-25 days late", "due", 5, 25, 0.3),
    "slow": PaymentHabit("pays 15-40 days late", "due", 15, 40, 0.4),
    "delinquent": PaymentHabit("pays 35-70 days late, often in parts", "due", 35, 70, 0.5),
    # Statement payers: every ``last`` days, everything invoiced at least ``first`` days ago.
    "statement": PaymentHabit("pays the statement every two weeks", "statement", 7, 14, 0),
}  # fmt: skip
FIRST_STATEMENT_DAY = 10  # days after the first day of history

CUSTOMERS: tuple[CustomerSeed, ...] = (
    CustomerSeed("hengtong", "恒通五金店", "+86 138 0013 8000", "上海市嘉定区曹安公路 1688 号",
                 SALES_1, "50000", 30, Tier.A, (1976, 3), "prompt", MAIN,
                 ("fastener", "hardware", "electrical"), 6, "老客户，每周下单"),
    CustomerSeed("pearl", "Pearl River Packaging Co.", "+86 20 8333 1234",
                 "88 Huangpu Ave, Tianhe District, Guangzhou", SALES_2, None, 30, Tier.A, None,
                 "on_time", SOUTH, ("packaging",), 5, "Invoices to accounts@pearlriverpack.cn"),
    CustomerSeed("mingda", "苏州明达电器", "0512-6658 2210", "苏州市吴中区东方大道 66 号",
                 SALES_1, "30000", 30, Tier.B, None, "late", MAIN, ("electrical", "fastener"), 4),
    CustomerSeed("jinhai", "Jinhai Trading", "+86 139 5742 0088", "Jiangbei District, Ningbo",
                 SALES_1, None, 15, Tier.B, None, "prompt", MAIN,
                 ("fastener", "packaging", "electrical", "hardware"), 3),
    CustomerSeed("laowang", "老王建材", "135 6421 7789", "上海市闵行区七莘路 299 号",
                 SALES_2, "20000", 0, Tier.C, (1984, 20), "cash", MAIN,
                 ("fastener", "hardware"), 4, "现金结算"),
    CustomerSeed("sunrise", "Sunrise Furniture Factory", "+86 757 2288 6600",
                 "Longjiang Town, Shunde, Foshan", SALES_2, "80000", 60, Tier.A, None, "on_time",
                 SOUTH, ("fastener", "hardware", "packaging"), 4),
    CustomerSeed("kuaijie", "杭州快捷物流", "0571-8702 3456", "杭州市萧山区机场路 18 号",
                 SALES_1, None, 30, Tier.A, None, "statement", MAIN, ("packaging",), 4,
                 "Statement payer: pays the open invoices every two weeks"),
    CustomerSeed("golden", "Golden Dragon Electric (金龙电气)", "+86 755 2611 8899",
                 "Bao'an District, Shenzhen", SALES_2, "40000", 30, Tier.B, None, "slow", SOUTH,
                 ("electrical",), 3),
    CustomerSeed("liji", "李记装修", "186 2100 4567", "上海市浦东新区川沙路 520 号",
                 SALES_1, "5000", 15, Tier.C, None, "prompt", MAIN,
                 ("fastener", "hardware", "electrical"), 2, "Small renovation team; low limit"),
    CustomerSeed("chen", "陈氏五金 Chen's Hardware", "0512-5781 3300", "昆山市玉山镇前进路 12 号",
                 SALES_2, None, 0, Tier.C, None, "delinquent", MAIN, ("fastener", "hardware"), 3,
                 "Cash terms, but usually pays weeks late"),
    CustomerSeed("orient", "Orient Electronics Ltd.", "+86 755 8390 1200",
                 "Science Park, Nanshan District, Shenzhen", SALES_2, "60000", 30, Tier.A, None,
                 "statement", SOUTH, ("electrical", "packaging"), 3),
    CustomerSeed("dahua", "大华包装材料", "0769-2233 8812", "东莞市长安镇沙头工业区",
                 SALES_1, "25000", 15, Tier.B, None, "late", SOUTH, ("packaging",), 2),
)  # fmt: skip

# Customer contacts with their own (not yet bound) user: persona name, customer key.
CONTACTS = (("Liu Yang", "hengtong"), ("Mary Huang", "pearl"))

# Pinned at the end of the history.
OPEN_ORDER_CUSTOMERS = ("hengtong", "sunrise", "jinhai")  # confirmed, waiting to ship
PENDING_CUSTOMER = "liji"  # a big order over the credit limit, waiting for the owner
CANCELLED_CUSTOMER = "jinhai"
CANCELLED_ON_DAY = 19  # days after the first day of history
# Early orders of slow payers: their unpaid invoices end up 31-60 days overdue.
EARLY_ORDERS = (("chen", 1), ("chen", 5), ("golden", 2))
PART_PAYER = "chen"  # pays part of the oldest invoice on the last afternoon

TIER_DISCOUNTS_BP = {Tier.A: (500, 300, 0), Tier.B: (200, 0, 0), Tier.C: (0,)}
ORDERS_PER_DAY = {5: (0, 2), 6: (0, 1)}  # Saturday, Sunday; weekdays: DEFAULT_ORDERS
DEFAULT_ORDERS = (1, 6)
LINES_PER_ORDER = ((1, 30), (2, 30), (3, 20), (4, 12), (5, 8))
SHIP_DELAY_DAYS = (0, 0, 1, 1, 1, 2)
PARTIAL_SHIPMENT_CHANCE = 0.12
ROUND_PAYMENT_MINOR = 10_000  # partial payments are round hundreds of yuan


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What ``load_demo_data`` did; ``skipped`` means the database already had data."""

    skipped: bool
    products: int = 0
    customers: int = 0
    orders: int = 0
    invoices: int = 0
    payments: int = 0
    users: dict[str, int] = field(default_factory=dict)  # persona name -> user id
    first_day: date | None = None
    last_day: date | None = None


class MovableClock:
    """A clock that shows whatever moment the loader sets (always timezone-aware)."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self.set(now)  # validates

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("MovableClock needs a timezone-aware datetime")
        self._now = at


def is_empty(database: Database) -> bool:
    """True while there are no products and no customers (demo data may be loaded)."""
    with database.reader() as uow:
        for table in (ProductRow.__table__, CustomerRow.__table__):
            if uow.execute(select(table.c.id).limit(1)).first() is not None:
                return False
    return True


def load_demo_data(
    database: Database,
    *,
    today: date | None = None,
    seed: int = 7,
    telegram_ids: Mapping[str, int] | None = None,
) -> DemoSummary:
    """Load the demo business into an empty database; do nothing if it already has data.

    ``today`` (default: today by the database's clock, in Asia/Shanghai) is the last day of
    the history. When that is the current day, nothing is dated after the current time.
    ``telegram_ids`` binds personas (by name, e.g. "Li Wei") to Telegram accounts: the sandbox
    gives them its emulated users; with a real bot people join through invites instead.
    """
    if not is_empty(database):
        return DemoSummary(skipped=True)
    now = database.clock.now().astimezone(TZ)
    today = today or now.date()
    closing = datetime.combine(today, CLOSING, TZ)
    cutoff = now - timedelta(minutes=1) if today == now.date() and now < closing else closing
    clock = MovableClock(cutoff)
    uows, dispose = _historical_uows(database, clock)
    try:
        loader = _Loader(
            uows,
            clock,
            random.Random(seed),
            today=today,
            cutoff=cutoff,
            telegram_ids=telegram_ids or {},
        )
        return loader.load()
    finally:
        dispose()


def _historical_uows(
    database: Database, clock: MovableClock
) -> tuple[UnitOfWorkFactory, Callable[[], None]]:
    """Units of work on the same database whose clock is ``clock``, and how to close them."""
    url = make_url(database.url)
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        # A second engine would open a second, empty in-memory database: share the engine.
        return (lambda: SqlUnitOfWork(database.engine, clock, database.policy)), lambda: None
    historical = Database(database.url, clock=clock, policy=database.policy)
    return historical.uow, historical.dispose


@dataclass(slots=True)
class _Product:
    seed: ProductSeed
    id: int
    step: int  # thousandths
    smallest: int
    largest: int


@dataclass(slots=True)
class _Customer:
    seed: CustomerSeed
    id: int
    warehouse_id: int


@dataclass(slots=True)
class _OrderPlan:
    customer: _Customer
    actor: str  # persona placing the order
    lines: list[tuple[_Product, int, int]]  # product, wanted thousandths, discount bp
    ship: bool = True
    partial: bool = False
    delay_days: int = 0
    keep_pending: bool = False
    cancel: bool = False
    big: bool = False  # size the order to exceed the customer's credit headroom


class _Loader:
    """Replays the demo history: a time-ordered queue of actions, each its own transaction."""

    def __init__(
        self,
        uows: UnitOfWorkFactory,
        clock: MovableClock,
        rng: random.Random,
        *,
        today: date,
        cutoff: datetime,
        telegram_ids: Mapping[str, int],
    ) -> None:
        self.uows = uows
        self.telegram_ids = telegram_ids
        self.clock = clock
        self.rng = rng
        self.today = today
        self.cutoff = cutoff
        self.first_day = today - timedelta(days=HISTORY_DAYS - 1)
        self.currency = ""
        self.queue: list[tuple[datetime, int, Callable[[], None]]] = []
        self.sequence = itertools.count()
        self.keys = itertools.count(1)
        self.users: dict[str, int] = {}
        self.roles: dict[str, Role] = {}
        self.warehouses: dict[str, int] = {}
        self.products: list[_Product] = []
        self.step_of: dict[int, int] = {}  # product id -> order step in thousandths
        self.customers: dict[str, _Customer] = {}
        self.incoming: set[tuple[int, int]] = set()  # (product, warehouse) with a delivery due
        self.counts = {"orders": 0, "invoices": 0, "payments": 0}

    # --- plumbing ----------------------------------------------------------------------------

    def tx(self, work: Callable[[UnitOfWork], T]) -> T:
        return run_in_transaction(self.uows, work)

    def actor(self, persona: str) -> Actor:
        return Actor(
            user_id=self.users[persona], role=self.roles[persona], source=SOURCE, name=persona
        )

    def at(self, day: date, minutes: int) -> datetime:
        """``minutes`` after midnight on ``day`` (may spill into the next day)."""
        return datetime.combine(day, time(0), TZ) + timedelta(minutes=minutes)

    def working_time(self, day: date, start: time = time(9), end: time = time(17, 30)) -> datetime:
        first = start.hour * 60 + start.minute
        return self.at(day, self.rng.randint(first, end.hour * 60 + end.minute))

    def next_business_moment(self, moment: datetime) -> datetime:
        """The same moment if within business hours, else the next morning at 09:xx."""
        if time(8, 30) <= moment.timetz().replace(tzinfo=None) <= time(18, 30):
            return moment
        day = moment.date() if moment.time() < time(8, 30) else moment.date() + timedelta(days=1)
        return self.at(day, 9 * 60 + self.rng.randint(0, 45))

    def schedule(self, at: datetime, action: Callable[[], None]) -> None:
        """Queue an action; anything after the cutoff has not happened yet and is dropped."""
        if at <= self.cutoff:
            heapq.heappush(self.queue, (at, next(self.sequence), action))

    def run_queue(self) -> None:
        while self.queue:
            at, _, action = heapq.heappop(self.queue)
            self.clock.set(max(at, self.clock.now()))
            action()

    def money(self, yuan: str) -> Money:
        return Money.from_decimal(Decimal(yuan), self.currency)

    # --- the story -------------------------------------------------------------------------

    def load(self) -> DemoSummary:
        start = datetime.combine(self.first_day, time(9), TZ)
        self.clock.set(start - timedelta(days=6))
        self.currency = self.tx(lambda uow: uow.policy.currency)
        self.create_staff_and_warehouses(start - timedelta(days=6))
        self.create_products(start - timedelta(days=5))
        self.create_customers(start - timedelta(days=4))
        self.receive_opening_stock(start - timedelta(days=2))
        for offset in range(HISTORY_DAYS):
            day = self.first_day + timedelta(days=offset)
            self.schedule(self.at(day, 8 * 60), lambda day=day: self.start_day(day))
        self.pin_special_orders()
        self.run_queue()
        return DemoSummary(
            skipped=False,
            products=len(self.products),
            customers=len(self.customers),
            orders=self.counts["orders"],
            invoices=self.counts["invoices"],
            payments=self.counts["payments"],
            users=dict(self.users),
            first_day=self.first_day,
            last_day=self.today,
        )

    def create_staff_and_warehouses(self, when: datetime) -> None:
        self.clock.set(when)
        founder = Actor(user_id=None, role=Role.OWNER, source=SOURCE, name="system")
        for index, (name, role) in enumerate(STAFF):
            self.clock.set(when + timedelta(minutes=5 * index))
            creator = founder if role is Role.OWNER else self.actor(OWNER)
            user = self.tx(
                lambda uow, n=name, r=role, c=creator: add_user(
                    uow, actor=c, name=n, role=r, telegram_user_id=self.telegram_ids.get(n)
                )
            )
            self.users[name] = user.id
            self.roles[name] = role
        self.clock.set(when + timedelta(minutes=30))
        main = self.tx(lambda uow: ensure_default_warehouse(uow, name=WAREHOUSES[0][1]))
        self.warehouses[main.code] = main.id
        for code, name in WAREHOUSES[1:]:

            def add(uow: UnitOfWork, code: str = code, name: str = name) -> int:
                existing = uow.warehouses.by_code(code)
                if existing is not None:
                    return existing.id
                return add_warehouse(uow, actor=self.actor(OWNER), code=code, name=name).id

            self.warehouses[code] = self.tx(add)
        self.warehouses.setdefault(MAIN, main.id)

    def create_products(self, when: datetime) -> None:
        owner = self.actor(OWNER)
        for index, seed in enumerate(PRODUCTS):
            self.clock.set(when + timedelta(minutes=2 * index))
            draft = ProductDraft(
                sku=seed.sku,
                name=seed.name,
                unit=seed.unit,
                price=self.money(seed.price),
                cost=self.money(seed.cost),
                aliases=seed.aliases,
                reorder_point=Quantity.of(seed.reorder_point),
                reorder_qty=Quantity.of(seed.reorder_qty),
            )
            saved = self.tx(lambda uow, d=draft: save_product(uow, actor=owner, draft=d))
            smallest, largest, step = (Quantity.of(v).milli for v in seed.order_qty)
            self.products.append(_Product(seed, saved.product.id, step, smallest, largest))
            self.step_of[saved.product.id] = step

    def create_customers(self, when: datetime) -> None:
        for index, seed in enumerate(CUSTOMERS):
            self.clock.set(when + timedelta(minutes=7 * index))
            birthday = None
            if seed.birthday is not None:
                year, in_days = seed.birthday
                upcoming = self.today + timedelta(days=in_days)
                birthday = date(year, upcoming.month, upcoming.day)
            draft = CustomerDraft(
                name=seed.name,
                phone=seed.phone,
                address=seed.address,
                sales_rep_id=self.users[seed.rep],
                credit_limit=None if seed.credit_limit is None else self.money(seed.credit_limit),
                payment_terms_days=seed.terms,
                tier=seed.tier,
                birthday=birthday,
                notes=seed.notes,
            )
            rep = self.actor(seed.rep)
            result = self.tx(
                lambda uow, d=draft, a=rep: create_customer(
                    uow, actor=a, draft=d, allow_similar=True
                )
            )
            assert result.customer is not None
            self.customers[seed.key] = _Customer(
                seed, result.customer.id, self.warehouses[seed.warehouse]
            )
        self.clock.set(when + timedelta(hours=3))
        owner = self.actor(OWNER)
        for name, key in CONTACTS:
            customer_id = self.customers[key].id
            user = self.tx(
                lambda uow, n=name, c=customer_id: add_user(
                    uow,
                    actor=owner,
                    name=n,
                    role=Role.CUSTOMER,
                    telegram_user_id=self.telegram_ids.get(n),
                    customer_id=c,
                )
            )
            self.users[name] = user.id
            self.roles[name] = Role.CUSTOMER

    def stocked(self) -> list[tuple[_Product, str]]:
        """Every (product, warehouse code) pair the business keeps in stock."""
        pairs = [(product, MAIN) for product in self.products]
        pairs += [(product, SOUTH) for product in self.products if product.seed.south]
        return pairs

    def target_level(self, product: _Product, code: str) -> tuple[int, int]:
        """Reorder point and reorder quantity (thousandths) of a product in a warehouse."""
        point = Quantity.of(product.seed.reorder_point).milli
        qty = Quantity.of(product.seed.reorder_qty).milli
        if code == SOUTH:  # the depot keeps about half, in whole steps
            point = point // 2 // product.step * product.step
            qty = qty // 2 // product.step * product.step
        return point, qty

    def receive_opening_stock(self, when: datetime) -> None:
        for index, (product, code) in enumerate(self.stocked()):
            point, qty = self.target_level(product, code)
            opening = qty if product.seed.sku in SUPPLIER_OUT_OF_STOCK else point + qty
            self.clock.set(when + timedelta(minutes=3 * index))
            self.receive(product, code, opening, "Opening stock")

    def receive(self, product: _Product, code: str, milli: int, note: str) -> None:
        cost = self.money(product.seed.cost).minor
        cost = cost * (100 + self.rng.randint(-4, 6)) // 100
        warehouse_id = self.warehouses[code]
        self.tx(
            lambda uow: receive_stock(
                uow,
                actor=self.actor(WAREHOUSE),
                product_id=product.id,
                quantity=Quantity(milli),
                unit_cost=Money(max(cost, 1), self.currency),
                warehouse_id=warehouse_id,
                note=note,
            )
        )
        self.incoming.discard((product.id, warehouse_id))

    # --- a business day --------------------------------------------------------------------

    def start_day(self, day: date) -> None:
        weekday = day.weekday()
        if weekday < 5:
            self.schedule(self.at(day, 8 * 60 + 30), lambda: self.check_reorders(day))
        low, high = ORDERS_PER_DAY.get(weekday, DEFAULT_ORDERS)
        for _ in range(self.rng.randint(low, high)):
            plan = self.draw_order()
            self.schedule(self.working_time(day), lambda plan=plan: self.place(plan))
        for customer in self.customers.values():
            habit = PAYMENT_HABITS[customer.seed.payer]
            if habit.counted_from == "statement" and (
                (day - self.first_day).days % habit.last == FIRST_STATEMENT_DAY
            ):
                self.schedule(
                    self.working_time(day, time(10), time(16)),
                    lambda c=customer: self.pay_statement(c),
                )

    def draw_order(self, customer: _Customer | None = None, actor: str | None = None) -> _OrderPlan:
        """A random order intent; quantities are trimmed to what is available when placed."""
        rng = self.rng
        if customer is None:
            everyone = list(self.customers.values())
            customer = rng.choices(everyone, weights=[c.seed.weight for c in everyone])[0]
        choices = [
            p
            for p in self.products
            if p.seed.category in customer.seed.buys
            and (customer.seed.warehouse == MAIN or p.seed.south)
        ]
        count = rng.choices([n for n, _ in LINES_PER_ORDER], [w for _, w in LINES_PER_ORDER])[0]
        lines: list[tuple[_Product, int, int]] = []
        while choices and len(lines) < count:
            product = rng.choices(choices, weights=[p.seed.popularity for p in choices])[0]
            choices.remove(product)
            steps = (product.largest - product.smallest) // product.step
            wanted = product.smallest + product.step * int(steps * rng.random() ** 1.7)
            lines.append((product, wanted, rng.choice(TIER_DISCOUNTS_BP[customer.seed.tier])))
        if actor is None:
            actor = OWNER if rng.random() < 0.15 else customer.seed.rep
        return _OrderPlan(
            customer=customer,
            actor=actor,
            lines=lines,
            partial=rng.random() < PARTIAL_SHIPMENT_CHANCE,
            delay_days=rng.choice(SHIP_DELAY_DAYS),
        )

    def place(self, plan: _OrderPlan) -> None:
        key = f"demo-so-{next(self.keys)}"
        customer = plan.customer

        def work(uow: UnitOfWork) -> PlacedOrder | None:
            ids = [product.id for product, _, _ in plan.lines]
            available = {
                pid: balance.available.milli
                for pid, balance in uow.stock.for_products(ids, customer.warehouse_id).items()
            }
            headroom = (
                self._credit_headroom(uow, customer) if plan.big else Money.zero(self.currency)
            )
            lines: list[LineRequest] = []
            total = Money.zero(self.currency)
            for product, wanted, discount in plan.lines:
                have = available.get(product.id, 0) // product.step * product.step
                take = min(wanted, have)
                if plan.big and total <= headroom:  # enough to go over the credit limit
                    price = self.money(product.seed.price)
                    per_step = line_amount(Quantity(product.step), price, discount).minor
                    needed = ((headroom - total).minor // max(per_step, 1) + 1) * product.step
                    take = min(have, max(take, needed))
                if take < product.smallest:
                    continue
                lines.append(LineRequest(product.id, Quantity(take), discount_bp=discount))
                total += line_amount(Quantity(take), self.money(product.seed.price), discount)
            if not lines:
                return None
            return place_order(
                uow,
                actor=self.actor(plan.actor),
                customer_id=customer.id,
                lines=lines,
                idempotency_key=key,
                warehouse_id=customer.warehouse_id,
            )

        placed = self.tx(work)
        if placed is None:
            return
        self.counts["orders"] += 1
        order = placed.order
        now = self.clock.now()
        if plan.cancel:
            when = now + timedelta(minutes=self.rng.randint(90, 240))
            self.schedule(when, lambda: self.cancel(order.id, plan))
        elif order.status is OrderStatus.PENDING_APPROVAL:
            if plan.keep_pending:
                return
            when = now + timedelta(minutes=self.rng.randint(30, 180))
            when = max(now, min(when, self.cutoff))  # decided before the history ends
            self.schedule(when, lambda: self.approve(order.id, plan))
        elif plan.ship:
            self.schedule_shipment(order.id, plan)

    def _credit_headroom(self, uow: UnitOfWork, customer: _Customer) -> Money:
        found = uow.customers.get(customer.id)
        assert found is not None and found.credit_limit is not None
        balance = found.balance or Money.zero(self.currency)
        exposure = balance + open_orders_value(uow, customer.id, self.currency)
        return found.credit_limit - exposure

    def approve(self, order_id: int, plan: _OrderPlan) -> None:
        def work(uow: UnitOfWork) -> OrderStatus:
            order = uow.orders.get(order_id)
            assert order is not None
            reason = (
                "Long-standing customer, promised to pay this week"
                if order.hold_reason is HoldReason.OVERDUE
                else "Approved over the limit for a good customer"
            )
            return decide_order(
                uow, actor=self.actor(OWNER), order_id=order_id, approve=True, reason=reason
            ).status

        if self.tx(work) is OrderStatus.CONFIRMED and plan.ship:
            self.schedule_shipment(order_id, plan)

    def cancel(self, order_id: int, plan: _OrderPlan) -> None:
        self.tx(
            lambda uow: cancel_order(
                uow,
                actor=self.actor(plan.customer.seed.rep),
                order_id=order_id,
                reason="Customer ordered the wrong size; will re-order",
            )
        )

    def schedule_shipment(self, order_id: int, plan: _OrderPlan) -> None:
        now = self.clock.now()
        if plan.delay_days == 0:
            when = now + timedelta(minutes=self.rng.randint(40, 150))
        else:
            when = self.working_time(now.date() + timedelta(days=plan.delay_days), time(9, 30))
        when = self.next_business_moment(when)
        if when.weekday() == 6:  # nobody ships on Sunday
            when = self.at(when.date() + timedelta(days=1), 9 * 60 + self.rng.randint(0, 60))
        self.schedule(when, lambda: self.ship(order_id, plan))

    def ship(self, order_id: int, plan: _OrderPlan) -> None:
        key = f"demo-sh-{next(self.keys)}"
        partial = plan.partial

        def work(uow: UnitOfWork) -> ShipmentResult | None:
            order = uow.orders.get(order_id)
            assert order is not None
            if order.status not in (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED):
                return None
            quantities = None
            if partial:  # about half of each line now, in whole order steps
                steps = {line.id: self.step_of[line.product_id] for line in order.lines}
                half = {
                    line.id: Quantity(line.remaining.milli // 2 // steps[line.id] * steps[line.id])
                    for line in order.lines
                }
                if any(q.milli > 0 for q in half.values()):
                    quantities = half
            return ship_order(
                uow,
                actor=self.actor(WAREHOUSE),
                order_id=order_id,
                quantities=quantities,
                idempotency_key=key,
            )

        result = self.tx(work)
        if result is None:
            return
        if result.order.status is OrderStatus.PARTIALLY_SHIPPED:
            rest = _OrderPlan(plan.customer, plan.actor, plan.lines)
            rest.delay_days = self.rng.randint(1, 4)
            self.schedule_shipment(order_id, rest)
        if result.invoice is not None:
            self.counts["invoices"] += 1
            self.plan_payment(result.invoice, plan.customer)

    # --- money -----------------------------------------------------------------------------

    def plan_payment(self, invoice: Invoice, customer: _Customer) -> None:
        """Schedule when this customer pays this invoice, by their habits."""
        rng = self.rng
        habit = PAYMENT_HABITS[customer.seed.payer]
        now = self.clock.now()
        percent = 100
        if habit.counted_from == "statement":
            return
        if habit.counted_from == "delivery":
            when = now + timedelta(minutes=rng.randint(30, 300))
            if rng.random() < 0.15:
                when += timedelta(days=rng.randint(habit.first + 1, habit.last))
        else:
            base = invoice.issued_on if habit.counted_from == "issued" else invoice.due_on
            day = base + timedelta(days=rng.randint(habit.first, habit.last))
            when = self.working_time(
                max(day, now.date() + timedelta(days=1)), time(9, 30), time(17)
            )
            if rng.random() < habit.part_chance:
                percent = rng.randint(40, 80)
        when = self.next_business_moment(when)
        self.schedule(when, lambda: self.pay(invoice.id, customer, percent))

    def pay(self, invoice_id: int | None, customer: _Customer, percent: int) -> None:
        """Pay ``percent`` of an invoice (None: the oldest open one); a part is a round sum."""
        key = f"demo-pay-{next(self.keys)}"
        cash = PAYMENT_HABITS[customer.seed.payer].counted_from == "delivery"
        method = PaymentMethod.CASH if cash else PaymentMethod.BANK_TRANSFER
        collector = OWNER if cash and self.rng.random() < 0.3 else customer.seed.rep

        def work(uow: UnitOfWork) -> PaymentResult | None:
            if invoice_id is None:
                invoice = next(iter(uow.invoices.open([customer.id])), None)
            else:
                invoice = uow.invoices.get(invoice_id)
            if invoice is None or invoice.status is InvoiceStatus.PAID:
                return None
            amount = invoice.outstanding.minor
            if percent < 100:
                part = amount * percent // 100 // ROUND_PAYMENT_MINOR * ROUND_PAYMENT_MINOR
                amount = part if part > 0 else amount
            kind = "Payment" if amount == invoice.outstanding.minor else "Part payment"
            return record_payment(
                uow,
                actor=self.actor(collector),
                customer_id=customer.id,
                amount=Money(amount, self.currency),
                method=method,
                idempotency_key=key,
                invoice_id=invoice.id,
                note=f"{kind} for {invoice.number}",
            )

        result = self.tx(work)
        if result is None:
            return
        self.counts["payments"] += 1
        if percent < 100:  # the rest comes one to three weeks later
            paid_invoice = result.allocations[0].invoice_id
            when = self.working_time(
                self.clock.now().date() + timedelta(days=self.rng.randint(7, 21)),
                time(9, 30),
                time(17),
            )
            self.schedule(
                self.next_business_moment(when), lambda: self.pay(paid_invoice, customer, 100)
            )

    def pay_statement(self, customer: _Customer) -> None:
        key = f"demo-pay-{next(self.keys)}"
        today = self.clock.now().date()
        habit = PAYMENT_HABITS[customer.seed.payer]

        def work(uow: UnitOfWork) -> PaymentResult | None:
            due = sum(
                inv.outstanding.minor
                for inv in uow.invoices.open([customer.id])
                if inv.issued_on <= today - timedelta(days=habit.first)
            )
            if due <= 0:
                return None
            return record_payment(
                uow,
                actor=self.actor(customer.seed.rep),
                customer_id=customer.id,
                amount=Money(due, self.currency),
                method=PaymentMethod.BANK_TRANSFER,
                idempotency_key=key,
                note="Statement payment (对账单)",
            )

        if self.tx(work) is not None:
            self.counts["payments"] += 1

    # --- stock -----------------------------------------------------------------------------

    def check_reorders(self, day: date) -> None:
        """Each weekday morning: order from the supplier what fell to its reorder point."""
        balances = {(b.product_id, b.warehouse_id): b for b in self.tx(lambda uow: uow.stock.all())}
        for product, code in self.stocked():
            warehouse_id = self.warehouses[code]
            if (
                product.seed.sku in SUPPLIER_OUT_OF_STOCK
                or (product.id, warehouse_id) in self.incoming
            ):
                continue
            balance = balances.get((product.id, warehouse_id))
            point, qty = self.target_level(product, code)
            if balance is not None and balance.available.milli > point:
                continue
            self.incoming.add((product.id, warehouse_id))
            arrival = day + timedelta(days=self.rng.randint(2, 4))
            if arrival.weekday() == 6:
                arrival += timedelta(days=1)
            note = f"Delivery from {SUPPLIERS[product.seed.category]}"
            self.schedule(
                self.working_time(arrival, time(9), time(11, 30)),
                lambda p=product, c=code, q=qty, n=note: self.receive(p, c, q, n),
            )

    # --- pinned moments --------------------------------------------------------------------

    def pin_special_orders(self) -> None:
        """Early orders, the cancelled order; at the end open orders, a held one, a part payment."""
        for key, offset in EARLY_ORDERS:
            self.schedule(
                self.at(self.weekday_after(offset), 10 * 60 + 5 * offset),
                lambda key=key: self.place(self.pinned(key)),
            )
        self.schedule(
            self.at(self.weekday_after(CANCELLED_ON_DAY), 10 * 60 + 20),
            lambda: self.place(self.pinned(CANCELLED_CUSTOMER, cancel=True)),
        )
        end = self.cutoff
        if end.time() < time(11):  # too early today: yesterday's end of business
            end = datetime.combine(end.date() - timedelta(days=1), CLOSING, TZ)
        for index, key in enumerate(OPEN_ORDER_CUSTOMERS):
            self.schedule(
                end - timedelta(minutes=160 - 35 * index),
                lambda key=key: self.place(self.pinned(key, ship=False)),
            )
        self.schedule(
            end - timedelta(minutes=40),
            lambda: self.place(self.pinned(PENDING_CUSTOMER, ship=False, keep_pending=True)),
        )
        self.schedule(
            end - timedelta(hours=5),
            lambda: self.pay(None, self.customers[PART_PAYER], self.rng.randint(30, 60)),
        )

    def weekday_after(self, offset: int) -> date:
        """The first Monday-to-Friday day at least ``offset`` days into the history."""
        day = self.first_day + timedelta(days=offset)
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day

    def pinned(
        self, key: str, *, ship: bool = True, cancel: bool = False, keep_pending: bool = False
    ) -> _OrderPlan:
        customer = self.customers[key]
        plan = self.draw_order(customer, actor=customer.seed.rep)
        plan.ship = ship
        plan.cancel = cancel
        plan.keep_pending = keep_pending
        plan.big = keep_pending
        if keep_pending:  # the most popular products first, to make a convincing big order
            plan.lines = [
                (p, p.largest, 0)
                for p in sorted(self.products, key=lambda p: -p.seed.popularity)
                if p.seed.category in customer.seed.buys and p.seed.sku not in SUPPLIER_OUT_OF_STOCK
            ][:6]
        return plan
