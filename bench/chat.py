"""Benchmark the chat front ends: the order flow over HTTP beside a bare echo bot, per framework.

Usage: python bench/chat.py [--chats 50] [--rate 100] [--seconds 10] [--runs 3]
                            [--warmup 2] [--catalog 300] [--frameworks ptb,aiogram]
                            [--profile DIR]

What is measured
  The Bot API emulator (bot/emulator) listens on localhost in this process, which also plays
  the people: N salespeople, each in their own private chat. Each bot runs in a process of its
  own, polling the emulator over HTTP, so its event loop is measured on its own:

  - order: the real front end, built as ``chaterp run`` builds it
    (``bot.runner.build_front_end(framework, ..., engine_process=...)``: the framework's
    Application or Dispatcher, our per-chat lanes, reply delivery, python-telegram-bot's
    requests over aiohttp, and the conversation engine in a child process of its own) on a
    SQLite file with a seeded business. Each salesperson runs the order flow
    again and again: ``/order`` → ``harbour hardwre 007`` (a customer's name with a typo) →
    ``Q blu widgt, 5 m8 bolt`` (two lines, fuzzy-matched) → Done → Confirm; five updates an
    order, every confirmed order also posting its shipping card to the warehouse worker's chat.
    Q changes with every order, so the "looks like SO-…, place it again?" check never fires.
  - echo: a bare bot of the same framework with one message handler that sends the text back
    (python-telegram-bot: an Application with concurrent updates on and its default httpx
    requests; aiogram: a Dispatcher handling updates as tasks; both bounded like ours, so the
    baseline is the transport, not a queue).

  Each framework (``--frameworks``, default both) gets its own pair of bots, its own bot
  accounts on the emulator and its own copy of the database, and is compared with its own
  echo bot.

  Each bot gets two phases, each ``--warmup`` seconds untimed and then ``--seconds`` timed:

  - saturation: every chat sends its next input as soon as the bot's reply to the previous one
    arrives (N updates in flight): the updates per second the bot sustains.
  - paced: ``--rate`` updates per second in total, spread evenly over the N chats (each chat
    every N/rate seconds, staggered); a chat whose reply is late sends its next input when the
    reply arrives. Update→reply latency: from the moment the emulator receives the person's
    message or button press (it queues the update for the bot) to the moment it receives the
    bot's reply message in that chat (the emulator's own message event).

  This process freezes its heap before each phase: its own full garbage collections (the
  emulator keeps every message) would otherwise stop the people for 0.1-0.6 s and hand the
  bot the updates due meanwhile all at once; the longest one left in each paced window is
  printed ("emulator's full GC pauses").

  In the bot's process a task sleeps 1 ms in a loop and records how late it wakes up: the
  event-loop lag (p99 and max; a stall is lag over 10 ms), over each timed window. The order
  bot also times, per update, the engine step (as its event loop waits for it, and the CPU the
  engine spent on it), the delivery of the replies, and the whole update inside the bot; and
  both report the CPU time they used (the order bot: both of its processes), as does this
  (emulator) process, so a saturated side shows.

  Runs alternate which framework and which bot goes first; each run starts a fresh emulator and
  a fresh copy of the seeded database. Reported: every run, and the median of the runs.

Goals (reported, never asserted), for each framework
  - the order flow sustains at least 0.5x the same framework's echo bot's updates per second;
  - at the offered rate (100/s over 50 chats by default), update→reply p99 <= 25 ms;
  - no event-loop stall over 10 ms in the bot's process (judged in the paced phase; the
    saturation phase is shown too).

``--profile DIR`` runs once with cProfile in each order bot's event-loop thread for the
saturation window and writes the top functions to DIR/chat-profile-FRAMEWORK.txt; its timings
are slowed by the profiler and are not goal figures. (The engine process is not profiled:
profile the engine alone through the flow tests' recording chat.)

The machine this runs on may be shared: the 1-minute load average is printed before and
after. The last line printed is one JSON object with the figures (medians of the runs), one
section per framework.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import logging
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# --- goals and fixed settings ---------------------------------------------------------------------

GOAL_RATIO = 0.5
GOAL_P99_MS = 25.0
GOAL_STALL_MS = 10.0

FRAMEWORKS = {"ptb": "python-telegram-bot", "aiogram": "aiogram"}
# (token, username) of each bot on the emulator, by (framework, kind)
BOTS = {
    ("ptb", "order"): ("7100000001:AAOrderBotBenchToken0123456789abcdefg", "chaterp_bench_bot"),
    ("ptb", "echo"): ("7100000002:AAEchoBotBenchToken01234567890abcdefg", "echo_bench_bot"),
    ("aiogram", "order"): (
        "7100000003:AAOrderAiogramBenchToken0123456789a",
        "chaterp_aiogram_bench_bot",
    ),
    ("aiogram", "echo"): (
        "7100000004:AAEchoAiogramBenchToken0123456789ab",
        "echo_aiogram_bench_bot",
    ),
}
TIMEZONE = "Asia/Shanghai"
FIRST_SALES_ID = 200_000  # Telegram ids of the salespeople: FIRST_SALES_ID + chat number
WAREHOUSE_ID = 100_002
OWNER_ID = 100_001
STOCK_UNITS = 100_000_000  # per product: no run comes near
REPLY_TIMEOUT = 15.0  # seconds a simulated person waits for a reply before giving up
PHASE_DRAIN = 20.0  # seconds the in-flight updates get to finish after a window
BOT_START_TIMEOUT = 60.0
MAX_QUANTITY = 997  # the order's first line: 1..997 widgets, different in consecutive orders

CUSTOMER_KINDS = ("Harbour Hardware", "Golden Lotus Store", "Pearl River Supply")
TYPED_CUSTOMER = "harbour hardwre {number:03d}"  # part of "Harbour Hardware 007", a typo in it
FILLER_NOUNS = (
    "hinge",
    "bracket",
    "pipe clamp",
    "ball valve",
    "spray nozzle",
    "rubber gasket",
    "garden hose",
    "kitchen faucet",
    "silicone sealant",
    "duct tape",
    "work gloves",
    "cable tie",
    "padlock",
    "door handle",
    "shelf support",
)
FILLER_KINDS = ("steel", "brass", "plastic", "chrome", "zinc")


# --- seeding --------------------------------------------------------------------------------------


def seed_database(path: Path, chats: int, catalog: int) -> None:
    """A migrated SQLite file: owner, warehouse worker, ``chats`` salespeople each with three
    customers, the two ordered products with plenty of stock, and ``catalog`` others."""
    from domain.clock import SystemClock
    from domain.model import Actor, Role
    from domain.money import Money
    from domain.ports import LedgerPolicy, UnitOfWork
    from domain.quantity import Quantity
    from domain.services.catalog import ProductDraft, ensure_default_warehouse, save_product
    from domain.services.customers import CustomerDraft, create_customer
    from domain.services.stock import receive_stock
    from domain.services.users import add_user
    from domain.transaction import run_in_transaction
    from storage.database import Database
    from storage.migrate import upgrade

    db = Database(f"sqlite:///{path}", clock=SystemClock(TIMEZONE), policy=LedgerPolicy())
    upgrade(db.engine)
    system = Actor.system("bench")

    def people(uow: UnitOfWork) -> None:
        add_user(uow, actor=system, name="Olga Owner", role=Role.OWNER, telegram_user_id=OWNER_ID)
        add_user(
            uow,
            actor=system,
            name="Wang Warehouse",
            role=Role.WAREHOUSE,
            telegram_user_id=WAREHOUSE_ID,
        )
        for n in range(chats):
            rep = add_user(
                uow,
                actor=system,
                name=f"Sales {n:03d}",
                role=Role.SALES,
                telegram_user_id=FIRST_SALES_ID + n,
            )
            for kind in CUSTOMER_KINDS:
                draft = CustomerDraft(name=f"{kind} {n:03d}", sales_rep_id=rep.id)
                create_customer(uow, actor=system, draft=draft, allow_similar=True)

    def products(uow: UnitOfWork) -> None:
        warehouse = ensure_default_warehouse(uow)

        def product(sku: str, name: str, unit: str, price: int, **extra: Any) -> None:
            draft = ProductDraft(
                sku=sku,
                name=name,
                unit=unit,
                price=Money(price, "CNY"),
                cost=Money(price * 6 // 10, "CNY"),
                **extra,
            )
            saved = save_product(uow, actor=system, draft=draft).product
            receive_stock(
                uow,
                actor=system,
                product_id=saved.id,
                quantity=Quantity.of(STOCK_UNITS),
                unit_cost=saved.cost,
                warehouse_id=warehouse.id,
            )

        product("W-BLUE", "Blue widget", "pcs", 1250, aliases=("widget",))
        product("M8-40", "M8 hex bolt 40mm", "box", 3500)
        for n in range(catalog):
            noun = FILLER_NOUNS[n % len(FILLER_NOUNS)]
            kind = FILLER_KINDS[(n // len(FILLER_NOUNS)) % len(FILLER_KINDS)]
            size = 10 + n // (len(FILLER_NOUNS) * len(FILLER_KINDS))
            product(f"F-{n:04d}", f"{kind.title()} {noun} {size}", "pcs", 500 + n)

    run_in_transaction(db.uow, people)
    run_in_transaction(db.uow, products)
    db.dispose()  # folds the WAL into the file: a plain copy is complete


def check_script(path: Path) -> None:
    """The typed customer and lines resolve without questions (else the flow would differ)."""
    from domain.clock import SystemClock
    from domain.model import Role
    from domain.ports import LedgerPolicy, UnitOfWork
    from domain.transaction import run_in_transaction
    from handlers.flows._order_lines import read_line, split_lines
    from handlers.pickers import ProductIndex, search_customers, visible_customers
    from storage.database import Database

    db = Database(f"sqlite:///{path}", clock=SystemClock(TIMEZONE), policy=LedgerPolicy())
    index = ProductIndex()

    def work(uow: UnitOfWork) -> list[str]:
        problems: list[str] = []
        for typed in split_lines(order_lines(1)):
            line = read_line(typed)
            found = index.search(uow, line.name)
            if line.quantity is None or not found.sure:
                problems.append(f"line {typed!r} is not a sure match")
        rep = uow.users.by_telegram_id(FIRST_SALES_ID)
        assert rep is not None
        mine = visible_customers(uow, rep.id, Role.SALES)
        typed = TYPED_CUSTOMER.format(number=0)
        if not search_customers(mine, typed).sure:
            problems.append(f"customer {typed!r} is not a sure match")
        return problems

    problems = run_in_transaction(db.uow, work)
    db.dispose()
    if problems:
        raise SystemExit("the benchmark's typed input does not resolve: " + "; ".join(problems))


def order_lines(quantity: int) -> str:
    return f"{quantity} blu widgt, 5 m8 bolt"


# --- inside a bot's process -----------------------------------------------------------------------


class LoopLag:
    """A task that sleeps 1 ms again and again and records how late it wakes (seconds).

    With ``watch_stalls`` a helper thread also looks at the loop's thread whenever the task is
    overdue by more than ``GOAL_STALL_MS`` and counts where that thread was (its innermost
    frames): what a stall was spent on.
    """

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.stall_stacks: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._beat = time.perf_counter()
        self._watching = False

    def start(self, *, watch_stalls: bool = False) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())
        if watch_stalls:
            self._watching = True
            loop_thread = threading.get_ident()
            threading.Thread(target=self._watch, args=(loop_thread,), daemon=True).start()

    async def _run(self) -> None:
        clock = time.perf_counter
        while True:
            before = self._beat = clock()
            await asyncio.sleep(0.001)
            self.samples.append(max(0.0, clock() - before - 0.001))

    def _watch(self, loop_thread: int) -> None:
        import traceback

        seen_beat = 0.0
        while self._watching:
            time.sleep(0.002)
            beat = self._beat
            if beat == seen_beat or time.perf_counter() - beat < (GOAL_STALL_MS + 1) / 1000:
                continue
            seen_beat = beat  # one look per stall
            frame = sys._current_frames().get(loop_thread)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)[-6:]
            where = " < ".join(
                f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack)
            )
            self.stall_stacks[where] = self.stall_stacks.get(where, 0) + 1

    async def stop(self) -> None:
        self._watching = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass
class BotMetrics:
    """What a bot process measures between "mark" and "report"."""

    lag: LoopLag = field(default_factory=LoopLag)
    handled: int = 0
    engine: list[float] = field(default_factory=list)  # seconds the loop waited per step
    engine_cpu: list[float] = field(default_factory=list)  # the engine's CPU seconds per step
    engine_by_step: dict[str, list[float]] = field(default_factory=dict)  # CPU s per input kind
    deliver: list[float] = field(default_factory=list)  # seconds per delivery of replies
    in_bot: list[float] = field(default_factory=list)  # seconds per update inside the bot
    gc_pauses: list[float] = field(default_factory=list)  # seconds per gen-2 collection
    cpu_at_mark: float = 0.0
    engine_calls: Any = None  # the order bot's engine process: its CPU counts as the bot's
    engine_process_cpu_at_mark: float = 0.0
    wall_at_mark: float = 0.0
    profiler: cProfile.Profile | None = None  # the loop thread's, while a window is profiled
    profiled: bool = False  # only the first window (saturation) is profiled

    def watch_gc(self) -> None:
        """Time full (generation 2) garbage collections: each one stops every thread."""
        started: list[float] = []

        def callback(phase: str, info: dict[str, int]) -> None:
            if info.get("generation") != 2:
                return
            if phase == "start":
                started[:] = [time.perf_counter()]
            elif started:
                self.gc_pauses.append(time.perf_counter() - started[0])

        gc.callbacks.append(callback)

    def mark(self, profiling: bool) -> None:
        self.lag.samples.clear()
        self.lag.stall_stacks.clear()
        self.gc_pauses.clear()
        self.handled = 0
        self.engine.clear()
        self.engine_cpu.clear()
        self.engine_by_step.clear()
        self.deliver.clear()
        self.in_bot.clear()
        self.cpu_at_mark = time.process_time()
        self.wall_at_mark = time.perf_counter()
        if profiling and not self.profiled:
            self.profiled = True
            self.profiler = cProfile.Profile()
            self.profiler.enable()

    async def engine_process_cpu(self) -> float:
        """CPU seconds the engine process has used (0 for a bot without one)."""
        if self.engine_calls is None:
            return 0.0
        return float(await self.engine_calls.call("cpu_seconds"))

    def report(self, profile_to: Path | None = None, engine_cpu_s: float = 0.0) -> dict[str, Any]:
        if self.profiler is not None:
            self.profiler.disable()
            if profile_to is not None:
                self.write_profile(profile_to)
            self.profiler = None
        lag_ms = [s * 1000 for s in self.lag.samples]
        return {
            "handled": self.handled,
            "wall_s": time.perf_counter() - self.wall_at_mark,
            # Both processes of the order bot: the event loop's and the engine's.
            "cpu_s": time.process_time() - self.cpu_at_mark + engine_cpu_s,
            "engine_process_cpu_s": round(engine_cpu_s, 3),
            "lag_ms": summary(lag_ms),
            "stalls_over_10ms": sum(1 for s in lag_ms if s > GOAL_STALL_MS),
            "engine_ms": summary([s * 1000 for s in self.engine]),
            "engine_cpu_ms": summary([s * 1000 for s in self.engine_cpu]),
            "engine_cpu_s_total": round(sum(self.engine_cpu), 3),
            "engine_cpu_ms_by_input": {
                kind: summary([s * 1000 for s in values])
                for kind, values in sorted(self.engine_by_step.items())
            },
            "deliver_ms": summary([s * 1000 for s in self.deliver]),
            "in_bot_ms": summary([s * 1000 for s in self.in_bot]),
            "gc2_ms": summary([s * 1000 for s in self.gc_pauses]),
            "stalls_at": dict(sorted(self.lag.stall_stacks.items(), key=lambda item: -item[1])[:8]),
        }

    def write_profile(self, path: Path) -> None:
        """Top functions of the event loop's thread, by own and by total time."""
        if self.profiler is None:
            return
        with path.open("w") as out:
            stats = pstats.Stats(self.profiler, stream=out)
            stats.dump_stats(path.with_suffix(".prof"))  # for pstats / snakeviz
            stats.strip_dirs()
            out.write("=== by own time ===\n")
            stats.sort_stats("tottime").print_stats(35)
            out.write("\n=== by cumulative time ===\n")
            stats.sort_stats("cumulative").print_stats(35)


def input_kind(incoming: Any) -> str:
    """``/order``, ``button done``, ``text``: what an update was, for the per-step figures."""
    if incoming.command:
        return f"/{incoming.command}"
    if incoming.callback_data:
        return "button " + str(incoming.callback_data).rsplit(":", 1)[-1]
    return "text"


def instrument_order_bot(front: Any, metrics: BotMetrics) -> None:
    """Time the engine step (as the event loop waits for it, and the engine's CPU for it), the
    delivery and the whole update inside the bot (from joining its chat's lane to the end)."""
    calls, delivery, lanes = front.engine_calls, front.delivery, front.lanes
    deliver, turn = delivery.deliver, lanes.turn
    clock = time.perf_counter

    def observe(incoming: Any, wall: float, cpu: float) -> None:
        metrics.engine.append(wall)
        metrics.engine_cpu.append(cpu)
        metrics.engine_by_step.setdefault(input_kind(incoming), []).append(cpu)

    async def timed_deliver(incoming: Any, replies: Any) -> None:
        start = clock()
        try:
            await deliver(incoming, replies)
        finally:
            metrics.deliver.append(clock() - start)

    @contextlib.asynccontextmanager
    async def timed_turn(chat: Any) -> AsyncIterator[None]:
        start = clock()
        try:
            async with turn(chat):
                yield
        finally:
            metrics.in_bot.append(clock() - start)

    calls.observer = observe
    delivery.deliver = timed_deliver
    lanes.turn = timed_turn


async def start_order_bot(framework: str, api: str, db_path: Path, metrics: BotMetrics) -> Any:
    from bot.runner import BotConfig, build_front_end, engine_spec
    from domain.clock import SystemClock
    from domain.ports import LedgerPolicy
    from handlers.context import EngineSettings
    from notifications.publisher import OutboxPublisher
    from storage.database import Database

    url = f"sqlite:///{db_path}"
    # Events become outbox messages (the shipping card) as in production (bot/bootstrap.py).
    database = Database(
        url,
        clock=SystemClock(TIMEZONE),
        policy=LedgerPolicy(),
        publisher=OutboxPublisher(EngineSettings(timezone=TIMEZONE)),
    )
    token, _ = BOTS[framework, "order"]
    config = BotConfig(token=token, api_base_url=api, timezone=TIMEZONE, poll_timeout=10.0)

    def handled(update_id: int) -> None:
        metrics.handled += 1

    # As `chaterp run` builds it: the engine in a process of its own.
    front = build_front_end(
        framework,
        config,
        database.uow,
        on_handled=handled,
        engine_process=engine_spec(url, LedgerPolicy()),
        reader_factory=database.reader,
    )
    await front.start()
    instrument_order_bot(front, metrics)
    metrics.engine_calls = front.engine_calls
    return front


async def start_echo_bot(framework: str, api: str, metrics: BotMetrics) -> Any:
    if framework == "aiogram":
        return await start_aiogram_echo_bot(api, metrics)
    return await start_ptb_echo_bot(api, metrics)


async def start_ptb_echo_bot(api: str, metrics: BotMetrics) -> Any:
    """A bare python-telegram-bot echo bot: one MessageHandler that sends the text back."""
    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    from bot.lanes import MAX_CONCURRENT_UPDATES

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None and message.text is not None:
            await context.bot.send_message(message.chat_id, message.text)
        metrics.handled += 1

    app = (
        Application.builder()
        .token(BOTS["ptb", "echo"][0])
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .concurrent_updates(MAX_CONCURRENT_UPDATES)
        .job_queue(None)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(timeout=10, drop_pending_updates=True)
    return app


class AiogramEchoBot:
    """A bare aiogram echo bot: a Dispatcher with one message handler, polling in a task."""

    def __init__(self, api: str, metrics: BotMetrics) -> None:
        from aiogram import Bot, Dispatcher, F
        from aiogram.client.session.aiohttp import AiohttpSession
        from aiogram.client.telegram import TelegramAPIServer
        from aiogram.types import Message

        session = AiohttpSession(api=TelegramAPIServer.from_base(api))
        self.bot = Bot(BOTS["aiogram", "echo"][0], session=session)
        self.dispatcher = Dispatcher()

        async def echo(message: Message) -> None:
            if message.text is not None:
                await self.bot.send_message(chat_id=message.chat.id, text=message.text)
            metrics.handled += 1

        self.dispatcher.message.register(echo, F.text)
        self.polling: asyncio.Task[None] | None = None

    async def start(self) -> None:
        from bot.lanes import MAX_CONCURRENT_UPDATES

        await self.bot.delete_webhook(drop_pending_updates=True)
        started = asyncio.Event()

        async def polling_started() -> None:
            started.set()

        self.dispatcher.startup.register(polling_started)
        self.polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                polling_timeout=10,
                handle_signals=False,
                tasks_concurrency_limit=MAX_CONCURRENT_UPDATES,
            )
        )
        await asyncio.wait_for(started.wait(), BOT_START_TIMEOUT)

    async def stop(self) -> None:
        if self.polling is not None and not self.polling.done():
            await self.dispatcher.stop_polling()
            await self.polling
        await self.bot.session.close()


async def start_aiogram_echo_bot(api: str, metrics: BotMetrics) -> AiogramEchoBot:
    bot = AiogramEchoBot(api, metrics)
    await bot.start()
    return bot


async def stop_bot(kind: str, bot: Any) -> None:
    if kind == "order" or isinstance(bot, AiogramEchoBot):
        await bot.stop()
        return
    if bot.updater is not None and bot.updater.running:
        await bot.updater.stop()
    if bot.running:
        await bot.stop()
    await bot.shutdown()


async def serve(
    kind: str, framework: str, api: str, db_path: Path | None, profile_dir: Path | None
) -> None:
    """The child process: run one bot until told to stop; answer "mark" and "report" lines."""
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    metrics = BotMetrics()
    profiling = profile_dir is not None and kind == "order"
    if kind == "order":
        assert db_path is not None
        bot = await start_order_bot(framework, api, db_path, metrics)
    else:
        bot = await start_echo_bot(framework, api, metrics)
    metrics.lag.start(watch_stalls=profile_dir is not None)
    metrics.watch_gc()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    try:
        while True:
            line = (await reader.readline()).decode().strip()
            if line == "mark":
                metrics.engine_process_cpu_at_mark = await metrics.engine_process_cpu()
                metrics.mark(profiling)
                print("ok", flush=True)
            elif line == "report":
                name = f"chat-profile-{framework}.txt"
                target = profile_dir / name if profile_dir is not None else None
                engine_cpu = await metrics.engine_process_cpu() - metrics.engine_process_cpu_at_mark
                print(json.dumps(metrics.report(target, engine_cpu)), flush=True)
            else:  # "stop", or the parent went away
                break
    finally:
        await metrics.lag.stop()
        await stop_bot(kind, bot)


# --- the parent: bot processes --------------------------------------------------------------------


class BotProcess:
    """A bot in a child process, driven by lines on its stdin."""

    def __init__(
        self, framework: str, kind: str, api: str, workdir: Path, db_path: Path | None
    ) -> None:
        self.framework = framework
        self.kind = kind
        self.api = api
        self.workdir = workdir
        self.db_path = db_path
        self.log_path = workdir / f"{framework}-{kind}-bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, profile_dir: Path | None) -> None:
        args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            self.kind,
            "--framework",
            self.framework,
            "--api",
            self.api,
        ]
        if self.db_path is not None:
            args += ["--db", str(self.db_path)]
        if profile_dir is not None:
            args += ["--profile", str(profile_dir)]
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        if await self._line(BOT_START_TIMEOUT) != "ready":
            raise RuntimeError(f"the {self.kind} bot did not start; see {self.log_path}")

    async def _line(self, timeout: float) -> str:
        assert self.process is not None and self.process.stdout is not None
        raw = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        if not raw:
            raise RuntimeError(f"the {self.kind} bot exited; see {self.log_path}")
        return raw.decode().strip()

    async def _say(self, line: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

    async def mark(self) -> None:
        await self._say("mark")
        if await self._line(10.0) != "ok":
            raise RuntimeError(f"the {self.kind} bot did not take the mark")

    async def report(self) -> dict[str, Any]:
        await self._say("report")
        figures: dict[str, Any] = json.loads(await self._line(60.0))
        return figures

    async def stop(self) -> None:
        if self.process is None:
            return
        try:
            await self._say("stop")
            await asyncio.wait_for(self.process.wait(), 30.0)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            self.process.kill()
            await self.process.wait()
        self.process = None


# --- the parent: people ---------------------------------------------------------------------------


class Replies:
    """The bot's messages (sent or edited) per chat, with the time the emulator received them."""

    def __init__(self, emu: Any, bot_username: str) -> None:
        self.bot_username = bot_username
        self.queues: dict[int, asyncio.Queue[tuple[float, dict[str, Any]]]] = {}
        self.unsubscribe = emu.subscribe(self._on_event)

    def queue(self, chat_id: int) -> asyncio.Queue[tuple[float, dict[str, Any]]]:
        if chat_id not in self.queues:
            self.queues[chat_id] = asyncio.Queue()
        return self.queues[chat_id]

    def _on_event(self, event: Any) -> None:
        if event.bot != self.bot_username or event.kind not in ("message", "edited"):
            return
        record = event.record
        if record is None or not record.from_bot:
            return
        if event.chat_id in self.queues:
            self.queues[event.chat_id].put_nowait((time.perf_counter(), event.message))

    def drain(self, chat_id: int) -> None:
        queue = self.queue(chat_id)
        while not queue.empty():
            queue.get_nowait()


@dataclass
class Samples:
    """Updates whose reply arrived, with their latency; and what went wrong."""

    latencies: list[float] = field(default_factory=list)  # seconds
    completed_in_window: int = 0
    errors: int = 0
    late: int = 0  # paced: the next input was due before the reply came
    recording: bool = False
    window: tuple[float, float] = (0.0, 0.0)

    def add(self, sent: float, replied: float) -> None:
        start, end = self.window
        if self.recording and start <= sent and replied <= end:
            self.latencies.append(replied - sent)
        if start <= replied <= end:
            self.completed_in_window += 1


class Person:
    """One simulated person in their private chat with a bot."""

    def __init__(self, emu: Any, replies: Replies, user: Any) -> None:
        self.emu = emu
        self.replies = replies
        self.user = user
        replies.queue(user.id)

    async def _await_reply(self, pressed: int | None = None) -> tuple[float, dict[str, Any]]:
        """The bot's next message here; after a press, not the pressed card losing its buttons
        (an edit of ``pressed``) but the answer that follows it."""
        queue = self.replies.queue(self.user.id)
        while True:
            replied, message = await asyncio.wait_for(queue.get(), REPLY_TIMEOUT)
            if pressed is None or message.get("message_id") != pressed:
                return replied, message

    async def type(self, text: str) -> tuple[float, float, dict[str, Any]]:
        self.replies.drain(self.user.id)
        sent = time.perf_counter()
        await self.emu.send_text(self.user, text, bot=self.replies.bot_username)
        replied, message = await self._await_reply()
        return sent, replied, message

    async def press(
        self, message: dict[str, Any], label: str
    ) -> tuple[float, float, dict[str, Any]]:
        _, data = self.emu.find_button(message, label)
        if data is None:
            raise LookupError(label)
        self.replies.drain(self.user.id)
        sent = time.perf_counter()
        await self.emu.press(self.user, message, data, bot=self.replies.bot_username)
        replied, reply = await self._await_reply(pressed=message.get("message_id"))
        return sent, replied, reply

    async def step(self, samples: Samples) -> None:
        raise NotImplementedError


class EchoPerson(Person):
    def __init__(self, emu: Any, replies: Replies, user: Any) -> None:
        super().__init__(emu, replies, user)
        self.count = 0

    async def step(self, samples: Samples) -> None:
        self.count += 1
        text = f"ping {self.user.id} {self.count}"
        try:
            sent, replied, message = await self.type(text)
        except TimeoutError:
            samples.errors += 1
            return
        if message.get("text") != text:
            samples.errors += 1
        samples.add(sent, replied)


class Salesperson(Person):
    """Runs /order → customer → lines → Done → Confirm, one update per step."""

    STEPS = ("order", "customer", "lines", "done", "confirm")

    def __init__(self, emu: Any, replies: Replies, user: Any, number: int) -> None:
        super().__init__(emu, replies, user)
        self.next = 0
        self.orders = number * 37  # different quantities in different chats
        self.customer = TYPED_CUSTOMER.format(number=number)
        self.last: dict[str, Any] | None = None
        self.placed = 0

    async def step(self, samples: Samples) -> None:
        name = self.STEPS[self.next]
        try:
            if name == "order":
                sent, replied, message = await self.type("/order")
                ok = "Which customer?" in message.get("text", "")
            elif name == "customer":
                sent, replied, message = await self.type(self.customer)
                ok = "no items yet" in message.get("text", "")
            elif name == "lines":
                self.orders += 1
                quantity = 1 + self.orders % MAX_QUANTITY
                sent, replied, message = await self.type(order_lines(quantity))
                ok = "2 lines" in message.get("text", "")
            elif name == "done":
                assert self.last is not None
                sent, replied, message = await self.press(self.last, "Done")
                ok = "Total:" in message.get("text", "")
            else:
                assert self.last is not None
                sent, replied, message = await self.press(self.last, "Confirm")
                ok = "placed" in message.get("text", "")
                self.placed += ok
        except (TimeoutError, LookupError, AssertionError):
            ok, message = False, {}
            sent = replied = -1.0
        if not ok:
            samples.errors += 1
            await self._restart()
            return
        samples.add(sent, replied)
        self.last = message
        self.next = (self.next + 1) % len(self.STEPS)

    async def _restart(self) -> None:
        """After something unexpected: /cancel and start the next order from the top."""
        self.next, self.last = 0, None
        with contextlib.suppress(TimeoutError):
            await self.type("/cancel")


# --- the parent: phases ---------------------------------------------------------------------------


async def saturate(
    people: Sequence[Person], bot: BotProcess, warmup: float, seconds: float
) -> tuple[Samples, dict[str, Any], float]:
    """Every chat sends its next input as soon as the reply comes: the rate the bot sustains."""
    samples = Samples()
    loop = asyncio.get_running_loop()
    start = time.perf_counter() + warmup
    end = start + seconds
    samples.window = (start, end)

    async def chat(person: Person) -> None:
        while time.perf_counter() < end:
            await person.step(samples)

    async def window() -> tuple[dict[str, Any], float]:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        samples.recording = True
        cpu = time.process_time()
        await bot.mark()
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        report = await bot.report()
        return report, time.process_time() - cpu

    tasks = [loop.create_task(chat(p)) for p in people]
    report, own_cpu = await window()
    await asyncio.wait_for(asyncio.gather(*tasks), PHASE_DRAIN)
    return samples, report, own_cpu


async def paced(
    people: Sequence[Person], bot: BotProcess, rate: float, warmup: float, seconds: float
) -> tuple[Samples, dict[str, Any], float]:
    """``rate`` updates per second over all chats, each chat on its own even schedule."""
    samples = Samples()
    loop = asyncio.get_running_loop()
    period = len(people) / rate
    begin = time.perf_counter() + 0.05
    start = begin + warmup
    end = start + seconds
    samples.window = (start, end)

    async def chat(person: Person, offset: float) -> None:
        due = begin + offset
        while due < end:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            await person.step(samples)
            due += period
            if time.perf_counter() > due and due >= start:
                samples.late += 1

    async def window() -> tuple[dict[str, Any], float]:
        await asyncio.sleep(max(0.0, start - time.perf_counter()))
        samples.recording = True
        cpu = time.process_time()
        await bot.mark()
        await asyncio.sleep(max(0.0, end - time.perf_counter()))
        report = await bot.report()
        return report, time.process_time() - cpu

    tasks = [loop.create_task(chat(p, i / rate)) for i, p in enumerate(people)]
    report, own_cpu = await window()
    await asyncio.wait_for(asyncio.gather(*tasks), PHASE_DRAIN)
    return samples, report, own_cpu


# --- figures --------------------------------------------------------------------------------------

# framework → "echo_saturation", "echo_paced", "order_saturation", "order_paced" → phase figures
Run = dict[str, Any]
NAN = float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear interpolation between closest ranks (``pct`` in 0..100)."""
    if not values:
        return NAN
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values_ms: Sequence[float]) -> dict[str, float | int]:
    if not values_ms:
        return {"n": 0}
    return {
        "n": len(values_ms),
        "p50": round(percentile(values_ms, 50), 3),
        "p90": round(percentile(values_ms, 90), 3),
        "p99": round(percentile(values_ms, 99), 3),
        "max": round(max(values_ms), 3),
        "mean": round(statistics.fmean(values_ms), 3),
    }


class HarnessPauses:
    """Full garbage collections of this (emulator + people) process, as (start, seconds).

    Its heap grows all run (the emulator keeps every message), and a full pass over it stops
    the emulator and all the people for 0.1-0.6 s: the updates due meanwhile then reach the bot
    at once, which is not the evenly offered rate being measured. So the heap is frozen before
    each phase (``settle``), and the pauses left in a window are reported beside the figures.
    """

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float]] = []
        self._started = 0.0
        gc.callbacks.append(self._observe)

    def _observe(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((self._started, time.perf_counter() - self._started))

    @staticmethod
    def settle() -> None:
        gc.collect()
        gc.freeze()

    def longest_ms(self, window: tuple[float, float]) -> float:
        start, end = window
        inside = [seconds for at, seconds in self.pauses if start <= at <= end]
        return round(1000 * max(inside), 1) if inside else 0.0


HARNESS = HarnessPauses()


def phase_figures(
    samples: Samples, report: dict[str, Any], own_cpu: float, seconds: float
) -> dict[str, Any]:
    return {
        "emulator_gc_max_ms": HARNESS.longest_ms(samples.window),
        "updates_per_s": round(samples.completed_in_window / seconds, 1),
        "latency_ms": summary([s * 1000 for s in samples.latencies]),
        "errors": samples.errors,
        "late": samples.late,
        "bot": report,
        "bot_cpu_pct": round(100 * report["cpu_s"] / max(report["wall_s"], 1e-9), 1),
        "emulator_cpu_pct": round(100 * own_cpu / seconds, 1),
    }


def pick(run: Run, path: str) -> float:
    """One figure of a run by its dotted path ("ptb.order_paced.latency_ms.p99"); NaN if
    absent."""
    value: Any = run
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return NAN
        value = value[key]
    return float(value)


def median_of(runs: Sequence[Run], path: str) -> float:
    values = [v for v in (pick(run, path) for run in runs) if v == v]  # NaN ≠ NaN
    return round(statistics.median(values), 3) if values else NAN


# The JSON figures of each framework (medians of the runs) and where each comes from.
FIGURES: dict[str, dict[str, str]] = {
    "echo": {
        "max_updates_per_s": "echo_saturation.updates_per_s",
        "saturation_bot_cpu_pct": "echo_saturation.bot_cpu_pct",
        "saturation_emulator_cpu_pct": "echo_saturation.emulator_cpu_pct",
        "paced_p50_ms": "echo_paced.latency_ms.p50",
        "paced_p99_ms": "echo_paced.latency_ms.p99",
        "paced_loop_lag_max_ms": "echo_paced.bot.lag_ms.max",
        "errors": "echo_errors",
    },
    "order": {
        "max_updates_per_s": "order_saturation.updates_per_s",
        "saturation_p50_ms": "order_saturation.latency_ms.p50",
        "saturation_p99_ms": "order_saturation.latency_ms.p99",
        "saturation_loop_lag_p99_ms": "order_saturation.bot.lag_ms.p99",
        "saturation_loop_lag_max_ms": "order_saturation.bot.lag_ms.max",
        "saturation_bot_cpu_pct": "order_saturation.bot_cpu_pct",
        "saturation_bot_cpu_ms_per_update": "order_saturation.cpu_ms_per_update",
        "saturation_engine_cpu_ms_per_update": "order_saturation.bot.engine_cpu_ms.mean",
        "paced_updates_per_s": "order_paced.updates_per_s",
        "paced_p50_ms": "order_paced.latency_ms.p50",
        "paced_p90_ms": "order_paced.latency_ms.p90",
        "paced_p99_ms": "order_paced.latency_ms.p99",
        "paced_max_ms": "order_paced.latency_ms.max",
        "paced_loop_lag_p99_ms": "order_paced.bot.lag_ms.p99",
        "paced_loop_lag_max_ms": "order_paced.bot.lag_ms.max",
        "paced_stalls_over_10ms": "order_paced.bot.stalls_over_10ms",
        "paced_engine_p50_ms": "order_paced.bot.engine_ms.p50",
        "paced_engine_p99_ms": "order_paced.bot.engine_ms.p99",
        "paced_delivery_p50_ms": "order_paced.bot.deliver_ms.p50",
        "paced_in_bot_p99_ms": "order_paced.bot.in_bot_ms.p99",
        "paced_bot_cpu_pct": "order_paced.bot_cpu_pct",
        "paced_emulator_gc_max_ms": "order_paced.emulator_gc_max_ms",
        "errors": "order_errors",
        "orders_placed": "orders_placed",
    },
}
# The table for each framework: section titles (no path) and rows (label, path, unit).
TABLE: tuple[tuple[str, str, str], ...] = (
    ("echo bot (bare {framework})", "", ""),
    ("max updates/s (saturation)", "echo_saturation.updates_per_s", "/s"),
    ("saturation: bot CPU", "echo_saturation.bot_cpu_pct", "%"),
    ("saturation: bot CPU per update", "echo_saturation.cpu_ms_per_update", "ms"),
    ("saturation: emulator + people CPU", "echo_saturation.emulator_cpu_pct", "%"),
    ("paced: update→reply p50", "echo_paced.latency_ms.p50", "ms"),
    ("paced: update→reply p99", "echo_paced.latency_ms.p99", "ms"),
    ("paced: loop lag max", "echo_paced.bot.lag_ms.max", "ms"),
    ("order flow (the real front end on {framework}, SQLite)", "", ""),
    ("max updates/s (saturation)", "order_saturation.updates_per_s", "/s"),
    ("saturation: update→reply p50", "order_saturation.latency_ms.p50", "ms"),
    ("saturation: update→reply p99", "order_saturation.latency_ms.p99", "ms"),
    ("saturation: loop lag p99", "order_saturation.bot.lag_ms.p99", "ms"),
    ("saturation: loop lag max", "order_saturation.bot.lag_ms.max", "ms"),
    ("saturation: bot CPU", "order_saturation.bot_cpu_pct", "%"),
    ("saturation: bot CPU per update", "order_saturation.cpu_ms_per_update", "ms"),
    ("saturation: of which engine", "order_saturation.bot.engine_cpu_ms.mean", "ms"),
    ("saturation: emulator + people CPU", "order_saturation.emulator_cpu_pct", "%"),
    ("paced: achieved updates/s", "order_paced.updates_per_s", "/s"),
    ("paced: update→reply p50", "order_paced.latency_ms.p50", "ms"),
    ("paced: update→reply p90", "order_paced.latency_ms.p90", "ms"),
    ("paced: update→reply p99", "order_paced.latency_ms.p99", "ms"),
    ("paced: update→reply max", "order_paced.latency_ms.max", "ms"),
    ("paced: replies late for the next input", "order_paced.late", ""),
    ("paced: loop lag p99", "order_paced.bot.lag_ms.p99", "ms"),
    ("paced: loop lag max", "order_paced.bot.lag_ms.max", "ms"),
    ("paced: loop stalls over 10 ms", "order_paced.bot.stalls_over_10ms", ""),
    ("paced: full GC pauses, max", "order_paced.bot.gc2_ms.max", "ms"),
    ("paced: emulator's full GC pauses, max", "order_paced.emulator_gc_max_ms", "ms"),
    ("paced: engine step p50 (loop waits)", "order_paced.bot.engine_ms.p50", "ms"),
    ("paced: engine step p99 (loop waits)", "order_paced.bot.engine_ms.p99", "ms"),
    ("paced: delivery of replies p50", "order_paced.bot.deliver_ms.p50", "ms"),
    ("paced: whole update inside the bot p99", "order_paced.bot.in_bot_ms.p99", "ms"),
    ("paced: bot CPU", "order_paced.bot_cpu_pct", "%"),
    ("errors (order / echo, all phases)", "order_errors", ""),
    ("orders placed", "orders_placed", ""),
)


def print_table(runs: Sequence[Run], figures: dict[str, Any]) -> None:
    header = "".join(f"{'run ' + str(n + 1):>10}" for n in range(len(runs)))
    print(f"\n{'':<42}{header}{'median':>10}")
    for framework in figures["frameworks"]:
        for label, path, unit in TABLE:
            if not path:
                print(f"-- {label.format(framework=FRAMEWORKS[framework])}")
                continue
            full = f"{framework}.{path}"
            cells = "".join(f"{pick(run, full):>10.1f}" for run in runs)
            print(f"  {label:<40}{cells}{median_of(runs, full):>10.1f} {unit}")

    def verdict(met: bool) -> str:
        return "met" if met else "MISSED"

    for framework in figures["frameworks"]:
        section = figures[framework]
        order, goals = section["order"], section["goals"]
        print(f"\n{FRAMEWORKS[framework]}:")
        print(
            f"goal: order flow ≥ {GOAL_RATIO:g}× the echo bot's updates/s: "
            f"{order['max_updates_per_s']:.0f} / {section['echo']['max_updates_per_s']:.0f} = "
            f"{section['ratio']:.2f} → {verdict(goals['throughput'])}"
        )
        print(
            f"goal: update→reply p99 ≤ {GOAL_P99_MS:g} ms at {figures['rate']:g}/s over "
            f"{figures['chats']} chats: {order['paced_p99_ms']:.1f} ms → "
            f"{verdict(goals['latency'])}"
        )
        print(
            f"goal: no event-loop stall over {GOAL_STALL_MS:g} ms in the bot (paced): max "
            f"{order['paced_loop_lag_max_ms']:.1f} ms → {verdict(goals['loop_lag'])}"
        )
    load = figures["load_avg_1m"]
    print(f"\n1-minute load average: {load[0]:.2f} before, {load[1]:.2f} after")


def collect_framework(runs: Sequence[Run], framework: str) -> Run:
    """One framework's figures (medians of the runs), its ratio and its goals."""
    figures: Run = {
        section: {key: median_of(runs, f"{framework}.{path}") for key, path in paths.items()}
        for section, paths in FIGURES.items()
    }
    echo, order = figures["echo"]["max_updates_per_s"], figures["order"]["max_updates_per_s"]
    ratio = order / echo if echo else NAN
    figures["order"]["orders_per_s"] = round(order / len(Salesperson.STEPS), 2)
    return {
        **figures,
        "ratio": round(ratio, 3),
        "goals": {
            "throughput": ratio >= GOAL_RATIO,
            "latency": figures["order"]["paced_p99_ms"] <= GOAL_P99_MS,
            "loop_lag": figures["order"]["paced_loop_lag_max_ms"] <= GOAL_STALL_MS,
        },
    }


def collect(args: argparse.Namespace, runs: Sequence[Run], load: tuple[float, float]) -> Run:
    sections = {framework: collect_framework(runs, framework) for framework in args.frameworks}
    return {
        "chats": args.chats,
        "rate": args.rate,
        "seconds": args.seconds,
        "runs": len(runs),
        "frameworks": list(args.frameworks),
        **sections,
        "goals_met": all(all(s["goals"].values()) for s in sections.values()),
        "load_avg_1m": [round(load[0], 2), round(load[1], 2)],
        "cpus": os.cpu_count(),
        "profiled": args.profile is not None,
    }


# --- one run --------------------------------------------------------------------------------------


async def run_once(
    args: argparse.Namespace, template: Path, workdir: Path, number: int, profile_dir: Path | None
) -> Run:
    """A fresh emulator; each framework's two bots, each with its two phases (which framework
    and which bot go first alternates)."""
    from bot.emulator import running_emulator

    run: Run = {}
    async with running_emulator() as emu:
        for (framework, kind), (token, username) in BOTS.items():
            if framework in args.frameworks:
                emu.add_bot(token, username=username, first_name=kind)
        users = [
            emu.user(FIRST_SALES_ID + n, "Sales", f"{n:03d}", language_code="en")
            for n in range(args.chats)
        ]
        emu.user(WAREHOUSE_ID, "Wang", "Warehouse", language_code="en")
        emu.user(OWNER_ID, "Olga", "Owner", language_code="en")
        frameworks = args.frameworks if number % 2 == 0 else args.frameworks[::-1]
        for framework in frameworks:
            run[framework] = await run_framework(
                args, emu, users, framework, template, workdir, number, profile_dir
            )
    return run


async def run_framework(
    args: argparse.Namespace,
    emu: Any,
    users: Sequence[Any],
    framework: str,
    template: Path,
    workdir: Path,
    number: int,
    profile_dir: Path | None,
) -> Run:
    """One framework's echo bot and order bot (on a fresh copy of the database)."""
    db_path = workdir / f"run-{number}-{framework}.db"
    shutil.copyfile(template, db_path)
    run: Run = {}
    for kind in ("echo", "order") if number % 2 == 0 else ("order", "echo"):
        bot = BotProcess(framework, kind, emu.url, workdir, db_path if kind == "order" else None)
        await bot.start(profile_dir if kind == "order" else None)
        replies = Replies(emu, BOTS[framework, kind][1])
        salespeople = [Salesperson(emu, replies, u, n) for n, u in enumerate(users)]
        people: Sequence[Person] = (
            salespeople if kind == "order" else [EchoPerson(emu, replies, u) for u in users]
        )
        try:
            for phase in ("saturation", "paced"):
                HARNESS.settle()
                if phase == "saturation":
                    measured = await saturate(people, bot, args.warmup, args.seconds)
                else:
                    measured = await paced(people, bot, args.rate, args.warmup, args.seconds)
                figures = phase_figures(*measured, args.seconds)
                handled = max(figures["bot"]["handled"], 1)
                figures["cpu_ms_per_update"] = 1000 * figures["bot"]["cpu_s"] / handled
                run[f"{kind}_{phase}"] = figures
        except BaseException:
            await bot.stop()
            if bot.log_path.exists():
                print(f"--- the {framework} {kind} bot's log:", file=sys.stderr)
                print(bot.log_path.read_text()[-4000:], file=sys.stderr)
            raise
        finally:
            replies.unsubscribe()
        await bot.stop()
        if kind == "order":
            run["orders_placed"] = sum(s.placed for s in salespeople)
    for kind in ("echo", "order"):
        run[f"{kind}_errors"] = sum(run[f"{kind}_{p}"]["errors"] for p in ("saturation", "paced"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    return run


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chats", type=int, default=50, help="simulated salespeople (1-500)")
    parser.add_argument("--rate", type=float, default=100.0, help="offered updates/s, paced")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed window per phase")
    parser.add_argument("--runs", type=int, default=3, help="runs (1-20); medians are reported")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per phase")
    parser.add_argument("--catalog", type=int, default=300, help="other products in the catalog")
    parser.add_argument("--profile", type=Path, default=None, help="write a cProfile to DIR")
    parser.add_argument("--details", type=Path, default=None, help="write every run to FILE")
    parser.add_argument(
        "--frameworks", default="ptb,aiogram", help="which front ends, comma-separated"
    )
    parser.add_argument("--serve", choices=("order", "echo"), help=argparse.SUPPRESS)
    parser.add_argument("--framework", choices=tuple(FRAMEWORKS), help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.frameworks = [name.strip() for name in args.frameworks.split(",") if name.strip()]
    if args.serve is None:
        unknown = set(args.frameworks) - set(FRAMEWORKS)
        if unknown or not args.frameworks or len(set(args.frameworks)) < len(args.frameworks):
            parser.error(f"--frameworks: a comma-separated choice of {', '.join(FRAMEWORKS)}")
        if not 1 <= args.chats <= 500 or not 1 <= args.runs <= 20:
            parser.error("--chats must be 1-500 and --runs 1-20")
        if not 0 < args.rate <= 5000 or not 1 <= args.seconds <= 300 or not 0 <= args.warmup <= 60:
            parser.error("--rate must be in (0, 5000], --seconds 1-300, --warmup 0-60")
        if not 0 <= args.catalog <= 100_000:
            parser.error("--catalog must be 0-100000")
        if args.profile is not None:
            args.runs = 1
    return args


async def bench(args: argparse.Namespace) -> Run:
    load_before = os.getloadavg()[0]
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="chaterp-bench-") as tmp:
        workdir = Path(tmp)
        template = workdir / "seeded.db"
        seed_database(template, args.chats, args.catalog)
        check_script(template)
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
        print(
            f"chat benchmark: {args.chats} chats, {args.rate:g} updates/s paced, "
            f"{args.seconds:g} s windows (+{args.warmup:g} s warm-up), "
            f"{' and '.join(args.frameworks)}, {args.runs} run(s) of about "
            f"{len(args.frameworks) * (4 * (args.warmup + args.seconds) + 10):.0f} s; "
            f"1-minute load average {load_before:.2f}, {os.cpu_count()} CPUs",
            flush=True,
        )
        runs: list[Run] = []
        for number in range(args.runs):
            run = await run_once(args, template, workdir, number, args.profile)
            runs.append(run)
            for framework in args.frameworks:
                print(
                    f"run {number + 1}, {framework}: echo "
                    f"{pick(run, f'{framework}.echo_saturation.updates_per_s'):.0f}/s, order "
                    f"{pick(run, f'{framework}.order_saturation.updates_per_s'):.0f}/s, paced "
                    f"p99 {pick(run, f'{framework}.order_paced.latency_ms.p99'):.1f} ms",
                    flush=True,
                )
        if args.profile is not None:
            for log in workdir.glob("*-bot.log"):
                shutil.copy(log, args.profile / log.name)
    figures = collect(args, runs, (load_before, os.getloadavg()[0]))
    if args.details is not None:
        args.details.write_text(json.dumps(runs, indent=1))
    print_table(runs, figures)
    if args.profile is not None:
        for framework in args.frameworks:
            target = args.profile / f"chat-profile-{framework}.txt"
            print(f"profile of the {framework} order bot's saturation window: {target}")
            print("(a profiled run is slower); where its event loop was when it stalled:")
            for where, count in runs[0][framework]["order_saturation"]["bot"]["stalls_at"].items():
                print(f"  {count:>4} × {where}")
    return figures


def main(argv: Sequence[str] | None = None) -> Run | None:
    args = parse_args(argv)
    if args.serve is not None:
        asyncio.run(serve(args.serve, args.framework, args.api, args.db, args.profile))
        return None
    figures = asyncio.run(bench(args))
    print(json.dumps(figures, ensure_ascii=False))  # the last line: the figures
    return figures


if __name__ == "__main__":
    main()
