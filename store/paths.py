"""Where a store lives: ``--store PATH`` > ``$TEAMTAPE_STORE`` > ``./.teamtape/``."""

from __future__ import annotations

import os
from pathlib import Path

from .spill import SPILL_DIR

ENV_VAR = "TEAMTAPE_STORE"
DEFAULT_DIRNAME = ".teamtape"


def resolve_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store directory the user means, following the documented precedence."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.cwd() / DEFAULT_DIRNAME


class StoreLayout:
    """The files of one store directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "teamtape.duckdb"
        self.journal_dir = root / "journal"
        self.quarantine_dir = root / "quarantine"
        self.tmp_dir = root / "tmp"
        self.spill_dir = root / SPILL_DIR  # events too large for DuckDB, whole (see teamtape.store.spill)
        self.lock = root / ".write.lock"
        self.db_made = root / ".database-made"  # written once the database exists: its loss is noticed
        self.prices_applied = root / ".prices-applied"  # which prices.toml the stored costs come from
        self.prices = root / "prices.toml"
        self.config = root / "config.toml"
