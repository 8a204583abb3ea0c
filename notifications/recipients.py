"""Who receives what: people by role or by relation to an order or customer, and chats chosen
with /subscribe — leaving out anyone who blocked the bot and groups it was removed from."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.model import Role, SalesOrder, User
from domain.ports import UnitOfWork
from domain.services.users import people_to_tell

SHIPPING_TOPIC = "shipping"
LOW_STOCK_TOPIC = "low-stock"


@dataclass(frozen=True, slots=True)
class Recipient:
    """A chat to write to, and the language to write in (None: the default language)."""

    chat_id: int
    language: str | None = None
    user_id: int | None = None
    name: str = ""


def reachable(user: User | None) -> bool:
    """An active user with a Telegram account who has not blocked the bot."""
    return (
        user is not None
        and user.active
        and user.telegram_user_id is not None
        and not user.blocked_bot
    )


def of_user(user: User | None) -> Recipient | None:
    if user is None or not reachable(user):
        return None
    assert user.telegram_user_id is not None
    return Recipient(user.telegram_user_id, user.language, user.id, user.name)


def with_role(uow: UnitOfWork, *roles: Role) -> list[Recipient]:
    found = (of_user(user) for user in uow.users.list(roles=roles))
    return [r for r in found if r is not None]


def owners(uow: UnitOfWork) -> list[Recipient]:
    return with_role(uow, Role.OWNER)


def by_user_ids(
    uow: UnitOfWork, user_ids: Iterable[int | None], *, leave_out: int | None = None
) -> list[Recipient]:
    """These users (each once, in order), staff only, except ``leave_out`` (who acted)."""
    found = (of_user(user) for user in people_to_tell(uow, user_ids, leave_out=leave_out))
    return [r for r in found if r is not None]


def order_sales(uow: UnitOfWork, order: SalesOrder, *, leave_out: int | None) -> list[Recipient]:
    """The order's salesperson and whoever took it (not the person who just acted)."""
    return by_user_ids(uow, (order.sales_rep_id, order.created_by), leave_out=leave_out)


def customer_contacts(uow: UnitOfWork, customer_id: int) -> list[Recipient]:
    """The customer's own people (customer-role users linked to it)."""
    found = (
        of_user(user)
        for user in uow.users.list(roles=(Role.CUSTOMER,))
        if user.customer_id == customer_id
    )
    return [r for r in found if r is not None]


def topic_chats(uow: UnitOfWork, topic: str) -> list[Recipient]:
    """Chats subscribed to ``topic`` that the bot can still write to."""
    inactive = uow.chat_states.inactive()
    found: list[Recipient] = []
    for chat_id in uow.chat_topics.chats(topic):
        if chat_id < 0:
            if chat_id not in inactive:
                found.append(Recipient(chat_id))
            continue
        user = uow.users.by_telegram_id(chat_id)
        if user is None:
            continue
        recipient = of_user(user)
        if recipient is not None:
            found.append(recipient)
    return found


def shipping(uow: UnitOfWork) -> list[Recipient]:
    """Where new orders to ship go: chats chosen with /subscribe, else warehouse staff."""
    if uow.chat_topics.chats(SHIPPING_TOPIC):
        return topic_chats(uow, SHIPPING_TOPIC)
    return with_role(uow, Role.WAREHOUSE)


def low_stock(uow: UnitOfWork) -> list[Recipient]:
    """Where low-stock alerts go: chats chosen with /subscribe, else warehouse staff and owners."""
    if uow.chat_topics.chats(LOW_STOCK_TOPIC):
        return topic_chats(uow, LOW_STOCK_TOPIC)
    return with_role(uow, Role.WAREHOUSE, Role.OWNER)
