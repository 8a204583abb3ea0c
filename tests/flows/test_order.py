"""/order: customer → free-text lines → review → confirm; approvals and warehouse cards."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from domain.model import Actor, OrderStatus, Role, SalesOrder, User
from domain.ports import LedgerPolicy, UnitOfWork, UnitOfWorkFactory
from domain.quantity import Quantity
from domain.services.orders import LineRequest, place_order
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from handlers.flows._order_lines import read_line, split_lines
from handlers.registry import build_engine
from handlers.replies import InlineKeyboard
from tests.chat_driver import ChatDriver, Person
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business

SECOND_OWNER = Person(17, "Otto Owner")


# --- helpers ----------------------------------------------------------------------------------


def run(database: FakeDatabase | UnitOfWorkFactory, work: Callable[[UnitOfWork], Any]) -> Any:
    factory = database.uow if isinstance(database, FakeDatabase) else database
    return run_in_transaction(factory, work)


def orders(database: FakeDatabase | UnitOfWorkFactory) -> list[SalesOrder]:
    """All orders, oldest first."""
    return list(reversed(run(database, lambda uow: uow.orders.list(limit=1000))))


def available(database: FakeDatabase, product_id: int, warehouse_id: int) -> Quantity:
    return run(database, lambda uow: uow.stock.get(product_id, warehouse_id).available)


def reserved(database: FakeDatabase, product_id: int, warehouse_id: int) -> Quantity:
    return run(database, lambda uow: uow.stock.get(product_id, warehouse_id).reserved)


def start_order(chat: ChatDriver, person: Person, customer: str = "acme") -> None:
    chat.send(person, "/order")
    chat.send(person, customer)


def order_lines(order: SalesOrder) -> dict[int, Quantity]:
    return {line.product_id: line.quantity for line in order.lines}


def add_second_owner(database: FakeDatabase) -> User:
    return run(
        database,
        lambda uow: add_user(
            uow,
            actor=Actor.system("test"),
            name=SECOND_OWNER.name,
            role=Role.OWNER,
            telegram_user_id=SECOND_OWNER.telegram_id,
        ),
    )


def place_directly(
    database: FakeDatabase, business: Business, lines: dict[int, str], key: str = "seed-1"
) -> SalesOrder:
    return run(
        database,
        lambda uow: place_order(
            uow,
            actor=business.actor("sales"),
            customer_id=business.acme.id,
            lines=[LineRequest(pid, Quantity.of(q)) for pid, q in lines.items()],
            idempotency_key=key,
        ),
    ).order


# --- reading lines (pure) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "name", "quantity"),
    [
        ("10 blue widget", "blue widget", "10"),
        ("widget x10", "widget", "10"),
        ("widget ×10", "widget", "10"),
        ("10x widget", "widget", "10"),
        ("螺丝 20", "螺丝", "20"),
        ("螺丝20个", "螺丝", "20"),
        ("10个螺丝", "螺丝", "10"),
        ("2.5 kg copper wire", "copper wire", "2.5"),
        ("1,5 kg copper wire", "copper wire", "1.5"),
        ("20 luosi", "luosi", "20"),
        ("5 m8 bolt", "m8 bolt", "5"),
        ("widget 10 pcs", "widget", "10"),
        ("１０ widget", "widget", "10"),
        ("10 xl shirt", "xl shirt", "10"),
    ],
)
def test_reading_a_line(typed: str, name: str, quantity: str) -> None:
    line = read_line(typed)
    assert (line.name, line.quantity, line.problem) == (name, Quantity.of(quantity), None)


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("0 widget", "zero"),
        ("-3 widget", "negative"),
        ("widget -3", "negative"),
        ("1e9 widget", "not_a_number"),
        ("NaN widget", "not_a_number"),
        ("widget inf", "not_a_number"),
        ("1000000000 widget", "too_large"),
        ("widget", "no_quantity"),
        ("bolt m8", "no_quantity"),
        ("10", "no_product"),
        ("3 😀", "no_product"),
        ("x" * 5000, "too_long"),
    ],
)
def test_reading_a_bad_line(typed: str, problem: str) -> None:
    assert read_line(typed).problem == problem


def test_splitting_a_message_into_lines() -> None:
    assert split_lines("10 blue widget, 5 m8 bolt;3 luosi\n1,5 kg wire，2 widget、4 bolt") == [
        "10 blue widget",
        "5 m8 bolt",
        "3 luosi",
        "1,5 kg wire",
        "2 widget",
        "4 bolt",
    ]


# --- the happy path ---------------------------------------------------------------------------


def test_happy_path_with_typos(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    sales = business.sales
    chat.send(sales, "/order")
    assert "Which customer?" in chat.last(12).text
    chat.send(sales, "acme tradng")
    assert "Order for <b>ACME Trading</b>" in chat.last(12).text
    chat.send(sales, "10 blu widgt, 5 m8 bolt")
    shown = chat.last(12).text
    assert "✓ 10 pcs Blue widget · CN¥12.50 each · 100 pcs available" in shown
    assert "✓ 5 box M8 hex bolt 40mm · CN¥35.00 each · 20 box available" in shown
    assert "2 lines, CN¥300.00" in shown
    chat.press(sales, "Done")
    review = chat.last(12)
    assert "Blue widget — 10 pcs × CN¥12.50 = CN¥125.00" in review.text
    assert "M8 hex bolt 40mm — 5 box × CN¥35.00 = CN¥175.00" in review.text
    assert "Total: CN¥300.00" in review.text
    assert "within limit" in review.text
    assert review.buttons() == ["✅ Confirm", "✏️ Edit", "✖ Cancel"]
    assert orders(database) == []  # nothing is saved before Confirm
    chat.press(sales, "Confirm")
    assert chat.last(12).text == "✅ SO-000001 placed. Total CN¥300.00."
    [order] = orders(database)
    assert order.status is OrderStatus.CONFIRMED
    assert order_lines(order) == {
        business.widget.id: Quantity.of(10),
        business.bolt.id: Quantity.of(5),
    }
    assert order.created_by == business.users["sales"].id
    assert reserved(database, business.bolt.id, business.main.id) == Quantity.of(5)
    # the warehouse hears about it (no shipping chat chosen: the warehouse staff's chats)
    card = chat.last(business.warehouse.telegram_id)
    assert "SO-000001" in card.text
    assert run(database, lambda uow: uow.sent_messages.for_key(f"ship:{order.id}")) == [
        (business.warehouse.telegram_id, card.message_id)
    ]
    # the conversation is over
    chat.send(sales, "10 widget")
    assert chat.last(12).text == "Type /help to see what you can do."


def test_owner_orders_for_any_customer_and_the_shipping_chat_gets_the_card(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    run(database, lambda uow: uow.chat_topics.set(business.group_id, "shipping", True))
    start_order(chat, business.owner, "恒通")
    chat.send(business.owner, "2 widget")
    chat.press(business.owner, "Done")
    chat.press(business.owner, "Confirm")
    [order] = orders(database)
    assert order.customer_id == business.hengtong.id
    assert "SO-000001" in chat.last(business.group_id).text
    assert chat.messages(business.warehouse.telegram_id) == []
    assert run(database, lambda uow: uow.sent_messages.for_key(f"ship:{order.id}")) == [
        (business.group_id, chat.last(business.group_id).message_id)
    ]


def test_the_shipping_card_comes_from_the_shipping_flow(
    chat: ChatDriver, business: Business
) -> None:
    ready_to_confirm(chat, business)
    chat.press(business.sales, "Confirm")
    assert chat.last(business.warehouse.telegram_id).buttons()  # Ship all / Partial / Problem


def test_order_command_with_the_customer_name(chat: ChatDriver, business: Business) -> None:
    chat.send(business.sales, "/order ACME")
    assert "Order for <b>ACME Trading</b>" in chat.last(12).text


def test_a_shared_contact_picks_the_customer(chat: ChatDriver, business: Business) -> None:
    chat.send(business.sales, "/order")
    chat.share_contact(business.sales, "+8613800138000")  # ACME's phone, written differently
    assert "Order for <b>ACME Trading</b>" in chat.last(12).text
    chat.send(business.sales, "/order")
    chat.share_contact(business.sales, "+862088881234")  # 恒通's: another salesperson's customer
    assert "No customer matches “+862088881234”." in chat.last(12).text


def test_several_lines_per_message(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "widget x10; widget ×5\n2.5 kg copper wire, 5 m8 bolt")
    shown = chat.last(12).text
    assert "15 pcs Blue widget" in shown and "(in total)" in shown
    assert "2.5 kg Copper wire" in shown
    assert "3 lines" in shown
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    assert order_lines(order) == {
        business.widget.id: Quantity.of(15),
        business.wire.id: Quantity.of("2.5"),
        business.bolt.id: Quantity.of(5),
    }


def test_chinese_and_pinyin(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "螺丝 20")
    chat.send(business.sales, "20 luosi，螺丝5个")
    assert "45 box 螺丝 M6 不锈钢" in chat.last(12).text
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    assert order_lines(order) == {business.screw.id: Quantity.of(45)}


def test_ambiguous_product_asks_with_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "widgit 2, 3 bolt")
    assert "✓ 3 box M8 hex bolt 40mm" in chat.messages(12)[-2].text
    question = chat.last(12)
    assert question.text == "Which product is “widgit”? (quantity 2)"
    assert question.buttons() == ["Blue widget · W-BLUE", "Skip this line"]
    chat.send(business.sales, "5 luosi")  # answer the question first
    assert "Please answer the question first" in chat.messages(12)[-2].text
    chat.press(business.sales, "Blue widget · W-BLUE")
    assert "✓ 2 pcs Blue widget" in chat.last(12).text
    chat.send(business.sales, "luosy 4")
    assert chat.last(12).buttons() == [
        "螺丝 M6 不锈钢 · LS-M6",
        "M8 hex bolt 40mm · M8-40",
        "Skip this line",
    ]
    chat.press(business.sales, "Skip this line")
    assert "Skipped “luosy”." in chat.last(12).text
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    assert order_lines(order) == {
        business.widget.id: Quantity.of(2),
        business.bolt.id: Quantity.of(3),
    }


def test_unknown_product_is_reported_and_the_other_lines_kept(
    chat: ChatDriver, business: Business
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "3 xyzzy, 2 widget")
    shown = chat.last(12).text
    assert "✗ “3 xyzzy”: no such product." in shown
    assert "✓ 2 pcs Blue widget" in shown
    assert "1 line, CN¥25.00" in shown


def test_whole_units_only_for_pieces(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "2.5 widget")
    assert "Blue widget is sold in whole pcs" in chat.last(12).text
    assert "no items yet" in chat.last(12).text


@pytest.mark.parametrize(
    ("choice", "expected", "reserved_milli"),
    [
        ("Reduce to 20 box", Quantity.of(20), 20_000),
        ("Backorder the rest", Quantity.of(25), 20_000),
        ("Remove the line", None, 0),
    ],
)
def test_insufficient_stock(
    chat: ChatDriver,
    business: Business,
    database: FakeDatabase,
    choice: str,
    expected: Quantity | None,
    reserved_milli: int,
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "25 bolt, 1 widget")
    question = chat.last(12)
    assert question.text == "⚠️ Only 20 box of M8 hex bolt 40mm available; you asked for 25 box."
    assert question.buttons() == ["Reduce to 20 box", "Backorder the rest", "Remove the line"]
    chat.press(business.sales, choice)
    chat.press(business.sales, "Done")
    if expected is not None and expected > Quantity.of(20):
        assert "(backorder 5 box)" in chat.last(12).text
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    assert order_lines(order).get(business.bolt.id) == expected
    assert reserved(database, business.bolt.id, business.main.id) == Quantity(reserved_milli)
    if expected == Quantity.of(25):
        assert "backorder" in chat.last(12).text


def test_no_stock_at_all_offers_no_reduce(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    place_directly(database, business, {business.bolt.id: "20"})
    start_order(chat, business.sales)
    chat.send(business.sales, "1 bolt")
    assert chat.last(12).buttons() == ["Backorder the rest", "Remove the line"]


def test_adding_more_than_stock_to_an_existing_line_can_keep_it(
    chat: ChatDriver, business: Business
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "15 bolt")
    chat.send(business.sales, "10 bolt")
    assert chat.last(12).buttons() == ["Reduce to 20 box", "Backorder the rest", "Keep 15 box"]
    chat.press(business.sales, "Keep 15 box")
    assert "Kept 15 box M8 hex bolt 40mm." in chat.last(12).text


def test_stock_taken_meanwhile_is_asked_again_at_confirm(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "15 bolt")
    chat.press(business.sales, "Done")
    place_directly(database, business, {business.bolt.id: "12"})  # someone else was faster
    chat.press(business.sales, "Confirm")
    assert "Stock or the catalog changed" in chat.messages(12)[-2].text
    assert "Only 8 box" in chat.last(12).text
    chat.press(business.sales, "Reduce to 8 box")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    assert order_lines(orders(database)[-1]) == {business.bolt.id: Quantity.of(8)}
    assert available(database, business.bolt.id, business.main.id) == Quantity(0)


def test_repeat_last_order(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    place_directly(database, business, {business.widget.id: "3", business.screw.id: "4"})
    start_order(chat, business.sales)
    chat.press(business.sales, "Repeat last order")
    shown = chat.last(12).text
    assert "Repeating SO-000001" in shown
    assert "✓ 3 pcs Blue widget" in shown and "✓ 4 box 螺丝 M6 不锈钢" in shown
    assert "🔁 Repeat last order" not in chat.last(12).buttons()
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    assert "place it again" in chat.last(12).text.lower()  # the duplicate guard
    chat.press(business.sales, "Yes, place it")
    assert order_lines(orders(database)[-1]) == order_lines(orders(database)[0])


def test_no_repeat_button_without_an_earlier_order(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    assert "🔁 Repeat last order" not in chat.last(12).buttons()


def test_edit_removes_a_line_and_adds_more(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget, 5 bolt")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Edit")
    assert chat.last(12).buttons() == [
        "✖ 10 pcs Blue widget",
        "✖ 5 box M8 hex bolt 40mm",
        "✅ Done",
        "✖ Cancel",
    ]
    chat.press(business.sales, "✖ 5 box")
    assert "Removed M8 hex bolt 40mm." in chat.last(12).text
    chat.send(business.sales, "3 luosi")
    chat.press(business.sales, "Done")
    review = chat.last(12).text
    assert "M8 hex bolt" not in review and "螺丝 M6 不锈钢 — 3 box" in review
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    assert order_lines(order) == {
        business.widget.id: Quantity.of(10),
        business.screw.id: Quantity.of(3),
    }


def test_remove_a_line_from_the_lines_prompt(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget")
    chat.press(business.sales, "Remove a line")
    chat.press(business.sales, "✖ 10 pcs")
    assert "no items yet" in chat.last(12).text
    assert "✅ Done" not in chat.last(12).buttons()


def test_typing_on_the_review_card_adds_lines(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget")
    chat.press(business.sales, "Done")
    chat.send(business.sales, "2 bolt")
    assert "2 lines" in chat.last(12).text


# --- duplicates -------------------------------------------------------------------------------


def test_duplicate_guard(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    place_directly(database, business, {business.widget.id: "10", business.bolt.id: "5"})
    clock.advance(minutes=3)
    start_order(chat, business.sales)
    chat.send(business.sales, "5 bolt, 10 widget")  # the same lines in another order
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    assert chat.last(12).text == "This looks like SO-000001 placed 3 minutes ago. Place it again?"
    chat.press(business.sales, "No")
    assert chat.last(12).text == "OK, not placed. Nothing was saved."
    assert len(orders(database)) == 1
    # again, and this time yes
    start_order(chat, business.sales)
    chat.send(business.sales, "5 bolt, 10 widget")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    chat.press(business.sales, "Yes, place it")
    assert chat.last(12).text.startswith("✅ SO-000002 placed")
    assert len(orders(database)) == 2


@pytest.mark.parametrize("text", ["yes", "<b>x</a>", "'); DROP TABLE orders;--", "x" * 5000])
def test_typing_at_the_duplicate_question(
    chat: ChatDriver, business: Business, database: FakeDatabase, text: str
) -> None:
    place_directly(database, business, {business.widget.id: "10"})
    ready_to_confirm(chat, business)
    chat.press(business.sales, "Confirm")
    chat.send(business.sales, text)
    assert chat.last(12).text == "Please use the buttons above, or /cancel."
    assert len(orders(database)) == 1
    chat.press(business.sales, "Yes, place it")
    assert len(orders(database)) == 2


def test_a_cancelled_order_is_not_a_duplicate(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    from domain.services.orders import cancel_order

    order = place_directly(database, business, {business.widget.id: "10"})
    run(
        database,
        lambda uow: cancel_order(uow, actor=business.actor("sales"), order_id=order.id),
    )
    ready_to_confirm(chat, business)
    chat.press(business.sales, "Confirm")
    assert chat.last(12).text.startswith("✅ SO-000002 placed")


def test_different_quantities_or_later_are_not_duplicates(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    place_directly(database, business, {business.widget.id: "10"})
    start_order(chat, business.sales)
    chat.send(business.sales, "11 widget")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    assert chat.last(12).text.startswith("✅ SO-000002 placed")
    clock.advance(minutes=11)
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    assert chat.last(12).text.startswith("✅ SO-000003 placed")


# --- credit limit and approvals ---------------------------------------------------------------


def over_limit_order(chat: ChatDriver, business: Business, factory: UnitOfWorkFactory) -> None:
    """Sue orders 100 widgets (1,250.00) for 恒通 (limit 1,000.00); she reads English here, so
    the test does not depend on the Chinese catalog."""
    sue = business.users["sales2"].id
    run(factory, lambda uow: uow.users.set_language(sue, "en"))
    start_order(chat, business.sales2, "恒通")
    chat.send(business.sales2, "100 widget")
    chat.press(business.sales2, "Done")
    assert "Over the credit limit" in chat.last(13).text
    chat.press(business.sales2, "Confirm")


def test_over_limit_waits_and_the_first_owner_decides(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    add_second_owner(database)
    over_limit_order(chat, business, database.uow)
    assert chat.last(13).text == (
        "⏳ SO-000001 is waiting for an owner's approval (over credit limit). Total CN¥1,250.00."
    )
    [order] = orders(database)
    assert order.status is OrderStatus.PENDING_APPROVAL
    assert reserved(database, business.widget.id, business.main.id) == Quantity.of(100)
    assert chat.messages(business.warehouse.telegram_id) == []  # not before approval
    olga_card, otto_card = chat.last(11), chat.last(17)
    for card in (olga_card, otto_card):
        assert "SO-000001" in card.text and "恒通五金店" in card.text
        assert (
            "over the credit limit of CN¥1,000.00 (owed CN¥0.00, open orders CN¥1,250.00"
            in card.text
        )
        assert card.buttons() == ["✅ Approve", "❌ Reject"]
    approve = olga_card.keyboard.rows[0][0].data  # type: ignore[union-attr]
    chat.press(business.owner, "Approve")
    assert chat.toasts[-1].text == "Approved."
    for card in (olga_card, otto_card):
        assert "✅ Approved by Olga Owner" in card.text
        assert card.buttons() == []
    assert orders(database)[0].status is OrderStatus.CONFIRMED
    assert "SO-000001 (恒通五金店) was approved by Olga Owner" in chat.last(13).text
    assert "SO-000001" in chat.last(business.warehouse.telegram_id).text
    # Otto pressed his copy before the edit reached him
    chat.press_data(SECOND_OWNER, approve, message_id=otto_card.message_id)
    assert chat.toasts[-1].text == "SO-000001 was already approved by Olga Owner."
    assert chat.toasts[-1].alert
    assert len(chat.messages(business.warehouse.telegram_id)) == 1


def test_each_owner_reads_the_card_in_their_language(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    otto = add_second_owner(database)
    run(database, lambda uow: uow.users.set_language(otto.id, "zh_Hans"))
    over_limit_order(chat, business, database.uow)
    assert "CN¥1,250.00" in chat.last(11).text
    assert "¥1,250.00" in chat.last(17).text and "CN¥" not in chat.last(17).text
    chat.press(business.owner, "Approve")
    assert "CN¥" not in chat.last(17).text and "Olga Owner" in chat.last(17).text


def test_overdue_invoices_hold_the_order(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    from domain.services.shipping import ship_order

    shipped = place_directly(database, business, {business.widget.id: "1"})
    warehouse = Actor(business.users["warehouse"].id, Role.WAREHOUSE, "test", "Wang")
    run(database, lambda uow: ship_order(uow, actor=warehouse, order_id=shipped.id))
    clock.advance(days=61)  # 30 days to pay, then 31 days overdue
    ready_to_confirm(chat, business)
    assert "Overdue invoices: an owner must approve this order." in chat.last(12).text
    chat.press(business.sales, "Confirm")
    assert chat.last(12).text == (
        "⏳ SO-000002 is waiting for an owner's approval (overdue invoices). Total CN¥125.00."
    )
    assert "the customer has overdue invoices" in chat.last(11).text


def test_reject_releases_the_stock(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    add_second_owner(database)
    over_limit_order(chat, business, database.uow)
    chat.press(SECOND_OWNER, "Reject")
    [order] = orders(database)
    assert order.status is OrderStatus.CANCELLED
    assert reserved(database, business.widget.id, business.main.id) == Quantity(0)
    assert "❌ Rejected by Otto Owner" in chat.last(11).text
    assert "❌ Rejected by Otto Owner" in chat.last(17).text
    assert "was rejected by Otto Owner" in chat.last(13).text
    assert chat.messages(business.warehouse.telegram_id) == []
    chat.press_data(business.owner, f"appr:{order.id}:y", message_id=chat.last(11).message_id)
    assert chat.toasts[-1].text == "SO-000001 was already rejected by Otto Owner."
    assert orders(database)[0].status is OrderStatus.CANCELLED


@pytest.mark.parametrize("who", ["sales", "sales2", "warehouse", "customer_contact", "stranger"])
def test_only_owners_may_approve(
    chat: ChatDriver, business: Business, database: FakeDatabase, who: str
) -> None:
    over_limit_order(chat, business, database.uow)
    [order] = orders(database)
    person: Person = getattr(business, who)
    chat.press_data(person, f"appr:{order.id}:y", message_id=1)
    assert chat.toasts[-1].alert
    assert orders(database)[0].status is OrderStatus.PENDING_APPROVAL


@pytest.mark.parametrize("data", ["appr:abc:y", "appr:1:x", "appr:1", "appr:1:y:z", "appr::y"])
def test_forged_approval_data_is_expired(
    chat: ChatDriver, business: Business, database: FakeDatabase, data: str
) -> None:
    over_limit_order(chat, business, database.uow)
    chat.press_data(business.owner, data, message_id=1)
    assert chat.toasts[-1].text == "This action has expired."
    assert orders(database)[0].status is OrderStatus.PENDING_APPROVAL


def test_approving_an_order_that_needs_no_approval(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    order = place_directly(database, business, {business.widget.id: "1"})
    chat.press_data(business.owner, f"appr:{order.id}:n", message_id=1)
    assert chat.toasts[-1].alert
    assert orders(database)[0].status is OrderStatus.CONFIRMED
    chat.press_data(business.owner, "appr:999:y", message_id=1)
    assert chat.toasts[-1].text == "Not found."


# --- double taps, redelivery, restart ---------------------------------------------------------


def ready_to_confirm(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget")
    chat.press(business.sales, "Done")


def button_data(message: Any, label: str) -> str:
    """The callback data of ``message``'s button labelled ``label`` (kept for a later tap)."""
    assert isinstance(message.keyboard, InlineKeyboard)
    return next(b.data for row in message.keyboard.rows for b in row if label in b.text)


def test_double_tap_on_confirm_places_one_order(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    ready_to_confirm(chat, business)
    review = chat.last(12)
    confirm = button_data(review, "Confirm")
    # the second tap lands before the first one's edit took the buttons away
    chat.press_data(business.sales, confirm, message_id=review.message_id)
    assert review.keyboard is None  # the card keeps its text, without buttons
    chat.press_data(business.sales, confirm, message_id=review.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert len(orders(database)) == 1
    assert reserved(database, business.widget.id, business.main.id) == Quantity.of(10)
    assert len(chat.messages(business.warehouse.telegram_id)) == 1


def test_redelivered_confirm_places_one_order(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    ready_to_confirm(chat, business)
    chat.press(business.sales, "Confirm")
    shown = len(chat.messages(12))
    assert chat.redeliver(business.sales) == [chat.toasts[-1]]
    assert len(chat.messages(12)) == shown
    assert len(orders(database)) == 1
    assert len(chat.messages(business.warehouse.telegram_id)) == 1


def test_a_replayed_confirm_with_lost_state_places_one_order(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    """Even if the conversation row were lost (an older copy), the draft id keeps one order."""
    ready_to_confirm(chat, business)
    review = chat.last(12)
    confirm = button_data(review, "Confirm")
    before = run(database, lambda uow: uow.conversations.get(12, 12))
    chat.press_data(business.sales, confirm, message_id=review.message_id)
    run(database, lambda uow: uow.conversations.save(before))
    chat.press_data(business.sales, confirm, message_id=review.message_id)
    assert chat.last(12).text == "✅ SO-000001 placed. Total CN¥125.00."
    [order] = orders(database)
    assert order.idempotency_key.startswith("order:")
    assert len(chat.messages(business.warehouse.telegram_id)) == 1
    chat.send(business.sales, "2 widget")
    assert chat.last(12).text == "Type /help to see what you can do."


def test_restart_mid_order_continues(
    sql_chat: tuple[ChatDriver, Business],
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
    settings: EngineSettings,
) -> None:
    from storage.database import Database

    chat, business = sql_chat
    start_order(chat, business.sales)
    chat.send(business.sales, "10 blu widgt, widgit 2")
    # the bot restarts: a new engine (new product index) over the same database
    db = Database(f"sqlite:///{tmp_path / 'chat.db'}", clock=clock, policy=policy)
    restarted = ChatDriver(
        build_engine(db.uow, settings),
        group_ids=chat.group_ids,
        chats=chat.chats,
        toasts=chat.toasts,
        _update_ids=chat._update_ids,
        _message_ids=chat._message_ids,
    )
    restarted.press(business.sales, "Blue widget · W-BLUE")
    assert "12 pcs Blue widget" in restarted.last(12).text
    restarted.send(business.sales, "5 bolt")
    restarted.press(business.sales, "Done")
    restarted.press(business.sales, "Confirm")
    assert restarted.last(12).text == "✅ SO-000001 placed. Total CN¥325.00."
    [order] = orders(db.uow)
    assert order_lines(order) == {
        business.widget.id: Quantity.of(12),
        business.bolt.id: Quantity.of(5),
    }
    db.dispose()


def test_over_limit_approval_on_sqlite(
    sql_chat: tuple[ChatDriver, Business],
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> None:
    from storage.database import Database

    chat, business = sql_chat
    db = Database(f"sqlite:///{tmp_path / 'chat.db'}", clock=clock, policy=policy)
    over_limit_order(chat, business, db.uow)
    assert "waiting for an owner's approval" in chat.last(13).text
    chat.press(business.owner, "Approve")
    assert "✅ Approved by Olga Owner" in chat.last(11).text
    assert "was approved by Olga Owner" in chat.last(13).text
    assert "SO-000001" in chat.last(business.warehouse.telegram_id).text
    [order] = orders(db.uow)
    assert order.status is OrderStatus.CONFIRMED
    assert run(db.uow, lambda uow: uow.sent_messages.for_key(f"appr:{order.id}")) == [
        (11, chat.last(11).message_id)
    ]
    db.dispose()


# --- leaving, stale buttons, roles ------------------------------------------------------------


def test_cancel_mid_order(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget")
    chat.send(business.sales, "/cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    chat.send(business.sales, "5 widget")
    assert chat.last(12).text == "Type /help to see what you can do."
    ready_to_confirm(chat, business)
    chat.press(business.sales, "Cancel")
    assert chat.last(12).text == "Cancelled. Nothing was saved."
    assert orders(database) == []
    assert reserved(database, business.widget.id, business.main.id) == Quantity(0)


def test_stale_button(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "10 widget")
    old = chat.last(12)
    chat.send(business.sales, "2 bolt")  # the conversation moved on
    chat.press(business.sales, "Done", message=old)
    assert chat.toasts[-1].text == "This action has expired."
    ready_to_confirm(chat, business)
    review = chat.last(12)
    chat.send(business.sales, "/cancel")
    chat.press(business.sales, "Confirm", message=review)
    assert chat.toasts[-1].text == "This action has expired."
    assert "finished conversation" in chat.last(12).text
    assert orders(database) == []


def test_forged_conversation_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "widgit 2")
    question = chat.last(12)
    version = question.keyboard.rows[0][0].data.split(":")[1]  # type: ignore[union-attr]
    for data in (
        f"c:{version}:pick:9",
        f"c:{version}:rm:0",
        f"c:{version}:confirm",
        f"c:{version}:zzz",
    ):
        chat.press_data(business.sales, data, message_id=question.message_id)
        assert chat.toasts[-1].text == "This action has expired."
    # another salesperson's customer, forged into a customer button
    chat.send(business.sales, "/order")
    chat.send(business.sales, "a")
    prompt = chat.last(12)
    version = prompt.keyboard.rows[0][0].data.split(":")[1]  # type: ignore[union-attr]
    chat.press_data(
        business.sales, f"c:{version}:cust:{business.hengtong.id}", message_id=prompt.message_id
    )
    assert "That customer cannot be chosen." in chat.last(12).text
    assert orders(database) == []


@pytest.mark.parametrize("who", ["warehouse", "customer_contact"])
def test_warehouse_and_customers_cannot_order(
    chat: ChatDriver, business: Business, who: str
) -> None:
    person: Person = getattr(business, who)
    chat.send(person, "/order")
    assert "not available to you" in chat.last(person.telegram_id).text


def test_strangers_cannot_order(chat: ChatDriver, business: Business) -> None:
    chat.send(business.stranger, "/order")
    assert "ask your administrator" in chat.last(16).text


def test_not_in_groups(chat: ChatDriver, business: Business) -> None:
    chat.send(business.sales, "/order@chaterp_bot", chat=business.group_id)
    assert "not available to you" in chat.last(business.group_id).text


def test_salesperson_sees_only_own_and_unassigned_customers(
    chat: ChatDriver, business: Business
) -> None:
    start_order(chat, business.sales, "恒通五金店")
    assert "No customer matches “恒通五金店”" in chat.last(12).text
    start_order(chat, business.sales2, "acme")  # Sue reads Chinese
    assert "没有与“acme”匹配的客户" in chat.last(13).text


# --- a new customer in the middle of an order -------------------------------------------------


def test_new_customer_from_the_order_returns_to_it(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    start_order(chat, business.sales, "Kim Hardware")
    assert "No customer matches “Kim Hardware”" in chat.last(12).text
    chat.press(business.sales, "New customer")
    assert "What is the customer's name?" in chat.last(12).text
    chat.press(business.sales, "Use “Kim Hardware”")
    chat.send(business.sales, "Skip")
    chat.press(business.sales, "Skip")
    chat.press(business.sales, "No limit")
    chat.press(business.sales, "days (default)")
    chat.press(business.sales, "Save")
    assert chat.messages(12)[-2].text == "✅ Saved customer Kim Hardware."
    assert "Order for <b>Kim Hardware</b>" in chat.last(12).text
    chat.send(business.sales, "4 widget")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    customer = run(database, lambda uow: uow.customers.get(order.customer_id))
    assert customer.name == "Kim Hardware"
    assert customer.sales_rep_id == business.users["sales"].id


def test_new_customer_cancelled_goes_back_to_choosing(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales, "Kim")
    chat.press(business.sales, "New customer")
    chat.send(business.sales, "Kim Hardware")
    chat.send(business.sales, "13900001111")
    chat.press(business.sales, "Skip")
    chat.press(business.sales, "No limit")
    chat.press(business.sales, "days (default)")
    chat.press(business.sales, "Cancel")
    assert "Which customer?" in chat.last(12).text
    chat.send(business.sales, "acme")
    assert "Order for <b>ACME Trading</b>" in chat.last(12).text


def test_existing_customer_chosen_in_the_customer_flow_returns_to_the_order(
    chat: ChatDriver, business: Business
) -> None:
    start_order(chat, business.sales, "Kim")
    chat.press(business.sales, "New customer")
    chat.send(business.sales, "ACME Tradng")
    chat.press(business.sales, "Use ACME Trading")
    assert "Order for <b>ACME Trading</b>" in chat.last(12).text


# --- bad input at every prompt ----------------------------------------------------------------

BAD_TEXTS = [
    "0 widget",
    "-3 widget",
    "1e9 widget",
    "NaN widget",
    "1000000000 widget",
    "widget",
    "x" * 5000,
    "<b>x</a> 5",
    "_a_ 5",
    "😀😀 3",
    "'); DROP TABLE orders;--",
]


@pytest.mark.parametrize("text", BAD_TEXTS)
def test_bad_lines_change_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase, text: str
) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, text)
    shown = "\n".join(chat.texts(12)[-2:])
    assert "✗" in shown or "too long" in shown
    assert "no items yet" in shown
    assert "<b>x</a>" not in shown
    chat.send(business.sales, "1 widget")
    chat.press(business.sales, "Done")
    chat.press(business.sales, "Confirm")
    [order] = orders(database)
    assert order_lines(order) == {business.widget.id: Quantity.of(1)}


def test_bad_quantities_say_why(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(
        business.sales, "0 widget\n-3 widget\n1e9 widget\nNaN widget\n1000000000 widget\nwidget"
    )
    shown = chat.last(12).text
    assert "“0 widget”: It must be more than zero." in shown
    assert "“-3 widget”: It cannot be negative." in shown
    assert "“1e9 widget”: That is not a number." in shown
    assert "“NaN widget”: That is not a number." in shown
    assert "“1000000000 widget”: That is too large." in shown
    assert "“widget”: how many?" in shown


def test_html_is_escaped_in_replies(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "<b>x</a> 5")
    assert "&lt;b&gt;x&lt;/a&gt;" in chat.last(12).text


def test_too_many_lines_in_one_message(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, ", ".join(["1 widget"] * 31))
    assert "Send at most 30 lines at a time" in chat.messages(12)[-2].text
    assert "no items yet" in chat.last(12).text


@pytest.mark.parametrize("text", ["x" * 5000, "<b>x</a>", "_a_", "😀", "'); DROP TABLE orders;--"])
def test_bad_customer_search(chat: ChatDriver, business: Business, text: str) -> None:
    start_order(chat, business.sales, text)
    shown = chat.last(12).text
    assert "Which customer?" in shown
    assert "<b>x</a>" not in shown
    chat.send(business.sales, "acme")
    assert "Order for <b>ACME Trading</b>" in chat.last(12).text


def test_buttons_fit_in_callback_data(chat: ChatDriver, business: Business) -> None:
    start_order(chat, business.sales)
    chat.send(business.sales, "25 bolt")
    for shown in chat.messages(12):
        keyboard = shown.keyboard
        for row in getattr(keyboard, "rows", ()):
            for button in row:
                if not isinstance(button, str):
                    assert len(button.data.encode()) <= 64


def test_customers_are_asked_again_when_ambiguous(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    from domain.services.customers import CustomerDraft, create_customer

    for name in ("ACME Tools", "ACME Foods"):
        run(
            database,
            lambda uow, n=name: create_customer(
                uow, actor=business.actor("sales"), draft=CustomerDraft(name=n), allow_similar=True
            ),
        )
    start_order(chat, business.sales, "acme")
    assert chat.last(12).text == "Which customer do you mean by “acme”?"
    assert {"ACME Trading", "ACME Tools", "ACME Foods"} <= set(chat.last(12).buttons())
    chat.press(business.sales, "ACME Foods")
    assert "Order for <b>ACME Foods</b>" in chat.last(12).text
