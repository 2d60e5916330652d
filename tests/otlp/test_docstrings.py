"""The examples in the OTLP package's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_config", "_ids", "_translate", "_sink", "_export"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    module = importlib.import_module(f"teamtape.recorder.otlp.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
