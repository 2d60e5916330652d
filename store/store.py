"""The Store: one directory of journals plus a DuckDB file of events and projections."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .costs import PriceBook
from .db import arrow_query, latest_store_version, migrate, rows_as_dicts, store_version
from .errors import QueryError, RunNotFoundError, StoreBusyError, StoreError, StoreNotFoundError
from .events import Event
from .fold import FoldReport, fold, rebuild_projections
from .journal import JournalWriter, list_journals, open_journal
from .locks import exclusive_lock, lock_holder
from .paths import StoreLayout, resolve_store_path
from .redact import Redactor
from .requests import expand_llm_requests

DEFAULT_BUSY_TIMEOUT_S = 10.0
BUSY_TIMEOUT_ENV = "TEAMTAPE_BUSY_TIMEOUT"


def _names_another_file(error: Exception, db: Path) -> bool:
    """Whether a DuckDB I/O error names a file or directory other than the database (or its WAL)."""
    named = re.findall(r'"(/[^"]+)"', str(error))
    return bool(named) and not any(path.startswith(str(db)) for path in named)


def _busy_timeout_from_env() -> float:
    try:
        return float(os.environ.get(BUSY_TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT_S))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S


class Store:
    """A teamtape store directory.

    Recording processes append to their own journals (:meth:`writer`); readers call :meth:`sync`
    (done for you by :meth:`query` and friends) to fold those journals into DuckDB, then query the
    projections. All DuckDB access is short-lived and under the store's write lock, so any number of
    recording processes and readers can share one store.

    Example:
        >>> store = open_store("/tmp/doc-store", create=True)
        >>> store.query("SELECT count(*) AS n FROM runs")
        [{'n': 0}]
    """

    def __init__(self, root: Path, *, busy_timeout: float | None = None) -> None:
        self.root = root
        self.layout = StoreLayout(root)
        self.busy_timeout = _busy_timeout_from_env() if busy_timeout is None else busy_timeout
        self.last_fold: FoldReport | None = None
        self._prices: PriceBook | None = None
        self._prices_from = "none"  # the fingerprint of the prices.toml _prices was read from
        self._warned: set[str] = set()

    # -- creation ---------------------------------------------------------------------------------
    def create(self) -> Store:
        """Create the directory layout (owner-only permissions) and an empty database."""
        try:
            for d in (self.root, self.layout.journal_dir):
                d.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as e:
            raise StoreError(
                f"Cannot create a store at {self.root}: {e.strerror}. Pick a writable --store."
            ) from e
        with self.connect():
            pass
        return self

    @property
    def exists(self) -> bool:
        return self.layout.db.exists() or self.layout.journal_dir.is_dir()

    def writer(self, redactor: Redactor | None = None) -> JournalWriter:
        """A journal for this process to append events to (creates the directories if needed)."""
        return open_journal(self.root, redactor)

    @property
    def prices(self) -> PriceBook:
        if self._prices is None:
            self._prices_from = self._prices_fingerprint()
            self._prices = PriceBook(self.layout.prices)
        return self._prices

    def _prices_fingerprint(self) -> str:
        """Which ``prices.toml`` is there now ("none" when there is none to read)."""
        try:
            return hashlib.sha256(self.layout.prices.read_bytes()).hexdigest()
        except OSError:  # missing (or a directory: PriceBook says what is wrong with it)
            return "none"

    # -- locking and connections ---------------------------------------------------------------------
    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        def busy() -> StoreBusyError:
            holder = lock_holder(self.layout.lock) or "another teamtape process"
            return StoreBusyError(
                f"The store at {self.root} is busy: {holder} has held its lock for "
                f"{self.busy_timeout:g} s. Try again when it is done, or wait longer with "
                f"TEAMTAPE_BUSY_TIMEOUT={max(60, round(self.busy_timeout * 2))} (seconds)."
            )

        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(exclusive_lock(self.layout.lock, self.busy_timeout, busy))
            except OSError as e:
                raise StoreError(
                    f"Cannot open the lock file of the store at {self.root}: {e.strerror}."
                ) from e
            yield

    def _open_duckdb(self, read_only: bool = False) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                con = duckdb.connect(str(self.layout.db), read_only=read_only)
                _owner_only(self.layout.db)
                return con
            except duckdb.IOException as e:
                if "lock" not in str(e).lower():
                    raise StoreError(self._unreadable_db_message(e)) from e
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"The database {self.layout.db} is locked by another program (not teamtape): {e}. "
                        "Close it and try again."
                    ) from e
                time.sleep(0.05)
            except duckdb.Error as e:
                raise StoreError(self._unreadable_db_message(e)) from e

    def _unreadable_db_message(self, e: Exception) -> str:
        return (
            f"{self.layout.db} is not a readable teamtape database ({str(e).splitlines()[0]}). "
            f"Move it aside (e.g. to {self.layout.db.name}.broken) to start a fresh database; journals "
            f"not yet folded in {self.layout.journal_dir} will be folded into it."
        )

    @contextlib.contextmanager
    def connect(self, *, sync: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write DuckDB connection, after folding journals (unless ``sync=False``).

        On a store its user cannot write (a read-only disk, someone else's files) the connection is
        read-only and nothing is folded: what was folded before can still be read, with a warning.
        """
        self._require_existing()
        if self._read_only():
            with self._read_only_connection() as con:
                yield con
            return
        with self._write_lock():
            lost = self.layout.db_made.exists() and not self.layout.db.exists()
            con = self._open_duckdb()
            self._note_database_made(lost)
            try:
                try:
                    migrate(con, str(self.root))
                except duckdb.Error as e:
                    raise StoreError(self._unreadable_db_message(e)) from e
                if sync:
                    self._sync(con)
                try:
                    yield con
                except duckdb.IOException as e:  # a damaged file shows when a query reaches the damage
                    if _names_another_file(e, self.layout.db):  # e.g. a lake export's target
                        raise StoreError(
                            f"DuckDB failed on a file outside the store: {str(e).splitlines()[0]}"
                        ) from e
                    raise StoreError(self._unreadable_db_message(e)) from e
            finally:
                con.close()

    def _note_database_made(self, lost: bool) -> None:
        """Remember that this store has a database, and say so when one it had is gone (deleted or moved:
        what was folded into it is not in the new one, only journals not yet folded are)."""
        if lost:
            self._warn_once(
                f"the database {self.layout.db} is gone (deleted or moved aside?): the runs folded into it are "
                "not in this store any more, only what journals not yet folded held. If that was not meant, "
                "put the file back (with no teamtape running), or import a lake you exported "
                "(`teamtape import LAKE`)."
            )
        if not self.layout.db_made.exists():
            with contextlib.suppress(OSError):
                self.layout.db_made.touch(mode=0o600)

    def _read_only(self) -> bool:
        """True when this process cannot write the store (``access`` also says so on a read-only disk)
        but has a database to read."""
        lock = self.layout.lock
        writable = os.access(self.root, os.W_OK) and (not lock.exists() or os.access(lock, os.W_OK))
        return not writable and self.layout.db.is_file() and os.access(self.layout.db, os.R_OK)

    @contextlib.contextmanager
    def _read_only_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            con = duckdb.connect(str(self.layout.db), read_only=True)
        except duckdb.Error as e:
            raise StoreError(self._unreadable_db_message(e)) from e
        try:
            if store_version(con) != latest_store_version():
                migrate(con, str(self.root))  # refuses a newer store with the right words
                raise StoreError(
                    f"The store at {self.root} was written by an older teamtape and is read-only here, so it "
                    "cannot be upgraded: open it once where it is writable."
                )
            waiting = sum(1 for _ in list_journals(self.layout.journal_dir))
            message = (
                f"the store at {self.root} is read-only for you: showing what was folded into it before"
                + (f"; {waiting} journal(s) of newer recordings are not included" if waiting else "")
            )
            self._warn_once(message)
            yield con
        finally:
            con.close()

    def _require_existing(self) -> None:
        """Raise :class:`StoreNotFoundError` unless this is a store: a mistyped ``--store`` naming some
        other directory is reported, not turned into an empty store."""
        if not self.root.is_dir() or not self.exists:
            raise StoreNotFoundError(self._missing_message())

    def _missing_message(self) -> str:
        return (
            f"No teamtape store at {self.root}. Create one by recording: `teamtape demo`, or "
            f"`teamtape run your_team.py`, or point at an existing one with --store PATH / $TEAMTAPE_STORE "
            "(`teamtape tui --wait` opens it once a recording starts)."
        )

    def _fold(self, con: duckdb.DuckDBPyConnection) -> None:
        try:
            report = fold(con, self.layout, self.prices)
        except duckdb.IOException as e:  # the database file is damaged
            raise StoreError(self._unreadable_db_message(e)) from e
        except duckdb.Error as e:
            raise StoreError(f"Folding journals into {self.layout.db} failed: {e}") from e
        except OSError as e:  # the store's disk is full or read-only: nothing was changed, retry later
            where = f" ({e.filename})" if e.filename else ""
            raise StoreError(
                f"Folding the journals of {self.root} failed: {e.strerror or e}{where}. Nothing was lost; "
                "make room on that disk (or make it writable) and run the command again."
            ) from e
        self.last_fold = report
        for message in report.warnings:
            self._warn_once(message)

    def _sync(self, con: duckdb.DuckDBPyConnection) -> None:
        """Fold the journals with the prices of ``prices.toml`` as it is now, and price every call
        recorded before again when the file changed since the stored costs were computed."""
        current = self._prices_fingerprint()
        if self._prices is not None and self._prices_from != current:
            self._prices = None  # edited while this process kept the old prices (the TUI)
        self._fold(con)
        self._reprice_if_prices_changed(con, current)

    def _reprice_if_prices_changed(self, con: duckdb.DuckDBPyConnection, current: str) -> None:
        """After ``prices.toml`` was added or edited, price every recorded call again (the costs a
        command shows are then the file's), once."""
        applied = self.layout.prices_applied
        try:
            if applied.read_text().strip() == current:
                return
        except FileNotFoundError:
            if current == "none":  # no prices of one's own, ever: the library's prices stand
                self._write_applied(current)
                return
        rebuild_projections(con, self.prices)  # _sync made sure these are the file's prices now
        self._write_applied(current)

    def _write_applied(self, fingerprint: str) -> None:
        with contextlib.suppress(OSError):
            self.layout.prices_applied.write_text(fingerprint)
            os.chmod(self.layout.prices_applied, 0o600)

    def _warn_once(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            warnings.warn(f"teamtape: {message}", stacklevel=5)

    def sync(self) -> FoldReport:
        """Fold all journals now and report what happened."""
        with self.connect():
            pass
        assert self.last_fold is not None
        return self.last_fold

    def rebuild_projections(self) -> int:
        """Recompute every projection from the event log; returns the number of events replayed."""
        with self.connect() as con:
            return rebuild_projections(con, self.prices)

    # -- queries -----------------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run trusted SQL (teamtape's own) and return rows as dicts."""
        with self.connect() as con:
            return rows_as_dicts(con.execute(sql, list(params or [])))

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run trusted SQL and return an Arrow table."""
        with self.connect() as con:
            return arrow_query(con, sql, list(params or []))

    def user_sql(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run a user's query read-only: no writes, no files, no ATTACH, no extensions."""
        self._require_existing()
        with contextlib.ExitStack() as held:
            if self._read_only():
                with self._read_only_connection():
                    pass  # checks the store's version and warns; folds nothing
            else:
                held.enter_context(self._write_lock())
                con = self._open_duckdb()  # created here when the store holds only journals so far
                try:
                    migrate(con, str(self.root))
                    self._sync(con)  # the user's query sees everything recorded until now, priced now
                finally:
                    con.close()
            con = duckdb.connect(
                str(self.layout.db),
                read_only=True,
                config={
                    "enable_external_access": False,
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                },
            )
            try:
                con.execute("SET lock_configuration = true")
                cur = con.execute(sql)
                if cur is None:  # only comments or semicolons: DuckDB ran nothing
                    raise QueryError("the query is empty: give a SELECT, e.g. 'SELECT * FROM runs LIMIT 5'")
                cols = [d[0] for d in cur.description or []]
                return cols, cur.fetchall()
            except duckdb.Error as e:
                raise QueryError(f"{str(e).splitlines()[0]}") from None
            finally:
                con.close()

    def create_unlocked(self) -> None:
        con = self._open_duckdb()
        try:
            migrate(con, str(self.root))
        finally:
            con.close()

    # -- runs ------------------------------------------------------------------------------------
    def resolve_run(self, ref: str) -> str:
        """A full run id from a full id, a unique prefix, or ``last``."""
        with self.connect() as con:
            return resolve_run_ref(con, ref)

    def events(self, run_id: str, *, expand_requests: bool = True) -> list[Event]:
        """Every event of one run, in order.

        With ``expand_requests`` (the default) each ``llm_call``'s ``request.messages`` is the full
        list of message references, not the stored delta (see :mod:`teamtape.store.requests`).
        """
        rows = self.query(
            "SELECT event_id, run_id, seq, epoch_us(ts) / 1e6 AS ts, kind, agent, payload, schema_version "
            "FROM events WHERE run_id = ? ORDER BY seq",
            [run_id],
        )
        events = [_row_to_event(r) for r in rows]
        return expand_llm_requests(events) if expand_requests else events

    def blobs(self, hashes: Sequence[str]) -> dict[str, Any]:
        """The stored data of content-addressed blobs, by hash."""
        import json

        rows = self.query("SELECT hash, data FROM blobs WHERE hash IN (SELECT unnest(?))", [list(hashes)])
        return {r["hash"]: json.loads(r["data"]) if isinstance(r["data"], str) else r["data"] for r in rows}


def _owner_only(db: Path) -> None:
    """DuckDB creates files with the process umask; store files are for their owner only."""
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)
        except OSError:
            pass


def _row_to_event(row: dict[str, Any]) -> Event:
    import json

    payload = row["payload"]
    return Event(
        event_id=row["event_id"],
        run_id=row["run_id"],
        seq=int(row["seq"]),
        ts=float(row["ts"]),
        kind=row["kind"],
        agent=row["agent"],
        payload=json.loads(payload) if isinstance(payload, str) else (payload or {}),
        schema_version=int(row["schema_version"]),
    )


CLOSE_MATCH_SIMILARITY = 0.8
"""How alike (Jaro-Winkler) the start of a run id must be to an unknown reference to be suggested."""


def resolve_run_ref(con: duckdb.DuckDBPyConnection, ref: str) -> str:
    """Resolve ``last``, a full id or a unique prefix against the runs table."""
    ref = ref.strip()
    if ref == "last":
        row = con.execute(
            "SELECT run_id FROM runs WHERE parent_run_id IS NULL ORDER BY started_at DESC NULLS LAST LIMIT 1"
        ).fetchone()
        if row is None:
            raise RunNotFoundError(
                "The store has no runs yet. Record one with `teamtape demo` or `teamtape run`."
            )
        return str(row[0])
    if not ref:
        raise RunNotFoundError("Give a run id, a unique prefix of one, or `last`.")
    matches = [
        r[0]
        for r in con.execute(
            "SELECT run_id FROM runs WHERE starts_with(run_id, ?) ORDER BY started_at DESC LIMIT 6", [ref]
        ).fetchall()
    ]
    if len(matches) == 1:
        return str(matches[0])
    if len(matches) > 1:
        listed = ", ".join(matches[:5])
        raise RunNotFoundError(f"'{ref}' matches several runs ({listed}...). Type more characters of the id.")
    # Ids that begin like ``ref`` with a typo: as long as ``ref``, similar enough to be one (not ids that
    # merely rank first among unrelated ones).
    close = [
        r[0]
        for r in con.execute(
            "SELECT run_id, jaro_winkler_similarity(left(run_id, length(?)), ?) AS similarity FROM runs "
            "WHERE similarity >= ? ORDER BY similarity DESC, started_at DESC LIMIT 3",
            [ref, ref, CLOSE_MATCH_SIMILARITY],
        ).fetchall()
    ]
    hint = f" Close matches: {', '.join(close)}." if close else ""
    raise RunNotFoundError(f"No run '{ref}' in this store.{hint} `teamtape runs` lists them.")


def open_store(path: str | os.PathLike[str] | None = None, *, create: bool = False) -> Store:
    """Open the store at ``path`` (default: ``$TEAMTAPE_STORE`` or ``./.teamtape``).

    Args:
        path: the store directory.
        create: create it when missing instead of raising :class:`StoreNotFoundError`.

    Example:
        >>> store = open_store("/tmp/doc-store-2", create=True)
        >>> [r["run_id"] for r in store.query("SELECT run_id FROM runs")]
        []
    """
    store = Store(resolve_store_path(path))
    if create:
        store.create()
    else:
        store._require_existing()
    return store
