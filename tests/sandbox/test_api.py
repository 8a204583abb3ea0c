"""The sandbox's server side, as the page uses it: people, chats, typing, buttons, files, live
events, jobs and restarts, with the real bot answering over HTTP (on python-telegram-bot and on
aiogram: each test that talks to the bot runs on both)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import pytest

from bot.runner import StartupError
from bot.sandbox import JobInfo, Sandbox
from bot.sandbox.web import STATIC
from tests.sandbox.conftest import (
    CUSTOMER,
    GROUP,
    OWNER,
    SALES,
    WAREHOUSE,
    PageClient,
    running_sandbox,
)


async def place_order(page: PageClient, customer: str = "heng") -> str:
    """The salesperson orders two lines for a customer; returns the order number."""
    start = page.mark()
    await page.say(SALES, "/order")
    await page.bot_says(SALES, "Which customer?", after=start)
    await page.say(SALES, customer)
    await page.bot_says(SALES, "no items yet", after=start)
    await page.say(SALES, "10 blue widget, 5 m8 bolt")
    lines = await page.bot_says(SALES, "Type more items, or tap Done.", after=start)
    await page.press(SALES, lines, "Done")
    review = await page.bot_says(SALES, "Total:", after=start)
    await page.press(SALES, review, "Confirm")
    placed = await page.bot_says(SALES, "placed", after=start)
    found = re.search(r"SO-\d+", placed["html"])
    assert found, placed["html"]
    return found.group(0)


async def test_the_demo_people_and_their_chats(sandbox_page: tuple[Sandbox, PageClient]) -> None:
    _, page = sandbox_page
    overview = await page.get("/api/sandbox")
    people = {p["name"]: p for p in overview["personas"]}
    assert [p["role"] for p in overview["personas"]] == [
        "owner",
        "sales",
        "sales",
        "warehouse",
        "customer",
        "customer",
    ]
    assert people["Li Wei"]["role"] == "owner"
    assert people["Wang Fang"]["language"] == "zh-hans"
    assert people["Liu Yang"]["customer"] == "恒通五金店"
    staff_chats = [c["kind"] for c in people["Chen Gang"]["chats"]]
    assert staff_chats == ["private", "group"]
    assert [c["kind"] for c in people["Liu Yang"]["chats"]] == ["private"]
    assert [j["name"] for j in overview["jobs"]] == [
        "daily-summary",
        "overdue-receivables",
        "low-stock-digest",
        "birthdays",
    ]


async def test_the_real_jobs_run_from_the_page_and_reach_the_chats(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    """Monday 15:00: the 09:00 reminders were made up when the sandbox started (the 08:30
    digest is older than the 6-hour grace); the page sends the others when asked, once."""
    _, page = sandbox_page
    start = page.mark()
    ran = await page.post("/api/jobs/daily-summary", {})
    assert ran["summary"] != "Nothing new to send (already sent today, or nothing to report)."
    summary = await page.bot_says(OWNER, "Daily summary", after=start)
    assert "💰" in summary["html"]
    again = await page.post("/api/jobs/daily-summary", {})
    assert again["summary"].startswith("Nothing new to send")
    shown = (await page.read(SALES))["messages"]
    assert any("Your overdue customers" in m["html"] for m in shown)
    start = page.mark()
    await page.post("/api/jobs/low-stock-digest", {})
    digest = await page.bot_says(WAREHOUSE, "Low stock", after=start)
    assert "reorder point" in digest["html"]


async def test_an_order_typed_and_tapped_reaches_the_warehouse_group_and_ships(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    _, page = sandbox_page
    start = page.mark()
    number = await place_order(page)
    card = await page.bot_says(GROUP, number, after=start)
    assert card["buttons"], "the shipping card has buttons"

    query = await page.press(WAREHOUSE, card, "Ship all")
    shipped = await page.wait_for(
        lambda e: e["kind"] == "edited"
        and e["chat_id"] == GROUP
        and e["message"]["id"] == card["id"]
        and "Shipped by Chen Gang" in e["message"]["html"],
        "the card edited in place",
        after=start,
    )
    assert shipped["message"]["edited"] is True
    assert shipped["message"]["buttons"] == []
    answer = await page.wait_for(
        lambda e: e["kind"] == "callback_answer" and e["data"]["callback_query_id"] == query,
        "the press answered",
    )
    assert answer["data"]["message_id"] == card["id"]

    # What a page opening the group now reads: the card as it is after the edit.
    group = await page.read(WAREHOUSE, GROUP)
    (now,) = [m for m in group["messages"] if m["id"] == card["id"]]
    assert "Shipped by Chen Gang" in now["html"]


async def test_a_salesperson_cannot_ship(sandbox_page: tuple[Sandbox, PageClient]) -> None:
    _, page = sandbox_page
    start = page.mark()
    number = await place_order(page)
    card = await page.bot_says(GROUP, number, after=start)
    query = await page.press(SALES, card, "Ship all")
    answer = await page.wait_for(
        lambda e: e["kind"] == "callback_answer" and e["data"]["callback_query_id"] == query,
        "the refusal",
    )
    assert answer["data"]["text"]
    group = await page.read(OWNER, GROUP)
    (still,) = [m for m in group["messages"] if m["id"] == card["id"]]
    assert "Shipped" not in still["html"] and still["buttons"]


async def test_reply_keyboard_and_share_contact(sandbox_page: tuple[Sandbox, PageClient]) -> None:
    _, page = sandbox_page
    start = page.mark()
    await page.say(SALES, "/customer")
    await page.bot_says(SALES, "name", after=start)
    await page.say(SALES, "Harbour Lights Hardware")
    await page.bot_says(SALES, "Phone number?", after=start)
    chat = await page.read(SALES)
    keyboard = chat["reply_keyboard"]
    assert keyboard is not None
    assert any(b["request_contact"] for row in keyboard["rows"] for b in row)

    await page.post(f"/api/chats/{SALES}/contact", {"persona": SALES})
    await page.bot_says(SALES, "+86 139 1000 0002", after=start)  # Zhang Min's number
    shown = await page.read(SALES)
    contact = [m for m in shown["messages"] if "contact" in m]
    assert contact and contact[-1]["contact"]["phone"] == "+86 139 1000 0002"
    assert shown["reply_keyboard"] is None  # the bot removed it after the answer


async def test_bot_text_is_escaped_and_commands_menu_is_listed(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    _, page = sandbox_page
    start = page.mark()
    await page.say(SALES, "/order")
    await page.bot_says(SALES, "Which customer?", after=start)
    await page.say(SALES, '<img src=x onerror="alert(1)">')
    reply = await page.wait_for(
        lambda e: e["kind"] in ("message", "edited")
        and e["message"]["from"]["is_bot"]
        and "img" in e["message"]["html"],
        "the bot repeating the odd name",
        after=start,
    )
    assert "<img" not in reply["message"]["html"]
    assert "&lt;img" in reply["message"]["html"]
    chat = await page.read(SALES)
    commands = {c["command"] for c in chat["commands"]}
    assert {"order", "customer", "help"} <= commands
    assert "invite" not in commands  # the owner's, not a salesperson's


async def test_documents_upload_and_download(sandbox_page: tuple[Sandbox, PageClient]) -> None:
    _, page = sandbox_page
    form = aiohttp.FormData()
    form.add_field("persona", str(OWNER))
    form.add_field(
        "file", b"sku,name\nX-1,Thing\n", filename="價格 list.csv", content_type="text/csv"
    )
    async with page.session.post(f"{page.base}/api/chats/{OWNER}/documents", data=form) as sent:
        assert sent.status == 200, await sent.text()
    chat = await page.read(OWNER)
    (document,) = [m["document"] for m in chat["messages"] if "document" in m]
    assert document["name"] == "價格 list.csv"
    async with page.session.get(page.base + document["url"]) as download:
        assert download.status == 200
        assert await download.read() == b"sku,name\nX-1,Thing\n"
        assert download.headers["Content-Disposition"].startswith("attachment;")


async def test_people_only_act_in_their_own_chats(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    _, page = sandbox_page
    await page.post(
        f"/api/chats/{GROUP}/messages", {"persona": CUSTOMER, "text": "hi"}, expect=403
    )
    await page.post(
        f"/api/chats/{OWNER}/messages", {"persona": SALES, "text": "hi"}, expect=403
    )
    await page.post(f"/api/chats/{SALES}/messages", {"persona": 42, "text": "hi"}, expect=404)
    await page.post(f"/api/chats/{SALES}/messages", {"persona": SALES, "text": "  "}, expect=400)
    await page.post(
        f"/api/chats/{SALES}/press",
        {"persona": SALES, "message_id": 999, "data": "x"},
        expect=400,
    )
    async with page.session.get(f"{page.base}/api/chats/{GROUP}/messages?persona={CUSTOMER}") as r:
        assert r.status == 403


async def test_other_web_sites_cannot_drive_the_sandbox(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    _, page = sandbox_page
    before = (await page.read(SALES))["messages"]  # (the morning's reminders, made up)
    await page.post(
        f"/api/chats/{SALES}/messages",
        {"persona": SALES, "text": "/help"},
        expect=403,
        Origin="http://evil.example",
    )
    async with page.session.post(
        f"{page.base}/api/chats/{SALES}/messages",
        data="persona=100002&text=/help",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ) as form_post:
        assert form_post.status == 415
    assert (await page.read(SALES))["messages"] == before


async def test_the_page_loads_nothing_from_elsewhere(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    _, page = sandbox_page
    async with page.session.get(page.base + "/") as index:
        assert index.status == 200
        html = await index.text()
        policy = index.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert '<script type="module" src="/static/app.js">' in html
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), path.name
        assert "@import" not in text and "url(http" not in text, path.name
    async with page.session.get(page.base + "/static/app.js") as script:
        assert script.status == 200


async def test_a_newcomer_joins_with_an_invite_link(
    sandbox_page: tuple[Sandbox, PageClient],
) -> None:
    _, page = sandbox_page
    start = page.mark()
    newcomer = await page.post("/api/personas", {})
    assert newcomer["role"] == "newcomer"
    await page.wait_for(lambda e: e["kind"] == "personas", "the people list changing")

    await page.say(OWNER, "/invite warehouse")
    invite = await page.bot_says(OWNER, "?start=", after=start)
    token = re.search(r"\?start=([A-Za-z0-9_-]+)", invite["html"])
    assert token, invite["html"]
    joined_at = page.mark()
    await page.say(newcomer["id"], f"/start {token.group(1)}")
    await page.bot_says(newcomer["id"], "Welcome", after=start)
    await page.wait_for(lambda e: e["kind"] == "personas", "the newcomer listed", after=joined_at)
    people = {p["id"]: p for p in (await page.get("/api/sandbox"))["personas"]}
    assert people[newcomer["id"]]["role"] == "warehouse"
    assert [c["kind"] for c in people[newcomer["id"]]["chats"]] == ["private", "group"]


class ScriptedJobs:
    """Stands in for the scheduler: records runs; "broken" fails."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def jobs(self) -> Sequence[JobInfo]:
        return (
            JobInfo("daily_summary", "Daily summary", "Sales, margin and a chart to owners"),
            JobInfo("broken", "Broken job"),
        )

    async def run(self, name: str) -> str:
        self.ran.append(name)
        if name == "broken":
            raise RuntimeError("the chart could not be drawn")
        return "sent to 1 owner"


async def test_jobs_can_be_run_now(demo_template: Path, tmp_path: Path) -> None:
    jobs = ScriptedJobs()
    async with running_sandbox(demo_template, tmp_path, jobs=jobs) as (_, page):
        overview = await page.get("/api/sandbox")
        assert [j["label"] for j in overview["jobs"]] == ["Daily summary", "Broken job"]
        ran = await page.post("/api/jobs/daily_summary", {})
        assert ran == {"job": "daily_summary", "summary": "sent to 1 owner"}
        failed = await page.post("/api/jobs/broken", {}, expect=500)
        assert "terminal" in failed["error"]
        await page.post("/api/jobs/nope", {}, expect=404)
    assert jobs.ran == ["daily_summary", "broken"]


async def test_a_restart_keeps_the_chats_and_the_bot_still_answers(
    demo_template: Path, tmp_path: Path, framework: str
) -> None:
    async with running_sandbox(demo_template, tmp_path, framework=framework) as (_, page):
        await page.say(SALES, "/help")
        await page.bot_says(SALES, "/order")
        before = (await page.read(SALES))["messages"]
    async with running_sandbox(
        demo_template, tmp_path, fresh_copy=False, framework=framework
    ) as (_, page):
        assert (await page.read(SALES))["messages"] == before
        # Update and message ids go on from where they were: the bot neither ignores the
        # next message as a redelivery nor reuses an id it may still edit.
        await page.say(SALES, "/help")
        reply = await page.bot_says(SALES, "/order")
        assert reply["id"] > max(m["id"] for m in before)


async def test_a_busy_port_is_explained(demo_template: Path, tmp_path: Path) -> None:
    async with running_sandbox(demo_template, tmp_path) as (first, _):
        port = int(first.url.rsplit(":", 1)[1])
        second = tmp_path / "second"
        second.mkdir()
        with pytest.raises(StartupError, match="SANDBOX_PORT"):
            async with running_sandbox(demo_template, second, port=port):
                pass
