"""Subprocesses for the fault suite: ``python fault_script.py MODE ARGS...``.

Modes:
  witness STORE N DELAY   N concurrent two-agent teams whose model answers after DELAY seconds; every
                          event is printed as ``EV <run_id> <event_id>`` once it is in the journal (a
                          live sink is called after the journal write), so a test that kills this
                          process knows exactly what had been emitted. Ends with ``DONE <json>``.
  fill STORE N KB         one team of N messages of KB kilobytes each, printing ``MSG <i>`` per message
                          (for disk-full and deleted-directory faults). Ends with ``DONE <json>``.
  hostile STORE CASES [MB] teams fed hostile input (comma-separated cases of ``hostile_teams.CASES``);
                          prints ``DONE <json>`` with what the teams saw and the peak RSS of this process.
  cli ARGS...             ``teamtape ARGS...`` with pause points from ``$TT_PAUSE`` (see ``_pause_points``):
                          at the chosen point it prints ``PAUSED <point>`` and waits to be killed
                          (SIGKILL) or resumed (SIGUSR1).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _rss_mb() -> float:
    """This process's peak RSS since it started, in MB.

    Linux's ``VmHWM`` belongs to the program this process runs; ``ru_maxrss`` is carried over ``exec``
    from the process that forked it, so a script started by a 500 MB pytest would report 500 MB.
    """
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _done(**info: Any) -> None:
    print("DONE " + json.dumps({**info, "max_rss_mb": round(_rss_mb(), 1)}), flush=True)


# -- witness: what was emitted, event by event -----------------------------------------------------------
class PrintSink:
    """A live sink: the recorder hands it each event right after the event's journal line was written."""

    def handle(self, event: Any) -> None:
        sys.stdout.write(f"EV {event.run_id} {event.event_id}\n")
        sys.stdout.flush()

    def close(self) -> None:
        pass


def _pair(server: Any, tag: str, max_messages: int) -> Any:
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat

    client = server.client("gpt-4o-mini")
    agents = [
        AssistantAgent(f"{tag}_a", model_client=client),
        AssistantAgent(f"{tag}_b", model_client=client),
    ]
    return RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(max_messages))


async def witness(store: str, n: int, delay: float) -> None:
    import teamtape
    from teamtape.demo.server import Reply, ScriptedOpenAIServer

    def answer(request: dict[str, Any]) -> Reply:
        return Reply(content=f"reply to {len(request['messages'])} messages", delay_s=delay)

    with ScriptedOpenAIServer(answer) as server:
        async with teamtape.record(store=store, name="witness", sinks=[PrintSink()]) as rec:
            results = await asyncio.gather(
                *(_pair(server, f"t{i}", 6).run(task=f"task {i}") for i in range(n))
            )
    _done(tasks={r.messages[0].content: len(r.messages) for r in results}, run_ids=rec.run_ids)


# -- fill: a team that writes a lot ------------------------------------------------------------------------
async def fill(store: str, n: int, kb: int) -> None:
    from autogen_agentchat.base import TaskResult

    import teamtape
    from teamtape.demo.server import Reply, ScriptedOpenAIServer

    def answer(request: dict[str, Any]) -> Reply:
        return Reply(content=f"part {len(request['messages'])} " + "lorem ipsum " * (kb * 85), delay_s=0.01)

    seen = 0
    with ScriptedOpenAIServer(answer) as server:
        async with teamtape.record(store=store, name="fill") as rec:
            async for item in _pair(server, "fill", n).run_stream(task="fill the disk"):
                if not isinstance(item, TaskResult):
                    seen += 1
                    print(f"MSG {seen}", flush=True)
    _done(messages=seen, run_ids=rec.run_ids, events_written=rec.recorder.events_written)


# -- cli with pause points -----------------------------------------------------------------------------------
def _pause(point: str) -> None:
    """Stop here until the test kills this process (SIGKILL) or lets it go on (SIGUSR1)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(f"PAUSED {point}", flush=True)
    if signal.sigtimedwait({signal.SIGUSR1}, 600) is None:
        raise SystemExit(f"{point}: neither killed nor resumed")


def _pause_points(spec: str) -> None:
    """Install the pause point ``$TT_PAUSE`` names.

    - ``write:SUBSTR:BYTES``: once BYTES bytes were written to files whose path contains SUBSTR, the
      write in progress is cut there (as ``kill -9`` cuts a write) and the process pauses;
    - ``replace:SUBSTR:N``: pause right after the N-th ``os.replace`` onto a path containing SUBSTR;
    - ``unlink:SUBSTR``: pause right before ``Path.unlink`` of a path containing SUBSTR;
    - ``call:MODULE:FUNCTION[:N]``: pause right after the N-th (default: first) call of FUNCTION
      returns (e.g. inside a fold's transaction).

    ``$TT_FOLD_SEGMENT_BYTES`` makes folds work in batches of that many bytes (to reach a later batch),
    finished journals included.
    """
    import importlib

    kind, _, rest = spec.partition(":")
    if kind == "write":
        substr, _, limit_text = rest.rpartition(":")
        limit, written = int(limit_text), [0]
        real_write = os.write

        def write(fd: int, data: Any) -> int:
            try:
                path = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                path = ""
            if substr not in path or written[0] < 0:
                return real_write(fd, data)
            room = limit - written[0]
            if len(data) < room:
                written[0] += len(data)
                return real_write(fd, data)
            written[0] = -1  # pause once
            real_write(fd, bytes(data[:room]))
            _pause(f"write {path} at {limit} bytes")
            return room + real_write(fd, bytes(data[room:]))

        os.write = write  # type: ignore[assignment]
    elif kind == "replace":
        substr, _, n_text = rest.rpartition(":")
        target, done = int(n_text), [0]
        real_replace = os.replace

        def replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            real_replace(src, dst, *args, **kwargs)
            if substr in os.fspath(dst):
                done[0] += 1
                if done[0] == target:
                    _pause(f"replace {dst}")

        os.replace = replace  # type: ignore[assignment]
    elif kind == "unlink":
        real_unlink = Path.unlink

        def unlink(self: Path, missing_ok: bool = False) -> None:
            if rest in str(self):
                _pause(f"unlink {self}")
            real_unlink(self, missing_ok=missing_ok)

        Path.unlink = unlink  # type: ignore[method-assign]
    elif kind == "call":
        module_name, _, name = rest.rpartition(":")
        nth = 1
        if name.isdigit():
            module_name, _, name = module_name.rpartition(":")
            nth = int(rest.rpartition(":")[2])
        module = importlib.import_module(module_name)
        original: Callable[..., Any] = getattr(module, name)
        calls = [0]

        def paused(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            calls[0] += 1
            if calls[0] == nth:
                _pause(f"after call {nth} of {module_name}.{name}")
            return result

        setattr(module, name, paused)
    else:
        raise SystemExit(f"unknown pause point {spec!r}")


def cli(argv: list[str]) -> int:
    if os.environ.get("TT_PAUSE"):
        _pause_points(os.environ["TT_PAUSE"])
    if os.environ.get("TT_FOLD_SEGMENT_BYTES"):
        import teamtape.store.fold

        teamtape.store.fold.SEGMENT_BYTES = int(os.environ["TT_FOLD_SEGMENT_BYTES"])
        teamtape.store.fold.WHOLE_JOURNAL_BYTES = 0  # every journal in pieces of that size
    from teamtape.cli import main

    try:
        return main(argv)
    finally:
        if os.environ.get("TT_REPORT_RSS"):
            print(f"PEAK_RSS_MB {_rss_mb():.1f}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "witness":
        asyncio.run(witness(args[0], int(args[1]), float(args[2])))
    elif mode == "fill":
        asyncio.run(fill(args[0], int(args[1]), int(args[2])))
    elif mode == "hostile":
        from tests.support.hostile_teams import run_case

        asyncio.run(run_case(args[0], args[1], float(args[2]) if len(args) > 2 else 0.0, _done))
    elif mode == "cli":
        sys.exit(cli(args))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
