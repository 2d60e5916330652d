"""Recorded tracebacks are shown without teamtape's wrapper frames, and nothing else is left out."""

from __future__ import annotations

from teamtape.tui._tracebacks import error_line, without_recorder_frames

CHAINED = """\
Traceback (most recent call last):
  File "/srv/app/recorder/_turns.py", line 12, in mine
    return helper()
  File "/opt/venv/lib/python3.11/site-packages/teamtape/recorder/_models.py", line 275, in create
    result = await call_create(original, self, messages, args, kwargs)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "C:\\venv\\Lib\\site-packages\\teamtape\\recorder\\otlp\\_sink.py", line 9, in handle
    raise KeyError("x")
KeyError: 'x'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/srv/app/team.py", line 3, in main
    run()
ValueError: boom
"""


def test_only_teamtapes_recorder_frames_are_left_out() -> None:
    shown = without_recorder_frames(CHAINED)
    assert shown.hidden_frames == 2
    assert "_models.py" not in shown.text and "call_create" not in shown.text and "^^^" not in shown.text
    assert "_sink.py" not in shown.text  # recorded on Windows: still teamtape's
    # A user's own folder named ``recorder`` is theirs, whatever its modules are called.
    assert '"/srv/app/recorder/_turns.py", line 12, in mine\n    return helper()' in shown.text
    for kept in ("KeyError: 'x'", "During handling", "/srv/app/team.py", "run()", "ValueError: boom"):
        assert kept in shown.text
    assert shown.note == "(2 teamtape frames left out: --json has the traceback as recorded)"


def test_a_traceback_without_teamtape_frames_is_unchanged() -> None:
    plain = 'Traceback (most recent call last):\n  File "/srv/app/team.py", line 3, in main\n    run()\nValueError: boom'
    shown = without_recorder_frames(plain)
    assert shown.text == plain and shown.hidden_frames == 0 and shown.note == ""


def test_an_error_without_a_message_is_named_by_its_type() -> None:
    assert error_line("CancelledError", "") == "CancelledError"  # not "CancelledError: "
    assert error_line("ValueError", "boom") == "ValueError: boom"
    assert error_line(None, "boom") == "Error: boom"


def test_the_docstring_examples_hold() -> None:
    """The module's examples (leaving out teamtape's frames, condensing a chained traceback) are run."""
    import doctest

    from teamtape.tui import _tracebacks

    result = doctest.testmod(_tracebacks)
    assert result.attempted >= 6 and result.failed == 0


def test_where_an_exception_was_raised_reads_the_same_from_any_machine() -> None:
    from teamtape.tui._tracebacks import last_frame

    windows = (
        'Traceback (most recent call last):\n  File "C:\\Users\\me\\tools.py", line 3, in lookup\nKeyError: 1'
    )
    assert last_frame(windows) == "tools.py:3 in lookup"
    assert last_frame("KeyError: 1") is None
