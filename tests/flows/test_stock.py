"""/stock: per-warehouse stock of a product found by fuzzy name; alone, what is running low."""

from __future__ import annotations

from domain.model import Role
from domain.money import Money
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, save_product
from domain.services.stock import receive_stock
from domain.transaction import run_in_transaction
from tests.chat_driver import ChatDriver
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business
from tests.flows.test_shipping import BAD_QUANTITIES, place


def add_product(
    database: FakeDatabase, business: Business, sku: str, name: str, point: str, qty: str = "0"
) -> None:
    draft = ProductDraft(
        sku=sku,
        name=name,
        unit="pcs",
        price=Money(100, "CNY"),
        cost=Money(50, "CNY"),
        reorder_point=Quantity.of(point),
        reorder_qty=Quantity.of(qty),
    )
    run_in_transaction(
        database, lambda uow: save_product(uow, actor=business.actor("owner"), draft=draft)
    )


def test_stock_of_one_product_per_warehouse(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    place(database, business, (business.bolt, "5"))
    chat.send(business.sales, "/stock M8-40")
    assert chat.last(business.sales.telegram_id).text.splitlines() == [
        "📦 <b>M8 hex bolt 40mm</b> · M8-40 · box",
        "MAIN: on hand 20 · reserved 5 · available 15",
        "SOUTH: on hand 0 · reserved 0 · available 0",
        "All warehouses: on hand 20 · available 15",
        "Reorder point: 25 box",
        # Back to the reorder point plus the reorder quantity: 25 + 100 - 15.
        "⚠️ At or under the reorder point: order 110 box.",
    ]
    chat.send(business.warehouse, "/stock copper wir")
    assert chat.last(business.warehouse.telegram_id).text.splitlines() == [
        "📦 <b>Copper wire</b> · W-2.5 · kg",
        "MAIN: on hand 30.5 · reserved 0 · available 30.5",
        "SOUTH: on hand 0 · reserved 0 · available 0",
        "All warehouses: on hand 30.5 · available 30.5",
        "No reorder point set.",
    ]


def test_typos_chinese_and_pinyin_find_the_product(chat: ChatDriver, business: Business) -> None:
    me = business.owner.telegram_id
    for query, header in [
        ("blu widgt", "📦 <b>Blue widget</b> · W-BLUE · pcs"),
        ("螺丝", "📦 <b>螺丝 M6 不锈钢</b> · LS-M6 · box"),
        ("luosi", "📦 <b>螺丝 M6 不锈钢</b> · LS-M6 · box"),
        ("六角螺栓", "📦 <b>M8 hex bolt 40mm</b> · M8-40 · box"),
        ("m8 bolt", "📦 <b>M8 hex bolt 40mm</b> · M8-40 · box"),
    ]:
        chat.send(business.owner, f"/stock {query}")
        assert chat.last(me).text.splitlines()[0] == header, query


def test_ambiguous_names_come_back_as_buttons(chat: ChatDriver, business: Business) -> None:
    me = business.sales.telegram_id
    chat.send(business.sales, "/stock wi")
    question = chat.last(me)
    assert question.text == "Which product do you mean?"
    assert sorted(question.buttons()) == ["Blue widget · W-BLUE", "Copper wire · W-2.5"]
    chat.press(business.sales, "Copper wire")
    assert chat.last(me).text.startswith("📦 <b>Copper wire</b>")
    # Pressed again later (read-only): shows the stock again, now.
    chat.press(business.sales, "Blue widget", message=question)
    assert chat.last(me).text.startswith("📦 <b>Blue widget</b>")
    # Typing another name instead of pressing searches again.
    chat.send(business.sales, "/stock wi")
    chat.send(business.sales, "bolt")
    assert chat.last(me).text.startswith("📦 <b>M8 hex bolt 40mm</b>")
    chat.send(business.sales, "hello")
    assert chat.last(me).text == "Type /help to see what you can do."


def test_bad_input_says_why(chat: ChatDriver, business: Business) -> None:
    me = business.warehouse.telegram_id
    for text in BAD_QUANTITIES:
        chat.send(business.warehouse, f"/stock {text}")
        reply = chat.last(me).text
        if len(text) > 100:
            assert reply == "That is too long. Type part of a product name or its SKU."
        else:
            assert reply.startswith("No product matches “"), text
            assert "<b>x" not in reply
    chat.send(business.warehouse, "/stock <b>x</a>")
    assert chat.last(me).text == (
        "No product matches “&lt;b&gt;x&lt;/a&gt;”. Try part of the name or the SKU."
    )
    chat.send(business.warehouse, "/stock wi")
    chat.send(business.warehouse, "   ")
    assert chat.last(me).text == "Type part of a product name or its SKU, e.g. /stock bolt."


def test_stock_alone_lists_what_is_at_or_under_the_reorder_point(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.warehouse.telegram_id
    add_product(database, business, "H-1", "Hinge <brass>", "10", "50")
    add_product(database, business, "C-1", "Clip", "5", "0")
    chat.send(business.warehouse, "/stock")
    assert chat.last(me).text.splitlines() == [
        "⚠️ 3 products at or under their reorder point:",
        # No reorder quantity: one unit above the point, so it is no longer low.
        "• <b>Clip</b> (C-1): available 0 pcs · reorder point 5 → order 6 pcs",
        "• <b>Hinge &lt;brass&gt;</b> (H-1): available 0 pcs · reorder point 10 → order 60 pcs",
        "• <b>M8 hex bolt 40mm</b> (M8-40): available 20 box · reorder point 25 → order 105 box",
    ]

    # Exactly at the point counts; above it does not.
    def receive(product_id: int, amount: str) -> None:
        run_in_transaction(
            database,
            lambda uow: receive_stock(
                uow,
                actor=business.actor("warehouse"),
                product_id=product_id,
                quantity=Quantity.of(amount),
                unit_cost=Money(50, "CNY"),
            ),
        )

    receive(business.bolt.id, "5")
    with database.uow() as uow:
        clip = uow.products.by_sku("C-1")
        hinge = uow.products.by_sku("H-1")
    assert clip is not None and hinge is not None
    receive(clip.id, "6")
    receive(hinge.id, "11")
    chat.send(business.warehouse, "/stock")
    assert chat.last(me).text.splitlines() == [
        "⚠️ 1 product at or under its reorder point:",
        "• <b>M8 hex bolt 40mm</b> (M8-40): available 25 box · reorder point 25 → order 100 box",
    ]
    # Reserving stock counts: available, not on hand.
    receive(business.bolt.id, "1")
    chat.send(business.warehouse, "/stock")
    assert chat.last(me).text == "No product is at or under its reorder point. 👍"
    place(database, business, (business.bolt, "1"))
    chat.send(business.warehouse, "/stock")
    assert "M8 hex bolt 40mm" in chat.last(me).text


def test_long_low_stock_lists_are_split(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    for number in range(120):
        add_product(
            database,
            business,
            f"LONG-{number:03d}",
            f"Long named spare part {number:03d} " * 2,
            "1",
        )
    me = business.owner.telegram_id
    chat.send(business.owner, "/stock")
    messages = chat.messages(me)
    assert len(messages) >= 2
    assert all(len(m.text) <= 4096 for m in messages)
    joined = "\n".join(m.text for m in messages)
    assert joined.count("LONG-") == 120
    assert messages[0].text.startswith("⚠️ 121 products at or under their reorder point:")


def test_roles_and_groups(chat: ChatDriver, business: Business, database: FakeDatabase) -> None:
    group = business.group_id
    chat.send(business.customer_contact, "/stock bolt")
    assert chat.last(business.customer_contact.telegram_id).text.startswith(
        "This command is not available"
    )
    chat.send(business.stranger, "/stock bolt")
    assert chat.last(business.stranger.telegram_id).text.startswith("Hello! To use this bot")
    chat.send(business.sales, "/stock@chaterp_bot wi", chat=group)
    question = chat.last(group)
    assert question.text == "Which product do you mean?"
    # Anyone on the staff may press in the group; a customer may not.
    chat.press(business.warehouse, "Copper wire", chat=group, message=question)
    assert chat.last(group).text.startswith("📦 <b>Copper wire</b>")
    before = len(chat.messages(group))
    chat.press(business.customer_contact, "Copper wire", chat=group, message=question)
    assert chat.toasts[-1].text == "Your role does not allow this."
    assert len(chat.messages(group)) == before
    # Chat in the group after an ambiguous /stock is left alone.
    chat.send(business.sales, "/stock@chaterp_bot wi", chat=group)
    before = len(chat.messages(group))
    chat.send(business.sales, "lunch?", chat=group)
    assert len(chat.messages(group)) == before
    # A product taken out of the catalog: its old button is expired.
    with database.uow() as uow:
        uow.products.update(business.wire.id, active=False, updated_at=uow.clock.now())
        uow.commit()
    chat.press(business.warehouse, "Copper wire", chat=group, message=question)
    assert chat.toasts[-1].text == "This action has expired."
    assert business.users["sales"].role is Role.SALES


def test_backorders_count_against_the_reorder_point(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    me = business.warehouse.telegram_id
    # 30 ordered with 20 in stock: 20 reserved, 10 waiting for stock.
    place(database, business, (business.bolt, "30"), backorder=True)
    chat.send(business.warehouse, "/stock M8-40")
    assert chat.last(me).text.splitlines()[-4:] == [
        "All warehouses: on hand 20 · available 0",
        "Backordered (waiting for stock): 10 box",
        "Reorder point: 25 box",
        # 25 + 100 - (0 - 10)
        "⚠️ At or under the reorder point: order 135 box.",
    ]
    chat.send(business.warehouse, "/stock")
    assert chat.last(me).text.splitlines()[1] == (
        "• <b>M8 hex bolt 40mm</b> (M8-40): available 0 box · backordered 10 box"
        " · reorder point 25 → order 135 box"
    )
    # A product nobody set a reorder point for is low only while customers wait for it.
    place(database, business, (business.wire, "40"), backorder=True)
    chat.send(business.warehouse, "/stock copper wire")
    assert chat.last(me).text.splitlines()[-3:] == [
        "Backordered (waiting for stock): 9.5 kg",
        "No reorder point set.",
        "⚠️ Orders are waiting for stock: order 10 kg.",
    ]
