"""Benchmark the outbox: a big fan-out through the emulator under Telegram's flood limits.

Usage: python bench/fanout.py [--messages 10000] [--chats 2000] [--groups 100] [--rate 28]
                              [--runs 1] [--inject 0.01] [--chart-runs 7]

What is measured
  The Bot API emulator (bot/emulator) listens on localhost in this process, with Telegram's
  flood limits on (30 messages/s per bot, about 1/s per chat with bursts of 3, 20/min per
  group: any send beyond them is refused with 429). The real bot (``build_front_end("ptb")``
  with its NotificationService: the outbox sender at ``--rate`` messages/s overall, 1/s per
  private chat, 20/min per group) runs in a child process over a SQLite file.

  ``--messages`` outbox messages to ``--chats`` chats (``--groups`` of them groups) are queued
  in one transaction, as a scheduled job would; the sender finds them (polling: the queueing
  process is not the bot's) and sends them. Meanwhile:

  - a random ``--inject`` share of the sends to the fan-out chats is refused by the emulator
    with ``429 Too Many Requests: retry after 1`` (on top of the real flood control);
  - a salesperson (one of ten, in their own chats) sends /help once a second; the time from
    the emulator queueing the update to it receiving the bot's reply is an interactive reply's
    latency.

  Afterwards, from the emulator's call log: the sustained rate (messages delivered per second
  between the first and the last delivery), messages lost (queued, never delivered) and
  duplicated (delivered twice), the most sends in any one-second window to one private chat,
  in any one-minute window to one group and in any one-second window overall, and 429s from
  the flood control itself (the sender exceeding a limit) apart from the injected ones.

  Then the chart half (bench/_charts.py): the daily summary's chart set by our renderer beside
  plain pyplot drawing the same charts, in this run.

Goals (reported, never asserted)
  - sustained rate >= 0.95 x the configured global limit (``--rate``);
  - 0 lost, 0 duplicated; per-chat and per-group limits never exceeded (no per-chat or
    per-group 429 from the flood control; the overall ones are counted apart);
  - interactive replies during the fan-out: p99 <= 50 ms;
  - charts: ours <= 0.6 x the pyplot time, every PNG <= 80 KB.

Each run starts a fresh emulator, database and bot. With several runs the medians are shown.
The machine may be shared: the 1-minute load average is printed before and after. The last
line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOAL_RATE_SHARE = 0.95
GOAL_P99_MS = 50.0
TOKEN = "7200000001:AAFanoutBenchToken0123456789abcdefghi"
BOT_NAME = "chaterp_fanout_bot"
TIMEZONE = "Asia/Shanghai"
FIRST_CHAT = 400_000  # private fan-out chats: FIRST_CHAT + n
FIRST_GROUP = -500_000  # group fan-out chats: FIRST_GROUP - n
FIRST_SALES = 300_001  # the interactive salespeople
SALESPEOPLE = 10
BOT_START_TIMEOUT = 60.0
REPLY_TIMEOUT = 10.0
TEXT = "Fan-out {n}"


# --- the child: the bot ---------------------------------------------------------------------------


async def serve(api: str, db_path: Path, rate: float) -> None:
    """Run the real bot (front end + sender, no scheduled jobs) until stdin says stop."""
    from bot.runner import BotConfig, build_front_end
    from domain.clock import SystemClock
    from domain.ports import LedgerPolicy
    from handlers.context import EngineSettings
    from notifications.limits import SendLimits
    from notifications.publisher import OutboxPublisher
    from notifications.sender import SenderConfig
    from notifications.service import NotificationsConfig
    from storage.database import Database

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    database = Database(
        f"sqlite:///{db_path}",
        clock=SystemClock(TIMEZONE),
        policy=LedgerPolicy(),
        publisher=OutboxPublisher(EngineSettings(timezone=TIMEZONE)),
    )
    config = BotConfig(
        token=TOKEN,
        api_base_url=api,
        timezone=TIMEZONE,
        poll_timeout=10.0,
        notifications=NotificationsConfig(
            limits=SendLimits(global_per_second=rate, chat_per_second=1, group_per_minute=20),
            sender=SenderConfig(poll_interval=0.5),
        ),
    )
    front = build_front_end("ptb", config, database.uow, reader_factory=database.reader)
    await front.start()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    try:
        await reader.readline()  # "stop", or the parent went away
    finally:
        await front.stop()
        database.dispose()


# --- the parent -----------------------------------------------------------------------------------


def seed(path: Path) -> None:
    """A migrated database with the salespeople who chat during the fan-out."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from domain.model import Actor, Role
    from domain.ports import LedgerPolicy
    from domain.services.users import add_user
    from domain.transaction import run_in_transaction
    from storage.database import Database
    from storage.migrate import upgrade
    from tests.fakes import FixedClock

    clock = FixedClock(datetime.now(ZoneInfo(TIMEZONE)))
    database = Database(f"sqlite:///{path}", clock=clock, policy=LedgerPolicy())
    upgrade(database.engine)
    system = Actor.system("bench")
    for n in range(SALESPEOPLE):
        run_in_transaction(
            database.uow,
            lambda uow, n=n: add_user(
                uow,
                actor=system,
                name=f"Sales {n}",
                role=Role.SALES,
                telegram_user_id=FIRST_SALES + n,
            ),
        )
    database.dispose()


def fan_out_chats(chats: int, groups: int) -> list[int]:
    private = [FIRST_CHAT + n for n in range(chats - groups)]
    group_ids = [FIRST_GROUP - n for n in range(groups)]
    return private + group_ids


def queue_fan_out(path: Path, chat_ids: Sequence[int], messages: int) -> None:
    """One transaction, as a job would: message n goes to chat n mod len(chats)."""
    from domain.clock import SystemClock
    from domain.ports import LedgerPolicy, UnitOfWork
    from domain.transaction import run_in_transaction
    from notifications.parts import TextPart, queue
    from storage.database import Database

    database = Database(f"sqlite:///{path}", clock=SystemClock(TIMEZONE), policy=LedgerPolicy())

    def work(uow: UnitOfWork) -> None:
        for n in range(messages):
            chat = chat_ids[n % len(chat_ids)]
            queue(uow, f"bench:{n}", chat, [TextPart(TEXT.format(n=n))])

    run_in_transaction(database.uow, work)
    database.dispose()


class BotProcess:
    def __init__(self, api: str, db_path: Path, rate: float, log_path: Path) -> None:
        self.args = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--serve",
            "--api",
            api,
            "--db",
            str(db_path),
            "--rate",
            str(rate),
        ]
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = await asyncio.create_subprocess_exec(
            *self.args, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=log
        )
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), BOT_START_TIMEOUT)
        if line.strip() != b"ready":
            raise RuntimeError(f"the bot did not start; see {self.log_path}")

    async def stop(self) -> None:
        if self.process is None:
            return
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


@dataclass
class Injector:
    """Refuses a random share of the sends to fan-out chats with 429 (retry after 1)."""

    share: float
    chats: set[int]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    injected: int = 0

    def install(self, api: Any) -> None:
        from bot.emulator.errors import too_many_requests

        original = api.call

        async def call(bot: Any, method: str, params: Any) -> Any:
            if method == "sendMessage" and self.rng.random() < self.share:
                try:
                    chat = int(params.values.get("chat_id"))
                except (TypeError, ValueError):
                    chat = 0
                if chat in self.chats:
                    self.injected += 1
                    from bot.emulator.state import ApiCall

                    error = too_many_requests(1)
                    api.state.record_call(
                        ApiCall(
                            bot=bot.username,
                            method=method,
                            params={"chat_id": chat, "injected": True},
                            ok=False,
                            error_code=429,
                            description=error.description,
                            at=api.state.now(),
                        )
                    )
                    raise error
            return await original(bot, method, params)

        api.call = call


def max_in_window(times: Sequence[float], span: float) -> int:
    window: deque[float] = deque()
    best = 0
    for at in sorted(times):
        window.append(at)
        while window and window[0] <= at - span:
            window.popleft()
        best = max(best, len(window))
    return best


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


async def chat_during(emu: Any, stop: asyncio.Event, latencies: list[float]) -> None:
    """A salesperson sends /help every second; the reply's latency is recorded."""
    replies: dict[int, asyncio.Future[float]] = {}

    def heard(event: Any) -> None:
        if event.kind == "message" and event.message and event.message["from"]["is_bot"]:
            waiting = replies.pop(event.chat_id, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(time.perf_counter())

    unsubscribe = emu.subscribe(heard)
    loop = asyncio.get_running_loop()
    n = 0
    try:
        while not stop.is_set():
            user = FIRST_SALES + n % SALESPEOPLE
            n += 1
            future: asyncio.Future[float] = loop.create_future()
            replies[user] = future
            started = time.perf_counter()
            await emu.send_text(user, "/help")
            try:
                arrived = await asyncio.wait_for(future, REPLY_TIMEOUT)
                latencies.append((arrived - started) * 1000)
            except TimeoutError:
                latencies.append(REPLY_TIMEOUT * 1000)
            await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))
    finally:
        unsubscribe()


async def run_once(args: argparse.Namespace, workdir: Path, number: int) -> dict[str, Any]:
    from bot.emulator import running_emulator
    from bot.emulator.flood import FloodLimits

    db_path = workdir / f"fanout-{number}.db"
    seed(db_path)
    chat_ids = fan_out_chats(args.chats, args.groups)
    async with running_emulator() as emu:
        emu.state.max_calls = 10 * args.messages + 100_000
        account = emu.add_bot(TOKEN, username=BOT_NAME, first_name="chaterp")
        for n in range(SALESPEOPLE):
            emu.user(FIRST_SALES + n, f"Sales{n}")
            account.started.add(FIRST_SALES + n)
        for chat in chat_ids:
            if chat > 0:
                emu.user(chat, f"Customer{chat}")
                account.started.add(chat)
            else:
                emu.group(chat, f"Group {-chat}")
        emu.set_flood_limits(FloodLimits())
        injector = Injector(args.inject, set(chat_ids))
        injector.install(emu.api)
        bot = BotProcess(emu.url, db_path, args.rate, workdir / "fanout-bot.log")
        await bot.start()
        try:
            for n in range(SALESPEOPLE):  # warm up: every salesperson once
                await emu.send_text(FIRST_SALES + n, "/help")
                await emu.wait_for_bot_messages(FIRST_SALES + n, timeout=REPLY_TIMEOUT)
            # Queued first, as a job would (its one transaction is not what is measured),
            # then people chat while the sender works through it.
            await asyncio.to_thread(queue_fan_out, db_path, chat_ids, args.messages)
            latencies: list[float] = []
            stop = asyncio.Event()
            chatting = asyncio.create_task(chat_during(emu, stop, latencies))
            expected = args.messages
            deadline = time.monotonic() + expected / args.rate * 3 + 120
            fan_set = set(chat_ids)

            def delivered() -> int:
                return sum(
                    1
                    for c in emu.state.calls
                    if c.ok and c.method == "sendMessage" and chat_of(c) in fan_set
                )

            while delivered() < expected and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            await asyncio.sleep(2.0)  # anything sent twice would show up now
            stop.set()
            await chatting
        finally:
            await bot.stop()
        figures = measure(emu, args, chat_ids, latencies, injector.injected)
        refused = emu.api.flood.refused  # which limit the flood control's 429s were for
        for limit in ("global", "chat", "group"):
            figures[f"flood_429_{limit}"] = refused[limit]
        return figures


def chat_of(call: Any) -> int:
    try:
        return int(call.params.get("chat_id"))
    except (TypeError, ValueError):
        return 0


def measure(
    emu: Any,
    args: argparse.Namespace,
    chat_ids: Sequence[int],
    latencies: list[float],
    injected: int,
) -> dict[str, Any]:
    fan_set = set(chat_ids)
    sends = [c for c in emu.state.calls if c.method in ("sendMessage", "sendPhoto")]
    ok = [c for c in sends if c.ok]
    fanned = [c for c in ok if chat_of(c) in fan_set]
    texts: dict[str, int] = defaultdict(int)
    for call in fanned:
        texts[str(call.params.get("text"))] += 1
    expected = {TEXT.format(n=n) for n in range(args.messages)}
    lost = len(expected - set(texts))
    duplicated = sum(count - 1 for text, count in texts.items() if count > 1)
    times = sorted(c.at for c in fanned)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    average = (len(times) - 1) / span if len(times) > 1 else 0.0
    # Sustained: the middle 90 % of the deliveries (not the start-up, not the last groups'
    # 3-second pacing at the very end).
    first, last = int(len(times) * 0.05), int(len(times) * 0.95) - 1
    middle = times[last] - times[first] if last > first else float("nan")
    rate = (last - first) / middle if last > first else 0.0
    per_chat: dict[int, list[float]] = defaultdict(list)
    for call in fanned:  # (replies to people are not the sender's)
        per_chat[chat_of(call)].append(call.at)
    private_max = max((max_in_window(t, 1.0) for c, t in per_chat.items() if c > 0), default=0)
    gaps = [
        later - earlier
        for c, t in per_chat.items()
        if c > 0
        for earlier, later in zip(sorted(t), sorted(t)[1:], strict=False)
    ]
    group_max = max((max_in_window(t, 60.0) for c, t in per_chat.items() if c < 0), default=0)
    global_max = max_in_window([c.at for c in ok], 1.0)
    flood_429 = sum(1 for c in sends if c.error_code == 429 and not c.params.get("injected"))
    return {
        "messages": args.messages,
        "chats": args.chats,
        "groups": args.groups,
        "delivered": len(fanned),
        "lost": lost,
        "duplicated": duplicated,
        "seconds": round(span, 2),
        "average_per_s": round(average, 2),
        "rate_per_s": round(rate, 2),
        "rate_share": round(rate / args.rate, 3),
        "injected_429": injected,
        "flood_control_429": flood_429,
        "max_per_private_chat_per_s": private_max,
        "min_gap_private_s": round(min(gaps, default=float("nan")), 3),
        "max_per_group_per_min": group_max,
        "max_global_per_s": global_max,
        "replies": len(latencies),
        "reply_p50_ms": round(percentile(latencies, 50), 1),
        "reply_p99_ms": round(percentile(latencies, 99), 1),
        "reply_max_ms": round(max(latencies, default=float("nan")), 1),
    }


def median(runs: Sequence[dict[str, Any]], key: str) -> Any:
    values = [run[key] for run in runs]
    if all(isinstance(v, int) for v in values):
        return max(values) if key in WORST_OF else int(statistics.median(values))
    return round(statistics.median(values), 3)


WORST_OF = {
    "lost",
    "duplicated",
    "flood_control_429",
    "flood_429_global",
    "flood_429_chat",
    "flood_429_group",
    "max_per_private_chat_per_s",
    "max_per_group_per_min",
    "max_global_per_s",
}


def load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def print_table(runs: Sequence[dict[str, Any]], figures: dict[str, Any]) -> None:
    keys = [k for k in runs[0] if k not in ("messages", "chats", "groups")]
    print(f"{'figure':32}" + "".join(f"{'run ' + str(i + 1):>12}" for i in range(len(runs))))
    for key in keys:
        print(f"{key:32}" + "".join(f"{run[key]!s:>12}" for run in runs))
    print()
    print(
        f"fan-out: sustained {figures['rate_per_s']}/s (average {figures['average_per_s']}/s) "
        f"of {figures['rate_limit']}/s configured "
        f"({figures['rate_share']:.0%}; goal >= {GOAL_RATE_SHARE:.0%}): "
        f"{'ok' if figures['rate_ok'] else 'MISSED'}"
    )
    print(
        f"lost {figures['lost']}, duplicated {figures['duplicated']}, flood-control 429s "
        f"{figures['flood_control_429']} (global {figures['flood_429_global']}, per chat "
        f"{figures['flood_429_chat']}, per group {figures['flood_429_group']}; injected "
        f"{figures['injected_429']}): "
        f"{'ok' if figures['delivery_ok'] else 'MISSED'}"
    )
    print(
        f"limits: <= {figures['max_per_private_chat_per_s']}/s per private chat (closest "
        f"two {figures['min_gap_private_s']} s apart), "
        f"<= {figures['max_per_group_per_min']}/min per group, <= {figures['max_global_per_s']}/s "
        f"overall: {'ok' if figures['limits_ok'] else 'MISSED'}"
    )
    print(
        f"replies during the fan-out: p99 {figures['reply_p99_ms']} ms (goal <= {GOAL_P99_MS:g}): "
        f"{'ok' if figures['reply_ok'] else 'MISSED'}"
    )
    print(
        f"charts: ours {figures['charts_ours_ms']} ms vs pyplot {figures['charts_pyplot_ms']} ms "
        f"= {figures['charts_ratio']}x (goal <= {figures['charts_goal_ratio']}), largest PNG "
        f"{figures['charts_max_png_kb']} KB: "
        f"{'ok' if figures['charts_ratio_ok'] and figures['charts_png_ok'] else 'MISSED'}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chats", type=int, default=2_000)
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--rate", type=float, default=28.0, help="the sender's global limit")
    parser.add_argument("--inject", type=float, default=0.01, help="share of sends refused")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--chart-runs", type=int, default=7)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = []
    with tempfile.TemporaryDirectory(prefix="chaterp-fanout-") as folder:
        for number in range(args.runs):
            run = await run_once(args, Path(folder), number)
            print(f"run {number + 1}: {json.dumps(run)}", flush=True)
            runs.append(run)
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.serve:
        asyncio.run(serve(args.api, Path(args.db), args.rate))
        return
    import _charts  # bench/_charts.py: the chart half of the benchmark

    before = load()
    print(
        f"fan-out of {args.messages} messages to {args.chats} chats ({args.groups} groups) at "
        f"{args.rate:g}/s, {args.inject:.0%} injected 429s; load average {before:.2f}",
        flush=True,
    )
    runs = asyncio.run(bench(args))
    charts = _charts.run(args.chart_runs)
    figures: dict[str, Any] = {key: median(runs, key) for key in runs[0]}
    figures["rate_limit"] = args.rate
    figures["runs"] = len(runs)
    figures["rate_ok"] = figures["rate_share"] >= GOAL_RATE_SHARE
    figures["delivery_ok"] = figures["lost"] == 0 and figures["duplicated"] == 0
    # Telegram's rules as the emulator enforces them (about 1/s per chat with bursts of 3,
    # 20/min per group, 30/s overall): its flood control never had to refuse a send.
    # The issue's goal is per chat and per group; the overall limit is Telegram's "about
    # 30/s", kept at 28 + a burst of 2 (a few sends meet the emulator's exact window of 30
    # through network jitter: they are counted apart, retried, and neither lost nor doubled).
    figures["limits_ok"] = (
        figures["flood_429_chat"] == 0
        and figures["flood_429_group"] == 0
        and figures["max_per_private_chat_per_s"] <= 3
        and figures["max_per_group_per_min"] <= 20
    )
    figures["reply_ok"] = figures["reply_p99_ms"] <= GOAL_P99_MS
    figures.update(charts)
    figures["load_before"] = round(before, 2)
    figures["load_after"] = round(load(), 2)
    print()
    print_table(runs, figures)
    print(f"load average: {before:.2f} before, {figures['load_after']:.2f} after")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
