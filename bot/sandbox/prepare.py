"""The sandbox's database: migrated, the demo business loaded when empty, personas bound."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.demo import is_empty, load_demo_data
from bot.sandbox.cast import (
    DEMO_ACCOUNTS,
    DEMO_TELEGRAM_IDS,
    WAREHOUSE_GROUP_ID,
    WAREHOUSE_GROUP_TITLE,
    Persona,
    personas_of,
)
from domain.model import Actor, Role, User
from domain.ports import UnitOfWork
from domain.services.common import audit
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from storage.database import Database
from storage.migrate import upgrade

logger = logging.getLogger(__name__)

SANDBOX_ACTOR = Actor.system("sandbox")
SHIPPING_TOPIC = "shipping"  # handlers/flows/subscribe.py: new orders to ship
FALLBACK_OWNER = "Sandbox Owner"


@dataclass(frozen=True, slots=True)
class Prepared:
    """What ``prepare_database`` did."""

    demo_loaded: bool
    owner_added: bool


def prepare_database(database: Database) -> Prepared:
    """Bring the schema up to date; load the demo business into an empty database (staff and
    customer contacts on the sandbox's Telegram accounts, the warehouse group receiving new
    orders to ship); make sure some owner has an account, so there is always someone who can
    invite the rest."""
    upgrade(database.engine)
    demo_loaded = False
    if is_empty(database):
        load_demo_data(database, telegram_ids=DEMO_TELEGRAM_IDS)
        run_in_transaction(database.uow, _subscribe_warehouse_group)
        demo_loaded = True
    owner_added = False
    if not any(p.role is Role.OWNER for p in load_personas(database)):
        run_in_transaction(database.uow, _add_owner)
        owner_added = True
    return Prepared(demo_loaded=demo_loaded, owner_added=owner_added)


def load_personas(database: Database) -> list[Persona]:
    """Everyone in the database with a Telegram account, as the page lists them."""
    with database.reader() as uow:
        users = uow.users.list()
        customers = {c.id: c.name for c in uow.customers.list(active_only=False)}
    return personas_of(users, customers)


def load_users(database: Database) -> dict[int, User]:
    """Active users with a Telegram account, by that account's id."""
    with database.reader() as uow:
        return {u.telegram_user_id: u for u in uow.users.list() if u.telegram_user_id is not None}


def _subscribe_warehouse_group(uow: UnitOfWork) -> None:
    uow.chat_topics.set(WAREHOUSE_GROUP_ID, SHIPPING_TOPIC, True, title=WAREHOUSE_GROUP_TITLE)
    audit(
        uow,
        SANDBOX_ACTOR,
        "chat.subscribe",
        "chat",
        WAREHOUSE_GROUP_ID,
        after={"topic": SHIPPING_TOPIC, "on": True},
    )


def _add_owner(uow: UnitOfWork) -> None:
    """A database without a bound owner (not the demo): the first demo account becomes one."""
    taken = {u.telegram_user_id for u in uow.users.list(active_only=False)}
    telegram_id = next(a.telegram_id for a in DEMO_ACCOUNTS if a.telegram_id not in taken)
    add_user(
        uow, actor=SANDBOX_ACTOR, name=FALLBACK_OWNER, role=Role.OWNER, telegram_user_id=telegram_id
    )
    logger.info("the sandbox added %r as the owner (telegram id %s)", FALLBACK_OWNER, telegram_id)
