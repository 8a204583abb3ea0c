"""SQL repositories of the notification side: the outbox, job slots, low-stock episodes,
report subscriptions and inactive chats.

As in storage/repositories.py nothing here commits, and every decision that two processes could
race for is one conditional statement: a key inserted ``ON CONFLICT DO NOTHING``, a claim that
skips rows another transaction holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one
writer at a time anyway), an episode started only ``WHERE low = false``.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row, and_, bindparam, delete, exists, func, not_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from domain.ports import OutboxMessage, ReportSubscription
from storage.prepared import Prepared
from storage.repositories import _b, _b_in, _Repo
from storage.tables import (
    InactiveChatRow,
    JobRunRow,
    LowStockStateRow,
    OutboxBlobRow,
    OutboxMessageRow,
    ReportSubscriptionRow,
)

if TYPE_CHECKING:
    from storage.database import SqlUnitOfWork

OUTBOX = OutboxMessageRow.__table__
BLOBS = OutboxBlobRow.__table__
JOB_RUNS = JobRunRow.__table__
LOW_STOCK = LowStockStateRow.__table__
REPORTS = ReportSubscriptionRow.__table__
INACTIVE = InactiveChatRow.__table__

MAX_ERROR_CHARS = 300
MAX_MESSAGE_IDS_CHARS = 500


class OutboxBell:
    """Rings the senders of this process when a commit wrote outbox rows (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback not in self._listeners:
                self._listeners.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._listeners:
                self._listeners.remove(callback)

    def ring(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()


def _message(row: Row[Any]) -> OutboxMessage:
    ids = tuple(int(part) for part in row.message_ids.split(",") if part)
    return OutboxMessage(
        id=row.id,
        key=row.key,
        chat_id=int(row.chat_id),
        parts=row.parts,
        status=row.status,
        not_before=row.not_before,
        created_at=row.created_at,
        parts_sent=row.parts_sent,
        message_ids=ids,
        attempts=row.attempts,
        error=row.error,
        claimed_by=row.claimed_by,
        claimed_until=row.claimed_until,
        sent_at=row.sent_at,
    )


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_OUTBOX_COLUMNS = (
    "key",
    "chat_id",
    "parts",
    "status",
    "not_before",
    "created_at",
    "parts_sent",
    "message_ids",
    "attempts",
    "error",
)
_OUTBOX_ADD = {
    dialect: Prepared(
        builder(OUTBOX)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(OUTBOX.c.id),
        keys=_OUTBOX_COLUMNS,
    )
    for dialect, builder in (("sqlite", sqlite_insert), ("postgresql", pg_insert))
}


_PENDING = OUTBOX.c.status == "pending"
_CLAIMED_BY_OTHERS = Prepared(
    select(OUTBOX.c.chat_id)
    .where(
        _PENDING,
        OUTBOX.c.claimed_until > _b("b_now", OUTBOX.c.claimed_until),
        OUTBOX.c.claimed_by != _b("b_owner"),
    )
    .distinct()
)
_DUE_STATEMENT = (
    select(OUTBOX.c.id, OUTBOX.c.chat_id)
    .where(
        _PENDING,
        OUTBOX.c.not_before <= _b("b_now", OUTBOX.c.not_before),
        or_(
            OUTBOX.c.claimed_until.is_(None),
            OUTBOX.c.claimed_until <= _b("b_now", OUTBOX.c.claimed_until),
        ),
    )
    .order_by(OUTBOX.c.id)
    .limit(bindparam("b_limit"))
)
_DUE = Prepared(_DUE_STATEMENT)
_DUE_LOCKED = _DUE_STATEMENT.with_for_update(skip_locked=True)
_CLAIM = Prepared(
    update(OUTBOX)
    .where(OUTBOX.c.id.in_(_b_in("b_ids")))
    .values(
        claimed_by=_b("b_owner", OUTBOX.c.claimed_by),
        claimed_until=_b("b_until", OUTBOX.c.claimed_until),
    )
    .returning(*OUTBOX.c)
)
_PROGRESS = Prepared(
    update(OUTBOX)
    .where(OUTBOX.c.id == _b("b_id"), OUTBOX.c.claimed_by == _b("b_owner"), _PENDING)
    .values(
        parts_sent=_b("b_sent", OUTBOX.c.parts_sent),
        message_ids=_b("b_ids", OUTBOX.c.message_ids),
    )
)
_FINISHED = {
    "status": _b("b_status", OUTBOX.c.status),
    "sent_at": _b("b_sent_at", OUTBOX.c.sent_at),
    "claimed_until": None,
    "error": _b("b_error", OUTBOX.c.error),
}
_FINISH_ANY = Prepared(
    update(OUTBOX).where(OUTBOX.c.id == _b("b_id"), _PENDING).values(**_FINISHED)
)
_FINISH_MINE = Prepared(
    update(OUTBOX)
    .where(OUTBOX.c.id == _b("b_id"), _PENDING, OUTBOX.c.claimed_by == _b("b_owner"))
    .values(**_FINISHED)
)


class SqlOutbox(_Repo):
    def __init__(self, uow: SqlUnitOfWork, bell: OutboxBell) -> None:
        super().__init__(uow)
        self._bell = bell
        self.added = 0  # rows queued in this transaction (the bell rings after commit)

    def add(
        self, key: str, chat_id: int, parts: str, *, at: datetime, not_before: datetime | None
    ) -> bool:
        values = {
            "key": key,
            "chat_id": chat_id,
            "parts": parts,
            "status": "pending",
            "not_before": not_before or at,
            "created_at": at,
            "parts_sent": 0,
            "message_ids": "",
            "attempts": 0,
            "error": "",
        }
        result = self._exec(_OUTBOX_ADD[self._uow.dialect], values)
        queued = result.first() is not None
        self.added += queued
        return queued

    def get(self, key: str) -> OutboxMessage | None:
        row = self._exec(select(OUTBOX).where(OUTBOX.c.key == key)).first()
        return _message(row) if row else None

    def claim(
        self, *, owner: str, now: datetime, lease_until: datetime, limit: int
    ) -> list[OutboxMessage]:
        # Two plain queries, not one with a correlated NOT EXISTS: that one is evaluated for
        # every due row before the ORDER BY … LIMIT (20 ms with 10,000 queued on SQLite,
        # all of it holding the write lock that replies to people wait for).
        mine = {"b_owner": owner, "b_now": now}
        busy = {int(row.chat_id) for row in self._exec(_CLAIMED_BY_OTHERS, mine)}
        due = _DUE_LOCKED if self._uow.dialect == "postgresql" else _DUE
        rows = self._exec(due, {"b_now": now, "b_limit": limit + len(busy)})
        ids = [row.id for row in rows if int(row.chat_id) not in busy][:limit]
        if not ids:
            return []
        claimed = {"b_ids": ids, "b_owner": owner, "b_until": lease_until}
        return sorted((_message(row) for row in self._exec(_CLAIM, claimed)), key=lambda m: m.id)

    def renew(self, message_ids: Sequence[int], owner: str, lease_until: datetime) -> int:
        if not message_ids:
            return 0
        result = self._exec(
            update(OUTBOX)
            .where(
                OUTBOX.c.id.in_(list(message_ids)),
                OUTBOX.c.claimed_by == owner,
                OUTBOX.c.status == "pending",
            )
            .values(claimed_until=lease_until)
        )
        return int(result.rowcount)

    def progress(
        self, message_id: int, owner: str, parts_sent: int, message_ids: Sequence[int]
    ) -> bool:
        text = ",".join(str(i) for i in message_ids)[:MAX_MESSAGE_IDS_CHARS]
        values = {"b_id": message_id, "b_owner": owner, "b_sent": parts_sent, "b_ids": text}
        return bool(self._exec(_PROGRESS, values).rowcount == 1)

    def finish(
        self, message_id: int, owner: str | None, status: str, at: datetime, error: str = ""
    ) -> bool:
        values = {
            "b_id": message_id,
            "b_owner": owner,
            "b_status": status,
            "b_sent_at": at if status == "sent" else None,
            "b_error": error[:MAX_ERROR_CHARS],
        }
        statement = _FINISH_ANY if owner is None else _FINISH_MINE
        return bool(self._exec(statement, values).rowcount == 1)

    def release(
        self, message_id: int, owner: str, not_before: datetime, error: str, *, failed: bool
    ) -> None:
        row = self._exec(
            select(OUTBOX.c.chat_id).where(OUTBOX.c.id == message_id, OUTBOX.c.claimed_by == owner)
        ).first()
        if row is None:
            return
        self._exec(
            update(OUTBOX)
            .where(OUTBOX.c.id == message_id, OUTBOX.c.claimed_by == owner)
            .values(
                claimed_by=None,
                claimed_until=None,
                not_before=not_before,
                error=error[:MAX_ERROR_CHARS],
                attempts=OUTBOX.c.attempts + (1 if failed else 0),
            )
        )
        # The chat's later messages wait too, so they never overtake this one.
        self._exec(
            update(OUTBOX)
            .where(
                OUTBOX.c.chat_id == row.chat_id,
                OUTBOX.c.status == "pending",
                OUTBOX.c.id > message_id,
                OUTBOX.c.not_before < not_before,
            )
            .values(not_before=not_before)
        )

    def set_parts(self, message_id: int, owner: str, parts: str) -> None:
        self._exec(
            update(OUTBOX)
            .where(OUTBOX.c.id == message_id, OUTBOX.c.claimed_by == owner)
            .values(parts=parts)
        )

    def skip_chat(self, chat_id: int, at: datetime, reason: str) -> int:
        result = self._exec(
            update(OUTBOX)
            .where(OUTBOX.c.chat_id == chat_id, OUTBOX.c.status == "pending")
            .values(status="skipped", error=reason[:MAX_ERROR_CHARS], claimed_until=None)
        )
        return int(result.rowcount)

    def pending(self, *, now: datetime | None = None) -> int:
        query = select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == "pending")
        if now is not None:
            query = query.where(
                OUTBOX.c.not_before <= now,
                or_(OUTBOX.c.claimed_until.is_(None), OUTBOX.c.claimed_until <= now),
            )
        return int(self._exec(query).scalar_one())

    def for_chat(self, chat_id: int) -> list[OutboxMessage]:
        rows = self._exec(select(OUTBOX).where(OUTBOX.c.chat_id == chat_id).order_by(OUTBOX.c.id))
        return [_message(row) for row in rows]

    def put_blob(self, data: bytes, at: datetime) -> str:
        digest = digest_of(data)
        self._exec(
            self._insert_builder()(BLOBS)
            .values(digest=digest, data=data, file_id=None, created_at=at)
            .on_conflict_do_nothing(index_elements=["digest"])
        )
        return digest

    def blob(self, digest: str) -> tuple[bytes, str | None] | None:
        row = self._exec(
            select(BLOBS.c.data, BLOBS.c.file_id).where(BLOBS.c.digest == digest)
        ).first()
        return (bytes(row.data), row.file_id) if row else None

    def set_file_id(self, digest: str, file_id: str) -> None:
        self._exec(
            update(BLOBS)
            .where(BLOBS.c.digest == digest, BLOBS.c.file_id.is_(None))
            .values(file_id=file_id)
        )

    def purge(self, before: datetime) -> int:
        result = self._exec(
            delete(OUTBOX).where(OUTBOX.c.status != "pending", OUTBOX.c.created_at < before)
        )
        # A file no message mentions any more (digests are in the parts' JSON).
        still_used = exists(select(OUTBOX.c.id).where(OUTBOX.c.parts.contains(BLOBS.c.digest)))
        self._exec(delete(BLOBS).where(BLOBS.c.created_at < before, not_(still_used)))
        return int(result.rowcount)

    def on_commit(self, callback: Callable[[], None]) -> None:
        self._bell.subscribe(callback)

    def _insert_builder(self) -> Any:
        return pg_insert if self._uow.dialect == "postgresql" else sqlite_insert


class SqlJobRuns(_Repo):
    def try_claim(self, job: str, slot: datetime, by: str, at: datetime) -> bool:
        from sqlalchemy.dialects.postgresql import insert as pg_insert
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        builder = pg_insert if self._uow.dialect == "postgresql" else sqlite_insert
        result = self._exec(
            builder(JOB_RUNS)
            .values(job=job, slot=slot, claimed_by=by[:64], claimed_at=at)
            .on_conflict_do_nothing()
            .returning(JOB_RUNS.c.job)
        )
        return result.first() is not None

    def claimed(self, job: str, slot: datetime) -> bool:
        found = self._exec(
            select(JOB_RUNS.c.job).where(JOB_RUNS.c.job == job, JOB_RUNS.c.slot == slot)
        ).first()
        return found is not None

    def last_slot(self, job: str) -> datetime | None:
        row = self._exec(
            select(JOB_RUNS.c.slot)
            .where(JOB_RUNS.c.job == job)
            .order_by(JOB_RUNS.c.slot.desc())
            .limit(1)
        ).first()
        return row.slot if row else None


_LOW_STOCK_END = Prepared(
    update(LOW_STOCK)
    .where(LOW_STOCK.c.product_id == _b("b_product_id"), LOW_STOCK.c.low.is_(True))
    .values(low=False, changed_at=_b("b_at", LOW_STOCK.c.changed_at))
)


class SqlLowStock(_Repo):
    def try_begin(self, product_id: int, at: datetime) -> int | None:
        self._upsert_nothing(
            LOW_STOCK, {"product_id": product_id, "episode": 0, "low": False, "changed_at": at}
        )
        row = self._exec(
            update(LOW_STOCK)
            .where(LOW_STOCK.c.product_id == product_id, LOW_STOCK.c.low.is_(False))
            .values(low=True, episode=LOW_STOCK.c.episode + 1, changed_at=at)
            .returning(LOW_STOCK.c.episode)
        ).first()
        return int(row.episode) if row else None

    def try_end(self, product_id: int, at: datetime) -> bool:
        result = self._exec(_LOW_STOCK_END, {"b_product_id": product_id, "b_at": at})
        return result.rowcount == 1

    def low_products(self) -> set[int]:
        rows = self._exec(select(LOW_STOCK.c.product_id).where(LOW_STOCK.c.low.is_(True)))
        return {int(row.product_id) for row in rows}


def _subscription(row: Row[Any]) -> ReportSubscription:
    hour, _, minute = row.send_at.partition(":")
    return ReportSubscription(
        chat_id=int(row.chat_id),
        daily=bool(row.daily),
        weekly=bool(row.weekly),
        monthly=bool(row.monthly),
        send_at=time(int(hour), int(minute)),
        title=row.title,
    )


class SqlReportSubscriptions(_Repo):
    def get(self, chat_id: int) -> ReportSubscription | None:
        row = self._exec(select(REPORTS).where(REPORTS.c.chat_id == chat_id)).first()
        return _subscription(row) if row else None

    def list(self) -> list[ReportSubscription]:
        return [
            _subscription(row) for row in self._exec(select(REPORTS).order_by(REPORTS.c.chat_id))
        ]

    def save(self, subscription: ReportSubscription, at: datetime) -> None:
        values = {
            "daily": subscription.daily,
            "weekly": subscription.weekly,
            "monthly": subscription.monthly,
            "send_at": subscription.send_at.strftime("%H:%M"),
            "title": subscription.title[:120],
            "updated_at": at,
        }
        self._upsert_nothing(REPORTS, {"chat_id": subscription.chat_id, **values})
        self._exec(
            update(REPORTS).where(REPORTS.c.chat_id == subscription.chat_id).values(**values)
        )


class SqlChatStates(_Repo):
    def set_inactive(self, chat_id: int, reason: str, at: datetime) -> None:
        self._upsert_nothing(INACTIVE, {"chat_id": chat_id, "reason": reason[:200], "since": at})

    def set_active(self, chat_id: int) -> bool:
        result = self._exec(delete(INACTIVE).where(INACTIVE.c.chat_id == chat_id))
        return result.rowcount == 1

    def inactive(self) -> set[int]:
        return {int(row.chat_id) for row in self._exec(select(INACTIVE.c.chat_id))}


def move_notification_rows(uow: SqlUnitOfWork, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup: its queued messages and report settings follow it."""
    uow.execute(
        update(OUTBOX)
        .where(OUTBOX.c.chat_id == old_chat_id, OUTBOX.c.status == "pending")
        .values(chat_id=new_chat_id)
    )
    taken = uow.execute(select(REPORTS.c.chat_id).where(REPORTS.c.chat_id == new_chat_id)).first()
    if taken is None:
        uow.execute(
            update(REPORTS).where(REPORTS.c.chat_id == old_chat_id).values(chat_id=new_chat_id)
        )
    uow.execute(delete(INACTIVE).where(and_(INACTIVE.c.chat_id == old_chat_id)))
