"""Secrets never reach the store: planted keys are searched for in every byte under the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat

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
