"""End-to-end harness: the real bot framework over HTTP against the Bot API emulator.

``harness`` starts the emulator, a migrated SQLite file with the seeded business of
tests/flows (Telegram ids 11–16, the warehouse group), builds the engine and the real
front end (``framework``: every test runs on python-telegram-bot and on aiogram, with the
same expected replies) pointed at the emulator, and starts it in the test's event loop. Tests
act as people (``say``, ``tap``) and every helper waits for the front end to report the
update handled, and for the outbox sender to have sent what that update queued (cards to
other chats, receipts…) — never sleeps.
"""

from __future__ import annotations

import asyncio
import inspect
import shutil
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.emulator import BotApiEmulator, Chat, User, running_emulator
from bot.emulator.state import JSON, BotAccount
from bot.engine_process import EngineSpec
from bot.runner import BotConfig, FrontEnd, build_front_end, engine_spec
from domain.model import Role
from domain.ports import LedgerPolicy, UnitOfWork
from domain.quantity import Quantity
from domain.services.orders import LineRequest, place_order
from domain.services.shipping import ship_order
from domain.services.users import create_invite
from domain.transaction import run_in_transaction
from handlers.context import EngineSettings
from notifications.limits import SendLimits
from notifications.publisher import OutboxPublisher
from notifications.service import NotificationsConfig
from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import TZ
from tests.emulator.conftest import BOT_USERNAME, TOKEN
from tests.fakes import FixedClock
from tests.flows.conftest import Business, seed_business

T = TypeVar("T")

TIMEOUT = 15.0  # generous: a loaded CI machine; nothing waits this long when things work
ANSWER_WITHIN = 10.0  # under the emulator's 15 s callback-query lifetime
SEEDED_AT = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
PEOPLE = ("owner", "sales", "sales2", "warehouse", "customer_contact", "stranger")
# The emulator enforces no flood limits unless a test turns them on; the sender keeps to
# Telegram's pace only where a test is about pacing (a group would take 3 s per message).
FAST_OUTBOX = NotificationsConfig(
    limits=SendLimits(global_per_second=1000, chat_per_second=100, group_per_minute=6000)
)


class HandledUpdates:
    """Counts the updates the front end finished (its ``on_handled`` hook) and lets tests
    wait for them."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.listeners: list[Callable[[int], None]] = []  # told of each update, as it is done
        self._changed = asyncio.Event()

    def __call__(self, update_id: int) -> None:
        self.counts[update_id] += 1
        for listener in self.listeners:
            listener(update_id)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{what} not handled within {timeout} s")
            with suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


@dataclass
class Press:
    """A button press: its callback query id, the updates it queued, and what it caused."""

    query_id: str
    update_ids: list[int]
    answer: JSON | None
    messages: list[JSON]  # bot messages sent or edited in the chat since it was last read


@dataclass
class Harness:
    emu: BotApiEmulator
    framework: str
    config: BotConfig
    database: Database
    business: Business
    people: dict[str, User]
    group: Chat
    handled: HandledUpdates
    engine_process: EngineSpec | None = None  # the engine in a child process, as in production
    front: FrontEnd | None = None
    fronts: list[FrontEnd] = field(default_factory=list)

    # --- people -------------------------------------------------------------------------------

    @property
    def owner(self) -> User:
        return self.people["owner"]

    @property
    def sales(self) -> User:
        return self.people["sales"]

    @property
    def sales2(self) -> User:
        return self.people["sales2"]

    @property
    def warehouse(self) -> User:
        return self.people["warehouse"]

    @property
    def customer(self) -> User:
        return self.people["customer_contact"]

    @property
    def stranger(self) -> User:
        return self.people["stranger"]

    @property
    def account(self) -> BotAccount:
        return self.emu.state.bots[TOKEN]

    # --- the bot ------------------------------------------------------------------------------

    async def start(self, **config_changes: Any) -> FrontEnd:
        """Start a new front end on the same database (a restart, or another instance)."""
        if config_changes:
            self.config = replace(self.config, **config_changes)
        front = build_front_end(
            self.framework,
            self.config,
            self.database.uow,
            on_handled=self.handled,
            engine_process=self.engine_process,
            reader_factory=self.database.reader,
        )
        self.fronts.append(front)
        await front.start()
        self.front = front
        return front

    async def stop(self) -> None:
        if self.front is not None:
            front, self.front = self.front, None
            await front.stop()

    async def restart(self) -> FrontEnd:
        await self.stop()
        return await self.start()

    # --- acting -------------------------------------------------------------------------------

    async def queued(self, action: Awaitable[Any] | Callable[[], Any]) -> list[int]:
        """Run a user action (a coroutine, or a plain call like ``emu.block``); the ids of the
        updates it queued for the bot."""
        first = self.account.next_update_id
        outcome = action() if callable(action) else action
        if inspect.isawaitable(outcome):
            await outcome
        return list(range(first, self.account.next_update_id))

    async def settle(self, update_ids: Iterable[int], *, timeout: float = TIMEOUT) -> None:
        """Wait until the bot has handled each of ``update_ids`` once more than it had."""
        wanted = Counter(update_ids)
        target = {uid: self.handled.counts[uid] + n for uid, n in wanted.items()}
        await self.handled.wait(
            lambda: all(self.handled.counts[uid] >= n for uid, n in target.items()),
            timeout,
            f"updates {sorted(target)}",
        )
        await self.sent(timeout=timeout)

    async def settle_new(self, update_ids: Iterable[int], *, timeout: float = TIMEOUT) -> None:
        """Wait until each of these (never handled before) updates is handled."""
        ids = list(update_ids)
        await self.handled.wait(
            lambda: all(self.handled.counts[uid] >= 1 for uid in ids),
            timeout,
            f"updates {ids}",
        )
        await self.sent(timeout=timeout)

    async def sent(self, *, timeout: float = TIMEOUT) -> None:
        """Wait until the outbox sender has sent everything that is due."""
        if self.front is not None and self.front.notifications is not None:
            await self.front.notifications.idle(timeout)

    async def say(
        self, user: User, text: str, chat: Chat | int | None = None, *, timeout: float = TIMEOUT
    ) -> list[JSON]:
        """``user`` types ``text``; returns the bot's new messages in that chat once handled."""
        ids = await self.queued(self.emu.send_text(user, text, chat))
        await self.settle_new(ids, timeout=timeout)
        return self.read(chat if chat is not None else user)

    async def tap(
        self,
        user: User,
        label: str,
        chat: Chat | int | None = None,
        *,
        message: JSON | None = None,
        timeout: float = TIMEOUT,
    ) -> Press:
        """``user`` presses the button labelled ``label`` on ``message`` (default: the newest
        bot message in the chat that has one); waits until the press is handled."""
        where = chat if chat is not None else user
        target = message or self.with_button(where, label)
        query: list[str] = []

        async def press() -> None:
            query.append(await self.emu.tap(user, target, label))

        ids = await self.queued(press())
        await self.settle_new(ids, timeout=timeout)
        return Press(query[0], ids, self.emu.callback_answer(query[0]), self.read(where))

    async def redeliver(self, update_id: int, *, timeout: float = TIMEOUT) -> None:
        """Deliver an update again with the same update_id and wait until it is handled."""
        self.emu.redeliver(update_id)
        await self.settle([update_id], timeout=timeout)

    # --- reading ------------------------------------------------------------------------------

    def read(self, chat: Chat | User | int) -> list[JSON]:
        """Bot messages sent or edited in ``chat`` since the last read (marks them read)."""
        conversation = self.emu.state.conversation(self.account, _chat_id(chat))
        seen = [
            a.message
            for a in conversation.activity[conversation.read_cursor :]
            if a.kind in ("sent", "edited")
        ]
        conversation.read_cursor = len(conversation.activity)
        return seen

    def bot_messages(self, chat: Chat | User | int) -> list[JSON]:
        """The bot's messages in ``chat`` as they look now."""
        return [m for m in self.emu.messages(_chat_id(chat)) if m["from"]["is_bot"]]

    def texts(self, chat: Chat | User | int) -> list[str]:
        return [m.get("text", m.get("caption", "")) for m in self.bot_messages(chat)]

    def last(self, chat: Chat | User | int) -> JSON:
        shown = self.bot_messages(chat)
        assert shown, f"the bot has not written in chat {_chat_id(chat)}"
        return shown[-1]

    def with_button(self, chat: Chat | User | int, label: str) -> JSON:
        wanted = label.casefold()
        for shown in reversed(self.bot_messages(chat)):
            labels = [text for row in self.emu.buttons(shown) for text, _ in row]
            if any(wanted in text.casefold() for text in labels):
                return shown
        raise AssertionError(f"no bot message in chat {_chat_id(chat)} has a button {label!r}")

    def failed_calls(self, method: str | None = None) -> list[Any]:
        return [
            c
            for c in self.emu.calls
            if not c.ok and c.method != "getUpdates" and (method is None or c.method == method)
        ]

    # --- the database -------------------------------------------------------------------------

    def run(self, work: Callable[[UnitOfWork], T]) -> T:
        return run_in_transaction(self.database.uow, work)

    def ship_long_ago(self, product_id: int, quantity: Quantity, *, days: int = 40) -> None:
        """ACME ordered ``quantity`` and got it ``days`` ago: an invoice now overdue (terms 30)."""
        b = self.business
        clock = self.database.clock
        today = clock.now()
        clock.set(today - timedelta(days=days))
        try:
            placed = self.run(
                lambda uow: place_order(
                    uow,
                    actor=b.actor("sales"),
                    customer_id=b.acme.id,
                    lines=[LineRequest(product_id, quantity)],
                    idempotency_key="long-ago",
                )
            )
            self.run(
                lambda uow: ship_order(uow, actor=b.actor("warehouse"), order_id=placed.order.id)
            )
        finally:
            clock.set(today)

    def invite(self, role: Role, *, customer_id: int | None = None, name: str = "") -> str:
        """A fresh invite token, issued by the owner."""
        owner = self.business.actor("owner")
        issued = self.run(
            lambda uow: create_invite(
                uow, actor=owner, role=role, customer_id=customer_id, name=name
            )
        )
        return issued.token


def ledger(h: Harness) -> tuple[object, ...]:
    """Everything people could change through the bot, read from the database: compare two
    readings to show that nothing changed."""

    def read(uow: UnitOfWork) -> tuple[object, ...]:
        customers = uow.customers.list(active_only=False)
        orders = uow.orders.list(limit=10_000)
        return (
            orders,
            customers,
            uow.stock.all(),
            uow.stock.moves(),
            [uow.invoices.for_customer(c.id) for c in customers],
            [uow.payments.for_customer(c.id) for c in customers],
            [uow.shipments.for_order(o.id) for o in orders],
            uow.products.list(active_only=False),
            uow.users.list(active_only=False),
            uow.chat_topics.titles("shipping"),
            len(uow.audit.list()),
        )

    return h.run(read)


def _chat_id(chat: Chat | User | int) -> int:
    return chat if isinstance(chat, int) else chat.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- fixtures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    path: Path
    business: Business


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """A migrated SQLite file with the seeded business, built once and copied for each test."""
    path = tmp_path_factory.mktemp("e2e") / "seeded.db"
    db = Database(f"sqlite:///{path}", clock=FixedClock(SEEDED_AT), policy=LedgerPolicy())
    upgrade(db.engine)
    business = seed_business(db.uow)
    db.dispose()  # folds the WAL into the file, so a plain copy is complete
    assert not path.with_name(path.name + "-wal").exists()
    return Template(path, business)


@asynccontextmanager
async def open_harness(
    framework: str,
    template: Template,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
    *,
    start: bool = True,
    engine_process: bool = False,
    **config: Any,
) -> AsyncIterator[Harness]:
    """With ``engine_process`` the engine runs in a child process on the same file, with a
    copy of ``clock`` (the test's later ``clock.advance`` does not reach it)."""
    path = tmp_path / "chaterp.db"
    shutil.copyfile(template.path, path)
    database = Database(
        f"sqlite:///{path}",
        clock=clock,
        policy=policy,
        publisher=OutboxPublisher(EngineSettings(default_language="en")),
    )
    async with running_emulator() as emu:
        emu.add_bot(TOKEN, username=BOT_USERNAME, first_name="chaterp")
        people = {key: _emulated(emu, getattr(template.business, key)) for key in PEOPLE}
        account = emu.state.bots[TOKEN]
        for key, person in people.items():
            if key != "stranger":  # the seeded people joined with /start long ago
                account.started.add(person.id)
        # The bot is a group admin, as the README asks (else privacy mode hides plain text).
        group = emu.group(
            template.business.group_id,
            "Warehouse",
            members=[people["owner"], people["warehouse"], people["sales"]],
            admins=[people["owner"]],
            bot_is_admin=True,
        )
        harness = Harness(
            emu=emu,
            framework=framework,
            config=BotConfig(
                token=TOKEN,
                api_base_url=emu.url,
                default_language="en",
                poll_timeout=5.0,
                # Presses show their toast unless handling takes longer than this; a slow CI
                # machine must not turn toasts into messages (Telegram allows ~15 s).
                answer_within=ANSWER_WITHIN,
                notifications=FAST_OUTBOX,
                **config,
            ),
            database=database,
            business=template.business,
            people=people,
            group=group,
            handled=HandledUpdates(),
            engine_process=(
                replace(engine_spec(database.url, policy), clock=clock) if engine_process else None
            ),
        )
        try:
            if start:
                await harness.start()
            yield harness
        finally:
            await harness.stop()
            database.dispose()


def _emulated(emu: BotApiEmulator, person: Any) -> User:
    first, _, last = person.name.partition(" ")
    return emu.user(person.telegram_id, first, last or None, language_code=person.language)


@pytest.fixture
async def harness(
    framework: str,
    seeded_template: Template,
    tmp_path: Path,
    clock: FixedClock,
    policy: LedgerPolicy,
) -> AsyncIterator[Harness]:
    async with open_harness(framework, seeded_template, tmp_path, clock, policy) as opened:
        yield opened


def texts_of(messages: Sequence[JSON]) -> list[str]:
    return [m.get("text", m.get("caption", "")) for m in messages]
