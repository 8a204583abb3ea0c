"""The real front end over HTTP against the Bot API emulator: Telegram hygiene end to end.

Every wait is on an emulator or front-end event with a timeout; nothing sleeps and nothing
asserts on wall-clock time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Chat, Message, Update
from telegram import User as TgUser
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.emulator import running_emulator
from bot.emulator.state import JSON
from bot.engine_process import EngineProcess
from bot.logging_setup import TOKEN_PATTERN
from bot.ptb.processor import PerChatUpdateProcessor
from bot.runner import StartupError, build_front_end
from bot.settings import get_settings
from domain.model import OrderStatus, Role, SalesOrder
from domain.money import Money
from domain.ports import LedgerPolicy
from domain.quantity import Quantity
from domain.services.catalog import ProductDraft, save_product
from handlers.context import EngineSettings
from handlers.engine import apology
from handlers.incoming import ChatType, Incoming
from handlers.replies import Button, InlineKeyboard, SendDocument, SendPhoto, SendText, Toast
from handlers.text import MAX_MESSAGE_CHARS
from notifications.sender import SenderConfig
from tests.e2e.conftest import (
    TIMEOUT,
    Harness,
    Template,
    free_port,
    open_harness,
    texts_of,
)
from tests.emulator.conftest import TOKEN, png_bytes
from tests.fakes import FixedClock

# PTB warns when it builds RetryAfter (its retry_after type changes in v23); not ours to fix.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"
)


@pytest.fixture(params=["threads", "process"])
async def harness(
    request: pytest.FixtureRequest,
    framework: str,
    seeded_template: Template,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> AsyncIterator[Harness]:
    """Every test here twice: the engine in worker threads, and in its own process (as
    ``chaterp run`` runs it), so the hooks delivery calls (tracked cards, 403, migrated
    groups) are shown to reach the engine either way."""
    process = request.param == "process"
    async with open_harness(
        framework, seeded_template, tmp_path, clock, policy, engine_process=process
    ) as opened:
        yield opened


# --- helpers ----------------------------------------------------------------------------------


def orders(h: Harness) -> list[SalesOrder]:
    return list(reversed(h.run(lambda uow: uow.orders.list(limit=1000))))


def answers_for(h: Harness, query_id: str) -> list[Any]:
    """Every answerCallbackQuery call for one press (failed ones included)."""
    return [
        c
        for c in h.emu.calls_to("answerCallbackQuery")
        if c.params.get("callback_query_id") == query_id
    ]


def blocked(h: Harness, telegram_id: int) -> bool:
    user = h.run(lambda uow: uow.users.by_telegram_id(telegram_id))
    assert user is not None
    return user.blocked_bot


async def order_to_review(h: Harness, lines: str = "10 blu widgt, 5 m8 bolt") -> JSON:
    """As the salesperson: /order for ACME, type lines, press Done; the review card."""
    assert "Which customer?" in texts_of(await h.say(h.sales, "/order"))[-1]
    assert "Order for ACME Trading" in texts_of(await h.say(h.sales, "acme tradng"))[-1]
    await h.say(h.sales, lines)
    pressed = await h.tap(h.sales, "Done")
    review = pressed.messages[-1]
    assert [label for row in h.emu.buttons(review) for label, _ in row] == [
        "✅ Confirm",
        "✏️ Edit",
        "✖ Cancel",
    ]
    return review


# --- joining and menus ------------------------------------------------------------------------


async def test_start_with_an_invite_link_binds_the_role_and_sets_a_personal_menu(
    harness: Harness,
) -> None:
    h = harness
    token = h.invite(Role.SALES, name="Nina")
    nina = h.emu.user(21, "Nina", "New", language_code="en")
    # a stranger sees the default menu: nothing but start and help
    assert [c["command"] for c in h.emu.commands_for(nina)] == ["start", "help"]

    (welcome,) = await h.say(nina, f"/start {token}")
    assert welcome["text"] == (
        "Welcome, Nina! You joined as salesperson. Type /help to see what you can do."
    )
    user = h.run(lambda uow: uow.users.by_telegram_id(21))
    assert user is not None and user.role is Role.SALES
    menu = [c["command"] for c in h.emu.commands_for(nina)]
    assert {"order", "customer", "help", "cancel"} <= set(menu)
    assert not {"invite", "users", "receive"} & set(menu)
    scope = h.emu.calls_to("setMyCommands")[-1].params["scope"]
    assert (json.loads(scope) if isinstance(scope, str) else scope) == {
        "type": "chat",
        "chat_id": 21,
    }

    # the same link again, by someone else: refused, clearly
    mallory = h.emu.user(22, "Mallory", language_code="en")
    (refused,) = await h.say(mallory, f"/start {token}")
    assert "invite" in refused["text"].lower()
    assert h.run(lambda uow: uow.users.by_telegram_id(22)) is None
    assert h.failed_calls() == []


async def test_a_chinese_speaker_gets_the_chinese_default_menu(harness: Harness) -> None:
    h = harness
    li = h.emu.user(23, "Li", language_code="zh-hans")
    english = h.emu.commands_for(h.stranger)
    chinese = h.emu.commands_for(li)
    assert [c["command"] for c in chinese] == ["start", "help"]
    assert chinese != english


# --- an order by typing and tapping -----------------------------------------------------------


async def test_an_order_placed_by_typing_and_tapping(harness: Harness) -> None:
    h = harness
    review = await order_to_review(h)
    assert "Total: CN¥300.00" in review["text"]
    assert orders(h) == []

    confirmed = await h.tap(h.sales, "Confirm", message=review)
    assert confirmed.answer is not None  # the press was answered…
    assert [c.ok for c in answers_for(h, confirmed.query_id)] == [True]  # …exactly once
    assert texts_of(confirmed.messages)[-1] == "✅ SO-000001 placed. Total CN¥300.00."
    [order] = orders(h)
    assert order.status is OrderStatus.CONFIRMED
    assert order.created_by == h.business.users["sales"].id
    # the warehouse hears about it, and the card is tracked where it landed
    card = h.last(h.warehouse)
    assert "SO-000001" in card["text"]
    assert h.run(lambda uow: uow.sent_messages.for_key(f"ship:{order.id}")) == [
        (h.warehouse.id, card["message_id"])
    ]
    assert h.failed_calls() == []


async def test_every_press_is_answered_once(harness: Harness) -> None:
    h = harness
    await order_to_review(h)
    await h.tap(h.sales, "Confirm")
    queries = {c.params["callback_query_id"] for c in h.emu.calls_to("answerCallbackQuery")}
    assert len(queries) == 2  # Done and Confirm
    for query_id in queries:
        assert len(answers_for(h, query_id)) == 1


# --- redelivery and double taps ---------------------------------------------------------------


async def test_a_redelivered_update_changes_nothing(harness: Harness) -> None:
    h = harness
    await order_to_review(h)
    confirmed = await h.tap(h.sales, "Confirm")
    [order] = orders(h)
    sent_before = len(h.emu.calls_to("sendMessage"))

    await h.redeliver(confirmed.update_ids[0])  # the Confirm press, same update_id
    typed = await h.queued(h.emu.send_text(h.sales, "/orders"))
    await h.settle_new(typed)
    await h.redeliver(typed[0])  # and a typed command

    assert orders(h) == [order]
    assert len(h.emu.calls_to("sendMessage")) == sent_before + 1  # only /orders' own reply
    assert h.handled.counts[confirmed.update_ids[0]] == 2


async def test_a_double_tap_on_confirm_places_one_order(harness: Harness) -> None:
    h = harness
    review = await order_to_review(h)
    first = await h.queued(h.emu.tap(h.sales, review, "Confirm"))
    second = await h.queued(h.emu.tap(h.sales, review, "Confirm"))
    await h.settle_new(first + second)

    assert len(orders(h)) == 1
    placed = [t for t in h.texts(h.sales) if "placed" in t]
    assert placed == ["✅ SO-000001 placed. Total CN¥300.00."]
    presses = {c.params["callback_query_id"] for c in h.emu.calls_to("answerCallbackQuery")}
    assert len(presses) == 3  # Done, and both Confirm presses were answered
    assert all(c.ok for c in h.emu.calls_to("answerCallbackQuery"))


# --- Telegram errors --------------------------------------------------------------------------


async def test_flood_control_during_replies_still_delivers_once(harness: Harness) -> None:
    h = harness
    h.emu.inject_429(count=1, retry_after=1, methods=["sendMessage"])
    seen = await h.say(h.sales, "/help")
    assert len(seen) == 1 and seen[0]["text"].startswith("You are Sam Sales")
    attempts = [c for c in h.emu.calls_to("sendMessage") if c.params.get("chat_id") in (12, "12")]
    assert [c.error_code for c in attempts] == [429, None]
    assert texts_of(h.bot_messages(h.sales)) == [seen[0]["text"]]


async def test_a_user_who_blocked_the_bot_is_marked_and_others_carry_on(
    harness: Harness,
) -> None:
    h = harness
    # Blocked without the bot being told (no my_chat_member): the 403 says it.
    h.account.blocked_by.add(h.warehouse.id)
    review = await order_to_review(h)
    confirmed = await h.tap(h.sales, "Confirm", message=review)
    assert texts_of(confirmed.messages)[-1].startswith("✅ SO-000001 placed.")
    assert [c.error_code for c in h.failed_calls("sendMessage")] == [403]
    assert blocked(h, h.warehouse.id)
    # the owner hears about it (once), and other people keep working
    assert texts_of(h.read(h.owner)) == [
        "⚠️ Wang Warehouse has blocked the bot, so they get no messages from it (new orders, "
        "reminders…) until they open it and press Start again."
    ]
    assert (await h.say(h.owner, "/help"))[0]["text"].startswith("You are Olga Owner")


async def test_blocking_and_unblocking_are_heard(harness: Harness) -> None:
    h = harness
    ids = await h.queued(lambda: h.emu.block(h.customer))
    await h.settle_new(ids)
    assert blocked(h, h.customer.id)
    ids = await h.queued(lambda: h.emu.unblock(h.customer))
    await h.settle_new(ids)
    assert not blocked(h, h.customer.id)


async def test_a_group_upgraded_to_a_supergroup_is_followed(harness: Harness) -> None:
    h = harness
    old = h.group.id
    h.run(lambda uow: uow.chat_topics.set(old, "shipping", True))
    ids = await h.queued(lambda: h.emu.migrate(h.group))
    await h.settle_new(ids)
    [new] = h.run(lambda uow: uow.chat_topics.chats("shipping"))
    assert new != old and str(new).startswith("-100")

    await order_to_review(h)
    await h.tap(h.sales, "Confirm")
    assert "SO-000001" in h.last(new)["text"]


# --- text hygiene -----------------------------------------------------------------------------


async def test_text_over_4096_characters_is_split(harness: Harness) -> None:
    h = harness
    owner = h.business.actor("owner")
    for n in range(120):
        draft = ProductDraft(
            sku=f"LOW-{n:03d}",
            name=f"Galvanised carriage bolt M{n:03d} x 120 mm, zinc flake coated",
            unit="box",
            price=Money(1000, "CNY"),
            cost=Money(500, "CNY"),
            reorder_point=Quantity.of(10),
        )
        h.run(lambda uow, d=draft: save_product(uow, actor=owner, draft=d))
    seen = await h.say(h.warehouse, "/stock")
    assert len(seen) >= 3
    assert all(len(m["text"]) <= MAX_MESSAGE_CHARS for m in seen)
    joined = "\n".join(m["text"] for m in seen)
    assert all(f"LOW-{n:03d}" in joined for n in range(120))

    # the same through delivery itself: one long reply with buttons, cut by the transport
    assert h.front is not None and h.front.delivery is not None
    lines = [f"{n:04d} <b>{'ab' * 20}</b> &amp; co" for n in range(300)]
    keyboard = InlineKeyboard.of([Button("OK", "c:1:ok")])
    await h.front.delivery.send([SendText("\n".join(lines), keyboard)], chat_id=h.sales.id)
    parts = h.read(h.sales)
    assert len(parts) >= 3
    assert [bool(h.emu.buttons(p)) for p in parts] == [False] * (len(parts) - 1) + [True]
    assert "\n".join(p["text"] for p in parts) == "\n".join(
        f"{n:04d} {'ab' * 20} & co" for n in range(300)
    )
    assert h.failed_calls() == []


async def test_html_in_a_customer_name_shows_literally(harness: Harness) -> None:
    h = harness
    name = "<b>x</a> & _a_ '); DROP TABLE orders;--"
    await h.say(h.sales, "/customer")
    await h.say(h.sales, name)
    await h.say(h.sales, "+86 139 1234 5678")
    await h.say(h.sales, "8 Market St <i>")
    await h.say(h.sales, "5,000")
    summary = (await h.say(h.sales, "45"))[-1]
    assert f"Name: {name}" in summary["text"]
    assert "Address: 8 Market St <i>" in summary["text"]
    saved = await h.tap(h.sales, "Save")
    assert texts_of(saved.messages)[-1] == f"✅ Saved customer {name}."
    assert h.failed_calls() == []  # the emulator refuses bad HTML: everything was escaped
    names = [c.name for c in h.run(lambda uow: uow.customers.list())]
    assert name in names


# --- ordering and concurrency -----------------------------------------------------------------


async def test_a_burst_from_one_user_is_handled_in_order(harness: Harness) -> None:
    h = harness
    await h.say(h.sales, "/customer")
    burst: list[int] = []
    for text in ("Kim Hardware", "+86 139 1234 5678", "8 Market St, Guangzhou"):
        burst += await h.queued(h.emu.send_text(h.sales, text))
    await h.settle_new(burst)
    replies = "\n".join(texts_of(h.read(h.sales)))
    steps = ["Phone number?", "📞 +86 139 1234 5678", "Address?", "Credit limit?"]
    positions = [replies.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), replies
    await h.say(h.sales, "5,000")
    summary = (await h.say(h.sales, "45"))[-1]["text"]
    assert "Name: Kim Hardware" in summary
    assert "Phone: +86 139 1234 5678" in summary
    assert "Address: 8 Market St, Guangzhou" in summary


async def test_chats_run_concurrently_but_each_in_order(harness: Harness) -> None:
    h = harness
    people = [h.owner, h.sales, h.sales2, h.warehouse]
    ids: list[int] = []
    for _ in range(3):
        for person in people:
            ids += await h.queued(h.emu.send_text(person, "/help"))
    await h.settle_new(ids)
    for person in people:
        assert len(h.bot_messages(person)) == 3
    assert h.front is not None
    assert h.front.lanes.chats == 0 and h.front.lanes.running == 0  # idle lanes are dropped


# --- groups -----------------------------------------------------------------------------------


async def test_group_commands_and_card_buttons_check_the_presser(harness: Harness) -> None:
    h = harness
    group = h.group
    h.run(lambda uow: uow.chat_topics.set(group.id, "shipping", True))
    seen = await h.say(h.warehouse, "/stock@chaterp_bot bolt", group)
    assert "M8 hex bolt 40mm" in seen[-1]["text"]
    assert await h.say(h.warehouse, "/stock@some_other_bot bolt", group) == []

    await order_to_review(h)
    await h.tap(h.sales, "Confirm")
    card = h.last(group)
    assert "SO-000001" in card["text"]
    # a salesperson in the group may not ship: the role is the presser's, not the chat's
    refused = await h.tap(h.sales, "Ship all", group, message=card)
    assert refused.answer is not None and refused.answer["show_alert"] is True
    assert "role" in (refused.answer["text"] or "").lower()
    assert orders(h)[0].status is OrderStatus.CONFIRMED
    shipped = await h.tap(h.warehouse, "Ship all", group, message=card)
    assert shipped.answer is not None
    assert "Shipped by Wang Warehouse" in h.last(group)["text"]
    assert orders(h)[0].status is not OrderStatus.CONFIRMED


# --- restarts ---------------------------------------------------------------------------------


async def test_a_crashed_engine_process_is_started_again_and_the_order_goes_on(
    seeded_template: Template, tmp_path: Path, clock: FixedClock, policy: LedgerPolicy
) -> None:
    async with open_harness(
        "ptb", seeded_template, tmp_path, clock, policy, engine_process=True
    ) as h:
        assert "Which customer?" in texts_of(await h.say(h.sales, "/order"))[-1]
        assert h.front is not None
        engine = h.front.engine_calls
        assert isinstance(engine, EngineProcess) and engine.pid is not None
        crashed = engine.pid
        os.kill(crashed, signal.SIGKILL)
        for _ in range(1000):  # until this side has seen the child go (bounded)
            if not engine.running:
                break
            await asyncio.sleep(0.01)
        assert not engine.running

        seen = await h.say(h.sales, "acme tradng")  # the draft was committed: it goes on

        assert "Order for ACME Trading" in texts_of(seen)[-1]
        assert engine.running and engine.pid not in (None, crashed)


async def test_the_engine_process_wakes_the_sender_when_an_order_queues_a_card(
    framework: str,
    seeded_template: Template,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> None:
    """The card is an outbox row committed in the child process; the child's notice wakes the
    parent's sender at once (its own look for unrung messages is an hour away here)."""
    async with open_harness(
        framework, seeded_template, tmp_path, clock, policy, start=False, engine_process=True
    ) as h:
        slow_poll = replace(h.config.notifications, sender=SenderConfig(poll_interval=3600.0))
        await h.start(notifications=slow_poll)
        review = await order_to_review(h)
        h.read(h.warehouse)
        pressed = await h.queued(h.emu.tap(h.sales, review, "Confirm"))
        await h.handled.wait(lambda: h.handled.counts[pressed[0]] >= 1, TIMEOUT, "Confirm")

        cards: list[JSON] = []
        for _ in range(1000):  # bounded: 10 s at most, never the hour-long poll
            cards += h.read(h.warehouse)
            if cards:
                break
            await asyncio.sleep(0.01)

        assert ["SO-000001" in card["text"] for card in cards] == [True]


def test_an_unreachable_engine_apologises_in_the_users_language() -> None:
    settings = EngineSettings(default_language="en")
    typed = Incoming(
        update_id=1,
        chat_id=12,
        chat_type=ChatType.PRIVATE,
        user_id=12,
        user_name="Sam",
        language_code="zh-hans",
        text="hello",
    )
    pressed = replace(typed, text=None, callback_data="c:1:x", callback_id="q1", message_id=3)

    [said] = apology(typed, settings)
    [toast] = apology(pressed, settings)

    assert (
        isinstance(said, SendText) and said.text == "抱歉，出了点问题。请先查看当前情况，再重试。"
    )
    assert isinstance(toast, Toast) and toast.alert and toast.text == said.text


async def test_a_restart_mid_order_resumes_and_hears_what_was_sent_while_down(
    harness: Harness,
) -> None:
    h = harness
    await h.say(h.sales, "/order")
    await h.say(h.sales, "acme")
    await h.say(h.sales, "10 widget")
    await h.stop()
    while_down = await h.queued(h.emu.send_text(h.sales, "5 m8 bolt"))
    await h.start()  # a new Application (and engine) on the same database
    await h.settle_new(while_down)
    assert "2 lines" in texts_of(h.read(h.sales))[-1]
    await h.tap(h.sales, "Done")
    await h.tap(h.sales, "Confirm")
    [order] = orders(h)
    assert {line.product_id for line in order.lines} == {
        h.business.widget.id,
        h.business.bolt.id,
    }


async def test_a_second_poller_stops_with_a_clear_message(harness: Harness) -> None:
    h = harness
    second = build_front_end(h.framework, h.config, h.database.uow)
    with pytest.raises(StartupError, match="Another process is polling with this bot token"):
        await asyncio.wait_for(second.serve(), TIMEOUT)
    # the first one carries on
    assert (await h.say(h.sales, "/help"))[0]["text"].startswith("You are Sam Sales")


@pytest.mark.parametrize("chosen_by", ["setting", "flag"])
async def test_chaterp_run_with_a_token_starts_the_bot_or_says_why_not(
    framework: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    chosen_by: str,
) -> None:
    refused = "5012345678:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"  # token-shaped, unknown: 401
    other = "ptb" if framework == "aiogram" else "aiogram"
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", refused)
    monkeypatch.setenv("CHATERP_FRAMEWORK", framework if chosen_by == "setting" else other)
    arguments = ["run"] if chosen_by == "setting" else ["run", "--framework", framework]
    get_settings.cache_clear()
    try:
        async with running_emulator() as emu:
            emu.add_bot(TOKEN, username="chaterp_bot")
            monkeypatch.setenv("TELEGRAM_API_BASE_URL", emu.url)
            result = await asyncio.to_thread(CliRunner().invoke, cli_app, arguments)
    finally:
        get_settings.cache_clear()
        logging.getLogger().handlers.clear()  # `chaterp` installed its own stream handler
    assert result.exit_code == 1, result.output
    assert f"Starting the bot ({framework})" in result.output
    assert "Telegram refused the bot token" in result.output
    assert refused not in result.output


# --- files ------------------------------------------------------------------------------------


async def download(h: Harness, file_id: str) -> bytes:
    """A file through the front end's own Bot, from the configured Bot API server."""
    front: Any = h.front
    if h.framework == "ptb":
        telegram_file = await front.application.bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())
    downloaded = await front.bot.download(file_id)
    assert downloaded is not None
    return bytes(downloaded.read())


async def test_files_come_from_the_configured_api_server(harness: Harness) -> None:
    h = harness
    sent: list[JSON] = []

    async def upload() -> None:
        sent.append(await h.emu.send_document(h.sales, "stock.csv", b"sku,qty\nM8,5\n"))

    await h.settle_new(await h.queued(upload()))
    assert await download(h, sent[0]["document"]["file_id"]) == b"sku,qty\nM8,5\n"
    assert [c.ok for c in h.emu.calls_to("getFile")] == [True]  # asked of the emulator


async def test_photos_and_documents_go_out_with_html_captions(harness: Harness) -> None:
    h = harness
    assert h.front is not None and h.front.delivery is not None
    chart = png_bytes(40, 20)
    await h.front.delivery.send(
        [
            SendPhoto(chart, caption="<b>Sales</b> &amp; margin", filename="sales.png"),
            SendDocument(b"sku,qty\nM8,5\n", "stock.csv", caption="<i>Stock</i>"),
        ],
        chat_id=h.owner.id,
    )
    photo, document = h.read(h.owner)
    assert photo["caption"] == "Sales & margin"
    assert photo["caption_entities"] == [{"type": "bold", "offset": 0, "length": 5}]
    assert (photo["photo"][-1]["width"], photo["photo"][-1]["height"]) == (40, 20)
    assert await download(h, photo["photo"][-1]["file_id"]) == chart
    assert (document["document"]["file_name"], document["caption"]) == ("stock.csv", "Stock")
    assert await download(h, document["document"]["file_id"]) == b"sku,qty\nM8,5\n"
    assert h.failed_calls() == []


# --- logs -------------------------------------------------------------------------------------


async def test_logs_never_contain_the_token(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.DEBUG)
    await h.restart()  # start-up (getMe, menus, polling) at DEBUG
    h.emu.inject_error(500, "Internal Server Error", methods=["sendMessage"])
    h.emu.inject_error(400, "Bad Request: chat not found", methods=["setMyCommands"])
    await h.say(h.sales, "/help")
    await order_to_review(h)
    await h.tap(h.sales, "Confirm")
    await h.stop()
    assert h.failed_calls("sendMessage")  # the forced errors happened and were logged
    logged = caplog.text + "".join((r.getMessage() + (r.exc_text or "")) for r in caplog.records)
    assert "sendMessage" in logged or "Internal Server Error" in logged
    assert TOKEN not in logged
    assert not re.search(r"\d+:[A-Za-z0-9_-]{35}", logged)
    assert not TOKEN_PATTERN.search(logged)


# --- webhook mode -----------------------------------------------------------------------------


async def test_webhook_mode_needs_the_secret(
    framework: str,
    seeded_template: Template,
    tmp_path: Any,
    clock: FixedClock,
    policy: Any,
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    async with open_harness(
        framework,
        seeded_template,
        tmp_path,
        clock,
        policy,
        webhook_url=url,
        webhook_secret="s3cret-Token_1",
        webhook_listen="127.0.0.1",
        webhook_port=port,
    ) as h:
        assert h.account.webhook is not None and h.account.webhook.url == url
        # Telegram's call is answered only once the update is handled: until then it is
        # still pending (a crash before that means Telegram sends it again).
        unanswered: list[bool] = []
        h.handled.listeners.append(
            lambda uid: unanswered.append(any(p.update_id == uid for p in h.account.pending))
        )
        seen = await h.say(h.sales, "/help")
        assert seen[0]["text"].startswith("You are Sam Sales")
        await order_to_review(h)
        assert unanswered and all(unanswered), unanswered

        update = {
            "update_id": 999,
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": 12, "type": "private", "first_name": "Sam"},
                "from": {"id": 12, "is_bot": False, "first_name": "Sam"},
                "text": "/help",
            },
        }
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            wrong = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            missing = await client.post(url, json=update)
        refused = {"ptb": 403, "aiogram": 401}[framework]  # ours, and aiogram's own handler
        assert (wrong.status_code, missing.status_code) == (refused, refused)
        assert h.handled.counts[999] == 0


# --- the PTB update processor on its own ------------------------------------------------------


def _update(update_id: int, chat_id: int) -> Update:
    user = TgUser(chat_id, "U", False)
    chat = Chat(chat_id, Chat.PRIVATE)
    message = Message(
        update_id, date=datetime(2026, 3, 2, tzinfo=UTC), chat=chat, from_user=user, text="x"
    )
    return Update(update_id, message=message)


async def test_the_processor_keeps_a_chats_order_and_overlaps_chats() -> None:
    processor = PerChatUpdateProcessor(max_concurrent=8)
    order: list[str] = []
    release_first = asyncio.Event()
    other_chat_done = asyncio.Event()

    async def work(name: str, wait: asyncio.Event | None = None) -> None:
        order.append(f"{name} start")
        if wait is not None:
            await wait.wait()
        order.append(f"{name} end")
        if name == "B1":
            other_chat_done.set()

    tasks = [
        asyncio.create_task(processor.process_update(_update(1, 1), work("A1", release_first))),
        asyncio.create_task(processor.process_update(_update(2, 1), work("A2"))),
        asyncio.create_task(processor.process_update(_update(3, 2), work("B1"))),
    ]
    await asyncio.wait_for(other_chat_done.wait(), TIMEOUT)  # chat 2 ran while A1 waited
    assert "A2 start" not in order  # chat 1's second update waits for its first
    release_first.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert order.index("A1 end") < order.index("A2 start")
    assert processor.lanes.chats == 0


async def test_the_processor_bounds_concurrency() -> None:
    processor = PerChatUpdateProcessor(max_concurrent=2)
    gate = asyncio.Event()
    started: list[int] = []
    two_running = asyncio.Event()

    async def work(chat: int) -> None:
        started.append(chat)
        if len(started) == 2:
            two_running.set()
        await gate.wait()

    tasks = [
        asyncio.create_task(processor.process_update(_update(n, n), work(n))) for n in (1, 2, 3)
    ]
    await asyncio.wait_for(two_running.wait(), TIMEOUT)
    assert processor.lanes.running == 2 and started == [1, 2]
    gate.set()
    await asyncio.wait_for(asyncio.gather(*tasks), TIMEOUT)
    assert started == [1, 2, 3] and processor.lanes.running == 0


# --- what is asked for ------------------------------------------------------------------------


async def test_edits_and_other_updates_are_not_asked_for(harness: Harness) -> None:
    h = harness
    typed: list[JSON] = []

    async def type_help() -> None:
        typed.append(await h.emu.send_text(h.sales, "/help"))

    await h.settle_new(await h.queued(type_help()))
    assert await h.queued(h.emu.edit_text(h.sales, typed[0], "/orders")) == []  # not queued
    assert set(h.account.allowed_updates) == {"message", "callback_query", "my_chat_member"}
