"""The ``chaterp`` command line, run as a user would, on a throwaway SQLite file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot import sandbox
from bot.cli import app
from bot.settings import Settings, get_settings
from domain.services.users import token_hash
from storage.database import build_engine
from storage.migrate import current_revision, head_revision

TOKEN = re.compile(r"/start ([A-Za-z0-9_-]{20,64})$", re.M)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)  # no developer .env is read
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_run_without_token_starts_the_sandbox_on_its_own_database(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    monkeypatch.setenv("SANDBOX_DATABASE_URL", sandbox_url)
    monkeypatch.setenv("SANDBOX_PORT", "8099")
    started: list[tuple[str, int]] = []
    frameworks: list[str] = []

    def run_sandbox(settings: Settings, *, host: str, port: int, **hooks: Any) -> None:
        """Everything but serving (tests/sandbox serve the sandbox)."""
        database = sandbox.open_database(settings)
        hooks["on_prepared"](sandbox.prepare_database(database), database)
        database.dispose()
        started.append((host, port))
        frameworks.append(settings.chaterp_framework)
        hooks["on_ready"](f"http://{host}:{port}")

    monkeypatch.setattr(sandbox, "run_sandbox", run_sandbox)
    result = cli.invoke(app, ["run"])
    assert result.exit_code == 0, result.output
    assert "No TELEGRAM_BOT_TOKEN is set, so this is the sandbox" in result.output
    assert "the demo business is loaded" in result.output
    assert "open http://127.0.0.1:8099" in result.output
    assert started == [("127.0.0.1", 8099)]
    assert current_revision(build_engine(sandbox_url)) == head_revision()
    assert not (tmp_path / "cli.db").exists()  # the real bot's database is not touched

    again = cli.invoke(app, ["sandbox", "--port", "8100"])
    assert "kept from last time" in again.output
    assert started[-1] == ("127.0.0.1", 8100)

    reset = cli.invoke(app, ["sandbox", "--reset"])
    assert "starting over" in reset.output and "the demo business is loaded" in reset.output

    # the chat framework the bot inside runs on: the setting, or the command line's choice
    monkeypatch.setenv("CHATERP_FRAMEWORK", "aiogram")
    get_settings.cache_clear()
    assert cli.invoke(app, ["sandbox"]).exit_code == 0
    assert cli.invoke(app, ["run", "--framework", "ptb"]).exit_code == 0
    assert cli.invoke(app, ["sandbox", "--framework", "ptb"]).exit_code == 0
    assert frameworks == ["ptb", "ptb", "ptb", "aiogram", "ptb", "ptb"]


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


def test_import_products_then_a_bad_file_changes_nothing(cli: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "products.csv"
    good.write_text(
        "\ufeffsku,name,unit,price,cost,reorder_point,reorder_qty,aliases\n"
        'W-1,Blue widget,pcs,"1,200.50",800,5,20,widget|蓝色小部件\n'
        "LS-6,螺丝 M6,box,35,20,10,50,luosi\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["import", "products", str(good)])
    assert result.exit_code == 0, result.output
    assert "2 new" in result.output

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "sku,name,unit,price,cost,reorder_point,reorder_qty,aliases\n"
        "W-2,Red widget,pcs,12,8,0,0,\n"
        "W-3,Green widget,pcs,abc,8,0,0,\n",
        encoding="utf-8",
    )
    result = cli.invoke(app, ["import", "products", str(bad)])
    assert result.exit_code == 1
    assert "line 3" in result.output
    assert "Nothing was imported" in result.output
    engine = build_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT sku, price_minor, aliases FROM product ORDER BY sku"
        ).all()
    assert [tuple(row) for row in rows] == [
        ("LS-6", 3500, "luosi"),
        ("W-1", 120050, "widget|蓝色小部件"),
    ]


def test_import_missing_file(cli: CliRunner) -> None:
    result = cli.invoke(app, ["import", "stock", "nope.csv"])
    assert result.exit_code == 1
    assert "No such file" in result.output
