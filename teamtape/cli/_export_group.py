"""The shared ``teamtape export`` command group: ``export parquet``, ``export otlp``, ``export tape``.

Each command module adds its format with ``export_subparsers(sub, common).add_parser(...)``; the
group parser is created once, by whichever module asks first.
"""

from __future__ import annotations

import argparse
from typing import Any

_ATTR = "_teamtape_export_subparsers"


def export_subparsers(sub: Any, common: argparse.ArgumentParser) -> Any:
    """The subparsers of ``teamtape export`` (created on first use, then the same object).

    Example:
        >>> root = argparse.ArgumentParser(); sub = root.add_subparsers()
        >>> common = argparse.ArgumentParser(add_help=False)
        >>> export_subparsers(sub, common) is export_subparsers(sub, common)
        True
    """
    cached = getattr(sub, _ATTR, None)
    if cached is not None:
        return cached
    parser = sub.add_parser(
        "export", parents=[common], help="write recorded runs elsewhere (parquet, otlp, tape)"
    )
    formats = parser.add_subparsers(dest="export_format", metavar="FORMAT")

    def _no_format(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(func=_no_format)
    setattr(sub, _ATTR, formats)
    return formats
