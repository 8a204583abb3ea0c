"""/subscribe: choosing which chats receive new orders, low-stock alerts and summaries."""

from __future__ import annotations

from domain.transaction import run_in_transaction
from handlers.flows.shipping import shipping_chats
from tests.chat_driver import ChatDriver
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business
from tests.flows.test_payment import place
from tests.flows.test_receive import data_of
from tests.flows.test_shipping import add_warehouse_member, read

OFF = "New orders to ship → this chat ✗"
ON = "New orders to ship → this chat ✓"
FALLBACK = "When no chat is chosen, new orders go to each warehouse person privately."
LOW_OFF = "Low-stock alerts → this chat ✗"
LOW_FALLBACK = (
    "When no chat is chosen, low-stock alerts go to warehouse staff and owners privately."
)
DAILY_OFF = "Daily summary → this chat ✗"
DAILY_ON = "Daily summary → this chat ✓"
WEEKLY_OFF = "Weekly summary (Mondays) → this chat ✗"
MONTHLY_OFF = "Monthly summary (1st of the month) → this chat ✗"
SUMMARIES_OFF = [DAILY_OFF, WEEKLY_OFF, MONTHLY_OFF]


def subscribed(database: FakeDatabase) -> dict[int, str]:
    return read(database, lambda uow: uow.chat_topics.titles("shipping"))


def test_owner_turns_shipping_on_and_off_for_the_group(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    chat.send(business.owner, "/subscribe@chaterp_bot", chat=group)
    menu = chat.last(group)
    assert menu.text.splitlines() == [
        "<b>What this chat receives</b>",
        OFF,
        FALLBACK,
        LOW_OFF,
        LOW_FALLBACK,
        *SUMMARIES_OFF,
    ]
    assert menu.buttons() == [OFF, LOW_OFF, *SUMMARIES_OFF, "Done"]
    old_data = data_of(menu, OFF)
    chat.press(business.owner, OFF, chat=group, message=menu)
    assert subscribed(database) == {group: ""}
    assert menu.text.splitlines()[:3] == [
        "<b>What this chat receives</b>",
        ON,
        f"Now sent to: group chat {group}",
    ]
    assert menu.buttons() == [ON, LOW_OFF, *SUMMARIES_OFF, "Done"]
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
    assert menu.text.splitlines()[:3] == ["<b>What this chat receives</b>", OFF, FALLBACK]


def test_owner_private_chat_and_the_list_of_chats(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.owner.telegram_id
    chat.send(business.warehouse, "/subscribe@chaterp_bot", chat=business.group_id)
    chat.press(business.warehouse, OFF, chat=business.group_id)
    chat.send(business.owner, "/subscribe")
    chat.press(business.owner, OFF)
    assert subscribed(database) == {business.group_id: "", me: "Olga Owner"}
    assert chat.last(me).text.splitlines()[2] == (
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


# --- summaries and low stock ------------------------------------------------------------------


def summaries(database: FakeDatabase, chat_id: int) -> tuple[bool, bool, bool, str] | None:
    sub = read(database, lambda uow: uow.report_subscriptions.get(chat_id))
    if sub is None:
        return None
    return (sub.daily, sub.weekly, sub.monthly, f"{sub.send_at:%H:%M}")


def test_an_owner_gets_the_daily_summary_at_19_until_choosing_otherwise(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.owner.telegram_id
    chat.send(business.owner, "/subscribe")
    menu = chat.last(me)
    assert menu.text.splitlines()[-4:] == [
        DAILY_ON,
        WEEKLY_OFF,
        MONTHLY_OFF,
        "Summaries come at 19:00.",
    ]
    assert summaries(database, me) is None  # the default, nothing saved yet
    chat.press(business.owner, WEEKLY_OFF, message=menu)
    assert summaries(database, me) == (True, True, False, "19:00")
    chat.press(business.owner, "Change the time", message=menu)
    picker = chat.last(me)
    assert picker.text.startswith("🕖 At what time should the summaries come? Now 19:00.")
    assert "19:00 ✓" in picker.buttons()
    chat.press(business.owner, "07:00", message=picker)
    assert summaries(database, me) == (True, True, False, "07:00")
    assert picker.text == "Summaries will come at 07:00."
    # or typed: 6:45 works, "soon" is asked again
    chat.press(business.owner, "Change the time", message=chat.last(me))
    chat.send(business.owner, "soon")
    assert chat.last(me).text.startswith("Please type a time like 18:30, or use the buttons.")
    chat.send(business.owner, "6:45")
    assert summaries(database, me) == (True, True, False, "06:45")
    assert chat.last(me).text.startswith("Summaries will come at 06:45.\n<b>What this chat")
    chat.press(business.owner, DAILY_ON)
    assert summaries(database, me) == (False, True, False, "06:45")


def test_the_warehouse_subscribes_its_group_to_low_stock_alerts(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    chat.send(business.warehouse, "/subscribe@chaterp_bot", chat=group)
    menu = chat.last(group)
    assert menu.buttons() == [OFF, LOW_OFF, "Done"]  # no summaries for the warehouse
    chat.press(business.warehouse, LOW_OFF, chat=group, message=menu)
    assert read(database, lambda uow: uow.chat_topics.chats("low-stock")) == [group]
    # the next low-stock episode goes to the group only
    chat.send(business.warehouse, "/receive")  # (any update lets the outbox go out)
    chat.send(business.warehouse, "/cancel")
    run_in_transaction(
        database.uow, lambda uow: uow.low_stock.try_end(business.bolt.id, uow.clock.now())
    )
    place(database, business, business.acme.id, [(business.bolt.id, "1")])
    chat.send_outbox()
    assert chat.last(group).text.startswith("📉 Low stock:")
    owner_texts = chat.texts(business.owner.telegram_id)
    assert not any(text.startswith("📉") for text in owner_texts)
