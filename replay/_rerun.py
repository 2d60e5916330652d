"""Re-running a recorded session offline (``teamtape replay``), and forking it at a model call.

The team is rebuilt (from its recorded config, or by the user's factory), every top-level run of
the recorded session is re-run in order on that one team object - so a Swarm waiting for the user
is resumed with the recorded ``HandoffMessage`` - while the recording is served to every model
client, tool, memory and code executor. The replay is recorded into the same store as new runs
with ``replay_of`` (or ``fork_of``) and compared with the recording, message by message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from teamtape.store import Store

from ._client import share_session
from ._compare import RunComparison, compare_run_lists
from ._errors import ReplayError
from ._interceptor import serving
from ._modes import RecordMode
from ._names import replay_name
from ._rebuild import load_factory, task_of, team_from_config, team_from_factory
from ._session import ReplaySession, ReplayStats
from ._tape import Tape

RERUN_RERECORD_HINT = (
    "If the change is intended, record the team again (`teamtape run your_script.py`, or `teamtape.record()` "
    "around it) and replay the new run."
)


@dataclass
class ReplayReport:
    """What ``replay_run`` did and found."""

    original_run_ids: list[str]
    replay_run_ids: list[str]
    comparisons: list[RunComparison]
    stats: ReplayStats
    fork_at: int | None = None
    mismatches: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """A replayed or forked run raised (e.g. a fork's live model could not be reached)."""
        return any(c.error for c in self.comparisons)

    @property
    def identical(self) -> bool:
        """Every run replayed to the same messages and ending, with nothing unmatched."""
        return not self.mismatches and all(c.diff.identical for c in self.comparisons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "fork_at": self.fork_at,
            "original_runs": self.original_run_ids,
            "replay_runs": self.replay_run_ids,
            "runs": [c.to_dict() for c in self.comparisons],
            "served": self.stats.to_dict(),
            "mismatches": self.mismatches,
        }

    def render(self) -> str:
        """A readable summary: per run identical or the diff, then any unmatched request."""
        kind = "fork" if self.fork_at is not None else "replay"
        lines = []
        for c in self.comparisons:
            if c.diff.identical:
                lines.append(
                    f"run {c.original} -> {kind} {c.replay or '(none)'}: identical ({c.diff.messages_a} messages)"
                )
            else:
                where = (
                    f"from message {c.diff.first_divergence}"
                    if c.diff.first_divergence
                    else "in how it ended"
                )
                lines.append(f"run {c.original} -> {kind} {c.replay or '(none)'}: diverges {where}")
                if c.error:
                    lines.append(f"  the {kind} failed: {c.error.splitlines()[0]}")
                lines.append(c.diff.diff)
        s = self.stats
        lines.append(
            f"served from the recording: {s.model_served} model calls, {s.tools_served} tool calls, "
            f"{s.memory_served} memory queries, {s.code_served} code executions; live: {s.model_live} model calls, "
            f"{s.tools_executed} tool calls"
        )
        lines.extend(self.mismatches)
        return "\n".join(lines)


def _set_system_messages(team: Any, overrides: Mapping[str, str]) -> None:
    from autogen_core.models import SystemMessage

    agents = {str(getattr(a, "name", "")): a for a in getattr(team, "_participants", None) or [team]}
    for name, text in overrides.items():
        agent = agents.get(name)
        if agent is None or not hasattr(agent, "_system_messages"):
            known = ", ".join(sorted(agents)) or "none"
            raise ReplayError(
                f"--system-message names agent '{name}', which is not an AssistantAgent of this team ({known})."
            )
        agent._system_messages = [SystemMessage(content=text)]


async def replay_run(
    store: Store,
    run: str,
    *,
    factory: str | Callable[[], Any] | None = None,
    execute_tools: bool = False,
    fork_at: int | None = None,
    system_messages: Mapping[str, str] | None = None,
    model: str | None = None,
) -> ReplayReport:
    """Re-run the recorded session of ``run`` offline and compare the replay with the recording.

    Args:
        store: the store holding the recording; the replay is recorded into it too.
        run: a run id, unique prefix or ``last``.
        factory: ``"module:callable"`` (or a callable) building the team with its usual clients;
            default: rebuild it from the recorded component config.
        execute_tools: run the real tools, memory queries and code instead of serving their results.
        fork_at: serve model calls 1..N-1 from the recording and continue live from call N.
        system_messages: ``{agent: text}`` system prompts to use in a fork.
        model: the model for the live part of a fork (config-rebuilt teams).

    Example:
        >>> import asyncio, teamtape
        >>> from teamtape.replay._rerun import replay_run
        >>> report = asyncio.run(replay_run(teamtape.open_store(".teamtape"), "last"))  # doctest: +SKIP
        >>> report.identical                                                            # doctest: +SKIP
        True
    """
    import teamtape

    if (system_messages or model) and fork_at is None:
        raise ReplayError(
            "--system-message and --model change a run, so they need --fork-at N (where to go live)."
        )
    tape = Tape.from_store(store, run)
    tops = tape.top_level
    if not tops:
        raise ReplayError(f"Nothing to replay in {tape.origin}.")
    if tops[0].started.get("direct_model_call"):
        asked = tape.root_run_id or tops[0].run_id
        raise ReplayError(
            f"Run {asked} is a model call your script made outside any team or agent (with "
            f"{tops[0].started.get('team_type')}): there is no team to run again. To serve its answer offline, "
            "give the code under test teamtape.replay.ReplayChatCompletionClient(TAPE); "
            f"`teamtape export tape {asked} FILE` writes the tape."
        )
    session = ReplaySession(
        tape,
        mode=RecordMode.NONE,
        execute_tools=execute_tools,
        fork_at=fork_at,
        rerecord_hint=RERUN_RERECORD_HINT,
    )
    if fork_at is not None and fork_at > len(session.book.calls):
        raise ReplayError(
            f"--fork-at {fork_at}: the recorded session has {len(session.book.calls)} model calls. "
            "`teamtape replay RUN --list-calls` numbers them."
        )
    key = share_session(session)
    if factory is not None:
        team = await team_from_factory(load_factory(factory) if isinstance(factory, str) else factory)
        if model:
            raise ReplayError(
                "--model works with teams rebuilt from their config; with --factory, build the team with that model."
            )
    else:
        team = team_from_config(
            tape, key, live=fork_at is not None, live_model=model, execute_tools=execute_tools
        )
    if system_messages:
        _set_system_messages(team, system_messages)
    link = "fork_of" if fork_at is not None else "replay_of"
    errors: dict[str, str] = {}
    async with teamtape.record(
        store=store.root,
        name=replay_name(tops[0].started.get("name"), fork=fork_at is not None),
        labels={"teamtape.replay": link},
    ) as recording:
        recording.recorder.nested_extra = _nested_links(tape, link)
        with serving(session):
            for original in tops:
                before = set(recording.run_ids)
                recording.recorder.top_level_extra = {link: original.run_id}
                try:
                    await team.run(task=task_of(original.started, tape))
                except Exception as e:
                    new = [r for r in recording.run_ids if r not in before]
                    errors[new[0] if new else original.run_id] = f"{type(e).__name__}: {e}"
    replayed = Tape.from_runs(store, recording.run_ids)
    replay_ids = [r.run_id for r in replayed.top_level]
    comparisons = compare_run_lists(tops, replayed.top_level, "fork" if fork_at else "replay", errors)
    mismatches = [str(m) for m in session.stats.mismatches]
    return ReplayReport([r.run_id for r in tops], replay_ids, comparisons, session.stats, fork_at, mismatches)


def _nested_links(tape: Tape, link: str) -> Callable[[Any], dict[str, Any]]:
    """For a replay's nested runs: the recorded nested run each one replays (the k-th nested run of a
    replayed run stands for the k-th of the run it replays), as ``{link: run_id}``."""
    children: dict[str, list[str]] = {}
    for run in tape.runs:  # in start order
        if run.parent_run_id:
            children.setdefault(run.parent_run_id, []).append(run.run_id)
    started: dict[str, int] = {}

    def nested_extra(parent: Any) -> dict[str, Any]:
        original_parent = parent.replays.get(link)
        if original_parent is None:
            return {}
        k = started[parent.run_id] = started.get(parent.run_id, -1) + 1
        originals = children.get(original_parent, [])
        return {link: originals[k]} if k < len(originals) else {}

    return nested_extra


def numbered_calls(store: Store, run: str) -> list[dict[str, Any]]:
    """The model calls of a recorded session, numbered as ``--fork-at`` counts them."""
    from ._session import recorded_calls

    tape = Tape.from_store(store, run)
    out = []
    for call in recorded_calls(tape):
        response = call.payload.get("response") or {}
        content = response.get("content")
        if isinstance(content, list):
            said = ", ".join(f"{c.get('name')}({c.get('arguments')})" for c in content if isinstance(c, dict))
        else:
            said = str(content or "").strip().splitlines()[0] if content else ""
        out.append(
            {
                "n": call.index + 1,
                "run_id": call.run_id,
                "agent": call.agent,
                "model": call.request.model,
                "response": said[:120],
                "error": (call.payload.get("error") or {}).get("message"),
            }
        )
    return out
