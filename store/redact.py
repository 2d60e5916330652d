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

from .events import utf8_line

REDACTED = "[REDACTED]"

SECRET_KEY_RE = re.compile(
    r"(api_?key|apikey|secret|password|passwd|token|authorization|auth_?header|credential|"
    r"private_?key|access_?key|session_?key|cookie|"
    # ..._key headers and settings that hold credentials (Azure's Ocp-Apim-Subscription-Key, X-Auth-Key...)
    r"(?:subscription|auth|functions?|master|account|admin|license|signing|encryption|client|app)_?key$|"
    r"connection_?string$|(?:^|_)dsn$)",
    re.IGNORECASE,
)
# Key names that match the pattern above but are not secrets (compared as is_secret_key normalizes them).
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
    # user:password@ in a URL (a base_url, a database URL): the credentials, up to the host.
    (("://",), r"(?<=://)[^\s/?#@:\"\\]+:[^\s/?#@\"\\]+(?=@)"),
)
DEFAULT_PATTERNS = tuple(pattern for _, pattern in DEFAULT_RULES)

MIN_SECRET_LENGTH = 8
AUTH_SCHEME_RE = re.compile(r"(?i)^\s*(?:bearer|basic|token|digest|apikey|api-key)\s+(\S+)\s*$")
URL_CREDENTIALS_RE = re.compile(r"://([^\s/?#@:]+):([^\s/?#@]+)@")
MIN_URL_PASSWORD_LENGTH = 10
"""A URL's password shorter than this (``postgres:postgres@localhost``) is left to the URL rule: learned, it
would be scrubbed from every text that holds the word."""
FLAG_RE = re.compile(r"^--?(?P<name>[A-Za-z][\w.-]*)(?:=(?P<value>.*))?$", re.DOTALL)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key (or a ``--flag``'s name) names a secret value: ``X-Api-Key``, ``api.key``
    and ``api_key`` alike."""
    form = key.lower().replace("-", "_").replace(".", "_")
    return form not in NOT_SECRET_KEYS and SECRET_KEY_RE.search(form) is not None


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
        self._secrets: set[str] = set()  # as written in text
        self._in_json: set[str] = set()  # as JSON writes them inside a string (the same, mostly)
        self._precheck: re.Pattern[str] | None = None
        self._precheck_json: re.Pattern[str] | None = None
        self._precheck_bytes: re.Pattern[bytes] | None = None
        self._precheck_stale = True
        self.add_patterns(patterns)
        self.add_secrets(env_secrets())
        self.add_secrets(secrets)

    def add_secrets(self, values: Iterable[str]) -> None:
        """Remember literal secret values to scrub from all later text.

        An ``Authorization`` value (``Bearer <token>``, ``Basic <credentials>``...) is remembered with its
        credential alone too, which is what a model or a tool would repeat. In JSON text a value is
        looked for as JSON writes it (a quote or a backslash escaped), never as it is: a quote in a
        secret must not make a match reach out of its string.
        """
        for value in values:
            if isinstance(value, str) and len(value) >= MIN_SECRET_LENGTH and value != REDACTED:
                if value in self._secrets:
                    continue
                forms = [value]
                scheme = AUTH_SCHEME_RE.match(value)
                if scheme and len(scheme.group(1)) >= MIN_SECRET_LENGTH:
                    forms.append(scheme.group(1))
                for form in forms:
                    self._secrets.add(form)
                    self._in_json.add(json.dumps(form, ensure_ascii=False)[1:-1])
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
        """One regular expression (for text, one for JSON text and one for its UTF-8 bytes) that finds
        any secret value or any hint of a default pattern.

        Most text holds none: one search then replaces a substring search per secret and per hint.
        """
        self._precheck_stale = False  # first: a secret added from now on makes it stale again
        hint_words = {hint for hints, _ in self._hinted for hint in hints}

        def alternation(literals: set[str]) -> str:  # longest first: a longer secret wins over its part
            return "|".join(map(re.escape, sorted(literals, key=len, reverse=True)))

        text_literals, json_literals = self._secrets | hint_words, self._in_json | hint_words
        self._precheck = re.compile(alternation(text_literals)) if text_literals else None
        self._precheck_json = re.compile(alternation(json_literals)) if json_literals else None
        self._precheck_bytes = (
            re.compile(alternation(json_literals).encode("utf-8", "surrogatepass")) if json_literals else None
        )

    def scrub_text(self, text: str) -> str:
        """Replace every known secret value and pattern match in a string."""
        if self._precheck_stale:
            self._build_prechecks()
        return self._apply_patterns(self._scrub_known(text, self._precheck, self._secrets))

    def _scrub_known(self, text: str, precheck: re.Pattern[str] | None, secrets: set[str]) -> str:
        """Replace the known secret values (those of ``secrets`` that ``precheck`` finds) and the
        default patterns' matches (those whose hints it finds)."""
        if precheck is None:
            return text
        found = {m.group() for m in precheck.finditer(text)}
        if not found:
            return text
        for secret in sorted(found & secrets, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        for hints, pattern in self._hinted:
            if not found.isdisjoint(hints):
                text = pattern.sub(REDACTED, text)
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

        Known values (as JSON writes them) and the default patterns are replaced in the text as it is.
        The user's patterns are applied to each string value of the decoded JSON (an event's envelope
        aside: its ids and kind stay as they are), which is then encoded again: a pattern matches what
        was written, and its match never reaches into the JSON around a string. Text that is not JSON
        gets :meth:`scrub_text`.
        """
        if self._precheck_stale:
            self._build_prechecks()
        text = self._scrub_known(text, self._precheck_json, self._in_json)
        if not self._patterns:
            return text
        try:
            value = json.loads(text, object_pairs_hook=_unique_keys)
            scrubbed, changed = self._patterns_in_strings(value, top=True)
        except (ValueError, RecursionError):  # not JSON, or keys JSON would merge: as plain text
            return self._apply_patterns(text)
        if not changed:
            return text
        newline = "\n" if text.endswith("\n") else ""
        return json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")) + newline

    def _patterns_in_strings(self, value: Any, top: bool = False) -> tuple[Any, bool]:
        """``value`` with the user's patterns applied to its strings, and whether any changed."""
        if isinstance(value, str):
            scrubbed = self._apply_patterns(value)
            return scrubbed, scrubbed != value
        if isinstance(value, dict):
            out, changed = {}, False
            for key, item in value.items():
                if top and key in _ENVELOPE_KEYS:
                    out[key] = item
                    continue
                out[key], item_changed = self._patterns_in_strings(item)
                changed = changed or item_changed
            return out, changed
        if isinstance(value, list):
            pairs = [self._patterns_in_strings(item) for item in value]
            return [item for item, _ in pairs], any(c for _, c in pairs)
        return value, False

    def scrub_bytes(self, data: bytes) -> bytes:
        """:meth:`scrub_json` of a UTF-8 journal line: bytes with no secret are returned as they are."""
        if self._precheck_stale:
            self._build_prechecks()
        if not self._patterns and (self._precheck_bytes is None or self._precheck_bytes.search(data) is None):
            return data
        return utf8_line(self.scrub_json(data.decode("utf-8", "surrogatepass")))

    def redact_obj(self, value: Any, _depth: int = 0) -> Any:
        """A copy of a JSON-like value with the text under secret-named keys blanked (and remembered).

        A dict under such a key is looked into, not blanked whole (a tool's JSON schema may name a
        parameter ``api_key``); the texts of a list under it are blanked. Also blanked: the value after
        a secret-named flag in a list of arguments (``["--api-key", "..."]``, ``"--token=..."``); and
        remembered: a URL's password (``scheme://user:password@host``) long enough not to be an
        ordinary word.
        """
        if _depth > 64:
            return value
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for k, v in value.items():
                key = str(k)
                if isinstance(v, str) and v and is_secret_key(key):
                    self.add_secrets([v])
                    out[key] = REDACTED
                elif isinstance(v, list) and is_secret_key(key):  # several keys: each text is one
                    self.add_secrets(item for item in v if isinstance(item, str))
                    out[key] = [REDACTED if isinstance(item, str) and item else item for item in v]
                else:
                    out[key] = self.redact_obj(v, _depth + 1)
            return out
        if isinstance(value, list):
            return self._redact_arguments([self.redact_obj(v, _depth + 1) for v in value])
        if isinstance(value, str) and "://" in value and "@" in value:
            self.add_secrets(
                password
                for user, password in URL_CREDENTIALS_RE.findall(value)
                if len(password) >= MIN_URL_PASSWORD_LENGTH and password != user
            )
        return value

    def _redact_arguments(self, items: list[Any]) -> list[Any]:
        """Command-line arguments with the values of secret-named flags blanked (and remembered)."""
        for i, item in enumerate(items):
            flag = FLAG_RE.match(item) if isinstance(item, str) else None
            if flag is None or not is_secret_key(flag.group("name")):
                continue
            inline = flag.group("value")
            if inline:
                self.add_secrets([inline])
                items[i] = f"{item[: len(item) - len(inline)]}{REDACTED}"
            elif inline is None and i + 1 < len(items) and isinstance(items[i + 1], str):
                following = items[i + 1]
                if following and not following.startswith("-"):
                    self.add_secrets([following])
                    items[i + 1] = REDACTED
        return items


_ENVELOPE_KEYS = frozenset(("event_id", "run_id", "seq", "ts", "kind", "schema_version"))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` that refuses an object whose keys repeat (decoding would drop one)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("repeated keys")
    return out
