"""/help: per role, the commands that role may use here, each with an example."""

from __future__ import annotations

import re

import pytest

from domain.services.customers import CustomerDraft, create_customer
from domain.transaction import run_in_transaction
from handlers.flow import Flow
from handlers.flows.help import CUSTOMER_EXAMPLES, EXAMPLES, HIDDEN
from handlers.registry import discover
from tests.chat_driver import ChatDriver, Person
from tests.fakes import FakeDatabase
from tests.flows.conftest import Business

ROLES = ("owner", "sales", "warehouse", "customer_contact")
ROLE_KEYS = {
    "owner": "owner",
    "sales": "sales",
    "warehouse": "warehouse",
    "customer_contact": "customer",
}


def person(business: Business, key: str) -> Person:
    return getattr(business, key)


def listed(text: str) -> list[str]:
    """The commands a help text lists, in order (``<b>/order</b> — …`` lines)."""
    return re.findall(r"^<b>/([a-z_]+)</b> — ", text, flags=re.M)


def flows_for(business: Business, key: str, *, group: bool) -> list[Flow]:
    role = business.users[ROLE_KEYS[key]].role
    return [
        flow
        for flow in discover()[0]
        if flow.command
        and flow.command not in HIDDEN
        and role in flow.roles
        and (flow.groups_too or not group)
    ]


@pytest.mark.parametrize("key", ROLES)
def test_help_lists_exactly_what_the_role_may_do(
    chat: ChatDriver, business: Business, key: str
) -> None:
    who = person(business, key)
    chat.send(who, "/help")
    text = chat.last(who.telegram_id).text
    expected = {flow.command for flow in flows_for(business, key, group=False)}
    assert set(listed(text)) == expected | {"cancel"}
    assert listed(text)[-1] == "cancel"
    assert len(listed(text)) == len(set(listed(text)))  # each once
    for flow in flows_for(business, key, group=False):
        assert f"<b>/{flow.command}</b> — {flow.description}" in text
    assert business.users[ROLE_KEYS[key]].name in text.splitlines()[0]


def test_every_listed_command_with_an_example_shows_it(
    chat: ChatDriver, business: Business
) -> None:
    chat.send(business.sales, "/help")
    lines = chat.last(business.sales.telegram_id).text.splitlines()
    for command in listed("\n".join(lines)):
        example = EXAMPLES.get(command)
        if example is None:
            continue
        at = lines.index(next(line for line in lines if line.startswith(f"<b>/{command}</b>")))
        shown = example.format(bot="chaterp_bot", customer="ACME")  # sales' newest customer
        assert lines[at + 1].strip() == "e.g. " + shown


def test_sales_examples_are_concrete(chat: ChatDriver, business: Business) -> None:
    chat.send(business.sales, "/help")
    text = chat.last(business.sales.telegram_id).text
    if "order" in listed(text):
        assert "e.g. /order, then type: 10 blue widget, 5 m8 bolt" in text
    # their own newest customer, so the example works as typed (never a colleague's customer)
    assert "e.g. /payment ACME" in text and "e.g. /balance ACME" in text
    assert "/invite" not in text and "/users" not in text
    assert "You are Sam Sales, salesperson." in text


def test_examples_name_the_newest_customer_one_may_pick(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    run_in_transaction(
        database.uow,
        lambda uow: create_customer(
            uow,
            actor=business.actor("sales2"),
            draft=CustomerDraft(name="Zeta Supplies Ltd", sales_rep_id=business.users["sales2"].id),
        ),
    )
    chat.send(business.owner, "/help")
    assert "e.g. /payment Zeta" in chat.last(business.owner.telegram_id).text
    chat.send(business.sales, "/help")  # Zeta is sales2's customer
    assert "e.g. /payment ACME" in chat.last(business.sales.telegram_id).text


def test_customer_examples_name_no_other_customer(chat: ChatDriver, business: Business) -> None:
    chat.send(business.customer_contact, "/help")
    text = chat.last(business.customer_contact.telegram_id).text
    assert text.splitlines()[0] == (
        "You are Mary Buyer, customer of ACME Trading. Here is what you can do:"
    )
    assert "acme" not in "\n".join(text.splitlines()[1:]).casefold()
    assert "恒通" not in text
    for command in set(listed(text)) & set(CUSTOMER_EXAMPLES):
        assert f"e.g. {CUSTOMER_EXAMPLES[command]}" in text
    assert "/order</b>" not in text and "/payment</b>" not in text


def test_owner_sees_invite_and_users(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/help")
    text = chat.last(business.owner.telegram_id).text
    assert "<b>/invite</b>" in text and "e.g. /invite salesperson" in text
    assert "<b>/users</b>" in text
    assert "<b>/start</b>" not in text and "<b>/help</b>" not in text


def test_help_in_a_group_with_botname_lists_group_commands(
    chat: ChatDriver, business: Business
) -> None:
    chat.send(business.warehouse, "/help@chaterp_bot", chat=business.group_id)
    text = chat.last(business.group_id).text
    expected = {flow.command for flow in flows_for(business, "warehouse", group=True)}
    assert set(listed(text)) == expected | {"cancel"}
    assert "private chat" in text
    assert "<b>/invite</b>" not in text  # private-only commands are not offered in a group
    if "ship" in expected:
        assert "e.g. /ship@chaterp_bot in the warehouse group" in text


def test_help_for_another_bot_is_ignored(chat: ChatDriver, business: Business) -> None:
    chat.send(business.warehouse, "/help@some_other_bot", chat=business.group_id)
    assert chat.messages(business.group_id) == []


def test_name_with_html_is_escaped(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    row = database.state.tables["users"][business.users["sales"].id]
    row["name"] = "<b>x</a> & _a_"
    chat.send(business.sales, "/help")
    first = chat.last(business.sales.telegram_id).text.splitlines()[0]
    assert "&lt;b&gt;x&lt;/a&gt; &amp; _a_" in first
    assert "<b>x</a>" not in first


def test_help_changes_nothing_and_redelivery_is_silent(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    before = database.state.copy().tables
    chat.send(business.owner, "/help")
    assert chat.redeliver(business.owner) == []
    assert len(chat.messages(business.owner.telegram_id)) == 1
    assert database.state.tables == before
    assert chat.texts(business.owner.telegram_id)[0].startswith("You are Olga Owner, owner.")


def test_strangers_get_only_the_invite_message(chat: ChatDriver, business: Business) -> None:
    chat.send(business.stranger, "/help")
    assert chat.texts(business.stranger.telegram_id) == [
        "Hello! To use this bot, ask your administrator for an invite link."
    ]
    chat.send(business.stranger, "/help@chaterp_bot", chat=business.group_id)
    assert chat.messages(business.group_id) == []


def test_revoked_people_get_the_invite_message(
    chat: ChatDriver, business: Business, database: FakeDatabase
) -> None:
    database.state.tables["users"][business.users["sales"].id]["active"] = False
    chat.send(business.sales, "/help")
    assert chat.texts(business.sales.telegram_id) == [
        "Hello! To use this bot, ask your administrator for an invite link."
    ]
