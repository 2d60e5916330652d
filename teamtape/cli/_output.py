"""Printing for the CLI: JSON documents on stdout, tables and timelines for people."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table


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


def console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def print_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], *, title: str | None = None, flex: Sequence[int] = ()
) -> None:
    """A table whose ``flex`` columns wrap; every other column stays on one line."""
    table = Table(title=title, header_style="bold", show_lines=False, pad_edge=False, box=None)
    for i, col in enumerate(columns):
        if i in flex or (not flex and i == len(columns) - 1):
            table.add_column(str(col), overflow="fold", ratio=1)
        else:
            table.add_column(str(col), no_wrap=True, overflow="ellipsis", min_width=min(len(str(col)), 12))
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console().print(table)


def fmt_cost(value: float | None, unpriced: int = 0) -> str:
    if value is None:
        return "unknown"
    text = f"${value:.5f}" if value < 0.01 else f"${value:.4f}" if value < 100 else f"${value:,.2f}"
    return f"≥{text}" if unpriced else text


def fmt_ms(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1000:
        return f"{value:.0f} ms"
    return f"{value / 1000:.1f} s"


def fmt_ts(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%m-%d %H:%M:%S")
    return "" if value is None else str(value)


def fmt_tokens(n_in: int | None, n_out: int | None) -> str:
    return f"{n_in or 0:,}/{n_out or 0:,}"
