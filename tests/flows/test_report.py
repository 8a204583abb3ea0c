"""/report [today|week|month]: the owner's summary on demand, charts included, via the outbox."""

from __future__ import annotations

import pytest

from tests.chat_driver import ChatDriver
from tests.flows.conftest import Business

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("typed", "title"),
    [
        ("/report", "Daily summary · Mar 2, 2026"),
        ("/report today", "Daily summary · Mar 2, 2026"),
        ("/report week", "Weekly summary · Mar 2, 2026 (so far)"),
        ("/report month", "Monthly summary · March 2026 (so far)"),
        ("/report 本月", "Monthly summary · March 2026 (so far)"),
    ],
)
def test_owner_gets_the_summary_and_charts(
    chat: ChatDriver, business: Business, typed: str, title: str
) -> None:
    me = business.owner.telegram_id
    chat.send(business.owner, typed)
    preparing, text, *photos = chat.messages(me)
    assert preparing.text.startswith("📊 Preparing")
    assert text.text.startswith(f"📊 <b>{title}</b>")
    assert len(photos) == 3
    for photo in photos:
        assert photo.photo is not None and photo.photo.startswith(PNG)
        assert len(photo.photo) <= 80_000 and photo.text  # a caption says what it shows


def test_in_chinese_and_in_the_group(chat: ChatDriver, business: Business) -> None:
    chat.send(business.owner, "/language")
    chat.press(business.owner, "简体中文")
    chat.send(business.owner, "/report")
    assert "每日汇总" in chat.texts(business.owner.telegram_id)[-4]
    chat.send(business.owner, "/report@chaterp_bot week", chat=business.group_id)
    # in a group too, the report comes in the language of whoever asked (like the reply)
    assert "每周汇总" in chat.texts(business.group_id)[-4]


def test_a_bad_period_is_explained_and_other_roles_cannot_ask(
    chat: ChatDriver, business: Business
) -> None:
    chat.send(business.owner, "/report tomorrow")
    assert chat.last(business.owner.telegram_id).text == (
        "Which period? /report today, /report week or /report month (today when nothing is "
        "given)."
    )
    for person in (business.sales, business.warehouse, business.customer_contact):
        chat.send(person, "/report")
        assert chat.last(person.telegram_id).text.startswith("This command is not available")
