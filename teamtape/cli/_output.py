"""Printing for the CLI: JSON documents on stdout, tables and timelines for people."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import logging
import shlex
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from rich.console import Console

from teamtape.tui._format import fmt_cost as tui_fmt_cost
from teamtape.tui._format import printable


def _json_default(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return str(value)


def print_json(document: Any) -> None:
    """Print one JSON document on stdout and nothing else."""
    sys.stdout.write(json.dumps(document, default=_json_default, ensure_ascii=False, indent=2) + "\n")


def store_flag(store: Any, root: Any) -> str:
    """`` --store DIR`` for the commands the CLI suggests next, when the user named a store
    (``store``: the ``--store`` option as given; ``root``: where it resolved to). Empty for the default
    store, which those commands find by themselves."""
    return "" if store is None else f" --store {shlex.quote(str(root))}"


@contextlib.contextmanager
def quiet_autogen_errors() -> Iterator[None]:
    """Keep autogen from printing the tracebacks of a team's errors (a recorded or replayed run's
    failure is in its recording; the terminal need not show it again, 70 lines long)."""
    handler = logging.NullHandler()
    logger = logging.getLogger("autogen_core")
    logger.addHandler(handler)
    propagate, logger.propagate = logger.propagate, False  # nor through handlers configured elsewhere
    try:
        yield
    finally:
        logger.propagate = propagate
        logger.removeHandler(handler)


def console() -> Console:
    return Console(highlight=False, soft_wrap=False)


MIN_FLEX_WIDTH = 12
"""The narrowest a flexible column gets before optional columns make room for it."""


def print_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
    flex: Sequence[int] = (),
    droppable: Sequence[int] = (),
) -> None:
    """One line per row. Fixed columns keep their full width; the ``flex`` columns (default: the
    last) share what is left of the terminal and are cut short with an ellipsis. Where the terminal is
    too narrow for that, the ``droppable`` columns are left out, first named first, so rows do not wrap."""
    out = console()
    flexible = set(flex) or {len(columns) - 1}
    cells = [[one_line(v) for v in row] for row in rows]
    widths = [max([len(str(c))] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    gap = 2

    def fixed_width(shown: Sequence[int]) -> int:
        return sum(widths[i] for i in shown if i not in flexible) + gap * (len(shown) - 1)

    shown = list(range(len(columns)))
    for i in droppable:
        if fixed_width(shown) + MIN_FLEX_WIDTH * len(flexible) <= out.width:
            break
        shown.remove(i)
    room = max(out.width - fixed_width(shown), 8 * len(flexible))
    for i in flexible:
        widths[i] = min(widths[i], max(8, room // len(flexible)))
    if title:
        out.print(title, style="bold")

    def line(values: Sequence[str]) -> str:
        parts = [
            values[i] if len(values[i]) <= widths[i] else values[i][: widths[i] - 1] + "…" for i in shown
        ]
        return (" " * gap).join(p.ljust(widths[i]) for p, i in zip(parts, shown)).rstrip()

    out.print(line([str(c) for c in columns]), style="bold", soft_wrap=True, markup=False)
    for r in cells:
        out.print(line(r), soft_wrap=True, markup=False, highlight=False)


def one_line(value: Any) -> str:
    """A cell's text: the first line, whitespace folded, control characters shown rather than obeyed."""
    if value is None:
        return ""
    text = str(value).strip().splitlines()[0] if str(value).strip() else ""
    return printable(" ".join(text.split()))


def fmt_cost(value: float | None, unpriced: int = 0) -> str:
    """A cost as the TUI writes it (a cheap call's keeps two significant digits, never a bare $0.00000;
    ``≥`` when calls with no known price are left out), ``unknown`` when no price was known."""
    return "unknown" if value is None else tui_fmt_cost(value, unpriced=unpriced)


def fmt_ms(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


def local(value: dt.datetime) -> dt.datetime:
    """A stored time (naive: UTC) in the local time zone, the one the TUI shows times in too."""
    return (value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value).astimezone()


def fmt_ts(value: Any, *, zone: bool = False) -> str:
    """A stored time as local ``11-24 09:00:33`` (with its zone's name, ``CET``, when ``zone``)."""
    if isinstance(value, dt.datetime):
        return local(value).strftime("%m-%d %H:%M:%S" + (" %Z" if zone else ""))
    return "" if value is None else str(value)


def fmt_tokens(n_in: int | None, n_out: int | None) -> str:
    """Tokens in/out; a count nobody reported (a call that failed, a stream without usage) is ``?``.

    Example:
        >>> fmt_tokens(1200, 35), fmt_tokens(None, None)
        ('1,200/35', '?/?')
    """
    return f"{'?' if n_in is None else f'{n_in:,}'}/{'?' if n_out is None else f'{n_out:,}'}"
