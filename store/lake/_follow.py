"""Continuous export: keep a lake up to date while runs are recorded."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ..store import Store
from ._export import ExportReport, export_lake
from ._location import LakeLocation, open_location

DEFAULT_INTERVAL_S = 15.0


def follow_lake(
    store: Store,
    dest: str | os.PathLike[str] | LakeLocation,
    *,
    interval: float = DEFAULT_INTERVAL_S,
    stop: threading.Event | None = None,
    on_export: Callable[[ExportReport], None] | None = None,
    s3_endpoint: str | None = None,
) -> int:
    """Export what is new every ``interval`` seconds until ``stop`` is set; returns the number of exports.

    One last export runs after ``stop`` is set, so whatever was recorded before the stop reaches
    the lake. Each export only writes new rows, so following a quiet store costs one small query
    per interval and writes nothing.

    Args:
        store: the store being recorded into.
        dest: the lake (directory or ``s3://bucket/prefix``).
        interval: seconds between exports.
        stop: set it to end the loop (e.g. from a signal handler); ``None`` runs until interrupted.
        on_export: called with each export's report (including empty ones).
        s3_endpoint: URL of an S3-compatible server.

    Example:
        >>> import threading
        >>> from teamtape.store import open_store
        >>> from teamtape.store.lake import follow_lake
        >>> done = threading.Event(); done.set()
        >>> follow_lake(open_store("/tmp/doc-follow", create=True), "/tmp/doc-follow-lake", stop=done)
        1
    """
    if interval <= 0:
        raise ValueError("interval must be a positive number of seconds")
    loc = dest if isinstance(dest, LakeLocation) else open_location(dest, s3_endpoint=s3_endpoint)
    stop = stop or threading.Event()
    exports = 0
    while True:
        stopping = stop.is_set()
        report = export_lake(store, loc)
        exports += 1
        if on_export is not None:
            on_export(report)
        if stopping:
            return exports
        stop.wait(interval)  # when woken by stop, the next turn is the final export
