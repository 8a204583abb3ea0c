"""The ``chaterp`` command line, run as a user would, on a throwaway SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import get_settings
from domain.services.users import token_hash
from storage.database import build_engine
from storage.migrate import current_revision

TOKEN = re.compile(r"/start ([A-Za-z0-9_-]{20,64})$", re.M)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_run_without_token_prepares_the_database(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert "No TELEGRAM_BOT_TOKEN" in result.output
    assert current_revision(build_engine(f"sqlite:///{tmp_path / 'cli.db'}")) == "0001"


def test_db_upgrade_twice(cli: CliRunner) -> None:
    assert cli.invoke(app, ["db", "upgrade"]).exit_code == 0
    result = cli.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0
    assert "up to date" in result.output


def test_invite_prints_a_single_use_deep_link(cli: CliRunner, tmp_path: Path) -> None:
    result = cli.invoke(app, ["invite", "owner", "--name", "Li Wei"])
    assert result.exit_code == 0, result.output
    token = TOKEN.search(result.output)
    assert token is not None, result.output
    assert f"https://t.me/<your_bot_username>?start={token.group(1)}" in result.output
    engine = build_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash, role, name FROM invite").all()
    assert [tuple(row) for row in stored] == [(token_hash(token.group(1)), "owner", "Li Wei")]


def test_invite_refuses_unknown_role_and_customer(cli: CliRunner) -> None:
    assert cli.invoke(app, ["invite", "king"]).exit_code != 0
    result = cli.invoke(app, ["invite", "customer", "--customer", "Nobody Ltd"])
    assert result.exit_code == 1
    assert "No customer matches" in result.output
    result = cli.invoke(app, ["invite", "customer"])
    assert result.exit_code == 1
    assert "needs --customer" in result.output
