"""Logging that never prints the bot token: a redacting filter on every handler."""

from __future__ import annotations

import logging
import re

TOKEN_PATTERN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{30,}")
REDACTED = "<redacted-token>"


def redact(text: str) -> str:
    return TOKEN_PATTERN.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Replaces anything shaped like a bot token in the final message and exception text."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def redact_record(record: logging.LogRecord) -> None:
    """Replace token-shaped text in a record's final message and exception text, in place."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it for the handler to report
        return
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    record.msg = redact(message)
    record.args = None
    if record.exc_text:
        record.exc_text = redact(record.exc_text)


def install_record_redaction() -> None:
    """Redact every log record when it is created, so no handler (a test's log capture, an
    error reporter added later) ever sees a token. Idempotent."""
    current = logging.getLogRecordFactory()
    if getattr(current, "chaterp_redacting", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = current(*args, **kwargs)
        redact_record(record)
        return record

    factory.chaterp_redacting = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


def quiet_noisy_loggers() -> None:
    # httpx logs every request URL, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore", "apscheduler", "alembic.runtime.migration"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    install_record_redaction()
    quiet_noisy_loggers()
