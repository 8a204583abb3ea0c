"""The sandbox page in headless Chromium, used as a person would: a salesperson types an order
and taps through it, the warehouse worker ships it from the group, and the card changes in
place. Screenshots land in artifacts/browser/ (git-ignored; CI keeps them)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import running_sandbox

pytest.importorskip("playwright", reason="Playwright is not installed: pip install -e '.[dev]'")
from playwright.async_api import expect

TIMEOUT_MS = 15_000
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


class ChatPage:
    """The page, through what a person sees and presses."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed request: {r.url}"))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")

    async def open(self, url: str) -> None:
        await self.page.goto(url)
        await self.page.wait_for_selector("body[data-ready=true]", timeout=TIMEOUT_MS)

    async def be(self, name: str) -> None:
        await self.page.locator("#personas .pick", has_text=name).click()
        await self.page.wait_for_selector(f"#as-who:has-text('{name}')")

    async def open_chat(self, title: str) -> None:
        await self.page.locator("#chats .pick", has_text=title).click()
        await self.page.wait_for_selector(f"#chat-title:has-text('{title}')")

    async def type(self, text: str) -> None:
        await self.page.fill("#text", text)
        await self.page.press("#text", "Enter")

    def bot_bubble(self, text: str) -> Any:
        return self.page.locator(".row:not(.out) .bubble", has_text=text).last

    async def wait_bot(self, text: str) -> Any:
        bubble = self.bot_bubble(text)
        await bubble.wait_for(timeout=TIMEOUT_MS)
        return bubble

    async def tap(self, label: str, *, in_row_with: str | None = None) -> None:
        rows = self.page.locator(".row")
        if in_row_with is not None:
            rows = rows.filter(has_text=in_row_with)
        await rows.locator(".kb-button", has_text=label).last.click()


async def test_an_order_typed_tapped_and_shipped_from_the_group(
    demo_template: Path, tmp_path: Path, browser: Any, artifacts: Path
) -> None:
    async with running_sandbox(demo_template, tmp_path) as (sandbox, _):
        context = await browser.new_context(viewport=DESKTOP, locale="en-GB")
        chat = ChatPage(await context.new_page())
        await chat.open(sandbox.url)

        # Zhang Min, a salesperson, in her private chat with the bot.
        await chat.be("Zhang Min")
        await chat.type("/order")
        await chat.wait_bot("Which customer?")
        # What people type comes back from the bot escaped, and shows as text.
        hostile = "<img src=x onerror=\"document.body.dataset.pwned='yes'\">"
        await chat.type(hostile)
        await chat.wait_bot("<img src=x")
        assert await chat.page.locator("#messages img").count() == 0
        assert await chat.page.evaluate("document.body.dataset.pwned") is None

        await chat.type("heng")
        await chat.wait_bot("no items yet")
        await chat.type("10 blue widget, 5 m8 bolt")
        await chat.wait_bot("Type more items, or tap Done.")
        await chat.tap("Done")
        await chat.wait_bot("Total:")
        await chat.tap("Confirm")
        placed = await chat.wait_bot("placed")
        number = re.search(r"SO-\d+", await placed.inner_text())
        assert number, await placed.inner_text()
        order = number.group(0)

        # The card went to the warehouse group: its entry shows something new.
        group_entry = chat.page.locator("#chats .pick", has_text="Warehouse")
        await group_entry.locator(".badge").wait_for(timeout=TIMEOUT_MS)

        # Chen Gang, the warehouse worker, opens the group and ships with the keyboard.
        await chat.be("Chen Gang")
        await chat.open_chat("Warehouse")
        card = chat.page.locator(".row", has_text=order).last
        await card.wait_for(timeout=TIMEOUT_MS)
        card_id = await card.get_attribute("data-id")
        ship = card.locator(".kb-button", has_text="Ship all")
        await ship.focus()
        await chat.page.keyboard.press("Enter")

        edited = chat.page.locator(f'.row[data-id="{card_id}"]')
        await edited.filter(has_text="Shipped by Chen Gang").wait_for(timeout=TIMEOUT_MS)
        assert await edited.locator(".kb-button").count() == 0
        assert "edited" in await edited.locator(".meta").inner_text()
        await chat.page.locator(".toast", has_text="Shipped").wait_for(timeout=TIMEOUT_MS)
        await chat.page.screenshot(path=str(artifacts / "sandbox-shipped-desktop.png"))

        # Back to Zhang Min: her chat is as she left it.
        await chat.be("Zhang Min")
        await chat.open_chat("chaterp")
        await chat.wait_bot(order)

        # The same chat on a phone-sized window: the list is a drawer, the chat fills it.
        await chat.page.set_viewport_size(PHONE)
        side = chat.page.locator("#side")
        await expect(side).not_to_be_in_viewport()  # the list hides in a drawer
        await chat.page.click("#open-side")
        await chat.page.locator("#personas .pick", has_text="Chen Gang").click()
        await chat.page.locator("#chats .pick", has_text="Warehouse").click()
        await chat.page.locator(f'.row[data-id="{card_id}"]').wait_for(timeout=TIMEOUT_MS)
        await expect(side).not_to_be_in_viewport()  # closed once a chat was chosen
        await chat.page.screenshot(path=str(artifacts / "sandbox-shipped-phone.png"))

        assert chat.problems == []
        await context.close()


async def test_an_invite_link_opens_as_someone_new(
    demo_template: Path, tmp_path: Path, browser: Any
) -> None:
    async with running_sandbox(demo_template, tmp_path) as (sandbox, _):
        context = await browser.new_context(viewport=DESKTOP)
        chat = ChatPage(await context.new_page())
        await chat.open(sandbox.url)
        await chat.be("Li Wei")
        await chat.type("/invite")
        await chat.wait_bot("Who do you want to invite?")
        await chat.tap("salesperson")
        invite = await chat.wait_bot("?start=")

        # The link is a link (the bot sent it as plain text; Telegram makes it clickable).
        await invite.locator("a", has_text="?start=").click()
        await chat.page.get_by_role("button", name="Open as someone new").click()
        await chat.wait_bot("Welcome")
        newcomer = chat.page.locator("#personas .pick[aria-current='true']")
        await newcomer.filter(has_text="Salesperson").wait_for(timeout=TIMEOUT_MS)
        assert chat.problems == []
        await context.close()


async def test_only_telegram_formatting_survives_the_page(
    demo_template: Path, tmp_path: Path, browser: Any
) -> None:
    """Whatever HTML reached the page, only Telegram's tags (as the server writes them) become
    elements; anything else is shown as text."""
    hostile = (
        '<b>bold</b> <i>it</i> <code>c</code> <pre><code class="language-py">p</code></pre>'
        "<script>document.body.dataset.pwned='1'</script>"
        "<img src=x onerror=\"document.body.dataset.pwned='1'\">"
        "<a href=\"javascript:document.body.dataset.pwned='1'\">js</a>"
        '<a href="https://example.com/" onclick="x()">click</a>'
        '<a href="https://example.com/?a=1&amp;b=2">web</a>'
        '<tg-spoiler>secret</tg-spoiler> <u style="color:red">u</u> 1 &lt; 2 /help'
    )
    async with running_sandbox(demo_template, tmp_path) as (sandbox, _):
        context = await browser.new_context(viewport=DESKTOP)
        chat = ChatPage(await context.new_page())
        await chat.open(sandbox.url)
        rebuilt = await chat.page.evaluate(
            """async (html) => {
                const { safeFragment, linkify } = await import("/static/render.js");
                const box = document.createElement("div");
                box.append(safeFragment(html));
                linkify(box);
                return {
                    tags: [...box.querySelectorAll("*")].map((e) => e.tagName.toLowerCase()),
                    attributes: [...box.querySelectorAll("*")].flatMap(
                        (e) => [...e.attributes].map((a) => a.name)),
                    links: [...box.querySelectorAll("a:not(.command)")].map((a) => a.href),
                    text: box.textContent,
                };
            }""",
            hostile,
        )
        assert chat.problems == []
        await context.close()
    # The javascript: link is a span; the link with onclick and <u style> stay text.
    assert rebuilt["tags"] == ["strong", "em", "code", "pre", "code", "span", "a", "span", "a"]
    assert set(rebuilt["attributes"]) <= {
        "href", "target", "rel", "class", "data-language", "data-command", "tabindex", "role",
        "aria-label",
    }
    assert rebuilt["links"] == ["https://example.com/?a=1&b=2"]
    assert "<script>document.body.dataset.pwned='1'</script>" in rebuilt["text"]
    assert "1 < 2" in rebuilt["text"]
