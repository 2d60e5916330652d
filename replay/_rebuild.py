"""Rebuilding a recorded team: from its recorded component config, or from a user's factory.

A recorded config is data from a store or a tape someone sent, so it is never trusted to run code:

- every ``provider`` must come from autogen (``autogen_agentchat``, ``autogen_core``, ``autogen_ext``)
  or teamtape, checked before AutoGen's loader imports anything;
- every model client becomes a :class:`ReplayChatCompletionClient` sharing the replay's session
  (API keys were redacted at recording time anyway);
- ``FunctionTool`` (whose config carries source code AutoGen would ``exec``) and ``McpWorkbench``
  (whose config names a command to start) become :class:`RecordedTool` stubs with the recorded
  schemas: their results are served from the recording.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import os
from collections.abc import Callable
from typing import Any

from autogen_core import CancellationToken, Component
from autogen_core.tools import BaseTool, ToolSchema
from pydantic import BaseModel, ConfigDict

from teamtape.store import REDACTED

from ._errors import ReplayError
from ._tape import Tape

ALLOWED_PROVIDER_PREFIXES = ("autogen_agentchat.", "autogen_core.", "autogen_ext.", "teamtape.")
_FUNCTION_TOOL = "autogen_core.tools.FunctionTool"
_MCP_WORKBENCH = "autogen_ext.tools.mcp.McpWorkbench"
_REPLAY_CLIENT = "teamtape.replay.ReplayChatCompletionClient"


class _AnyArgs(BaseModel):
    model_config = ConfigDict(extra="allow")


class RecordedToolConfig(BaseModel):
    """The component config of :class:`RecordedTool`: a tool's recorded schema, exactly as offered."""

    name: str
    tool_schema: dict[str, Any] = {}


class RecordedTool(BaseTool[_AnyArgs, Any], Component[RecordedToolConfig]):
    """A tool known only by its recorded schema; its results come from the recording.

    Stands in for tools whose implementation cannot be rebuilt safely from a recorded config.
    """

    component_type = "tool"
    component_provider_override = "teamtape.replay.RecordedTool"
    component_config_schema = RecordedToolConfig

    def __init__(self, name: str, tool_schema: dict[str, Any] | None = None) -> None:
        schema = dict(tool_schema or {})
        schema.setdefault("name", name)
        schema.setdefault("parameters", {"type": "object", "properties": {}, "required": []})
        super().__init__(
            _AnyArgs, object, name, str(schema.get("description", "")), bool(schema.get("strict", False))
        )
        self._recorded_schema = schema

    @property
    def schema(self) -> ToolSchema:
        return dict(self._recorded_schema)  # type: ignore[return-value]

    async def run(self, args: _AnyArgs, cancellation_token: CancellationToken) -> Any:
        raise ReplayError(
            f"Tool '{self.name}' was rebuilt from a recorded config, which never holds its code; its results are "
            "served from the recording. To run the real tool, replay with --factory module:callable."
        )

    def _to_config(self) -> RecordedToolConfig:
        return RecordedToolConfig(name=self.name, tool_schema=self._recorded_schema)

    @classmethod
    def _from_config(cls, config: RecordedToolConfig) -> RecordedTool:
        return cls(config.name, config.tool_schema)


def recorded_tool_schemas(tape: Tape) -> dict[str, dict[str, Any]]:
    """Every tool schema offered to a model in the recording, by tool name."""
    out: dict[str, dict[str, Any]] = {}
    for event in tape.events("llm_call"):
        ref = (event.payload.get("request") or {}).get("tools")
        tools = tape.blob_data(ref["$blob"]) if isinstance(ref, dict) and "$blob" in ref else ref
        for tool in tools or []:
            if isinstance(tool, dict) and tool.get("name"):
                out.setdefault(str(tool["name"]), tool)
    return out


def offered_by_agent(tape: Tape) -> dict[str | None, set[str]]:
    """Names of the tools each agent was offered in the recording."""
    out: dict[str | None, set[str]] = {}
    for event in tape.events("llm_call"):
        ref = (event.payload.get("request") or {}).get("tools")
        tools = tape.blob_data(ref["$blob"]) if isinstance(ref, dict) and "$blob" in ref else ref
        out.setdefault(event.agent, set()).update(
            str(t.get("name")) for t in tools or [] if isinstance(t, dict)
        )
    return out


def check_provider(provider: Any) -> None:
    """Refuse providers outside autogen and teamtape (AutoGen's loader would import them)."""
    from autogen_core._component_config import WELL_KNOWN_PROVIDERS

    text = str(provider)
    if text in WELL_KNOWN_PROVIDERS or text.startswith(ALLOWED_PROVIDER_PREFIXES):
        return
    raise ReplayError(
        f"The recorded config names the component provider '{text}', outside autogen and teamtape; teamtape never "
        "imports code named in a recording. Rebuild the team yourself: teamtape replay RUN --factory module:callable."
    )


def _model_info(config: dict[str, Any]) -> Any:
    info = config.get("model_info")
    if info:
        return info
    model = config.get("model")
    if model:
        try:
            from autogen_ext.models.openai._model_info import get_info

            return get_info(str(model))
        except Exception:
            return None
    return None


def live_client_config(component: dict[str, Any], model: str | None) -> dict[str, Any]:
    """A recorded model client config made usable for live calls: redacted secrets dropped
    (the client then reads them from the environment, e.g. ``OPENAI_API_KEY``), model overridden."""
    live = copy.deepcopy(component)
    inner = live.get("config") or {}
    for key in [k for k, v in inner.items() if v == REDACTED]:
        del inner[key]
    if model:
        inner["model"] = model
    return live


class _Rewriter:
    def __init__(self, tape: Tape, session_key: str, live_model: str | None, live: bool) -> None:
        self.schemas = recorded_tool_schemas(tape)
        self.offered = offered_by_agent(tape)
        self.session_key = session_key
        self.live_model = live_model
        self.live = live
        self.stubbed: list[str] = []  # the tools that became RecordedTool stubs

    def tool(self, name: str) -> dict[str, Any]:
        self.stubbed.append(name)
        return {
            "provider": "teamtape.replay.RecordedTool",
            "component_type": "tool",
            "config": {"name": name, "tool_schema": self.schemas.get(name, {"name": name})},
        }

    def model(self, component: dict[str, Any]) -> dict[str, Any]:
        inner = component.get("config") or {}
        config: dict[str, Any] = {"session": self.session_key, "model": self.live_model or inner.get("model")}
        info = _model_info(inner)
        if info:
            config["model_info"] = info
        if self.live and component.get("provider") != _REPLAY_CLIENT:
            config["real_client"] = live_client_config(component, self.live_model)
        return {"provider": _REPLAY_CLIENT, "component_type": "model", "config": config}

    def walk(self, value: Any, agent: str | None = None) -> Any:
        if isinstance(value, list):
            return [self.walk(v, agent) for v in value]
        if not isinstance(value, dict):
            return value
        if "provider" in value and "config" in value:
            check_provider(value["provider"])
            provider, config = value["provider"], value.get("config") or {}
            if value.get("component_type") == "model" or provider == _REPLAY_CLIENT:
                return self.model(value)
            if provider == _FUNCTION_TOOL:
                return self.tool(str(config.get("name")))
            if provider == _MCP_WORKBENCH:
                return self.mcp_workbench(agent)
            if value.get("component_type") == "agent" and isinstance(config.get("name"), str):
                agent = config["name"]
        return {k: self.walk(v, agent) for k, v in value.items()}

    def mcp_workbench(self, agent: str | None) -> dict[str, Any]:
        """The MCP tools the agent was offered, as recorded stubs in a static workbench."""
        names = sorted(self.offered.get(agent, set()))
        tools = [self.tool(n) for n in names if not n.startswith("transfer_to_")]
        return {
            "provider": "autogen_core.tools.StaticWorkbench",
            "component_type": "workbench",
            "config": {"tools": tools},
        }


def team_from_config(
    tape: Tape,
    session_key: str,
    *,
    live: bool = False,
    live_model: str | None = None,
    execute_tools: bool = False,
) -> Any:
    """Load the team (or agent) of the tape's first run from its recorded, rewritten config.

    With ``execute_tools``, a team whose function or MCP tools would be stand-ins (a config never holds
    their code) is refused: nothing real could run.
    """
    from autogen_core import ComponentLoader

    first = tape.top_level[0] if tape.top_level else None
    config = first.started.get("config") if first else None
    if not config:
        why = first.started.get("config_error") if first else "the recording has no runs"
        raise ReplayError(
            f"Run {first.run_id if first else '?'} cannot be rebuilt from its recorded config ({why}). "
            "Give a factory that builds the team: teamtape replay RUN --factory module:callable."
        )
    rewriter = _Rewriter(tape, session_key, live_model, live)
    rewritten = rewriter.walk(config)
    if execute_tools and rewriter.stubbed:
        names = ", ".join(sorted(set(rewriter.stubbed)))
        raise ReplayError(
            f"--execute-tools runs the real tools, but a team rebuilt from its recorded config has only "
            f"stand-ins for {names} (a config never holds a tool's code). Give a factory that builds the "
            "team with them: teamtape replay RUN --execute-tools --factory module:callable."
        )
    try:
        return ComponentLoader.load_component(rewritten)
    except ReplayError:
        raise
    except Exception as e:
        raise ReplayError(
            f"The recorded config of run {first.run_id} does not load ({type(e).__name__}: {e}). "
            "Give a factory that builds the team: teamtape replay RUN --factory module:callable."
        ) from e


def load_factory(spec: str) -> Callable[[], Any]:
    """The callable named ``module:callable`` (the module is imported from the current directory too)."""
    import sys

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ReplayError(
            f"--factory must look like module:callable (e.g. my_team:build_team), not {spec!r}."
        )
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ReplayError(f"Cannot import the factory module {module_name!r}: {e}.") from e
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ReplayError(f"Module {module_name!r} has no {attr!r} to build the team with.")
    if not callable(target):
        raise ReplayError(f"{spec} is not callable.")
    return target  # type: ignore[no-any-return]


async def team_from_factory(factory: Callable[[], Any]) -> Any:
    """Call a factory (sync or async) and return the team it builds."""
    team = factory()
    if inspect.isawaitable(team):
        team = await team
    if not hasattr(team, "run"):
        raise ReplayError(f"The factory returned {type(team).__name__}, not a team or agent (no run method).")
    return team


def task_of(run_started: dict[str, Any], tape: Tape) -> Any:
    """The task a recorded run was given, rebuilt: a string, or the list of messages (a HandoffMessage...)."""
    from autogen_agentchat.messages import MessageFactory

    items = run_started.get("task_messages") or []
    if not items:
        return run_started.get("task")
    if (
        len(items) == 1
        and items[0].get("type") == "TextMessage"
        and "id" not in items[0]
        and items[0].get("source") == "user"
    ):
        return items[0].get("content")
    factory = MessageFactory()
    messages = []
    for item in items:
        data = {k: v for k, v in item.items() if k != "text"}
        data["content"] = _restore_images(data.get("content"), tape)
        try:
            messages.append(factory.create(data))
        except Exception as e:
            raise ReplayError(
                f"The task message {item.get('type')} of the recorded run cannot be rebuilt: {e}"
            ) from e
    return messages


def _restore_images(content: Any, tape: Tape) -> Any:
    if not isinstance(content, list):
        return content
    from autogen_core import Image

    out = []
    for part in content:
        if isinstance(part, dict) and part.get("type") == "image" and "$blob" in part:
            out.append(Image.from_base64(str(tape.blob_data(part["$blob"]))))
        else:
            out.append(part)
    return out
