"""A whole business day over HTTP: the real bot framework against the Bot API emulator.

A new owner joins with a link made the way ``chaterp invite owner`` makes it, then invites a
salesperson, a warehouse worker and (once the customer exists) a customer's contact in chat;
the warehouse group is subscribed to new orders; the salesperson creates a customer (sharing a
contact) and takes an order typed with typos; the warehouse ships it from the group by button
while a colleague's press comes second; stock, a payment with the customer's receipt, /status
and /orders for every role. Each step asserts on what each person sees in their chat, and the
ledger is read back from the SQLite file.
"""

from __future__ import annotations

import re

import pytest

from bot.cli import CLI_ACTOR
from bot.emulator import User
from bot.emulator.state import JSON
from domain.model import OrderStatus, PaymentMethod, Role
from domain.money import Money
from domain.ports import UnitOfWork
from domain.quantity import Quantity
from domain.services.users import create_invite
from handlers.i18n import Translator
from handlers.registry import discover
from tests.e2e.conftest import Harness, texts_of
from tests.fakes import FixedClock

# PTB warns when it builds RetryAfter (its retry_after type changes in v23); not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)

LINK = re.compile(r"https://t\.me/chaterp_bot\?start=([A-Za-z0-9_-]+)")
ALWAYS = {"help", "cancel"}  # every registered person's menu has these
NOT_FOUND = "Order not found. Check the number and try again."


# --- helpers ----------------------------------------------------------------------------------


def menu_of(h: Harness, user: User) -> set[str]:
    """The commands ``user`` sees in their private chat's menu."""
    return {c["command"] for c in h.emu.commands_for(user)}


def expected_menu(role: Role) -> set[str]:
    """What a role's menu lists, derived from the flows (new flows are covered)."""
    flows, _ = discover()
    return ALWAYS | {f.command for f in flows if f.command and role in f.roles}


def token_in(message: JSON) -> str:
    found = LINK.search(message["text"])
    assert found is not None, message["text"]
    return found.group(1)


def labels(h: Harness, message: JSON) -> list[str]:
    return [label for row in h.emu.buttons(message) for label, _ in row]


async def join(h: Harness, user: User, invite_text: JSON, role_name: str) -> None:
    """``user`` opens the link from ``invite_text``: welcomed with their role and menu."""
    (welcome,) = await h.say(user, f"/start {token_in(invite_text)}")
    assert welcome["text"] == (
        f"Welcome, {user.full_name}! You joined as {role_name}. Type /help to see what you can do."
    )


async def invite(h: Harness, owner: User, word: str, role_name: str) -> JSON:
    """``/invite WORD`` typed by the owner; the message with the link."""
    (issued,) = await h.say(owner, f"/invite {word}")
    assert issued["text"].startswith(f"Invite link for a new {role_name}:")
    return issued


# --- the day ----------------------------------------------------------------------------------


async def test_a_business_day(harness: Harness, clock: FixedClock) -> None:
    h = harness
    group = h.group
    when = Translator("en").when(clock.now())  # the clock stands still: every "at" is this

    # --- morning: a new owner joins with a link from the command line --------------------
    issued = h.run(lambda uow: create_invite(uow, actor=CLI_ACTOR, role=Role.OWNER))
    nora = h.emu.user(21, "Nora", "Boss", language_code="en")
    assert menu_of(h, nora) == {"start", "help"}  # a stranger's default menu
    (welcome,) = await h.say(nora, f"/start {issued.token}")
    assert welcome["text"] == (
        "Welcome, Nora Boss! You joined as owner. Type /help to see what you can do."
    )
    assert menu_of(h, nora) == expected_menu(Role.OWNER)
    assert {"invite", "users", "subscribe"} <= menu_of(h, nora)

    # --- she invites a salesperson and a warehouse worker in chat ---------------------------
    pete = h.emu.user(22, "Pete", "Seller", language_code="en")
    wu = h.emu.user(23, "Wu", "Packer", language_code="en")
    await join(h, pete, await invite(h, nora, "sales", "salesperson"), "salesperson")
    await join(h, wu, await invite(h, nora, "warehouse", "warehouse"), "warehouse")
    assert menu_of(h, pete) == expected_menu(Role.SALES)
    assert menu_of(h, wu) == expected_menu(Role.WAREHOUSE)
    assert "invite" not in menu_of(h, pete) and "order" not in menu_of(h, wu)

    # --- the warehouse group gets new orders to ship ----------------------------------------
    for person in (nora, wu):
        await h.settle_new(await h.queued(h.emu.join(group, person)))
    assert h.read(group) == []  # joining says nothing
    (menu,) = await h.say(nora, "/subscribe@chaterp_bot", group)
    assert "New orders to ship → this chat ✗" in menu["text"]
    switched = await h.tap(nora, "New orders to ship", group)
    assert switched.answer is not None and switched.answer["text"] == "Saved."
    assert "New orders to ship → this chat ✓" in switched.messages[-1]["text"]
    assert "Now sent to: Warehouse" in switched.messages[-1]["text"]
    done = await h.tap(nora, "Done", group)
    assert labels(h, done.messages[-1]) == []  # the menu settles without buttons
    assert h.run(lambda uow: uow.chat_topics.chats("shipping")) == [group.id]

    # --- sales creates a customer, phone by a shared contact --------------------------------
    (asked,) = await h.say(pete, "/customer")
    assert asked["text"] == "👤 New customer. What is the customer's name?"
    (phone_q,) = await h.say(pete, "Kim Hardware")
    assert phone_q["text"].startswith("📞 Phone number?")
    keys = h.emu.reply_keyboard(pete)
    assert keys is not None
    assert any(k.get("request_contact") for row in keys["keyboard"] for k in row)
    await h.settle_new(await h.queued(h.emu.share_contact(pete, "+86 139 1234 5678", "Kim", "Lee")))
    assert texts_of(h.read(pete)) == ["📞 +86 139 1234 5678", "📍 Address?"]
    assert h.emu.reply_keyboard(pete) is None  # the contact keyboard is gone
    await h.say(pete, "8 Market St, Guangzhou")
    await h.say(pete, "5,000")
    (summary,) = await h.say(pete, "30")
    assert summary["text"].splitlines() == [
        "👤 New customer",
        "Name: Kim Hardware",
        "Phone: +86 139 1234 5678",
        "Address: 8 Market St, Guangzhou",
        "Credit limit: CN¥5,000.00",
        "Payment terms: 30 days",
    ]
    saved = await h.tap(pete, "Save")
    assert texts_of(saved.messages) == ["✅ Saved customer Kim Hardware."]
    kim_co = next(c for c in h.run(lambda uow: uow.customers.list()) if c.name == "Kim Hardware")
    pete_user = h.run(lambda uow: uow.users.by_telegram_id(pete.id))
    assert pete_user is not None
    assert (kim_co.phone, kim_co.address) == ("+86 139 1234 5678", "8 Market St, Guangzhou")
    assert kim_co.credit_limit == Money(500000, "CNY") and kim_co.payment_terms_days == 30
    assert kim_co.sales_rep_id == pete_user.id  # the salesperson who made it looks after it

    # --- the owner invites the customer's contact (picked by button, never guessed) ---------
    await h.say(nora, "/invite customer")
    (which,) = await h.say(nora, "kim")
    assert labels(h, which) == ["Kim Hardware"]
    picked = await h.tap(nora, "Kim Hardware")
    assert picked.messages[-1]["text"].startswith("Invite link for a contact of Kim Hardware:")
    kim = h.emu.user(24, "Kim", "Lee", language_code="en")
    await join(h, kim, picked.messages[-1], "customer")
    assert menu_of(h, kim) == expected_menu(Role.CUSTOMER)
    assert not {"order", "payment", "stock", "customer"} & menu_of(h, kim)

    people = {u.telegram_user_id: u for u in h.run(lambda uow: uow.users.list())}
    assert (people[21].role, people[22].role, people[23].role) == (
        Role.OWNER,
        Role.SALES,
        Role.WAREHOUSE,
    )
    assert people[24].role is Role.CUSTOMER and people[24].customer_id == kim_co.id

    # --- an order typed with typos ----------------------------------------------------------
    await h.say(pete, "/order")
    (lines_q,) = await h.say(pete, "kim hardwre")  # a sure match is taken at once
    assert lines_q["text"].startswith("🧾 Order for Kim Hardware: no items yet.")
    (added,) = await h.say(pete, "10 blu widgt, 5 m8 bolt")
    assert added["text"].splitlines()[:2] == [
        "✓ 10 pcs Blue widget · CN¥12.50 each · 100 pcs available",
        "✓ 5 box M8 hex bolt 40mm · CN¥35.00 each · 20 box available",
    ]
    review = (await h.tap(pete, "Done")).messages[-1]
    assert review["text"].splitlines() == [
        "🧾 Order for Kim Hardware",
        "1. Blue widget — 10 pcs × CN¥12.50 = CN¥125.00",
        "2. M8 hex bolt 40mm — 5 box × CN¥35.00 = CN¥175.00",
        "Total: CN¥300.00",
        "Credit: within limit ✓",
    ]
    confirmed = await h.tap(pete, "Confirm", message=review)
    edited_review, placed = confirmed.messages  # the review card keeps its lines, not its buttons
    assert edited_review["message_id"] == review["message_id"]
    assert edited_review["text"] == review["text"] and "reply_markup" not in edited_review
    assert placed["text"] == "✅ SO-000001 placed. Total CN¥300.00."
    order = h.run(lambda uow: uow.orders.by_number("SO-000001"))
    assert order is not None and order.status is OrderStatus.CONFIRMED
    assert order.customer_id == kim_co.id and order.created_by == pete_user.id
    assert {(li.product_id, li.quantity) for li in order.lines} == {
        (h.business.widget.id, Quantity.of(10)),
        (h.business.bolt.id, Quantity.of(5)),
    }

    # the card lands in the group only (the chosen chat), with the three buttons
    (card,) = h.read(group)
    assert card["text"].startswith("📦 SO-000001 · Kim Hardware")
    assert labels(h, card) == ["✅ Ship all", "✂️ Partial", "⚠️ Problem"]
    assert h.read(wu) == [] and h.read(nora) == []

    # Wu also opens it privately from /ship: a second tracked copy of the card
    (waiting,) = await h.say(wu, "/ship")
    assert waiting["text"].startswith("📦 1 order waits to ship, oldest first:")
    shown = await h.tap(wu, "Show SO-000001")
    private_card = shown.messages[-1]
    assert private_card["text"] == card["text"]

    # --- shipping from the group: Wu presses Ship all, Wang's press comes second -----------
    first = await h.queued(h.emu.tap(wu, card, "Ship all"))
    second = await h.queued(h.emu.tap(h.warehouse, card, "Ship all"))
    await h.settle_new(first + second)
    answers = [
        a["text"]
        for q in h.emu.state.callback_queries.values()
        if q.message_id == card["message_id"] and q.chat_id == group.id
        for a in [q.answer]
        if a is not None
    ]
    assert answers == ["Shipped.", f"SO-000001 was already shipped by Wu Packer at {when}."]
    shipped_text = f"Shipped by Wu Packer at {when}:"
    for where, message in ((group, card), (wu, private_card)):  # every copy, edited
        now = next(m for m in h.bot_messages(where) if m["message_id"] == message["message_id"])
        assert now["text"].startswith("✅ SO-000001 · Kim Hardware"), now["text"]
        assert shipped_text in now["text"] and "Invoice INV-000001" in now["text"]
        assert labels(h, now) == []
    h.emu.mark_read(group)
    h.emu.mark_read(wu)
    assert texts_of(h.read(pete)) == [
        "✅ SO-000001 for Kim Hardware has shipped (invoice INV-000001)."
    ]
    # …and the customer's contact hears it from the outbox too
    assert texts_of(h.read(kim)) == [
        "📦 Your order SO-000001 has shipped:\n"
        "• 10 pcs Blue widget\n"
        "• 5 box M8 hex bolt 40mm\n"
        "Invoice INV-000001: CN¥300.00, due Apr 1, 2026."
    ]

    def shipped_ledger() -> tuple[object, ...]:
        def work(uow: UnitOfWork) -> tuple[object, ...]:
            placed = uow.orders.by_number("SO-000001")
            assert placed is not None
            widget = uow.stock.get(h.business.widget.id, h.business.main.id)
            bolt = uow.stock.get(h.business.bolt.id, h.business.main.id)
            return (
                placed.status,
                len(uow.shipments.for_order(placed.id)),
                (widget.on_hand, widget.reserved),
                bolt.on_hand,
            )

        return h.run(work)

    assert shipped_ledger() == (
        OrderStatus.SHIPPED,
        1,  # one shipment: the second press shipped nothing
        (Quantity.of(90), Quantity(0)),
        Quantity.of(15),
    )

    # --- stock reflects it ------------------------------------------------------------------
    (stock,) = await h.say(wu, "/stock widget")
    assert "MAIN: on hand 90 · reserved 0 · available 90" in stock["text"]
    (stock,) = await h.say(pete, "/stock m8 bolt")
    assert "MAIN: on hand 15 · reserved 0 · available 15" in stock["text"]

    # --- a payment, and the customer's receipt -----------------------------------------------
    (who,) = await h.say(pete, "/payment")
    assert labels(h, who) == ["Kim Hardware"]  # who owes the most, as buttons
    (owed,) = await h.say(pete, "kim")
    assert "• INV-000001 · due Apr 1, 2026 · CN¥300.00" in owed["text"]
    assert "Balance: owes CN¥300.00" in owed["text"]
    (method,) = await h.say(pete, "300")
    assert method["text"] == "How was it paid?"
    card_msg = (await h.tap(pete, "Cash")).messages[-1]
    assert "Amount: CN¥300.00" in card_msg["text"] and "Method: Cash" in card_msg["text"]
    paid = await h.tap(pete, "Confirm", message=card_msg)
    assert texts_of(paid.messages)[-1] == (
        "PAY-000001 recorded: CN¥300.00 — INV-000001 paid in full\nBalance now: nothing owed"
    )
    assert texts_of(h.read(kim)) == [
        "Thank you! We received your payment of CN¥300.00 (PAY-000001, Cash).\n"
        "Applied to: INV-000001 paid in full\n"
        "Your balance: nothing owed"
    ]

    def money_ledger() -> tuple[object, ...]:
        def work(uow: UnitOfWork) -> tuple[object, ...]:
            (payment,) = uow.payments.for_customer(kim_co.id)
            (invoice,) = uow.invoices.for_customer(kim_co.id)
            customer = uow.customers.get(kim_co.id)
            placed = uow.orders.by_number("SO-000001")
            assert customer is not None and placed is not None
            return (
                (payment.amount, payment.method, payment.recorded_by),
                (invoice.amount, invoice.outstanding),
                customer.balance,
                placed.status,
            )

        return h.run(work)

    assert money_ledger() == (
        (Money(30000, "CNY"), PaymentMethod.CASH, pete_user.id),
        (Money(30000, "CNY"), Money(0, "CNY")),
        Money(0, "CNY"),
        OrderStatus.CLOSED,
    )

    # --- another customer's order, by the seeded salesperson ---------------------------------
    await h.say(h.sales, "/order")
    await h.say(h.sales, "acme")
    await h.say(h.sales, "2 copper wire")
    await h.tap(h.sales, "Done")
    acme_placed = await h.tap(h.sales, "Confirm")
    assert texts_of(acme_placed.messages)[-1:] == ["✅ SO-000002 placed. Total CN¥136.00."]
    assert h.read(group)[-1]["text"].startswith("📦 SO-000002 · ACME Trading")

    # --- the customer asks about orders --------------------------------------------------------
    (own,) = await h.say(kim, "/status SO-000001")
    assert own["text"].splitlines()[:3] == [
        "SO-000001 · Kim Hardware",
        "Status: closed",
        "Placed: Mar 2, 2026 · Total: CN¥300.00",
    ]
    assert "• Blue widget: ordered 10 pcs, shipped 10 pcs" in own["text"]
    (theirs,) = await h.say(kim, "/status SO-000002")
    (missing,) = await h.say(kim, "/status SO-000999")
    assert theirs["text"] == missing["text"] == NOT_FOUND
    assert theirs.get("entities") == missing.get("entities")
    assert labels(h, theirs) == labels(h, missing) == []
    denied = h.run(lambda uow: uow.audit.list(object_type="order", object_id="SO-000002"))
    assert [e.action for e in denied if e.actor_id == people[24].id] == ["order.status_denied"]
    # …while staff see any order
    (staff_view,) = await h.say(wu, "/status 2")
    assert staff_view["text"].startswith("SO-000002 · ACME Trading")

    # --- /orders for each role ---------------------------------------------------------------
    expected_orders: list[tuple[User, list[str]]] = [
        (
            nora,
            [
                "Today's orders (2)",
                "SO-000002 · Mar 2, 2026 · ACME Trading · confirmed · CN¥136.00",
                "SO-000001 · Mar 2, 2026 · Kim Hardware · closed · CN¥300.00",
            ],
        ),
        (
            pete,
            [
                "Your recent orders (1)",
                "SO-000001 · Mar 2, 2026 · Kim Hardware · closed · CN¥300.00",
            ],
        ),
        (
            h.sales,
            [
                "Your recent orders (1)",
                "SO-000002 · Mar 2, 2026 · ACME Trading · confirmed · CN¥136.00",
            ],
        ),
        (
            wu,
            [
                "Waiting to ship (1), oldest first",
                "SO-000002 · Mar 2, 2026 · ACME Trading · confirmed · CN¥136.00",
            ],
        ),
        (kim, ["Your orders (1)", "SO-000001 · Mar 2, 2026 · closed · CN¥300.00"]),
    ]
    for person, lines in expected_orders:
        (listed,) = await h.say(person, "/orders")
        assert listed["text"].splitlines() == lines, person.full_name

    # the whole day went through without a single refused Bot API call
    assert h.failed_calls() == []
