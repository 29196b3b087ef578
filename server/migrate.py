"""Alembic driven from code, so the CLI, the tests and /readyz share one configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def head_revisions() -> set[str]:
    script = ScriptDirectory(str(MIGRATIONS))
    return set(script.get_heads())


def current_revisions(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


# procrastinate's job tables live in the same schema; its own SQL owns them.
JOB_TABLE_PREFIX = "procrastinate_"


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """Autogenerate/compare filter: our models, not PostGIS's or procrastinate's tables."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    if table and table.startswith(JOB_TABLE_PREFIX):
        return False
    return bool(alembic_helpers.include_object(obj, name, type_, reflected, compare_to))
