"""Who you can be in the sandbox: the demo business's people on emulated Telegram accounts.

The demo data (bot/demo.py) creates the people; the sandbox gives each of them a made-up
Telegram account (ids in a range no test or real account of ours uses), puts the staff in a
warehouse group with the bot, and lists everyone with an account as a persona on the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot import demo
from domain.model import Role, User

BOT_ID = 7_000_000_001
BOT_USERNAME = "chaterp_sandbox_bot"
BOT_NAME = "chaterp"
WAREHOUSE_GROUP_ID = -4_000_000_001
WAREHOUSE_GROUP_TITLE = "Warehouse 仓库"
FIRST_NEWCOMER_ID = 200_001  # people who arrive with an invite link get ids from here
STAFF_ROLES = frozenset({Role.OWNER, Role.SALES, Role.WAREHOUSE})
ROLE_ORDER = {Role.OWNER: 0, Role.SALES: 1, Role.WAREHOUSE: 2, Role.CUSTOMER: 3}


@dataclass(frozen=True, slots=True)
class DemoAccount:
    """The made-up Telegram account of one demo person."""

    name: str
    telegram_id: int
    language_code: str  # what their Telegram app says; the bot speaks it unless /language
    phone: str  # what "Share contact" shares


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount(demo.OWNER, 100_001, "en", "+86 139 1000 0001"),
    DemoAccount(demo.SALES_1, 100_002, "en", "+86 139 1000 0002"),
    DemoAccount(demo.SALES_2, 100_003, "zh-hans", "+86 139 1000 0003"),
    DemoAccount(demo.WAREHOUSE, 100_004, "en", "+86 139 1000 0004"),
    DemoAccount(demo.CONTACTS[0][0], 100_005, "zh-hans", "+86 138 0013 8001"),
    DemoAccount(demo.CONTACTS[1][0], 100_006, "en", "+86 20 8333 1235"),
)
DEMO_TELEGRAM_IDS = {account.name: account.telegram_id for account in DEMO_ACCOUNTS}
_BY_ID = {account.telegram_id: account for account in DEMO_ACCOUNTS}


@dataclass(frozen=True, slots=True)
class Persona:
    """Someone the page can act as: a user of the business, or a newcomer not yet invited."""

    telegram_id: int
    name: str
    role: Role | None  # None: a newcomer (the bot does not know them yet)
    customer: str | None = None  # the customer a customer contact belongs to
    language_code: str = "en"
    phone: str = ""

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.telegram_id,
            "name": self.name,
            "role": str(self.role) if self.role else "newcomer",
            "customer": self.customer,
            "language": self.language_code,
        }


def personas_of(users: Iterable[User], customer_names: dict[int, str]) -> list[Persona]:
    """The active users who have a Telegram account, owner first, then sales, warehouse and
    customers."""
    found = []
    for user in users:
        if not user.active or user.telegram_user_id is None:
            continue
        account = _BY_ID.get(user.telegram_user_id)
        found.append(
            Persona(
                telegram_id=user.telegram_user_id,
                name=user.name,
                role=user.role,
                customer=customer_names.get(user.customer_id) if user.customer_id else None,
                language_code=account.language_code if account else _code(user.language),
                phone=account.phone if account else _phone(user.telegram_user_id),
            )
        )
    found.sort(key=lambda p: (ROLE_ORDER.get(p.role, 9) if p.role else 9, p.telegram_id))
    return found


def newcomer(telegram_id: int, number: int) -> Persona:
    """Someone who has an invite link but has not opened it yet."""
    return Persona(
        telegram_id=telegram_id,
        name=f"Newcomer {number}",
        role=None,
        phone=_phone(telegram_id),
    )


def _code(language: str | None) -> str:
    return "zh-hans" if language == "zh_Hans" else "en"


def _phone(telegram_id: int) -> str:
    return f"+86 139 {telegram_id // 10_000 % 10_000:04d} {telegram_id % 10_000:04d}"
