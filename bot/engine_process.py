"""Where the conversation engine runs: in worker threads, or in a child process of its own.

The engine is synchronous Python (flows, matching, SQL through SQLAlchemy). Run in threads of
the bot's own process, it shares one interpreter lock with the event loop, which then waits
for the engine whenever both have work: under load a reply waits behind other chats' engine
steps, and the loop stalls. :class:`EngineProcess` runs the engine (with its own thread pool
and database connections) in a child process instead, so the event loop keeps a core to
itself and the engine has the other. Nothing about the guarantees changes: the engine still
commits each update's business change, conversation state and processed-update id in one
transaction; the child is just another connection to the same database (SQLite takes its
write lock, PostgreSQL its row locks), as a second instance would be.

:class:`ThreadedEngine` (the engine in worker threads of this process) remains for tests that
drive a fake clock or an in-memory database, which a child process cannot share.

Protocol (parent ↔ child, over the child's stdin/stdout): frames of a 4-byte big-endian
length and a pickle. The parent sends the :class:`EngineSpec`, then ``(call_id, method,
args)``; the child answers ``("ready", None)`` once warmed up, then ``(call_id, ok, value,
cpu_seconds)``, and ``(0, True, None, 0.0)`` whenever a commit queued outbox messages (so the
sender in the parent looks at once). Both sides are this program: the pickles never cross a
trust boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import pickle
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO, Any, Protocol

from domain.ports import Clock, LedgerPolicy
from handlers.context import EngineSettings
from handlers.engine import ConversationEngine, apology
from handlers.incoming import Incoming
from handlers.replies import Reply

logger = logging.getLogger(__name__)

FRAME_HEADER = struct.Struct(">I")
OUTBOX_RANG = 0  # the call id of the child's "outbox messages were queued" notice
START_TIMEOUT = 120.0  # seconds for the child to import, connect and build the product index
STOP_TIMEOUT = 30.0  # seconds for the child to finish the calls in hand when stopping
ENGINE_THREADS = 8  # engine steps the child runs at once (SQLite still writes one at a time)
# The engine methods a front end calls (with delivery's hooks), and the child's CPU clock.
METHODS = frozenset({"handle", "record_sent", "mark_blocked", "move_chat", "cpu_seconds"})

# Observes each engine step: the update, its wall time and the engine's CPU time (seconds).
StepObserver = Callable[[Incoming, float, float], None]


class EngineUnavailable(RuntimeError):
    """The engine process is gone (crashed or killed); it is restarted on the next call."""


class EngineCalls(Protocol):
    """How a front end reaches the engine; every method is a coroutine."""

    observer: StepObserver | None

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def handle(self, incoming: Incoming) -> list[Reply]:
        """The engine's replies to one update (an apology if the engine failed)."""
        ...

    async def call(self, method: str, *args: Any) -> Any:
        """Another engine method (``record_sent``, ``mark_blocked``, ``move_chat``)."""
        ...

    async def run_hook(self, hook: Callable[..., object], *args: Any) -> Any:
        """Run one of delivery's hooks (an engine method) where the engine runs."""
        ...


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What the child needs to build the same engine: its database and settings."""

    database_url: str
    settings: EngineSettings
    policy: LedgerPolicy
    threads: int = ENGINE_THREADS
    log_level: int = logging.INFO
    clock: Clock | None = None  # None: the system clock (tests pass a picklable fixed one)


# --- the engine in this process -------------------------------------------------------------


class ThreadedEngine:
    """The engine in worker threads of this process (tests with fakes; no process to start)."""

    def __init__(self, engine: ConversationEngine) -> None:
        self.engine = engine
        self.observer: StepObserver | None = None

    async def start(self) -> None:
        """Nothing to start."""

    async def stop(self) -> None:
        """Nothing to stop."""

    async def handle(self, incoming: Incoming) -> list[Reply]:
        if self.observer is None:
            return await asyncio.to_thread(self.engine.handle, incoming)
        started = time.perf_counter()
        replies, cpu = await asyncio.to_thread(_timed, self.engine.handle, incoming)
        self.observer(incoming, time.perf_counter() - started, cpu)
        return replies

    async def call(self, method: str, *args: Any) -> Any:
        if method not in METHODS:
            raise ValueError(f"not an engine method: {method}")
        return await asyncio.to_thread(getattr(self.engine, method), *args)

    async def run_hook(self, hook: Callable[..., object], *args: Any) -> Any:
        return await asyncio.to_thread(hook, *args)


def _timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.thread_time()
    return function(*args), time.thread_time() - started


# --- the engine in a child process: the parent's side -----------------------------------------


class EngineProcess:
    """The engine in a child process, called from the event loop without any thread here."""

    def __init__(
        self,
        spec: EngineSpec,
        *,
        start_timeout: float = START_TIMEOUT,
        on_outbox: Callable[[], None] | None = None,
    ) -> None:
        self.spec = spec
        self.observer: StepObserver | None = None
        self.on_outbox = on_outbox  # called when the child's commits queued outbox messages
        self._start_timeout = start_timeout
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[tuple[Any, float]]] = {}
        self._ids = itertools.count(OUTBOX_RANG + 1)
        self._starting = asyncio.Lock()
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        """The child is up and answering (it is started again on the next call if not)."""
        return self._alive()

    async def start(self) -> None:
        """Start the child and wait until it has built its engine (its product index)."""
        async with self._starting:
            if self._alive():
                return
            self._stopping = False
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.engine_process",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(_frame(self.spec))
            try:
                ready = await asyncio.wait_for(_read_frame(process.stdout), self._start_timeout)
            except (TimeoutError, asyncio.IncompleteReadError) as error:
                process.kill()
                await process.wait()
                raise EngineUnavailable("the engine process did not start") from error
            if ready != ("ready", None):
                process.kill()
                await process.wait()
                raise EngineUnavailable(f"the engine process failed to start: {ready!r}")
            self._process = process
            self._reader = asyncio.get_running_loop().create_task(self._read_answers(process))
            logger.info("the engine runs in process %s", process.pid)

    async def stop(self) -> None:
        """Let the child finish the calls in hand, then end it."""
        self._stopping = True
        process, reader = self._process, self._reader
        if process is None:
            return
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()  # EOF: the child finishes its calls and exits
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            logger.warning("the engine process did not stop in time; killing it")
            process.kill()
            await process.wait()
        if reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        self._process = self._reader = None

    async def handle(self, incoming: Incoming) -> list[Reply]:
        started = time.perf_counter()
        try:
            replies, cpu = await self._call("handle", (incoming,))
        except Exception:  # the child died, or its answer could not be sent
            logger.exception("update %s was not handled by the engine", incoming.update_id)
            return apology(incoming, self.spec.settings)
        if self.observer is not None:
            self.observer(incoming, time.perf_counter() - started, cpu)
        result: list[Reply] = replies
        return result

    async def call(self, method: str, *args: Any) -> Any:
        value, _ = await self._call(method, args)
        return value

    async def run_hook(self, hook: Callable[..., object], *args: Any) -> Any:
        name = getattr(hook, "__name__", "")
        if name not in METHODS:
            raise ValueError(f"not an engine method: {hook!r}")
        return await self.call(name, *args)

    # --- internals ----------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self._process is not None and self._reader is not None and not self._reader.done()

    async def _call(self, method: str, args: tuple[Any, ...]) -> tuple[Any, float]:
        if method not in METHODS:
            raise ValueError(f"not an engine method: {method}")
        if not self._alive():
            if self._stopping:
                raise EngineUnavailable("the engine process is stopping")
            await self.start()  # after a crash: a fresh child, a fresh connection
        process = self._process
        assert process is not None and process.stdin is not None
        call_id = next(self._ids)
        answer: asyncio.Future[tuple[Any, float]] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = answer
        try:
            process.stdin.write(_frame((call_id, method, args)))
        except (ConnectionError, RuntimeError) as error:
            self._pending.pop(call_id, None)
            raise EngineUnavailable(str(error)) from error
        return await answer

    async def _read_answers(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while True:
                call_id, ok, value, cpu = await _read_frame(process.stdout)
                if call_id == OUTBOX_RANG:
                    if self.on_outbox is not None:
                        self.on_outbox()
                    continue
                answer = self._pending.pop(call_id, None)
                if answer is None or answer.done():
                    continue
                if ok:
                    answer.set_result((value, cpu))
                else:
                    answer.set_exception(RuntimeError(f"the engine failed: {value}"))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the child exited
        finally:
            if not self._stopping:
                logger.error("the engine process exited (%s); restarting it", process.returncode)
            for answer in self._pending.values():
                if not answer.done():
                    answer.set_exception(EngineUnavailable("the engine process exited"))
            self._pending.clear()
            if process.returncode is None and not self._stopping:
                process.kill()


def _frame(value: object) -> bytes:
    payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return FRAME_HEADER.pack(len(payload)) + payload


async def _read_frame(stream: asyncio.StreamReader) -> Any:
    (size,) = FRAME_HEADER.unpack(await stream.readexactly(FRAME_HEADER.size))
    return pickle.loads(await stream.readexactly(size))


# --- the engine in a child process: the child's side ------------------------------------------


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _receive(stream: IO[bytes]) -> Any:
    header = _read_exactly(stream, FRAME_HEADER.size)
    if header is None:
        return None
    payload = _read_exactly(stream, FRAME_HEADER.unpack(header)[0])
    return None if payload is None else pickle.loads(payload)


def serve_engine(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child: build the engine from the first frame, then answer calls until EOF."""
    from bot.logging_setup import configure_logging
    from bot.runner import settle_heap, warm_up
    from domain.clock import SystemClock
    from handlers.registry import build_engine
    from notifications.publisher import OutboxPublisher
    from storage.database import Database

    spec = _receive(requests)
    if not isinstance(spec, EngineSpec):
        raise SystemExit(f"the engine process expected an EngineSpec, not {type(spec)!r}")
    configure_logging(spec.log_level)
    clock = spec.clock or SystemClock(spec.settings.timezone)
    # Its units of work turn domain events into outbox messages, as in every writing process.
    database = Database(
        spec.database_url,
        clock=clock,
        policy=spec.policy,
        publisher=OutboxPublisher(spec.settings),
    )
    engine = build_engine(database.uow, spec.settings)
    warm_up(engine, database.uow)
    settle_heap()
    lock = threading.Lock()

    def answer(value: object) -> None:
        with lock:
            answers.write(_frame(value))
            answers.flush()

    database.bell.subscribe(lambda: answer((OUTBOX_RANG, True, None, 0.0)))

    def run(call_id: int, method: str, args: tuple[Any, ...]) -> None:
        started = time.thread_time()
        try:
            if method == "cpu_seconds":
                value: Any = time.process_time()
            else:
                value = getattr(engine, method)(*args)
            answer((call_id, True, value, time.thread_time() - started))
        except Exception as error:  # handle() never raises; the hooks may
            logger.exception("engine call %s failed", method)
            answer((call_id, False, type(error).__name__, time.thread_time() - started))

    answer(("ready", None))
    with ThreadPoolExecutor(spec.threads, thread_name_prefix="engine") as pool:
        while (request := _receive(requests)) is not None:
            call_id, method, args = request
            if method in METHODS:
                pool.submit(run, call_id, method, args)
            else:
                answer((call_id, False, f"unknown method {method!r}", 0.0))
    database.dispose()


def main() -> None:
    """Entry point of the child: the protocol on private copies of stdin and stdout."""
    # The parent decides when the child ends (it closes the pipe once the updates in hand are
    # done); Ctrl-C or a service manager's SIGTERM reaching the whole group must not cut the
    # engine off mid-update first. If the parent dies, the pipe closes and the child exits.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr, never into the protocol
    with open(os.devnull, "rb") as nothing:
        os.dup2(nothing.fileno(), 0)
    sys.stdout = sys.stderr
    serve_engine(requests, answers)


if __name__ == "__main__":
    # Run the module's own copy (not __main__'s), so the spec unpickles as its EngineSpec.
    from bot import engine_process

    engine_process.main()
