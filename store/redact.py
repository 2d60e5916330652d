"""Redaction: secrets are removed before an event is written anywhere.

Three layers, applied to every journal line (and so to every store, tape, lake and OTLP export):

1. keys that name a secret (``api_key``, ``authorization``, ``password``...) have their values replaced
   wherever they occur in a JSON object (see :meth:`Redactor.redact_obj`);
2. the literal values of secret-looking environment variables (``OPENAI_API_KEY``...) and of any
   secret found under such a key are replaced wherever they appear in text;
3. matches of regular expressions are replaced in text: built-in ones for OpenAI/Anthropic/AWS/
   GitHub/Slack/Google keys, bearer tokens and passwords in URLs, plus any the user configures.

Journal lines are JSON: :meth:`Redactor.scrub_json` replaces known values in the encoded text (in
their JSON-escaped form too) and applies the user's patterns to each decoded string, so a pattern
sees the text as written (real newlines, ``^``/``$`` at its ends) and cannot break the line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

SECRET_KEY_RE = re.compile(
    r"(api[_-]?key|apikey|secret|password|passwd|token|authorization|auth[_-]?header|credential|"
    r"private[_-]?key|access[_-]?key|session[_-]?key|cookie|[_.-]key$|signature|"
    r"conn(?:ection)?[_-]?str(?:ing)?|dsn$)",
    re.IGNORECASE,
)
# Key names that match the pattern above but are not secrets.
NOT_SECRET_KEYS = frozenset(
    {
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "input_tokens",
        "output_tokens",
        "cache_read_tokens",
        "cached_tokens",
        "max_tokens",
        "max_completion_tokens",
        "max_total_token",
        "token_usage",
        "tokens",
        "reasoning_tokens",
        "audio_tokens",
        "prompt_tokens_details",
        "completion_tokens_details",
        "accepted_prediction_tokens",
        "rejected_prediction_tokens",
        "token_provider",
        "azure_ad_token_provider",
        "partition_key",
        "sort_key",
        "primary_key",
        "foreign_key",
        "cache_key",
        "routing_key",
        "idempotency_key",
        "public_key",
    }
)

# Default patterns, each with literal strings one of which must occur for it to match: checking
# those first keeps scrubbing an event to a few substring searches in the common case.
DEFAULT_RULES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sk-",), r"sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{16,}"),
    (("Bearer", "bearer", "BEARER"), r"(?i:bearer)\s+[A-Za-z0-9._\-~+/]{12,}=*"),
    (("AKIA",), r"AKIA[0-9A-Z]{16}"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"gh[pousr]_[A-Za-z0-9]{30,}"),
    (("xox",), r"xox[baprs]-[A-Za-z0-9-]{10,}"),
    (("AIza",), r"AIza[0-9A-Za-z_\-]{35}"),
    # user:password@ in a URL (a base_url, a database URL): the credentials, up to the host.
    (("://",), r"(?<=://)[^\s/?#@:\"\\]+:[^\s/?#@\"\\]+(?=@)"),
)
DEFAULT_PATTERNS = tuple(pattern for _, pattern in DEFAULT_RULES)

MIN_SECRET_LENGTH = 8
AUTH_SCHEME_RE = re.compile(r"(?i)^\s*(?:bearer|basic|token|digest|apikey|api-key)\s+(\S+)\s*$")
URL_PASSWORD_RE = re.compile(r"://[^\s/?#@:]+:([^\s/?#@]+)@")


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret value."""
    return key.lower() not in NOT_SECRET_KEYS and SECRET_KEY_RE.search(key) is not None


def env_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Values of environment variables whose names look like they hold secrets."""
    env = os.environ if environ is None else environ
    return {v for k, v in env.items() if is_secret_key(k) and len(v) >= MIN_SECRET_LENGTH}


class Redactor:
    """Scrubs secrets from JSON-like objects and text. Cheap enough for every event."""

    def __init__(
        self, patterns: Iterable[str] = (), secrets: Iterable[str] = (), *, defaults: bool = True
    ) -> None:
        self._hinted = [(hints, re.compile(p)) for hints, p in DEFAULT_RULES] if defaults else []
        self._patterns: list[re.Pattern[str]] = []
        self._combined: re.Pattern[str] | None = None
        self._secrets: set[str] = set()
        self._longest_first: list[str] = []
        self._precheck: re.Pattern[str] | None = None
        self._precheck_bytes: re.Pattern[bytes] | None = None
        self._precheck_stale = True
        self.add_patterns(patterns)
        self.add_secrets(env_secrets())
        self.add_secrets(secrets)

    @property
    def has_patterns(self) -> bool:
        """Whether the user configured patterns of their own."""
        return bool(self._patterns)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Remember literal secret values to scrub from all later text.

        An ``Authorization`` value (``Bearer <token>``, ``Basic <credentials>``...) is remembered with its
        credential alone too, which is what a model or a tool would repeat. A value that JSON writes
        differently (a quote, a backslash, a control character) is remembered as written in JSON too.
        """
        for value in values:
            if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value != REDACTED:
                if value in self._secrets:
                    continue
                forms = {value, json.dumps(value, ensure_ascii=False)[1:-1]}
                scheme = AUTH_SCHEME_RE.match(value)
                if scheme and len(scheme.group(1)) >= MIN_SECRET_LENGTH:
                    forms.add(scheme.group(1))
                self._secrets.update(forms)
                self._precheck_stale = True

    def add_patterns(self, patterns: Iterable[str]) -> None:
        """Add user-configured regular expressions."""
        for p in patterns:
            try:
                self._patterns.append(re.compile(p))
            except re.error as e:
                raise ValueError(f"redaction pattern {p!r} is not a valid regular expression: {e}") from None
        try:
            joined = "|".join(f"(?:{p.pattern})" for p in self._patterns)
            self._combined = re.compile(joined) if joined else None
        except re.error:  # e.g. a user pattern with inline global flags: match one by one
            self._combined = None

    def _build_prechecks(self) -> None:
        """One regular expression (for text, and one for UTF-8 bytes) that finds any secret value or
        any hint of a default pattern.

        Most text holds none: one search then replaces a substring search per secret and per hint.
        """
        self._precheck_stale = False  # first: a secret added from now on makes it stale again
        # Longest first: a secret that holds a shorter one is replaced whole.
        self._longest_first = sorted(self._secrets, key=len, reverse=True)
        hint_words = (hint for hints, _ in self._hinted for hint in hints)
        literals = sorted({*self._secrets, *hint_words}, key=len, reverse=True)
        if not literals:
            self._precheck = self._precheck_bytes = None
            return
        self._precheck = re.compile("|".join(map(re.escape, literals)))
        self._precheck_bytes = re.compile(
            b"|".join(re.escape(s.encode("utf-8", "surrogatepass")) for s in literals)
        )

    def scrub_text(self, text: str) -> str:
        """Replace every known secret value and pattern match in a string."""
        return self._apply_patterns(self._scrub_known_in(text))

    def _scrub_known_in(self, text: str) -> str:
        if self._precheck_stale:
            self._build_prechecks()
        if self._precheck is not None and self._precheck.search(text) is not None:
            text = self._scrub_known(text)
        return text

    def _apply_patterns(self, text: str) -> str:
        """The user's patterns' matches replaced."""
        if self._combined is not None:
            if self._combined.search(text):
                text = self._combined.sub(REDACTED, text)
        else:
            for pattern in self._patterns:
                text = pattern.sub(REDACTED, text)
        return text

    def scrub_json(self, text: str) -> str:
        """:meth:`scrub_text` for JSON text (one journal line, an encoded event).

        Known values and the default patterns are replaced in the text as it is (they hold nothing JSON
        escapes). The user's patterns are applied to each string of the decoded value, keys included,
        which is then encoded again: a pattern matches what was written, and its match never reaches
        into the JSON around a string. Text that is not JSON gets :meth:`scrub_text`.
        """
        text = self._scrub_known_in(text)
        if not self._patterns:
            return text
        try:
            value = json.loads(text)
            scrubbed = self._patterns_in_strings(value)
        except (ValueError, RecursionError):
            return self._apply_patterns(text)
        if scrubbed == value:
            return text
        newline = "\n" if text.endswith("\n") else ""
        return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")) + newline

    def _patterns_in_strings(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._apply_patterns(value)
        if isinstance(value, dict):
            return {self._apply_patterns(k): self._patterns_in_strings(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._patterns_in_strings(v) for v in value]
        return value

    def scrub_bytes(self, data: bytes) -> bytes:
        """:meth:`scrub_json` of a UTF-8 journal line: bytes with no secret are returned as they are."""
        if self._precheck_stale:
            self._build_prechecks()
        if not self._patterns and (self._precheck_bytes is None or self._precheck_bytes.search(data) is None):
            return data
        return self.scrub_json(data.decode("utf-8", "surrogatepass")).encode("utf-8", "surrogatepass")

    def _scrub_known(self, text: str) -> str:
        """Replace the known secret values and the default patterns' matches."""
        for secret in self._longest_first:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for hints, pattern in self._hinted:
            for hint in hints:
                if hint in text:
                    text = pattern.sub(REDACTED, text)
                    break
        return text

    def redact_obj(self, value: Any, _depth: int = 0) -> Any:
        """A copy of a JSON-like value with secret-named keys blanked (their values remembered).

        Also blanked: the value after a secret-named flag in a list of arguments (``["--api-key",
        "..."]``, ``"--token=..."``); and remembered: the password of a URL (``scheme://user:pw@host``).
        """
        if _depth > 64:
            return value
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                key = str(k)
                if (
                    is_secret_key(key)
                    and v not in (None, "", {}, [])
                    and not isinstance(v, (bool, int, float))
                ):
                    if isinstance(v, str):
                        self.add_secrets([v])
                    out[key] = REDACTED
                else:
                    out[key] = self.redact_obj(v, _depth + 1)
            return out
        if isinstance(value, list):
            return self._redact_arguments([self.redact_obj(v, _depth + 1) for v in value])
        if isinstance(value, str) and "://" in value and "@" in value:
            self.add_secrets(URL_PASSWORD_RE.findall(value))
        return value

    def _redact_arguments(self, items: list[Any]) -> list[Any]:
        """Command-line arguments with the values of secret-named flags blanked (and remembered)."""
        for i, item in enumerate(items):
            if not (isinstance(item, str) and item.startswith("-")):
                continue
            name, eq, inline = item.lstrip("-").partition("=")
            if not name or not is_secret_key(name):
                continue
            if eq and inline:
                self.add_secrets([inline])
                items[i] = f"{item[: len(item) - len(inline)]}{REDACTED}"
            elif not eq and i + 1 < len(items) and isinstance(items[i + 1], str):
                following = items[i + 1]
                if following and not following.startswith("-"):
                    self.add_secrets([following])
                    items[i + 1] = REDACTED
        return items
