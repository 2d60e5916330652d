"""How replays and forks are named: after their original run, with a suffix ``teamtape runs`` reads.

Kept apart from the replay machinery so that listing runs imports nothing of AutoGen.
"""

from __future__ import annotations

REPLAY_SUFFIXES = (" (replay)", " (fork)")
"""What a replay's and a fork's names end with."""


def original_name(name: str) -> str:
    """A run's name without the suffixes replays and forks add.

    Example:
        >>> original_name("support (replay) (fork)"), original_name("support")
        ('support', 'support')
    """
    while name.endswith(REPLAY_SUFFIXES):
        name = name[: name.rindex(" (")]
    return name


def replay_name(name: str | None, *, fork: bool = False) -> str | None:
    """The name of a replay (or fork) of a run called ``name``: a replay of a replay is named after
    the original. None for an unnamed run."""
    base = original_name(name or "")
    return f"{base}{REPLAY_SUFFIXES[fork]}" if base else None
