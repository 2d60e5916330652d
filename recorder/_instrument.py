"""Attaching to autogen: which classes and methods teamtape wraps, and undoing it."""

from __future__ import annotations

import threading

from ._logtap import install_tap, remove_tap
from ._models import wrap_create, wrap_create_stream
from ._patch import Patcher, all_subclasses
from ._retries import wrap_retry_sleeps
from ._runs import wrap_agent_run, wrap_reset, wrap_run_stream
from ._tools import wrap_execute_tool_call, wrap_query, wrap_tool_run_json, wrap_update_context
from ._turns import (
    MODEL_FREE_HANDLERS,
    SELF_SELECTING,
    wrap_manager_handler,
    wrap_model_selection,
    wrap_on_messages,
    wrap_on_messages_stream,
    wrap_publish_message,
    wrap_select_speaker,
)

_patcher = Patcher()
_lock = threading.RLock()
_instrumented = False


def _apply() -> None:
    from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
    from autogen_agentchat.teams import BaseGroupChat
    from autogen_agentchat.teams._group_chat._base_group_chat_manager import BaseGroupChatManager
    from autogen_agentchat.teams._group_chat._selector_group_chat import SelectorGroupChatManager
    from autogen_core import EVENT_LOGGER_NAME
    from autogen_core.memory import Memory
    from autogen_core.models import ChatCompletionClient
    from autogen_core.tools import BaseTool

    _patcher.wrap_tree(BaseGroupChat, ["run_stream"], wrap_run_stream)
    _patcher.wrap_tree(BaseGroupChat, ["reset"], wrap_reset)
    _patcher.wrap_tree(BaseChatAgent, ["run_stream"], wrap_run_stream)
    _patcher.wrap_tree(BaseChatAgent, ["run"], wrap_agent_run)
    _patcher.wrap_tree(BaseChatAgent, ["on_messages_stream"], wrap_on_messages_stream)
    _patcher.wrap_tree(BaseChatAgent, ["on_messages"], wrap_on_messages)
    _patcher.wrap_tree(BaseGroupChatManager, ["select_speaker"], wrap_select_speaker)
    # Only the handlers of managers that may call a model outside select_speaker, and self-selecting
    # managers' publishing, are wrapped (on those classes): every agent's messages go through them.
    _patcher.wrap(SelectorGroupChatManager, "_select_speaker", wrap_model_selection)
    for cls in all_subclasses(BaseGroupChatManager):
        if cls is not BaseGroupChatManager and cls.__name__ not in MODEL_FREE_HANDLERS:
            _patcher.wrap(cls, "on_message_impl", wrap_manager_handler, inherited=True)
        if cls.__name__ in SELF_SELECTING:
            _patcher.wrap(cls, "publish_message", wrap_publish_message, inherited=True)
    _patcher.wrap_tree(ChatCompletionClient, ["create"], wrap_create)
    _patcher.wrap_tree(ChatCompletionClient, ["create_stream"], wrap_create_stream)
    _patcher.wrap_tree(Memory, ["update_context"], wrap_update_context)
    _patcher.wrap_tree(Memory, ["query"], wrap_query)
    _patcher.wrap(AssistantAgent, "_execute_tool_call", wrap_execute_tool_call)
    _patcher.wrap_tree(BaseTool, ["run_json"], wrap_tool_run_json)
    wrap_retry_sleeps(_patcher)
    install_tap(EVENT_LOGGER_NAME)


def _load_optional_modules() -> None:
    """Import autogen modules whose classes users commonly use, so they are wrapped up front."""
    import importlib

    for name in (
        "autogen_agentchat.teams",
        "autogen_agentchat.agents",
        "autogen_ext.models.openai",
        "autogen_ext.models.replay",
        "autogen_ext.models.cache",
    ):
        try:
            importlib.import_module(name)
        except Exception:
            continue


def patch_autogen() -> None:
    """Wrap autogen's classes (idempotent)."""
    global _instrumented
    with _lock:
        if _instrumented:
            return
        _load_optional_modules()
        _apply()
        _instrumented = True


def refresh_patches() -> None:
    """Wrap classes defined since the last look (a user's own client, agent or memory classes)."""
    with _lock:
        if _instrumented:
            _apply()


def unpatch_autogen() -> None:
    """Put every original method back."""
    global _instrumented
    from autogen_core import EVENT_LOGGER_NAME

    with _lock:
        _patcher.restore()
        remove_tap(EVENT_LOGGER_NAME)
        _instrumented = False


def is_patched() -> bool:
    return _instrumented
