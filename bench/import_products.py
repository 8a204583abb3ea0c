"""Benchmark ``chaterp import products`` on a fresh SQLite file database.

Usage: .venv/bin/python bench/import_products.py [--rows 100000] [--seed 1] [--keep]

Generates a products CSV (English and Chinese names, grouped prices like ``"1,200.50"``,
aliases, fractional units) in a temporary folder and measures, each on a fresh database:

* import:    every row new (``import_products``: check every row, then batched writes
             with audit entries, in one transaction);
* re-import: the same SKUs with new prices and names, so every row is an update;
* unchanged: the re-import file again, so every row is found identical and skipped;
* baseline:  the same rows through ``csv`` + ``sqlite3.executemany`` straight into the
             product table (no validation, no audit): the floor our overhead sits on.

The goal (reported, never asserted) is 100,000 rows imported in under 60 s. The last line
printed is one JSON object with the figures; ``met`` is true when both the import and the
re-import beat the goal.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from domain.clock import SystemClock
from domain.importing import ImportReport, import_products
from domain.model import Actor
from domain.ports import LedgerPolicy
from storage.database import Database
from storage.testing import create_schema

GOAL_S = 60.0
HEADER = ("sku", "name", "unit", "price", "cost", "reorder_point", "reorder_qty", "aliases")
UNITS = ("pcs", "pcs", "pcs", "box", "kg", "m", "包", "斤")
ADJECTIVES = ("Blue", "Red", "Large", "Small", "Heavy-duty", "Premium", "Organic", "Steel")
NOUNS = ("widget", "bolt", "rice", "tea", "cable", "hinge", "bucket", "rope", "valve")
CHINESE = ("茉莉花茶", "不锈钢螺丝", "大米", "铜线", "合页", "水桶", "麻绳", "阀门")


def generate(path: Path, rows: int, seed: int, *, price_shift: int = 0) -> None:
    """Write a products CSV; ``price_shift`` changes every price and name (all updates)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for i in range(rows):
            unit = rng.choice(UNITS)
            if rng.random() < 0.2:
                name = f"{rng.choice(CHINESE)} {i}号"
            else:
                name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} {i}"
            if price_shift:
                name += " v2"
            price_minor = rng.randrange(100, 2_000_000) + price_shift
            cost = "" if rng.random() < 0.3 else f"{price_minor * 6 // 1000}.{rng.randrange(10)}0"
            fractional = unit in ("kg", "m", "斤")
            reorder = f"{rng.randrange(0, 50)}.5" if fractional else str(rng.randrange(0, 50))
            aliases = "|".join(rng.sample(NOUNS, k=rng.randrange(0, 3)))
            writer.writerow(
                (
                    f"P{i:06d}",
                    name,
                    unit,
                    f"{Decimal(price_minor) / 100:,.2f}",  # "12,345.67": quoted by csv
                    cost,
                    reorder,
                    str(rng.randrange(0, 200)),
                    aliases,
                )
            )


def fresh_database(folder: Path, name: str) -> Database:
    db = Database(
        f"sqlite:///{folder / name}", clock=SystemClock("Asia/Shanghai"), policy=LedgerPolicy()
    )
    create_schema(db)
    return db


def timed(label: str, action: Callable[[], ImportReport]) -> tuple[float, float, ImportReport]:
    """Wall-clock and CPU seconds of one import (CPU shows our cost on a busy machine)."""
    started, cpu = time.perf_counter(), time.process_time()
    report = action()
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    if not report.ok:
        raise SystemExit(f"{label} failed:\n{report.describe()}")
    return seconds, cpu_seconds, report


def baseline(folder: Path, csv_path: Path) -> tuple[float, float]:
    """csv.reader + sqlite3.executemany into the product table, one commit."""
    db = fresh_database(folder, "baseline.db")
    db_file = db.engine.url.database
    db.dispose()
    assert db_file is not None
    started, cpu = time.perf_counter(), time.process_time()
    connection = sqlite3.connect(db_file)
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = [
            (
                sku.upper(),
                name,
                unit,
                int(Decimal(price.replace(",", "")) * 100),
                int(Decimal(cost or "0") * 100),
                aliases,
                int(Decimal(point) * 1000),
                int(Decimal(qty) * 1000),
                now,
            )
            for sku, name, unit, price, cost, point, qty, aliases in reader
        ]
    with connection:
        connection.executemany(
            "INSERT INTO product (sku, name, unit, price_minor, cost_minor, aliases,"
            " reorder_point_milli, reorder_qty_milli, active, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
            rows,
        )
    connection.close()
    return time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="chaterp-import-bench-"))
    first, second = folder / "products.csv", folder / "products-v2.csv"
    generate(first, args.rows, args.seed)
    generate(second, args.rows, args.seed, price_shift=1)
    actor = Actor.system("bench")

    db = fresh_database(folder, "bench.db")
    calls = 0

    def progress(done: int, total: int) -> None:
        nonlocal calls
        calls += 1

    create_s, create_cpu, created = timed(
        "import", lambda: import_products(db.uow, first, actor=actor, progress=progress)
    )
    update_s, update_cpu, updated = timed(
        "re-import", lambda: import_products(db.uow, second, actor=actor)
    )
    same_s, same_cpu, same = timed(
        "unchanged", lambda: import_products(db.uow, second, actor=actor)
    )
    with db.reader() as uow:
        audit_rows = len(uow.audit.list(object_type="product"))
    db.dispose()
    base_s, base_cpu = baseline(folder, first)

    assert created.created == args.rows and updated.updated == args.rows
    assert same.unchanged == args.rows and audit_rows == 2 * args.rows

    table = [
        ("import (all new)", create_s, create_cpu),
        ("re-import (all updated)", update_s, update_cpu),
        ("re-import (unchanged)", same_s, same_cpu),
        ("baseline csv+sqlite3 executemany", base_s, base_cpu),
    ]
    print(f"{'case':<34} {'rows':>8} {'seconds':>8} {'cpu s':>7} {'rows/s':>9} {'x baseline':>10}")
    for label, seconds, cpu_seconds in table:
        print(
            f"{label:<34} {args.rows:>8} {seconds:>8.2f} {cpu_seconds:>7.2f}"
            f" {args.rows / seconds:>9.0f} {seconds / base_s:>10.1f}"
        )
    print(f"progress callbacks during the import: {calls}; audit entries: {audit_rows}")
    print(f"files and databases in {folder}" + ("" if args.keep else " (deleted)"))
    if not args.keep:
        for item in sorted(folder.iterdir()):
            item.unlink()
        folder.rmdir()
    met = create_s < GOAL_S and update_s < GOAL_S
    print(
        json.dumps(
            {
                "rows": args.rows,
                "seconds": round(create_s, 2),
                "rows_per_s": round(args.rows / create_s),
                "goal_s": GOAL_S,
                "met": met,
                "cpu_seconds": round(create_cpu, 2),
                "reimport_seconds": round(update_s, 2),
                "reimport_cpu_seconds": round(update_cpu, 2),
                "unchanged_seconds": round(same_s, 2),
                "baseline_seconds": round(base_s, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
