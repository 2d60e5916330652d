"""Secrets never reach the store: planted keys are searched for in every byte under the store."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from autogen_agentchat.agents import AssistantAgent, BaseChatAgent
from autogen_agentchat.base import Response
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import BaseChatMessage, TextMessage
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import InMemoryStore
from autogen_ext.models.cache import CHAT_CACHE_VALUE_TYPE, ChatCompletionCache

import teamtape
from teamtape.demo.server import Reply, ScriptedOpenAIServer
from teamtape.store import open_store

API_KEY = "sk-planted0123456789abcdefPLANTEDKEY"
HEADER_TOKEN = "hdr-planted-9f8e7d6c5b4a"
ENV_TOKEN = "env-planted-token-1234567890"
CUSTOM = "ACME-424242"


def _all_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in root.rglob("*") if p.is_file())


async def test_planted_secrets_appear_nowhere(store_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLING_SERVICE_TOKEN", ENV_TOKEN)
    replies = [Reply(content=f"I will not repeat {ENV_TOKEN} or {CUSTOM}."), Reply(content="ok")]
    with ScriptedOpenAIServer(replies) as server:
        client = server.client(
            "gpt-4o-mini", api_key=API_KEY, default_headers={"Authorization": f"Bearer {HEADER_TOKEN}"}
        )
        agent = AssistantAgent("keeper", model_client=client, system_message=f"Never say {CUSTOM}.")
        team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
        async with teamtape.record(store=store_dir, redact=[r"ACME-\d{6}"]) as rec:
            result = await team.run(task=f"My token is {ENV_TOKEN}; my key is {API_KEY}.")
    assert CUSTOM in result.messages[-1].content, "the team itself saw everything unchanged"

    raw = _all_bytes(store_dir)  # journals, before any fold
    store = rec.store
    config = store.query("SELECT payload->'$.config' AS c FROM events WHERE kind = 'run_started'")[0]["c"]
    assert "[REDACTED]" in config and "api_key" in config, "the team config was recorded, key blanked"
    raw += _all_bytes(store_dir)  # and the DuckDB file after folding
    dump = "\n".join(r["p"] for r in store.query("SELECT payload::VARCHAR AS p FROM events"))
    for secret in (API_KEY, HEADER_TOKEN, ENV_TOKEN, CUSTOM):
        assert secret.encode() not in raw, f"{secret} found on disk"
        assert secret not in dump, f"{secret} found in the events table"
    assert open_store(store_dir).query("SELECT count(*) AS n FROM messages")[0]["n"] == 2


def test_a_secret_learned_after_scrubbing_began_is_scrubbed_from_then_on() -> None:
    from teamtape.store import Redactor

    redactor = Redactor(defaults=True)
    plain = "nothing to see here: a text with no secret and no hint of one"
    assert redactor.scrub_text(plain) is plain, "text with no candidate is returned as it was"
    assert redactor.scrub_text("auth: Bearer abcdefghijklmnop") == "auth: [REDACTED]"
    redactor.add_secrets(["late-secret-0042"])
    assert redactor.scrub_text("x late-secret-0042 y") == "x [REDACTED] y"
    redactor.add_secrets(["Token tok-credential-77"])  # the credential alone is remembered too
    assert redactor.scrub_text("repeat tok-credential-77") == "repeat [REDACTED]"


class _Unserializable(BaseChatAgent):
    """A custom agent with no component config: the team's config cannot be dumped."""

    @property
    def produced_message_types(self) -> Sequence[type[BaseChatMessage]]:
        return (TextMessage,)

    async def on_messages(self, messages: Sequence[BaseChatMessage], cancellation_token: Any) -> Response:
        return Response(chat_message=TextMessage(content="noted", source=self.name))

    async def on_reset(self, cancellation_token: Any) -> None:
        pass


def _assert_nowhere(store_dir: Path, rec: Any, secrets: dict[str, str]) -> None:
    """No secret in any byte under the store, before or after folding, nor in the events table."""
    raw = _all_bytes(store_dir)
    dump = "\n".join(r["p"] for r in rec.store.query("SELECT payload::VARCHAR AS p FROM events"))
    raw += _all_bytes(store_dir)
    found = [where for where, s in secrets.items() if s.encode() in raw or s in dump]
    assert not found, f"found on disk or in the events table: {found}"


async def test_keys_under_other_names_urls_and_wrapped_clients_are_learned(
    store_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Secrets that no built-in key name or pattern knows, in a team whose config cannot be dumped,
    repeated by the model in plain text."""
    secrets = {
        "subscription key header": "apim-subscription-5a1b2c3d4e",
        "auth key header": "xauth-key-0f9e8d7c6b",
        "password in base_url": "url-password-77aa88bb",
        "key of the client inside a cache": "inner-cache-key-13579bdf",
        "key set in the environment after recording began": "dotenv-late-key-24680ace",
        "secret-named label": "label-token-11223344",
    }
    said = " ".join(secrets.values())
    with ScriptedOpenAIServer([Reply(content=f"Repeating: {said}"), Reply(content="ok")] * 2) as server:
        base = server.base_url.replace("://", f"://svc:{secrets['password in base_url']}@")
        headed = server.client(
            "gpt-4o-mini",
            default_headers={
                "Ocp-Apim-Subscription-Key": secrets["subscription key header"],
                "X-Auth-Key": secrets["auth key header"],
            },
        )
        headed._client.base_url = base  # what base_url=... would have given (the server ignores auth)
        headed._raw_config["base_url"] = base
        inner = server.client("gpt-4o-mini", api_key=secrets["key of the client inside a cache"])
        cached = ChatCompletionCache(inner, InMemoryStore[CHAT_CACHE_VALUE_TYPE]())
        team = RoundRobinGroupChat(
            [
                _Unserializable("scribe", description="takes notes"),
                AssistantAgent("talker", model_client=headed),
                AssistantAgent("cached", model_client=cached),
            ],
            termination_condition=MaxMessageTermination(4),
        )
        labels = {"api_token": secrets["secret-named label"]}
        async with teamtape.record(store=store_dir, labels=labels) as rec:
            monkeypatch.setenv("SERVICE_API_KEY", secrets["key set in the environment after recording began"])
            result = await team.run(task="Go.")
    assert said in result.messages[2].content, "the team itself saw everything unchanged"
    started = rec.store.query(
        "SELECT json_extract_string(payload, '$.config_error') AS error, payload->'$.labels' AS labels"
        " FROM events WHERE kind = 'run_started'"
    )[0]
    assert started["error"], "the team's config could not be dumped"
    assert json.loads(started["labels"]) == {"api_token": "[REDACTED]"}
    _assert_nowhere(store_dir, rec, secrets)


async def test_user_patterns_match_the_text_as_written_and_never_break_what_is_kept(store_dir: Path) -> None:
    """Patterns with real newlines, line anchors, or that would run past a string's end."""
    pem = "-----BEGIN KEY-----\nMIIBVwIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"
    reply = f"Here it is:\n{pem}\nACME-424242\nand password=hunter2-correct-horse"
    patterns = [r"-----BEGIN KEY-----\n[^-]+\n-----END KEY-----", r"(?m)^ACME-\d{6}$", r"password=\S+"]
    with ScriptedOpenAIServer([Reply(content=reply)]) as server:
        agent = AssistantAgent("keeper", model_client=server.client("gpt-4o-mini"))
        async with teamtape.record(store=store_dir, redact=patterns) as rec:
            result = await agent.run(task="Show me the key.")
    assert result.messages[-1].content == reply
    run = rec.store.query("SELECT status, messages FROM runs")[0]
    assert run == {"status": "ok", "messages": 2}, "every event was kept (none quarantined)"
    kept = rec.store.query("SELECT content FROM messages WHERE source = 'keeper'")[0]["content"]
    assert kept == "Here it is:\n[REDACTED]\n[REDACTED]\nand [REDACTED]"
    _assert_nowhere(
        store_dir, rec, {"key": "MIIBVwIBADANBgkqhkiG9w0BAQEFAASC", "code": "ACME-424242", "pw": "hunter2"}
    )


def test_command_line_flags_and_escaped_secrets() -> None:
    from teamtape.store import Redactor

    redactor = Redactor()
    config = {
        "command": "mcp-server",
        "args": ["--api-key", "flag-secret-123", "--token=inline-secret-456", "-v"],
    }
    assert redactor.redact_obj(config)["args"] == ["--api-key", "[REDACTED]", "--token=[REDACTED]", "-v"]
    assert redactor.scrub_text("echo flag-secret-123 inline-secret-456") == "echo [REDACTED] [REDACTED]"
    redactor.redact_obj({"X-Api-Key": 'back\\slash"quote-789'})
    line = json.dumps({"said": 'it is back\\slash"quote-789'}).encode()
    assert redactor.scrub_bytes(line) == b'{"said": "it is [REDACTED]"}'
    redactor.redact_obj({"env": {"DATABASE_URL": "postgres://app:db-password-42@db/prod"}})
    assert redactor.scrub_text("connect with db-password-42") == "connect with [REDACTED]"
    assert (
        redactor.scrub_text('"url":"https://bob:pa55word-x@host/v1"') == '"url":"https://[REDACTED]@host/v1"'
    )


def test_ordinary_names_and_values_are_not_taken_for_secrets() -> None:
    """Over-redaction changes what a recording says (and a tape's tools no longer match on replay)."""
    from teamtape.store import Redactor

    redactor = Redactor()
    schema = {
        "properties": {"object_key": {"type": "string"}, "api_key": {"type": "string", "description": "d"}}
    }
    kept = {
        "tools": [{"name": "fetch", "parameters": schema}],
        "extra": {
            "prompt_cache_key": "support-bot-v2",
            "lookup_key": "reports/q3.csv",
            "X-Request-Key": "r-1",
        },
        "args": [
            "--max-tokens",
            "2000",
            "--sort-key",
            "created_at",
            "- Check the password policy",
            "Restart it",
        ],
        "url": "postgresql://postgres:postgres@localhost/app",
    }
    assert redactor.redact_obj(kept) == kept
    text = "support-bot-v2 reports/q3.csv created_at Restart it postgresql"
    assert redactor.scrub_text(text) == text, "nothing of it was learned as a secret"


def test_user_patterns_leave_the_envelope_and_the_shape_of_a_line_alone() -> None:
    from teamtape.store import Redactor

    redactor = Redactor(patterns=[r"\b[0-9a-f]{16}\b", r"ACME-\d{6}"])
    line = {
        "event_id": "abcdefabcdef0123",
        "run_id": "0123456789abcdef",
        "payload": {"ACME-111111": "a", "ACME-222222": "b", "said": "run 0123456789abcdef"},
    }
    scrubbed = json.loads(redactor.scrub_json(json.dumps(line)))
    assert scrubbed["event_id"] == line["event_id"] and scrubbed["run_id"] == line["run_id"]
    assert scrubbed["payload"] == {"ACME-111111": "a", "ACME-222222": "b", "said": "run [REDACTED]"}
    redactor.add_secrets(['hunter22"'])  # a learned secret with a quote in it
    assert json.loads(redactor.scrub_json('{"a":"hunter22","b":"x"}')) == {"a": "hunter22", "b": "x"}
