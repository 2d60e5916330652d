"""Redaction: secrets are removed before an event is written anywhere.

Three layers, applied to every journal line (and so to every store, tape, lake and OTLP export):

1. keys that name a secret (``api_key``, ``authorization``, ``password``...) have their values replaced
   wherever they occur in a JSON object (see :meth:`Redactor.redact_obj`);
2. the literal values of secret-looking environment variables (``OPENAI_API_KEY``...) and of any
   secret found under such a key are replaced wherever they appear in text;
3. matches of regular expressions are replaced in text: built-in ones for OpenAI/Anthropic/AWS/
   GitHub/Slack/Google keys and bearer tokens, plus any the user configures.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

SECRET_KEY_RE = re.compile(
    r"(api[_-]?key|apikey|secret|password|passwd|token|authorization|auth[_-]?header|credential|"
    r"private[_-]?key|access[_-]?key|session[_-]?key|cookie)",
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
)
DEFAULT_PATTERNS = tuple(pattern for _, pattern in DEFAULT_RULES)

MIN_SECRET_LENGTH = 8
AUTH_SCHEME_RE = re.compile(r"(?i)^\s*(?:bearer|basic|token|digest|apikey|api-key)\s+(\S+)\s*$")


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
        self._precheck: re.Pattern[str] | None = None
        self._precheck_bytes: re.Pattern[bytes] | None = None
        self._precheck_stale = True
        self.add_patterns(patterns)
        self.add_secrets(env_secrets())
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Remember literal secret values to scrub from all later text.

        An ``Authorization`` value (``Bearer <token>``, ``Basic <credentials>``...) is remembered with its
        credential alone too, which is what a model or a tool would repeat.
        """
        for value in values:
            if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value != REDACTED:
                if value in self._secrets:
                    continue
                self._secrets.add(value)
                self._precheck_stale = True
                scheme = AUTH_SCHEME_RE.match(value)
                if scheme and len(scheme.group(1)) >= MIN_SECRET_LENGTH:
                    self._secrets.add(scheme.group(1))

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
        if self._precheck_stale:
            self._build_prechecks()
        if self._precheck is not None and self._precheck.search(text) is not None:
            text = self._scrub_known(text)
        if self._combined is not None:
            if self._combined.search(text):
                text = self._combined.sub(REDACTED, text)
        else:
            for pattern in self._patterns:
                text = pattern.sub(REDACTED, text)
        return text

    def scrub_bytes(self, data: bytes) -> bytes:
        """:meth:`scrub_text` of UTF-8 text (journal lines): bytes with no secret are returned as they are."""
        if self._precheck_stale:
            self._build_prechecks()
        if not self._patterns and (self._precheck_bytes is None or self._precheck_bytes.search(data) is None):
            return data
        return self.scrub_text(data.decode("utf-8", "surrogatepass")).encode("utf-8", "surrogatepass")

    def _scrub_known(self, text: str) -> str:
        """Replace the known secret values and the default patterns' matches."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for hints, pattern in self._hinted:
            for hint in hints:
                if hint in text:
                    text = pattern.sub(REDACTED, text)
                    break
        return text

    def redact_obj(self, value: Any, _depth: int = 0) -> Any:
        """A copy of a JSON-like value with secret-named keys blanked (their values remembered)."""
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
            return [self.redact_obj(v, _depth + 1) for v in value]
        return value
