"""Keep the OpenTelemetry exporters' own log lines off the user's terminal, and learn why an export failed.

The SDK exporters log every failed attempt (a line per retry). teamtape reports a failure once,
itself, so on teamtape's own threads those records are swallowed and kept: the first one of an
export attempt usually names the cause (connection refused, HTTP 401, UNAVAILABLE).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

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
                # First, so that the SDK's own DuplicateFilter cannot hide a record from us.
                logger.filters.insert(0, _filter)


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


def last_problem(url: str | None = None) -> str | None:
    """Why the last export on this thread failed, in one line.

    The exporters' own words when they say something useful, else (given the endpoint ``url``) what
    a plain TCP connection to it finds: refused, unresolvable, or silent.
    """
    messages = _filter.messages.get(threading.get_ident()) or []
    first = messages[0] if messages else ""
    match = _TRANSIENT.search(first)
    text = " ".join((match.group(1) if match else first).split())[:500]
    if text and "due to timeout, max retries or shutdown" not in text:
        return text
    return probe(url) if url else (text or None)


def probe(url: str, timeout: float = 1.0) -> str | None:
    """What stops a TCP connection to the host and port of ``url`` (None when it connects)."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((host, port), timeout).close()
    except socket.gaierror:
        return f"the host name {host!r} does not resolve"
    except ConnectionRefusedError:
        return f"connection refused: nothing listens on {host}:{port}"
    except TimeoutError:
        return f"{host}:{port} did not answer within {timeout:g} s"
    except OSError as e:
        return f"cannot connect to {host}:{port} ({e.strerror or e})"
    return f"{host}:{port} accepts connections but did not answer in time"


_CANNOT_CONNECT = ("connection refused", "the host name", "cannot connect")
"""How :func:`probe` begins when nothing can be sent there (not a slow or silent endpoint)."""


def unreachable(url: str, timeout: float) -> str | None:
    """Why nothing can be sent to ``url`` at all (refused, an unknown host, no route), or None when a
    connection can be made, the host is merely slow to answer, or a proxy stands in between (the
    exporters go through ``HTTP(S)_PROXY`` / ``grpc_proxy``: a direct connection proves nothing)."""
    if _proxied(url):
        return None
    problem = probe(url, timeout)
    return problem if problem is not None and problem.startswith(_CANNOT_CONNECT) else None


def _proxied(url: str) -> bool:
    from urllib.request import getproxies, proxy_bypass

    proxies = {k.lower(): v for k, v in getproxies().items() if v}
    if os.environ.get("grpc_proxy"):  # noqa: SIM112 - gRPC reads this lower-case name
        proxies["grpc"] = "set"
    if not proxies:
        return False
    host = urlsplit(url).hostname or ""
    return not proxy_bypass(host)


_NOT_ACCEPTED = re.compile(r"\b(404|405|415|501)\b|UNIMPLEMENTED|Not Found")


def not_accepted(problem: str) -> bool:
    """Whether an export failed because the endpoint does not take that signal at all (a traces-only
    backend answering metrics with 404 or UNIMPLEMENTED), not because it is down."""
    return _NOT_ACCEPTED.search(problem) is not None
