"""The runs filter: ``status:error team:swarm agent:planner model:gpt-4o some words`` (headless).

Every condition must hold (AND); several values for one key are separated by commas (OR), e.g.
``status:error,crashed``. Plain words match run id, name, team, task, stop reason, error and session.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from teamtape.store import RunStatus, TeamtapeError

KEYS = ("status", "team", "agent", "model")
FAILURES = "failures"
"""``status:failures``: runs with a failed model or tool call, whatever their status (an ok run may have some)."""


class FilterError(TeamtapeError):
    """A filter the user typed cannot be understood."""


@dataclass(frozen=True)
class RunFilter:
    """A parsed runs filter. The empty filter matches every run.

    Example:
        >>> f = RunFilter.parse("status:error,crashed team:swarm refund")
        >>> f.status, f.team, f.words
        (('error', 'crashed'), ('swarm',), ('refund',))
    """

    status: tuple[str, ...] = ()
    team: tuple[str, ...] = ()
    agent: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    words: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> RunFilter:
        """Parse what the user typed; raises :class:`FilterError` saying what is wrong."""
        try:
            tokens = shlex.split(text)
        except ValueError:
            tokens = text.split()
        values: dict[str, list[str]] = {k: [] for k in KEYS}
        words: list[str] = []
        for token in tokens:
            key, sep, value = token.partition(":")
            if not sep or not key.isalpha():
                words.append(token)
                continue
            key = key.lower()
            if key not in values:
                raise FilterError(
                    f"Unknown filter '{key}:'. Use {', '.join(k + ':' for k in KEYS)} or plain words."
                )
            parts = [v for v in value.split(",") if v]
            if not parts:
                raise FilterError(f"'{key}:' needs a value, e.g. {key}:{_EXAMPLES[key]}.")
            values[key].extend(parts)
        valid = {s.value for s in RunStatus}
        bad = [s for s in values["status"] if s.lower() not in valid | {FAILURES}]
        if bad:
            raise FilterError(
                f"Unknown status '{bad[0]}'. A run's status is one of {', '.join(sorted(valid))}; "
                f"'{FAILURES}' picks runs with a failed model or tool call."
            )
        return cls(
            status=tuple(s.lower() for s in values["status"]),
            team=tuple(values["team"]),
            agent=tuple(values["agent"]),
            model=tuple(values["model"]),
            words=tuple(words),
        )

    def __bool__(self) -> bool:
        return any((self.status, self.team, self.agent, self.model, self.words))

    def to_sql(self) -> tuple[str, list[Any]]:
        """A WHERE clause over ``runs`` and its parameters."""
        clauses: list[str] = []
        params: list[Any] = []

        def any_of(template: str, values: tuple[str, ...], n_params: int) -> None:
            # What the user typed is matched literally: % and _ are not wildcards.
            template = template.replace("ILIKE ?", "ILIKE ? ESCAPE '\\'")
            clauses.append("(" + " OR ".join([template] * len(values)) + ")")
            for v in values:
                literal = v.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                params.extend([f"%{literal}%"] * n_params)

        if self.status:
            statuses = [s for s in self.status if s != FAILURES]
            either = [f"status IN ({', '.join('?' * len(statuses))})"] if statuses else []
            if FAILURES in self.status:
                either.append("failed_calls > 0")
            clauses.append(f"({' OR '.join(either)})")
            params.extend(statuses)
        if self.team:
            any_of("(team_type ILIKE ? OR name ILIKE ?)", self.team, 2)
        if self.agent:
            any_of(
                "(array_to_string(participants, ',') ILIKE ? OR run_id IN "
                "(SELECT run_id FROM llm_calls WHERE agent ILIKE ?))",
                self.agent,
                2,
            )
        if self.model:
            any_of("run_id IN (SELECT run_id FROM llm_calls WHERE model ILIKE ?)", self.model, 1)
        for word in self.words:
            any_of(
                "concat_ws(' ', run_id, name, team_type, task, stop_reason, error, session_id) ILIKE ?",
                (word,),
                1,
            )
        return (" AND ".join(clauses) or "TRUE"), params


_EXAMPLES = {"status": "error", "team": "Swarm", "agent": "planner", "model": "gpt-4o"}
