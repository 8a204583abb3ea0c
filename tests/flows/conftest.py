"""Flow tests: the real engine and flows over a seeded business, through a recording chat.

``chat`` runs on the in-memory fake by default; tests marked ``@pytest.mark.sqlite`` are not
special — use the ``sql_chat`` fixture to run a scenario on SQLite as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from domain.model import Actor, Customer, Product, Role, User, Warehouse
from domain.money import Money
from domain.ports import LedgerPolicy, UnitOfWork, UnitOfWorkFactory
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
from handlers.context import EngineSettings
from handlers.registry import build_engine
from notifications.limits import FloodBudget, SendLimits
from notifications.publisher import OutboxPublisher
from notifications.sender import OutboxSender
from tests.chat_driver import ChatDriver, Person, RecordingGateway
from tests.fakes import FakeDatabase, FixedClock

WAREHOUSE_GROUP = -100500


@dataclass(frozen=True, slots=True)
class Business:
    """A seeded business and the people who use it (Telegram ids 11..16)."""

    owner: Person
    sales: Person
    sales2: Person
    warehouse: Person
    customer_contact: Person
    stranger: Person
    users: dict[str, User]
    main: Warehouse
    south: Warehouse
    widget: Product  # W-BLUE "Blue widget" pcs 12.50 (cost 8.00), 100 in MAIN
    bolt: Product  # M8-40 "M8 hex bolt 40mm" box 35.00, 20 in MAIN, reorder point 25
    screw: Product  # LS-M6 "螺丝 M6 不锈钢" box, alias "luosi", 50 in MAIN
    wire: Product  # W-2.5 "Copper wire" kg 68.00, 30.5 kg in MAIN
    acme: Customer  # ACME Trading, rep: sales, no limit, 30 days
    hengtong: Customer  # 恒通五金店, rep: sales2, credit limit 1,000.00
    group_id: int = WAREHOUSE_GROUP

    def actor(self, key: str) -> Actor:
        user = self.users[key]
        return Actor(user_id=user.id, role=user.role, source="test", name=user.name)


def seed_business(uow_factory: UnitOfWorkFactory) -> Business:
    def run(work: Callable[[UnitOfWork], Any]) -> Any:
        return run_in_transaction(uow_factory, work)

    system = Actor.system("test")
    main = run(lambda uow: ensure_default_warehouse(uow))
    south = run(lambda uow: add_warehouse(uow, actor=system, code="SOUTH", name="South depot"))
    people = {
        "owner": (Person(11, "Olga Owner"), Role.OWNER, None),
        "sales": (Person(12, "Sam Sales"), Role.SALES, None),
        "sales2": (Person(13, "Sue Sales", "zh-hans"), Role.SALES, None),
        "warehouse": (Person(14, "Wang Warehouse"), Role.WAREHOUSE, None),
    }
    users: dict[str, User] = {}
    for key, (person, role, _) in people.items():
        users[key] = run(
            lambda uow, p=person, r=role: add_user(
                uow, actor=system, name=p.name, role=r, telegram_user_id=p.telegram_id
            )
        )

    def product(sku: str, name: str, unit: str, price: int, cost: int, **extra: Any) -> Product:
        draft = ProductDraft(
            sku=sku,
            name=name,
            unit=unit,
            price=Money(price, "CNY"),
            cost=Money(cost, "CNY"),
            **extra,
        )
        return run(lambda uow: save_product(uow, actor=system, draft=draft)).product

    widget = product("W-BLUE", "Blue widget", "pcs", 1250, 800, aliases=("widget",))
    bolt = product(
        "M8-40",
        "M8 hex bolt 40mm",
        "box",
        3500,
        2000,
        aliases=("六角螺栓 M8",),
        reorder_point=Quantity.of(25),
        reorder_qty=Quantity.of(100),
    )
    screw = product("LS-M6", "螺丝 M6 不锈钢", "box", 2200, 1200, aliases=("luosi",))
    wire = product("W-2.5", "Copper wire", "kg", 6800, 5000)
    owner = Actor(users["owner"].id, Role.OWNER, "test", "Olga Owner")
    for item, amount in ((widget, "100"), (bolt, "20"), (screw, "50"), (wire, "30.5")):
        run(
            lambda uow, p=item, a=amount: receive_stock(
                uow, actor=owner, product_id=p.id, quantity=Quantity.of(a), unit_cost=p.cost
            )
        )

    def customer(name: str, rep: str, **extra: Any) -> Customer:
        draft = CustomerDraft(name=name, sales_rep_id=users[rep].id, **extra)
        result = run(lambda uow: create_customer(uow, actor=owner, draft=draft, allow_similar=True))
        return result.customer

    acme = customer("ACME Trading", "sales", phone="+86 138 0013 8000", address="1 Harbour Rd")
    hengtong = customer(
        "恒通五金店", "sales2", phone="020 8888 1234", credit_limit=Money(100000, "CNY")
    )
    # The bolt is under its reorder point already: its low-stock alert went out long ago.
    run(lambda uow: uow.low_stock.try_begin(bolt.id, uow.clock.now()))
    contact = Person(15, "Mary Buyer")
    users["customer"] = run(
        lambda uow: add_user(
            uow,
            actor=system,
            name=contact.name,
            role=Role.CUSTOMER,
            telegram_user_id=contact.telegram_id,
            customer_id=acme.id,
        )
    )
    return Business(
        owner=people["owner"][0],
        sales=people["sales"][0],
        sales2=people["sales2"][0],
        warehouse=people["warehouse"][0],
        customer_contact=contact,
        stranger=Person(16, "Stranger"),
        users=users,
        main=main,
        south=south,
        widget=widget,
        bolt=bolt,
        screw=screw,
        wire=wire,
        acme=acme,
        hengtong=hengtong,
    )


@pytest.fixture
def settings() -> EngineSettings:
    return EngineSettings(bot_username="chaterp_bot", default_language="en")


@pytest.fixture
def database(clock: FixedClock, policy: LedgerPolicy) -> FakeDatabase:
    return FakeDatabase(clock=clock, policy=policy)


UNLIMITED = SendLimits(global_per_second=0, chat_per_second=0, group_per_minute=0)


def recording_chat(uow_factory: UnitOfWorkFactory, settings: EngineSettings) -> ChatDriver:
    """The engine through a recording chat, with the outbox sent after every update."""
    driver = ChatDriver(build_engine(uow_factory, settings))
    driver.sender = OutboxSender(
        uow_factory,
        RecordingGateway(driver),
        settings=settings,
        budget=FloodBudget(UNLIMITED),
        name="recording-chat",
    )
    return driver


@pytest.fixture
def business(database: FakeDatabase, settings: EngineSettings) -> Business:
    """The seeded business; from then on domain events become outbox messages (the seeding
    itself is history: nothing is announced about it)."""
    seeded = seed_business(database.uow)
    database.publisher = OutboxPublisher(settings)
    return seeded


@pytest.fixture
def chat(database: FakeDatabase, business: Business, settings: EngineSettings) -> ChatDriver:
    driver = recording_chat(database.uow, settings)
    driver.group_ids.add(business.group_id)
    return driver


@pytest.fixture
def sql_chat(
    tmp_path: Path, clock: FixedClock, policy: LedgerPolicy, settings: EngineSettings
) -> tuple[ChatDriver, Business]:
    """The same engine on a real SQLite file (migrated schema), for restart-style tests."""
    from storage.database import Database
    from storage.migrate import upgrade

    db = Database(f"sqlite:///{tmp_path / 'chat.db'}", clock=clock, policy=policy)
    upgrade(db.engine)
    business = seed_business(db.uow)
    db.publisher = OutboxPublisher(settings)
    driver = recording_chat(db.uow, settings)
    driver.group_ids.add(business.group_id)
    return driver, business
