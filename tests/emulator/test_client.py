"""The in-process user side: groups, privacy mode, contacts, events, waiting."""

from __future__ import annotations

import httpx
import pytest

from bot.emulator import BotApiEmulator, EmulatorError, EmulatorEvent, EmulatorTimeout, User
from tests.emulator.conftest import ok


async def test_private_message_shape(emu: BotApiEmulator, alice: User) -> None:
    message = await emu.send_text(alice, "  /order 10 blue widget  ")
    assert message["chat"] == {
        "id": alice.id,
        "type": "private",
        "first_name": "Alice",
        "username": "alice",
    }
    assert message["from"]["id"] == alice.id and message["from"]["is_bot"] is False
    assert message["text"] == "/order 10 blue widget"  # trimmed, like Telegram
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    second = await emu.send_text(alice, "again")
    assert second["message_id"] == message["message_id"] + 1


async def test_share_contact_and_send_document(emu: BotApiEmulator, alice: User) -> None:
    contact = await emu.share_contact(alice, "+8613800000000")
    assert contact["contact"] == {
        "phone_number": "+8613800000000",
        "first_name": "Alice",
        "user_id": alice.id,
    }
    other = await emu.share_contact(alice, "+86139", "Wang", "Wei", contact_user_id=None)
    assert other["contact"] == {"phone_number": "+86139", "first_name": "Wang", "last_name": "Wei"}
    upload = await emu.send_document(alice, "订单.xlsx", b"PK\x03\x04", caption="march")
    document = upload["document"]
    assert document["file_name"] == "订单.xlsx"
    assert document["mime_type"].endswith("spreadsheetml.sheet")
    assert emu.file(document["file_id"]).data == b"PK\x03\x04"
    kinds = [next(k for k in u if k != "update_id") for u in emu.pending_updates()]
    assert kinds == ["message", "message", "message"]


async def test_group_privacy_mode(emu: BotApiEmulator, alice: User) -> None:
    bob = emu.user(1002, "Bob")
    group = emu.group(-4001, "Warehouse", members=[alice, bob])
    await emu.send_text(alice, "just chatting", group)
    await emu.send_text(alice, "/ship@someone_elses_bot", group)
    await emu.send_text(bob, "/ship", group)
    await emu.send_text(bob, "/stock@chaterp_bot m8", group)
    seen = [u["message"]["text"] for u in emu.pending_updates()]
    assert seen == ["/ship", "/stock@chaterp_bot m8"]
    assert len(emu.messages(group)) == 4  # everything is in the chat, delivered or not
    assert emu.messages(group)[0]["chat"] == {"id": -4001, "type": "group", "title": "Warehouse"}
    with pytest.raises(EmulatorError):
        await emu.send_text(emu.user(1003, "Outsider"), "/ship", group)


async def test_group_reply_to_the_bot_is_delivered(
    emu: BotApiEmulator, api: httpx.AsyncClient, alice: User
) -> None:
    group = emu.group(-4001, "Warehouse", members=[alice])
    prompt = await ok(
        api, "sendMessage", chat_id=group.id, text="How many?", reply_markup={"force_reply": True}
    )
    await emu.send_text(alice, "12", group, reply_to=prompt)
    (update,) = emu.pending_updates()
    assert update["message"]["reply_to_message"]["message_id"] == prompt["message_id"]


async def test_migration_sends_the_service_messages(emu: BotApiEmulator, alice: User) -> None:
    group = emu.group(-4001, "Warehouse", members=[alice])
    supergroup = emu.migrate(group)
    messages = [u["message"] for u in emu.pending_updates()]
    assert messages[0]["chat"]["id"] == group.id
    assert messages[0]["migrate_to_chat_id"] == supergroup.id
    assert messages[1]["chat"] == {"id": supergroup.id, "type": "supergroup", "title": "Warehouse"}
    assert messages[1]["migrate_from_chat_id"] == group.id
    with pytest.raises(EmulatorError):
        await emu.send_text(alice, "/ship", group)
    await emu.send_text(alice, "/ship", supergroup)


async def test_block_sends_my_chat_member(emu: BotApiEmulator, alice: User) -> None:
    await emu.send_text(alice, "/start")
    emu.block(alice)
    update = emu.pending_updates()[-1]["my_chat_member"]
    assert update["old_chat_member"]["status"] == "member"
    assert update["new_chat_member"]["status"] == "kicked"
    with pytest.raises(EmulatorError):
        await emu.send_text(alice, "hello?")


async def test_subscribers_hear_new_edited_and_deleted_messages(
    emu: BotApiEmulator, api: httpx.AsyncClient, alice: User
) -> None:
    events: list[EmulatorEvent] = []
    heard: list[str] = []

    async def also_async(event: EmulatorEvent) -> None:
        heard.append(event.kind)

    unsubscribe = emu.subscribe(events.append)
    emu.subscribe(also_async)
    await emu.send_text(alice, "/start")
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="<b>Hi</b>", parse_mode="HTML")
    await ok(api, "editMessageText", chat_id=alice.id, message_id=sent["message_id"], text="Bye")
    await ok(
        api, "answerCallbackQuery", callback_query_id=await emu.press(alice, sent, "x", forge=True)
    )
    await ok(api, "deleteMessage", chat_id=alice.id, message_id=sent["message_id"])
    kinds = [e.kind for e in events]
    assert kinds == ["message", "message", "edited", "callback_answer", "deleted"]
    assert events[1].html == "<b>Hi</b>"
    assert events[2].message is not None and events[2].message["text"] == "Bye"
    await emu.wait_until(lambda: len(heard) == 5)
    unsubscribe()
    await emu.send_text(alice, "quiet")
    assert len(events) == 5


async def test_wait_for_bot_messages_reads_in_order_and_explains_a_timeout(
    emu: BotApiEmulator, api: httpx.AsyncClient, alice: User
) -> None:
    await emu.send_text(alice, "/start")
    await ok(api, "sendMessage", chat_id=alice.id, text="one")
    await ok(api, "sendMessage", chat_id=alice.id, text="two")
    assert [m["text"] for m in await emu.wait_for_bot_messages(alice, count=2)] == ["one", "two"]
    await api.post(
        "/sendMessage", json={"chat_id": alice.id, "text": "<b>bad</a>", "parse_mode": "HTML"}
    )
    with pytest.raises(EmulatorTimeout, match="can't parse entities"):
        await emu.wait_for_bot_messages(alice, timeout=0.05)


async def test_find_button_and_tap(
    emu: BotApiEmulator, api: httpx.AsyncClient, alice: User
) -> None:
    await emu.send_text(alice, "/start")
    markup = {
        "inline_keyboard": [
            [
                {"text": "✅ Confirm", "callback_data": "c"},
                {"text": "Docs", "url": "https://example.com"},
            ]
        ]
    }
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Ship?", reply_markup=markup)
    assert emu.buttons(sent) == [[("✅ Confirm", "c"), ("Docs", None)]]
    assert emu.find_button(sent, "confirm") == ("✅ Confirm", "c")
    with pytest.raises(LookupError, match="Confirm"):
        emu.find_button(sent, "Cancel")
    with pytest.raises(EmulatorError):
        await emu.tap(alice, sent, "Docs")
    query_id = await emu.tap(alice, sent["message_id"], "Confirm")
    assert emu.pending_updates()[-1]["callback_query"]["id"] == query_id


async def test_reply_keyboard_is_tracked(
    emu: BotApiEmulator, api: httpx.AsyncClient, alice: User
) -> None:
    await emu.send_text(alice, "/start")
    keyboard = {
        "keyboard": [[{"text": "Share phone", "request_contact": True}], ["Cancel"]],
        "resize_keyboard": True,
    }
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Phone?", reply_markup=keyboard)
    assert "reply_markup" not in sent  # Message.reply_markup is for inline keyboards only
    shown = emu.reply_keyboard(alice)
    assert shown is not None and shown["keyboard"][1] == [{"text": "Cancel"}]
    await ok(
        api, "sendMessage", chat_id=alice.id, text="Thanks", reply_markup={"remove_keyboard": True}
    )
    assert emu.reply_keyboard(alice) is None


async def test_in_process_calls_need_no_http(emu: BotApiEmulator, alice: User) -> None:
    await emu.send_text(alice, "/start")
    sent = await emu.call_api(
        "sendMessage", chat_id=alice.id, text="<i>in-process</i>", parse_mode="HTML"
    )
    assert sent["entities"] == [{"type": "italic", "offset": 0, "length": 10}]
    assert emu.calls[-1].method == "sendMessage"
