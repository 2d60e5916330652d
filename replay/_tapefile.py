"""Tape files: a recorded session as one portable, reviewable, schema-versioned text file.

A tape is pretty-printed JSON (one key per line, keys sorted) so that the diff of a re-recorded tape
in a code review shows what the agents said differently, line by line::

    {
     "blobs": {"<hash>": {"data": ..., "media_type": "..."}},      # sorted by hash
     "root_run_id": "...",
     "runs": [{"run_id": "...", "events": [{...}, ...]}, ...],      # start order; events by seq
     "schema_version": 1,
     "teamtape_tape": 1
    }

Blob events are not repeated in ``runs``: their content is in ``blobs`` once. Everything written
goes through the store's :class:`~teamtape.store.Redactor` again, so no secret leaves in a tape.
Importing writes the events as a journal named ``import-<random>.jsonl``; the store's fold skips
event ids it already holds, so importing a tape twice adds nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from teamtape.store import (
    SCHEMA_VERSION,
    Event,
    ImportFileError,
    Kind,
    Redactor,
    SchemaVersionError,
    Store,
    encode_event,
)
from teamtape.store._files import write_all
from teamtape.store.db import teamtape_version
from teamtape.store.errors import upgrade_hint
from teamtape.store.events import utf8_line
from teamtape.store.journal import create_locked

from ._tape import Tape, TapeRun

TAPE_FORMAT_VERSION = 1
"""Version of the tape layout (``teamtape_tape``); the event schema version is stamped separately."""


def tape_document(tape: Tape, redactor: Redactor | None = None) -> dict[str, Any]:
    """The JSON document of a tape (redacted), in its stable order."""
    redactor = redactor or Redactor()
    runs = []
    for run in tape.runs:
        events = [
            {
                "event_id": e.event_id,
                "seq": e.seq,
                "ts": e.ts,
                "kind": e.kind,
                "agent": e.agent,
                "payload": redactor.redact_obj(e.payload),
                "schema_version": e.schema_version,
            }
            for e in sorted(run.events, key=lambda e: e.seq)
            if e.kind != Kind.BLOB
        ]
        runs.append({"run_id": run.run_id, "events": events})
    blobs = {
        h: {"media_type": b.get("media_type"), "data": redactor.redact_obj(b.get("data"))}
        for h, b in sorted(tape.blobs.items())
    }
    return {
        "teamtape_tape": TAPE_FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "written_by": teamtape_version(),
        "root_run_id": tape.root_run_id,
        "runs": runs,
        "blobs": blobs,
    }


def tape_text(tape: Tape, redactor: Redactor | None = None) -> str:
    """The text of a tape file."""
    redactor = redactor or Redactor()
    text = json.dumps(tape_document(tape, redactor), indent=1, sort_keys=True, ensure_ascii=False)
    return redactor.scrub_text(text) + "\n"


def write_tape(tape: Tape, path: str | os.PathLike[str]) -> Path:
    """Write ``tape`` to ``path`` (atomically: a reader never sees half a tape).

    Example:
        >>> from teamtape.replay import Tape, write_tape, read_tape
        >>> path = write_tape(Tape(runs=[], blobs={}, root_run_id="none"), "/tmp/doc-empty.tape.json")
        >>> read_tape(path).runs
        []
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.write_text(tape_text(tape), encoding="utf-8")
    os.replace(tmp, target)
    return target


def _bad(path: Path, why: str) -> ImportFileError:
    return ImportFileError(
        f"{path} is not a teamtape tape: {why}. Tapes are written by `teamtape export tape RUN FILE`."
    )


def read_tape(path: str | os.PathLike[str]) -> Tape:
    """Read a tape file.

    Raises:
        ImportFileError: the file is missing, not JSON, or not a tape.
        SchemaVersionError: the tape was written by a newer teamtape.
    """
    source = Path(path)
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ImportFileError(f"No tape at {source}.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ImportFileError(f"Cannot read {source}: {e}.") from None
    except ValueError as e:
        raise _bad(source, f"not valid JSON ({e})") from None
    except RecursionError:
        raise _bad(source, "its JSON is nested deeper than any tape teamtape writes") from None
    return tape_from_document(document, source)


def tape_from_document(document: Any, source: Path | str = "<tape>") -> Tape:
    """Build a :class:`Tape` from a tape document (as read from a file or a component config)."""
    source = Path(source)
    if not isinstance(document, dict) or "teamtape_tape" not in document:
        raise _bad(source, "it has no `teamtape_tape` header")
    version, schema = document.get("teamtape_tape"), document.get("schema_version", SCHEMA_VERSION)
    if not isinstance(version, int) or not isinstance(schema, int):
        raise _bad(source, "its version header is not a number")
    if version > TAPE_FORMAT_VERSION or schema > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{source} was written by a newer teamtape (tape format {version}, event schema {schema}; this teamtape "
            f"reads up to {TAPE_FORMAT_VERSION} and {SCHEMA_VERSION}); {upgrade_hint(document.get('written_by'))}."
        )
    runs: list[TapeRun] = []
    try:
        for run in document.get("runs") or []:
            run_id = str(run["run_id"])
            events = [Event.from_dict({**e, "run_id": run_id}) for e in run.get("events") or []]
            runs.append(TapeRun(run_id, events))
        blobs = {str(h): dict(b) for h, b in (document.get("blobs") or {}).items()}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise _bad(source, f"a run or event is malformed ({type(e).__name__}: {e})") from None
    return Tape(
        runs=runs, blobs=blobs, root_run_id=str(document.get("root_run_id") or ""), origin=f"tape {source}"
    )


def export_tape(store: Store, run: str, path: str | os.PathLike[str]) -> Tape:
    """Write the session of ``run`` (its top-level runs, nested runs and blobs) to a tape file.

    Example:
        >>> from teamtape.store import open_store
        >>> store = open_store("/tmp/doc-export", create=True)
        >>> export_tape(store, "last", "/tmp/doc.tape.json")
        Traceback (most recent call last):
        ...
        teamtape.store.errors.RunNotFoundError: The store has no runs yet. ...
    """
    tape = Tape.from_store(store, run)
    tape.require_content()  # a tape is for replaying: one that cannot be replayed is not written
    write_tape(tape, path)
    return tape


@dataclass
class TapeImport:
    """What importing a tape did."""

    path: str
    runs: list[str] = field(default_factory=list)
    events: int = 0
    journal: str = ""
    already: list[str] = field(default_factory=list)
    """The tape's runs the store held before."""
    new_events: int = 0
    """Events the store did not hold before (importing a tape again adds none)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "tape": self.path,
            "runs": self.runs,
            "events": self.events,
            "journal": self.journal,
            "already_there": self.already,
            "new_events": self.new_events,
        }


def import_tape(store: Store, path: str | os.PathLike[str]) -> TapeImport:
    """Add the runs of a tape file to ``store`` (importing the same tape again adds nothing).

    Example:
        >>> from teamtape.store import open_store
        >>> store = open_store("/tmp/doc-import", create=True)
        >>> import_tape(store, "/tmp/doc-empty.tape.json").runs
        []
    """
    tape = read_tape(path)
    ids = [r.run_id for r in tape.runs]
    held = _held(store, ids)
    redactor = Redactor()
    lines = []
    for run in tape.runs:
        for event in run.events:
            lines.append(
                redactor.scrub_text(
                    encode_event(
                        Event(
                            event.event_id,
                            run.run_id,
                            event.seq,
                            event.ts,
                            event.kind,
                            event.agent,
                            redactor.redact_obj(event.payload),
                            event.schema_version,
                        )
                    )
                )
            )
    first = {r.run_id: r for r in tape.runs}
    ts = min((e.ts for r in tape.runs for e in r.events), default=0.0)
    owner = tape.runs[0].run_id if tape.runs else None
    for digest, blob in sorted(tape.blobs.items()):
        if owner is None or owner not in first:
            break
        payload = {"hash": digest, "media_type": blob.get("media_type"), "data": blob.get("data")}
        lines.append(
            redactor.scrub_text(
                encode_event(Event(f"blob-{digest}", owner, -1, ts, Kind.BLOB, None, payload))
            )
        )
    store.root.mkdir(parents=True, exist_ok=True, mode=0o700)
    for folder in (store.layout.tmp_dir, store.layout.journal_dir):
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Written whole under tmp/, then renamed into journal/: a reader folding meanwhile (the TUI, another
    # command) never sees half a journal, and an import killed half-way leaves nothing to fold.
    journal = store.layout.journal_dir / f"import-{os.urandom(6).hex()}.jsonl"
    partial = store.layout.tmp_dir / journal.name
    fd = create_locked(partial)
    try:
        write_all(fd, utf8_line("".join(line + "\n" for line in lines)))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, journal)
    store.sync()
    _, events_after = _held(store, ids)
    return TapeImport(
        path=str(path),
        runs=ids,
        events=len(lines),
        journal=journal.name,
        already=held[0],
        new_events=events_after - held[1],
    )


def _held(store: Store, run_ids: list[str]) -> tuple[list[str], int]:
    """Which of ``run_ids`` the store holds (in that order), and how many events of theirs."""
    if not run_ids or not store.exists:
        return [], 0
    rows = store.query(
        "SELECT run_id, count(*) AS n FROM events WHERE list_contains(?, run_id) GROUP BY run_id", [run_ids]
    )
    counts = {r["run_id"]: r["n"] for r in rows}
    return [r for r in run_ids if r in counts], sum(counts.values())
