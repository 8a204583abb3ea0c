"""/orders: per-role lists, 8 per page, with ◀ ▶ card buttons re-checked on every press."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain.model import Actor, Role
from domain.quantity import Quantity
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from tests.chat_driver import ChatDriver, Person, Shown
from tests.conftest import TZ
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business
from tests.flows.test_payment import button_data, place, ship


def order_lines(shown: Shown) -> list[str]:
    return [line for line in shown.text.splitlines() if line.startswith("SO-")]


@pytest.fixture
def twenty(database: FakeDatabase, business: Business) -> None:
    """20 ACME orders by the salesperson (SO-000001 … SO-000020), one widget each."""
    for _ in range(20):
        place(database, business, business.acme.id, [(business.widget.id, "1")])


def test_salesperson_pages_through_twenty_orders(
    chat: ChatDriver, business: Business, twenty: None
) -> None:
    chat.send(business.sales, "/orders")
    listing = chat.last(12)
    assert listing.text.splitlines()[0] == "<b>Your recent orders</b> (20)"
    assert order_lines(listing)[0] == (
        "SO-000020 · Mar 2, 2026 · ACME Trading · confirmed · CN¥12.50"
    )
    assert [line[:9] for line in order_lines(listing)] == [f"SO-{n:06d}" for n in range(20, 12, -1)]
    assert listing.text.endswith("Page 1 of 3")
    assert listing.buttons() == ["▶"]
    chat.press(business.sales, "▶", message=listing)
    assert [line[:9] for line in order_lines(listing)] == [f"SO-{n:06d}" for n in range(12, 4, -1)]
    assert listing.buttons() == ["◀", "▶"]
    chat.press(business.sales, "▶", message=listing)
    assert [line[:9] for line in order_lines(listing)] == [f"SO-{n:06d}" for n in range(4, 0, -1)]
    assert listing.text.endswith("Page 3 of 3")
    assert listing.buttons() == ["◀"]
    chat.press(business.sales, "◀", message=listing)
    assert listing.text.endswith("Page 2 of 3")
    assert len(chat.messages(12)) == 1  # pages are edits of the same message


@pytest.mark.parametrize(
    ("data", "page"),
    [("pg:s:999999", "Page 3 of 3"), ("pg:s:2", "Page 3 of 3"), ("pg:s:0", "Page 1 of 3")],
)
def test_out_of_range_page_shows_the_nearest(
    chat: ChatDriver, business: Business, twenty: None, data: str, page: str
) -> None:
    chat.send(business.sales, "/orders")
    listing = chat.last(12)
    chat.press_data(business.sales, data, message_id=listing.message_id)
    assert listing.text.endswith(page)


@pytest.mark.parametrize(
    "data",
    [
        "pg:s:-1",
        "pg:s:abc",
        "pg:s:1234567",
        "pg:s",
        "pg:s:1:2",
        "pg:c:1",  # another role's list
        "pg:w:1",
        "pg:o:1",
        "pg:<b>:1",
        "pg:s:1;DROP",
    ],
)
def test_forged_page_data_is_refused(
    chat: ChatDriver, business: Business, twenty: None, data: str
) -> None:
    chat.send(business.sales, "/orders")
    listing = chat.last(12)
    before = listing.text
    chat.press_data(business.sales, data, message_id=listing.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert listing.text == before and listing.edits == 0


def test_customer_page_buttons_show_only_their_orders(
    chat: ChatDriver, business: Business, database: FakeDatabase, twenty: None
) -> None:
    for _ in range(3):
        place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales2")
    mary = business.customer_contact
    chat.send(mary, "/orders")
    listing = chat.last(15)
    assert listing.text.splitlines()[0] == "<b>Your orders</b> (20)"
    assert order_lines(listing)[0] == "SO-000020 · Mar 2, 2026 · confirmed · CN¥12.50"
    # A salesperson's page data pressed by the customer is refused, not shown.
    chat.press_data(mary, "pg:s:0", message_id=listing.message_id)
    assert chat.toasts[-1].text == "This action has expired."
    for page in ("1", "2", "99"):
        chat.press_data(mary, f"pg:c:{page}", message_id=listing.message_id)
        assert "ACME" not in listing.text  # customers do not see a customer column
        assert all(int(line[3:9]) <= 20 for line in order_lines(listing))  # 恒通's are 21–23


def test_page_button_in_a_group_is_refused(
    chat: ChatDriver, business: Business, twenty: None
) -> None:
    chat.send(business.sales, "/orders")
    chat.press_data(business.warehouse, "pg:w:0", message_id=1, chat=business.group_id)
    assert chat.toasts[-1].text == "This action has expired."
    assert chat.messages(business.group_id) == []


def test_page_buttons_follow_the_current_role(
    chat: ChatDriver, business: Business, database: FakeDatabase, twenty: None
) -> None:
    chat.send(business.sales, "/orders")
    listing = chat.last(12)
    run_in_transaction(
        database.uow,
        lambda uow: uow.users.update_role(business.users["sales"].id, Role.WAREHOUSE, None),
    )
    chat.press(business.sales, "▶", message=listing)
    assert chat.toasts[-1].text == "This action has expired."
    assert listing.text.endswith("Page 1 of 3")
    run_in_transaction(
        database.uow, lambda uow: uow.users.set_active(business.users["sales"].id, False)
    )
    chat.press(business.sales, "▶", message=listing)
    assert "invite link" in chat.toasts[-1].text
    assert listing.edits == 0


def test_salesperson_sees_only_their_own_orders(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    place(database, business, business.acme.id, [(business.widget.id, "1")])  # SO-000001
    place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales2")
    # The owner orders for ACME (Sam's customer): it is Sam's as sales rep.
    place(database, business, business.acme.id, [(business.screw.id, "1")], by="owner")
    chat.send(business.sales, "/orders")
    assert [line[:9] for line in order_lines(chat.last(12))] == ["SO-000003", "SO-000001"]
    chat.send(business.sales2, "/orders")
    assert [line[:9] for line in order_lines(chat.last(13))] == ["SO-000002"]
    # Orders older than 90 days are not "recent".
    clock.advance(days=91)
    chat.send(business.sales, "/orders")
    assert chat.last(12).text == "You have no orders in the last 90 days."


def test_salesperson_sees_orders_they_created_for_others(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    # Sam covers for Sue and orders for 恒通 (Sue's customer): created by Sam, Sue's as rep.
    place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales")
    place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales2")
    chat.send(business.sales, "/orders")
    assert [line[:9] for line in order_lines(chat.last(12))] == ["SO-000001"]
    chat.send(business.sales2, "/orders")
    assert [line[:9] for line in order_lines(chat.last(13))] == ["SO-000002", "SO-000001"]


def test_warehouse_sees_what_waits_to_ship_oldest_first(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    first = place(database, business, business.acme.id, [(business.widget.id, "10")])
    partly = place(database, business, business.acme.id, [(business.widget.id, "10")])
    done = place(database, business, business.acme.id, [(business.widget.id, "1")])
    held = place(  # over 恒通's credit limit: waits for approval, not for shipping
        database, business, business.hengtong.id, [(business.wire.id, "20")], by="sales2"
    )
    assert str(held.status) == "pending_approval"
    ship(database, business, done)
    ship(database, business, partly, {partly.lines[0].id: Quantity.of(4)})
    chat.send(business.warehouse, "/orders")
    listing = chat.last(14)
    assert listing.text.splitlines()[0] == "<b>Waiting to ship</b> (2), oldest first"
    assert order_lines(listing) == [
        f"{first.number} · Mar 2, 2026 · ACME Trading · confirmed · CN¥125.00",
        f"{partly.number} · Mar 2, 2026 · ACME Trading · partly shipped · CN¥125.00",
    ]


def test_owner_sees_todays_orders_since_local_midnight(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 2, 23, 59, tzinfo=TZ))
    place(database, business, business.acme.id, [(business.widget.id, "1")])  # yesterday
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=TZ))  # 16:01 UTC the day before
    place(database, business, business.hengtong.id, [(business.bolt.id, "1")], by="sales2")
    chat.send(business.owner, "/orders")
    listing = chat.last(11)
    assert listing.text == "\n".join(
        [
            "<b>Today's orders</b> (1)",
            "SO-000002 · Mar 3, 2026 · 恒通五金店 · confirmed · CN¥35.00",
        ]
    )
    assert listing.buttons() == []
    clock.advance(days=1)
    chat.send(business.owner, "/orders")
    assert chat.last(11).text == "No orders yet today."


def test_empty_lists_per_role(chat: ChatDriver, business: Business) -> None:
    chat.send(business.warehouse, "/orders")
    assert chat.last(14).text == "Nothing is waiting to ship."
    chat.send(business.customer_contact, "/orders")
    assert chat.last(15).text == "You have no orders yet."


def test_customer_without_company_sees_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase, twenty: None
) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: add_user(
            uow, actor=Actor.system("test"), name="Loose", role=Role.CUSTOMER, telegram_user_id=90
        ),
    )
    chat.send(Person(90, "Loose"), "/orders")
    assert chat.last(90).text == "You have no orders yet."


def test_names_are_escaped_in_lists(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: uow.customers.update(business.acme.id, name="<b>x</a> & _a_"),
    )
    place(database, business, business.acme.id, [(business.widget.id, "1")])
    chat.send(business.owner, "/orders")
    assert "&lt;b&gt;x&lt;/a&gt; &amp; _a_" in chat.last(11).text


def test_orders_stranger_and_redelivery(chat: ChatDriver, business: Business, twenty: None) -> None:
    chat.send(business.stranger, "/orders")
    assert "invite link" in chat.last(16).text
    chat.press_data(business.stranger, "pg:s:1", message_id=1)
    assert "invite link" in chat.toasts[-1].text
    chat.send(business.sales, "/orders")
    assert chat.redeliver(business.sales) == []
    listing = chat.last(12)
    data = button_data(listing, "▶")
    chat.press_data(business.sales, data, message_id=listing.message_id)
    chat.redeliver(business.sales)
    assert listing.edits == 1
