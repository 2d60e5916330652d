"""The examples in the TUI's headless formatting modules' docstrings run (they are what the screens show)."""

from __future__ import annotations

import doctest

import pytest

from teamtape.tui import _format, _tracebacks


@pytest.mark.parametrize("module", [_format, _tracebacks], ids=lambda m: m.__name__)
def test_docstring_examples_run(module) -> None:  # type: ignore[no-untyped-def]
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


def test_a_cheap_call_does_not_look_free() -> None:
    assert _format.fmt_cost(0.0000421) == "$0.000042"  # gpt-4o-mini answering a short prompt
    assert _format.fmt_cost(0.0) == "$0.0000" and _format.fmt_cost(None) == "?"
