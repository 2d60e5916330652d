"""What Grafana does to a panel's SQL before DuckDB sees it, so tests can run exactly that.

Two steps, in Grafana's order:

1. the browser (``templateSrv.replace`` with the SQL datasource's ``interpolateVariable``) replaces
   template variables and ``$__interval``: a multi-value or include-All variable becomes a list of
   quoted literals (``'a','b'``), a single-value one its text with quotes doubled, and "All" with a
   custom ``allValue`` that value verbatim;
2. the DuckDB plugin's backend expands the default SQL macros of grafana-plugin-sdk-go:
   ``$__timeFilter(col)`` → ``col >= '<from>' AND col <= '<to>'``, ``$__timeFrom(col)`` →
   ``col >= '<from>'``, ``$__timeTo(col)`` → ``col <= '<to>'`` (RFC 3339, UTC, seconds), and
   ``$__timeGroup(col, unit)`` → ``datepart(...)`` calls DuckDB rejects (use ``time_bucket``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ALL = "$__all"
"""The value Grafana stores when "All" is selected."""


@dataclass(frozen=True)
class Selection:
    """The current value of a template variable as the dashboard defines it.

    Attributes:
        values: the selected values, or ``[ALL]``.
        options: every value the variable's query returned (what "All" stands for).
        multi: the variable allows several values.
        include_all: the variable offers "All".
        all_value: the custom value "All" is replaced with (verbatim), if any.
    """

    values: Sequence[str]
    options: Sequence[str] = ()
    multi: bool = True
    include_all: bool = True
    all_value: str | None = None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(sel: Selection) -> str:
    if list(sel.values) == [ALL]:
        if sel.all_value is not None:
            return sel.all_value
        values: Sequence[str] = sel.options
    else:
        values = sel.values
    if len(values) == 1 and not (sel.multi or sel.include_all):
        return values[0].replace("'", "''")
    return ",".join(_quote(v) for v in values)


_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}")

_ROUND_MS = (
    (15, 10),
    (35, 20),
    (75, 50),
    (150, 100),
    (350, 200),
    (750, 500),
    (1500, 1000),
    (3500, 2000),
    (7500, 5000),
    (12500, 10000),
    (17500, 15000),
    (25000, 20000),
    (45000, 30000),
    (90000, 60000),
    (210000, 120000),
    (450000, 300000),
    (750000, 600000),
    (1050000, 900000),
    (1500000, 1200000),
    (2700000, 1800000),
    (5400000, 3600000),
    (9000000, 7200000),
    (16200000, 10800000),
    (32400000, 21600000),
    (86400000, 43200000),
    (604800000, 86400000),
    (1814400000, 604800000),
    (3628800000, 2592000000),
)


def round_interval_ms(interval_ms: float) -> int:
    """Grafana's ``rangeutil.roundInterval``: the nearest "nice" interval."""
    for below, nice in _ROUND_MS:
        if interval_ms < below:
            return nice
    return 31536000000


def interval_text(ms: int) -> str:
    """Grafana's ``secondsToHms`` (largest unit only), e.g. ``2h``, ``30s``, ``500ms``."""
    seconds = ms / 1000
    for unit, size in (("y", 31536000), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(ms)}ms"


def grafana_interval(time_from: dt.datetime, time_to: dt.datetime, max_data_points: int) -> tuple[str, int]:
    """``$__interval`` and ``$__interval_ms`` for a time range and a panel's max data points."""
    span_ms = (time_to - time_from).total_seconds() * 1000
    ms = round_interval_ms(span_ms / max(max_data_points, 1))
    return interval_text(ms), ms


def interpolate_variables(
    sql: str, variables: Mapping[str, Selection], *, builtins: Mapping[str, str] | None = None
) -> str:
    """Step 1: template variables and built-ins, as Grafana's browser code replaces them."""
    known = dict(builtins or {})

    def replace(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(4)
        if name in variables:
            return _format(variables[name])
        if name in known:
            return known[name]
        return m.group(0)

    return _VARIABLE.sub(replace, sql)


def _rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _macro_args(sql: str, start: int) -> tuple[str | None, int]:
    """The argument text of a macro whose name ends at ``start`` and the index after ``)``."""
    if start >= len(sql) or sql[start] != "(":
        return None, start
    depth = 0
    for i in range(start, len(sql)):
        if sql[i] == "(":
            depth += 1
        elif sql[i] == ")":
            depth -= 1
            if depth == 0:
                return sql[start + 1 : i], i + 1
    raise ValueError(f"unbalanced parentheses in macro call at {start}")


def expand_macros(sql: str, time_from: dt.datetime, time_to: dt.datetime) -> str:
    """Step 2: the plugin backend's default macros (grafana-plugin-sdk-go ``sqlutil``)."""
    start, end = _rfc3339(time_from), _rfc3339(time_to)

    def time_filter(args: list[str]) -> str:
        (col,) = args
        return f"{col} >= '{start}' AND {col} <= '{end}'"

    def time_from_(args: list[str]) -> str:
        (col,) = args
        return f"{col} >= '{start}'"

    def time_to_(args: list[str]) -> str:
        (col,) = args
        return f"{col} <= '{end}'"

    def time_group(args: list[str]) -> str:
        col, unit = args
        parts = ["minute", "hour", "day", "month", "year"]
        return ",".join(f"datepart({p}, {col})" for p in parts[parts.index(unit) :]) if unit in parts else ""

    macros = {"timeFilter": time_filter, "timeFrom": time_from_, "timeTo": time_to_, "timeGroup": time_group}
    for name, fn in macros.items():
        pattern = re.compile(rf"\$__{name}\b")
        while m := pattern.search(sql):
            text, after = _macro_args(sql, m.end())
            args = [a.strip() for a in text.split(",")] if text is not None else []
            try:
                replacement = fn(args)
            except ValueError as e:
                raise ValueError(f"$__{name} expects other arguments than {args}") from e
            sql = sql[: m.start()] + replacement + sql[after:]
    return sql


def render_query(
    sql: str,
    *,
    time_from: dt.datetime,
    time_to: dt.datetime,
    variables: Mapping[str, Selection],
    max_data_points: int = 500,
) -> str:
    """A panel's SQL exactly as DuckDB receives it from Grafana and the plugin.

    Example:
        >>> t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC); t1 = t0 + dt.timedelta(days=1)
        >>> render_query("SELECT 1 FROM t WHERE $__timeFilter(ts) AND team IN ($team)",
        ...              time_from=t0, time_to=t1, variables={"team": Selection(["a", "b"])})
        "SELECT 1 FROM t WHERE ts >= '2026-01-01T00:00:00Z' AND ts <= '2026-01-02T00:00:00Z' AND team IN ('a','b')"
    """
    interval, interval_ms = grafana_interval(time_from, time_to, max_data_points)
    builtins = {
        "__interval": interval,
        "__interval_ms": str(interval_ms),
        "__from": str(int(time_from.timestamp() * 1000)),
        "__to": str(int(time_to.timestamp() * 1000)),
    }
    return expand_macros(interpolate_variables(sql, variables, builtins=builtins), time_from, time_to)
