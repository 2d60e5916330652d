"""What autogen logs on EVENT_LOGGER_NAME joins the recorded model call, whoever owns the logger."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from autogen_core import EVENT_LOGGER_NAME

import teamtape
from teamtape.demo.server import Reply, ScriptedOpenAIServer
from tests.support.teams import order_team


class StudioLikeHandler(logging.Handler):
    """Stands in for AutoGen Studio, which replaces the event logger's handlers with its own."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def studio_logger() -> StudioLikeHandler:
    logger = logging.getLogger(EVENT_LOGGER_NAME)
    saved = (logger.handlers[:], logger.level, logger.propagate)
    handler = StudioLikeHandler()
    yield handler
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]
    del handler


@pytest.mark.parametrize("level", [logging.INFO, logging.WARNING])
async def test_cached_tokens_are_joined_even_when_handlers_are_replaced(
    store_dir: Path, studio_logger: StudioLikeHandler, level: int
) -> None:
    replies = [Reply(content="It shipped.", prompt_tokens=2048, completion_tokens=4, cached_tokens=1024)] * 4
    with ScriptedOpenAIServer(replies) as server:
        async with teamtape.record(store=store_dir) as rec:
            logger = logging.getLogger(EVENT_LOGGER_NAME)
            logger.handlers = [studio_logger]  # what AutoGen Studio does, after teamtape attached
            logger.setLevel(level)
            logger.propagate = False
            await order_team(server, max_messages=3).run(task="Where is my order?")
    calls = rec.store.query(
        "SELECT cache_read_tokens, response->>'$.finish_reason' AS fr, "
        "json_extract_string(e.payload, '$.raw.response_id') AS rid, "
        "json_extract(e.payload, '$.raw.usage.prompt_tokens_details.cached_tokens')::INT AS provider_cached, "
        "json_extract_string(e.payload, '$.raw.system_fingerprint') AS fingerprint, "
        "json_exists(e.payload, '$.raw.tools') AS tools_again "
        "FROM llm_calls JOIN events e USING (event_id)"
    )
    assert calls and all(c["cache_read_tokens"] == 1024 for c in calls)
    assert all(c["rid"] and c["rid"].startswith("chatcmpl-") for c in calls)
    # The provider's own token details are kept as it sent them; the tools it was offered are the
    # request's (one blob), not repeated in every call.
    assert all(c["provider_cached"] == 1024 and c["fingerprint"] for c in calls)
    assert not any(c["tools_again"] for c in calls)
    # The user's own handler sees exactly what it would have seen without teamtape.
    llm_records = [r for r in studio_logger.records if type(r.msg).__name__ == "LLMCallEvent"]
    assert len(llm_records) == (len(calls) if level == logging.INFO else 0)


async def test_the_logger_is_only_tapped_during_model_calls(store_dir: Path) -> None:
    """AutoGen logs every message a team sends on this logger: outside model calls it is left as it was."""
    logger = logging.getLogger(EVENT_LOGGER_NAME)
    seen_classes: list[type] = []

    class Watcher(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen_classes.append(type(logger))

    watcher = Watcher()
    saved_level = logger.level
    logger.addHandler(watcher)
    logger.setLevel(logging.INFO)
    try:
        replies = [Reply(content="It shipped.", prompt_tokens=20, completion_tokens=4)] * 4
        with ScriptedOpenAIServer(replies) as server:
            async with teamtape.record(store=store_dir) as rec:
                await order_team(server, max_messages=3).run(task="Where is my order?")
                assert type(logger) is logging.Logger, "no model call is in progress"
    finally:
        logger.removeHandler(watcher)
        logger.setLevel(saved_level)
    assert type(logger) is logging.Logger
    tapped = [cls for cls in seen_classes if cls is not logging.Logger]
    assert tapped and len(tapped) < len(seen_classes), "tapped while a model call logs, untouched otherwise"
    assert rec.store.query("SELECT count(*) AS n FROM llm_calls")[0]["n"] >= 1
