"""The Recorder: where events go (journal, live sinks), with redaction and failure isolation."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from teamtape.store import Event, IdFactory, JournalWriter, RawJson, Redactor, decode_event
from teamtape.store.events import event_line
from teamtape.store.journal import mark_alive_until, open_journal
from teamtape.store.paths import resolve_store_path

from ._guard import failures
from ._serialize import BlobTable

if TYPE_CHECKING:
    from teamtape.store import Store

    from ._run import RunRecorder

Payload = dict[str, Any] | RawJson
_LIFECYCLE = frozenset({"run_started", "run_ended"})


class EventSink(Protocol):
    """Receives every event after it is written (e.g. the live OTLP exporter)."""

    def handle(self, event: Event) -> None: ...

    def close(self) -> None: ...


class Recorder:
    """Everything one recording session shares: the store, ids, blobs, sessions, sinks.

    Events are encoded and redacted once, appended to this process's journal with one ``os.write``
    (page cache, no fsync, no DuckDB), then passed to sinks. If the journal cannot be written the
    recorder warns once and keeps the team running; sinks still get events.
    """

    def __init__(
        self,
        store: str | os.PathLike[str] | None = None,
        *,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
        redact_patterns: Iterable[str] = (),
        secrets: Iterable[str] = (),
        sinks: Iterable[EventSink] = (),
        save_state: bool = True,
        capture_content: bool = True,
    ) -> None:
        self.root = resolve_store_path(store)
        self._store: Store | None = None
        self.name = name
        self.redactor = Redactor(secrets=secrets)
        self.redactor.add_patterns(redact_patterns)
        self.labels: dict[str, Any] = self.redactor.redact_obj(dict(labels or {}))
        self.sinks = list(sinks)
        self.save_state = save_state
        self.capture_content = capture_content
        self.ids = IdFactory()
        self.blobs = BlobTable(self._emit_blob)
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.sessions: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self.open_runs: dict[str, Any] = {}
        # The run of a group chat, by the id of each of its participants and of its output queue, while
        # it runs (see _runs.record_output_at_source): found from where no run is current, e.g. the
        # handlers of a runtime the user started before the run (``RoundRobinGroupChat(..., runtime=rt)``).
        self.team_runs: dict[int, Any] = {}
        self.run_ids: list[str] = []
        # Extra run_started fields for top-level runs (e.g. replay_of, fork_of set by teamtape replay).
        self.top_level_extra: dict[str, Any] = {}
        # What a nested run's run_started adds, given its parent (a replay links each nested run to the
        # nested run it replays); None: nothing.
        self.nested_extra: Callable[[RunRecorder], dict[str, Any]] | None = None
        self.events_written = 0
        self._writer: JournalWriter | None = None
        self._journal_broken = False
        self._lock = threading.Lock()
        self._stop_alive = threading.Event()  # stops the alive marks of the journal open now

    @property
    def store(self) -> Store:
        """The store recorded into, for reading (its DuckDB side is imported on first use)."""
        if self._store is None:
            from teamtape.store import Store

            self._store = Store(self.root)
        return self._store

    # -- writing -----------------------------------------------------------------------------------
    @property
    def journal_failed(self) -> bool:
        """Whether the store could not be written (from then on nothing was kept; a warning said so)."""
        return self._journal_broken

    @property
    def journal_name(self) -> str | None:
        """This process's journal file name (opening it on first use)."""
        writer = self._get_writer()
        return writer.name if writer else None

    def _get_writer(self) -> JournalWriter | None:
        if self._writer is None and not self._journal_broken:
            try:
                self._writer = open_journal(self.root, self.redactor)
            except OSError as e:
                self._journal_broken = True
                fix = (
                    f"{self.root} is a file, not a store directory: pick another"
                    if self.root.exists() and not self.root.is_dir()
                    else "Fix the directory's permissions or pick another"
                )
                failures.once(
                    f"journal-open:{self.root}",  # once per store, not once per process
                    f"teamtape cannot write to the store at {self.root} ({e.strerror or e}); "
                    f"this run is not being recorded, but your team runs normally. {fix} "
                    "with --store / $TEAMTAPE_STORE.",
                )
            if self._writer is not None:
                self._mark_alive(self._writer.path)
        return self._writer

    def append(self, run_id: str, seq: int, kind: str, agent: str | None, payload: Payload) -> None:
        """Write one event of a run (stamped with an id and the time now). Never raises."""
        self.append_many(run_id, ((seq, kind, agent, payload),))

    def append_many(self, run_id: str, entries: Sequence[tuple[int, str, str | None, Payload]]) -> None:
        """Write several ``(seq, kind, agent, payload)`` events of a run (stamped with ids and the time now)
        with one system call. Never raises."""
        ts = time.time()
        lines, events, lifecycle = [], [], False
        for seq, kind, agent, body in entries:  # one event that cannot be encoded costs only itself
            event_id = self.ids.event_id(ts)
            try:
                lines.append(event_line(event_id, run_id, seq, ts, kind, agent, body))
            except Exception as e:
                failures.report(f"a {kind} event", e)
                continue
            lifecycle = lifecycle or kind in _LIFECYCLE
            if self.sinks:
                events.append(Event(event_id, run_id, seq, ts, kind, agent, body))  # type: ignore[arg-type]
        try:
            written = self._write(lines, lifecycle) if lines else None
            if self.sinks:
                self._to_sinks(written, events)
        except Exception as e:
            failures.report(f"a {entries[0][1]} event" if len(entries) == 1 else f"{len(entries)} events", e)

    def _write(self, lines: list[bytes], lifecycle: bool) -> bytes | None:
        """Append encoded lines to the journal; returns them as written (redacted), None if not written."""
        with self._lock:
            writer = self._writer or self._get_writer()
            if writer is None:
                return None
            try:
                written = writer.write(lines)
                self.events_written += len(lines)
                if lifecycle:  # a run starts or ends: is the journal still there?
                    writer.check_linked()
            except OSError as e:
                self._writing_failed(e)
                return None
            return written

    def _mark_alive(self, journal: Path) -> None:
        """Mark, from a thread of its own, that this process is alive while ``journal`` is open."""
        self._stop_alive.set()  # the marks of a journal open before stop
        stop = self._stop_alive = threading.Event()
        try:
            threading.Thread(
                target=mark_alive_until, args=(journal, stop), name="teamtape-alive", daemon=True
            ).start()
        except RuntimeError:
            pass  # no thread to be had (the interpreter is exiting): crash times use the last event

    def _to_sinks(self, written: bytes | None, events: list[Event]) -> None:
        """Hand events to the sinks as they were written (redacted), or redacted here if they were not."""
        for event in self._as_written(written, events):
            for sink in self.sinks:
                try:
                    sink.handle(event)
                except Exception as e:
                    failures.report(f"an event for {type(sink).__name__}", e)

    def _as_written(self, written: bytes | None, events: list[Event]) -> Iterator[Event]:
        """Each event as its written (redacted) line reads back, or redacted here if it was not written."""
        lines = written.splitlines() if written is not None else [None] * len(events)
        for event, line in zip(events, lines, strict=False):
            try:
                yield decode_event(line) if line is not None else self._redacted_copy(event)
            except Exception as e:
                failures.report(f"a {event.kind} event for the sinks", e)

    def _writing_failed(self, error: OSError) -> None:
        """Stop writing after the disk refused a line, and say once what that means."""
        self._journal_broken = True
        self._writer = None
        if isinstance(error, FileNotFoundError):
            what = (
                f"the store at {self.root} was deleted while recording: what this process "
                "had recorded there is gone and the rest is not recorded"
            )
        else:
            what = (
                f"teamtape stopped writing to {self.root} ({error.strerror or error}): events "
                "written before this are kept, the rest is not recorded"
            )
        failures.once(f"journal-write:{self.root}", f"{what}; your team runs on.")

    def _redacted_copy(self, event: Event) -> Event:
        from teamtape.store import encode_event

        return decode_event(self.redactor.scrub_json(encode_event(event)))

    def _emit_blob(self, digest: str, media_type: str, data: Any) -> None:
        from ._context import current_run

        run = current_run.get()
        if run is not None:
            run.emit("blob", None, hash=digest, media_type=media_type, data=data)

    # -- lifecycle ----------------------------------------------------------------------------------
    def session_for(self, owner: Any) -> str:
        """The session id of a team or agent object: successive runs of one object share it."""
        try:
            sid = self.sessions.get(owner)
            if sid is None:
                sid = os.urandom(8).hex()
                self.sessions[owner] = sid
            return sid
        except TypeError:
            return os.urandom(8).hex()

    def close_open_runs(self, reason: str) -> None:
        """End runs still open when recording stops (e.g. the process exits mid-run)."""
        for run in list(self.open_runs.values()):
            run.end_sync("cancelled", stop_reason=reason)

    def close(self) -> None:
        """Flush sinks and release the journal (readers then fold and remove it)."""
        self.close_open_runs("recording stopped before the run finished")
        for sink in self.sinks:
            try:
                sink.close()
            except Exception as e:
                failures.report(f"closing {type(sink).__name__}", e)
        self._stop_alive.set()
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    @property
    def journal_path(self) -> Path | None:
        return self._writer.path if self._writer else None


def python_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for dist in ("autogen-agentchat", "autogen-core", "autogen-ext", "teamtape"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            pass
    return out
