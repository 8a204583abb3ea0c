"""/receive: product → quantity → unit cost → warehouse → confirm; stock moves only at Confirm."""

from __future__ import annotations

from domain.model import MoveKind
from handlers.replies import InlineKeyboard
from tests.chat_driver import ChatDriver, Shown
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business
from tests.flows.test_shipping import BAD_QUANTITIES, on_hand, read, said


def receipts(database: FakeDatabase) -> int:
    moves = read(database, lambda uow: uow.stock.moves())
    return sum(1 for move in moves if move.kind is MoveKind.RECEIPT)


def cost_of(database: FakeDatabase, product_id: int) -> int:
    product = read(database, lambda uow: uow.products.get(product_id))
    assert product is not None
    return product.cost.minor


def data_of(message: Shown, label: str) -> str:
    assert isinstance(message.keyboard, InlineKeyboard)
    return next(b.data for row in message.keyboard.rows for b in row if label in b.text)


def test_receive_happy_path(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    me = business.warehouse.telegram_id
    seeded = receipts(database)
    chat.send(business.warehouse, "/receive")
    assert chat.last(me).text == "Which product came in? Type part of its name or its SKU."
    chat.send(business.warehouse, "m8 bolt")
    assert chat.last(me).text == "How many box of <b>M8 hex bolt 40mm</b> came in?"
    chat.send(business.warehouse, "20")
    assert chat.last(me).text == "Unit cost per box? Type an amount."
    assert chat.last(me).buttons() == ["Current cost CN¥20.00", "Cancel"]
    chat.send(business.warehouse, "¥23")
    assert chat.last(me).text == "Into which warehouse?"
    assert chat.last(me).buttons() == ["MAIN · Main warehouse", "SOUTH · South depot", "Cancel"]
    chat.press(business.warehouse, "MAIN")
    summary = chat.last(me)
    assert summary.text == (
        "Receive 20 box <b>M8 hex bolt 40mm</b> into MAIN at CN¥23.00 each (CN¥460.00)?"
    )
    assert receipts(database) == seeded  # nothing before Confirm
    chat.press(business.warehouse, "Confirm", message=summary)
    assert summary.text == (
        "✅ Received 20 box M8 hex bolt 40mm into MAIN; on hand now 40; cost now CN¥21.50"
    )
    assert summary.buttons() == []
    assert on_hand(database, business.bolt.id, business.main.id) == ("40", "0")
    assert cost_of(database, business.bolt.id) == 2150
    assert receipts(database) == seeded + 1
    entries = read(database, lambda uow: uow.audit.list(object_type="product"))
    assert entries[-1].action == "stock.receive"
    assert entries[-1].actor_id == business.users["warehouse"].id


def test_current_cost_button_other_warehouse_and_decimals(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.owner.telegram_id
    chat.send(business.owner, "/receive copper")  # the product can come with the command
    assert chat.last(me).text == "How many kg of <b>Copper wire</b> came in?"
    chat.send(business.owner, "12.345")
    chat.press(business.owner, "Current cost")
    chat.send(business.owner, "south")  # typing the code works too
    assert chat.last(me).text == (
        "Receive 12.345 kg <b>Copper wire</b> into SOUTH at CN¥50.00 each (CN¥617.25)?"
    )
    chat.press(business.owner, "Confirm")
    assert chat.last(me).text == (
        "✅ Received 12.345 kg Copper wire into SOUTH; on hand now 12.345; cost now CN¥50.00"
    )
    assert on_hand(database, business.wire.id, business.south.id) == ("12.345", "0")
    assert on_hand(database, business.wire.id, business.main.id) == ("30.5", "0")


def test_bad_input_at_every_prompt(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.warehouse.telegram_id
    seeded = receipts(database)

    def answer(text: str) -> str:
        chat.send(business.warehouse, text)
        return chat.last(me).text

    chat.send(business.warehouse, "/receive")
    # product
    assert answer(" ").startswith("Nothing was entered.\nWhich product came in?")
    assert answer("y" * 5000).startswith("That is too long.\nWhich product came in?")
    for text in ("xyzzy", "<b>x</a>", "'); DROP TABLE orders;--", "🙂", "_a_"):
        reply = answer(text)
        assert reply.startswith("No product matches “"), text
        assert reply.endswith("Which product came in? Type part of its name or its SKU.")
    assert "&lt;b&gt;x&lt;/a&gt;" in chat.texts(me)[-4]
    assert answer("bolt").startswith("How many box")
    # quantity
    for text in [*BAD_QUANTITIES, "0", "2.5", "1000001"]:
        reply = answer(text)
        assert reply.endswith("How many box of <b>M8 hex bolt 40mm</b> came in?"), text
        assert reply.splitlines()[0] in {
            "It cannot be negative.",
            "That is not a number.",
            "That is too long.",
            "It must be more than zero.",
            "That has too many decimals. box is counted in whole numbers.",
            "That is too large.",
        }, text
    assert answer("20").startswith("Unit cost per box?")
    # unit cost
    for text in [*BAD_QUANTITIES, "0", "1.234", "200000000"]:
        reply = answer(text)
        assert reply.endswith("Unit cost per box? Type an amount."), text
        assert reply.splitlines()[0] in {
            "It cannot be negative.",
            "That is not a number.",
            "That is too long.",
            "It must be more than zero.",
            "That has too many decimals.",
            "That is too large.",
        }, text
    assert answer("21.5") == "Into which warehouse?"
    # warehouse
    for text in ("north", "<b>x</a>", "x" * 5000):
        assert answer(text) == "Please choose a warehouse with the buttons.\nInto which warehouse?"
    assert answer("Main warehouse").startswith("Receive 20 box")
    # confirm
    assert answer("yes").startswith("Please use the buttons: Confirm or Cancel.\nReceive 20 box")
    assert receipts(database) == seeded
    chat.press(business.warehouse, "Confirm")
    assert chat.last(me).text.startswith("✅ Received 20 box M8 hex bolt 40mm into MAIN")
    assert receipts(database) == seeded + 1


def test_double_tap_on_confirm_receives_once(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.warehouse.telegram_id
    chat.send(business.warehouse, "/receive widget")
    chat.send(business.warehouse, "5")
    chat.send(business.warehouse, "8")
    chat.press(business.warehouse, "MAIN")
    summary = chat.last(me)
    data = data_of(summary, "Confirm")
    chat.press_data(business.warehouse, data, message_id=summary.message_id)
    chat.press_data(business.warehouse, data, message_id=summary.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert on_hand(database, business.widget.id, business.main.id) == ("105", "0")


def test_redelivered_confirm_is_ignored(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.warehouse, "/receive widget")
    chat.send(business.warehouse, "5")
    chat.send(business.warehouse, "8")
    chat.press(business.warehouse, "MAIN")
    chat.press(business.warehouse, "Confirm")
    before = len(chat.messages(business.warehouse.telegram_id))
    replies = chat.redeliver(business.warehouse)
    assert [getattr(r, "text", None) for r in replies] == [""]
    assert len(chat.messages(business.warehouse.telegram_id)) == before
    assert on_hand(database, business.widget.id, business.main.id) == ("105", "0")


def test_ambiguous_product_cancel_and_stale_buttons(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.warehouse.telegram_id
    seeded = receipts(database)
    chat.send(business.warehouse, "/receive wi")
    question = chat.last(me)
    assert question.text == "Which product do you mean? Or type another name."
    assert sorted(question.buttons()) == ["Blue widget · W-BLUE", "Cancel", "Copper wire · W-2.5"]
    # Forged: a product that was not offered.
    version = data_of(question, "Copper").split(":")[1]
    chat.press_data(
        business.warehouse, f"c:{version}:prod:{business.bolt.id}", message_id=question.message_id
    )
    assert chat.toasts[-1].text == "This action has expired."
    chat.press(business.warehouse, "Copper wire", message=question)
    assert chat.last(me).text == "How many kg of <b>Copper wire</b> came in?"
    chat.press(business.warehouse, "Blue widget", message=question)  # the old question
    assert chat.toasts[-1].text == "This action has expired."
    chat.send(business.warehouse, "3")
    chat.send(business.warehouse, "/cancel")
    assert chat.last(me).text == "Cancelled. Nothing was saved."
    chat.send(business.warehouse, "60")  # no longer in a conversation
    assert chat.last(me).text == "Type /help to see what you can do."
    chat.press(business.warehouse, "Current cost")
    assert chat.toasts[-1].text == "This action has expired."
    # The Cancel button leaves as well.
    chat.send(business.warehouse, "/receive bolt")
    chat.press(business.warehouse, "Cancel")
    assert chat.last(me).text == "Cancelled. Nothing was saved."
    assert receipts(database) == seeded


def test_only_owner_and_warehouse_receive_in_private(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    refused = "This command is not available to you. Type /help to see what you can do."
    for person in (business.sales, business.sales2, business.customer_contact):
        chat.send(person, "/receive bolt")
        assert chat.last(person.telegram_id).text == said(person, refused)
    chat.send(business.warehouse, "/receive@chaterp_bot bolt", chat=business.group_id)
    assert chat.last(business.group_id).text.startswith("This command is not available")
    chat.send(business.stranger, "/receive")
    assert chat.last(business.stranger.telegram_id).text.startswith("Hello! To use this bot")
    assert on_hand(database, business.bolt.id, business.main.id) == ("20", "0")
