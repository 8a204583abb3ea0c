"""/subscribe: choosing which chats receive new orders to ship."""

from __future__ import annotations

from domain.transaction import run_in_transaction
from handlers.flows.shipping import shipping_chats
from tests.chat_driver import ChatDriver
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business
from tests.flows.test_receive import data_of
from tests.flows.test_shipping import add_warehouse_member, read

OFF = "New orders to ship → this chat ✗"
ON = "New orders to ship → this chat ✓"
FALLBACK = "When no chat is chosen, new orders go to each warehouse person privately."


def subscribed(database: FakeDatabase) -> dict[int, str]:
    return read(database, lambda uow: uow.chat_topics.titles("shipping"))


def test_owner_turns_shipping_on_and_off_for_the_group(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    chat.send(business.owner, "/subscribe@chaterp_bot", chat=group)
    menu = chat.last(group)
    assert menu.text.splitlines() == ["<b>What this chat receives</b>", OFF, FALLBACK]
    assert menu.buttons() == [OFF, "Done"]
    old_data = data_of(menu, OFF)
    chat.press(business.owner, OFF, chat=group, message=menu)
    assert subscribed(database) == {group: ""}
    assert menu.text.splitlines() == [
        "<b>What this chat receives</b>",
        ON,
        f"Now sent to: group chat {group}",
    ]
    assert menu.buttons() == [ON, "Done"]
    assert read(database, shipping_chats) == [group]
    # A double tap on the old button changes nothing.
    chat.press_data(business.owner, old_data, message_id=menu.message_id, chat=group)
    assert chat.toasts[-1].text == "This action has expired."
    assert subscribed(database) == {group: ""}
    entries = read(database, lambda uow: uow.audit.list(object_type="chat"))
    assert [(e.action, e.object_id) for e in entries] == [("chat.subscribe", str(group))]
    # Off again, then Done.
    chat.press(business.owner, ON, chat=group, message=menu)
    assert subscribed(database) == {}
    assert read(database, shipping_chats) == [business.warehouse.telegram_id]
    chat.press(business.owner, "Done", chat=group, message=menu)
    assert menu.buttons() == []
    assert menu.text.splitlines() == ["<b>What this chat receives</b>", OFF, FALLBACK]


def test_owner_private_chat_and_the_list_of_chats(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.owner.telegram_id
    chat.send(business.warehouse, "/subscribe@chaterp_bot", chat=business.group_id)
    chat.press(business.warehouse, OFF, chat=business.group_id)
    chat.send(business.owner, "/subscribe")
    chat.press(business.owner, OFF)
    assert subscribed(database) == {business.group_id: "", me: "Olga Owner"}
    assert chat.last(me).text.splitlines()[-1] == (
        f"Now sent to: group chat {business.group_id}, Olga Owner"
    )
    # Typing instead of pressing shows the menu again, with fresh buttons.
    chat.send(business.owner, "hello")
    assert chat.last(me).text.startswith("Please use the buttons, or /cancel.\n")
    chat.press(business.owner, ON)
    assert subscribed(database) == {business.group_id: ""}


def test_who_may_subscribe_where(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    wei = add_warehouse_member(database, business)
    chat.send(business.warehouse, "/subscribe")
    assert chat.last(business.warehouse.telegram_id).text == (
        "Only the owner chooses what a private chat receives. "
        "Warehouse staff can use /subscribe in the warehouse group."
    )
    for person in (business.sales, business.customer_contact):
        chat.send(person, "/subscribe")
        assert chat.last(person.telegram_id).text.startswith("This command is not available")
        chat.send(person, "/subscribe@chaterp_bot", chat=group)
        assert chat.last(group).text.startswith("This command is not available")
    chat.send(business.warehouse, "/subscribe@chaterp_bot", chat=group)
    menu = chat.last(group)
    # The buttons belong to the one who asked: others in the group cannot press them.
    for person in (business.sales, wei, business.customer_contact):
        chat.press(person, OFF, chat=group, message=menu)
        assert chat.toasts[-1].text == "This action has expired."
    assert subscribed(database) == {}
    # People chatting in the group are not answered.
    before = len(chat.messages(group))
    chat.send(business.warehouse, "ok thanks", chat=group)
    assert len(chat.messages(group)) == before
    chat.press(business.warehouse, OFF, chat=group, message=menu)
    assert subscribed(database) == {group: ""}


def test_forged_toggles_are_expired(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/subscribe")
    menu = chat.last(business.owner.telegram_id)
    version = data_of(menu, OFF).split(":")[1]
    for forged in ("set:reports:1", "set:shipping:2", "set:shipping", "set", "zap:shipping:1"):
        chat.press_data(business.owner, f"c:{version}:{forged}", message_id=menu.message_id)
        assert chat.toasts[-1].text == "This action has expired.", forged
    assert subscribed(database) == {}
    chat.send(business.owner, "/cancel")
    chat.press(business.owner, OFF, message=menu)
    assert chat.toasts[-1].text == "This action has expired."
    assert subscribed(database) == {}


def test_subscribing_on_sqlite(sql_chat: tuple[ChatDriver, Business]) -> None:
    chat, business = sql_chat
    group = business.group_id
    factory = chat.engine._uow_factory  # the SQLite unit-of-work factory

    def titles() -> dict[int, str]:
        return run_in_transaction(factory, lambda uow: uow.chat_topics.titles("shipping"))

    chat.send(business.owner, "/subscribe@chaterp_bot", chat=group)
    chat.press(business.owner, OFF, chat=group)
    chat.send(business.owner, "/subscribe")
    chat.press(business.owner, OFF)
    assert titles() == {group: "", business.owner.telegram_id: "Olga Owner"}
    assert run_in_transaction(factory, shipping_chats) == sorted(
        [group, business.owner.telegram_id]
    )
    chat.press(business.owner, ON, chat=group)
    assert titles() == {business.owner.telegram_id: "Olga Owner"}
