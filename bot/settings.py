"""Settings from the environment and ``.env`` (see .env.example for each one)."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.money import currency_exponent
from domain.ports import LedgerPolicy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///chaterp.db"
    chaterp_framework: Literal["ptb", "aiogram"] = "ptb"
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    default_language: Literal["en", "zh_Hans"] = "en"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    credit_hold_overdue_days: int = Field(default=30, ge=0)
    invite_ttl_days: int = Field(default=7, ge=1, le=90)
    default_payment_terms_days: int = Field(default=30, ge=0, le=365)
    draft_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    # Messages the bot sends on its own (the outbox): Telegram allows about 30/s overall, 1/s
    # per chat and 20/min per group; the overall budget stays a little under Telegram's so
    # replies to people always fit beside a long fan-out.
    outbox_global_per_second: float = Field(default=28.0, gt=0, le=1000)
    outbox_chat_per_second: float = Field(default=1.0, gt=0, le=100)
    outbox_group_per_minute: float = Field(default=20.0, gt=0, le=1000)
    outbox_poll_seconds: float = Field(default=2.0, gt=0, le=300)
    # Scheduled jobs (times in TIMEZONE, HH:MM).
    scheduler_enabled: bool = True
    daily_summary_at: time = time(19, 0)  # owners who chose no time with /subscribe
    overdue_reminders_at: time = time(9, 0)
    low_stock_digest_at: time = time(8, 30)
    birthdays_at: time = time(9, 0)
    escalate_after_days: int = Field(default=14, ge=1, le=365)
    missed_run_grace_hours: float = Field(default=6.0, ge=0, le=72)
    # The sandbox (no token): its own database, so demo data never mixes with the real one.
    sandbox_host: str = "127.0.0.1"
    sandbox_port: int = Field(default=8080, ge=0, le=65535)
    sandbox_database_url: str = "sqlite:///sandbox.db"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name like Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("currency")
    @classmethod
    def _iso_currency(cls, value: str) -> str:
        code = value.strip().upper()
        currency_exponent(code)  # raises ValueError for anything that is not a 3-letter code
        return code

    @field_validator("telegram_bot_token", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def has_token(self) -> bool:
        return self.telegram_bot_token is not None and bool(
            self.telegram_bot_token.get_secret_value()
        )

    def policy(self) -> LedgerPolicy:
        return LedgerPolicy(
            currency=self.currency,
            credit_hold_overdue_days=self.credit_hold_overdue_days,
            invite_ttl_days=self.invite_ttl_days,
            default_payment_terms_days=self.default_payment_terms_days,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
