"""Record modes, in the vcrpy sense."""

from __future__ import annotations

from enum import StrEnum

from ._errors import ReplayError


class RecordMode(StrEnum):
    """What a replay does with a request the recording does not hold.

    - ``none``: serve from the recording only; any other request is an error (CI's default).
    - ``once``: record when there is no recording yet, otherwise behave like ``none``.
    - ``new_episodes``: serve what the recording holds; send other requests to the real model and
      record them.
    - ``all``: never serve; send every request to the real model and record it (re-record).
    """

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"

    @classmethod
    def parse(cls, value: str | RecordMode) -> RecordMode:
        """The mode named ``value`` (case-insensitive; ``new-episodes`` works too).

        Example:
            >>> RecordMode.parse("new-episodes")
            <RecordMode.NEW_EPISODES: 'new_episodes'>
            >>> RecordMode.parse("sometimes")
            Traceback (most recent call last):
            ...
            teamtape.replay._errors.ReplayError: Unknown record mode 'sometimes'; valid modes are: none, once, new_episodes, all.
        """
        if isinstance(value, RecordMode):
            return value
        text = str(value).strip().lower().replace("-", "_")
        for mode in cls:
            if mode.value == text:
                return mode
        valid = ", ".join(m.value for m in cls)
        raise ReplayError(f"Unknown record mode {value!r}; valid modes are: {valid}.")

    @property
    def serves(self) -> bool:
        """Whether recorded answers are served at all."""
        return self is not RecordMode.ALL

    @property
    def allows_live(self) -> bool:
        """Whether an unmatched request may reach the real model."""
        return self in (RecordMode.NEW_EPISODES, RecordMode.ALL)
