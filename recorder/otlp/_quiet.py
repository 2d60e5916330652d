"""Keep the OpenTelemetry exporters' own log lines off the user's terminal, and learn why an export failed.

The SDK exporters log every failed attempt (a line per retry). teamtape reports a failure once,
itself, so on teamtape's own threads those records are swallowed and kept: the first one of an
export attempt usually names the cause (connection refused, HTTP 401, UNAVAILABLE).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_TRANSIENT = re.compile(r"Transient error (.*?) encountered while exporting", re.DOTALL)


class _ThreadLogFilter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()
        self.messages: dict[int, list[str]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        ident = threading.get_ident()
        if ident not in self.threads:
            return True
        if record.levelno >= logging.WARNING:
            try:
                message = record.getMessage()
            except Exception:
                message = str(record.msg)
            kept = self.messages.setdefault(ident, [])
            if len(kept) < 20:
                kept.append(message)
        return False


_filter = _ThreadLogFilter()


def install() -> None:
    """Attach the filter to every ``opentelemetry.*`` logger that exists now (call after importing exporters)."""
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("opentelemetry"):
            logger = logging.getLogger(name)
            if _filter not in logger.filters:
                logger.addFilter(_filter)


@contextmanager
def quiet_exporter_logs() -> Iterator[None]:
    """Swallow (and keep) the exporters' warnings and errors logged on this thread inside the block."""
    install()
    ident = threading.get_ident()
    _filter.threads.add(ident)
    _filter.messages.pop(ident, None)
    try:
        yield
    finally:
        _filter.threads.discard(ident)
        _filter.messages.pop(ident, None)


def begin_attempt() -> None:
    """Forget what was logged before (call before each export)."""
    install()
    _filter.messages.pop(threading.get_ident(), None)


def last_problem() -> str | None:
    """Why the last export on this thread failed, in one line, if an exporter said so."""
    messages = _filter.messages.get(threading.get_ident())
    if not messages:
        return None
    first = messages[0]
    match = _TRANSIENT.search(first)
    text = match.group(1) if match else first
    return " ".join(text.split())[:500]
