"""Test support: schemas from the models (tests only) and throwaway PostgreSQL schemas."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.database import Database, normalise_url
from storage.tables import append_only_ddl, metadata


def create_schema(db: Database) -> None:
    """Create every table from the models plus the append-only triggers (tests only)."""
    metadata.create_all(db.engine)
    with db.engine.begin() as conn:
        for statement in append_only_ddl(db.dialect):
            conn.execute(text(statement))


def truncate_all(db: Database) -> None:
    """Empty every table and restart ids (PostgreSQL; TRUNCATE fires no row triggers)."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with db.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@contextmanager
def fresh_postgres_schema(url: str) -> Iterator[str]:
    """A new empty schema on the server at ``url``; yields a URL whose search_path is it."""
    base = normalise_url(url)
    schema = f"t_{secrets.token_hex(6)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
