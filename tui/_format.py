"""How numbers, times and texts look in the TUI (headless: no textual import)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


def fmt_cost(usd: float | None, *, unpriced: int = 0) -> str:
    """A cost in dollars; unknown costs are ``?`` (never a silent 0), a cost that leaves out calls with no
    known price is a lower bound (``≥``, as the CLI writes it), and a cheap call's cost keeps two
    significant digits (not ``$0.0000``). At most 12 characters.

    Example:
        >>> fmt_cost(0.01234), fmt_cost(None), fmt_cost(12.5), fmt_cost(0.5, unpriced=1)
        ('$0.0123', '?', '$12.50', '≥$0.5000')
        >>> fmt_cost(0.0000421), fmt_cost(0.00015), fmt_cost(0.0), fmt_cost(1234.5)
        ('$0.000042', '$0.00015', '$0.0000', '$1,234.50')
    """
    if usd is None:
        return "?"
    if 0 < usd < 0.01:  # two significant digits: $0.0042, $0.00015, $0.0000031
        digits = min(8, 1 - math.floor(math.log10(usd)))
        text = f"${usd:.{digits}f}"
    else:
        text = f"${usd:,.2f}" if usd >= 10 else f"${usd:.4f}"
    return f"≥{text}" if unpriced else text


NO_AGENT = "(no agent)"
"""Who made a model call that no agent made (a script's own ``client.create``)."""


def with_failures(status: str, failed_calls: int) -> str:
    """A run's status, with ``⚠N`` when N of its own model or tool calls failed (the team went on)."""
    return f"{status} ⚠{failed_calls}" if failed_calls else status


def counted(n: int | None, noun: str) -> str:
    """``n`` and ``noun``, plural unless one: ``1 LLM call``, ``3 messages``, ``1,204 runs``."""
    return f"{n or 0:,} {noun}{'' if n == 1 else 's'}"


def fmt_tokens(n: int | None) -> str:
    """Token counts, short: ``950``, ``3.4k``, ``1.2M``.

    Example:
        >>> fmt_tokens(950), fmt_tokens(3400), fmt_tokens(1_250_000), fmt_tokens(None)
        ('950', '3.4k', '1.2M', '')
    """
    if n is None:
        return ""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def fmt_duration(ms: float | None) -> str:
    """A duration: ``340ms``, ``4.2s``, ``3m05s``, ``2h04m``; empty when unknown.

    Example:
        >>> fmt_duration(340), fmt_duration(4210), fmt_duration(185_000), fmt_duration(None)
        ('340ms', '4.2s', '3m05s', '')
    """
    if ms is None:
        return ""
    if ms < 1000:
        return f"{ms:.0f}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


def fmt_retries(retries: object, fmt_wait: Callable[[float], str] | None = None) -> str:
    """The attempts a provider's SDK repeated within one model call, or empty when there were none.

    Example:
        >>> fmt_retries([{"after": "HTTP 429", "wait_ms": 500}, {"after": "HTTP 429", "wait_ms": 900}])
        'retried 2× after HTTP 429 ×2, waited 1.4s'
    """
    if not isinstance(retries, list) or not retries:
        return ""
    reasons: dict[str, int] = {}
    for retry in retries:
        after = str(retry.get("after") or "unknown") if isinstance(retry, dict) else "unknown"
        reasons[after] = reasons.get(after, 0) + 1
    said = ", ".join(reason if n == 1 else f"{reason} ×{n}" for reason, n in reasons.items())
    waited = sum(r.get("wait_ms") or 0 for r in retries if isinstance(r, dict))
    return f"retried {len(retries)}× after {said}, waited {(fmt_wait or fmt_duration)(waited)}"


def fmt_offset(seconds: float) -> str:
    """Time since the start of a run, for the timeline: ``+0.000``, ``+12.345``, ``+3:05.2``."""
    if seconds < 0:
        seconds = 0.0
    if seconds < 100:
        return f"+{seconds:.3f}"
    minutes, rest = divmod(seconds, 60)
    return f"+{int(minutes)}:{rest:04.1f}"


def fmt_started(epoch: float | None, *, short: bool = False) -> str:
    """A start time in local time, ``2024-11-23 14:02:07`` (``11-23 14:02`` when short); empty when unknown."""
    if epoch is None:
        return ""
    return time.strftime("%m-%d %H:%M" if short else "%Y-%m-%d %H:%M:%S", time.localtime(epoch))


_CONTROL = {i: chr(0x2400 + i) for i in range(32) if chr(i) not in "\n\t"} | {0x7F: "\u2421"}
_CONTROL |= {i: "\ufffd" for i in range(0x80, 0xA0)}
# Bidirectional overrides and isolates reorder what follows them on screen ("Trojan Source"): shown by name.
_BIDI = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
_CONTROL |= {i: f"[U+{i:04X}]" for i in _BIDI}


def printable(text: str) -> str:
    """``text`` with control characters (escape sequences from a model or a tool!) shown, not obeyed.

    Bidirectional overrides, which would reorder the text around them, are shown by name.

    Example:
        >>> printable("red\x1b[31m!")
        'red␛[31m!'
        >>> printable("abc\u202edef")
        'abc[U+202E]def'
    """
    return text.translate(_CONTROL)


def one_line(text: str | None, limit: int = 400) -> str:
    """Text squeezed onto one line (newlines and runs of spaces become one space), cut at ``limit``.

    Example:
        >>> one_line("two\\n  lines")
        'two lines'
    """
    if not text:
        return ""
    short = text[: limit * 2]
    squeezed = printable(" ".join(short.split()))
    return squeezed if len(squeezed) <= limit else squeezed[: limit - 1] + "…"


def short_id(run_id: str | None) -> str:
    """The first 8 characters of an id, enough to type as a RUN prefix."""
    return (run_id or "")[:8]
