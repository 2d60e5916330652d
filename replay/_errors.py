"""The errors teamtape replay raises; all are :class:`teamtape.store.TeamtapeError` subclasses."""

from __future__ import annotations

from teamtape.store import TeamtapeError


class ReplayError(TeamtapeError):
    """A recording cannot be replayed as asked (missing tape, bad option, unsafe config...)."""


class ReplayMismatchError(ReplayError):
    """A live request has no recorded counterpart (and the record mode does not allow a live call).

    Attributes:
        run_id: the recorded run (or tape) being replayed.
        agent: the agent that made the request.
        call_index: the 1-based index of the call among that agent's calls in this replay.
        kind: ``model``, ``tool`` or ``memory``.
        diff: a readable diff between the request and the closest recorded one.
    """

    def __init__(
        self, message: str, *, run_id: str | None, agent: str | None, call_index: int, kind: str, diff: str
    ) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.agent = agent
        self.call_index = call_index
        self.kind = kind
        self.diff = diff


class RecordedModelError(Exception):
    """The recorded model call failed; the replay fails the same way.

    Not a TeamtapeError: it stands for the provider's error (e.g. an HTTP 500) inside the team.
    """

    def __init__(self, error: dict[str, object]) -> None:
        self.recorded = error
        super().__init__(
            f"{error.get('type', 'Error')}: {error.get('message', '')} (replayed from the recording)"
        )
