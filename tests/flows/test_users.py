"""/users: the owner sees who has access and revokes it (confirm first; the list is edited)."""

from __future__ import annotations

import pytest

from domain.model import Actor, AuditEntry, Role
from domain.services.users import add_user
from domain.transaction import run_in_transaction
from handlers.i18n import Translator, pick_language
from handlers.replies import InlineKeyboard
from tests.chat_driver import ChatDriver, Person, Shown
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business

NOT_AVAILABLE = "This command is not available to you. Type /help to see what you can do."


def in_language_of(person: Person, message: str) -> str:
    """``message`` as ``person`` sees it (sales2's Telegram app is in Chinese)."""
    return Translator(pick_language(None, person.language, "en"))(message)


EXPIRED = "This action has expired."
INVITE_TEXT = "Hello! To use this bot, ask your administrator for an invite link."


def active(database: FakeDatabase, business: Business, key: str) -> bool:
    return bool(database.state.tables["users"][business.users[key].id]["active"])


def revocations(database: FakeDatabase) -> list[AuditEntry]:
    entries = [row["entry"] for row in database.state.tables["audit"].values()]
    return [entry for entry in entries if entry.action == "user.revoke"]


def data_of(shown: Shown, label: str) -> str:
    assert isinstance(shown.keyboard, InlineKeyboard)
    return next(b.data for row in shown.keyboard.rows for b in row if label in b.text)


def version(database: FakeDatabase, person: Person) -> int:
    return database.state.conversations[(person.telegram_id, person.telegram_id)].version


def test_list_shows_people_roles_and_revoke_buttons_but_not_for_yourself(
    chat: ChatDriver, business: Business
) -> None:
    chat.send(business.owner, "/users")
    listing = chat.last(11)
    lines = listing.text.splitlines()
    assert lines[0] == "People with access:"
    assert lines[1:] == [
        "• <b>Olga Owner</b> — owner (you)",
        "• <b>Sam Sales</b> — salesperson",
        "• <b>Sue Sales</b> — salesperson",
        "• <b>Wang Warehouse</b> — warehouse",
        "• <b>Mary Buyer</b> — customer of ACME Trading",
    ]
    assert listing.buttons() == [
        "Revoke Sam Sales",
        "Revoke Sue Sales",
        "Revoke Wang Warehouse",
        "Revoke Mary Buyer",
    ]


def test_revoke_confirm_edits_the_list_and_the_person_becomes_unknown(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    owner, sales = business.owner, business.sales
    chat.send(sales, "/language")  # sales is in the middle of something
    chat.send(owner, "/users")
    listing = chat.last(11)
    chat.press(owner, "Revoke Sam Sales")
    assert listing.text == (
        "Revoke access for Sam Sales (salesperson)? They will no longer be able to use the bot."
    )
    assert listing.buttons() == ["Yes, revoke", "No, keep"]
    assert active(database, business, "sales")
    chat.press(owner, "Yes, revoke")
    assert not active(database, business, "sales")
    assert len(chat.messages(11)) == 1  # the one message was edited each time
    assert listing.text.startswith("Access revoked for Sam Sales.\n\nPeople with access:")
    assert "Sam Sales</b>" not in listing.text
    assert "Revoke Sam Sales" not in listing.buttons()
    assert len(listing.buttons()) == 3
    [entry] = revocations(database)
    assert entry.actor_id == business.users["owner"].id
    assert entry.object_id == str(business.users["sales"].id)
    # Revoked: every command and button now gets the invite message only.
    chat.send(sales, "/order")
    chat.send(sales, "hello")
    assert chat.texts(12)[-2:] == [INVITE_TEXT, INVITE_TEXT]
    chat.press(sales, "English")
    assert chat.toasts[-1].text == INVITE_TEXT
    chat.send(sales, "/help@chaterp_bot", chat=business.group_id)
    assert chat.messages(business.group_id) == []


def test_no_keeps_access_and_shows_the_list_again(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/users")
    listing = chat.last(11)
    first_text = listing.text
    chat.press(business.owner, "Revoke Wang Warehouse")
    chat.press(business.owner, "No, keep")
    assert listing.text == first_text
    assert active(database, business, "warehouse")
    chat.press(business.owner, "Revoke Wang Warehouse")  # the list's buttons work again
    chat.press(business.owner, "Yes, revoke")
    assert not active(database, business, "warehouse")


def test_double_tap_revokes_once(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/users")
    chat.press(business.owner, "Revoke Mary Buyer")
    confirm = chat.last(11)
    yes = data_of(confirm, "Yes, revoke")
    chat.press_data(business.owner, yes, message_id=confirm.message_id)
    text_after = confirm.text
    chat.press_data(business.owner, yes, message_id=confirm.message_id)
    assert chat.toasts[-1].text == EXPIRED
    assert confirm.text == text_after
    assert len(revocations(database)) == 1


def test_revoked_meanwhile_by_another_owner_is_not_revoked_twice(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    second = Person(96, "Oscar Owner")
    run_in_transaction(
        database.uow,
        lambda uow: add_user(
            uow,
            actor=Actor.system("test"),
            name=second.name,
            role=Role.OWNER,
            telegram_user_id=second.telegram_id,
        ),
    )
    chat.send(business.owner, "/users")
    chat.send(second, "/users")
    chat.press(business.owner, "Revoke Sam Sales")
    chat.press(second, "Revoke Sam Sales")
    chat.press(business.owner, "Yes, revoke")
    chat.press(second, "Yes, revoke")
    assert chat.last(96).text.startswith("Sam Sales has no access any more.")
    assert len(revocations(database)) == 1


def test_revoke_button_for_someone_already_gone_shows_the_fresh_list(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/users")
    database.state.tables["users"][business.users["sales2"].id]["active"] = False
    chat.press(business.owner, "Revoke Sue Sales")
    listing = chat.last(11)
    assert listing.text.startswith("That person has no access.\n\nPeople with access:")
    assert "Sue Sales" not in listing.text
    assert revocations(database) == []


def test_owner_cannot_revoke_themselves_even_with_forged_data(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/users")
    v = version(database, business.owner)
    owner_id = business.users["owner"].id
    chat.press_data(business.owner, f"c:{v}:rv:{owner_id}", message_id=1)
    assert chat.toasts[-1].text == "You cannot revoke your own access."
    assert active(database, business, "owner")
    # Even a forged "yes" for yourself at the confirm step does not go through.
    chat.press(business.owner, "Revoke Sam Sales")
    v = version(database, business.owner)
    chat.press_data(business.owner, f"c:{v}:yes:{owner_id}", message_id=1)
    assert chat.toasts[-1].text == EXPIRED
    assert active(database, business, "owner") and active(database, business, "sales")
    assert revocations(database) == []


@pytest.mark.parametrize(
    "forged",
    [
        "c:{v}:rv:999999",
        "c:{v}:rv:abc",
        "c:{v}:rv",
        "c:{v}:yes:12",
        "c:{v}:no",
        "c:{v}:pg:-1",
        "c:{w}:rv:2",
        "zz:1",
        "c:{v}:rv:" + "9" * 19,
    ],
)
def test_forged_buttons_on_the_list_change_nothing(
    chat: ChatDriver, business: Business, database: FakeDatabase, forged: str
) -> None:
    chat.send(business.owner, "/users")
    v = version(database, business.owner)
    before = database.state.copy().tables
    chat.press_data(business.owner, forged.format(v=v, w=v + 1), message_id=1)
    assert database.state.tables == before
    if chat.toasts:
        assert chat.toasts[-1].text == EXPIRED
    else:  # an unknown person id: the list is shown again with a note
        assert chat.last(11).text.startswith("That person has no access.")


@pytest.mark.parametrize("who", ["sales", "sales2", "warehouse", "customer_contact"])
def test_only_owners_see_or_revoke(
    chat: ChatDriver, business: Business, database: FakeDatabase, who: str
) -> None:
    person = getattr(business, who)
    chat.send(business.owner, "/users")
    data = data_of(chat.last(11), "Revoke Sam Sales")
    chat.send(person, "/users")
    assert chat.last(person.telegram_id).text == in_language_of(person, NOT_AVAILABLE)
    chat.press_data(person, data, message_id=1)
    assert chat.toasts[-1].text == in_language_of(person, EXPIRED)
    assert active(database, business, "sales")


def test_not_in_groups(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/users@chaterp_bot", chat=business.group_id)
    assert chat.last(business.group_id).text == NOT_AVAILABLE


def test_typing_at_the_list_points_to_the_buttons(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/users")
    for text in ("Sam Sales", "<b>x</a>", "x" * 5000, "'); DROP TABLE orders;--"):
        chat.send(business.owner, text)
        assert chat.last(11).text == "Please use the buttons above, or /cancel."


def test_cancel_then_a_stale_revoke_button(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/users")
    listing = chat.last(11)
    chat.press(business.owner, "Revoke Sam Sales")
    chat.send(business.owner, "/cancel")
    chat.press(business.owner, "Yes, revoke", message=listing)
    assert chat.toasts[-1].text == EXPIRED
    assert active(database, business, "sales")


def test_redelivered_confirm_is_ignored(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    chat.send(business.owner, "/users")
    chat.press(business.owner, "Revoke Sam Sales")
    chat.press(business.owner, "Yes, revoke")
    database.state.tables["users"][business.users["sales"].id]["active"] = True  # re-invited
    chat.redeliver(business.owner)
    assert active(database, business, "sales")
    assert len(revocations(database)) == 1


def test_names_with_html_are_escaped(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    database.state.tables["users"][business.users["sales"].id]["name"] = "<b>x</a> & _a_"
    chat.send(business.owner, "/users")
    text = chat.last(11).text
    assert "• <b>&lt;b&gt;x&lt;/a&gt; &amp; _a_</b> — salesperson" in text
    chat.press(business.owner, "Revoke <b>x</a>")
    assert "Revoke access for &lt;b&gt;x&lt;/a&gt; &amp; _a_ (salesperson)?" in chat.last(11).text


def test_many_people_are_paged(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    for n in range(30):
        run_in_transaction(
            database.uow,
            lambda uow, n=n: add_user(
                uow,
                actor=Actor.system("test"),
                name=f"Picker {n:02d}",
                role=Role.WAREHOUSE,
                telegram_user_id=1000 + n,
            ),
        )
    chat.send(business.owner, "/users")
    listing = chat.last(11)
    assert "Page 1 of 3" in listing.text
    assert listing.buttons()[-1] == "▶"
    assert len(listing.text) < 4096
    chat.press(business.owner, "▶")
    assert "Page 2 of 3" in listing.text and listing.buttons()[-2:] == ["◀", "▶"]
    chat.press(business.owner, "▶")
    assert "Page 3 of 3" in listing.text and listing.buttons()[-1] == "◀"
    last_name = listing.buttons()[-2].removeprefix("Revoke ")
    chat.press(business.owner, f"Revoke {last_name}")
    chat.press(business.owner, "Yes, revoke")
    assert listing.text.startswith(f"Access revoked for {last_name}.")
    assert "Page 3 of 3" in listing.text  # still on the page you were on
    seen = {line for line in listing.text.splitlines() if line.startswith("• ")}
    assert all(last_name not in line for line in seen)


def test_revoke_on_sqlite(sql_chat: tuple[ChatDriver, Business]) -> None:
    chat, business = sql_chat
    chat.send(business.owner, "/users")
    chat.press(business.owner, "Revoke Wang Warehouse")
    chat.press(business.owner, "Yes, revoke")
    chat.send(business.warehouse, "/ship")
    assert chat.last(business.warehouse.telegram_id).text == INVITE_TEXT
