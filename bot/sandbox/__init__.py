"""The sandbox: the whole product on one machine, with no Telegram account and no internet.

``chaterp sandbox`` (and ``chaterp run`` without a token) runs the local Bot API emulator, the
real bot talking HTTP to it, and a web chat page at http://127.0.0.1:8080 where you act as the
demo business's people: cast.py (who), prepare.py (the database), server.py (the process),
web.py and static/ (the page), jobs.py (running scheduled jobs now).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.bootstrap import message_settings
from bot.sandbox.history import ChatHistory, files_folder, history_path
from bot.sandbox.jobs import JobInfo, JobRunner, NoJobs
from bot.sandbox.prepare import Prepared, prepare_database
from bot.sandbox.server import Sandbox
from bot.settings import Settings
from domain.clock import SystemClock
from notifications.publisher import OutboxPublisher
from storage.database import Database

__all__ = [
    "ChatHistory",
    "JobInfo",
    "JobRunner",
    "NoJobs",
    "Prepared",
    "Sandbox",
    "open_database",
    "prepare_database",
    "reset_database",
    "run_sandbox",
]


def open_database(settings: Settings) -> Database:
    """The sandbox's own database (SANDBOX_DATABASE_URL), never the real bot's."""
    return Database(
        settings.sandbox_database_url,
        clock=SystemClock(settings.timezone),
        policy=settings.policy(),
        publisher=OutboxPublisher(message_settings(settings)),
    )


def reset_database(settings: Settings) -> Path | None:
    """Delete the sandbox's SQLite file (with its WAL) and its saved chats, so the next start
    loads fresh demo data. Returns the database file removed, or None when there was none.
    Refuses anything but a SQLite file.
    """
    url = make_url(settings.sandbox_database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        raise ValueError("--reset only deletes a SQLite file; empty other databases yourself")
    path = Path(url.database)
    existed = path.exists()
    chats = history_path(settings.sandbox_database_url)
    for leftover in (
        path,
        path.with_name(path.name + "-wal"),
        path.with_name(path.name + "-shm"),
        chats,
    ):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(files_folder(chats), ignore_errors=True)
    return path if existed else None


def run_sandbox(
    settings: Settings,
    *,
    host: str,
    port: int,
    on_prepared: Callable[[Prepared, Database], None] | None = None,
    on_ready: Callable[[str], None] | None = None,
    jobs: JobRunner | None = None,
) -> None:
    """Prepare the database and run the sandbox until Ctrl+C (blocking)."""
    database = open_database(settings)
    try:
        prepared = prepare_database(database)
        if on_prepared is not None:
            on_prepared(prepared, database)
        history = ChatHistory(history_path(settings.sandbox_database_url))
        sandbox = Sandbox(settings, database, host=host, port=port, jobs=jobs, history=history)
        asyncio.run(sandbox.serve(on_ready))
    finally:
        database.dispose()
