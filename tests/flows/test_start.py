"""Joining with an invite link; strangers are turned away; the engine's shared behaviour."""

from __future__ import annotations

from domain.model import Role
from domain.services.users import create_invite
from domain.transaction import run_in_transaction
from tests.chat_driver import ChatDriver, Person
from tests.fakes import FakeDatabase, FixedClock
from tests.flows.conftest import Business


def invite(
    database: FakeDatabase, business: Business, role: Role, customer_id: int | None = None
) -> str:
    issued = run_in_transaction(
        database.uow,
        lambda uow: create_invite(
            uow,
            actor=business.actor("owner"),
            role=role,
            customer_id=customer_id,
            name="New Person",
        ),
    )
    return issued.token


def test_stranger_is_asked_to_get_an_invite(chat: ChatDriver, business: Business) -> None:
    chat.send(business.stranger, "/order")
    chat.send(business.stranger, "hello")
    assert chat.texts(business.stranger.telegram_id) == [
        "Hello! To use this bot, ask your administrator for an invite link.",
        "Hello! To use this bot, ask your administrator for an invite link.",
    ]


def test_invite_link_binds_the_role_once(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    token = invite(database, business, Role.WAREHOUSE)
    newcomer = Person(77, "Nina New")
    chat.send(newcomer, f"/start {token}")
    assert "You joined as warehouse" in chat.last(77).text
    assert chat.menus and chat.menus[-1].chat_id == 77
    assert "ship" in {command for command, _ in chat.menus[-1].commands}
    other = Person(78, "Oscar Other")
    chat.send(other, f"/start {token}")
    assert "already used" in chat.last(78).text


def test_expired_and_garbage_tokens(
    chat: ChatDriver, business: Business, database: FakeDatabase, clock: FixedClock
) -> None:
    token = invite(database, business, Role.SALES)
    clock.advance(days=8)
    newcomer = Person(79, "Late Larry")
    chat.send(newcomer, f"/start {token}")
    assert "expired" in chat.last(79).text
    chat.send(newcomer, "/start <b>not-a-token</b>")
    assert "not valid" in chat.last(79).text


def test_repeated_bad_tokens_are_rate_limited(chat: ChatDriver, business: Business) -> None:
    guesser = Person(80, "Guesser")
    for attempt in range(5):
        chat.send(guesser, f"/start guess{attempt}")
    chat.send(guesser, "/start guess-again")
    assert "Too many invalid invite links" in chat.last(80).text


def test_redelivered_update_is_ignored(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    token = invite(database, business, Role.SALES)
    newcomer = Person(81, "Rita Redelivered")
    chat.send(newcomer, f"/start {token}")
    assert chat.redeliver(newcomer) == []
    assert len(chat.messages(81)) == 1


def test_chinese_telegram_users_are_answered_in_chinese(
    chat: ChatDriver, business: Business
) -> None:
    chat.send(Person(82, "王", "zh-hans"), "/start")
    assert (
        chat.last(82).text != "Hello! To use this bot, ask your administrator for an invite link."
    )
