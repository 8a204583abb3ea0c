"""Layering from DESIGN.md, checked on the source: a pure domain, flows that never touch storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = {
    "telegram",
    "aiogram",
    "sqlmodel",
    "sqlalchemy",
    "matplotlib",
    "apscheduler",
    "alembic",
}


def imported_roots(path: Path) -> set[str]:
    """Top-level package names a module imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("domain"), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_imports_no_framework_or_orm(path: Path) -> None:
    forbidden = imported_roots(path) & (
        FRAMEWORKS | {"storage", "bot", "handlers", "notifications"}
    )
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


@pytest.mark.parametrize("path", modules("handlers"), ids=lambda p: str(p.relative_to(ROOT)))
def test_handlers_do_not_touch_storage(path: Path) -> None:
    forbidden = imported_roots(path) & {"sqlmodel", "sqlalchemy", "storage"}
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import sqlalchemy.orm\nfrom telegram import Bot\nfrom . import x\n")
    assert imported_roots(sample) == {"sqlalchemy", "telegram"}


def test_no_sql_built_from_strings_in_storage() -> None:
    """Statements are SQLAlchemy expressions with bound parameters, never f-string SQL."""
    offenders = []
    for path in modules("storage"):
        if "migrations" in path.parts or path.name == "testing.py" or path.name == "tables.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
                if any(
                    word in text.upper() for word in ("SELECT ", "UPDATE ", "INSERT ", "DELETE ")
                ):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert not offenders, offenders


@pytest.mark.parametrize(
    "path",
    modules("handlers") + modules("notifications"),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_flows_and_notifications_know_no_bot_framework(path: Path) -> None:
    forbidden = imported_roots(path) & {"telegram", "aiogram"}
    assert not forbidden, f"{path.name} imports {sorted(forbidden)}"


@pytest.mark.parametrize(
    ("folder", "other"),
    [("bot/ptb", "aiogram"), ("bot/aiogram", "telegram")],
)
def test_each_front_end_uses_only_its_own_framework(folder: str, other: str) -> None:
    offenders = [p.name for p in modules(folder) if other in imported_roots(p)]
    assert not offenders, f"{folder} imports {other}: {offenders}"


@pytest.mark.parametrize("name", ["updates.py", "lanes.py", "frontend.py", "runner.py"])
def test_what_the_front_ends_share_is_framework_neutral(name: str) -> None:
    forbidden = imported_roots(ROOT / "bot" / name) & {"telegram", "aiogram"}
    assert not forbidden, f"bot/{name} imports {sorted(forbidden)}"
