"""Importing a Parquet lake (or part of it) back into a store.

The lake's ``events`` are the source of truth: they are written, redacted like any recorded line,
into one journal named ``import-<id>.jsonl`` in the store's journal folder, and the normal fold
rebuilds every projection from them. The fold skips event ids the store already holds, so
importing the same lake twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from .._files import write_all
from ..db import arrow_query
from ..errors import ImportFileError, RunNotFoundError, SchemaVersionError, upgrade_hint
from ..events import SCHEMA_VERSION
from ..journal import create_locked
from ..redact import Redactor
from ..store import Store
from ._errors import LakeError
from ._export import part_files
from ._location import LakeLocation, open_location
from ._tables import META_SCHEMA_VERSION, META_TABLE, META_WRITTEN_BY

EVENT_COLUMNS = ("event_id", "run_id", "seq", "ts", "kind", "agent", "payload", "schema_version")
_DATE_DIR = re.compile(r"(?:^|/)date=(\d{4}-\d{2}-\d{2})/")


@dataclass
class ImportReport:
    """What one import did.

    Attributes:
        lake: the lake (or part of one) that was read, as shown to users.
        events: events read from the lake (after filters).
        new_events: those the store did not hold yet.
        runs: run ids the imported events belong to.
        files: Parquet parts read.
    """

    lake: str
    events: int = 0
    new_events: int = 0
    runs: list[str] = field(default_factory=list)
    files: int = 0

    def to_dict(self) -> dict[str, object]:
        return {
            "lake": self.lake,
            "events": self.events,
            "new_events": self.new_events,
            "runs": self.runs,
            "files": self.files,
        }


def import_lake(
    store: Store,
    path: str | os.PathLike[str] | LakeLocation,
    *,
    s3_endpoint: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
    run: str | None = None,
) -> ImportReport:
    """Bring the events of a lake into ``store`` and fold them into every projection.

    Args:
        store: the store to import into (created by the caller if needed).
        path: a lake root, a folder inside its ``events`` table (e.g. one ``date=...`` partition),
            or the same on ``s3://``.
        s3_endpoint: URL of an S3-compatible server (default: ``$AWS_ENDPOINT_URL``).
        since: only events of partitions dated on or after this day (UTC).
        until: only events of partitions dated on or before this day (UTC).
        run: only this run (full id or unique prefix) and the runs nested in it.

    Returns:
        What was read and how much of it was new.

    Raises:
        ImportFileError: ``path`` holds no teamtape events, or a part is unreadable.
        SchemaVersionError: the lake was written by a newer teamtape.

    Example:
        >>> from teamtape.store import open_store
        >>> from teamtape.store.lake import export_lake, import_lake
        >>> source = open_store("/tmp/doc-import-src", create=True)
        >>> _ = export_lake(source, "/tmp/doc-import-lake")
        >>> import_lake(open_store("/tmp/doc-import-dst", create=True), "/tmp/doc-import-lake").new_events
        0
    """
    loc = path if isinstance(path, LakeLocation) else open_location(path, s3_endpoint=s3_endpoint)
    try:
        return _import(store, loc, since, until, run)
    except OSError as e:  # the lake's filesystem or bucket refused (permissions, credentials, network)
        raise LakeError(f"Cannot read the lake at {loc.display}: {e}") from e


def _import(
    store: Store, loc: LakeLocation, since: dt.date | None, until: dt.date | None, run: str | None
) -> ImportReport:
    files = _event_files(loc)
    files = [f for f in files if _in_dates(f, since, until)]
    report = ImportReport(loc.display, files=len(files))
    if not files:
        return report
    dataset = _open_events(loc, files)
    con = duckdb.connect()
    try:
        con.register("lake_events", dataset)
        where, params = "", []
        try:
            if run is not None:
                run_ids = _run_tree(con, run)
                con.execute("CREATE TEMP TABLE wanted AS SELECT unnest(?::VARCHAR[]) AS run_id", [run_ids])
                where = "WHERE run_id IN (SELECT run_id FROM wanted)"
            con.execute(
                f"""CREATE TEMP TABLE picked AS
                    SELECT event_id, run_id, seq, epoch_us(ts) AS ts_us, kind, agent,
                           coalesce(CAST(json(payload) AS VARCHAR), '{{}}') AS payload,
                           coalesce(schema_version, {SCHEMA_VERSION}) AS schema_version
                    FROM lake_events {where}""",
                params,
            )
        except (duckdb.Error, pa.ArrowException) as e:  # a part whose footer is fine but whose data is not
            raise _damaged(loc, files, e) from e
        report.events = int(con.execute("SELECT count(*) FROM picked").fetchall()[0][0])
        report.runs = [r[0] for r in con.execute("SELECT DISTINCT run_id FROM picked ORDER BY 1").fetchall()]
        if not report.events:
            return report
        ids = arrow_query(con, "SELECT DISTINCT event_id FROM picked")
        with store.connect() as scon:
            scon.register("import_ids", ids)
            known = scon.execute(
                "SELECT count(*) FROM events WHERE event_id IN (SELECT event_id FROM import_ids)"
            )
            report.new_events = len(ids) - int(known.fetchall()[0][0])
            scon.unregister("import_ids")
        if report.new_events:
            _write_journal(store, con)
            store.sync()
    finally:
        con.close()
    return report


def _event_files(loc: LakeLocation) -> list[str]:
    """The events parts under a lake root, or under a folder inside one."""
    if loc.is_dir("events"):
        files = part_files(loc, "events")
    elif loc.is_dir():
        files = [f for f in loc.list_files() if f.endswith(".parquet")]
    elif loc.exists() and loc.root.endswith(".parquet"):
        files = [loc.root]
    else:
        raise ImportFileError(
            f"There is no lake at {loc.display}. Give the directory `teamtape export parquet` wrote "
            "(or a date=... folder of its events)."
        )
    if not files:
        raise ImportFileError(
            f"{loc.display} holds no Parquet parts of teamtape events: expected events/date=YYYY-MM-DD/*.parquet "
            "as written by `teamtape export parquet`."
        )
    return files


def _in_dates(file: str, since: dt.date | None, until: dt.date | None) -> bool:
    if since is None and until is None:
        return True
    m = _DATE_DIR.search(file)
    if not m:
        return True
    day = dt.date.fromisoformat(m.group(1))
    return (since is None or day >= since) and (until is None or day <= until)


def _open_events(loc: LakeLocation, files: Sequence[str]) -> pads.Dataset:
    """A dataset over the events parts, after checking each was written by a teamtape we can read."""
    for f in files:
        try:
            meta = pq.read_metadata(loc.fs.open_input_file(f))
        except (OSError, ValueError) as e:
            raise ImportFileError(f"{_shown(loc, f)} is not a readable Parquet file ({e}).") from e
        try:
            kv = {k.decode(): v.decode() for k, v in (meta.metadata or {}).items()}
        except UnicodeDecodeError as e:  # damaged: teamtape writes its metadata as UTF-8 text
            raise ImportFileError(f"{_shown(loc, f)} is damaged: its metadata is not text ({e}).") from e
        table = kv.get(META_TABLE, "events")
        if table != "events":
            raise ImportFileError(
                f"{_shown(loc, f)} holds the lake table '{table}', not events: import reads only events. "
                "Give the lake root or a folder of its events table."
            )
        version = int(kv.get(META_SCHEMA_VERSION, "1") or 1)
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{_shown(loc, f)} was written with event schema version {version}; this teamtape reads up to "
                f"{SCHEMA_VERSION}: {upgrade_hint(kv.get(META_WRITTEN_BY))}."
            )
        missing = [c for c in EVENT_COLUMNS if c not in meta.schema.names and c != "schema_version"]
        if missing:
            raise ImportFileError(
                f"{_shown(loc, f)} is not a teamtape events part: it lacks {', '.join(missing)}."
            )
    try:
        return pads.dataset(list(files), filesystem=loc.fs, format="parquet")
    except (OSError, ValueError) as e:
        raise LakeError(f"Cannot read the events of {loc.display}: {e}") from e


def _damaged(loc: LakeLocation, files: Sequence[str], error: Exception) -> ImportFileError:
    """The error for events that could not be read: it names the first part that does not read whole."""
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    for f in files:
        try:
            pq.read_table(loc.fs.open_input_file(f))
        except (OSError, ValueError, pa.ArrowException):
            return ImportFileError(
                f"{_shown(loc, f)} is damaged ({reason}); nothing was imported. Restore that part from a "
                "copy (or move it out of the lake) and import again."
            )
    return ImportFileError(f"Cannot read the events of {loc.display}: {reason}; nothing was imported.")


def _shown(loc: LakeLocation, file: str) -> str:
    return file if loc.local else f"s3://{file}"


def _run_tree(con: duckdb.DuckDBPyConnection, ref: str) -> list[str]:
    """The run a reference names (full id or unique prefix) and every run nested in it."""
    roots = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT run_id FROM lake_events WHERE starts_with(run_id, ?) ORDER BY 1 LIMIT 6",
            [ref.strip()],
        ).fetchall()
    ]
    if not roots or not ref.strip():
        raise RunNotFoundError(
            f"No run '{ref}' in this lake. `teamtape sql` on an imported store, or DuckDB on the lake's runs, lists them."
        )
    if len(roots) > 1 and ref.strip() not in roots:
        raise RunNotFoundError(
            f"'{ref}' matches several runs in the lake ({', '.join(roots[:5])}). Type more characters."
        )
    root = ref.strip() if ref.strip() in roots else roots[0]
    rows = con.execute(
        """WITH RECURSIVE tree(run_id, depth) AS (
               SELECT ?::VARCHAR, 0
               UNION ALL
               SELECT e.run_id, tree.depth + 1 FROM lake_events e JOIN tree
                 ON e.kind = 'run_started' AND json_extract_string(e.payload, '$.parent_run_id') = tree.run_id
               WHERE tree.depth < 64)
           SELECT DISTINCT run_id FROM tree""",
        [root],
    ).fetchall()
    return [r[0] for r in rows]


def _write_journal(store: Store, con: duckdb.DuckDBPyConnection) -> None:
    """Write the picked events as one import journal, whole, then move it where the fold finds it."""
    redactor = Redactor()
    layout = store.layout
    layout.tmp_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    layout.journal_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = f"import-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{os.urandom(4).hex()}.jsonl"
    tmp = layout.tmp_dir / name
    cursor = con.execute(
        "SELECT event_id, run_id, seq, ts_us, kind, agent, payload, schema_version FROM picked ORDER BY run_id, seq"
    )
    fd = create_locked(tmp)
    try:
        while batch := cursor.fetchmany(10_000):
            text = "".join(redactor.scrub_text(_line(*row)) + "\n" for row in batch)
            write_all(fd, text.encode("utf-8", errors="surrogatepass"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, layout.journal_dir / name)


def _line(
    event_id: str,
    run_id: str,
    seq: int,
    ts_us: int,
    kind: str,
    agent: str | None,
    payload: str,
    schema_version: int,
) -> str:
    """One journal line, in the same shape :func:`teamtape.store.encode_event` writes."""
    dumps = json.dumps
    return (
        f'{{"event_id":{dumps(event_id, ensure_ascii=False)},"run_id":{dumps(run_id, ensure_ascii=False)},'
        f'"seq":{int(seq)},"ts":{ts_us / 1e6!r},"kind":{dumps(kind, ensure_ascii=False)},'
        f'"agent":{dumps(agent, ensure_ascii=False)},"payload":{payload},"schema_version":{int(schema_version)}}}'
    )
