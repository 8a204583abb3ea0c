"""Shipping cards: Ship all / Partial / Problem from a group and from private chats, /ship."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

from domain.model import OrderStatus, Role, SalesOrder, ShipmentStatus
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.orders import LineRequest, place_order
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from handlers.flows.shipping import shipping_chats
from handlers.i18n import Translator, pick_language
from handlers.replies import InlineKeyboard
from tests.chat_driver import ChatDriver, Person, Shown
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business

T = TypeVar("T")
KEYS = itertools.count(1)
BAD_QUANTITIES = [
    "-3",
    "NaN",
    "Infinity",
    "1e9",
    "lots",
    "x" * 5000,
    "<b>x</a>",
    "_a_",
    "🙂",
    "'); DROP TABLE orders;--",
]


def read(database: FakeDatabase, work: Callable[[UnitOfWork], T]) -> T:
    with database.uow() as uow:
        return work(uow)


def place(
    database: UnitOfWorkFactory,
    business: Business,
    *lines: tuple[Any, str],
    customer: int | None = None,
    by: str = "sales",
    note: str = "",
    backorder: bool = False,
) -> SalesOrder:
    """An order placed directly through the domain (the /order flow is written elsewhere)."""
    requests = [LineRequest(product.id, Quantity.of(amount)) for product, amount in lines]
    placed = run_in_transaction(
        database,
        lambda uow: place_order(
            uow,
            actor=business.actor(by),
            customer_id=customer if customer is not None else business.acme.id,
            lines=requests,
            idempotency_key=f"test-{next(KEYS)}",
            allow_backorder=backorder,
            note=note,
        ),
    )
    return placed.order


def said(person: Person, message: str) -> str:
    """``message`` as ``person`` reads it (Sue's Telegram app is in Chinese)."""
    return Translator(pick_language(None, person.language, "en"))(message)


def add_warehouse_member(database: FakeDatabase, business: Business) -> Person:
    person = Person(17, "Wei Warehouse")
    run_in_transaction(
        database.uow,
        lambda uow: add_user(
            uow,
            actor=business.actor("owner"),
            name=person.name,
            role=Role.WAREHOUSE,
            telegram_user_id=person.telegram_id,
        ),
    )
    return person


def show_card(
    chat: ChatDriver, person: Person, order: SalesOrder, where: int | None = None
) -> Shown:
    """/ship, then "Show ORDER": the tracked card posted in ``where`` (default: private)."""
    chat.send(person, "/ship@chaterp_bot" if where is not None else "/ship", chat=where)
    chat.press(person, f"Show {order.number}", chat=where)
    return chat.last(person.telegram_id if where is None else where)


def on_hand(database: FakeDatabase, product_id: int, warehouse_id: int) -> tuple[str, str]:
    balance = read(database, lambda uow: uow.stock.get(product_id, warehouse_id))
    return str(balance.on_hand), str(balance.reserved)


def order_of(database: FakeDatabase, order_id: int) -> SalesOrder:
    order = read(database, lambda uow: uow.orders.get(order_id))
    assert order is not None
    return order


def shipments_of(database: FakeDatabase, order_id: int) -> list[Any]:
    return read(database, lambda uow: uow.shipments.for_order(order_id))


def invoices_of(database: FakeDatabase, order_id: int) -> list[Any]:
    return read(database, lambda uow: uow.invoices.for_order(order_id))


# --- the group scenario -----------------------------------------------------------------------


def test_ship_all_from_the_group_edits_every_copy_and_a_second_press_says_who(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    wei = add_warehouse_member(database, business)
    group = business.group_id
    order = place(database, business, (business.widget, "10"), (business.bolt, "5"))
    group_card = show_card(chat, business.warehouse, order, group)
    owner_card = show_card(chat, business.owner, order)
    assert group_card.buttons() == ["✅ Ship all", "✂️ Partial", "⚠️ Problem"]
    assert owner_card.text == group_card.text

    clock.advance(minutes=5)
    chat.press(business.warehouse, "Ship all", chat=group, message=group_card)

    for copy in (group_card, owner_card):
        assert copy.edits == 1
        assert copy.buttons() == []
        assert copy.text.startswith("✅ <b>SO-000001</b> · ACME Trading")
        assert "Shipped by Wang Warehouse at 3/2/26, 9:05" in copy.text
        assert "• Blue widget: 10 pcs" in copy.text
        assert "• M8 hex bolt 40mm: 5 box" in copy.text
        assert "Invoice INV-000001" in copy.text
    assert chat.last(business.sales.telegram_id).text == (
        "✅ SO-000001 for ACME Trading has shipped (invoice INV-000001)."
    )
    assert on_hand(database, business.widget.id, business.main.id) == ("90", "0")
    assert on_hand(database, business.bolt.id, business.main.id) == ("15", "0")
    assert order_of(database, order.id).status is OrderStatus.SHIPPED
    invoices = invoices_of(database, order.id)
    assert [(i.number, i.amount.minor) for i in invoices] == [("INV-000001", 30000)]

    # Another warehouse member presses the (old) group copy, and the owner his own copy.
    data = f"ship:all:{order.id}"
    clock.advance(minutes=1)
    chat.toasts.clear()
    chat.press_data(wei, data, message_id=group_card.message_id, chat=group)
    chat.press_data(business.owner, data, message_id=owner_card.message_id)
    assert [t.text for t in chat.toasts] == [
        "SO-000001 was already shipped by Wang Warehouse at 3/2/26, 9:05\u202fAM."
    ] * 2
    assert all(t.alert for t in chat.toasts)
    # ... and a callback re-sent with the same update id does nothing at all.
    before = len(chat.messages(group))
    chat.redeliver(wei)
    assert len(chat.messages(group)) == before
    assert group_card.edits == 1 and owner_card.edits == 1
    assert len(shipments_of(database, order.id)) == 1
    assert len(invoices_of(database, order.id)) == 1
    assert on_hand(database, business.widget.id, business.main.id) == ("90", "0")
    assert len(chat.texts(business.sales.telegram_id)) == 1


def test_the_card_shows_lines_warehouse_availability_and_the_note(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(
        database,
        business,
        (business.widget, "10"),
        (business.bolt, "25"),
        (business.wire, "2.5"),
        note="<b>fragile</b> & _urgent_",
        backorder=True,
    )
    card = show_card(chat, business.warehouse, order)
    assert card.text.splitlines() == [
        "📦 <b>SO-000001</b> · ACME Trading",
        "• Blue widget: 10 pcs from MAIN · available now 100 pcs",
        "• M8 hex bolt 40mm: 25 box from MAIN · available now 20 box ⚠️",
        "• Copper wire: 2.5 kg from MAIN · available now 30.5 kg",
        "Note: &lt;b&gt;fragile&lt;/b&gt; &amp; _urgent_",
    ]


def test_ship_all_double_tap_ships_once(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(database, business, (business.widget, "3"))
    card = show_card(chat, business.warehouse, order)
    chat.press(business.warehouse, "Ship all", message=card)
    chat.press_data(business.warehouse, f"ship:all:{order.id}", message_id=card.message_id)
    assert chat.toasts[-1].text.startswith("SO-000001 was already shipped by Wang Warehouse")
    assert len(shipments_of(database, order.id)) == 1
    assert on_hand(database, business.widget.id, business.main.id) == ("97", "0")


def test_ship_all_without_enough_stock_changes_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(database, business, (business.bolt, "30"), backorder=True)
    card = show_card(chat, business.warehouse, order)
    chat.press(business.warehouse, "Ship all", message=card)
    assert chat.toasts[-1].alert
    assert chat.toasts[-1].text.startswith("Not enough stock:")
    assert card.edits == 0
    assert shipments_of(database, order.id) == []
    assert on_hand(database, business.bolt.id, business.main.id) == ("20", "20")


# --- Partial ------------------------------------------------------------------------------------


def test_partial_line_by_line_with_bad_input_at_every_prompt(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    order = place(
        database,
        business,
        (business.widget, "10"),
        (business.wire, "6"),
        (business.bolt, "5"),
    )
    card = show_card(chat, business.warehouse, order, group)
    owner_card = show_card(chat, business.owner, order)
    chat.press(business.warehouse, "Partial", chat=group, message=card)
    first = chat.last(group)
    assert "<b>SO-000001</b> · line 1 of 3" in first.text
    assert first.buttons() == ["All 10 pcs", "Skip", "Cancel"]

    def answer(text: str) -> str:
        chat.send(business.warehouse, text, chat=group)
        return chat.last(group).text

    for bad in [*BAD_QUANTITIES, "2.5", "11"]:
        reply = answer(bad)
        assert "line 1 of 3" in reply, bad
        assert reply.splitlines()[0] in {
            "It cannot be negative.",
            "That is not a number.",
            "That is too long.",
            "That has too many decimals. pcs is counted in whole numbers.",
            "That is more than is left to ship (10 pcs).",
        }, bad
    assert "line 2 of 3" in answer("4")
    reply = answer("2.5555")
    assert reply.startswith("That has too many decimals. kg allows at most 3 decimals.")
    assert "line 2 of 3" in reply
    assert "line 3 of 3" in answer("2,5")
    summary = answer("0")
    assert summary.splitlines() == [
        "Ship now from <b>SO-000001</b> · ACME Trading:",
        "• Blue widget: 4 pcs",
        "• Copper wire: 2.5 kg",
        "Still to ship afterwards:",
        "• Blue widget: 6 pcs",
        "• Copper wire: 3.5 kg",
        "• M8 hex bolt 40mm: 5 box",
    ]
    # Typing at the summary only repeats it.
    assert answer("yes").startswith("Please use the buttons: Confirm or Cancel.")
    assert shipments_of(database, order.id) == []  # nothing before Confirm

    confirm = chat.last(group)
    assert isinstance(confirm.keyboard, InlineKeyboard)
    confirm_data = confirm.keyboard.rows[0][0].data
    chat.press(business.warehouse, "Confirm", chat=group, message=confirm)
    assert confirm.buttons() == []
    assert confirm.text.startswith("✅ Shipped from <b>SO-000001</b>:")
    for copy in (card, owner_card):
        assert copy.text.startswith("🚚 <b>SO-000001</b> · ACME Trading")
        assert "Partly shipped by Wang Warehouse at" in copy.text
        assert "Still to ship:" in copy.text
        assert "• Blue widget: 6 of 10 pcs left, from MAIN" in copy.text
        assert copy.buttons() == ["✅ Ship all", "✂️ Partial", "⚠️ Problem"]
    assert "partly shipped" in chat.last(business.sales.telegram_id).text
    assert order_of(database, order.id).status is OrderStatus.PARTIALLY_SHIPPED
    assert on_hand(database, business.widget.id, business.main.id) == ("96", "6")
    assert on_hand(database, business.wire.id, business.main.id) == ("28", "3.5")
    assert [i.amount.minor for i in invoices_of(database, order.id)] == [22000]

    # A double tap on Confirm: the old button is expired, nothing ships twice.
    chat.press_data(business.warehouse, confirm_data, message_id=confirm.message_id, chat=group)
    assert chat.toasts[-1].text == "This action has expired."
    assert len(shipments_of(database, order.id)) == 1

    # The rest ships with Ship all from the edited card.
    chat.press(business.warehouse, "Ship all", chat=group, message=card)
    assert card.text.startswith("✅ <b>SO-000001</b>")
    assert "• Blue widget: 6 pcs" in card.text and "Invoice INV-000002" in card.text
    assert owner_card.text == card.text
    assert order_of(database, order.id).status is OrderStatus.SHIPPED


def test_partial_double_tap_on_confirm_ships_once(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(database, business, (business.widget, "10"))
    show_card(chat, business.warehouse, order)
    chat.press(business.warehouse, "Partial")
    chat.send(business.warehouse, "4")
    summary = chat.last(business.warehouse.telegram_id)
    assert summary.keyboard is not None
    data = summary.keyboard.rows[0][0].data
    chat.press_data(business.warehouse, data, message_id=summary.message_id)
    chat.press_data(business.warehouse, data, message_id=summary.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert len(shipments_of(database, order.id)) == 1
    assert on_hand(database, business.widget.id, business.main.id) == ("96", "6")


def test_partial_buttons_skip_cancel_and_stale_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(database, business, (business.widget, "10"), (business.bolt, "5"))
    show_card(chat, business.warehouse, order)
    me = business.warehouse.telegram_id
    chat.press(business.warehouse, "Partial")
    # A double tap on Partial does not start a second questionnaire.
    chat.press(business.warehouse, "Partial")
    assert chat.toasts[-1].text == "Answer the question below, or /cancel."
    assert sum("line 1 of 2" in text for text in chat.texts(me)) == 1
    chat.press(business.warehouse, "Skip")
    line2 = chat.last(me)
    assert "line 2 of 2" in line2.text
    chat.send(business.warehouse, "/cancel")
    assert chat.last(me).text == "Cancelled. Nothing was saved."
    chat.press(business.warehouse, "All 5 box", message=line2)
    assert chat.toasts[-1].text == "This action has expired."
    # Skipping every line ships nothing.
    chat.press(business.warehouse, "Partial")
    chat.press(business.warehouse, "Skip")
    chat.press(business.warehouse, "Skip")
    assert chat.last(me).text == "Nothing was chosen, so nothing was shipped."
    # The Cancel button leaves too.
    chat.press(business.warehouse, "Partial")
    chat.press(business.warehouse, "Cancel")
    assert chat.last(me).text == "Cancelled. Nothing was saved."
    assert shipments_of(database, order.id) == []


def test_partial_offers_only_what_can_ship_now(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(database, business, (business.bolt, "25"), backorder=True)
    show_card(chat, business.warehouse, order)
    me = business.warehouse.telegram_id
    chat.press(business.warehouse, "Partial")
    assert chat.last(me).buttons() == ["Available 20 box", "Skip", "Cancel"]
    chat.send(business.warehouse, "25")
    assert chat.last(me).text.startswith("Only 20 box can ship now (not enough in MAIN).")
    chat.press(business.warehouse, "Available 20 box")
    chat.press(business.warehouse, "Confirm")
    assert on_hand(database, business.bolt.id, business.main.id) == ("0", "0")
    assert order_of(database, order.id).status is OrderStatus.PARTIALLY_SHIPPED


def test_other_members_cannot_answer_someone_elses_questions(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    wei = add_warehouse_member(database, business)
    group = business.group_id
    order = place(database, business, (business.widget, "10"))
    card = show_card(chat, business.warehouse, order, group)
    chat.press(business.warehouse, "Partial", chat=group, message=card)
    prompt = chat.last(group)
    before = len(chat.messages(group))
    chat.send(wei, "3", chat=group)  # Wei is just chatting: not his question
    assert len(chat.messages(group)) == before
    chat.press(wei, "All 10 pcs", chat=group, message=prompt)
    assert chat.toasts[-1].text == "This action has expired."
    chat.send(business.warehouse, "3", chat=group)
    chat.press(business.warehouse, "Confirm", chat=group)
    assert on_hand(database, business.widget.id, business.main.id) == ("97", "7")


def test_partial_stops_when_someone_else_shipped_meanwhile(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    wei = add_warehouse_member(database, business)
    group = business.group_id
    order = place(database, business, (business.widget, "10"))
    card = show_card(chat, business.warehouse, order, group)
    chat.press(business.warehouse, "Partial", chat=group, message=card)
    chat.press(wei, "Ship all", chat=group, message=card)
    chat.send(business.warehouse, "4", chat=group)
    assert chat.last(group).text.startswith("SO-000001 was already shipped by Wei Warehouse")
    before = len(chat.messages(group))
    chat.send(business.warehouse, "4", chat=group)  # the conversation is over: just chat
    assert len(chat.messages(group)) == before
    assert len(shipments_of(database, order.id)) == 1
    assert on_hand(database, business.widget.id, business.main.id) == ("90", "0")


def test_partial_confirm_after_someone_shipped_part_is_refused(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    wei = add_warehouse_member(database, business)
    group = business.group_id
    order = place(database, business, (business.widget, "10"))
    card = show_card(chat, business.warehouse, order, group)
    chat.press(business.warehouse, "Partial", chat=group, message=card)
    chat.send(business.warehouse, "8", chat=group)  # summary: 8 now
    chat.press(wei, "Partial", chat=group, message=card)
    chat.send(wei, "5", chat=group)
    chat.press(wei, "Confirm", chat=group)
    chat.press(business.warehouse, "Confirm", chat=group)
    reply = chat.last(group).text
    assert "That is more than is left to ship." in reply
    assert "Nothing was shipped. Press Partial on the card to start again." in reply
    shipped = [s for s in shipments_of(database, order.id) if s.status is ShipmentStatus.CONFIRMED]
    assert len(shipped) == 1
    assert on_hand(database, business.widget.id, business.main.id) == ("95", "5")


# --- Problem ------------------------------------------------------------------------------------


def test_problem_report_tells_the_salesperson_and_marks_every_copy(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    order = place(database, business, (business.widget, "10"))
    card = show_card(chat, business.warehouse, order, group)
    owner_card = show_card(chat, business.owner, order)
    chat.press(business.warehouse, "Problem", chat=group, message=card)
    assert chat.last(group).text == (
        "What is the problem with <b>SO-000001</b>? Type a short reason."
    )
    chat.send(business.warehouse, "   ", chat=group)
    assert chat.last(group).text.startswith("Nothing was entered.\nWhat is the problem")
    chat.send(business.warehouse, "x" * 5000, chat=group)
    assert chat.last(group).text.startswith("That is too long: at most 300 characters")
    chat.send(
        business.warehouse, "<b>Box</b> crushed _again_ 🙂 '); DROP TABLE orders;--", chat=group
    )
    assert chat.last(group).text == "Problem noted on SO-000001; told Sam Sales."
    reason = "&lt;b&gt;Box&lt;/b&gt; crushed _again_ 🙂 '); DROP TABLE orders;--"
    for copy in (card, owner_card):
        assert copy.text.endswith(f"⚠️ Problem reported by Wang Warehouse: {reason}")
        assert copy.buttons() == ["✅ Ship all", "✂️ Partial", "⚠️ Problem"]
    assert chat.last(business.sales.telegram_id).text == (
        f"⚠️ Problem with SO-000001: {reason} (reported by Wang Warehouse)"
    )
    entries = read(database, lambda uow: uow.audit.list(object_type="order", object_id="SO-000001"))
    assert entries[-1].action == "order.problem"
    assert order_of(database, order.id).status is OrderStatus.CONFIRMED
    assert on_hand(database, business.widget.id, business.main.id) == ("100", "10")
    # /ship flags it, and a card posted later carries the problem too.
    chat.send(business.owner, "/ship")
    assert "⚠️ problem" in chat.last(business.owner.telegram_id).text
    again = show_card(chat, business.owner, order)
    assert again.text.endswith(f"⚠️ Problem reported by Wang Warehouse: {reason}")
    # Shipping afterwards clears the mark.
    chat.press(business.warehouse, "Ship all", chat=group, message=card)
    assert card.text.startswith("✅ <b>SO-000001</b>")
    assert "Problem reported" not in card.text


def test_problem_reporter_is_not_told_their_own_report(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    """The owner placed the order (ACME's rep is Sam) and reports a problem himself."""
    order = place(database, business, (business.widget, "1"), by="owner")
    show_card(chat, business.owner, order)
    chat.press(business.owner, "Problem")
    chat.press(business.owner, "Cancel")
    assert chat.last(business.owner.telegram_id).text == "Cancelled. Nothing was saved."
    chat.press(business.owner, "Problem")
    chat.send(business.owner, "wrong colour")
    # ACME's rep is Sam: he is told; the owner who reported is not messaged twice.
    assert (
        chat.last(business.owner.telegram_id).text == "Problem noted on SO-000001; told Sam Sales."
    )


# --- roles and forged data ----------------------------------------------------------------------


def test_only_owner_and_warehouse_may_press_card_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    group = business.group_id
    order = place(database, business, (business.widget, "10"))
    card = show_card(chat, business.warehouse, order, group)
    for person in (business.sales, business.sales2, business.customer_contact):
        for label in ("Ship all", "Partial", "Problem"):
            chat.toasts.clear()
            chat.press(person, label, chat=group, message=card)
            assert [(t.text, t.alert) for t in chat.toasts] == [
                (said(person, "Your role does not allow this."), True)
            ], (person.name, label)
        chat.toasts.clear()
        chat.press_data(person, f"ship:show:{order.id}", message_id=1, chat=group)
        assert chat.toasts[-1].text == said(person, "Your role does not allow this.")
    before = len(chat.messages(group))
    chat.press(business.stranger, "Ship all", chat=group, message=card)
    assert len(chat.messages(group)) == before
    assert card.edits == 0
    assert shipments_of(database, order.id) == []
    assert on_hand(database, business.widget.id, business.main.id) == ("100", "10")


def test_forged_callback_data_is_expired(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place(database, business, (business.widget, "10"))
    card = show_card(chat, business.warehouse, order)
    forged = [
        "ship:all:999999",
        "ship:all:abc",
        "ship:all:-1",
        "ship:all",
        "ship",
        f"ship:all:{order.id}:2",
        f"ship:zap:{order.id}",
        "ship:all:" + "9" * 19,
        "ship:all:" + "9" * 60,
        "ship:all:1<b>",
        "stock:999999",
        "stock:abc",
        "c:1:qall",
        "c:99:ok",
        "",
    ]
    for data in forged:
        chat.toasts.clear()
        chat.press_data(business.warehouse, data, message_id=card.message_id)
        assert [t.text for t in chat.toasts] == ["This action has expired."], data
    assert card.edits == 0
    assert shipments_of(database, order.id) == []


def test_forged_data_for_another_customers_order(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    theirs = place(
        database, business, (business.screw, "2"), customer=business.hengtong.id, by="sales2"
    )
    chat.toasts.clear()
    chat.press_data(business.customer_contact, f"ship:all:{theirs.id}", message_id=1)
    chat.press_data(business.customer_contact, f"ship:show:{theirs.id}", message_id=1)
    assert [t.text for t in chat.toasts] == ["Your role does not allow this."] * 2
    assert chat.messages(business.customer_contact.telegram_id) == []
    assert shipments_of(database, theirs.id) == []


def test_orders_that_cannot_ship_say_why(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    pending = place(
        database,
        business,
        (business.screw, "50"),
        customer=business.hengtong.id,
        by="sales2",
    )
    assert pending.status is OrderStatus.PENDING_APPROVAL
    for action in ("all", "part", "prob", "show"):
        chat.press_data(business.warehouse, f"ship:{action}:{pending.id}", message_id=1)
        assert chat.toasts[-1].text == "SO-000001 is waiting for an owner's approval."
    assert shipments_of(database, pending.id) == []
    assert chat.messages(business.warehouse.telegram_id) == []


# --- /ship ------------------------------------------------------------------------------------


def test_ship_lists_waiting_orders_oldest_first(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    me = business.warehouse.telegram_id
    chat.send(business.warehouse, "/ship")
    assert chat.last(me).text == "Nothing is waiting to ship."
    first = place(database, business, (business.widget, "1"))
    clock.advance(hours=1)
    second = place(database, business, (business.widget, "10"), (business.bolt, "2"))
    clock.advance(hours=1)
    shipped = place(database, business, (business.widget, "1"))
    clock.advance(hours=1)
    pending = place(database, business, (business.screw, "50"), customer=business.hengtong.id)
    assert pending.status is OrderStatus.PENDING_APPROVAL
    card = show_card(chat, business.warehouse, shipped)
    chat.press(business.warehouse, "Ship all", message=card)
    partial = show_card(chat, business.warehouse, second)
    chat.press(business.warehouse, "Partial", message=partial)
    chat.send(business.warehouse, "5")
    chat.press(business.warehouse, "Skip")
    chat.press(business.warehouse, "Confirm")

    chat.send(business.warehouse, "/ship")
    listing = chat.last(me)
    assert listing.text.splitlines() == [
        "📦 2 orders wait to ship, oldest first:",
        f"1. <b>{first.number}</b> · ACME Trading · 3/2/26, 9:00\u202fAM · 1 line to ship",
        f"2. <b>{second.number}</b> · ACME Trading · 3/2/26, 10:00\u202fAM · 2 lines to ship"
        " · partly shipped",
    ]
    assert listing.buttons() == [f"Show {first.number}", f"Show {second.number}"]
    # A double tap on Show posts one card (the first one came when the order was placed).
    def cards() -> int:
        return sum(text.startswith("📦 <b>SO-000001</b>") for text in chat.texts(me))

    before = cards()
    chat.press(business.warehouse, f"Show {first.number}", message=listing)
    chat.press(business.warehouse, f"Show {first.number}", message=listing)
    assert chat.toasts[-1].text == f"The card of {first.number} is already below."
    assert cards() == before + 1


def test_ship_command_roles_and_groups(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    place(database, business, (business.widget, "1"))
    group = business.group_id
    for person in (business.sales, business.customer_contact):
        chat.send(person, "/ship")
        assert chat.last(person.telegram_id).text.startswith("This command is not available")
    chat.send(business.sales, "/ship@chaterp_bot", chat=group)
    assert chat.last(group).text.startswith("This command is not available")
    chat.send(business.owner, "/ship@chaterp_bot", chat=group)
    assert chat.last(group).text.startswith("📦 1 order waits to ship")
    chat.send(business.warehouse, "/ship@other_bot", chat=group)  # not for us
    assert chat.last(group).text.startswith("📦 1 order waits to ship")


def test_long_ship_list_stays_in_one_message_with_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    for _ in range(25):
        place(database, business, (business.widget, "1"))
    chat.send(business.warehouse, "/ship")
    listing = chat.last(business.warehouse.telegram_id)
    assert len(listing.buttons()) == 20
    assert listing.text.endswith("…and 5 more.")
    assert len(listing.text) <= 4096


# --- where cards go -----------------------------------------------------------------------------


def test_shipping_chats_fall_back_to_warehouse_staff(
    business: Business, database: FakeDatabase
) -> None:
    assert read(database, shipping_chats) == [business.warehouse.telegram_id]

    def subscribe(uow: UnitOfWork) -> None:
        uow.chat_topics.set(business.group_id, "shipping", True, title="")
        uow.commit()

    with database.uow() as uow:
        subscribe(uow)
    assert read(database, shipping_chats) == [business.group_id]


# --- on SQLite --------------------------------------------------------------------------------


def test_group_shipping_on_sqlite(sql_chat: tuple[ChatDriver, Business]) -> None:
    chat, business = sql_chat
    database = chat.engine._uow_factory  # the SQLite unit-of-work factory
    group = business.group_id
    order = place(database, business, (business.widget, "10"))
    group_card = show_card(chat, business.warehouse, order, group)
    owner_card = show_card(chat, business.owner, order)
    chat.press(business.warehouse, "Problem", chat=group, message=group_card)
    chat.send(business.warehouse, "<i>wet</i> boxes", chat=group)
    assert owner_card.text.endswith(
        "⚠️ Problem reported by Wang Warehouse: &lt;i&gt;wet&lt;/i&gt; boxes"
    )
    assert chat.last(business.sales.telegram_id).text.startswith("⚠️ Problem with SO-000001")
    chat.press(business.warehouse, "Partial", chat=group, message=group_card)
    chat.send(business.warehouse, "4", chat=group)
    chat.press(business.warehouse, "Confirm", chat=group)
    assert "Partly shipped by Wang Warehouse" in owner_card.text
    chat.press(business.warehouse, "Ship all", chat=group, message=group_card)
    chat.press_data(business.owner, f"ship:all:{order.id}", message_id=owner_card.message_id)
    assert chat.toasts[-1].text.startswith("SO-000001 was already shipped by Wang Warehouse")
    assert owner_card.text == group_card.text and group_card.buttons() == []

    def check(uow: UnitOfWork) -> None:
        assert str(uow.stock.get(business.widget.id, business.main.id).on_hand) == "90"
        assert len(uow.invoices.for_order(order.id)) == 2
        current = uow.orders.get(order.id)
        assert current is not None and current.status is OrderStatus.SHIPPED

    run_in_transaction(database, check)


# --- the card as the /order flow posts it ---------------------------------------------------


def test_card_posted_through_the_outbox_then_shipped_from_the_group(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    """An order placed by any means queues its card for every shipping chat; the sender
    tracks each copy, so a press in one chat edits them all."""
    with database.uow() as uow:
        uow.chat_topics.set(business.group_id, "shipping", True, title="")
        uow.chat_topics.set(business.warehouse.telegram_id, "shipping", True, title="Wang")
        uow.commit()
    order = place(database, business, (business.widget, "2"))
    assert chat.messages(business.group_id) == []  # queued, not sent yet
    assert chat.send_outbox() == 2
    with database.uow() as uow:
        assert sorted(uow.sent_messages.for_key(f"ship:{order.id}")) == [
            (business.group_id, 1),
            (business.warehouse.telegram_id, 1),
        ]
    group_card = chat.last(business.group_id)
    private_card = chat.last(business.warehouse.telegram_id)
    chat.press(business.warehouse, "Ship all", chat=business.group_id, message=group_card)
    for copy in (group_card, private_card):
        assert "Shipped by Wang Warehouse" in copy.text and copy.buttons() == []
    assert on_hand(database, business.widget.id, business.main.id) == ("98", "0")
