"""The Bot API over raw HTTP: validation, errors and long polling, worded like Telegram."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from bot.emulator import BotApiEmulator, FloodLimits, User
from tests.emulator.conftest import TOKEN, FakeClock, call, fails, ok, png_bytes

KEYBOARD = {"inline_keyboard": [[{"text": "Confirm", "callback_data": "confirm:1"}]]}


async def started(emu: BotApiEmulator, user: User) -> None:
    """The user has opened the chat with the bot (so the bot may write to them)."""
    await emu.send_text(user, "/start")


# identity, tokens, methods ----------------------------------------------------------------------


async def test_get_me_describes_the_bot(api: httpx.AsyncClient) -> None:
    me = await ok(api, "getMe")
    assert me["id"] == int(TOKEN.split(":")[0])
    assert me["is_bot"] is True
    assert me["username"] == "chaterp_bot"


async def test_get_me_also_answers_get_and_any_method_case(api: httpx.AsyncClient) -> None:
    response = await api.get("/GETME")
    assert response.status_code == 200 and response.json()["result"]["is_bot"] is True


async def test_unknown_token_is_401_and_the_token_is_never_logged(
    emu: BotApiEmulator, caplog: pytest.LogCaptureFixture, alice: User
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "5012345678:ZZZk3r7PqL2mN8sT4vX9zB1cD6eF0gJ5hZZ"
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.post(f"{emu.base_url}{wrong}/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        await client.post(f"{emu.base_url}{TOKEN}/sendMessage", json={"chat_id": 1, "text": "x"})
        await client.post(f"{emu.base_url}{TOKEN}/getMe")
    # The test's own HTTP client (httpx) logs URLs; the emulator's side must not.
    server_side = [r for r in caplog.records if r.name.startswith(("bot.emulator", "aiohttp"))]
    assert server_side  # the emulator did log something
    logged = " ".join(r.getMessage() for r in server_side)
    assert wrong.split(":")[1] not in logged
    assert TOKEN.split(":")[1] not in logged
    assert all(TOKEN not in json.dumps(c.params) for c in emu.calls)


async def test_unknown_method_is_404(api: httpx.AsyncClient) -> None:
    body = await fails(api, "sendTelepathy", 404)
    assert body["description"] == "Not Found"


# sendMessage validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "description"),
    [
        ("", "Bad Request: message text is empty"),
        ("  \n ", "Bad Request: message text is empty"),
        ("x" * 4097, "Bad Request: message is too long"),
    ],
)
async def test_text_length_is_checked(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, text: str, description: str
) -> None:
    await started(emu, alice)
    body = await fails(api, "sendMessage", 400, chat_id=alice.id, text=text)
    assert body["description"] == description


async def test_text_limit_counts_after_entity_parsing(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    message = await ok(
        api, "sendMessage", chat_id=alice.id, text="<b>" + "x" * 4096 + "</b>", parse_mode="HTML"
    )
    assert len(message["text"]) == 4096


@pytest.mark.parametrize(
    ("html", "detail"),
    [
        ("<b>x</a>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</a>"'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<script>alert(1)</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_bad_html_is_refused_like_telegram(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, html: str, detail: str
) -> None:
    await started(emu, alice)
    body = await fails(api, "sendMessage", 400, chat_id=alice.id, text=html, parse_mode="HTML")
    assert body["description"] == "Bad Request: can't parse entities: " + detail
    assert len(emu.messages(alice)) == 1  # nothing was sent


async def test_good_html_becomes_text_and_entities(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    html = '<b>x</b> &amp; <a href="https://x">y</a>'
    message = await ok(api, "sendMessage", chat_id=alice.id, text=html, parse_mode="HTML")
    assert message["text"] == "x & y"
    assert message["entities"] == [
        {"type": "bold", "offset": 0, "length": 1},
        {"type": "text_link", "offset": 4, "length": 1, "url": "https://x/"},
    ]
    record = emu.records(alice)[-1]
    assert record.source == html and record.parse_mode == "HTML"
    assert record.html == '<b>x</b> &amp; <a href="https://x/">y</a>'


async def test_form_encoded_parameters_work_like_json(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    response = await api.post(
        "/sendMessage",
        data={"chat_id": str(alice.id), "text": "hi", "reply_markup": json.dumps(KEYBOARD)},
    )
    message = response.json()["result"]
    assert message["reply_markup"] == KEYBOARD
    assert emu.buttons(message) == [[("Confirm", "confirm:1")]]


@pytest.mark.parametrize("data", ["x" * 65, "货" * 22])  # 65 bytes; 22 characters = 66 bytes
async def test_callback_data_over_64_bytes_is_refused(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, data: str
) -> None:
    await started(emu, alice)
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": data}]]}
    body = await fails(api, "sendMessage", 400, chat_id=alice.id, text="x", reply_markup=markup)
    assert body["description"] == "Bad Request: BUTTON_DATA_INVALID"


async def test_64_bytes_of_callback_data_is_fine(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    markup = {"inline_keyboard": [[{"text": "Go", "callback_data": "x" * 64}]]}
    await ok(api, "sendMessage", chat_id=alice.id, text="x", reply_markup=markup)


async def test_unknown_chat_is_chat_not_found(api: httpx.AsyncClient) -> None:
    body = await fails(api, "sendMessage", 400, chat_id=424242, text="x")
    assert body["description"] == "Bad Request: chat not found"


async def test_bot_cannot_write_first(api: httpx.AsyncClient, alice: User) -> None:
    body = await fails(api, "sendMessage", 403, chat_id=alice.id, text="x")
    assert body["description"] == "Forbidden: bot can't initiate conversation with a user"


# editing and deleting ----------------------------------------------------------------------------


async def test_editing_to_the_same_content_is_not_modified(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Order 7", reply_markup=KEYBOARD)
    body = await fails(
        api,
        "editMessageText",
        400,
        chat_id=alice.id,
        message_id=sent["message_id"],
        text="Order 7",
        reply_markup=KEYBOARD,
    )
    assert body["description"].startswith("Bad Request: message is not modified: specified new")


async def test_edit_applies_and_keeps_history_and_drops_an_unrepeated_keyboard(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Order 7", reply_markup=KEYBOARD)
    edited = await ok(
        api,
        "editMessageText",
        chat_id=alice.id,
        message_id=sent["message_id"],
        text="<i>Shipped</i>",
        parse_mode="HTML",
    )
    assert edited["text"] == "Shipped" and "edit_date" in edited
    assert "reply_markup" not in edited  # Telegram removes a keyboard the edit does not repeat
    record = emu.records(alice)[-1]
    assert [version["text"] for version in record.history] == ["Order 7"]
    assert emu.last_bot_message(alice) == edited


async def test_edit_reply_markup_only(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Order 7", reply_markup=KEYBOARD)
    edited = await ok(
        api, "editMessageReplyMarkup", chat_id=alice.id, message_id=sent["message_id"]
    )
    assert "reply_markup" not in edited and edited["text"] == "Order 7"
    again = await fails(
        api, "editMessageReplyMarkup", 400, chat_id=alice.id, message_id=sent["message_id"]
    )
    assert "message is not modified" in again["description"]


async def test_missing_messages_cannot_be_edited_or_deleted(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    body = await fails(api, "editMessageText", 400, chat_id=alice.id, message_id=99, text="x")
    assert body["description"] == "Bad Request: message to edit not found"
    body = await fails(api, "deleteMessage", 400, chat_id=alice.id, message_id=99)
    assert body["description"] == "Bad Request: message to delete not found"
    user_message = emu.messages(alice)[0]["message_id"]
    body = await fails(
        api, "editMessageText", 400, chat_id=alice.id, message_id=user_message, text="x"
    )
    assert body["description"] == "Bad Request: message can't be edited"


async def test_delete_removes_the_message_from_what_the_user_sees(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="temporary")
    assert await ok(api, "deleteMessage", chat_id=alice.id, message_id=sent["message_id"]) is True
    assert [m.get("text") for m in emu.messages(alice)] == ["/start"]
    assert emu.records(alice)[-1].deleted
    body = await fails(api, "deleteMessage", 400, chat_id=alice.id, message_id=sent["message_id"])
    assert body["description"] == "Bad Request: message to delete not found"


# Telegram's refusals ----------------------------------------------------------------------------


async def test_injected_429_carries_retry_after_then_sending_works(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    emu.inject_429(count=2, retry_after=7)
    for _ in range(2):
        body = await fails(api, "sendMessage", 429, chat_id=alice.id, text="report")
        assert body["description"] == "Too Many Requests: retry after 7"
        assert body["parameters"] == {"retry_after": 7}
    await ok(api, "getMe")  # not a send: unaffected
    await ok(api, "sendMessage", chat_id=alice.id, text="report")


async def test_flood_limits_per_chat_with_a_burst(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, clock: FakeClock
) -> None:
    await started(emu, alice)
    emu.set_flood_limits(FloodLimits(per_chat_per_second=1, per_chat_burst=3))
    for n in range(3):
        await ok(api, "sendMessage", chat_id=alice.id, text=f"burst {n}")
    body = await fails(api, "sendMessage", 429, chat_id=alice.id, text="one too many")
    assert body["parameters"]["retry_after"] == 1
    clock.advance(1.0)
    await ok(api, "sendMessage", chat_id=alice.id, text="after waiting")


async def test_flood_limits_per_group_per_minute(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, clock: FakeClock
) -> None:
    group = emu.group(-4001, "Warehouse", members=[alice])
    emu.set_flood_limits(FloodLimits(per_chat_per_second=100, per_chat_burst=100))
    for n in range(20):
        await ok(api, "sendMessage", chat_id=group.id, text=f"alert {n}")
    body = await fails(api, "sendMessage", 429, chat_id=group.id, text="alert 21")
    assert 1 <= body["parameters"]["retry_after"] <= 60
    clock.advance(60.0)
    await ok(api, "sendMessage", chat_id=group.id, text="next minute")


async def test_flood_control_is_off_by_default(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    for n in range(10):
        await ok(api, "sendMessage", chat_id=alice.id, text=f"fast {n}")


async def test_blocked_user_is_403(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    emu.block(alice)
    body = await fails(api, "sendMessage", 403, chat_id=alice.id, text="overdue invoice")
    assert body["description"] == "Forbidden: bot was blocked by the user"
    emu.unblock(alice)
    await ok(api, "sendMessage", chat_id=alice.id, text="welcome back")


async def test_migrated_group_answers_with_migrate_to_chat_id(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    group = emu.group(-4001, "Warehouse", members=[alice])
    supergroup = emu.migrate(group)
    assert str(supergroup.id).startswith("-100")
    body = await fails(api, "sendMessage", 400, chat_id=group.id, text="low stock")
    assert body["description"] == "Bad Request: group chat was upgraded to a supergroup chat"
    assert body["parameters"] == {"migrate_to_chat_id": supergroup.id}
    sent = await ok(api, "sendMessage", chat_id=supergroup.id, text="low stock")
    assert sent["chat"] == {"id": supergroup.id, "type": "supergroup", "title": "Warehouse"}


async def test_kicked_bot_is_403(api: httpx.AsyncClient, emu: BotApiEmulator, alice: User) -> None:
    group = emu.group(-4001, "Warehouse", members=[alice])
    emu.kick_bot(group)
    body = await fails(api, "sendMessage", 403, chat_id=group.id, text="x")
    assert body["description"] == "Forbidden: bot was kicked from the group chat"


# callback queries --------------------------------------------------------------------------------


async def test_answer_callback_query_once_and_only_while_fresh(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User, clock: FakeClock
) -> None:
    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Ship?", reply_markup=KEYBOARD)
    first = await emu.press(alice, sent, "confirm:1")
    assert await ok(api, "answerCallbackQuery", callback_query_id=first, text="Shipped") is True
    assert emu.callback_answer(first) == {
        "text": "Shipped",
        "show_alert": False,
        "url": None,
        "cache_time": 0,
    }
    again = await fails(api, "answerCallbackQuery", 400, callback_query_id=first)
    too_old = "Bad Request: query is too old and response timeout expired or query ID is invalid"
    assert again["description"] == too_old
    unknown = await fails(api, "answerCallbackQuery", 400, callback_query_id="123")
    assert unknown["description"] == too_old
    late = await emu.press(alice, sent, "confirm:1")
    clock.advance(16)
    body = await fails(api, "answerCallbackQuery", 400, callback_query_id=late)
    assert body["description"] == too_old


async def test_pressing_a_button_that_is_not_there_needs_forging(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    from bot.emulator import EmulatorError

    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Ship?", reply_markup=KEYBOARD)
    with pytest.raises(EmulatorError):
        await emu.press(alice, sent, "confirm:999")
    query_id = await emu.press(alice, sent, "confirm:999", forge=True)
    updates = await ok(api, "getUpdates")
    assert updates[-1]["callback_query"]["id"] == query_id
    assert updates[-1]["callback_query"]["data"] == "confirm:999"


# long polling ----------------------------------------------------------------------------------


async def test_long_poll_returns_as_soon_as_a_user_sends(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    poll = asyncio.create_task(call(api, "getUpdates", timeout=30))
    bot = emu.state.bots[TOKEN]
    await emu.wait_until(lambda: bot.poll_generation == 1)  # the poll is waiting
    assert not poll.done()
    await emu.send_text(alice, "/start")
    response = await asyncio.wait_for(poll, timeout=5)  # far less than the 30 s poll
    updates = response.json()["result"]
    assert [u["message"]["text"] for u in updates] == ["/start"]
    assert updates[0]["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_offset_confirms_earlier_updates(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await emu.send_text(alice, "one")
    await emu.send_text(alice, "two")
    updates = await ok(api, "getUpdates")
    first, second = (u["update_id"] for u in updates)
    assert second == first + 1
    assert [u["update_id"] for u in await ok(api, "getUpdates")] == [first, second]  # unconfirmed
    assert [u["update_id"] for u in await ok(api, "getUpdates", offset=first + 1)] == [second]
    assert await ok(api, "getUpdates", offset=second + 1) == []
    assert emu.pending_updates() == []


async def test_limit_and_negative_offset(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    for text in ("a", "b", "c"):
        await emu.send_text(alice, text)
    assert [u["message"]["text"] for u in await ok(api, "getUpdates", limit=2)] == ["a", "b"]
    assert [u["message"]["text"] for u in await ok(api, "getUpdates", offset=-1)] == ["c"]


async def test_redelivery_keeps_the_update_id(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await emu.send_text(alice, "10 blue widget")
    (update,) = await ok(api, "getUpdates")
    assert await ok(api, "getUpdates", offset=update["update_id"] + 1) == []
    emu.redeliver(update["update_id"])
    (again,) = await ok(api, "getUpdates", offset=update["update_id"] + 1)
    assert again == update
    assert await ok(api, "getUpdates", offset=update["update_id"] + 1) == []


async def test_a_second_poller_terminates_the_first_with_409(
    api: httpx.AsyncClient, emu: BotApiEmulator
) -> None:
    bot = emu.state.bots[TOKEN]
    first = asyncio.create_task(call(api, "getUpdates", timeout=30))
    await emu.wait_until(lambda: bot.poll_generation == 1)
    assert await ok(api, "getUpdates") == []
    response = await asyncio.wait_for(first, timeout=5)
    assert response.status_code == 409
    assert response.json()["description"].startswith("Conflict: terminated by other getUpdates")


async def test_allowed_updates_filters_new_updates(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    sent = await ok(api, "sendMessage", chat_id=alice.id, text="Ship?", reply_markup=KEYBOARD)
    await ok(api, "getUpdates", offset=-1, allowed_updates=["callback_query"])
    await emu.send_text(alice, "ignored text")
    await emu.press(alice, sent, "confirm:1")
    updates = await ok(api, "getUpdates")
    assert (
        [next(k for k in u if k != "update_id") for u in updates]
        == [
            "message",  # the /start sent before the filter was set
            "callback_query",
        ][-len(updates) :]
    )
    assert all("ignored text" not in json.dumps(u) for u in updates)


# files -------------------------------------------------------------------------------------------


async def test_multipart_document_upload_get_file_and_download(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    content = b"sku,qty\nM8-BOLT,5\n"
    response = await api.post(
        "/sendDocument",
        data={"chat_id": str(alice.id), "caption": "<b>stock</b>", "parse_mode": "HTML"},
        files={"document": ("stock.csv", content, "text/csv")},
    )
    message = response.json()["result"]
    document = message["document"]
    assert document["file_name"] == "stock.csv"
    assert document["mime_type"] == "text/csv"
    assert document["file_size"] == len(content)
    assert message["caption"] == "stock"
    info = await ok(api, "getFile", file_id=document["file_id"])
    assert info["file_unique_id"] == document["file_unique_id"]
    async with httpx.AsyncClient() as client:
        downloaded = await client.get(f"{emu.base_file_url}{TOKEN}/{info['file_path']}")
    assert downloaded.status_code == 200 and downloaded.content == content
    resent = await ok(api, "sendDocument", chat_id=alice.id, document=document["file_id"])
    assert resent["document"]["file_id"] == document["file_id"]


async def test_send_photo_reads_the_size_from_the_png_header(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    response = await api.post(
        "/sendPhoto",
        data={"chat_id": str(alice.id)},
        files={"photo": ("chart.png", png_bytes(400, 100), "image/png")},
    )
    photo = response.json()["result"]["photo"]
    assert [(p["width"], p["height"]) for p in photo] == [(90, 22), (320, 80), (400, 100)]
    largest = await ok(api, "getFile", file_id=photo[-1]["file_id"])
    async with httpx.AsyncClient() as client:
        downloaded = await client.get(f"{emu.base_file_url}{TOKEN}/{largest['file_path']}")
    assert downloaded.content == png_bytes(400, 100)


async def test_send_photo_refuses_what_is_not_an_image(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    response = await api.post(
        "/sendPhoto",
        data={"chat_id": str(alice.id)},
        files={"photo": ("chart.png", b"not really a png", "image/png")},
    )
    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"


async def test_unknown_file_id(api: httpx.AsyncClient) -> None:
    body = await fails(api, "getFile", 400, file_id="nope")
    assert (
        body["description"] == "Bad Request: wrong file_id or the file is temporarily unavailable"
    )


# commands, chat actions -------------------------------------------------------------------------


async def test_commands_per_scope_and_language(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    zh = emu.user(1002, "Bo", language_code="zh")
    group = emu.group(-4001, "Warehouse", members=[alice, zh], admins=[alice])
    everyone = [{"command": "help", "description": "Help"}]
    chinese = [{"command": "help", "description": "帮助"}]
    warehouse = [{"command": "ship", "description": "Pending shipments"}]
    await ok(api, "setMyCommands", commands=everyone)
    await ok(api, "setMyCommands", commands=chinese, language_code="zh")
    await ok(
        api,
        "setMyCommands",
        commands=warehouse,
        scope={"type": "chat_administrators", "chat_id": group.id},
    )
    assert await ok(api, "getMyCommands") == everyone
    assert await ok(api, "getMyCommands", language_code="zh") == chinese
    assert await ok(api, "getMyCommands", scope={"type": "all_group_chats"}) == []
    assert emu.commands_for(alice) == everyone
    assert emu.commands_for(zh) == chinese
    assert emu.commands_for(alice, group) == warehouse
    assert emu.commands_for(zh, group) == chinese
    await ok(api, "deleteMyCommands", language_code="zh")
    assert emu.commands_for(zh) == everyone
    body = await fails(
        api, "setMyCommands", 400, commands=[{"command": "Bad Command", "description": "x"}]
    )
    assert body["description"] == "Bad Request: BOT_COMMAND_INVALID"


async def test_chat_action_and_its_validation(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    assert await ok(api, "sendChatAction", chat_id=alice.id, action="upload_photo") is True
    body = await fails(api, "sendChatAction", 400, chat_id=alice.id, action="dancing")
    assert body["description"] == "Bad Request: wrong parameter action in request"


async def test_close_and_log_out_answer_true(api: httpx.AsyncClient) -> None:
    assert await ok(api, "close") is True
    assert await ok(api, "logOut") is True


async def test_calls_are_logged_with_results_and_errors(
    api: httpx.AsyncClient, emu: BotApiEmulator, alice: User
) -> None:
    await started(emu, alice)
    await ok(api, "sendMessage", chat_id=alice.id, text="hi")
    await fails(api, "sendMessage", 400, chat_id=alice.id, text="")
    sends = emu.calls_to("sendMessage")
    assert [(c.ok, c.error_code) for c in sends] == [(True, None), (False, 400)]
    assert sends[0].params == {"chat_id": alice.id, "text": "hi"}
    assert sends[0].result["text"] == "hi"
    assert sends[1].description == "Bad Request: message text is empty"
