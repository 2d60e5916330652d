"""The public ways in: ``record()``, ``instrument()`` and ``uninstrument()``."""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

from . import _active
from ._guard import failures
from ._instrument import is_patched, patch_autogen, unpatch_autogen
from ._recorder import EventSink, Recorder

if TYPE_CHECKING:
    from teamtape.store import Store

_global: Recorder | None = None
_global_lock = threading.Lock()
_atexit_registered = False


def _otlp_sinks(otlp_endpoint: str | None, recorder: Recorder) -> list[EventSink]:
    """The live OTLP sink, when an endpoint is given or the ``OTEL_EXPORTER_OTLP_*`` variables name one."""
    if not otlp_endpoint and not any(
        os.environ.get(v) for v in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return []
    try:
        from .otlp import otlp_sink_from_env_or_args

        sink = otlp_sink_from_env_or_args(
            otlp_endpoint, prices=recorder.store.prices, redactor=recorder.redactor
        )
    except Exception as e:
        failures.report("the OTLP exporter setup", e)
        return []
    return [sink] if sink is not None else []


def _make_recorder(
    store: str | os.PathLike[str] | None,
    name: str | None,
    labels: Mapping[str, str] | None,
    otlp_endpoint: str | None,
    redact: Iterable[str],
    save_state: bool,
    sinks: Iterable[EventSink],
    capture_content: bool = True,
) -> Recorder:
    recorder = Recorder(
        store,
        name=name,
        labels=labels,
        redact_patterns=redact,
        sinks=list(sinks),
        save_state=save_state,
        capture_content=capture_content,
    )
    recorder.sinks.extend(_otlp_sinks(otlp_endpoint, recorder))
    return recorder


class Recording:
    """What ``teamtape.record(...)`` returns: a context manager, sync or async.

    Inside it, every run of every AutoGen team or agent in this process is recorded.

    Example:
        >>> import teamtape
        >>> with teamtape.record(store="/tmp/doc-recording", name="nightly") as rec:
        ...     pass  # await team.run(task=...) here
        >>> rec.run_ids
        []
    """

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self._patched_here = False

    @property
    def store(self) -> Store:
        """The store this recording writes to (``Store.query`` folds what was recorded)."""
        return self.recorder.store

    @property
    def run_ids(self) -> list[str]:
        """Ids of the runs recorded so far, in start order (nested runs included)."""
        return list(self.recorder.run_ids)

    def __enter__(self) -> Recording:
        if not is_patched():
            patch_autogen()
            self._patched_here = True
        _active.push(self.recorder)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _active.pop(self.recorder)
        self.recorder.close()
        if self._patched_here and _active.active() is None:
            unpatch_autogen()

    async def __aenter__(self) -> Recording:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def record(
    store: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    otlp_endpoint: str | None = None,
    redact: Iterable[str] = (),
    save_state: bool = True,
    sinks: Iterable[EventSink] = (),
    capture_content: bool = True,
) -> Recording:
    """Record every AutoGen run inside a ``with``/``async with`` block.

    Args:
        store: store directory (default ``$TEAMTAPE_STORE`` or ``./.teamtape``).
        name: a name given to each run recorded (shown by ``teamtape runs``).
        labels: ``key=value`` labels attached to each run.
        otlp_endpoint: also send spans and metrics to this OTLP endpoint, live.
        redact: extra regular expressions whose matches are removed before anything is written.
        save_state: snapshot ``save_state()`` of the team at the end of each run.
        sinks: extra live consumers of events.
        capture_content: record what was said (messages, prompts, tool arguments and results);
            with False only structure, timings, tokens and costs are kept (such runs cannot be
            replayed).

    Example:
        >>> import teamtape
        >>> async def main(team):
        ...     async with teamtape.record(name="support-bot"):
        ...         await team.run(task="I want a refund for flight FL-1234.")
    """
    return Recording(
        _make_recorder(store, name, labels, otlp_endpoint, redact, save_state, sinks, capture_content)
    )


def instrument(
    store: str | os.PathLike[str] | None = None,
    *,
    name: str | None = None,
    labels: Mapping[str, str] | None = None,
    otlp_endpoint: str | None = None,
    redact: Iterable[str] = (),
    save_state: bool = True,
    sinks: Iterable[EventSink] = (),
    capture_content: bool = True,
) -> Recorder:
    """Record every AutoGen run in this process from now on (idempotent).

    Calling it again returns the recorder already installed; :func:`uninstrument` undoes it.

    Example:
        >>> import teamtape
        >>> recorder = teamtape.instrument(store="/tmp/doc-instrument")
        >>> teamtape.instrument() is recorder
        True
        >>> teamtape.uninstrument()
    """
    global _global, _atexit_registered
    with _global_lock:
        if _global is not None:
            return _global
        patch_autogen()
        _global = _make_recorder(
            store, name, labels, otlp_endpoint, redact, save_state, sinks, capture_content
        )
        _active._stack.insert(0, _global)
        if not _atexit_registered:
            atexit.register(_close_at_exit)
            _atexit_registered = True
        return _global


def uninstrument() -> None:
    """Stop recording and restore every autogen method teamtape wrapped (idempotent)."""
    global _global
    with _global_lock:
        if _global is None:
            return
        _active.pop(_global)
        _global.close()
        _global = None
        if _active.active() is None:
            unpatch_autogen()


def _close_at_exit() -> None:
    for recorder in list(_active._stack):
        recorder.close_open_runs("the process exited before the run finished")
        recorder.close()


def recorder_failures() -> int:
    """How many times the recorder caught one of its own errors (for tests and diagnostics)."""
    return failures.count


__all__ = ["Recording", "instrument", "record", "recorder_failures", "uninstrument"]
